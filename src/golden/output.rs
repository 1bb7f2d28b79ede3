//! Output functions (SPEC 6): raw accumulator, sign, or ReLU + requantise (clamped to the
//! layer's `out_max`), from the integer multiplier m_g, shift F and folded bias b_o of SPEC 5.2.

use crate::quant::{QOutput, QWeighted};
use crate::tensor::Tensor3;

/// SPEC 6 for one value: `dot` the raw accumulator, `m` the group multiplier, `b` the folded bias,
/// `shift` = F. Sign outputs are ±1.
pub fn requantise(output: QOutput, dot: i64, m: u32, b: i64, shift: u32) -> i32 {
    match output {
        QOutput::Accumulator => i32::try_from(dot).expect("compile() checks the int32 bound"),
        QOutput::Sign | QOutput::Relu { .. } => {
            let z = m as i128 * dot as i128 + b as i128;
            match output {
                QOutput::Sign => {
                    if z >= 0 {
                        1
                    } else {
                        -1
                    }
                }
                QOutput::Relu { max, .. } => {
                    let h = if shift > 0 { 1i128 << (shift - 1) } else { 0 };
                    ((z + h) >> shift).clamp(0, max as i128) as i32
                }
                QOutput::Accumulator => unreachable!(),
            }
        }
    }
}

/// One output value of filter `o` (group `o / G`) from its dot product.
pub fn output_value(w: &QWeighted, o: usize, dot: i64) -> i32 {
    requantise(w.output, dot, w.mult[o / w.scale_group], w.bias[o], w.shift)
}

pub fn apply(w: &QWeighted, dots: &Tensor3<i64>) -> Tensor3<i32> {
    let per = dots.h * dots.w;
    let data = dots.data.iter().enumerate().map(|(i, &d)| output_value(w, i / per, d)).collect();
    Tensor3::from_vec(dots.c, dots.h, dots.w, data)
}
