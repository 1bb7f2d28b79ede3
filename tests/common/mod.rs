//! Random layers for the integration tests: networks built directly as structs, with float
//! weights drawn so that zeros, negative zeros and small magnitudes occur.
#![allow(dead_code)]

use cbnn::codec::Mode;
use cbnn::network::{CodecSettings, Geometry, InputDef, Layer, Network, Op, OutputFn, Weighted, Weights};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::Rng;

/// A small valid network (weights `w1.npy` [4, 3, 3, 3], `w2.npy` [5, 256], input [3, 8, 8]
/// of 8 bits) that tests write and then break or extend: conv (relu, 4 bits) -> fc (raw
/// accumulators, 5 classes).
pub const SMALL_NET: &str = r#"
[input]
shape = [3, 8, 8]
bits = 8

[[layer]]
kind = "conv"
out_channels = 4
kernel = 3
padding = 1
weights = "w1.npy"
scale_group = 2
output = "relu"
out_bits = 4
out_scale = 0.05

[[layer]]
kind = "fc"
out_channels = 5
weights = "w2.npy"
output = "accumulator"
"#;

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
        _ => {
            let bits = rng.gen_range(2..=8);
            // Sometimes a narrower range than the bits allow (out_max, SPEC 6).
            let max = rng.gen_bool(0.3).then(|| rng.gen_range(1..=(1u32 << bits) - 1));
            OutputFn::Relu { bits, scale: Some(rng.gen_range(0.001..0.5)), max }
        }
    };
    let mut bias = rng.gen_bool(0.5).then(|| (0..o).map(|_| rng.gen_range(-2.0f32..2.0) as f64).collect());
    // Per-filter weight scales (SPEC 5.1), a zero among them now and then.
    let mut weight_scale = rng
        .gen_bool(0.3)
        .then(|| (0..o).map(|_| if rng.gen_bool(0.1) { 0.0 } else { rng.gen_range(0.01..4.0) }).collect());
    let mut scale_group = rng.gen_range(1..=o);
    // Sign outputs with integer thresholds (SPEC 6), some beyond the reachable dot products.
    let threshold = (output == OutputFn::Sign && rng.gen_bool(0.3)).then(|| {
        (bias, weight_scale, scale_group) = (None, None, 1);
        let reach = (c_in * k * k * 255) as i64;
        (0..o)
            .map(|_| if rng.gen_bool(0.1) { rng.gen_range(-2 * reach..2 * reach) } else { rng.gen_range(-40..40) })
            .collect()
    });
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
            weight_scale,
            threshold,
            scale_group,
            output,
        }),
        codec: CodecSettings { mode: Mode::Raw, ..Default::default() },
    };
    let scale = if bits == 1 { 1.0 } else { rng.gen_range(0.001..0.1) };
    Network {
        origin: "random".into(),
        input: InputDef { shape: [c_in, h, w], bits, scale, pixels: None, codec: CodecSettings::default() },
        layers: vec![layer],
    }
}
