//! The layer descriptor: shapes, output function and the loop bounds the controller uses,
//! derived on the host so the hardware needs no divider; and the check that a layer fits the
//! generated core (its maxima and buffers), with errors naming the layer and the limit.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::codec::{CodecParams, Mode};
use crate::config::AccelConfig;
use crate::quant::{QLayer, QOp, QOutput, QWeighted, QWeights};

use super::combine;
use super::grouped::Grouped;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LayerKind {
    Conv,
    /// An fc layer runs as a 1x1 conv over its input flattened to `[C*H*W, 1, 1]` in the order
    /// the activation stream carries it (`hw::streams::fc_position`; the host permutes the
    /// weights to match).
    Fc,
    /// Grouped stage 1 on the array, then the combine stage (docs/ARCHITECTURE.md, section 10).
    Slbf,
    Penni,
}

impl LayerKind {
    pub fn grouped(self) -> bool {
        matches!(self, LayerKind::Slbf | LayerKind::Penni)
    }
}

/// Output-function codes of the descriptor's `out_mode` (and the PPU's `mode` port).
pub const MODE_ACC: u32 = 0;
pub const MODE_SIGN: u32 = 1;
pub const MODE_RELU: u32 = 2;

/// Codes of a tensor's codec mode on the codec blocks' `mode` ports (SPEC 8.1): the
/// discriminants of `codec::Mode`, named for the Verilog generators' format strings.
pub const CODEC_RAW: u32 = Mode::Raw.code();
pub const CODEC_SPARSE: u32 = Mode::Sparse.code();
pub const CODEC_DCT: u32 = Mode::Dct.code();
pub const CODEC_AUTO: u32 = Mode::Auto.code();
pub const CODEC_GOLOMB: u32 = Mode::Golomb.code();

/// How a stored tensor is coded, as the codec blocks' parameter ports take it (all zero for
/// accumulator outputs, which never pass the codec).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct StreamCodec {
    pub mode: u32,
    /// Bits per value `k` (1 for binary tensors, stored as 0/1 codes).
    pub bits: u32,
    /// `log2(step)`.
    pub step_t: u32,
    pub keep: u32,
    pub eg: u32,
}

impl StreamCodec {
    pub fn new(p: &CodecParams, bits: u32) -> Self {
        StreamCodec { mode: p.mode.code(), bits, step_t: p.step.trailing_zeros(), keep: p.keep as u32, eg: p.eg_order }
    }
}

/// Every field is a register of the core (docs/ARCHITECTURE.md, section 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerDescriptor {
    pub kind: LayerKind,
    /// The input tensor `[C, H, W]` as stored and streamed (SPEC 8.3 order).
    pub in_shape: [u32; 3],
    /// Input as the core sees it (fc: `[C*H*W, 1, 1]`, channels in stream order).
    pub c_in: u32,
    pub h: u32,
    pub w: u32,
    pub c_out: u32,
    pub h_out: u32,
    pub w_out: u32,
    pub kernel: u32,
    pub stride: u32,
    pub padding: u32,
    /// Activation bit-planes streamed per pixel: 1 in XNOR mode, k in BWN mode.
    pub planes: u32,
    /// `P`: bit-planes computed side by side on the array's rows (`plane_rows`): 1, or a power
    /// of two dividing `planes` when a pixel's channels fit one chunk; row `p` then holds plane
    /// `p` of every group of `P` planes.
    pub plane_rows: u32,
    /// Plane cycles of a pass per output pixel: `planes / plane_rows`.
    pub pass_planes: u32,
    pub bwn: bool,
    /// `MODE_ACC`, `MODE_SIGN` or `MODE_RELU`.
    pub out_mode: u32,
    pub out_bits: u32,
    /// The largest relu output (`out_max`, SPEC 6); `2^out_bits - 1` unless the layer narrows it.
    pub out_max: u32,
    pub shift: u32,
    pub group: u32,
    /// `ceil(c_in / L)` chunks of L lanes per pixel.
    pub chunks: u32,
    /// `ceil(chunks / R)` chunk groups (one array step covers R chunks).
    pub groups: u32,
    /// Valid lanes of a pixel's last chunk (0 when `c_in` is a multiple of L).
    pub tail_lanes: u32,
    /// Rows of the array holding a chunk in the last group.
    pub last_group_rows: u32,
    /// `ceil(c_out / C)` filter tiles (grouped layers: of the combine stage's output
    /// accumulators, drained one after another).
    pub filter_tiles: u32,
    /// Steps (passes) of one sequencer run per output row: `K * K * groups`; grouped layers
    /// `K * K * run_groups` per run of one group and bank tile.
    pub steps: u32,
    /// Chunk groups a run steps through per tap: `groups`, or the grouped layer's.
    pub run_groups: u32,
    /// Grouped layers: the stage-1 geometry, the combine entries of each run `(g, b)` (index
    /// `g * bank_tiles + b`) and their sum (each lane's entry memory words).
    pub grouped: Option<Grouped>,
    pub run_entries: Vec<u32>,
    pub entries: u32,
    /// Activation-buffer words (per row bank) of one input pixel: `groups * planes`.
    pub pixel_words: u32,
    /// Input rows held by the activation buffer at once, and output rows computed per band.
    pub band_rows: u32,
    pub band_out_rows: u32,
    pub bands: u32,
    /// The codecs of the stored input (read path) and output (write path).
    pub in_codec: StreamCodec,
    pub out_codec: StreamCodec,
}

/// The array's view of a layer: its kind, the input it computes on (an fc layer's whole input is
/// one pixel of channels) and its window.
struct ArrayView {
    kind: LayerKind,
    c_in: u32,
    h: u32,
    w: u32,
    kernel: u32,
    stride: u32,
    padding: u32,
}

impl ArrayView {
    fn of(layer: &QLayer, q: &QWeighted) -> Self {
        let [ci, hi, wi] = layer.in_shape.map(|v| v as u32);
        let (kind, c_in, h, w, kernel, stride, padding) = match &q.weights {
            QWeights::Conv { .. } => (
                LayerKind::Conv,
                ci,
                hi,
                wi,
                q.geometry.kernel as u32,
                q.geometry.stride as u32,
                q.geometry.padding as u32,
            ),
            QWeights::Fc { .. } => (LayerKind::Fc, ci * hi * wi, 1, 1, 1, 1, 0),
            QWeights::Slbf { .. } | QWeights::Penni { .. } => (
                if matches!(q.weights, QWeights::Slbf { .. }) { LayerKind::Slbf } else { LayerKind::Penni },
                ci,
                hi,
                wi,
                q.geometry.kernel as u32,
                q.geometry.stride as u32,
                q.geometry.padding as u32,
            ),
        };
        ArrayView { kind, c_in, h, w, kernel, stride, padding }
    }
}

/// The generated maxima (`limits`) a layer must fit: channels, fc inputs, width, kernel.
fn check_limits(cfg: &AccelConfig, kind: LayerKind, c_in: u32, co: u32, [h, wd]: [u32; 2], kernel: u32) -> Result<()> {
    let lim = &cfg.limits;
    if kind == LayerKind::Fc && c_in > lim.max_fc_inputs {
        bail!("{c_in} fc inputs exceed limits.max_fc_inputs = {}", lim.max_fc_inputs);
    }
    if kind != LayerKind::Fc && c_in > lim.max_channels {
        bail!("{c_in} input channels exceed limits.max_channels = {}", lim.max_channels);
    }
    // Conv and fc outputs are filter tiles, limited by the PPUs' parameter memories; slbf and
    // penni outputs also live in the combine stage's output accumulators.
    let grouped = matches!(kind, LayerKind::Slbf | LayerKind::Penni);
    if grouped && co > lim.max_channels {
        bail!("{co} output channels exceed limits.max_channels = {}", lim.max_channels);
    }
    if co > lim.max_filters() {
        bail!("{co} output channels exceed limits.max_filters = {}", lim.max_filters());
    }
    if h.max(wd) > lim.max_width {
        bail!("a {h}x{wd} input exceeds limits.max_width = {}", lim.max_width);
    }
    if kernel > lim.max_kernel {
        bail!("kernel {kernel} exceeds limits.max_kernel = {}", lim.max_kernel);
    }
    Ok(())
}

impl LayerDescriptor {
    /// The descriptor of a compiled layer on a core generated from `cfg`; an error (naming the
    /// limit) if the layer does not fit the core.
    pub fn new(layer: &QLayer, cfg: &AccelConfig) -> Result<Self> {
        let QOp::Weighted(w) = &layer.op else {
            bail!("layer {}: maxpool layers are not run by the core", layer.name);
        };
        let (r, c, l) = (cfg.array.rows, cfg.array.cols, cfg.array.lanes);
        let [ci, hi, wi] = layer.in_shape.map(|v| v as u32);
        let [co, ho, wo] = layer.out_shape.map(|v| v as u32);
        let ArrayView { kind, c_in, h, w: wd, kernel, stride, padding } = ArrayView::of(layer, w);
        let fail = |what: String| -> Result<Self> { bail!("layer {}: {what}", layer.name) };
        check_limits(cfg, kind, c_in, co, [h, wd], kernel).map_err(|e| anyhow::anyhow!("layer {}: {e}", layer.name))?;
        // One PPU serves G_hw adjacent columns with one scale register: every aligned block of
        // G_hw filters must lie in one scale group.
        let (g, g_hw) = (w.scale_group as u32, cfg.datapath.scale_group);
        if g % g_hw != 0 && g < co {
            return fail(format!(
                "scale_group = {g} is not a multiple of the core's datapath.scale_group = {g_hw} (and does not cover all {co} filters)"
            ));
        }
        let planes = if layer.in_bits == 1 { 1 } else { layer.in_bits };
        let chunks = c_in.div_ceil(l);
        let groups = chunk_groups(cfg, c_in);
        let grouped = Grouped::new(&layer.name, &w.weights, c_in, kernel, cfg)?;
        let run_groups = grouped.as_ref().map_or(groups, |g| g.run_groups);
        let prows = if grouped.is_none() { plane_rows(r, chunks, planes) } else { 1 };
        let pass_planes = planes / prows;
        let steps = kernel * kernel * run_groups;
        let (out_mode, out_bits, out_max) = match w.output {
            QOutput::Accumulator => (MODE_ACC, 32, 0),
            QOutput::Sign => (MODE_SIGN, 1, 1),
            QOutput::Relu { bits, max } => (MODE_RELU, bits, max),
        };
        // Weight buffer: one filter tile's T*R words in each of the C column banks (grouped
        // layers: every bank tile's, loaded once).
        let weight_depth = weight_bank_words(cfg);
        if let Some(g) = &grouped {
            if g.bank_tiles * g.tile_words > weight_depth {
                return fail(format!(
                    "the bank's {} filters need {} weight words per column, the weight buffer holds {weight_depth} (buffers.weight_kib = {})",
                    g.bank,
                    g.bank_tiles * g.tile_words,
                    cfg.buffers.weight_kib
                ));
            }
        } else if tile_weight_words(cfg, c_in, kernel) > weight_depth {
            return fail(format!(
                "a filter tile needs {} weight words per column, the weight buffer holds {weight_depth} (buffers.weight_kib = {})",
                steps * r,
                cfg.buffers.weight_kib
            ));
        }
        // Activation buffer: rows of W pixels x groups x pass planes words in each row bank.
        let pixel_words = groups * pass_planes;
        let act_depth = act_bank_words(cfg);
        let band_rows = (act_depth / (wd * pixel_words)).min(h + 2 * padding);
        if band_rows < kernel {
            return fail(format!(
                "{kernel} input rows of {wd} pixels need {} activation words per row bank, the activation buffer holds {act_depth} (buffers.act_kib = {})",
                act_rows_words(cfg, c_in, wd, pass_planes, kernel),
                cfg.buffers.act_kib
            ));
        }
        let band_out_rows = ((band_rows - kernel) / stride + 1).min(ho);
        let run_entries = match &grouped {
            Some(g) => combine::run_lengths(&w.weights, g, co, wo, cfg),
            None => Vec::new(),
        };
        let entries: u32 = run_entries.iter().sum();
        if entries > combine::entry_depth(cfg) {
            return fail(format!(
                "the combine stage needs {entries} entries per lane, its entry memory holds {} (combine.entry_kib = {})",
                combine::entry_depth(cfg),
                cfg.combine.entry_kib
            ));
        }
        // Grouped layers: the layer-static tail mask selects a sub-chunk group's lanes (which
        // the row control shifts down to lane 0), and no row is cut off by the last-group rule.
        let (tail_lanes, last_group_rows) = match &grouped {
            Some(g) if g.sub_chunk => (g.gs % l, r),
            Some(_) => (0, r),
            None if prows > 1 => (c_in % l, prows),
            None => (c_in % l, chunks - (groups - 1) * r),
        };
        Ok(LayerDescriptor {
            kind,
            in_shape: [ci, hi, wi],
            c_in,
            h,
            w: wd,
            c_out: co,
            h_out: ho,
            w_out: wo,
            kernel,
            stride,
            padding,
            planes,
            plane_rows: prows,
            pass_planes,
            bwn: layer.in_bits > 1,
            out_mode,
            out_bits,
            out_max,
            shift: w.shift,
            group: w.scale_group as u32,
            chunks,
            groups,
            tail_lanes,
            last_group_rows,
            filter_tiles: co.div_ceil(c),
            steps,
            run_groups,
            grouped,
            run_entries,
            entries,
            pixel_words,
            band_rows,
            band_out_rows,
            bands: ho.div_ceil(band_out_rows),
            in_codec: StreamCodec::new(&layer.in_codec, layer.in_bits),
            out_codec: if out_mode == MODE_ACC {
                StreamCodec::default()
            } else {
                StreamCodec::new(&layer.codec, out_bits)
            },
        })
    }
}

/// Bit-planes a layer computes side by side on the array's `rows` when a pixel's channels fit
/// one chunk (`chunks == 1`) and the input has several planes: the largest power of two `P <=
/// rows` dividing `planes` (1 otherwise). Row `p` then holds plane `p` of every group of `P`
/// planes and adds its contribution shifted left by `p` (the PE's `pshift`), so a pass streams
/// `planes / P` plane cycles per pixel instead of `planes`: an 8-bit input whose window taps
/// fill one row's lanes runs in a quarter of the time on 4 rows.
pub fn plane_rows(rows: u32, chunks: u32, planes: u32) -> u32 {
    let mut p = 1;
    while chunks == 1 && p * 2 <= rows && planes.is_multiple_of(p * 2) {
        p *= 2;
    }
    p
}

impl LayerDescriptor {
    /// The chunk and the plane offset array row `r` computes in a step of chunk group `group`
    /// (`None`: the row holds nothing, and the row control zeroes it).
    pub fn row_role(&self, rows: u32, group: u32, r: u32) -> Option<(u32, u32)> {
        if self.plane_rows > 1 {
            (r < self.plane_rows).then_some((0, r))
        } else {
            let chunk = group * rows + r;
            (chunk < self.chunks).then_some((chunk, 0))
        }
    }

    /// Where plane `b` of chunk `q` lives: its row bank and its word offset within a pixel's
    /// `pixel_words` (address `pixel * pixel_words + offset`). With planes side by side, chunk
    /// 0's plane `b` is in bank `b mod P` at offset `b div P`.
    pub fn act_slot(&self, rows: u32, q: u32, b: u32) -> (u32, u32) {
        if self.plane_rows > 1 {
            (b % self.plane_rows, b / self.plane_rows)
        } else {
            (q % rows, (q / rows) * self.planes + b)
        }
    }
}

/// Chunk groups of a pixel with `c_in` channels: `ceil(ceil(c_in / L) / R)`, the array steps one
/// tap takes.
pub fn chunk_groups(cfg: &AccelConfig, c_in: u32) -> u32 {
    c_in.div_ceil(cfg.array.lanes).div_ceil(cfg.array.rows)
}

/// Words each activation bank needs for `rows` input rows of `width` pixels, `c_in` channels of
/// `planes` bit-planes (one word per pixel, chunk group and plane).
pub fn act_rows_words(cfg: &AccelConfig, c_in: u32, width: u32, planes: u32, rows: u32) -> u32 {
    rows * width * chunk_groups(cfg, c_in) * planes
}

/// Words each weight bank needs for one filter tile of a `kernel x kernel` layer over `c_in`
/// channels: `T * R`.
pub fn tile_weight_words(cfg: &AccelConfig, c_in: u32, kernel: u32) -> u32 {
    kernel * kernel * chunk_groups(cfg, c_in) * cfg.array.rows
}

/// Bits of a pixel index within a row (the column accumulators' address): enough for
/// `limits.max_width` pixels.
pub fn pixel_index_bits(cfg: &AccelConfig) -> usize {
    (32 - (cfg.limits.max_width - 1).leading_zeros()).max(1) as usize
}

/// Largest bank the generator builds: banks sit behind 16-bit addresses (`hdl/src/blocks/bank.rs`).
pub const MAX_BANK_WORDS: u32 = 1 << 15;

/// A bank's depth: the largest power of two of `L`-bit words that fits its share of the buffer
/// (a RAM of `2^N` words), at most `MAX_BANK_WORDS`.
fn bank_words(kib: u32, banks: u32, lanes: u32) -> u32 {
    // In u64: `kib * 8192` overflows u32 from 512 MiB on.
    let words = (u64::from(kib) * 8192 / (u64::from(banks) * u64::from(lanes))).min(u64::from(MAX_BANK_WORDS)) as u32;
    if words == 0 {
        0
    } else {
        1u32 << (31 - words.leading_zeros())
    }
}

/// Words of `L` bits in each of the `C` weight banks.
pub fn weight_bank_words(cfg: &AccelConfig) -> u32 {
    bank_words(cfg.buffers.weight_kib, cfg.array.cols, cfg.array.lanes)
}

/// Words of `L` bits in each of the `R` activation banks.
pub fn act_bank_words(cfg: &AccelConfig) -> u32 {
    bank_words(cfg.buffers.act_kib, cfg.array.rows, cfg.array.lanes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;

    #[allow(clippy::too_many_arguments)] // a shape spelled out reads best in the tests below
    fn layer(c_in: usize, hw: usize, c_out: usize, k: usize, stride: usize, pad: usize, bits: u32, fc: bool) -> QLayer {
        let net = if fc {
            Network::single_fc(c_in, hw, hw, c_out, bits, vec![0.5; c_out * c_in * hw * hw])
        } else {
            let g = Geometry { kernel: k, stride, padding: pad };
            Network::single_conv(c_in, hw, hw, c_out, g, bits, vec![0.5; c_out * c_in * k * k])
        };
        let mut cfg = AccelConfig::default();
        cfg.datapath.acc_bits = 32;
        compile(&net, &cfg, None).unwrap().layers.remove(0)
    }

    #[test]
    fn a_buffer_of_512_mib_or_more_gives_the_largest_bank_not_an_overflow() {
        let mut cfg = AccelConfig::default();
        for kib in [524_288, 1 << 20] {
            cfg.buffers.act_kib = kib;
            cfg.buffers.weight_kib = kib;
            assert_eq!((act_bank_words(&cfg), weight_bank_words(&cfg)), (MAX_BANK_WORDS, MAX_BANK_WORDS));
        }
        // A layer that fits the default buffers fits these.
        assert!(LayerDescriptor::new(&layer(70, 16, 10, 3, 2, 1, 8, false), &cfg).is_ok());
    }

    #[test]
    fn derived_loop_bounds_of_a_conv_layer() {
        // Default core: R = 2, C = 8, L = 32. 70 channels: 3 chunks (the last with 6 lanes) in 2
        // groups of R, the last group using 1 row; 10 filters: 2 tiles; 9 taps x 2 groups = 18 steps.
        let d = LayerDescriptor::new(&layer(70, 16, 10, 3, 2, 1, 8, false), &AccelConfig::default()).unwrap();
        assert_eq!((d.chunks, d.groups, d.tail_lanes, d.last_group_rows), (3, 2, 6, 1));
        assert_eq!((d.filter_tiles, d.steps, d.planes, d.pixel_words), (2, 18, 8, 16));
        assert_eq!((d.h_out, d.w_out), (8, 8));
        // act bank: 32 KiB / (2 * 32 bits) = 4096 words; a row = 16 * 16 words -> 16 rows fit, but
        // a band never needs more than the padded input (18 rows) -> 16 rows -> 7 output rows.
        assert_eq!((d.band_rows, d.band_out_rows, d.bands), (16, 7, 2));
    }

    #[test]
    fn fc_runs_as_a_one_by_one_conv_over_the_flattened_input() {
        let d = LayerDescriptor::new(&layer(8, 4, 10, 1, 1, 0, 1, true), &AccelConfig::default()).unwrap();
        assert_eq!((d.kind, d.c_in, d.h, d.w, d.kernel), (LayerKind::Fc, 128, 1, 1, 1));
        assert_eq!((d.chunks, d.groups, d.steps, d.planes, d.bwn), (4, 2, 2, 1, false));
    }

    #[test]
    fn layers_that_do_not_fit_name_the_limit() {
        let cfg = AccelConfig::default();
        let e = LayerDescriptor::new(&layer(300, 8, 4, 3, 1, 1, 1, false), &cfg).unwrap_err().to_string();
        assert!(e.contains("limits.max_channels = 256"), "{e}");
        let mut small = cfg.clone();
        small.buffers.act_kib = 1; // 1 KiB / (4 * 32 bits) = 64 words per bank
        let e = LayerDescriptor::new(&layer(64, 32, 4, 3, 1, 1, 8, false), &small).unwrap_err().to_string();
        assert!(e.contains("buffers.act_kib = 1"), "{e}");
        small.buffers.weight_kib = 1; // 1 KiB / (4 * 32) = 64 words per bank; 3x3x2 groups x 4 rows = 72
        let e = LayerDescriptor::new(&layer(256, 4, 4, 3, 1, 1, 1, false), &small).unwrap_err().to_string();
        assert!(e.contains("buffers.weight_kib = 1"), "{e}");
    }

    #[test]
    fn planes_of_a_one_chunk_pixel_run_side_by_side_on_the_rows() {
        // 27 channels of 8 bits on R = 2: planes two at a time, 4 pass planes per pixel.
        let cfg = AccelConfig::default();
        let d = LayerDescriptor::new(&layer(27, 8, 8, 1, 1, 0, 8, false), &cfg).unwrap();
        assert_eq!((d.plane_rows, d.pass_planes, d.pixel_words, d.last_group_rows), (2, 4, 4, 2));
        // Plane 5 of the chunk: bank 1, word 2; row 1 computes plane offset 1 of chunk 0.
        assert_eq!((d.act_slot(2, 0, 5), d.row_role(2, 0, 1)), ((1, 2), Some((0, 1))));
        // Two chunks fill both rows, and binary inputs have one plane: no planes side by side.
        for (c_in, bits) in [(40, 8), (27, 1)] {
            let d = LayerDescriptor::new(&layer(c_in, 8, 8, 1, 1, 0, bits, false), &cfg).unwrap();
            assert_eq!((d.plane_rows, d.pass_planes), (1, d.planes), "{c_in} channels, {bits} bits");
        }
        // P is the largest power of two up to R dividing k.
        let p = |rows, planes| plane_rows(rows, 1, planes);
        assert_eq!([p(8, 8), p(8, 6), p(4, 3), p(3, 8), p(1, 8)], [8, 2, 1, 2, 1]);
        assert_eq!(plane_rows(8, 2, 8), 1);
    }

    #[test]
    fn conv_and_fc_outputs_are_limited_by_the_parameter_memories_not_the_channel_limit() {
        let mut cfg = AccelConfig::default();
        cfg.limits.max_channels = 64;
        cfg.limits.max_filters = Some(96);
        // 96 filters: past max_channels, within max_filters, as conv and as fc outputs.
        assert!(LayerDescriptor::new(&layer(8, 4, 96, 3, 1, 1, 1, false), &cfg).is_ok());
        assert!(LayerDescriptor::new(&layer(8, 4, 96, 1, 1, 0, 1, true), &cfg).is_ok());
        let e = LayerDescriptor::new(&layer(8, 4, 97, 1, 1, 0, 1, true), &cfg).unwrap_err().to_string();
        assert!(e.contains("97 output channels exceed limits.max_filters = 96"), "{e}");
        // Without the key, conv and fc outputs keep the channel limit.
        cfg.limits.max_filters = None;
        let e = LayerDescriptor::new(&layer(8, 4, 96, 3, 1, 1, 1, false), &cfg).unwrap_err().to_string();
        assert!(e.contains("limits.max_filters = 64"), "{e}");
    }
}
