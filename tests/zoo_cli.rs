//! `zoo` as a user runs it: it writes a network directory that loads, replaces its own earlier
//! output, and refuses a directory holding other files with one line and a non-zero exit.

use std::process::Command;

fn zoo(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zoo")).args(args).output().unwrap()
}

#[test]
fn writes_a_loadable_network_and_replaces_only_its_own_output() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("cnv");
    let out_s = out.to_str().unwrap();
    assert!(zoo(&["cnv-w1a1", "--out", out_s]).status.success());
    let net = cbnn::network::load_network(&out.join("net.toml")).unwrap();
    assert_eq!(net.layers.len(), 11);
    // Again, with another seed: the earlier output is replaced.
    let first = std::fs::read(out.join("conv1.npy")).unwrap();
    assert!(zoo(&["cnv-w1a1", "--out", out_s, "--seed", "8"]).status.success());
    assert_ne!(std::fs::read(out.join("conv1.npy")).unwrap(), first);
    // A directory with a user's files is left alone.
    let mine = d.path().join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    let o = zoo(&["vgg-half", "--out", mine.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("holds other files"), "{err}");
    assert_eq!(std::fs::read_dir(&mine).unwrap().count(), 1);
}
