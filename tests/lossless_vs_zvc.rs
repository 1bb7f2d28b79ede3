//! Lossless coding against zero-value compression (ZVC) on real activations (docs/CODEC.md,
//! "Lossless coding against ZVC"): `sparse` writes exactly ZVC's bits, cut into the records of
//! SPEC 8.3, so it is at or below whole-tensor ZVC wherever its records need no padding, and
//! above it by exactly that padding elsewhere. The `codec` program shows the difference in bytes.

use cbnn::codec::{self, CodecParams, Mode, RecordCheck};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sparse(segment: usize) -> CodecParams {
    CodecParams { block: 8, mode: Mode::Sparse, step: 1, keep: 8, eg_order: 2, segment, check: RecordCheck::None }
}

/// The uint8 `[C, H, W]` tensors of a folder, by file name.
fn tensors(dir: &Path) -> Vec<(String, Tensor3<i32>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let a = npyio::parse_int(&std::fs::read(p).unwrap(), Elem::U8).unwrap();
            let t = Tensor3::from_vec(a.shape[0], a.shape[1], a.shape[2], a.data.iter().map(|&v| v as i32).collect());
            (p.file_stem().unwrap().to_string_lossy().into_owned(), t)
        })
        .collect()
}

/// The first `c` channels of `t`.
fn crop(t: &Tensor3<i32>, c: usize) -> Tensor3<i32> {
    Tensor3::from_vec(c, t.h, t.w, t.data[..c * t.h * t.w].to_vec())
}

/// sparse on every tensor, for the records of `segment` channels: never above whole-tensor
/// ZVC, and equal to ZVC in records.
fn check_at_or_below_zvc(set: &[(String, Tensor3<i32>)], segment: usize) {
    for (name, t) in set {
        let coded = codec::encode(t, 8, &sparse(segment)).bytes.len();
        assert_eq!(coded, codec::zvc_record_bytes(t, 8, segment), "{name}, S = {segment}");
        assert!(coded <= codec::zvc_bytes(t, 8), "{name}, S = {segment}: {coded} B above ZVC");
    }
}

#[test]
fn sparse_is_at_or_below_zvc_byte_for_byte_on_testdata_real() {
    let set = tensors(&repo().join("testdata/real"));
    assert_eq!(set.len(), 9);
    // The default array.cols (8) and wider filter tiles.
    for segment in [8, 16, 32] {
        check_at_or_below_zvc(&set, segment);
    }
}

/// The full EfficientNet-Lite0 dumps (165 tensors, tools/realdata/make_dumps.py): only under
/// CBNN_SOAK=1, where they must be there.
#[test]
fn sparse_is_at_or_below_zvc_byte_for_byte_on_the_full_dumps() {
    let dir = repo().join("data/real");
    let soak = std::env::var_os("CBNN_SOAK").is_some_and(|v| v == "1");
    if !soak {
        eprintln!("skipped: the full dumps run under CBNN_SOAK=1");
        return;
    }
    assert!(dir.is_dir(), "data/real is missing: make it with `python3 tools/realdata/make_dumps.py --out data/real`");
    let set = tensors(&dir);
    assert_eq!(set.len(), 165);
    check_at_or_below_zvc(&set, 8);
}

/// Issue 25 item 7 as it was found: real activations with 10 channels. The 2-channel segment's
/// records end inside a byte, so sparse (and any coding with byte-aligned records) is above
/// whole-tensor ZVC by the records' padding, and by nothing else; the program reports it.
#[test]
fn ten_channels_cost_exactly_their_record_padding_and_the_program_shows_it() {
    let set: Vec<(String, Tensor3<i32>)> =
        tensors(&repo().join("testdata/real")).into_iter().map(|(n, t)| (n, crop(&t, 10))).collect();
    let d = tempfile::tempdir().unwrap();
    let mut above = 0;
    let mut expected = Vec::new();
    for (name, t) in &set {
        let coded = codec::encode(t, 8, &sparse(8)).bytes.len() as i64;
        let zvc = codec::zvc_bytes(t, 8) as i64;
        // Padding is under a byte per record: two records (8 + 2 channels) per row.
        assert!(coded - zvc < 2 * t.h as i64, "{name}: {coded} B against ZVC's {zvc}");
        assert_eq!(coded, codec::zvc_record_bytes(t, 8, 8) as i64, "{name}");
        above += usize::from(coded > zvc);
        expected.push((name.clone(), coded - zvc));
        std::fs::write(d.path().join(format!("{name}.npy")), npyio::activations_to_npy(t, Elem::U8)).unwrap();
    }
    assert!(above > 0, "the 10-channel crops show the padding");

    let out = Command::new(env!("CARGO_BIN_EXE_codec"))
        .args(["--input", d.path().to_str().unwrap(), "--mode", "sparse", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for t in v["tensors"].as_array().unwrap() {
        let name = t["name"].as_str().unwrap();
        let over = expected.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(t["bytes_over_zvc"].as_i64(), Some(over), "{name}");
        assert_eq!(t["zvc_record_bytes"], t["coded_bytes"], "{name}");
    }
    assert_eq!(v["total"]["tensors_above_zvc"].as_u64(), Some(above as u64));
    let table = Command::new(env!("CARGO_BIN_EXE_codec"))
        .args(["--input", d.path().to_str().unwrap(), "--mode", "sparse"])
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(table.contains("over ZVC"), "{table}");
    assert!(table.contains(&format!("coded above ZVC on {above} of 9 tensors")), "{table}");
}

/// tools/codec/lossless_vs_zvc.py, which docs/CODEC.md quotes, counts sparse and ZVC as the
/// library codes them (the script counts bits with numpy; it encodes nothing).
#[test]
fn the_python_count_agrees_with_the_codec() {
    if !cbnn::tools::python_numpy("lossless_vs_zvc.py") {
        return;
    }
    let real = tensors(&repo().join("testdata/real"));
    for channels in [None, Some(10)] {
        let mut args = vec![repo().join("tools/codec/lossless_vs_zvc.py").display().to_string()];
        args.push(repo().join("testdata/real").display().to_string());
        if let Some(c) = channels {
            args.extend(["--channels".to_string(), c.to_string()]);
        }
        let out = Command::new("python3").args(&args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8_lossy(&out.stdout);
        let set: Vec<Tensor3<i32>> = real.iter().map(|(_, t)| channels.map_or(t.clone(), |c| crop(t, c))).collect();
        let zvc: usize = set.iter().map(|t| codec::zvc_bytes(t, 8)).sum();
        let coded: usize = set.iter().map(|t| codec::encode(t, 8, &sparse(8)).bytes.len()).sum();
        assert!(text.contains(&format!("ZVC {zvc} B")), "{text}");
        let line = text.lines().find(|l| l.starts_with("sparse ")).unwrap();
        assert_eq!(line.split_whitespace().nth(1), Some(coded.to_string().as_str()), "{text}");
    }
    // A bad argument is one line and exit 1.
    let out = Command::new("python3")
        .args([repo().join("tools/codec/lossless_vs_zvc.py").to_str().unwrap(), "no/such/dir"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("lossless_vs_zvc: error: no/such/dir") && err.trim().lines().count() == 1, "{err}");
}
