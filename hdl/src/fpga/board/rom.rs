//! On-chip ROMs of the board-level top, built from rust-hdl's `SyncROM` (one registered read per
//! cycle; Yosys maps it to block RAM with its contents as the initial value). A stream wider than
//! 32 bits is held in 32-bit slices side by side, so only the depth is a type parameter here.

use anyhow::{bail, Result};
use rust_hdl::prelude::*;
use std::collections::BTreeMap;

use crate::generator::netlist::NetModule;
use crate::generator::verilog::{emit_block, Module};

/// Deepest ROM: 2^14 words of 32 bits (64 KiB per slice, more than the block RAM of the FPGAs
/// the flow targets).
pub const MAX_ADDR_BITS: usize = 14;

fn sync_rom<const N: usize>(words: &[u32], name: &str) -> Vec<Module> {
    let map: BTreeMap<Bits<N>, Bits<32>> =
        words.iter().enumerate().map(|(i, w)| ((i as u64).into(), (*w as u64).into())).collect();
    emit_block(SyncROM::<Bits<32>, N>::new(map), name)
}

macro_rules! by_depth {
    ($n:expr, $words:expr, $name:expr, [$($d:literal),*]) => {
        match $n {
            $($d => sync_rom::<$d>($words, $name),)*
            _ => unreachable!(),
        }
    };
}

/// Address bits of a ROM of `len` words (at least 1).
pub fn addr_bits(len: usize) -> usize {
    (usize::BITS - len.max(2).saturating_sub(1).leading_zeros()) as usize
}

/// A ROM of `words` (each `width` bits, `width` <= 128) instantiated in `m` as `inst`, read at the
/// 16-bit address `addr`; returns its modules and drives `data`, a `width`-bit wire the caller
/// declares.
pub fn add_rom(
    m: &mut NetModule,
    design: &str,
    inst: &str,
    words: &[u128],
    width: usize,
    addr: &str,
    data: &str,
) -> Result<Vec<Module>> {
    let n = addr_bits(words.len());
    if n > MAX_ADDR_BITS {
        bail!(
            "the self-test ROM `{inst}` needs {} words, more than the {} a ROM holds",
            words.len(),
            1 << MAX_ADDR_BITS
        );
    }
    let slices = width.div_ceil(32);
    let mut modules = Vec::new();
    let mut parts = Vec::new();
    for k in (0..slices).rev() {
        let slice: Vec<u32> = words.iter().map(|w| (w >> (32 * k)) as u32).collect();
        let (module, wire) = (format!("{design}_{inst}_{k}"), format!("{inst}_q{k}"));
        modules.extend(by_depth!(n, &slice, &module, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]));
        m.wire(&wire, 32);
        let a = format!("{addr}[{}:0]", n - 1);
        m.instance(
            &module,
            &format!("{inst}_{k}"),
            &[("clock", "clock".into()), ("address", a), ("data", wire.clone())],
        );
        parts.push(wire);
    }
    // The address bits above the ROM's depth are 0 while the stream lasts.
    m.wire(&format!("{inst}_addr_unused"), 1);
    m.assign(&format!("{inst}_addr_unused"), &format!("&{{1'b0, {addr}[15:{n}]}}"));
    let all = format!("{inst}_q");
    m.wire(&all, 32 * slices);
    m.assign(&all, &format!("{{{}}}", parts.join(", ")));
    m.assign(data, &format!("{all}[{}:0]", width - 1));
    if slices * 32 > width {
        // The top slice's padding bits (Verilator does not report names with `unused`).
        m.wire(&format!("{inst}_unused"), 1);
        m.assign(&format!("{inst}_unused"), &format!("&{{1'b0, {all}[{}:{width}]}}", 32 * slices - 1));
    }
    Ok(modules)
}
