//! The per-layer parameter memories of the post-processing units (docs/ARCHITECTURE.md, section
//! 4), as the host writes them: PPU `j` serves columns `[j*G_hw, (j+1)*G_hw)` of every filter tile,
//! so it needs one multiplier per tile (all its filters of a tile share a scale group: the
//! descriptor checks that the layer's group is a multiple of `G_hw`) and one bias per filter.

use super::descriptor::LayerDescriptor;
use crate::config::AccelConfig;
use crate::quant::{QLayer, QOp};

/// Number of PPUs: `C / G_hw`.
pub fn ppus(cfg: &AccelConfig) -> u32 {
    cfg.array.cols / cfg.datapath.scale_group
}

/// Entries of a PPU's scale memory and bias memory in a core generated from `cfg`: one scale
/// per filter tile and one bias per filter the PPU can serve (`limits.max_filters` at most).
pub fn param_depths(cfg: &AccelConfig) -> (u32, u32) {
    let tiles = cfg.limits.max_filters().div_ceil(cfg.array.cols);
    (tiles, tiles * cfg.datapath.scale_group)
}

/// The filter PPU `j` computes for column `c_local` of tile `tile`.
pub fn ppu_filter(cfg: &AccelConfig, tile: u32, j: u32, c_local: u32) -> u32 {
    tile * cfg.array.cols + j * cfg.datapath.scale_group + c_local
}

fn weighted(layer: &QLayer) -> &crate::quant::QWeighted {
    let QOp::Weighted(w) = &layer.op else { unreachable!("descriptors exist for weighted layers only") };
    w
}

/// Scale memory of each PPU: address `tile` holds `m_g` of the group of its filters in that tile
/// (0 where the tile has none of them).
pub fn scale_tables(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<Vec<u32>> {
    let w = weighted(layer);
    (0..ppus(cfg))
        .map(|j| {
            (0..d.filter_tiles)
                .map(|t| {
                    let f = ppu_filter(cfg, t, j, 0) as usize;
                    if f < w.out_channels {
                        w.mult[f / w.scale_group]
                    } else {
                        0
                    }
                })
                .collect()
        })
        .collect()
}

/// Bias memory of each PPU: address `tile * G_hw + c_local` holds `b_o` of its filter there (0
/// past the last filter).
pub fn bias_tables(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<Vec<i64>> {
    let w = weighted(layer);
    let g_hw = cfg.datapath.scale_group;
    (0..ppus(cfg))
        .map(|j| {
            (0..d.filter_tiles * g_hw)
                .map(|a| {
                    let f = ppu_filter(cfg, a / g_hw, j, a % g_hw) as usize;
                    w.bias.get(f).copied().unwrap_or(0)
                })
                .collect()
        })
        .collect()
}

/// One write of the parameter port: memory `sel` (0 scales, 1 biases) of PPU `ppu`, address,
/// and the value as the port's `datapath.bias_bits()`-bit two's complement word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamWrite {
    pub sel: u32,
    pub ppu: u32,
    pub addr: u32,
    pub raw: u64,
}

/// Every parameter write that loads a layer's scales and biases, scales first.
pub fn param_writes(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig) -> Vec<ParamWrite> {
    let mask = (1u128 << cfg.datapath.bias_bits()) - 1;
    let scales = scale_tables(layer, d, cfg).into_iter().map(|t| t.into_iter().map(i64::from).collect::<Vec<_>>());
    let tables = [(0, scales.collect::<Vec<_>>()), (1, bias_tables(layer, d, cfg))];
    let mut v = Vec::new();
    for (sel, table) in tables {
        for (ppu, t) in table.iter().enumerate() {
            for (addr, x) in t.iter().enumerate() {
                let raw = (*x as i128 & mask as i128) as u64;
                v.push(ParamWrite { sel, ppu: ppu as u32, addr: addr as u32, raw });
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;

    /// Every filter's multiplier and bias are found where the PPU serving it reads them, for
    /// group sizes that are multiples of G_hw and one that covers every filter.
    #[test]
    fn every_filter_reads_its_own_group_scale_and_bias() {
        for (cols, g_hw, g, c_out) in [(4, 1, 1, 10), (4, 2, 2, 10), (4, 2, 4, 11), (6, 3, 6, 13), (4, 4, 7, 7)] {
            let mut cfg = AccelConfig::default();
            cfg.array.cols = cols;
            cfg.datapath.scale_group = g_hw;
            cfg.datapath.acc_bits = 32;
            let geo = Geometry { kernel: 1, stride: 1, padding: 0 };
            let weights: Vec<f32> = (0..c_out * 8).map(|i| ((i * 7919) % 13) as f32 - 6.0).collect();
            let mut net = Network::single_conv(8, 2, 2, c_out, geo, 2, weights);
            let crate::network::Op::Weighted(w) = &mut net.layers[0].op else { unreachable!() };
            w.scale_group = g;
            w.bias = Some((0..c_out).map(|i| i as f64 * 0.25 - 1.0).collect());
            let q = compile(&net, &cfg, None).unwrap();
            let d = LayerDescriptor::new(&q.layers[0], &cfg).unwrap();
            let qw = weighted(&q.layers[0]);
            let (st, bt) = (scale_tables(&q.layers[0], &d, &cfg), bias_tables(&q.layers[0], &d, &cfg));
            let mut seen = 0;
            for t in 0..d.filter_tiles {
                for j in 0..ppus(&cfg) {
                    for c in 0..g_hw {
                        let f = ppu_filter(&cfg, t, j, c) as usize;
                        if f < c_out {
                            assert_eq!(st[j as usize][t as usize], qw.mult[f / g], "filter {f}");
                            assert_eq!(bt[j as usize][(t * g_hw + c) as usize], qw.bias[f], "filter {f}");
                            seen += 1;
                        }
                    }
                }
            }
            assert_eq!(seen, c_out);
            let (sd, bd) = param_depths(&cfg);
            assert!(st.iter().all(|v| v.len() as u32 <= sd) && bt.iter().all(|v| v.len() as u32 <= bd));
        }
    }
}
