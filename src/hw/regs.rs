//! The core's register map (docs/ARCHITECTURE.md, section 4): every layer-static value the host
//! writes through the register port before `start`, with its address and width. The RTL generator
//! builds the register file from this table, the testbenches and the FPGA loader write it, and the
//! manifest lists it, so the map is defined once.

use super::descriptor::{LayerDescriptor, LayerKind, MODE_RELU};
use super::sequence::SequencerRegs;
use crate::config::AccelConfig;
use crate::quant::scale::SHIFT_BITS;

/// A block of the core that reads registers: the generator connects each block to the registers
/// whose `readers` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Block {
    /// The compute unit: activation and weight loaders, sequencer, row control, array.
    Compute,
    /// The layer controller's loop nest.
    Controller,
    /// The drain unit's post-processing.
    Drain,
    /// The combine stage of slbf and penni layers.
    Combine,
    /// The codec's gather stage, decoder and encoder.
    Gather,
    Decoder,
    Encoder,
}

impl Block {
    /// Only a core with the codec has this block.
    pub fn is_codec(self) -> bool {
        matches!(self, Block::Gather | Block::Decoder | Block::Encoder)
    }
}

/// One register of the map: its name (the port and wire names in the RTL), width, the blocks that
/// read it, and the value the host writes for a layer.
#[derive(Clone, Copy)]
pub struct Register {
    pub name: &'static str,
    pub width: u32,
    pub readers: &'static [Block],
    /// Only slbf and penni layers set it (a conv or fc layer writes 0): a core without the
    /// combine stage cannot run those layers and ties it to 0.
    pub grouped_only: bool,
    pub value: fn(&LayerDescriptor, &AccelConfig) -> u32,
}

impl Register {
    /// Only codec blocks read it: a core without the codec has no use for it.
    pub fn codec_only(&self) -> bool {
        self.readers.iter().all(|b| b.is_codec())
    }
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({} bits, read by {:?})", self.name, self.width, self.readers)
    }
}

type Value = fn(&LayerDescriptor, &AccelConfig) -> u32;

const fn reg(name: &'static str, width: u32, readers: &'static [Block], value: Value) -> Register {
    Register { name, width, readers, grouped_only: false, value }
}

const fn grouped_reg(name: &'static str, width: u32, readers: &'static [Block], value: Value) -> Register {
    Register { name, width, readers, grouped_only: true, value }
}

fn seq(d: &LayerDescriptor, cfg: &AccelConfig) -> SequencerRegs {
    SequencerRegs::new(d, cfg, 0..1, 0)
}

fn m16(v: i64) -> u32 {
    (v & 0xffff) as u32
}

/// Activation beats the controller counts per input row of a band (an fc layer streams its whole
/// input as one row).
pub fn row_beats(d: &LayerDescriptor, cfg: &AccelConfig) -> u32 {
    let [c, h, w] = d.in_shape;
    let rows = if d.kind == LayerKind::Fc { h } else { 1 };
    rows * super::streams::beats_per_row(c, w, cfg)
}

/// Weight words the controller counts per filter tile (a grouped layer: its bank's words).
pub fn tile_words(d: &LayerDescriptor, cfg: &AccelConfig) -> u32 {
    match &d.grouped {
        Some(g) => g.bank_tiles * g.tile_words * cfg.array.cols,
        None => d.steps * cfg.array.rows * cfg.array.cols,
    }
}

/// Words of a grouped layer's combine entries on the weight stream (0 for other layers).
pub fn entry_words(d: &LayerDescriptor, cfg: &AccelConfig) -> u32 {
    d.entries * cfg.array.cols * super::combine::EntryFormat::new(cfg).words(cfg)
}

fn grouped<T: Default>(d: &LayerDescriptor, f: impl Fn(&super::grouped::Grouped) -> T) -> T {
    d.grouped.as_ref().map_or_else(T::default, f)
}

/// Relu layers only (0 otherwise): the output width and the largest output value.
fn relu_only(d: &LayerDescriptor, v: u32) -> u32 {
    if d.out_mode == MODE_RELU {
        v
    } else {
        0
    }
}

use Block::*;

/// The register map, in address order (address = index).
pub const REGISTERS: &[Register] = &[
    // Compute unit and sequencer.
    reg("c_in", 16, &[Compute], |d, _| d.c_in),
    reg("planes", 16, &[Compute], |d, _| d.planes),
    reg("pass_planes", 16, &[Compute], |d, _| d.pass_planes),
    reg("plane_shift", 3, &[Compute], |d, _| d.plane_rows.trailing_zeros()),
    reg("tail_lanes", 16, &[Compute], |d, _| d.tail_lanes),
    reg("h", 16, &[Compute, Controller], |d, _| d.h),
    reg("w", 16, &[Compute], |d, _| d.w),
    reg("w_out", 16, &[Compute, Controller, Drain, Combine, Gather], |d, _| d.w_out),
    reg("kernel", 16, &[Compute], |d, _| d.kernel),
    reg("stride", 16, &[Compute, Controller], |d, _| d.stride),
    reg("groups", 16, &[Compute], |d, _| d.run_groups),
    reg("weight_words", 16, &[Compute], |d, c| seq(d, c).weight_words),
    reg("ix0", 16, &[Compute], |d, c| seq(d, c).ix0),
    reg("x_step", 16, &[Compute], |d, c| seq(d, c).x_step),
    reg("kx_step", 16, &[Compute], |d, c| seq(d, c).kx_step),
    reg("ky_step", 16, &[Compute], |d, c| seq(d, c).ky_step),
    reg("y_step", 16, &[Compute], |d, c| seq(d, c).y_step),
    reg("passes", 32, &[Compute], |d, _| d.steps),
    reg("bwn", 1, &[Compute], |d, _| d.bwn as u32),
    reg("tail_en", 1, &[Compute], |d, _| (d.tail_lanes != 0) as u32),
    reg("rows_valid", 8, &[Compute], |d, _| d.last_group_rows),
    grouped_reg("sub", 1, &[Compute], |d, _| grouped(d, |g| g.sub_chunk as u32)),
    // Activation loader: the streamed tensor (fc layers stream their input as is).
    reg("t_ch", 16, &[Compute, Decoder], |d, _| d.in_shape[0]),
    reg("t_w", 16, &[Compute, Decoder], |d, _| d.in_shape[2]),
    reg("fc", 1, &[Compute], |d, _| (d.kind == LayerKind::Fc) as u32),
    reg("pixel_words", 16, &[Compute], |d, _| d.pixel_words),
    // Controller: the loop nest over row bands, filter tiles and output rows.
    reg("bands", 16, &[Controller], |d, _| d.bands),
    reg("band_out_rows", 16, &[Controller, Gather], |d, _| d.band_out_rows),
    reg("h_out", 16, &[Controller, Gather], |d, _| d.h_out),
    reg("filter_tiles", 16, &[Controller, Gather], |d, _| d.filter_tiles),
    reg("row_beats", 32, &[Controller], row_beats),
    reg("tile_words", 32, &[Controller], tile_words),
    reg("band_span", 16, &[Controller], |d, _| (d.band_out_rows - 1) * d.stride + d.kernel),
    reg("band_iy_step", 16, &[Controller], |d, _| m16(d.band_out_rows as i64 * d.stride as i64)),
    reg("band_base_step", 16, &[Controller], |d, _| {
        m16(d.band_out_rows as i64 * d.stride as i64 * d.w as i64 * d.pixel_words as i64)
    }),
    reg("row_base_step", 16, &[Controller], |d, _| m16(d.stride as i64 * d.w as i64 * d.pixel_words as i64)),
    reg("iy0_first", 16, &[Controller], |d, _| m16(-(d.padding as i64))),
    reg("band_base_first", 16, &[Controller], |d, _| m16(-(d.padding as i64) * d.w as i64 * d.pixel_words as i64)),
    reg("pad_base", 16, &[Controller], |d, _| m16(-(d.padding as i64) * d.pixel_words as i64)),
    // Grouped (slbf, penni) layers: the loop over groups and bank tiles, the combine stage.
    grouped_reg("grouped", 1, &[Controller, Gather], |d, _| d.grouped.is_some() as u32),
    grouped_reg("n_groups", 16, &[Controller], |d, _| grouped(d, |g| g.n_groups)),
    grouped_reg("bank_tiles", 16, &[Controller], |d, _| grouped(d, |g| g.bank_tiles)),
    grouped_reg("bank_words", 16, &[Controller], |d, _| grouped(d, |g| g.tile_words)),
    // Per group: the lane offset advances by the group's channels; when it wraps the array row
    // advances, and when that wraps the address (a chunk group). Groups of whole chunk groups
    // wrap both every time.
    grouped_reg("grp_lanes", 16, &[Controller], |d, c| grouped(d, |g| if g.sub_chunk { g.gs } else { c.array.lanes })),
    grouped_reg("grp_rows", 16, &[Controller], |d, c| grouped(d, |g| if g.sub_chunk { c.array.rows } else { 1 })),
    grouped_reg("grp_base_step", 16, &[Controller], |d, _| grouped(d, |g| g.run_groups * d.planes)),
    grouped_reg("entry_words", 32, &[Controller], entry_words),
    grouped_reg("entries", 16, &[Combine], |d, _| d.entries),
    // Post-processing.
    reg("shift", SHIFT_BITS as u32, &[Drain], |d, _| d.shift),
    reg("mode", 2, &[Drain], |d, _| d.out_mode),
    reg("out_bits", 4, &[Drain], |d, _| relu_only(d, d.out_bits)),
    reg("out_max", 8, &[Drain], |d, _| relu_only(d, d.out_max)),
    // Codec (when generated): the decoder's input tensor, the encoder's output tensor and the
    // gather stage's channel count.
    reg("ci_mode", 3, &[Decoder], |d, _| d.in_codec.mode),
    reg("ci_bits", 4, &[Decoder], |d, _| d.in_codec.bits),
    reg("ci_step_t", 3, &[Decoder], |d, _| d.in_codec.step_t),
    reg("ci_keep", 5, &[Decoder], |d, _| d.in_codec.keep),
    reg("ci_eg", 3, &[Decoder], |d, _| d.in_codec.eg),
    reg("co_mode", 3, &[Encoder], |d, _| d.out_codec.mode),
    reg("co_bits", 4, &[Encoder], |d, _| d.out_codec.bits),
    reg("co_step_t", 3, &[Encoder], |d, _| d.out_codec.step_t),
    reg("co_keep", 5, &[Encoder], |d, _| d.out_codec.keep),
    reg("co_eg", 3, &[Encoder], |d, _| d.out_codec.eg),
    reg("c_out", 16, &[Gather], |d, _| d.c_out),
];

/// Address bits of the register port.
pub const REG_ADDR_BITS: u32 = 6;

/// The register named `name`.
///
/// # Panics
/// When the map has no such register (a generator bug: names come from this table).
pub fn register(name: &str) -> &'static Register {
    REGISTERS.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no register named {name}"))
}

/// Address of register `name`.
pub fn address(name: &str) -> u32 {
    REGISTERS.iter().position(|r| r.name == name).unwrap_or_else(|| panic!("no register named {name}")) as u32
}

/// The registers `block` reads, in address order.
pub fn read_by(block: Block) -> impl Iterator<Item = &'static Register> {
    REGISTERS.iter().filter(move |r| r.readers.contains(&block))
}

/// The register writes that load a layer's descriptor: `(address, value)` for every register, an
/// error naming the register when a value does not fit its width.
pub fn register_writes(d: &LayerDescriptor, cfg: &AccelConfig, layer: &str) -> anyhow::Result<Vec<(u32, u32)>> {
    REGISTERS
        .iter()
        .enumerate()
        .map(|(addr, r)| {
            let v = (r.value)(d, cfg);
            if r.width < 32 && v >> r.width != 0 {
                anyhow::bail!("layer {layer}: register {} = {v} does not fit {} bits", r.name, r.width);
            }
            Ok((addr as u32, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_fits_the_address_port_and_every_value_its_width() {
        assert!(REGISTERS.len() <= 1 << REG_ADDR_BITS);
        let mut names: Vec<&str> = REGISTERS.iter().map(|r| r.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REGISTERS.len(), "register names are unique");
        assert_eq!(address("c_in"), 0);
        assert_eq!(address("c_out") as usize, REGISTERS.len() - 1);
        assert!(REGISTERS.iter().all(|r| matches!(r.width, 1..=32)));
    }

    #[test]
    fn out_max_is_the_relu_layers_clamp_and_0_otherwise() {
        use crate::network::{Geometry, Network, Op, OutputFn};
        let cfg = AccelConfig::default();
        let geo = Geometry { kernel: 3, stride: 1, padding: 1 };
        let value = |output: OutputFn| {
            let mut net = Network::single_conv(4, 5, 5, 6, geo, 2, vec![0.5; 6 * 4 * 9]);
            let Op::Weighted(w) = &mut net.layers[0].op else { unreachable!() };
            w.output = output;
            let q = crate::quant::compile(&net, &cfg, None).unwrap();
            let d = LayerDescriptor::new(&q.layers[0], &cfg).unwrap();
            let writes = register_writes(&d, &cfg, "l").unwrap();
            let at = |name: &str| writes.iter().find(|w| w.0 == address(name)).unwrap().1;
            (at("out_bits"), at("out_max"))
        };
        assert_eq!(value(OutputFn::Relu { bits: 2, scale: Some(0.5), max: Some(2) }), (2, 2));
        assert_eq!(value(OutputFn::Relu { bits: 8, scale: Some(0.5), max: Some(200) }), (8, 200));
        assert_eq!(value(OutputFn::Relu { bits: 4, scale: Some(0.5), max: None }), (4, 15));
        assert_eq!(value(OutputFn::Sign), (0, 0));
        assert_eq!(value(OutputFn::Accumulator), (0, 0));
    }
}
