//! The gather stage's Verilog under Icarus against the block order of SPEC 8.3: random layer
//! shapes (several bands, filter tiles with a short last one, rows of one pixel), PPU groups of
//! 1, 2 and 4, blocks of 4 and 8, junk in the lanes' high bits, random valid and ready.

use super::*;
use crate::cosim::verilog_tools;
use cbnn::codec::segment_blocks;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// One layer's loop bounds as the registers give them.
struct Case {
    w_out: u32,
    band_out_rows: u32,
    h_out: u32,
    c_out: u32,
    /// A grouped layer's order: each row's tiles in turn.
    grouped: bool,
}

impl Case {
    fn tiles(&self, s: &GatherShape) -> u32 {
        self.c_out.div_ceil(s.cols as u32)
    }

    /// `(tile, y, x)` of every output pixel in the drain's order: band, tile, row, pixel (a
    /// grouped layer: row, tile, pixel).
    fn pixels(&self, s: &GatherShape) -> Vec<(u32, u32, u32)> {
        let mut v = Vec::new();
        if self.grouped {
            for y in 0..self.h_out {
                for t in 0..self.tiles(s) {
                    v.extend((0..self.w_out).map(|x| (t, y, x)));
                }
            }
            return v;
        }
        for y0 in (0..self.h_out).step_by(self.band_out_rows as usize) {
            for t in 0..self.tiles(s) {
                for y in y0..(y0 + self.band_out_rows).min(self.h_out) {
                    for x in 0..self.w_out {
                        v.push((t, y, x));
                    }
                }
            }
        }
        v
    }
}

/// A block the encoder takes: its values, value count and record-end flag.
type Block = (Vec<u8>, usize, bool);

fn value(t: u32, y: u32, x: u32, ch: usize) -> u8 {
    (t.wrapping_mul(131) ^ y.wrapping_mul(29) ^ x.wrapping_mul(7) ^ (ch as u32).wrapping_mul(53)) as u8
}

/// The drain's beats (as hex words, high lane bits random) and the blocks the encoder must get:
/// `(values, n, last)`.
fn streams(rng: &mut StdRng, s: &GatherShape, c: &Case) -> (Vec<String>, Vec<Block>) {
    let (mut beats, mut blocks) = (Vec::new(), Vec::new());
    for (t, y, x) in c.pixels(s) {
        let ch0 = t as usize * s.cols;
        for cl in 0..s.g_hw {
            let mut word = zero_word(s);
            for j in 0..s.lanes {
                let junk: u64 = rng.gen_range(0..1u64 << (s.lane_bits - 8));
                let lane = junk << 8 | value(t, y, x, ch0 + j * s.g_hw + cl) as u64;
                set_bits(&mut word, j * s.lane_bits, s.lane_bits, lane);
            }
            beats.push(word.iter().rev().map(|b| format!("{b:02x}")).collect::<String>());
        }
        let seg = ch0..(ch0 + s.cols).min(c.c_out as usize);
        let spans: Vec<_> = segment_blocks(seg.clone(), s.block).collect();
        for (k, b) in spans.iter().enumerate() {
            let vals = (0..b.n).map(|i| value(t, y, x, b.ch0 + i)).collect();
            blocks.push((vals, b.n, x == c.w_out - 1 && k == spans.len() - 1));
        }
    }
    (beats, blocks)
}

/// A little-endian byte vector holding a beat of `lanes * lane_bits` bits.
fn zero_word(s: &GatherShape) -> Vec<u8> {
    vec![0u8; (s.lanes * s.lane_bits).div_ceil(8)]
}

fn set_bits(word: &mut [u8], at: usize, n: usize, v: u64) {
    for i in 0..n {
        if v >> i & 1 == 1 {
            word[(at + i) / 8] |= 1 << ((at + i) % 8);
        }
    }
}

fn check(s: GatherShape, seed: u64) {
    if !verilog_tools::have_icarus("gather stage co-simulation") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let cases: Vec<Case> = (0..8)
        .map(|i| {
            let h_out = rng.gen_range(1..6);
            Case {
                w_out: if i == 0 { 1 } else { rng.gen_range(1..6) },
                band_out_rows: rng.gen_range(1..=h_out),
                h_out,
                c_out: rng.gen_range(1..(3 * s.cols as u32 + 2)),
                grouped: i % 3 == 2,
            }
        })
        .collect();
    let bw = s.lanes * s.lane_bits;
    let (mut mem, mut want) = (Vec::new(), Vec::new());
    let mut body = String::new();
    for (i, c) in cases.iter().enumerate() {
        let (beats, blocks) = streams(&mut rng, &s, c);
        let a = mem.len();
        mem.extend(beats);
        want.push(blocks);
        writeln!(
            body,
            "w_out = {}; band_out_rows = {}; h_out = {}; filter_tiles = {}; c_out = {}; grouped = {};\n\
             start = 1; #1 clock = 1; #1 clock = 0; start = 0; k = {a}; e = {}; t = 0;\n\
             while ((k < e || busy) && t < 10000) begin\n\
             \x20 in_valid = (k < e) && (($random(seed) & 3) != 0); in_data = mem[k];\n\
             \x20 out_ready = (($random(seed) & 3) != 0);\n\
             \x20 #1;\n\
             \x20 if (in_valid && in_ready) k = k + 1;\n\
             \x20 if (out_valid && out_ready) $display(\"O {i} %h %0d %0d\", out_data, out_n, out_last);\n\
             \x20 clock = 1; #1 clock = 0; t = t + 1;\n\
             end\n\
             in_valid = 0; $display(\"E {i} %0d\", t);",
            c.w_out,
            c.band_out_rows,
            c.h_out,
            c.tiles(&s),
            c.c_out,
            c.grouped as u8,
            mem.len()
        )
        .unwrap();
    }
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clock = 0, start = 0, in_valid = 0, out_ready = 0, grouped = 0;").unwrap();
    writeln!(tb, "reg [15:0] w_out = 1, band_out_rows = 1, h_out = 1, filter_tiles = 1, c_out = 1;").unwrap();
    writeln!(tb, "reg [{}:0] in_data = 0; reg [{}:0] mem [0:{}];", bw - 1, bw - 1, mem.len() - 1).unwrap();
    writeln!(tb, "wire in_ready, out_valid, out_last, busy; wire [{}:0] out_data; wire [4:0] out_n;", 8 * s.block - 1)
        .unwrap();
    writeln!(tb, "integer k, e, t, seed = {seed};").unwrap();
    let regs: Vec<String> = register_ports().iter().map(|r| format!(".{r}({r})")).collect();
    writeln!(tb, "gat dut(.clock(clock), .start(start), {}, .in_valid(in_valid), .in_data(in_data), .in_ready(in_ready), .out_valid(out_valid), .out_data(out_data), .out_n(out_n), .out_last(out_last), .out_ready(out_ready), .busy(busy));", regs.join(", ")).unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"beats.hex\", mem);\n{body}$finish;\nend\nendmodule").unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("beats.hex"), mem.join("\n") + "\n").unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &tb, &[gather_module("gat", &s)]).unwrap();
    let mut got: Vec<Vec<Block>> = vec![Vec::new(); cases.len()];
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"O") => {
                let (i, n): (usize, usize) = (f[1].parse().unwrap(), f[3].parse().unwrap());
                let hex = f[2];
                let d = hex.len();
                let vals = (0..n).map(|j| u8::from_str_radix(&hex[d - 2 * j - 2..d - 2 * j], 16).unwrap()).collect();
                got[i].push((vals, n, f[4] == "1"));
            }
            Some(&"E") => assert!(f[2].parse::<u32>().unwrap() < 10000, "case {}: the stage hung", f[1]),
            _ => {}
        }
    }
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g.len(), w.len(), "{s:?} case {i}: block count");
        for (k, (a, b)) in g.iter().zip(w).enumerate() {
            assert_eq!(a, b, "{s:?} case {i} block {k}");
        }
    }
}

#[test]
fn gather_verilog_cuts_result_beats_into_codec_blocks() {
    check(GatherShape { cols: 8, g_hw: 1, lanes: 8, lane_bits: 24, block: 8 }, 1);
    check(GatherShape { cols: 16, g_hw: 2, lanes: 8, lane_bits: 16, block: 8 }, 2);
    check(GatherShape { cols: 16, g_hw: 4, lanes: 4, lane_bits: 20, block: 4 }, 3);
    check(GatherShape { cols: 8, g_hw: 8, lanes: 1, lane_bits: 8, block: 4 }, 4);
}

#[test]
fn gather_verilog_is_lint_clean_and_synthesises() {
    let s = GatherShape { cols: 16, g_hw: 2, lanes: 8, lane_bits: 24, block: 8 };
    verilog_tools::check_lint_and_synth("gather stage", &[gather_module("gat", &s)], "gat");
}
