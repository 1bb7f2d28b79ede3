//! `import`: a trained binary network in QONNX (as Brevitas and the qonnx package write it) to a
//! network directory every program runs, mapped exactly onto docs/SPEC.md's arithmetic and
//! checked against the model's own float computation.
//!
//! The stages: decode the protobuf (proto.rs) into a checked model (model.rs); run it once on a
//! blank image for every value's shape and every constant (exec.rs, ops.rs); walk its activation
//! path into layers (lower/); write the network in memory (write.rs), load it back and compile it
//! for the accelerator config, prove that the compiled integers reproduce every quantiser step
//! found, and compare the golden model with the graph on a batch of images (check.rs).

pub mod builder;
pub mod check;
pub mod exec;
pub mod lower;
pub mod model;
pub mod ops;
pub mod proto;
pub mod report;
pub mod value;
pub mod write;

use anyhow::{anyhow, bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

use crate::config::AccelConfig;
use crate::network::{parse_network, FileSource, Network};
use crate::quant::{QNet, QOp};
use crate::tensor::Tensor3;
use lower::{LayerKind, Lowered, OutMap};
use model::Model;
use value::Value;
use write::NetworkFiles;

/// What the command line decides.
pub struct Options {
    /// The model's input is `pixel / divisor` (float32).
    pub divisor: f32,
    /// Images to check on (uint8 pixels, `[C, H, W]` each) and where they came from; `None`:
    /// `synthetic` seeded synthetic images.
    pub images: Option<(Vec<Tensor3<i32>>, String)>,
    pub labels: Option<Vec<usize>>,
    pub synthetic: usize,
}

/// An import: the mapping, the network it wrote (in memory), and the checks.
pub struct Imported {
    pub model_name: String,
    pub model: Model,
    pub lowered: Lowered,
    pub files: NetworkFiles,
    pub network: Network,
    pub qnet: QNet,
    /// Per layer: whether the compiled integers provably reproduce every step the mapping found.
    pub exact: Vec<Option<bool>>,
    pub check: check::CheckReport,
    /// The first image checked on (written as the directory's input.npy).
    pub first_image: Tensor3<i32>,
}

/// Files of a network kept in memory (the import loads what it wrote before writing it).
struct MemSource(BTreeMap<String, Vec<u8>>);

impl FileSource for MemSource {
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        self.0.get(rel).cloned().ok_or_else(|| anyhow!("{rel}: not written by the import"))
    }
    fn display(&self, rel: &str) -> String {
        rel.to_string()
    }
}

/// Reads and checks a model file.
pub fn read_model(path: &Path) -> Result<Model> {
    // Protocol buffers are at most 2 GiB.
    let bytes = crate::fsutil::read_limited(path, 2 << 30, "ONNX model")?;
    let proto = proto::decode(&bytes).with_context(|| path.display().to_string())?;
    Model::from_proto(&proto).with_context(|| path.display().to_string())
}

/// Imports the model at `path` for the accelerator `cfg`.
pub fn import(path: &Path, cfg: &AccelConfig, opts: &Options) -> Result<Imported> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let model = read_model(path)?;
    let at = |e: anyhow::Error| e.context(path.display().to_string());
    let image_shape = image_dims(&model).map_err(at)?;
    // One blank image: every value's shape and every constant the graph computes.
    let blank = Value::from_f32(&input_dims(&model, 1), vec![0.0; image_shape.iter().product()])?;
    let values = exec::run(&model, blank, &|_| true).map_err(at)?;
    let lower_opts = lower::Options {
        divisor: opts.divisor,
        scale_bits: cfg.datapath.scale_bits,
        bias_bits: cfg.datapath.bias_bits(),
    };
    let lowered = lower::lower(&model, &values, &lower_opts).map_err(at)?;
    let files = write::network_files(&lowered, &name);
    let origin = format!("<network imported from {name}>");
    let source = MemSource(files.files.iter().cloned().collect());
    let network = parse_network(&files.toml, &origin, &source)?;
    let qnet = crate::quant::compile(&network, cfg, None)?;
    let exact = verify(&lowered, &qnet)?;
    let (images, source_desc) = match &opts.images {
        Some((imgs, desc)) => (imgs.clone(), desc.clone()),
        None => {
            let n = opts.synthetic;
            (
                check::synthetic_images(image_shape, n),
                format!("{n} synthetic images (seeded: noise, strokes, flat, ramps)"),
            )
        }
    };
    for (i, img) in images.iter().enumerate() {
        ensure!(
            img.shape() == image_shape,
            "image {i} has shape {:?}; the model reads [C, H, W] = {image_shape:?}",
            img.shape()
        );
    }
    let labels = opts.labels.as_deref();
    let check = check::check(&model, &lowered, &network, &qnet, &images, source_desc, labels)?;
    Ok(Imported {
        model_name: name,
        model,
        lowered,
        files,
        network,
        qnet,
        exact,
        check,
        first_image: images[0].clone(),
    })
}

/// The image shape `[C, H, W]` of the graph input (its batch dimension may be symbolic).
fn image_dims(model: &Model) -> Result<[usize; 3]> {
    let d = &model.input.dims;
    let known = |i: usize| -> Result<usize> {
        d[i].with_context(|| {
            format!(
                "the graph input {:?}: dimension {i} is not fixed; expected [N, C, H, W] with known C, H, W",
                model.input.name
            )
        })
    };
    match d.len() {
        4 => Ok([known(1)?, known(2)?, known(3)?]),
        2 => Ok([known(1)?, 1, 1]),
        n => bail!("the graph input {:?} has {n} dimensions; expected [N, C, H, W]", model.input.name),
    }
}

/// The graph input's dimensions with batch `n`.
fn input_dims(model: &Model, n: usize) -> Vec<usize> {
    std::iter::once(n).chain(model.input.dims.iter().skip(1).map(|d| d.unwrap_or(1))).collect()
}

/// Proves, per weighted layer, that the compiled integers give every output level the mapping
/// found: sign thresholds as compiled, and relu layers' multipliers, biases and shift meeting
/// every step (lower::fixed::meets). An inexact fit is reported, not an error; a compiled value
/// that differs from the fit is a bug, and an error.
fn verify(lowered: &Lowered, qnet: &QNet) -> Result<Vec<Option<bool>>> {
    lowered
        .layers
        .iter()
        .zip(&qnet.layers)
        .map(|(l, q)| {
            let (LayerKind::Weighted(w), QOp::Weighted(qw)) = (&l.kind, &q.op) else { return Ok(None) };
            let d = qw.dot_bound as i64;
            match &w.output {
                OutMap::Sign { threshold } => {
                    let ok = threshold.iter().zip(&qw.bias).all(|(&t, &b)| b == -t.clamp(-d, d + 1))
                        && qw.mult.iter().all(|&m| m == 1)
                        && qw.shift == 0;
                    ensure!(ok, "{}: the compiled thresholds differ from the mapped ones", l.name);
                    Ok(Some(true))
                }
                OutMap::Relu { fixed, thresholds, .. } => {
                    let meets: Vec<bool> = (0..w.out_channels)
                        .map(|o| {
                            lower::fixed::meets(&thresholds[o], qw.mult[o / qw.scale_group], qw.bias[o], qw.shift, d)
                        })
                        .collect();
                    for (o, (&m, &fitted)) in meets.iter().zip(&fixed.exact).enumerate() {
                        ensure!(
                            m == fitted,
                            "{}: filter {o}: the compiled multiplier and bias do not give the fitted levels",
                            l.name
                        );
                    }
                    Ok(Some(meets.iter().all(|&m| m)))
                }
                OutMap::Accumulator { .. } => Ok(Some(true)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
