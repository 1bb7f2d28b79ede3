//! Which tensor values form which block (SPEC 8.3), and how a value becomes a k-bit field
//! (SPEC 8.4, 2.1). Shared by the encoder, the decoder and `reconstruct` so that all three walk
//! the tensor identically.

use super::dct::MAX_N;
use crate::tensor::Tensor3;

/// One block of a pixel: channels `ch0 .. ch0 + n`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockSpan {
    pub ch0: usize,
    pub n: usize,
}

/// The channel ranges of the segments of a `c`-channel tensor (SPEC 8.3): `[sS, min((s+1)S, C))`.
pub fn segments(c: usize, segment: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    (0..c.div_ceil(segment)).map(move |s| s * segment..((s + 1) * segment).min(c))
}

/// The blocks of one segment: `N` channels each from the segment's first channel, the last
/// one short when `N` does not divide the segment (SPEC 8.3).
pub fn segment_blocks(seg: std::ops::Range<usize>, block: usize) -> impl Iterator<Item = BlockSpan> {
    seg.clone().step_by(block).map(move |ch0| BlockSpan { ch0, n: block.min(seg.end - ch0) })
}

/// Every block of a pixel, segment by segment, in stream order.
pub fn pixel_blocks(c: usize, segment: usize, block: usize) -> Vec<BlockSpan> {
    segments(c, segment).flat_map(|s| segment_blocks(s, block)).collect()
}

/// Copies the values of block `b` of pixel `(y, x)` into `buf` and returns them.
pub(crate) fn gather<'a>(t: &Tensor3<i32>, y: usize, x: usize, b: BlockSpan, buf: &'a mut [i32; MAX_N]) -> &'a [i32] {
    for (i, slot) in buf.iter_mut().enumerate().take(b.n) {
        *slot = t.get(b.ch0 + i, y, x);
    }
    &buf[..b.n]
}

/// Inverse of [`gather`]: writes `vals` to channels `b.ch0 ..` of pixel `(y, x)`.
pub(crate) fn scatter(t: &mut Tensor3<i32>, y: usize, x: usize, b: BlockSpan, vals: &[i32]) {
    for (i, &v) in vals.iter().enumerate() {
        t.set(b.ch0 + i, y, x, v);
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
        let spans = |c, seg, n| pixel_blocks(c, seg, n).iter().map(|b| (b.ch0, b.n)).collect::<Vec<_>>();
        // One segment: blocks of N from channel 0, the last one short.
        assert_eq!(spans(17, 64, 8), vec![(0, 8), (8, 8), (16, 1)]);
        assert_eq!(spans(16, 16, 8), vec![(0, 8), (8, 8)]);
        assert_eq!(spans(13, 100, 4), vec![(0, 4), (4, 4), (8, 4), (12, 1)]);
        // Segments that N divides cut nowhere new; others end blocks at their boundary.
        assert_eq!(spans(20, 8, 8), vec![(0, 8), (8, 8), (16, 4)]);
        assert_eq!(spans(10, 6, 4), vec![(0, 4), (4, 2), (6, 4)]);
        assert_eq!(segments(10, 4).collect::<Vec<_>>(), vec![0..4, 4..8, 8..10]);
        assert_eq!(segments(0, 4).count(), 0);
    }

    #[test]
    fn gather_scatter_channels_of_one_pixel() {
        // c = 5, h = 2, w = 3; value = 100 c + 10 y + x.
        let data = (0..5).flat_map(|c| (0..2).flat_map(move |y| (0..3).map(move |x| 100 * c + 10 * y + x))).collect();
        let t = Tensor3::from_vec(5, 2, 3, data);
        let mut buf = [0; MAX_N];
        assert_eq!(gather(&t, 1, 2, BlockSpan { ch0: 0, n: 4 }, &mut buf), &[12, 112, 212, 312]);
        assert_eq!(gather(&t, 1, 2, BlockSpan { ch0: 4, n: 1 }, &mut buf), &[412]);
        let mut u = Tensor3::zeros(5, 2, 3);
        for y in 0..2 {
            for x in 0..3 {
                for b in pixel_blocks(5, 3, 2) {
                    let v = gather(&t, y, x, b, &mut buf).to_vec();
                    scatter(&mut u, y, x, b, &v);
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
