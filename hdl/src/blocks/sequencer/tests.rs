//! The sequencer's Verilog under Icarus against `cbnn::hw::sequence::compute_sequence`, cycle by
//! cycle (every weight read and every activation read with its flags), for random conv layers,
//! array shapes and runs of output rows.

use super::*;
use crate::cosim::verilog_tools;
use crate::generator::verilog::emit_block;
use cbnn::config::AccelConfig;
use cbnn::hw::sequence::{compute_sequence, Issue, SequencerRegs};
use cbnn::hw::LayerDescriptor;
use cbnn::network::{Geometry, Network};
use cbnn::quant::compile;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;

/// One cycle as a comparable line; the address of an outside step is not compared.
fn line(i: &Issue) -> String {
    let s = match i.step {
        Some(s) => format!(
            "S {} {} {} {} {} {} {} {}",
            if s.outside { "-".to_string() } else { s.addr.to_string() },
            s.outside as u8,
            s.last_group as u8,
            s.first as u8,
            s.init as u8,
            s.y,
            s.x,
            s.plane
        ),
        None => "S".to_string(),
    };
    let w = match i.weight {
        Some(w) => format!("W {} {}", w.addr, w.start as u8),
        None => "W".to_string(),
    };
    format!("{s} | {w}")
}

fn random_layer(rng: &mut StdRng, cfg: &AccelConfig) -> (LayerDescriptor, cbnn::quant::QLayer) {
    let c_in = rng.gen_range(1..80);
    let k = [1usize, 3, 5][rng.gen_range(0..3)];
    let stride = rng.gen_range(1..=2);
    let padding = rng.gen_range(0..=k / 2 + 1);
    let hw = rng.gen_range(k.max(2)..k + 5);
    let o = rng.gen_range(1..6);
    let bits = [1u32, 2, 8][rng.gen_range(0..3)];
    let g = Geometry { kernel: k, stride, padding };
    let net = Network::single_conv(c_in, hw, hw, o, g, bits, vec![0.5; o * c_in * k * k]);
    let q = compile(&net, cfg, None).unwrap().layers.remove(0);
    (LayerDescriptor::new(&q, cfg).unwrap(), q)
}

#[test]
fn verilog_issues_the_compute_sequence() {
    if !verilog_tools::have_icarus("sequencer co-simulation") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(21);
    let modules = emit_block(Sequencer::<6>::default(), "seq");
    for case in 0..12 {
        let mut cfg = AccelConfig::default();
        cfg.datapath.acc_bits = 32;
        cfg.buffers.act_kib = 1024;
        cfg.buffers.weight_kib = 1024;
        cfg.limits.max_kernel = 5;
        cfg.array.rows = [1, 2, 3, 4][case % 4];
        cfg.array.lanes = [8, 32][case % 2];
        let (d, _) = random_layer(&mut rng, &cfg);
        let y0 = rng.gen_range(0..d.h_out);
        let y1 = rng.gen_range(y0 + 1..=d.h_out);
        let first_row = (y0 * d.stride).saturating_sub(d.padding);
        let want: Vec<String> = compute_sequence(&d, &cfg, y0..y1, first_row).iter().map(line).collect();
        let r = SequencerRegs::new(&d, &cfg, y0..y1, first_row);
        let mut tb = String::from("module tb;\nreg clock = 0, go = 0; integer t;\n");
        let regs: [(&str, u32, u32); 21] = [
            ("y0", r.y0, 16),
            ("first_row", r.first_row, 16),
            ("h", r.h, 16),
            ("w", r.w, 16),
            ("w_out", r.w_out, 16),
            ("kernel", r.kernel, 16),
            ("stride", r.stride, 16),
            ("groups", r.groups, 16),
            ("planes", r.planes, 16),
            ("plane_shift", r.plane_shift, 3),
            ("array_rows", r.array_rows, 16),
            ("passes", r.passes, 32),
            ("weight_words", r.weight_words, 16),
            ("iy0", r.iy0, 16),
            ("ix0", r.ix0, 16),
            ("base0", r.base0, 16),
            ("w_base0", 0, 16),
            ("x_step", r.x_step, 16),
            ("kx_step", r.kx_step, 16),
            ("ky_step", r.ky_step, 16),
            ("y_step", r.y_step, 16),
        ];
        let outs = "wire busy, step_valid, step_outside, step_last_group, step_first, step_init, w_valid, w_start;\n\
                    wire [15:0] step_addr, step_y, w_addr; wire [5:0] step_x; wire [2:0] step_plane;\n";
        tb += outs;
        let mut conns: Vec<String> = regs.iter().map(|(n, v, w)| format!(".{n}({w}'d{v})")).collect();
        for p in [
            "busy",
            "step_valid",
            "step_addr",
            "step_outside",
            "step_last_group",
            "step_first",
            "step_init",
            "step_y",
            "step_x",
            "step_plane",
            "w_valid",
            "w_addr",
            "w_start",
        ] {
            conns.push(format!(".{p}({p})"));
        }
        writeln!(tb, "seq dut(.clock(clock), .go(go), {});", conns.join(", ")).unwrap();
        tb += "initial begin\n  go = 1; #1 clock = 1; #1 clock = 0; go = 0;\n";
        tb += "  for (t = 0; t < 200000 && busy; t = t + 1) begin\n";
        tb += "    #1;\n";
        tb += "    if (step_valid) begin if (step_outside) $write(\"S - 1 %0d %0d %0d %0d %0d %0d | \", step_last_group, step_first, step_init, step_y, step_x, step_plane);\n";
        tb += "      else $write(\"S %0d 0 %0d %0d %0d %0d %0d %0d | \", step_addr, step_last_group, step_first, step_init, step_y, step_x, step_plane); end\n";
        tb += "    else $write(\"S | \");\n";
        tb += "    if (w_valid) $display(\"W %0d %0d\", w_addr, w_start); else $display(\"W\");\n";
        tb += "    clock = 1; #1 clock = 0;\n  end\n  $finish;\nend\nendmodule\n";
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &modules).unwrap();
        let mut got: Vec<String> = out.lines().map(str::to_string).collect();
        // The run starts with its first weight read; trailing idle cycles before busy falls are fine.
        let first = got.iter().position(|l| l != "S | W").expect("the sequencer issued nothing");
        assert_eq!(first, 0, "case {case}: the first read comes one cycle after go");
        while got.last().is_some_and(|l| l == "S | W") {
            got.pop();
        }
        assert_eq!(got.len(), want.len(), "case {case}: {d:?}");
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "case {case}, cycle {t}: {d:?}");
        }
    }
}

#[test]
fn verilog_is_lint_clean_and_synthesises() {
    verilog_tools::check_lint_and_synth("sequencer", &emit_block(Sequencer::<6>::default(), "seq"), "seq");
}
