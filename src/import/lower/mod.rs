//! The mapping of a QONNX graph onto the network format (docs/SPEC.md): the graph is walked along
//! its one activation path, from the image input to the output, and every construct becomes
//! exactly what SPEC.md computes:
//!
//! - the preprocessing and the input quantiser: per-channel pixel thresholds (input.rs);
//! - a MatMul/Gemm/Conv with 1-bit weights, the element-wise ops after it and the quantiser that
//!   ends them: an fc or conv layer whose output function reproduces the quantiser's decisions on
//!   every reachable dot product (layer.rs): a per-filter threshold for a bipolar quantiser, a
//!   fitted multiplier and bias for a k-bit one (fixed.rs);
//! - MaxPool on activations: a maxpool layer; the ops after the last MAC: the real logits.
//!
//! Anything else is an error naming the node, its op and why.

pub mod chain;
pub mod fixed;
mod input;
mod layer;
pub mod quantiser;

use anyhow::{bail, ensure, Context, Result};
use ndarray::IxDyn;
use std::collections::{HashMap, HashSet};

use super::model::{Model, Node};
use super::ops::{self, PoolGeometry};
use super::value::Value;
use crate::network::Geometry;
use chain::{PerChannel, Step};
pub use input::InputMap;
pub use layer::{LayerEval, OutMap, WeightedMap};

/// What the mapping found: the input, the layers in order and how to read the model's output.
#[derive(Clone, Debug)]
pub struct Lowered {
    pub input: InputMap,
    pub layers: Vec<LayerMap>,
    /// How the model's output values follow from the last layer's output.
    pub logits: Logits,
    /// Notes for the report (things that are exact only up to rounding, choices made).
    pub notes: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct LayerMap {
    pub name: String,
    /// The ONNX nodes this layer stands for.
    pub nodes: Vec<String>,
    pub in_shape: [usize; 3],
    pub out_shape: [usize; 3],
    pub kind: LayerKind,
    /// The model's value this layer's output stands for, and how its real values map to levels
    /// (the import's check compares them); `None` for a layer whose output the model never holds.
    pub onnx_output: Option<OnnxOutput>,
}

/// A model value equal to a layer's output: real values `scale * (level - zero_point)`
/// (binary: `scale * a` with `a = ±1`).
#[derive(Clone, Debug)]
pub struct OnnxOutput {
    pub value: String,
    pub scale: f32,
    pub zero_point: i64,
    pub binary: bool,
}

impl OnnxOutput {
    fn of(value: &str, a: &Acts) -> OnnxOutput {
        OnnxOutput { value: value.to_string(), scale: a.scale, zero_point: a.zero_point, binary: a.binary }
    }

    /// The level a real value of the model stands for.
    pub fn level(&self, v: f32) -> i32 {
        if self.binary {
            if v >= 0.0 {
                1
            } else {
                -1
            }
        } else {
            ((v / self.scale).round() as i64 + self.zero_point) as i32
        }
    }
}

#[derive(Clone, Debug)]
pub enum LayerKind {
    MaxPool(Geometry),
    Weighted(Box<WeightedMap>),
}

/// The model's output from the last layer's output.
#[derive(Clone, Debug)]
pub enum Logits {
    /// The last layer outputs raw dot products; the model's output is `eval.real(o, dot)`.
    Dots(Box<LayerEval>),
    /// The graph ends with a quantiser: its real values `scale * (a - zero_point)`.
    Acts { scale: f32, zero_point: i64 },
}

/// An activation tensor as the walk tracks it: integer levels `a` (`0..=levels`, or ±1 for a
/// binary tensor) standing for the real values `scale * (a - zero_point)` of the model.
#[derive(Clone, Debug)]
pub struct Acts {
    pub shape: [usize; 3],
    pub bits: u32,
    pub levels: u32,
    pub binary: bool,
    pub scale: f32,
    pub zero_point: i64,
    /// The tensor's step in the network file (SPEC 2.3): 1 for binary tensors, else `scale`.
    pub step: f64,
    /// Reshaped to `[1, C*H*W]` (CHW order) by the graph: the next layer must be an fc layer.
    pub flat: bool,
}

/// The settings the mapping needs from the command line and the accelerator config.
#[derive(Clone, Debug)]
pub struct Options {
    /// The model's input is `pixel / divisor` in float32 (255: pixels scaled to [0, 1]).
    pub divisor: f32,
    pub scale_bits: u32,
    pub bias_bits: u32,
}

/// Walks the graph. `values` are every value of one run on a single image (shapes and the
/// constants computed from initializers); `data` names the values that depend on the image.
pub fn lower(model: &Model, values: &HashMap<String, Value>, opts: &Options) -> Result<Lowered> {
    let data = data_values(model);
    let shape_of = |name: &str| -> Result<Vec<usize>> {
        values.get(name).map(|v| v.shape().to_vec()).with_context(|| format!("value {name:?} was not computed"))
    };
    let static_value = |node: &Node, name: &str| -> Result<&Value> {
        ensure!(!data.contains(name), "{}: input {name:?} depends on the image; expected a constant", node.label());
        values.get(name).or_else(|| model.constants.get(name)).with_context(|| format!("value {name:?} missing"))
    };
    let in_shape = shape_of(&model.input.name)?;
    let image = match in_shape.as_slice() {
        [1, c, h, w] => [*c, *h, *w],
        [1, f] => [*f, 1, 1],
        [1, c, l] => [*c, *l, 1],
        other => bail!("the graph input {:?} has shape {other:?}; expected [1, C, H, W] (one image)", model.input.name),
    };
    let mut w = Walk {
        model,
        values,
        opts,
        input: None,
        layers: vec![],
        notes: vec![],
        state: State::Pixels(input::Pending::new(image)),
    };
    let mut cur = model.input.name.clone();
    while cur != model.output {
        let consumers: Vec<&Node> = model
            .nodes
            .iter()
            .filter(|n| n.inputs.contains(&cur) && !(n.op == "Shape" && n.domain.is_empty()))
            .collect();
        let node = match consumers.as_slice() {
            [one] => *one,
            [] => bail!("value {cur:?} is read by no node but is not the graph output"),
            many => bail!(
                "value {cur:?} feeds {} nodes ({}); the importer maps a single chain of layers (no branches or residual adds)",
                many.len(),
                many.iter().map(|n| n.label()).collect::<Vec<_>>().join(", ")
            ),
        };
        // The other inputs: constants, or shapes (Reshape targets).
        let others: Vec<(usize, &String)> =
            node.inputs.iter().enumerate().filter(|(_, n)| !n.is_empty() && **n != cur).collect();
        if let Some((_, other)) = others.iter().find(|(_, n)| data.contains(n.as_str())) {
            bail!(
                "{}: combines two activation tensors ({cur:?} and {other:?}); the importer maps a single chain of layers",
                node.label()
            );
        }
        let data_pos = node.inputs.iter().position(|n| *n == cur).unwrap();
        let out_shape = shape_of(&node.outputs[0])?;
        let constant = |i: usize| static_value(node, &node.inputs[i]);
        w.step(node, data_pos, &shape_of(&cur)?, &out_shape, &constant).with_context(|| node.label())?;
        cur = node.outputs[0].clone();
    }
    w.finish()
}

/// The values that depend on the image: the graph input and everything computed from it, except
/// through `Shape` (whose output depends only on the shape).
fn data_values(model: &Model) -> HashSet<String> {
    let mut data: HashSet<String> = HashSet::from([model.input.name.clone()]);
    for n in &model.nodes {
        if n.op == "Shape" && n.domain.is_empty() {
            continue;
        }
        if n.inputs.iter().any(|i| data.contains(i)) {
            data.extend(n.outputs.iter().cloned());
        }
    }
    data
}

/// Where the walk is: before the input quantiser, on quantised activations, or between a MAC and
/// the quantiser that ends its layer.
enum State {
    Pixels(input::Pending),
    Acts(Acts),
    Mac(Box<layer::Pending>),
}

struct Walk<'a> {
    model: &'a Model,
    values: &'a HashMap<String, Value>,
    opts: &'a Options,
    input: Option<InputMap>,
    layers: Vec<LayerMap>,
    notes: Vec<String>,
    state: State,
}

type ConstFn<'b> = dyn Fn(usize) -> Result<&'b Value> + 'b;

impl<'a> Walk<'a> {
    fn step<'b>(
        &mut self,
        node: &Node,
        data_pos: usize,
        in_shape: &[usize],
        out_shape: &[usize],
        constant: &ConstFn<'b>,
    ) -> Result<()> {
        let op = node.op.as_str();
        let quantiser = node.is_quantiser();
        ensure!(
            quantiser || node.domain.is_empty(),
            "op {op} of domain {:?} is not supported; the importer reads: {}",
            node.domain,
            ops::SUPPORTED
        );
        // Shape-only ops on activations: a flatten in CHW order, or nothing.
        if matches!(op, "Reshape" | "Flatten" | "Identity" | "Transpose") {
            return self.reshape(node, in_shape, out_shape);
        }
        let state = std::mem::replace(&mut self.state, State::Pixels(input::Pending::new([0; 3])));
        self.state = match (state, op) {
            (State::Pixels(mut p), "Mul" | "Add" | "Sub" | "Div") => {
                let k = per_channel(node, constant(1 - data_pos)?, in_shape, p.shape, p.flat)?;
                p.chain.push(node, Step::Arith { op: op.into(), k, const_first: data_pos == 1 });
                State::Pixels(p)
            }
            (State::Pixels(p), _) if quantiser => {
                let (map, acts) = input::close(p, node, constant, self.opts.divisor)?;
                self.notes.extend(map.notes());
                self.input = Some(map);
                State::Acts(acts)
            }
            (State::Acts(a), "MaxPool") => {
                let g = PoolGeometry::of(node)?;
                ensure!(!a.flat, "max pooling of a flattened tensor");
                ensure!(g.pad < g.kernel, "attribute `pads`: padding {} is not below the kernel {}", g.pad, g.kernel);
                let geometry = Geometry { kernel: g.kernel, stride: g.stride, padding: g.pad };
                let out = [a.shape[0], out_shape[2], out_shape[3]];
                let onnx = OnnxOutput::of(&node.outputs[0], &a);
                self.push_layer(vec![node.name.clone()], a.shape, out, LayerKind::MaxPool(geometry), Some(onnx));
                State::Acts(Acts { shape: out, ..a })
            }
            (State::Acts(a), "MatMul" | "Gemm" | "Conv") => {
                ensure!(data_pos == 0, "the activations must be the first input");
                self.check_weight_bits(node)?;
                let pending = layer::Pending::start(node, a, constant, in_shape, out_shape)?;
                State::Mac(Box::new(pending))
            }
            (State::Mac(mut p), "Mul" | "Add" | "Sub" | "Div") => {
                let k = per_channel(node, constant(1 - data_pos)?, in_shape, p.out_shape, p.flat_output())?;
                p.chain.push(node, Step::Arith { op: op.into(), k, const_first: data_pos == 1 });
                State::Mac(p)
            }
            (State::Mac(mut p), "BatchNormalization") => {
                let c = p.out_shape[0];
                let param = |i: usize| -> Result<PerChannel> {
                    let v = constant(i)?.f32()?;
                    ensure!(v.len() == c, "parameter {i} has {} values for {c} channels", v.len());
                    Ok(PerChannel(v.iter().copied().collect()))
                };
                let step = Step::Bn {
                    gamma: param(1)?,
                    beta: param(2)?,
                    mean: param(3)?,
                    var: param(4)?,
                    eps: node.float("epsilon", 1e-5)?,
                };
                ensure!(node.outputs.iter().skip(1).all(|o| o.is_empty()), "training outputs are not supported");
                p.chain.push(node, step);
                State::Mac(p)
            }
            (State::Mac(mut p), "Relu") => {
                p.chain.push(node, Step::Relu);
                State::Mac(p)
            }
            (State::Mac(mut p), "MaxPool") => {
                p.pool_before_quantiser(node, out_shape)?;
                State::Mac(p)
            }
            (State::Mac(p), _) if quantiser => {
                let name = format!("{}{}", p.kind_name(), self.layers.len());
                let (map, pool, acts) = p.close(node, constant, name, self.opts)?;
                self.notes.extend(map.notes.iter().cloned());
                let out = map.out_shape;
                // The quantiser's output is this layer's, or (pooling moved after it) the pool's.
                let onnx = Some(OnnxOutput::of(&node.outputs[0], &acts));
                self.layers.push(LayerMap {
                    name: map.name.clone(),
                    nodes: map.nodes.clone(),
                    in_shape: map.in_shape,
                    out_shape: out,
                    kind: LayerKind::Weighted(Box::new(map.weighted)),
                    onnx_output: if pool.is_some() { None } else { onnx.clone() },
                });
                let mut acts = acts;
                if let Some((g, pool_node)) = pool {
                    // Max pooling commutes with the non-decreasing output function: it runs on
                    // the quantised output instead.
                    let pooled = [out[0], g.out_len(out[1]).unwrap(), g.out_len(out[2]).unwrap()];
                    self.push_layer(vec![pool_node], out, pooled, LayerKind::MaxPool(g), onnx);
                    acts.shape = pooled;
                }
                State::Acts(acts)
            }
            (State::Acts(_), _) if quantiser => {
                bail!("a second quantiser on already quantised activations is not supported")
            }
            (State::Pixels(_), "MatMul" | "Gemm" | "Conv") => {
                bail!("the input reaches a layer without a quantiser; expected a Quant or BipolarQuant on the input")
            }
            (_, other) if ops::SUPPORTED.split(", ").any(|s| s == other) => {
                bail!("op {other} is not supported at this point of the graph (after {})", self.where_())
            }
            (_, other) => bail!("op {other} is not supported; the importer reads: {}", ops::SUPPORTED),
        };
        Ok(())
    }

    /// Weights quantised to more than one bit are an error naming their quantiser.
    fn check_weight_bits(&self, node: &Node) -> Result<()> {
        let mut value = node.inputs.get(1).cloned().unwrap_or_default();
        // Follow the weights back through layout ops to the node that made them.
        while let Some(p) = self.model.producer_of(&value) {
            if p.is_quantiser() {
                if p.op == "Quant" {
                    let bw = p.inputs.get(3).and_then(|b| self.values.get(b).or_else(|| self.model.constants.get(b)));
                    let bits = bw.map(|v| v.scalar_f32()).transpose()?.unwrap_or(0.0);
                    ensure!(
                        bits == 1.0,
                        "its weights come from {} with bit width {bits}; expected 1-bit weights (BipolarQuant, or Quant with bit width 1)",
                        p.label()
                    );
                }
                return Ok(());
            }
            match p.op.as_str() {
                "Transpose" | "Reshape" | "Identity" | "Flatten" | "Unsqueeze" => value = p.inputs[0].clone(),
                _ => return Ok(()),
            }
        }
        Ok(())
    }

    fn where_(&self) -> &'static str {
        match self.state {
            State::Pixels(_) => "the input, before its quantiser",
            State::Acts(_) => "a quantiser",
            State::Mac(_) => "a layer's multiply-accumulate, before its quantiser",
        }
    }

    fn push_layer(
        &mut self,
        nodes: Vec<String>,
        in_shape: [usize; 3],
        out_shape: [usize; 3],
        kind: LayerKind,
        onnx_output: Option<OnnxOutput>,
    ) {
        let name = match kind {
            LayerKind::MaxPool(_) => format!("pool{}", self.layers.len()),
            LayerKind::Weighted(_) => unreachable!("weighted layers are named when they close"),
        };
        self.layers.push(LayerMap { name, nodes, in_shape, out_shape, kind, onnx_output });
    }

    /// Reshape, Flatten, Identity, Transpose on the activations: allowed when they keep the
    /// values in CHW order (a flatten before an fc layer, or nothing at all).
    fn reshape(&mut self, node: &Node, in_shape: &[usize], out_shape: &[usize]) -> Result<()> {
        let l = node.label();
        if node.op == "Transpose" {
            // Only permutations that move axes of length 1 keep the memory order.
            let perm = node.ints("perm")?.unwrap_or_else(|| (0..in_shape.len() as i64).rev().collect());
            let moved: Vec<usize> =
                perm.iter().map(|&p| p as usize).filter(|&p| in_shape.get(p).copied().unwrap_or(1) != 1).collect();
            ensure!(
                moved.windows(2).all(|w| w[0] < w[1]),
                "{l}: a transpose of the activations (perm {perm:?} on shape {in_shape:?}) reorders them; only the CHW order is supported"
            );
        }
        let flat = out_shape.len() == 2 && out_shape[0] == 1;
        let same = out_shape.iter().filter(|&&d| d != 1).eq(in_shape.iter().filter(|&&d| d != 1));
        ensure!(
            same || flat,
            "{l}: reshapes the activations from {in_shape:?} to {out_shape:?}; expected a flatten to [1, C*H*W] or no change"
        );
        match &mut self.state {
            State::Pixels(p) => p.flat |= flat && out_shape[1] > 1 && in_shape.len() > 2,
            State::Acts(a) => a.flat |= flat && in_shape.len() > 2,
            State::Mac(p) => {
                ensure!(
                    p.out_shape[1] * p.out_shape[2] == 1 || !flat,
                    "{l}: a flatten between a layer's multiply-accumulate and its quantiser is not supported"
                )
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<Lowered> {
        let logits = match self.state {
            State::Mac(p) => {
                let name = format!("{}{}", p.kind_name(), self.layers.len());
                let (map, eval) = p.close_as_logits(name)?;
                let mut layers = self.layers;
                let notes = self.notes.into_iter().chain(map.notes.iter().cloned()).collect();
                layers.push(LayerMap {
                    name: map.name.clone(),
                    nodes: map.nodes.clone(),
                    in_shape: map.in_shape,
                    out_shape: map.out_shape,
                    kind: LayerKind::Weighted(Box::new(map.weighted)),
                    onnx_output: None,
                });
                let input = self.input.context("the graph has no input quantiser")?;
                return Ok(Lowered { input, layers, logits: Logits::Dots(Box::new(eval)), notes });
            }
            State::Acts(a) => Logits::Acts { scale: a.scale, zero_point: a.zero_point },
            State::Pixels(_) => bail!("the graph has no quantiser and no layer"),
        };
        ensure!(!self.layers.is_empty(), "the graph has no layer with 1-bit weights");
        let input = self.input.context("the graph has no input quantiser")?;
        Ok(Lowered { input, layers: self.layers, logits, notes: self.notes })
    }
}

/// The per-channel constant of an element-wise op on activations of shape `data` (batch first)
/// that stand for a `[C, H, W]` tensor, `flat` when they are laid out as `[1, C*H*W]`.
fn per_channel(node: &Node, k: &Value, data: &[usize], chw: [usize; 3], flat: bool) -> Result<PerChannel> {
    let hw = chw[1] * chw[2];
    let channel_of = move |idx: &IxDyn| -> usize {
        if flat || data.len() == 2 {
            idx[1] / hw
        } else {
            idx[1]
        }
    };
    PerChannel::of(node, k, data, chw[0], &channel_of)
}
