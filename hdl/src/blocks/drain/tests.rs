//! The drain unit's Verilog under Icarus: real layers (compiled by `cbnn::quant::compile`) have
//! their scale and bias tables written through the parameter port, rows of random dot products
//! (in the layer's accumulator range) drain from a model of the accumulators' read port under
//! random backpressure, and every beat must carry the golden model's output values
//! (`cbnn::golden::output::output_value`) in `(x, c_local)` order, lane `j` for PPU `j`. Relu
//! layers run with full and narrowed ranges (`out_max` below `2^k - 1`).

use super::*;
use crate::cosim::verilog_tools;
use cbnn::golden::output::{output_value, requantise};
use cbnn::hw::descriptor::MODE_RELU;
use cbnn::hw::params::{bias_tables, scale_tables};
use cbnn::hw::LayerDescriptor;
use cbnn::network::{Geometry, Network, Op, OutputFn};
use cbnn::quant::{compile, QOp, QOutput, QWeighted};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

/// The first beat is offered this many cycles after the `start` cycle (the contract the cycle
/// simulator's drain model follows).
const FIRST_BEAT_CYCLES: u64 = cbnn::hw::pipeline::DRAIN_FIRST_BEAT as u64;

struct Case {
    cols: u32,
    g_hw: u32,
    acc: u32,
    scale: u32,
    max_width: u32,
    output: OutputFn,
    /// The layer's scale group; 0 = all its filters.
    group: usize,
    seed: u64,
}

fn config(c: &Case) -> AccelConfig {
    let mut cfg = AccelConfig::default();
    cfg.array.cols = c.cols;
    cfg.datapath.scale_group = c.g_hw;
    cfg.datapath.acc_bits = c.acc;
    cfg.datapath.scale_bits = c.scale;
    cfg.limits.max_width = c.max_width;
    cfg.limits.max_filters = Some(5 * c.cols - 1);
    cfg
}

/// One drained row: its filter tile, accumulator bank, the percentage of cycles `out_ready` is
/// high, idle cycles before its `start`, and its sums `dots[column][x]`.
struct Row {
    tile: usize,
    bank: usize,
    ready_pct: u32,
    gap: usize,
    dots: Vec<Vec<i64>>,
}

/// A dot product for filter `f` in the layer's accumulator range, most of them where the output
/// function decides something (rounding ties, clamp limits, the sign change).
fn dot_for(rng: &mut StdRng, w: &QWeighted, f: usize, bound: i64) -> i64 {
    let uniform = rng.gen_range(-bound..=bound);
    if f >= w.out_channels || !rng.gen_bool(0.7) {
        return uniform;
    }
    let m = w.mult[f / w.scale_group] as i128;
    if m == 0 {
        return uniform;
    }
    let b = w.bias[f] as i128;
    let z: i128 = match w.output {
        QOutput::Accumulator => return uniform,
        QOutput::Sign => rng.gen_range(-3 * m..3 * m),
        QOutput::Relu { bits, max } => {
            // Around 0, around out_max, or anywhere up to and past 2^k (where the PPU's other
            // saturation test takes over).
            let unit = 1i128 << w.shift;
            let q = match rng.gen_range(0..3) {
                0 => rng.gen_range(-2i128..=2),
                1 => max as i128 + rng.gen_range(-2i128..=2),
                _ => rng.gen_range(-2i128..(1i128 << bits) + 2),
            };
            let r = match rng.gen_range(0..3) {
                0 => unit / 2,
                1 => unit / 2 - 1,
                _ => rng.gen_range(-unit..=unit),
            };
            q * unit + r
        }
    };
    let dot = (z - b).div_euclid(m) + rng.gen_range(-1..=1);
    dot.clamp(-bound as i128, bound as i128) as i64
}

fn hex(v: i64, bits: usize) -> String {
    format!("{:0w$x}", (v as i128) & ((1i128 << bits) - 1), w = bits / 4)
}

fn run_case(c: &Case) {
    let cfg = config(c);
    let s = DrainShape::from_config(&cfg).unwrap();
    let mut rng = StdRng::seed_from_u64(c.seed);
    let (cols, g_hw, p, a) = (s.cols, s.g_hw, s.ppus, s.acc);

    // A layer with at least two filter tiles, the last one partial when possible.
    let c_out = rng.gen_range(cols + 1..=cfg.limits.max_filters() as usize);
    let c_in = rng.gen_range(4..=24);
    let in_bits = [1u32, 8][rng.gen_range(0..2)];
    let k = [1usize, 3][rng.gen_range(0..2)];
    let width = rng.gen_range(1..=c.max_width as usize);
    let geo = Geometry { kernel: k, stride: 1, padding: k / 2 };
    let weights: Vec<f32> = (0..c_out * c_in * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let mut net = Network::single_conv(c_in, width, width, c_out, geo, in_bits, weights);
    let Op::Weighted(w) = &mut net.layers[0].op else { unreachable!() };
    w.scale_group = if c.group == 0 { c_out } else { c.group };
    w.output = c.output.clone();
    w.bias = Some((0..c_out).map(|_| rng.gen_range(-4.0f32..4.0) as f64).collect());
    let q = compile(&net, &cfg, None).unwrap();
    let ql = &q.layers[0];
    let d = LayerDescriptor::new(ql, &cfg).unwrap();
    let QOp::Weighted(qw) = &ql.op else { unreachable!() };
    let (tiles, w_out) = (d.filter_tiles as usize, d.w_out as usize);
    assert!(tiles >= 2 && w_out == width);
    let bound = (qw.dot_bound as i64).min((1i64 << (a - 1)) - 1);
    let (out_bits, out_max) = if d.out_mode == MODE_RELU { (d.out_bits, d.out_max) } else { (0, 0) };

    // Rows: two per tile (alternating banks), some with out_ready always high.
    let mut rows = Vec::new();
    for tile in 0..tiles {
        for r in 0..2 {
            let n = rows.len();
            let dots = (0..cols)
                .map(|col| (0..w_out).map(|_| dot_for(&mut rng, qw, tile * cols + col, bound)).collect())
                .collect();
            let ready_pct = [100, 50, 100, 15, 85][n % 5];
            rows.push(Row { tile, bank: n % 2, ready_pct, gap: [0, 3, 1][(tile + r) % 3], dots });
        }
    }

    // The testbench: parameter writes, then the rows; a monitor prints starts, beats, the fall
    // of busy, and protocol errors.
    let mut tb = String::new();
    let nx = s.x_bits;
    writeln!(tb, "module tb;\nreg clock = 0; always #5 clock = ~clock;\ninteger cycle = 0, i, seed = {};", c.seed)
        .unwrap();
    writeln!(tb, "reg start = 0, bank = 0, param_we = 0, param_sel = 0, out_ready = 0; reg [6:0] ready_pct = 100;")
        .unwrap();
    writeln!(tb, "reg [15:0] scale_addr = 0, bias_base = 0, w_out = {w_out}, param_addr = 0; reg [7:0] param_ppu = 0;")
        .unwrap();
    writeln!(
        tb,
        "reg [{}:0] shift = {}; reg [1:0] mode = {}; reg [3:0] out_bits = {out_bits}; reg [7:0] out_max = {out_max}; reg [{}:0] param_data = 0;",
        SHIFT_BITS - 1,
        qw.shift,
        d.out_mode,
        s.bias - 1
    )
    .unwrap();
    writeln!(tb, "wire busy, rd_bank, out_valid, overflow; wire [{}:0] rd_x; wire [{}:0] out_data;", nx - 1, p * a - 1)
        .unwrap();
    // The accumulators' read port: two banks, data one cycle after the address.
    writeln!(
        tb,
        "reg [{w}:0] acc0 [0:{x}]; reg [{w}:0] acc1 [0:{x}]; reg [{w}:0] rd_data = 0; reg [{w}:0] rows [0:{n}];",
        w = cols * a - 1,
        x = (1 << nx) - 1,
        n = rows.len() * w_out - 1
    )
    .unwrap();
    writeln!(tb, "always @(posedge clock) rd_data <= rd_bank ? acc1[rd_x] : acc0[rd_x];").unwrap();
    writeln!(tb, "dut_drain dut(.clock(clock), .start(start), .bank(bank), .scale_addr(scale_addr), .bias_base(bias_base), .w_out(w_out), .shift(shift), .mode(mode), .out_bits(out_bits), .out_max(out_max),").unwrap();
    writeln!(tb, "  .param_we(param_we), .param_sel(param_sel), .param_ppu(param_ppu), .param_addr(param_addr), .param_data(param_data),").unwrap();
    writeln!(tb, "  .rd_data(rd_data), .out_ready(out_ready), .busy(busy), .rd_bank(rd_bank), .rd_x(rd_x), .out_valid(out_valid), .out_data(out_data), .overflow(overflow));").unwrap();
    // Monitor: values before each rising edge (cycle k ends at the edge that starts cycle k+1).
    let lanes: Vec<String> = (0..p).map(|j| format!("out_data[{}:{}]", j * a + a - 1, j * a)).collect();
    let fmt = vec!["%h"; p].join(" ");
    writeln!(tb, "reg busy_q = 0, hold = 0; reg [{}:0] held = 0;", p * a - 1).unwrap();
    // (A row's end and the next row's start can fall in one cycle: E first.)
    writeln!(
        tb,
        "always @(posedge clock) begin\n  cycle <= cycle + 1;\n  if (busy_q && !busy) $display(\"E %0d\", cycle);"
    )
    .unwrap();
    writeln!(tb, "  if (start) $display(\"S %0d\", cycle);").unwrap();
    writeln!(tb, "  if (out_valid && out_ready) $display(\"B %0d {fmt}\", cycle, {});", lanes.join(", ")).unwrap();
    writeln!(tb, "  if (hold && (!out_valid || out_data != held)) $display(\"U %0d\", cycle);").unwrap();
    writeln!(tb, "  if (out_valid && !busy) $display(\"X %0d\", cycle);").unwrap();
    writeln!(tb, "  if (overflow) $display(\"O %0d\", cycle);").unwrap();
    writeln!(tb, "  busy_q <= busy; hold <= out_valid && !out_ready; held <= out_data;\nend").unwrap();
    writeln!(tb, "always @(negedge clock) out_ready <= ($unsigned($random(seed)) % 100) < ready_pct;").unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"rows.hex\", rows);\n@(negedge clock);").unwrap();

    // Parameter writes, interleaved with writes to PPUs that do not exist and idle cycles with
    // garbage on the port; scale writes carry garbage above the scale's S bits.
    let (st, bt) = (scale_tables(ql, &d, &cfg), bias_tables(ql, &d, &cfg));
    let mut writes: Vec<(u32, usize, usize, i64)> = Vec::new();
    for j in 0..p {
        for (t, &m) in st[j].iter().enumerate() {
            let junk = rng.gen_range(0..1i64 << (s.bias - s.scale)) << s.scale;
            writes.push((0, j, t, m as i64 | junk));
        }
        for (i, &b) in bt[j].iter().enumerate() {
            writes.push((1, j, i, b));
        }
    }
    for (k, &(sel, j, addr, data)) in writes.iter().enumerate() {
        let bogus_ppu = rng.gen_range(p..256);
        let junk = rng.gen_range(0..1i64 << 40);
        writeln!(tb, "param_we = 1; param_sel = {sel}; param_ppu = {j}; param_addr = {addr}; param_data = 'h{}; @(negedge clock);", hex(data, s.bias)).unwrap();
        if k % 3 == 0 {
            writeln!(tb, "param_we = 1; param_sel = {}; param_ppu = {bogus_ppu}; param_addr = {addr}; param_data = 'h{}; @(negedge clock);", rng.gen_range(0..2), hex(junk, s.bias)).unwrap();
            writeln!(
                tb,
                "param_we = 0; param_sel = {sel}; param_ppu = {j}; param_data = 'h{}; @(negedge clock);",
                hex(!junk, s.bias)
            )
            .unwrap();
        }
    }
    writeln!(tb, "param_we = 0; repeat (2) @(negedge clock);").unwrap();

    let mut rows_hex = String::new();
    for (r, row) in rows.iter().enumerate() {
        for x in 0..w_out {
            let word: String = (0..cols).rev().map(|col| hex(row.dots[col][x], a)).collect();
            writeln!(rows_hex, "{word}").unwrap();
        }
        writeln!(tb, "for (i = 0; i < {w_out}; i = i + 1) acc{}[i] = rows[{} + i];", row.bank, r * w_out).unwrap();
        writeln!(
            tb,
            "repeat ({}) @(negedge clock); bank = {}; scale_addr = {}; bias_base = {}; ready_pct = {};",
            row.gap,
            row.bank,
            row.tile,
            row.tile * g_hw,
            row.ready_pct
        )
        .unwrap();
        writeln!(tb, "start = 1; @(negedge clock); start = 0; i = 0;").unwrap();
        writeln!(tb, "while (busy && i < 100000) begin @(negedge clock); i = i + 1; end").unwrap();
    }
    // A parameter write beyond the bias memories must raise overflow (once, this cycle).
    writeln!(
        tb,
        "param_we = 1; param_sel = 1; param_ppu = 0; param_addr = {}; @(negedge clock); param_we = 0;",
        1u32 << s.bias_addr_bits
    )
    .unwrap();
    writeln!(tb, "repeat (3) @(negedge clock); $display(\"END %0d\", cycle); $finish;\nend\nendmodule").unwrap();

    if !verilog_tools::have_icarus("drain unit co-simulation") {
        return;
    }
    let modules = drain_modules("dut", &cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rows.hex"), rows_hex).unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &tb, &modules).unwrap();

    // Check the transcript row by row.
    let what = format!("C {cols} G_hw {g_hw} A {a} S {} {:?} G {} seed {}", s.scale, c.output, qw.scale_group, c.seed);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(lines.last().is_some_and(|l| l[0] == "END"), "{what}: simulation did not finish:\n{out}");
    let cyc = |l: &[&str]| l[1].parse::<u64>().unwrap();
    for l in &lines {
        assert!(
            !matches!(l[0], "U" | "X"),
            "{what}: protocol error {l:?} (U: data changed while stalled, X: valid while idle)"
        );
    }
    let overflows: Vec<&Vec<&str>> = lines.iter().filter(|l| l[0] == "O").collect();
    assert_eq!(overflows.len(), 1, "{what}: overflow only for the one write beyond the memories");
    let mut it = lines.iter().filter(|l| matches!(l[0], "S" | "B" | "E")).peekable();
    let (mut checked, mut varied) = (0, std::collections::BTreeSet::new());
    // Values above a narrowed out_max (clamped by it rather than by 2^k - 1), and of those the
    // ones below 2^k - 1 (clamped by the PPU's compare, not its mask test).
    let (mut narrowed, mut compared) = (0, 0);
    for (r, row) in rows.iter().enumerate() {
        let l = it.next().unwrap_or_else(|| panic!("{what}: row {r} never started"));
        assert_eq!(l[0], "S", "{what}: row {r}: {l:?}");
        let start = cyc(l);
        let mut beats = Vec::new();
        while let Some(l) = it.next_if(|l| l[0] == "B") {
            beats.push(l);
        }
        let n = w_out * g_hw;
        assert_eq!(beats.len(), n, "{what}: row {r} gave {} beats, want w_out * G_hw = {n}", beats.len());
        // Beats in (x, c_local) order, lane j = PPU j.
        for (i, beat) in beats.iter().enumerate() {
            let (x, cl) = (i / g_hw, i % g_hw);
            for j in 0..p {
                let col = j * g_hw + cl;
                let f = row.tile * cols + col;
                if f >= c_out {
                    continue;
                }
                let raw = i64::from_str_radix(beat[2 + j], 16).unwrap();
                let dot = row.dots[col][x];
                let want = output_value(qw, f, dot) as i64;
                let (got, want) = match qw.output {
                    QOutput::Accumulator => (if raw >= 1 << (a - 1) { raw - (1 << a) } else { raw }, want),
                    // The hardware stores +1 as 1 and -1 as 0.
                    QOutput::Sign => (raw, (want > 0) as i64),
                    QOutput::Relu { .. } => (raw, want),
                };
                assert_eq!(got, want, "{what}: row {r} (tile {}) x {x} filter {f} dot {dot}", row.tile);
                if let QOutput::Relu { bits, max } = qw.output {
                    let full = QOutput::Relu { bits, max: (1 << bits) - 1 };
                    let v = requantise(full, dot, qw.mult[f / qw.scale_group], qw.bias[f], qw.shift);
                    narrowed += usize::from(v > max as i32);
                    compared += usize::from(v > max as i32 && v < (1 << bits) - 1);
                }
                varied.insert(want);
                checked += 1;
            }
        }
        let last = cyc(beats[n - 1]);
        assert!(cyc(beats[0]) >= start + FIRST_BEAT_CYCLES, "{what}: row {r}: a beat before its sums were read");
        if row.ready_pct == 100 {
            // Full throughput: consecutive cycles, from start + 7 to start + 7 + n - 1.
            let got: Vec<u64> = beats.iter().map(|b| cyc(b)).collect();
            let want: Vec<u64> = (0..n as u64).map(|i| start + FIRST_BEAT_CYCLES + i).collect();
            assert_eq!(got, want, "{what}: row {r}: beat cycles with out_ready high");
            assert_eq!(last - start, FIRST_BEAT_CYCLES + n as u64 - 1);
        }
        let l = it.next().unwrap_or_else(|| panic!("{what}: row {r}: busy never fell"));
        assert_eq!(l[0], "E", "{what}: row {r}: {l:?}");
        assert_eq!(cyc(l), last + 1, "{what}: row {r}: busy must fall right after the last beat");
    }
    assert!(it.next().is_none(), "{what}: beats after the last row");
    let valid_filters: usize = (0..tiles).map(|t| (c_out - t * cols).min(cols)).sum();
    assert_eq!(checked, 2 * w_out * valid_filters, "{what}: every output value was checked");
    // The generated values exercise the output function (not all clamped to one value).
    let spread = match qw.output {
        QOutput::Sign => 2,
        QOutput::Relu { max, .. } => (max as usize + 1).min(5),
        _ => 5,
    };
    assert!(varied.len() >= spread.min(checked), "{what}: only outputs {varied:?}");
    if let QOutput::Relu { bits, max } = qw.output {
        if max < (1 << bits) - 1 {
            assert!(narrowed >= 3, "{what}: only {narrowed} values above out_max = {max}");
            if max + 1 < (1 << bits) - 1 {
                let full = (1 << bits) - 1;
                assert!(compared >= 2, "{what}: only {compared} values in (out_max, 2^k - 1) = ({max}, {full})");
            }
        }
    }
}

fn relu(bits: u32) -> OutputFn {
    OutputFn::Relu { bits, scale: Some(0.37), max: None }
}

/// A relu layer whose outputs stop at `max` below `2^bits - 1` (SPEC 6's `out_max`), with a step
/// fine enough for the layers' dot products to reach it.
fn relu_to(bits: u32, max: u32) -> OutputFn {
    OutputFn::Relu { bits, scale: Some(0.37 / max as f64), max: Some(max) }
}

fn case(cols: u32, g_hw: u32, acc: u32, scale: u32, max_width: u32, output: OutputFn, group: usize) -> Case {
    let seed = (cols * 1000 + g_hw * 100 + acc + scale * 7 + max_width * 13 + group as u32 * 17) as u64;
    Case { cols, g_hw, acc, scale, max_width, output, group, seed }
}

#[test]
fn one_column_per_ppu_matches_golden() {
    for c in [
        case(4, 1, 24, 16, 16, relu(8), 1),
        case(4, 1, 32, 8, 5, OutputFn::Sign, 2),
        case(4, 1, 24, 8, 1, OutputFn::Accumulator, 4),
        case(4, 1, 32, 12, 40, relu_to(2, 2), 0),
    ] {
        run_case(&c);
    }
}

#[test]
fn shared_ppus_match_golden() {
    for c in [
        case(4, 2, 24, 8, 16, relu_to(2, 1), 2),
        case(4, 2, 32, 16, 9, OutputFn::Accumulator, 4),
        case(4, 2, 24, 16, 3, relu(8), 0),
        case(4, 4, 32, 8, 8, OutputFn::Sign, 4),
    ] {
        run_case(&c);
    }
}

#[test]
fn groups_of_three_columns_match_golden() {
    for c in [
        case(6, 3, 32, 16, 16, relu_to(8, 200), 3),
        case(6, 3, 24, 8, 7, OutputFn::Sign, 6),
        case(3, 3, 24, 16, 12, relu(2), 0),
        case(3, 3, 32, 8, 4, OutputFn::Accumulator, 3),
    ] {
        run_case(&c);
    }
}

#[test]
fn shape_follows_the_config() {
    let c = case(6, 3, 32, 12, 40, relu(8), 3);
    let s = DrainShape::from_config(&config(&c)).unwrap();
    // 29 channels at most: 5 tiles of 6 columns; 15 biases per PPU; 40 pixels.
    assert_eq!((s.ppus, s.bias, s.col_bits), (2, 44, 2));
    assert_eq!((s.scale_addr_bits, s.bias_addr_bits, s.x_bits), (3, 4, 6));
    assert_eq!(s.out_bits(), 64);
    let mut bad = config(&c);
    bad.limits.max_width = 8192;
    assert!(drain_modules("dut", &bad).is_err());
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    for c in [case(4, 1, 24, 16, 64, relu(8), 1), case(6, 3, 32, 8, 16, relu(8), 3)] {
        let modules = drain_modules("dut", &config(&c)).unwrap();
        verilog_tools::check_lint_and_synth("drain unit", &modules, "dut_drain");
    }
}
