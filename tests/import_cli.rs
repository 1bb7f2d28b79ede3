//! `import` as a user runs it: the trained models of testdata/mnist become directories that
//! golden and convert run; bad models give one line naming the node or the file, exit 1, and no
//! output directory.

use cbnn::import::builder::edited;
use cbnn::import::proto::onnx::{tensor_proto::DataType, TensorProto};
use std::path::{Path, PathBuf};
use std::process::Command;

const IMPORT: &str = env!("CARGO_BIN_EXE_import");
const GOLDEN: &str = env!("CARGO_BIN_EXE_golden");
const CONVERT: &str = env!("CARGO_BIN_EXE_convert");

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mnist").join(name)
}

fn run(bin: &str, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let o = Command::new(bin).current_dir(dir).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn an_imported_network_runs_in_golden_and_convert() {
    let d = tempfile::tempdir().unwrap();
    let model = data("cnv_1w2a.onnx");
    let (code, out, err) = run(IMPORT, d.path(), &[model.to_str().unwrap(), "--out", "cnv", "--synthetic", "8"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("top-1 agreement 100.00% (8/8)"), "{out}");
    for f in ["net.toml", "report.json", "input.npy", "input_thresholds.npy", "conv0_weights.npy"] {
        assert!(d.path().join("cnv").join(f).exists(), "{f} missing");
    }
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(d.path().join("cnv/report.json")).unwrap()).unwrap();
    assert_eq!(report["program"], "import");
    assert_eq!(report["check"]["top1_agree"], 8);
    let (code, out, err) =
        run(GOLDEN, d.path(), &["--network", "cnv/net.toml", "--input", "cnv/input.npy", "--out", "g"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("conv0"), "{out}");
    let (code, _, err) = run(
        CONVERT,
        d.path(),
        &["--to", "slbf", "--network", "cnv/net.toml", "--input", "cnv/input.npy", "--layer", "conv1", "--out", "slbf"],
    );
    assert_eq!(code, 0, "{err}");
    // Importing again replaces an earlier import; another directory is refused.
    let (code, _, err) = run(IMPORT, d.path(), &[model.to_str().unwrap(), "--out", "cnv", "--synthetic", "2"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(IMPORT, d.path(), &[model.to_str().unwrap(), "--out", "g", "--synthetic", "2"]);
    assert_eq!(code, 1);
    assert!(err.contains("g") && err.lines().count() == 1, "{err}");
}

/// Runs import on `bytes` and checks the one-line error names all of `needles`.
fn expect_error(bytes: &[u8], needles: &[&str]) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("m.onnx"), bytes).unwrap();
    let (code, _out, err) = run(IMPORT, d.path(), &["m.onnx", "--out", "o"]);
    assert_eq!(code, 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].starts_with("import: error: m.onnx"), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "missing {n:?} in {err}");
    }
    assert!(!d.path().join("o").exists(), "an output directory was written");
}

fn tfc() -> Vec<u8> {
    std::fs::read(data("TFC_1W1A.onnx")).unwrap()
}

fn scalar(name: &str, v: f32) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        data_type: Some(DataType::Float as i32),
        float_data: vec![v],
        ..Default::default()
    }
}

#[test]
fn weights_of_two_or_three_bits_are_refused() {
    for bits in [2.0, 3.0] {
        // The first hidden layer's weight quantiser becomes a `bits`-bit Quant.
        let bytes = edited(&tfc(), |m| {
            let g = m.graph.as_mut().unwrap();
            g.initializer.extend([scalar("zp", 0.0), scalar("bw", bits)]);
            let n = g.node.iter_mut().find(|n| n.name() == "BipolarQuant_14").unwrap();
            n.op_type = Some("Quant".into());
            n.input.extend(["zp".to_string(), "bw".to_string()]);
        });
        expect_error(
            &bytes,
            &["node \"MatMul_16\" (MatMul)", "node \"BipolarQuant_14\" (Quant)", &format!("bit width {bits}")],
        );
    }
}

#[test]
fn an_unsupported_op_is_refused() {
    let bytes = edited(&tfc(), |m| {
        let n = m.graph.as_mut().unwrap().node.iter_mut().find(|n| n.name() == "BatchNormalization_17").unwrap();
        n.op_type = Some("LpNormalization".into());
    });
    expect_error(&bytes, &["node \"BatchNormalization_17\" (LpNormalization)", "not supported"]);
}

#[test]
fn a_missing_initializer_is_refused() {
    let bytes = edited(&tfc(), |m| {
        m.graph.as_mut().unwrap().initializer.retain(|t| t.name() != "38");
    });
    expect_error(&bytes, &["node \"BipolarQuant_14\" (BipolarQuant)", "\"38\"", "initializer"]);
    // The same with the (old exporter's) graph input gone too.
    let bytes = edited(&tfc(), |m| {
        let g = m.graph.as_mut().unwrap();
        g.initializer.retain(|t| t.name() != "38");
        g.input.retain(|i| i.name() != "38");
    });
    expect_error(&bytes, &["node \"BipolarQuant_14\" (BipolarQuant)", "\"38\" is not defined"]);
}

#[test]
fn a_truncated_file_or_a_file_that_is_not_onnx_is_refused() {
    let whole = tfc();
    expect_error(&whole[..whole.len() / 2], &["not a valid ONNX model"]);
    expect_error(b"# a text file\nnot a model at all\n", &["ONNX"]);
    let npy = std::fs::read(data("heldout-labels.npy")).unwrap();
    expect_error(&npy, &["ONNX"]);
    expect_error(b"", &["ONNX"]);
}
