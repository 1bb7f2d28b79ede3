//! What the on-chip buffers hold (docs/ARCHITECTURE.md, section 4), as images the testbenches and
//! the cycle simulator can read: the activation loader and the weight loader must leave exactly
//! these words behind.

use super::descriptor::LayerDescriptor;
use super::streams::{act_code, weight_word};
use crate::config::AccelConfig;
use crate::quant::QLayer;
use crate::tensor::Tensor3;

/// Activation row banks after loading input rows `first_row..first_row + rows` (core
/// coordinates): bank `r`, address `((row * W + x) * groups + group) * planes + plane` holds the
/// bit-plane word of chunk `group * R + r` (lane `l` = channel `chunk * L + l`); with planes
/// side by side on the rows, `LayerDescriptor::act_slot` places them.
pub fn act_banks(
    d: &LayerDescriptor,
    cfg: &AccelConfig,
    input: &Tensor3<i32>,
    in_bits: u32,
    first_row: u32,
    rows: u32,
) -> Vec<Vec<u128>> {
    let (r_n, l_n) = (cfg.array.rows, cfg.array.lanes);
    let words = (rows * d.w * d.pixel_words) as usize;
    let mut banks = vec![vec![0u128; words]; r_n as usize];
    let beats = super::streams::act_stream(d, cfg, input, in_bits, first_row..first_row + rows);
    let codes = super::streams::core_codes(d, &beats);
    for row in 0..rows {
        for x in 0..d.w {
            let pixel = row * d.w + x;
            for ch in 0..d.c_in {
                let code = codes[(pixel * d.c_in + ch) as usize] as u32;
                let (chunk, lane) = (ch / l_n, ch % l_n);
                for plane in 0..d.planes {
                    if (code >> plane) & 1 == 1 {
                        let (bank, offset) = d.act_slot(r_n, chunk, plane);
                        banks[bank as usize][(pixel * d.pixel_words + offset) as usize] |= 1 << lane;
                    }
                }
            }
        }
    }
    banks
}

/// Weight column banks of filter tile `tile`: bank `c`, address `step * R + row`.
pub fn weight_banks(layer: &QLayer, d: &LayerDescriptor, cfg: &AccelConfig, tile: u32) -> Vec<Vec<u128>> {
    let (r_n, c_n) = (cfg.array.rows, cfg.array.cols);
    (0..c_n)
        .map(|c| (0..d.steps * r_n).map(|a| weight_word(layer, d, cfg, tile, a / r_n, a % r_n, c)).collect())
        .collect()
}

/// The stored code of an activation (re-exported for testbenches reading the banks back).
pub fn code(v: i32, bits: u32) -> u8 {
    act_code(v, bits)
}
