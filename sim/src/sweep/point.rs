//! One point of a sweep: its config and network, run through the cycle simulator on every input
//! of the sweep, and what the results table records of it.

use anyhow::Result;

use super::spec::{Point, Sweep};
use crate::report::Totals;
use crate::{run_network, RunOptions, Traffic};
use cbnn::config::AccelConfig;
use cbnn::network::Network;
use cbnn::quant::memory::weight_memory_bits;
use cbnn::reference;

/// The metric columns of every sweep, with their units (docs/SWEEPS.md defines each).
pub const METRICS: &[(&str, &str)] = &[
    ("cycles", "cycles per inference"),
    ("ideal_cycles", "cycles per inference with memory never the limit"),
    ("latency_us", "us at the config's clock"),
    ("inferences_per_s", "1/s"),
    ("dram_bytes", "bytes per inference on the DRAM streams, with the codec"),
    ("dram_bytes_raw", "bytes per inference with every tensor stored raw"),
    ("act_compression", "activation bytes raw / on the streams"),
    ("bandwidth_bytes_per_cycle", "DRAM bytes per cycle needed to run at ideal speed"),
    ("bandwidth_gb_s", "the same in GB/s at the config's clock"),
    ("stall_cycles", "cycles a stream waited on memory"),
    ("pe_utilisation", "busy lane-cycles / all lane-cycles"),
    ("sqnr_db", "output SQNR against the float32 reference, dB"),
    ("top1_agreement", "share of inputs whose top class is the float32 reference's"),
    ("weight_bits", "bits of weights, indices, coefficients, scales and biases"),
    ("array_lanes", "R x C x L binary lanes (the area measure without --synth)"),
    ("buffer_kib", "on-chip weight and activation buffers, KiB"),
];

/// With labels: the share of inputs whose top class is the label.
pub const ACCURACY: (&str, &str) = ("top1_accuracy", "share of inputs classified as labelled");

/// The columns of a sweep's rows after the point number: its axes, the metrics, each layer's
/// cycles (`cycles.NAME`), then the synthesis figures when `--synth` is on.
pub fn columns(sweep: &Sweep, synth: bool) -> Vec<String> {
    let mut c: Vec<String> = sweep.axes.iter().map(|a| a.key.name()).collect();
    c.extend(METRICS.iter().map(|(n, _)| n.to_string()));
    if sweep.labels.is_some() {
        c.push(ACCURACY.0.to_string());
    }
    c.extend(sweep.base.network.layers.iter().map(|l| format!("cycles.{}", l.name)));
    if synth {
        c.extend(super::synth::COLUMNS.iter().map(|s| s.to_string()));
    }
    c
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
/// fits the config (output scales it lacks calibrated on the first input, as a run does).
pub fn check(sweep: &Sweep, p: &Point) -> Result<()> {
    let (cfg, net) = resolve(sweep, p)?;
    let qnet = if cbnn::quant::needs_calibration(&net) {
        reference::prepare(&net, &cfg, &sweep.base.inputs[0].1)?.qnet
    } else {
        cbnn::quant::compile(&net, &cfg, None)?
    };
    crate::network::check_fits(&qnet, &cfg)
}

fn argmax(v: &[f32]) -> usize {
    v.iter().enumerate().fold(0, |best, (i, &x)| if x > v[best] { i } else { best })
}

/// Runs a point on every input; its cells in `columns` order, without the synthesis figures.
pub fn evaluate(sweep: &Sweep, p: &Point) -> Result<Vec<String>> {
    let (cfg, net) = resolve(sweep, p)?;
    let inputs = &sweep.base.inputs;
    let n = inputs.len() as f64;
    let mut sums = [0f64; 11];
    let (mut signal, mut noise, mut agree, mut correct) = (0f64, 0f64, 0usize, 0usize);
    let mut layer_cycles = vec![0f64; net.layers.len()];
    let mut weight_bits = 0;
    for (k, (_, x)) in inputs.iter().enumerate() {
        let prepared = reference::prepare(&net, &cfg, x)?;
        let q = &prepared.qnet;
        let opts =
            RunOptions { traffic: Traffic::Dram, ideal: true, check: false, probe: None, fault: None, plain: false };
        let run = run_network(&cfg, q, x, opts)?;
        let t = Totals::of(&cfg, &run.layers);
        let (f, c) = (&t.figures, &t.figures.counts);
        let bytes = (c.act_bytes + c.weight_bytes + c.out_bytes) as f64;
        let raw = (c.act_raw_bytes + c.weight_bytes + c.out_raw_bytes) as f64;
        let per = [
            c.cycles as f64,
            c.ideal_cycles as f64,
            f.latency_us,
            t.inferences_per_s,
            bytes,
            raw,
            f.compression,
            f.bandwidth_bytes_per_cycle,
            f.bandwidth_bytes_per_cycle * cfg.clock.mhz / 1000.0,
            c.stall_cycles as f64,
            f.pe_utilisation,
        ];
        for (s, v) in sums.iter_mut().zip(per) {
            *s += v;
        }
        for (lc, l) in layer_cycles.iter_mut().zip(&run.layers) {
            *lc += l.figures.counts.cycles as f64;
        }
        let out = reference::dequantise(q.layers.last().expect("a network has layers"), run.outputs.last().unwrap());
        let want = prepared.float_outs.last().unwrap();
        for (&r, &t) in want.data.iter().zip(&out.data) {
            signal += (r as f64).powi(2);
            noise += (r as f64 - t as f64).powi(2);
        }
        let top = argmax(&out.data);
        agree += usize::from(top == argmax(&want.data));
        if let Some(labels) = &sweep.labels {
            correct += usize::from(top == labels[k]);
        }
        if k == 0 {
            weight_bits = q.layers.iter().map(|l| weight_memory_bits(l, &cfg)).sum::<u64>();
        }
    }
    let sqnr = if noise == 0.0 { f64::INFINITY } else { 10.0 * (signal / noise).log10() };
    let mut cells: Vec<String> = p.values.iter().map(|v| v.as_ref().map(cell).unwrap_or_default()).collect();
    cells.extend(sums.iter().map(|s| num(s / n)));
    cells.push(num(sqnr));
    cells.push(num(agree as f64 / n));
    cells.push(weight_bits.to_string());
    cells.push((cfg.array.rows * cfg.array.cols * cfg.array.lanes).to_string());
    cells.push((cfg.buffers.weight_kib + cfg.buffers.act_kib).to_string());
    if sweep.labels.is_some() {
        cells.push(num(correct as f64 / n));
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
