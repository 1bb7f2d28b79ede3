//! The generated core (docs/ARCHITECTURE.md, section 4): register file, layer controller, compute
//! unit and drain unit, composed structurally under the design's name (`cfg.name`).
//!
//! Ports: the register port (`reg_*`, the layer descriptor of `cbnn::hw::regs`), the parameter
//! port (`param_*`, the PPUs' scale and bias memories of `cbnn::hw::params`), `start` / `busy` /
//! `error`, and three valid/ready streams: activations in (one value per beat, HWC), weights in
//! (one L-bit word per beat) and results out (one beat of `C / G_hw` lanes). Stream orders:
//! `cbnn::hw::streams`.

use anyhow::Result;

use crate::compute::{compute_modules, ComputeShape};
use crate::controller::Controller;
use crate::drain::drain_modules;
use crate::netlist::{Dir, NetModule};
use crate::regfile::regfile_modules;
use crate::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::params::ppus;
use cbnn::hw::regs::{REGISTERS, REG_ADDR_BITS};

const CONTROLLER_REGS: &[&str] = &[
    "bands",
    "band_out_rows",
    "h_out",
    "filter_tiles",
    "row_beats",
    "tile_words",
    "band_span",
    "band_iy_step",
    "band_base_step",
    "row_base_step",
    "iy0_first",
    "band_base_first",
    "pad_base",
    "h",
    "stride",
];

const DRAIN_REGS: &[&str] = &["w_out", "shift", "mode", "out_bits"];

/// Widths of the top-level ports that depend on the config.
#[derive(Clone, Copy, Debug)]
pub struct TopShape {
    pub compute: ComputeShape,
    /// Lanes of the result stream (PPUs) and bits per lane.
    pub out_lanes: usize,
    pub out_lane_bits: usize,
    pub bias_bits: usize,
    /// Cycles from a run's end (`run_end`) to its sums being readable from the accumulators.
    pub store_delay: usize,
}

impl TopShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let compute = ComputeShape::from_config(cfg)?;
        Ok(TopShape {
            compute,
            out_lanes: ppus(cfg) as usize,
            out_lane_bits: cfg.datapath.acc_bits as usize,
            bias_bits: cfg.datapath.bias_bits() as usize,
            // The sequencer drops `busy` two cycles after its last read and the controller sees it
            // that cycle; the read reaches the accumulator's update stage `step_to_acc` cycles
            // after it was issued and is written one cycle later, so `step_to_acc` cycles after
            // `run_end` the sums are in the accumulator RAM.
            store_delay: compute.step_to_acc(),
        })
    }
}

fn top_module(cfg: &AccelConfig, s: &TopShape) -> Module {
    let d = cfg.name.as_str();
    let c = &s.compute;
    let mut m = NetModule::new(d);
    for p in ["clock", "reset", "reg_we", "param_we", "param_sel", "start"] {
        m.port(Dir::In, p, 1);
    }
    m.bus(Dir::In, "reg_addr", REG_ADDR_BITS as usize);
    m.bus(Dir::In, "reg_data", 32);
    m.bus(Dir::In, "param_ppu", 8);
    m.bus(Dir::In, "param_addr", 16);
    m.bus(Dir::In, "param_data", s.bias_bits);
    m.port(Dir::Out, "busy", 1);
    m.port(Dir::Out, "error", 1);
    m.port(Dir::In, "act_valid", 1);
    m.port(Dir::Out, "act_ready", 1);
    m.bus(Dir::In, "act_data", 8 * c.beat);
    m.port(Dir::In, "w_valid", 1);
    m.port(Dir::Out, "w_ready", 1);
    m.bus(Dir::In, "w_data", c.array.lanes);
    m.port(Dir::Out, "out_valid", 1);
    m.port(Dir::In, "out_ready", 1);
    m.bus(Dir::Out, "out_data", s.out_lanes * s.out_lane_bits);
    // Output row the sequencer is working on (progress, for waveforms and board LEDs).
    m.bus(Dir::Out, "row", 16);
    // The controller's phase (`controller::IDLE..FINISH`).
    m.bus(Dir::Out, "phase", 4);

    // Register file.
    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reg_we", "reg_we".into()),
        ("reg_addr", "reg_addr".into()),
        ("reg_data", "reg_data".into()),
    ];
    for (name, w) in REGISTERS {
        m.wire(&format!("r_{name}"), *w as usize);
    }
    for (name, _) in REGISTERS {
        conns.push((name, format!("r_{name}")));
    }
    m.instance(&format!("{d}_regs"), "regs", &conns);

    // Controller <-> compute unit <-> drain unit.
    for (name, w) in [
        ("act_en", 1),
        ("w_en", 1),
        ("c_act_ready", 1),
        ("c_act_busy", 1),
        ("c_w_ready", 1),
        ("load_start", 1),
        ("w_load_start", 1),
        ("go", 1),
        ("seq_busy", 1),
        ("acc_bank", 1),
        ("run_end", 1),
        ("overflow", 1),
        ("c_overflow", 1),
        ("d_overflow", 1),
        ("drain_start", 1),
        ("drain_busy", 1),
        ("drain_bank", 1),
        ("rd_bank", 1),
        ("y0", 16),
        ("iy0", 16),
        ("base0", 16),
        ("first_row", 16),
        ("drain_scale_addr", 16),
        ("drain_bias_base", 16),
    ] {
        m.wire(name, w);
    }
    m.wire("rd_x", c.x_bits);
    m.wire("rd_data", c.array.cols * c.acc);
    m.assign("act_ready", "c_act_ready & act_en");
    m.assign("w_ready", "c_w_ready & w_en");
    m.assign("overflow", "c_overflow | d_overflow");
    let stored = crate::compute::delay_chain(&mut m, d, "run_stored", "run_end".into(), 1, s.store_delay);

    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reset", "reset".into()),
        ("start", "start".into()),
        ("busy", "busy".into()),
        ("phase", "phase".into()),
        ("overflow", "overflow".into()),
        ("error", "error".into()),
        ("g_hw", format!("16'd{}", cfg.datapath.scale_group)),
        ("act_en", "act_en".into()),
        ("act_fire", "act_valid & act_ready".into()),
        ("act_busy", "c_act_busy".into()),
        ("w_en", "w_en".into()),
        ("w_fire", "w_valid & w_ready".into()),
        ("load_start", "load_start".into()),
        ("w_load_start", "w_load_start".into()),
        ("go", "go".into()),
        ("seq_busy", "seq_busy".into()),
        ("y0", "y0".into()),
        ("iy0", "iy0".into()),
        ("base0", "base0".into()),
        ("first_row", "first_row".into()),
        ("acc_bank", "acc_bank".into()),
        ("run_end", "run_end".into()),
        ("run_stored", stored),
        ("drain_start", "drain_start".into()),
        ("drain_busy", "drain_busy".into()),
        ("drain_bank", "drain_bank".into()),
        ("drain_scale_addr", "drain_scale_addr".into()),
        ("drain_bias_base", "drain_bias_base".into()),
    ];
    for r in CONTROLLER_REGS {
        conns.push((r, format!("r_{r}")));
    }
    m.instance(&format!("{d}_controller"), "controller", &conns);

    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("load_start", "load_start".into()),
        ("act_valid", "act_valid & act_en".into()),
        ("act_data", "act_data".into()),
        ("act_ready", "c_act_ready".into()),
        ("act_busy", "c_act_busy".into()),
        ("w_load_start", "w_load_start".into()),
        ("w_valid", "w_valid & w_en".into()),
        ("w_data", "w_data".into()),
        ("w_ready", "c_w_ready".into()),
        ("go", "go".into()),
        ("bank", "acc_bank".into()),
        ("busy", "seq_busy".into()),
        ("y0", "y0".into()),
        ("iy0", "iy0".into()),
        ("base0", "base0".into()),
        ("first_row", "first_row".into()),
        ("step_y", "row".into()),
        ("overflow", "c_overflow".into()),
        ("rd_bank", "rd_bank".into()),
        ("rd_x", "rd_x".into()),
        ("rd_data", "rd_data".into()),
    ];
    for r in crate::compute::REGISTER_INPUTS {
        conns.push((r, format!("r_{r}")));
    }
    m.instance(&format!("{d}_compute"), "compute", &conns);

    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("start", "drain_start".into()),
        ("bank", "drain_bank".into()),
        ("scale_addr", "drain_scale_addr".into()),
        ("bias_base", "drain_bias_base".into()),
        ("busy", "drain_busy".into()),
        ("rd_bank", "rd_bank".into()),
        ("rd_x", "rd_x".into()),
        ("rd_data", "rd_data".into()),
        ("param_we", "param_we".into()),
        ("param_sel", "param_sel".into()),
        ("param_ppu", "param_ppu".into()),
        ("param_addr", "param_addr".into()),
        ("param_data", "param_data".into()),
        ("out_valid", "out_valid".into()),
        ("out_ready", "out_ready".into()),
        ("out_data", "out_data".into()),
        ("overflow", "d_overflow".into()),
    ];
    for r in DRAIN_REGS {
        conns.push((r, format!("r_{r}")));
    }
    m.instance(&format!("{d}_drain"), "drain", &conns);
    m.finish()
}

/// Every module of the core generated from `cfg`, the top (named `cfg.name`) first, each distinct
/// module defined once.
pub fn core_modules(cfg: &AccelConfig) -> Result<Vec<Module>> {
    let d = cfg.name.as_str();
    let s = TopShape::from_config(cfg)?;
    let mut v = vec![top_module(cfg, &s)];
    v.extend(regfile_modules(d)?);
    v.extend(emit_block(Controller::default(), &format!("{d}_controller")));
    v.extend(compute_modules(d, cfg)?);
    v.extend(drain_modules(d, cfg)?);
    merge_checked(v)
}

#[cfg(test)]
mod tests;
