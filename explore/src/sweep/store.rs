//! A sweep's results directory: which sweep it belongs to (`sweep.json`), the rows finished so
//! far (`rows.csv`, appended one whole row per write as points finish, in any order), and the
//! results built from them (`results.csv` and `results.json`, sorted by point; written
//! atomically).
//!
//! Resuming reads `rows.csv` and skips the points in it; a row cut short by a crash (no final
//! newline) is dropped and its point runs again. The results are a function of the set of rows
//! only, so a sweep interrupted and resumed, or run in shards and merged, gives the same files
//! as one uninterrupted run.

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::apply::Base;
use cbnn::fsutil;

/// Hex SHA-256 of some bytes.
pub fn hash_bytes(b: &[u8]) -> String {
    format!("{:x}", Sha256::digest(b))
}

/// A sweep's identity: its text and every text and input file it reads.
pub fn fingerprint(sweep_text: &str, base: &Base) -> String {
    let mut h = Sha256::new();
    h.update(sweep_text.as_bytes());
    for t in &base.texts {
        h.update([0u8]);
        h.update(t.as_bytes());
    }
    format!("{:x}", h.finalize())
}

/// What `sweep.json` records: the sweep a directory belongs to and the columns of its rows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    pub sweep: String,
    pub fingerprint: String,
    pub points: usize,
    /// The axes (the first columns) and the one that colours the plots.
    pub axes: Vec<String>,
    pub color: Option<String>,
    pub columns: Vec<String>,
}

const MANIFEST: &str = "sweep.json";
const LOG: &str = "rows.csv";

/// One finished point: its index and its cells, in the manifest's column order.
pub type Row = (usize, Vec<String>);

/// The results directory of a running sweep.
pub struct Store {
    dir: PathBuf,
    log: std::fs::File,
    pub manifest: Manifest,
    pub rows: BTreeMap<usize, Vec<String>>,
}

impl Store {
    /// Opens `dir` for `manifest`'s sweep: a new directory is set up, one of the same sweep is
    /// resumed, one of another sweep is an error.
    pub fn open(dir: &Path, manifest: Manifest) -> Result<Store> {
        fsutil::create_dir(dir)?;
        let mpath = dir.join(MANIFEST);
        if mpath.exists() {
            let old = read_manifest(dir)?;
            if old.fingerprint != manifest.fingerprint || old.columns != manifest.columns {
                bail!(
                    "{}: holds results of another sweep ({}, or the same one with other files or options): \
                     use another --out or remove the directory",
                    dir.display(),
                    old.sweep
                );
            }
        } else {
            let text = serde_json::to_string_pretty(&manifest)?;
            fsutil::write_atomic(&mpath, text.as_bytes())?;
        }
        let lpath = dir.join(LOG);
        let rows = if lpath.exists() { read_log(&lpath, &manifest)? } else { BTreeMap::new() };
        // Rewritten whole (atomically) so that a torn last row is gone before appending.
        let mut text = csv_line(&header(&manifest));
        for (i, cells) in &rows {
            text.push_str(&csv_line(&row_cells(*i, cells)));
        }
        fsutil::write_atomic(&lpath, text.as_bytes())?;
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(&lpath)
            .with_context(|| format!("{}: cannot open for appending", lpath.display()))?;
        Ok(Store { dir: dir.to_path_buf(), log, manifest, rows })
    }

    /// Records a finished point: one write of the whole row, flushed to disk.
    pub fn append(&mut self, index: usize, cells: Vec<String>) -> Result<()> {
        let line = csv_line(&row_cells(index, &cells));
        let lpath = self.dir.join(LOG);
        self.log.write_all(line.as_bytes()).with_context(|| format!("{}: cannot append", lpath.display()))?;
        self.log.sync_data().with_context(|| format!("{}: cannot sync", lpath.display()))?;
        self.rows.insert(index, cells);
        Ok(())
    }
}

fn header(m: &Manifest) -> Vec<String> {
    std::iter::once("point".to_string()).chain(m.columns.iter().cloned()).collect()
}

fn row_cells(index: usize, cells: &[String]) -> Vec<String> {
    std::iter::once(index.to_string()).chain(cells.iter().cloned()).collect()
}

/// One CSV record with its newline.
pub fn csv_line(cells: &[String]) -> String {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    w.write_record(cells).expect("writing to memory");
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("cells are UTF-8")
}

pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let p = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&p)
        .with_context(|| format!("{}: cannot read (not a sweep directory?)", p.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("{}: not a sweep manifest ({e})", p.display()))
}

/// The rows of a log; a last line without its newline (a crash mid-write) is dropped.
pub fn read_log(path: &Path, m: &Manifest) -> Result<BTreeMap<usize, Vec<String>>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let mut r = csv::ReaderBuilder::new().has_headers(true).from_reader(complete.as_bytes());
    let head: Vec<String> = r.headers().map(|h| h.iter().map(String::from).collect()).unwrap_or_default();
    if !complete.is_empty() && head != header(m) {
        bail!("{}: its columns are not this sweep's", path.display());
    }
    let mut rows = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.with_context(|| format!("{}: a malformed row", path.display()))?;
        let cells: Vec<String> = rec.iter().map(String::from).collect();
        let index: usize =
            cells[0].parse().map_err(|_| anyhow!("{}: row with point `{}`", path.display(), cells[0]))?;
        if cells.len() != m.columns.len() + 1 || index >= m.points {
            bail!("{}: row of point {index} does not fit this sweep", path.display());
        }
        rows.insert(index, cells[1..].to_vec());
    }
    Ok(rows)
}

/// `results.csv` and `results.json` of a set of rows (sorted by point), written atomically.
pub fn write_results(dir: &Path, m: &Manifest, rows: &BTreeMap<usize, Vec<String>>) -> Result<()> {
    let mut csv_text = csv_line(&header(m));
    let mut json_rows = Vec::new();
    for (i, cells) in rows {
        csv_text.push_str(&csv_line(&row_cells(*i, cells)));
        let mut obj = serde_json::Map::new();
        obj.insert("point".into(), (*i).into());
        for (c, v) in m.columns.iter().zip(cells) {
            obj.insert(c.clone(), json_value(v));
        }
        json_rows.push(serde_json::Value::Object(obj));
    }
    fsutil::write_atomic(&dir.join("results.csv"), csv_text.as_bytes())?;
    let json = serde_json::json!({
        "sweep": m.sweep,
        "fingerprint": m.fingerprint,
        "points": m.points,
        "finished": rows.len(),
        "rows": json_rows,
    });
    fsutil::write_atomic(&dir.join("results.json"), serde_json::to_string_pretty(&json)?.as_bytes())
}

/// A cell as JSON: a number where it is one (`inf` as a string), else the text.
fn json_value(v: &str) -> serde_json::Value {
    if let Ok(i) = v.parse::<i64>() {
        return i.into();
    }
    match v.parse::<f64>() {
        Ok(f) if f.is_finite() => f.into(),
        _ => match v {
            "true" => true.into(),
            "false" => false.into(),
            _ => v.into(),
        },
    }
}

/// The rows of several directories of one sweep (its shards), checked to agree.
pub fn merge_dirs(dirs: &[PathBuf]) -> Result<(Manifest, BTreeMap<usize, Vec<String>>)> {
    let first = dirs.first().ok_or_else(|| anyhow!("expected at least one sweep directory to merge"))?;
    let m = read_manifest(first)?;
    let mut rows = BTreeMap::new();
    for d in dirs {
        let md = read_manifest(d)?;
        if md != m {
            bail!("{}: holds another sweep than {} (fingerprints differ)", d.display(), first.display());
        }
        let lpath = d.join(LOG);
        if !lpath.exists() {
            continue;
        }
        for (i, cells) in read_log(&lpath, &m)? {
            match rows.get(&i) {
                Some(c) if *c != cells => {
                    bail!("{}: point {i} differs from the same point in another shard", d.display())
                }
                _ => {
                    rows.insert(i, cells);
                }
            }
        }
    }
    Ok((m, rows))
}
