//! What the decoder will output for a tensor, computed block by block without a bitstream:
//! the golden model uses it to carry the codec's loss forward through a network cheaply.

use super::dct::MAX_N;
use super::layout::{check_values, gather, pixel_blocks, scatter};
use super::plan::Planner;
use super::CodecParams;
use crate::tensor::Tensor3;

/// `decode(encode(t))` without the bitstream. Blocks for which the shared planner picks a
/// lossless mode keep their values; dct and golomb blocks are replaced by their SPEC 8.5 / 8.8
/// reconstruction.
///
/// # Panics
/// Like [`super::encode`]: on parameters invalid for `bits` or out-of-range values.
pub fn reconstruct(t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> Tensor3<i32> {
    if let Err(e) = p.validate(bits) {
        panic!("reconstruct: invalid codec parameters: {e}");
    }
    check_values(t, bits);
    let planner = Planner::new(bits, p);
    let blocks = pixel_blocks(t.c, p.segment, p.block);
    let mut out = t.clone();
    let mut buf = [0i32; MAX_N];
    for y in 0..t.h {
        for x in 0..t.w {
            for &b in &blocks {
                let v = gather(t, y, x, b, &mut buf);
                let plan = planner.plan(v);
                if plan.mode.is_quantised() {
                    let r = planner.dequantise(plan.mode, &plan.symbols);
                    scatter(&mut out, y, x, b, &r[..v.len()]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::dct::dct_error_bound;
    use crate::codec::encode::encode;
    use crate::codec::testutil::{random_case, random_params, random_tensor, Pattern, CHANNELS};
    use crate::codec::RecordCheck;
    use crate::codec::{BlockMode, Mode};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn lossless_modes_are_identity() {
        let mut rng = StdRng::seed_from_u64(1);
        for i in 0..500 {
            let mut case = random_case(&mut rng, Pattern::ALL[i % Pattern::ALL.len()]);
            if case.bits == 1 {
                case.p.mode = if i % 2 == 0 { Mode::Raw } else { Mode::Auto };
            } else {
                case.p.mode = if i % 2 == 0 { Mode::Raw } else { Mode::Sparse };
            }
            assert_eq!(reconstruct(&case.t, case.bits, &case.p), case.t);
        }
    }

    /// Auto only changes values inside blocks it codes as dct.
    #[test]
    fn auto_changes_only_dct_blocks() {
        let mut rng = StdRng::seed_from_u64(2);
        let mut changed = 0;
        for i in 0..500 {
            let mut case = random_case(&mut rng, Pattern::ALL[i % Pattern::ALL.len()]);
            if case.bits == 1 {
                continue;
            }
            case.p.mode = Mode::Auto;
            let r = reconstruct(&case.t, case.bits, &case.p);
            let e = encode(&case.t, case.bits, &case.p);
            if e.block_modes[BlockMode::Dct.index()] == 0 {
                assert_eq!(r, case.t);
            }
            if r != case.t {
                changed += 1;
            }
        }
        assert!(changed > 0, "some auto tensors should be lossy");
    }

    /// SPEC 8.7 on whole tensors: with keep = N, every value of a dct-mode tensor (every block
    /// dct, including short tail blocks) is within `dct_error_bound`.
    #[test]
    fn dct_tensors_within_error_bound() {
        let mut rng = StdRng::seed_from_u64(3);
        let mut worst = 0;
        for block in [4usize, 8, 16] {
            for bits in 2..=8u32 {
                for &c in &CHANNELS {
                    for pat in Pattern::ALL {
                        let t = random_tensor(&mut rng, c, 2, 2, bits, pat);
                        let mut p = random_params(&mut rng, block, Mode::Dct);
                        p.keep = block;
                        let bound = dct_error_bound(block, p.step, bits) as i32;
                        let r = reconstruct(&t, bits, &p);
                        for (a, b) in t.data.iter().zip(&r.data) {
                            let err = (a - b).abs();
                            worst = worst.max(err);
                            assert!(err <= bound, "{p:?} bits {bits}: |{a} - {b}| > {bound}");
                        }
                    }
                }
            }
        }
        assert!(worst > 1);
    }

    /// SPEC 8.8 on whole tensors: every value of a golomb tensor is within step/2, for every
    /// step 2..128, k = 2..8, N, channel count (short blocks) and data pattern, including
    /// all-zero and all-maximum tensors (exact while step <= 2^k); the decoder gives the same
    /// values, and the bound is reached.
    #[test]
    fn golomb_tensors_within_half_step() {
        let mut rng = StdRng::seed_from_u64(88);
        for t in 1..=7 {
            let step = 1u32 << t;
            let bound = crate::codec::golomb::golomb_error_bound(step) as i32;
            let mut worst = 0;
            for block in [4usize, 8, 16] {
                for bits in 2..=8u32 {
                    let top = (1 << bits) - 1;
                    for &c in &CHANNELS {
                        let mut tensors: Vec<Tensor3<i32>> =
                            Pattern::ALL.iter().map(|&pat| random_tensor(&mut rng, c, 2, 2, bits, pat)).collect();
                        tensors.push(Tensor3::zeros(c, 1, 2));
                        tensors.push(Tensor3::from_vec(c, 1, 2, vec![top; 2 * c]));
                        for x in tensors {
                            let p = CodecParams { step, ..random_params(&mut rng, block, Mode::Golomb) };
                            let r = reconstruct(&x, bits, &p);
                            for (a, b) in x.data.iter().zip(&r.data) {
                                worst = worst.max((a - b).abs());
                                assert!((a - b).abs() <= bound, "{p:?} bits {bits}: |{a} - {b}| > {bound}");
                            }
                            // 0 always survives; the maximum does while step <= 2^k (2^k is then a
                            // multiple of the step, and q << t >= 2^k is clamped back to 2^k - 1).
                            if x.data.iter().all(|&v| v == 0 || (v == top && step <= 1 << bits)) {
                                assert_eq!(r, x, "{p:?} bits {bits}");
                            }
                            let e = encode(&x, bits, &p);
                            assert_eq!(crate::codec::decode(&e.bytes, x.c, x.h, x.w, bits, &p).unwrap(), r);
                        }
                    }
                }
            }
            assert_eq!(worst, bound, "step {step}: the bound is reached");
        }
    }

    /// A known block by hand: flat 200s survive a dct round trip exactly, and a 3-channel tail
    /// block is reconstructed from its repeated-last-value extension.
    #[test]
    fn hand_vectors() {
        let p = CodecParams {
            block: 4,
            mode: Mode::Dct,
            step: 1,
            keep: 4,
            eg_order: 2,
            segment: 64,
            check: RecordCheck::None,
        };
        let t = Tensor3::from_vec(4, 1, 1, vec![200; 4]);
        assert_eq!(reconstruct(&t, 8, &p), t);
        // keep = 1 on [0, 5, 0, 15]: Xq0 = 20 -> every value (64 * 20 + 128) >> 8 = 5.
        let p1 = CodecParams { keep: 1, ..p };
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]);
        assert_eq!(reconstruct(&t, 4, &p1).data, vec![5; 4]);
        // Tail block [9, 9, 9] -> extended [9, 9, 9, 9] -> exact.
        let t = Tensor3::from_vec(7, 1, 1, vec![1, 2, 3, 4, 9, 9, 9]);
        let r = reconstruct(&t, 4, &p1);
        assert_eq!(&r.data[4..], &[9, 9, 9]);
        // Block [1, 2, 3, 4], keep 1: X0 = (640 + 32) >> 6 = 10 -> (640 + 128) >> 8 = 3.
        assert_eq!(&r.data[..4], &[3; 4]);
    }
}
