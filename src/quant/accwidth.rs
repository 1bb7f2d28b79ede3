//! Accumulator widths (SPEC 4): the exact bound on |dot| of a layer and the signed width that
//! holds it, so that overflow is impossible rather than unlikely.

/// Signed width holding every value in [-d, d]: ceil(log2(d + 1)) + 1.
pub fn signed_width(d: u64) -> u32 {
    // ceil(log2(d + 1)) is the bit length of d.
    (64 - d.leading_zeros()) + 1
}

/// Largest activation magnitude of a `bits`-bit tensor (1 for binary ±1).
pub fn act_max(bits: u32) -> u64 {
    if bits == 1 {
        1
    } else {
        (1u64 << bits) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_holds_the_bound_and_no_less_would() {
        for d in [0u64, 1, 2, 3, 4, 7, 8, 255, 256, 1 << 20, (1 << 20) - 1] {
            let w = signed_width(d);
            let max = (1i128 << (w - 1)) - 1;
            assert!(max >= d as i128, "d={d} w={w}");
            if w > 1 {
                let smaller = (1i128 << (w - 2)) - 1;
                assert!(smaller < d as i128, "d={d}: width {w} is not minimal");
            }
        }
    }
}
