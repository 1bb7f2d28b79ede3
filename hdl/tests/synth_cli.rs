//! The `synth` program as a user runs it: the iCE40-HX8K board flow from config to bitstream
//! (Yosys, nextpnr-ice40, icepack; CI runs it), and bad input giving one line and no output.

use cbnn_hdl::fpga::{tools, Target};
use std::path::{Path, PathBuf};
use std::process::Command;

const SYNTH: &str = env!("CARGO_BIN_EXE_synth");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn synth(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(SYNTH).current_dir(repo()).args(args).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

/// The iCE40 tools, or a skip (a failure in CI) naming what to install.
fn have_ice40_tools(test: &str) -> bool {
    match tools::find(Target::ICE40_HX8K) {
        Ok(_) => true,
        Err(e) if cbnn::tools::tools_required() => panic!("{test}: {e} (CBNN_REQUIRE_TOOLS=1)"),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            false
        }
    }
}

#[test]
fn ice40_board_flow_gives_a_bitstream_that_meets_its_clock() {
    if !have_ice40_tools("iCE40 board flow") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("hx8k");
    let (code, stdout, err) = synth(&[
        "--target",
        "ice40-hx8k",
        "--config",
        "examples/boards/ice40-hx8k.toml",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let j: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        j,
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
    );
    let r = &j["report"];
    assert_eq!(r["out_of_context"], false);
    // Routed, and at least as fast as the clock the board's PLL makes from the config's.
    let want = j["config"]["clock"]["mhz"].as_f64().unwrap();
    let (fmax, target) = (r["pnr"]["fmax_mhz"].as_f64().unwrap(), r["pnr"]["target_mhz"].as_f64().unwrap());
    assert!((target - want).abs() <= 0.01 * want, "PLL {target} MHz for clock.mhz {want}");
    assert!(fmax >= target && r["pnr"]["timing_met"] == true, "Fmax {fmax} MHz against {target} MHz");
    let lc = &r["pnr"]["utilisation"]["ICESTORM_LC"];
    assert!(lc["used"].as_u64().unwrap() <= lc["available"].as_u64().unwrap());
    // The bitstream: an iCE40-HX8K image is 135100 bytes.
    let bit = PathBuf::from(r["bitstream"].as_str().unwrap());
    assert_eq!(std::fs::metadata(&bit).unwrap().len(), 135_100, "{}", bit.display());
    // Every LUT counted once, in one part; the board top and the core's parts are all there.
    let parts = r["area"]["parts"].as_object().unwrap();
    let sum: u64 = parts.values().map(|c| c["luts"].as_u64().unwrap()).sum();
    assert_eq!(sum, r["area"]["total"]["luts"].as_u64().unwrap());
    for p in ["PE array", "accumulators", "post-processing units", "buffers", "control", "board top"] {
        assert!(parts[p]["luts"].as_u64().unwrap() > 0, "no LUTs in {p}: {parts:?}");
    }
    assert!(r["area"]["total"]["bram"].as_u64().unwrap() > 0, "the ROMs and buffers are block RAM");
}

/// Each bad input: exit 1, one line naming what is wrong, no output directory.
#[test]
fn bad_input_gives_one_line_and_no_output() {
    let d = tempfile::tempdir().unwrap();
    let bad_key = d.path().join("bad.toml");
    std::fs::write(&bad_key, "name = \"x\"\n[array]\nrowz = 2\n").unwrap();
    let out = d.path().join("never");
    let o = out.to_str().unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--target", "ice41"], "ice40-hx8k"),
        (vec!["--target", "ice40-hx8k", "--core-only"], "out-of-context"),
        (vec!["--target", "ecp5-25k", "--config", "no/such.toml"], "no/such.toml"),
        (vec!["--target", "ecp5-25k", "--config", bad_key.to_str().unwrap()], "rowz"),
        (vec!["--target", "ecp5-25k", "--core-only", "--freq", "0"], "--freq"),
        (vec!["--target", "ice40-hx8k", "--freq", "900"], "clock.mhz = 900"),
        (vec!["--target", "ice40-hx8k", "--constraints", "no/pins.pcf"], "no/pins.pcf"),
        // The default config streams through the codec, which the board top does not take.
        (vec!["--target", "ice40-hx8k"], "codec.enabled"),
        (vec!["--target"], "--target"),
    ];
    for (args, needle) in cases {
        let mut a = args.clone();
        a.extend(["--out", o]);
        let (code, stdout, err) = synth(&a);
        assert_ne!(code, 0, "{args:?} succeeded: {stdout}");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{args:?}: {err}");
        assert!(lines[0].contains(needle), "{args:?}: expected `{needle}` in: {err}");
        assert!(!Path::new(&out).exists(), "{args:?} left {}", out.display());
    }
}
