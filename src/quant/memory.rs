//! How many bits of on-chip memory a layer's parameters take: what the compression methods
//! (shared scales, SLBF, PENNI) buy, counted the same way for every layer kind.
//!
//! - binary weights: one bit each (conv, fc: `O * I * K * K`; SLBF's bank `n * d * K * K`;
//!   PENNI's basis `d * K * K`);
//! - SLBF's index: `ceil(log2 n)` bits per (filter, slice);
//! - PENNI's coefficients: a bitmap of the `O * I * d` positions and `coef_bits` per non-zero;
//! - post-processing: `scale_bits` per group multiplier `m_g` and `acc_bits + scale_bits` per
//!   folded bias `b_o` (SPEC 5.2); a layer with accumulator output stores neither.

use super::{QLayer, QOp, QWeights};
use crate::config::AccelConfig;

/// Bits of one layer's parameters (0 for maxpool).
pub fn weight_memory_bits(l: &QLayer, cfg: &AccelConfig) -> u64 {
    let QOp::Weighted(w) = &l.op else { return 0 };
    let weights = match &w.weights {
        QWeights::Conv { signs } | QWeights::Fc { signs } => signs.len() as u64,
        QWeights::Slbf { bank, n, index, .. } => {
            let idx_bits = usize::BITS - (n.max(&1) - 1).leading_zeros();
            bank.len() as u64 + index.len() as u64 * idx_bits as u64
        }
        QWeights::Penni { basis, coef, .. } => {
            let nnz = coef.iter().filter(|&&c| c != 0).count() as u64;
            basis.len() as u64 + coef.len() as u64 + nnz * cfg.datapath.coef_bits as u64
        }
    };
    let d = &cfg.datapath;
    weights + w.mult.len() as u64 * d.scale_bits as u64 + w.bias.len() as u64 * d.bias_bits() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;

    fn conv(group: usize) -> (QLayer, AccelConfig) {
        let cfg = AccelConfig::default();
        let g = Geometry { kernel: 3, stride: 1, padding: 1 };
        let mut net = Network::single_conv(16, 4, 4, 8, g, 8, vec![0.5; 8 * 16 * 9]);
        if let crate::network::Op::Weighted(w) = &mut net.layers[0].op {
            w.scale_group = group;
            w.output = crate::network::OutputFn::Relu { bits: 8, scale: Some(0.1), max: None };
        }
        (compile(&net, &cfg, None).unwrap().layers.remove(0), cfg)
    }

    #[test]
    fn shared_scales_save_multiplier_bits() {
        let (one, cfg) = conv(1);
        let (four, _) = conv(4);
        let d = &cfg.datapath;
        let signs = 8 * 16 * 9;
        // 8 filters: 8 multipliers with G = 1, 2 with G = 4; a folded bias per filter either way.
        assert_eq!(weight_memory_bits(&one, &cfg), signs + 8 * d.scale_bits as u64 + 8 * d.bias_bits() as u64);
        assert_eq!(weight_memory_bits(&four, &cfg), signs + 2 * d.scale_bits as u64 + 8 * d.bias_bits() as u64);
    }
}
