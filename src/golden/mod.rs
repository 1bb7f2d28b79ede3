//! The golden model: a plain integer implementation of docs/SPEC.md, layer by layer.
//! Everything else (the RTL, the cycle simulator) is judged by bit-exact agreement with it.

pub mod conv;
pub mod fc;
pub mod maxpool;
pub mod output;
pub mod packed;
pub mod penni;
pub mod slbf;

use crate::codec;
use crate::network::ACC_BITS;
use crate::quant::{QLayer, QNet, QOp, QWeighted, QWeights};
use crate::tensor::Tensor3;

/// The raw signed dot products of a weighted layer (before the output function).
pub fn layer_dots(w: &QWeighted, input: &Tensor3<i32>) -> Tensor3<i64> {
    let o = w.out_channels;
    match &w.weights {
        QWeights::Conv { signs } => conv::conv(input, signs, o, &w.geometry),
        QWeights::Fc { signs } => fc::fc(input, signs, o),
        QWeights::Slbf { bank, n, d, index, m } => {
            slbf::slbf(input, &slbf::SlbfParams { bank, n: *n, d: *d, index, m: *m }, o, &w.geometry)
        }
        QWeights::Penni { basis, d, coef } => penni::penni(input, basis, *d, coef, o, &w.geometry),
    }
}

/// A layer's output as computed, before it is stored.
pub fn layer_output(layer: &QLayer, input: &Tensor3<i32>) -> Tensor3<i32> {
    output_with(layer, input, layer_dots)
}

/// A layer's output with its dot products computed by `dots` (the plain `layer_dots` or the
/// packed ones, `packed::PackedNet`).
fn output_with(
    layer: &QLayer,
    input: &Tensor3<i32>,
    dots: impl FnOnce(&QWeighted, &Tensor3<i32>) -> Tensor3<i64>,
) -> Tensor3<i32> {
    match &layer.op {
        QOp::MaxPool(g) => maxpool::maxpool(input, g),
        QOp::Weighted(w) => output::apply(w, &dots(w, input)),
    }
}

/// What reading a tensor back from DRAM gives: the codec's reconstruction (identity for
/// lossless modes and raw accumulators).
pub fn stored(t: &Tensor3<i32>, bits: u32, p: &codec::CodecParams) -> Tensor3<i32> {
    if bits == ACC_BITS || lossless(bits, p) {
        t.clone()
    } else {
        codec::reconstruct(t, bits, p)
    }
}

/// Whether a tensor stored with `p` reads back unchanged without running the codec: raw and
/// sparse tensors always (SPEC 8.4), binary ones (always raw, SPEC 8.1) and golomb at step 1
/// (SPEC 8.8). Saves the codec's per-block work on most layers of a batch.
fn lossless(bits: u32, p: &codec::CodecParams) -> bool {
    use codec::Mode;
    bits == 1 || matches!(p.mode, Mode::Raw | Mode::Sparse) || (p.mode == Mode::Golomb && p.step == 1)
}

/// Runs the network: returns every layer's output as the next layer reads it (after the
/// codec round trip of its DRAM write). The input is itself stored with the input codec first.
pub fn run(net: &QNet, input: &Tensor3<i32>) -> Vec<Tensor3<i32>> {
    run_with(net, input, |_, w, x| layer_dots(w, x))
}

/// `run` with the dot products of layer `i` computed by `dots(i, ...)`.
fn run_with(
    net: &QNet,
    input: &Tensor3<i32>,
    dots: impl Fn(usize, &QWeighted, &Tensor3<i32>) -> Tensor3<i64>,
) -> Vec<Tensor3<i32>> {
    let mut x = stored(input, net.input.bits, &net.input.codec);
    let mut outs: Vec<Tensor3<i32>> = Vec::with_capacity(net.layers.len());
    for (i, l) in net.layers.iter().enumerate() {
        let y = stored(&output_with(l, &x, |w, x| dots(i, w, x)), l.out_bits, &l.codec);
        outs.push(y);
        x = outs[i].clone();
    }
    outs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{golomb::golomb_error_bound, Mode};
    use crate::config::AccelConfig;
    use crate::examples::{tiny_input, tiny_network};

    /// On the example network (which uses every codec mode), each layer's output as the next
    /// layer reads it is the codec's reconstruction of the computed output; the golomb layer
    /// (pool5, step 2) is lossy there, within step/2.
    #[test]
    fn layers_read_the_codec_reconstruction() {
        let net = tiny_network().unwrap();
        let q = crate::quant::compile(&net, &AccelConfig::default(), None).unwrap();
        let x = tiny_input(&net).unwrap();
        let outs = run(&q, &x);
        let mut input = stored(&x, q.input.bits, &q.input.codec);
        let mut golomb_layers = 0;
        for (l, out) in q.layers.iter().zip(&outs) {
            let computed = layer_output(l, &input);
            // Against the codec itself: `stored` skips it for the modes that cannot change a value.
            let want = if l.out_bits == ACC_BITS {
                computed.clone()
            } else {
                codec::reconstruct(&computed, l.out_bits, &l.codec)
            };
            assert_eq!(*out, want, "{}", l.name);
            if l.codec.mode == Mode::Golomb {
                golomb_layers += 1;
                assert_ne!(*out, computed, "{}: step {} should lose something", l.name, l.codec.step);
                let bound = golomb_error_bound(l.codec.step) as i32;
                assert!(out.data.iter().zip(&computed.data).all(|(a, b)| (a - b).abs() <= bound), "{}", l.name);
            }
            input = out.clone();
        }
        assert_eq!(golomb_layers, 1, "examples/tiny has one golomb layer");
    }
}
