//! The order of data on the core's streams (docs/ARCHITECTURE.md, section 4), as the host
//! produces and consumes it: activations one codec block per beat in the codec's stream order
//! (SPEC 8.3: rows, segments, pixels, blocks), weights in the order the column banks fill,
//! results in (filter tile, row, x, filter) order.

use super::descriptor::{LayerDescriptor, LayerKind};
use crate::codec::{segment_blocks, segments, BlockSpan};
use crate::config::AccelConfig;
use crate::quant::{QLayer, QOp, QWeights};
use crate::tensor::Tensor3;

/// The stored bit pattern of an activation: the value for k-bit tensors, 1 for +1 and 0 for -1 in
/// binary ones (SPEC 2.1).
pub fn act_code(v: i32, bits: u32) -> u8 {
    if bits == 1 {
        (v > 0) as u8
    } else {
        v as u8
    }
}

/// One beat of the activation stream: the codes of one codec block (SPEC 8.3), i.e. up to `N`
/// consecutive channels of one pixel. `pixel` (counted from the first row streamed) and `ch0` say
/// where the core puts it: fc layers see their whole input as the channels of one pixel, in
/// stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActBeat {
    pub pixel: u32,
    pub ch0: u32,
    pub codes: Vec<u8>,
}

impl ActBeat {
    /// The beat as the stream's data word: value `i` in bits `[8i + 7 : 8i]`, lanes past the
    /// block zero.
    pub fn word(&self) -> u128 {
        self.codes.iter().enumerate().fold(0u128, |w, (i, &c)| w | (c as u128) << (8 * i))
    }
}

/// Beats of one input row of a `[c, _, w]` tensor in stream order: for each segment of
/// `array.cols` channels, each pixel, each block of `beat_values` channels (SPEC 8.3's blocks
/// when the codec is on), as `(x, block)`.
pub fn row_blocks(c: u32, w: u32, cfg: &AccelConfig) -> Vec<(u32, BlockSpan)> {
    let (seg, n) = (cfg.segment() as usize, cfg.beat_values() as usize);
    let mut v = Vec::new();
    for s in segments(c as usize, seg) {
        for x in 0..w {
            v.extend(segment_blocks(s.clone(), n).map(|b| (x, b)));
        }
    }
    v
}

/// Beats per input row (the controller's `row_beats` register is this times the rows per core
/// row: 1 for conv, the tensor's height for fc).
pub fn beats_per_row(c: u32, w: u32, cfg: &AccelConfig) -> u32 {
    row_blocks(c, w, cfg).len() as u32
}

/// The tensor position `(c, y, x)` of core channel `ch` of an fc layer: the core numbers its
/// inputs in stream order (row, segment, pixel, channel of the segment), so the activation
/// stream fills its channels one after the other.
pub fn fc_position(d: &LayerDescriptor, cfg: &AccelConfig, ch: u32) -> (u32, u32, u32) {
    let [c, _, w] = d.in_shape;
    let s = cfg.segment();
    let (y, rem) = (ch / (w * c), ch % (w * c));
    // Only the last segment can be shorter than S.
    let seg = rem / (w * s);
    let (seg_c0, in_seg) = (seg * s, rem % (w * s));
    let len = s.min(c - seg_c0);
    (seg_c0 + in_seg % len, y, in_seg / len)
}

/// The activation beats of input rows `rows` (core coordinates; for fc the only core row is the
/// whole input).
pub fn act_stream(
    d: &LayerDescriptor,
    cfg: &AccelConfig,
    input: &Tensor3<i32>,
    in_bits: u32,
    rows: std::ops::Range<u32>,
) -> Vec<ActBeat> {
    let [c, h, w] = d.in_shape;
    let tensor_rows = match d.kind {
        LayerKind::Fc => 0..h,
        _ => rows.clone(),
    };
    let blocks = row_blocks(c, w, cfg);
    let mut out = Vec::new();
    let mut fc_ch = 0;
    for (i, y) in tensor_rows.enumerate() {
        for &(x, b) in &blocks {
            let codes: Vec<u8> =
                (0..b.n).map(|j| act_code(input.get(b.ch0 + j, y as usize, x as usize), in_bits)).collect();
            let (pixel, ch0) = match d.kind {
                LayerKind::Fc => (0, fc_ch),
                _ => (i as u32 * w + x, b.ch0 as u32),
            };
            fc_ch += b.n as u32;
            out.push(ActBeat { pixel, ch0, codes });
        }
    }
    out
}

/// The ±1 weight of filter `f`, core input channel `ch`, tap (ky, kx); fc weights are permuted
/// from CHW to the HWC flattening the core sees.
pub fn core_weight(
    layer: &QLayer,
    d: &LayerDescriptor,
    cfg: &AccelConfig,
    f: usize,
    ch: usize,
    ky: usize,
    kx: usize,
) -> i8 {
    let QOp::Weighted(w) = &layer.op else { unreachable!("descriptors exist for weighted layers only") };
    match &w.weights {
        QWeights::Conv { signs } => {
            let (c_in, k) = (d.c_in as usize, d.kernel as usize);
            signs[((f * c_in + ch) * k + ky) * k + kx]
        }
        QWeights::Fc { signs } => {
            let [c, h, wd] = layer.in_shape;
            let (cc, y, x) = fc_position(d, cfg, ch as u32);
            let chw = (cc as usize * h + y as usize) * wd + x as usize;
            signs[f * c * h * wd + chw]
        }
        _ => unreachable!("slbf and penni weights are the bank's (`hw::grouped`)"),
    }
}

/// The weight word of array row `r`, column `col` at step `s` of filter tile `tile`: lane `l`
/// is the weight bit (1 = +1) of channel `(group*R + r)*L + l`; lanes past the channels or
/// filters past `c_out` are 0.
pub fn weight_word(
    layer: &QLayer,
    d: &LayerDescriptor,
    cfg: &AccelConfig,
    tile: u32,
    s: u32,
    r: u32,
    col: u32,
) -> u128 {
    let (rows, cols, lanes) = (cfg.array.rows, cfg.array.cols, cfg.array.lanes);
    let (tap, group) = (s / d.groups, s % d.groups);
    let (ky, kx) = (tap / d.kernel, tap % d.kernel);
    let f = tile * cols + col;
    let mut word = 0u128;
    if f >= d.c_out {
        return 0;
    }
    let Some((chunk, _)) = d.row_role(rows, group, r) else { return 0 };
    for l in 0..lanes {
        let ch = chunk * lanes + l;
        if ch < d.c_in && core_weight(layer, d, cfg, f as usize, ch as usize, ky as usize, kx as usize) > 0 {
            word |= 1 << l;
        }
    }
    word
}

/// The weight stream of one filter tile: for each step, each array row, each column.
pub fn weight_stream(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig, tile: u32) -> Vec<u128> {
    let mut v = Vec::new();
    for s in 0..d.steps {
        for r in 0..cfg.array.rows {
            for col in 0..cfg.array.cols {
                v.push(weight_word(layer, d, cfg, tile, s, r, col));
            }
        }
    }
    v
}

/// Input rows (core coordinates) the activation buffer holds for row band `b`: from the band's
/// first output row's top tap (or row 0) over `(band_out_rows - 1) * stride + K` rows (or to the
/// last row). The controller computes the same range (`hdl/src/blocks/controller.rs`).
pub fn band_input_rows(d: &LayerDescriptor, b: u32) -> std::ops::Range<u32> {
    let iy = (b * d.band_out_rows * d.stride) as i64 - d.padding as i64;
    let span = ((d.band_out_rows - 1) * d.stride + d.kernel) as i64;
    (iy.max(0) as u32)..((iy + span).min(d.h as i64) as u32)
}

/// Output rows computed in row band `b`.
pub fn band_output_rows(d: &LayerDescriptor, b: u32) -> std::ops::Range<u32> {
    let y = b * d.band_out_rows;
    y..(y + d.band_out_rows).min(d.h_out)
}

/// The codes of the core's view of the streamed rows, indexed `pixel * c_in + ch` (what the
/// activation buffer holds, before bit-plane packing).
pub fn core_codes(d: &LayerDescriptor, beats: &[ActBeat]) -> Vec<u8> {
    let pixels = beats.iter().map(|b| b.pixel + 1).max().unwrap_or(0);
    let mut v = vec![0u8; (pixels * d.c_in) as usize];
    for b in beats {
        for (j, &code) in b.codes.iter().enumerate() {
            v[(b.pixel * d.c_in + b.ch0) as usize + j] = code;
        }
    }
    v
}

/// The whole layer's activation stream: each band's input rows in turn.
pub fn layer_act_stream(d: &LayerDescriptor, cfg: &AccelConfig, input: &Tensor3<i32>, in_bits: u32) -> Vec<ActBeat> {
    (0..d.bands).flat_map(|b| act_stream(d, cfg, input, in_bits, band_input_rows(d, b))).collect()
}

/// The whole layer's weight stream: for each band, each filter tile's weights; a layer of one
/// filter tile loads its weights once (they stay in the buffer across bands). A grouped layer
/// loads its bank's weights and then its combine entries once (`hw::grouped`, `hw::combine`).
pub fn layer_weight_stream(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<u128> {
    if let Some(g) = &d.grouped {
        let QOp::Weighted(w) = &layer.op else { unreachable!("descriptors exist for weighted layers only") };
        let mut v = g.weight_stream(&w.weights, cfg);
        v.extend(super::combine::entry_stream(&grouped_entries(layer, d, cfg), cfg));
        return v;
    }
    let bands = if d.filter_tiles == 1 { 1 } else { d.bands };
    (0..bands).flat_map(|_| (0..d.filter_tiles).flat_map(|t| weight_stream(layer, d, cfg, t))).collect()
}

/// With the codec, the records (SPEC 8.3: one per row and segment of `array.cols` channels)
/// the layer fetches, in order, as `(row, segment)` of its input tensor: each band's input rows
/// (fc layers: the whole input once); rows shared by two bands are fetched twice.
pub fn record_reads(d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<(u32, u32)> {
    let [c, h, _] = d.in_shape;
    let segs = c.div_ceil(cfg.segment());
    let rows: Vec<u32> = match d.kind {
        LayerKind::Fc => (0..h).collect(),
        _ => (0..d.bands).flat_map(|b| band_input_rows(d, b)).collect(),
    };
    rows.into_iter().flat_map(|y| (0..segs).map(move |s| (y, s))).collect()
}

/// Each combine lane's entries of a grouped layer (`hw::combine::lane_entries`).
pub fn grouped_entries(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<Vec<super::combine::Entry>> {
    let (QOp::Weighted(w), Some(g)) = (&layer.op, &d.grouped) else { panic!("layer {} is not grouped", layer.name) };
    super::combine::lane_entries(&w.weights, g, d.c_out, d.w_out, cfg)
}

/// The (filter tile, output row) drains of a layer in the order the core runs them: for each
/// band, each tile's rows (a conv layer's tiles are outer), or each row's tiles (a grouped
/// layer drains every tile of a row from the combine stage).
pub fn drain_order(d: &LayerDescriptor) -> Vec<(u32, u32)> {
    let mut v = Vec::new();
    for b in 0..d.bands {
        if d.kind.grouped() {
            v.extend(band_output_rows(d, b).flat_map(|y| (0..d.filter_tiles).map(move |t| (t, y))));
        } else {
            v.extend((0..d.filter_tiles).flat_map(|t| band_output_rows(d, b).map(move |y| (t, y))));
        }
    }
    v
}

/// With the codec, the records of k-bit and sign outputs in the order the core writes them, as
/// `(row, segment)` of the output tensor: a filter tile's channels are one segment, so each
/// drain of a tile's output row is one record, in `drain_order`.
pub fn record_writes(d: &LayerDescriptor) -> Vec<(u32, u32)> {
    drain_order(d).into_iter().map(|(t, y)| (y, t)).collect()
}

/// The position of each result beat: for each drain (`drain_order`), pixel `x` and column
/// `c_local` of a PPU's group, one beat whose lane `j` is filter `tile * C + j * G_hw + c_local`
/// (`hw::params::ppu_filter`).
pub fn result_beats(d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<(u32, u32, u32, u32)> {
    let mut v = Vec::new();
    for (t, y) in drain_order(d) {
        for x in 0..d.w_out {
            for c in 0..cfg.datapath.scale_group {
                v.push((t, y, x, c));
            }
        }
    }
    v
}

/// The layer's output tensor from the result stream's beats (`lanes[j]` = lane `j`, the raw
/// `acc_bits`-bit word): accumulators are sign-extended, sign outputs map 1 / 0 to +1 / -1.
pub fn results_to_tensor(d: &LayerDescriptor, cfg: &AccelConfig, beats: &[Vec<u64>]) -> anyhow::Result<Tensor3<i32>> {
    let order = result_beats(d, cfg);
    if beats.len() != order.len() {
        anyhow::bail!("{} result beats, expected {}", beats.len(), order.len());
    }
    let a = cfg.datapath.acc_bits;
    let mut out = Tensor3::from_vec(
        d.c_out as usize,
        d.h_out as usize,
        d.w_out as usize,
        vec![0; (d.c_out * d.h_out * d.w_out) as usize],
    );
    for (i, (&(t, y, x, c), lanes)) in order.iter().zip(beats).enumerate() {
        for (j, &raw) in lanes.iter().enumerate() {
            let f = super::params::ppu_filter(cfg, t, j as u32, c);
            if f >= d.c_out {
                continue;
            }
            if a < 64 && raw >> a != 0 {
                anyhow::bail!("result beat {i}, lane {j} (filter {f}): {raw:#x} is not an {a}-bit value");
            }
            let v = match d.out_mode {
                super::descriptor::MODE_ACC => ((raw << (64 - a)) as i64 >> (64 - a)) as i32,
                super::descriptor::MODE_SIGN => {
                    if raw & 1 == 1 {
                        1
                    } else {
                        -1
                    }
                }
                _ => raw as i32,
            };
            out.set(f as usize, y as usize, x as usize, v);
        }
    }
    Ok(out)
}

/// The result stream's beats for a layer output `t` (the inverse of `results_to_tensor`): lane
/// `j` of each beat is the raw `acc_bits`-bit word of its filter; lanes of filters past `c_out`
/// are `None` (the core leaves whatever its idle PPU computed there). Sign outputs are given as
/// 1 / 0.
pub fn tensor_to_results(d: &LayerDescriptor, cfg: &AccelConfig, t: &Tensor3<i32>) -> Vec<Vec<Option<u64>>> {
    let a = cfg.datapath.acc_bits;
    let mask = if a >= 64 { u64::MAX } else { (1u64 << a) - 1 };
    result_beats(d, cfg)
        .into_iter()
        .map(|(tile, y, x, c)| {
            (0..super::params::ppus(cfg))
                .map(|j| {
                    let f = super::params::ppu_filter(cfg, tile, j, c);
                    (f < d.c_out).then(|| {
                        let v = t.get(f as usize, y as usize, x as usize);
                        match d.out_mode {
                            super::descriptor::MODE_SIGN => (v == 1) as u64,
                            _ => v as i64 as u64 & mask,
                        }
                    })
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::LayerDescriptor;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The dot products computed only from the streams (weight words, activation codes) with the
    /// step order of the array equal the golden model's: the streams lose nothing and put every
    /// bit where the array expects it.
    #[test]
    fn streams_carry_the_whole_layer() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut cfg = AccelConfig::default();
        cfg.datapath.acc_bits = 32;
        cfg.array.rows = 2;
        cfg.array.cols = 3;
        cfg.array.lanes = 8;
        cfg.codec.block = 4;
        for case in 0..60 {
            let fc = case % 3 == 0;
            let bits = [1u32, 2, 8][(case / 3) % 3];
            let (c_in, hw, c_out) = (rng.gen_range(1..20), rng.gen_range(3..6), rng.gen_range(1..8));
            let k = if fc { 1 } else { [1, 3][case % 2] };
            let g = Geometry { kernel: k, stride: 1 + case % 2, padding: case % 2 };
            let n = if fc { c_out * c_in * hw * hw } else { c_out * c_in * k * k };
            let wv: Vec<f32> = (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
            let net = if fc {
                Network::single_fc(c_in, hw, hw, c_out, bits, wv)
            } else {
                Network::single_conv(c_in, hw, hw, c_out, g, bits, wv)
            };
            let q = compile(&net, &cfg, None).unwrap();
            let ql = &q.layers[0];
            let d = LayerDescriptor::new(ql, &cfg).unwrap();
            let data: Vec<i32> = (0..c_in * hw * hw)
                .map(|_| if bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) })
                .collect();
            let input = Tensor3::from_vec(c_in, hw, hw, data);
            let acts = core_codes(&d, &act_stream(&d, &cfg, &input, bits, 0..d.h));
            let (rows, cols, lanes) = (cfg.array.rows, cfg.array.cols, cfg.array.lanes);
            let QOp::Weighted(w) = &ql.op else { unreachable!() };
            let want = crate::golden::layer_dots(w, &input);
            for tile in 0..d.filter_tiles {
                let ws = weight_stream(ql, &d, &cfg, tile);
                for y in 0..d.h_out {
                    for x in 0..d.w_out {
                        let mut dot = vec![0i64; cols as usize];
                        for s in 0..d.steps {
                            let (tap, group) = (s / d.groups, s % d.groups);
                            let iy = (y * d.stride + tap / d.kernel) as i64 - d.padding as i64;
                            let ix = (x * d.stride + tap % d.kernel) as i64 - d.padding as i64;
                            if iy < 0 || ix < 0 || iy >= d.h as i64 || ix >= d.w as i64 {
                                continue;
                            }
                            for r in 0..rows {
                                for l in 0..lanes {
                                    let ch = (group * rows + r) * lanes + l;
                                    if ch >= d.c_in {
                                        continue;
                                    }
                                    let code = acts[((iy as u32 * d.w + ix as u32) * d.c_in + ch) as usize] as i64;
                                    let a = if bits == 1 { 2 * code - 1 } else { code };
                                    for col in 0..cols {
                                        let word = ws[((s * rows + r) * cols + col) as usize];
                                        let wv = if (word >> l) & 1 == 1 { 1 } else { -1 };
                                        dot[col as usize] += wv * a;
                                    }
                                }
                            }
                        }
                        for col in 0..cols {
                            let f = tile * cols + col;
                            if f < d.c_out {
                                assert_eq!(
                                    dot[col as usize],
                                    want.get(f as usize, y as usize, x as usize),
                                    "case {case} f {f} y {y} x {x}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod band_tests {
    use super::*;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Bands cover every output row once, hold every input row their output rows read, and fit
    /// the activation buffer.
    #[test]
    fn bands_cover_the_layer_and_fit_the_buffer() {
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..300 {
            let mut cfg = AccelConfig::default();
            cfg.datapath.acc_bits = 32;
            cfg.buffers.act_kib = rng.gen_range(1..4);
            cfg.limits.max_kernel = 5;
            let (c_in, k) = (rng.gen_range(1..70), [1, 3, 5][rng.gen_range(0..3)]);
            let hw = rng.gen_range(k..40);
            let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
            let net = Network::single_conv(c_in, hw, hw, 2, g, rng.gen_range(1..=8), vec![1.0; 2 * c_in * k * k]);
            let q = compile(&net, &cfg, None).unwrap();
            let Ok(d) = LayerDescriptor::new(&q.layers[0], &cfg) else { continue };
            let mut next = 0;
            for b in 0..d.bands {
                let (rows, outs) = (band_input_rows(&d, b), band_output_rows(&d, b));
                assert_eq!(outs.start, next, "{d:?}");
                next = outs.end;
                assert!(rows.end - rows.start <= d.band_rows, "band {b} of {d:?}");
                for y in outs {
                    for ky in 0..d.kernel {
                        let iy = (y * d.stride + ky) as i64 - d.padding as i64;
                        if iy >= 0 && iy < d.h as i64 {
                            assert!(rows.contains(&(iy as u32)), "band {b} row {y} tap {ky}: {d:?}");
                        }
                    }
                }
            }
            assert_eq!(next, d.h_out);
        }
    }

    /// `tensor_to_results` and `results_to_tensor` are inverse on every output mode, with filter
    /// tiles, PPU groups and a partly filled last tile.
    #[test]
    fn result_beats_round_trip() {
        use crate::quant::{QOp, QOutput};
        let mut rng = StdRng::seed_from_u64(3);
        for case in 0..24 {
            let mut cfg = AccelConfig::default();
            cfg.array.cols = [4, 8][case % 2];
            cfg.datapath.scale_group = [1, 2][(case / 2) % 2];
            let c_out = rng.gen_range(1..20);
            let mut net = Network::single_conv(
                5,
                4,
                4,
                c_out,
                Geometry { kernel: 3, stride: 1, padding: 1 },
                1,
                vec![1.0; c_out * 45],
            );
            let crate::network::Op::Weighted(nw) = &mut net.layers[0].op else { unreachable!() };
            nw.scale_group = c_out;
            let mut q = compile(&net, &cfg, None).unwrap();
            let QOp::Weighted(w) = &mut q.layers[0].op else { unreachable!() };
            w.output = [QOutput::Accumulator, QOutput::Sign, QOutput::Relu { bits: 4, max: 15 }][case % 3];
            let d = LayerDescriptor::new(&q.layers[0], &cfg).unwrap();
            let values: Vec<i32> = (0..c_out * 16)
                .map(|_| match d.out_mode {
                    crate::hw::descriptor::MODE_ACC => rng.gen_range(-5000..5000),
                    crate::hw::descriptor::MODE_SIGN => [1, -1][rng.gen_range(0..2)],
                    _ => rng.gen_range(0..16),
                })
                .collect();
            let t = Tensor3::from_vec(c_out, 4, 4, values);
            let beats: Vec<Vec<u64>> = tensor_to_results(&d, &cfg, &t)
                .into_iter()
                .map(|b| b.into_iter().map(|v| v.unwrap_or(0)).collect())
                .collect();
            assert_eq!(results_to_tensor(&d, &cfg, &beats).unwrap().data, t.data, "case {case}: {d:?}");
        }
    }
}
