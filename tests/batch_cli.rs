//! `golden` on batches as a user runs it: a batch `[N, C, H, W]` gives, image by image, what
//! each image gives alone; predictions.npy holds the argmax of the dequantised last layer; labels
//! give the top-1 accuracy they should. (Bad batches and labels: tests/cli_errors.rs.)

mod common;

use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::process::Command;

const GOLDEN: &str = env!("CARGO_BIN_EXE_golden");

/// tests/common's small network with its conv layer's output stored with the lossy dct codec.
fn network() -> String {
    common::SMALL_NET.replace("out_scale = 0.05", "out_scale = 0.05\ncodec = \"dct\"\nstep = 2")
}

const IMAGES: usize = 12;

/// The network, a batch of IMAGES random images (`batch.npy`) and each image alone (`xK.npy`).
fn setup() -> (tempfile::TempDir, Vec<Tensor3<i32>>) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let mut rng = StdRng::seed_from_u64(5);
    std::fs::write(p.join("net.toml"), network()).unwrap();
    let w1: Vec<f32> = (0..4 * 27).map(|_| rng.gen_range(-1.0..1.0)).collect();
    std::fs::write(p.join("w1.npy"), npyio::f32_to_npy(&[4, 3, 3, 3], &w1)).unwrap();
    // The fc filters' weights grow with the filter index, so their scales differ and the argmax
    // of the dequantised output is not always that of the raw accumulators.
    let w2: Vec<f32> = (0..5 * 256).map(|i| rng.gen_range(-1.0..1.0) * (1 + i / 256) as f32).collect();
    std::fs::write(p.join("w2.npy"), npyio::f32_to_npy(&[5, 256], &w2)).unwrap();
    let images: Vec<Tensor3<i32>> =
        (0..IMAGES).map(|_| Tensor3::from_vec(3, 8, 8, (0..192).map(|_| rng.gen_range(0..256)).collect())).collect();
    let refs: Vec<&Tensor3<i32>> = images.iter().collect();
    std::fs::write(p.join("batch.npy"), npyio::images_to_npy(&refs, true, Elem::U8)).unwrap();
    for (k, x) in images.iter().enumerate() {
        std::fs::write(p.join(format!("x{k}.npy")), npyio::activations_to_npy(x, Elem::U8)).unwrap();
    }
    (d, images)
}

fn golden(dir: &Path, args: &[&str]) -> String {
    let o = Command::new(GOLDEN).current_dir(dir).args(["--network", "net.toml"]).args(args).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into()
}

fn read_i64(p: &Path, elem: Elem) -> npyio::Array<i64> {
    npyio::parse_int(&std::fs::read(p).unwrap(), elem).unwrap()
}

fn report(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p.join("report.json")).unwrap()).unwrap()
}

#[test]
fn a_batch_gives_what_each_image_gives_alone() {
    let (d, _) = setup();
    let p = d.path();
    let out = golden(p, &["--input", "batch.npy", "--out", "b", "--dump-layers"]);
    assert!(out.contains("a batch of 12 images"), "{out}");
    let batch = read_i64(&p.join("b/output.npy"), Elem::I32);
    assert_eq!(batch.shape, vec![IMAGES, 5, 1, 1]);
    let predictions = read_i64(&p.join("b/predictions.npy"), Elem::AnyInt);
    assert_eq!(predictions.shape, vec![IMAGES]);
    let layers = [("00_conv0.npy", Elem::U8), ("01_fc1.npy", Elem::I32)];
    let stacked: Vec<_> = layers.iter().map(|&(f, e)| read_i64(&p.join("b/layers").join(f), e)).collect();
    assert_eq!(stacked[0].shape, vec![IMAGES, 4, 8, 8]);
    for k in 0..IMAGES {
        golden(p, &["--input", &format!("x{k}.npy"), "--out", "one", "--dump-layers"]);
        let one = read_i64(&p.join("one/output.npy"), Elem::I32);
        assert_eq!(one.shape, vec![5, 1, 1], "one image keeps its [C, H, W] output");
        assert_eq!(batch.data[k * 5..(k + 1) * 5], one.data[..], "image {k}");
        assert_eq!(read_i64(&p.join("one/predictions.npy"), Elem::AnyInt).data, [predictions.data[k]]);
        for (&(f, e), s) in layers.iter().zip(&stacked) {
            let alone = read_i64(&p.join("one/layers").join(f), e);
            let n = alone.data.len();
            assert_eq!(s.data[k * n..(k + 1) * n], alone.data[..], "image {k}, {f}");
        }
    }
}

/// The first index of the largest value.
fn first_max<T: PartialOrd + Copy>(v: &[T]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

#[test]
fn predictions_are_the_argmax_of_the_dequantised_output_and_agreement_counts_the_float_classes() {
    let (d, images) = setup();
    let p = d.path();
    golden(p, &["--input", "batch.npy", "--out", "b"]);
    let net = cbnn::network::load_network(&p.join("net.toml")).unwrap();
    let q = cbnn::quant::compile(&net, &cbnn::config::AccelConfig::default(), None).unwrap();
    let out = read_i64(&p.join("b/output.npy"), Elem::I32);
    let predictions = read_i64(&p.join("b/predictions.npy"), Elem::AnyInt).data;
    let (mut raw_differs, mut agree) = (0, 0);
    for (k, x) in images.iter().enumerate() {
        let raw: Vec<i32> = out.data[k * 5..(k + 1) * 5].iter().map(|&v| v as i32).collect();
        let real = cbnn::reference::dequantise(q.layers.last().unwrap(), &Tensor3::from_vec(5, 1, 1, raw.clone()));
        assert_eq!(predictions[k], first_max(&real.data) as i64, "image {k}");
        raw_differs += usize::from(first_max(&raw) != first_max(&real.data));
        let float = cbnn::reference::run(&net, x).pop().unwrap();
        agree += usize::from(first_max(&float.data) as i64 == predictions[k]);
    }
    assert!(raw_differs > 0, "the test should hold an image whose raw and real argmax differ");
    let r = report(&p.join("b"));
    assert_eq!(r["images"], IMAGES);
    assert_eq!(r["top1_agreement"].as_f64().unwrap(), agree as f64 / IMAGES as f64);
    assert!(r.get("top1_accuracy").is_none() && r.get("correct").is_none(), "no labels, no accuracy: {r}");
}

#[test]
fn labels_give_the_share_of_right_predictions() {
    let (d, _) = setup();
    let p = d.path();
    golden(p, &["--input", "batch.npy", "--out", "b"]);
    let predictions = read_i64(&p.join("b/predictions.npy"), Elem::AnyInt).data;
    // The predictions with three of them changed: 9 of 12 right. Written as uint8 (any integer
    // dtype will do).
    let labels: Vec<u8> =
        predictions.iter().enumerate().map(|(k, &c)| if k % 4 == 1 { (c as u8 + 1) % 5 } else { c as u8 }).collect();
    std::fs::write(p.join("y.npy"), npyio::to_npy(&[IMAGES], labels.into_iter())).unwrap();
    let out = golden(p, &["--input", "batch.npy", "--labels", "y.npy", "--out", "l", "--json"]);
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r, report(&p.join("l")));
    assert_eq!((r["correct"].as_u64(), r["top1_accuracy"].as_f64()), (Some(9), Some(0.75)));
    let table = golden(p, &["--input", "batch.npy", "--labels", "y.npy", "--out", "l"]);
    assert!(table.contains("top-1 accuracy: 75.00% (9 of 12 labels)"), "{table}");
    // One image (a 3-D input) takes labels of shape [1].
    std::fs::write(p.join("y1.npy"), npyio::i64_to_npy(&[1], &[(predictions[0] + 1) % 5])).unwrap();
    golden(p, &["--input", "x0.npy", "--labels", "y1.npy", "--out", "one"]);
    assert_eq!((report(&p.join("one"))["correct"].as_u64()), Some(0));
}
