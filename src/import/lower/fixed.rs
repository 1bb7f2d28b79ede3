//! From the exact thresholds of a trained model's k-bit quantiser (the dot products at which each
//! filter's output steps up a level) to the fixed-point multiplier, bias and shift of SPEC 5.2 that
//! reproduce every one of those steps: `clamp((m * dot + b + h) >> F, 0, L)` equal to the number
//! of thresholds `<= dot` for every reachable `dot` in `[-D, D]`.
//!
//! The model's own function is `round(A * dot + B)` with real `A`, `B` (batch norm folded); the
//! nearest fixed-point `m = round(A * 2^F)` can move a step by a dot when a threshold lies close to
//! an integer. Instead, for each filter, the multipliers nearest `A * 2^F` are tried until one
//! admits a bias meeting every step's two inequalities (the level is reached at `T_j` and not at
//! `T_j - 1`); the output function is non-decreasing in `dot` (`m >= 0`), so those inequalities
//! prove equality on the whole range.

/// The fitted integers of one layer and, per filter, whether they are exact.
#[derive(Clone, Debug, PartialEq)]
pub struct FixedPoint {
    pub shift: u32,
    pub mult: Vec<u32>,
    pub bias: Vec<i64>,
    pub exact: Vec<bool>,
}

/// SPEC 6's relu output for one dot product.
pub fn level(m: u32, b: i64, shift: u32, max: u32, dot: i64) -> i64 {
    let h = if shift > 0 { 1i128 << (shift - 1) } else { 0 };
    ((m as i128 * dot as i128 + b as i128 + h) >> shift).clamp(0, max as i128) as i64
}

/// The interval of biases `b` for which multiplier `m` meets every step of `t` (thresholds of
/// levels 1..=L, non-decreasing, each in `[-d, d + 1]`), empty when `lo > hi`.
fn bias_interval(t: &[i64], m: i64, shift: u32, d: i64) -> (i128, i128) {
    let unit = 1i128 << shift;
    let h = if shift > 0 { 1i128 << (shift - 1) } else { 0 };
    let (mut lo, mut hi) = (i128::MIN, i128::MAX);
    for (j, &tj) in t.iter().enumerate() {
        let step = (j as i128 + 1) * unit;
        // Level j+1 is reached at max(T, -D) ...
        if tj <= d {
            lo = lo.max(step - h - m as i128 * tj.max(-d) as i128);
        }
        // ... and not at min(T - 1, D).
        if tj > -d {
            hi = hi.min(step - 1 - h - m as i128 * (tj - 1).min(d) as i128);
        }
    }
    (lo, hi)
}

/// A bias in `[lo, hi]`: the middle (the most room on both sides), or the bounded end when the
/// steps bound only one side (a filter that is always or never above a level).
fn middle(lo: i128, hi: i128) -> i128 {
    match (lo == i128::MIN, hi == i128::MAX) {
        (true, true) => 0,
        (true, false) => hi,
        (false, true) => lo,
        (false, false) => lo + (hi - lo) / 2,
    }
}

/// Whether `m`, `b`, `shift` meet every step of thresholds `t` on `[-d, d]` (a proof, by the
/// output's monotonicity, that they reproduce the thresholds on every dot).
pub fn meets(t: &[i64], m: u32, b: i64, shift: u32, d: i64) -> bool {
    let (lo, hi) = bias_interval(t, m as i64, shift, d);
    (lo..=hi).contains(&(b as i128))
}

/// Fits a layer: `thresholds[o]` are filter o's L thresholds, `slope[o] >= 0` its real slope
/// `A` in levels per unit of dot (only a starting point), `d` the bound on |dot|.
pub fn fit(thresholds: &[Vec<i64>], slope: &[f64], d: i64, scale_bits: u32, bias_bits: u32) -> FixedPoint {
    let limit = (1u64 << scale_bits) - 1;
    let amax = slope.iter().cloned().fold(0.0f64, f64::max);
    // SPEC 5.2's shift for the largest multiplier.
    let shift = if amax == 0.0 {
        crate::quant::scale::MAX_SHIFT
    } else {
        (0..=crate::quant::scale::MAX_SHIFT)
            .rev()
            .find(|&f| (amax * (f as f64).exp2()).round() <= limit as f64)
            .unwrap_or(0)
    };
    let bias_max = (1i128 << (bias_bits - 1)) - 1;
    let mut out = FixedPoint { shift, mult: vec![], bias: vec![], exact: vec![] };
    for (t, &a) in thresholds.iter().zip(slope) {
        let m0 = (a * (shift as f64).exp2()).round().min(limit as f64) as i64;
        // Nearest first: m0, m0 + 1, m0 - 1, m0 + 2, ...
        let candidates = (0..=limit as i64).flat_map(|k| [m0 + k, m0 - k]).filter(|&m| (0..=limit as i64).contains(&m));
        let found = candidates.take(2 * (limit as usize + 1)).find_map(|m| {
            let (lo, hi) = bias_interval(t, m, shift, d);
            let b = middle(lo, hi);
            (lo <= hi && b.abs() <= bias_max).then_some((m as u32, b as i64))
        });
        let (m, b, exact) = match found {
            Some((m, b)) => (m, b, true),
            None => {
                // Not representable: the nearest multiplier, and the bias in the middle of what
                // the steps ask (the report counts the dots that then differ).
                let (lo, hi) = bias_interval(t, m0, shift, d);
                (m0 as u32, middle(lo.min(hi), hi.max(lo)).clamp(-bias_max - 1, bias_max) as i64, false)
            }
        };
        out.mult.push(m);
        out.bias.push(b);
        out.exact.push(exact);
    }
    out
}

/// The number of dots in `[-d, d]` whose fitted level differs from the thresholds' count, per
/// filter (a check of `fit` for small layers, and the measure of inexact ones).
pub fn mismatches(fp: &FixedPoint, thresholds: &[Vec<i64>], max: u32, d: i64) -> Vec<u64> {
    thresholds
        .iter()
        .enumerate()
        .map(|(o, t)| {
            (-d..=d)
                .filter(|&dot| {
                    level(fp.mult[o], fp.bias[o], fp.shift, max, dot)
                        != t.iter().filter(|&&tj| tj <= dot).count() as i64
                })
                .count() as u64
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// Thresholds of `round_half_even(a * dot + b)` clamped to 0..=L, found by scanning in f64.
    fn thresholds_of(a: f64, b: f64, levels: u32, d: i64) -> Vec<i64> {
        let q = |dot: i64| (a * dot as f64 + b).round_ties_even().clamp(0.0, levels as f64) as i64;
        (1..=levels as i64).map(|j| (-d..=d).find(|&dot| q(dot) >= j).unwrap_or(d + 1)).collect()
    }

    /// Random layers of `levels`-level quantisers: (thresholds, slopes, D).
    fn random_layer(rng: &mut StdRng, levels: u32) -> (Vec<Vec<i64>>, Vec<f64>, i64) {
        let d = rng.gen_range(5..3000);
        let filters = rng.gen_range(1..12);
        let (mut ts, mut slopes) = (vec![], vec![]);
        // Slopes from a few levels over the whole range to several levels per dot, within a
        // factor of 20 of each other in a layer (like one layer's batch-norm scales).
        let a0 = 10f64.powf(rng.gen_range(-3.5..0.5));
        for _ in 0..filters {
            let a = a0 * rng.gen_range(0.05..1.0);
            let b = rng.gen_range(-(a * d as f64)..(a * d as f64 + levels as f64));
            ts.push(thresholds_of(a, b, levels, d));
            slopes.push(a);
        }
        (ts, slopes, d)
    }

    #[test]
    fn quantisers_of_up_to_sixteen_levels_are_reproduced_exactly_on_every_dot() {
        let mut rng = StdRng::seed_from_u64(7);
        for case in 0..300 {
            let levels = [1u32, 2, 3, 7, 15][rng.gen_range(0..5)];
            let (ts, slopes, d) = random_layer(&mut rng, levels);
            let fp = fit(&ts, &slopes, d, 16, 40);
            let bad = mismatches(&fp, &ts, levels, d);
            assert!(fp.exact.iter().all(|&e| e), "case {case}: not exact {fp:?}");
            assert!(bad.iter().all(|&n| n == 0), "case {case}: {bad:?} dots differ");
        }
    }

    /// 255 levels spread over thousands of dots ask a 16-bit multiplier for more resolution than
    /// it has: some filters are inexact. `exact` must say which, and the dots that differ stay
    /// few (each is a dot next to a step).
    #[test]
    fn eight_bit_outputs_report_their_inexact_filters_truthfully() {
        let mut rng = StdRng::seed_from_u64(8);
        let (mut inexact, mut dots, mut wrong) = (0, 0u64, 0u64);
        for _ in 0..40 {
            let (ts, slopes, d) = random_layer(&mut rng, 255);
            let fp = fit(&ts, &slopes, d, 16, 40);
            for (o, bad) in mismatches(&fp, &ts, 255, d).into_iter().enumerate() {
                assert_eq!(fp.exact[o], bad == 0, "exact flag of filter {o}: {bad} dots differ");
                inexact += usize::from(!fp.exact[o]);
                wrong += bad;
                dots += (2 * d + 1) as u64;
            }
        }
        assert!(inexact > 0, "the case this test is about did not occur");
        assert!(wrong * 1000 < dots, "{wrong} of {dots} dots differ");
    }

    #[test]
    fn a_filter_with_steps_no_affine_function_makes_is_reported_inexact() {
        // Steps at 0, 1 and 100: no line through them, so no m and b reproduce all three.
        let ts = vec![vec![0, 1, 100]];
        let fp = fit(&ts, &[0.02], 200, 16, 40);
        assert_eq!(fp.exact, vec![false]);
        assert!(mismatches(&fp, &ts, 3, 200)[0] > 0);
    }

    #[test]
    fn constant_filters_beside_a_normal_one_are_exact() {
        // Always level 2 (both thresholds at -D), never above 0 (both beyond D), and a filter
        // stepping at 10 and 30, which sets the shift.
        let d = 50;
        let ts = vec![vec![-d, -d], vec![d + 1, d + 1], vec![10, 30]];
        let fp = fit(&ts, &[0.0, 0.0, 0.05], d, 8, 32);
        assert!(fp.exact.iter().all(|&e| e), "{fp:?}");
        assert_eq!(mismatches(&fp, &ts, 2, d), vec![0, 0, 0]);
    }
}
