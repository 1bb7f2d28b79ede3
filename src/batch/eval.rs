//! A batch through the golden model (bit-packed, compiled once) and the float32 reference, one
//! image per task, gathered in image order: each image's outputs, its class and the float
//! reference's, and every layer's fidelity summed over the batch.

use indicatif::ProgressBar;

use super::fidelity::Fidelity;
use crate::classify;
use crate::golden::packed::PackedNet;
use crate::network::Network;
use crate::quant::QNet;
use crate::tensor::Tensor3;

/// What `golden` reports of a batch.
pub struct Evaluation {
    /// Per image: every layer's output with `keep_layers`, else the last layer's only (a large
    /// batch of a large network would not fit in memory otherwise).
    pub outputs: Vec<Vec<Tensor3<i32>>>,
    /// Per image: the class of the golden model's output and of the float reference's.
    pub predicted: Vec<usize>,
    pub reference: Vec<usize>,
    /// Per layer, over all images.
    pub fidelity: Vec<Fidelity>,
}

/// One image's share of an `Evaluation`.
struct Image {
    outputs: Vec<Tensor3<i32>>,
    predicted: usize,
    reference: usize,
    fidelity: Vec<Fidelity>,
}

/// Runs every image of `images` through `qnet` (compiled from `net`) and through `net`'s float
/// reference.
pub fn evaluate(
    net: &Network,
    qnet: &QNet,
    images: &[Tensor3<i32>],
    keep_layers: bool,
    bar: &ProgressBar,
) -> anyhow::Result<Evaluation> {
    let packed = PackedNet::new(qnet);
    let last = qnet.layers.last().expect("a network has layers");
    let per_image = super::par::map(images, bar, |_, x| {
        let mut outputs = packed.run(x);
        let float_outs = crate::reference::run(net, x);
        let fidelity = qnet.layers.iter().zip(&outputs).zip(&float_outs).map(|((l, o), r)| Fidelity::of(l, o, r));
        let fidelity = fidelity.collect();
        let predicted = classify::predict(last, outputs.last().expect("a network has layers"));
        let reference = classify::reference_class(float_outs.last().expect("a network has layers"));
        if !keep_layers {
            outputs.drain(..outputs.len() - 1);
        }
        Ok(Image { outputs, predicted, reference, fidelity })
    })?;
    let mut e = Evaluation { outputs: Vec::new(), predicted: Vec::new(), reference: Vec::new(), fidelity: Vec::new() };
    for image in per_image {
        if e.fidelity.is_empty() {
            e.fidelity = image.fidelity;
        } else {
            e.fidelity.iter_mut().zip(&image.fidelity).for_each(|(f, g)| f.merge(g));
        }
        e.outputs.push(image.outputs);
        e.predicted.push(image.predicted);
        e.reference.push(image.reference);
    }
    Ok(e)
}
