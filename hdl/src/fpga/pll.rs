//! The board clock: the FPGA's PLL turns the board's oscillator into the config's clock
//! (`clock.mhz`), and the pin-level top (`{name}_fpga`: `clk`, `ser_rx`, `ser_tx`, `led[7:0]`,
//! the ports of constraints/) holds the PLL and the board-level top.
//!
//! Divider search as the vendors document the PLLs: iCE40 SB_PLL40 (Lattice TN1251: phase
//! detector 10..133 MHz, VCO 533..1066 MHz, `f = f_in * (DIVF+1) / ((DIVR+1) * 2^DIVQ)`), ECP5
//! EHXPLLL (Lattice TN1263: VCO 400..800 MHz, `f = f_in * CLKFB_DIV / CLKI_DIV`, VCO = `f *
//! CLKOP_DIV`).

use anyhow::{bail, Result};

use super::{Family, Target};
use crate::generator::verilog::Module;

/// PLL dividers for one target and the frequency they give.
#[derive(Clone, Debug, PartialEq)]
pub enum Pll {
    Ice40 { divr: u32, divf: u32, divq: u32, filter_range: u32, mhz: f64 },
    Ecp5 { clki_div: u32, clkfb_div: u32, clkop_div: u32, mhz: f64 },
}

impl Pll {
    /// The output frequency in MHz.
    pub fn mhz(&self) -> f64 {
        match self {
            Pll::Ice40 { mhz, .. } | Pll::Ecp5 { mhz, .. } => *mhz,
        }
    }
}

/// The board's oscillator in MHz.
pub fn board_clock_mhz(target: Target) -> f64 {
    target.osc_mhz
}

/// The PLL setting closest to `want` MHz from the board's oscillator; an error when the PLL
/// cannot come within 1 % of it.
pub fn pll_for(target: Target, want: f64) -> Result<Pll> {
    let f_in = board_clock_mhz(target);
    let mut best: Option<Pll> = None;
    let mut consider = |p: Pll| {
        if best.as_ref().is_none_or(|b| (p.mhz() - want).abs() < (b.mhz() - want).abs()) {
            best = Some(p);
        }
    };
    if target.family == Family::Ice40 {
        for divr in 0..16 {
            let pfd = f_in / (divr + 1) as f64;
            if !(10.0..=133.0).contains(&pfd) {
                continue;
            }
            for divf in 0..128 {
                let vco = pfd * (divf + 1) as f64;
                if !(533.0..=1066.0).contains(&vco) {
                    continue;
                }
                for divq in 1..7 {
                    let mhz = vco / (1u32 << divq) as f64;
                    // The loop filter range for the phase detector frequency (TN1251's table).
                    let filter_range = [17.0, 26.0, 44.0, 66.0, 101.0].iter().filter(|&&e| pfd >= e).count() as u32 + 1;
                    consider(Pll::Ice40 { divr, divf, divq, filter_range, mhz });
                }
            }
        }
    } else {
        for clki_div in 1..=128 {
            for clkfb_div in 1..=80 {
                let mhz = f_in * clkfb_div as f64 / clki_div as f64;
                let Some(clkop_div) = (1..=128).find(|d| (400.0..=800.0).contains(&(mhz * *d as f64))) else {
                    continue;
                };
                if f_in / clki_div as f64 >= 3.125 {
                    consider(Pll::Ecp5 { clki_div, clkfb_div, clkop_div, mhz });
                }
            }
        }
    }
    match best {
        Some(p) if (p.mhz() - want).abs() <= 0.01 * want => Ok(p),
        Some(p) => bail!(
            "clock.mhz = {want}: the {} PLL gets no closer than {:.3} MHz from the board's {f_in} MHz oscillator",
            target.name(),
            p.mhz()
        ),
        None => bail!("clock.mhz = {want}: no PLL setting for {}", target.name()),
    }
}

/// The pin-level top `{design}_fpga`: the PLL, and `board_top` clocked by it and held in its
/// power-on state until the PLL locks.
pub fn pin_top(design: &str, board_top: &str, pll: &Pll) -> Module {
    let name = format!("{design}_fpga");
    let pll_inst = match pll {
        Pll::Ice40 { divr, divf, divq, filter_range, .. } => format!(
            "    SB_PLL40_CORE #(.FEEDBACK_PATH(\"SIMPLE\"), .DIVR(4'd{divr}), .DIVF(7'd{divf}), .DIVQ(3'd{divq}), \
             .FILTER_RANGE(3'd{filter_range})) pll(\n\
             \x20       .REFERENCECLK(clk), .PLLOUTGLOBAL(clock), .LOCK(locked), .RESETB(1'b1), .BYPASS(1'b0));\n"
        ),
        Pll::Ecp5 { clki_div, clkfb_div, clkop_div, .. } => format!(
            "    EHXPLLL #(.CLKI_DIV({clki_div}), .CLKFB_DIV({clkfb_div}), .CLKOP_DIV({clkop_div}), \
             .CLKOP_CPHASE({}), .CLKOP_FPHASE(0), .CLKOP_ENABLE(\"ENABLED\"), .FEEDBK_PATH(\"CLKOP\")) pll(\n\
             \x20       .CLKI(clk), .CLKFB(clock), .CLKOP(clock), .LOCK(locked), .RST(1'b0), .STDBY(1'b0),\n\
             \x20       .PHASESEL0(1'b0), .PHASESEL1(1'b0), .PHASEDIR(1'b0), .PHASESTEP(1'b0), .PHASELOADREG(1'b0),\n\
             \x20       .PLLWAKESYNC(1'b0), .ENCLKOP(1'b0));\n",
            clkop_div - 1
        ),
    };
    let text = format!(
        "module {name}(clk, ser_rx, ser_tx, led);\n\
         \x20   input wire clk;\n    input wire ser_rx;\n    output wire ser_tx;\n    output wire [7:0] led;\n\
         \x20   wire clock, locked;\n\
         {pll_inst}\
         \x20   {board_top} board(.clock(clock), .locked(locked), .ser_rx(ser_rx), .ser_tx(ser_tx), .led(led));\n\
         endmodule // {name}\n"
    );
    Module { name, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The dividers reproduce the frequency they claim by the datasheet formulas, inside the
    /// PLLs' ranges; a frequency out of reach is refused.
    #[test]
    fn dividers_give_the_frequency_within_range() {
        for want in [25.0, 50.0, 75.0, 100.0] {
            match pll_for(Target::ICE40_HX8K, want).unwrap() {
                Pll::Ice40 { divr, divf, divq, mhz, .. } => {
                    let vco = 12.0 / (divr + 1) as f64 * (divf + 1) as f64;
                    assert!((533.0..=1066.0).contains(&vco), "{want}: vco {vco}");
                    assert!((vco / (1 << divq) as f64 - mhz).abs() < 1e-9);
                    assert!((mhz - want).abs() <= 0.01 * want, "{want}: {mhz}");
                }
                p => panic!("{p:?}"),
            }
            match pll_for(Target::ECP5_25K, want).unwrap() {
                Pll::Ecp5 { clki_div, clkfb_div, clkop_div, mhz } => {
                    assert!((25.0 * clkfb_div as f64 / clki_div as f64 - mhz).abs() < 1e-9);
                    assert!((400.0..=800.0).contains(&(mhz * clkop_div as f64)));
                    assert!((mhz - want).abs() <= 0.01 * want, "{want}: {mhz}");
                }
                p => panic!("{p:?}"),
            }
        }
        let e = pll_for(Target::ICE40_HX8K, 2000.0).unwrap_err().to_string();
        assert!(e.contains("clock.mhz = 2000"), "{e}");
    }
}
