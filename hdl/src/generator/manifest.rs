//! What `gen-verilog` writes beside the Verilog: a JSON manifest of the generated core (its
//! config, derived sizes, ports, register map, stream formats and files) that testbenches and the
//! FPGA flow read instead of re-deriving anything.

use anyhow::Result;
use serde::Serialize;

use crate::generator::top::TopShape;
use crate::generator::verilog::Module;
use cbnn::config::AccelConfig;
use cbnn::hw::descriptor::{act_bank_words, weight_bank_words};
use cbnn::hw::params::{param_depths, ppus};
use cbnn::hw::regs::{REGISTERS, REG_ADDR_BITS};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Port {
    pub name: String,
    pub dir: String,
    pub width: usize,
}

/// The ports of a module, read from its Verilog header declarations.
pub fn ports(module: &Module) -> Vec<Port> {
    let mut v = Vec::new();
    for line in module.text.lines() {
        let t = line.trim();
        let (dir, rest) = if let Some(r) = t.strip_prefix("input wire ") {
            ("in", r)
        } else if let Some(r) = t.strip_prefix("output wire ") {
            ("out", r)
        } else {
            continue;
        };
        let rest = rest.trim_end_matches(';');
        let (width, name) = match rest.strip_prefix('[') {
            Some(r) => {
                let (range, name) = r.split_once(']').unwrap_or(("0:0", r));
                let hi: usize = range.split(':').next().and_then(|h| h.trim().parse().ok()).unwrap_or(0);
                (hi + 1, name.trim())
            }
            None => (1, rest.trim()),
        };
        v.push(Port { name: name.to_string(), dir: dir.to_string(), width });
    }
    v
}

#[derive(Serialize)]
pub struct Register {
    pub name: &'static str,
    pub address: usize,
    pub width: u32,
}

#[derive(Serialize)]
pub struct Derived {
    pub pes: u32,
    pub ppus: u32,
    pub act_bank_words: u32,
    pub weight_bank_words: u32,
    pub scale_entries_per_ppu: u32,
    pub bias_entries_per_ppu: u32,
    pub result_lanes: usize,
    pub result_lane_bits: usize,
    /// Cycles from a sequencer read to the column accumulators.
    pub read_to_accumulator_cycles: usize,
}

#[derive(Serialize)]
pub struct Manifest {
    pub top: String,
    pub generator: String,
    pub config: AccelConfig,
    pub derived: Derived,
    pub ports: Vec<Port>,
    pub register_address_bits: u32,
    pub registers: Vec<Register>,
    pub modules: Vec<String>,
    pub files: Vec<String>,
}

impl Manifest {
    pub fn new(cfg: &AccelConfig, modules: &[Module], files: Vec<String>) -> Result<Self> {
        let s = TopShape::from_config(cfg)?;
        let (scale_entries, bias_entries) = param_depths(cfg);
        let top = modules.iter().find(|m| m.name == cfg.name).ok_or_else(|| anyhow::anyhow!("no top module"))?;
        Ok(Manifest {
            top: cfg.name.clone(),
            generator: format!("cbnn-hdl {}", env!("CARGO_PKG_VERSION")),
            config: cfg.clone(),
            derived: Derived {
                pes: cfg.array.rows * cfg.array.cols,
                ppus: ppus(cfg),
                act_bank_words: act_bank_words(cfg),
                weight_bank_words: weight_bank_words(cfg),
                scale_entries_per_ppu: scale_entries,
                bias_entries_per_ppu: bias_entries,
                result_lanes: s.out_lanes,
                result_lane_bits: s.out_lane_bits,
                read_to_accumulator_cycles: s.compute.step_to_acc(),
            },
            ports: ports(top),
            register_address_bits: REG_ADDR_BITS,
            registers: REGISTERS
                .iter()
                .enumerate()
                .map(|(address, r)| Register { name: r.name, address, width: r.width })
                .collect(),
            modules: modules.iter().map(|m| m.name.clone()).collect(),
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_read_from_the_header() {
        let m = Module {
            name: "m".into(),
            text:
                "module m(a, b, c);\n    input wire a;\n    input wire [7:0] b;\n    output wire [0:0] c;\nendmodule\n"
                    .into(),
        };
        let p = ports(&m);
        assert_eq!(p.len(), 3);
        assert_eq!((p[0].name.as_str(), p[0].dir.as_str(), p[0].width), ("a", "in", 1));
        assert_eq!((p[1].name.as_str(), p[1].width), ("b", 8));
        assert_eq!((p[2].name.as_str(), p[2].dir.as_str(), p[2].width), ("c", "out", 1));
    }
}
