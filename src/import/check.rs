//! Every import checks itself: the original graph, run by the importer's own executor (exec.rs),
//! against the golden model of the network written, on a batch of images. Compared: each layer's
//! output levels where the model holds the same tensor, the final logits, the top-1 classes, and
//! with labels the accuracy of both.

use anyhow::{ensure, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;

use super::exec;
use super::lower::{Logits, Lowered};
use super::model::Model;
use super::value::Value;
use crate::golden;
use crate::network::Network;
use crate::quant::QNet;
use crate::tensor::Tensor3;

/// Images run per executor batch (bounds the executor's memory).
const CHUNK: usize = 256;

#[derive(Clone, Debug, serde::Serialize)]
pub struct LayerCheck {
    pub layer: String,
    pub onnx_value: String,
    pub values: u64,
    pub mismatches: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct CheckReport {
    pub images: usize,
    pub source: String,
    /// Images whose top class is the same in the model and in the golden model.
    pub top1_agree: usize,
    pub top1_agreement: f64,
    /// The largest difference between the model's output and the one derived from the golden
    /// model's output (0 when every activation matches and the MACs are exact in float32).
    pub max_logit_difference: f64,
    pub layers: Vec<LayerCheck>,
    pub labels: Option<usize>,
    pub onnx_top1_accuracy: Option<f64>,
    pub golden_top1_accuracy: Option<f64>,
    #[serde(skip)]
    pub onnx_predictions: Vec<usize>,
    #[serde(skip)]
    pub golden_predictions: Vec<usize>,
}

/// Seeded synthetic images of shape `[C, H, W]` (uint8 pixels): dense noise, sparse strokes on
/// black, flat images, ramps — for a check when no images are given.
pub fn synthetic_images(shape: [usize; 3], count: usize) -> Vec<Tensor3<i32>> {
    let mut rng = StdRng::seed_from_u64(0x1337);
    let n = shape.iter().product::<usize>();
    (0..count)
        .map(|i| {
            let data: Vec<i32> = match i % 4 {
                0 => (0..n).map(|_| rng.gen_range(0..256)).collect(),
                1 => (0..n).map(|_| if rng.gen_bool(0.2) { rng.gen_range(128..256) } else { 0 }).collect(),
                2 => vec![[0, 255, 127, 128][i / 4 % 4]; n],
                _ => (0..n).map(|k| ((k * 255) / n.max(1)) as i32).collect(),
            };
            Tensor3::from_vec(shape[0], shape[1], shape[2], data)
        })
        .collect()
}

/// Runs the check on `images` (uint8 pixels `[C, H, W]`), with optional labels.
pub fn check(
    model: &Model,
    lowered: &Lowered,
    net: &Network,
    qnet: &QNet,
    images: &[Tensor3<i32>],
    source: String,
    labels: Option<&[usize]>,
) -> Result<CheckReport> {
    ensure!(!images.is_empty(), "no images to check on");
    let divisor = lowered.input.divisor;
    let watched: HashSet<String> =
        lowered.layers.iter().filter_map(|l| l.onnx_output.as_ref().map(|o| o.value.clone())).collect();
    let mut layers: Vec<LayerCheck> = lowered
        .layers
        .iter()
        .filter_map(|l| {
            l.onnx_output.as_ref().map(|o| LayerCheck {
                layer: l.name.clone(),
                onnx_value: o.value.clone(),
                values: 0,
                mismatches: 0,
            })
        })
        .collect();
    let (mut agree, mut max_diff) = (0usize, 0f64);
    let (mut onnx_pred, mut golden_pred) = (Vec::new(), Vec::new());
    let in_dims: Vec<usize> = model.input.dims.iter().skip(1).map(|d| d.unwrap_or(1)).collect();
    for chunk in images.chunks(CHUNK) {
        let per: usize = in_dims.iter().product();
        let mut flat = Vec::with_capacity(chunk.len() * per);
        for img in chunk {
            flat.extend(img.data.iter().map(|&p| p as f32 / divisor));
        }
        let mut shape = vec![chunk.len()];
        shape.extend(&in_dims);
        let values = exec::run(model, Value::from_f32(&shape, flat)?, &|n| watched.contains(n))?;
        let out = values[&model.output].f32()?;
        let classes = out.len() / chunk.len();
        for (k, img) in chunk.iter().enumerate() {
            let acts = net.input.activations(img);
            let outs = golden::run(qnet, &acts);
            let model_logits: Vec<f32> = out.iter().skip(k * classes).take(classes).copied().collect();
            let last = outs.last().expect("a network has layers");
            let ours: Vec<f32> = match &lowered.logits {
                Logits::Dots(eval) => last.data.iter().enumerate().map(|(o, &d)| eval.real32(o, d as i64)).collect(),
                Logits::Acts { scale, zero_point } => {
                    let binary = qnet.layers.last().unwrap().out_bits == 1;
                    last.data
                        .iter()
                        .map(|&a| if binary { a as f32 * scale } else { (a as i64 - zero_point) as f32 * scale })
                        .collect()
                }
            };
            ensure!(
                ours.len() == model_logits.len(),
                "the model outputs {} values per image, the network {}",
                model_logits.len(),
                ours.len()
            );
            for (a, b) in ours.iter().zip(&model_logits) {
                max_diff = max_diff.max((a - b).abs() as f64);
            }
            // The class as every program takes it from the written network (the argmax of its
            // last layer's real values, cbnn::classify), not from the model's logits above.
            let p_ours = crate::classify::predict(qnet.layers.last().expect("a network has layers"), last);
            let p_onnx = crate::classify::argmax(&model_logits);
            agree += usize::from(p_onnx == p_ours);
            onnx_pred.push(p_onnx);
            golden_pred.push(p_ours);
            // Layer by layer, where the model holds the same tensor.
            let mut lc = layers.iter_mut();
            for (l, t) in lowered.layers.iter().zip(&outs) {
                let Some(o) = &l.onnx_output else { continue };
                let check = lc.next().expect("one check per watched layer");
                let v = values[&o.value].f32()?;
                let per = v.len() / chunk.len();
                let theirs = v.iter().skip(k * per).take(per);
                check.values += per as u64;
                check.mismatches += theirs.zip(&t.data).filter(|(&r, &a)| o.level(r) != a).count() as u64;
            }
        }
    }
    let n = images.len();
    let accuracy =
        |pred: &[usize]| labels.map(|y| pred.iter().zip(y).filter(|(p, y)| p == y).count() as f64 / n as f64);
    Ok(CheckReport {
        images: n,
        source,
        top1_agree: agree,
        top1_agreement: agree as f64 / n as f64,
        max_logit_difference: max_diff,
        layers,
        labels: labels.map(|l| l.len()),
        onnx_top1_accuracy: accuracy(&onnx_pred),
        golden_top1_accuracy: accuracy(&golden_pred),
        onnx_predictions: onnx_pred,
        golden_predictions: golden_pred,
    })
}
