//! The golden model with bit-packed conv and fc dot products: the same results as the plain
//! model (`golden::run`, the reference its tests compare it with), computed 64 lanes per
//! instruction as the array does (XNOR/AND and popcount, SPEC 2.2). The weights are packed
//! once per network (`PackedNet::new`), the activations once per layer input.

pub mod bits;
pub mod conv;
pub mod fc;
#[cfg(test)]
mod tests;

pub use conv::PackedConv;
pub use fc::PackedFc;

use crate::quant::{QNet, QOp, QWeights};
use crate::tensor::Tensor3;

/// A layer's packed weights.
#[derive(Clone, Debug)]
enum PackedLayer {
    Conv(PackedConv),
    Fc(PackedFc),
}

/// A compiled network with its conv and fc weights packed; other layers (maxpool, slbf, penni)
/// run on the plain model.
#[derive(Clone, Debug)]
pub struct PackedNet<'a> {
    net: &'a QNet,
    layers: Vec<Option<PackedLayer>>,
}

impl<'a> PackedNet<'a> {
    pub fn new(net: &'a QNet) -> PackedNet<'a> {
        let layers = net
            .layers
            .iter()
            .map(|l| match &l.op {
                QOp::Weighted(w) => match &w.weights {
                    QWeights::Conv { signs } => {
                        Some(PackedLayer::Conv(PackedConv::new(signs, w.out_channels, l.in_shape[0], w.geometry)))
                    }
                    QWeights::Fc { signs } => {
                        let len = l.in_shape.iter().product();
                        Some(PackedLayer::Fc(PackedFc::new(signs, w.out_channels, len)))
                    }
                    QWeights::Slbf { .. } | QWeights::Penni { .. } => None,
                },
                QOp::MaxPool(_) => None,
            })
            .collect();
        PackedNet { net, layers }
    }

    /// Every layer's output as the next layer reads it: `golden::run`'s result.
    pub fn run(&self, input: &Tensor3<i32>) -> Vec<Tensor3<i32>> {
        super::run_with(self.net, input, |i, w, x| match &self.layers[i] {
            Some(PackedLayer::Conv(c)) => c.dots(x, self.net.layers[i].in_bits),
            Some(PackedLayer::Fc(f)) => f.dots(x, self.net.layers[i].in_bits),
            None => super::layer_dots(w, x),
        })
    }
}
