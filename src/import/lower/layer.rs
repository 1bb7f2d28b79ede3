//! One layer: a MatMul, Gemm or Conv with 1-bit weights, the element-wise ops after it and the
//! quantiser that ends it. For every filter the output level is a non-decreasing (or, for a
//! negative batch-norm scale, non-increasing) step function of the integer dot product; the
//! steps are found by evaluating the model's own float32 arithmetic at integer dot products
//! (binary search), and become SPEC.md's output function:
//!
//! - a bipolar quantiser: the threshold of each filter (SPEC 6), exact by construction;
//! - a k-bit quantiser: a relu output whose multiplier and bias reproduce every step (fixed.rs);
//! - no quantiser (the last layer): raw dot products, with the model's logits `real(o, dot)`.
//!
//! A filter whose output falls as its dot product grows gets negated weights.

use anyhow::{bail, ensure, Context, Result};
use ndarray::Ix2;

use super::chain::{Chain, PerChannel, Step};
use super::fixed::{self, FixedPoint};
use super::quantiser::Quantiser;
use super::{Acts, Options};
use crate::import::model::Node;
use crate::import::ops::PoolGeometry;
use crate::import::value::Value;
use crate::network::Geometry;

/// How the model computes a filter's real output from the dot product the written layer
/// computes: the MAC's value `scale_in * weight_scale[o] * (dot - zero_point * sum_w[o])`, then
/// the element-wise ops.
#[derive(Clone, Debug)]
pub struct LayerEval {
    pub chain: Chain,
    pub in_scale: f32,
    pub weight_scale: Vec<f32>,
    pub zero_point: i64,
    /// Sum of each filter's ±1 weights (as in the model), for the input's zero point.
    pub sum_w: Vec<i64>,
    /// Filters whose weights the written layer negates.
    pub negated: Vec<bool>,
}

impl LayerEval {
    /// The model's dot product for the written layer's `dot` of filter `o`.
    fn model_dot(&self, o: usize, dot: i64) -> i64 {
        if self.negated[o] {
            -dot
        } else {
            dot
        }
    }

    /// The MAC output in float32. It is exact (as any summation order gives) when the scales are
    /// powers of two; otherwise within float32 rounding of what ONNX Runtime sums.
    pub fn mac32(&self, o: usize, model_dot: i64) -> f32 {
        let signed = model_dot - self.zero_point * self.sum_w[o];
        (signed as f64 * self.in_scale as f64 * self.weight_scale[o] as f64) as f32
    }

    /// Filter `o`'s real output for the written layer's `dot`, in float32 as the model computes it.
    pub fn real32(&self, o: usize, dot: i64) -> f32 {
        let d = self.model_dot(o, dot);
        self.chain.eval32(o, self.mac32(o, d))
    }

    /// The same in exact arithmetic.
    pub fn real64(&self, o: usize, dot: i64) -> f64 {
        let d = self.model_dot(o, dot) - self.zero_point * self.sum_w[o];
        self.chain.eval64(o, d as f64 * self.in_scale as f64 * self.weight_scale[o] as f64)
    }
}

/// The output function of a written layer.
#[derive(Clone, Debug)]
pub enum OutMap {
    /// +1 where `dot >= threshold[o]` (SPEC 6).
    Sign { threshold: Vec<i64> },
    /// `out_bits`, `out_max`, `out_scale`, and the per-filter weight scale and bias from which
    /// SPEC 5.2 derives `fixed`'s multipliers and biases, which reproduce the levels' steps
    /// `thresholds[o][j]` (the smallest dot reaching level j + 1).
    Relu {
        bits: u32,
        max: u32,
        out_scale: f64,
        weight_scale: Vec<f64>,
        bias: Vec<f64>,
        fixed: FixedPoint,
        thresholds: Vec<Vec<i64>>,
    },
    /// Raw dot products; with per-channel logits, the weight scale and bias of their affine map.
    Accumulator { weight_scale: Option<Vec<f64>>, bias: Option<Vec<f64>> },
}

/// A weighted layer of the written network.
#[derive(Clone, Debug)]
pub struct WeightedMap {
    /// `None` for fc.
    pub conv: Option<Geometry>,
    pub out_channels: usize,
    /// ±1 in the format's layout (OIHW, or `[O, I]`), negated filters included.
    pub signs: Vec<f32>,
    pub output: OutMap,
    pub dot_bound: i64,
    pub eval: LayerEval,
    pub quantiser: Option<Quantiser>,
    /// Thresholds that float32 and exact arithmetic place differently.
    pub rounding_sensitive: usize,
    /// The smallest distance of a reachable dot's value from a quantiser decision, in steps.
    pub margin: f64,
}

/// A closed layer, before it joins the list.
pub struct Closed {
    pub name: String,
    pub nodes: Vec<String>,
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub weighted: WeightedMap,
    pub notes: Vec<String>,
}

/// A closed layer, the pooling that moves after its quantiser, and its output activations.
pub type ClosedLayer = (Closed, Option<(Geometry, String)>, Acts);

/// A layer between its MAC and its quantiser.
pub struct Pending {
    nodes: Vec<String>,
    conv: Option<Geometry>,
    input: Acts,
    pub out_shape: [usize; 3],
    /// ±1 in the format's layout, as the model has them.
    signs: Vec<f32>,
    weight_scale: Vec<f32>,
    pub chain: Chain,
    pool: Option<(Geometry, String)>,
}

impl Pending {
    /// Starts a layer at a MatMul, Gemm or Conv node reading activations `input`.
    pub fn start<'b>(
        node: &Node,
        input: Acts,
        constant: &dyn Fn(usize) -> Result<&'b Value>,
        in_shape: &[usize],
        out_shape: &[usize],
    ) -> Result<Pending> {
        let mut chain = Chain::default();
        let [c, h, w] = input.shape;
        let (conv, weights, o_count): (Option<Geometry>, Vec<f32>, usize) = match node.op.as_str() {
            "Conv" => {
                ensure!(!input.flat, "a convolution of flattened activations");
                let group = node.int("group", 1)?;
                ensure!(
                    group == 1,
                    "attribute `group` = {group} (a grouped or depthwise convolution); expected group = 1"
                );
                let wt = constant(1)?.f32()?;
                ensure!(
                    wt.ndim() == 4 && wt.shape()[1] == c,
                    "weights of shape {:?} for {c} input channels",
                    wt.shape()
                );
                let kernel = node.ints("kernel_shape")?.unwrap_or(vec![wt.shape()[2] as i64, wt.shape()[3] as i64]);
                let g = PoolGeometry::with_kernel(node, kernel)?;
                ensure!(
                    g.pad == 0 || input.zero_point == 0,
                    "padding {} on activations with zero point {} (their real zero is level {}): the core pads with level 0; expected no padding here",
                    g.pad,
                    input.zero_point,
                    input.zero_point
                );
                if node.inputs.get(2).is_some_and(|s| !s.is_empty()) {
                    let k = PerChannel(constant(2)?.f32()?.iter().copied().collect());
                    chain.push(node, Step::Arith { op: "Add".into(), k, const_first: false });
                }
                let geometry = Geometry { kernel: g.kernel, stride: g.stride, padding: g.pad };
                (Some(geometry), wt.iter().copied().collect(), wt.shape()[0])
            }
            op => {
                let inputs = c * h * w;
                ensure!(
                    in_shape.len() == 2 && in_shape[1] == inputs,
                    "an fc layer's input of shape {in_shape:?}; expected [1, {inputs}] (flattened in CHW order)"
                );
                let wt = constant(1)?.f32()?.view().into_dimensionality::<Ix2>().context("expected 2-d weights")?;
                let trans_b = op == "Gemm" && node.int("transB", 0)? != 0;
                ensure!(op != "Gemm" || node.int("transA", 0)? == 0, "attribute `transA` = 1 is not supported");
                // The format's fc weights are [O, I].
                let w_oi = if trans_b { wt.to_owned() } else { wt.t().to_owned() };
                ensure!(w_oi.shape()[1] == inputs, "weights of shape {:?} for {inputs} inputs", wt.shape());
                if op == "Gemm" {
                    let alpha = node.float("alpha", 1.0)?;
                    if alpha != 1.0 {
                        chain.push(
                            node,
                            Step::Arith { op: "Mul".into(), k: PerChannel(vec![alpha]), const_first: false },
                        );
                    }
                    if node.inputs.get(2).is_some_and(|s| !s.is_empty()) {
                        let beta = node.float("beta", 1.0)?;
                        let cb = constant(2)?.f32()?;
                        let o = w_oi.shape()[0];
                        ensure!(cb.len() == 1 || cb.len() == o, "a bias C of shape {:?} for {o} outputs", cb.shape());
                        let k = PerChannel(cb.iter().map(|&v| v * beta).collect());
                        chain.push(node, Step::Arith { op: "Add".into(), k, const_first: false });
                    }
                }
                (None, w_oi.iter().copied().collect(), w_oi.shape()[0])
            }
        };
        let per = weights.len() / o_count;
        let mut signs = Vec::with_capacity(weights.len());
        let mut weight_scale = Vec::with_capacity(o_count);
        for o in 0..o_count {
            let f = &weights[o * per..(o + 1) * per];
            let s = f[0].abs();
            if let Some(v) = f.iter().find(|v| v.abs().to_bits() != s.to_bits()) {
                bail!(
                    "weights are not 1-bit: filter {o} has the magnitudes {s} and {}; expected ±scale per filter (a BipolarQuant, or a Quant of bit width 1)",
                    v.abs()
                );
            }
            ensure!(s > 0.0 && s.is_finite(), "filter {o}: weight magnitude {s}; expected a positive finite scale");
            weight_scale.push(s);
            signs.extend(f.iter().map(|&v| if v > 0.0 { 1.0f32 } else { -1.0 }));
        }
        let out = match out_shape {
            [_, o, y, x] => [*o, *y, *x],
            [_, o] => [*o, 1, 1],
            other => bail!("an output of shape {other:?}"),
        };
        ensure!(out[0] == o_count, "{o_count} filters but an output of shape {out_shape:?}");
        Ok(Pending {
            nodes: vec![node.name.clone()],
            conv,
            input,
            out_shape: out,
            signs,
            weight_scale,
            chain,
            pool: None,
        })
    }

    pub fn kind_name(&self) -> &'static str {
        if self.conv.is_some() {
            "conv"
        } else {
            "fc"
        }
    }

    /// Whether the MAC output is laid out flat (an fc layer's `[1, O]`).
    pub fn flat_output(&self) -> bool {
        self.conv.is_none()
    }

    /// A MaxPool between the MAC and the quantiser: it moves after the quantiser (checked when
    /// the layer closes).
    pub fn pool_before_quantiser(&mut self, node: &Node, out_shape: &[usize]) -> Result<()> {
        ensure!(self.pool.is_none() && self.conv.is_some(), "a second pooling or pooling an fc output");
        let g = PoolGeometry::of(node)?;
        ensure!(g.pad < g.kernel, "attribute `pads`: padding {} is not below the kernel {}", g.pad, g.kernel);
        let geometry = Geometry { kernel: g.kernel, stride: g.stride, padding: g.pad };
        ensure!(out_shape.len() == 4, "an output of shape {out_shape:?}");
        self.pool = Some((geometry, node.name.clone()));
        Ok(())
    }

    /// The bound D on |dot| (SPEC 4).
    fn dot_bound(&self) -> i64 {
        let amax = if self.input.bits == 1 { 1 } else { (1i64 << self.input.bits) - 1 };
        let taps = (self.signs.len() / self.out_shape[0]) as i64;
        taps * amax
    }

    fn eval(&self, negated: Vec<bool>) -> LayerEval {
        let per = self.signs.len() / self.out_shape[0];
        LayerEval {
            chain: self.chain.clone(),
            in_scale: self.input.scale,
            weight_scale: self.weight_scale.clone(),
            zero_point: self.input.zero_point,
            sum_w: self.signs.chunks(per).map(|f| f.iter().map(|&v| v as i64).sum()).collect(),
            negated,
        }
    }

    fn signs_written(&self, negated: &[bool]) -> Vec<f32> {
        let per = self.signs.len() / self.out_shape[0];
        self.signs.iter().enumerate().map(|(i, &v)| if negated[i / per] { -v } else { v }).collect()
    }

    /// Ends the layer at the quantiser `node`.
    pub fn close<'b>(
        mut self,
        node: &Node,
        constant: &dyn Fn(usize) -> Result<&'b Value>,
        name: String,
        opts: &Options,
    ) -> Result<ClosedLayer> {
        let q = Quantiser::of(node, constant)?;
        let d = self.dot_bound();
        let o_count = self.out_shape[0];
        let levels = q.levels() as i64;
        // Each filter's level as a function of the model's dot product, in float32.
        let probe = self.eval(vec![false; o_count]);
        let level = |o: usize, dot: i64| q.level32(probe.real32(o, dot));
        let negated: Vec<bool> = (0..o_count).map(|o| level(o, -d) > level(o, d)).collect();
        if self.pool.is_some() {
            if let Some(o) = negated.iter().position(|&n| n) {
                bail!(
                    "filter {o}'s output falls as its dot product grows (a negative scale) and a MaxPool comes before the quantiser; max pooling then does not commute with it"
                );
            }
        }
        let eval = self.eval(negated.clone());
        let oriented = |o: usize, dot: i64| q.level32(eval.real32(o, dot));
        let mut thresholds: Vec<Vec<i64>> = Vec::with_capacity(o_count);
        let (mut sensitive, mut margin) = (0usize, f64::INFINITY);
        for o in 0..o_count {
            let t = step_positions(|dot| oriented(o, dot), levels, d);
            check_monotone(&|dot| oriented(o, dot), d).with_context(|| format!("filter {o}"))?;
            let exact = step_positions(|dot| q.level64(eval.real64(o, dot)), levels, d);
            for (j, &tj) in t.iter().enumerate() {
                sensitive += usize::from(exact[j] != tj);
                for dot in [tj - 1, tj] {
                    if (-d..=d).contains(&dot) {
                        margin = margin.min(q.margin(eval.real64(o, dot)));
                    }
                }
            }
            thresholds.push(t);
        }
        let signs = self.signs_written(&negated);
        let mut notes = vec![];
        if negated.iter().any(|&n| n) {
            notes.push(format!(
                "{name}: {} filter(s) with a negative scale: weights negated",
                negated.iter().filter(|&&n| n).count()
            ));
        }
        let output = if q.binary() {
            OutMap::Sign { threshold: thresholds.iter().map(|t| t[0]).collect() }
        } else {
            // The real slope in levels per unit of dot (a start for the fit): the ops without
            // their ReLU (the clamp at level 0 does that), in exact arithmetic.
            let mut linear = eval.clone();
            linear.chain.steps.retain(|s| !matches!(s, Step::Relu));
            let unit = |v: f64| match q {
                Quantiser::Int { scale, .. } => v / scale as f64,
                Quantiser::Bipolar { .. } => v,
            };
            let slope: Vec<f64> = (0..o_count).map(|o| unit(linear.real64(o, 1) - linear.real64(o, 0)).abs()).collect();
            let fp = fixed::fit(&thresholds, &slope, d, opts.scale_bits, opts.bias_bits);
            let inexact = fp.exact.iter().filter(|&&e| !e).count();
            if inexact > 0 {
                let bad = fixed::mismatches(&fp, &thresholds, q.levels(), d);
                notes.push(format!(
                    "{name}: {inexact} filter(s) have steps no {}-bit multiplier reproduces: {} of {} reachable dot products give another level",
                    opts.scale_bits,
                    bad.iter().sum::<u64>(),
                    (2 * d + 1) as u64 * o_count as u64
                ));
            }
            // The weight scale and bias from which SPEC 5.2 derives exactly these integers:
            // M = weight_scale * s_in / s_out = m / 2^F, bias / s_out * 2^F = b.
            let (s_out, s_in) = (q.scale() as f64, self.input.step);
            let two_f = (fp.shift as f64).exp2();
            let weight_scale = fp.mult.iter().map(|&m| m as f64 / two_f * s_out / s_in).collect();
            let bias = fp.bias.iter().map(|&b| b as f64 / two_f * s_out).collect();
            OutMap::Relu {
                bits: q.bits(),
                max: q.levels(),
                out_scale: s_out,
                weight_scale,
                bias,
                fixed: fp,
                thresholds,
            }
        };
        if sensitive > 0 {
            notes.push(format!(
                "{name}: {sensitive} threshold(s) fall elsewhere in exact arithmetic than in float32 (the model's arithmetic, which the import follows)"
            ));
        }
        self.nodes.extend(self.chain.nodes.iter().cloned());
        self.nodes.push(node.name.clone());
        let acts = Acts {
            shape: self.out_shape,
            bits: q.bits(),
            levels: q.levels(),
            binary: q.binary(),
            scale: q.scale(),
            zero_point: q.zero_point(),
            step: if q.binary() { 1.0 } else { q.scale() as f64 },
            flat: false,
        };
        let weighted = WeightedMap {
            conv: self.conv,
            out_channels: o_count,
            signs,
            output,
            dot_bound: d,
            eval,
            quantiser: Some(q),
            rounding_sensitive: sensitive,
            margin,
        };
        let closed =
            Closed { name, nodes: self.nodes, in_shape: self.input.shape, out_shape: self.out_shape, weighted, notes };
        Ok((closed, self.pool.take(), acts))
    }

    /// Ends the last layer at the graph output: raw dot products, and the model's logits.
    pub fn close_as_logits(self, name: String) -> Result<(Closed, LayerEval)> {
        ensure!(self.pool.is_none(), "a MaxPool after the last layer's multiply-accumulate is not supported");
        let o_count = self.out_shape[0];
        let d = self.dot_bound();
        let probe = self.eval(vec![false; o_count]);
        let mut notes = vec![];
        let uniform_scale = self.weight_scale.iter().all(|s| s.to_bits() == self.weight_scale[0].to_bits());
        if self.chain.is_uniform() && uniform_scale {
            // One increasing (or decreasing) map of the model's dot product for all classes:
            // the argmax of `dot - zero_point * sum_w[o]` is the model's (equal values give equal
            // logits, the first maximum wins in both). The written layer's real value (SPEC 6)
            // is that integer: weight scale 1/s_in, bias -zero_point * sum_w[o] (none without a
            // zero point).
            let down = probe.real32(0, -d) > probe.real32(0, d);
            if down {
                notes.push(format!("{name}: the final affine map decreases: weights negated"));
            }
            let negated = vec![down; o_count];
            let eval = self.eval(negated.clone());
            let zp = self.input.zero_point;
            let output = if zp == 0 {
                OutMap::Accumulator { weight_scale: None, bias: None }
            } else {
                // In the written (possibly negated) sign: dot_model - zp * sum_w becomes
                // dot_written + zp * sum_w when negated... both as `+ offset`.
                let offset = |o: usize| -> f64 {
                    let c = (zp * eval.sum_w[o]) as f64;
                    if down {
                        c
                    } else {
                        -c
                    }
                };
                notes.push(format!(
                    "{name}: its input has zero point {zp}: the class is the argmax of the dot products minus {zp} x each filter's weight sum"
                ));
                OutMap::Accumulator {
                    weight_scale: Some(vec![1.0 / self.input.step; o_count]),
                    bias: Some((0..o_count).map(offset).collect()),
                }
            };
            return self.finish_logits(name, notes, d, negated, output);
        }
        let (negated, output) = {
            ensure!(
                !self.chain.has_relu(),
                "per-class constants and a Relu after the last layer: the logits are not an affine map of the dot products"
            );
            // Per-class affine logits A_o * dot + B_o, carried as the layer's weight scale and
            // bias (SPEC 6): the predicted class is the argmax of those, in float64.
            let slope: Vec<f64> = (0..o_count).map(|o| probe.real64(o, 1) - probe.real64(o, 0)).collect();
            let negated: Vec<bool> = slope.iter().map(|&a| a < 0.0).collect();
            let bias = (0..o_count).map(|o| probe.real64(o, 0)).collect();
            let ws = slope.iter().map(|a| a.abs() / self.input.step).collect();
            notes.push(format!(
                "{name}: per-class logits are an affine map of the dot products: argmax taken in float64 (ties within float32 rounding may differ from the model)"
            ));
            (negated, OutMap::Accumulator { weight_scale: Some(ws), bias: Some(bias) })
        };
        self.finish_logits(name, notes, d, negated, output)
    }

    fn finish_logits(
        mut self,
        name: String,
        notes: Vec<String>,
        d: i64,
        negated: Vec<bool>,
        output: OutMap,
    ) -> Result<(Closed, LayerEval)> {
        let o_count = self.out_shape[0];
        let eval = self.eval(negated.clone());
        let signs = self.signs_written(&negated);
        self.nodes.extend(self.chain.nodes.iter().cloned());
        let weighted = WeightedMap {
            conv: self.conv,
            out_channels: o_count,
            signs,
            output,
            dot_bound: d,
            eval: eval.clone(),
            quantiser: None,
            rounding_sensitive: 0,
            margin: f64::INFINITY,
        };
        let closed =
            Closed { name, nodes: self.nodes, in_shape: self.input.shape, out_shape: self.out_shape, weighted, notes };
        Ok((closed, eval))
    }
}

/// For a non-decreasing level function on `[-d, d]`: the smallest dot reaching each level
/// `1..=levels` (`d + 1` where a level is never reached), by binary search.
fn step_positions(level: impl Fn(i64) -> i64, levels: i64, d: i64) -> Vec<i64> {
    (1..=levels)
        .map(|j| {
            let (mut lo, mut hi) = (-d, d + 1); // level(hi) >= j, with hi = d + 1 standing for "never"
            if level(-d) >= j {
                return -d;
            }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if level(mid) >= j {
                    hi = mid;
                } else {
                    lo = mid;
                }
            }
            hi
        })
        .collect()
}

/// Checks that `level` never falls over `[-d, d]` (on every dot, or on an even sample of 100,000
/// for wide ranges): the binary search above relies on it.
fn check_monotone(level: &dyn Fn(i64) -> i64, d: i64) -> Result<()> {
    let stride = ((2 * d + 1) / 100_000).max(1);
    let mut prev = level(-d);
    let mut dot = -d;
    while dot <= d {
        let l = level(dot);
        ensure!(
            l >= prev,
            "the output level falls from {prev} to {l} at dot product {dot}; expected a monotone step function"
        );
        prev = l;
        dot += stride;
    }
    Ok(())
}
