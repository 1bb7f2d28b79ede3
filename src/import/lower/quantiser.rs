//! A QONNX activation quantiser (`BipolarQuant`, or `Quant` with a scalar scale and zero point)
//! seen as a map from a real value to a level `0..=L` (bipolar: 0 for -1, 1 for +1), in float32
//! as qonnx computes it and in exact arithmetic, with the distance of a value from the nearest
//! decision boundary.

use anyhow::{ensure, Context, Result};

use crate::import::model::Node;
use crate::import::ops::{IntQuant, Rounding};
use crate::import::value::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Quantiser {
    Bipolar { scale: f32 },
    Int { q: IntQuant, scale: f32, zeropt: f32 },
}

impl Quantiser {
    /// The quantiser of a node; `constant(i)` is its i-th input. Per-channel scales or zero
    /// points are errors (one step per tensor is what the format has).
    pub fn of<'b>(node: &Node, constant: &dyn Fn(usize) -> Result<&'b Value>) -> Result<Quantiser> {
        let scalar = |i: usize, what: &str| -> Result<f32> {
            constant(i)?.scalar_f32().with_context(|| format!("its {what} (a per-channel {what} is not supported)"))
        };
        let scale = scalar(1, "scale")?;
        ensure!(scale.is_finite() && scale > 0.0, "its scale is {scale}; expected a positive number");
        if node.op == "BipolarQuant" {
            return Ok(Quantiser::Bipolar { scale });
        }
        let zeropt = scalar(2, "zero point")?;
        ensure!(zeropt.fract() == 0.0, "its zero point {zeropt} is not an integer");
        let q = IntQuant::of(node, constant(3)?)?;
        ensure!(q.bits <= 8 || (q.bits == 1), "{}-bit activations; the core takes at most 8 bits", q.bits);
        Ok(Quantiser::Int { q, scale, zeropt })
    }

    pub fn binary(&self) -> bool {
        match self {
            Quantiser::Bipolar { .. } => true,
            Quantiser::Int { q, .. } => q.bits == 1 && q.signed,
        }
    }

    pub fn scale(&self) -> f32 {
        match *self {
            Quantiser::Bipolar { scale } | Quantiser::Int { scale, .. } => scale,
        }
    }

    /// The number of steps `L` (levels `0..=L`).
    pub fn levels(&self) -> u32 {
        match self {
            _ if self.binary() => 1,
            Quantiser::Int { q, .. } => (q.range().1 - q.range().0) as u32,
            Quantiser::Bipolar { .. } => 1,
        }
    }

    /// Bits of the stored levels: 1 for a binary tensor (±1), else enough for `L`, at least 2.
    pub fn bits(&self) -> u32 {
        if self.binary() {
            1
        } else {
            (32 - self.levels().leading_zeros()).max(2)
        }
    }

    /// The level whose real value is `scale * (level - zero_point)` (0 for binary tensors).
    pub fn zero_point(&self) -> i64 {
        match *self {
            _ if self.binary() => 0,
            Quantiser::Int { q, zeropt, .. } => zeropt as i64 - q.range().0,
            Quantiser::Bipolar { .. } => 0,
        }
    }

    /// The level of `v`, computed in float32 as qonnx does.
    pub fn level32(&self, v: f32) -> i64 {
        match *self {
            Quantiser::Bipolar { .. } => i64::from(v >= 0.0),
            Quantiser::Int { q, scale, zeropt } => {
                let y = q.level(v, scale, zeropt) as i64;
                if self.binary() {
                    i64::from(y > 0)
                } else {
                    y - q.range().0
                }
            }
        }
    }

    /// The level of `v` in exact arithmetic (the quantiser's formula in float64).
    pub fn level64(&self, v: f64) -> i64 {
        let y = self.unrounded(v);
        match *self {
            Quantiser::Bipolar { .. } => i64::from(y >= 0.0),
            _ if self.binary() => i64::from(y >= 0.0),
            Quantiser::Int { q, .. } => {
                let (lo, hi) = q.range();
                let y = y.clamp(lo as f64, hi as f64);
                let r = match q.rounding {
                    Rounding::HalfEven => y.round_ties_even(),
                    Rounding::Floor => y.floor(),
                    Rounding::Ceil => y.ceil(),
                    Rounding::TowardZero => y.trunc(),
                };
                r as i64 - lo
            }
        }
    }

    /// `v` in units of steps, before rounding (`v / scale + zero point`; bipolar: `v`).
    fn unrounded(&self, v: f64) -> f64 {
        match *self {
            Quantiser::Bipolar { .. } => v,
            Quantiser::Int { scale, zeropt, .. } => v / scale as f64 + zeropt as f64,
        }
    }

    /// How far `v` is from the nearest value at which the level changes, in steps (bipolar: in
    /// units of the value): decisions this close could go either way under float32 rounding.
    pub fn margin(&self, v: f64) -> f64 {
        let y = self.unrounded(v);
        match *self {
            _ if self.binary() => y.abs(),
            Quantiser::Int { q, .. } => {
                let (lo, hi) = q.range();
                // The boundaries between levels k and k+1, for k in lo..hi.
                let offset = match q.rounding {
                    Rounding::HalfEven => 0.5,
                    Rounding::Floor | Rounding::TowardZero => 1.0,
                    Rounding::Ceil => 0.0,
                };
                let k = (y - offset).round().clamp(lo as f64, (hi - 1) as f64);
                (y - (k + offset)).abs()
            }
            Quantiser::Bipolar { .. } => y.abs(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(bits: u32, signed: bool, narrow: bool, scale: f32) -> Quantiser {
        Quantiser::Int { q: IntQuant { bits, signed, narrow, rounding: Rounding::HalfEven }, scale, zeropt: 0.0 }
    }

    #[test]
    fn signed_narrow_two_bit_has_three_levels_around_zero_point_one() {
        let q = int(2, true, true, 1.0);
        assert_eq!((q.levels(), q.bits(), q.zero_point()), (2, 2, 1));
        assert_eq!([q.level32(-3.0), q.level32(0.2), q.level32(0.7), q.level32(9.0)], [0, 1, 2, 2]);
        assert_eq!(q.level64(0.5), 1); // half to even: 0.5 -> 0, level 1
    }

    #[test]
    fn eight_bit_signed_input_and_margins() {
        let q = int(8, true, true, 1.0 / 127.0);
        assert_eq!((q.levels(), q.bits(), q.zero_point()), (254, 8, 127));
        assert_eq!(q.level32(-1.0), 0);
        assert_eq!(q.level32(1.0), 254);
        // 0.3 steps from the 0.5 boundary.
        let m = int(2, false, false, 1.0).margin(1.2);
        assert!((m - 0.3).abs() < 1e-12, "{m}");
        assert_eq!(Quantiser::Bipolar { scale: 1.0 }.margin(-0.25), 0.25);
    }
}
