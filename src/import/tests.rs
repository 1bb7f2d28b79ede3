//! The importer on small models built in code: every mapping path (pixel thresholds with a zero
//! point, sign thresholds, fitted relu outputs with narrow ranges, per-channel weight scales,
//! negative batch-norm scales, pooling moved after the quantiser, per-class logits) must give a
//! network whose golden model agrees with the graph on every activation; and every construct that
//! cannot be mapped exactly must be refused naming its node.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::builder::{Builder, A};
use super::{import, Imported, Options};
use crate::config::AccelConfig;

const Q: &str = "qonnx.custom_op.general";

fn floats(rng: &mut StdRng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(lo..hi)).collect()
}

/// `Quant` node inputs (scale, zero point, bit width) as initializers named after `out`.
fn quant(b: &mut Builder, x: &str, out: &str, scale: f32, bits: f32, signed: i64, narrow: i64) {
    let (s, z, w) = (format!("{out}_s"), format!("{out}_z"), format!("{out}_w"));
    b.init(&s, &[], &[scale]).init(&z, &[], &[0.0]).init(&w, &[], &[bits]);
    b.node(
        "Quant",
        Q,
        &[x, &s, &z, &w],
        &[out],
        vec![("signed", A::I(signed)), ("narrow", A::I(narrow)), ("rounding_mode", A::S("ROUND"))],
    );
}

/// A 1-bit weight tensor: float initializer `name` through a BipolarQuant of `scale` (a scalar,
/// or one per output channel with `scale_dims`).
fn binary_weights(b: &mut Builder, rng: &mut StdRng, name: &str, dims: &[i64], scale: &[f32], scale_dims: &[i64]) {
    let n = dims.iter().product::<i64>() as usize;
    let s = format!("{name}_scale");
    b.init(&format!("{name}_f"), dims, &floats(rng, n, -1.0, 1.0)).init(&s, scale_dims, scale);
    b.node("BipolarQuant", Q, &[&format!("{name}_f"), &s], &[name], vec![]);
}

fn bn(b: &mut Builder, rng: &mut StdRng, x: &str, out: &str, c: usize, spread: f32, negative: bool) {
    let mut gamma = floats(rng, c, 0.2, 1.5);
    if negative {
        gamma[0] = -gamma[0];
    }
    let names = ["g", "b", "m", "v"].map(|k| format!("{out}_{k}"));
    b.init(&names[0], &[c as i64], &gamma)
        .init(&names[1], &[c as i64], &floats(rng, c, -0.5, 0.5))
        .init(&names[2], &[c as i64], &floats(rng, c, -spread, spread))
        .init(&names[3], &[c as i64], &floats(rng, c, spread * 0.5, spread * 2.0));
    let ins: Vec<&str> = std::iter::once(x).chain(names.iter().map(String::as_str)).collect();
    b.node("BatchNormalization", "", &ins, &[out], vec![("epsilon", A::F(1e-4))]);
}

/// An fc model: preprocessing 2x - 1, a signed narrow 2-bit input (zero point 1), Gemm with a
/// negative-scale filter, a 3-bit unsigned activation, MatMul through a transposed weight, and
/// per-class logits `y * k + c` with a negative k.
fn fc_model(rng: &mut StdRng) -> Builder {
    let mut b = Builder::new("x", &[1, 1, 3, 3], "y", 13);
    b.init("two", &[], &[2.0]).init("one", &[1], &[1.0]);
    b.node("Mul", "", &["x", "two"], &["a"], vec![]).node("Sub", "", &["a", "one"], &["pre"], vec![]);
    quant(&mut b, "pre", "q0", 0.5, 2.0, 1, 1);
    b.node("Flatten", "", &["q0"], &["flat"], vec![("axis", A::I(1))]);
    binary_weights(&mut b, rng, "w1", &[6, 9], &[1.0], &[]);
    b.node("Gemm", "", &["flat", "w1"], &["g1"], vec![("transB", A::I(1))]);
    bn(&mut b, rng, "g1", "bn1", 6, 3.0, true);
    quant(&mut b, "bn1", "q1", 0.25, 3.0, 0, 0);
    binary_weights(&mut b, rng, "w2", &[3, 6], &[0.5], &[]);
    b.node("Transpose", "", &["w2"], &["w2t"], vec![("perm", A::Is(vec![1, 0]))]);
    b.node("MatMul", "", &["q1", "w2t"], &["m2"], vec![]);
    b.init("k", &[3], &[0.5, -1.0, 2.0]).init("c", &[3], &[0.1, 0.2, -0.3]);
    b.node("Mul", "", &["m2", "k"], &["y1"], vec![]).node("Add", "", &["y1", "c"], &["y"], vec![]);
    b
}

/// A conv model: an unsigned 2-bit input, a padded conv with per-filter weight scales and a
/// bias, batch norm, MaxPool before a ReLU and the quantiser, a strided conv to signs, an fc.
fn conv_model(rng: &mut StdRng, pool_negative_bn: bool) -> Builder {
    let mut b = Builder::new("x", &[1, 2, 6, 6], "y", 13);
    quant(&mut b, "x", "q0", 0.25, 2.0, 0, 0);
    binary_weights(&mut b, rng, "w1", &[3, 2, 3, 3], &[0.5, 1.0, 2.0], &[3, 1, 1, 1]);
    b.init("cb", &[3], &floats(rng, 3, -1.0, 1.0));
    b.node(
        "Conv",
        "",
        &["q0", "w1", "cb"],
        &["c1"],
        vec![("kernel_shape", A::Is(vec![3, 3])), ("pads", A::Is(vec![1, 1, 1, 1]))],
    );
    bn(&mut b, rng, "c1", "bn1", 3, 4.0, pool_negative_bn);
    b.node("MaxPool", "", &["bn1"], &["p1"], vec![("kernel_shape", A::Is(vec![2, 2])), ("strides", A::Is(vec![2, 2]))]);
    b.node("Relu", "", &["p1"], &["r1"], vec![]);
    quant(&mut b, "r1", "q1", 0.5, 2.0, 0, 0);
    binary_weights(&mut b, rng, "w2", &[4, 3, 3, 3], &[1.0], &[]);
    b.node(
        "Conv",
        "",
        &["q1", "w2"],
        &["c2"],
        vec![("kernel_shape", A::Is(vec![3, 3])), ("pads", A::Is(vec![1, 1, 1, 1])), ("strides", A::Is(vec![2, 2]))],
    );
    bn(&mut b, rng, "c2", "bn2", 4, 6.0, true);
    b.init("bs", &[], &[1.0]);
    b.node("BipolarQuant", Q, &["bn2", "bs"], &["q2"], vec![]);
    b.node("Flatten", "", &["q2"], &["f2"], vec![("axis", A::I(1))]);
    binary_weights(&mut b, rng, "w3", &[5, 16], &[1.0], &[]);
    b.node("Gemm", "", &["f2", "w3"], &["y"], vec![("transB", A::I(1))]);
    b
}

fn run(b: &Builder) -> anyhow::Result<Imported> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.onnx");
    std::fs::write(&path, b.bytes()).unwrap();
    let opts = Options { divisor: 255.0, images: None, labels: None, synthetic: 48 };
    import(&path, &AccelConfig::default(), &opts)
}

fn assert_faithful(imp: &Imported) {
    let c = &imp.check;
    assert_eq!(c.top1_agree, c.images, "top-1 agreement");
    assert_eq!(c.max_logit_difference, 0.0);
    assert!(c.layers.iter().all(|l| l.mismatches == 0 && l.values > 0), "{:?}", c.layers);
    assert!(imp.exact.iter().all(|e| *e != Some(false)), "{:?}", imp.exact);
}

#[test]
fn fc_model_with_zero_points_narrow_ranges_and_per_class_logits_maps_exactly() {
    for seed in 0..8 {
        let imp = run(&fc_model(&mut StdRng::seed_from_u64(seed))).unwrap();
        assert_faithful(&imp);
        let text = &imp.files.toml;
        assert!(text.contains("out_max = 2") || seed > 0 || text.contains("bits = 2"), "{text}");
        // The input is signed narrow 2-bit: three levels, zero point 1.
        assert_eq!((imp.lowered.input.bits, imp.lowered.input.zero_point), (2, 1));
        // Per-class logits with a negative factor: weight scales and biases on the last layer.
        assert!(text.contains("output = \"accumulator\"\nweight_scale"), "{text}");
    }
}

#[test]
fn conv_model_with_weight_scales_padding_and_moved_pooling_maps_exactly() {
    for seed in 0..8 {
        let imp = run(&conv_model(&mut StdRng::seed_from_u64(seed), false)).unwrap();
        assert_faithful(&imp);
        let kinds: Vec<&str> = imp.network.layers.iter().map(|l| l.kind_name()).collect();
        assert_eq!(kinds, ["conv", "maxpool", "conv", "fc"]);
    }
}

fn expect_error(b: &Builder, needles: &[&str]) {
    let e = match run(b) {
        Ok(_) => panic!("expected an error mentioning {needles:?}"),
        Err(e) => crate::errors::one_line(&e),
    };
    for n in needles {
        assert!(e.contains(n), "missing {n:?} in: {e}");
    }
}

#[test]
fn pooling_before_a_quantiser_that_falls_with_the_dot_product_is_refused() {
    expect_error(&conv_model(&mut StdRng::seed_from_u64(1), true), &["node \"q1\" (Quant)", "MaxPool", "negative"]);
}

#[test]
fn a_grouped_convolution_is_refused() {
    let mut rng = StdRng::seed_from_u64(2);
    let mut b = Builder::new("x", &[1, 2, 4, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.25, 2.0, 0, 0);
    binary_weights(&mut b, &mut rng, "w1", &[2, 1, 3, 3], &[1.0], &[]);
    b.node("Conv", "", &["q0", "w1"], &["y"], vec![("kernel_shape", A::Is(vec![3, 3])), ("group", A::I(2))]);
    expect_error(&b, &["node \"y\" (Conv)", "`group` = 2", "grouped or depthwise"]);
}

#[test]
fn padding_on_activations_with_a_zero_point_is_refused() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut b = Builder::new("x", &[1, 1, 4, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 1, 1); // signed: zero point 1
    binary_weights(&mut b, &mut rng, "w1", &[2, 1, 3, 3], &[1.0], &[]);
    b.node("Conv", "", &["q0", "w1"], &["y"], vec![("kernel_shape", A::Is(vec![3, 3])), ("pads", A::Is(vec![1; 4]))]);
    expect_error(&b, &["node \"y\" (Conv)", "zero point 1"]);
}

#[test]
fn weights_of_two_bits_are_refused_naming_their_quantiser() {
    let mut rng = StdRng::seed_from_u64(4);
    let mut b = Builder::new("x", &[1, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 0, 0);
    b.init("wf", &[3, 4], &floats(&mut rng, 12, -1.0, 1.0));
    quant(&mut b, "wf", "wq", 0.5, 2.0, 1, 1);
    b.node("Gemm", "", &["q0", "wq"], &["y"], vec![("transB", A::I(1))]);
    expect_error(&b, &["node \"y\" (Gemm)", "node \"wq\" (Quant)", "bit width 2"]);
}

#[test]
fn unsupported_ops_branches_and_reordering_transposes_are_refused() {
    let mut rng = StdRng::seed_from_u64(5);
    // An op outside the list.
    let mut b = Builder::new("x", &[1, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 0, 0);
    b.node("Sigmoid", "", &["q0"], &["y"], vec![]);
    expect_error(&b, &["node \"y\" (Sigmoid)", "not supported"]);
    // Two activation tensors combined (a residual add).
    let mut b = Builder::new("x", &[1, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 0, 0);
    binary_weights(&mut b, &mut rng, "w", &[4, 4], &[1.0], &[]);
    b.node("Gemm", "", &["q0", "w"], &["g"], vec![("transB", A::I(1))]);
    b.node("Add", "", &["g", "q0"], &["y"], vec![]);
    expect_error(&b, &["feeds 2 nodes"]);
    // A transpose that reorders the activations (NCHW to NHWC).
    let mut b = Builder::new("x", &[1, 2, 2, 2], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 0, 0);
    b.node("Transpose", "", &["q0"], &["t"], vec![("perm", A::Is(vec![0, 2, 3, 1]))]);
    b.node("Flatten", "", &["t"], &["f"], vec![]);
    binary_weights(&mut b, &mut rng, "w", &[3, 8], &[1.0], &[]);
    b.node("Gemm", "", &["f", "w"], &["y"], vec![("transB", A::I(1))]);
    expect_error(&b, &["node \"t\" (Transpose)", "reorders"]);
}

#[test]
fn a_missing_initializer_is_named() {
    let mut b = Builder::new("x", &[1, 4], "y", 13);
    quant(&mut b, "x", "q0", 0.5, 2.0, 0, 0);
    b.node("Gemm", "", &["q0", "nowhere"], &["y"], vec![("transB", A::I(1))]);
    expect_error(&b, &["node \"y\" (Gemm)", "\"nowhere\" is not defined"]);
}
