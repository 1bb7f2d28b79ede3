//! The float32 reference forward pass (SPEC 9): the network with its original float weights and
//! no quantisation, to measure what binarisation, scale sharing, requantisation and lossy coding
//! cost. Also the calibration of missing `out_scale`s (SPEC 6) and the dequantisation of integer
//! outputs for fidelity figures.

use crate::network::{Geometry, Network, Op, OutputFn, Weights};
use crate::quant::{Calibration, QLayer, QOp, QOutput};
use crate::tensor::Tensor3;

/// Float convolution of `input` with OIHW weights `w`; zero padding. Each output value is
/// summed in float64 over the channels, and per channel over the valid taps in window order.
fn conv_f(input: &Tensor3<f32>, o_count: usize, g: &Geometry, w: &[f32]) -> Tensor3<f32> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let (kk, hw) = (g.kernel * g.kernel, input.h * input.w);
    let mut out = Tensor3::zeros(o_count, h_out, w_out);
    let mut terms = Vec::new();
    for y in 0..h_out {
        for x in 0..w_out {
            terms.clear();
            for c in 0..input.c {
                for (ky, kx, iy, ix) in g.window(y, x) {
                    if (0..input.h as isize).contains(&iy) && (0..input.w as isize).contains(&ix) {
                        terms.push((c * kk + ky * g.kernel + kx, c * hw + iy as usize * input.w + ix as usize));
                    }
                }
            }
            let sums = filter_sums(w, input.c * kk, o_count, &terms, &input.data);
            for (o, v) in sums.into_iter().enumerate() {
                out.set(o, y, x, v as f32);
            }
        }
    }
    out
}

/// Filters interleaved by `filter_sums`: enough independent sums to keep the CPU's float adders
/// busy while each sum stays one sequential chain (8 ran a binary CNN's float reference 1.45x
/// faster than 4 and as fast as 16; benches/golden_batch.rs).
const INTERLEAVE: usize = 8;

/// `sum over (k, i) in terms of w[o * stride + k] * a[i]` in float64 for every filter `o` in
/// `0..o_count`, each summed in the order of `terms` (a sum is what a loop over that filter
/// alone gives, bit for bit; computing `INTERLEAVE` filters side by side only overlaps them).
fn filter_sums(w: &[f32], stride: usize, o_count: usize, terms: &[(usize, usize)], a: &[f32]) -> Vec<f64> {
    let mut sums = vec![0f64; o_count];
    let mut chunks = sums.chunks_exact_mut(INTERLEAVE);
    for (block, acc) in chunks.by_ref().enumerate() {
        let rows: [&[f32]; INTERLEAVE] = std::array::from_fn(|j| &w[(block * INTERLEAVE + j) * stride..]);
        for &(k, i) in terms {
            let x = a[i] as f64;
            for j in 0..INTERLEAVE {
                acc[j] += rows[j][k] as f64 * x;
            }
        }
    }
    let done = o_count - chunks.into_remainder().len();
    for (o, acc) in sums.iter_mut().enumerate().skip(done) {
        *acc = terms.iter().fold(0f64, |s, &(k, i)| s + w[o * stride + k] as f64 * a[i] as f64);
    }
    sums
}

/// The float OIHW weights `[o_count, c_in, k, k]` a conv, slbf or penni layer stands for (SPEC 9):
/// conv weights as given, the stacked float bank of an slbf layer (SPEC 3.4), `coef x basis` of a
/// penni layer (SPEC 3.5; each weight summed in float64 over `j`, then rounded to float32).
pub fn float_conv_weights(weights: &Weights, o_count: usize, c_in: usize, k: usize) -> Vec<f32> {
    let kk = k * k;
    match weights {
        Weights::Conv(f) => f.clone(),
        Weights::Slbf { bank, d, index, m, .. } => stack_slbf(bank, *d, index, *m, o_count, c_in, kk),
        Weights::Penni { basis, d, coef } => (0..o_count * c_in * kk)
            .map(|i| {
                let (oc, t) = (i / kk, i % kk);
                (0..*d).map(|j| coef[oc * d + j] as f64 * basis[j * kk + t] as f64).sum::<f64>() as f32
            })
            .collect(),
        Weights::Fc(_) => panic!("fc weights are not convolution kernels"),
    }
}

/// The OIHW filters `[o_count, c_in, K*K]` an SLBF layer stacks from its bank `[n, d, K*K]`:
/// filter `o`'s channels `i*d..(i+1)*d` are bank filter `index[o, i]` (SPEC 3.4). Generic over
/// the element so the float bank and the binarised one share it.
pub fn stack_slbf<T: Copy>(
    bank: &[T],
    d: usize,
    index: &[usize],
    m: usize,
    o_count: usize,
    c_in: usize,
    kk: usize,
) -> Vec<T> {
    (0..o_count * c_in * kk)
        .map(|i| {
            let (o, c, t) = (i / (c_in * kk), i / kk % c_in, i % kk);
            bank[(index[o * m + c / d] * d + c % d) * kk + t]
        })
        .collect()
}

/// One layer of the float reference; `s_in` is the step of the layer's quantised input (a
/// threshold layer compares its real output with `s_in * T_o`).
pub fn layer_forward(op: &Op, input: &Tensor3<f32>, s_in: f64) -> Tensor3<f32> {
    let w = match op {
        Op::MaxPool(g) => {
            let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
            let mut out = Tensor3::zeros(input.c, h_out, w_out);
            for c in 0..input.c {
                for y in 0..h_out {
                    for x in 0..w_out {
                        let best = g
                            .window(y, x)
                            .filter_map(|(_, _, iy, ix)| input.get_padded(c, iy, ix))
                            .fold(f32::NEG_INFINITY, f32::max);
                        out.set(c, y, x, best);
                    }
                }
            }
            return out;
        }
        Op::Weighted(w) => w,
    };
    let (o_count, g, k, c_in) = (w.out_channels, &w.geometry, w.geometry.kernel, input.c);
    let mut y = match &w.weights {
        Weights::Conv(f) => conv_f(input, o_count, g, f),
        Weights::Slbf { .. } | Weights::Penni { .. } => {
            // SLBF: the stacked float bank; PENNI: W = coef x basis rebuilt, then a normal
            // convolution (papers.md: the reliable path).
            conv_f(input, o_count, g, &float_conv_weights(&w.weights, o_count, c_in, k))
        }
        Weights::Fc(f) => {
            let n = input.data.len();
            let terms: Vec<(usize, usize)> = (0..n).map(|i| (i, i)).collect();
            let sums = filter_sums(f, n, o_count, &terms, &input.data);
            Tensor3::from_vec(o_count, 1, 1, sums.into_iter().map(|v| v as f32).collect())
        }
    };
    let per = y.h * y.w;
    for (i, v) in y.data.iter_mut().enumerate() {
        let o = i / per;
        if let Some(s) = &w.weight_scale {
            *v = (*v as f64 * s[o]) as f32;
        }
        if let Some(b) = &w.bias {
            *v = (*v as f64 + b[o]) as f32;
        }
        // A threshold layer's sign compares the dot with T_o, i.e. the real value with s_in * T_o.
        let threshold = w.threshold.as_ref().map_or(0.0, |t| (t[o] as f64 * s_in) as f32);
        *v = match w.output {
            OutputFn::Accumulator => *v,
            OutputFn::Sign => {
                if *v >= threshold {
                    1.0
                } else {
                    -1.0
                }
            }
            OutputFn::Relu { .. } => v.max(0.0),
        };
    }
    y
}

/// The real-valued input a quantised input tensor stands for: `s_in * a` (SPEC 2.3).
pub fn dequantise_input(net: &Network, a: &Tensor3<i32>) -> Tensor3<f32> {
    a.map(|v| (v as f64 * net.input.scale) as f32)
}

/// Every layer's float output for a quantised input tensor.
pub fn run(net: &Network, input: &Tensor3<i32>) -> Vec<Tensor3<f32>> {
    let mut x = dequantise_input(net, input);
    let mut outs = Vec::with_capacity(net.layers.len());
    let mut s_in = net.input.scale;
    for l in &net.layers {
        x = layer_forward(&l.op, &x, s_in);
        s_in = match &l.op {
            Op::MaxPool(_) => s_in,
            // A calibrated step is unknown here; only threshold layers read it, and the network
            // loader makes sure their input's step is set.
            Op::Weighted(w) => match w.output {
                OutputFn::Relu { scale, .. } => scale.unwrap_or(f64::NAN),
                _ => 1.0,
            },
        };
        outs.push(x.clone());
    }
    outs
}

/// Maxima of the float reference's ReLU layer outputs, for missing `out_scale`s (SPEC 6).
pub fn calibrate(net: &Network, outputs: &[Tensor3<f32>]) -> Calibration {
    net.layers
        .iter()
        .zip(outputs)
        .map(|(l, y)| match &l.op {
            Op::Weighted(w) if matches!(w.output, OutputFn::Relu { .. }) => {
                Some(y.data.iter().fold(0f32, |a, &v| a.max(v)) as f64)
            }
            _ => None,
        })
        .collect()
}

/// A network made ready to run on an input: the float reference's outputs, the network compiled
/// for the config, and the layers whose `out_scale` was calibrated on this very input (SPEC 6),
/// which programs report because their results then depend on the input.
pub struct Prepared {
    pub float_outs: Vec<Tensor3<f32>>,
    pub qnet: crate::quant::QNet,
    pub calibrated: Vec<(String, f64)>,
}

/// Runs the float reference, calibrates missing `out_scale`s on `input` if any, and compiles.
pub fn prepare(net: &Network, cfg: &crate::config::AccelConfig, input: &Tensor3<i32>) -> anyhow::Result<Prepared> {
    let float_outs = run(net, input);
    let Compiled { qnet, calibrated } = compile_from(net, cfg, Some(&float_outs))?;
    Ok(Prepared { float_outs, qnet, calibrated })
}

/// A network compiled once for a whole batch, and the layers whose `out_scale` was calibrated
/// on the input it was given (SPEC 6).
pub struct Compiled {
    pub qnet: crate::quant::QNet,
    pub calibrated: Vec<(String, f64)>,
}

/// Compiles `net` for `cfg` once for a batch: missing `out_scale`s are calibrated on
/// `calibrate_on` (a batch's first image), the float reference running on it only then.
pub fn compile_once(
    net: &Network,
    cfg: &crate::config::AccelConfig,
    calibrate_on: &Tensor3<i32>,
) -> anyhow::Result<Compiled> {
    let float_outs = crate::quant::needs_calibration(net).then(|| run(net, calibrate_on));
    compile_from(net, cfg, float_outs.as_deref())
}

/// Compiles, calibrating on the float outputs given when the network needs it.
fn compile_from(
    net: &Network,
    cfg: &crate::config::AccelConfig,
    float_outs: Option<&[Tensor3<f32>]>,
) -> anyhow::Result<Compiled> {
    let calib = float_outs.filter(|_| crate::quant::needs_calibration(net)).map(|f| calibrate(net, f));
    let qnet = crate::quant::compile(net, cfg, calib.as_ref())?;
    let calibrated = if calib.is_none() {
        Vec::new()
    } else {
        net.layers
            .iter()
            .zip(&qnet.layers)
            .filter(
                |(nl, _)| matches!(&nl.op, Op::Weighted(w) if matches!(w.output, OutputFn::Relu { scale: None, .. })),
            )
            .map(|(_, l)| (l.name.clone(), l.out_scale))
            .collect()
    };
    Ok(Compiled { qnet, calibrated })
}

impl Compiled {
    /// One note per calibrated layer on stderr, `PROGRAM: note: ...`, naming the input it was
    /// calibrated on (`this input`, `the first image of the batch`).
    pub fn print_notes(&self, program: &str, input: &str) {
        for (name, scale) in &self.calibrated {
            eprintln!("{program}: note: layer {name}: out_scale not set, calibrated to {scale:.6e} on {input}");
        }
    }
}

/// The real values a layer's integer output stands for (comparable with the float reference).
pub fn dequantise(layer: &QLayer, t: &Tensor3<i32>) -> Tensor3<f32> {
    if let QOp::Weighted(w) = &layer.op {
        if w.output == QOutput::Accumulator {
            let per = t.h * t.w;
            let data = t
                .data
                .iter()
                .enumerate()
                .map(|(i, &d)| {
                    let o = i / per;
                    (w.real_scale[o / w.scale_group] * layer.in_scale * d as f64 + w.real_bias[o]) as f32
                })
                .collect();
            return Tensor3::from_vec(t.c, t.h, t.w, data);
        }
    }
    t.map(|v| (v as f64 * layer.out_scale) as f32)
}

/// Signal-to-quantisation-noise ratio in dB of `test` against `reference` (SPEC 9);
/// infinite when they are equal.
pub fn sqnr_db(reference: &[f32], test: &[f32]) -> f64 {
    let mut s = Sqnr::default();
    s.add(reference, test);
    s.db()
}

/// The sums SPEC 9's SQNR is the ratio of, summed over any number of tensors (a batch's images)
/// before the ratio is taken.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Sqnr {
    pub signal: f64,
    pub noise: f64,
}

impl Sqnr {
    /// Adds `sum ref^2` and `sum (ref - test)^2` of one tensor.
    pub fn add(&mut self, reference: &[f32], test: &[f32]) {
        for (&r, &t) in reference.iter().zip(test) {
            self.signal += (r as f64).powi(2);
            self.noise += (r as f64 - t as f64).powi(2);
        }
    }

    pub fn merge(&mut self, o: &Sqnr) {
        self.signal += o.signal;
        self.noise += o.noise;
    }

    /// `10 log10(signal / noise)`; infinite without noise.
    pub fn db(&self) -> f64 {
        if self.noise == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (self.signal / self.noise).log10()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The float convolution written plainly: per output value, a float64 sum over the
    /// channels and, per channel, over the valid taps in window order.
    fn naive_conv(input: &Tensor3<f32>, o_count: usize, g: &Geometry, w: &[f32]) -> Tensor3<f32> {
        let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
        let k = g.kernel;
        let mut out = Tensor3::zeros(o_count, h_out, w_out);
        for o in 0..o_count {
            for y in 0..h_out {
                for x in 0..w_out {
                    let mut acc = 0f64;
                    for c in 0..input.c {
                        for (ky, kx, iy, ix) in g.window(y, x) {
                            if let Some(a) = input.get_padded(c, iy, ix) {
                                acc += w[((o * input.c + c) * k + ky) * k + kx] as f64 * a as f64;
                            }
                        }
                    }
                    out.set(o, y, x, acc as f32);
                }
            }
        }
        out
    }

    /// Interleaving filters changes no bit of any sum (float addition is not associative, so
    /// this holds only because each sum keeps its order): random convolutions with padding,
    /// strides and filter counts on both sides of the interleave width.
    #[test]
    fn the_float_convolution_sums_in_the_plain_order() {
        let mut rng = StdRng::seed_from_u64(9);
        for case in 0..300 {
            let k = rng.gen_range(1..=3);
            let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k) };
            let (c, o) = (rng.gen_range(1..=7), rng.gen_range(1..=11));
            let (h, w) = (rng.gen_range(k..k + 5), rng.gen_range(k..k + 5));
            let floats =
                |rng: &mut StdRng, n: usize| -> Vec<f32> { (0..n).map(|_| rng.gen_range(-1.0..1.0)).collect() };
            let input = Tensor3::from_vec(c, h, w, floats(&mut rng, c * h * w));
            let weights = floats(&mut rng, o * c * k * k);
            let bits = |t: &Tensor3<f32>| t.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let (got, want) = (conv_f(&input, o, &g, &weights), naive_conv(&input, o, &g, &weights));
            assert_eq!(bits(&got), bits(&want), "case {case}");
        }
    }
}
