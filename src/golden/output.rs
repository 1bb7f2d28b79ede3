//! Output functions (SPEC 6): raw accumulator, sign, or ReLU + requantise, from the integer
//! multiplier m_g, shift F and folded bias b_o of SPEC 5.2.

use crate::quant::{QOutput, QWeighted};
use crate::tensor::Tensor3;

/// One output value from its dot product, filter `o` (group `o / G`).
pub fn output_value(w: &QWeighted, o: usize, dot: i64) -> i32 {
    match w.output {
        QOutput::Accumulator => i32::try_from(dot).expect("compile() checks the int32 bound"),
        QOutput::Sign | QOutput::Relu { .. } => {
            let z = w.mult[o / w.scale_group] as i128 * dot as i128 + w.bias[o] as i128;
            match w.output {
                QOutput::Sign => {
                    if z >= 0 {
                        1
                    } else {
                        -1
                    }
                }
                QOutput::Relu { bits } => {
                    let h = if w.shift > 0 { 1i128 << (w.shift - 1) } else { 0 };
                    ((z + h) >> w.shift).clamp(0, (1i128 << bits) - 1) as i32
                }
                QOutput::Accumulator => unreachable!(),
            }
        }
    }
}

pub fn apply(w: &QWeighted, dots: &Tensor3<i64>) -> Tensor3<i32> {
    let per = dots.h * dots.w;
    let data = dots.data.iter().enumerate().map(|(i, &d)| output_value(w, i / per, d)).collect();
    Tensor3::from_vec(dots.c, dots.h, dots.w, data)
}
