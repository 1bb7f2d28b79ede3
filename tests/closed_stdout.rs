//! Programs whose reader has gone away (`golden | head -1`): no panic, exit 0, and the output
//! files written all the same.

use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `program` in `dir` with its stdout closed before it prints; returns (exit code, stderr).
fn with_stdout_closed(program: &str, dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn golden_codec_and_convert_survive_a_closed_stdout() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    let (code, err) = with_stdout_closed(env!("CARGO_BIN_EXE_golden"), p, &["--out", "g"]);
    assert_eq!(code, Some(0), "golden: {err}");
    assert!(p.join("g/report.json").is_file() && !err.contains("panicked"), "golden: {err}");
    // codec on the real activations of testdata/real (README's example).
    let real = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/real");
    let (code, err) = with_stdout_closed(
        env!("CARGO_BIN_EXE_codec"),
        p,
        &["--input", real.to_str().unwrap(), "--step", "8", "--out", "c"],
    );
    assert_eq!(code, Some(0), "codec: {err}");
    assert!(p.join("c").is_dir() && !err.contains("panicked"), "codec: {err}");
    let (code, err) = with_stdout_closed(env!("CARGO_BIN_EXE_convert"), p, &["--to", "slbf", "--out", "s"]);
    assert_eq!(code, Some(0), "convert: {err}");
    assert!(p.join("s/report.json").is_file() && !err.contains("panicked"), "convert: {err}");
}
