//! The packed dot products against the plain ones (`golden::conv`, `golden::fc`), which follow
//! SPEC 2.2 literally, on thousands of random layers: conv with padding (also wider than the
//! kernel, leaving windows without a valid tap) and strides, fc, activations of 1 to 8 bits,
//! channel and input counts that are odd, below, at and just past 64-lane word boundaries.

use super::{PackedConv, PackedFc};
use crate::golden::{conv, fc};
use crate::network::Geometry;
use crate::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A channel count: mostly small and odd, sometimes around one or two 64-lane words.
fn channels(rng: &mut StdRng) -> usize {
    const EDGES: [usize; 7] = [63, 64, 65, 127, 128, 129, 100];
    if rng.gen_bool(0.25) {
        EDGES[rng.gen_range(0..EDGES.len())]
    } else {
        rng.gen_range(1..=17)
    }
}

/// Random activations of `bits` bits (±1 for 1 bit), the extremes over-represented.
fn activations(rng: &mut StdRng, shape: [usize; 3], bits: u32) -> Tensor3<i32> {
    let top = (1 << bits) - 1;
    let data = (0..shape.iter().product())
        .map(|_| match (bits, rng.gen_range(0..4)) {
            (1, _) => [1, -1][rng.gen_range(0..2)],
            (_, 0) => 0,
            (_, 1) => top,
            _ => rng.gen_range(0..=top),
        })
        .collect();
    Tensor3::from_vec(shape[0], shape[1], shape[2], data)
}

fn signs(rng: &mut StdRng, n: usize) -> Vec<i8> {
    (0..n).map(|_| [1, -1][rng.gen_range(0..2)]).collect()
}

#[test]
fn packed_conv_equals_the_plain_conv_on_random_layers() {
    let mut rng = StdRng::seed_from_u64(0xC0);
    for case in 0..3000 {
        let k = [1, 2, 3, 5][rng.gen_range(0..4)];
        let g = Geometry { kernel: k, stride: rng.gen_range(1..=3), padding: rng.gen_range(0..=k / 2 + 2) };
        let (c, o, bits) = (channels(&mut rng), rng.gen_range(1..=9), rng.gen_range(1..=8));
        let min = k.saturating_sub(2 * g.padding).max(1);
        let (h, w) = (rng.gen_range(min..min + 6), rng.gen_range(min..min + 6));
        let x = activations(&mut rng, [c, h, w], bits);
        let s = signs(&mut rng, o * c * k * k);
        let want = conv::conv(&x, &s, o, &g);
        let got = PackedConv::new(&s, o, c, g).dots(&x, bits);
        assert_eq!(got, want, "case {case}: C={c} {h}x{w} O={o} {g:?} bits={bits}");
    }
}

#[test]
fn packed_fc_equals_the_plain_fc_on_random_layers() {
    let mut rng = StdRng::seed_from_u64(0xFC);
    for case in 0..3000 {
        let shape = [channels(&mut rng), rng.gen_range(1..=4), rng.gen_range(1..=4)];
        let (o, bits) = (rng.gen_range(1..=12), rng.gen_range(1..=8));
        let x = activations(&mut rng, shape, bits);
        let n = x.data.len();
        let s = signs(&mut rng, o * n);
        assert_eq!(
            PackedFc::new(&s, o, n).dots(&x, bits),
            fc::fc(&x, &s, o),
            "case {case}: {shape:?} O={o} bits={bits}"
        );
    }
}

/// The extremes of SPEC 4: all weights +1 against all-maximum activations reaches the bound
/// `I * K * K * amax` exactly, and all weights -1 its negative.
#[test]
fn the_dot_product_bound_is_reached() {
    for bits in 1..=8u32 {
        let amax = if bits == 1 { 1 } else { (1 << bits) - 1 };
        let x = Tensor3::from_vec(65, 3, 3, vec![amax; 65 * 9]);
        let g = Geometry { kernel: 3, stride: 1, padding: 0 };
        for sign in [1i8, -1] {
            let d = PackedConv::new(&vec![sign; 65 * 9], 1, 65, g).dots(&x, bits);
            assert_eq!(d.data, vec![i64::from(sign) * 65 * 9 * i64::from(amax)], "bits {bits}");
        }
    }
}

/// On the example network (conv, maxpool, slbf, penni and fc layers, every codec mode) the
/// packed model runs the plain one's network, layer by layer.
#[test]
fn the_example_network_runs_the_same() {
    let net = crate::examples::tiny_network().unwrap();
    let q = crate::quant::compile(&net, &crate::config::AccelConfig::default(), None).unwrap();
    let x = crate::examples::tiny_input(&net).unwrap();
    assert_eq!(super::PackedNet::new(&q).run(&x), crate::golden::run(&q, &x));
}
