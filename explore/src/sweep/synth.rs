//! `sweep --synth`: each point's design through the FPGA flow of the `synth` program (Yosys and
//! nextpnr; the core alone out of context on an ECP5, or the board-level top), cached by a hash
//! of the generated Verilog, the target, the clock and the pin constraints, so that points which
//! generate the same design (they differ only in the network, the DRAM or the inputs) are placed
//! and routed once.

use anyhow::{bail, Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use super::spec::SynthSection;
use cbnn::config::AccelConfig;
use cbnn::fsutil;
use cbnn_hdl::fpga::design::{design, Design};
use cbnn_hdl::fpga::run::{run_flow, FlowOptions};
use cbnn_hdl::fpga::{tools, Target};

/// One lock per design being synthesised in this process.
static KEY_LOCKS: LazyLock<Mutex<HashMap<String, Arc<Mutex<()>>>>> = LazyLock::new(Default::default);

/// Checks a `[synth]` section: a target the flow knows, out of context only on an ECP5.
pub fn check_section(s: &SynthSection) -> Result<()> {
    let t = Target::parse(&s.target)?;
    if s.core_only && !t.family.has_out_of_context() {
        bail!("{}: its family has no out-of-context mode: set core_only = false (the board-level top)", s.target);
    }
    Ok(())
}

/// The default cache: `$XDG_CACHE_HOME/cbnn/synth` or `~/.cache/cbnn/synth`.
pub fn default_cache() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("cbnn").join("synth")
}

/// Checks that the tools for `s` are installed (before any point runs).
pub fn check_tools(s: &SynthSection) -> Result<()> {
    tools::find(Target::parse(&s.target)?).map(|_| ())
}

/// The design `s` synthesises for `cfg`, and its cache key: the hash of its Verilog, target,
/// clock, top and pin constraints.
fn keyed_design(cfg: &AccelConfig, s: &SynthSection) -> Result<(String, Design, Target)> {
    let target = Target::parse(&s.target)?;
    let d = design(cfg, target, s.core_only, cfg.clock.mhz, None)?;
    let mut text = format!("{}\n{}\n{}\n", target.name(), d.freq_mhz, d.top);
    if let Some(p) = &d.constraints {
        text.push_str(&std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?);
    }
    for m in &d.modules {
        text.push_str(&m.text);
    }
    Ok((super::store::hash_bytes(text.as_bytes()), d, target))
}

/// The name of `cfg`'s entry in the cache: `KEY.json`.
pub fn cache_key(cfg: &AccelConfig, s: &SynthSection) -> Result<String> {
    keyed_design(cfg, s).map(|(k, _, _)| k)
}

/// A point's synthesis cells for `cfg`: from the cache, or from a run of the flow.
pub fn figures(cfg: &AccelConfig, s: &SynthSection, cache: &Path) -> Result<Vec<String>> {
    let (key, d, target) = keyed_design(cfg, s)?;
    let entry = cache.join(format!("{key}.json"));
    // Points of one design that run at the same time: the first places and routes, the others
    // wait for it and read the cache.
    let lock = KEY_LOCKS.lock().unwrap().entry(key.clone()).or_default().clone();
    let _held = lock.lock().unwrap();
    if let Ok(t) = std::fs::read_to_string(&entry) {
        if let Ok(cells) = serde_json::from_str::<Vec<String>>(&t) {
            if cells.len() == super::metric::SYNTH_METRICS.len() {
                return Ok(cells);
            }
        }
    }
    let tools = tools::find(target)?;
    let work = cache.join(&key);
    fsutil::create_dir(&work)?;
    let r = run_flow(
        &tools,
        &d.modules,
        &FlowOptions { target, top: &d.top, constraints: d.constraints.as_deref(), freq_mhz: d.freq_mhz, out: &work },
    )
    .with_context(|| format!("synthesis of {} for {}", cfg.name, target.name()))?;
    let cells: Vec<String> = super::metric::SYNTH_METRICS
        .iter()
        .filter_map(|m| match m.eval {
            super::metric::Eval::Synth(f) => Some(f(&r)),
            _ => None,
        })
        .collect();
    fsutil::write_atomic(&entry, serde_json::to_string(&cells)?.as_bytes())?;
    Ok(cells)
}
