//! What a filter-sharing layer (slbf, penni) costs next to a plain binary conv of the same shape:
//! the operations each performs, and the plain layer itself, so the simulator can run it and
//! report its cycles beside the compressed layer's.

use super::{accwidth, QLayer, QOp, QWeighted, QWeights};

/// Operations a layer performs per inference, counted the way the core performs them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ops {
    /// One-bit multiply-accumulates on the XNOR-popcount array (per activation bit-plane: a k-bit
    /// activation costs `k` of them on the array, which the PE utilisation accounts for).
    pub binary_macs: u64,
    /// Multi-bit multiply-accumulates of the combine stage: one per (output filter, slice) and
    /// pixel for slbf (an add of a selected bank response), one per non-zero coefficient and pixel
    /// for penni. Zero for conv and fc.
    pub combine_macs: u64,
}

/// The operations of one layer (none for maxpool):
/// - conv: `O * C * K * K` binary MACs per output pixel; fc: `O * C * H * W`;
/// - slbf: the bank's `n` filters against each of the `m` slices of `d` channels,
///   `n * C * K * K` per pixel, then `O * m` adds;
/// - penni: every input channel against the `d` basis kernels (a depthwise pass),
///   `d * C * K * K` per pixel, then one MAC per non-zero coefficient.
pub fn layer_ops(l: &QLayer) -> Ops {
    let QOp::Weighted(w) = &l.op else { return Ops::default() };
    let [c, h, wd] = l.in_shape;
    let [o, ho, wo] = l.out_shape;
    let pixels = (ho * wo) as u64;
    let kk = (w.geometry.kernel * w.geometry.kernel) as u64;
    let (c, o) = (c as u64, o as u64);
    match &w.weights {
        QWeights::Conv { .. } => Ops { binary_macs: pixels * o * c * kk, combine_macs: 0 },
        QWeights::Fc { .. } => Ops { binary_macs: o * c * (h * wd) as u64, combine_macs: 0 },
        QWeights::Slbf { n, m, .. } => {
            Ops { binary_macs: pixels * *n as u64 * c * kk, combine_macs: pixels * o * *m as u64 }
        }
        QWeights::Penni { d, coef, .. } => {
            let nnz = coef.iter().filter(|&&v| v != 0).count() as u64;
            Ops { binary_macs: pixels * *d as u64 * c * kk, combine_macs: pixels * nnz }
        }
    }
}

/// The plain binary conv a slbf or penni layer stands for (None for other layers): the same
/// shapes, geometry, scale groups, multipliers, biases and output function, with the weights
/// `sign(w)` of the kernel the layer computes with. For slbf that is exact (the stacked bank
/// filters, SPEC 3.4), so the plain layer's outputs equal the slbf layer's; for penni it is
/// `sign(sum_j coef_oj * basis_j)`, a binarisation of the effective kernel, for comparing cost
/// only (its outputs differ).
pub fn plain_binary(l: &QLayer) -> Option<QLayer> {
    let QOp::Weighted(w) = &l.op else { return None };
    let c_in = l.in_shape[0];
    let kk = w.geometry.kernel * w.geometry.kernel;
    let signs: Vec<i8> = match &w.weights {
        QWeights::Slbf { bank, d, index, m, .. } => {
            crate::reference::stack_slbf(bank, *d, index, *m, w.out_channels, c_in, kk)
        }
        QWeights::Penni { basis, d, coef } => (0..w.out_channels * c_in * kk)
            .map(|i| {
                let (oc, t) = (i / kk, i % kk);
                let e: i64 = (0..*d).map(|j| coef[oc * d + j] as i64 * basis[j * kk + t] as i64).sum();
                super::binarise(e as f32)
            })
            .collect(),
        QWeights::Conv { .. } | QWeights::Fc { .. } => return None,
    };
    let dot_bound = (c_in * kk) as u64 * accwidth::act_max(l.in_bits);
    let plain = QWeighted {
        weights: QWeights::Conv { signs },
        dot_bound,
        acc_width: accwidth::signed_width(dot_bound),
        ..w.clone()
    };
    Some(QLayer { op: QOp::Weighted(plain), ..l.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AccelConfig;
    use crate::golden;
    use crate::testing::random_grouped_layer;
    use rand::{rngs::StdRng, SeedableRng};

    fn random_layer(rng: &mut StdRng, slbf: bool) -> (QLayer, crate::tensor::Tensor3<i32>) {
        let cfg = AccelConfig::default();
        let (net, x) = random_grouped_layer(rng, &cfg, slbf);
        (crate::quant::compile(&net, &cfg, None).unwrap().layers.remove(0), x)
    }

    #[test]
    fn a_plain_slbf_layer_computes_what_the_slbf_layer_computes() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..10 {
            let (l, x) = random_layer(&mut rng, true);
            let p = plain_binary(&l).unwrap();
            assert_eq!(golden::layer_output(&p, &x).data, golden::layer_output(&l, &x).data, "layer {}", l.name);
        }
    }

    #[test]
    fn ops_count_the_bank_pass_and_the_combine_pass() {
        let mut rng = StdRng::seed_from_u64(5);
        for i in 0..20 {
            let (l, _) = random_layer(&mut rng, i % 2 == 0);
            let QOp::Weighted(w) = &l.op else { unreachable!() };
            let p = plain_binary(&l).unwrap();
            let (ops, plain) = (layer_ops(&l), layer_ops(&p));
            let [c, _, _] = l.in_shape;
            // The plain layer computes every filter against every channel; the grouped layer
            // computes only its bank (n or d kernels) against every channel, so the two binary
            // counts are in the ratio bank size : O.
            let bank = match &w.weights {
                QWeights::Slbf { n, .. } => *n,
                QWeights::Penni { d, .. } => *d,
                _ => unreachable!(),
            };
            assert_eq!(ops.binary_macs * w.out_channels as u64, plain.binary_macs * bank as u64, "{}", l.name);
            assert_eq!(plain.combine_macs, 0);
            let pixels = (l.out_shape[1] * l.out_shape[2]) as u64;
            match &w.weights {
                QWeights::Slbf { d, .. } => {
                    assert_eq!(ops.combine_macs, pixels * (w.out_channels * c.div_ceil(*d)) as u64)
                }
                QWeights::Penni { coef, .. } => {
                    assert!(ops.combine_macs <= pixels * coef.len() as u64);
                    assert_eq!(ops.combine_macs % pixels.max(1), 0);
                }
                _ => unreachable!(),
            }
        }
    }
}
