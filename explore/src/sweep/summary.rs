//! summary.md: the best point for each metric and the Pareto front of latency, area and DRAM
//! traffic, as Markdown tables.

use anyhow::Result;
use std::fmt::Write as _;
use std::path::Path;

use super::table::Table;
use cbnn::fsutil;

/// The row with the best value of `col` (the first such row on ties).
fn best(t: &Table, col: &str, smaller: bool) -> Option<(usize, f64)> {
    (0..t.rows.len()).filter_map(|r| t.num(r, col).map(|v| (r, v))).fold(None, |acc, (r, v)| match acc {
        Some((_, b)) if (smaller && v >= b) || (!smaller && v <= b) => acc,
        _ => Some((r, v)),
    })
}

/// The Markdown of the summary.
pub fn render(t: &Table, invalid: &[(usize, String)]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Sweep results: {}\n", t.sweep);
    let _ = writeln!(
        s,
        "{} of the sweep's {} points are in this directory. Column meanings and units: docs/SWEEPS.md.\n",
        t.rows.len(),
        t.points
    );
    let _ = writeln!(s, "## Best point per metric\n\n| metric | best | point |\n|---|---:|---|");
    for m in super::metric::ranked() {
        let (col, smaller) = (m.name, m.better == super::metric::Better::Lower);
        if let Some((r, v)) = best(t, col, smaller) {
            let dir = if smaller { "lowest" } else { "highest" };
            let _ = writeln!(s, "| {col} ({dir}) | {} | {} |", super::point::num(v), t.describe(r));
        }
    }
    let (area, area_label) = t.area_column();
    let cols = ["latency_us", area, "dram_bytes"];
    let front = t.pareto(&cols);
    let _ = writeln!(
        s,
        "\n## Pareto front: latency vs area vs DRAM traffic\n\nThe points no other point beats in all of \
         latency, area ({area_label}) and DRAM bytes per inference ({} of {}).\n",
        front.len(),
        t.rows.len()
    );
    let _ = writeln!(s, "| point | {} | latency_us | {area} | dram_bytes |", t.axes.join(" | "));
    let _ = writeln!(s, "|---|{}---:|---:|---:|", "---|".repeat(t.axes.len()));
    for r in front {
        let axes: Vec<&str> = t.axes.iter().map(|a| t.text(r, a).unwrap_or("")).collect();
        let v: Vec<&str> = cols.iter().map(|c| t.text(r, c).unwrap_or("")).collect();
        let _ = writeln!(s, "| {} | {} | {} |", t.rows[r].0, axes.join(" | "), v.join(" | "));
    }
    let missing: Vec<String> = (0..t.points)
        .filter(|i| !t.rows.iter().any(|(p, _)| p == i) && !invalid.iter().any(|(p, _)| p == i))
        .map(|i| i.to_string())
        .collect();
    if !invalid.is_empty() || !missing.is_empty() {
        let _ = writeln!(s, "\n## Points not in these results\n");
        for (i, e) in invalid {
            let _ = writeln!(s, "- point {i}: invalid, skipped: {e}");
        }
        if !missing.is_empty() {
            let _ = writeln!(s, "- not run here (other shards, or not finished): {}", missing.join(", "));
        }
    }
    s
}

pub fn write(dir: &Path, t: &Table, invalid: &[(usize, String)]) -> Result<()> {
    fsutil::write_atomic(&dir.join("summary.md"), render(t, invalid).as_bytes())
}
