//! The decoder: bitstream -> tensor (SPEC 8.3, 8.4, 8.5, 8.8). Every malformed stream is an `Err`,
//! never a panic: it may come from a simulator or a DRAM dump.

use super::bits::BitReader;
use super::check::crc8;
use super::dct::MAX_N;
use super::layout::{field_to_value, scatter, segment_blocks, segments};
use super::plan::Planner;
use super::{BlockMode, CodecParams, RecordCheck};
use crate::tensor::Tensor3;

/// Decodes a `[c, h, w]` tensor of `bits`-bit values coded with `p`.
///
/// Errors: invalid parameters; a stream that ends early; a sparse block that marks a value
/// non-zero and then stores 0 (SPEC 8.4 defines the mask as `v[i] != 0`); a golomb value larger
/// than any `k`-bit value quantises to (SPEC 8.8); an over-long Exp-Golomb prefix; non-zero
/// row padding (SPEC 8.2); bytes left after the last record; with a record check, a check byte
/// that is not the record's CRC-8 (SPEC 8.9).
pub fn decode(bytes: &[u8], c: usize, h: usize, w: usize, bits: u32, p: &CodecParams) -> Result<Tensor3<i32>, String> {
    p.validate(bits)?;
    if c.checked_mul(h).and_then(|ch| ch.checked_mul(w)).is_none() {
        return Err(format!("tensor shape {c}x{h}x{w} is too large"));
    }
    let planner = Planner::new(bits, p);
    let fixed = planner.fixed_mode();
    // Refuse before allocating a tensor a short stream could not describe: every block costs at
    // least its header (auto), its mask (sparse, dct, golomb) or its values (raw).
    let min_block_bits = |n: usize| -> u64 {
        match fixed {
            None => 2,
            Some(BlockMode::Raw) => n as u64 * bits as u64,
            Some(BlockMode::Sparse | BlockMode::Golomb) => n as u64,
            Some(BlockMode::Dct) => p.keep as u64,
            Some(BlockMode::Zero) => 0,
        }
    };
    let row_bytes: u128 = segments(c, p.segment)
        .map(|seg| {
            let pixel_bits: u64 = segment_blocks(seg, p.block).map(|b| min_block_bits(b.n)).sum();
            (w as u128 * pixel_bits as u128).div_ceil(8)
        })
        .sum();
    let check_bytes = (p.check.bytes() * c.div_ceil(p.segment)) as u128;
    let min_bytes = (row_bytes + check_bytes) * h as u128;
    if (bytes.len() as u128) < min_bytes {
        return Err(format!(
            "bitstream of {} bytes is too short for a {c}x{h}x{w} tensor (at least {min_bytes} bytes)",
            bytes.len()
        ));
    }

    let mut out = Tensor3::zeros(c, h, w);
    let mut r = BitReader::new(bytes);
    let mut vals = [0i32; MAX_N];
    for y in 0..h {
        for (si, seg) in segments(c, p.segment).enumerate() {
            let record_start = (r.bit_pos() / 8) as usize;
            for x in 0..w {
                for b in segment_blocks(seg.clone(), p.block) {
                    let mode = match fixed {
                        Some(mode) => mode,
                        None => BlockMode::from_header(r.read_bits(2).map_err(|e| at(y, x, b.ch0, e))? as u32),
                    };
                    read_block(&mut r, mode, &mut vals[..b.n], &planner, p).map_err(|e| at(y, x, b.ch0, e))?;
                    scatter(&mut out, y, x, b, &vals[..b.n]);
                }
            }
            r.align_to_byte().map_err(|e| format!("row {y}, segment {si}: {e}"))?;
            // SPEC 8.9: the check byte must be the CRC-8 of the record's bytes.
            if p.check == RecordCheck::Crc8 {
                let record_end = (r.bit_pos() / 8) as usize;
                let got = r.read_bits(8).map_err(|e| format!("row {y}, segment {si}: check byte: {e}"))? as u8;
                let want = crc8(&bytes[record_start..record_end]);
                if got != want {
                    return Err(format!(
                        "row {y}, segment {si}: check byte {got:#04x} differs from the record's CRC-8 {want:#04x} (a corrupt record)"
                    ));
                }
            }
        }
    }
    if r.bits_left() > 0 {
        return Err(format!(
            "{} trailing bytes after the last row (stream has {} bytes, tensor used {})",
            r.bits_left() / 8,
            bytes.len(),
            r.bit_pos() / 8
        ));
    }
    Ok(out)
}

fn at(y: usize, x: usize, ch0: usize, e: String) -> String {
    format!("row {y}, pixel {x}, block at channel {ch0}: {e}")
}

/// Reads one block's payload in `mode` into `out` (its `n` values).
fn read_block(
    r: &mut BitReader,
    mode: BlockMode,
    out: &mut [i32],
    planner: &Planner,
    p: &CodecParams,
) -> Result<(), String> {
    let bits = planner.bits();
    match mode {
        BlockMode::Zero => out.fill(0),
        BlockMode::Sparse => {
            let mask = read_mask(r, out.len())?;
            for (i, o) in out.iter_mut().enumerate() {
                *o = 0;
                if mask[i] {
                    *o = field_to_value(r.read_bits(bits)?, bits);
                    if *o == 0 {
                        return Err(format!("sparse value {i} is 0 but its mask bit is set"));
                    }
                }
            }
        }
        BlockMode::Raw => {
            for o in out.iter_mut() {
                *o = field_to_value(r.read_bits(bits)?, bits);
            }
        }
        BlockMode::Dct => {
            let mask = read_mask(r, p.keep)?;
            let mut q = [0i64; MAX_N];
            for (qj, _) in q.iter_mut().zip(mask).filter(|(_, set)| *set) {
                // |Xq| - 1 < 2^23 (bits::MAX_EG_PREFIX), so the magnitude fits an i64 easily.
                let mag = r.read_exp_golomb(p.eg_order)? as i64 + 1;
                *qj = if r.read_bit()? { -mag } else { mag };
            }
            out.copy_from_slice(&planner.dequantise(mode, &q)[..out.len()]);
        }
        BlockMode::Golomb => {
            let mask = read_mask(r, out.len())?;
            let (mut q, max) = ([0i64; MAX_N], planner.max_golomb_q());
            for (i, (qi, _)) in q.iter_mut().zip(mask).enumerate().filter(|(_, (_, set))| *set) {
                // SPEC 8.8: no k-bit value quantises above `max`, so a larger q is a corrupt
                // stream; dequantising would hide it by clamping to 2^k - 1.
                *qi = r.read_exp_golomb(p.eg_order)? as i64 + 1;
                if *qi > max {
                    return Err(format!(
                        "golomb value {i} is {qi}, above {max}, the largest a {bits}-bit value quantises to at step {}",
                        p.step
                    ));
                }
            }
            out.copy_from_slice(&planner.dequantise(mode, &q)[..out.len()]);
        }
    }
    Ok(())
}

/// `n` mask bits (sparse, dct, golomb blocks).
fn read_mask(r: &mut BitReader, n: usize) -> Result<[bool; MAX_N], String> {
    let mut mask = [false; MAX_N];
    for bit in mask.iter_mut().take(n) {
        *bit = r.read_bit()?;
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode::encode;
    use crate::codec::reconstruct::reconstruct;
    use crate::codec::testutil::{modes_for, random_params, random_tensor, Pattern, CHANNELS};
    use crate::codec::Mode;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn params(block: usize, mode: Mode) -> CodecParams {
        CodecParams { block, mode, step: 1, keep: block, eg_order: 2, segment: 64, check: RecordCheck::None }
    }

    /// The main randomised round trip: raw and sparse are lossless, dct and auto decode to
    /// exactly what `reconstruct` predicts; every shortened stream and every stream with a
    /// byte appended is rejected. Every N, bits 1..=8, channel counts that N does and does not
    /// divide, all data patterns, random step/keep/eg.
    #[test]
    fn round_trip_many_random_tensors() {
        let mut rng = StdRng::seed_from_u64(2024);
        let mut tensors = 0;
        let mut encodings = 0;
        for block in [4usize, 8, 16] {
            for bits in 1..=8u32 {
                for &c in &CHANNELS {
                    for pat in Pattern::ALL {
                        for _ in 0..3 {
                            let (h, w) = (rng.gen_range(1..=4), rng.gen_range(1..=4));
                            let t = random_tensor(&mut rng, c, h, w, bits, pat);
                            tensors += 1;
                            for &mode in modes_for(bits) {
                                let p = random_params(&mut rng, block, mode);
                                check_round_trip(&t, bits, &p, &mut rng);
                                encodings += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(tensors >= 3000 && encodings >= 10000, "{tensors} tensors, {encodings} encodings");
    }

    fn check_round_trip(t: &Tensor3<i32>, bits: u32, p: &CodecParams, rng: &mut StdRng) {
        let e = encode(t, bits, p);
        let d = decode(&e.bytes, t.c, t.h, t.w, bits, p)
            .unwrap_or_else(|err| panic!("decode failed for {p:?} bits {bits} {:?}: {err}", t.shape()));
        let lossless =
            matches!(p.mode, Mode::Raw | Mode::Sparse) || bits == 1 || (p.mode == Mode::Golomb && p.step == 1);
        if lossless {
            assert_eq!(d, *t, "{p:?} bits {bits} must be lossless");
        } else {
            assert_eq!(d, reconstruct(t, bits, p), "{p:?} bits {bits}: decode != reconstruct");
        }
        if p.mode == Mode::Auto && e.block_modes[BlockMode::Dct.index()] == 0 {
            assert_eq!(d, *t, "auto without dct blocks is lossless");
        }
        // Truncation anywhere is an error: every byte holds at least one payload bit, since
        // every row has at least one bit and padding is < 8 bits.
        if !e.bytes.is_empty() {
            let cut = rng.gen_range(0..e.bytes.len());
            assert!(decode(&e.bytes[..cut], t.c, t.h, t.w, bits, p).is_err(), "cut at {cut}");
            let last = e.bytes.len() - 1;
            assert!(decode(&e.bytes[..last], t.c, t.h, t.w, bits, p).is_err());
        }
        let mut longer = e.bytes.clone();
        longer.push(rng.gen());
        assert!(decode(&longer, t.c, t.h, t.w, bits, p).is_err(), "trailing byte accepted");
    }

    #[test]
    fn hand_vectors_decode() {
        let p = params(4, Mode::Sparse);
        let d = decode(&[0x55, 0xF0], 4, 1, 1, 4, &p).unwrap();
        assert_eq!(d.data, vec![0, 5, 0, 15]);
        let d = decode(&[0x55, 0x7C], 4, 1, 1, 4, &params(4, Mode::Auto)).unwrap();
        assert_eq!(d.data, vec![0, 5, 0, 15]);
        let d = decode(&[0x87, 0xCA, 0x40], 4, 1, 1, 4, &params(4, Mode::Auto)).unwrap();
        assert_eq!(d.data, vec![1, 15, 2, 9]);
        let d = decode(&[0xE0, 0x06, 0x46], 4, 1, 1, 8, &params(4, Mode::Auto)).unwrap();
        assert_eq!(d.data, vec![200; 4]);
        let d = decode(&[0x6C, 0xC4], 3, 2, 1, 2, &params(4, Mode::Raw)).unwrap();
        assert_eq!(d.data, vec![1, 3, 2, 0, 3, 1]);
        let d = decode(&[0xB1, 0x80], 3, 1, 3, 1, &params(4, Mode::Auto)).unwrap();
        assert_eq!(d.data, vec![1, 1, -1, -1, -1, 1, 1, -1, 1]);
        // Zero blocks: auto header 00 per block, 3 blocks of C = 9 with N = 4 -> 6 bits.
        let d = decode(&[0x00], 9, 1, 1, 5, &params(4, Mode::Auto)).unwrap();
        assert_eq!(d.data, vec![0; 9]);
        // Empty tensors have empty streams.
        assert!(decode(&[], 0, 3, 3, 4, &params(8, Mode::Auto)).unwrap().data.is_empty());
    }

    #[test]
    fn golomb_hand_vectors_decode() {
        // The encoder's hand vectors (encode.rs): step 4 reconstructs q << 2, clamped to 255.
        let p = CodecParams { step: 4, eg_order: 0, ..params(4, Mode::Golomb) };
        let d = decode(&[0x74, 0x0C, 0x80, 0x80], 4, 1, 1, 8, &p).unwrap();
        assert_eq!(d.data, vec![0, 8, 200, 255]);
        let p1 = CodecParams { eg_order: 1, ..params(4, Mode::Golomb) };
        assert_eq!(decode(&[0x56, 0x10], 4, 1, 1, 4, &p1).unwrap().data, vec![0, 5, 0, 15]);
        assert_eq!(decode(&[0x0A, 0x00], 5, 1, 1, 4, &p1).unwrap().data, vec![0, 0, 0, 0, 3]);
    }

    /// SPEC 8.8: a golomb value above `(2^k - 1 + h) >> t` is an error, the largest one is not;
    /// so are truncated codes and over-long prefixes.
    #[test]
    fn golomb_malformed_blocks_fail() {
        // k = 8, step 4, eg 0: the largest q is 64. Mask 1000, then EG0(64) = 0000001 000001 (q 65).
        let p = CodecParams { step: 4, eg_order: 0, ..params(4, Mode::Golomb) };
        let e = decode(&[0x80, 0x20, 0x80], 4, 1, 1, 8, &p).unwrap_err();
        assert!(e.contains("golomb value 0 is 65, above 64"), "{e}");
        assert!(e.contains("row 0, pixel 0, block at channel 0"), "{e}");
        // EG0(63) = 0000001 000000: q = 64 is legal and decodes to 255 (256 clamped).
        assert_eq!(decode(&[0x80, 0x20, 0x00], 4, 1, 1, 8, &p).unwrap().data, vec![255, 0, 0, 0]);
        // k = 2 at step 128: every value quantises to 0, so a set mask bit is already too big.
        let p = CodecParams { step: 128, eg_order: 0, ..params(4, Mode::Golomb) };
        let e = decode(&[0x88], 4, 1, 1, 2, &p).unwrap_err();
        assert!(e.contains("above 0"), "{e}");
        // Truncated: the hand vector without its last byte, and an Exp-Golomb prefix that never ends.
        let p = CodecParams { step: 4, eg_order: 0, ..params(4, Mode::Golomb) };
        let e = decode(&[0x74, 0x0C, 0x80], 4, 1, 1, 8, &p).unwrap_err();
        assert!(e.contains("ends early"), "{e}");
        assert!(decode(&[0x80, 0, 0, 0, 0, 0, 0], 4, 1, 1, 8, &p).unwrap_err().contains("prefix"));
        // Shorter than the masks alone: refused before decoding.
        let e = decode(&[0x00], 16, 1, 1, 8, &params(8, Mode::Golomb)).unwrap_err();
        assert!(e.contains("too short"), "{e}");
        // A trailing byte.
        assert!(decode(&[0x74, 0x0C, 0x80, 0x80, 0x00], 4, 1, 1, 8, &p).unwrap_err().contains("trailing"));
        // 1-bit tensors cannot be golomb.
        assert!(decode(&[0x00], 1, 1, 1, 1, &params(4, Mode::Golomb)).unwrap_err().contains("mode"));
    }

    /// Step 1 golomb is lossless: random tensors of every k = 2..8, N, channel count (short
    /// blocks included), data pattern, Exp-Golomb order and segment.
    #[test]
    fn golomb_step_1_round_trips_exactly() {
        let mut rng = StdRng::seed_from_u64(81);
        for block in [4usize, 8, 16] {
            for bits in 2..=8u32 {
                for &c in &CHANNELS {
                    for pat in Pattern::ALL {
                        let (h, w) = (rng.gen_range(1..=3), rng.gen_range(1..=3));
                        let t = random_tensor(&mut rng, c, h, w, bits, pat);
                        let p = CodecParams { step: 1, ..random_params(&mut rng, block, Mode::Golomb) };
                        let e = encode(&t, bits, &p);
                        assert_eq!(decode(&e.bytes, t.c, t.h, t.w, bits, &p).unwrap(), t, "{p:?} bits {bits}");
                        assert_eq!(reconstruct(&t, bits, &p), t);
                    }
                }
            }
        }
    }

    #[test]
    fn row_padding_must_be_zero() {
        let p = params(4, Mode::Raw);
        // Row 0 of the raw hand vector with a 1 in its padding bits.
        assert!(decode(&[0x6D, 0xC4], 3, 2, 1, 2, &p).unwrap_err().contains("padding"));
        assert!(decode(&[0x6C, 0xC6], 3, 2, 1, 2, &p).unwrap_err().contains("padding"));
        assert!(decode(&[0x6C, 0xC4], 3, 2, 1, 2, &p).is_ok());
    }

    #[test]
    fn truncated_and_long_streams_fail() {
        let p = params(4, Mode::Auto);
        for cut in 0..3 {
            let e = decode(&[0xE0, 0x06, 0x46][..cut], 4, 1, 1, 8, &p).unwrap_err();
            assert!(e.contains("short") || e.contains("ends early"), "{e}");
        }
        let e = decode(&[0xE0, 0x06, 0x46, 0x00], 4, 1, 1, 8, &p).unwrap_err();
        assert!(e.contains("trailing"), "{e}");
        // A whole extra row's worth of bytes is also rejected.
        let e = decode(&[0x6C, 0xC4, 0x6C], 3, 2, 1, 2, &params(4, Mode::Raw)).unwrap_err();
        assert!(e.contains("trailing"), "{e}");
        // A shape far too large for the stream is refused up front.
        assert!(decode(&[0; 4], 1 << 20, 1 << 20, 1 << 20, 8, &p).is_err());
        assert!(decode(&[], usize::MAX, usize::MAX, 0, 8, &p).is_err());
    }

    #[test]
    fn malformed_blocks_fail() {
        // Sparse mask 1000 then value 0000: a set mask bit must carry a non-zero value.
        let e = decode(&[0x80, 0x00], 4, 1, 1, 4, &params(4, Mode::Sparse)).unwrap_err();
        assert!(e.contains("mask"), "{e}");
        // Dct mask 1000 followed by 0s: an Exp-Golomb prefix that never ends.
        assert!(decode(&[0x80, 0, 0, 0, 0, 0, 0], 4, 1, 1, 8, &params(4, Mode::Dct)).is_err());
        // Bad parameters are an error, not a panic.
        assert!(decode(&[0x00], 1, 1, 1, 1, &params(4, Mode::Dct)).is_err());
        assert!(decode(&[0x00], 1, 1, 1, 4, &params(5, Mode::Raw)).is_err());
    }

    /// Random bytes never make the decoder panic, whatever it returns.
    #[test]
    fn garbage_never_panics() {
        let mut rng = StdRng::seed_from_u64(99);
        let mut ok = 0;
        for i in 0..3000 {
            let block = [4, 8, 16][i % 3];
            let bits = rng.gen_range(1..=8);
            let modes = modes_for(bits);
            let mode = modes[rng.gen_range(0..modes.len())];
            let p = random_params(&mut rng, block, mode);
            let (c, h, w) = (rng.gen_range(1..=20), rng.gen_range(1..=3), rng.gen_range(1..=3));
            let len = rng.gen_range(0..=64);
            let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if decode(&bytes, c, h, w, bits, &p).is_ok() {
                ok += 1;
            }
        }
        // Most garbage is rejected (wrong length, padding or mask), some decodes.
        assert!(ok < 3000);
    }
}
