//! The `gen-verilog` program as a user runs it: with `--config` and `--out`, what it writes (one
//! module per file, the single-file design, the manifest) and how it rejects bad input.

use std::path::Path;
use std::process::Command;

fn gen(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_gen-verilog")).args(args).current_dir(cwd).output().unwrap()
}

#[test]
fn writes_modules_single_file_and_manifest_for_a_config() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cbnn::config::DEFAULT_CONFIG_TOML
        .replacen("name = \"cbnn_accel\"", "name = \"my_core\"", 1)
        .replacen("rows = 2 ", "rows = 1 ", 1)
        .replacen("scale_group = 1 ", "scale_group = 2 ", 1);
    std::fs::write(dir.path().join("a.toml"), &cfg).unwrap();
    let out = gen(&["--config", "a.toml", "--out", "gen"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("my_core") && stdout.contains("1 x 8 PEs"), "{stdout}");
    let g = dir.path().join("gen");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["top"], "my_core");
    assert_eq!(manifest["derived"]["ppus"], 4, "8 columns / scale_group 2");
    let modules: Vec<String> =
        manifest["modules"].as_array().unwrap().iter().map(|m| m.as_str().unwrap().to_string()).collect();
    // Each module once, in its own file, and all of them in the single-file design.
    let single = std::fs::read_to_string(g.join("my_core.v")).unwrap();
    for m in &modules {
        let text = std::fs::read_to_string(g.join("rtl").join(format!("{m}.v"))).unwrap();
        assert!(text.starts_with(&format!("module {m}(")), "{m}");
        assert_eq!(single.matches(&format!("module {m}(")).count(), 1, "{m} defined once");
    }
    assert_eq!(std::fs::read_dir(g.join("rtl")).unwrap().count(), modules.len());
    // The manifest's ports are the top module's.
    let ports = manifest["ports"].as_array().unwrap();
    let out_data = ports.iter().find(|p| p["name"] == "out_data").unwrap();
    assert_eq!(out_data["width"], 4 * 24, "4 lanes of acc_bits");
    let regs = manifest["registers"].as_array().unwrap();
    assert_eq!(regs.len(), cbnn::hw::regs::REGISTERS.len());
}

/// A core whose buffers cannot hold a layer at its own maxima says so when it is generated.
#[test]
fn maxima_that_do_not_fit_the_buffers_are_noted() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cbnn::config::DEFAULT_CONFIG_TOML.replacen("act_kib = 32 ", "act_kib = 1 ", 1);
    std::fs::write(dir.path().join("small.toml"), &cfg).unwrap();
    let out = gen(&["--config", "small.toml", "--out", "gen"], dir.path());
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("note") && stdout.contains("buffers.act_kib"), "{stdout}");
    assert!(!stdout.contains("buffers.weight_kib"), "{stdout}");
    // The default config's maxima fit its buffers.
    let out = gen(&["--out", "default"], dir.path());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("note"));
}

#[test]
fn bad_config_is_one_line_naming_the_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = cbnn::config::DEFAULT_CONFIG_TOML.replacen("scale_group = 1 ", "scale_group = 3 ", 1);
    std::fs::write(dir.path().join("bad.toml"), cfg).unwrap();
    let out = gen(&["--config", "bad.toml", "--out", "gen"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("bad.toml") && err.contains("datapath.scale_group"), "{err}");
    assert!(!dir.path().join("gen").exists(), "nothing written");
    let out = gen(&["--config", "missing.toml"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.toml"));
    let out = gen(&["--bogus"], dir.path());
    assert_eq!(out.status.code(), Some(2));
}
