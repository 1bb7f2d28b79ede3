//! The PE's emitted Verilog under Icarus against the SPEC 2.2 dot product of each chunk,
//! lane by lane, with random weights, loads, swaps, padding and channel tails, in both modes.

use super::*;
use crate::cosim::verilog_tools;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn emit<const L: usize, const SW: usize>() -> String {
    let mut uut = Pe::<L, SW>::default();
    uut.connect_all();
    generate_verilog(&uut)
}

/// One cycle of stimulus.
#[derive(Clone, Copy, Default)]
struct Cycle {
    a: u128,
    pad: bool,
    tail: bool,
    first: bool,
    psum_in: i64,
    wl_en: bool,
    wl_data: u128,
}

/// SPEC 2.2 per lane: XNOR mode sums +1/-1 over valid lanes; BWN sums a_l * (±1).
fn chunk_dot(l: usize, bwn: bool, a: u128, w: u128, valid: u128) -> i64 {
    (0..l)
        .map(|i| {
            let (ab, wb, vb) = ((a >> i) & 1 == 1, (w >> i) & 1 == 1, (valid >> i) & 1 == 1);
            let wv = if wb { 1 } else { -1 };
            if bwn {
                if ab {
                    wv
                } else {
                    0
                }
            } else if vb {
                if ab == wb {
                    1
                } else {
                    -1
                }
            } else {
                0
            }
        })
        .sum()
}

fn wrap(v: i64, bits: usize) -> i64 {
    let m = 1i64 << bits;
    let r = v.rem_euclid(m);
    if r >= m / 2 {
        r - m
    } else {
        r
    }
}

/// `pshift`: the row's plane offset (its contributions weigh `2^pshift`).
fn run<const L: usize, const SW: usize>(bwn: bool, pshift: u32, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let lane_mask: u128 = if L == 128 { u128::MAX } else { (1u128 << L) - 1 };
    let tail_mask: u128 = rng.gen::<u128>() & lane_mask;
    let n = 300;
    let mut cycles = Vec::new();
    for i in 0..n {
        cycles.push(Cycle {
            a: rng.gen::<u128>() & lane_mask,
            pad: rng.gen_bool(0.15),
            tail: rng.gen_bool(0.2),
            first: i == 1 || rng.gen_bool(0.05),
            psum_in: rng.gen_range(-(1i64 << (SW - 2))..(1i64 << (SW - 2))),
            wl_en: i == 0 || rng.gen_bool(0.1),
            wl_data: rng.gen::<u128>() & lane_mask,
        });
    }
    // Reference model of the PE's contract.
    let (mut shadow, mut active) = (0u128, 0u128);
    let mut contrib = vec![0i64; n];
    for (i, c) in cycles.iter().enumerate() {
        let w = if c.first { shadow } else { active };
        if c.first {
            active = shadow;
        }
        let valid = if c.pad {
            0
        } else if c.tail {
            tail_mask
        } else {
            lane_mask
        };
        // BWN: padding and tails arrive as zero activation bits, as the feeder guarantees.
        let a = if bwn && c.pad { 0 } else { c.a };
        contrib[i] = chunk_dot(L, bwn, a, w, valid);
        if c.wl_en {
            shadow = c.wl_data;
        }
    }
    if !verilog_tools::have_icarus("pe co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let design = dir.path().join("design.v");
    std::fs::write(&design, emit::<L, SW>()).unwrap();
    let mut tb = format!(
        "module tb;\nreg clock = 0; reg bwn = {}; reg [2:0] pshift = 3'd{pshift}; reg [{l1}:0] tail_mask = {L}'h{tail_mask:x};\n\
         reg [{l1}:0] a_in, wl_data; reg pad_in, tail_in, first_in, wl_en; reg signed [{s1}:0] psum_in;\n\
         wire signed [{s1}:0] psum_out;\n\
         top dut(.clock(clock), .bwn(bwn), .pshift(pshift), .tail_mask(tail_mask), .a_in(a_in), .pad_in(pad_in), .tail_in(tail_in),\n\
         .first_in(first_in), .psum_in(psum_in), .psum_out(psum_out), .wl_data(wl_data), .wl_en(wl_en));\n\
         initial begin\n",
        bwn as u8,
        l1 = L - 1,
        s1 = SW - 1
    );
    for c in &cycles {
        let a = if bwn && c.pad { 0 } else { c.a };
        tb += &format!(
            "a_in = {L}'h{a:x}; pad_in = {}; tail_in = {}; first_in = {}; wl_en = {}; wl_data = {L}'h{:x}; psum_in = {};\n\
             #1 clock = 1; #1 clock = 0; $display(\"%0d\", psum_out);\n",
            c.pad as u8,
            c.tail as u8,
            c.first as u8,
            c.wl_en as u8,
            c.wl_data,
            if c.psum_in < 0 { format!("-{SW}'sd{}", -c.psum_in) } else { format!("{SW}'sd{}", c.psum_in) },
        );
    }
    tb += "$finish;\nend\nendmodule\n";
    let tb_path = dir.path().join("tb.v");
    std::fs::write(&tb_path, tb).unwrap();
    let out = verilog_tools::icarus_run(dir.path(), &[&tb_path, &design], "tb").unwrap();
    let got: Vec<i64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    assert_eq!(got.len(), n);
    // After clock edge k: psum_out = psum_in of cycle k + contrib of cycle k-1 (the popcounts are
    // registered one cycle ahead of the psum add, so a row's psum_in arrives one cycle after its
    // activation, matching the one-row skew of the array).
    for k in 1..n {
        let want = wrap(cycles[k].psum_in + (contrib[k - 1] << pshift), SW);
        assert_eq!(got[k], want, "L={L} SW={SW} bwn={bwn} pshift={pshift}: cycle {k}");
    }
}

#[test]
fn verilog_matches_chunk_dot_products_xnor() {
    run::<8, 6>(false, 0, 1);
    run::<32, 10>(false, 0, 2);
    run::<64, 12>(false, 0, 3);
}

#[test]
fn verilog_matches_chunk_dot_products_bwn() {
    run::<8, 6>(true, 0, 4);
    run::<32, 10>(true, 0, 5);
    run::<64, 12>(true, 0, 6);
}

/// A row holding bit-plane `p` of a group of planes side by side on the rows weighs its
/// contribution by `2^p`; the partial sum wraps in its width as before.
#[test]
fn verilog_weights_a_row_by_its_plane_offset() {
    run::<8, 9>(true, 1, 7);
    run::<32, 14>(true, 7, 8);
    run::<32, 8>(true, 3, 9);
}

/// The PE after merging identical modules: lint-clean, and synthesisable for iCE40 and ECP5 with
/// no latches or undriven nets.
#[test]
fn merged_verilog_is_lint_clean_and_synthesises() {
    let modules = crate::generator::verilog::dedupe_and_rename(&emit::<32, 10>(), "pe");
    // PE, two popcounts, and one DFF module per distinct width (32 and 10 bits).
    assert_eq!(modules.len(), 4, "{:?}", modules.iter().map(|m| &m.name).collect::<Vec<_>>());
    verilog_tools::check_lint_and_synth("pe", &modules, "pe");
}
