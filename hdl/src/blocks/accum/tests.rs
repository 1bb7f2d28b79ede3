//! The column accumulator's Verilog under Icarus against a plain model: random updates (many
//! hitting the address of the update just before, as consecutive bit-planes do), then every
//! address read back through the drain port.

use super::*;
use crate::cosim::verilog_tools;
use crate::generator::verilog::emit_block;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

fn run<const A: usize, const N: usize>(seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let depth = 1usize << N;
    let mut model = vec![vec![0i64; depth]; 2];
    let mut written = vec![vec![false; depth]; 2];
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clock = 0; reg valid = 0, init = 0, bank = 0, rd_bank = 0; reg [2:0] plane = 0;")
        .unwrap();
    writeln!(tb, "reg [{n1}:0] x = 0, rd_x = 0; reg [{a1}:0] psum = 0; wire [{a1}:0] rd_data;", n1 = N - 1, a1 = A - 1)
        .unwrap();
    writeln!(tb, "acc dut(.clock(clock), .valid(valid), .init(init), .plane(plane), .bank(bank), .x(x), .psum(psum), .rd_bank(rd_bank), .rd_x(rd_x), .rd_data(rd_data));").unwrap();
    writeln!(tb, "initial begin").unwrap();
    let (mut bank, mut x) = (0usize, 0usize);
    for _ in 0..600 {
        // Stay on the same address often (bit-planes of one pixel), sometimes jump.
        if rng.gen_bool(0.4) {
            bank = rng.gen_range(0..2);
            x = rng.gen_range(0..depth);
        }
        let valid = rng.gen_bool(0.9);
        let init = !written[bank][x] || rng.gen_bool(0.1);
        let plane = rng.gen_range(0..8u32);
        let psum: i64 = rng.gen_range(-200..200);
        if valid {
            let base = if init { 0 } else { model[bank][x] };
            model[bank][x] = base + (psum << plane);
            written[bank][x] = true;
        }
        let hex = |v: i64| format!("{A}'h{:x}", (v as i128) & ((1i128 << A) - 1));
        writeln!(
            tb,
            "valid = {}; init = {}; plane = {plane}; bank = {bank}; x = {x}; psum = {}; #1 clock = 1; #1 clock = 0;",
            valid as u8,
            init as u8,
            hex(psum)
        )
        .unwrap();
    }
    writeln!(tb, "valid = 0; #1 clock = 1; #1 clock = 0; #1 clock = 1; #1 clock = 0;").unwrap();
    for b in 0..2 {
        for i in 0..depth {
            writeln!(tb, "rd_bank = {b}; rd_x = {i}; #1 clock = 1; #1 clock = 0; $display(\"%0d\", $signed(rd_data));")
                .unwrap();
        }
    }
    writeln!(tb, "$finish;\nend\nendmodule").unwrap();
    if !verilog_tools::have_icarus("accumulator co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(ColAcc::<A, N>::default(), "acc")).unwrap();
    let got: Vec<i64> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let want: Vec<i64> = (0..2)
        .flat_map(|b| (0..depth).map(move |i| (b, i)))
        .map(|(b, i)| if written[b][i] { model[b][i] } else { 0 })
        .collect();
    assert_eq!(got, want, "ColAcc<{A}, {N}>");
}

#[test]
fn verilog_accumulates_like_the_model() {
    run::<16, 3>(1);
    run::<24, 5>(2);
    run::<32, 4>(3);
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    verilog_tools::check_lint_and_synth("accumulator", &emit_block(ColAcc::<24, 6>::default(), "acc"), "acc");
}
