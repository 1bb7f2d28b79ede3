//! The combine stage (docs/ARCHITECTURE.md, section 10): runs the second stage of slbf and penni
//! layers. After a stage-1 run has left its maps in a column accumulator bank, a *pass* adds,
//! for each of the run's entries and each pixel of the row, `coef * acc[j][x]` into the output
//! accumulator word `a + x` of every lane; the drain unit then reads the finished row from the
//! output accumulators instead of the column accumulators.
//!
//! Composed structurally (`netlist.rs`) from rust-hdl blocks: `WeightLoader` (the entries arrive
//! on the weight stream, `EntryFormat::words` words each: word `i` to entry bank `i mod (C*k)` at
//! address `i div (C*k)`, i.e. part `i mod k` of lane `(i div k) mod C`), `C*k` entry `Bank`s,
//! `CombineCtl` (pass sequencing, drain address) and `C` `CombineLane`s. The glue slices each
//! lane's entry into its fields and selects the entry's column from the accumulators' read data.
//! Host images: `cbnn::hw::combine`.

pub mod ctl;
pub mod lane;

use anyhow::{bail, Result};

use crate::blocks::bank::Bank;
use crate::blocks::drain::addr_bits;
use crate::blocks::weight_loader::WeightLoader;
use crate::generator::netlist::{slice, Dir, NetModule};
use crate::generator::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::combine::{entry_depth, oacc_words, EntryFormat};
use ctl::CombineCtl;
use lane::CombineLane;

/// Every generation parameter of the combine stage, from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CombineShape {
    pub cols: usize,
    pub lanes: usize,
    pub acc: usize,
    pub x_bits: usize,
    pub format: EntryFormat,
    /// Array-lane words per entry (`k`).
    pub words: usize,
    /// Address bits of the entry banks and of the output accumulators.
    pub entry_bits: usize,
    pub oacc_bits: usize,
}

impl CombineShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let format = EntryFormat::new(cfg);
        let depth = entry_depth(cfg);
        let s = CombineShape {
            cols: cfg.array.cols as usize,
            lanes: cfg.array.lanes as usize,
            acc: cfg.datapath.acc_bits as usize,
            x_bits: cbnn::hw::descriptor::pixel_index_bits(cfg),
            format,
            words: format.words(cfg) as usize,
            entry_bits: addr_bits(depth),
            oacc_bits: addr_bits(oacc_words(cfg)),
        };
        if depth < 16 {
            bail!("combine.entry_kib = {} holds {depth} entries per lane; expected at least 16", cfg.combine.entry_kib);
        }
        if !(4..=15).contains(&s.oacc_bits) {
            bail!(
                "the combine stage's output accumulators need {} words per lane (limits.max_channels / array.cols * limits.max_width); expected 16 to 32768",
                oacc_words(cfg)
            );
        }
        if s.cols * s.words > 256 {
            bail!("array.cols = {} with {}-word entries exceeds the entry loader's 256 banks", s.cols, s.words);
        }
        Ok(s)
    }
}

struct Names {
    unit: String,
    ctl: String,
    lane: String,
    bank: String,
    loader: String,
    reg1: String,
}

impl Names {
    fn new(d: &str) -> Self {
        Names {
            unit: format!("{d}_combine"),
            ctl: format!("{d}_combine_ctl"),
            lane: format!("{d}_combine_lane"),
            bank: format!("{d}_entry_bank"),
            // The compute unit's weight loader: the same block, more banks.
            loader: format!("{d}_weight_loader"),
            // The compute unit's one-bit register.
            reg1: format!("{d}_reg1"),
        }
    }
}

/// Lane `l`'s selected column: a chain of compares on its entry's `j` field over the `C`
/// columns of the accumulators' read data.
fn column_select(s: &CombineShape, j: &str) -> String {
    let (a, jb) = (s.acc, s.format.j_bits);
    let mut expr = slice("acc_rd_data", s.cols - 1, a);
    for c in (0..s.cols - 1).rev() {
        expr = format!("({j} == {jb}'d{c}) ? {} : {expr}", slice("acc_rd_data", c, a));
    }
    expr
}

/// The combine stage: the entry loader and the pass control, then per column lane its entry
/// banks, the fields of its entry and its lane, and the OR of every overflow flag.
fn combine_module(s: &CombineShape, n: &Names) -> Module {
    let mut m = NetModule::new(&n.unit);
    combine_ports(&mut m, s);
    combine_control(&mut m, s, n);
    let mut overflow = Vec::new();
    // Bits an entry must have clear (above its fields) and lanes' `last` bits (equal to lane
    // 0's): a misaligned entry stream shows there, and raises `overflow` like a bank access
    // out of range.
    let mut bad = Vec::new();
    for lane in 0..s.cols {
        entry_lane(&mut m, s, n, lane, &mut overflow, &mut bad);
    }
    m.wire("e_bad", 1);
    m.wire("e_bad_q", 1);
    let bad = if bad.is_empty() { "1'b0".to_string() } else { bad.join(" | ") };
    m.assign("e_bad", &format!("s1_valid & ({bad})"));
    m.instance(&n.reg1, "e_bad_reg", &[("clock", "clock".into()), ("d", "e_bad".into()), ("q", "e_bad_q".into())]);
    overflow.push("e_bad_q".into());
    m.assign("overflow", &overflow.join(" | "));
    m.finish()
}

/// The stage's ports and the wires between its loader, control and lanes.
fn combine_ports(m: &mut NetModule, s: &CombineShape) {
    let (c_n, l, a) = (s.cols, s.lanes, s.acc);
    for p in ["clock", "reset", "rewind", "start", "bank", "ld_start", "ld_valid"] {
        m.port(Dir::In, p, 1);
    }
    for p in ["w_out", "entries", "dr_base"] {
        m.bus(Dir::In, p, 16);
    }
    m.bus(Dir::In, "ld_data", l);
    m.bus(Dir::In, "acc_rd_data", c_n * a);
    m.bus(Dir::In, "dr_x", s.x_bits);
    for p in ["busy", "acc_rd_bank", "overflow", "ld_ready"] {
        m.port(Dir::Out, p, 1);
    }
    m.bus(Dir::Out, "acc_rd_x", s.x_bits);
    m.bus(Dir::Out, "rd_data", c_n * a);
    for (name, w) in [
        ("wr_en", 1),
        ("wr_sel", 8),
        ("wr_addr", 16),
        ("wr_data", l),
        ("e_rd", 1),
        ("e_addr", 16),
        ("e_last", 1),
        ("s1_valid", 1),
        ("s1_x", 16),
        ("dr_addr", 16),
    ] {
        m.wire(name, w);
    }
}

/// The entry loader (entries arrive on the weight stream) and the pass control.
fn combine_control(m: &mut NetModule, s: &CombineShape, n: &Names) {
    let (c_n, k) = (s.cols, s.words);
    m.instance(
        &n.loader,
        "entry_loader",
        &[
            ("clock", "clock".into()),
            ("start", "ld_start".into()),
            ("cols", format!("8'd{}", c_n * k)),
            ("in_valid", "ld_valid".into()),
            ("in_data", "ld_data".into()),
            ("in_ready", "ld_ready".into()),
            ("wr_en", "wr_en".into()),
            ("wr_sel", "wr_sel".into()),
            ("wr_addr", "wr_addr".into()),
            ("wr_data", "wr_data".into()),
        ],
    );
    let pad = 16 - s.x_bits;
    let dr_x = if pad > 0 { format!("{{{pad}'d0, dr_x}}") } else { "dr_x".to_string() };
    m.instance(
        &n.ctl,
        "ctl",
        &[
            ("clock", "clock".into()),
            ("reset", "reset".into()),
            ("rewind", "rewind".into()),
            ("start", "start".into()),
            ("bank", "bank".into()),
            ("w_out", "w_out".into()),
            ("entries", "entries".into()),
            ("busy", "busy".into()),
            ("e_rd", "e_rd".into()),
            ("e_addr", "e_addr".into()),
            ("acc_rd_x", "acc_rd_x".into()),
            ("acc_rd_bank", "acc_rd_bank".into()),
            ("e_last", "e_last".into()),
            ("s1_valid", "s1_valid".into()),
            ("s1_x", "s1_x".into()),
            ("dr_x", dr_x),
            ("dr_base", "dr_base".into()),
            ("dr_addr", "dr_addr".into()),
        ],
    );
}

/// Column lane `lane`: the entry banks holding its `K` words, its entry's fields, the column it
/// selects and the lane itself; its overflow flags and its misalignment checks join the lists.
fn entry_lane(
    m: &mut NetModule,
    s: &CombineShape,
    n: &Names,
    lane: usize,
    overflow: &mut Vec<String>,
    bad: &mut Vec<String>,
) {
    let (l, a, k, f) = (s.lanes, s.acc, s.words, s.format);
    // Field positions in an entry (EntryFormat: coef, j, a, init, last, valid from bit 0).
    let (jl, al) = (f.coef_bits as usize, (f.coef_bits + f.j_bits) as usize);
    let il = al + f.a_bits as usize;
    let e = format!("entry{lane}");
    m.wire(&e, k * l);
    for part in 0..k {
        let (q, ovf) = (format!("entry{lane}_p{part}"), format!("eovf{lane}_p{part}"));
        m.wire(&q, l);
        m.wire(&ovf, 1);
        m.instance(
            &n.bank,
            &format!("entry_bank{lane}_p{part}"),
            &[
                ("clock", "clock".into()),
                ("my_id", format!("8'd{}", lane * k + part)),
                ("wr_en", "wr_en".into()),
                ("wr_sel", "wr_sel".into()),
                ("wr_addr", "wr_addr".into()),
                ("wr_data", "wr_data".into()),
                ("rd_en", "e_rd".into()),
                ("rd_addr", "e_addr".into()),
                ("rd_data", q),
                ("overflow", ovf.clone()),
            ],
        );
        overflow.push(ovf);
    }
    m.assign(&e, &format!("{{{}}}", (0..k).rev().map(|p| format!("entry{lane}_p{p}")).collect::<Vec<_>>().join(", ")));
    let field = |lo: usize, w: usize| -> String {
        if w == 1 {
            format!("{e}[{lo}]")
        } else {
            format!("{e}[{}:{lo}]", lo + w - 1)
        }
    };
    let (valid, init) = (field(il + 2, 1), field(il, 1));
    if lane == 0 {
        m.assign("e_last", &field(il + 1, 1));
    } else {
        bad.push(format!("({} ^ e_last)", field(il + 1, 1)));
    }
    let top = il + 3;
    if k * l > top {
        bad.push(format!("(|{})", field(top, k * l - top)));
    }
    let j = format!("j{lane}");
    m.wire(&j, f.j_bits as usize);
    m.assign(&j, &field(jl, f.j_bits as usize));
    let sel = format!("sel{lane}");
    m.wire(&sel, a);
    m.wire(&format!("oovf{lane}"), 1);
    m.assign(&sel, &column_select(s, &j));
    let a_field = field(al, f.a_bits as usize);
    let a16 = if f.a_bits < 16 { format!("{{{}'d0, {a_field}}}", 16 - f.a_bits) } else { a_field };
    let coef = if f.coef_bits == 0 {
        "16'd1".to_string()
    } else {
        let cf = field(0, f.coef_bits as usize);
        let sign = format!("{e}[{}]", f.coef_bits - 1);
        if f.coef_bits < 16 {
            format!("{{{{{}{{{sign}}}}}, {cf}}}", 16 - f.coef_bits)
        } else {
            cf
        }
    };
    m.instance(
        &n.lane,
        &format!("lane{lane}"),
        &[
            ("clock", "clock".into()),
            ("s1_valid", format!("s1_valid & {valid}")),
            ("init", init),
            ("a", a16),
            ("x", "s1_x".into()),
            ("coef", coef),
            ("sel", sel),
            ("rd_addr", "dr_addr".into()),
            ("rd_data", slice("rd_data", lane, a)),
            ("overflow", format!("oovf{lane}")),
        ],
    );
    overflow.push(format!("oovf{lane}"));
}

fn lane_block<const A: usize, const N: usize>(name: &str) -> Vec<Module> {
    emit_block(CombineLane::<A, N>::default(), name)
}

fn lane_any<const A: usize>(n: usize, name: &str) -> Option<Vec<Module>> {
    by_width!(n, lane_block[A](name); 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

fn bank<const L: usize, const N: usize>(name: &str) -> Vec<Module> {
    emit_block(Bank::<L, N>::default(), name)
}

fn lane_width_blocks<const L: usize>(s: &CombineShape, n: &Names) -> Option<Vec<Module>> {
    let mut v = emit_block(WeightLoader::<L>::default(), &n.loader);
    v.extend(by_width!(s.entry_bits, bank[L](&n.bank); 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)?);
    Some(v)
}

fn ctl_block<const NX: usize>(name: &str) -> Vec<Module> {
    emit_block(CombineCtl::<NX>::default(), name)
}

fn leaf_modules(s: &CombineShape, n: &Names) -> Result<Vec<Module>> {
    let lanes = match s.lanes {
        8 => lane_width_blocks::<8>(s, n),
        16 => lane_width_blocks::<16>(s, n),
        32 => lane_width_blocks::<32>(s, n),
        64 => lane_width_blocks::<64>(s, n),
        128 => lane_width_blocks::<128>(s, n),
        _ => None,
    };
    let lane = match s.acc {
        16 => lane_any::<16>(s.oacc_bits, &n.lane),
        20 => lane_any::<20>(s.oacc_bits, &n.lane),
        24 => lane_any::<24>(s.oacc_bits, &n.lane),
        28 => lane_any::<28>(s.oacc_bits, &n.lane),
        32 => lane_any::<32>(s.oacc_bits, &n.lane),
        _ => None,
    };
    let ctl = by_width!(s.x_bits, ctl_block(&n.ctl); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    match (lanes, lane, ctl) {
        (Some(mut v), Some(l), Some(c)) => {
            v.extend(l);
            v.extend(c);
            v.extend(emit_block(rust_hdl::prelude::DFF::<rust_hdl::prelude::Bit>::default(), &n.reg1));
            Ok(v)
        }
        _ => bail!("no generated combine blocks for {s:?}"),
    }
}

/// Every module of the combine stage (`{design}_combine` first), one definition per distinct
/// block.
///
/// Ports of `{design}_combine` (`A` = acc_bits, `NX` = pixel bits, `L` = lanes): `clock`,
/// `reset`; `rewind` (a layer starts: back to the first entry); passes `start`, `bank`,
/// `w_out[16]`, `entries[16]` (per lane), `busy`; the entry load `ld_start`, `ld_valid`,
/// `ld_data[L]` (every beat is taken); the column accumulators' read port `acc_rd_bank`,
/// `acc_rd_x[NX]`, `acc_rd_data[C*A]`; the drain's read `dr_base[16]` (a filter tile's first
/// word), `dr_x[NX]`, `rd_data[C*A]` a cycle later; `overflow` (an entry access beyond the
/// banks, or an entry with bits set above its fields or lanes out of step: a misaligned entry
/// stream); `ld_ready` (always 1).
pub fn combine_modules(design: &str, cfg: &AccelConfig) -> Result<Vec<Module>> {
    let s = CombineShape::from_config(cfg)?;
    let n = Names::new(design);
    let mut v = vec![combine_module(&s, &n)];
    v.extend(leaf_modules(&s, &n)?);
    merge_checked(v)
}

#[cfg(test)]
mod tests;
