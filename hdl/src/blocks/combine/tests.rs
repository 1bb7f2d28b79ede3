//! The combine stage's Verilog under Icarus: the host's entry images (`cbnn::hw::combine`) of
//! random slbf and penni layers loaded through the entry port, two output rows of passes over
//! random column-accumulator contents (the testbench plays the accumulators' read port), then
//! every output word read through the drain port, against the sums written out in Rust; and
//! each pass's length, `E * W_out + 3` cycles of `busy`.

use super::*;
use crate::cosim::verilog_tools;
use cbnn::hw::combine::{entry_stream, lane_entries};
use cbnn::hw::grouped::Grouped;
use cbnn::quant::QWeights;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

fn config(cols: u32, lanes: u32, acc: u32, penni: bool) -> AccelConfig {
    let mut c = AccelConfig { name: "cmb".into(), ..AccelConfig::default() };
    c.array.cols = cols;
    c.array.lanes = lanes;
    c.datapath.acc_bits = acc;
    c.codec.enabled = false;
    c.limits.max_channels = 64;
    c.limits.max_filters = Some(64);
    c.limits.max_width = 8;
    c.combine.enabled = true;
    c.combine.penni = penni;
    c
}

/// Random integer slbf or penni weights (only the index and the coefficients matter here).
fn weights(rng: &mut StdRng, cfg: &AccelConfig, c_out: usize) -> (QWeights, u32) {
    let c = cfg.array.cols as usize;
    if cfg.combine.penni && rng.gen_bool(0.7) {
        let (c_in, d) = (rng.gen_range(1..5), rng.gen_range(1..=c + 2));
        let q = (1i32 << (cfg.datapath.coef_bits - 1)) - 1;
        let density = rng.gen_range(0.1..0.9);
        let coef =
            (0..c_out * c_in * d).map(|_| if rng.gen_bool(density) { rng.gen_range(-q..=q) } else { 0 }).collect();
        (QWeights::Penni { basis: vec![1; d * 9], d, coef }, c_in as u32)
    } else {
        let (m, n) = (rng.gen_range(1..4), rng.gen_range(1..=2 * c + 1));
        let index = (0..c_out * m).map(|_| rng.gen_range(0..n)).collect();
        (QWeights::Slbf { bank: vec![1; n * 9], n, d: 1, index, m }, m as u32)
    }
}

fn wrap(v: i64, a: usize) -> u64 {
    (v as u64) & ((1u64 << a) - 1)
}

fn check(cfg: &AccelConfig, seed: u64) {
    if !verilog_tools::have_icarus("combine stage co-simulation") {
        return;
    }
    let s = CombineShape::from_config(cfg).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    let (c_n, a) = (s.cols, s.acc);
    for case in 0..3 {
        let c_out = rng.gen_range(1..3 * c_n + 2);
        let w_out = if case == 0 { 1 } else { rng.gen_range(2..=cfg.limits.max_width) } as usize;
        let (w, c_in) = weights(&mut rng, cfg, c_out);
        let gr = Grouped::new("l", &w, c_in, 3, cfg).unwrap().unwrap();
        let lanes = lane_entries(&w, &gr, c_out as u32, w_out as u32, cfg);
        let words = entry_stream(&lanes, cfg);
        // Run boundaries: each run ends with a `last` entry (the same in every lane).
        let mut runs = Vec::new();
        let mut start = 0;
        for (i, e) in lanes[0].iter().enumerate() {
            if e.last {
                runs.push(start..i + 1);
                start = i + 1;
            }
        }
        // Accumulator contents: [row][run][column][x], random A-bit values.
        let acc: Vec<Vec<Vec<Vec<i64>>>> = (0..2)
            .map(|_| {
                runs.iter()
                    .map(|_| {
                        (0..c_n)
                            .map(|_| (0..w_out).map(|_| rng.gen_range(-(1 << (a - 2))..1 << (a - 2))).collect())
                            .collect()
                    })
                    .collect()
            })
            .collect();
        // Expected output words [row][lane][t][x] (filters past c_out are never written).
        let expect = |row: usize, lane: usize, t: usize, x: usize| -> i64 {
            let mut v = 0i64;
            for (r, range) in runs.iter().enumerate() {
                for e in &lanes[lane][range.clone()] {
                    if e.valid && e.a as usize == t * w_out {
                        let term = e.coef as i64 * acc[row][r][e.j as usize][x];
                        v = if e.init { term } else { v.wrapping_add(term) };
                    }
                }
            }
            v
        };
        let tiles = c_out.div_ceil(c_n);
        let mut accmem = Vec::new();
        for row in &acc {
            for run in row {
                for col in run {
                    accmem.extend(col.iter().map(|&v| format!("{:x}", wrap(v, a))));
                }
            }
        }
        let mut tb = String::new();
        writeln!(
            tb,
            "module tb;\nreg clock = 0, reset = 1, rewind = 0, start = 0, bank = 0, ld_start = 0, ld_valid = 0;"
        )
        .unwrap();
        writeln!(
            tb,
            "reg [15:0] w_out = {w_out}, entries = {}, dr_base = 0; reg [{}:0] dr_x = 0;",
            lanes[0].len(),
            s.x_bits - 1
        )
        .unwrap();
        writeln!(tb, "reg [{}:0] ld_data = 0; reg [{}:0] words [0:{}];", s.lanes - 1, s.lanes - 1, words.len() - 1)
            .unwrap();
        writeln!(tb, "reg [{}:0] accs [0:{}]; reg [{}:0] acc_rd_data = 0;", a - 1, accmem.len() - 1, c_n * a - 1)
            .unwrap();
        writeln!(
            tb,
            "wire busy, acc_rd_bank, overflow; wire [{}:0] acc_rd_x; wire [{}:0] rd_data;",
            s.x_bits - 1,
            c_n * a - 1
        )
        .unwrap();
        writeln!(tb, "integer i, n, base = 0;").unwrap();
        let cat: Vec<String> = (0..c_n).rev().map(|c| format!("accs[base + {} + acc_rd_x]", c * w_out)).collect();
        writeln!(tb, "always @(posedge clock) acc_rd_data <= {{{}}};", cat.join(", ")).unwrap();
        writeln!(tb, "cmb_combine dut(.clock(clock), .reset(reset), .rewind(rewind), .start(start), .bank(bank), .w_out(w_out), .entries(entries), .busy(busy), .ld_start(ld_start), .ld_valid(ld_valid), .ld_data(ld_data), .acc_rd_bank(acc_rd_bank), .acc_rd_x(acc_rd_x), .acc_rd_data(acc_rd_data), .dr_base(dr_base), .dr_x(dr_x), .rd_data(rd_data), .overflow(overflow));").unwrap();
        writeln!(tb, "task tick; begin #1 clock = 1; #1 clock = 0; end endtask").unwrap();
        writeln!(tb, "initial begin\n$readmemh(\"words.hex\", words); $readmemh(\"accs.hex\", accs);").unwrap();
        writeln!(tb, "tick; reset = 0; rewind = 1; ld_start = 1; tick; rewind = 0; ld_start = 0;").unwrap();
        writeln!(
            tb,
            "for (i = 0; i < {}; i = i + 1) begin ld_valid = 1; ld_data = words[i]; tick; end ld_valid = 0;",
            words.len()
        )
        .unwrap();
        for row in 0..2 {
            for (r, _) in runs.iter().enumerate() {
                let base = ((row * runs.len() + r) * c_n * w_out) as u64;
                writeln!(
                    tb,
                    "base = {base}; bank = {}; start = 1; tick; start = 0; n = 0;\n\
                     while (busy && n < 100000) begin if (acc_rd_bank != {}) $display(\"BANK\"); tick; n = n + 1; end\n\
                     $display(\"P {row} {r} %0d\", n);",
                    r % 2,
                    r % 2
                )
                .unwrap();
            }
            for t in 0..tiles {
                for x in 0..w_out {
                    writeln!(
                        tb,
                        "dr_base = {}; dr_x = {x}; tick; $display(\"D {row} {t} {x} %h\", rd_data);",
                        t * w_out
                    )
                    .unwrap();
                }
            }
        }
        writeln!(tb, "if (overflow) $display(\"OVERFLOW\");\n$finish;\nend\nendmodule").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let hex = |v: &[String]| v.join("\n") + "\n";
        std::fs::write(dir.path().join("words.hex"), hex(&words.iter().map(|w| format!("{w:x}")).collect::<Vec<_>>()))
            .unwrap();
        std::fs::write(dir.path().join("accs.hex"), hex(&accmem)).unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &combine_modules("cmb", cfg).unwrap()).unwrap();
        assert!(!out.contains("BANK") && !out.contains("OVERFLOW"), "{out}");
        let mut drained = 0;
        for line in out.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.first() {
                Some(&"P") => {
                    let (r, n): (usize, usize) = (f[2].parse().unwrap(), f[3].parse().unwrap());
                    let want = runs[r].len() * w_out + cbnn::hw::pipeline::COMBINE_TAIL;
                    assert_eq!(n, want, "case {case}: pass {r} cycles");
                }
                Some(&"D") => {
                    let (row, t, x): (usize, usize, usize) =
                        (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
                    let hex = f[4];
                    for lane in 0..c_n {
                        if t * c_n + lane >= c_out {
                            continue;
                        }
                        let d = hex.len();
                        let digits = a / 4;
                        let got = u64::from_str_radix(&hex[d - digits * (lane + 1)..d - digits * lane], 16).unwrap();
                        let want = wrap(expect(row, lane, t, x), a);
                        assert_eq!(got, want, "case {case} row {row} filter {} x {x}: {w:?}", t * c_n + lane);
                    }
                    drained += 1;
                }
                _ => {}
            }
        }
        assert_eq!(drained, 2 * tiles * w_out, "{out}");
    }
}

#[test]
fn combine_verilog_sums_the_entries_maps() {
    check(&config(4, 8, 24, true), 1);
    check(&config(3, 16, 16, false), 2);
    check(&config(8, 32, 32, true), 3);
}

#[test]
fn combine_verilog_is_lint_clean_and_synthesises() {
    let cfg = config(4, 8, 24, true);
    verilog_tools::check_lint_and_synth("combine stage", &combine_modules("cmb", &cfg).unwrap(), "cmb_combine");
}
