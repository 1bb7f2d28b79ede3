//! Checks that the open toolchain CI installs accepts what rust-hdl emits: a small registered
//! block goes through Verilator lint, Yosys synthesis and an Icarus simulation whose output is
//! compared with values computed in Rust.

use crate::cosim::verilog_tools;
use rust_hdl::prelude::*;

/// A registered 8-bit XNOR with a match count, the shape of the PE's first stage.
#[derive(LogicBlock, Default)]
struct XnorReg {
    clock: Signal<In, Clock>,
    a: Signal<In, Bits<8>>,
    w: Signal<In, Bits<8>>,
    q: Signal<Out, Bits<8>>,
    stage: DFF<Bits<8>>,
}

impl Logic for XnorReg {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, stage);
        self.stage.d.next = !(self.a.val() ^ self.w.val());
        self.q.next = self.stage.q.val();
    }
}

fn emit() -> String {
    let mut uut = XnorReg::default();
    uut.connect_all();
    generate_verilog(&uut)
}

#[test]
fn emitted_verilog_simulates_in_icarus_like_rust() {
    if !verilog_tools::have_icarus("toolchain icarus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let design = dir.path().join("design.v");
    std::fs::write(&design, emit()).unwrap();
    let pairs: Vec<(u8, u8)> = (0..16u32).map(|i| ((i * 37 + 5) as u8, (i * 91 + 3) as u8)).collect();
    let mut tb = String::from("module tb;\nreg clock = 0; reg [7:0] a, w; wire [7:0] q;\ntop dut(.clock(clock), .a(a), .w(w), .q(q));\ninitial begin\n");
    for (a, w) in &pairs {
        tb += &format!("a = 8'd{a}; w = 8'd{w}; #1 clock = 1; #1 clock = 0; $display(\"%0d\", q);\n");
    }
    tb += "$finish;\nend\nendmodule\n";
    let tb_path = dir.path().join("tb.v");
    std::fs::write(&tb_path, tb).unwrap();
    let out = verilog_tools::icarus_run(dir.path(), &[&tb_path, &design], "tb").unwrap();
    let got: Vec<u8> = out.lines().filter_map(|l| l.trim().parse().ok()).collect();
    let want: Vec<u8> = pairs.iter().map(|(a, w)| !(a ^ w)).collect();
    assert_eq!(got, want);
}

#[test]
fn emitted_verilog_synthesises_in_yosys() {
    if !verilog_tools::have_yosys("toolchain yosys") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let design = dir.path().join("design.v");
    std::fs::write(&design, emit()).unwrap();
    let stat = verilog_tools::yosys_check(&design, "top").unwrap();
    assert!(stat.contains("Number of cells"), "{stat}");
}

#[test]
fn verilator_lint_runs() {
    if !verilog_tools::have_verilator("toolchain verilator") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // A hand-written clean module must pass; a width mismatch must be caught.
    let clean = dir.path().join("clean.v");
    std::fs::write(&clean, "module clean(input wire [3:0] a, output wire [3:0] y);\nassign y = ~a;\nendmodule\n")
        .unwrap();
    verilog_tools::verilator_lint(&[clean], "clean").unwrap();
    let bad = dir.path().join("bad.v");
    std::fs::write(&bad, "module bad(input wire [3:0] a, output wire [7:0] y);\nassign y = a;\nendmodule\n").unwrap();
    assert!(verilog_tools::verilator_lint(&[bad], "bad").is_err());
}

#[test]
fn emitted_verilog_passes_verilator_lint() {
    if !verilog_tools::have_verilator("toolchain verilator") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // Verilator -Wall wants one module per file, named after it.
    let files = verilog_tools::write_split(dir.path(), &emit()).unwrap();
    assert_eq!(files.len(), 2, "top and its register");
    verilog_tools::verilator_lint(&files, "top").unwrap();
}

#[test]
fn synthesis_check_rejects_latches() {
    if !verilog_tools::have_yosys("toolchain yosys latch") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.v");
    std::fs::write(&f, "module l(input wire en, input wire d, output reg q);\nalways @(*) if (en) q = d;\nendmodule\n")
        .unwrap();
    let e = verilog_tools::yosys_synth(&[f], "l", verilog_tools::Family::Ice40).unwrap_err().to_string();
    assert!(e.contains("Latch inferred"), "{e}");
}
