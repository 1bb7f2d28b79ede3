//! The codebase's own rules (issue 26), checked on the workspace's library and program sources
//! (tests and benches excluded: a test may name its own expectations):
//! - every fact the RTL generator and the cycle simulator share has one definition: a
//!   module-level constant defined under the same name in two source files is a copy that can
//!   drift, and the facts both sides time their cycles by are defined exactly once, in `cbnn::hw`;
//! - functions a reader can hold: none longer than `LIMIT` lines, tests and data tables aside.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The source files of the workspace's libraries and programs (tests and benches excluded: a test
/// may name its own expectations).
fn sources() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["src", "hdl/src", "sim/src", "explore/src"].iter().map(|d| root.join(d)).collect();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".rs") && name != "tests.rs" && !name.ends_with("_tests.rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The module-level constants a file defines (`const NAME` at the start of a line, before its
/// inline `#[cfg(test)] mod tests { ... }`), with their line numbers.
fn constants(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("#[cfg(test)]") && lines.get(i + 1).is_some_and(|l| l.trim_end().ends_with('{')) {
            break;
        }
        let rest = line.strip_prefix("pub ").or_else(|| line.strip_prefix("pub(crate) ")).unwrap_or(line);
        if let Some(rest) = rest.strip_prefix("const ") {
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if name != "_" && name != "fn" && !name.is_empty() {
                out.push((name, i + 1));
            }
        }
    }
    out
}

#[test]
fn no_constant_is_defined_in_two_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in sources() {
        let text = std::fs::read_to_string(&p).unwrap();
        for (name, line) in constants(&text) {
            seen.entry(name).or_default().push(format!("{}:{line}", p.strip_prefix(root).unwrap().display()));
        }
    }
    assert!(seen.len() > 50, "the scan found only {} constants: is it reading the sources?", seen.len());
    let twice: Vec<String> =
        seen.iter().filter(|(_, at)| at.len() > 1).map(|(name, at)| format!("{name}: {}", at.join(", "))).collect();
    assert!(twice.is_empty(), "constants defined more than once:\n{}", twice.join("\n"));
}

/// The facts of issue 26's table, each with the one place that defines it. A second definition
/// anywhere (a constant, a function or a type of the same name) fails.
#[test]
fn each_shared_fact_has_one_home() {
    let homes = [
        ("enum Phase", "src/hw/control.rs"),
        ("const WEIGHT_SETTLE", "src/hw/control.rs"),
        ("const ACT_SETTLE", "src/hw/control.rs"),
        ("const RESULT_FIFO_BITS", "src/hw/pipeline.rs"),
        ("const DRAIN_FIRST_BEAT", "src/hw/pipeline.rs"),
        ("fn decoder_need", "src/hw/codec_geom.rs"),
        ("enum BlockMode", "src/codec/mod.rs"),
        ("fn row_beats", "src/hw/regs.rs"),
        ("fn tile_words", "src/hw/regs.rs"),
        ("fn entry_words", "src/hw/regs.rs"),
        ("fn queue_depth", "src/hw/dram.rs"),
        ("fn verilog_rules", "src/hw/dram.rs"),
        ("const SETUP_BITS", "src/hw/setup.rs"),
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files: Vec<(String, String)> = sources()
        .into_iter()
        .map(|p| (p.strip_prefix(root).unwrap().display().to_string(), std::fs::read_to_string(&p).unwrap()))
        .collect();
    for (item, home) in homes {
        let at: Vec<&str> = files
            .iter()
            .filter(|(_, text)| {
                text.lines().any(|l| {
                    let t = l.trim_start().trim_start_matches("pub(crate) ").trim_start_matches("pub ");
                    t.starts_with(item) && !t[item.len()..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
            })
            .map(|(p, _)| p.as_str())
            .collect();
        assert_eq!(at, vec![home], "{item} is defined in {at:?}, and should be only in {home}");
    }
}

const LIMIT: usize = 150;

/// Every function of `text` outside its inline test module: (name, first line, lines).
fn functions(text: &str) -> Vec<(String, usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].starts_with("#[cfg(test)]") && lines.get(i + 1).is_some_and(|l| l.trim_end().ends_with('{'))
        })
        .unwrap_or(lines.len());
    let mut out = Vec::new();
    let mut i = 0;
    while i < end {
        let t = lines[i].trim_start();
        let t = t.strip_prefix("pub ").or_else(|| t.strip_prefix("pub(crate) ")).unwrap_or(t);
        let t = t.strip_prefix("const ").unwrap_or(t);
        let Some(rest) = t.strip_prefix("fn ") else {
            i += 1;
            continue;
        };
        let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // The body: from the first `{` to its matching `}` (a declaration without a body ends at `;`).
        let (mut depth, mut started, mut j) = (0i32, false, i);
        while j < end {
            for c in lines[j].chars() {
                match c {
                    '{' => {
                        depth += 1;
                        started = true;
                    }
                    '}' => depth -= 1,
                    _ => {}
                }
            }
            if (started && depth == 0) || (!started && lines[j].trim_end().ends_with(';')) {
                break;
            }
            j += 1;
        }
        if started {
            out.push((name, i + 1, j - i + 1));
        }
        i = j + 1;
    }
    out
}

#[test]
fn no_function_is_longer_than_the_limit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut long = Vec::new();
    let mut seen = 0;
    for p in sources() {
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        for (name, line, n) in functions(&std::fs::read_to_string(&p).unwrap()) {
            seen += 1;
            if n > LIMIT {
                long.push(format!("{rel}:{line} {name}: {n} lines"));
            }
        }
    }
    assert!(seen > 500, "the scan found only {seen} functions");
    assert!(long.is_empty(), "functions above {LIMIT} lines:\n{}", long.join("\n"));
}
