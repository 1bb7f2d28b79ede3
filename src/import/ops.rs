//! The ONNX and QONNX operators the importer supports, evaluated in float32 as ONNX Runtime and
//! the qonnx package evaluate them: the reference executor (exec.rs) runs graphs with these, and
//! the mapping (lower.rs) evaluates the same element-wise ops on the values a layer can produce,
//! so that both round exactly alike.

use anyhow::{bail, ensure, Context, Result};
use ndarray::{s, Array2, Array4, ArrayD, Axis, Ix2, Ix4, IxDyn};

use super::model::Node;
use super::value::Value;

/// Every op type the importer reads, for messages.
pub const SUPPORTED: &str = "BatchNormalization, BipolarQuant, Concat, Constant, Conv, Div, Flatten, Gather, Gemm, \
     Identity, MatMul, MaxPool, Mul, Pow, Quant, Relu, Reshape, Shape, Sub, Add, Transpose, Unsqueeze";

/// Evaluates one node on its input values (`None` for an omitted optional input).
pub fn eval(node: &Node, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
    let arg = |i: usize| -> Result<&Value> {
        inputs.get(i).copied().flatten().with_context(|| format!("{}: input {i} is missing", node.label()))
    };
    let ctx = || node.label();
    let out = match (node.domain.as_str(), node.op.as_str()) {
        (_, "Quant") if node.is_quantiser() => Value::F32(quant(node, arg(0)?, arg(1)?, arg(2)?, arg(3)?)?),
        (_, "BipolarQuant") if node.is_quantiser() => {
            Value::F32(bipolar(arg(0)?.f32()?, arg(1)?.f32()?).with_context(ctx)?)
        }
        ("", op) => standard(node, op, &arg, inputs).with_context(ctx)?,
        (d, op) => bail!("{}: op {op} of domain {d:?} is not supported; the importer reads: {SUPPORTED}", node.label()),
    };
    Ok(vec![out])
}

fn standard<'a>(
    node: &Node,
    op: &str,
    arg: &dyn Fn(usize) -> Result<&'a Value>,
    inputs: &[Option<&'a Value>],
) -> Result<Value> {
    Ok(match op {
        "Identity" => arg(0)?.clone(),
        "Constant" => bail!("constants are read when the model is loaded"),
        "Shape" => {
            let s = arg(0)?.shape();
            Value::from_i64(&[s.len()], s.iter().map(|&d| d as i64).collect())?
        }
        "Gather" => gather(arg(0)?, arg(1)?, node.int("axis", 0)?)?,
        "Unsqueeze" => {
            // opset < 13: `axes` attribute; opset >= 13: second input.
            let axes = match node.ints("axes")? {
                Some(a) => a,
                None => arg(1)?.ints()?,
            };
            unsqueeze(arg(0)?, &axes)?
        }
        "Concat" => {
            let vals: Vec<&Value> = inputs.iter().map(|v| v.context("a missing input")).collect::<Result<_>>()?;
            concat(&vals, node.int("axis", 0)?)?
        }
        "Reshape" => {
            let target = arg(1)?.ints()?;
            reshape(arg(0)?, &target)?
        }
        "Flatten" => {
            let x = arg(0)?;
            let axis = axis_index(node.int("axis", 1)?, x.shape().len() + 1)?;
            let (a, b): (usize, usize) = (x.shape()[..axis].iter().product(), x.shape()[axis..].iter().product());
            reshape(x, &[a as i64, b as i64])?
        }
        "Transpose" => {
            let x = arg(0)?;
            let perm: Vec<usize> = match node.ints("perm")? {
                Some(p) => p.iter().map(|&v| v as usize).collect(),
                None => (0..x.shape().len()).rev().collect(),
            };
            ensure!(
                perm.len() == x.shape().len() && (0..perm.len()).all(|i| perm.contains(&i)),
                "attribute `perm` = {perm:?} is not a permutation of the input's {} axes",
                x.shape().len()
            );
            match x {
                Value::F32(a) => Value::F32(a.clone().permuted_axes(IxDyn(&perm)).as_standard_layout().to_owned()),
                Value::I64(a) => Value::I64(a.clone().permuted_axes(IxDyn(&perm)).as_standard_layout().to_owned()),
            }
        }
        "Mul" | "Add" | "Sub" | "Div" | "Pow" => binary(op, arg(0)?, arg(1)?)?,
        "Relu" => Value::F32(arg(0)?.f32()?.mapv(|v| v.max(0.0))),
        "MatMul" => Value::F32(matmul(arg(0)?.f32()?, arg(1)?.f32()?)?.into_dyn()),
        "Gemm" => gemm(node, arg(0)?.f32()?, arg(1)?.f32()?, inputs.get(2).copied().flatten())?,
        "Conv" => Value::F32(conv(node, arg(0)?.f32()?, arg(1)?.f32()?, inputs.get(2).copied().flatten())?),
        "BatchNormalization" => {
            let p: Vec<&ArrayD<f32>> = (1..5).map(|i| arg(i)?.f32()).collect::<Result<_>>()?;
            let eps = node.float("epsilon", 1e-5)?;
            Value::F32(batch_norm(arg(0)?.f32()?, p[0], p[1], p[2], p[3], eps)?)
        }
        "MaxPool" => {
            ensure!(node.outputs.len() == 1 || node.outputs[1].is_empty(), "the Indices output is not supported");
            let pool = PoolGeometry::of(node)?;
            Value::F32(max_pool(arg(0)?.f32()?, &pool)?)
        }
        other => bail!("op {other} is not supported; the importer reads: {SUPPORTED}"),
    })
}

fn axis_index(axis: i64, rank: usize) -> Result<usize> {
    let a = if axis < 0 { axis + rank as i64 } else { axis };
    ensure!((0..rank as i64).contains(&a), "axis {axis} is out of range for rank {rank}");
    Ok(a as usize)
}

fn gather(data: &Value, indices: &Value, axis: i64) -> Result<Value> {
    let axis = axis_index(axis, data.shape().len())?;
    let len = data.shape()[axis] as i64;
    let idx = indices.ints()?;
    let pick: Vec<usize> = idx
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + len } else { i };
            ensure!((0..len).contains(&j), "index {i} out of range for a dimension of {len}");
            Ok(j as usize)
        })
        .collect::<Result<_>>()?;
    let scalar = indices.shape().is_empty();
    let take = |out: Value| -> Result<Value> {
        if !scalar {
            return Ok(out);
        }
        // A scalar index drops the axis.
        Ok(match out {
            Value::F32(a) => Value::F32(a.index_axis(Axis(axis), 0).to_owned()),
            Value::I64(a) => Value::I64(a.index_axis(Axis(axis), 0).to_owned()),
        })
    };
    take(match data {
        Value::F32(a) => Value::F32(a.select(Axis(axis), &pick)),
        Value::I64(a) => Value::I64(a.select(Axis(axis), &pick)),
    })
}

fn unsqueeze(x: &Value, axes: &[i64]) -> Result<Value> {
    let rank = x.shape().len() + axes.len();
    let mut axes: Vec<usize> = axes.iter().map(|&a| axis_index(a, rank)).collect::<Result<_>>()?;
    axes.sort_unstable();
    let mut shape: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
    for a in axes {
        shape.insert(a, 1);
    }
    reshape(x, &shape)
}

fn concat(vals: &[&Value], axis: i64) -> Result<Value> {
    ensure!(!vals.is_empty(), "no inputs");
    let axis = axis_index(axis, vals[0].shape().len())?;
    Ok(match vals[0] {
        Value::F32(_) => {
            let views: Vec<_> = vals.iter().map(|v| v.f32().map(|a| a.view())).collect::<Result<_>>()?;
            Value::F32(ndarray::concatenate(Axis(axis), &views)?)
        }
        Value::I64(_) => {
            let views: Vec<_> = vals.iter().map(|v| v.i64().map(|a| a.view())).collect::<Result<_>>()?;
            Value::I64(ndarray::concatenate(Axis(axis), &views)?)
        }
    })
}

/// ONNX Reshape: 0 copies the input's dimension, -1 takes what is left.
pub fn reshape(x: &Value, target: &[i64]) -> Result<Value> {
    let total: usize = x.shape().iter().product();
    let mut shape: Vec<usize> = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &t) in target.iter().enumerate() {
        match t {
            0 => shape.push(*x.shape().get(i).context("a 0 in the target shape beyond the input's rank")?),
            -1 if infer.is_none() => {
                infer = Some(i);
                shape.push(1);
            }
            t if t > 0 => shape.push(t as usize),
            t => bail!("target shape {target:?}: bad dimension {t}"),
        }
    }
    if let Some(i) = infer {
        let known: usize = shape.iter().product();
        ensure!(known > 0 && total.is_multiple_of(known), "cannot reshape {:?} to {target:?}", x.shape());
        shape[i] = total / known;
    }
    ensure!(shape.iter().product::<usize>() == total, "cannot reshape {:?} to {target:?}", x.shape());
    Ok(match x {
        Value::F32(a) => Value::F32(a.as_standard_layout().to_owned().into_shape_with_order(IxDyn(&shape))?),
        Value::I64(a) => Value::I64(a.as_standard_layout().to_owned().into_shape_with_order(IxDyn(&shape))?),
    })
}

/// Element-wise arithmetic with numpy broadcasting, in float32 (or int64 for shape arithmetic).
pub fn binary(op: &str, a: &Value, b: &Value) -> Result<Value> {
    let shape_err = || format!("cannot broadcast shapes {:?} and {:?}", a.shape(), b.shape());
    Ok(match (a, b) {
        (Value::I64(x), Value::I64(y)) => {
            let f = match op {
                "Mul" => |p: i64, q: i64| p * q,
                "Add" => |p: i64, q: i64| p + q,
                "Sub" => |p: i64, q: i64| p - q,
                _ => bail!("{op} of int64 tensors is not supported"),
            };
            Value::I64(
                ndarray::Zip::from(&x.broadcast(broadcast(x.shape(), y.shape()).context(shape_err())?).unwrap())
                    .and(&y.broadcast(broadcast(x.shape(), y.shape()).unwrap()).unwrap())
                    .map_collect(|&p, &q| f(p, q)),
            )
        }
        _ => {
            let (x, y) = (as_f32(a), as_f32(b));
            let shape = broadcast(x.shape(), y.shape()).context(shape_err())?;
            let f = float_op(op)?;
            Value::F32(
                ndarray::Zip::from(&x.broadcast(shape.clone()).unwrap())
                    .and(&y.broadcast(shape).unwrap())
                    .map_collect(|&p, &q| f(p, q)),
            )
        }
    })
}

/// The float32 function of an element-wise op (shared with the mapping's evaluation).
pub fn float_op(op: &str) -> Result<fn(f32, f32) -> f32> {
    Ok(match op {
        "Mul" => |p, q| p * q,
        "Add" => |p, q| p + q,
        "Sub" => |p, q| p - q,
        "Div" => |p, q| p / q,
        "Pow" => f32::powf,
        other => bail!("{other} is not an element-wise arithmetic op"),
    })
}

fn as_f32(v: &Value) -> ArrayD<f32> {
    match v {
        Value::F32(a) => a.clone(),
        Value::I64(a) => a.mapv(|x| x as f32),
    }
}

/// numpy's broadcast shape of two shapes, `None` if they do not broadcast.
pub fn broadcast(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            match (da, db) {
                (x, y) if x == y => Some(x),
                (1, y) => Some(y),
                (x, 1) => Some(x),
                _ => None,
            }
        })
        .collect()
}

fn matmul(a: &ArrayD<f32>, b: &ArrayD<f32>) -> Result<Array2<f32>> {
    let a = a.view().into_dimensionality::<Ix2>().context("MatMul: expected a 2-d input")?;
    let b = b.view().into_dimensionality::<Ix2>().context("MatMul: expected 2-d weights")?;
    ensure!(a.shape()[1] == b.shape()[0], "MatMul: shapes {:?} and {:?} do not chain", a.shape(), b.shape());
    Ok(a.dot(&b))
}

fn gemm(node: &Node, a: &ArrayD<f32>, b: &ArrayD<f32>, c: Option<&Value>) -> Result<Value> {
    let (alpha, beta) = (node.float("alpha", 1.0)?, node.float("beta", 1.0)?);
    let t = |x: &ArrayD<f32>, on: bool| -> Result<ArrayD<f32>> {
        let m = x.view().into_dimensionality::<Ix2>().context("Gemm: expected 2-d operands")?;
        Ok(if on { m.t().to_owned().into_dyn() } else { m.to_owned().into_dyn() })
    };
    let a = t(a, node.int("transA", 0)? != 0)?;
    let b = t(b, node.int("transB", 0)? != 0)?;
    let mut y = matmul(&a, &b)?.into_dyn();
    if alpha != 1.0 {
        y.mapv_inplace(|v| v * alpha);
    }
    if let Some(c) = c {
        let c = c.f32()?.mapv(|v| v * beta);
        y = binary("Add", &Value::F32(y), &Value::F32(c))?.f32()?.clone();
    }
    Ok(Value::F32(y))
}

/// Kernel, strides and symmetric padding of a Conv or MaxPool node (square kernels; the only
/// geometry the core has). Anything else is an error naming the attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    pub kernel: usize,
    pub stride: usize,
    pub pad: usize,
}

impl PoolGeometry {
    pub fn of(node: &Node) -> Result<PoolGeometry> {
        let l = node.label();
        let kernel = node.ints("kernel_shape")?;
        Self::with_kernel(node, kernel.with_context(|| format!("{l}: attribute `kernel_shape` is missing"))?)
    }

    pub fn with_kernel(node: &Node, kernel: Vec<i64>) -> Result<PoolGeometry> {
        let l = node.label();
        let square = |key: &str, v: &[i64]| -> Result<usize> {
            ensure!(
                v.len() == 2 && v[0] == v[1] && v[0] >= 0,
                "{l}: attribute `{key}` = {v:?}: expected two equal values (square, 2-d)"
            );
            Ok(v[0] as usize)
        };
        let k = square("kernel_shape", &kernel)?;
        let stride = square("strides", &node.ints("strides")?.unwrap_or(vec![1, 1]))?;
        let pads = node.ints("pads")?.unwrap_or(vec![0; 4]);
        ensure!(
            pads.len() == 4 && pads.iter().all(|&p| p == pads[0] && p >= 0),
            "{l}: attribute `pads` = {pads:?}: expected four equal values (the same padding on every side)"
        );
        if let Some(d) = node.ints("dilations")? {
            ensure!(d.iter().all(|&v| v == 1), "{l}: attribute `dilations` = {d:?}: expected 1 (no dilation)");
        }
        let auto = node.string("auto_pad", "NOTSET")?;
        ensure!(matches!(auto.as_str(), "NOTSET" | "VALID"), "{l}: attribute `auto_pad` = {auto:?}: expected NOTSET");
        ensure!(node.int("ceil_mode", 0)? == 0, "{l}: attribute `ceil_mode` = 1: expected 0 (floor)");
        Ok(PoolGeometry { kernel: k, stride, pad: pads[0] as usize })
    }

    fn out_len(&self, len: usize) -> Result<usize> {
        let padded = len + 2 * self.pad;
        ensure!(padded >= self.kernel, "the kernel {} is larger than the padded input {padded}", self.kernel);
        Ok((padded - self.kernel) / self.stride + 1)
    }
}

fn conv(node: &Node, x: &ArrayD<f32>, w: &ArrayD<f32>, bias: Option<&Value>) -> Result<ArrayD<f32>> {
    let group = node.int("group", 1)?;
    ensure!(group == 1, "attribute `group` = {group} (a grouped or depthwise convolution); expected group = 1");
    let x = x.view().into_dimensionality::<Ix4>().context("Conv: expected an NCHW input")?;
    let w = w.view().into_dimensionality::<Ix4>().context("Conv: expected OIHW weights")?;
    let kernel = node.ints("kernel_shape")?.unwrap_or(vec![w.shape()[2] as i64, w.shape()[3] as i64]);
    let g = PoolGeometry::with_kernel(node, kernel)?;
    let (n, c, h, wd) = x.dim();
    let (o, ci, kh, kw) = w.dim();
    ensure!(
        ci == c && kh == g.kernel && kw == g.kernel,
        "weights {:?} do not fit the input {:?}",
        w.shape(),
        x.shape()
    );
    let (ho, wo) = (g.out_len(h)?, g.out_len(wd)?);
    // im2col and one matrix product per image (as ONNX Runtime does; the order of the sums only
    // matters where products are not exact in float32).
    let k = g.kernel;
    let w2 = w.to_shape((o, c * k * k))?;
    let mut y = Array4::<f32>::zeros((n, o, ho, wo));
    let mut cols = Array2::<f32>::zeros((c * k * k, ho * wo));
    for b in 0..n {
        for ch in 0..c {
            for ky in 0..k {
                for kx in 0..k {
                    let row = (ch * k + ky) * k + kx;
                    for oy in 0..ho {
                        let iy = (oy * g.stride + ky) as isize - g.pad as isize;
                        for ox in 0..wo {
                            let ix = (ox * g.stride + kx) as isize - g.pad as isize;
                            let inside = iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd;
                            cols[[row, oy * wo + ox]] = if inside { x[[b, ch, iy as usize, ix as usize]] } else { 0.0 };
                        }
                    }
                }
            }
        }
        let prod = w2.dot(&cols);
        y.slice_mut(s![b, .., .., ..]).assign(&prod.to_shape((o, ho, wo))?);
    }
    let mut y = y.into_dyn();
    if let Some(bias) = bias {
        let bias = bias.f32()?;
        ensure!(bias.len() == o, "a bias of {} values for {o} filters", bias.len());
        for (f, &v) in bias.iter().enumerate() {
            y.slice_mut(s![.., f, .., ..]).mapv_inplace(|a| a + v);
        }
    }
    Ok(y)
}

/// Batch normalisation as ONNX Runtime computes it in float32: `scale = gamma * (1 / sqrt(var +
/// eps))`, `shift = beta - mean * scale`, `y = x * scale + shift` (no fused multiply-add). Checked
/// against ONNX Runtime on every channel and thousands of inputs: other orders of the same
/// formula round differently in about half the cases.
pub fn bn_coefficients(gamma: f32, beta: f32, mean: f32, var: f32, eps: f32) -> (f32, f32) {
    let inv = 1.0f32 / (var + eps).sqrt();
    let scale = gamma * inv;
    (scale, beta - mean * scale)
}

fn batch_norm(
    x: &ArrayD<f32>,
    gamma: &ArrayD<f32>,
    beta: &ArrayD<f32>,
    mean: &ArrayD<f32>,
    var: &ArrayD<f32>,
    eps: f32,
) -> Result<ArrayD<f32>> {
    ensure!(x.ndim() >= 2, "BatchNormalization: expected an input with a channel axis");
    let c = x.shape()[1];
    ensure!(
        [gamma, beta, mean, var].iter().all(|p| p.len() == c),
        "BatchNormalization: parameters for {c} channels expected"
    );
    let coef: Vec<(f32, f32)> = (0..c).map(|i| bn_coefficients(gamma[i], beta[i], mean[i], var[i], eps)).collect();
    let mut y = x.clone();
    for (i, (sc, sh)) in coef.iter().enumerate() {
        y.index_axis_mut(Axis(1), i).mapv_inplace(|v| v * sc + sh);
    }
    Ok(y)
}

fn max_pool(x: &ArrayD<f32>, g: &PoolGeometry) -> Result<ArrayD<f32>> {
    let x = x.view().into_dimensionality::<Ix4>().context("MaxPool: expected an NCHW input")?;
    let (n, c, h, w) = x.dim();
    let (ho, wo) = (g.out_len(h)?, g.out_len(w)?);
    let mut y = Array4::<f32>::from_elem((n, c, ho, wo), f32::NEG_INFINITY);
    for b in 0..n {
        for ch in 0..c {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut best = f32::NEG_INFINITY;
                    for ky in 0..g.kernel {
                        for kx in 0..g.kernel {
                            let (iy, ix) = (
                                (oy * g.stride + ky) as isize - g.pad as isize,
                                (ox * g.stride + kx) as isize - g.pad as isize,
                            );
                            if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                best = best.max(x[[b, ch, iy as usize, ix as usize]]);
                            }
                        }
                    }
                    y[[b, ch, oy, ox]] = best;
                }
            }
        }
    }
    Ok(y.into_dyn())
}

/// A QONNX `Quant` node's integer parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntQuant {
    pub bits: u32,
    pub signed: bool,
    pub narrow: bool,
    pub rounding: Rounding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    /// numpy's round: half to even (`ROUND`, `HALF_EVEN`).
    HalfEven,
    Floor,
    Ceil,
    /// Towards zero (`ROUND_TO_ZERO`).
    TowardZero,
}

impl IntQuant {
    /// The node's attributes and its (scalar) bit width.
    pub fn of(node: &Node, bitwidth: &Value) -> Result<IntQuant> {
        let l = node.label();
        let bw = bitwidth.scalar_f32().with_context(|| format!("{l}: input `bitwidth`"))?;
        ensure!((1.0..=32.0).contains(&bw) && bw.fract() == 0.0, "{l}: bit width {bw}: expected an integer in 1..=32");
        let rounding = match node.string("rounding_mode", "ROUND")?.to_uppercase().as_str() {
            "ROUND" | "HALF_EVEN" => Rounding::HalfEven,
            "FLOOR" => Rounding::Floor,
            "CEIL" => Rounding::Ceil,
            "ROUND_TO_ZERO" => Rounding::TowardZero,
            other => bail!("{l}: attribute `rounding_mode` = {other:?}: expected ROUND, FLOOR, CEIL or ROUND_TO_ZERO"),
        };
        Ok(IntQuant {
            bits: bw as u32,
            signed: node.int("signed", 1)? != 0,
            narrow: node.int("narrow", 0)? != 0,
            rounding,
        })
    }

    /// The smallest and largest integer (qonnx's `min_int`, `max_int`).
    pub fn range(&self) -> (i64, i64) {
        let b = self.bits;
        match (self.signed, self.narrow) {
            (true, true) => (-(1i64 << (b - 1)) + 1, (1i64 << (b - 1)) - 1),
            (true, false) => (-(1i64 << (b - 1)), (1i64 << (b - 1)) - 1),
            (false, true) => (0, (1i64 << b) - 2),
            (false, false) => (0, (1i64 << b) - 1),
        }
    }

    /// The integer a value quantises to, as qonnx computes it in float32: `x / scale + zeropt`,
    /// clamped to the range, then rounded. A 1-bit signed quantiser is bipolar (qonnx: -1 or +1).
    pub fn level(&self, x: f32, scale: f32, zeropt: f32) -> f32 {
        let y = x / scale + zeropt;
        if self.bits == 1 && self.signed {
            return if y >= 0.0 { 1.0 } else { -1.0 };
        }
        let (lo, hi) = self.range();
        let y = y.clamp(lo as f32, hi as f32);
        match self.rounding {
            Rounding::HalfEven => y.round_ties_even(),
            Rounding::Floor => y.floor(),
            Rounding::Ceil => y.ceil(),
            Rounding::TowardZero => y.trunc(),
        }
    }
}

fn quant(node: &Node, x: &Value, scale: &Value, zeropt: &Value, bitwidth: &Value) -> Result<ArrayD<f32>> {
    let q = IntQuant::of(node, bitwidth)?;
    let (x, scale, zp) = (x.f32()?, scale.f32()?, zeropt.f32()?);
    let shape = broadcast(x.shape(), scale.shape())
        .and_then(|s| broadcast(&s, zp.shape()))
        .with_context(|| format!("{}: scale or zero point does not broadcast to the input", node.label()))?;
    Ok(ndarray::Zip::from(&x.broadcast(shape.clone()).unwrap())
        .and(&scale.broadcast(shape.clone()).unwrap())
        .and(&zp.broadcast(shape).unwrap())
        .map_collect(|&v, &s, &z| (q.level(v, s, z) - z) * s))
}

/// QONNX BipolarQuant: `+scale` where `x >= 0`, else `-scale`.
pub fn bipolar(x: &ArrayD<f32>, scale: &ArrayD<f32>) -> Result<ArrayD<f32>> {
    let shape = broadcast(x.shape(), scale.shape()).context("the scale does not broadcast to the input")?;
    Ok(ndarray::Zip::from(&x.broadcast(shape.clone()).unwrap())
        .and(&scale.broadcast(shape).unwrap())
        .map_collect(|&v, &s| if v >= 0.0 { s } else { -s }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_ranges_are_qonnx_min_and_max_int() {
        let q = |bits, signed, narrow| IntQuant { bits, signed, narrow, rounding: Rounding::HalfEven }.range();
        assert_eq!(q(8, true, true), (-127, 127));
        assert_eq!(q(8, true, false), (-128, 127));
        assert_eq!(q(8, false, true), (0, 254));
        assert_eq!(q(2, false, false), (0, 3));
        assert_eq!(q(2, true, true), (-1, 1));
    }

    #[test]
    fn quant_clamps_then_rounds_half_to_even() {
        let q = IntQuant { bits: 2, signed: true, narrow: true, rounding: Rounding::HalfEven };
        assert_eq!(q.level(0.5, 1.0, 0.0), 0.0);
        assert_eq!(q.level(1.5, 1.0, 0.0), 1.0);
        assert_eq!(q.level(-0.5, 1.0, 0.0), 0.0);
        assert_eq!(q.level(-7.0, 1.0, 0.0), -1.0);
        assert_eq!(q.level(2.5, 2.0, 0.0), 1.0);
        let bip = IntQuant { bits: 1, signed: true, narrow: false, rounding: Rounding::HalfEven };
        assert_eq!((bip.level(0.0, 1.0, 0.0), bip.level(-1e-9, 1.0, 0.0)), (1.0, -1.0));
    }

    /// Outputs of ONNX Runtime 1.32's BatchNormalization (CPU, float32) recorded where the
    /// textbook order `(x - mean) / sqrt(var + eps) * gamma + beta` rounds differently: parameters
    /// drawn with numpy's default_rng(5), epsilon 1e-5, inputs -300 and -299, each output's bits
    /// printed by onnxruntime.
    #[test]
    fn batch_norm_rounds_as_onnx_runtime() {
        let f = |h: u32| f32::from_bits(h);
        let g = [0xbf4d4b61, 0xbfa98498, 0xbe7e5282, 0x3ed74499, 0x3f9169f9, 0x3de0adc0].map(f);
        let b = [0xbf0d7a4b, 0xbf48e75e, 0x3f3fadce, 0x3fd14092, 0x3e8ba859, 0xbf9dddb7].map(f);
        let m = [0xc1e5fbd0, 0x42400096, 0x40c2c463, 0xc24fdb2f, 0xc020b25a, 0xc20b964d].map(f);
        let v = [0x434b044d, 0x419201ab, 0x4326b057, 0x42a2e416, 0x4383f3e3, 0x419a31d5].map(f);
        let recorded: [(f32, usize, u32); 8] = [
            (-300.0, 0, 0x416b6ca2),
            (-300.0, 1, 0x42d63131),
            (-300.0, 2, 0x40d4610f),
            (-300.0, 5, 0xc0fb73d9),
            (-299.0, 0, 0x416a861a),
            (-299.0, 2, 0x40d3c379),
            (-299.0, 3, 0xc11dfca0),
            (-299.0, 4, 0xc1a3b060),
        ];
        for (x, c, want) in recorded {
            let (scale, shift) = bn_coefficients(g[c], b[c], m[c], v[c], 1e-5);
            assert_eq!((x * scale + shift).to_bits(), want, "x = {x}, channel {c}");
        }
    }

    #[test]
    fn broadcast_follows_numpy() {
        assert_eq!(broadcast(&[1, 64], &[64]), Some(vec![1, 64]));
        assert_eq!(broadcast(&[2, 3, 4, 5], &[3, 1, 1]), Some(vec![2, 3, 4, 5]));
        assert_eq!(broadcast(&[], &[4]), Some(vec![4]));
        assert_eq!(broadcast(&[3], &[4]), None);
    }

    #[test]
    fn reshape_copies_zero_and_infers_minus_one() {
        let x = Value::from_f32(&[1, 2, 3, 4], (0..24).map(|v| v as f32).collect()).unwrap();
        assert_eq!(reshape(&x, &[0, -1]).unwrap().shape(), &[1, 24]);
        assert!(reshape(&x, &[5, -1]).is_err());
    }
}
