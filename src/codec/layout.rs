//! Which tensor values form which block (SPEC 8.3), and how a value becomes a k-bit field
//! (SPEC 8.4, 2.1). Shared by the encoder, the decoder and `reconstruct` so that all three walk
//! the tensor identically.

use super::dct::MAX_N;
use crate::tensor::Tensor3;

/// Blocks per pixel: `ceil(C / N)` (SPEC 8.3).
pub(crate) fn blocks_per_pixel(c: usize, block: usize) -> usize {
    c.div_ceil(block)
}

/// Length `n = min(N, C - b N)` of block `b` (the last block of a pixel is short when `N` does
/// not divide `C`).
pub(crate) fn block_len(c: usize, block: usize, b: usize) -> usize {
    block.min(c - b * block)
}

/// Copies block `b` of pixel `(y, x)`, i.e. channels `bN .. bN + n`, into `buf` and returns the
/// `n` values.
pub(crate) fn gather<'a>(
    t: &Tensor3<i32>,
    y: usize,
    x: usize,
    b: usize,
    block: usize,
    buf: &'a mut [i32; MAX_N],
) -> &'a [i32] {
    let n = block_len(t.c, block, b);
    for (i, slot) in buf.iter_mut().enumerate().take(n) {
        *slot = t.get(b * block + i, y, x);
    }
    &buf[..n]
}

/// Inverse of [`gather`]: writes `vals` to channels `bN ..` of pixel `(y, x)`.
pub(crate) fn scatter(t: &mut Tensor3<i32>, y: usize, x: usize, b: usize, block: usize, vals: &[i32]) {
    for (i, &v) in vals.iter().enumerate() {
        t.set(b * block + i, y, x, v);
    }
}

/// The `bits`-bit field that stores value `v`: the value itself for k >= 2, and for k = 1 the
/// bit of SPEC 2.1 (`1` = +1, `0` = -1).
pub(crate) fn value_to_field(v: i32, bits: u32) -> u64 {
    if bits == 1 {
        (v == 1) as u64
    } else {
        v as u64
    }
}

/// Inverse of [`value_to_field`].
pub(crate) fn field_to_value(f: u64, bits: u32) -> i32 {
    if bits == 1 {
        if f == 1 {
            1
        } else {
            -1
        }
    } else {
        f as i32
    }
}

/// Panics unless every value is a legal `bits`-bit activation (SPEC 7: ±1 for k = 1, otherwise
/// `0..=2^k - 1`). The encoder has no error channel by design: an out-of-range activation is a
/// bug upstream, not a property of the data.
pub(crate) fn check_values(t: &Tensor3<i32>, bits: u32) {
    assert_eq!(t.data.len(), t.c * t.h * t.w, "tensor data length does not match its shape");
    let max = (1i32 << bits) - 1;
    for (i, &v) in t.data.iter().enumerate() {
        let ok = if bits == 1 { v == 1 || v == -1 } else { (0..=max).contains(&v) };
        assert!(ok, "activation {v} at flat index {i} is not a legal {bits}-bit value");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_geometry() {
        assert_eq!(blocks_per_pixel(17, 8), 3);
        assert_eq!(blocks_per_pixel(16, 8), 2);
        assert_eq!(blocks_per_pixel(1, 16), 1);
        assert_eq!(blocks_per_pixel(0, 4), 0);
        assert_eq!((0..3).map(|b| block_len(17, 8, b)).collect::<Vec<_>>(), vec![8, 8, 1]);
        assert_eq!(block_len(13, 4, 3), 1);
        assert_eq!(block_len(12, 4, 2), 4);
    }

    #[test]
    fn gather_scatter_channels_of_one_pixel() {
        // c = 5, h = 2, w = 3; value = 100 c + 10 y + x.
        let data = (0..5).flat_map(|c| (0..2).flat_map(move |y| (0..3).map(move |x| 100 * c + 10 * y + x))).collect();
        let t = Tensor3::from_vec(5, 2, 3, data);
        let mut buf = [0; MAX_N];
        assert_eq!(gather(&t, 1, 2, 0, 4, &mut buf), &[12, 112, 212, 312]);
        assert_eq!(gather(&t, 1, 2, 1, 4, &mut buf), &[412]);
        let mut u = Tensor3::zeros(5, 2, 3);
        for y in 0..2 {
            for x in 0..3 {
                for b in 0..2 {
                    let v = gather(&t, y, x, b, 4, &mut buf).to_vec();
                    scatter(&mut u, y, x, b, 4, &v);
                }
            }
        }
        assert_eq!(u, t);
    }

    #[test]
    fn fields() {
        assert_eq!(value_to_field(1, 1), 1);
        assert_eq!(value_to_field(-1, 1), 0);
        assert_eq!(field_to_value(1, 1), 1);
        assert_eq!(field_to_value(0, 1), -1);
        for bits in 2..=8 {
            for v in 0..(1 << bits) {
                assert_eq!(field_to_value(value_to_field(v, bits), bits), v);
            }
        }
    }

    #[test]
    fn legal_values_pass() {
        check_values(&Tensor3::from_vec(1, 1, 2, vec![1, -1]), 1);
        check_values(&Tensor3::from_vec(1, 1, 2, vec![0, 255]), 8);
        check_values(&Tensor3::from_vec(1, 1, 2, vec![0, 3]), 2);
    }

    #[test]
    #[should_panic(expected = "not a legal 1-bit value")]
    fn zero_is_not_binary() {
        check_values(&Tensor3::from_vec(1, 1, 2, vec![1, 0]), 1);
    }

    #[test]
    #[should_panic(expected = "not a legal 3-bit value")]
    fn too_large_value() {
        check_values(&Tensor3::from_vec(1, 1, 2, vec![1, 8]), 3);
    }

    #[test]
    #[should_panic(expected = "not a legal 4-bit value")]
    fn negative_value() {
        check_values(&Tensor3::from_vec(1, 1, 1, vec![-1]), 4);
    }
}
