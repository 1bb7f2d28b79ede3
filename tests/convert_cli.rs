//! `convert` as a user runs it: both conversions of the embedded example write a directory that
//! `golden` runs; a layer stacked from a known bank comes back exactly; bad input gives one line,
//! exit 1 (2 for bad arguments) and no output directory.

use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const CONVERT: &str = env!("CARGO_BIN_EXE_convert");
const GOLDEN: &str = env!("CARGO_BIN_EXE_golden");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(program: &str, dir: &Path, args: &[&str]) -> Run {
    let o = Command::new(program).current_dir(dir).args(args).output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into(),
        stderr: String::from_utf8_lossy(&o.stderr).into(),
    }
}

fn report(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap()
}

fn layer(net_toml: &Path, name: &str) -> toml::Table {
    let doc: toml::Table = toml::from_str(&std::fs::read_to_string(net_toml).unwrap()).unwrap();
    let layers = doc["layer"].as_array().unwrap();
    layers.iter().find(|l| l["name"].as_str() == Some(name)).unwrap().as_table().unwrap().clone()
}

/// `golden` runs the written network on the written input.
fn golden_runs(work: &Path, out: &str) {
    let g = run(
        GOLDEN,
        work,
        &["--network", &format!("{out}/net.toml"), "--input", &format!("{out}/input.npy"), "--out", "g"],
    );
    assert_eq!(g.code, 0, "golden on the converted network: {}", g.stderr);
    assert!(work.join("g/output.npy").exists());
}

#[test]
fn slbf_of_the_embedded_example_runs_in_golden() {
    let d = tempfile::tempdir().unwrap();
    let r = run(CONVERT, d.path(), &["--to", "slbf", "--slice-channels", "3", "--bank-size", "6", "--out", "c"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in ["weight memory of conv1", "compression of conv1", "golden output vs original float", "k-means"] {
        assert!(r.stdout.contains(needle), "missing {needle:?} in:\n{}", r.stdout);
    }
    let out = d.path().join("c");
    let l = layer(&out.join("net.toml"), "conv1");
    assert_eq!(l["kind"].as_str(), Some("slbf"));
    assert!(!l.contains_key("weights"));
    assert_eq!(l["scale_group"].as_integer(), Some(4), "other keys kept");
    let index =
        npyio::parse_int(&std::fs::read(out.join(l["index"].as_str().unwrap())).unwrap(), Elem::AnyInt).unwrap();
    assert_eq!(index.shape, vec![16, 1]);
    assert!(index.data.iter().all(|&j| (0..6).contains(&j)));
    let bank = npyio::parse_f32(&std::fs::read(out.join(l["bank"].as_str().unwrap())).unwrap()).unwrap();
    assert_eq!(bank.shape, vec![6, 3, 3, 3]);
    let j = report(&out);
    assert_eq!(j["program"], "convert");
    assert_eq!(j["slbf"]["n"], 6);
    assert_eq!(j["slbf"]["m"], 1);
    assert!(j["weight_error"].as_f64().unwrap() > 0.0);
    assert!(j["weight_bits"]["layer_after"].as_u64().unwrap() < j["weight_bits"]["layer_before"].as_u64().unwrap());
    for f in ["conv1_bias.npy", "conv3.npy", "slbf2_bank.npy", "fc6.npy", "input.npy"] {
        assert!(out.join(f).exists(), "{f} copied");
    }
    golden_runs(d.path(), "c");
}

#[test]
fn penni_of_the_embedded_example_runs_in_golden_and_replaces_an_earlier_output() {
    let d = tempfile::tempdir().unwrap();
    let first = run(CONVERT, d.path(), &["--to", "slbf", "--out", "c"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(d.path().join("c/conv1_bank.npy").exists());
    let r = run(CONVERT, d.path(), &["--to", "penni", "--bases", "4", "--density", "0.5", "--out", "c", "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(j, report(&d.path().join("c")), "--json prints report.json");
    // 16 x 3 x 4 = 192 coefficients, half kept.
    assert_eq!(j["penni"]["coefficients"], 192);
    assert_eq!(j["penni"]["nnz"], 96);
    assert_eq!(j["penni"]["density"], 0.5);
    assert_eq!(j["penni"]["bases"], 4);
    assert!(!d.path().join("c/conv1_bank.npy").exists(), "the earlier output is replaced, not merged");
    let l = layer(&d.path().join("c/net.toml"), "conv1");
    assert_eq!(l["kind"].as_str(), Some("penni"));
    assert_eq!(l["basis"].as_str(), Some("conv1_basis.npy"));
    golden_runs(d.path(), "c");
}

/// A user's network whose 3x3 conv layer was stacked from a known bank: converting it with that
/// bank gives back its index and weight error 0, the float outputs equal the original's.
#[test]
fn a_stacked_layer_converted_with_its_bank_comes_back_exactly() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (o, m, dd, n, k) = (6usize, 2usize, 2usize, 3usize, 3usize);
    let bank: Vec<f32> = (0..n * dd * k * k).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
    let index: Vec<usize> = (0..o * m).map(|i| (i * 5 + 1) % n).collect();
    let mut w = Vec::new();
    for s in &index {
        w.extend_from_slice(&bank[s * dd * k * k..(s + 1) * dd * k * k]);
    }
    std::fs::create_dir(p.join("weights")).unwrap();
    std::fs::write(p.join("weights/c.npy"), npyio::f32_to_npy(&[o, m * dd, k, k], &w)).unwrap();
    std::fs::write(p.join("bank.npy"), npyio::f32_to_npy(&[n, dd, k, k], &bank)).unwrap();
    let net = r#"
[input]
shape = [4, 6, 6]
bits = 8

[[layer]]
name = "c"
kind = "conv"
out_channels = 6
kernel = 3
padding = 1
weights = "weights/c.npy"
output = "relu"
out_scale = 0.05

[[layer]]
kind = "fc"
out_channels = 3
weights = "weights/f.npy"
output = "accumulator"
"#;
    std::fs::write(p.join("net.toml"), net).unwrap();
    std::fs::write(p.join("weights/f.npy"), npyio::f32_to_npy(&[3, 216], &vec![0.25; 648])).unwrap();
    let x = Tensor3::from_vec(4, 6, 6, (0..144).map(|i| (i * 7) % 256).collect());
    std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::U8)).unwrap();
    let args = ["--network", "net.toml", "--input", "x.npy", "--to", "slbf", "--bank", "bank.npy", "--out", "c"];
    let r = run(CONVERT, p, &args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let j = report(&p.join("c"));
    assert_eq!(j["weight_error"], 0.0);
    assert_eq!(j["layer_float"]["sqnr_db"], Value::Null, "exact");
    assert_eq!(j["slbf"]["iterations"], 0);
    let got = npyio::parse_int(&std::fs::read(p.join("c/c_index.npy")).unwrap(), Elem::AnyInt).unwrap();
    assert_eq!(got.data, index.iter().map(|&v| v as i64).collect::<Vec<_>>());
    assert!(p.join("c/weights/f.npy").exists(), "files keep their relative paths");
    assert!(!p.join("c/weights/c.npy").exists(), "the replaced weights are not copied");
    golden_runs(p, "c");
}

/// Runs convert with bad input and checks: the exit code, one line naming what was wrong, and
/// no output directory.
fn expect_error(args: &[&str], code: i32, needles: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    let mut all = args.to_vec();
    all.extend(["--out", "c"]);
    let r = run(CONVERT, d.path(), &all);
    assert_eq!(r.code, code, "{args:?}: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{args:?}: expected one line, got: {}", r.stderr);
    assert!(lines[0].starts_with("convert: error: "), "{}", r.stderr);
    for n in needles {
        assert!(lines[0].contains(n), "{args:?}: missing {n:?} in: {}", r.stderr);
    }
    let left: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
    assert!(left.is_empty(), "{args:?}: something was written: {left:?}");
}

#[test]
fn bad_input_gives_one_line_and_writes_nothing() {
    expect_error(
        &["--to", "slbf", "--slice-channels", "2"],
        1,
        &["conv1", "--slice-channels", "3 input channels", "1, 3"],
    );
    expect_error(&["--to", "slbf", "--bank-size", "17"], 1, &["conv1", "--bank-size 17", "1..=16"]);
    expect_error(&["--to", "slbf", "--bank-size", "0"], 2, &["--bank-size", "positive"]);
    expect_error(&["--to", "penni", "--bases", "10"], 1, &["conv1", "--bases 10", "1..=9"]);
    expect_error(&["--to", "penni", "--bases", "0"], 2, &["--bases", "positive"]);
    expect_error(&["--to", "slbf", "--iterations", "0"], 2, &["--iterations", "positive"]);
    expect_error(&["--to", "penni", "--density", "1.5"], 2, &["--density", "0 < F <= 1"]);
    expect_error(&["--to", "penni", "--density", "0"], 2, &["--density", "0 < F <= 1"]);
    expect_error(&["--to", "penni", "--layer", "conv9"], 1, &["--layer conv9", "conv1, pool1"]);
    expect_error(&["--to", "penni", "--layer", "slbf2"], 1, &["--layer slbf2", "slbf layer", "expected a conv layer"]);
    expect_error(&["--to", "slbf", "--bases", "3"], 2, &["--bases", "--to slbf"]);
    expect_error(&["--to", "penni", "--prune", "std", "--density", "0.5"], 2, &["--prune", "--density"]);
}

#[test]
fn a_bank_of_the_wrong_shape_is_rejected() {
    let d = tempfile::tempdir().unwrap();
    let bank = d.path().join("bank.npy");
    std::fs::write(&bank, npyio::f32_to_npy(&[4, 3, 5, 5], &[0.5; 300])).unwrap();
    let b = bank.display().to_string();
    expect_error(
        &["--to", "slbf", "--bank", &b],
        1,
        &["--bank", "bank.npy", "expected shape [n, d, 3, 3]", "[4, 3, 5, 5]"],
    );
    std::fs::write(&bank, npyio::f32_to_npy(&[4, 2, 3, 3], &[0.5; 72])).unwrap();
    expect_error(&["--to", "slbf", "--bank", &b], 1, &["--bank", "d = 2", "3 input channels"]);
}

#[test]
fn a_directory_of_other_files_is_not_replaced() {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join("mine")).unwrap();
    std::fs::write(d.path().join("mine/notes.txt"), "keep").unwrap();
    let r = run(CONVERT, d.path(), &["--to", "penni", "--out", "mine"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("mine") && r.stderr.contains("holds other files"), "{}", r.stderr);
    let names: Vec<_> = std::fs::read_dir(d.path().join("mine")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["notes.txt"]);
}
