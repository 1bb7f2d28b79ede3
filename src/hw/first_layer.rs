//! The network's first layer in im2col mode (`datapath.first_layer = "im2col"`,
//! docs/ARCHITECTURE.md, section 2).
//!
//! A first layer has few input channels (1 to 3 for images) of many bits (8): run as written,
//! each step of the array reads one kernel tap of `C_in` channels, so 3 of a PE's 32 lanes work,
//! for every bit-plane. The host, which writes the network's input anyway, can instead write the
//! window of every output pixel: `K*K*C_in` values, tap `j = (c*K + ky)*K + kx` (the weights'
//! OIHW order), 0 where the window hangs over the padding. The layer is then a 1x1 convolution
//! over those taps, stride 1, no padding, whose dot products are the original layer's exactly:
//! a padded tap contributes 0 in SPEC 2.2, and so does a 0 activation. That holds for unsigned
//! (`k >= 2`-bit) inputs, whose value 0 exists; a binary (±1) input has no 0, so it is lowered
//! only without padding.
//!
//! The host writes the taps raw: they are laid out from the stored (decoded) input, and a lossy
//! codec applied again would change them. Their traffic is `K*K / s^2` times the image's (27 KB
//! for a 32x32 RGB image and a 3x3 kernel), against a 9x shorter compute phase. The host lowers
//! a layer only when the estimate below says it is faster.

use super::descriptor::LayerDescriptor;
use super::sequence::compute_cycles;
use crate::codec::{CodecParams, Mode};
use crate::config::{AccelConfig, FirstLayer};
use crate::network::Geometry;
use crate::quant::{QLayer, QNet, QOp, QWeighted, QWeights};
use crate::tensor::Tensor3;

/// The first layer of `q` as the core runs it: in im2col form when the config asks for it, the
/// layer can be lowered, and the lowered layer fits the core and is estimated faster. `None`:
/// the core runs the layer as written.
pub fn lowered_first_layer(q: &QNet, cfg: &AccelConfig) -> Option<QLayer> {
    let l = q.layers.first()?;
    if cfg.datapath.first_layer != FirstLayer::Im2col {
        return None;
    }
    let low = im2col_layer(l)?;
    let (direct, lowered) = (LayerDescriptor::new(l, cfg).ok()?, LayerDescriptor::new(&low, cfg).ok()?);
    (estimate(&lowered, cfg) < estimate(&direct, cfg)).then_some(low)
}

/// The 1x1 conv over the window taps that computes conv layer `l`, if it is one that can be
/// lowered (a conv with a window larger than one pixel, an unsigned input or no padding).
pub fn im2col_layer(l: &QLayer) -> Option<QLayer> {
    let QOp::Weighted(w) = &l.op else { return None };
    let QWeights::Conv { signs } = &w.weights else { return None };
    let g = w.geometry;
    if g.kernel * g.kernel == 1 || (l.in_bits == 1 && g.padding > 0) {
        return None;
    }
    let [c, _, _] = l.in_shape;
    let [_, h_out, w_out] = l.out_shape;
    // OIHW weights flattened per filter are already in tap order j = (c*K + ky)*K + kx.
    let op = QWeighted {
        geometry: Geometry { kernel: 1, stride: 1, padding: 0 },
        weights: QWeights::Conv { signs: signs.clone() },
        ..w.clone()
    };
    Some(QLayer {
        in_shape: [c * g.kernel * g.kernel, h_out, w_out],
        op: QOp::Weighted(op),
        in_codec: CodecParams { mode: Mode::Raw, ..l.in_codec },
        ..l.clone()
    })
}

/// The taps the host writes for the lowered layer, from conv layer `l`'s stored input `x`.
pub fn im2col_input(l: &QLayer, x: &Tensor3<i32>) -> Tensor3<i32> {
    let QOp::Weighted(w) = &l.op else { panic!("layer {}: im2col of a layer without weights", l.name) };
    let g = &w.geometry;
    let [_, h_out, w_out] = l.out_shape;
    let taps = x.c * g.kernel * g.kernel;
    let mut out = Tensor3::zeros(taps, h_out, w_out);
    for y in 0..h_out {
        for xo in 0..w_out {
            for (ky, kx, iy, ix) in g.window(y, xo) {
                for c in 0..x.c {
                    let v = x.get_padded(c, iy, ix).unwrap_or(0);
                    out.set((c * g.kernel + ky) * g.kernel + kx, y, xo, v);
                }
            }
        }
    }
    out
}

/// A rough cycle count, only to choose between the two forms: each filter tile computes every
/// output row (`compute_cycles` of its steps, plus the 3-cycle gap between runs), and the input
/// loads at one beat of `codec.block` values per bit-plane cycle. Weight loads are left out:
/// both forms load the same weights.
fn estimate(d: &LayerDescriptor, cfg: &AccelConfig) -> u64 {
    let rows = (d.filter_tiles * d.h_out) as u64;
    let compute = rows * (compute_cycles(d, cfg, d.steps as u64) + 3);
    let values = (d.c_in * d.h * d.w) as u64;
    compute + values.div_ceil(cfg.codec.block as u64) * d.planes as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::golden;
    use crate::network::Network;
    use crate::quant::compile;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn first_layer(c: usize, hw: usize, o: usize, g: Geometry, bits: u32, seed: u64) -> (QNet, Tensor3<i32>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let per = c * g.kernel * g.kernel;
        let net = Network::single_conv(c, hw, hw, o, g, bits, (0..o * per).map(|_| rng.gen_range(-1.0..1.0)).collect());
        let q = compile(&net, &AccelConfig::default(), None).unwrap();
        let max = (1i32 << bits) - 1;
        let data =
            (0..c * hw * hw).map(|_| if bits == 1 { rng.gen_range(0..2) * 2 - 1 } else { rng.gen_range(0..=max) });
        (q, Tensor3::from_vec(c, hw, hw, data.collect()))
    }

    #[test]
    fn the_lowered_layer_computes_the_same_outputs_over_the_taps() {
        let cases = [
            (3, 9, 5, Geometry { kernel: 3, stride: 1, padding: 1 }, 8),
            (2, 8, 3, Geometry { kernel: 3, stride: 2, padding: 1 }, 4),
            (1, 7, 4, Geometry { kernel: 5, stride: 2, padding: 2 }, 2),
            (3, 6, 2, Geometry { kernel: 3, stride: 1, padding: 0 }, 1),
        ];
        for (i, &(c, hw, o, g, bits)) in cases.iter().enumerate() {
            let (q, x) = first_layer(c, hw, o, g, bits, i as u64);
            let low = im2col_layer(&q.layers[0]).unwrap();
            let taps = im2col_input(&q.layers[0], &x);
            assert_eq!(taps.shape(), low.in_shape);
            let want = golden::layer_output(&q.layers[0], &x);
            assert_eq!(golden::layer_output(&low, &taps).data, want.data, "case {i}");
        }
    }

    #[test]
    fn taps_are_in_weight_order_with_zeros_over_the_padding() {
        // 2 channels of 2x2, values 10*c + 2*y + x + 1; 3x3 kernel, padding 1: output (0, 0)
        // sees rows and columns -1..1.
        let x = Tensor3::from_vec(2, 2, 2, (0..8).map(|i| 10 * (i / 4) + i % 4 + 1).collect());
        let (q, _) = first_layer(2, 2, 1, Geometry { kernel: 3, stride: 1, padding: 1 }, 8, 0);
        let t = im2col_input(&q.layers[0], &x);
        let px: Vec<i32> = (0..18).map(|j| t.get(j, 0, 0)).collect();
        assert_eq!(px, [0, 0, 0, 0, 1, 2, 0, 3, 4, 0, 0, 0, 0, 11, 12, 0, 13, 14]);
    }

    #[test]
    fn only_layers_that_gain_are_lowered() {
        let cfg = AccelConfig::default();
        let g3 = Geometry { kernel: 3, stride: 1, padding: 1 };
        // An RGB image: 27 taps in one step instead of 9 steps of 3 lanes.
        let (q, _) = first_layer(3, 16, 8, g3, 8, 1);
        assert_eq!(lowered_first_layer(&q, &cfg).unwrap().in_shape, [27, 16, 16]);
        // 64 channels already fill the lanes: the taps would only cost loads.
        let (q, _) = first_layer(64, 8, 8, g3, 1, 2);
        assert!(lowered_first_layer(&q, &cfg).is_none());
        // A binary input with padding has no 0 for the padded taps; 1x1 kernels gain nothing.
        assert!(im2col_layer(&first_layer(3, 8, 8, g3, 1, 3).0.layers[0]).is_none());
        let g1 = Geometry { kernel: 1, stride: 1, padding: 0 };
        assert!(im2col_layer(&first_layer(3, 8, 8, g1, 8, 4).0.layers[0]).is_none());
        // The config's "direct" mode turns it off.
        let mut direct = cfg.clone();
        direct.datapath.first_layer = FirstLayer::Direct;
        assert!(lowered_first_layer(&first_layer(3, 16, 8, g3, 8, 1).0, &direct).is_none());
    }
}
