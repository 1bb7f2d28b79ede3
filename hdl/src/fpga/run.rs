//! One run of the flow: Verilog -> Yosys (flattened netlist) -> nextpnr (placement,
//! routing, timing report) -> bitstream, in an output directory; and the report of it all.

use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use super::area::{parse_netlist, AreaReport};
use super::pnr::{overflow_from_log, parse_report, PnrReport};
use super::tools::Tools;
use super::Target;
use crate::generator::verilog::{join, Module};

/// What to run.
pub struct FlowOptions<'a> {
    pub target: Target,
    /// The top module.
    pub top: &'a str,
    /// Board constraints (pcf/lpf); `None`: ECP5 out-of-context (the core alone, no pins).
    pub constraints: Option<&'a Path>,
    pub freq_mhz: f64,
    pub out: &'a Path,
}

#[derive(Clone, Debug, Serialize)]
pub struct FlowReport {
    pub target: String,
    pub top: String,
    pub out_of_context: bool,
    pub area: AreaReport,
    pub pnr: PnrReport,
    /// The bitstream's path (board-level runs).
    pub bitstream: Option<PathBuf>,
    pub yosys_s: f64,
    pub nextpnr_s: f64,
}

/// Runs `cmd` with its output going to `log`; an error names the log's last lines.
fn logged(cmd: &mut Command, what: &str, log: &Path) -> Result<f64> {
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("cannot start {what}"))?;
    let text = [out.stdout, out.stderr].concat();
    std::fs::write(log, &text).with_context(|| format!("{}: cannot write", log.display()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&text);
        // The tool's own error line (nextpnr ends with a count of errors after it).
        let last = text
            .lines()
            .find(|l| l.trim_start().starts_with("ERROR"))
            .or_else(|| text.lines().rev().find(|l| l.contains("rror")))
            .unwrap_or("");
        bail!("{what} failed ({}): {} (log: {})", out.status, last.trim(), log.display());
    }
    Ok(t.elapsed().as_secs_f64())
}

/// Runs the flow on `modules` into `o.out` (rtl.v, netlist.json, logs, report.json
/// written by the caller, and the bitstream).
pub fn run_flow(tools: &Tools, modules: &[Module], o: &FlowOptions) -> Result<FlowReport> {
    cbnn::fsutil::create_dir(o.out)?;
    let rtl = join(modules);
    crate::cosim::verilog_tools::dump_design(&rtl);
    cbnn::fsutil::write_atomic(&o.out.join("rtl.v"), rtl.as_bytes())?;
    // Every tool runs in the output directory on relative names: the PyPI (WebAssembly) builds
    // of nextpnr see only the directory they run in.
    let here = |c: &mut Command| {
        c.current_dir(o.out);
    };
    let script = format!("read_verilog rtl.v; {} -top {}; write_json netlist.json", o.target.synth_command(), o.top);
    let mut yosys = Command::new(&tools.yosys);
    here(yosys.args(["-q", "-p", &script]));
    let yosys_s = logged(&mut yosys, "yosys", &o.out.join("yosys.log"))?;
    let netlist = std::fs::read_to_string(o.out.join("netlist.json")).context("yosys wrote no netlist")?;
    let area = parse_netlist(&netlist, o.top)?;

    let mut pnr = Command::new(&tools.nextpnr);
    here(&mut pnr);
    pnr.args(o.target.device_args()).args(["--json", "netlist.json", "--report", "nextpnr-report.json"]).args([
        "--freq",
        &format!("{}", o.freq_mhz),
        "--timing-allow-fail",
        "--seed",
        "1",
    ]);
    let family = o.target.family;
    let placed = match o.constraints {
        None if !family.has_out_of_context() => {
            bail!("{}: its family has no out-of-context mode: a run without pins needs an ECP5 target", o.target.name())
        }
        None => {
            pnr.arg("--out-of-context");
            None
        }
        Some(c) => {
            let (ext, flag, out_flag, placed) = family.pin_files();
            let file = format!("pins.{ext}");
            std::fs::copy(c, o.out.join(&file)).with_context(|| format!("{}: cannot read", c.display()))?;
            pnr.args([flag, file.as_str(), out_flag, placed]);
            Some(placed)
        }
    };
    let t = Instant::now();
    let nextpnr_s = match logged(&mut pnr, "nextpnr", &o.out.join("nextpnr.log")) {
        Ok(s) => s,
        Err(e) => {
            // A design larger than the FPGA still gets its area reported, and what it needs.
            let log = std::fs::read_to_string(o.out.join("nextpnr.log")).unwrap_or_default();
            let Some(pnr) = overflow_from_log(&log, o.freq_mhz) else { return Err(e) };
            return Ok(FlowReport {
                target: o.target.name().into(),
                top: o.top.into(),
                out_of_context: o.constraints.is_none(),
                area,
                pnr,
                bitstream: None,
                yosys_s,
                nextpnr_s: t.elapsed().as_secs_f64(),
            });
        }
    };
    let report = std::fs::read_to_string(o.out.join("nextpnr-report.json")).context("nextpnr wrote no report")?;
    let pnr_report = parse_report(&report, o.freq_mhz)?;
    let bitstream = match placed {
        None => None,
        Some(placed) => {
            let ext = family.bitstream_ext();
            let (bit, tmp) = (format!("{}.{ext}", o.top), format!(".{}.{ext}.tmp", o.top));
            let mut pack = Command::new(&tools.pack);
            here(pack.args([placed, tmp.as_str()]));
            logged(&mut pack, "bitstream packing", &o.out.join("pack.log"))?;
            let bit = o.out.join(bit);
            std::fs::rename(o.out.join(&tmp), &bit).with_context(|| format!("{}: cannot write", bit.display()))?;
            Some(bit)
        }
    };
    Ok(FlowReport {
        target: o.target.name().into(),
        top: o.top.into(),
        out_of_context: o.constraints.is_none(),
        area,
        pnr: pnr_report,
        bitstream,
        yosys_s,
        nextpnr_s,
    })
}
