//! One point of a sweep: its config and network, run through the cycle simulator on every input
//! of the sweep, and what the results table records of it.

use anyhow::{Context, Result};

use super::spec::{Point, Sweep};
use cbnn::classify::{self, Top1};
use cbnn::config::AccelConfig;
use cbnn::network::Network;
use cbnn::quant::memory::weight_memory_bits;
use cbnn::quant::QNet;
use cbnn::reference::{self, Sqnr};
use cbnn::tensor::Tensor3;
use cbnn_sim::report::Totals;
use cbnn_sim::{run_network, RunOptions, Traffic};

use super::metric::{Eval, Metric, PointFigures, METRICS, SYNTH_METRICS};

/// The columns of a sweep's rows after the point number: its axes, the metrics (those a point
/// needs labels for only with labels), each layer's cycles (`cycles.NAME`), then the synthesis
/// figures when `--synth` is on.
pub fn columns(sweep: &Sweep, synth: bool) -> Vec<String> {
    let mut c: Vec<String> = sweep.axes.iter().map(|a| a.key.name()).collect();
    c.extend(recorded(sweep).map(|m| m.name.to_string()));
    c.extend(sweep.base.network.layers.iter().map(|l| format!("cycles.{}", l.name)));
    if synth {
        c.extend(SYNTH_METRICS.iter().map(|m| m.name.to_string()));
    }
    c
}

/// The simulated metrics a sweep records: all but the accuracy against labels when it has none.
fn recorded(sweep: &Sweep) -> impl Iterator<Item = &'static Metric> + '_ {
    METRICS.iter().filter(move |m| sweep.labels.is_some() || !m.needs_labels)
}

/// An axis value as a table cell: strings without quotes.
pub fn cell(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The config and network of a point.
pub fn resolve(sweep: &Sweep, p: &Point) -> Result<(AccelConfig, Network)> {
    let values: Vec<_> =
        sweep.axes.iter().zip(&p.values).filter_map(|(a, v)| v.as_ref().map(|v| (&a.key, v))).collect();
    sweep.base.apply(&values)
}

/// Checks that a point can run: its config and network load, and the network compiles for and
/// fits the config (output scales it lacks calibrated on the first image, as a run does).
pub fn check(sweep: &Sweep, p: &Point) -> Result<()> {
    let (cfg, net) = resolve(sweep, p)?;
    let qnet = reference::compile_once(&net, &cfg, &sweep.base.inputs[0].1)?.qnet;
    cbnn_sim::network::check_fits(&qnet, &cfg)
}

/// What a point records of one image.
struct Image {
    /// The values of the per-image metrics, in `METRICS` order.
    per: Vec<f64>,
    layer_cycles: Vec<u64>,
    sqnr: Sqnr,
    predicted: usize,
    reference: usize,
}

/// One image of a point through the simulator and the float reference.
fn image(cfg: &AccelConfig, net: &Network, q: &QNet, x: &Tensor3<i32>) -> Result<Image> {
    let opts = RunOptions { traffic: Traffic::Dram, ideal: true, check: false, probe: None, fault: None, plain: false };
    let run = run_network(cfg, q, x, opts)?;
    let t = Totals::of(cfg, &run.layers);
    let per = METRICS
        .iter()
        .filter_map(|m| match m.eval {
            Eval::Image(f) => Some(f(cfg, &t)),
            _ => None,
        })
        .collect();
    let last = q.layers.last().context("a network has layers")?;
    let out = run.outputs.last().context("a network has layers")?;
    let want = reference::run(net, x).pop().context("a network has layers")?;
    let mut sqnr = Sqnr::default();
    sqnr.add(&want.data, &reference::dequantise(last, out).data);
    Ok(Image {
        per,
        layer_cycles: run.layers.iter().map(|l| l.figures.counts.cycles).collect(),
        sqnr,
        predicted: classify::predict(last, out),
        reference: classify::reference_class(&want),
    })
}

/// Runs a point on every input image (compiled once; output scales it lacks calibrated on the
/// first image; images in parallel, summed in image order); its cells in `columns` order,
/// without the synthesis figures.
pub fn evaluate(sweep: &Sweep, p: &Point) -> Result<Vec<String>> {
    let (cfg, net) = resolve(sweep, p)?;
    let q = reference::compile_once(&net, &cfg, &sweep.base.inputs[0].1)?.qnet;
    let hidden = indicatif::ProgressBar::hidden();
    let images = cbnn::batch::par::map(&sweep.base.inputs, &hidden, |_, (_, x)| image(&cfg, &net, &q, x))?;
    let n = images.len() as f64;
    let (mut sums, mut sqnr) = (vec![0f64; images.first().map_or(0, |im| im.per.len())], Sqnr::default());
    let mut layer_cycles = vec![0f64; net.layers.len()];
    for im in &images {
        for (s, v) in sums.iter_mut().zip(&im.per) {
            *s += v;
        }
        for (lc, &c) in layer_cycles.iter_mut().zip(&im.layer_cycles) {
            *lc += c as f64;
        }
        sqnr.merge(&im.sqnr);
    }
    let predicted: Vec<usize> = images.iter().map(|im| im.predicted).collect();
    let reference: Vec<usize> = images.iter().map(|im| im.reference).collect();
    let top1 = Top1::new(&predicted, &reference, sweep.labels.as_deref());
    let weight_bits = q.layers.iter().map(|l| weight_memory_bits(l, &cfg)).sum::<u64>();
    let figures = PointFigures { cfg: &cfg, sqnr_db: sqnr.db(), top1: &top1, weight_bits };
    let mut cells: Vec<String> = p.values.iter().map(|v| v.as_ref().map(cell).unwrap_or_default()).collect();
    let mut image_means = sums.iter().map(|s| s / n);
    for m in recorded(sweep) {
        let v = match m.eval {
            Eval::Image(_) => image_means.next(),
            Eval::Point(f) => f(&figures),
            Eval::Synth(_) => None,
        };
        cells.push(v.map(num).unwrap_or_default());
    }
    cells.extend(layer_cycles.iter().map(|c| num(c / n)));
    Ok(cells)
}

/// A number as a cell: integers without a fraction, others to 6 significant digits without
/// trailing zeros (the same text for the same value on every run and machine).
pub fn num(x: f64) -> String {
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.clamp(0, 12) as usize, x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
