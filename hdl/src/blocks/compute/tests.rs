//! The compute unit's Verilog under Icarus, end to end from the streams: a random conv layer's
//! activations and weights go in through the stream ports, the sequencer runs each output row,
//! and the column accumulators must hold the golden model's dot products.

use super::*;
use crate::cosim::verilog_tools;
use cbnn::golden;
use cbnn::hw::sequence::SequencerRegs;
use cbnn::hw::{streams, LayerDescriptor};
use cbnn::network::{Geometry, Network};
use cbnn::quant::{compile, QOp};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

fn config(rows: u32, cols: u32, lanes: u32) -> AccelConfig {
    let mut c = AccelConfig::default();
    c.array.rows = rows;
    c.array.cols = cols;
    c.array.lanes = lanes;
    c.datapath.acc_bits = 24;
    c.limits.max_width = 16;
    c.buffers.act_kib = 8;
    c.buffers.weight_kib = 8;
    c
}

fn run_case(cfg: &AccelConfig, seed: u64, bits: u32) {
    let mut rng = StdRng::seed_from_u64(seed);
    let c_in = rng.gen_range(1..40);
    let k = [1usize, 3][rng.gen_range(0..2)];
    let stride = rng.gen_range(1..=2);
    let padding = rng.gen_range(0..=k / 2);
    let hw = rng.gen_range(k.max(2)..k + 4);
    let o = rng.gen_range(1..7);
    let g = Geometry { kernel: k, stride, padding };
    let weights: Vec<f32> = (0..o * c_in * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let net = Network::single_conv(c_in, hw, hw, o, g, bits, weights);
    let q = compile(&net, cfg, None).unwrap();
    let ql = &q.layers[0];
    let d = LayerDescriptor::new(ql, cfg).unwrap();
    let data: Vec<i32> = (0..c_in * hw * hw)
        .map(|_| if bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) })
        .collect();
    let input = Tensor3::from_vec(c_in, hw, hw, data);
    let QOp::Weighted(qw) = &ql.op else { unreachable!() };
    let want = golden::layer_dots(qw, &input);
    let s = ComputeShape::from_config(cfg).unwrap();
    let modules = compute_modules("dut", cfg).unwrap();

    let acts: Vec<u128> = streams::act_stream(&d, cfg, &input, bits, 0..d.h).iter().map(|b| b.word()).collect();
    let (c_n, a) = (s.array.cols, s.acc);
    let mut tb = String::new();
    writeln!(tb, "module tb;\nreg clock = 0; integer i, t;").unwrap();
    writeln!(tb, "reg load_start = 0, act_valid = 0, w_load_start = 0, w_valid = 0, go = 0, bank = 0, rd_bank = 0;")
        .unwrap();
    writeln!(
        tb,
        "reg [{}:0] act_data = 0; reg [{}:0] w_data = 0; reg [{}:0] rd_x = 0;",
        8 * s.beat - 1,
        s.array.lanes - 1,
        s.x_bits - 1
    )
    .unwrap();
    writeln!(tb, "reg [15:0] y0 = 0, iy0 = 0, base0 = 0; reg [31:0] passes = 0;").unwrap();
    writeln!(
        tb,
        "reg [{}:0] amem [0:{}]; reg [{}:0] wmem [0:{}];",
        8 * s.beat - 1,
        acts.len() - 1,
        s.array.lanes - 1,
        (d.steps * s.array.rows as u32 * c_n as u32 * d.filter_tiles) as usize - 1
    )
    .unwrap();
    writeln!(
        tb,
        "wire act_ready, act_busy, w_ready, busy, overflow; wire [15:0] step_y; wire [{}:0] rd_data;",
        c_n * a - 1
    )
    .unwrap();
    // Any out-of-range bank access during the whole run, not only at read-back.
    writeln!(tb, "reg ovf_seen = 0; always @(posedge clock) if (overflow) ovf_seen <= 1;").unwrap();
    let r0 = SequencerRegs::new(&d, cfg, 0..1, 0);
    let fixed = [
        ("c_in", d.c_in),
        ("planes", d.planes),
        ("pass_planes", d.pass_planes),
        ("tail_lanes", d.tail_lanes),
        ("first_row", 0),
        ("h", d.h),
        ("w", d.w),
        ("w_out", d.w_out),
        ("kernel", d.kernel),
        ("stride", d.stride),
        ("groups", d.groups),
        ("t_ch", d.in_shape[0]),
        ("t_w", d.in_shape[2]),
        ("pixel_words", d.pixel_words),
        ("weight_words", r0.weight_words),
        ("ix0", r0.ix0),
        ("x_step", r0.x_step),
        ("kx_step", r0.kx_step),
        ("ky_step", r0.ky_step),
        ("y_step", r0.y_step),
        ("w_base0", 0),
    ];
    let mut conns: Vec<String> = fixed.iter().map(|(p, v)| format!(".{p}(16'd{v})")).collect();
    conns.push(format!(".bwn(1'b{})", d.bwn as u8));
    conns.push(format!(".plane_shift(3'd{})", d.plane_rows.trailing_zeros()));
    conns.push(format!(".fc(1'b{})", (d.kind == cbnn::hw::LayerKind::Fc) as u8));
    conns.push(format!(".tail_en(1'b{})", (d.tail_lanes != 0) as u8));
    conns.push(format!(".rows_valid(8'd{})", d.last_group_rows));
    // Conv and fc layers: no group selection.
    conns.push(".sub(1'b0)".to_string());
    conns.push(".run_row(8'd0)".to_string());
    conns.push(".run_shift(8'd0)".to_string());
    for p in [
        "clock",
        "load_start",
        "act_valid",
        "act_data",
        "act_ready",
        "act_busy",
        "w_load_start",
        "w_valid",
        "w_data",
        "w_ready",
        "go",
        "bank",
        "busy",
        "y0",
        "iy0",
        "base0",
        "passes",
        "rd_bank",
        "rd_x",
        "rd_data",
        "overflow",
        "step_y",
    ] {
        conns.push(format!(".{p}({p})"));
    }
    writeln!(tb, "dut_compute dut({});", conns.join(", ")).unwrap();
    writeln!(tb, "initial begin\n$readmemh(\"acts.hex\", amem); $readmemh(\"weights.hex\", wmem);").unwrap();
    // Activations through the stream (a value is taken at a clock edge with valid and ready).
    writeln!(tb, "load_start = 1; #1 clock = 1; #1 clock = 0; load_start = 0; i = 0;").unwrap();
    writeln!(tb, "while (i < {}) begin act_valid = 1; act_data = amem[i]; #1; if (act_ready) i = i + 1; clock = 1; #1 clock = 0; end", acts.len()).unwrap();
    writeln!(tb, "act_valid = 0; while (act_busy) begin #1 clock = 1; #1 clock = 0; end").unwrap();
    writeln!(tb, "repeat (3) begin #1 clock = 1; #1 clock = 0; end").unwrap();
    let mut wfile = String::new();
    let mut wi = 0usize;
    for tile in 0..d.filter_tiles {
        let ws = streams::weight_stream(ql, &d, cfg, tile);
        for w in &ws {
            writeln!(wfile, "{w:x}").unwrap();
        }
        writeln!(tb, "w_load_start = 1; #1 clock = 1; #1 clock = 0; w_load_start = 0;").unwrap();
        writeln!(tb, "for (i = {wi}; i < {}; i = i + 1) begin w_valid = 1; w_data = wmem[i]; #1 clock = 1; #1 clock = 0; end w_valid = 0;", wi + ws.len()).unwrap();
        wi += ws.len();
        for y in 0..d.h_out {
            let r = SequencerRegs::new(&d, cfg, y..y + 1, 0);
            writeln!(
                tb,
                "y0 = {}; iy0 = {}; base0 = {}; passes = {}; bank = {};",
                r.y0,
                r.iy0,
                r.base0,
                r.passes,
                y % 2
            )
            .unwrap();
            writeln!(tb, "go = 1; #1 clock = 1; #1 clock = 0; go = 0;").unwrap();
            writeln!(tb, "t = 0; while (busy && t < 100000) begin #1 clock = 1; #1 clock = 0; t = t + 1; end").unwrap();
            writeln!(tb, "repeat ({}) begin #1 clock = 1; #1 clock = 0; end", s.step_to_acc() + 4).unwrap();
            for x in 0..d.w_out {
                writeln!(tb, "rd_bank = {}; rd_x = {x}; #1 clock = 1; #1 clock = 0; $display(\"R {tile} {y} {x} %h %0d\", rd_data, ovf_seen);", y % 2).unwrap();
            }
        }
    }
    writeln!(tb, "$finish;\nend\nendmodule").unwrap();
    if !verilog_tools::have_icarus("compute unit co-simulation") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ahex: String = acts.iter().map(|v| format!("{v:x}\n")).collect();
    std::fs::write(dir.path().join("acts.hex"), ahex).unwrap();
    std::fs::write(dir.path().join("weights.hex"), wfile).unwrap();
    let out = verilog_tools::icarus_run_with(dir.path(), &tb, &modules).unwrap();
    let mut checked = 0;
    for line in out.lines().filter(|l| l.starts_with("R ")) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (tile, y, x): (usize, usize, usize) = (f[1].parse().unwrap(), f[2].parse().unwrap(), f[3].parse().unwrap());
        assert_eq!(f[5], "0", "bank overflow: {line}");
        let word = u128::from_str_radix(f[4], 16).unwrap();
        for c in 0..c_n {
            let filt = tile * c_n + c;
            if filt >= d.c_out as usize {
                continue;
            }
            let raw = ((word >> (c * a)) & ((1u128 << a) - 1)) as i64;
            let v = if raw >= 1 << (a - 1) { raw - (1 << a) } else { raw };
            assert_eq!(v, want.get(filt, y, x), "seed {seed}: filter {filt} y {y} x {x} ({d:?})");
            checked += 1;
        }
    }
    assert_eq!(checked, want.data.len(), "every output was read back");
}

#[test]
fn streams_to_accumulators_match_golden() {
    let shapes = [(2, 2, 8), (3, 2, 32), (1, 3, 8)];
    for (i, (r, c, l)) in shapes.iter().enumerate() {
        let cfg = config(*r, *c, *l);
        for (j, bits) in [1u32, 2, 8].iter().enumerate() {
            run_case(&cfg, (i * 10 + j) as u64, *bits);
        }
    }
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    let modules = compute_modules("dut", &config(2, 3, 8)).unwrap();
    verilog_tools::check_lint_and_synth("compute unit", &modules, "dut_compute");
}
