//! The HEVC integer DCT of SPEC 8.5: matrix, forward transform, quantiser, dequantiser, inverse
//! with clamping, and the error bound of SPEC 8.7.
//!
//! Coefficients are `i64` throughout: the encoder's never exceed 2^13 in magnitude, but the
//! decoder must survive any stream, and a corrupt Exp-Golomb code can carry up to 2^23
//! (`bits::MAX_EG_PREFIX`); 2^23 * step 2^7 * |T| < 2^7 * N 2^4 stays far below 2^63.

/// SPEC 8.5: `V[a]` for `a` in 0..=16.
pub const V: [i32; 17] = [64, 90, 89, 87, 83, 80, 75, 70, 64, 57, 50, 43, 36, 25, 18, 9, 0];

/// Largest block length (SPEC 8.1); fixed-size arrays of this length avoid allocation per block.
pub const MAX_N: usize = 16;

/// The `N x N` HEVC integer DCT matrix `T[j][i]` (row `j` = frequency, column `i` = channel).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DctMatrix {
    n: usize,
    t: [[i32; MAX_N]; MAX_N],
}

impl DctMatrix {
    /// Builds the matrix from `V` by the rule of SPEC 8.5. Panics unless `n` is 4, 8 or 16
    /// (callers validate `CodecParams` first).
    pub fn new(n: usize) -> Self {
        assert!(matches!(n, 4 | 8 | 16), "DCT size must be 4, 8 or 16, got {n}");
        let mut t = [[0i32; MAX_N]; MAX_N];
        t[0][..n].fill(64);
        for (j, row) in t.iter_mut().enumerate().take(n).skip(1) {
            for (i, e) in row.iter_mut().take(n).enumerate() {
                let a = ((2 * i + 1) * j * (16 / n)) % 64;
                *e = match a {
                    0..=16 => V[a],
                    17..=32 => -V[32 - a],
                    33..=48 => -V[a - 32],
                    _ => V[64 - a],
                };
            }
        }
        DctMatrix { n, t }
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// `log2(N)`.
    pub fn log2n(&self) -> u32 {
        self.n.trailing_zeros()
    }

    /// `T[j][i]`.
    pub fn get(&self, j: usize, i: usize) -> i32 {
        assert!(j < self.n && i < self.n, "T[{j}][{i}] out of range for N = {}", self.n);
        self.t[j][i]
    }

    /// SPEC 8.5 steps 1-2: extends the `n <= N` values `v` to `N` by repeating the last one and
    /// returns `X[j] = (sum_i T[j][i] v[i] + 32) >> 6` (arithmetic shift = floor).
    pub fn forward(&self, v: &[i32]) -> [i64; MAX_N] {
        assert!(!v.is_empty() && v.len() <= self.n, "block of {} values for N = {}", v.len(), self.n);
        let last = *v.last().expect("non-empty");
        let ext = |i: usize| -> i64 { v.get(i).copied().unwrap_or(last) as i64 };
        let mut x = [0i64; MAX_N];
        for (j, xj) in x.iter_mut().enumerate().take(self.n) {
            let s: i64 = (0..self.n).map(|i| self.t[j][i] as i64 * ext(i)).sum();
            *xj = (s + 32) >> 6;
        }
        x
    }

    /// SPEC 8.5 decoding: from the dequantised coefficients `X'` (the first `N` entries of `xp`),
    /// `v'[i] = clamp((sum_j T[j][i] X'[j] + 2^(r-1)) >> r, 0, 2^bits - 1)` with
    /// `r = 6 + log2(N)`, for all `i < N` (the caller keeps the first `n`).
    pub fn inverse(&self, xp: &[i64; MAX_N], bits: u32) -> [i32; MAX_N] {
        let r = 6 + self.log2n();
        let max = (1i64 << bits) - 1;
        let mut out = [0i32; MAX_N];
        for (i, o) in out.iter_mut().enumerate().take(self.n) {
            let s: i64 = (0..self.n).map(|j| self.t[j][i] as i64 * xp[j]).sum();
            *o = ((s + (1i64 << (r - 1))) >> r).clamp(0, max) as i32;
        }
        out
    }
}

/// SPEC 8.5 step 3 for one kept coefficient: `sign(X) * ((|X| + step/2) >> t)`, i.e. `X / step`
/// rounded half away from zero (`step/2 = 0` for `step = 1`).
pub fn quantise(x: i64, step: u32) -> i64 {
    let t = step.trailing_zeros();
    let q = (x.abs() + (step / 2) as i64) >> t;
    if x < 0 {
        -q
    } else {
        q
    }
}

/// SPEC 8.5 decoding: `X' = Xq * step`.
pub fn dequantise(q: i64, step: u32) -> i64 {
    q * step as i64
}

/// SPEC 8.5 steps 1-3: the quantised coefficients `Xq` of a block of `n <= N` values; entries
/// `keep..` are 0.
pub fn quantised_coefficients(m: &DctMatrix, v: &[i32], step: u32, keep: usize) -> [i64; MAX_N] {
    let x = m.forward(v);
    let mut q = [0i64; MAX_N];
    for j in 0..keep.min(m.n()) {
        q[j] = quantise(x[j], step);
    }
    q
}

/// SPEC 8.5 decoding of a whole block: dequantise `Xq` and inverse-transform; all `N` values are
/// returned, the caller keeps the first `n`.
pub fn reconstruct_coefficients(m: &DctMatrix, q: &[i64; MAX_N], step: u32, bits: u32) -> [i32; MAX_N] {
    let mut xp = [0i64; MAX_N];
    for (d, &s) in xp.iter_mut().zip(q.iter()) {
        *d = dequantise(s, step);
    }
    m.inverse(&xp, bits)
}

/// SPEC 8.7: the largest `|v'[i] - v[i]|` of a dct block with `keep = N`, for block length
/// `block`, quantisation step `step` and `bits`-bit values:
/// `floor(A * maxdev + (1 + step)/2 * Tsum / (64 N) + 1/2)` with `A = 2^bits - 1`,
/// `maxdev = max_i sum_j |(T^T T)[i][j] / (64*64*N) - delta_ij|` and
/// `Tsum = max_i sum_j |T[j][i]|`.
///
/// Computed exactly in integers: over the common denominator `8192 N` the three terms are
/// `2 A D`, `64 (1 + step) Tsum` and `4096 N`, where `D = max_i sum_j |G[i][j] - 4096 N delta_ij|`
/// with the integer Gram matrix `G = T^T T`. Panics on a block size other than 4, 8, 16.
pub fn dct_error_bound(block: usize, step: u32, bits: u32) -> u32 {
    let m = DctMatrix::new(block);
    let n = block as i64;
    let diag = 4096 * n;
    let mut dev_max = 0i64;
    let mut tsum = 0i64;
    for i in 0..block {
        let mut dev = 0i64;
        for k in 0..block {
            let g: i64 = (0..block).map(|j| m.get(j, i) as i64 * m.get(j, k) as i64).sum();
            dev += (g - if i == k { diag } else { 0 }).abs();
        }
        dev_max = dev_max.max(dev);
        tsum = tsum.max((0..block).map(|j| (m.get(j, i) as i64).abs()).sum());
    }
    let a = (1i64 << bits) - 1;
    let num = 2 * a * dev_max + 64 * (1 + step as i64) * tsum + 4096 * n;
    (num / (8192 * n)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn rows(m: &DctMatrix) -> Vec<Vec<i32>> {
        (0..m.n()).map(|j| (0..m.n()).map(|i| m.get(j, i)).collect()).collect()
    }

    /// The N = 8 matrix as printed in SPEC 8.5, typed in.
    #[test]
    fn matrix_n8_matches_spec() {
        let spec: [[i32; 8]; 8] = [
            [64, 64, 64, 64, 64, 64, 64, 64],
            [89, 75, 50, 18, -18, -50, -75, -89],
            [83, 36, -36, -83, -83, -36, 36, 83],
            [75, -18, -89, -50, 50, 89, 18, -75],
            [64, -64, -64, 64, 64, -64, -64, 64],
            [50, -89, 18, 75, -75, -18, 89, -50],
            [36, -83, 83, -36, -36, 83, -83, 36],
            [18, -50, 75, -89, 89, -75, 50, -18],
        ];
        let got = rows(&DctMatrix::new(8));
        for j in 0..8 {
            assert_eq!(got[j], spec[j].to_vec(), "row {j}");
        }
    }

    /// HEVC's 4-point matrix, and the known first column and first odd row of its 16-point one.
    #[test]
    fn matrix_n4_n16_match_hevc() {
        let t4 = rows(&DctMatrix::new(4));
        assert_eq!(
            t4,
            vec![vec![64, 64, 64, 64], vec![83, 36, -36, -83], vec![64, -64, -64, 64], vec![36, -83, 83, -36],]
        );
        let m16 = DctMatrix::new(16);
        let col0: Vec<i32> = (0..16).map(|j| m16.get(j, 0)).collect();
        assert_eq!(col0, vec![64, 90, 89, 87, 83, 80, 75, 70, 64, 57, 50, 43, 36, 25, 18, 9]);
        let row1: Vec<i32> = (0..16).map(|i| m16.get(1, i)).collect();
        assert_eq!(row1, vec![90, 87, 80, 70, 57, 43, 25, 9, -9, -25, -43, -57, -70, -80, -87, -90]);
        // The even rows of the 16-point matrix are the 8-point matrix (HEVC's nesting).
        let m8 = DctMatrix::new(8);
        for j in 0..8 {
            for i in 0..8 {
                assert_eq!(m16.get(2 * j, i), m8.get(j, i), "T16[{}][{i}]", 2 * j);
            }
        }
        // Row j is symmetric for even j and antisymmetric for odd j.
        for n in [4, 8, 16] {
            let m = DctMatrix::new(n);
            for j in 0..n {
                for i in 0..n {
                    let s = if j % 2 == 0 { 1 } else { -1 };
                    assert_eq!(m.get(j, n - 1 - i), s * m.get(j, i), "N {n} T[{j}][{i}]");
                }
            }
        }
    }

    #[test]
    fn forward_hand_vector() {
        let m = DctMatrix::new(4);
        // X0 = floor((64*20 + 32)/64) = 20; X1 = floor((180 - 1245 + 32)/64) = floor(-16.1) = -17;
        // X2 = floor((-320 + 960 + 32)/64) = 10; X3 = floor((-415 - 540 + 32)/64) = -15.
        assert_eq!(&m.forward(&[0, 5, 0, 15])[..4], &[20, -17, 10, -15]);
        // Rounding is floor((s + 32) / 64): 288 + 32 = 320 -> 5, and -512 + 32 -> floor(-7.5) = -8
        // (not -7: the shift is arithmetic); -664 + 32 -> floor(-9.875) = -10.
        assert_eq!(&m.forward(&[0, 8, 0, 0])[..4], &[8, 5, -8, -10]);
        // A short block repeats its last value.
        assert_eq!(m.forward(&[0, 5, 0]), m.forward(&[0, 5, 0, 0]));
        assert_eq!(m.forward(&[7]), m.forward(&[7, 7, 7, 7]));
        let m8 = DctMatrix::new(8);
        assert_eq!(m8.forward(&[1, 2, 3]), m8.forward(&[1, 2, 3, 3, 3, 3, 3, 3]));
    }

    #[test]
    fn quantise_rounds_half_away_from_zero() {
        let cases = [
            (5, 4, 1),
            (6, 4, 2),
            (-6, 4, -2),
            (-5, 4, -1),
            (2, 4, 1),
            (-2, 4, -1),
            (1, 4, 0),
            (-1, 4, 0),
            (0, 4, 0),
            (-7, 1, -7),
            (7, 1, 7),
            (64, 128, 1),
            (63, 128, 0),
            (-64, 128, -1),
            (3, 2, 2),
            (-3, 2, -2),
        ];
        for (x, step, q) in cases {
            assert_eq!(quantise(x, step), q, "quantise({x}, {step})");
        }
        assert_eq!(dequantise(-3, 8), -24);
    }

    #[test]
    fn quantised_coefficients_respect_keep() {
        let m = DctMatrix::new(4);
        assert_eq!(&quantised_coefficients(&m, &[0, 5, 0, 15], 4, 2)[..4], &[5, -4, 0, 0]);
        assert_eq!(&quantised_coefficients(&m, &[0, 5, 0, 15], 1, 4)[..4], &[20, -17, 10, -15]);
    }

    #[test]
    fn inverse_hand_vector() {
        let m = DctMatrix::new(4);
        // r = 8: (64 * 800 + 128) >> 8 = 200.
        let mut q = [0i64; MAX_N];
        q[0] = 800;
        assert_eq!(&reconstruct_coefficients(&m, &q, 1, 8)[..4], &[200; 4]);
        // Rounding half up at r = 8: (64 * 2 + 128) >> 8 = 1; X'2 = 2 gives +-128 -> 1, 0, 0, 1.
        let mut half = [0i64; MAX_N];
        half[0] = 2;
        assert_eq!(&reconstruct_coefficients(&m, &half, 1, 8)[..4], &[1; 4]);
        half[0] = 0;
        half[2] = 1;
        assert_eq!(&reconstruct_coefficients(&m, &half, 2, 8)[..4], &[1, 0, 0, 1]);
        // Clamping to [0, 2^bits - 1].
        assert_eq!(&reconstruct_coefficients(&m, &q, 1, 4)[..4], &[15; 4]);
        q[0] = -800;
        assert_eq!(&reconstruct_coefficients(&m, &q, 1, 8)[..4], &[0; 4]);
    }

    /// An independent f64 evaluation of the SPEC 8.7 formula agrees with the integer one.
    #[test]
    fn error_bound_matches_float_formula() {
        for n in [4usize, 8, 16] {
            let m = DctMatrix::new(n);
            let mut dev_max = 0f64;
            let mut tsum = 0f64;
            for i in 0..n {
                let mut dev = 0f64;
                for k in 0..n {
                    let g: f64 = (0..n).map(|j| (m.get(j, i) * m.get(j, k)) as f64).sum();
                    let pm = g / (64.0 * 64.0 * n as f64);
                    dev += (pm - if i == k { 1.0 } else { 0.0 }).abs();
                }
                dev_max = dev_max.max(dev);
                tsum = tsum.max((0..n).map(|j| m.get(j, i).abs() as f64).sum());
            }
            for t in 0..=7 {
                let step = 1u32 << t;
                for bits in 1..=8 {
                    let a = ((1u32 << bits) - 1) as f64;
                    let f = a * dev_max + (1.0 + step as f64) / 2.0 * tsum / (64.0 * n as f64) + 0.5;
                    let want = f.floor() as u32;
                    // Guard against the float landing within rounding noise of an integer.
                    assert!((f - f.round()).abs() > 1e-9 || f.round() as u32 == want);
                    assert_eq!(dct_error_bound(n, step, bits), want, "N {n} step {step} bits {bits}");
                }
            }
        }
    }

    /// SPEC 8.7: with keep = N every reconstructed value lies within the bound, over random and
    /// adversarial (alternating, extreme) blocks, every N, step and bit width.
    #[test]
    fn reconstruction_within_error_bound() {
        let mut rng = StdRng::seed_from_u64(87);
        let mut worst_seen = 0;
        for n in [4usize, 8, 16] {
            let m = DctMatrix::new(n);
            for t in 0..=7 {
                let step = 1u32 << t;
                for bits in 2..=8u32 {
                    let a = (1i32 << bits) - 1;
                    let bound = dct_error_bound(n, step, bits) as i32;
                    for trial in 0..40 {
                        let len = if trial % 3 == 0 { rng.gen_range(1..=n) } else { n };
                        let v: Vec<i32> = match trial % 5 {
                            0 => (0..len).map(|i| if i % 2 == 0 { 0 } else { a }).collect(),
                            1 => (0..len).map(|_| if rng.gen() { 0 } else { a }).collect(),
                            _ => (0..len).map(|_| rng.gen_range(0..=a)).collect(),
                        };
                        let q = quantised_coefficients(&m, &v, step, n);
                        let out = reconstruct_coefficients(&m, &q, step, bits);
                        for i in 0..len {
                            let err = (out[i] - v[i]).abs();
                            worst_seen = worst_seen.max(err);
                            assert!(
                                err <= bound,
                                "N {n} step {step} bits {bits} v {v:?} -> {:?}: |err| {err} > bound {bound}",
                                &out[..len]
                            );
                        }
                    }
                }
            }
        }
        assert!(worst_seen > 0, "the test data should exercise lossy reconstruction");
    }
}
