//! What the flow places and routes for a config: the core alone (ECP5 out of context), or the
//! pin-level top around the board top (PLL, self-test, UART) with the board's pin constraints.
//! Shared by the `synth` program and `sweep --synth`.

use anyhow::{bail, Result};
use std::path::PathBuf;

use super::pll::{pin_top, pll_for};
use super::Target;
use crate::fpga::board::{board_modules, board_top_name, DEFAULT_BAUD};
use crate::generator::top::core_modules;
use crate::generator::verilog::Module;
use cbnn::config::AccelConfig;

/// The modules, top, constraints and clock of one flow run.
pub struct Design {
    pub modules: Vec<Module>,
    pub top: String,
    /// Pin constraints (board-level runs); `None` for the core alone.
    pub constraints: Option<PathBuf>,
    /// The clock the flow is timed at: the requested one, or what the board's PLL makes of it.
    pub freq_mhz: f64,
}

/// The repository's constraints/ directory (the build's source tree).
pub fn constraints_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../constraints")
}

/// The design for `cfg` on `target` at `freq` MHz: the core alone (`core_only`, ECP5 only), or
/// the board-level top with `constraints` (default: constraints/<board>.pcf or .lpf).
pub fn design(
    cfg: &AccelConfig,
    target: Target,
    core_only: bool,
    freq: f64,
    constraints: Option<PathBuf>,
) -> Result<Design> {
    if !(freq > 0.0 && freq <= 1000.0) {
        bail!("--freq {freq}: expected a frequency in MHz, above 0 and at most 1000");
    }
    if core_only && !target.family.has_out_of_context() {
        bail!("--target {}: its family has no out-of-context mode, so --core-only needs an ECP5 target", target.name());
    }
    if core_only {
        if constraints.is_some() {
            bail!("--constraints: a --core-only run has no pins");
        }
        return Ok(Design { modules: core_modules(cfg)?, top: cfg.name.clone(), constraints: None, freq_mhz: freq });
    }
    let (ext, ..) = target.family.pin_files();
    let pins = constraints.unwrap_or_else(|| constraints_dir().join(format!("{}.{ext}", target.board())));
    if !pins.is_file() {
        bail!("{}: no such constraints file (give one with --constraints FILE)", pins.display());
    }
    let pll = pll_for(target, freq)?;
    let (mut modules, _) = board_modules(cfg, pll.mhz(), DEFAULT_BAUD)?;
    modules.insert(0, pin_top(&cfg.name, &board_top_name(cfg), &pll));
    Ok(Design { modules, top: format!("{}_fpga", cfg.name), constraints: Some(pins), freq_mhz: pll.mhz() })
}
