//! The sweep's SVG plots (plotters): latency vs area coloured by an axis, DRAM traffic per codec
//! mode, and output fidelity vs the scale group size G.

use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

use super::table::Table;
use cbnn::fsutil;

const SIZE: (u32, u32) = (900, 600);

/// One coloured series: its legend and its (x, y) points.
struct Series {
    label: String,
    points: Vec<(f64, f64)>,
}

/// An axis tick: at most 4 significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    let digits = (3 - v.abs().log10().floor() as i32).clamp(0, 10) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// A range that holds `v` with a margin (a single value gets one of its own size, or 1).
fn span(v: impl Iterator<Item = f64> + Clone) -> std::ops::Range<f64> {
    let lo = v.clone().fold(f64::INFINITY, f64::min);
    let hi = v.fold(f64::NEG_INFINITY, f64::max);
    if !lo.is_finite() || !hi.is_finite() {
        return 0.0..1.0;
    }
    let pad = if hi > lo { (hi - lo) * 0.08 } else { lo.abs().max(1.0) * 0.1 };
    (lo - pad)..(hi + pad)
}

/// Rows grouped by the value of column `by` (one group when `by` is None), with (x, y) taken
/// from columns `x` and `y` (rows missing either, or with an infinite value, are left out).
fn grouped(t: &Table, by: Option<&str>, x: impl Fn(usize) -> Option<f64>, y: &str) -> Vec<Series> {
    let mut out: Vec<Series> = Vec::new();
    for r in 0..t.rows.len() {
        let (Some(xv), Some(yv)) = (x(r), t.num(r, y)) else { continue };
        if !xv.is_finite() || !yv.is_finite() {
            continue;
        }
        let label = match by {
            Some(c) => format!("{c} = {}", t.text(r, c).unwrap_or("")),
            None => "points".to_string(),
        };
        match out.iter_mut().find(|s| s.label == label) {
            Some(s) => s.points.push((xv, yv)),
            None => out.push(Series { label, points: vec![(xv, yv)] }),
        }
    }
    out
}

/// A scatter plot of `series` into an SVG string. `x_labels`: names of integer x positions.
fn scatter(title: &str, x_desc: &str, y_desc: &str, series: &[Series], x_labels: Option<&[String]>) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        let err = |e: &dyn std::fmt::Display| anyhow!("plot {title}: {e}");
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let all = series.iter().flat_map(|s| s.points.iter().copied());
        let xr = match x_labels {
            Some(l) => -0.5..(l.len() as f64 - 0.5),
            None => span(all.clone().map(|p| p.0)),
        };
        let yr = span(all.map(|p| p.1));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(56)
            .y_label_area_size(90)
            .build_cartesian_2d(xr, yr)
            .map_err(|e| err(&e))?;
        let fmt_x = |v: &f64| match x_labels {
            Some(l) => {
                let i = v.round();
                if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < l.len() {
                    l[i as usize].clone()
                } else {
                    String::new()
                }
            }
            None => tick(*v),
        };
        let mut mesh = chart.configure_mesh();
        mesh.x_desc(x_desc).y_desc(y_desc).x_label_formatter(&fmt_x).y_label_formatter(&|v| tick(*v));
        if let Some(l) = x_labels {
            mesh.x_labels(l.len().max(2));
        }
        mesh.draw().map_err(|e| err(&e))?;
        for (k, s) in series.iter().enumerate() {
            let c = Palette99::pick(k).to_rgba();
            chart
                .draw_series(s.points.iter().map(|&p| Circle::new(p, 5, c.filled())))
                .map_err(|e| err(&e))?
                .label(s.label.clone())
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
        }
        if series.len() > 1 || series.first().is_some_and(|s| s.label != "points") {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}

/// DRAM bytes as stored and with every tensor raw, at x positions `x`: two series.
fn coded_and_raw(t: &Table, x: impl Fn(usize) -> Option<f64> + Copy) -> Vec<Series> {
    [("dram_bytes", "with the codec"), ("dram_bytes_raw", "every tensor raw")]
        .into_iter()
        .filter_map(|(col, label)| {
            grouped(t, None, x, col).pop().map(|s| Series { label: label.into(), points: s.points })
        })
        .collect()
}

/// The first axis whose name ends with one of `suffixes`.
fn axis_named<'a>(t: &'a Table, suffixes: &[&str]) -> Option<&'a str> {
    t.axes.iter().find(|a| suffixes.iter().any(|s| a.ends_with(s))).map(String::as_str)
}

/// latency_vs_area.svg, dram_by_codec.svg, fidelity_vs_g.svg in `dir`.
pub fn write(dir: &Path, t: &Table) -> Result<()> {
    let color = t.color.as_deref().or(t.axes.first().map(String::as_str));
    let (area, area_label) = t.area_column();
    let s = grouped(t, color, |r| t.num(r, area), "latency_us");
    let svg = scatter("Latency vs area", area_label, "latency per inference (us)", &s, None)?;
    fsutil::write_atomic(&dir.join("latency_vs_area.svg"), svg.as_bytes())?;

    let svg = match axis_named(t, &["codec", "codec.enabled"]) {
        Some(codec) => {
            let mut names: Vec<String> = Vec::new();
            for r in 0..t.rows.len() {
                let v = t.text(r, codec).unwrap_or("").to_string();
                if !names.contains(&v) {
                    names.push(v);
                }
            }
            let pos = |r: usize| names.iter().position(|n| t.text(r, codec) == Some(n.as_str())).map(|i| i as f64);
            let s = coded_and_raw(t, pos);
            scatter("DRAM traffic per codec mode", codec, "DRAM bytes per inference", &s, Some(&names))?
        }
        None => {
            let s = coded_and_raw(t, |r| Some(t.rows[r].0 as f64));
            scatter("DRAM traffic per point (no codec axis)", "point", "DRAM bytes per inference", &s, None)?
        }
    };
    fsutil::write_atomic(&dir.join("dram_by_codec.svg"), svg.as_bytes())?;

    let (x_desc, g): (String, Box<dyn Fn(usize) -> Option<f64>>) = match axis_named(t, &["scale_group"]) {
        Some(g) => (format!("{g} (filters per shared scale, G)"), Box::new(move |r| t.num(r, g))),
        None => ("point (the sweep has no scale_group axis)".into(), Box::new(|r| Some(t.rows[r].0 as f64))),
    };
    let by = color.filter(|c| !c.ends_with("scale_group"));
    // With labels the fidelity that matters is the accuracy; without, the SQNR.
    let labelled = (0..t.rows.len()).any(|r| t.num(r, "top1_accuracy").is_some());
    let (y, y_desc, title) = if labelled {
        ("top1_accuracy", "top-1 accuracy (share of labelled inputs)", "Accuracy vs scale group size")
    } else {
        ("sqnr_db", "output SQNR vs float32 (dB)", "Output fidelity vs scale group size")
    };
    let s = grouped(t, by, g, y);
    let svg = scatter(title, &x_desc, y_desc, &s, None)?;
    fsutil::write_atomic(&dir.join("fidelity_vs_g.svg"), svg.as_bytes())?;
    if labelled {
        // Accuracy against what a point costs in weight memory and in DRAM traffic.
        let by = color.or(t.axes.first().map(String::as_str));
        for (x, x_desc, file) in [
            ("weight_bits", "weight memory (bits)", "accuracy_vs_weight_memory.svg"),
            ("dram_bytes", "DRAM bytes per inference", "accuracy_vs_dram.svg"),
        ] {
            let s = grouped(t, by, |r| t.num(r, x), "top1_accuracy");
            let svg = scatter(&format!("Top-1 accuracy vs {x_desc}"), x_desc, "top-1 accuracy", &s, None)?;
            fsutil::write_atomic(&dir.join(file), svg.as_bytes())?;
        }
    }
    Ok(())
}
