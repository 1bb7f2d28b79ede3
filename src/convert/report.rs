//! What a conversion costs and saves: weight memory before and after (`quant::memory`), the
//! weights' reconstruction error, the float reference's layer and network outputs against the
//! original's, and the golden model's final output against the original float reference before
//! and after. Printed as a table and written as report.json.

use serde_json::{json, Value};

use super::{Converted, Job};
use crate::quant::memory::weight_memory_bits;
use crate::quant::{QNet, QOp, QWeights};
use crate::reference::{dequantise, sqnr_db, Prepared};
use crate::tensor::Tensor3;

/// A test tensor against a reference: SQNR in dB (infinite when equal), and for binary
/// tensors the share of equal signs in percent.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fidelity {
    pub sqnr_db: f64,
    pub sign_agreement: Option<f64>,
}

impl Fidelity {
    pub fn of(reference: &Tensor3<f32>, test: &Tensor3<f32>, binary: bool) -> Fidelity {
        let agree = || {
            let same = reference.data.iter().zip(&test.data).filter(|(&r, &t)| (r >= 0.0) == (t >= 0.0)).count();
            100.0 * same as f64 / reference.data.len().max(1) as f64
        };
        Fidelity { sqnr_db: sqnr_db(&reference.data, &test.data), sign_agreement: binary.then(agree) }
    }

    fn cell(&self) -> String {
        let sqnr = if self.sqnr_db.is_infinite() { "exact".to_string() } else { format!("{:.1}", self.sqnr_db) };
        match self.sign_agreement {
            Some(a) => format!("{sqnr} ({a:.1}% signs)"),
            None => sqnr,
        }
    }

    fn json(&self) -> Value {
        json!({ "sqnr_db": finite(self.sqnr_db), "sign_agreement": self.sign_agreement })
    }
}

/// JSON has no infinity: an exact result (infinite SQNR) is null.
fn finite(v: f64) -> Value {
    if v.is_finite() {
        json!(v)
    } else {
        Value::Null
    }
}

#[derive(Clone, Debug)]
pub struct Report {
    pub network: String,
    pub input: String,
    pub layer: String,
    /// The original conv weights' shape `[O, I, K, K]`.
    pub shape: [usize; 4],
    pub to: &'static str,
    pub out: String,
    /// The converted layer's new files in the output directory.
    pub files: Vec<String>,
    /// Weight memory in bits (`quant::memory`): the layer and the whole network, before and after.
    pub layer_bits: [u64; 2],
    pub network_bits: [u64; 2],
    pub weight_error: f64,
    /// The converted layer's float output against the original layer's, on the same input.
    pub layer_float: Fidelity,
    /// The network's final float output against the original network's.
    pub network_float: Fidelity,
    /// The golden model's final output, before and after, against the original float reference.
    pub golden: [Fidelity; 2],
    /// The method's own figures (report.json's `slbf` or `penni` object) and their table line.
    pub method: Value,
    pub method_line: String,
}

/// Everything measured in one run.
pub struct Runs<'a> {
    pub job: &'a Job<'a>,
    pub idx: usize,
    pub converted: &'a Converted,
    pub weight_error: f64,
    pub files: &'a [String],
    pub before: (&'a Prepared, &'a [Tensor3<i32>]),
    pub after: (&'a Prepared, &'a [Tensor3<i32>]),
}

fn bits(q: &QNet, idx: usize, cfg: &crate::config::AccelConfig) -> (u64, u64) {
    (weight_memory_bits(&q.layers[idx], cfg), q.layers.iter().map(|l| weight_memory_bits(l, cfg)).sum())
}

/// The golden model's last output dequantised, against the original float reference's.
fn golden_fidelity(q: &QNet, outs: &[Tensor3<i32>], reference: &Tensor3<f32>) -> Fidelity {
    let last = q.layers.last().expect("a network has layers");
    let deq = dequantise(last, outs.last().expect("one output per layer"));
    Fidelity::of(reference, &deq, last.out_bits == 1)
}

fn method_figures(r: &Runs) -> (Value, String) {
    match r.converted {
        Converted::Slbf(s) => (
            json!({ "n": s.n, "d": s.d, "m": s.m, "bank": s.bank_source, "iterations": s.iterations, "inertia": s.inertia }),
            format!(
                "slbf: bank of n = {} filters of d = {} channels ({}), m = {} slice(s) per filter; k-means iterations: {}, inertia {:.4e}",
                s.n, s.d, s.bank_source, s.m, s.iterations, s.inertia
            ),
        ),
        Converted::Penni(p) => {
            let count = p.coef.len();
            let density = p.nnz as f64 / count as f64;
            let total: f64 = p.singular_values.iter().map(|s| s * s).sum();
            let kept: f64 = p.singular_values[..p.d].iter().map(|s| s * s).sum();
            let energy = if total > 0.0 { kept / total } else { 1.0 };
            let nnz_q = match &r.after.0.qnet.layers[r.idx].op {
                QOp::Weighted(w) => match &w.weights {
                    QWeights::Penni { coef, .. } => coef.iter().filter(|&&c| c != 0).count(),
                    _ => 0,
                },
                QOp::MaxPool(_) => 0,
            };
            let prune = match r.job.method {
                super::Method::Penni(o) => match o.prune {
                    super::penni::Prune::None => "none".to_string(),
                    super::penni::Prune::Std => "std".to_string(),
                    super::penni::Prune::Density(f) => format!("density {f}"),
                },
                super::Method::Slbf(_) => unreachable!("a penni result comes from penni options"),
            };
            (
                json!({
                    "bases": p.d, "prune": prune, "coefficients": count, "nnz": p.nnz, "density": density,
                    "nnz_quantised": nnz_q, "energy_kept": energy, "singular_values": p.singular_values,
                }),
                format!(
                    "penni: d = {} bases (PCA, {:.1}% of the kernels' energy), prune {prune}: {} of {count} coefficients kept (density {density:.3}), {nnz_q} non-zero after coef_bits quantisation",
                    p.d,
                    100.0 * energy,
                    p.nnz
                ),
            )
        }
    }
}

pub fn measure(r: &Runs) -> Report {
    let (job, idx) = (r.job, r.idx);
    let (before, after) = (r.before.0, r.after.0);
    let (lb, nb) = bits(&before.qnet, idx, job.cfg);
    let (la, na) = bits(&after.qnet, idx, job.cfg);
    let layer = &job.net.layers[idx];
    let last_binary = job.net.layers.last().is_some_and(|l| l.out_bits() == 1);
    let reference = before.float_outs.last().expect("a network has layers");
    let (method, method_line) = method_figures(r);
    let w = super::ConvWeights::of(layer).expect("converted layers are conv layers");
    Report {
        network: job.net.origin.clone(),
        input: job.input_name.clone(),
        layer: layer.name.clone(),
        shape: w.shape(),
        to: r.converted.kind(),
        out: job.out.display().to_string(),
        files: r.files.to_vec(),
        layer_bits: [lb, la],
        network_bits: [nb, na],
        weight_error: r.weight_error,
        layer_float: Fidelity::of(&before.float_outs[idx], &after.float_outs[idx], layer.out_bits() == 1),
        network_float: Fidelity::of(reference, after.float_outs.last().expect("same layers"), last_binary),
        golden: [
            golden_fidelity(&before.qnet, r.before.1, reference),
            golden_fidelity(&after.qnet, r.after.1, reference),
        ],
        method,
        method_line,
    }
}

impl Report {
    /// Layer weight memory before over after.
    pub fn compression(&self) -> f64 {
        self.layer_bits[0] as f64 / self.layer_bits[1].max(1) as f64
    }

    pub fn to_json(&self) -> Value {
        json!({
            "program": "convert",
            "network": self.network,
            "input": self.input,
            "layer": self.layer,
            "weights_shape": self.shape,
            "to": self.to,
            "output_dir": self.out,
            "files": self.files,
            "weight_bits": {
                "layer_before": self.layer_bits[0], "layer_after": self.layer_bits[1],
                "network_before": self.network_bits[0], "network_after": self.network_bits[1],
            },
            "compression": self.compression(),
            "weight_error": self.weight_error,
            "layer_float": self.layer_float.json(),
            "network_float": self.network_float.json(),
            "golden_before": self.golden[0].json(),
            "golden_after": self.golden[1].json(),
            self.to: self.method,
        })
    }

    /// The table the program prints.
    pub fn table(&self) -> String {
        let [o, i, k, _] = self.shape;
        let mut t =
            format!("convert: layer {} (conv {o}x{i}x{k}x{k}) of {} -> {}\n", self.layer, self.network, self.to);
        t += &format!("{}\n", self.method_line);
        let row = |name: &str, before: String, after: String| format!("{name:<46} {before:>16} {after:>16}\n");
        t += &row("", "before".into(), "after".into());
        t += &row(
            &format!("weight memory of {} (bits)", self.layer),
            self.layer_bits[0].to_string(),
            self.layer_bits[1].to_string(),
        );
        t += &row(
            "weight memory of the network (bits)",
            self.network_bits[0].to_string(),
            self.network_bits[1].to_string(),
        );
        t += &row(&format!("compression of {}", self.layer), String::new(), format!("{:.2}x", self.compression()));
        t += &row("weight error (relative Frobenius)", String::new(), format!("{:.4}", self.weight_error));
        t +=
            &row(&format!("{} float output vs original (SQNR dB)", self.layer), String::new(), self.layer_float.cell());
        t += &row("network float output vs original (SQNR dB)", String::new(), self.network_float.cell());
        t += &row("golden output vs original float (SQNR dB)", self.golden[0].cell(), self.golden[1].cell());
        t
    }
}
