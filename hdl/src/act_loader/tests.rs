//! The loader's Verilog under Icarus: a random tensor streamed in HWC order (with gaps in
//! `in_valid`) must leave exactly the bit-plane words of the buffer layout in every row bank.

use super::*;
use crate::flow;
use crate::verilog::emit_block;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Expected buffer contents, (bank, address) -> word, of `values` streamed in HWC order.
fn expected<const L: usize>(
    rows: usize,
    c_in: usize,
    pixels: usize,
    planes: usize,
    values: &[u64],
) -> BTreeMap<(u64, u64), u128> {
    let chunks = c_in.div_ceil(L);
    let groups = chunks.div_ceil(rows);
    let mut want: BTreeMap<(u64, u64), u128> = BTreeMap::new();
    for p in 0..pixels {
        for q in 0..chunks {
            let (r, g) = (q % rows, q / rows);
            for b in 0..planes {
                let mut word = 0u128;
                for lane in 0..L {
                    let ch = q * L + lane;
                    if ch < c_in && (values[p * c_in + ch] >> b) & 1 == 1 {
                        word |= 1 << lane;
                    }
                }
                want.insert((r as u64, ((p * groups + g) * planes + b) as u64), word);
            }
        }
    }
    want
}

fn run<const L: usize, const K: usize>(rows: usize, c_in: usize, pixels: usize, planes: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let values: Vec<u64> = (0..pixels * c_in).map(|_| rng.gen_range(0..1u64 << planes)).collect();
    let want = expected::<L>(rows, c_in, pixels, planes, &values);
    let mut tb = String::new();
    writeln!(
        tb,
        "module tb;\nreg clock = 0, start = 1, in_valid = 0; reg [{}:0] in_data = 0; wire in_ready, wr_en;",
        K - 1
    )
    .unwrap();
    writeln!(tb, "wire [7:0] wr_row; wire [15:0] wr_addr; wire [{}:0] wr_data; integer i, n;", L - 1).unwrap();
    writeln!(tb, "reg [{}:0] vals [0:{}];", K - 1, values.len() - 1).unwrap();
    writeln!(tb, "ld dut(.clock(clock), .start(start), .c_in(16'd{c_in}), .planes(16'd{planes}), .rows(8'd{rows}), .in_valid(in_valid), .in_data(in_data), .in_ready(in_ready), .wr_en(wr_en), .wr_row(wr_row), .wr_addr(wr_addr), .wr_data(wr_data));").unwrap();
    writeln!(tb, "always @(posedge clock) if (wr_en) $display(\"W %0d %0d %h\", wr_row, wr_addr, wr_data);").unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"vals.hex\", vals);\n#1 clock = 1; #1 clock = 0; start = 0; i = 0; n = 0;")
        .unwrap();
    // Present values with pseudo-random gaps; a value is taken at a rising edge with valid & ready.
    writeln!(tb, "while (i < {}) begin", values.len()).unwrap();
    writeln!(tb, "  in_valid = ((n * 7 + 3) % 5) != 0; in_data = vals[i]; n = n + 1;").unwrap();
    writeln!(tb, "  #1; if (in_valid & in_ready) i = i + 1; clock = 1; #1 clock = 0;").unwrap();
    writeln!(tb, "end\nin_valid = 0;\nrepeat (20) begin #1 clock = 1; #1 clock = 0; end\n$finish;\nend\nendmodule")
        .unwrap();
    if !flow::have_icarus("activation loader co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let hex: String = values.iter().map(|v| format!("{v:x}\n")).collect();
    std::fs::write(dir.path().join("vals.hex"), hex).unwrap();
    let out = flow::icarus_run_with(dir.path(), &tb, &emit_block(ActLoader::<L, K>::default(), "ld")).unwrap();
    let mut got: BTreeMap<(u64, u64), u128> = BTreeMap::new();
    for line in out.lines().filter(|l| l.starts_with("W ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let key = (f[1].parse().unwrap(), f[2].parse().unwrap());
        assert!(got.insert(key, u128::from_str_radix(f[3], 16).unwrap()).is_none(), "address written twice: {key:?}");
    }
    assert_eq!(got, want, "ActLoader<{L}, {K}> rows {rows} c_in {c_in} planes {planes}");
}

#[test]
fn verilog_fills_the_buffer_layout() {
    run::<8, 8>(2, 19, 5, 8, 1); // 3 chunks: two groups, the last short
    run::<8, 8>(3, 5, 6, 2, 2); // one short chunk per pixel
    run::<32, 1>(2, 70, 4, 1, 3); // XNOR, 3 chunks
    run::<64, 2>(1, 130, 3, 2, 4);
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    flow::check_lint_and_synth("activation loader", &emit_block(ActLoader::<32, 8>::default(), "ld"), "ld");
    flow::check_lint_and_synth("activation loader (XNOR only)", &emit_block(ActLoader::<8, 1>::default(), "ld"), "ld");
}

/// `update()` (rust-hdl's simulation model) agrees with the same expectation as the Verilog.
#[test]
fn rust_hdl_model_fills_the_buffer_layout() {
    use std::sync::{Arc, Mutex};
    let (rows, c_in, pixels, planes) = (2usize, 19usize, 4usize, 3usize);
    let mut rng = StdRng::seed_from_u64(9);
    let values: Vec<u64> = (0..pixels * c_in).map(|_| rng.gen_range(0..1u64 << planes)).collect();
    let want = expected::<8>(rows, c_in, pixels, planes, &values);
    let got = Arc::new(Mutex::new(BTreeMap::<(u64, u64), u128>::new()));
    let mut uut = ActLoader::<8, 4>::default();
    uut.connect_all();
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<ActLoader<8, 4>>| x.clock.next = !x.clock.val());
    let (vals, sink) = (values.clone(), got.clone());
    sim.add_testbench(move |mut sim: Sim<ActLoader<8, 4>>| {
        let mut x = sim.init()?;
        x.c_in.next = (c_in as u64).into();
        x.planes.next = (planes as u64).into();
        x.rows.next = (rows as u64).into();
        x.start.next = true;
        wait_clock_cycle!(sim, clock, x);
        x.start.next = false;
        let (mut i, mut idle) = (0, 0);
        while idle < 20 {
            x.in_valid.next = i < vals.len();
            if i < vals.len() {
                x.in_data.next = vals[i].into();
            }
            wait_clock_true!(sim, clock, x);
            if x.wr_en.val() {
                let word = (0..8).fold(0u128, |a, b| a | ((x.wr_data.val().get_bit(b) as u128) << b));
                sink.lock().unwrap().insert((x.wr_row.val().index() as u64, x.wr_addr.val().index() as u64), word);
            }
            if i < vals.len() && x.in_ready.val() {
                i += 1;
            } else if i >= vals.len() {
                idle += 1;
            }
            wait_clock_false!(sim, clock, x);
        }
        sim.done(x)
    });
    sim.run(Box::new(uut), 100_000).unwrap();
    assert_eq!(*got.lock().unwrap(), want);
}
