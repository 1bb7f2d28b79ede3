//! What the `codec` program and docs/CODEC.md report for one activation tensor: sizes (raw, coded,
//! ZVC), the zeroth-order entropy bound, fidelity of the reconstruction and the share of block
//! modes. Computed from the real encoder and decoder, so the numbers are those of the bitstream.

use super::{decode, encode, zvc_bytes, zvc_record_bytes, BlockMode, CodecParams, Encoded};
use crate::tensor::Tensor3;
use serde::Serialize;

/// The measurements of one coded tensor.
#[derive(Clone, Debug, Serialize)]
pub struct TensorReport {
    pub name: String,
    pub shape: [usize; 3],
    pub bits: u32,
    /// Uncompressed size: `k` bits per value, rounded up to bytes once.
    pub raw_bytes: u64,
    /// The bitstream (SPEC 8), records padded to bytes.
    pub coded_bytes: u64,
    /// The ZVC baseline: one mask bit per value plus the non-zero values, rounded up to bytes
    /// once for the whole tensor.
    pub zvc_bytes: u64,
    /// ZVC cut into the stream's records, each padded to a byte (what `sparse` writes).
    pub zvc_record_bytes: u64,
    /// Zeroth-order entropy of the values in bits per value: no coder that treats values as
    /// independent symbols gets below `entropy * values / 8` bytes.
    pub entropy_bits: f64,
    /// Sum of squared values and of squared reconstruction errors (for pooled SQNR over many tensors).
    pub signal_energy: f64,
    pub error_energy: f64,
    pub max_abs_error: u32,
    /// Blocks per mode, in [`BlockMode::ALL`] order: zero, sparse, raw, dct, golomb.
    pub blocks: [u64; 5],
}

impl TensorReport {
    pub fn values(&self) -> u64 {
        (self.shape[0] * self.shape[1] * self.shape[2]) as u64
    }
    /// Raw size over coded size.
    pub fn ratio(&self) -> f64 {
        ratio(self.raw_bytes, self.coded_bytes)
    }
    /// ZVC size over coded size: above 1 the codec beats ZVC.
    pub fn ratio_vs_zvc(&self) -> f64 {
        ratio(self.zvc_bytes, self.coded_bytes)
    }
    /// Coded bytes minus ZVC bytes: above 0 the codec costs more than ZVC.
    pub fn bytes_over_zvc(&self) -> i64 {
        self.coded_bytes as i64 - self.zvc_bytes as i64
    }
    /// The best ratio a zeroth-order (symbol-by-symbol) lossless coder can reach.
    pub fn entropy_ratio(&self) -> f64 {
        ratio(self.raw_bytes * 8, (self.entropy_bits * self.values() as f64).ceil().max(1.0) as u64)
    }
    /// SQNR in dB; `None` when the reconstruction is exact.
    pub fn sqnr_db(&self) -> Option<f64> {
        sqnr_db(self.signal_energy, self.error_energy)
    }
}

/// `num / den` as a compression ratio (infinite for an empty coded size).
pub fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        f64::INFINITY
    } else {
        num as f64 / den as f64
    }
}

/// `10 log10(signal / error)`, `None` for an exact reconstruction (no error at all).
pub fn sqnr_db(signal: f64, error: f64) -> Option<f64> {
    (error > 0.0).then(|| 10.0 * (signal / error).log10())
}

/// Zeroth-order entropy (bits per value) of a tensor's values.
pub fn entropy_bits(t: &Tensor3<i32>) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for &v in &t.data {
        *counts.entry(v).or_insert(0u64) += 1;
    }
    let n = t.data.len() as f64;
    counts.values().map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum::<f64>().max(0.0)
}

/// Encodes `t`, decodes the bitstream again and measures both. Returns the report, the encoded
/// stream and the decoded reconstruction.
///
/// # Panics
/// Like [`encode`]: on parameters invalid for `bits` or out-of-range values (callers validate).
pub fn analyse(name: &str, t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> (TensorReport, Encoded, Tensor3<i32>) {
    let enc = encode(t, bits, p);
    let rec = decode(&enc.bytes, t.c, t.h, t.w, bits, p).expect("the decoder accepts what the encoder wrote");
    let (mut signal, mut error, mut max_err) = (0f64, 0f64, 0u32);
    for (&a, &b) in t.data.iter().zip(&rec.data) {
        signal += (a as f64) * (a as f64);
        let d = (a - b) as f64;
        error += d * d;
        max_err = max_err.max(a.abs_diff(b));
    }
    let report = TensorReport {
        name: name.to_string(),
        shape: [t.c, t.h, t.w],
        bits,
        raw_bytes: (t.data.len() as u64 * bits as u64).div_ceil(8),
        coded_bytes: enc.bytes.len() as u64,
        zvc_bytes: zvc_bytes(t, bits) as u64,
        zvc_record_bytes: zvc_record_bytes(t, bits, p.segment) as u64,
        entropy_bits: entropy_bits(t),
        signal_energy: signal,
        error_energy: error,
        max_abs_error: max_err,
        blocks: enc.block_modes,
    };
    (report, enc, rec)
}

/// The share of blocks in each mode, in [`BlockMode::ALL`] order.
pub fn block_shares(blocks: &[u64; 5]) -> [f64; 5] {
    let total = blocks.iter().sum::<u64>().max(1) as f64;
    BlockMode::ALL.map(|m| blocks[m.index()] as f64 / total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Mode;
    use crate::codec::RecordCheck;

    fn params(mode: Mode, step: u32) -> CodecParams {
        CodecParams { block: 8, mode, step, keep: 8, eg_order: 2, segment: 8, check: RecordCheck::None }
    }

    #[test]
    fn entropy_by_hand() {
        assert_eq!(entropy_bits(&Tensor3::from_vec(4, 1, 1, vec![5, 5, 5, 5])), 0.0);
        assert!((entropy_bits(&Tensor3::from_vec(4, 1, 1, vec![0, 1, 2, 3])) - 2.0).abs() < 1e-12);
        assert!((entropy_bits(&Tensor3::from_vec(4, 1, 1, vec![0, 0, 1, 1])) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lossless_modes_report_exact_and_sizes_add_up() {
        // 16 channels x 2 x 2, half zeros.
        let data: Vec<i32> = (0..64).map(|i| if i % 2 == 0 { 0 } else { (i * 7 % 255) + 1 }).collect();
        let t = Tensor3::from_vec(16, 2, 2, data);
        for mode in [Mode::Raw, Mode::Sparse, Mode::Golomb] {
            let (r, enc, rec) = analyse("t", &t, 8, &params(mode, 1));
            assert_eq!(rec, t);
            assert_eq!(r.sqnr_db(), None);
            assert_eq!(r.max_abs_error, 0);
            assert_eq!(r.coded_bytes, enc.bytes.len() as u64);
            assert_eq!(r.raw_bytes, 64);
            // 64 mask bits + 32 values of 8 bits = 320 bits.
            assert_eq!(r.zvc_bytes, 40);
            assert_eq!(r.blocks.iter().sum::<u64>(), 8);
        }
        let (raw, _, _) = analyse("t", &t, 8, &params(Mode::Raw, 1));
        assert_eq!(raw.coded_bytes, 64);
        assert_eq!(raw.ratio(), 1.0);
    }

    #[test]
    fn lossy_dct_reports_finite_sqnr_consistent_with_the_error() {
        let data: Vec<i32> = (0..64).map(|i| 100 + (i % 8) * 10).collect();
        let t = Tensor3::from_vec(8, 2, 4, data);
        let (r, _, rec) = analyse("t", &t, 8, &params(Mode::Dct, 32));
        let err: f64 = t.data.iter().zip(&rec.data).map(|(a, b)| ((a - b) as f64).powi(2)).sum();
        assert!(err > 0.0, "step 32 must lose something on this ramp");
        assert_eq!(r.error_energy, err);
        let db = r.sqnr_db().unwrap();
        assert!(db.is_finite() && db > 0.0, "{db}");
        assert_eq!(block_shares(&r.blocks), [0.0, 0.0, 0.0, 1.0, 0.0]);
    }
}
