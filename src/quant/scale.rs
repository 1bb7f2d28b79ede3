//! Shared scales (SPEC 5): group means of |W|, the per-group fixed-point multiplier m_g with its
//! per-layer shift F, and the folded bias b_o.

/// Width of the shift F in the layer descriptor and the PPU, and the largest F (SPEC 5.2).
pub const SHIFT_BITS: usize = 5;
pub const MAX_SHIFT: u32 = (1 << SHIFT_BITS) - 1;

/// Round half away from zero (SPEC notation); `f64::round` is exactly that.
pub fn round_half_away(v: f64) -> f64 {
    v.round()
}

/// Filters of group `g` for `o_count` filters and group size `group` (SPEC 5.1).
pub fn group_range(g: usize, group: usize, o_count: usize) -> std::ops::Range<usize> {
    g * group..((g + 1) * group).min(o_count)
}

pub fn group_count(o_count: usize, group: usize) -> usize {
    o_count.div_ceil(group)
}

/// alpha_g = mean |W| over each group, summed sequentially in float64 in filter order (SPEC 5.1).
/// `filter(o)` yields filter o's float weights in OIHW order, as float64 (float32 weights
/// widened exactly, times the filter's `weight_scale` if it has one).
pub fn group_mean_abs<I: Iterator<Item = f64>>(o_count: usize, group: usize, filter: impl Fn(usize) -> I) -> Vec<f64> {
    (0..group_count(o_count, group))
        .map(|g| {
            let (mut sum, mut n) = (0.0f64, 0usize);
            for o in group_range(g, group, o_count) {
                for w in filter(o) {
                    sum += w.abs();
                    n += 1;
                }
            }
            if n == 0 {
                0.0
            } else {
                sum / n as f64
            }
        })
        .collect()
}

/// The per-layer shift F and the per-group multipliers m_g for real multipliers `ms` (SPEC 5.2).
pub fn fixed_point(ms: &[f64], scale_bits: u32) -> (Vec<u32>, u32) {
    let limit = ((1u64 << scale_bits) - 1) as f64;
    let max = ms.iter().cloned().fold(0.0f64, f64::max);
    let mut shift = 0;
    if max == 0.0 {
        shift = MAX_SHIFT;
    } else {
        for f in (0..=MAX_SHIFT).rev() {
            if round_half_away(max * (f as f64).exp2()) <= limit {
                shift = f;
                break;
            }
        }
    }
    let scale = (shift as f64).exp2();
    let m = ms.iter().map(|&m| round_half_away(m * scale).min(limit) as u32).collect();
    (m, shift)
}

/// b_o = clamp(round(bias / u * 2^F)) to a signed `bias_bits` integer (SPEC 5.2).
pub fn fold_bias(bias: Option<&[f64]>, o_count: usize, unit: f64, shift: u32, bias_bits: u32) -> Vec<i64> {
    let hi = (1i64 << (bias_bits - 1)) - 1;
    let lo = -(1i64 << (bias_bits - 1));
    match bias {
        None => vec![0; o_count],
        Some(b) => b
            .iter()
            .map(|&v| {
                let r = round_half_away(v / unit * (shift as f64).exp2());
                r.clamp(lo as f64, hi as f64) as i64
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_cover_filters_and_last_group_may_be_short() {
        assert_eq!(group_count(10, 4), 3);
        assert_eq!(group_range(2, 4, 10), 8..10);
        assert_eq!(group_count(10, 1), 10);
        assert_eq!(group_count(10, 10), 1);
    }

    #[test]
    fn group_mean_is_the_mean_of_absolute_values() {
        let w = [[1.0f32, -3.0], [2.0, -2.0], [0.5, 0.5]];
        let a = group_mean_abs(3, 2, |o| w[o].iter().map(|&v| f64::from(v)));
        assert_eq!(a, vec![2.0, 0.5]);
    }

    #[test]
    fn shift_keeps_the_largest_multiplier_within_scale_bits() {
        // 0.3 * 2^F <= 255 for F <= 9 (0.3*512 = 153.6 -> 154; 0.3*1024 = 307 > 255).
        let (m, f) = fixed_point(&[0.3, 0.1], 8);
        assert_eq!(f, 9);
        assert_eq!(m, vec![154, 51]);
        // Too large even at F = 0: saturates.
        let (m, f) = fixed_point(&[1000.0], 8);
        assert_eq!((m[0], f), (255, 0));
        // All zero: F = 31 (SPEC 5.2 spells the number out), m = 0.
        assert_eq!(fixed_point(&[0.0, 0.0], 8), (vec![0, 0], 31));
        // Tiny multipliers stop at F = 31 too: 1e-9 * 2^31 = 2.147 -> 2.
        assert_eq!(fixed_point(&[1e-9], 16), (vec![2], 31));
    }

    #[test]
    fn group_mean_is_summed_in_float64() {
        // In float32, 16777216 + 1 rounds back to 16777216; SPEC 5.1 sums in float64.
        let w = [16_777_216.0f32, 1.0];
        assert_eq!(group_mean_abs(1, 1, |_| w.iter().map(|&v| f64::from(v))), vec![8_388_608.5]);
    }

    #[test]
    fn bias_is_scaled_rounded_and_saturated() {
        let b = fold_bias(Some(&[1.5, -0.25, 1e9]), 3, 0.5, 2, 8);
        assert_eq!(b, vec![12, -2, 127]);
        assert_eq!(fold_bias(None, 2, 1.0, 3, 8), vec![0, 0]);
    }
}
