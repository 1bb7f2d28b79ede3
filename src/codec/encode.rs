//! The encoder: tensor -> bitstream (SPEC 8.3, 8.4, 8.5).

use super::bits::BitWriter;
use super::check::crc8;
use super::dct::MAX_N;
use super::layout::{check_values, gather, segment_blocks, segments, value_to_field};
use super::plan::{BlockPlan, Planner};
use super::{BlockMode, CodecParams, RecordCheck};
use crate::tensor::Tensor3;

/// An encoded tensor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The bitstream (SPEC 8.2, 8.3), every record padded to a byte boundary.
    pub bytes: Vec<u8>,
    /// The length in bytes of each record (one per row and segment), in stream order: what a
    /// DMA engine needs to place or fetch them one by one.
    pub records: Vec<usize>,
    /// How many blocks used each mode, indexed by [`BlockMode::index`]: zero, sparse, raw, dct,
    /// golomb.
    pub block_modes: [u64; 5],
    /// The coded length and Exp-Golomb field count of every block, in stream order: what a
    /// hardware decoder's parser consumes per block, so the cycle simulator can time it.
    pub blocks: Vec<BlockCost>,
}

/// What one coded block costs the hardware codec: its length in bits (header included) and how
/// many Exp-Golomb fields it holds (the non-zero symbols of a dct or golomb block; 0 for zero,
/// sparse and raw blocks, whose fields have a fixed length). The codec blocks handle the
/// fixed-length part of a block at once and its Exp-Golomb fields one per cycle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockCost {
    pub bits: u32,
    pub eg_fields: u32,
}

impl BlockCost {
    fn of(plan: &BlockPlan, n: usize, keep: usize, headers: bool) -> Self {
        let eg_fields = match plan.mode {
            BlockMode::Dct => plan.symbols[..keep].iter().filter(|&&q| q != 0).count(),
            BlockMode::Golomb => plan.symbols[..n].iter().filter(|&&q| q != 0).count(),
            BlockMode::Zero | BlockMode::Sparse | BlockMode::Raw => 0,
        };
        BlockCost { bits: (plan.cost + if headers { 2 } else { 0 }) as u32, eg_fields: eg_fields as u32 }
    }
}

/// Encodes `t`, whose values are ±1 for `bits = 1` and `0..=2^bits - 1` otherwise.
///
/// # Panics
/// If `p` is not valid for `bits` (see [`CodecParams::validate`]) or a value is out of range:
/// both are caller bugs (configs are validated on load, activations are produced in range).
pub fn encode(t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> Encoded {
    encode_counting(t, bits, p).0
}

/// [`encode`], also returning the number of stream bits before row padding (headers and
/// payloads only), for the tests that compare modes bit for bit.
pub(crate) fn encode_counting(t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> (Encoded, u64) {
    if let Err(e) = p.validate(bits) {
        panic!("encode: invalid codec parameters: {e}");
    }
    check_values(t, bits);
    let planner = Planner::new(bits, p);
    let mut w = BitWriter::new();
    let mut block_modes = [0u64; 5];
    let mut records = Vec::new();
    let mut blocks = Vec::new();
    let mut unpadded = 0u64;
    let mut buf = [0i32; MAX_N];
    for y in 0..t.h {
        for seg in segments(t.c, p.segment) {
            let record_start = w.bit_len();
            for x in 0..t.w {
                for b in segment_blocks(seg.clone(), p.block) {
                    let v = gather(t, y, x, b, &mut buf);
                    let plan = planner.plan(v);
                    let before = w.bit_len();
                    if planner.has_headers() {
                        w.write_bits(plan.mode.header() as u64, 2);
                    }
                    write_payload(&mut w, v, bits, p, &plan);
                    // The planner's price must be what is actually written, or auto would not
                    // pick the shortest block.
                    debug_assert_eq!(
                        w.bit_len() - before,
                        plan.cost + if planner.has_headers() { 2 } else { 0 },
                        "cost of {:?} block {v:?}",
                        plan.mode
                    );
                    block_modes[plan.mode.index()] += 1;
                    let cost = BlockCost::of(&plan, v.len(), p.keep, planner.has_headers());
                    blocks.push(cost);
                }
            }
            unpadded += w.bit_len() - record_start;
            // SPEC 8.3: every record starts on a byte boundary.
            w.align_to_byte();
            // SPEC 8.9: the record's check byte.
            if p.check == RecordCheck::Crc8 {
                let crc = crc8(&w.bytes()[(record_start / 8) as usize..]);
                w.write_bits(crc as u64, 8);
            }
            records.push(((w.bit_len() - record_start) / 8) as usize);
        }
    }
    (Encoded { bytes: w.into_bytes(), records, block_modes, blocks }, unpadded)
}

/// The coded length of single blocks, as [`encode`] writes them: what a model of the hardware
/// encoder needs to time its packer without writing the bits.
pub struct BlockCoster {
    planner: Planner,
    keep: usize,
}

impl BlockCoster {
    pub fn new(bits: u32, p: &CodecParams) -> Self {
        BlockCoster { planner: Planner::new(bits, p), keep: p.keep }
    }

    /// Bits and Exp-Golomb fields of the block of values `v` (one pixel's channels of one
    /// block), header included.
    pub fn cost(&self, v: &[i32]) -> BlockCost {
        BlockCost::of(&self.planner.plan(v), v.len(), self.keep, self.planner.has_headers())
    }
}

/// The payload of one block in the chosen mode (SPEC 8.4 table, 8.5 step 4, 8.8).
fn write_payload(w: &mut BitWriter, v: &[i32], bits: u32, p: &CodecParams, plan: &BlockPlan) {
    match plan.mode {
        BlockMode::Zero => {}
        BlockMode::Sparse => {
            for &x in v {
                w.write_bit(x != 0);
            }
            for &x in v.iter().filter(|&&x| x != 0) {
                w.write_bits(value_to_field(x, bits), bits);
            }
        }
        BlockMode::Raw => {
            for &x in v {
                w.write_bits(value_to_field(x, bits), bits);
            }
        }
        BlockMode::Dct => {
            let kept = &plan.symbols[..p.keep];
            for &q in kept {
                w.write_bit(q != 0);
            }
            for &q in kept.iter().filter(|&&q| q != 0) {
                w.write_exp_golomb(q.unsigned_abs() - 1, p.eg_order);
                w.write_bit(q < 0);
            }
        }
        BlockMode::Golomb => {
            let q = &plan.symbols[..v.len()];
            for &qi in q {
                w.write_bit(qi != 0);
            }
            // q >= 0, so there is no sign bit.
            for &qi in q.iter().filter(|&&qi| qi != 0) {
                w.write_exp_golomb(qi as u64 - 1, p.eg_order);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::testutil::{random_case, random_tensor, Pattern};
    use crate::codec::BlockSpan;
    use crate::codec::Mode;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn params(block: usize, mode: Mode) -> CodecParams {
        CodecParams { block, mode, step: 1, keep: block, eg_order: 2, segment: 64, check: RecordCheck::None }
    }

    /// Per-block lengths add up, record by record and padded to a byte, to the record sizes,
    /// and `BlockCoster` prices each block as the encoder wrote it (exact example: the sparse
    /// block below is 4 mask bits and two 4-bit values).
    #[test]
    fn block_lengths_add_up_to_the_records() {
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]);
        assert_eq!(encode(&t, 4, &params(4, Mode::Sparse)).blocks, vec![BlockCost { bits: 12, eg_fields: 0 }]);
        // golomb at step 1, order 2: 4 mask bits, then the order-2 codes of q - 1 = 4 and 14:
        // 4 + 4 = 0b1000 takes 1 + 4 bits, 14 + 4 = 0b10010 takes 2 + 5 bits.
        assert_eq!(encode(&t, 4, &params(4, Mode::Golomb)).blocks, vec![BlockCost { bits: 4 + 5 + 7, eg_fields: 2 }]);
        let mut rng = StdRng::seed_from_u64(5);
        for mode in [Mode::Raw, Mode::Sparse, Mode::Dct, Mode::Auto, Mode::Golomb] {
            for bits in [1u32, 4, 8] {
                let p = CodecParams { segment: 8, ..params(4, mode) };
                if p.validate(bits).is_err() {
                    continue;
                }
                let t = random_tensor(&mut rng, 11, 3, 5, bits, Pattern::Smooth);
                let e = encode(&t, bits, &p);
                let blocks_per_record = 5 * 2; // 5 pixels x blocks of the segments 0..8 and 8..11
                let (mut at, coster) = (0, BlockCoster::new(bits, &p));
                for (r, &bytes) in e.records.iter().enumerate() {
                    let per = if r % 2 == 0 { blocks_per_record } else { 5 };
                    let sum: u32 = e.blocks[at..at + per].iter().map(|b| b.bits).sum();
                    assert_eq!(sum.div_ceil(8) as usize, bytes, "{mode:?} {bits} record {r}");
                    at += per;
                }
                assert_eq!(at, e.blocks.len());
                let mut buf = [0i32; MAX_N];
                let v = gather(&t, 0, 0, BlockSpan { ch0: 0, n: 4 }, &mut buf);
                assert_eq!(coster.cost(v), e.blocks[0], "{mode:?} {bits}");
            }
        }
    }

    #[test]
    fn sparse_block_exact_bytes() {
        // mask 0101, then 5 = 0101 and 15 = 1111, padded: 0101 0101 1111 0000.
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]);
        let e = encode(&t, 4, &params(4, Mode::Sparse));
        assert_eq!(e.bytes, vec![0x55, 0xF0]);
        assert_eq!(e.block_modes, [0, 1, 0, 0, 0]);
        // Auto picks sparse (12 bits < raw 16 < dct 34) behind header 01:
        // 01 0101 0101 1111 00 -> 0101_0101 0111_1100.
        let e = encode(&t, 4, &params(4, Mode::Auto));
        assert_eq!(e.bytes, vec![0x55, 0x7C]);
        assert_eq!(e.block_modes, [0, 1, 0, 0, 0]);
        // A dense block in auto is raw behind header 10: 10 0001 1111 0010 1001 + 6 zeros.
        let t = Tensor3::from_vec(4, 1, 1, vec![1, 15, 2, 9]);
        let e = encode(&t, 4, &params(4, Mode::Auto));
        assert_eq!(e.bytes, vec![0x87, 0xCA, 0x40]);
        assert_eq!(e.block_modes, [0, 0, 1, 0, 0]);
        // An all-zero block in auto is header 00 and nothing else.
        let e = encode(&Tensor3::zeros(4, 1, 1), 4, &params(4, Mode::Auto));
        assert_eq!(e.bytes, vec![0x00]);
        assert_eq!(e.block_modes, [1, 0, 0, 0, 0]);
    }

    #[test]
    fn dct_block_exact_bytes() {
        // Flat 200s: X = [800, 0, 0, 0]; header 11, mask 1000, EG2(799): w = 803 (10 bits)
        // after 7 zeros, sign 0:
        // 11 1000 0000000 1100100011 0 = 1110_0000 0000_0110 0100_0110.
        let t = Tensor3::from_vec(4, 1, 1, vec![200; 4]);
        let e = encode(&t, 8, &params(4, Mode::Auto));
        assert_eq!(e.bytes, vec![0xE0, 0x06, 0x46]);
        assert_eq!(e.block_modes, [0, 0, 0, 1, 0]);
        // In dct mode there is no header: 1000 0000000 1100100011 0 + 2 bits padding.
        let e = encode(&t, 8, &params(4, Mode::Dct));
        assert_eq!(e.bytes, vec![0x80, 0x19, 0x18]);
        // A negative coefficient gets sign bit 1: [0, 5, 0, 15] in dct mode with keep 2,
        // step 4 -> Xq = [5, -4]: mask 11, EG2(4) = 01000, 0, EG2(3) = 111, 1
        // = 1101 0000 1111 -> 0xD0 0xF0.
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]);
        let p = CodecParams { step: 4, keep: 2, ..params(4, Mode::Dct) };
        assert_eq!(encode(&t, 4, &p).bytes, vec![0xD0, 0xF0]);
    }

    #[test]
    fn golomb_block_exact_bytes() {
        // k = 8, step 4 (h = 2), eg 0: q = [2 >> 2, 11 >> 2, 202 >> 2, 257 >> 2] = [0, 2, 50, 64].
        // Mask 0111, EG0(1) = 010, EG0(49) = 00000 110010, EG0(63) = 000000 1000000, 1 bit padding:
        // 0111_0100 0000_1100 1000_0000 1000_0000.
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 9, 200, 255]);
        let p = CodecParams { step: 4, eg_order: 0, ..params(4, Mode::Golomb) };
        let e = encode(&t, 8, &p);
        assert_eq!(e.bytes, vec![0x74, 0x0C, 0x80, 0x80]);
        assert_eq!(e.block_modes, [0, 0, 0, 0, 1]);
        // Step 1 is lossless, eg 1: [0, 5, 0, 15] -> mask 0101, EG1(4) = 0110, EG1(14) = 00010000.
        let t = Tensor3::from_vec(4, 1, 1, vec![0, 5, 0, 15]);
        let p = CodecParams { eg_order: 1, ..params(4, Mode::Golomb) };
        assert_eq!(encode(&t, 4, &p).bytes, vec![0x56, 0x10]);
        // C = 5, N = 4: a block of 4 and a short block of 1, each with its own mask (no headers).
        // [0, 0, 0, 0] -> 0000; [3] -> mask 1, EG1(2) = 0100: 0000_1010 0 + 7 bits padding.
        let t = Tensor3::from_vec(5, 1, 1, vec![0, 0, 0, 0, 3]);
        let e = encode(&t, 4, &p);
        assert_eq!(e.bytes, vec![0x0A, 0x00]);
        assert_eq!(e.block_modes, [0, 0, 0, 0, 2]);
    }

    /// All-zero and all-maximum blocks: a zero block is its `n` mask bits; a block of 255s
    /// quantises to the largest q at every step and costs `n` times its Exp-Golomb code.
    #[test]
    fn golomb_extreme_blocks() {
        for t in 0..=7 {
            let step = 1u32 << t;
            let p = CodecParams { step, ..params(8, Mode::Golomb) };
            let (e, bits) = encode_counting(&Tensor3::zeros(8, 1, 1), 8, &p);
            assert_eq!((e.bytes, bits), (vec![0x00], 8));
            let (e, bits) = encode_counting(&Tensor3::from_vec(8, 1, 1, vec![255; 8]), 8, &p);
            let q = crate::codec::golomb::max_value_q(step, 8) as u64;
            assert_eq!(bits, 8 + 8 * crate::codec::bits::exp_golomb_len(q - 1, 2) as u64, "step {step}");
            assert_eq!(e.bytes[0], 0xFF, "all mask bits set");
        }
    }

    #[test]
    fn raw_rows_are_padded() {
        // C = 3 (one short block with N = 4), k = 2, H = 2, W = 1: 6 bits + 2 padding per row.
        // Channel-major data: channel c of row y is data[c * 2 + y].
        let t = Tensor3::from_vec(3, 2, 1, vec![1, 3, 2, 0, 3, 1]);
        let e = encode(&t, 2, &params(4, Mode::Raw));
        // row 0: 01 10 11 00, row 1: 11 00 01 00.
        assert_eq!(e.bytes, vec![0x6C, 0xC4]);
        assert_eq!(e.block_modes, [0, 0, 2, 0, 0]);
        // Binary: C = 3, H = 1, W = 3; pixels [+,-,+], [+,-,-], [-,+,+] -> 101 100 011 + 7 zeros.
        // CHW data: channel 0 over x is +,+,-; channel 1 -,-,+; channel 2 +,-,+.
        let t = Tensor3::from_vec(3, 1, 3, vec![1, 1, -1, -1, -1, 1, 1, -1, 1]);
        let e = encode(&t, 1, &params(4, Mode::Raw));
        assert_eq!(e.bytes, vec![0xB1, 0x80]);
        // auto means raw for k = 1: identical stream.
        assert_eq!(encode(&t, 1, &params(4, Mode::Auto)), e);
        // Two rows of 9 bits each take 2 bytes each, not 3 bytes in total.
        let t = Tensor3::from_vec(3, 2, 3, vec![1; 18]);
        assert_eq!(encode(&t, 1, &params(4, Mode::Raw)).bytes, vec![0xFF, 0x80, 0xFF, 0x80]);
    }

    #[test]
    fn blocks_run_across_channels_of_one_pixel() {
        // C = 5, N = 4, k = 8, W = 2: pixel 0 is blocks [c0..c3 at x=0], [c4 at x=0], then x=1.
        let mut t = Tensor3::zeros(5, 1, 2);
        for c in 0..5 {
            t.set(c, 0, 0, 10 + c as i32);
            t.set(c, 0, 1, 20 + c as i32);
        }
        let e = encode(&t, 8, &params(4, Mode::Raw));
        assert_eq!(e.bytes, vec![10, 11, 12, 13, 14, 20, 21, 22, 23, 24]);
        assert_eq!(e.block_modes, [0, 0, 4, 0, 0]);
    }

    #[test]
    fn empty_tensors() {
        for (c, h, w) in [(0, 2, 2), (3, 0, 2), (3, 2, 0)] {
            let e = encode(&Tensor3::zeros(c, h, w), 4, &params(8, Mode::Auto));
            assert!(e.bytes.is_empty());
            assert_eq!(e.block_modes, [0; 5]);
        }
    }

    /// Block counts add up, the record lengths add up to the stream, and the stream length is
    /// the record-padded sum of the per-record bits.
    #[test]
    fn counts_and_lengths() {
        let mut rng = StdRng::seed_from_u64(3);
        for i in 0..300 {
            let case = random_case(&mut rng, Pattern::ALL[i % Pattern::ALL.len()]);
            let (e, unpadded) = encode_counting(&case.t, case.bits, &case.p);
            let (c, seg) = (case.t.c, case.p.segment);
            let per_pixel: usize = (0..c.div_ceil(seg)).map(|s| (seg.min(c - s * seg)).div_ceil(case.p.block)).sum();
            let blocks = (per_pixel * case.t.h * case.t.w) as u64;
            assert_eq!(e.block_modes.iter().sum::<u64>(), blocks);
            let records = (c.div_ceil(seg) * case.t.h) as u64;
            assert_eq!(e.records.len() as u64, records);
            assert_eq!(e.records.iter().sum::<usize>(), e.bytes.len());
            // Each record adds fewer than 8 padding bits, and its check byte if any.
            let checks = records * case.p.check.bytes() as u64;
            let bytes = e.bytes.len() as u64 - checks;
            assert!(unpadded <= 8 * bytes && 8 * bytes <= unpadded + 7 * records);
            if case.p.mode == Mode::Raw || case.bits == 1 {
                let record_bits = |s: usize| (seg.min(c - s * seg) * case.t.w) as u64 * case.bits as u64;
                let row_bytes: u64 = (0..c.div_ceil(seg)).map(|s| record_bits(s).div_ceil(8)).sum();
                assert_eq!(bytes, case.t.h as u64 * row_bytes);
            }
        }
    }

    /// SPEC 8.6 makes auto pick per block the cheapest mode, and sparse is always a candidate,
    /// so an auto stream is never longer than the sparse one plus its 2-bit headers.
    #[test]
    fn auto_never_beats_sparse_by_more_than_headers() {
        let mut rng = StdRng::seed_from_u64(86);
        let mut tensors = 0;
        for i in 0..1500 {
            let case = random_case(&mut rng, Pattern::ALL[i % Pattern::ALL.len()]);
            if case.bits == 1 {
                continue;
            }
            tensors += 1;
            let auto = CodecParams { mode: Mode::Auto, ..case.p };
            let sparse = CodecParams { mode: Mode::Sparse, ..case.p };
            let (ea, bits_auto) = encode_counting(&case.t, case.bits, &auto);
            let (es, bits_sparse) = encode_counting(&case.t, case.bits, &sparse);
            let blocks = ea.block_modes.iter().sum::<u64>();
            assert!(
                bits_auto <= bits_sparse + 2 * blocks,
                "auto {bits_auto} > sparse {bits_sparse} + 2 * {blocks} blocks"
            );
            // The same holds record by record, hence for the padded byte lengths in this form.
            let records = ea.records.len() as u64;
            assert!(ea.bytes.len() as u64 * 8 <= es.bytes.len() as u64 * 8 + 2 * blocks + 7 * records);
            // Sparse's own length follows SPEC 8.4 (n mask bits + k per non-zero value).
            let nnz = case.t.data.iter().filter(|&&v| v != 0).count() as u64;
            let n_values = case.t.data.len() as u64;
            assert_eq!(bits_sparse, n_values + case.bits as u64 * nnz);
        }
        assert!(tensors > 1000);
    }

    /// Over varied data auto really uses every block mode (otherwise the tests above would not
    /// exercise the dct and zero paths of auto streams).
    #[test]
    fn auto_uses_every_mode() {
        let mut rng = StdRng::seed_from_u64(5);
        let mut total = [0u64; 5];
        for i in 0..400 {
            let mut case = random_case(&mut rng, Pattern::ALL[i % Pattern::ALL.len()]);
            if case.bits == 1 {
                continue;
            }
            case.p.mode = Mode::Auto;
            let e = encode(&case.t, case.bits, &case.p);
            for (sum, n) in total.iter_mut().zip(e.block_modes) {
                *sum += n;
            }
        }
        // Golomb is not a candidate of auto (SPEC 8.6).
        assert!(total[..4].iter().all(|&n| n > 0) && total[4] == 0, "block modes used: {total:?}");
    }

    #[test]
    #[should_panic(expected = "invalid codec parameters")]
    fn encode_rejects_bad_params() {
        let t = Tensor3::from_vec(1, 1, 1, vec![1]);
        encode(&t, 1, &params(4, Mode::Sparse));
    }

    #[test]
    #[should_panic(expected = "not a legal 4-bit value")]
    fn encode_rejects_out_of_range_values() {
        let t = Tensor3::from_vec(2, 1, 1, vec![1, 16]);
        encode(&t, 4, &params(4, Mode::Raw));
    }
}
