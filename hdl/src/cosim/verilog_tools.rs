//! Running emitted Verilog through the independent open tools: Icarus Verilog (simulation),
//! Verilator (lint), Yosys (synthesis check). Missing tools follow `cbnn::tools`' policy: skip on
//! a developer machine, fail in CI.

use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

pub const INSTALL_HINT: &str = "apt-get install iverilog verilator yosys";

/// True if Icarus Verilog can be used by `test` (else skip, or panic in CI).
pub fn have_icarus(test: &str) -> bool {
    cbnn::tools::available(test, "iverilog", &["-V"], INSTALL_HINT)
}

pub fn have_verilator(test: &str) -> bool {
    cbnn::tools::available(test, "verilator", &["--version"], INSTALL_HINT)
}

pub fn have_yosys(test: &str) -> bool {
    cbnn::tools::available(test, "yosys", &["-V"], INSTALL_HINT)
}

fn run(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd.output().with_context(|| format!("cannot start {what}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        bail!("{what} failed ({}):\n{text}", out.status);
    }
    Ok(text)
}

/// Compiles `sources` with Icarus (Verilog-2005) in `dir` and runs the simulation; returns its
/// standard output.
pub fn icarus_run(dir: &Path, sources: &[&Path], top: &str) -> Result<String> {
    let exe = dir.join(format!("{top}.vvp"));
    let mut c = Command::new("iverilog");
    c.args(["-g2005", "-Wall", "-s", top, "-o"]).arg(&exe).args(sources);
    run(&mut c, "iverilog")?;
    run(Command::new("vvp").arg("-n").arg(&exe).current_dir(dir), "vvp")
}

/// Splits emitted Verilog into `(module name, module text)` pairs, one per `module ... endmodule`.
/// Verilator -Wall expects one module per file named after it (DECLFILENAME).
pub fn split_modules(verilog: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in verilog.lines() {
        let t = line.trim_start();
        if current.is_none() {
            if let Some(rest) = t.strip_prefix("module ") {
                let name: String = rest.chars().take_while(|c| !matches!(c, '(' | ' ' | ';' | '#')).collect();
                current = Some((name, String::new()));
            }
        }
        if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
            if t.starts_with("endmodule") {
                out.push(current.take().unwrap());
            }
        }
    }
    out
}

/// Environment variable naming a directory where every design the tools are given is also kept,
/// as `TEST.N.v` (the test thread's name, then a per-thread counter). Running the tests with it
/// before and after a change to the generator shows whether the emitted Verilog changed, for every
/// config the tests build (docs/EXTENDING.md).
pub const DUMP_ENV: &str = "CBNN_VERILOG_DUMP";

pub(crate) fn dump_design(verilog: &str) {
    use std::cell::Cell;
    thread_local!(static COUNT: Cell<usize> = const { Cell::new(0) });
    let Some(dir) = std::env::var_os(DUMP_ENV) else { return };
    let n = COUNT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let thread = std::thread::current();
    let name = thread.name().unwrap_or("main").replace("::", ".");
    let path = Path::new(&dir).join(format!("{name}.{n}.v"));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|_| std::fs::write(&path, verilog)) {
        panic!("{DUMP_ENV}: cannot write {}: {e}", path.display());
    }
}

/// Writes each module of `verilog` to `dir/NAME.v`; returns the paths, top first as emitted.
pub fn write_split(dir: &Path, verilog: &str) -> Result<Vec<std::path::PathBuf>> {
    dump_design(verilog);
    split_modules(verilog)
        .into_iter()
        .map(|(name, text)| {
            let p = dir.join(format!("{name}.v"));
            std::fs::write(&p, text).with_context(|| format!("{}: cannot write", p.display()))?;
            Ok(p)
        })
        .collect()
}

/// `verilator --lint-only -Wall` on a design split one module per file; any warning is an error.
pub fn verilator_lint(files: &[std::path::PathBuf], top: &str) -> Result<()> {
    let mut c = Command::new("verilator");
    c.args(["--lint-only", "-Wall", "--top-module", top]).args(files);
    run(&mut c, "verilator --lint-only -Wall").map(|_| ())
}

/// Yosys reads the design, checks the hierarchy and synthesises it generically; warnings fail.
pub fn yosys_check(file: &Path, top: &str) -> Result<String> {
    let script = format!("read_verilog {}; synth -top {top}; check -assert; stat", file.display());
    let out = run(Command::new("yosys").args(["-p", &script]), "yosys")?;
    let warnings: Vec<&str> = out.lines().filter(|l| l.contains("Warning:")).collect();
    if !warnings.is_empty() {
        bail!("yosys warnings:\n{}", warnings.join("\n"));
    }
    Ok(out)
}

pub use crate::fpga::Family;

/// Synthesises the design for `family` and fails on errors, inferred latches, undriven signals or
/// any other problem `check -assert` reports. Returns the Yosys log.
pub fn yosys_synth(files: &[std::path::PathBuf], top: &str, family: Family) -> Result<String> {
    let synth = family.synth_command();
    let reads: Vec<String> = files.iter().map(|f| format!("read_verilog {};", f.display())).collect();
    let script = format!("{} {synth} -top {top}; check -assert; stat", reads.join(" "));
    let log = run(Command::new("yosys").args(["-p", &script]), &format!("yosys {synth}"))?;
    // ABC's own notes ("the network is combinational") are not design problems.
    let problems: Vec<&str> = log
        .lines()
        .filter(|l| !l.trim_start().starts_with("ABC:"))
        .filter(|l| l.contains("Latch inferred") || l.contains("Warning:") || l.contains("ERROR"))
        .collect();
    if !problems.is_empty() {
        bail!("yosys {synth} reported:\n{}", problems.join("\n"));
    }
    Ok(log)
}

/// The checks every emitted design must pass, as far as the tools are installed (skip on a
/// developer machine, fail in CI): `verilator --lint-only -Wall`, and Yosys synthesis for iCE40
/// and ECP5 with no latches, undriven nets or warnings. `test` names the caller in skip notes.
pub fn check_lint_and_synth(test: &str, modules: &[crate::generator::verilog::Module], top: &str) {
    check_lint_and_synth_for(test, modules, top, &[Family::Ice40, Family::Ecp5]);
}

/// As `check_lint_and_synth`, synthesising for `families` only (a large design's synthesis
/// takes minutes per family).
pub fn check_lint_and_synth_for(
    test: &str,
    modules: &[crate::generator::verilog::Module],
    top: &str,
    families: &[Family],
) {
    let dir = tempfile_dir();
    let files = write_split(dir.path(), &crate::generator::verilog::join(modules)).expect("write the design");
    if have_verilator(test) {
        verilator_lint(&files, top).unwrap_or_else(|e| panic!("{test}: {e}"));
    }
    if have_yosys(test) {
        for &family in families {
            yosys_synth(&files, top, family).unwrap_or_else(|e| panic!("{test}: {e}"));
        }
    }
}

/// Writes `testbench` (top module `tb`) beside the design's modules and runs it under Icarus;
/// returns its standard output. Files it writes with relative names land in `dir`.
pub fn icarus_run_with(dir: &Path, testbench: &str, modules: &[crate::generator::verilog::Module]) -> Result<String> {
    run_testbench(Simulator::Icarus, dir, testbench, modules).map(|(out, _)| out)
}

/// The event-driven simulators a testbench can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Simulator {
    Icarus,
    /// Verilator 5 compiling the testbench with `--binary --timing` (its delays run as
    /// coroutines): the emitted design as C++, optimised.
    Verilator,
}

/// Wall-clock seconds a testbench took: building it, and running it.
#[derive(Clone, Copy, Debug, Default)]
pub struct SimTiming {
    pub build_s: f64,
    pub run_s: f64,
}

/// As `icarus_run_with`, on `simulator`, also returning how long the build and the run took.
pub fn run_testbench(
    simulator: Simulator,
    dir: &Path,
    testbench: &str,
    modules: &[crate::generator::verilog::Module],
) -> Result<(String, SimTiming)> {
    let files = write_split(dir, &crate::generator::verilog::join(modules))?;
    let tb = dir.join("tb.v");
    std::fs::write(&tb, testbench).with_context(|| format!("{}: cannot write", tb.display()))?;
    let t0 = std::time::Instant::now();
    let mut build = match simulator {
        Simulator::Icarus => {
            let mut c = Command::new("iverilog");
            c.args(["-g2005", "-Wall", "-s", "tb", "-o", "tb.vvp"]);
            c
        }
        Simulator::Verilator => {
            // The testbench is behavioural (delays, $readmemh, integer loops): its style and
            // width warnings are not the design's, which `verilator_lint` checks with -Wall.
            let mut c = Command::new("verilator");
            c.args(["--binary", "--timing", "-O3", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "tb"]);
            c.args(["-j", "0", "--Mdir", "obj_dir", "-o", "Vtb"]);
            c
        }
    };
    build.current_dir(dir).arg(&tb).args(&files);
    run(&mut build, &format!("{simulator:?} build"))?;
    let built = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let out = match simulator {
        Simulator::Icarus => run(Command::new("vvp").args(["-n", "tb.vvp"]).current_dir(dir), "vvp")?,
        Simulator::Verilator => run(Command::new(dir.join("obj_dir/Vtb")).current_dir(dir), "the Verilator model")?,
    };
    Ok((out, SimTiming { build_s: built, run_s: t1.elapsed().as_secs_f64() }))
}

fn tempfile_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}
