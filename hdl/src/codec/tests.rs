//! The codec's Verilog under Icarus against the golden codec (`cbnn::codec`): the encoder's
//! records must be the golden bitstream byte for byte and record for record, the decoder must
//! turn the golden records back into exactly the golden decoder's values; both for every mode,
//! block and port widths, channel counts that are and are not multiples of the block, all-zero
//! and all-maximum blocks, random, smooth and real activations, with random gaps on both sides.

use super::decoder::CodecDecoder;
use super::encoder::CodecEncoder;
use super::CodecGeom;
use crate::cosim::verilog_tools;
use crate::generator::verilog::emit_block;
use cbnn::codec::{decode, encode, segment_blocks, segments, CodecParams, Encoded, Mode, RecordCheck};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::Path;

/// One tensor and how to code it.
struct Case {
    params: CodecParams,
    bits: u32,
    tensor: Tensor3<i32>,
}

/// The modes, steps, keeps and orders to try for `bits`-bit values with blocks of `n`.
fn settings(bits: u32, n: usize) -> Vec<(Mode, u32, usize, u32)> {
    if bits == 1 {
        return vec![(Mode::Raw, 1, n, 2), (Mode::Auto, 1, n, 2)];
    }
    vec![
        (Mode::Raw, 1, n, 2),
        (Mode::Sparse, 1, n, 2),
        (Mode::Dct, 1, n, 2),
        (Mode::Dct, 16, n / 2 + 1, 0),
        (Mode::Dct, 128, n, 7),
        (Mode::Auto, 1, n, 2),
        (Mode::Auto, 16, n, 2),
        (Mode::Auto, 32, 3, 1),
        (Mode::Golomb, 1, n, 5),
        (Mode::Golomb, 4, n, 3),
        (Mode::Golomb, 8, n, 0),
    ]
}

/// A `[c, h, w]` tensor of `bits`-bit values of one of several kinds.
fn tensor(rng: &mut StdRng, kind: usize, bits: u32, c: usize, h: usize, w: usize) -> Tensor3<i32> {
    let max = (1i32 << bits) - 1;
    let mut data = Vec::with_capacity(c * h * w);
    for idx in 0..c * h * w {
        let v = match kind {
            0 => rng.gen_range(0..=max),
            // Sparse, as after a ReLU.
            1 => {
                if rng.gen_bool(0.6) {
                    0
                } else {
                    rng.gen_range(1..=max)
                }
            }
            2 => 0,
            3 => max,
            // Smooth across channels: the dct's case.
            _ => (max / 2 + ((idx / (h * w)) as i32 % 5) * max / 16 + rng.gen_range(-2..=2)).clamp(0, max),
        };
        data.push(if bits == 1 { [-1, 1][(v & 1) as usize] } else { v });
    }
    Tensor3::from_vec(c, h, w, data)
}

/// A crop of a real activation dump (testdata/real), `c` channels from channel `c0`.
fn real_crop(name: &str, c0: usize, c: usize, h: usize, w: usize) -> Tensor3<i32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/real").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = cbnn::npyio::parse_int(&bytes, cbnn::npyio::Elem::U8).unwrap();
    let (ac, ah, aw) = (a.shape[0], a.shape[1], a.shape[2]);
    assert!(c0 + c <= ac && h <= ah && w <= aw, "crop of {name}");
    let mut t = Tensor3::zeros(c, h, w);
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                t.set(ch, y, x, a.data[((c0 + ch) * ah + y) * aw + x] as i32);
            }
        }
    }
    t
}

/// Every mode on random, sparse, zero, full, smooth and real tensors whose channel counts are
/// and are not multiples of the block and of the segment.
/// The record check the geometry's blocks are generated with.
fn check(g: &CodecGeom) -> RecordCheck {
    if g.check {
        RecordCheck::Crc8
    } else {
        RecordCheck::None
    }
}

fn cases(seed: u64, g: &CodecGeom) -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(seed);
    let (n, s) = (g.block, g.segment);
    let channels = [s, n, 2 * s + 3, n + 1, 5];
    let mut out = Vec::new();
    let mut k = 0;
    for bits in [8, 1, 3] {
        for (mode, step, keep, eg) in settings(bits, n) {
            for kind in 0..5 {
                let c = channels[k % channels.len()];
                k += 1;
                let (h, w) = (rng.gen_range(1..=2), rng.gen_range(1..=3));
                let params = CodecParams { block: n, mode, step, keep, eg_order: eg, segment: s, check: check(g) };
                out.push(Case { params, bits, tensor: tensor(&mut rng, kind, bits, c, h, w) });
            }
        }
    }
    for (name, c0) in [("rocket__head_relu.npy", 40), ("chelsea__b06_dw_relu.npy", 3), ("coffee__b02_dw_relu.npy", 0)] {
        for (mode, step, keep, eg) in settings(8, n) {
            let params = CodecParams { block: n, mode, step, keep, eg_order: eg, segment: s, check: check(g) };
            out.push(Case { params, bits: 8, tensor: real_crop(name, c0, 2 * s + 3, 2, 4) });
        }
    }
    out
}

/// The tensor's blocks in stream order (SPEC 8.3): the activation stream's word, the value
/// count and whether the block ends its record.
fn blocks(t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> Vec<(u128, usize, bool)> {
    let code = |v: i32| if bits == 1 { (v > 0) as u128 } else { v as u128 };
    let mut out = Vec::new();
    for y in 0..t.h {
        for seg in segments(t.c, p.segment) {
            for x in 0..t.w {
                let bs: Vec<_> = segment_blocks(seg.clone(), p.block).collect();
                for (k, b) in bs.iter().enumerate() {
                    let word = (0..b.n).fold(0u128, |w, i| w | code(t.get(b.ch0 + i, y, x)) << (8 * i));
                    out.push((word, b.n, x + 1 == t.w && k + 1 == bs.len()));
                }
            }
        }
    }
    out
}

fn block_words(t: &Tensor3<i32>, bits: u32, p: &CodecParams) -> Vec<u128> {
    blocks(t, bits, p).into_iter().map(|b| b.0).collect()
}

/// Testbench statements setting the codec parameter ports for `case`.
fn set_params(case: &Case) -> String {
    let p = &case.params;
    format!(
        "mode = {}; bits = {}; step_t = {}; keep = {}; eg = {}; t_ch = {}; t_w = {};",
        p.mode.code(),
        case.bits,
        p.step.trailing_zeros(),
        p.keep,
        p.eg_order,
        case.tensor.c,
        case.tensor.w
    )
}

const PARAM_REGS: &str =
    "reg [2:0] mode = 0, step_t = 0, eg = 0; reg [3:0] bits = 0; reg [4:0] keep = 0; reg [15:0] t_ch = 0, t_w = 0;";
const PARAM_CONNS: &str = ".mode(mode), .bits(bits), .step_t(step_t), .keep(keep), .eg(eg)";
const SHAPE_CONNS: &str = ".t_ch(t_ch), .t_w(t_w)";

/// Bytes `0..nbytes` of a beat printed by `%h` (byte `j` in bits `[8j + 7 : 8j]`).
fn beat_bytes(hex: &str, nbytes: usize) -> Vec<u8> {
    let d = hex.len();
    (0..nbytes).map(|j| u8::from_str_radix(&hex[d - 2 * j - 2..d - 2 * j], 16).unwrap()).collect()
}

/// Runs `cases` through the encoder's Verilog; per case its records (bytes) and byte counter.
fn run_encoder<const D: usize, const PD: usize>(cases: &[Case]) -> Option<Vec<(Vec<Vec<u8>>, u64)>> {
    if !verilog_tools::have_icarus("codec encoder co-simulation") {
        return None;
    }
    let mut words = Vec::new();
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clock = 0, start = 0, in_valid = 0, in_last = 0, out_ready = 0; reg [{}:0] in_data = 0; reg [4:0] in_n = 0;", D - 1).unwrap();
    writeln!(tb, "{PARAM_REGS}").unwrap();
    writeln!(
        tb,
        "wire in_ready, out_valid, out_last, idle; wire [{}:0] out_data; wire [4:0] out_nbytes; wire [31:0] bytes;",
        PD - 1
    )
    .unwrap();
    writeln!(tb, "integer i, e, t, seed = 7; reg [1:0] junk;").unwrap();
    let mut body = String::new();
    for (c, case) in cases.iter().enumerate() {
        let a = words.len();
        for (word, n, last) in blocks(&case.tensor, case.bits, &case.params) {
            words.push(format!("{:02x}{word:0width$x}", (last as usize) << 5 | n, width = D / 4));
        }
        writeln!(
            body,
            "{} start = 1; #1 clock = 1; #1 clock = 0; start = 0; i = {a}; e = {}; t = 0;",
            set_params(case),
            words.len()
        )
        .unwrap();
        writeln!(
            body,
            "while ((i < e || !idle) && t < 100000) begin\n\
             \x20 in_valid = (i < e) && (($random(seed) & 3) != 0); {{junk, in_last, in_n, in_data}} = (i < e) ? mem[i] : 0;\n\
             \x20 out_ready = (($random(seed) & 3) != 0);\n\
             \x20 #1;\n\
             \x20 if (in_valid && in_ready) i = i + 1;\n\
             \x20 if (out_valid && out_ready) $display(\"O {c} %h %0d %0d\", out_data, out_nbytes, out_last);\n\
             \x20 clock = 1; #1 clock = 0; t = t + 1;\n\
             end\n\
             in_valid = 0; out_ready = 0; $display(\"E {c} %0d %0d\", bytes, t);"
        )
        .unwrap();
    }
    writeln!(tb, "reg [{}:0] mem [0:{}];", D + 7, words.len().max(1) - 1).unwrap();
    writeln!(tb, "enc dut(.clock(clock), .start(start), {PARAM_CONNS}, .in_valid(in_valid), .in_data(in_data), .in_n(in_n), .in_last(in_last), .in_ready(in_ready), .out_valid(out_valid), .out_data(out_data), .out_nbytes(out_nbytes), .out_last(out_last), .out_ready(out_ready), .bytes(bytes), .idle(idle));").unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"blocks.hex\", mem);\n{body}$finish;\nend\nendmodule").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("blocks.hex"), words.join("\n") + "\n").unwrap();
    let with_check = cases.iter().any(|c| c.params.check == RecordCheck::Crc8);
    let enc = CodecEncoder::<D, PD>::with_check(with_check);
    let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(enc, "enc")).unwrap();
    let mut res: Vec<(Vec<Vec<u8>>, u64)> = (0..cases.len()).map(|_| (vec![Vec::new()], 0)).collect();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"O") => {
                let c: usize = f[1].parse().unwrap();
                let recs = &mut res[c].0;
                recs.last_mut().unwrap().extend(beat_bytes(f[2], f[3].parse().unwrap()));
                if f[4] == "1" {
                    recs.push(Vec::new());
                }
            }
            Some(&"E") => {
                let c: usize = f[1].parse().unwrap();
                assert!(f[3].parse::<u64>().unwrap() < 100000, "case {c}: the encoder did not finish");
                res[c].1 = f[2].parse().unwrap();
            }
            _ => {}
        }
    }
    for r in &mut res {
        // The record opened after the last `out_last` stays empty.
        assert_eq!(r.0.pop(), Some(Vec::new()), "bytes after the last record");
    }
    Some(res)
}

fn check_encoder<const D: usize, const PD: usize>(g: CodecGeom, seed: u64) {
    let cases = cases(seed, &g);
    let Some(runs) = run_encoder::<D, PD>(&cases) else { return };
    for (case, (records, count)) in cases.iter().zip(runs) {
        let want: Encoded = encode(&case.tensor, case.bits, &case.params);
        let what = format!("{:?}, {} bits, shape {:?}", case.params, case.bits, case.tensor.shape());
        let sizes: Vec<usize> = records.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, want.records, "record sizes: {what}");
        assert_eq!(records.concat(), want.bytes, "bitstream: {what}");
        assert_eq!(count, want.bytes.len() as u64, "byte counter: {what}");
    }
}

/// Runs the golden records of `cases` through the decoder's Verilog (`corrupt` may alter a
/// case's records first); per case the blocks it output and its error flag.
fn run_decoder<const D: usize, const PD: usize>(
    g: CodecGeom,
    cases: &[Case],
    corrupt: impl Fn(usize, &mut Vec<Vec<u8>>),
) -> Option<Vec<(Vec<u128>, bool, u64)>> {
    if !verilog_tools::have_icarus("codec decoder co-simulation") {
        return None;
    }
    let p = g.port_bytes;
    // One memory word per beat, {2'b0, last, nbytes, data}, as a hex line.
    let mut beats: Vec<String> = Vec::new();
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clock = 0, start = 0, in_valid = 0, in_last = 0, out_ready = 0;").unwrap();
    writeln!(tb, "reg [{}:0] in_data = 0; reg [4:0] in_nbytes = 0;\n{PARAM_REGS}", PD - 1).unwrap();
    writeln!(tb, "wire in_ready, out_valid, error; wire [{}:0] out_data; wire [31:0] bytes;", D - 1).unwrap();
    writeln!(tb, "integer i, e, t, nb, seed = 11; reg [1:0] junk;").unwrap();
    let mut body = String::new();
    for (c, case) in cases.iter().enumerate() {
        let enc = encode(&case.tensor, case.bits, &case.params);
        let mut recs: Vec<Vec<u8>> = Vec::new();
        let mut at = 0;
        for len in &enc.records {
            recs.push(enc.bytes[at..at + len].to_vec());
            at += len;
        }
        corrupt(c, &mut recs);
        let a = beats.len();
        for r in &recs {
            let chunks: Vec<&[u8]> = r.chunks(p).collect();
            for (k, ch) in chunks.iter().enumerate() {
                let head = ((k + 1 == chunks.len()) as usize) << 5 | ch.len();
                let data: String = (0..p).rev().map(|j| format!("{:02x}", ch.get(j).copied().unwrap_or(0))).collect();
                beats.push(format!("{head:02x}{data}"));
            }
        }
        let blocks = block_words(&case.tensor, case.bits, &case.params).len();
        writeln!(
            body,
            "{} start = 1; #1 clock = 1; #1 clock = 0; start = 0; i = {a}; e = {}; t = 0; nb = 0;",
            set_params(case),
            beats.len()
        )
        .unwrap();
        writeln!(
            body,
            "while (nb < {blocks} && t < 100000) begin\n\
             \x20 in_valid = (i < e) && (($random(seed) & 3) != 0);\n\
             \x20 {{junk, in_last, in_nbytes, in_data}} = (i < e) ? mem[i] : 0;\n\
             \x20 out_ready = (($random(seed) & 3) != 0);\n\
             \x20 #1;\n\
             \x20 if (in_valid && in_ready) i = i + 1;\n\
             \x20 if (out_valid && out_ready) begin $display(\"O {c} %h\", out_data); nb = nb + 1; end\n\
             \x20 clock = 1; #1 clock = 0; t = t + 1;\n\
             end\n\
             in_valid = 0; out_ready = 0;\n\
             for (t = 0; t < 8; t = t + 1) begin in_valid = (i < e); {{junk, in_last, in_nbytes, in_data}} = (i < e) ? mem[i] : 0; #1 if (in_valid && in_ready) i = i + 1; clock = 1; #1 clock = 0; end\n\
             in_valid = 0; $display(\"E {c} %0d %0d %0d\", error, bytes, e - i);"
        )
        .unwrap();
    }
    writeln!(tb, "reg [{}:0] mem [0:{}];", PD + 7, beats.len().max(1) - 1).unwrap();
    writeln!(tb, "dec dut(.clock(clock), .start(start), {PARAM_CONNS}, {SHAPE_CONNS}, .in_valid(in_valid), .in_data(in_data), .in_nbytes(in_nbytes), .in_last(in_last), .in_ready(in_ready), .out_valid(out_valid), .out_data(out_data), .out_ready(out_ready), .bytes(bytes), .error(error));").unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"beats.hex\", mem);\n{body}$finish;\nend\nendmodule").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("beats.hex"), beats.join("\n") + "\n").unwrap();
    let out =
        verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(CodecDecoder::<D, PD>::new(g), "dec")).unwrap();
    let mut res: Vec<(Vec<u128>, bool, u64)> = (0..cases.len()).map(|_| (Vec::new(), false, 0)).collect();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"O") => res[f[1].parse::<usize>().unwrap()].0.push(u128::from_str_radix(f[2], 16).unwrap()),
            Some(&"E") => {
                let c: usize = f[1].parse().unwrap();
                res[c].1 = f[2] == "1";
                res[c].2 = f[3].parse().unwrap();
                assert_eq!(f[4], "0", "case {c}: beats left unread");
            }
            _ => {}
        }
    }
    Some(res)
}

fn check_decoder<const D: usize, const PD: usize>(g: CodecGeom, seed: u64) {
    let cases = cases(seed, &g);
    let Some(runs) = run_decoder::<D, PD>(g, &cases, |_, _| {}) else { return };
    for (case, (blocks, error, count)) in cases.iter().zip(runs) {
        let (t, p) = (&case.tensor, &case.params);
        let what = format!("{p:?}, {} bits, shape {:?}", case.bits, t.shape());
        let enc = encode(t, case.bits, p);
        let want = decode(&enc.bytes, t.c, t.h, t.w, case.bits, p).unwrap();
        assert_eq!(blocks, block_words(&want, case.bits, p), "decoded blocks: {what}");
        assert!(!error, "error flag on a valid stream: {what}");
        assert_eq!(count, enc.bytes.len() as u64, "byte counter: {what}");
    }
}

#[test]
fn encoder_verilog_writes_the_golden_bitstream() {
    check_encoder::<64, 64>(CodecGeom::new(8, 8, 8), 1);
    check_encoder::<64, 8>(CodecGeom::new(8, 1, 16), 2);
    check_encoder::<32, 128>(CodecGeom::new(4, 16, 8), 3);
}

#[test]
fn encoder_verilog_block_of_16() {
    check_encoder::<128, 32>(CodecGeom::new(16, 4, 16), 4);
}

#[test]
fn decoder_verilog_reads_the_golden_bitstream() {
    check_decoder::<64, 64>(CodecGeom::new(8, 8, 8), 5);
    check_decoder::<64, 8>(CodecGeom::new(8, 1, 16), 6);
    check_decoder::<32, 128>(CodecGeom::new(4, 16, 8), 7);
}

#[test]
fn decoder_verilog_block_of_16() {
    check_decoder::<128, 32>(CodecGeom::new(16, 4, 16), 8);
}

/// With the record check (SPEC 8.9): the encoder appends each record's CRC-8 byte and the
/// decoder reads such records, both as the golden codec does.
#[test]
fn encoder_and_decoder_verilog_with_the_record_check() {
    check_encoder::<64, 32>(CodecGeom::new(8, 4, 8).with_check(true), 12);
    check_encoder::<64, 8>(CodecGeom::new(8, 1, 16).with_check(true), 13);
    check_decoder::<64, 32>(CodecGeom::new(8, 4, 8).with_check(true), 14);
    check_decoder::<64, 8>(CodecGeom::new(8, 1, 16).with_check(true), 15);
}

/// With the record check, a flipped bit anywhere in a record raises `error`, value bits and
/// the check byte included, which the checks of SPEC 8.2 alone cannot see.
#[test]
fn decoder_verilog_with_the_record_check_flags_every_flipped_bit() {
    let g = CodecGeom::new(8, 4, 8).with_check(true);
    let mut rng = StdRng::seed_from_u64(16);
    let p =
        CodecParams { block: 8, mode: Mode::Raw, step: 1, keep: 8, eg_order: 2, segment: 8, check: RecordCheck::Crc8 };
    let t = tensor(&mut rng, 1, 8, 8, 2, 3);
    let bytes = encode(&t, 8, &p).records[0];
    // Every bit of the first record flipped in turn, then the intact stream.
    let cases: Vec<Case> = (0..=8 * bytes).map(|_| Case { params: p, bits: 8, tensor: t.clone() }).collect();
    let corrupt = |c: usize, recs: &mut Vec<Vec<u8>>| {
        if c < 8 * bytes {
            recs[0][c / 8] ^= 0x80 >> (c % 8);
        }
    };
    let Some(runs) = run_decoder::<64, 32>(g, &cases, corrupt) else { return };
    let flags: Vec<bool> = runs.iter().map(|r| r.1).collect();
    assert!(flags[..8 * bytes].iter().all(|&f| f), "unflagged flips: {flags:?}");
    assert!(!flags[8 * bytes], "the intact stream is not flagged");
}

/// Streams the golden decoder rejects for their structure raise `error`; the decoder still
/// consumes every beat it is given and recovers at the next `start`.
#[test]
fn decoder_verilog_flags_broken_records() {
    let g = CodecGeom::new(8, 4, 8);
    let mut rng = StdRng::seed_from_u64(9);
    let mk = |rng: &mut StdRng, mode, bits, c| Case {
        params: CodecParams { block: 8, mode, step: 1, keep: 8, eg_order: 2, segment: 8, check: RecordCheck::None },
        bits,
        tensor: tensor(rng, 1, bits, c, 2, 3),
    };
    // Raw 3-bit values, 5 channels, 3 pixels: 45 bits, so each record ends in 3 padding bits.
    let cases: Vec<Case> = vec![
        mk(&mut rng, Mode::Sparse, 8, 8),
        mk(&mut rng, Mode::Sparse, 8, 8),
        mk(&mut rng, Mode::Raw, 3, 5),
        mk(&mut rng, Mode::Sparse, 8, 8),
    ];
    let corrupt = |c: usize, recs: &mut Vec<Vec<u8>>| match c {
        0 => recs[0].push(0), // a byte after the record's blocks
        1 => {
            recs[1].pop(); // the record ends early
        }
        2 => *recs[0].last_mut().unwrap() |= 1, // a set padding bit
        _ => {}                                 // intact: the error is cleared by start
    };
    let Some(runs) = run_decoder::<64, 32>(g, &cases, corrupt) else { return };
    let flags: Vec<bool> = runs.iter().map(|r| r.1).collect();
    assert_eq!(flags, [true, true, true, false]);
}

/// Lint of a geometry the default core does not use (blocks of 16, 2-byte port); the default
/// geometry's encoder and decoder are linted and synthesised inside the default core
/// (`top::tests::default_config_verilog_is_lint_clean_and_synthesises`), which is where their
/// synthesis time is spent once.
#[test]
fn verilog_is_lint_clean() {
    if !verilog_tools::have_verilator("codec lint") {
        return;
    }
    let g = CodecGeom::new(16, 2, 32);
    let dir = tempfile::tempdir().unwrap();
    let c = g.with_check(true);
    for (name, m) in [
        ("enc", emit_block(CodecEncoder::<128, 16>::new(), "enc")),
        ("dec", emit_block(CodecDecoder::<128, 16>::new(g), "dec")),
        ("enc_crc", emit_block(CodecEncoder::<128, 16>::with_check(true), "enc_crc")),
        ("dec_crc", emit_block(CodecDecoder::<128, 16>::new(c), "dec_crc")),
    ] {
        let files = verilog_tools::write_split(dir.path(), &crate::generator::verilog::join(&m)).unwrap();
        verilog_tools::verilator_lint(&files, name).unwrap_or_else(|e| panic!("codec {name}: {e}"));
    }
}
