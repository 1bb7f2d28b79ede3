//! Random layers for the integration tests: networks built directly as structs, with float
//! weights drawn so that zeros, negative zeros and small magnitudes occur.
#![allow(dead_code)]

use cbnn::codec::Mode;
use cbnn::network::{CodecSettings, Geometry, InputDef, Layer, Network, Op, OutputFn, Weighted, Weights};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::Rng;

pub fn float_weight(rng: &mut StdRng) -> f32 {
    match rng.gen_range(0..20) {
        0 => 0.0,
        1 => -0.0,
        _ => rng.gen_range(-1.0f32..1.0),
    }
}

pub fn floats(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| float_weight(rng)).collect()
}

/// A random activation tensor of `bits`-bit values (±1 for bits = 1), with extra zeros.
pub fn activations(rng: &mut StdRng, shape: [usize; 3], bits: u32) -> Tensor3<i32> {
    let n = shape.iter().product();
    let data = (0..n)
        .map(|_| {
            if bits == 1 {
                if rng.gen_bool(0.5) {
                    1
                } else {
                    -1
                }
            } else if rng.gen_bool(0.3) {
                0
            } else {
                rng.gen_range(0..(1 << bits))
            }
        })
        .collect();
    Tensor3::from_vec(shape[0], shape[1], shape[2], data)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Conv,
    Fc,
    Slbf,
    Penni,
}

/// A one-layer network of the given kind with random shape, geometry, G, bits and output function.
pub fn random_layer(rng: &mut StdRng, kind: Kind) -> Network {
    let odd = [1usize, 3, 5, 7, 9, 2, 4, 6];
    let k = [1usize, 3, 5][rng.gen_range(0..3)];
    let stride = rng.gen_range(1..=2);
    let padding = if kind == Kind::Fc { 0 } else { rng.gen_range(0..=k / 2 + 1) };
    let bits = rng.gen_range(1..=8u32);
    // slbf needs C_in = m * d.
    let (c_in, slbf_md) = if kind == Kind::Slbf {
        let (m, d) = (rng.gen_range(1..=3), odd[rng.gen_range(0..5)]);
        (m * d, Some((m, d)))
    } else {
        (odd[rng.gen_range(0..odd.len())], None)
    };
    let min_hw = if kind == Kind::Fc { 1 } else { k.saturating_sub(2 * padding).max(1) };
    let h = rng.gen_range(min_hw..=min_hw + 6);
    let w = rng.gen_range(min_hw..=min_hw + 6);
    let o = odd[rng.gen_range(0..odd.len())] + rng.gen_range(0..3);
    let geometry = if kind == Kind::Fc {
        Geometry { kernel: 1, stride: 1, padding: 0 }
    } else {
        Geometry { kernel: k, stride, padding }
    };
    let (h_out, w_out) =
        if kind == Kind::Fc { (1, 1) } else { (geometry.out_len(h).unwrap(), geometry.out_len(w).unwrap()) };
    let weights = match kind {
        Kind::Conv => Weights::Conv(floats(rng, o * c_in * k * k)),
        Kind::Fc => Weights::Fc(floats(rng, o * c_in * h * w)),
        Kind::Slbf => {
            let (m, d) = slbf_md.unwrap();
            let n = rng.gen_range(1..=5);
            Weights::Slbf {
                bank: floats(rng, n * d * k * k),
                n,
                d,
                index: (0..o * m).map(|_| rng.gen_range(0..n)).collect(),
                m,
            }
        }
        Kind::Penni => {
            let d = rng.gen_range(1..=4);
            let mut coef = floats(rng, o * c_in * d);
            for c in coef.iter_mut() {
                if rng.gen_bool(0.5) {
                    *c = 0.0; // pruned
                }
            }
            Weights::Penni { basis: floats(rng, d * k * k), d, coef }
        }
    };
    let output = match rng.gen_range(0..3) {
        0 => OutputFn::Accumulator,
        1 => OutputFn::Sign,
        _ => OutputFn::Relu { bits: rng.gen_range(2..=8), scale: Some(rng.gen_range(0.001..0.5)) },
    };
    let bias = rng.gen_bool(0.5).then(|| (0..o).map(|_| rng.gen_range(-2.0f32..2.0)).collect());
    let layer = Layer {
        name: "l0".into(),
        in_shape: [c_in, h, w],
        in_bits: bits,
        out_shape: [o, h_out, w_out],
        op: Op::Weighted(Weighted {
            out_channels: o,
            geometry,
            weights,
            bias,
            scale_group: rng.gen_range(1..=o),
            output,
        }),
        codec: CodecSettings { mode: Mode::Raw, ..Default::default() },
    };
    let scale = if bits == 1 { 1.0 } else { rng.gen_range(0.001..0.1) };
    Network {
        origin: "random".into(),
        input: InputDef { shape: [c_in, h, w], bits, scale, codec: CodecSettings::default() },
        layers: vec![layer],
    }
}
