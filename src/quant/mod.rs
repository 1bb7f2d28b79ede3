//! From a float network to the integer program the hardware runs (SPEC 2.1, 3, 4, 5): binarised
//! weights, per-group multipliers, shifts, folded biases, codec parameters. The golden model,
//! the RTL layer descriptors and the cycle simulator all consume this one `QNet`.

pub mod accwidth;
pub mod memory;
pub mod plain;
pub mod scale;

use crate::codec::RecordCheck;
use anyhow::{bail, Context, Result};

use crate::codec::{CodecParams, Mode};
use crate::config::AccelConfig;
use crate::network::{CodecSettings, Geometry, Network, Op, OutputFn, Weights, ACC_BITS};
use scale::{fixed_point, fold_bias, group_count, group_mean_abs, group_range};

/// The integer program of a network on one accelerator config.
#[derive(Clone, Debug)]
pub struct QNet {
    pub input: QInput,
    pub layers: Vec<QLayer>,
}

#[derive(Clone, Debug)]
pub struct QInput {
    pub shape: [usize; 3],
    pub bits: u32,
    pub scale: f64,
    pub codec: CodecParams,
}

#[derive(Clone, Debug)]
pub struct QLayer {
    pub name: String,
    pub in_shape: [usize; 3],
    pub in_bits: u32,
    /// Real step of one input integer (SPEC 2.3).
    pub in_scale: f64,
    pub out_shape: [usize; 3],
    pub out_bits: u32,
    /// Real step of one output integer (1 for binary and accumulator outputs).
    pub out_scale: f64,
    pub op: QOp,
    /// How the output tensor is stored (raw when the config disables the codec).
    pub codec: CodecParams,
    /// How the input tensor is stored: the previous layer's `codec`, or the input's.
    pub in_codec: CodecParams,
}

// One per layer, so the size difference between variants costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum QOp {
    MaxPool(Geometry),
    Weighted(QWeighted),
}

/// Output function of SPEC 6 with the integers it needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QOutput {
    Accumulator,
    Sign,
    /// `max`: the largest output value (`out_max`, `2^bits - 1` unless the layer sets it).
    Relu {
        bits: u32,
        max: u32,
    },
}

#[derive(Clone, Debug)]
pub struct QWeighted {
    pub out_channels: usize,
    pub geometry: Geometry,
    pub weights: QWeights,
    pub scale_group: usize,
    /// m_g per group (SPEC 5.2).
    pub mult: Vec<u32>,
    /// F (SPEC 5.2).
    pub shift: u32,
    /// b_o per output filter (SPEC 5.2).
    pub bias: Vec<i64>,
    pub output: QOutput,
    /// Bound D on |dot| and the accumulator width it needs (SPEC 4).
    pub dot_bound: u64,
    pub acc_width: u32,
    /// The real scale per group (alpha_g, or sc_g for PENNI) and the real bias per filter: what
    /// one unit of `dot` stands for, to dequantise raw accumulators for fidelity reports.
    pub real_scale: Vec<f64>,
    pub real_bias: Vec<f64>,
}

/// Binary weights as ±1 (`i8`), in the layouts of SPEC 1.
#[derive(Clone, Debug)]
pub enum QWeights {
    Conv { signs: Vec<i8> },
    Fc { signs: Vec<i8> },
    Slbf { bank: Vec<i8>, n: usize, d: usize, index: Vec<usize>, m: usize },
    Penni { basis: Vec<i8>, d: usize, coef: Vec<i32> },
}

/// sign(w) with sign(0) = sign(-0.0) = +1 (SPEC 2.1).
pub fn binarise(w: f32) -> i8 {
    if w >= 0.0 || w == 0.0 {
        1
    } else {
        -1
    }
}

fn codec_params(s: &CodecSettings, bits: u32, cfg: &AccelConfig) -> Result<CodecParams> {
    let block = cfg.codec.block as usize;
    let keep = s.keep.unwrap_or(block);
    if keep > block {
        bail!("key `dct_keep` = {keep}: expected at most codec.block = {block} of the accelerator config");
    }
    let mode = if cfg.codec.enabled && bits != ACC_BITS { s.mode } else { Mode::Raw };
    let p = CodecParams {
        block,
        mode,
        step: s.step,
        keep,
        eg_order: s.eg_order,
        segment: cfg.segment() as usize,
        // Records only exist where the codec is on (SPEC 8: otherwise every tensor is raw).
        check: if cfg.codec.enabled { cfg.codec.check } else { RecordCheck::None },
    };
    if bits != ACC_BITS {
        // The network loader checked each key; this catches any combination it could not see.
        p.validate(bits).map_err(|e| anyhow::anyhow!("codec settings: {e}"))?;
    }
    Ok(p)
}

/// Per-layer maxima of the float reference's ReLU outputs, used to calibrate missing
/// `out_scale`s (SPEC 6); `None` entries for layers that need none.
pub type Calibration = Vec<Option<f64>>;

/// Whether any relu layer lacks `out_scale` (then `compile` needs a calibration).
pub fn needs_calibration(net: &Network) -> bool {
    net.layers
        .iter()
        .any(|l| matches!(&l.op, Op::Weighted(w) if matches!(w.output, OutputFn::Relu { scale: None, .. })))
}

/// Compiles a checked network for an accelerator config. `calib` holds, per layer, the maximum of
/// the float reference output (see `reference::calibrate`); needed only if `needs_calibration`.
pub fn compile(net: &Network, cfg: &AccelConfig, calib: Option<&Calibration>) -> Result<QNet> {
    let dp = &cfg.datapath;
    let in_def = &net.input;
    if in_def.bits > dp.act_bits {
        bail!(
            "{}: [input] key `bits` = {}: the accelerator config accepts at most datapath.act_bits = {}",
            net.origin,
            in_def.bits,
            dp.act_bits
        );
    }
    let input = QInput {
        shape: in_def.shape,
        bits: in_def.bits,
        scale: in_def.scale,
        codec: codec_params(&in_def.codec, in_def.bits, cfg).with_context(|| format!("{}: [input]", net.origin))?,
    };
    let mut layers = Vec::new();
    let mut in_scale = in_def.scale;
    let mut in_codec = input.codec;
    for (i, l) in net.layers.iter().enumerate() {
        let ctx = || format!("{}: layer {i} ({})", net.origin, l.name);
        let out_bits = l.out_bits();
        let codec = codec_params(&l.codec, out_bits, cfg).with_context(ctx)?;
        let (op, out_scale) = match &l.op {
            Op::MaxPool(g) => (QOp::MaxPool(*g), in_scale),
            Op::Weighted(w) => {
                let s_out = match &w.output {
                    OutputFn::Relu { bits, scale, .. } => {
                        if *bits > dp.act_bits {
                            bail!("{}: key `out_bits` = {bits}: the accelerator config accepts at most datapath.act_bits = {}", ctx(), dp.act_bits);
                        }
                        match scale {
                            Some(s) => *s,
                            None => {
                                let max = calib.and_then(|c| c.get(i).copied().flatten()).with_context(|| {
                                    format!(
                                        "{}: key `out_scale` is missing and no input was given to calibrate it on",
                                        ctx()
                                    )
                                })?;
                                if max > 0.0 {
                                    max / ((1u64 << bits) - 1) as f64
                                } else {
                                    1.0
                                }
                            }
                        }
                    }
                    _ => 1.0,
                };
                let qw = compile_weighted(w, l.in_shape, l.in_bits, in_scale, s_out, cfg).with_context(ctx)?;
                (QOp::Weighted(qw), s_out)
            }
        };
        layers.push(QLayer {
            name: l.name.clone(),
            in_shape: l.in_shape,
            in_bits: l.in_bits,
            in_scale,
            out_shape: l.out_shape,
            out_bits,
            out_scale,
            op,
            codec,
            in_codec,
        });
        in_scale = out_scale;
        in_codec = codec;
    }
    Ok(QNet { input, layers })
}

fn compile_weighted(
    w: &crate::network::Weighted,
    in_shape: [usize; 3],
    in_bits: u32,
    s_in: f64,
    s_out: f64,
    cfg: &AccelConfig,
) -> Result<QWeighted> {
    let dp = &cfg.datapath;
    let o_count = w.out_channels;
    let [c_in, h, wd] = in_shape;
    let k = w.geometry.kernel;
    let amax = accwidth::act_max(in_bits);
    // Threshold layers have one multiplier (1) for all filters (SPEC 6).
    let g = if w.threshold.is_some() { o_count } else { w.scale_group };
    // Filter o's float weights are weight_scale[o] times the file's (SPEC 5.1).
    let ws = |o: usize| w.weight_scale.as_ref().map_or(1.0, |s| s[o]);
    let scaled = |o: usize, v: &f32| f64::from(*v) * ws(o);
    // Binarised weights and the real per-group scale (alpha_g, or sc_g for PENNI).
    let (weights, group_scale, dot_bound) = match &w.weights {
        Weights::Conv(f) => {
            let per = c_in * k * k;
            let alpha = group_mean_abs(o_count, g, |o| f[o * per..(o + 1) * per].iter().map(move |v| scaled(o, v)));
            (QWeights::Conv { signs: f.iter().map(|&v| binarise(v)).collect() }, alpha, per as u64 * amax)
        }
        Weights::Fc(f) => {
            let per = c_in * h * wd;
            let alpha = group_mean_abs(o_count, g, |o| f[o * per..(o + 1) * per].iter().map(move |v| scaled(o, v)));
            (QWeights::Fc { signs: f.iter().map(|&v| binarise(v)).collect() }, alpha, per as u64 * amax)
        }
        Weights::Slbf { bank, n, d, index, m } => {
            let per = d * k * k;
            let alpha = group_mean_abs(o_count, g, |o| {
                (0..*m).flat_map(move |i| {
                    bank[index[o * m + i] * per..(index[o * m + i] + 1) * per].iter().map(move |v| scaled(o, v))
                })
            });
            let q = QWeights::Slbf {
                bank: bank.iter().map(|&v| binarise(v)).collect(),
                n: *n,
                d: *d,
                index: index.clone(),
                m: *m,
            };
            (q, alpha, (c_in * k * k) as u64 * amax)
        }
        Weights::Penni { basis, d, coef } => {
            let kk = k * k;
            let q_max = (1i64 << (dp.coef_bits - 1)) - 1;
            // beta_j = mean |basis_j| (SPEC 3.5), then e = coef * beta_j (* weight_scale[o]).
            let beta = group_mean_abs(*d, 1, |j| basis[j * kk..(j + 1) * kk].iter().map(|&v| f64::from(v)));
            let per = c_in * d;
            let eff: Vec<f64> = coef
                .iter()
                .enumerate()
                .map(|(i, &c)| {
                    let e = c as f64 * beta[i % d];
                    if w.weight_scale.is_some() {
                        e * ws(i / per)
                    } else {
                        e
                    }
                })
                .collect();
            let sc: Vec<f64> = (0..group_count(o_count, g))
                .map(|gi| {
                    let r = group_range(gi, g, o_count);
                    let max = eff[r.start * per..r.end * per].iter().fold(0.0f64, |a, &e| a.max(e.abs()));
                    if max == 0.0 {
                        1.0
                    } else {
                        max / q_max as f64
                    }
                })
                .collect();
            let cq: Vec<i32> = eff
                .iter()
                .enumerate()
                .map(|(i, &e)| scale::round_half_away(e / sc[(i / per) / g]).clamp(-q_max as f64, q_max as f64) as i32)
                .collect();
            let q = QWeights::Penni { basis: basis.iter().map(|&v| binarise(v)).collect(), d: *d, coef: cq };
            (q, sc, (c_in * d * kk) as u64 * q_max as u64 * amax)
        }
    };
    let acc_width = accwidth::signed_width(dot_bound);
    if acc_width > dp.acc_bits {
        bail!(
            "the largest possible |dot| is {dot_bound}, which needs a {acc_width}-bit accumulator; the accelerator config has datapath.acc_bits = {}",
            dp.acc_bits
        );
    }
    let output = match w.output {
        OutputFn::Accumulator => QOutput::Accumulator,
        OutputFn::Sign => QOutput::Sign,
        OutputFn::Relu { bits, max, .. } => QOutput::Relu { bits, max: OutputFn::relu_max(bits, max) },
    };
    if output == QOutput::Accumulator && acc_width > 32 {
        bail!("output = \"accumulator\" is int32 but |dot| may reach {dot_bound}");
    }
    // SPEC 5.2: the output unit u and the real multipliers M_g.
    let max_scale = group_scale.iter().cloned().fold(0.0f64, f64::max);
    let (unit, ms): (f64, Vec<f64>) = match output {
        QOutput::Sign if max_scale > 0.0 => (s_in * max_scale, group_scale.iter().map(|a| a / max_scale).collect()),
        QOutput::Sign => (s_in, vec![0.0; group_scale.len()]),
        _ => (s_out, group_scale.iter().map(|a| (a * s_in) / s_out).collect()),
    };
    let (mult, shift, bias) = if output == QOutput::Accumulator {
        (vec![0; group_scale.len()], 0, vec![0; o_count])
    } else if let Some(t) = &w.threshold {
        // SPEC 6: m = 1, F = 0, b_o = -T_o; thresholds beyond the reachable dots are clamped to
        // -D (always +1) or D + 1 (never), which keeps b_o within the accumulator's width.
        let d = dot_bound as i64;
        (vec![1], 0, t.iter().map(|&t| -t.clamp(-d, d + 1)).collect())
    } else {
        let (mult, shift) = fixed_point(&ms, dp.scale_bits);
        (mult, shift, fold_bias(w.bias.as_deref(), o_count, unit, shift, dp.bias_bits()))
    };
    let real_bias = match &w.bias {
        Some(b) => b.clone(),
        None => vec![0.0; o_count],
    };
    Ok(QWeighted {
        out_channels: o_count,
        geometry: w.geometry,
        weights,
        scale_group: g,
        mult,
        shift,
        bias,
        output,
        dot_bound,
        acc_width,
        real_scale: group_scale,
        real_bias,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SPEC 3.5 fixes the evaluation order `sc = max / Q` first, then `e / sc`. With the float32
    /// coefficients 0.05 (the group maximum) and 0.025, `0.025 / (0.05 / 127)` is 63.49999999999999
    /// in float64 and rounds to 63, while `0.025 * 127 / 0.05` is exactly 63.5 and would round to 64.
    #[test]
    fn penni_coefficients_follow_the_spec_evaluation_order() {
        use crate::network::{CodecSettings, Geometry, InputDef, Layer, Network, Op, OutputFn, Weighted, Weights};
        let layer = Layer {
            name: "p".into(),
            in_shape: [2, 1, 1],
            in_bits: 2,
            out_shape: [1, 1, 1],
            op: Op::Weighted(Weighted {
                out_channels: 1,
                geometry: Geometry { kernel: 1, stride: 1, padding: 0 },
                // One basis kernel of +1 (beta = 1), coefficients [0.05, 0.025].
                weights: Weights::Penni { basis: vec![1.0], d: 1, coef: vec![0.05, 0.025] },
                bias: None,
                weight_scale: None,
                threshold: None,
                scale_group: 1,
                output: OutputFn::Accumulator,
            }),
            codec: CodecSettings::default(),
        };
        let input = InputDef { shape: [2, 1, 1], bits: 2, scale: 1.0, pixels: None, codec: CodecSettings::default() };
        let net = Network { origin: "t".into(), input, layers: vec![layer] };
        let mut cfg = AccelConfig::default();
        cfg.datapath.acc_bits = 32;
        cfg.datapath.coef_bits = 8; // Q = 127
        let compiled = compile(&net, &cfg, None).unwrap();
        let QOp::Weighted(w) = &compiled.layers[0].op else { unreachable!() };
        let QWeights::Penni { coef, .. } = &w.weights else { unreachable!() };
        assert_eq!(coef, &vec![127, 63]);
    }

    #[test]
    fn sign_of_zero_and_negative_zero_is_plus_one() {
        assert_eq!(binarise(0.0), 1);
        assert_eq!(binarise(-0.0), 1);
        assert_eq!(binarise(-1e-30), -1);
        assert_eq!(binarise(2.0), 1);
    }
}
