//! The `codec` program as a user runs it, on the real activation dumps in testdata/real: the
//! table, the JSON, the files of `--out` (checked against the library's decoder), and one-line
//! errors for bad input with nothing written.

use cbnn::codec::{self, CodecParams, Mode, RecordCheck};
use cbnn::config::AccelConfig;
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use std::path::{Path, PathBuf};
use std::process::Command;

const CODEC: &str = env!("CARGO_BIN_EXE_codec");

fn real_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/real")
}

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let o = Command::new(CODEC).args(args).current_dir(cwd).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn load_u8(path: &Path) -> Tensor3<i32> {
    let a = npyio::parse_int(&std::fs::read(path).unwrap(), Elem::U8).unwrap();
    let [c, h, w] = [a.shape[0], a.shape[1], a.shape[2]];
    Tensor3::from_vec(c, h, w, a.data.into_iter().map(|v| v as i32).collect())
}

#[test]
fn folder_of_real_tensors_table_json_and_files() {
    let d = tempfile::tempdir().unwrap();
    let input = real_dir();
    let input = input.to_str().unwrap();
    let (code, table, err) = run(&["--input", input, "--mode", "auto", "--step", "8"], d.path());
    assert_eq!(code, 0, "{err}");
    let names: Vec<String> = std::fs::read_dir(real_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 6, "testdata/real has the real dumps");
    for n in &names {
        assert!(table.contains(n.as_str()), "{n} missing from\n{table}");
    }
    assert!(table.contains("total") && table.contains("SQNR"), "{table}");

    let (code, json, err) = run(&["--input", input, "--step", "8", "--json", "--out", "o"], d.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let tensors = v["tensors"].as_array().unwrap();
    assert_eq!(tensors.len(), names.len());
    let cfg = AccelConfig::default();
    let p = CodecParams {
        block: cfg.codec.block as usize,
        mode: Mode::Auto,
        step: 8,
        keep: cfg.codec.block as usize,
        eg_order: 2,
        segment: cfg.array.cols as usize,
        check: RecordCheck::None,
    };
    for t in tensors {
        let name = t["name"].as_str().unwrap();
        let x = load_u8(&real_dir().join(format!("{name}.npy")));
        // The .bin is exactly the bitstream the library writes, and its size is the reported one.
        let bin = std::fs::read(d.path().join("o").join(format!("{name}.bin"))).unwrap();
        assert_eq!(bin, codec::encode(&x, 8, &p).bytes, "{name}");
        assert_eq!(t["coded_bytes"].as_u64().unwrap(), bin.len() as u64);
        assert_eq!(t["raw_bytes"].as_u64().unwrap(), x.data.len() as u64);
        assert_eq!(t["zvc_bytes"].as_u64().unwrap(), codec::zvc_bytes(&x, 8) as u64);
        // The reconstruction is the decoder's output, and the SQNR is computed from it.
        let rec = load_u8(&d.path().join("o").join(format!("{name}.rec.npy")));
        assert_eq!(rec, codec::decode(&bin, x.c, x.h, x.w, 8, &p).unwrap(), "{name}");
        let (s, e) = x
            .data
            .iter()
            .zip(&rec.data)
            .fold((0f64, 0f64), |(s, e), (&a, &b)| (s + (a as f64).powi(2), e + ((a - b) as f64).powi(2)));
        match t["sqnr_db"].as_f64() {
            Some(db) => assert!((db - 10.0 * (s / e).log10()).abs() < 1e-9, "{name}"),
            None => assert_eq!(e, 0.0, "{name}: no SQNR means exact"),
        }
    }
}

#[test]
fn lossless_modes_reconstruct_exactly() {
    let d = tempfile::tempdir().unwrap();
    let file = real_dir().join("chelsea__stem_relu.npy");
    // golomb at the default step 1 is lossless too.
    for mode in ["raw", "sparse", "golomb"] {
        let (code, json, err) =
            run(&["--input", file.to_str().unwrap(), "--mode", mode, "--json", "--out", mode], d.path());
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["total"]["exact"], true, "{mode}");
        let rec = load_u8(&d.path().join(mode).join("chelsea__stem_relu.rec.npy"));
        assert_eq!(rec, load_u8(&file), "{mode}");
    }
}

/// golomb on the real dumps: the table and JSON count golomb blocks, the files are the
/// library's, and every reconstructed value is within step/2 (SPEC 8.8).
#[test]
fn golomb_mode_on_real_tensors() {
    let d = tempfile::tempdir().unwrap();
    let input = real_dir();
    let (code, table, err) = run(&["--input", input.to_str().unwrap(), "--mode", "golomb", "--step", "4"], d.path());
    assert_eq!(code, 0, "{err}");
    assert!(table.contains("mode golomb step 4") && table.contains("golomb"), "{table}");
    let (code, json, err) = run(
        &["--input", input.to_str().unwrap(), "--mode", "golomb", "--step", "4", "--eg", "1", "--json", "--out", "o"],
        d.path(),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["total"]["block_share"]["golomb"], 1.0, "{}", v["total"]);
    let cfg = AccelConfig::default();
    let block = cfg.codec.block as usize;
    let p = CodecParams {
        block,
        mode: Mode::Golomb,
        step: 4,
        keep: block,
        eg_order: 1,
        segment: cfg.segment() as usize,
        check: RecordCheck::None,
    };
    for t in v["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let x = load_u8(&real_dir().join(format!("{name}.npy")));
        let bin = std::fs::read(d.path().join("o").join(format!("{name}.bin"))).unwrap();
        assert_eq!(bin, codec::encode(&x, 8, &p).bytes, "{name}");
        let rec = load_u8(&d.path().join("o").join(format!("{name}.rec.npy")));
        assert!(x.data.iter().zip(&rec.data).all(|(a, b)| (a - b).abs() <= 2), "{name}");
        assert!(t["max_abs_error"].as_u64().unwrap() <= 2, "{name}");
        assert_eq!(
            t["blocks"]["golomb"].as_u64().unwrap(),
            t["blocks"].as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum::<u64>()
        );
    }
}

/// tools/codec_table.py, which makes the tables of docs/CODEC.md, on the committed dumps: it runs
/// this program, writes its tables and CSVs, and its figures are the program's.
#[test]
fn codec_table_script_on_real_tensors() {
    if !cbnn::tools::available("codec_table", "python3", &["--version"], "apt-get install python3") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("python3")
        .arg(root.join("tools/codec_table.py"))
        .args(["--no-dumps", "--codec", CODEC, "--data", real_dir().to_str().unwrap(), "--out"])
        .arg(d.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let md = String::from_utf8_lossy(&out.stdout);
    for needle in ["| `stem_relu` | 32 |", "| `head_relu` | 1280 |", "| golomb | 4 |", "| auto | 32 |"] {
        assert!(md.contains(needle), "{needle} missing from\n{md}");
    }
    assert_eq!(std::fs::read_to_string(d.path().join("tables.md")).unwrap(), md);
    // tensors.csv: a header and one row per tensor; its golomb step 4 ratio is the program's.
    let csv = std::fs::read_to_string(d.path().join("tensors.csv")).unwrap();
    let rows: Vec<Vec<&str>> = csv.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 10, "{csv}");
    let col = rows[0].iter().position(|h| h.starts_with("golomb4_eg") && h.ends_with("_ratio")).unwrap();
    let eg = rows[0][col].trim_start_matches("golomb4_eg").trim_end_matches("_ratio");
    let (code, json, err) = run(
        &["--input", real_dir().to_str().unwrap(), "--mode", "golomb", "--step", "4", "--eg", eg, "--json"],
        d.path(),
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (row, t) in rows[1..].iter().zip(v["tensors"].as_array().unwrap()) {
        assert_eq!(row[0], t["name"].as_str().unwrap());
        let ratio: f64 = row[col].parse().unwrap();
        assert!((ratio - t["ratio"].as_f64().unwrap()).abs() < 1e-4, "{row:?}");
    }
}

/// Each bad input: exit 1, one line on stderr naming what is wrong, no output directory.
#[test]
fn bad_input_is_one_line_and_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(p.join("f.npy"), npyio::f32_to_npy(&[2, 2, 2], &[0.0; 8])).unwrap();
    let x = Tensor3::from_vec(2, 2, 2, vec![0, 1, 2, 3, 4, 5, 6, 200]);
    let t4 = npyio::activations_to_npy(&x, Elem::U8);
    std::fs::write(p.join("x.npy"), &t4).unwrap();
    std::fs::write(p.join("garbage.npy"), b"not an npy file").unwrap();
    std::fs::create_dir(p.join("empty")).unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--input", "f.npy"], &["f.npy", "uint8", "float32"]),
        (&["--input", "missing.npy"], &["missing.npy", "cannot read"]),
        (&["--input", "garbage.npy"], &["garbage.npy"]),
        (&["--input", "x.npy", "--step", "3"], &["--step", "power of two"]),
        (&["--input", "x.npy", "--step", "256"], &["--step"]),
        (&["--input", "x.npy", "--keep", "9"], &["--keep"]),
        (&["--input", "x.npy", "--bits", "4"], &["x.npy", "200", "at most 15"]),
        (&["--input", "x.npy", "--bits", "1"], &["x.npy", "int8"]),
        (&["--input", "x.npy", "--bits", "1", "--mode", "golomb"], &["--mode", "golomb", "1-bit"]),
        (&["--input", "empty"], &["empty", "no .npy files"]),
    ];
    for (args, needles) in cases {
        let mut a = args.to_vec();
        a.extend(["--out", "out"]);
        let (code, _, err) = run(&a, p);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("codec: error: "), "{err}");
        for n in *needles {
            assert!(err.contains(n), "{args:?}: {err:?} should contain {n:?}");
        }
        assert!(!p.join("out").exists(), "{args:?} wrote output");
    }
    // Bad command-line values are clap's: exit 2, one line.
    let (code, _, err) = run(&["--input", "x.npy", "--mode", "zip"], p);
    assert_eq!(code, 2);
    assert!(err.contains("zip") && err.trim_end().lines().count() == 1, "{err}");
    // A rank-4 uint8 tensor: the message says to drop the batch dimension.
    std::fs::write(p.join("b.npy"), u8_npy("(1, 2, 2, 2)", 8)).unwrap();
    let (code, _, err) = run(&["--input", "b.npy"], p);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("b.npy") && err.contains("rank 3") && err.contains("batch"), "{err}");
}

/// A .npy file of `count` zero bytes (dtype uint8) with the given shape tuple, written by hand.
fn u8_npy(shape: &str, count: usize) -> Vec<u8> {
    let mut header = format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut v = b"\x93NUMPY\x01\x00".to_vec();
    v.extend((header.len() as u16).to_le_bytes());
    v.extend(header.bytes());
    v.extend(std::iter::repeat_n(0u8, count));
    v
}
