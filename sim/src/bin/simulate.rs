//! simulate: runs a network on the cycle-accurate model of the generated accelerator.
//!
//! With no arguments it runs the embedded example network on its embedded input, on the embedded
//! default config, with the DRAM model of the config, and checks every layer's output against
//! the golden model.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::npyio;
use cbnn::{fsutil, reference};
use cbnn_sim::report::{describe_core, sharing_table, table, Totals};
use cbnn_sim::waves::Waves;
use cbnn_sim::{run_network, Probe, RunOptions, Traffic};

/// Simulate a binary-CNN network on the generated accelerator, cycle by cycle.
#[derive(Parser)]
#[command(name = "simulate", version)]
struct Args {
    #[command(flatten)]
    inputs: cbnn::cli::RunInputs,
    /// Output directory.
    #[arg(long, default_value = "out/simulate")]
    out: PathBuf,
    /// Write a waveform of the core's control signals (VCD, the RTL's signal names).
    #[arg(long, value_name = "FILE")]
    vcd: Option<PathBuf>,
    /// Cycles of the whole run to put in the VCD, A..B (B excluded); default: all.
    #[arg(long, value_name = "A..B", value_parser = parse_window, requires = "vcd")]
    vcd_window: Option<Range<u64>>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the comparison of every layer's output with the golden model.
    #[arg(long)]
    no_check: bool,
    /// Also write every layer's output as DIR/layers/NN_NAME.npy.
    #[arg(long)]
    dump_layers: bool,
    /// Memory that never makes a stream wait, instead of the config's DRAM model.
    #[arg(long)]
    ideal_memory: bool,
}

fn parse_window(s: &str) -> Result<Range<u64>, String> {
    let bad = || format!("`{s}`: expected a cycle window A..B with integers A < B, e.g. 0..5000");
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b) = (a.trim().parse::<u64>().map_err(|_| bad())?, b.trim().parse::<u64>().map_err(|_| bad())?);
    if a >= b {
        return Err(bad());
    }
    Ok(a..b)
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("simulate");
    cbnn::cli::run("simulate", || run(args))
}

/// A test hook: `CBNN_SIM_FAULT=I` corrupts layer I's output, so tests can see the golden check fail.
fn fault_from_env() -> Result<Option<usize>> {
    match std::env::var("CBNN_SIM_FAULT") {
        Err(_) => Ok(None),
        Ok(v) => v.parse().map(Some).with_context(|| format!("CBNN_SIM_FAULT = `{v}`: expected a layer index")),
    }
}

fn run(args: Args) -> Result<()> {
    let (cfg, net, input) = args.inputs.load()?;
    let fault = fault_from_env()?;
    fsutil::create_dir(&args.out)?;
    let layers_dir = args.out.join("layers");
    if args.dump_layers {
        fsutil::create_dir(&layers_dir)?;
    }
    let prepared = reference::prepare(&net, &cfg, &input)?;
    prepared.print_notes("simulate");
    let qnet = prepared.qnet;

    let mut waves = match &args.vcd {
        Some(p) => Some(Waves::create(p, &cfg.name, cfg.clock.mhz, args.vcd_window.clone().unwrap_or(0..u64::MAX))?),
        None => None,
    };
    let traffic = if args.ideal_memory { Traffic::Free } else { Traffic::Dram };
    let run = run_network(
        &cfg,
        &qnet,
        &input,
        RunOptions {
            traffic,
            ideal: true,
            check: !args.no_check,
            probe: waves.as_mut().map(|w| w as &mut dyn Probe),
            fault,
            plain: true,
        },
    )?;
    if let Some(w) = waves {
        if let Some(win) = &args.vcd_window {
            if win.start >= w.t {
                bail!("--vcd-window {}..{}: the run has only {} cycles", win.start, win.end, w.t);
            }
        }
        w.finish()?;
    }

    let dump = args.dump_layers.then_some(&*layers_dir);
    let out_path = npyio::write_run_outputs(&args.out, &qnet.layers, &run.outputs, dump)?;
    let totals = Totals::of(&cfg, &run.layers);
    let report = serde_json::json!({
        "core": describe_core(&cfg, args.ideal_memory),
        "config": &cfg,
        "network": net.origin,
        "memory": if args.ideal_memory { "ideal" } else { "dram" },
        "golden_check": if args.no_check { "skipped" } else { "passed" },
        "output": out_path.display().to_string(),
        "layers": &run.layers,
        "totals": &totals,
    });
    let text = serde_json::to_string_pretty(&report)?;
    fsutil::write_atomic(&args.out.join("report.json"), text.as_bytes())?;
    if args.json {
        println!("{text}");
        return Ok(());
    }
    println!("simulate: {} ({} layers) on {}", net.origin, qnet.layers.len(), describe_core(&cfg, args.ideal_memory));
    print!("{}", table(&run.layers, &totals));
    print!("{}", sharing_table(&run.layers));
    let check = if args.no_check { "skipped (--no-check)" } else { "every layer bit-exact" };
    println!("golden model check: {check}");
    println!("wrote {}", out_path.display());
    println!("wrote {}", args.out.join("report.json").display());
    if args.dump_layers {
        println!("wrote every layer's output to {}/ (NN_LAYERNAME.npy)", layers_dir.display());
    }
    if let Some(p) = &args.vcd {
        println!("wrote {}", p.display());
    }
    Ok(())
}
