//! The zero-value-compression (ZVC) baseline the codec is compared against: one mask bit per
//! value plus `k` bits per non-zero value, the tensor rounded up to whole bytes once (no per-row
//! alignment, unlike SPEC 8.3, so the baseline is never penalised by padding).

use crate::tensor::Tensor3;

/// Bytes of the ZVC coding of `t` with `bits`-bit values. For `bits = 1` every ±1 value is
/// non-zero, so ZVC costs 2 bits per value there.
pub fn zvc_bytes(t: &Tensor3<i32>, bits: u32) -> usize {
    let nnz = t.data.iter().filter(|&&v| v != 0).count();
    (t.data.len() + bits as usize * nnz).div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
