//! Area of a synthesised (flattened) netlist, attributed to the parts of the core: Yosys keeps
//! the hierarchical instance path in the names of the cells it maps (`compute.array.pe_r1_c0.…`),
//! so every cell is counted once, in the part its path names (PE array, accumulators,
//! post-processing units, buffers, codec, control, board top), and in its instance.
//!
//! Why flattened: synthesised without flattening, constants do not cross module boundaries and
//! the same core measured 2.6 times the LUTs (each descriptor register decoding its own address).

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;

/// Cells of a netlist by kind, for iCE40 and ECP5 primitives alike.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cells {
    /// 4-input LUTs (iCE40 SB_LUT4, ECP5 LUT4).
    pub luts: u64,
    pub ffs: u64,
    /// Carry cells (SB_CARRY; CCU2C, each two bits of carry chain with its two LUTs).
    pub carry: u64,
    /// Block RAMs (SB_RAM40_4K, 4 kbit; DP16KD/PDPW16KD, 18 kbit).
    pub bram: u64,
    /// Multipliers (SB_MAC16; MULT18X18D, ALU54B).
    pub dsp: u64,
    /// Distributed RAM (ECP5 TRELLIS_DPR16X4, 16x4 bits in LUTs).
    pub lutram: u64,
    /// Everything else (wide-function muxes, I/O and clock buffers).
    pub other: u64,
}

impl Cells {
    fn add(&mut self, cell_type: &str, n: u64) {
        let slot = match cell_type {
            "SB_LUT4" | "LUT4" => &mut self.luts,
            "SB_CARRY" | "CCU2C" => &mut self.carry,
            "SB_MAC16" | "MULT18X18D" | "ALU54B" => &mut self.dsp,
            "TRELLIS_DPR16X4" => &mut self.lutram,
            "DP16KD" | "PDPW16KD" => &mut self.bram,
            t if t.starts_with("SB_RAM40_4K") => &mut self.bram,
            t if t.starts_with("SB_DFF") || t == "TRELLIS_FF" => &mut self.ffs,
            _ => &mut self.other,
        };
        *slot += n;
    }
}

/// The cells of one instance (a path of at most two levels, e.g. `compute.act_loader`).
#[derive(Clone, Debug, Serialize)]
pub struct InstanceArea {
    pub instance: String,
    pub part: String,
    pub cells: Cells,
}

#[derive(Clone, Debug, Serialize)]
pub struct AreaReport {
    pub total: Cells,
    /// Largest first (by LUTs).
    pub instances: Vec<InstanceArea>,
    pub parts: BTreeMap<String, Cells>,
}

/// The part of the design an instance name belongs to (None: it names no part).
fn part_of_instance(name: &str) -> Option<&'static str> {
    let starts = |ps: &[&str]| ps.iter().any(|p| name.starts_with(p));
    Some(if starts(&["uart", "selftest", "rom_", "act_player", "w_player"]) {
        "board top"
    } else if name == "array" || starts(&["pe_"]) {
        "PE array"
    } else if starts(&["col_acc"]) {
        "accumulators"
    } else if starts(&["ppu", "scale_mem", "bias_mem"]) {
        "post-processing units"
    } else if starts(&["act_bank", "weight_bank", "fifo"]) {
        "buffers"
    } else if starts(&["encoder", "decoder", "gather", "codec"]) {
        "codec"
    } else {
        return None;
    })
}

/// The part a cell belongs to, from the instance names of its path (outermost naming a part
/// wins); cells of the top level and of control instances are `control`.
pub fn part_of(path: &[&str]) -> &'static str {
    path.iter().find_map(|c| part_of_instance(c)).unwrap_or("control")
}

/// A path without the instances that wrap the core on a board (`board`, `core`).
fn strip_wrappers<'a, 'b>(comps: &'b [&'a str]) -> &'b [&'a str] {
    let n = comps.iter().take_while(|c| **c == "board" || **c == "core").count();
    &comps[n.min(comps.len().saturating_sub(1))..]
}

/// Parses Yosys's `write_json` netlist of the flattened design `top`.
pub fn parse_netlist(json: &str, top: &str) -> Result<AreaReport> {
    let v: serde_json::Value = serde_json::from_str(json).context("Yosys netlist (write_json)")?;
    let cells =
        v["modules"][top]["cells"].as_object().with_context(|| format!("Yosys netlist: no cells of module `{top}`"))?;
    let mut total = Cells::default();
    let mut parts: BTreeMap<String, Cells> = BTreeMap::new();
    let mut by_instance: BTreeMap<String, Cells> = BTreeMap::new();
    for (name, cell) in cells {
        let ty = cell["type"].as_str().unwrap_or("");
        // Names Yosys made up (`$abc$…`) carry no path: they count for the top level.
        let comps: Vec<&str> = if name.starts_with('$') { Vec::new() } else { name.split('.').collect() };
        // In the pin-level top the core sits at `board.core`: paths are counted from inside it.
        let comps = strip_wrappers(&comps);
        let path = &comps[..comps.len().saturating_sub(1)];
        total.add(ty, 1);
        parts.entry(part_of(path).to_string()).or_default().add(ty, 1);
        let inst = if path.is_empty() { "(top level)".to_string() } else { path[..path.len().min(2)].join(".") };
        by_instance.entry(inst).or_default().add(ty, 1);
    }
    let mut instances: Vec<InstanceArea> = by_instance
        .into_iter()
        .map(|(i, c)| {
            let comps: Vec<&str> = i.split('.').collect();
            InstanceArea { part: part_of(&comps).to_string(), instance: i, cells: c }
        })
        .collect();
    instances.sort_by(|a, b| b.cells.luts.cmp(&a.cells.luts).then(a.instance.cmp(&b.instance)));
    Ok(AreaReport { total, instances, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written netlist: three LUTs of two PEs, a PPU's multiplier, a register of the controller,
    /// a top-level LUT and a cell with a made-up name.
    const NETLIST: &str = r#"{ "modules": { "d": { "cells": {
        "compute.array.pe_r0_c0.hits_LUT4_Z": { "type": "LUT4" },
        "compute.array.pe_r0_c0.lanes_LUT4_Z": { "type": "LUT4" },
        "compute.array.pe_r0_c1.hits_LUT4_Z": { "type": "LUT4" },
        "compute.array.pe_r0_c1.psum_TRELLIS_FF_Q": { "type": "TRELLIS_FF" },
        "drain.ppu0.mul.p_MULT18X18D_P": { "type": "MULT18X18D" },
        "drain.ppu0.requant.v_CCU2C_S0": { "type": "CCU2C" },
        "compute.act_bank_r0_g1.ram.mem_DP16KD": { "type": "DP16KD" },
        "controller.state_TRELLIS_FF_Q": { "type": "TRELLIS_FF" },
        "act_ready_LUT4_Z": { "type": "LUT4" },
        "$abc$123$auto$blifparse": { "type": "LUT4" }
    } } } }"#;

    #[test]
    fn every_cell_counts_once_in_the_part_its_path_names() {
        let r = parse_netlist(NETLIST, "d").unwrap();
        assert_eq!((r.total.luts, r.total.ffs, r.total.dsp, r.total.carry, r.total.bram), (5, 2, 1, 1, 1));
        assert_eq!((r.parts["PE array"].luts, r.parts["PE array"].ffs), (3, 1));
        assert_eq!(r.parts["post-processing units"].dsp, 1);
        assert_eq!(r.parts["buffers"].bram, 1);
        assert_eq!((r.parts["control"].luts, r.parts["control"].ffs), (2, 1));
        let sum: u64 = r.parts.values().map(|c| c.luts).sum();
        assert_eq!(sum, r.total.luts);
        let top = r.instances.iter().find(|i| i.instance == "(top level)").unwrap();
        assert_eq!(top.cells.luts, 2);
        assert_eq!(r.instances[0].instance, "compute.array", "largest first");
    }

    /// On a board the core's cells sit under `board.core`: they count in the same parts, and the
    /// self-test's cells in the board top.
    #[test]
    fn board_paths_count_inside_the_core() {
        let board = NETLIST.replace("\"compute.", "\"board.core.compute.").replace(
            "\"controller.",
            "\"board.selftest.st_LUT4_Z\": { \"type\": \"LUT4\" },\n\"board.core.controller.",
        );
        let r = parse_netlist(&board, "d").unwrap();
        assert_eq!((r.parts["PE array"].luts, r.parts["buffers"].bram), (3, 1));
        assert_eq!(r.parts["board top"].luts, 1);
        assert!(r.instances.iter().any(|i| i.instance == "compute.array"), "{:?}", r.instances);
    }

    #[test]
    fn parts_follow_the_generated_instance_names() {
        for (path, p) in [
            (&["compute", "array", "pe_r1_c0"][..], "PE array"),
            (&["compute", "col_acc_c3", "add"][..], "accumulators"),
            (&["drain", "ppu2", "requant"][..], "post-processing units"),
            (&["drain", "bias_mem1"][..], "post-processing units"),
            (&["compute", "weight_bank_c0", "ram"][..], "buffers"),
            (&["drain", "fifo0"][..], "buffers"),
            (&["decoder"][..], "codec"),
            (&["compute", "sequencer"][..], "control"),
            (&[][..], "control"),
            (&["uart_rx"][..], "board top"),
            (&["rom_act_0"][..], "board top"),
            (&["selftest"][..], "board top"),
        ] {
            assert_eq!(part_of(path), p, "{path:?}");
        }
    }
}
