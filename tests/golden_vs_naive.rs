//! The golden model against a naive ±1 float implementation written straight from SPEC.md, on
//! thousands of random layers: conv (kernels 1/3/5, stride 1/2, padding), 1x1, fc, slbf and
//! penni; odd channel counts; G from 1 to C_out; activations of 1..8 bits; all output functions.
//! The naive side recomputes everything (signs, alpha, M, F, m, b, PENNI coefficients) in f64.
//! On every layer the bit-packed golden model (`golden::packed`) gives the plain one's outputs.

mod common;

use cbnn::config::AccelConfig;
use cbnn::golden::{self, packed::PackedNet};
use cbnn::network::{Network, Op, OutputFn, Weights};
use cbnn::quant::{self, QOp};
use cbnn::tensor::Tensor3;
use common::Kind;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn pm1(w: f32) -> f64 {
    // SPEC 2.1 written differently from the library: negative numbers are -1, everything else +1.
    if w < 0.0 {
        -1.0
    } else {
        1.0
    }
}

fn round_away(v: f64) -> f64 {
    if v >= 0.0 {
        (v + 0.5).floor()
    } else {
        -((-v + 0.5).floor())
    }
}

/// Naive forward of one weighted layer: returns the dot products and the outputs.
fn naive(net: &Network, cfg: &AccelConfig, x: &Tensor3<i32>) -> (Vec<f64>, Vec<i64>) {
    let l = &net.layers[0];
    let Op::Weighted(w) = &l.op else { unreachable!() };
    let [c_in, h, wd] = l.in_shape;
    let [o_count, h_out, w_out] = l.out_shape;
    let k = w.geometry.kernel;
    let (s, p) = (w.geometry.stride as i64, w.geometry.padding as i64);
    let q_max = ((1i64 << (cfg.datapath.coef_bits - 1)) - 1) as f64;
    // Effective float weights (for alpha) and effective integer weights (for the dot product),
    // both as [O][C_in][K][K] (fc: [O][C_in*H*W]).
    let taps = if let Weights::Fc(_) = w.weights { c_in * h * wd } else { c_in * k * k };
    let mut wf = vec![vec![0f64; taps]; o_count];
    let mut wi = vec![vec![0f64; taps]; o_count];
    let mut group_scale = Vec::new();
    // Threshold layers: one group, multiplier 1, no float scale at all (SPEC 6).
    let g = if w.threshold.is_some() { o_count } else { w.scale_group };
    let groups = o_count.div_ceil(g);
    let ws = |o: usize| w.weight_scale.as_ref().map_or(1.0, |s| s[o]);
    match &w.weights {
        Weights::Conv(f) | Weights::Fc(f) => {
            for o in 0..o_count {
                for t in 0..taps {
                    wf[o][t] = f[o * taps + t] as f64 * ws(o);
                    wi[o][t] = pm1(f[o * taps + t]);
                }
            }
        }
        Weights::Slbf { bank, d, index, m, .. } => {
            for o in 0..o_count {
                for t in 0..taps {
                    let (c, r) = (t / (k * k), t % (k * k));
                    let v = bank[(index[o * m + c / d] * d + c % d) * k * k + r];
                    wf[o][t] = v as f64 * ws(o);
                    wi[o][t] = pm1(v);
                }
            }
        }
        Weights::Penni { basis, d, coef } => {
            let beta: Vec<f64> = (0..*d)
                .map(|j| {
                    basis[j * k * k..(j + 1) * k * k].iter().map(|&v| (v as f64).abs()).sum::<f64>() / (k * k) as f64
                })
                .collect();
            for gi in 0..groups {
                let os = gi * g..((gi + 1) * g).min(o_count);
                let mut mx = 0f64;
                for o in os.clone() {
                    for c in 0..c_in {
                        for j in 0..*d {
                            mx = mx.max((coef[(o * c_in + c) * d + j] as f64 * beta[j] * ws(o)).abs());
                        }
                    }
                }
                let sc = if mx == 0.0 { 1.0 } else { mx / q_max };
                group_scale.push(sc);
                for o in os {
                    for c in 0..c_in {
                        for r in 0..k * k {
                            wi[o][c * k * k + r] = (0..*d)
                                .map(|j| {
                                    let cq = round_away(coef[(o * c_in + c) * d + j] as f64 * beta[j] * ws(o) / sc)
                                        .clamp(-q_max, q_max);
                                    cq * pm1(basis[j * k * k + r])
                                })
                                .sum();
                        }
                    }
                }
            }
        }
    }
    if group_scale.is_empty() {
        for gi in 0..groups {
            let os = gi * g..((gi + 1) * g).min(o_count);
            let n = os.len() * taps;
            group_scale.push(os.flat_map(|o| wf[o].clone()).map(f64::abs).sum::<f64>() / n as f64);
        }
    }
    // Dot products.
    let mut dots = vec![0f64; o_count * h_out * w_out];
    for o in 0..o_count {
        for oy in 0..h_out {
            for ox in 0..w_out {
                let mut acc = 0f64;
                if let Weights::Fc(_) = w.weights {
                    for (wt, &a) in wi[o].iter().zip(&x.data) {
                        acc += wt * a as f64;
                    }
                } else {
                    for c in 0..c_in {
                        for ky in 0..k {
                            for kx in 0..k {
                                let iy = oy as i64 * s - p + ky as i64;
                                let ix = ox as i64 * s - p + kx as i64;
                                let a = if iy < 0 || ix < 0 || iy >= h as i64 || ix >= wd as i64 {
                                    0.0
                                } else {
                                    x.get(c, iy as usize, ix as usize) as f64
                                };
                                acc += wi[o][(c * k + ky) * k + kx] * a;
                            }
                        }
                    }
                }
                dots[(o * h_out + oy) * w_out + ox] = acc;
            }
        }
    }
    // Output function.
    let s_in = net.input.scale;
    let amax = group_scale.iter().cloned().fold(0f64, f64::max);
    let (unit, ms): (f64, Vec<f64>) = match w.output {
        OutputFn::Relu { scale, .. } => {
            (scale.unwrap(), group_scale.iter().map(|a| a * s_in / scale.unwrap()).collect())
        }
        _ if amax > 0.0 => (s_in * amax, group_scale.iter().map(|a| a / amax).collect()),
        _ => (s_in, vec![0.0; groups]),
    };
    let limit = ((1u64 << cfg.datapath.scale_bits) - 1) as f64;
    let mmax = ms.iter().cloned().fold(0f64, f64::max);
    let f = if mmax == 0.0 {
        31
    } else {
        (0..=31).filter(|&f| round_away(mmax * 2f64.powi(f)) <= limit).max().unwrap_or(0)
    };
    let m: Vec<f64> = ms.iter().map(|v| round_away(v * 2f64.powi(f)).min(limit)).collect();
    let bmax = 2f64.powi((cfg.datapath.acc_bits + cfg.datapath.scale_bits) as i32 - 1);
    let outs = dots
        .iter()
        .enumerate()
        .map(|(i, &dot)| {
            let o = i / (h_out * w_out);
            let b = w.bias.as_ref().map_or(0.0, |b| round_away(b[o] / unit * 2f64.powi(f)).clamp(-bmax, bmax - 1.0));
            let z = m[o / g] * dot + b;
            match (&w.output, &w.threshold) {
                (OutputFn::Sign, Some(t)) => {
                    if dot >= t[o] as f64 {
                        1
                    } else {
                        -1
                    }
                }
                (OutputFn::Accumulator, _) => dot as i64,
                (OutputFn::Sign, None) => {
                    if z >= 0.0 {
                        1
                    } else {
                        -1
                    }
                }
                (OutputFn::Relu { bits, max, .. }, _) => {
                    let top = max.map_or(2f64.powi(*bits as i32) - 1.0, f64::from);
                    ((z / 2f64.powi(f) + 0.5).floor()).clamp(0.0, top) as i64
                }
            }
        })
        .collect();
    (dots, outs)
}

fn check_kind(kind: Kind, count: usize, seed: u64) {
    let mut cfg = AccelConfig::default();
    cfg.datapath.acc_bits = 32;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut checked = 0;
    // How many cases used the keys an importer writes: thresholds, weight scales, out_max.
    let mut imported_keys = [0usize; 3];
    for case in 0..count {
        let net = common::random_layer(&mut rng, kind);
        if let Op::Weighted(w) = &net.layers[0].op {
            imported_keys[0] += usize::from(w.threshold.is_some());
            imported_keys[1] += usize::from(w.weight_scale.is_some());
            imported_keys[2] += usize::from(matches!(w.output, OutputFn::Relu { max: Some(_), .. }));
        }
        let x = common::activations(&mut rng, net.input.shape, net.input.bits);
        let q = quant::compile(&net, &cfg, None).unwrap_or_else(|e| panic!("case {case}: {e:#}"));
        let QOp::Weighted(qw) = &q.layers[0].op else { unreachable!() };
        let dots = golden::layer_dots(qw, &x);
        let out = golden::layer_output(&q.layers[0], &x);
        let (ndots, nouts) = naive(&net, &cfg, &x);
        assert_eq!(dots.shape(), q.layers[0].out_shape);
        let gd: Vec<f64> = dots.data.iter().map(|&d| d as f64).collect();
        assert_eq!(gd, ndots, "case {case} ({kind:?}): dot products differ\n{:?}", net.layers[0]);
        let go: Vec<i64> = out.data.iter().map(|&v| v as i64).collect();
        assert_eq!(go, nouts, "case {case} ({kind:?}): outputs differ; shift {} mult {:?}", qw.shift, qw.mult);
        assert_eq!(PackedNet::new(&q).run(&x), golden::run(&q, &x), "case {case} ({kind:?}): packed model differs");
        // The accumulator bound of SPEC 4 holds.
        assert!(dots.data.iter().all(|d| d.unsigned_abs() <= qw.dot_bound));
        checked += 1;
    }
    assert_eq!(checked, count);
    assert!(
        imported_keys.iter().all(|&n| n >= count / 50),
        "{kind:?}: threshold, weight_scale, out_max cases {imported_keys:?}"
    );
}

#[test]
fn conv_layers_match_naive_float() {
    check_kind(Kind::Conv, 1500, 1);
}

#[test]
fn fc_layers_match_naive_float() {
    check_kind(Kind::Fc, 800, 2);
}

#[test]
fn slbf_layers_match_naive_float_and_stacked_conv() {
    check_kind(Kind::Slbf, 800, 3);
}

#[test]
fn penni_layers_match_naive_float() {
    check_kind(Kind::Penni, 800, 4);
}

/// The bound D of SPEC 4 is attained: all weights +1, all activations at their maximum, no
/// padding; so the width is the exact requirement, not a loose guess.
#[test]
fn accumulator_bound_is_attained() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut cfg = AccelConfig::default();
    cfg.datapath.acc_bits = 32;
    for bits in 1..=8u32 {
        let mut net = common::random_layer(&mut rng, Kind::Conv);
        let l = &mut net.layers[0];
        let Op::Weighted(w) = &mut l.op else { unreachable!() };
        w.geometry.padding = 0;
        w.geometry.stride = 1;
        let k = w.geometry.kernel;
        l.in_shape = [l.in_shape[0], k, k];
        l.out_shape = [w.out_channels, 1, 1];
        l.in_bits = bits;
        net.input.shape = l.in_shape;
        net.input.bits = bits;
        if let Weights::Conv(f) = &mut w.weights {
            f.iter_mut().for_each(|v| *v = 1.0);
        }
        let amax = if bits == 1 { 1 } else { (1 << bits) - 1 };
        let x = cbnn::tensor::Tensor3::from_vec(l.in_shape[0], k, k, vec![amax; l.in_shape[0] * k * k]);
        let q = quant::compile(&net, &cfg, None).unwrap();
        let QOp::Weighted(qw) = &q.layers[0].op else { unreachable!() };
        let dots = golden::layer_dots(qw, &x);
        assert!(dots.data.iter().all(|&d| d as u64 == qw.dot_bound), "bits {bits}");
        let d = qw.dot_bound as i64;
        assert!(d < (1 << (qw.acc_width - 1)) && d >= (1 << (qw.acc_width - 2)));
    }
}
