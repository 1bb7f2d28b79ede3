//! The values an ONNX graph computes with: float32 tensors (activations, weights) and int64
//! tensors (shapes, indices), as n-d arrays with numpy's broadcasting (ndarray).

use anyhow::{bail, Result};
use ndarray::{ArrayD, IxDyn};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    F32(ArrayD<f32>),
    I64(ArrayD<i64>),
}

impl Value {
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::F32(a) => a.shape(),
            Value::I64(a) => a.shape(),
        }
    }

    /// The float tensor, or an error naming what it is instead.
    pub fn f32(&self) -> Result<&ArrayD<f32>> {
        match self {
            Value::F32(a) => Ok(a),
            Value::I64(_) => bail!("expected a float tensor, found an int64 tensor"),
        }
    }

    /// The integer tensor, or an error naming what it is instead.
    pub fn i64(&self) -> Result<&ArrayD<i64>> {
        match self {
            Value::I64(a) => Ok(a),
            Value::F32(_) => bail!("expected an int64 tensor, found a float tensor"),
        }
    }

    /// A scalar (or one-element tensor) as a float.
    pub fn scalar_f32(&self) -> Result<f32> {
        match self {
            Value::F32(a) if a.len() == 1 => Ok(*a.iter().next().unwrap()),
            Value::I64(a) if a.len() == 1 => Ok(*a.iter().next().unwrap() as f32),
            other => bail!("expected a scalar, found a tensor of shape {:?}", other.shape()),
        }
    }

    /// The values of a 0-d or 1-d integer tensor (shapes, axes).
    pub fn ints(&self) -> Result<Vec<i64>> {
        let a = self.i64()?;
        if a.ndim() > 1 {
            bail!("expected a 1-d integer tensor, found shape {:?}", a.shape());
        }
        Ok(a.iter().copied().collect())
    }

    pub fn from_f32(shape: &[usize], data: Vec<f32>) -> Result<Value> {
        Ok(Value::F32(ArrayD::from_shape_vec(IxDyn(shape), data)?))
    }

    pub fn from_i64(shape: &[usize], data: Vec<i64>) -> Result<Value> {
        Ok(Value::I64(ArrayD::from_shape_vec(IxDyn(shape), data)?))
    }
}
