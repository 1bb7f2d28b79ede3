//! The codec blocks' generation-time geometry (docs/ARCHITECTURE.md, section 4, "Codec"): the
//! RTL generator sizes the encoder's and decoder's shift buffers from it and the cycle
//! simulator times them with the same numbers.

use crate::codec::bits::exp_golomb_len;
use crate::codec::dct::DctMatrix;
use crate::config::AccelConfig;
use crate::hw::descriptor::{CODEC_AUTO, CODEC_DCT, CODEC_GOLOMB, CODEC_SPARSE};

/// Widths fixed when the codec is generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecGeom {
    /// `N`: values per block (`codec.block`), one byte lane each.
    pub block: usize,
    /// Bytes per beat of the compressed stream (`dram.bytes_per_cycle`).
    pub port_bytes: usize,
    /// `S`: channels per segment (`array.cols`, SPEC 8.3).
    pub segment: usize,
    /// Longest coded dct coefficient: its Exp-Golomb code plus the sign bit.
    pub field_bits: usize,
    /// Longest block: auto header, `N` mask bits and `N` longest fields.
    pub block_bits: usize,
    /// Whether records end with a CRC-8 check byte (`codec.check`, SPEC 8.9).
    pub check: bool,
}

impl CodecGeom {
    pub fn new(block: usize, port_bytes: usize, segment: usize) -> Self {
        assert!(matches!(block, 4 | 8 | 16), "codec block {block}");
        assert!(port_bytes.is_power_of_two() && port_bytes <= 16, "codec port of {port_bytes} bytes");
        assert!((1..1 << 16).contains(&segment), "segment {segment}");
        let field_bits = exp_golomb_len(max_coefficient(block) - 1, 0) as usize + 1;
        CodecGeom { block, port_bytes, segment, field_bits, block_bits: 2 + block * (1 + field_bits), check: false }
    }

    /// The geometry with or without the record check byte.
    pub fn with_check(self, check: bool) -> Self {
        CodecGeom { check, ..self }
    }

    pub fn from_config(cfg: &AccelConfig) -> Self {
        Self::new(cfg.codec.block as usize, cfg.dram.bytes_per_cycle as usize, cfg.segment() as usize)
            .with_check(cfg.codec.check == crate::codec::RecordCheck::Crc8)
    }

    /// Bits of the check byte that ends every record (0 without the record check).
    pub fn check_bits(&self) -> usize {
        if self.check {
            8
        } else {
            0
        }
    }

    /// Bits the decoder's shift buffer must hold before a block's first step (its `need`), for a
    /// tensor of `mode` (a `Mode::code`) and `bits`-bit values: the longest block the mode
    /// allows (SPEC 8.4), so that the block's Exp-Golomb field steps never wait for input. A
    /// record's last block starts earlier, at the record's last beat.
    pub fn decoder_need(&self, mode: u32, bits: u32) -> u32 {
        match self.decoder_need_rule(mode, auto_header(mode, bits)) {
            Need::Fixed(b) => b,
            Need::PerValue { extra } => (bits + extra) * self.block as u32,
        }
    }

    /// The form of [`CodecGeom::decoder_need`] for a mode, with or without auto headers: the RTL
    /// decoder builds its `need` from these forms over the layer's mode and bits registers.
    pub fn decoder_need_rule(&self, mode: u32, header: bool) -> Need {
        if header || mode == CODEC_DCT {
            Need::Fixed(self.block_bits as u32)
        } else if mode == CODEC_SPARSE {
            // A mask bit per value and every value stored.
            Need::PerValue { extra: 1 }
        } else if mode == CODEC_GOLOMB {
            // 16 bits a value.
            Need::Fixed(16 * self.block as u32)
        } else {
            Need::PerValue { extra: 0 }
        }
    }

    /// Bits of the shift buffer between the byte stream and the block coder: a whole block
    /// plus one beat, so that a block can always be completed while a beat is pending.
    /// (The block part is rounded up to whole bytes, so that a padded record always fits, and
    /// with the record check a byte more for the check byte behind it.)
    pub fn buffer_bits(&self) -> usize {
        self.block_bits.next_multiple_of(8) + self.check_bits() + 8 * self.port_bytes
    }
}

/// Whether a tensor's blocks carry the 2-bit auto header (SPEC 8.4): auto mode, unless the
/// values are single bits.
pub fn auto_header(mode: u32, bits: u32) -> bool {
    mode == CODEC_AUTO && bits != 1
}

/// A decoder `need` as a function of the value bits `k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// This many bits, whatever `k`.
    Fixed(u32),
    /// `(k + extra) * N` bits.
    PerValue { extra: u32 },
}

/// The largest magnitude a quantised dct coefficient reaches (step 1, 8-bit values): row `j` of
/// the matrix against the block that maximises it, for either sign.
fn max_coefficient(block: usize) -> u64 {
    let m = DctMatrix::new(block);
    (0..block)
        .flat_map(|j| {
            let (pos, neg): (i64, i64) =
                (0..block).map(|i| m.get(j, i) as i64).fold(
                    (0, 0),
                    |(p, n), t| {
                        if t > 0 {
                            (p + t, n)
                        } else {
                            (p, n - t)
                        }
                    },
                );
            // SPEC 8.5 step 2 for the extreme sums, floor division by 64 after adding 32.
            [((255 * pos + 32) >> 6).unsigned_abs(), ((-255 * neg + 32) >> 6).unsigned_abs()]
        })
        .max()
        .unwrap()
}
