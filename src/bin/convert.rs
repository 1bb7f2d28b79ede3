//! convert: turns a normally trained conv layer (float OIHW weights) of a network into an SLBF
//! layer (SPEC 3.4) or a PENNI layer (SPEC 3.5), writes the converted network as a complete
//! directory and reports what it costs in fidelity and saves in weight memory.
//!
//! With no --network it converts the embedded example network's first 3x3 conv layer.

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::convert::kmeans::Init;
use cbnn::convert::netfile::Source;
use cbnn::convert::penni::{PenniOptions, Prune};
use cbnn::convert::slbf::{GivenBank, SlbfOptions};
use cbnn::convert::{Job, Method};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Target {
    Slbf,
    Penni,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum InitArg {
    #[value(name = "kmeans++")]
    KMeansPlusPlus,
    Random,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PruneArg {
    None,
    Std,
}

/// Convert a trained conv layer of a network to an SLBF or a PENNI layer, with a fidelity report.
#[derive(Parser)]
#[command(name = "convert", version)]
struct Args {
    #[command(flatten)]
    inputs: cbnn::cli::RunInputs,
    /// The conv layer to convert (default: the first conv layer with a kernel larger than 1x1).
    #[arg(long)]
    layer: Option<String>,
    /// The layer kind to convert to.
    #[arg(long, value_enum)]
    to: Target,
    /// slbf: d, input channels per slice; must divide the layer's input channels
    /// (default: the largest divisor up to 32).
    #[arg(long, value_name = "D", value_parser = positive)]
    slice_channels: Option<u32>,
    /// slbf: n, bank filters found by k-means, 1..=O*m (default: min(64, ceil(O*m/4))).
    #[arg(long, value_name = "N", value_parser = positive)]
    bank_size: Option<u32>,
    /// slbf: use this bank ([n, d, K, K] float32 .npy) instead of k-means.
    #[arg(long, value_name = "FILE")]
    bank: Option<PathBuf>,
    /// slbf: k-means seeding (default kmeans++).
    #[arg(long, value_enum)]
    init: Option<InitArg>,
    /// slbf: seed of the k-means seeding (default 0).
    #[arg(long)]
    seed: Option<u64>,
    /// slbf: most k-means (Lloyd) iterations; it stops earlier when no sub-filter changes
    /// cluster (default 100).
    #[arg(long, value_name = "I", value_parser = positive)]
    iterations: Option<u32>,
    /// penni: d, basis kernels, 1..=K*K (default: min(5, K*K)).
    #[arg(long, value_name = "D", value_parser = positive)]
    bases: Option<u32>,
    /// penni: coefficient pruning: none, or std (the paper's rule: |c| < std(c) zeroed).
    #[arg(long, value_enum, conflicts_with = "density")]
    prune: Option<PruneArg>,
    /// penni: keep the largest-magnitude fraction F of the coefficients, 0 < F <= 1.
    #[arg(long, value_name = "F", value_parser = parse_density)]
    density: Option<f64>,
    /// Output directory (replaced whole; must be new, empty or an earlier convert output).
    #[arg(long, default_value = "out/convert")]
    out: PathBuf,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn positive(s: &str) -> Result<u32, String> {
    s.parse::<u32>().ok().filter(|&v| v >= 1).ok_or_else(|| "expected a positive integer".to_string())
}

fn parse_density(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 1.0 => Ok(f),
        _ => Err("expected a fraction F with 0 < F <= 1".to_string()),
    }
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("convert");
    let method = method(&args);
    cbnn::cli::run("convert", || run(args, method))
}

/// The method options; an option of the other method is a command-line error (exit 2).
fn method(a: &Args) -> Method {
    let slbf_flags = [
        ("--slice-channels", a.slice_channels.is_some()),
        ("--bank-size", a.bank_size.is_some()),
        ("--bank", a.bank.is_some()),
        ("--init", a.init.is_some()),
        ("--seed", a.seed.is_some()),
        ("--iterations", a.iterations.is_some()),
    ];
    let penni_flags =
        [("--bases", a.bases.is_some()), ("--prune", a.prune.is_some()), ("--density", a.density.is_some())];
    let (other, this) = match a.to {
        Target::Slbf => (penni_flags.as_slice(), "slbf"),
        Target::Penni => (slbf_flags.as_slice(), "penni"),
    };
    if let Some((flag, _)) = other.iter().find(|(_, given)| *given) {
        cbnn::cli::usage_error("convert", &format!("{flag} is not used with --to {this}"));
    }
    if a.bank.is_some() {
        for (flag, given) in &slbf_flags[3..] {
            if *given {
                cbnn::cli::usage_error("convert", &format!("{flag} is not used with --bank (no k-means runs)"));
            }
        }
    }
    match a.to {
        Target::Slbf => Method::Slbf(SlbfOptions {
            slice_channels: a.slice_channels.map(|v| v as usize),
            bank_size: a.bank_size.map(|v| v as usize),
            bank: None, // read in `run`, where a bad file is an input error (exit 1)
            init: match a.init.unwrap_or(InitArg::KMeansPlusPlus) {
                InitArg::KMeansPlusPlus => Init::KMeansPlusPlus,
                InitArg::Random => Init::Random,
            },
            seed: a.seed.unwrap_or(0),
            iterations: a.iterations.unwrap_or(100) as usize,
        }),
        Target::Penni => Method::Penni(PenniOptions {
            bases: a.bases.map(|v| v as usize),
            prune: match (a.density, a.prune) {
                (Some(f), _) => Prune::Density(f),
                (None, Some(PruneArg::Std)) => Prune::Std,
                (None, _) => Prune::None,
            },
        }),
    }
}

fn run(args: Args, mut method: Method) -> Result<()> {
    let (cfg, net, input) = args.inputs.load()?;
    let source = Source::load(args.inputs.network.as_deref())?;
    if let (Method::Slbf(o), Some(path)) = (&mut method, &args.bank) {
        let origin = path.display().to_string();
        let bytes = cbnn::npyio::read_file(path).context("--bank")?;
        let a = cbnn::npyio::parse_f32(&bytes).with_context(|| format!("--bank {origin}"))?;
        o.bank = Some(GivenBank { origin, shape: a.shape, data: a.data });
    }
    let input_name = match &args.inputs.input {
        Some(p) => p.display().to_string(),
        None => "<embedded input>".to_string(),
    };
    let job = Job {
        cfg: &cfg,
        source: &source,
        net: &net,
        input: &input,
        input_file: args.inputs.input.as_deref().map(cbnn::npyio::read_file).transpose()?,
        input_name,
        layer: args.layer.as_deref(),
        method: &method,
        out: args.out.clone(),
    };
    let outcome = cbnn::convert::run(&job)?;
    for n in &outcome.notes {
        eprintln!("convert: note: {n}");
    }
    let r = &outcome.report;
    if args.json {
        cbnn::outln!("{}", serde_json::to_string_pretty(&r.to_json())?);
    } else {
        cbnn::out!("{}", r.table());
        cbnn::outln!(
            "wrote {}/: net.toml ({} as {}: {}), input.npy, report.json and the other files the network names",
            args.out.display(),
            r.layer,
            r.to,
            r.files.join(", ")
        );
    }
    Ok(())
}
