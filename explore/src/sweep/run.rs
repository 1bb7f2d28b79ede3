//! Running a sweep: check every point, open (or resume) the results directory, run the points
//! of this shard that are not done yet in parallel with a progress bar, append each row as it
//! finishes, and write the results, the summary and the plots.

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::point::{columns, evaluate};
use super::spec::{Point, Sweep};
use super::store::{write_results, Manifest, Store};

/// One slice of a sweep: the points `i` with `i % count == index`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// `I/N` with `0 <= I < N`.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || anyhow::anyhow!("--shard `{s}`: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) =
            (i.trim().parse::<usize>().map_err(|_| bad())?, n.trim().parse::<usize>().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The shard a Slurm array task runs: `SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN` of
    /// `SLURM_ARRAY_TASK_COUNT`, when those are set.
    pub fn from_slurm(var: impl Fn(&str) -> Option<String>) -> Result<Option<Shard>> {
        let (Some(id), Some(count)) = (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) else {
            return Ok(None);
        };
        let min = var("SLURM_ARRAY_TASK_MIN").unwrap_or_else(|| "0".into());
        let num = |k: &str, v: &str| {
            v.trim().parse::<usize>().map_err(|_| anyhow::anyhow!("{k} = `{v}`: expected a non-negative integer"))
        };
        let (id, count, min) = (
            num("SLURM_ARRAY_TASK_ID", &id)?,
            num("SLURM_ARRAY_TASK_COUNT", &count)?,
            num("SLURM_ARRAY_TASK_MIN", &min)?,
        );
        if id < min || id - min >= count {
            bail!("SLURM_ARRAY_TASK_ID = {id} is not in the array of {count} tasks from {min}");
        }
        Ok(Some(Shard { index: id - min, count }))
    }

    pub fn has(&self, p: &Point) -> bool {
        p.index % self.count == self.index
    }
}

/// How a sweep runs.
pub struct RunOptions {
    pub out: PathBuf,
    pub jobs: Option<usize>,
    pub shard: Shard,
    /// Synthesise each point's core (`[synth]` of the sweep file), caching in this directory.
    pub synth_cache: Option<PathBuf>,
    pub progress: bool,
}

/// What a run did.
pub struct Outcome {
    pub ran: usize,
    pub skipped_done: usize,
    pub invalid: Vec<(usize, String)>,
    pub finished: usize,
    pub total: usize,
}

/// Runs the sweep's points of `o.shard` that `o.out` does not hold yet.
pub fn run(sweep: &Sweep, o: &RunOptions) -> Result<Outcome> {
    if o.synth_cache.is_some() {
        match &sweep.synth {
            Some(s) => super::synth::check_tools(s)?,
            None => bail!("--synth: {} has no [synth] section (target = \"ecp5-45k\", ...)", sweep.origin),
        }
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(o.jobs.unwrap_or(0)).build()?;
    pool.install(|| run_in_pool(sweep, o))
}

fn run_in_pool(sweep: &Sweep, o: &RunOptions) -> Result<Outcome> {
    // Checking a large sweep's points takes a while: a progress bar of its own.
    let check_bar = if o.progress { ProgressBar::new(0) } else { ProgressBar::hidden() };
    check_bar.set_style(
        ProgressStyle::with_template("sweep: checking {bar:30} {pos}/{len} points, ETA {eta}")
            .expect("a valid template"),
    );
    let invalid = sweep.check_points(&check_bar)?;
    let invalid_set: std::collections::HashSet<usize> = invalid.iter().map(|(i, _)| *i).collect();
    let manifest = Manifest {
        sweep: sweep.origin.clone(),
        fingerprint: sweep.fingerprint.clone(),
        points: sweep.points.len(),
        axes: sweep.axes.iter().map(|a| a.key.name()).collect(),
        color: sweep.color.map(|c| sweep.axes[c].key.name()),
        columns: columns(sweep, o.synth_cache.is_some()),
    };
    let store = Store::open(&o.out, manifest)?;
    let todo: Vec<&Point> = sweep
        .points
        .iter()
        .filter(|p| o.shard.has(p) && !store.rows.contains_key(&p.index) && !invalid_set.contains(&p.index))
        .collect();
    let skipped_done = sweep.points.iter().filter(|p| o.shard.has(p) && store.rows.contains_key(&p.index)).count();
    let bar = if o.progress { ProgressBar::new(todo.len() as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("sweep: {bar:30} {pos}/{len} points, {per_sec}, ETA {eta}")
            .expect("a valid template"),
    );
    let store = Mutex::new(store);
    todo.par_iter().try_for_each(|p| -> Result<()> {
        let mut cells =
            evaluate(sweep, p).map_err(|e| anyhow::anyhow!("{}: {}", sweep.describe(p), cbnn::errors::one_line(&e)))?;
        if let (Some(cache), Some(s)) = (&o.synth_cache, &sweep.synth) {
            let (cfg, _) = super::point::resolve(sweep, p)?;
            cells.extend(super::synth::figures(&cfg, s, cache)?);
        }
        store.lock().unwrap().append(p.index, cells)?;
        bar.inc(1);
        Ok(())
    })?;
    bar.finish_and_clear();
    let store = store.into_inner().unwrap();
    finish(&o.out, &store.manifest, &store.rows, &invalid)?;
    Ok(Outcome { ran: todo.len(), skipped_done, invalid, finished: store.rows.len(), total: sweep.points.len() })
}

/// Writes the results, the summary and the plots of the rows at hand.
pub fn finish(
    dir: &Path,
    m: &Manifest,
    rows: &std::collections::BTreeMap<usize, Vec<String>>,
    invalid: &[(usize, String)],
) -> Result<()> {
    write_results(dir, m, rows)?;
    let table = super::table::Table::new(m, rows);
    super::plots::write(dir, &table)?;
    super::summary::write(dir, &table, invalid)
}
