//! Area from Yosys's per-module statistics (`stat -json` after synthesis without flattening): the
//! cells of every module counted once per instance, and summed by part of the core (PE array,
//! accumulators, post-processing units, buffers, codec, control, board top).

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

    fn add_scaled(&mut self, o: &Cells, k: u64) {
        self.luts += o.luts * k;
        self.ffs += o.ffs * k;
        self.carry += o.carry * k;
        self.bram += o.bram * k;
        self.dsp += o.dsp * k;
        self.lutram += o.lutram * k;
        self.other += o.other * k;
    }
}

/// One module of the design: its own cells (not its submodules') and how often it is instantiated.
#[derive(Clone, Debug, Serialize)]
pub struct ModuleArea {
    pub module: String,
    pub part: String,
    pub instances: u64,
    pub per_instance: Cells,
    pub total: Cells,
}

#[derive(Clone, Debug, Serialize)]
pub struct AreaReport {
    pub total: Cells,
    /// Largest first (by LUTs).
    pub modules: Vec<ModuleArea>,
    pub parts: BTreeMap<String, Cells>,
}

/// The part of the core a module of design `design` belongs to, by its generated name.
pub fn part_of(module: &str, design: &str) -> &'static str {
    let Some(rest) = module.strip_prefix(design) else { return "board top" };
    let rest = rest.trim_start_matches('_');
    let starts = |ps: &[&str]| ps.iter().any(|p| rest.starts_with(p));
    if starts(&["board", "uart", "selftest"]) {
        "board top"
    } else if rest == "array" || starts(&["pe"]) {
        "PE array"
    } else if starts(&["col_acc"]) {
        "accumulators"
    } else if starts(&["ppu", "scale_mem", "bias_mem"]) {
        "post-processing units"
    } else if starts(&["act_bank", "weight_bank", "drain_fifo"]) {
        "buffers"
    } else if starts(&["encoder", "decoder", "gather", "codec"]) {
        "codec"
    } else {
        "control"
    }
}

/// The `"modules": {...}` object of `stat -json`'s output. Yosys 0.23 appends the design
/// hierarchy as text inside the JSON when the design has one, so the file as a whole does not
/// parse; module names hold no braces, so the object ends where its braces balance.
fn modules_object(json: &str) -> Result<&str> {
    let key = json.find("\"modules\"").context("Yosys `stat -json` output: no `modules`")?;
    let start = key + json[key..].find('{').context("Yosys `stat -json` output: `modules` has no object")?;
    let mut depth = 0usize;
    for (i, ch) in json[start..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Ok(&json[start..=start + i]);
                }
            }
            _ => {}
        }
    }
    anyhow::bail!("Yosys `stat -json` output: `modules` is not closed")
}

/// Parses `stat -json` of a hierarchical netlist whose top module is `top`.
pub fn parse_stat(json: &str, top: &str, design: &str) -> Result<AreaReport> {
    let v: serde_json::Value = serde_json::from_str(modules_object(json)?).context("Yosys `stat -json` output")?;
    let modules = v.as_object().context("Yosys `stat -json` output: `modules` is not an object")?;
    let name = |k: &str| k.trim_start_matches('\\').to_string();
    let mut own: BTreeMap<String, Cells> = BTreeMap::new();
    let mut children: BTreeMap<String, Vec<(String, u64)>> = BTreeMap::new();
    for (k, m) in modules {
        let mut cells = Cells::default();
        let mut subs = Vec::new();
        for (t, n) in m["num_cells_by_type"].as_object().into_iter().flatten() {
            let n = n.as_u64().unwrap_or(0);
            let t = name(t);
            if modules.contains_key(&format!("\\{t}")) || modules.contains_key(&t) {
                subs.push((t, n));
            } else {
                cells.add(&t, n);
            }
        }
        own.insert(name(k), cells);
        children.insert(name(k), subs);
    }
    if !own.contains_key(top) {
        anyhow::bail!("Yosys statistics: no module `{top}`");
    }
    let mut count: BTreeMap<String, u64> = BTreeMap::new();
    let mut stack = vec![(top.to_string(), 1u64)];
    while let Some((m, k)) = stack.pop() {
        *count.entry(m.clone()).or_default() += k;
        for (c, n) in &children[&m] {
            stack.push((c.clone(), k * n));
        }
    }
    let mut total = Cells::default();
    let mut parts: BTreeMap<String, Cells> = BTreeMap::new();
    let mut list = Vec::new();
    for (m, k) in &count {
        let mut t = Cells::default();
        t.add_scaled(&own[m], *k);
        total.add_scaled(&own[m], *k);
        let part = part_of(m, design);
        parts.entry(part.to_string()).or_default().add_scaled(&own[m], *k);
        list.push(ModuleArea {
            module: m.clone(),
            part: part.into(),
            instances: *k,
            per_instance: own[m].clone(),
            total: t,
        });
    }
    list.sort_by(|a, b| b.total.luts.cmp(&a.total.luts).then(a.module.cmp(&b.module)));
    Ok(AreaReport { total, modules: list, parts })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written statistics file: top with two PEs (each with one popcount) and a controller.
    const STAT: &str = r#"{ "modules": {
        "\\d": { "num_cells_by_type": { "d_pe": 2, "d_controller": 1, "SB_GB": 1 } },
        "\\d_pe": { "num_cells_by_type": { "SB_LUT4": 10, "SB_DFFE": 4, "d_pe_pop": 1 } },
        "\\d_pe_pop": { "num_cells_by_type": { "SB_LUT4": 3, "SB_CARRY": 2 } },
        "\\d_controller": { "num_cells_by_type": { "SB_LUT4": 7, "SB_DFFR": 5, "SB_RAM40_4K": 1 } }
    },
       d_pe  2
    "#;

    #[test]
    fn cells_are_counted_per_instance_and_summed_by_part() {
        let r = parse_stat(STAT, "d", "d").unwrap();
        assert_eq!(r.total.luts, 2 * 10 + 2 * 3 + 7);
        assert_eq!(r.total.ffs, 2 * 4 + 5);
        assert_eq!(r.total.carry, 4);
        assert_eq!(r.total.bram, 1);
        assert_eq!(r.total.other, 1);
        assert_eq!(r.parts["PE array"].luts, 26);
        assert_eq!(r.parts["control"].luts, 7);
        let pop = r.modules.iter().find(|m| m.module == "d_pe_pop").unwrap();
        assert_eq!((pop.instances, pop.total.luts), (2, 6));
        assert_eq!(r.modules[0].module, "d_pe", "largest first");
    }

    #[test]
    fn parts_follow_the_generated_names() {
        for (m, p) in [
            ("x_pe_pop_lanes", "PE array"),
            ("x_array", "PE array"),
            ("x_col_acc_ram0", "accumulators"),
            ("x_ppu_mul", "post-processing units"),
            ("x_bias_mem_ram", "post-processing units"),
            ("x_act_bank_ram", "buffers"),
            ("x_decoder", "codec"),
            ("x_sequencer", "control"),
            ("x", "control"),
            ("uart_rx", "board top"),
        ] {
            assert_eq!(part_of(m, "x"), p, "{m}");
        }
    }
}
