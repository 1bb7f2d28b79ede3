//! External tools the tests need (Python with numpy, Icarus Verilog, Verilator, Yosys, nextpnr).
//!
//! Policy: on a developer machine without a tool, a test that needs it skips with a message
//! saying what to install; when `CBNN_REQUIRE_TOOLS=1` (CI sets it) a missing tool fails the test,
//! so CI can never pass by skipping.

use std::process::{Command, Stdio};

/// The environment variable that turns "skip" into "fail".
pub const REQUIRE_ENV: &str = "CBNN_REQUIRE_TOOLS";

/// True when `program args...` runs and exits 0.
pub fn runs(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Whether missing tools must fail (CI) rather than skip (developer machine).
pub fn tools_required() -> bool {
    std::env::var(REQUIRE_ENV).map(|v| v == "1").unwrap_or(false)
}

/// Returns true if the tool is usable. Otherwise prints a skip note naming `install` and returns
/// false, or panics when tools are required.
pub fn available(test: &str, program: &str, probe_args: &[&str], install: &str) -> bool {
    if runs(program, probe_args) {
        return true;
    }
    let msg = format!("{test}: `{program}` is not usable here; install it with: {install}");
    if tools_required() {
        panic!("{msg} ({REQUIRE_ENV}=1, so this is a failure, not a skip)");
    }
    eprintln!("SKIPPED {msg}");
    false
}

/// Python 3 with numpy (the independent SPEC implementation in testbenches/spec_ref).
pub fn python_numpy(test: &str) -> bool {
    available(test, "python3", &["-c", "import numpy"], "apt-get install python3 python3-numpy (or pip install numpy)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_reported_missing() {
        assert!(!runs("cbnn-no-such-program-xyz", &[]));
        assert!(runs("sh", &["-c", "exit 0"]));
        assert!(!runs("sh", &["-c", "exit 3"]));
    }
}
