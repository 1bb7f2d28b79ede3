//! The `sweep` program as a user runs it: the embedded example, a sweep killed and resumed, a
//! sweep run in shards and merged, and bad sweep files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sweep() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sweep"))
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "sweep failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The example sweep run uninterrupted on one thread into `dir`.
fn reference(dir: &Path) -> PathBuf {
    let out = dir.join("ref");
    ok(sweep().args(["--quiet", "--jobs", "1", "--out"]).arg(&out).output().unwrap());
    out
}

const OUTPUTS: [&str; 6] =
    ["results.csv", "results.json", "summary.md", "latency_vs_area.svg", "dram_by_codec.svg", "fidelity_vs_g.svg"];

#[test]
fn no_arguments_run_the_example_and_write_every_output() {
    let d = tempfile::tempdir().unwrap();
    let o = ok(sweep().arg("--quiet").current_dir(d.path()).output().unwrap());
    let out = d.path().join("out/sweep/example");
    for f in OUTPUTS {
        assert!(out.join(f).is_file(), "{f} missing; stdout: {}", String::from_utf8_lossy(&o.stdout));
    }
    let csv = read(&out.join("results.csv"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 25, "a header and 24 points");
    assert!(lines[0].starts_with("point,array.rows,array.cols,layers.codec,layers.scale_group,cycles,"));
    // Every point simulated something: positive cycles and DRAM bytes.
    for l in &lines[1..] {
        let cells: Vec<&str> = l.split(',').collect();
        assert!(cells[5].parse::<f64>().unwrap() > 0.0 && cells[9].parse::<f64>().unwrap() > 0.0, "{l}");
    }
    let svg = read(&out.join("latency_vs_area.svg"));
    assert!(svg.contains("latency per inference (us)") && svg.contains("binary lanes R x C x L"));
    assert!(svg.contains("array.rows = 2"), "legend by the colour axis");
    assert!(read(&out.join("summary.md")).contains("## Pareto front"));
}

/// Lines of a file, 0 if it is not there yet.
fn lines(p: &Path) -> usize {
    std::fs::read_to_string(p).map(|t| t.lines().count()).unwrap_or(0)
}

#[test]
fn a_killed_sweep_resumes_to_the_results_of_an_uninterrupted_one() {
    let d = tempfile::tempdir().unwrap();
    let want = reference(d.path());
    let out = d.path().join("killed");
    let mut child = sweep().args(["--quiet", "--jobs", "1", "--out"]).arg(&out).spawn().unwrap();
    let log = out.join("rows.csv");
    while lines(&log) < 3 {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before it could be killed");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done = lines(&log) - 1;
    assert!((2..24).contains(&done), "killed after {done} points");
    assert!(!out.join("results.csv").exists(), "no results before the sweep finished");
    // A crash in the middle of writing a row leaves it without its newline.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    std::io::Write::write_all(&mut f, b"23,2,16,au").unwrap();
    drop(f);
    let o = ok(sweep().args(["--quiet", "--jobs", "1", "--out"]).arg(&out).output().unwrap());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&format!("{} points run, {done} already done", 24 - done)), "{text}");
    for f in ["results.csv", "results.json", "summary.md"] {
        assert_eq!(read(&out.join(f)), read(&want.join(f)), "{f}");
    }
}

#[test]
fn three_shards_merge_into_the_results_of_one_run() {
    let d = tempfile::tempdir().unwrap();
    let want = reference(d.path());
    let shard = |i: usize| d.path().join(format!("s{i}"));
    for i in 0..3 {
        let mut c = sweep();
        c.args(["--quiet", "--out"]).arg(shard(i));
        if i == 1 {
            // A Slurm array task finds its slice in the environment (tasks numbered from 1 here).
            c.env("SLURM_ARRAY_TASK_ID", "2").env("SLURM_ARRAY_TASK_MIN", "1").env("SLURM_ARRAY_TASK_COUNT", "3");
        } else {
            c.args(["--shard", &format!("{i}/3")]);
        }
        ok(c.output().unwrap());
        assert_eq!(lines(&shard(i).join("results.csv")), 1 + 8, "shard {i}: 8 of 24 points");
    }
    let merged = d.path().join("merged");
    let o = ok(sweep().arg("merge").arg("--out").arg(&merged).args((0..3).map(shard)).output().unwrap());
    assert!(String::from_utf8_lossy(&o.stdout).contains("24 of 24 points"));
    for f in ["results.csv", "results.json", "summary.md"] {
        assert_eq!(read(&merged.join(f)), read(&want.join(f)), "{f}");
    }
    // Shards of different sweeps do not merge.
    let other = d.path().join("other.toml");
    std::fs::write(&other, "[axes]\n\"array.rows\" = [1]\n").unwrap();
    ok(sweep().arg(&other).args(["--quiet", "--out"]).arg(d.path().join("o")).output().unwrap());
    let o = sweep()
        .arg("merge")
        .arg("--out")
        .arg(d.path().join("m2"))
        .arg(shard(0))
        .arg(d.path().join("o"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("another sweep"));
}

#[test]
fn bad_sweep_files_are_rejected_before_any_point_runs() {
    let d = tempfile::tempdir().unwrap();
    let cases = [
        ("[axes]\n\"array.colums\" = [8]\n", "axis `array.colums`: unknown key"),
        ("[axes]\n\"array.rows\" = []\n", "axis `array.rows` is empty"),
        ("[axes]\n\"array.rows\" = [2, 99]\n", "axis `array.rows` = 99"),
        ("[axes]\n\"layers.scale_group\" = [0]\n", "axis `layers.scale_group` = 0"),
        ("[axes]\n\"dram.bytes_per_cycle\" = { from = 1, to = 8 }\n", "axis `dram.bytes_per_cycle`"),
        // Values each of which suits some points, in a combination that does not: a codec
        // block of 16 channels on 8 lanes.
        (
            "[axes]\n\"array.cols\" = [16]\n\"array.lanes\" = [8, 32]\n\"codec.block\" = [8, 16]\n",
            "point 1 (array.cols = 16, array.lanes = 8, codec.block = 16) is invalid",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let f = d.path().join(format!("bad{i}.toml"));
        std::fs::write(&f, text).unwrap();
        let out = d.path().join(format!("out{i}"));
        let o = sweep().arg(&f).arg("--out").arg(&out).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{text}: {err}");
        assert!(!out.exists(), "{text}: wrote {}", out.display());
    }
    let o = sweep().args(["--shard", "3/3"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--shard `3/3`"));
}

#[test]
fn a_directory_of_another_sweep_is_not_overwritten() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("o");
    let a = d.path().join("a.toml");
    std::fs::write(&a, "[axes]\n\"array.rows\" = [1]\n").unwrap();
    ok(sweep().arg(&a).args(["--quiet", "--out"]).arg(&out).output().unwrap());
    let before = read(&out.join("results.csv"));
    let b = d.path().join("b.toml");
    std::fs::write(&b, "[axes]\n\"array.rows\" = [2]\n").unwrap();
    let o = sweep().arg(&b).args(["--quiet", "--out"]).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds results of another sweep"));
    assert_eq!(read(&out.join("results.csv")), before);
}

/// A one-layer network and input that fit the iCE40 board's small core, in `dir`.
fn small_network(dir: &Path) -> PathBuf {
    let net = "[input]\nshape = [4, 8, 8]\nbits = 4\n\n[[layer]]\nkind = \"conv\"\nout_channels = 4\nkernel = 3\n\
               padding = 1\nweights = \"w.npy\"\nscale_group = 2\nout_bits = 4\nout_scale = 0.5\n";
    std::fs::write(dir.join("net.toml"), net).unwrap();
    let w: Vec<f32> = (0..4 * 4 * 9).map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0).collect();
    std::fs::write(dir.join("w.npy"), cbnn::npyio::f32_to_npy(&[4, 4, 3, 3], &w)).unwrap();
    let x = cbnn::tensor::Tensor3::from_vec(4, 8, 8, (0..256).map(|i| i * 5 % 16).collect());
    std::fs::write(dir.join("x.npy"), cbnn::npyio::activations_to_npy(&x, cbnn::npyio::Elem::U8)).unwrap();
    dir.join("net.toml")
}

/// The iCE40 tools are there (or the test is skipped; in CI a failure).
fn have_ice40_tools(test: &str) -> bool {
    use cbnn_hdl::fpga::{tools, Target};
    match tools::find(Target::ICE40_HX8K) {
        Ok(_) => true,
        Err(e) => {
            assert!(!cbnn::tools::tools_required(), "{test}: {e} (CBNN_REQUIRE_TOOLS=1)");
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

fn board_config() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/boards/ice40-hx8k.toml")
}

/// A sweep of two points of one design (they differ in the DRAM latency only) with `--synth` on
/// the iCE40 board, in `dir` (with the small network); returns its path.
fn synth_sweep(dir: &Path) -> PathBuf {
    small_network(dir);
    let spec = format!(
        "config = {:?}\nnetwork = \"net.toml\"\ninputs = [\"x.npy\"]\n\n[axes]\n\"dram.latency_cycles\" = [16, 64]\n\n\
         [synth]\ntarget = \"ice40-hx8k\"\ncore_only = false\n",
        board_config().display().to_string()
    );
    std::fs::write(dir.join("s.toml"), spec).unwrap();
    dir.join("s.toml")
}

#[test]
fn synth_reads_each_design_from_the_cache() {
    if !have_ice40_tools("sweep --synth cache") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let s = synth_sweep(d.path());
    // The cache holds made-up figures for the design both points generate: the sweep reports
    // them for both and runs no flow.
    let cfg = cbnn::config::AccelConfig::from_file(&board_config()).unwrap();
    let section = cbnn_explore::sweep::spec::SynthSection { target: "ice40-hx8k".into(), core_only: false };
    let key = cbnn_explore::sweep::synth::cache_key(&cfg, &section).unwrap();
    let cache = d.path().join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    std::fs::write(cache.join(format!("{key}.json")), r#"["1234","567","8","0","true","77.5","true"]"#).unwrap();
    let out = d.path().join("o");
    ok(sweep()
        .arg(&s)
        .args(["--quiet", "--synth", "--synth-cache"])
        .arg(&cache)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    let csv = read(&out.join("results.csv"));
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3);
    assert!(rows[0].ends_with(",lut4,ff,bram,dsp,fits,fmax_mhz,timing_met"), "{}", rows[0]);
    for r in &rows[1..] {
        assert!(r.ends_with(",1234,567,8,0,true,77.5,true"), "{r}");
    }
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 1, "no flow ran");
}

/// The real flow: with `CBNN_SOAK=1` only (about 90 s of Yosys and nextpnr).
#[test]
fn synth_places_a_design_once_for_the_points_that_share_it() {
    if std::env::var("CBNN_SOAK").map_or(true, |v| v != "1") {
        eprintln!("SKIPPED sweep --synth with the flow: set CBNN_SOAK=1 (about 90 s)");
        return;
    }
    if !have_ice40_tools("sweep --synth") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let s = synth_sweep(d.path());
    let cache = d.path().join("cache");
    let run = |out: &str| {
        let o = d.path().join(out);
        ok(sweep()
            .arg(&s)
            .args(["--quiet", "--synth", "--synth-cache"])
            .arg(&cache)
            .arg("--out")
            .arg(&o)
            .output()
            .unwrap());
        read(&o.join("results.csv"))
    };
    let first = run("a");
    let entries: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    let json: Vec<&PathBuf> = entries.iter().filter(|p| p.extension().is_some_and(|e| e == "json")).collect();
    assert_eq!(json.len(), 1, "one design for both points: {entries:?}");
    let lines: Vec<&str> = first.lines().collect();
    let head: Vec<&str> = lines[0].split(',').collect();
    let col =
        |row: &str, name: &str| row.split(',').nth(head.iter().position(|h| *h == name).unwrap()).unwrap().to_string();
    assert_eq!(lines.len(), 3);
    for name in ["lut4", "ff", "bram", "fmax_mhz"] {
        assert_eq!(col(lines[1], name), col(lines[2], name), "{name}");
    }
    assert!(col(lines[1], "lut4").parse::<u64>().unwrap() > 1000);
    assert_eq!((col(lines[1], "fits").as_str(), col(lines[1], "timing_met").as_str()), ("true", "true"));
    assert!(col(lines[1], "fmax_mhz").parse::<f64>().unwrap() >= 50.0);
    // A second sweep of the same design reads the cache: the flow's work directory, removed
    // here, is not made again.
    for e in &entries {
        if e.is_dir() {
            std::fs::remove_dir_all(e).unwrap();
        }
    }
    assert_eq!(run("b"), first);
    assert!(std::fs::read_dir(&cache).unwrap().all(|e| !e.unwrap().path().is_dir()), "the flow ran again");
}

#[test]
fn labels_give_top1_accuracy_and_are_checked() {
    let d = tempfile::tempdir().unwrap();
    let net_path = small_network(d.path());
    // A second input, and each input's top class as the golden model computes it (relu outputs:
    // the top integer is the top real value).
    let x2 = cbnn::tensor::Tensor3::from_vec(4, 8, 8, (0..256).map(|i| i * 3 % 13).collect());
    std::fs::write(d.path().join("x2.npy"), cbnn::npyio::activations_to_npy(&x2, cbnn::npyio::Elem::U8)).unwrap();
    let net = cbnn::network::load_network(&net_path).unwrap();
    let cfg = cbnn::config::AccelConfig::default();
    let q = cbnn::quant::compile(&net, &cfg, None).unwrap();
    let top = |f: &str| {
        let bytes = std::fs::read(d.path().join(f)).unwrap();
        let x = cbnn::npyio::parse_activations(&bytes, 4, [4, 8, 8]).unwrap();
        let out = cbnn::golden::run(&q, &x).pop().unwrap();
        out.data.iter().enumerate().fold(0, |b, (i, &v)| if v > out.data[b] { i } else { b })
    };
    let (t1, t2) = (top("x.npy"), top("x2.npy"));
    let spec = |labels: String| {
        format!("network = \"net.toml\"\ninputs = [\"x.npy\", \"x2.npy\"]\nlabels = {labels}\n[axes]\n\"array.rows\" = [1, 2]\n")
    };
    // The first label right, the second wrong: half the inputs classified as labelled.
    std::fs::write(d.path().join("s.toml"), spec(format!("[{t1}, {}]", (t2 + 1) % 256))).unwrap();
    let out = d.path().join("o");
    ok(sweep().arg(d.path().join("s.toml")).args(["--quiet", "--out"]).arg(&out).output().unwrap());
    let csv = read(&out.join("results.csv"));
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let k = head.iter().position(|h| *h == "top1_accuracy").expect("a top1_accuracy column");
    for row in csv.lines().skip(1) {
        assert_eq!(row.split(',').nth(k).unwrap(), "0.5", "{row}");
    }
    // A batch file contributes each of its images, and labels may come from an integer .npy:
    // x.npy then the batch [x, x2, x2]; labels right, right, wrong, right: 3 of 4.
    let x = cbnn::npyio::parse_activations(&std::fs::read(d.path().join("x.npy")).unwrap(), 4, [4, 8, 8]).unwrap();
    let batch = [&x, &x2, &x2];
    std::fs::write(d.path().join("xb.npy"), cbnn::npyio::images_to_npy(&batch, true, cbnn::npyio::Elem::U8)).unwrap();
    let wrong = (t2 + 1) % 256;
    let y = cbnn::npyio::to_npy(&[4], [t1, t1, wrong, t2].into_iter().map(|c| c as u16));
    std::fs::write(d.path().join("y.npy"), y).unwrap();
    let file_spec = |labels: &str| {
        format!("network = \"net.toml\"\ninputs = [\"x.npy\", \"xb.npy\"]\nlabels = {labels}\n[axes]\n\"array.rows\" = [1, 2]\n")
    };
    std::fs::write(d.path().join("f.toml"), file_spec("\"y.npy\"")).unwrap();
    let out = d.path().join("f");
    ok(sweep().arg(d.path().join("f.toml")).args(["--quiet", "--out"]).arg(&out).output().unwrap());
    let csv = read(&out.join("results.csv"));
    for row in csv.lines().skip(1) {
        assert_eq!(row.split(',').nth(k).unwrap(), "0.75", "{row}");
    }
    std::fs::write(d.path().join("yf.npy"), cbnn::npyio::f32_to_npy(&[4], &[0.0; 4])).unwrap();
    std::fs::write(d.path().join("bad.toml"), file_spec("\"yf.npy\"")).unwrap();
    let o = sweep().arg(d.path().join("bad.toml")).arg("--out").arg(d.path().join("b")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.code() == Some(1) && err.contains("key `labels`: ") && err.contains("yf.npy"), "{err}");
    assert!(err.contains("expected integer values, found float32") && err.lines().count() == 1, "{err}");
    // Labels that do not fit the inputs or the classes.
    for (labels, want) in [("[1]", "1 labels for 2 images"), ("[0, 256]", "label 256 of image 1 out of range")] {
        std::fs::write(d.path().join("bad.toml"), spec(labels.into())).unwrap();
        let o = sweep().arg(d.path().join("bad.toml")).arg("--out").arg(d.path().join("b")).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.code() == Some(1) && err.contains("key `labels`") && err.contains(want), "{err}");
    }
}

/// The weight bits, cycles and accuracy columns of a results.csv, by point.
fn column(csv: &str, name: &str) -> Vec<String> {
    let head: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let k = head.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no column {name}"));
    csv.lines().skip(1).map(|r| r.split(',').nth(k).unwrap().to_string()).collect()
}

#[test]
fn a_network_axis_runs_each_network_and_refuses_one_of_another_input() {
    let d = tempfile::tempdir().unwrap();
    small_network(d.path());
    // A second network reading the same input: 8 filters instead of 4 (in its own directory).
    let other = d.path().join("wide");
    std::fs::create_dir(&other).unwrap();
    let net = read(&d.path().join("net.toml"))
        .replace("out_channels = 4", "out_channels = 8")
        .replace("scale_group = 2\n", "");
    std::fs::write(other.join("net.toml"), net).unwrap();
    let w: Vec<f32> = (0..8 * 4 * 9).map(|i| ((i * 5 % 13) as f32 - 6.0) / 6.0).collect();
    std::fs::write(other.join("w.npy"), cbnn::npyio::f32_to_npy(&[8, 4, 3, 3], &w)).unwrap();
    let spec = "network = \"net.toml\"\ninputs = [\"x.npy\"]\nlabels = [0]\n[axes]\nnetwork = [\"net.toml\", \"wide/net.toml\"]\n";
    std::fs::write(d.path().join("s.toml"), spec).unwrap();
    let out = d.path().join("o");
    ok(sweep().arg(d.path().join("s.toml")).args(["--quiet", "--out"]).arg(&out).output().unwrap());
    let csv = read(&out.join("results.csv"));
    assert_eq!(column(&csv, "network"), ["net.toml", "wide/net.toml"]);
    // Twice the filters: twice the binary weights (plus their multipliers and biases).
    let bits: Vec<u64> = column(&csv, "weight_bits").iter().map(|b| b.parse().unwrap()).collect();
    assert!(bits[1] > 2 * 144 && bits[0] < bits[1], "{bits:?}");
    for f in ["accuracy_vs_weight_memory.svg", "accuracy_vs_dram.svg"] {
        assert!(read(&out.join(f)).contains("top-1 accuracy"), "{f}");
    }
    // A network of another input shape: one line naming the axis, nothing run.
    let net = read(&other.join("net.toml")).replace("shape = [4, 8, 8]", "shape = [4, 6, 6]");
    std::fs::write(other.join("net.toml"), net).unwrap();
    let o = sweep().arg(d.path().join("s.toml")).args(["--quiet", "--out"]).arg(d.path().join("bad")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("axis `network`") && err.contains("[input]") && err.lines().count() == 1, "{err}");
    assert!(!d.path().join("bad").exists());
}

#[test]
fn a_codec_step_applies_where_the_same_point_sets_a_lossy_codec() {
    // The small network's one layer is stored raw: `layers.step` has no effect on it, except in
    // a point that also gives it a codec that quantises.
    let d = tempfile::tempdir().unwrap();
    small_network(d.path());
    let spec = "network = \"net.toml\"\ninputs = [\"x.npy\"]\n[[points]]\n\"layers.codec\" = \"raw\"\n\
                [[points]]\n\"layers.codec\" = \"golomb\"\n\"layers.step\" = 1\n\
                [[points]]\n\"layers.codec\" = \"golomb\"\n\"layers.step\" = 4\n";
    std::fs::write(d.path().join("s.toml"), spec).unwrap();
    let out = d.path().join("o");
    ok(sweep().arg(d.path().join("s.toml")).args(["--quiet", "--out"]).arg(&out).output().unwrap());
    let csv = read(&out.join("results.csv"));
    assert_eq!(column(&csv, "layers.step"), ["", "1", "4"]);
    // Golomb at step 1 is lossless (the raw point's fidelity); at step 4 it is not.
    let sqnr = column(&csv, "sqnr_db");
    assert_eq!(sqnr[0], sqnr[1]);
    assert_ne!(sqnr[1], sqnr[2]);
    // A step alone, on a network whose every layer is stored raw: no layer takes it.
    let bad = "network = \"net.toml\"\ninputs = [\"x.npy\"]\n[axes]\n\"layers.step\" = [2]\n";
    std::fs::write(d.path().join("bad.toml"), bad).unwrap();
    let o = sweep().arg(d.path().join("bad.toml")).args(["--quiet", "--out"]).arg(d.path().join("b")).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("axis `layers.step`") && err.trim().lines().count() == 1, "{err}");
    assert!(!d.path().join("b").exists());
}
