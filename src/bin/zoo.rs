//! zoo: writes a network that performance figures are quoted on (docs/PERFORMANCE.md) as a
//! network directory, for `simulate`, `golden` and `sweep` to run. Weights are random (seeded).

use anyhow::Result;
use clap::{Parser, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::network::zoo::{is_zoo_output, Shape};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Name {
    /// Binary VGG-small at half width (64-64-P-128-128-P-256-256-P-fc256-fc10, padded 3x3).
    VggHalf,
    /// FINN's CNV-W1A1 shape at full width (64-64-P-128-128-P-256-256-fc512-fc512-fc10, valid 3x3).
    CnvW1a1,
}

/// Write a benchmark network (net.toml, random weights, an 8-bit input image) to a directory.
#[derive(Parser)]
#[command(name = "zoo", version)]
struct Args {
    /// The network.
    #[arg(value_enum)]
    network: Name,
    /// Output directory (default: out/zoo/NETWORK); an earlier zoo output there is replaced.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Seed of the random weights and image noise.
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("zoo");
    cbnn::cli::run("zoo", || run(args))
}

fn run(args: Args) -> Result<()> {
    let shape = match args.network {
        Name::VggHalf => Shape::VggHalf,
        Name::CnvW1a1 => Shape::CnvW1a1,
    };
    let out = args.out.unwrap_or_else(|| PathBuf::from("out/zoo").join(shape.name()));
    cbnn::fsutil::replace_dir(&out, is_zoo_output, |d| shape.write(d, args.seed))?;
    cbnn::outln!("wrote {}/{{net.toml, *.npy, input.npy}}: {}", out.display(), shape.name());
    Ok(())
}
