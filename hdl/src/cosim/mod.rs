//! Runs layers on the emitted Verilog of a whole core under Icarus Verilog: the testbench plays the
//! host and DRAM (writes each layer's descriptor and parameters, feeds the activation and weight
//! streams in the order of `cbnn::hw::streams`, takes the result stream), and reports every
//! layer's output tensor and its exact cycle count from `start` to `busy` falling.
//!
//! The layers run one after another on one instance of the core, as a network would.

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;

use dram::DramPlan;

mod dram;
pub mod verilog_tools;

#[cfg(test)]
mod toolchain_tests;
use crate::generator::top::{core_modules, TopShape};
use crate::generator::verilog::Module;
use cbnn::config::AccelConfig;
use cbnn::hw::setup::{self, SetupKind, SETUP_ADDR, SETUP_BITS, SETUP_KIND, SETUP_PPU, SETUP_SEL};
use cbnn::hw::trace::{self, RandomGates, Trace};
use cbnn::hw::{streams, LayerDescriptor};
use cbnn::quant::QLayer;
use cbnn::tensor::Tensor3;

/// How the testbench drives the streams (the simulator's `Traffic` too).
pub use cbnn::hw::trace::Traffic;

/// One layer's result on the RTL.
#[derive(Clone, Debug)]
pub struct LayerRun {
    /// The output tensor as the next layer reads it: the result stream's values, or with the
    /// codec the decoded records the core wrote.
    pub output: Tensor3<i32>,
    /// With the codec, for k-bit and sign outputs: the bitstream of the records the core wrote
    /// (placed in stream order), which must equal the golden encoder's.
    pub coded: Option<Vec<u8>>,
    /// The codec's byte counters at the end of the layer: bytes read and written (0 without).
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Bytes on the DRAM streams, sized as `cbnn::hw::dram` sizes the beats: activations read
    /// (value beats, or with the codec the records' bytes), weight words read, results written.
    pub act_bytes: u64,
    pub weight_bytes: u64,
    pub written_bytes: u64,
    /// Clock cycles from the `start` edge to the first cycle with `busy` low.
    pub cycles: u64,
    /// Of these, the cycles spent computing output rows (controller phase `ROWS`): the layer's
    /// steady state, without the loads of activations and weights.
    pub compute_cycles: u64,
    /// The core's `error` flag at the end (a buffer access out of range).
    pub error: bool,
    /// The per-cycle control trace (`cbnn::hw::trace`), as its changes.
    pub trace: Trace,
}

/// Where a layer's input comes from.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A tensor of integers of `layer.in_bits`, given by the host (with the codec: stored with
    /// the layer's input codec first).
    Tensor(&'a Tensor3<i32>),
    /// With the codec: the records the previous case wrote in this simulation.
    Previous,
    /// With the codec: these records, in stream order, as the host stored them: a corrupt or
    /// truncated stream reaches the decoder as it is (tests of its error flag).
    Records(&'a [Vec<u8>]),
}

/// A layer and its input.
pub struct LayerCase<'a> {
    pub layer: &'a QLayer,
    pub input: Source<'a>,
}

impl<'a> LayerCase<'a> {
    pub fn new(layer: &'a QLayer, input: &'a Tensor3<i32>) -> Self {
        LayerCase { layer, input: Source::Tensor(input) }
    }

    /// A layer reading the previous case's output from the testbench's DRAM (codec only).
    pub fn chained(layer: &'a QLayer) -> Self {
        LayerCase { layer, input: Source::Previous }
    }

    /// A layer reading `records` (codec only), whatever they hold.
    pub fn records(layer: &'a QLayer, records: &'a [Vec<u8>]) -> Self {
        LayerCase { layer, input: Source::Records(records) }
    }
}

fn hex_lines<T: std::fmt::LowerHex>(v: &[T]) -> String {
    v.iter().map(|x| format!("{x:x}\n")).collect()
}

/// A testbench and the data files it reads (name, contents).
struct Bench {
    text: String,
    files: Vec<(&'static str, String)>,
    dram: Option<DramPlan>,
}

/// The per-cycle body of a layer's loop for the activation stream: host-fed values, or record
/// beats fetched from the DRAM model's slots (`P`-byte beats, the last one short).
fn act_feed(codec: Option<usize>, gate: &str) -> (String, String) {
    match codec {
        None => (
            format!("act_valid = (ai < ae) && {gate}; act_data = amem[ai];"),
            "if (act_valid && act_ready) begin ab = ab + asz[ai]; ai = ai + 1; end".into(),
        ),
        Some(p) => (
            format!(
                "act_valid = (ai < ae) && {gate}; act_data = 0; act_nbytes = 0; act_last = 0;\n\
                 \x20 if (ai < ae) begin\n\
                 \x20   rs = rlist[ai]; rl = rlen[rs];\n\
                 \x20   for (j = 0; j < {p}; j = j + 1) if (ro + j < rl) act_data[8*j +: 8] = dram[rs*SLOT + ro + j];\n\
                 \x20   act_nbytes = (rl - ro > {p}) ? {p} : rl - ro; act_last = (ro + {p} >= rl);\n\
                 \x20 end"
            ),
            format!(
                "if (act_valid && act_ready) begin ab = ab + act_nbytes; if (act_last) begin ai = ai + 1; ro = 0; end else ro = ro + {p}; end"
            ),
        ),
    }
}

/// The trace's sample (`cbnn::hw::trace::SIGNALS`) as a Verilog concatenation of the testbench's
/// stream signals and the core's wires (`dut.NAME`), in the table's order.
fn trace_sample(codec: bool) -> String {
    let source = |name: &str| -> String {
        match name {
            "phase" => "phase".into(),
            "go" => "dut.go".into(),
            // `ran`: the layer has issued a run (the bank register holds the last layer's before).
            "acc_bank" => "(ran & dut.acc_bank)".into(),
            "drain_start" => "dut.drain_start".into(),
            "comb_start" => "dut.comb_start".into(),
            "start_bank" => "((dut.drain_start | dut.comb_start) & dut.drain_bank)".into(),
            "code_valid" | "code_ready" if !codec => "1'b0".into(),
            // The streams' valid and ready, as the testbench and the core drive them.
            other => other.into(),
        }
    };
    let parts: Vec<String> = trace::SIGNALS.iter().map(|s| source(s.name)).collect();
    format!("{{{}}}", parts.join(", "))
}

/// The task that plays entries `s0..s1` of the setup table (`cbnn::hw::setup`).
fn write_setup_task(s: &TopShape) -> String {
    // Entries `s0..s1` of the setup table, one write per cycle (the register port's or the
    // parameter port's, by the entry's kind bit).
    format!(
        "task write_setup(input integer s0, input integer s1); begin\n\
         for (si = s0; si < s1; si = si + 1) begin\n\
         \x20 if (smem[si][{kind}:{k0}] == {param}) begin\n\
         \x20   param_we = 1; param_sel = smem[si][{sel}]; param_ppu = smem[si][{ppu}:{p0}]; param_addr = smem[si][{pa}:{a0}]; param_data = smem[si][{b}:0];\n\
         \x20 end else begin\n\
         \x20   reg_we = 1; reg_addr = smem[si][{ra}:{a0}]; reg_data = smem[si][31:0];\n\
         \x20 end\n\
         \x20 tick; reg_we = 0; param_we = 0;\n\
         end\n\
         end endtask",
        kind = SETUP_KIND + 1,
        k0 = SETUP_KIND,
        param = SetupKind::Param.code(),
        sel = SETUP_SEL,
        ra = SETUP_ADDR + cbnn::hw::regs::REG_ADDR_BITS as usize - 1,
        ppu = SETUP_PPU + 7,
        p0 = SETUP_PPU,
        pa = SETUP_ADDR + 15,
        a0 = SETUP_ADDR,
        b = s.bias_bits - 1,
    )
}

/// The task that runs one layer (`i`): per cycle, the environment's gates and the DRAM rules,
/// the streams' transfers, the trace sample, and the clock.
fn run_case_task(
    codec: Option<usize>,
    traffic: Traffic,
    [wgate, ogate]: [&String; 2],
    (feed, take): (&str, &str),
    (refill, requests): (&str, &str),
    max_cycles: u64,
) -> String {
    let code_take = match codec {
        None => String::new(),
        Some(_) => "\x20 if (code_valid && code_ready) begin\n\
                    \x20   $display(\"E %0d %h %0d %0d\", i, code_data, code_nbytes, code_last);\n\
                    \x20   ws = wlist[ci]; for (j = 0; j < code_nbytes; j = j + 1) dram[ws*SLOT + co + j] = code_data[8*j +: 8];\n\
                    \x20   co = co + code_nbytes; ob = ob + code_nbytes; if (code_last) begin rlen[ws] = co; co = 0; ci = ci + 1; end\n\
                    \x20 end\n"
            .to_string(),
    };
    let code_ready = if codec.is_some() { format!(" code_ready = {ogate};") } else { String::new() };
    let step = if matches!(traffic, Traffic::Random(_)) {
        format!("\x20 {}\n", RandomGates::VERILOG_STEP)
    } else {
        String::new()
    };
    let trace = trace_sample(codec.is_some());
    format!(
        "task run_case(input integer i); begin\n\
         while (busy && t < {max_cycles}) begin\n\
         {step}\
         {refill}\
         \x20 {feed}\n\
         \x20 w_valid = (wi < we_) && {wgate}; w_data = wmem[wi];\n\
         \x20 out_ready = {ogate};{code_ready}\n\
         \x20 #1;\n\
         \x20 tv = {trace}; if (t == 0 || tv != tp) begin $display(\"T %0d %0d %h\", i, t, tv); tp = tv; end if (dut.go) ran = 1;\n\
         \x20 {take}\n\
         \x20 if (w_valid && w_ready) begin wi = wi + 1; wbytes = wbytes + WB; end\n\
         \x20 if (out_valid && out_ready) begin $display(\"B %0d %h\", i, out_data); ob = ob + outb; end\n\
         {code_take}\
         {requests}\
         \x20 if (phase == {rows}) tc = tc + 1;\n\
         \x20 clock = 1; #1 clock = 0; t = t + 1;\n\
         end\n\
         end endtask",
        rows = cbnn::hw::control::Phase::Rows.code(),
    )
}

/// The core's instance `dut`, every port connected to the testbench's signal of the same name;
/// an error when the testbench's signals are not exactly the core's ports.
fn dut_instance(top: &str, top_ports: &[crate::generator::manifest::Port], ports: &[&str]) -> Result<String> {
    // Every port of the core is driven or watched: an unconnected input would float silently.
    let mut want: Vec<&str> = top_ports.iter().map(|p| p.name.as_str()).collect();
    let mut have = ports.to_vec();
    want.sort();
    have.sort();
    if want != have {
        bail!("the testbench connects {have:?}, the core has ports {want:?}");
    }
    let conns: Vec<String> = ports.iter().map(|p| format!(".{p}({p})")).collect();
    Ok(format!("{top} dut({});", conns.join(", ")))
}

/// With the codec: the record ports, and the DRAM image, record lengths and slot lists of
/// `DramPlan` as memories the testbench loads.
fn record_memories(
    tb: &mut String,
    loads: &mut String,
    files: &mut Vec<(&'static str, String)>,
    ports: &mut Vec<&str>,
    p: &DramPlan,
    pb: usize,
) -> Result<()> {
    ports.extend(["act_nbytes", "act_last", "code_valid", "code_ready", "code_data", "code_nbytes", "code_last"]);
    ports.extend(["bytes_in", "bytes_out"]);
    writeln!(tb, "reg [{}:0] act_data = 0; reg [4:0] act_nbytes = 0; reg act_last = 0, code_ready = 0;", 8 * pb - 1)?;
    writeln!(tb, "wire code_valid, code_last; wire [{}:0] code_data; wire [4:0] code_nbytes;", 8 * pb - 1)?;
    writeln!(tb, "wire [31:0] bytes_in, bytes_out;")?;
    writeln!(tb, "localparam SLOT = {};", p.slot_bytes)?;
    writeln!(tb, "reg [7:0] dram [0:{}];", p.image.len().max(1) - 1)?;
    writeln!(tb, "integer rlen [0:{}];", p.lens.len().max(1) - 1)?;
    writeln!(tb, "reg [31:0] rlen_init [0:{}];", p.lens.len().max(1) - 1)?;
    writeln!(tb, "reg [31:0] rlist [0:{}];", p.reads.len().max(1) - 1)?;
    writeln!(tb, "reg [31:0] wlist [0:{}];", p.writes.len().max(1) - 1)?;
    files.push(("dram.hex", hex_lines(&p.image)));
    files.push(("rlen.hex", hex_lines(&p.lens)));
    files.push(("rlist.hex", hex_lines(&p.reads)));
    files.push(("wlist.hex", hex_lines(&p.writes)));
    *loads += " $readmemh(\"dram.hex\", dram); $readmemh(\"rlen.hex\", rlen_init); $readmemh(\"rlist.hex\", rlist);";
    if !p.writes.is_empty() {
        *loads += " $readmemh(\"wlist.hex\", wlist);";
    }
    writeln!(loads, "\nfor (j = 0; j < {}; j = j + 1) rlen[j] = rlen_init[j];", p.lens.len())?;
    Ok(())
}

/// What the cases put into the testbench's memories (the setup table, the activation beats and
/// their sizes, the weight words), and the initial block's body that runs them one after another.
struct CaseData {
    setup: Vec<u128>,
    acts: Vec<u128>,
    asizes: Vec<u32>,
    weights: Vec<u128>,
    body: String,
}

/// Every case's setup writes, streams and run, in order.
fn case_data(
    cfg: &AccelConfig,
    cases: &[LayerCase],
    dram: Option<&DramPlan>,
    traffic: Traffic,
    codec: bool,
) -> Result<CaseData> {
    let (mut acts, mut weights, mut asizes) = (Vec::<u128>::new(), Vec::<u128>::new(), Vec::<u32>::new());
    let mut body = String::new();
    let dram_model = traffic == Traffic::Dram;
    let code_ready_off = if codec { " code_ready = 0;" } else { "" };
    let counters = if codec { "bytes_in, bytes_out" } else { "32'd0, 32'd0" };
    let mut setup = Vec::<u128>::new();
    for (i, case) in cases.iter().enumerate() {
        let d = LayerDescriptor::new(case.layer, cfg).with_context(|| format!("layer {i}"))?;
        // Descriptor registers, then the PPU parameters, one write per cycle from the setup table.
        let s0 = setup.len();
        setup.extend(setup::layer_setup(case.layer, &d, cfg)?);
        writeln!(body, "write_setup({s0}, {});", setup.len())?;
        let (a0, a1, w0, w1) = match dram {
            None => {
                let Source::Tensor(input) = case.input else {
                    bail!("layer {i}: without the codec every layer needs its input tensor");
                };
                let a0 = acts.len();
                let beats = streams::layer_act_stream(&d, cfg, input, case.layer.in_bits);
                asizes.extend(beats.iter().map(|b| b.codes.len() as u32));
                acts.extend(beats.iter().map(|b| b.word()));
                (a0, acts.len(), 0, 0)
            }
            Some(p) => {
                let ((a0, a1), (w0, w1)) = (p.read_ranges[i], p.write_ranges[i]);
                (a0, a1, w0, w1)
            }
        };
        let k0 = weights.len();
        weights.extend(streams::layer_weight_stream(case.layer, &d, cfg));
        writeln!(
            body,
            "ai = {a0}; ae = {a1}; wi = {k0}; we_ = {}; ci = {w0}; ce = {w1}; ro = 0; co = 0;",
            weights.len()
        )?;
        writeln!(body, "ab = 0; wbytes = 0; ob = 0; outb = {};", cbnn::hw::dram::result_beat_bytes(cfg, d.out_mode))?;
        if dram_model {
            writeln!(body, "cr = 0; dan = 0; dat = 0; dwn = 0; dwt = 0; dri = {a0}; dro = 0;")?;
        }
        if let Traffic::Random(seed) = traffic {
            writeln!(body, "rng = 32'd{};", RandomGates::new(RandomGates::case_seed(seed, i)).state())?;
        }
        writeln!(body, "start = 1; tick; start = 0; t = 0; tc = 0; ran = 0;")?;
        writeln!(body, "run_case({i});")?;
        writeln!(
            body,
            "act_valid = 0; w_valid = 0; out_ready = 0;{code_ready_off}\n\
             $display(\"C {i} %0d %0d %0d %0d %0d %0d %0d %0d %0d %0d %0d %0d\", t, error, ai - ae, wi - we_, tc, ci - ce, {counters}, ab, wbytes, ob, busy);",
        )?;
    }
    Ok(CaseData { setup, acts, asizes, weights, body })
}

/// Builds the testbench.
fn testbench(
    cfg: &AccelConfig,
    s: &TopShape,
    top_ports: &[crate::generator::manifest::Port],
    cases: &[LayerCase],
    traffic: Traffic,
    max_cycles: u64,
) -> Result<Bench> {
    let top = &cfg.name;
    let (lanes, act_bits) = (s.compute.array.lanes, 8 * s.compute.beat);
    let out_w = s.out_lanes * s.out_lane_bits;
    let codec = s.codec_port_bytes;
    let dram = match codec {
        Some(_) => Some(DramPlan::new(cfg, cases)?),
        None => None,
    };
    // The streams' gates: act valid, weight valid, output ready.
    let (seed, gates) = match traffic {
        Traffic::Free => (1, ["1'b1".to_string(), "1'b1".into(), "1'b1".into()]),
        // `cbnn::hw::trace::RandomGates`, stepped at the start of every cycle.
        Traffic::Random(seed) => (seed, ["ga".to_string(), "gw".into(), "go_".into()]),
        Traffic::Dram => (
            1,
            [
                "((dan > dat) && (daq[dat % DQ] <= t))".to_string(),
                "((dwn > dwt) && (dwq[dwt % DQ] <= t))".into(),
                "(cr > 0)".into(),
            ],
        ),
    };
    let dram_model = traffic == Traffic::Dram;
    let [agate, wgate, ogate] = &gates;
    let (feed, take) = act_feed(codec, agate);
    let (refill, requests) =
        if dram_model { cbnn::hw::dram::verilog_rules(codec) } else { (String::new(), String::new()) };
    // The register and parameter writes of every case (`cbnn::hw::setup`); the testbench plays a
    // case's range with its task `write_setup`.
    let CaseData { setup, acts, asizes, weights, body } =
        case_data(cfg, cases, dram.as_ref(), traffic, codec.is_some())?;
    // One layer's cycle loop, the same for every case (`i` names the case in what it prints).
    let run_case = run_case_task(codec, traffic, [wgate, ogate], (&feed, &take), (&refill, &requests), max_cycles);
    let mut tb = String::new();
    let mut ports: Vec<&str> = vec![
        "clock",
        "reset",
        "reg_we",
        "reg_addr",
        "reg_data",
        "param_we",
        "param_sel",
        "param_ppu",
        "param_addr",
        "param_data",
        "start",
        "busy",
        "error",
        "act_valid",
        "act_ready",
        "act_data",
        "w_valid",
        "w_ready",
        "w_data",
        "out_valid",
        "out_ready",
        "out_data",
        "row",
        "phase",
    ];
    writeln!(tb, "module tb;")?;
    writeln!(tb, "reg clock = 0, reset = 1, reg_we = 0, param_we = 0, param_sel = 0, start = 0;")?;
    writeln!(tb, "reg act_valid = 0, w_valid = 0, out_ready = 0;")?;
    writeln!(tb, "reg [{}:0] reg_addr = 0; reg [31:0] reg_data = 0;", cbnn::hw::regs::REG_ADDR_BITS - 1)?;
    writeln!(tb, "reg [7:0] param_ppu = 0; reg [15:0] param_addr = 0; reg [{}:0] param_data = 0;", s.bias_bits - 1)?;
    writeln!(tb, "reg [{}:0] w_data = 0;", lanes - 1)?;
    writeln!(
        tb,
        "wire busy, error, act_ready, w_ready, out_valid; wire [15:0] row; wire [{}:0] phase; wire [{}:0] out_data;",
        cbnn::hw::control::Phase::BITS - 1,
        out_w - 1
    )?;
    writeln!(tb, "integer ai, ae, wi, we_, ci, ce, ro, co, rs, rl, ws, j, t, tc, seed = {seed};")?;
    // The random gates' state and outputs, and the trace's sample and the last one printed.
    writeln!(tb, "reg [31:0] rng; reg ga, gw, go_, ran; reg [{0}:0] tv, tp;", trace::sample_bits() - 1)?;
    // Bytes on the three DRAM streams (activations, weights, results), as `cbnn::hw::dram` sizes
    // the beats: what the simulator reports as the layer's DRAM traffic.
    writeln!(tb, "integer ab, wbytes, ob, outb; localparam WB = {};", cbnn::hw::dram::weight_beat_bytes(cfg))?;
    if dram_model {
        // The DRAM model's state (`cbnn::hw::dram`): budget, requested/taken beats per read
        // stream and their arrival cycles, the DMA's record position, the layer's beat sizes.
        let dq = cbnn::hw::dram::queue_depth(cfg);
        writeln!(tb, "localparam DQ = {dq}, BW = {}, LAT = {};", cfg.dram.bytes_per_cycle, cfg.dram.latency_cycles,)?;
        writeln!(tb, "integer cr, dan, dat, dwn, dwt, dri, dro, drl; integer daq [0:DQ-1]; integer dwq [0:DQ-1];")?;
    }
    // Value beats' sizes in bytes (one per value), for the DRAM model and the byte counts.
    writeln!(tb, "reg [31:0] asz [0:{}];", asizes.len().max(1) - 1)?;
    writeln!(tb, "reg [{}:0] wmem [0:{}];", lanes - 1, weights.len().max(1) - 1)?;
    writeln!(tb, "reg [{}:0] smem [0:{}]; integer si;", SETUP_BITS - 1, setup.len().max(1) - 1)?;
    let mut files = vec![("weights.hex", hex_lines(&weights)), ("setup.hex", hex_lines(&setup))];
    if !asizes.is_empty() {
        files.push(("asz.hex", hex_lines(&asizes)));
    }
    let mut loads = String::from("$readmemh(\"weights.hex\", wmem);");
    if !setup.is_empty() {
        loads += " $readmemh(\"setup.hex\", smem);";
    }
    if !asizes.is_empty() {
        loads += " $readmemh(\"asz.hex\", asz);";
    }
    match (&dram, codec) {
        (None, _) | (_, None) => {
            writeln!(tb, "reg [{}:0] act_data = 0;", act_bits - 1)?;
            writeln!(tb, "reg [{}:0] amem [0:{}];", act_bits - 1, acts.len().max(1) - 1)?;
            files.push(("acts.hex", hex_lines(&acts)));
            loads += " $readmemh(\"acts.hex\", amem);";
        }
        (Some(p), Some(pb)) => record_memories(&mut tb, &mut loads, &mut files, &mut ports, p, pb)?,
    }
    writeln!(tb, "{}", dut_instance(top, top_ports, &ports)?)?;
    writeln!(tb, "task tick; begin #1 clock = 1; #1 clock = 0; end endtask")?;
    writeln!(tb, "{}", write_setup_task(s))?;
    writeln!(tb, "{run_case}")?;
    writeln!(tb, "initial begin")?;
    writeln!(tb, "{loads}")?;
    writeln!(tb, "tick; tick; reset = 0; tick;")?;
    tb += &body;
    writeln!(tb, "$finish;\nend\nendmodule")?;
    Ok(Bench { text: tb, files, dram })
}

/// Lane `j` of a beat printed by `%h` (lanes are `bits` wide, a multiple of 4: whole hex digits).
/// The lanes of a beat printed in hex; a lane with unknown (x or z) digits reads as `u64::MAX`,
/// which no `bits`-bit lane holds (`streams::results_to_tensor` rejects it for a filter it
/// keeps; lanes past `c_out` may be unknown: a grouped layer's combine stage never writes them).
fn lanes_of(hex: &str, lanes: usize, bits: usize) -> Result<Vec<u64>> {
    let digits = bits / 4;
    if hex.len() != lanes * digits {
        bail!("expected {} hex digits", lanes * digits);
    }
    (0..lanes)
        .map(|j| {
            let end = hex.len() - j * digits;
            let lane = &hex[end - digits..end];
            if lane.chars().any(|c| matches!(c, 'x' | 'X' | 'z' | 'Z')) {
                return Ok(u64::MAX);
            }
            Ok(u64::from_str_radix(lane, 16)?)
        })
        .collect()
}

/// Runs `cases` one after another on the core generated from `cfg`; `None` when Icarus is
/// missing on a developer machine (see `verilog_tools::have_icarus`).
pub fn run_layers(cfg: &AccelConfig, cases: &[LayerCase], traffic: Traffic) -> Result<Option<Vec<LayerRun>>> {
    let modules = core_modules(cfg)?;
    run_layers_with(cfg, &modules, cases, traffic)
}

/// As `run_layers`, with the core's modules already generated.
pub fn run_layers_with(
    cfg: &AccelConfig,
    modules: &[Module],
    cases: &[LayerCase],
    traffic: Traffic,
) -> Result<Option<Vec<LayerRun>>> {
    if !verilog_tools::have_icarus("core co-simulation") {
        return Ok(None);
    }
    Ok(Some(run_layers_on(verilog_tools::Simulator::Icarus, cfg, modules, cases, traffic)?.0))
}

/// As `run_layers_with`, on `simulator` (which must be installed), also returning how long the
/// simulator took to build and run the testbench.
pub fn run_layers_on(
    simulator: verilog_tools::Simulator,
    cfg: &AccelConfig,
    modules: &[Module],
    cases: &[LayerCase],
    traffic: Traffic,
) -> Result<(Vec<LayerRun>, verilog_tools::SimTiming)> {
    run_layers_limited(simulator, cfg, modules, cases, traffic, MAX_CYCLES)
}

/// The cycles a layer may take in the testbench before it counts as hung.
pub const MAX_CYCLES: u64 = 50_000_000;

/// As `run_layers_on`, a layer still busy after `max_cycles` being an error (the core hangs).
pub fn run_layers_limited(
    simulator: verilog_tools::Simulator,
    cfg: &AccelConfig,
    modules: &[Module],
    cases: &[LayerCase],
    traffic: Traffic,
    max_cycles: u64,
) -> Result<(Vec<LayerRun>, verilog_tools::SimTiming)> {
    let s = TopShape::from_config(cfg)?;
    let top = modules.iter().find(|m| m.name == cfg.name).context("no top module among the modules")?;
    let mut bench = testbench(cfg, &s, &crate::generator::manifest::ports(top), cases, traffic, max_cycles)?;
    // CBNN_COSIM_DIR keeps the testbench, data and Verilog for a look in a simulator or viewer,
    // and a waveform of the top's ports and wires (DIR/core.vcd: the signals `simulate --vcd`
    // writes under the same names; one clock period is 2 time units here).
    let tmp = tempfile::tempdir()?;
    let dir = match std::env::var_os("CBNN_COSIM_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            let dump = "initial begin\n$dumpfile(\"core.vcd\"); $dumpvars(1, tb.dut);\n";
            bench.text = bench.text.replacen("initial begin\n", dump, 1);
            std::path::PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };
    for (name, text) in &bench.files {
        std::fs::write(dir.join(name), text)?;
    }
    let (out, timing) = verilog_tools::run_testbench(simulator, &dir, &bench.text, modules)?;
    let mut beats: Vec<Vec<Vec<u64>>> = vec![Vec::new(); cases.len()];
    // Each case's output records, in the order written (the last one open).
    let mut records: Vec<Vec<Vec<u8>>> = vec![vec![Vec::new()]; cases.len()];
    let mut traces: Vec<Trace> = vec![Vec::new(); cases.len()];
    let mut runs = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"T") => {
                let i: usize = f[1].parse()?;
                let word = u32::from_str_radix(f[3], 16).with_context(|| format!("trace line {line}"))?;
                traces[i].push((f[2].parse()?, word));
            }
            Some(&"B") => {
                let i: usize = f[1].parse()?;
                beats[i]
                    .push(lanes_of(f[2], s.out_lanes, s.out_lane_bits).with_context(|| format!("result beat {line}"))?);
            }
            Some(&"E") => {
                let i: usize = f[1].parse()?;
                let recs = &mut records[i];
                recs.last_mut().unwrap().extend(beat_bytes(f[2], f[3].parse()?)?);
                if f[4] == "1" {
                    recs.push(Vec::new());
                }
            }
            Some(&"C") => {
                let i: usize = f[1].parse()?;
                let (cycles, error): (u64, u32) = (f[2].parse()?, f[3].parse()?);
                if f[13] != "0" {
                    bail!("layer {i}: still busy after {cycles} cycles (the core hangs)");
                }
                if f[4] != "0" || f[5] != "0" || f[7] != "0" {
                    bail!(
                        "layer {i}: the core took {} activation beats (codec: records), {} weight words and wrote {} records more than expected (negative: fewer)",
                        f[4],
                        f[5],
                        f[7]
                    );
                }
                let layer = cases[i].layer;
                let d = LayerDescriptor::new(layer, cfg)?;
                let (output, coded) = match &bench.dram {
                    Some(plan) if d.out_mode != cbnn::hw::descriptor::MODE_ACC => {
                        let mut recs = std::mem::take(&mut records[i]);
                        if recs.pop() != Some(Vec::new()) {
                            bail!("layer {i}: bytes after the last output record");
                        }
                        let coded = plan.output_stream(i, &recs).with_context(|| format!("layer {i}"))?;
                        let [c, h, w] = layer.out_shape;
                        let t = cbnn::codec::decode(&coded, c, h, w, layer.out_bits, &layer.codec)
                            .map_err(|e| anyhow::anyhow!("layer {i}: the core's output records do not decode: {e}"))?;
                        (t, Some(coded))
                    }
                    _ => (streams::results_to_tensor(&d, cfg, &beats[i]).with_context(|| format!("layer {i}"))?, None),
                };
                runs.push(LayerRun {
                    output,
                    coded,
                    cycles,
                    compute_cycles: f[6].parse()?,
                    error: error != 0,
                    bytes_in: f[8].parse()?,
                    bytes_out: f[9].parse()?,
                    act_bytes: f[10].parse()?,
                    weight_bytes: f[11].parse()?,
                    written_bytes: f[12].parse()?,
                    trace: std::mem::take(&mut traces[i]),
                });
            }
            _ => {}
        }
    }
    if runs.len() != cases.len() {
        bail!("the simulation finished {} of {} layers:\n{out}", runs.len(), cases.len());
    }
    Ok((runs, timing))
}

/// Bytes `0..nbytes` of a beat printed by `%h` (byte `j` in bits `[8j + 7 : 8j]`).
fn beat_bytes(hex: &str, nbytes: usize) -> Result<Vec<u8>> {
    let d = hex.len();
    if 2 * nbytes > d {
        bail!("a beat of {} hex digits cannot hold {nbytes} bytes", d);
    }
    (0..nbytes).map(|j| Ok(u8::from_str_radix(&hex[d - 2 * j - 2..d - 2 * j], 16)?)).collect()
}
