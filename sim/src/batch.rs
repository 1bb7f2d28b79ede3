//! A batch of images on the simulated core, back to back: each image's run (`ImageRun`), the
//! per-layer figures per image (the mean, rounded to whole cycles and bytes, and the cycles'
//! range: with the codec and the DRAM model they depend on the data) and the batch's exact
//! totals (`BatchTotals`).

use serde::Serialize;

use crate::network::{bound, LayerReport, PlainReport};
use crate::report::{mean_count, Counts, Figures, Totals};
use cbnn::config::AccelConfig;
use cbnn::tensor::Tensor3;

/// What one image's simulation leaves for the report.
pub struct ImageRun {
    /// Every layer's output, or the last layer's only (when no layer is dumped).
    pub outputs: Vec<Tensor3<i32>>,
    pub layers: Vec<LayerReport>,
    /// The class of the last layer's output, and of the float reference's.
    pub predicted: usize,
    pub reference: usize,
}

/// A layer over a batch: today's per-layer fields as per-image means, and for a batch the
/// range of its cycles per image.
#[derive(Clone, Debug, Serialize)]
pub struct BatchLayer {
    #[serde(flatten)]
    pub mean: LayerReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles_min: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycles_max: Option<u64>,
}

/// Each layer's per-image figures over `runs` (one image's run is its own mean); the cycles'
/// range only with `stacked` (a batch input).
pub fn layers(cfg: &AccelConfig, runs: &[ImageRun], stacked: bool) -> Vec<BatchLayer> {
    let Some(first) = runs.first() else { return Vec::new() };
    (0..first.layers.len())
        .map(|i| {
            let all: Vec<&LayerReport> = runs.iter().map(|r| &r.layers[i]).collect();
            let counts = Counts::mean(all.iter().map(|l| &l.figures.counts));
            let one = all[0];
            // The plain layer's cycles, when every image has them.
            let plain_cycles: Option<Vec<u64>> = all.iter().map(|l| l.plain.as_ref().and_then(|p| p.cycles)).collect();
            let plain = one.plain.as_ref().map(|p| PlainReport { cycles: plain_cycles.map(mean_count), ..p.clone() });
            let cycles = all.iter().map(|l| l.figures.counts.cycles);
            let load_cycles = mean_count(all.iter().map(|l| l.load_cycles));
            let mean = LayerReport {
                compute_cycles: mean_count(all.iter().map(|l| l.compute_cycles)),
                load_cycles,
                plain,
                bound: if one.on_core {
                    bound(counts.cycles, counts.ideal_cycles, load_cycles).into()
                } else {
                    one.bound.clone()
                },
                figures: Figures::new(cfg, counts),
                ..one.clone()
            };
            BatchLayer {
                mean,
                cycles_min: stacked.then(|| cycles.clone().min().unwrap_or(0)),
                cycles_max: stacked.then(|| cycles.max().unwrap_or(0)),
            }
        })
        .collect()
}

/// The whole batch, images back to back, exact sums (not from rounded means).
#[derive(Clone, Debug, Serialize)]
pub struct BatchTotals {
    pub images: usize,
    /// Cycles of all images, and that time at `clock.mhz`.
    pub cycles: u64,
    pub time_us: f64,
    /// Per image: the mean latency, its range, and `1 / latency`.
    pub latency_us: f64,
    pub latency_us_min: f64,
    pub latency_us_max: f64,
    pub inferences_per_s_per_image: f64,
    /// `images / time`: the batch's throughput (the same figure, images running back to back).
    pub inferences_per_s: f64,
    /// Bytes on the DRAM streams for all images (activations, weights, results as stored).
    pub dram_bytes: u64,
}

impl BatchTotals {
    pub fn of(cfg: &AccelConfig, runs: &[ImageRun]) -> BatchTotals {
        let per: Vec<Totals> = runs.iter().map(|r| Totals::of(cfg, &r.layers)).collect();
        let cycles: u64 = per.iter().map(|t| t.figures.counts.cycles).sum();
        let images = runs.len();
        let time_us = cycles as f64 / cfg.clock.mhz;
        let latency = |t: &Totals| t.figures.latency_us;
        let latency_us = time_us / images.max(1) as f64;
        let per_s = |us: f64, n: usize| if us > 0.0 { n as f64 * 1e6 / us } else { 0.0 };
        BatchTotals {
            images,
            cycles,
            time_us,
            latency_us,
            latency_us_min: per.iter().map(latency).fold(f64::INFINITY, f64::min),
            latency_us_max: per.iter().map(latency).fold(0.0, f64::max),
            inferences_per_s_per_image: per_s(latency_us, 1),
            inferences_per_s: per_s(time_us, images),
            dram_bytes: per.iter().map(|t| t.figures.counts.dram_bytes()).sum(),
        }
    }

    /// The table's lines about the batch.
    pub fn describe(&self, mhz: f64) -> String {
        format!(
            "batch of {} images back to back: {} cycles ({:.2} us at {mhz} MHz), {} DRAM bytes, \
             {:.1} inferences/s\nper image: {:.2} us (min {:.2}, max {:.2}), {:.1} inferences/s\n",
            self.images,
            self.cycles,
            self.time_us,
            self.dram_bytes,
            self.inferences_per_s,
            self.latency_us,
            self.latency_us_min,
            self.latency_us_max,
            self.inferences_per_s_per_image,
        )
    }
}

/// The cycles per image of each core layer, mean and range, when some layer's differ from one
/// image to the next (empty otherwise, and for one image).
pub fn spread_table(layers: &[BatchLayer]) -> String {
    let differ = layers.iter().any(|l| l.cycles_min != l.cycles_max);
    if !differ {
        return String::new();
    }
    let mut s = String::from("cycles per image (mean, min..max):\n");
    for l in layers.iter().filter(|l| l.mean.on_core) {
        let (lo, hi) = (l.cycles_min.unwrap_or(0), l.cycles_max.unwrap_or(0));
        s += &format!("{:<12} {:>10} {:>21}\n", l.mean.name, l.mean.figures.counts.cycles, format!("{lo}..{hi}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::layer;

    fn image(cycles: [u64; 2]) -> ImageRun {
        let mut layers = vec![layer("a", cycles[0], 0.5, true), layer("pool", cycles[1], 0.0, false)];
        // As a host layer is reported: no figures.
        (layers[1].bound, layers[1].figures) = ("host".into(), Figures::default());
        ImageRun { outputs: Vec::new(), layers, predicted: 0, reference: 0 }
    }

    #[test]
    fn per_image_means_ranges_and_exact_batch_sums() {
        let cfg = AccelConfig::default();
        let runs = [image([100, 0]), image([103, 0]), image([110, 0])];
        let ls = layers(&cfg, &runs, true);
        // (100 + 103 + 110) / 3 = 104.33 -> 104; the range 100..110.
        assert_eq!(ls[0].mean.figures.counts.cycles, 104);
        assert_eq!((ls[0].cycles_min, ls[0].cycles_max), (Some(100), Some(110)));
        assert_eq!(ls[0].mean.bound, "compute");
        assert_eq!(ls[1].mean.bound, "host");
        let t = BatchTotals::of(&cfg, &runs);
        assert_eq!((t.images, t.cycles, t.dram_bytes), (3, 313, 3 * 110));
        assert!((t.latency_us - 313.0 / 3.0 / cfg.clock.mhz).abs() < 1e-12);
        assert!((t.latency_us_max - 110.0 / cfg.clock.mhz).abs() < 1e-12);
        assert!((t.inferences_per_s - 3e6 / (313.0 / cfg.clock.mhz)).abs() < 1e-6);
        assert!(spread_table(&ls).contains("100..110"));
        // One image: no range, no spread table.
        let one = layers(&cfg, &runs[..1], false);
        assert_eq!((one[0].cycles_min, one[0].mean.figures.counts.cycles), (None, 100));
        assert_eq!(spread_table(&one), "");
    }
}
