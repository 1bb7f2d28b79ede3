//! The metrics a sweep records, one entry each: its column name, unit, which direction is better,
//! whether the summary ranks it, and how it is computed. The results table (`point`), the
//! summary (`summary`) and docs/SWEEPS.md all follow this table; a new metric is one entry here
//! and its line in docs/SWEEPS.md (docs/EXTENDING.md).

use cbnn::classify::Top1;
use cbnn::config::AccelConfig;
use cbnn_hdl::fpga::run::FlowReport;
use cbnn_sim::report::Totals;

/// Which values of a metric are better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// A description of the point rather than a figure of merit.
    Neither,
}

/// What a point knows once every image has run, for the metrics of the point as a whole.
pub struct PointFigures<'a> {
    pub cfg: &'a AccelConfig,
    pub sqnr_db: f64,
    pub top1: &'a Top1,
    pub weight_bits: u64,
}

/// How a metric's value is found.
#[derive(Clone, Copy)]
pub enum Eval {
    /// From each image's run, averaged over the sweep's images.
    Image(fn(&AccelConfig, &Totals) -> f64),
    /// From the point as a whole; `None` when the point lacks what it needs (labels), and the
    /// column is then left out of the sweep.
    Point(fn(&PointFigures) -> Option<f64>),
    /// From the FPGA flow's report (`sweep --synth`, `synth::figures`), as the cell's text.
    Synth(fn(&FlowReport) -> String),
}

/// One metric of the results table.
#[derive(Clone, Copy)]
pub struct Metric {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
    /// The summary's "best point per metric" table lists it.
    pub ranked: bool,
    /// Only a sweep with labels records it.
    pub needs_labels: bool,
    pub eval: Eval,
}

const fn image(
    name: &'static str,
    unit: &'static str,
    better: Better,
    ranked: bool,
    f: fn(&AccelConfig, &Totals) -> f64,
) -> Metric {
    Metric { name, unit, better, ranked, needs_labels: false, eval: Eval::Image(f) }
}

const fn point(
    name: &'static str,
    unit: &'static str,
    better: Better,
    ranked: bool,
    f: fn(&PointFigures) -> Option<f64>,
) -> Metric {
    Metric { name, unit, better, ranked, needs_labels: false, eval: Eval::Point(f) }
}

const fn synth(
    name: &'static str,
    unit: &'static str,
    better: Better,
    ranked: bool,
    f: fn(&FlowReport) -> String,
) -> Metric {
    Metric { name, unit, better, ranked, needs_labels: false, eval: Eval::Synth(f) }
}

use Better::*;

/// The simulated metrics, in column order (docs/SWEEPS.md defines each).
pub const METRICS: &[Metric] = &[
    image("cycles", "cycles per inference", Lower, false, |_, t| t.figures.counts.cycles as f64),
    image("ideal_cycles", "cycles per inference with memory never the limit", Lower, false, |_, t| {
        t.figures.counts.ideal_cycles as f64
    }),
    image("latency_us", "us at the config's clock", Lower, true, |_, t| t.figures.latency_us),
    image("inferences_per_s", "1/s", Higher, true, |_, t| t.inferences_per_s),
    image("dram_bytes", "bytes per inference on the DRAM streams, with the codec", Lower, true, |_, t| {
        t.figures.counts.dram_bytes() as f64
    }),
    image("dram_bytes_raw", "bytes per inference with every tensor stored raw", Neither, false, |_, t| {
        let c = &t.figures.counts;
        (c.act_raw_bytes + c.weight_bytes + c.out_raw_bytes) as f64
    }),
    image("act_compression", "activation bytes raw / on the streams", Higher, false, |_, t| t.figures.compression),
    image("bandwidth_bytes_per_cycle", "DRAM bytes per cycle needed to run at ideal speed", Lower, true, |_, t| {
        t.figures.bandwidth_bytes_per_cycle
    }),
    image("bandwidth_gb_s", "the same in GB/s at the config's clock", Lower, false, |cfg, t| {
        t.figures.bandwidth_bytes_per_cycle * cfg.clock.mhz / 1000.0
    }),
    image("stall_cycles", "cycles a stream waited on memory", Lower, false, |_, t| {
        t.figures.counts.stall_cycles as f64
    }),
    image("pe_utilisation", "busy lane-cycles / all lane-cycles", Higher, true, |_, t| t.figures.pe_utilisation),
    point("sqnr_db", "output SQNR against the float32 reference, dB", Higher, true, |p| Some(p.sqnr_db)),
    point("top1_agreement", "share of input images whose top class is the float32 reference's", Higher, true, |p| {
        Some(p.top1.top1_agreement)
    }),
    point("weight_bits", "bits of weights, indices, coefficients, scales and biases", Lower, true, |p| {
        Some(p.weight_bits as f64)
    }),
    point("array_lanes", "R x C x L binary lanes (the area measure without --synth)", Lower, false, |p| {
        let a = &p.cfg.array;
        Some((a.rows * a.cols * a.lanes) as f64)
    }),
    point("buffer_kib", "on-chip weight and activation buffers, KiB", Lower, false, |p| {
        Some((p.cfg.buffers.weight_kib + p.cfg.buffers.act_kib) as f64)
    }),
    // With labels only: the share of input images whose top class is the label.
    Metric {
        needs_labels: true,
        ..point("top1_accuracy", "share of input images classified as labelled", Higher, true, |p| p.top1.top1_accuracy)
    },
];

/// The FPGA flow's figures, after the per-layer cycles, with `--synth`.
pub const SYNTH_METRICS: &[Metric] = &[
    synth("lut4", "LUT4 cells after Yosys", Lower, true, |r| r.area.total.luts.to_string()),
    synth("ff", "flip-flops after Yosys", Lower, false, |r| r.area.total.ffs.to_string()),
    synth("bram", "block RAMs after Yosys", Lower, false, |r| r.area.total.bram.to_string()),
    synth("dsp", "DSP blocks after Yosys", Lower, false, |r| r.area.total.dsp.to_string()),
    synth("fits", "nextpnr placed the design on the target", Neither, false, |r| r.pnr.fits.to_string()),
    synth("fmax_mhz", "nextpnr's achieved Fmax, MHz", Higher, true, |r| {
        r.pnr.fmax_mhz.map(super::point::num).unwrap_or_default()
    }),
    synth("timing_met", "the Fmax reaches clock.mhz", Neither, false, |r| r.pnr.timing_met.to_string()),
];

/// Every metric the summary ranks, in table order.
pub fn ranked() -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().chain(SYNTH_METRICS).filter(|m| m.ranked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_ranked_metrics_have_a_direction() {
        let mut names: Vec<&str> = METRICS.iter().chain(SYNTH_METRICS).map(|m| m.name).collect();
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
        assert!(ranked().all(|m| m.better != Better::Neither));
    }

    #[test]
    fn docs_define_every_metric() {
        let doc = include_str!("../../../docs/SWEEPS.md");
        for m in METRICS.iter().chain(SYNTH_METRICS) {
            assert!(doc.contains(&format!("`{}`", m.name)), "docs/SWEEPS.md does not define `{}`", m.name);
        }
    }
}
