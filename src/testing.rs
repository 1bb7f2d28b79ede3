//! Random layers for the tests of the hardware crates (`cbnn-hdl`, `cbnn-sim`): one definition
//! of "a random layer this core runs", so the RTL's and the simulator's tests draw from the same
//! cases; and what those tests ask of their cases.

use rand::rngs::StdRng;
use rand::Rng;

use crate::config::AccelConfig;
use crate::network::{Geometry, Network, Op, OutputFn, Weights};
use crate::quant::{QLayer, QOp, QOutput};
use crate::tensor::Tensor3;

fn floats(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// A random slbf or penni layer for `cfg`: slice widths the array takes (dividing L, or whole
/// chunk groups), banks over one or several tiles, sparse coefficients, any geometry and mode.
pub fn random_grouped_layer(rng: &mut StdRng, cfg: &AccelConfig, slbf: bool) -> (Network, Tensor3<i32>) {
    let (r, c, l) = (cfg.array.rows as usize, cfg.array.cols as usize, cfg.array.lanes as usize);
    let k = [1usize, 3][rng.gen_range(0..2)];
    let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
    let bits = [1u32, 1, 2, 3][rng.gen_range(0..4)];
    let (hw, o) = (rng.gen_range(k..k + 13), rng.gen_range(1..3 * c));
    let (c_in, weights) = if slbf {
        let d = [1, 2, l / 2, l, r * l, 2 * r * l][rng.gen_range(0..6)];
        let (m, n) = (rng.gen_range(1..=3), rng.gen_range(1..=2 * c + 1));
        let index = (0..o * m).map(|_| rng.gen_range(0..n)).collect();
        (m * d, Weights::Slbf { bank: floats(rng, n * d * k * k), n, d, index, m })
    } else {
        let (c_in, d) = (rng.gen_range(1..2 * l), rng.gen_range(1..=c + 2));
        let density = rng.gen_range(0.05..1.0);
        let coef =
            (0..o * c_in * d).map(|_| if rng.gen_bool(density) { rng.gen_range(-1.0f32..1.0) } else { 0.0 }).collect();
        (c_in, Weights::Penni { basis: floats(rng, d * k * k), d, coef })
    };
    let mut net = Network::single_weighted([c_in, hw, hw], o, g, bits, weights);
    if let Op::Weighted(w) = &mut net.layers[0].op {
        w.output = match rng.gen_range(0..3) {
            0 => OutputFn::Accumulator,
            1 => OutputFn::Sign,
            _ => OutputFn::Relu { bits: rng.gen_range(2..=4), scale: Some(rng.gen_range(0.05..2.0)), max: None },
        };
        if w.output != OutputFn::Accumulator {
            w.bias = Some(floats(rng, o).into_iter().map(f64::from).collect());
        }
        w.scale_group = (cfg.datapath.scale_group as usize * rng.gen_range(1..=2)).min(o);
    }
    let n = c_in * hw * hw;
    let data =
        (0..n).map(|_| if bits == 1 { [-1, 1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) }).collect();
    (net, Tensor3::from_vec(c_in, hw, hw, data))
}

/// `Some(bits)` if `layer` is a relu layer of `bits` whose `out_max` is below `2^bits - 1`.
pub fn narrowed_relu(layer: &QLayer) -> Option<u32> {
    match &layer.op {
        QOp::Weighted(w) => match w.output {
            QOutput::Relu { bits, max } if max < (1 << bits) - 1 => Some(bits),
            _ => None,
        },
        _ => None,
    }
}

/// True if `layer` is a relu layer whose `out_max`, below `2^k - 1`, clamps some output on
/// `input` (SPEC 6): its golden output differs from the same layer's with the full range. Tests
/// of narrowed ranges check with it that their data reach the clamp.
pub fn out_max_clamps(layer: &QLayer, input: &Tensor3<i32>) -> bool {
    let Some(bits) = narrowed_relu(layer) else { return false };
    let mut full = layer.clone();
    if let QOp::Weighted(w) = &mut full.op {
        w.output = QOutput::Relu { bits, max: (1 << bits) - 1 };
    }
    crate::golden::layer_output(&full, input).data != crate::golden::layer_output(layer, input).data
}
