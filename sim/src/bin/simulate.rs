//! simulate: runs a network on the cycle-accurate model of the generated accelerator, on one
//! image or a batch of images (back to back; simulated in parallel, reported in image order).
//!
//! With no arguments it runs the embedded example network on its embedded input, on the embedded
//! default config, with the DRAM model of the config, and checks every layer's output against
//! the golden model.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::ops::Range;
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::batch::{self, Batch};
use cbnn::classify::{self, Top1};
use cbnn::network::Network;
use cbnn::quant::QNet;
use cbnn::tensor::Tensor3;
use cbnn::{fsutil, reference};
use cbnn_sim::batch::{BatchTotals, ImageRun};
use cbnn_sim::report::{describe_core, sharing_table, table, Totals};
use cbnn_sim::waves::Waves;
use cbnn_sim::{run_network, Probe, RunOptions, Traffic};

/// Simulate a binary-CNN network on the generated accelerator, cycle by cycle.
#[derive(Parser)]
#[command(name = "simulate", version)]
struct Args {
    #[command(flatten)]
    inputs: cbnn::cli::BatchInputs,
    /// Output directory.
    #[arg(long, default_value = "out/simulate")]
    out: PathBuf,
    /// Write a waveform of the core's control signals (VCD, the RTL's signal names); of the
    /// first image only for a batch.
    #[arg(long, value_name = "FILE")]
    vcd: Option<PathBuf>,
    /// Cycles of the (first image's) run to put in the VCD, A..B (B excluded); default: all.
    #[arg(long, value_name = "A..B", value_parser = parse_window, requires = "vcd")]
    vcd_window: Option<Range<u64>>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Skip the comparison of every layer's output with the golden model.
    #[arg(long)]
    no_check: bool,
    /// Also write every layer's output as DIR/layers/NN_NAME.npy (stacked [N, ...] for a batch).
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

/// A test hook: `CBNN_SIM_FAULT=I` corrupts layer I's output of every image, `I@K` of image K
/// only, so tests can see the golden check fail.
#[derive(Clone, Copy)]
struct Fault {
    layer: usize,
    image: Option<usize>,
}

fn fault_from_env() -> Result<Option<Fault>> {
    let Ok(v) = std::env::var("CBNN_SIM_FAULT") else { return Ok(None) };
    let bad = || format!("CBNN_SIM_FAULT = `{v}`: expected a layer index I or I@IMAGE");
    let (layer, image) = match v.split_once('@') {
        Some((l, i)) => (l, Some(i.parse().with_context(bad)?)),
        None => (v.as_str(), None),
    };
    Ok(Some(Fault { layer: layer.parse().with_context(bad)?, image }))
}

/// What every image's run shares.
struct Job<'a> {
    args: &'a Args,
    cfg: &'a cbnn::config::AccelConfig,
    net: &'a Network,
    qnet: &'a QNet,
    batch: &'a Batch,
    fault: Option<Fault>,
}

impl Job<'_> {
    /// Image `k` on the core, checked against the golden model unless --no-check; its errors
    /// name the image when the input is a batch.
    fn image(&self, k: usize, x: &Tensor3<i32>, probe: Option<&mut dyn Probe>) -> Result<ImageRun> {
        let fault = self.fault.filter(|f| f.image.is_none_or(|i| i == k)).map(|f| f.layer);
        let options = RunOptions {
            traffic: if self.args.ideal_memory { Traffic::Free } else { Traffic::Dram },
            ideal: true,
            check: !self.args.no_check,
            probe,
            fault,
            plain: true,
        };
        let run = run_network(self.cfg, self.qnet, x, options).map_err(|e| {
            if self.batch.stacked {
                e.context(format!("image {k}"))
            } else {
                e
            }
        })?;
        let last = self.qnet.layers.last().context("a network has layers")?;
        let mut outputs = run.outputs;
        let predicted = classify::predict(last, outputs.last().context("a network has layers")?);
        let reference = classify::reference_class(reference::run(self.net, x).last().context("a network has layers")?);
        if !self.args.dump_layers {
            outputs.drain(..outputs.len() - 1);
        }
        Ok(ImageRun { outputs, layers: run.layers, predicted, reference })
    }

    /// Every image, in image order: the first alone when it draws the waveform, the others (all
    /// of them without a waveform) in parallel.
    fn all(&self, waves: Option<&mut Waves>) -> Result<Vec<ImageRun>> {
        let images = &self.batch.images;
        let bar = batch::par::progress("simulate", images.len());
        let runs = match waves {
            None => batch::par::map(images, &bar, |k, x| self.image(k, x, None))?,
            Some(w) => {
                let first = self.image(0, &images[0], Some(w as &mut dyn Probe))?;
                if let Some(win) = &self.args.vcd_window {
                    if win.start >= w.t {
                        bail!("--vcd-window {}..{}: the run has only {} cycles", win.start, win.end, w.t);
                    }
                }
                bar.inc(1);
                let rest = batch::par::map(&images[1..], &bar, |k, x| self.image(k + 1, x, None))?;
                std::iter::once(first).chain(rest).collect()
            }
        };
        bar.finish_and_clear();
        Ok(runs)
    }
}

fn run(args: Args) -> Result<()> {
    let (cfg, net, batch) = args.inputs.load()?;
    let fault = fault_from_env()?;
    // A bad --out fails before any work; the directory is made once the work has succeeded.
    fsutil::check_out_dir(&args.out)?;
    let layers_dir = args.out.join("layers");
    // Once for the whole batch: a missing out_scale is calibrated on the first image.
    let compiled = reference::compile_once(&net, &cfg, &batch.images[0])?;
    compiled.print_notes("simulate", batch.calibration_input());
    let qnet = compiled.qnet;

    let mut waves = match &args.vcd {
        Some(p) => Some(Waves::create(p, &cfg.name, cfg.clock.mhz, args.vcd_window.clone().unwrap_or(0..u64::MAX))?),
        None => None,
    };
    let job = Job { args: &args, cfg: &cfg, net: &net, qnet: &qnet, batch: &batch, fault };
    let runs = job.all(waves.as_mut())?;

    fsutil::create_dir(&args.out)?;
    if args.dump_layers {
        fsutil::fresh_layer_dump_dir(&layers_dir)?;
    }
    let dump = args.dump_layers.then_some(&*layers_dir);
    let outputs: Vec<&[Tensor3<i32>]> = runs.iter().map(|r| r.outputs.as_slice()).collect();
    let out_path = batch::write::outputs(&args.out, &qnet.layers, &outputs, batch.stacked, dump)?;
    let predicted: Vec<usize> = runs.iter().map(|r| r.predicted).collect();
    let predictions = batch::write::predictions(&args.out, &predicted)?;
    let references: Vec<usize> = runs.iter().map(|r| r.reference).collect();
    let top1 = Top1::new(&predicted, &references, batch.labels.as_deref());
    let layers = cbnn_sim::batch::layers(&cfg, &runs, batch.stacked);
    let means: Vec<_> = layers.iter().map(|l| l.mean.clone()).collect();
    let totals = Totals::of(&cfg, &means);
    let batch_totals = BatchTotals::of(&cfg, &runs);
    let mut report = serde_json::json!({
        "core": describe_core(&cfg, args.ideal_memory),
        "config": &cfg,
        "network": net.origin,
        "memory": if args.ideal_memory { "ideal" } else { "dram" },
        "golden_check": if args.no_check { "skipped" } else { "passed" },
        "output": out_path.display().to_string(),
        "predictions": predictions.display().to_string(),
        "layers": &layers,
        "totals": &totals,
        "batch": &batch_totals,
    });
    top1.add_to(&mut report);
    let text = serde_json::to_string_pretty(&report)?;
    fsutil::write_atomic(&args.out.join("report.json"), text.as_bytes())?;
    // The waveform appears only now that every image ran and was checked.
    if let Some(w) = waves {
        w.finish()?;
    }
    if args.json {
        cbnn::outln!("{text}");
        return Ok(());
    }
    let images = if batch.stacked {
        format!("; a batch of {} images, figures per image are means", batch.images.len())
    } else {
        String::new()
    };
    let core = describe_core(&cfg, args.ideal_memory);
    cbnn::outln!("simulate: {} ({} layers{images}) on {core}", net.origin, qnet.layers.len());
    cbnn::out!("{}", table(&means, &totals));
    if batch.stacked {
        cbnn::out!("{}", cbnn_sim::batch::spread_table(&layers));
        cbnn::out!("{}", batch_totals.describe(cfg.clock.mhz));
    }
    cbnn::out!("{}", sharing_table(&means));
    let check = if args.no_check { "skipped (--no-check)" } else { "every layer bit-exact" };
    cbnn::outln!("golden model check: {check}");
    cbnn::outln!("{}", top1.describe());
    cbnn::outln!("wrote {}", out_path.display());
    cbnn::outln!("wrote {}", predictions.display());
    cbnn::outln!("wrote {}", args.out.join("report.json").display());
    if args.dump_layers {
        cbnn::outln!("wrote every layer's output to {}/ (NN_LAYERNAME.npy)", layers_dir.display());
    }
    if let Some(p) = &args.vcd {
        let first = if batch.stacked { " (the first image)" } else { "" };
        cbnn::outln!("wrote {}{first}", p.display());
    }
    Ok(())
}
