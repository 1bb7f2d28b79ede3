//! The core's register map (docs/ARCHITECTURE.md, section 4): every layer-static value the host
//! writes through the register port before `start`, with its address and width. The RTL generator
//! builds the register file from this table, the testbenches and the FPGA loader write it, and the
//! manifest lists it, so the map is defined once.

use super::descriptor::LayerDescriptor;
use super::sequence::SequencerRegs;
use crate::config::AccelConfig;
use crate::quant::scale::SHIFT_BITS;

/// Register names and widths, in address order (address = index).
pub const REGISTERS: &[(&str, u32)] = &[
    // Compute unit and sequencer.
    ("c_in", 16),
    ("planes", 16),
    ("tail_lanes", 16),
    ("h", 16),
    ("w", 16),
    ("w_out", 16),
    ("kernel", 16),
    ("stride", 16),
    ("groups", 16),
    ("weight_words", 16),
    ("ix0", 16),
    ("x_step", 16),
    ("kx_step", 16),
    ("ky_step", 16),
    ("y_step", 16),
    ("passes", 32),
    ("bwn", 1),
    ("tail_en", 1),
    ("rows_valid", 8),
    ("sub", 1),
    // Activation loader: the streamed tensor (fc layers stream their input as is).
    ("t_ch", 16),
    ("t_w", 16),
    ("fc", 1),
    ("pixel_words", 16),
    // Controller: the loop nest over row bands, filter tiles and output rows.
    ("bands", 16),
    ("band_out_rows", 16),
    ("h_out", 16),
    ("filter_tiles", 16),
    ("row_beats", 32),
    ("tile_words", 32),
    ("band_span", 16),
    ("band_iy_step", 16),
    ("band_base_step", 16),
    ("row_base_step", 16),
    ("iy0_first", 16),
    ("band_base_first", 16),
    ("pad_base", 16),
    // Grouped (slbf, penni) layers: the loop over groups and bank tiles, the combine stage.
    ("grouped", 1),
    ("n_groups", 16),
    ("bank_tiles", 16),
    ("bank_words", 16),
    ("grp_lanes", 16),
    ("grp_rows", 16),
    ("grp_base_step", 16),
    ("entry_words", 32),
    ("entries", 16),
    // Post-processing.
    ("shift", SHIFT_BITS as u32),
    ("mode", 2),
    ("out_bits", 4),
    ("out_max", 8),
    // Codec (when generated): the decoder's input tensor, the encoder's output tensor and the
    // gather stage's channel count.
    ("ci_mode", 3),
    ("ci_bits", 4),
    ("ci_step_t", 3),
    ("ci_keep", 5),
    ("ci_eg", 3),
    ("co_mode", 3),
    ("co_bits", 4),
    ("co_step_t", 3),
    ("co_keep", 5),
    ("co_eg", 3),
    ("c_out", 16),
];

/// Registers only a core with the codec reads.
pub const CODEC_REGISTERS: &[&str] = &[
    "ci_mode",
    "ci_bits",
    "ci_step_t",
    "ci_keep",
    "ci_eg",
    "co_mode",
    "co_bits",
    "co_step_t",
    "co_keep",
    "co_eg",
    "c_out",
];

/// Address bits of the register port.
pub const REG_ADDR_BITS: u32 = 6;

/// Address of register `name`.
pub fn address(name: &str) -> u32 {
    REGISTERS.iter().position(|(n, _)| *n == name).unwrap_or_else(|| panic!("no register named {name}")) as u32
}

fn m16(v: i64) -> u32 {
    (v & 0xffff) as u32
}

/// The register writes that load a layer's descriptor: `(address, value)` for every register, an
/// error naming the register when a value does not fit its width.
pub fn register_writes(d: &LayerDescriptor, cfg: &AccelConfig, layer: &str) -> anyhow::Result<Vec<(u32, u32)>> {
    REGISTERS
        .iter()
        .zip(register_values(d, cfg))
        .map(|((name, w), v)| {
            if *w < 32 && v >> w != 0 {
                anyhow::bail!("layer {layer}: register {name} = {v} does not fit {w} bits");
            }
            Ok((address(name), v))
        })
        .collect()
}

/// The value of every register for a layer, in address order.
pub fn register_values(d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<u32> {
    let s = SequencerRegs::new(d, cfg, 0..1, 0);
    let (p, w, pw) = (d.padding as i64, d.w as i64, d.pixel_words as i64);
    let bo = d.band_out_rows as i64;
    let value = |name: &str| -> u32 {
        match name {
            "c_in" => d.c_in,
            "planes" => d.planes,
            "tail_lanes" => d.tail_lanes,
            "h" => d.h,
            "w" => d.w,
            "w_out" => d.w_out,
            "kernel" => d.kernel,
            "stride" => d.stride,
            "groups" => d.run_groups,
            "weight_words" => s.weight_words,
            "ix0" => s.ix0,
            "x_step" => s.x_step,
            "kx_step" => s.kx_step,
            "ky_step" => s.ky_step,
            "y_step" => s.y_step,
            "passes" => d.steps,
            "bwn" => d.bwn as u32,
            "tail_en" => (d.tail_lanes != 0) as u32,
            "rows_valid" => d.last_group_rows,
            "sub" => d.grouped.as_ref().is_some_and(|g| g.sub_chunk) as u32,
            "t_ch" => d.in_shape[0],
            "t_w" => d.in_shape[2],
            "fc" => (d.kind == super::descriptor::LayerKind::Fc) as u32,
            "pixel_words" => d.pixel_words,
            "bands" => d.bands,
            "band_out_rows" => d.band_out_rows,
            "h_out" => d.h_out,
            "filter_tiles" => d.filter_tiles,
            "row_beats" => {
                let [c, h, w] = d.in_shape;
                let rows = if d.kind == super::descriptor::LayerKind::Fc { h } else { 1 };
                rows * super::streams::beats_per_row(c, w, cfg)
            }
            "tile_words" => match &d.grouped {
                Some(g) => g.bank_tiles * g.tile_words * cfg.array.cols,
                None => d.steps * cfg.array.rows * cfg.array.cols,
            },
            "band_span" => (d.band_out_rows - 1) * d.stride + d.kernel,
            "band_iy_step" => m16(bo * d.stride as i64),
            "band_base_step" => m16(bo * d.stride as i64 * w * pw),
            "row_base_step" => m16(d.stride as i64 * w * pw),
            "iy0_first" => m16(-p),
            "band_base_first" => m16(-p * w * pw),
            "pad_base" => m16(-p * pw),
            "grouped" => d.grouped.is_some() as u32,
            "n_groups" => d.grouped.as_ref().map_or(0, |g| g.n_groups),
            "bank_tiles" => d.grouped.as_ref().map_or(0, |g| g.bank_tiles),
            "bank_words" => d.grouped.as_ref().map_or(0, |g| g.tile_words),
            // Per group: the lane offset advances by the group's channels; when it wraps the
            // array row advances, and when that wraps the address (a chunk group). Groups of
            // whole chunk groups wrap both every time.
            "grp_lanes" => d.grouped.as_ref().map_or(0, |g| if g.sub_chunk { g.gs } else { cfg.array.lanes }),
            "grp_rows" => d.grouped.as_ref().map_or(0, |g| if g.sub_chunk { cfg.array.rows } else { 1 }),
            "grp_base_step" => d.grouped.as_ref().map_or(0, |g| g.run_groups * d.planes),
            "entry_words" => d.entries * cfg.array.cols * super::combine::EntryFormat::new(cfg).words(cfg),
            "entries" => d.entries,
            "shift" => d.shift,
            "mode" => d.out_mode,
            // Relu layers only (0 otherwise): the output width and the largest output value.
            "out_bits" | "out_max" if d.out_mode != super::descriptor::MODE_RELU => 0,
            "out_bits" => d.out_bits,
            "out_max" => d.out_max,
            "ci_mode" => d.in_codec.mode,
            "ci_bits" => d.in_codec.bits,
            "ci_step_t" => d.in_codec.step_t,
            "ci_keep" => d.in_codec.keep,
            "ci_eg" => d.in_codec.eg,
            "co_mode" => d.out_codec.mode,
            "co_bits" => d.out_codec.bits,
            "co_step_t" => d.out_codec.step_t,
            "co_keep" => d.out_codec.keep,
            "co_eg" => d.out_codec.eg,
            "c_out" => d.c_out,
            _ => unreachable!("register {name} has no value"),
        }
    };
    REGISTERS.iter().map(|(n, _)| value(n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_fits_the_address_port_and_every_value_its_width() {
        assert!(REGISTERS.len() <= 1 << REG_ADDR_BITS);
        let mut names: Vec<&str> = REGISTERS.iter().map(|r| r.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), REGISTERS.len(), "register names are unique");
        assert_eq!(address("c_in"), 0);
        assert_eq!(address("c_out") as usize, REGISTERS.len() - 1);
        for r in CODEC_REGISTERS {
            address(r);
        }
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
