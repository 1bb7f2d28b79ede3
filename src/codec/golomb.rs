//! The value quantiser of golomb blocks (SPEC 8.8). The channel DCT compacts little on real
//! activations (docs/CODEC.md), so golomb quantises the values themselves and codes the non-zero
//! ones with Exp-Golomb codes, which are short for the small values ReLU layers produce.
//!
//! With `step = 2^t` and `h = step / 2` (0 for step 1): `q = (v + h) >> t` and
//! `v' = min(q << t, 2^k - 1)`. Step 1 is the identity, and `|v' - v| <= step / 2` always.

/// `h`: half a step, 0 for step 1 (so step 1 adds nothing and is lossless).
fn half(step: u32) -> i64 {
    (step / 2) as i64
}

/// `q = (v + h) >> t`: `v / step` rounded half up. `v` is a k-bit value, so `q >= 0`.
pub fn quantise_value(v: i32, step: u32) -> i64 {
    (v as i64 + half(step)) >> step.trailing_zeros()
}

/// `v' = min(q << t, 2^k - 1)`. `q` must not exceed [`max_value_q`] (the decoder checks first).
pub fn dequantise_value(q: i64, step: u32, bits: u32) -> i32 {
    (q << step.trailing_zeros()).min((1i64 << bits) - 1) as i32
}

/// The largest `q` of a `bits`-bit value, `(2^k - 1 + h) >> t`: the encoder never writes more,
/// and the decoder rejects more.
pub fn max_value_q(step: u32, bits: u32) -> i64 {
    quantise_value((1i32 << bits) - 1, step)
}

/// The largest `|v' - v|` of a golomb block: `step / 2` (0 for step 1).
///
/// Why: `q << t` is the multiple of `step` in `(v + h - step, v + h]`, i.e. within `(-h, h]` of
/// `v`; clamping to `2^k - 1 >= v` only moves it towards `v`.
pub fn golomb_error_bound(step: u32) -> u32 {
    step / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        // step 4 (t = 2, h = 2): 0, 1 -> 0; 2..5 -> 1; 6 -> 2; 255 -> 64 (257 >> 2).
        let q: Vec<i64> = [0, 1, 2, 5, 6, 255].iter().map(|&v| quantise_value(v, 4)).collect();
        assert_eq!(q, [0, 0, 1, 1, 2, 64]);
        assert_eq!(dequantise_value(1, 4, 8), 4);
        // 64 << 2 = 256 is clamped to 255.
        assert_eq!(dequantise_value(64, 4, 8), 255);
        assert_eq!(max_value_q(4, 8), 64);
        // k = 2, step 128: every value rounds to 0, so no q > 0 is legal.
        assert_eq!(max_value_q(128, 2), 0);
        // step 1 is the identity.
        assert_eq!((quantise_value(200, 1), dequantise_value(200, 1, 8)), (200, 200));
        assert_eq!(golomb_error_bound(1), 0);
        assert_eq!(golomb_error_bound(16), 8);
    }

    /// Every k-bit value at every step: the error is within step/2, q within the decoder's
    /// limit, the limit reached by the top value, step 1 exact, and the bound tight for steps
    /// that fit in the value range.
    #[test]
    fn exhaustive_bound() {
        for bits in 2..=8u32 {
            let top = (1i32 << bits) - 1;
            for t in 0..=7 {
                let step = 1u32 << t;
                let mut worst = 0;
                for v in 0..=top {
                    let q = quantise_value(v, step);
                    assert!((0..=max_value_q(step, bits)).contains(&q), "k {bits} step {step} v {v}: q {q}");
                    let r = dequantise_value(q, step, bits);
                    assert!((0..=top).contains(&r));
                    let err = (r - v).unsigned_abs();
                    assert!(err <= golomb_error_bound(step), "k {bits} step {step} v {v} -> {r}");
                    worst = worst.max(err);
                }
                assert_eq!(quantise_value(top, step), max_value_q(step, bits));
                if step == 1 {
                    assert_eq!(worst, 0);
                } else if (step as i32) < top {
                    assert_eq!(worst, step / 2, "k {bits} step {step}: the bound is reached");
                }
            }
        }
    }
}
