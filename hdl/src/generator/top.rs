//! The generated core (docs/ARCHITECTURE.md, section 4): register file, layer controller, compute
//! unit and drain unit, composed structurally under the design's name (`cfg.name`).
//!
//! Ports: the register port (`reg_*`, the layer descriptor of `cbnn::hw::regs`), the parameter
//! port (`param_*`, the PPUs' scale and bias memories of `cbnn::hw::params`), `start` / `busy` /
//! `error`, and three valid/ready streams: activations in (one block of values per beat),
//! weights in (one L-bit word per beat) and results out (one beat of `C / G_hw` lanes). Stream
//! orders: `cbnn::hw::streams`. With the codec (`codec.enabled`) the activation stream carries
//! compressed records into a decoder, k-bit and sign results leave as records through the gather
//! stage and encoder (`code_*`), and `bytes_in` / `bytes_out` count the compressed traffic
//! (`codec_paths`; docs/ARCHITECTURE.md, section 4).

use anyhow::Result;

use crate::blocks::compute::{compute_modules, ComputeShape};
use crate::blocks::controller::Controller;
use crate::blocks::drain::drain_modules;
use crate::blocks::gather::{gather_module, GatherShape};
use crate::blocks::regfile::regfile_modules;
use crate::generator::netlist::{Dir, NetModule, Stream};
use crate::generator::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::params::ppus;
use cbnn::hw::regs::{read_by, Block, REGISTERS, REG_ADDR_BITS};

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
    /// With the codec: bytes per beat of the compressed activation streams (`act_*` in,
    /// `code_*` out); `None` without (`act_*` then carries one block of values per beat).
    pub codec_port_bytes: Option<usize>,
}

impl TopShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let compute = ComputeShape::from_config(cfg)?;
        // The cycle simulator takes the same delay from `cbnn::hw::pipeline`.
        assert_eq!(
            compute.step_to_acc(),
            cbnn::hw::pipeline::step_to_acc(cfg.array.rows, cfg.array.cols),
            "the RTL's read-to-accumulator delay differs from cbnn::hw::pipeline's"
        );
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
            codec_port_bytes: cfg.codec.enabled.then_some(cfg.dram.bytes_per_cycle as usize),
        })
    }
}

/// The core's top level: its ports, the register file, the wires between the blocks, the stream
/// paths (straight, or through the codec; with or without the combine stage), and the
/// controller, compute unit and drain unit.
fn top_module(cfg: &AccelConfig, s: &TopShape) -> Module {
    let d = cfg.name.as_str();
    let mut m = NetModule::new(d);
    top_ports(&mut m, s);
    regfile_instance(&mut m, cfg);
    block_wires(&mut m, s);
    stream_paths(&mut m, cfg, s);
    controller_instance(&mut m, cfg, s);
    compute_instance(&mut m, d);
    drain_instance(&mut m, d);
    m.finish()
}

/// The top's ports: register and parameter ports, `start`/`busy`/`error`, the streams.
fn top_ports(m: &mut NetModule, s: &TopShape) {
    let c = &s.compute;
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
    m.stream_port(Dir::In, "act", 8 * s.codec_port_bytes.unwrap_or(c.beat));
    if s.codec_port_bytes.is_some() {
        m.bus(Dir::In, "act_nbytes", 5);
        m.port(Dir::In, "act_last", 1);
    }
    m.stream_port(Dir::In, "w", c.array.lanes);
    m.stream_port(Dir::Out, "out", s.out_lanes * s.out_lane_bits);
    if let Some(p) = s.codec_port_bytes {
        // The coded output records of k-bit and sign layers (accumulators leave on `out_*`),
        // and the layer's compressed bytes read and written.
        m.stream_port(Dir::Out, "code", 8 * p);
        m.bus(Dir::Out, "code_nbytes", 5);
        m.port(Dir::Out, "code_last", 1);
        m.bus(Dir::Out, "bytes_in", 32);
        m.bus(Dir::Out, "bytes_out", 32);
    }
    // Output row the sequencer is working on (progress, for waveforms and board LEDs).
    m.bus(Dir::Out, "row", 16);
    // The controller's phase (`cbnn::hw::control::Phase`).
    m.bus(Dir::Out, "phase", cbnn::hw::control::Phase::BITS);
}

/// The register file, and the registers a core without the combine stage ties to 0.
fn regfile_instance(m: &mut NetModule, cfg: &AccelConfig) {
    let d = cfg.name.as_str();
    // Register file.
    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reg_we", "reg_we".into()),
        ("reg_addr", "reg_addr".into()),
        ("reg_data", "reg_data".into()),
    ];
    for r in REGISTERS {
        m.wire(&format!("r_{}", r.name), r.width as usize);
    }
    for r in REGISTERS {
        let (name, w) = (r.name, r.width);
        if cfg.combine.enabled || !r.grouped_only {
            conns.push((name, format!("r_{name}")));
        } else {
            m.wire(&format!("nc_{name}"), w as usize);
            conns.push((name, format!("nc_{name}")));
            m.assign(&format!("r_{name}"), &format!("{w}'d0"));
        }
    }
    m.instance(&format!("{d}_regs"), "regs", &conns);
}

/// The wires between the controller, the compute unit, the drain unit and the stream paths.
fn block_wires(m: &mut NetModule, s: &TopShape) {
    let c = &s.compute;
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
        ("w_base0", 16),
        ("run_row", 8),
        ("run_shift", 8),
        ("ent_en", 1),
        ("ent_start", 1),
        ("rewind", 1),
        ("comb_start", 1),
        ("comb_busy", 1),
        ("oacc_base", 16),
        ("c_rd_bank", 1),
    ] {
        m.wire(name, w);
    }
    // The accumulators' read port: the drain unit's (conv and fc layers) or the combine stage's
    // (grouped layers), whose own accumulators then feed the drain unit.
    m.wire("rd_x", c.x_bits);
    m.wire("c_rd_x", c.x_bits);
    m.wire("rd_data", c.array.cols * c.acc);
    m.wire("d_rd_data", c.array.cols * c.acc);
    // The activation values into the compute unit (`a_*`) and the result beats out of the drain
    // unit (`d_*`): the top-level streams, or the codec's decoder and gather stage.
    m.wire("a_valid", 1);
    m.wire("a_data", 8 * c.beat);
    m.wire("d_valid", 1);
    m.wire("d_ready", 1);
    m.wire("d_data", s.out_lanes * s.out_lane_bits);
    m.wire("ctl_busy", 1);
    m.wire("ctl_error", 1);
}

/// The activation and result paths (straight to the ports, or through the codec) and the weight
/// and accumulator paths (with or without the combine stage).
fn stream_paths(m: &mut NetModule, cfg: &AccelConfig, s: &TopShape) {
    match s.codec_port_bytes {
        None => {
            m.assign("a_valid", "act_valid");
            m.assign("a_data", "act_data");
            m.assign("act_ready", "c_act_ready & act_en");
            m.assign("out_valid", "d_valid");
            m.assign("out_data", "d_data");
            m.assign("d_ready", "out_ready");
            m.assign("busy", "ctl_busy");
            m.assign("error", "ctl_error");
            let regs: Vec<String> =
                REGISTERS.iter().filter(|r| r.codec_only()).map(|r| format!("r_{}", r.name)).collect();
            m.wire("unused_codec_regs", 1);
            m.assign("unused_codec_regs", &format!("&{{1'b0, {}, 1'b0}}", regs.join(", ")));
        }
        Some(_) => codec_paths(m, cfg, s),
    }
    if cfg.combine.enabled {
        combine_paths(m, cfg);
    } else {
        m.assign("w_ready", "c_w_ready & w_en");
        m.assign("overflow", "c_overflow | d_overflow");
        m.assign("comb_busy", "1'b0");
        m.assign("c_rd_bank", "rd_bank");
        m.assign("c_rd_x", "rd_x");
        m.assign("d_rd_data", "rd_data");
        let unused: Vec<String> = ["ent_en", "ent_start", "rewind", "comb_start", "oacc_base"]
            .iter()
            .map(|w| w.to_string())
            .chain(REGISTERS.iter().filter(|r| r.grouped_only).map(|r| format!("nc_{}", r.name)))
            .chain(["r_entries".to_string()])
            .collect();
        m.wire("unused_combine", 1);
        m.assign("unused_combine", &format!("&{{1'b0, {}, 1'b0}}", unused.join(", ")));
    }
}

/// The layer controller, with the delayed error and run-end pulses it takes.
fn controller_instance(m: &mut NetModule, cfg: &AccelConfig, s: &TopShape) {
    let d = cfg.name.as_str();
    // The banks' range checks sit behind the sequencer's and loaders' address adders, and every
    // bank adds its flag: the controller takes their OR a cycle later (`error` is sticky; the
    // layer's accesses end long before `busy` falls).
    let overflow_q = crate::blocks::compute::delay_chain(m, d, "overflow_q", "overflow".into(), 1, 1);
    let stored = crate::blocks::compute::delay_chain(m, d, "run_stored", "run_end".into(), 1, s.store_delay);

    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reset", "reset".into()),
        ("start", "start".into()),
        ("busy", "ctl_busy".into()),
        ("phase", "phase".into()),
        ("overflow", overflow_q),
        ("error", "ctl_error".into()),
        ("g_hw", format!("16'd{}", cfg.datapath.scale_group)),
        ("act_en", "act_en".into()),
        ("act_fire", "a_valid & c_act_ready & act_en".into()),
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
        ("lanes", format!("16'd{}", cfg.array.lanes)),
        ("w_base0", "w_base0".into()),
        ("run_row", "run_row".into()),
        ("run_shift", "run_shift".into()),
        ("ent_en", "ent_en".into()),
        ("ent_start", "ent_start".into()),
        ("rewind", "rewind".into()),
        ("comb_start", "comb_start".into()),
        ("comb_busy", "comb_busy".into()),
        ("oacc_base", "oacc_base".into()),
    ];
    for r in read_by(Block::Controller) {
        conns.push((r.name, format!("r_{}", r.name)));
    }
    m.instance(&format!("{d}_controller"), "controller", &conns);
}

/// The compute unit: loaders, banks, sequencer, array, accumulators.
fn compute_instance(m: &mut NetModule, d: &str) {
    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("load_start", "load_start".into()),
        ("act_busy", "c_act_busy".into()),
        ("w_load_start", "w_load_start".into()),
        ("go", "go".into()),
        ("bank", "acc_bank".into()),
        ("busy", "seq_busy".into()),
        ("y0", "y0".into()),
        ("iy0", "iy0".into()),
        ("base0", "base0".into()),
        ("w_base0", "w_base0".into()),
        ("run_row", "run_row".into()),
        ("run_shift", "run_shift".into()),
        ("first_row", "first_row".into()),
        ("step_y", "row".into()),
        ("overflow", "c_overflow".into()),
        ("rd_bank", "c_rd_bank".into()),
        ("rd_x", "c_rd_x".into()),
        ("rd_data", "rd_data".into()),
    ];
    for r in read_by(Block::Compute) {
        conns.push((r.name, format!("r_{}", r.name)));
    }
    let act = Stream::new("a_valid & act_en", "a_data", "c_act_ready");
    let w = Stream::new("w_valid & w_en", "w_data", "c_w_ready");
    m.instance_with_streams(&format!("{d}_compute"), "compute", &conns, &[("act", &act), ("w", &w)]);
}

/// The drain unit: PPUs, parameter memories, result FIFO.
fn drain_instance(m: &mut NetModule, d: &str) {
    let mut conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("start", "drain_start".into()),
        ("bank", "drain_bank".into()),
        ("scale_addr", "drain_scale_addr".into()),
        ("bias_base", "drain_bias_base".into()),
        ("busy", "drain_busy".into()),
        ("rd_bank", "rd_bank".into()),
        ("rd_x", "rd_x".into()),
        ("rd_data", "d_rd_data".into()),
        ("param_we", "param_we".into()),
        ("param_sel", "param_sel".into()),
        ("param_ppu", "param_ppu".into()),
        ("param_addr", "param_addr".into()),
        ("param_data", "param_data".into()),
        ("overflow", "d_overflow".into()),
    ];
    for r in read_by(Block::Drain) {
        conns.push((r.name, format!("r_{}", r.name)));
    }
    m.instance_with_streams(&format!("{d}_drain"), "drain", &conns, &[("out", &Stream::named("d"))]);
}

/// The combine stage (slbf and penni layers): its entries arrive on the weight stream while the
/// controller's entry phase (`ent_en`) lasts; in a grouped layer it owns the column
/// accumulators' read port, and the drain unit reads its output accumulators.
fn combine_paths(m: &mut NetModule, cfg: &AccelConfig) {
    let d = cfg.name.as_str();
    for (name, w) in [("ent_ready", 1), ("m_overflow", 1), ("m_rd_bank", 1)] {
        m.wire(name, w);
    }
    let c = cfg.array.cols as usize * cfg.datapath.acc_bits as usize;
    m.wire("m_rd_x", cbnn::hw::descriptor::pixel_index_bits(cfg));
    m.wire("o_rd_data", c);
    m.assign("w_ready", "(c_w_ready & w_en) | (ent_ready & ent_en)");
    m.assign("overflow", "c_overflow | d_overflow | m_overflow");
    m.assign("c_rd_bank", "r_grouped ? m_rd_bank : rd_bank");
    m.assign("c_rd_x", "r_grouped ? m_rd_x : rd_x");
    m.assign("d_rd_data", "r_grouped ? o_rd_data : rd_data");
    let conns: Vec<(&str, String)> = vec![
        ("clock", "clock".into()),
        ("reset", "reset".into()),
        ("rewind", "rewind".into()),
        ("start", "comb_start".into()),
        ("bank", "drain_bank".into()),
        ("w_out", "r_w_out".into()),
        ("entries", "r_entries".into()),
        ("busy", "comb_busy".into()),
        ("ld_start", "ent_start".into()),
        ("acc_rd_bank", "m_rd_bank".into()),
        ("acc_rd_x", "m_rd_x".into()),
        ("acc_rd_data", "rd_data".into()),
        ("dr_base", "oacc_base".into()),
        ("dr_x", "rd_x".into()),
        ("rd_data", "o_rd_data".into()),
        ("overflow", "m_overflow".into()),
    ];
    let entries = Stream::new("w_valid & ent_en", "w_data", "ent_ready");
    m.instance_with_streams(&format!("{d}_combine"), "combine", &conns, &[("ld", &entries)]);
}

/// The codec on both activation paths: `act_*` records -> decoder -> compute unit; drain ->
/// gather stage -> encoder -> `code_*` records for k-bit and sign layers, the drain's beats
/// straight to `out_*` for accumulator layers (mode 0). The layer is busy until the encoder has
/// sent its last byte; the decoder's error joins the controller's.
fn codec_paths(m: &mut NetModule, cfg: &AccelConfig, s: &TopShape) {
    let d = cfg.name.as_str();
    let n = s.compute.beat;
    for (name, w) in [
        ("codec_start", 1),
        ("dec_in_ready", 1),
        ("dec_error", 1),
        ("is_acc", 1),
        ("g_ready", 1),
        ("g_busy", 1),
        ("enc_in_n", 5),
        ("enc_in_last", 1),
        ("enc_idle", 1),
    ] {
        m.wire(name, w);
    }
    let blocks = m.stream_wires("enc_in", 8 * n);
    // Reset puts the codec blocks in a known state too (they clear on `start`).
    m.assign("codec_start", "start | reset");
    m.assign("act_ready", "dec_in_ready & ctl_busy");
    m.assign("is_acc", &format!("r_mode == 2'd{}", cbnn::hw::descriptor::MODE_ACC));
    m.assign("out_valid", "d_valid & is_acc");
    m.assign("out_data", "d_data");
    m.assign("d_ready", "is_acc ? out_ready : g_ready");
    m.assign("busy", "ctl_busy | g_busy | ~enc_idle");
    m.assign("error", "ctl_error | dec_error");
    let params = |pre: &str| -> Vec<(&'static str, String)> {
        ["mode", "bits", "step_t", "keep", "eg"].into_iter().map(|p| (p, format!("r_{pre}_{p}"))).collect()
    };
    let mut conns: Vec<(&str, String)> = vec![("clock", "clock".into()), ("start", "codec_start".into())];
    conns.extend(params("ci"));
    conns.extend([
        ("t_ch", "r_t_ch".into()),
        ("t_w", "r_t_w".into()),
        ("in_nbytes", "act_nbytes".into()),
        ("in_last", "act_last".into()),
        ("bytes", "bytes_in".into()),
        ("error", "dec_error".into()),
    ]);
    let records = Stream::new("act_valid", "act_data", "dec_in_ready");
    let values = Stream::new("a_valid", "a_data", "c_act_ready & act_en");
    m.instance_with_streams(&format!("{d}_decoder"), "decoder", &conns, &[("in", &records), ("out", &values)]);
    let mut conns: Vec<(&str, String)> = vec![("clock", "clock".into()), ("start", "codec_start".into())];
    conns.extend(crate::blocks::gather::register_ports().into_iter().map(|r| (r, format!("r_{r}"))));
    conns.extend([("out_n", "enc_in_n".into()), ("out_last", "enc_in_last".into()), ("busy", "g_busy".into())]);
    let beats = Stream::new("d_valid & ~is_acc", "d_data", "g_ready");
    m.instance_with_streams(&format!("{d}_gather"), "gather", &conns, &[("in", &beats), ("out", &blocks)]);
    let mut conns: Vec<(&str, String)> = vec![("clock", "clock".into()), ("start", "codec_start".into())];
    conns.extend(params("co"));
    conns.extend([
        ("in_n", "enc_in_n".into()),
        ("in_last", "enc_in_last".into()),
        ("out_nbytes", "code_nbytes".into()),
        ("out_last", "code_last".into()),
        ("bytes", "bytes_out".into()),
        ("idle", "enc_idle".into()),
    ]);
    m.instance_with_streams(
        &format!("{d}_encoder"),
        "encoder",
        &conns,
        &[("in", &blocks), ("out", &Stream::named("code"))],
    );
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
    if cfg.combine.enabled {
        v.extend(crate::blocks::combine::combine_modules(d, cfg)?);
    }
    if cfg.codec.enabled {
        v.extend(crate::codec::codec_modules(d, cfg)?);
        v.push(gather_module(&format!("{d}_gather"), &GatherShape::from_config(cfg)?));
    }
    merge_checked(v)
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod codec_tests;

#[cfg(test)]
mod grouped_tests;

#[cfg(test)]
mod corrupt_tests;
