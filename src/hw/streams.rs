//! The order of data on the core's streams (docs/ARCHITECTURE.md, section 4), as the host
//! produces and consumes it: activations in HWC order one value per beat, weights in the order
//! the column banks fill, results in (filter tile, row, x, filter) order.

use super::descriptor::{LayerDescriptor, LayerKind};
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

/// Input channel `ch` of the core's view of the input at (y, x): fc layers see the input
/// flattened in HWC order.
fn core_input(d: &LayerDescriptor, input: &Tensor3<i32>, ch: usize, y: usize, x: usize) -> i32 {
    match d.kind {
        LayerKind::Conv => input.get(ch, y, x),
        LayerKind::Fc => {
            let (pix, c) = (ch / input.c, ch % input.c);
            input.get(c, pix / input.w, pix % input.w)
        }
    }
}

/// The activation stream of input rows `rows` (core coordinates): HWC order, one code per value.
pub fn act_stream(d: &LayerDescriptor, input: &Tensor3<i32>, in_bits: u32, rows: std::ops::Range<u32>) -> Vec<u8> {
    let mut out = Vec::new();
    for y in rows {
        for x in 0..d.w as usize {
            for ch in 0..d.c_in as usize {
                out.push(act_code(core_input(d, input, ch, y as usize, x), in_bits));
            }
        }
    }
    out
}

/// The ±1 weight of filter `f`, core input channel `ch`, tap (ky, kx); fc weights are permuted
/// from CHW to the HWC flattening the core sees.
pub fn core_weight(layer: &QLayer, d: &LayerDescriptor, f: usize, ch: usize, ky: usize, kx: usize) -> i8 {
    let QOp::Weighted(w) = &layer.op else { unreachable!("descriptors exist for weighted layers only") };
    match &w.weights {
        QWeights::Conv { signs } => {
            let (c_in, k) = (d.c_in as usize, d.kernel as usize);
            signs[((f * c_in + ch) * k + ky) * k + kx]
        }
        QWeights::Fc { signs } => {
            let [c, h, wd] = layer.in_shape;
            let (pix, cc) = (ch / c, ch % c);
            let chw = (cc * h + pix / wd) * wd + pix % wd;
            signs[f * c * h * wd + chw]
        }
        _ => unreachable!("the descriptor rejects slbf and penni"),
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
    for l in 0..lanes {
        let ch = (group * rows + r) * lanes + l;
        if ch < d.c_in && core_weight(layer, d, f as usize, ch as usize, ky as usize, kx as usize) > 0 {
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
            let acts = act_stream(&d, &input, bits, 0..d.h);
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
