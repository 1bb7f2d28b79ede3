//! Runs layers on the emitted Verilog of a whole core under Icarus Verilog: the testbench plays the
//! host and DRAM (writes each layer's descriptor and parameters, feeds the activation and weight
//! streams in the order of `cbnn::hw::streams`, takes the result stream), and reports every
//! layer's output tensor and its exact cycle count from `start` to `busy` falling.
//!
//! The layers run one after another on one instance of the core, as a network would.

use anyhow::{bail, Context, Result};
use std::fmt::Write as _;

use crate::flow;
use crate::top::{core_modules, TopShape};
use crate::verilog::Module;
use cbnn::config::AccelConfig;
use cbnn::hw::regs::{register_values, REGISTERS};
use cbnn::hw::{params, streams, LayerDescriptor};
use cbnn::quant::QLayer;
use cbnn::tensor::Tensor3;

/// How the testbench drives the streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Input streams always valid, the result stream always ready: the core's own cycle count.
    Free,
    /// Valid and ready drop at random (seeded): checks the handshakes.
    Random(u32),
}

/// One layer's result on the RTL.
#[derive(Clone, Debug)]
pub struct LayerRun {
    pub output: Tensor3<i32>,
    /// Clock cycles from the `start` edge to the first cycle with `busy` low.
    pub cycles: u64,
    /// Of these, the cycles spent computing output rows (controller phase `ROWS`): the layer's
    /// steady state, without the loads of activations and weights.
    pub compute_cycles: u64,
    /// The core's `error` flag at the end (a buffer access out of range).
    pub error: bool,
}

/// A layer with its input tensor (integers of `layer.in_bits`).
pub struct LayerCase<'a> {
    pub layer: &'a QLayer,
    pub input: &'a Tensor3<i32>,
}

fn hex_lines<T: std::fmt::LowerHex>(v: &[T]) -> String {
    v.iter().map(|x| format!("{x:x}\n")).collect()
}

/// Builds the testbench; returns it with the contents of its data files.
fn testbench(
    cfg: &AccelConfig,
    s: &TopShape,
    top_ports: &[crate::manifest::Port],
    cases: &[LayerCase],
    traffic: Traffic,
) -> Result<(String, String, String)> {
    let top = &cfg.name;
    let (lanes, act_bits) = (s.compute.array.lanes, 8 * s.compute.beat);
    let out_w = s.out_lanes * s.out_lane_bits;
    let (mut acts, mut weights) = (Vec::<u128>::new(), Vec::<u128>::new());
    let mut body = String::new();
    let (seed, gate) = match traffic {
        Traffic::Free => (1, "1'b1".to_string()),
        Traffic::Random(seed) => (seed, "(($random(seed) & 3) != 0)".to_string()),
    };
    for (i, case) in cases.iter().enumerate() {
        let d = LayerDescriptor::new(case.layer, cfg).with_context(|| format!("layer {i}"))?;
        // Descriptor registers, then the PPU parameters.
        for ((name, w), v) in REGISTERS.iter().zip(register_values(&d, cfg)) {
            if *w < 32 && v >> w != 0 {
                bail!("layer {}: register {name} = {v} does not fit {w} bits", case.layer.name);
            }
            writeln!(body, "reg_we = 1; reg_addr = {}; reg_data = 32'd{v}; tick;", cbnn::hw::regs::address(name))?;
        }
        writeln!(body, "reg_we = 0;")?;
        let b = s.bias_bits;
        for (sel, table) in [
            (
                0,
                params::scale_tables(case.layer, &d, cfg)
                    .into_iter()
                    .map(|t| t.into_iter().map(|m| m as i64).collect())
                    .collect::<Vec<Vec<i64>>>(),
            ),
            (1, params::bias_tables(case.layer, &d, cfg)),
        ] {
            for (j, t) in table.iter().enumerate() {
                for (a, v) in t.iter().enumerate() {
                    let raw = (*v as i128 & ((1i128 << b) - 1)) as u128;
                    writeln!(
                        body,
                        "param_we = 1; param_sel = {sel}; param_ppu = {j}; param_addr = {a}; param_data = {b}'h{raw:x}; tick;"
                    )?;
                }
            }
        }
        writeln!(body, "param_we = 0;")?;
        let a0 = acts.len();
        acts.extend(streams::layer_act_stream(&d, cfg, case.input, case.layer.in_bits).iter().map(|b| b.word()));
        let w0 = weights.len();
        weights.extend(streams::layer_weight_stream(case.layer, &d, cfg));
        writeln!(body, "ai = {a0}; ae = {}; wi = {w0}; we_ = {};", acts.len(), weights.len())?;
        writeln!(body, "start = 1; tick; start = 0; t = 0; tc = 0;")?;
        writeln!(
            body,
            "while (busy && t < 50000000) begin\n\
             \x20 act_valid = (ai < ae) && {gate}; act_data = amem[ai];\n\
             \x20 w_valid = (wi < we_) && {gate}; w_data = wmem[wi];\n\
             \x20 out_ready = {gate};\n\
             \x20 #1;\n\
             \x20 if (act_valid && act_ready) ai = ai + 1;\n\
             \x20 if (w_valid && w_ready) wi = wi + 1;\n\
             \x20 if (out_valid && out_ready) $display(\"B {i} %h\", out_data);\n\
             \x20 if (phase == {rows}) tc = tc + 1;\n\
             \x20 clock = 1; #1 clock = 0; t = t + 1;\n\
             end\n\
             act_valid = 0; w_valid = 0; out_ready = 0;\n\
             $display(\"C {i} %0d %0d %0d %0d %0d\", t, error, ai - ae, wi - we_, tc);",
            rows = crate::controller::ROWS
        )?;
    }
    let mut tb = String::new();
    writeln!(tb, "module tb;")?;
    writeln!(tb, "reg clock = 0, reset = 1, reg_we = 0, param_we = 0, param_sel = 0, start = 0;")?;
    writeln!(tb, "reg act_valid = 0, w_valid = 0, out_ready = 0;")?;
    writeln!(tb, "reg [{}:0] reg_addr = 0; reg [31:0] reg_data = 0;", cbnn::hw::regs::REG_ADDR_BITS - 1)?;
    writeln!(tb, "reg [7:0] param_ppu = 0; reg [15:0] param_addr = 0; reg [{}:0] param_data = 0;", s.bias_bits - 1)?;
    writeln!(tb, "reg [{}:0] act_data = 0; reg [{}:0] w_data = 0;", act_bits - 1, lanes - 1)?;
    writeln!(
        tb,
        "wire busy, error, act_ready, w_ready, out_valid; wire [15:0] row; wire [3:0] phase; wire [{}:0] out_data;",
        out_w - 1
    )?;
    writeln!(tb, "integer ai, ae, wi, we_, t, tc, seed = {seed};")?;
    writeln!(tb, "reg [{}:0] amem [0:{}];", act_bits - 1, acts.len().max(1) - 1)?;
    writeln!(tb, "reg [{}:0] wmem [0:{}];", lanes - 1, weights.len().max(1) - 1)?;
    let ports = [
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
    // Every port of the core is driven or watched: an unconnected input would float silently.
    let mut want: Vec<&str> = top_ports.iter().map(|p| p.name.as_str()).collect();
    let mut have = ports.to_vec();
    want.sort();
    have.sort();
    if want != have {
        bail!("the testbench connects {have:?}, the core has ports {want:?}");
    }
    let conns: Vec<String> = ports.iter().map(|p| format!(".{p}({p})")).collect();
    writeln!(tb, "{top} dut({});", conns.join(", "))?;
    writeln!(tb, "task tick; begin #1 clock = 1; #1 clock = 0; end endtask")?;
    writeln!(tb, "initial begin")?;
    writeln!(tb, "$readmemh(\"acts.hex\", amem); $readmemh(\"weights.hex\", wmem);")?;
    writeln!(tb, "tick; tick; reset = 0; tick;")?;
    tb += &body;
    writeln!(tb, "$finish;\nend\nendmodule")?;
    Ok((tb, hex_lines(&acts), hex_lines(&weights)))
}

/// Lane `j` of a beat printed by `%h` (lanes are `bits` wide, a multiple of 4: whole hex digits).
fn lanes_of(hex: &str, lanes: usize, bits: usize) -> Result<Vec<u64>> {
    let digits = bits / 4;
    if hex.len() != lanes * digits {
        bail!("expected {} hex digits", lanes * digits);
    }
    (0..lanes)
        .map(|j| {
            let end = hex.len() - j * digits;
            Ok(u64::from_str_radix(&hex[end - digits..end], 16)?)
        })
        .collect()
}

/// Runs `cases` one after another on the core generated from `cfg`; `None` when Icarus is
/// missing on a developer machine (see `flow::have_icarus`).
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
    if !flow::have_icarus("core co-simulation") {
        return Ok(None);
    }
    let s = TopShape::from_config(cfg)?;
    let top = modules.iter().find(|m| m.name == cfg.name).context("no top module among the modules")?;
    let (tb, acts, weights) = testbench(cfg, &s, &crate::manifest::ports(top), cases, traffic)?;
    // CBNN_COSIM_DIR keeps the testbench, data and Verilog for a look in a simulator or viewer.
    let tmp = tempfile::tempdir()?;
    let dir = match std::env::var_os("CBNN_COSIM_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d)?;
            std::path::PathBuf::from(d)
        }
        None => tmp.path().to_path_buf(),
    };
    std::fs::write(dir.join("acts.hex"), acts)?;
    std::fs::write(dir.join("weights.hex"), weights)?;
    let out = flow::icarus_run_with(&dir, &tb, modules)?;
    let mut beats: Vec<Vec<Vec<u64>>> = vec![Vec::new(); cases.len()];
    let mut runs = Vec::new();
    for line in out.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"B") => {
                let i: usize = f[1].parse()?;
                beats[i]
                    .push(lanes_of(f[2], s.out_lanes, s.out_lane_bits).with_context(|| format!("result beat {line}"))?);
            }
            Some(&"C") => {
                let i: usize = f[1].parse()?;
                let (cycles, error): (u64, u32) = (f[2].parse()?, f[3].parse()?);
                if f[4] != "0" || f[5] != "0" {
                    bail!("layer {i}: the core took {} activation values and {} weight words more than its streams hold (negative: fewer)", f[4], f[5]);
                }
                let d = LayerDescriptor::new(cases[i].layer, cfg)?;
                let output = streams::results_to_tensor(&d, cfg, &beats[i]).with_context(|| format!("layer {i}"))?;
                runs.push(LayerRun { output, cycles, compute_cycles: f[6].parse()?, error: error != 0 });
            }
            _ => {}
        }
    }
    if runs.len() != cases.len() {
        bail!("the simulation finished {} of {} layers:\n{out}", runs.len(), cases.len());
    }
    Ok(Some(runs))
}
