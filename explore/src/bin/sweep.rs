//! sweep: architecture what-if sweeps over config and network keys (docs/SWEEPS.md).
//!
//! With no arguments it runs the embedded example sweep (24 points of the example network).

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn_explore::sweep::{self, RunOptions, Shard, Sweep};

/// Run a sweep of accelerator configs and network options through the cycle simulator.
#[derive(Parser)]
#[command(name = "sweep", version, args_conflicts_with_subcommands = true)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Sweep file (TOML); default: the embedded example sweep.
    sweep: Option<PathBuf>,
    /// Results directory; default: out/sweep/<sweep file name> (with --shard I/N: .../shard-I-of-N).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Worker threads (points, and each point's images, run in parallel on them); default: one per core.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Run only the points i with i % N == I (0 <= I < N); default: all, or the Slurm array
    /// task's slice when SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT are set.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<Shard>,
    /// Also place and route each point's core (the sweep file's [synth] section).
    #[arg(long)]
    synth: bool,
    /// Where synthesis results are cached; default: ~/.cache/cbnn/synth.
    #[arg(long, requires = "synth")]
    synth_cache: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Combine the results directories of a sweep's shards into one result set.
    Merge {
        /// The shards' results directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where the merged results go.
        #[arg(long)]
        out: PathBuf,
    },
}

fn parse_shard(s: &str) -> Result<Shard, String> {
    Shard::parse(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("sweep");
    cbnn::cli::run("sweep", || match args.command {
        Some(Command::Merge { ref dirs, ref out }) => merge(dirs, out),
        None => run(&args),
    })
}

fn run(args: &Args) -> Result<()> {
    let shard = match args.shard {
        Some(s) => s,
        None => Shard::from_slurm(|k| std::env::var(k).ok())?.unwrap_or(Shard::ALL),
    };
    let sweep = match &args.sweep {
        Some(p) => Sweep::load(p)?,
        None => Sweep::example()?,
    };
    let name =
        args.sweep.as_deref().and_then(Path::file_stem).map_or("example".into(), |s| s.to_string_lossy().to_string());
    let out = args.out.clone().unwrap_or_else(|| {
        let d = PathBuf::from("out/sweep").join(name);
        if shard == Shard::ALL {
            d
        } else {
            d.join(format!("shard-{}-of-{}", shard.index, shard.count))
        }
    });
    let synth_cache = args.synth.then(|| args.synth_cache.clone().unwrap_or_else(sweep::synth::default_cache));
    let o =
        RunOptions { out: out.clone(), jobs: args.jobs.map(usize::from), shard, synth_cache, progress: !args.quiet };
    let r = sweep::run(&sweep, &o)?;
    let slice = if shard == Shard::ALL { String::new() } else { format!(" (shard {}/{})", shard.index, shard.count) };
    cbnn::outln!(
        "sweep: {}{slice}: {} points run, {} already done, {} invalid and skipped; {} of {} in {}",
        sweep.origin,
        r.ran,
        r.skipped_done,
        r.invalid.len(),
        r.finished,
        r.total,
        out.display()
    );
    print_outputs(&out);
    Ok(())
}

fn merge(dirs: &[PathBuf], out: &Path) -> Result<()> {
    let (m, rows) = sweep::store::merge_dirs(dirs)?;
    // The merged directory is a results directory of the sweep like any other (it can be
    // resumed or merged again).
    let mut store = sweep::store::Store::open(out, m.clone())?;
    for (i, cells) in &rows {
        if !store.rows.contains_key(i) {
            store.append(*i, cells.clone())?;
        }
    }
    let rows = store.rows;
    sweep::run::finish(out, &m, &rows, &[])?;
    cbnn::outln!(
        "sweep merge: {} of {} points of {} from {} directories into {}",
        rows.len(),
        m.points,
        m.sweep,
        dirs.len(),
        out.display()
    );
    if rows.len() < m.points {
        eprintln!(
            "sweep merge: note: {} points are in none of the directories (see summary.md)",
            m.points - rows.len()
        );
    }
    print_outputs(out);
    Ok(())
}

fn print_outputs(dir: &Path) {
    for f in
        ["results.csv", "results.json", "summary.md", "latency_vs_area.svg", "dram_by_codec.svg", "fidelity_vs_g.svg"]
    {
        cbnn::outln!("wrote {}", dir.join(f).display());
    }
}
