//! The decoder on corrupt and truncated records, in the emitted core under Icarus: a layer reads
//! its input records as the host stored them, cut short, emptied, lengthened or with one bit
//! flipped. Every run must finish (`busy` falls), raise the core's `error` flag exactly when the
//! golden decoder rejects one of the records (SPEC 8.2), and otherwise compute what the golden
//! model computes on what the golden decoder reads.

use super::codec_tests::{codec, config, input};
use crate::cosim::verilog_tools;
use crate::cosim::{run_layers_limited, LayerCase};
use cbnn::codec::{self, Mode, RecordCheck};
use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::network::{Geometry, Network, Op, OutputFn};
use cbnn::quant::{compile, QLayer};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Channels of the input: under one segment (`array.cols` = 8), so a record is one row, with a
/// short block of 7 values (the padding differs from row to row).
const C_IN: usize = 7;
const HW: usize = 6;

/// A conv layer reading a 4-bit input stored with `input_codec`, writing 4-bit raw records.
fn layer(cfg: &AccelConfig, rng: &mut StdRng, input_codec: cbnn::network::CodecSettings) -> QLayer {
    let g = Geometry { kernel: 3, stride: 1, padding: 1 };
    let w = (0..8 * C_IN * 9).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let mut net = Network::single_conv(C_IN, HW, HW, 8, g, 4, w);
    net.input.codec = input_codec;
    let Op::Weighted(wt) = &mut net.layers[0].op else { unreachable!() };
    wt.output = OutputFn::Relu { bits: 4, scale: Some(1.0), max: None };
    compile(&net, cfg, None).unwrap().layers.remove(0)
}

/// The records of `x` stored with the layer's input codec, one per row.
fn records(l: &QLayer, x: &Tensor3<i32>) -> Vec<Vec<u8>> {
    let e = codec::encode(x, l.in_bits, &l.in_codec);
    let mut rest = e.bytes.as_slice();
    e.records
        .iter()
        .map(|&n| {
            let (r, tail) = rest.split_at(n);
            rest = tail;
            r.to_vec()
        })
        .collect()
}

/// What the golden decoder reads from the records, row by row; `None` if it rejects one.
fn golden_read(l: &QLayer, recs: &[Vec<u8>]) -> Option<Tensor3<i32>> {
    let [c, h, w] = l.in_shape;
    let mut t = Tensor3::zeros(c, h, w);
    for (y, r) in recs.iter().enumerate() {
        let row = codec::decode(r, c, 1, w, l.in_bits, &l.in_codec).ok()?;
        for ch in 0..c {
            for x in 0..w {
                t.set(ch, y, x, row.get(ch, 0, x));
            }
        }
    }
    debug_assert_eq!(h, recs.len());
    Some(t)
}

/// The corrupted record sets: truncated by a byte, emptied, one byte longer, then `flips`
/// single-bit flips.
fn corruptions(rng: &mut StdRng, clean: &[Vec<u8>], flips: usize) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut out = vec![("clean".to_string(), clean.to_vec())];
    let mut edit = |what: String, f: &mut dyn FnMut(&mut Vec<Vec<u8>>)| {
        let mut r = clean.to_vec();
        f(&mut r);
        out.push((what, r));
    };
    edit("row 2 cut by a byte".into(), &mut |r| {
        r[2].pop();
    });
    edit("row 4 empty".into(), &mut |r| r[4].clear());
    edit("row 0 one byte longer".into(), &mut |r| r[0].push(0));
    edit("row 5 one byte longer (0xff)".into(), &mut |r| r[5].push(0xff));
    for _ in 0..flips {
        let row = rng.gen_range(0..clean.len());
        let bit = rng.gen_range(0..8 * clean[row].len());
        edit(format!("row {row} bit {bit} flipped"), &mut |r| r[row][bit / 8] ^= 0x80 >> (bit % 8));
    }
    out
}

/// Runs the corruptions of a `mode` stream through the core; returns how many decoded without
/// an error.
fn check_mode(mode: Mode, step: u32, eg: u32, seed: u64, check: RecordCheck) -> Option<usize> {
    if !verilog_tools::have_icarus("corrupt records") {
        return None;
    }
    let mut cfg = config(2, 8, 8, 1, 4);
    cfg.codec.check = check;
    let mut rng = StdRng::seed_from_u64(seed);
    let l = layer(&cfg, &mut rng, codec(mode, step, None, eg));
    let x = input(&mut rng, [C_IN, HW, HW], 4);
    let clean = records(&l, &x);
    let sets = corruptions(&mut rng, &clean, 48);
    let cases: Vec<LayerCase> = sets.iter().map(|(_, r)| LayerCase::records(&l, r)).collect();
    let modules = super::core_modules(&cfg).unwrap();
    // A clean run takes a few thousand cycles; a hung one is reported as an error.
    let (runs, _) = run_layers_limited(
        verilog_tools::Simulator::Icarus,
        &cfg,
        &modules,
        &cases,
        crate::cosim::Traffic::Free,
        200_000,
    )
    .unwrap_or_else(|e| panic!("{mode}: {e:#}"));
    let (mut detected, mut silent) = (0, 0);
    for ((what, recs), run) in sets.iter().zip(&runs) {
        let read = golden_read(&l, recs);
        assert_eq!(run.error, read.is_none(), "{mode}, {what}: the error flag against the golden decoder");
        if let Some(t) = read {
            assert_eq!(run.output.data, golden::layer_output(&l, &t).data, "{mode}, {what}: output");
            silent += usize::from(what != "clean" && recs != &clean);
        } else {
            detected += 1;
        }
    }
    assert!(!runs[0].error && runs[1..5].iter().all(|r| r.error), "{mode}: length errors are flagged");
    println!("{mode}, check {check}: {detected} corrupt record sets flagged, {silent} decoded without error");
    Some(silent)
}

#[test]
fn sparse_records_corrupt_or_truncated_raise_the_error_and_finish() {
    check_mode(Mode::Sparse, 1, 2, 81, RecordCheck::None);
}

#[test]
fn golomb_records_corrupt_or_truncated_raise_the_error_and_finish() {
    check_mode(Mode::Golomb, 2, 1, 82, RecordCheck::None);
}

#[test]
fn raw_records_corrupt_or_truncated_raise_the_error_and_finish() {
    check_mode(Mode::Raw, 1, 2, 83, RecordCheck::None);
}

/// With the record check (SPEC 8.9) no corruption decodes: raw records, which have no
/// redundancy of their own, included.
#[test]
fn with_the_record_check_every_corrupt_record_raises_the_error() {
    if let Some(silent) = check_mode(Mode::Raw, 1, 2, 84, RecordCheck::Crc8) {
        assert_eq!(silent, 0, "corrupt raw records decoded without an error");
    }
}
