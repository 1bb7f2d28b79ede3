//! From a normally trained conv layer (float OIHW weights) to an SLBF layer (SPEC 3.4) or a PENNI
//! layer (SPEC 3.5), written as a complete network directory with a fidelity report: the library
//! side of the `convert` program.
//!
//! - `slbf`: sub-filters clustered into a bank by k-means (`kmeans`), index = nearest bank filter;
//! - `penni`: basis kernels by PCA without centring, coefficients pruned by magnitude;
//! - `netfile`: the network file rewritten with the one layer replaced, and the files it names;
//! - `report`: weight memory, weight error and float/golden fidelity before and after.

pub mod kmeans;
pub mod netfile;
pub mod penni;
pub mod report;
pub mod slbf;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::config::AccelConfig;
use crate::network::{Layer, Network, Op, Weights};
use crate::tensor::Tensor3;

/// A conv layer's float weights `[O, I, K, K]` (OIHW) and their shape.
#[derive(Clone, Copy, Debug)]
pub struct ConvWeights<'a> {
    pub out_channels: usize,
    pub in_channels: usize,
    pub kernel: usize,
    pub weights: &'a [f32],
}

impl<'a> ConvWeights<'a> {
    /// The weights of a conv layer; an error naming the layer's kind otherwise.
    pub fn of(layer: &'a Layer) -> Result<ConvWeights<'a>> {
        if let Op::Weighted(w) = &layer.op {
            if let Weights::Conv(f) = &w.weights {
                let (out_channels, in_channels, kernel) = (w.out_channels, layer.in_shape[0], w.geometry.kernel);
                return Ok(ConvWeights { out_channels, in_channels, kernel, weights: f });
            }
        }
        bail!(
            "--layer {}: a {} layer; expected a conv layer (convert starts from trained float conv weights)",
            layer.name,
            layer.kind_name()
        )
    }

    pub fn shape(&self) -> [usize; 4] {
        [self.out_channels, self.in_channels, self.kernel, self.kernel]
    }
}

/// The target and its options.
#[derive(Clone, Debug)]
pub enum Method {
    Slbf(slbf::SlbfOptions),
    Penni(penni::PenniOptions),
}

/// What a conversion produced: the new layer's weights and the figures of the method.
#[derive(Clone, Debug)]
pub enum Converted {
    Slbf(slbf::Slbf),
    Penni(penni::Penni),
}

impl Converted {
    pub fn kind(&self) -> &'static str {
        match self {
            Converted::Slbf(_) => "slbf",
            Converted::Penni(_) => "penni",
        }
    }

    /// The layer weights as the network holds them.
    pub fn weights(&self) -> Weights {
        match self {
            Converted::Slbf(s) => {
                Weights::Slbf { bank: s.bank.clone(), n: s.n, d: s.d, index: s.index.clone(), m: s.m }
            }
            Converted::Penni(p) => Weights::Penni { basis: p.basis.clone(), d: p.d, coef: p.coef.clone() },
        }
    }

    /// The network keys of the new layer and the .npy bytes of their files.
    pub fn files(&self, shape: [usize; 4]) -> Vec<(&'static str, Vec<u8>)> {
        let [o, i, k, _] = shape;
        use crate::npyio::{f32_to_npy, i64_to_npy};
        match self {
            Converted::Slbf(s) => {
                let index: Vec<i64> = s.index.iter().map(|&j| j as i64).collect();
                vec![("bank", f32_to_npy(&[s.n, s.d, k, k], &s.bank)), ("index", i64_to_npy(&[o, s.m], &index))]
            }
            Converted::Penni(p) => {
                vec![("basis", f32_to_npy(&[p.d, k, k], &p.basis)), ("coef", f32_to_npy(&[o, i, p.d], &p.coef))]
            }
        }
    }
}

/// Converts one conv layer's weights.
pub fn convert_weights(w: &ConvWeights, method: &Method) -> Result<Converted> {
    Ok(match method {
        Method::Slbf(o) => Converted::Slbf(slbf::convert(w, o)?),
        Method::Penni(o) => Converted::Penni(penni::convert(w, o)?),
    })
}

/// The relative Frobenius error `||a - b|| / ||a||` (0 when both are zero).
pub fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let norm: f64 = a.iter().map(|&x| (x as f64).powi(2)).sum();
    let diff: f64 = a.iter().zip(b).map(|(&x, &y)| (x as f64 - y as f64).powi(2)).sum();
    if diff == 0.0 {
        0.0
    } else {
        (diff / norm).sqrt()
    }
}

/// The layer to convert: the one named, or the first conv layer with a kernel larger than 1x1.
pub fn select_layer(net: &Network, name: Option<&str>) -> Result<usize> {
    match name {
        Some(name) => net.layers.iter().position(|l| l.name == name).with_context(|| {
            let names: Vec<&str> = net.layers.iter().map(|l| l.name.as_str()).collect();
            format!("--layer {name}: no such layer in {}; expected one of {}", net.origin, names.join(", "))
        }),
        None => net.layers.iter().position(|l| ConvWeights::of(l).is_ok_and(|w| w.kernel > 1)).with_context(|| {
            format!("{}: no conv layer with a kernel larger than 1x1; name one with --layer", net.origin)
        }),
    }
}

/// Whether `dir` holds an earlier output of `convert` (its report.json says so), which a new run
/// may replace.
pub fn is_convert_output(dir: &Path) -> bool {
    std::fs::read(dir.join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["program"] == "convert")
}

/// One run of the program: what to convert, how, and where to.
pub struct Job<'a> {
    pub cfg: &'a AccelConfig,
    pub source: &'a netfile::Source,
    pub net: &'a Network,
    pub input: &'a Tensor3<i32>,
    /// The input file's bytes, written as input.npy as they are when given (a network that
    /// reads pixels needs its pixels, not the activations they quantise to).
    pub input_file: Option<Vec<u8>>,
    /// How the report names the input (its file, or the embedded one).
    pub input_name: String,
    pub layer: Option<&'a str>,
    pub method: &'a Method,
    pub out: PathBuf,
}

/// The report and the notes (`out_scale`s calibrated on the input) a run prints.
pub struct Outcome {
    pub report: report::Report,
    pub notes: Vec<String>,
}

fn calibration_notes(p: &crate::reference::Prepared, which: &str) -> Vec<String> {
    p.calibrated
        .iter()
        .map(|(name, s)| format!("{which}: layer {name}: out_scale not set, calibrated to {s:.6e} on this input"))
        .collect()
}

/// Converts the layer and writes the output directory: the rewritten net.toml, every file it
/// names, input.npy and report.json, all or nothing. The written network is loaded back with the
/// network loader and compiled for the config before the directory is put in place.
pub fn run(job: &Job) -> Result<Outcome> {
    crate::fsutil::check_replace(&job.out, is_convert_output)?;
    let idx = select_layer(job.net, job.layer)?;
    let layer = &job.net.layers[idx];
    let w = ConvWeights::of(layer)?;
    let [o, i, k, _] = w.shape();
    let converted =
        convert_weights(&w, job.method).with_context(|| format!("layer {} (conv {o}x{i}x{k}x{k})", layer.name))?;
    let rewritten = netfile::rewrite(job.source, idx, converted.kind(), &converted.files(w.shape()), &layer.name)?;
    let weight_error = relative_error(w.weights, &crate::reference::float_conv_weights(&converted.weights(), o, i, k));

    let before = crate::reference::prepare(job.net, job.cfg, job.input)?;
    let golden_before = crate::golden::run(&before.qnet, job.input);
    let mut notes = calibration_notes(&before, "original network");
    let shown = job.out.join("net.toml").display().to_string();
    let mut outcome = None;
    crate::fsutil::replace_dir(&job.out, is_convert_output, |dir| {
        for (rel, bytes) in &rewritten.files {
            let p = dir.join(rel);
            if let Some(parent) = p.parent() {
                crate::fsutil::create_dir(parent)?;
            }
            std::fs::write(&p, bytes).with_context(|| format!("{}: cannot write", p.display()))?;
        }
        std::fs::write(dir.join("net.toml"), &rewritten.net_toml).context("net.toml: cannot write")?;
        let input_npy = match &job.input_file {
            Some(bytes) => bytes.clone(),
            None => crate::npyio::activations_to_npy(job.input, crate::npyio::Elem::for_bits(job.net.input.bits)),
        };
        std::fs::write(dir.join("input.npy"), input_npy).context("input.npy: cannot write")?;
        // The same loader and compiler as every program: what was written runs.
        let net = crate::network::parse_network(&rewritten.net_toml, &shown, &crate::network::DirSource(dir.into()))
            .context("the converted network does not load")?;
        let after = crate::reference::prepare(&net, job.cfg, job.input)
            .context("the converted network does not compile for the accelerator config")?;
        let golden_after = crate::golden::run(&after.qnet, job.input);
        notes.extend(calibration_notes(&after, "converted network"));
        let r = report::measure(&report::Runs {
            job,
            idx,
            converted: &converted,
            weight_error,
            files: &rewritten.new_files,
            before: (&before, &golden_before),
            after: (&after, &golden_after),
        });
        std::fs::write(dir.join("report.json"), serde_json::to_string_pretty(&r.to_json())?)
            .context("report.json: cannot write")?;
        outcome = Some(r);
        Ok(())
    })?;
    Ok(Outcome { report: outcome.expect("filled on success"), notes })
}
