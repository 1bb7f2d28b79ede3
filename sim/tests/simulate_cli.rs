//! The `simulate` program as a user runs it: the default run, the JSON report, the waveform, the
//! golden check failing, and bad input giving one line and no output.

use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use std::path::Path;
use std::process::Command;

const SIMULATE: &str = env!("CARGO_BIN_EXE_simulate");

fn simulate(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let o = Command::new(SIMULATE).current_dir(dir).args(args).envs(env.iter().copied()).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("out/simulate/report.json")).unwrap()).unwrap()
}

#[test]
fn no_arguments_prints_the_table_and_writes_the_outputs() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = simulate(d.path(), &[], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("layer") && out.contains("cycles") && out.contains("bound"), "{out}");
    assert!(out.contains("every layer bit-exact"), "{out}");
    let r = report(d.path());
    let layers = r["layers"].as_array().unwrap();
    // One table row per layer (the embedded network has 7), plus the total.
    for l in layers {
        let name = l["name"].as_str().unwrap();
        assert!(out.lines().any(|line| line.starts_with(name)), "no row for {name}: {out}");
    }
    let sum: u64 = layers.iter().map(|l| l["cycles"].as_u64().unwrap()).sum();
    assert!(sum > 0);
    assert_eq!(r["totals"]["cycles"].as_u64(), Some(sum));
    let total_row = out.lines().find(|l| l.starts_with("total")).unwrap();
    assert!(total_row.split_whitespace().any(|c| c == sum.to_string()), "{total_row}");
    // The output file is the last layer's output as the golden program writes it.
    let golden = env!("CARGO_BIN_EXE_simulate").replace("simulate", "golden");
    if Path::new(&golden).exists() {
        let g = Command::new(&golden).current_dir(d.path()).output().unwrap();
        assert!(g.status.success());
        assert_eq!(
            std::fs::read(d.path().join("out/simulate/output.npy")).unwrap(),
            std::fs::read(d.path().join("out/golden/output.npy")).unwrap()
        );
    }
}

#[test]
fn filter_sharing_layers_are_reported_next_to_their_plain_conv() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = simulate(d.path(), &[], &[]);
    assert_eq!(code, 0, "{err}");
    let r = report(d.path());
    let layers = r["layers"].as_array().unwrap();
    let mut shared = 0;
    for l in layers {
        let (kind, name) = (l["kind"].as_str().unwrap(), l["name"].as_str().unwrap());
        let ops = &l["ops"];
        match kind {
            "slbf" | "penni" => {
                shared += 1;
                let p = &l["plain"];
                // The bank (n or d kernels) against every channel does fewer binary MACs than
                // all O filters against every channel, and the combine stage does the rest.
                assert!(ops["binary_macs"].as_u64() < p["binary_macs"].as_u64(), "{l}");
                assert!(ops["combine_macs"].as_u64().unwrap() > 0, "{l}");
                assert!(p["cycles"].as_u64().unwrap() > 0, "{l}");
                assert!(l["weight_bits"].as_u64().unwrap() > 0 && p["weight_bits"].as_u64().unwrap() > 0);
                // The layer's row in the second table, with its figures.
                let row = out.lines().filter(|x| x.starts_with(name)).nth(1).unwrap_or_else(|| panic!("{out}"));
                assert!(row.contains(&l["weight_bits"].to_string()) && row.contains(&p["cycles"].to_string()), "{row}");
            }
            "conv" | "fc" | "im2col" => {
                assert!(l.get("plain").is_none(), "{l}");
                assert_eq!(ops["combine_macs"], 0, "{l}");
                assert_eq!(ops["binary_macs"], l["binary_macs"], "{l}");
                assert!(l["weight_bits"].as_u64().unwrap() > 0, "{l}");
            }
            _ => assert_eq!(l["weight_bits"], 0, "{l}"),
        }
    }
    assert_eq!(shared, 2, "the embedded network has one slbf and one penni layer");
    assert!(out.contains("filter sharing next to a plain binary conv"), "{out}");
}

#[test]
fn json_output_parses_and_matches_the_report_file() {
    let d = tempfile::tempdir().unwrap();
    let (code, out, err) = simulate(d.path(), &["--json", "--ideal-memory"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(v, report(d.path()));
    assert_eq!(v["memory"], "ideal");
    // Ideal memory: no stalls, and no core layer memory-bound; a layer is load-bound exactly
    // when more than half its cycles are loads.
    for l in v["layers"].as_array().unwrap().iter().filter(|l| l["on_core"] == true) {
        assert_eq!(l["stall_cycles"], 0, "{l}");
        let loads = l["load_cycles"].as_u64().unwrap() * 2 > l["cycles"].as_u64().unwrap();
        assert_eq!(l["bound"], if loads { "load" } else { "compute" }, "{l}");
    }
}

#[test]
fn dump_layers_writes_every_layer() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = simulate(d.path(), &["--dump-layers", "--no-check"], &[]);
    assert_eq!(code, 0, "{err}");
    let n = std::fs::read_dir(d.path().join("out/simulate/layers")).unwrap().count();
    assert_eq!(n, report(d.path())["layers"].as_array().unwrap().len());
    assert_eq!(report(d.path())["golden_check"], "skipped");
}

/// Every value change of a 1-bit signal in a parsed VCD, as (time, signal name, value).
fn vcd_changes(path: &Path) -> (vcd::Header, Vec<(u64, String, bool)>) {
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut p = vcd::Parser::new(f);
    let h = p.parse_header().expect("VCD header parses");
    let mut names = std::collections::HashMap::new();
    for item in &h.items {
        if let vcd::ScopeItem::Scope(s) = item {
            for i in &s.children {
                if let vcd::ScopeItem::Var(v) = i {
                    names.insert(v.code, v.reference.clone());
                }
            }
        }
    }
    let (mut t, mut changes) = (0, Vec::new());
    for cmd in p {
        match cmd.expect("VCD body parses") {
            vcd::Command::Timestamp(x) => t = x,
            vcd::Command::ChangeScalar(id, v) => changes.push((t, names[&id].clone(), v == vcd::Value::V1)),
            _ => {}
        }
    }
    (h, changes)
}

#[test]
fn vcd_parses_and_busy_is_high_for_every_counted_cycle() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = simulate(d.path(), &["--json", "--vcd", "run.vcd"], &[]);
    assert_eq!(code, 0, "{err}");
    let total = report(d.path())["totals"]["cycles"].as_u64().unwrap();
    let (h, changes) = vcd_changes(&d.path().join("run.vcd"));
    assert!(h.find_scope(&["cbnn_accel"]).is_some(), "a scope named after the core");
    for s in ["clock", "busy", "act_valid", "act_ready", "out_valid", "out_ready", "go"] {
        assert!(h.find_var(&["cbnn_accel", s]).is_some(), "no signal {s}");
    }
    // A clock edge per cycle, and busy high from the first to the last cycle of every layer:
    // the sum of the layers' cycles.
    let rises: Vec<u64> = changes.iter().filter(|c| c.1 == "clock" && c.2).map(|c| c.0).collect();
    assert_eq!(rises.len() as u64, total);
    let period = rises[1] - rises[0];
    assert_eq!(period, 10_000, "100 MHz in picoseconds");
    let mut busy = false;
    let mut high = 0u64;
    let mut it = changes.iter().peekable();
    for &r in &rises {
        while let Some(c) = it.next_if(|c| c.0 <= r) {
            if c.1 == "busy" {
                busy = c.2;
            }
        }
        high += busy as u64;
    }
    assert_eq!(high, total);
}

#[test]
fn vcd_window_limits_the_cycles_written() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = simulate(d.path(), &["--json", "--vcd", "w.vcd", "--vcd-window", "100..350"], &[]);
    assert_eq!(code, 0, "{err}");
    let (_, changes) = vcd_changes(&d.path().join("w.vcd"));
    let rises: Vec<u64> = changes.iter().filter(|c| c.1 == "clock" && c.2).map(|c| c.0).collect();
    assert_eq!(rises.len(), 250);
    assert_eq!(rises[0], 100 * 10_000);
}

fn expect_error(dir: &Path, args: &[&str], env: &[(&str, &str)], needles: &[&str]) {
    let (code, _, err) = simulate(dir, args, env);
    assert_ne!(code, 0, "expected failure, stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {err}");
    assert!(lines[0].starts_with("simulate: error: "), "{err}");
    for n in needles {
        assert!(lines[0].contains(n), "missing {n:?} in: {err}");
    }
    assert!(!dir.join("out/simulate/output.npy").exists(), "an output was written despite the error");
}

#[test]
fn a_golden_mismatch_names_the_layer_and_index_and_fails() {
    let d = tempfile::tempdir().unwrap();
    // Corrupt layer 3 (conv3): the check must stop there, naming the first differing value.
    expect_error(d.path(), &[], &[("CBNN_SIM_FAULT", "3")], &["layer conv3", "index 0", "golden"]);
}

#[test]
fn bad_input_gives_one_line() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    expect_error(p, &["--config", "missing.toml"], &[], &["missing.toml", "cannot read"]);
    // A core generated for at most 8 channels cannot run the example network's 16-channel layers.
    let cfg = cbnn::config::DEFAULT_CONFIG_TOML.replace("max_channels = 256", "max_channels = 8");
    std::fs::write(p.join("small.toml"), cfg).unwrap();
    expect_error(p, &["--config", "small.toml"], &[], &["max_channels"]);
    // An input of the wrong shape for the example network ([3, 32, 32]).
    let x = Tensor3::from_vec(3, 16, 16, vec![1; 768]);
    std::fs::write(p.join("x.npy"), npyio::activations_to_npy(&x, Elem::U8)).unwrap();
    let net = std::env::current_dir().unwrap().join("../examples/tiny/net.toml");
    let net = net.to_str().unwrap();
    expect_error(p, &["--network", net, "--input", "x.npy"], &[], &["x.npy", "shape"]);
    expect_error(p, &["--vcd", "a.vcd", "--vcd-window", "9..3"], &[], &["9..3"]);
    expect_error(p, &["--vcd-window", "0..3"], &[], &["--vcd"]);
    expect_error(p, &["--vcd", "a.vcd", "--vcd-window", "1000000000..1000000001"], &[], &["only", "cycles"]);
    let left: Vec<_> = std::fs::read_dir(p).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(
        !left.iter().any(|n| n.to_string_lossy().contains("a.vcd")),
        "a failed run left a VCD or its temporary behind: {left:?}"
    );
    expect_error(p, &[], &[("CBNN_SIM_FAULT", "x")], &["CBNN_SIM_FAULT"]);
}

/// The embedded example's input and two random images, as a batch `b.npy` and alone `xK.npy`.
fn batch_of_three(dir: &Path) {
    let example = std::env::current_dir().unwrap().join("../examples/tiny");
    let bytes = std::fs::read(example.join("input.npy")).unwrap();
    let x0 = npyio::parse_activations(&bytes, 8, [3, 32, 32]).unwrap();
    let mut state = 7u32;
    let mut random = || {
        let data = (0..3 * 32 * 32).map(|_| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            (state >> 16) as i32 % 256
        });
        Tensor3::from_vec(3, 32, 32, data.collect())
    };
    let images = [x0, random(), random()];
    let refs: Vec<&Tensor3<i32>> = images.iter().collect();
    std::fs::write(dir.join("b.npy"), npyio::images_to_npy(&refs, true, Elem::U8)).unwrap();
    for (k, x) in images.iter().enumerate() {
        std::fs::write(dir.join(format!("x{k}.npy")), npyio::activations_to_npy(x, Elem::U8)).unwrap();
    }
}

/// A directory holding `batch_of_three`, and the example network's path.
fn with_batch() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    batch_of_three(d.path());
    let net = std::env::current_dir().unwrap().join("../examples/tiny/net.toml");
    (d, net.to_str().unwrap().to_string())
}

fn run_json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let (code, out, err) = simulate(dir, args, &[]);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).expect("stdout is JSON")
}

#[test]
fn a_batch_runs_bit_exact_with_golden_and_reports_per_image_and_batch_figures() {
    let (d, net) = with_batch();
    let p = d.path();
    let b = run_json(p, &["--network", &net, "--input", "b.npy", "--json", "--out", "b"]);
    let singles: Vec<serde_json::Value> = (0..3)
        .map(|k| run_json(p, &["--network", &net, "--input", &format!("x{k}.npy"), "--json", "--out", "one"]))
        .collect();
    // Outputs and predictions: the golden model's on the same batch, bit for bit.
    let golden = env!("CARGO_BIN_EXE_simulate").replace("simulate", "golden");
    if Path::new(&golden).exists() {
        let g =
            Command::new(&golden).current_dir(p).args(["--network", &net, "--input", "b.npy", "--out", "g"]).output();
        assert!(g.unwrap().status.success());
        for f in ["output.npy", "predictions.npy"] {
            assert_eq!(std::fs::read(p.join("b").join(f)).unwrap(), std::fs::read(p.join("g").join(f)).unwrap(), "{f}");
        }
    }
    let out = npyio::parse_int(&std::fs::read(p.join("b/output.npy")).unwrap(), Elem::I32).unwrap();
    assert_eq!(out.shape, vec![3, 10, 1, 1]);
    // The batch's figures are the images' own, summed or spread.
    let cycles: Vec<u64> = singles.iter().map(|s| s["totals"]["cycles"].as_u64().unwrap()).collect();
    let batch = &b["batch"];
    assert_eq!(batch["images"], 3);
    assert_eq!(batch["cycles"].as_u64().unwrap(), cycles.iter().sum::<u64>());
    let mhz = b["config"]["clock"]["mhz"].as_f64().unwrap();
    let time_us = cycles.iter().sum::<u64>() as f64 / mhz;
    let close = |a: &serde_json::Value, want: f64| (a.as_f64().unwrap() - want).abs() <= 1e-9 * want.abs();
    assert!(close(&batch["time_us"], time_us), "{batch}");
    assert!(close(&batch["inferences_per_s"], 3.0 * 1e6 / time_us), "{batch}");
    assert!(close(&batch["latency_us"], time_us / 3.0), "{batch}");
    assert!(close(&batch["inferences_per_s_per_image"], 3e6 / time_us), "{batch}");
    let latencies: Vec<f64> = cycles.iter().map(|&c| c as f64 / mhz).collect();
    assert!(close(&batch["latency_us_min"], latencies.iter().copied().fold(f64::INFINITY, f64::min)));
    assert!(close(&batch["latency_us_max"], latencies.iter().copied().fold(0.0, f64::max)));
    let dram = |r: &serde_json::Value| {
        ["act_bytes", "weight_bytes", "out_bytes"].iter().map(|k| r["totals"][k].as_u64().unwrap()).sum::<u64>()
    };
    assert_eq!(batch["dram_bytes"].as_u64().unwrap(), singles.iter().map(dram).sum::<u64>());
    let mut spread = false;
    for (i, l) in b["layers"].as_array().unwrap().iter().enumerate() {
        let per: Vec<u64> = singles.iter().map(|s| s["layers"][i]["cycles"].as_u64().unwrap()).collect();
        let (lo, hi) = (*per.iter().min().unwrap(), *per.iter().max().unwrap());
        assert_eq!((l["cycles_min"].as_u64(), l["cycles_max"].as_u64()), (Some(lo), Some(hi)), "{l}");
        assert_eq!(l["cycles"].as_u64().unwrap(), (per.iter().sum::<u64>() + 1) / 3, "the rounded mean: {l}");
        spread |= lo != hi;
    }
    assert!(spread, "with the codec and the DRAM model some layer's cycles depend on the image");
    assert!(singles.iter().all(|s| s["layers"][0].get("cycles_min").is_none()), "one image has no range");
    assert_eq!(b["images"], 3);
    let (code, text, err) = simulate(p, &["--network", &net, "--input", "b.npy", "--out", "b"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains("a batch of 3 images") && text.contains("cycles per image (mean, min..max)"), "{text}");
    assert!(text.contains(&format!("batch of 3 images back to back: {} cycles", batch["cycles"])), "{text}");
}

#[test]
fn a_batch_mismatch_names_the_image_and_the_waveform_shows_the_first_image() {
    let (d, net) = with_batch();
    let p = d.path();
    let args = ["--network", &net, "--input", "b.npy", "--vcd", "b.vcd"];
    expect_error(p, &args, &[("CBNN_SIM_FAULT", "3@1")], &["image 1", "layer conv3", "index 0", "golden"]);
    assert!(!p.join("b.vcd").exists(), "no waveform of a failed run");
    let b = run_json(p, &[&args[..], &["--json", "--out", "ok"]].concat());
    let first = run_json(p, &["--network", &net, "--input", "x0.npy", "--json", "--out", "one"]);
    let (_, changes) = vcd_changes(&p.join("b.vcd"));
    let rises = changes.iter().filter(|c| c.1 == "clock" && c.2).count() as u64;
    assert_eq!(rises, first["totals"]["cycles"].as_u64().unwrap());
    assert!(rises < b["batch"]["cycles"].as_u64().unwrap());
    // Bad labels: one line, nothing written.
    std::fs::write(p.join("y.npy"), npyio::i64_to_npy(&[2], &[0, 1])).unwrap();
    let labels = ["--network", &net, "--input", "b.npy", "--labels", "y.npy"];
    expect_error(p, &labels, &[], &["y.npy", "2 labels for 3 images"]);
}

#[test]
fn vcd_to_a_fifo_or_a_symlink_writes_through_it_and_replaces_neither() {
    use std::os::unix::fs::FileTypeExt;
    let d = tempfile::tempdir().unwrap();
    // A symlink to a regular file: the VCD lands in the file, the link stays a link.
    std::fs::write(d.path().join("target.vcd"), b"old").unwrap();
    std::os::unix::fs::symlink("target.vcd", d.path().join("link.vcd")).unwrap();
    let (code, _, err) = simulate(d.path(), &["--json", "--vcd", "link.vcd"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::symlink_metadata(d.path().join("link.vcd")).unwrap().file_type().is_symlink());
    let (h, _) = vcd_changes(&d.path().join("target.vcd"));
    assert!(h.find_scope(&["cbnn_accel"]).is_some());
    // A FIFO (a waveform viewer reading as the simulation runs): the bytes go through it.
    let fifo = d.path().join("waves.fifo");
    if std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success()) {
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(fifo).unwrap())
        };
        let (code, _, err) = simulate(d.path(), &["--json", "--vcd", "waves.fifo"], &[]);
        assert_eq!(code, 0, "{err}");
        let bytes = reader.join().unwrap();
        assert!(String::from_utf8_lossy(&bytes).contains("$enddefinitions"), "{} bytes through the FIFO", bytes.len());
        assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO was replaced");
    }
    // No temporary file left beside any of them.
    let names: Vec<String> =
        std::fs::read_dir(d.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
}

#[test]
fn a_closed_stdout_is_no_panic_and_the_outputs_are_written() {
    let d = tempfile::tempdir().unwrap();
    let mut child = Command::new(SIMULATE)
        .current_dir(d.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away at once, as `simulate | head -0` does.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(d.path().join("out/simulate/report.json").is_file());
}
