//! The float32 reference forward pass (SPEC 9): the network with its original float weights and
//! no quantisation, to measure what binarisation, scale sharing, requantisation and lossy coding
//! cost. Also the calibration of missing `out_scale`s (SPEC 6) and the dequantisation of integer
//! outputs for fidelity figures.

use crate::network::{Geometry, Network, Op, OutputFn, Weights};
use crate::quant::{Calibration, QLayer, QOp, QOutput};
use crate::tensor::Tensor3;

/// Float convolution of `input` with weights produced by `weight(o, c, ky, kx)`; zero padding.
fn conv_f(
    input: &Tensor3<f32>,
    o_count: usize,
    g: &Geometry,
    weight: impl Fn(usize, usize, usize, usize) -> f32,
) -> Tensor3<f32> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let mut out = Tensor3::zeros(o_count, h_out, w_out);
    for o in 0..o_count {
        for y in 0..h_out {
            for x in 0..w_out {
                let mut acc = 0f64;
                for c in 0..input.c {
                    for (ky, kx, iy, ix) in g.window(y, x) {
                        if let Some(a) = input.get_padded(c, iy, ix) {
                            acc += weight(o, c, ky, kx) as f64 * a as f64;
                        }
                    }
                }
                out.set(o, y, x, acc as f32);
            }
        }
    }
    out
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

/// One layer of the float reference.
pub fn layer_forward(op: &Op, input: &Tensor3<f32>) -> Tensor3<f32> {
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
        Weights::Conv(f) => conv_f(input, o_count, g, |o, c, ky, kx| f[((o * c_in + c) * k + ky) * k + kx]),
        Weights::Slbf { .. } | Weights::Penni { .. } => {
            // SLBF: the stacked float bank; PENNI: W = coef x basis rebuilt, then a normal
            // convolution (papers.md: the reliable path).
            let rebuilt = float_conv_weights(&w.weights, o_count, c_in, k);
            conv_f(input, o_count, g, |o, c, ky, kx| rebuilt[((o * c_in + c) * k + ky) * k + kx])
        }
        Weights::Fc(f) => {
            let n = input.data.len();
            let data = (0..o_count)
                .map(|o| {
                    f[o * n..(o + 1) * n].iter().zip(&input.data).map(|(&w, &a)| w as f64 * a as f64).sum::<f64>()
                        as f32
                })
                .collect();
            Tensor3::from_vec(o_count, 1, 1, data)
        }
    };
    let per = y.h * y.w;
    for (i, v) in y.data.iter_mut().enumerate() {
        if let Some(b) = &w.bias {
            *v += b[i / per];
        }
        *v = match w.output {
            OutputFn::Accumulator => *v,
            OutputFn::Sign => {
                if *v >= 0.0 {
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
    for l in &net.layers {
        x = layer_forward(&l.op, &x);
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
    let calib = crate::quant::needs_calibration(net).then(|| calibrate(net, &float_outs));
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
    Ok(Prepared { float_outs, qnet, calibrated })
}

impl Prepared {
    /// One note per calibrated layer on stderr, `PROGRAM: note: ...`.
    pub fn print_notes(&self, program: &str) {
        for (name, scale) in &self.calibrated {
            eprintln!("{program}: note: layer {name}: out_scale not set, calibrated to {scale:.6e} on this input");
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
    let signal: f64 = reference.iter().map(|&r| (r as f64).powi(2)).sum();
    let noise: f64 = reference.iter().zip(test).map(|(&r, &t)| (r as f64 - t as f64).powi(2)).sum();
    if noise == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (signal / noise).log10()
    }
}
