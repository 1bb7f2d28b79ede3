//! The setup table: a layer's register writes (`regs`) and parameter writes (`params`), one
//! entry per write, as the hosts that replay them store it: the co-simulation testbench
//! (`setup.hex`) and the board-level top's setup ROM. One layout, so that both decode the same
//! fields.
//!
//! An entry is `SETUP_BITS` wide: the data in bits `[63:0]` (a register's value, or a scale or
//! bias), the address at `SETUP_ADDR` (a register's address, or the parameter memory's), the
//! PPU at `SETUP_PPU`, the parameter memory select at `SETUP_SEL` and the entry's kind at
//! `SETUP_KIND`.

use super::descriptor::LayerDescriptor;
use super::params::{param_writes, ParamWrite};
use super::regs::register_writes;
use crate::config::AccelConfig;
use crate::quant::QLayer;

/// Bits of data (scales and biases up to this width).
pub const SETUP_DATA_BITS: usize = 64;
/// The address field: 16 bits.
pub const SETUP_ADDR: usize = 64;
/// The PPU field: 8 bits.
pub const SETUP_PPU: usize = 85;
/// The parameter memory select: 1 bit (0 scales, 1 biases).
pub const SETUP_SEL: usize = 93;
/// The kind field: 2 bits, a [`SetupKind`].
pub const SETUP_KIND: usize = 94;
/// Width of an entry.
pub const SETUP_BITS: usize = 96;

// The kind field ends the entry, and a register address fits the address field.
const _: () = assert!(SETUP_KIND + 2 <= SETUP_BITS && super::regs::REG_ADDR_BITS <= 16);

/// What an entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupKind {
    /// The end of a table (the board's setup ROM stops here).
    End = 0,
    /// A register write.
    Reg = 1,
    /// A parameter write.
    Param = 2,
}

impl SetupKind {
    pub fn code(self) -> u64 {
        self as u64
    }
}

fn entry(kind: SetupKind, sel: u32, ppu: u32, addr: u32, data: u64) -> u128 {
    debug_assert!(sel < 2 && ppu < 1 << 8 && addr < 1 << 16);
    (kind as u128) << SETUP_KIND
        | u128::from(sel) << SETUP_SEL
        | u128::from(ppu) << SETUP_PPU
        | u128::from(addr) << SETUP_ADDR
        | u128::from(data)
}

/// The entry that ends a table.
pub fn end_entry() -> u128 {
    entry(SetupKind::End, 0, 0, 0, 0)
}

/// The entries that set up `layer` (descriptor `d`): every register, then every parameter; an
/// error names the layer and the register when a value does not fit it.
pub fn layer_setup(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> anyhow::Result<Vec<u128>> {
    let mut v: Vec<u128> = register_writes(d, cfg, &layer.name)?
        .into_iter()
        .map(|(addr, value)| entry(SetupKind::Reg, 0, 0, addr, u64::from(value)))
        .collect();
    v.extend(
        param_writes(layer, d, cfg).iter().map(|p: &ParamWrite| entry(SetupKind::Param, p.sel, p.ppu, p.addr, p.raw)),
    );
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fields_do_not_overlap_and_fit_the_entry() {
        // (start, width) of every field, in bit order.
        let fields = [(0, SETUP_DATA_BITS), (SETUP_ADDR, 16), (SETUP_PPU, 8), (SETUP_SEL, 1), (SETUP_KIND, 2)];
        for w in fields.windows(2) {
            assert!(w[0].0 + w[0].1 <= w[1].0, "{w:?}");
        }
        let e = entry(SetupKind::Param, 1, 0xab, 0xcdef, u64::MAX);
        assert_eq!(e >> SETUP_KIND, 2);
        assert_eq!((e >> SETUP_SEL) & 1, 1);
        assert_eq!((e >> SETUP_PPU) & 0xff, 0xab);
        assert_eq!((e >> SETUP_ADDR) & 0xffff, 0xcdef);
        assert_eq!(e as u64, u64::MAX);
    }
}
