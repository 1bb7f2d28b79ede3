//! Speed of `sweep`: the 100-point sweep sweeps/array_shape.toml (the embedded example network on
//! the default config, array shape x DRAM bandwidth), run from an empty results directory with 1
//! and with 2 worker threads, best of three runs each: wall-clock seconds and points per second.
//!
//!     cargo bench -p cbnn-explore --bench sweep
//!
//! The figures go into docs/PERFORMANCE.md.

use anyhow::Result;
use std::path::PathBuf;
use std::time::Instant;

use cbnn_explore::sweep::{run, RunOptions, Shard, Sweep};

fn main() -> Result<()> {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../sweeps/array_shape.toml");
    let sweep = Sweep::load(&file)?;
    println!(
        "sweep bench: {} ({} points), {} cores",
        file.display(),
        sweep.points.len(),
        std::thread::available_parallelism()?
    );
    println!("{:>5} {:>10} {:>12}", "jobs", "seconds", "points/s");
    for jobs in [1, 2] {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let dir = tempfile::tempdir()?;
            let o = RunOptions {
                out: dir.path().join("out"),
                jobs: Some(jobs),
                shard: Shard::ALL,
                synth_cache: None,
                progress: false,
            };
            let t = Instant::now();
            let r = run(&sweep, &o)?;
            best = best.min(t.elapsed().as_secs_f64());
            assert_eq!(r.finished, sweep.points.len(), "every point ran");
        }
        println!("{jobs:>5} {best:>10.2} {:>12.1}", sweep.points.len() as f64 / best);
    }
    Ok(())
}
