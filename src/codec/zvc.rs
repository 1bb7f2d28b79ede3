//! The zero-value-compression (ZVC) baseline the codec is compared against: one mask bit per
//! value plus `k` bits per non-zero value, the tensor rounded up to whole bytes once (no per-row
//! alignment, unlike SPEC 8.3, so the baseline is never penalised by padding).
//!
//! Also ZVC as a DMA engine on this core would write it: the same bits cut into the records of
//! SPEC 8.3, each padded to a byte. `sparse` is exactly that (docs/CODEC.md, "Lossless coding
//! against ZVC"), so the difference between the two baselines is the record padding.

use super::layout::segments;
use crate::tensor::Tensor3;

/// Bytes of the ZVC coding of `t` with `bits`-bit values. For `bits = 1` every ±1 value is
/// non-zero, so ZVC costs 2 bits per value there.
pub fn zvc_bytes(t: &Tensor3<i32>, bits: u32) -> usize {
    let nnz = t.data.iter().filter(|&&v| v != 0).count();
    (t.data.len() + bits as usize * nnz).div_ceil(8)
}

/// Bytes of ZVC cut into the records of SPEC 8.3 (one per row and segment of `segment`
/// channels), each record padded to a byte.
pub fn zvc_record_bytes(t: &Tensor3<i32>, bits: u32, segment: usize) -> usize {
    let mut bytes = 0;
    for y in 0..t.h {
        for seg in segments(t.c, segment) {
            let values = seg.len() * t.w;
            let nnz = seg.flat_map(|c| (0..t.w).map(move |x| (c, x))).filter(|&(c, x)| t.get(c, y, x) != 0).count();
            bytes += (values + bits as usize * nnz).div_ceil(8);
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::RecordCheck;

    #[test]
    fn by_hand() {
        // 4 mask bits + 2 non-zero * 4 bits = 12 bits -> 2 bytes.
        assert_eq!(zvc_bytes(&Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]), 4), 2);
        // 8 mask bits only -> 1 byte.
        assert_eq!(zvc_bytes(&Tensor3::zeros(2, 2, 2), 8), 1);
        // 9 mask bits -> 2 bytes (rounded up once for the whole tensor).
        assert_eq!(zvc_bytes(&Tensor3::zeros(1, 3, 3), 8), 2);
        // Dense 8-bit: 16 * 9 bits = 144 bits = 18 bytes.
        assert_eq!(zvc_bytes(&Tensor3::from_vec(4, 2, 2, vec![7; 16]), 8), 18);
        // Binary: 3 values * 2 bits = 6 bits -> 1 byte.
        assert_eq!(zvc_bytes(&Tensor3::from_vec(3, 1, 1, vec![1, -1, 1]), 1), 1);
        assert_eq!(zvc_bytes(&Tensor3::zeros(0, 4, 4), 8), 0);
    }

    #[test]
    fn records_by_hand() {
        // 10 channels x 1 row x 2 pixels, records of 8 channels: the 8-channel record holds 16
        // mask bits and 3 non-zero values (40 bits, 5 bytes), the 2-channel record 4 mask bits
        // and 1 value (12 bits, 2 bytes): 7 bytes, where the whole tensor's 52 bits need 7 too.
        let mut t = Tensor3::zeros(10, 1, 2);
        t.set(0, 0, 0, 3);
        t.set(7, 0, 1, 9);
        t.set(5, 0, 0, 1);
        t.set(9, 0, 1, 200);
        assert_eq!(zvc_record_bytes(&t, 8, 8), 7);
        assert_eq!(zvc_bytes(&t, 8), 7);
        // Two rows of it: 4 records pad 0 + 4 bits twice, so one byte more than the whole tensor.
        let mut two = Tensor3::zeros(10, 2, 2);
        for c in 0..10 {
            for x in 0..2 {
                two.set(c, 0, x, t.get(c, 0, x));
                two.set(c, 1, x, t.get(c, 0, x));
            }
        }
        assert_eq!(zvc_bytes(&two, 8), 13);
        assert_eq!(zvc_record_bytes(&two, 8, 8), 14);
        // One record per row (S >= C): 52 bits -> 7 bytes a row.
        assert_eq!(zvc_record_bytes(&two, 8, 16), 14);
    }

    /// `sparse` writes exactly ZVC in records, for any bits, channel count and segment.
    #[test]
    fn sparse_is_zvc_in_records() {
        use crate::codec::{encode, CodecParams, Mode};
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(25);
        for _ in 0..200 {
            let bits = rng.gen_range(2..=8u32);
            let (c, h, w) = (rng.gen_range(1..40), rng.gen_range(1..5), rng.gen_range(1..9));
            let zeros = rng.gen_range(0.0..1.0);
            let data =
                (0..c * h * w).map(|_| if rng.gen_bool(zeros) { 0 } else { rng.gen_range(0..1i32 << bits) }).collect();
            let t = Tensor3::from_vec(c, h, w, data);
            let block = [4, 8, 16][rng.gen_range(0..3)];
            let segment = rng.gen_range(1..48);
            let p = CodecParams {
                block,
                mode: Mode::Sparse,
                step: 1,
                keep: block,
                eg_order: 2,
                segment,
                check: RecordCheck::None,
            };
            let coded = encode(&t, bits, &p).bytes.len();
            assert_eq!(coded, zvc_record_bytes(&t, bits, segment), "{c}x{h}x{w}, {bits} bits, S = {segment}");
            assert!(coded >= zvc_bytes(&t, bits));
            assert!(coded < zvc_bytes(&t, bits) + h * c.div_ceil(segment));
        }
    }
}
