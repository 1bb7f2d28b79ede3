//! The element-wise ops between a layer's multiply-accumulate and its quantiser (bias, batch norm,
//! scalar or per-channel Mul/Add/Sub/Div, ReLU), kept in graph order so that they can be evaluated
//! on any value in float32 exactly as ONNX Runtime does, and in exact (float64) arithmetic to see
//! which decisions depend on float32 rounding.

use anyhow::{bail, ensure, Result};
use ndarray::IxDyn;

use crate::import::model::Node;
use crate::import::ops;
use crate::import::value::Value;

/// A constant that is the same at every position of a channel: one value, or one per channel.
#[derive(Clone, Debug, PartialEq)]
pub struct PerChannel(pub Vec<f32>);

impl PerChannel {
    pub fn at(&self, c: usize) -> f32 {
        if self.0.len() == 1 {
            self.0[0]
        } else {
            self.0[c]
        }
    }

    pub fn is_uniform(&self) -> bool {
        self.0.iter().all(|&v| v.to_bits() == self.0[0].to_bits())
    }

    /// The constant `k` of an element-wise op on a data tensor of shape `data` (batch first),
    /// whose element at a (batch-free) index belongs to channel `channel_of(index)`: it must
    /// broadcast to the data and be equal within each channel.
    pub fn of(
        node: &Node,
        k: &Value,
        data: &[usize],
        channels: usize,
        channel_of: &dyn Fn(&IxDyn) -> usize,
    ) -> Result<PerChannel> {
        let k = match k {
            Value::F32(a) => a.clone(),
            Value::I64(a) => a.mapv(|v| v as f32),
        };
        let shape = ops::broadcast(data, k.shape());
        ensure!(
            shape.as_deref() == Some(data),
            "{}: a constant of shape {:?} does not broadcast to the activations {data:?}",
            node.label(),
            k.shape()
        );
        if k.len() == 1 {
            return Ok(PerChannel(vec![*k.iter().next().unwrap()]));
        }
        let b = k.broadcast(IxDyn(data)).unwrap();
        let mut per: Vec<Option<f32>> = vec![None; channels];
        for (idx, &v) in b.indexed_iter() {
            let c = channel_of(&idx);
            match per[c] {
                None => per[c] = Some(v),
                Some(p) if p.to_bits() == v.to_bits() => {}
                Some(_) => bail!(
                    "{}: its constant varies within channel {c} (a per-position constant); expected a scalar or one value per channel",
                    node.label()
                ),
            }
        }
        let per: Vec<f32> = per.into_iter().map(|v| v.unwrap_or(0.0)).collect();
        Ok(PerChannel(per))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// `data OP k` (or `k OP data` when `const_first`) for Mul, Add, Sub, Div.
    Arith {
        op: String,
        k: PerChannel,
        const_first: bool,
    },
    /// ONNX BatchNormalization with its parameters per channel.
    Bn {
        gamma: PerChannel,
        beta: PerChannel,
        mean: PerChannel,
        var: PerChannel,
        eps: f32,
    },
    Relu,
}

/// Steps in graph order, and the nodes they came from (for reports).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Chain {
    pub steps: Vec<Step>,
    pub nodes: Vec<String>,
}

impl Chain {
    pub fn push(&mut self, node: &Node, step: Step) {
        self.steps.push(step);
        self.nodes.push(node.name.clone());
    }

    /// The value channel `c` takes for input `x`, in float32 as ONNX Runtime computes it.
    pub fn eval32(&self, c: usize, mut x: f32) -> f32 {
        for s in &self.steps {
            x = match s {
                Step::Arith { op, k, const_first } => {
                    let f = ops::float_op(op).expect("only arithmetic ops are pushed");
                    if *const_first {
                        f(k.at(c), x)
                    } else {
                        f(x, k.at(c))
                    }
                }
                Step::Bn { gamma, beta, mean, var, eps } => {
                    let (scale, shift) = ops::bn_coefficients(gamma.at(c), beta.at(c), mean.at(c), var.at(c), *eps);
                    x * scale + shift
                }
                Step::Relu => x.max(0.0),
            }
        }
        x
    }

    /// The same in float64 with the textbook formulas: what the model means, without float32
    /// rounding.
    pub fn eval64(&self, c: usize, mut x: f64) -> f64 {
        for s in &self.steps {
            x = match s {
                Step::Arith { op, k, const_first } => {
                    let (a, b) = if *const_first { (k.at(c) as f64, x) } else { (x, k.at(c) as f64) };
                    match op.as_str() {
                        "Mul" => a * b,
                        "Add" => a + b,
                        "Sub" => a - b,
                        "Div" => a / b,
                        _ => a.powf(b),
                    }
                }
                Step::Bn { gamma, beta, mean, var, eps } => {
                    (x - mean.at(c) as f64) / (var.at(c) as f64 + *eps as f64).sqrt() * gamma.at(c) as f64
                        + beta.at(c) as f64
                }
                Step::Relu => x.max(0.0),
            }
        }
        x
    }

    /// Whether every channel computes the same function (all constants uniform).
    pub fn is_uniform(&self) -> bool {
        self.steps.iter().all(|s| match s {
            Step::Arith { k, .. } => k.is_uniform(),
            Step::Bn { gamma, beta, mean, var, .. } => [gamma, beta, mean, var].iter().all(|p| p.is_uniform()),
            Step::Relu => true,
        })
    }

    pub fn has_relu(&self) -> bool {
        self.steps.iter().any(|s| matches!(s, Step::Relu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arith(op: &str, k: Vec<f32>, const_first: bool) -> Step {
        Step::Arith { op: op.into(), k: PerChannel(k), const_first }
    }

    #[test]
    fn steps_apply_in_order_with_per_channel_constants() {
        let chain = Chain {
            steps: vec![arith("Mul", vec![2.0, 3.0], false), arith("Sub", vec![1.0], true), Step::Relu],
            nodes: vec![],
        };
        // channel 0: relu(1 - 2x); channel 1: relu(1 - 3x).
        assert_eq!(chain.eval32(0, -1.0), 3.0);
        assert_eq!(chain.eval32(1, -1.0), 4.0);
        assert_eq!(chain.eval32(1, 1.0), 0.0);
        assert_eq!(chain.eval64(0, -1.0), 3.0);
        assert!(!chain.is_uniform());
    }

    #[test]
    fn batch_norm_is_evaluated_like_onnx_runtime_and_exactly() {
        let p = |v| PerChannel(vec![v]);
        let chain = Chain {
            steps: vec![Step::Bn { gamma: p(0.5), beta: p(1.0), mean: p(4.0), var: p(3.0), eps: 1.0 }],
            nodes: vec![],
        };
        // (x - 4) / 2 * 0.5 + 1 = x / 4
        assert_eq!(chain.eval64(0, 8.0), 2.0);
        assert_eq!(chain.eval32(0, 8.0), 2.0);
    }
}
