//! The compute unit: everything between the input streams and the column accumulators
//! (docs/ARCHITECTURE.md): activation loader and row banks, weight loader and column banks, the
//! compute sequencer, per-row step control, the systolic array and the column accumulators, with
//! the control delay that meets each step's column sums at the accumulators.
//!
//! Composed structurally (`netlist.rs`): instances of the rust-hdl blocks, wires, and glue that
//! is pure wiring or flag gathering (concatenation, replication, sign extension, OR of the banks'
//! overflow flags).

use anyhow::{bail, Result};

use crate::blocks::accum::ColAcc;
use crate::blocks::act_loader::ActLoader;
use crate::blocks::array::{array_modules, ArrayShape};
use crate::blocks::bank::Bank;
use crate::blocks::row_ctl::RowCtl;
use crate::blocks::sequencer::Sequencer;
use crate::blocks::tail_mask::TailMask;
use crate::blocks::weight_loader::WeightLoader;
use crate::generator::netlist::{slice, Dir, NetModule};
use crate::generator::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::descriptor::{act_bank_words, pixel_index_bits, weight_bank_words};
use cbnn::hw::pipeline::READ_TO_ARRAY;
use cbnn::hw::regs::{read_by, Block};
use rust_hdl::prelude::*;

/// Every generation parameter of the compute unit, from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ComputeShape {
    pub array: ArrayShape,
    /// Accumulator bits.
    pub acc: usize,
    /// Values per activation beat (`AccelConfig::beat_values`) and channels per stream segment
    /// (`array.cols`).
    pub beat: usize,
    pub segment: usize,
    /// Address bits of an activation bank, a weight bank, and the accumulators (pixels per row).
    pub act_addr: usize,
    pub weight_addr: usize,
    pub x_bits: usize,
}

impl ComputeShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let log2 = |w: u32| w.trailing_zeros() as usize;
        let (aw, ww) = (act_bank_words(cfg), weight_bank_words(cfg));
        if aw < 64 || ww < 64 {
            bail!("buffers too small for this array: {aw} activation and {ww} weight words per bank; expected at least 64 (raise buffers.act_kib / buffers.weight_kib)");
        }
        let x_bits = pixel_index_bits(cfg);
        Ok(ComputeShape {
            array: ArrayShape::from_config(cfg),
            acc: cfg.datapath.acc_bits as usize,
            beat: cfg.beat_values() as usize,
            segment: cfg.segment() as usize,
            act_addr: log2(aw),
            weight_addr: log2(ww),
            x_bits,
        })
    }

    /// Cycles from a sequencer read to the accumulators taking its column sums
    /// (`cbnn::hw::pipeline::step_to_acc`, which the cycle simulator uses).
    pub fn step_to_acc(&self) -> usize {
        READ_TO_ARRAY + self.array.latency()
    }
}

/// Module names inside the compute unit.
struct Names {
    design: String,
    unit: String,
    act_loader: String,
    act_bank: String,
    weight_loader: String,
    weight_bank: String,
    row_ctl: String,
    sequencer: String,
    tail_mask: String,
    col_acc: String,
}

impl Names {
    fn new(d: &str) -> Self {
        Names {
            design: d.to_string(),
            unit: format!("{d}_compute"),
            act_loader: format!("{d}_act_loader"),
            act_bank: format!("{d}_act_bank"),
            weight_loader: format!("{d}_weight_loader"),
            weight_bank: format!("{d}_weight_bank"),
            row_ctl: format!("{d}_row_ctl"),
            sequencer: format!("{d}_sequencer"),
            tail_mask: format!("{d}_tail_mask"),
            col_acc: format!("{d}_col_acc"),
        }
    }
}

fn reg<const W: usize>(d: &str) -> Vec<Module> {
    emit_block(DFF::<Bits<W>>::default(), &format!("{d}_reg{W}"))
}

/// The activation loader and its `B`-lane bank slices for `L` lanes, `B` values per beat
/// (`D = 8B` data bits, `G = L / B` lane groups).
fn beat_blocks<const L: usize, const B: usize, const D: usize, const G: usize>(
    s: &ComputeShape,
    n: &Names,
) -> Option<Vec<Module>> {
    let mut v = emit_block(ActLoader::<L, B, D, G>::new(s.array.rows, s.segment), &n.act_loader);
    v.extend(by_width!(s.act_addr, bank[B](&n.act_bank); 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)?);
    Some(v)
}

/// `beat_blocks` for the runtime (lanes, beat): const generics cannot compute `8B` or `L / B`,
/// so every supported pair is listed.
macro_rules! by_lanes_and_beat {
    ($l:expr, $b:expr, $s:expr, $n:expr; $( ($L:literal, $B:literal, $D:literal, $G:literal) ),* ) => {
        match ($l, $b) { $( ($L, $B) => beat_blocks::<$L, $B, $D, $G>($s, $n), )* _ => None }
    };
}

fn bank<const L: usize, const N: usize>(name: &str) -> Vec<Module> {
    emit_block(Bank::<L, N>::default(), name)
}

fn x_blocks<const NX: usize>(n: &Names) -> Vec<Module> {
    let mut v = emit_block(Sequencer::<NX>::default(), &n.sequencer);
    v.extend(reg::<NX>(&n.design));
    v
}

fn acc_block<const A: usize, const NX: usize>(n: &Names) -> Vec<Module> {
    emit_block(ColAcc::<A, NX>::default(), &n.col_acc)
}

/// The blocks whose widths follow the lane count.
fn lane_blocks<const L: usize>(s: &ComputeShape, n: &Names) -> Option<Vec<Module>> {
    let mut v = emit_block(RowCtl::<L>::default(), &n.row_ctl);
    v.extend(emit_block(WeightLoader::<L>::default(), &n.weight_loader));
    v.extend(emit_block(TailMask::<L>::default(), &n.tail_mask));
    v.extend(by_lanes_and_beat!(L, s.beat, s, n;
        (8, 1, 8, 8), (8, 2, 16, 4), (8, 4, 32, 2), (8, 8, 64, 1),
        (16, 1, 8, 16), (16, 2, 16, 8), (16, 4, 32, 4), (16, 8, 64, 2), (16, 16, 128, 1),
        (32, 1, 8, 32), (32, 2, 16, 16), (32, 4, 32, 8), (32, 8, 64, 4), (32, 16, 128, 2),
        (64, 1, 8, 64), (64, 2, 16, 32), (64, 4, 32, 16), (64, 8, 64, 8), (64, 16, 128, 4),
        (128, 1, 8, 128), (128, 2, 16, 64), (128, 4, 32, 32), (128, 8, 64, 16), (128, 16, 128, 8)
    )?);
    v.extend(by_width!(s.weight_addr, bank[L](&n.weight_bank); 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)?);
    // The register between the banks and the array (`READ_TO_ARRAY`).
    v.extend(reg::<L>(&n.design));
    Some(v)
}

fn leaf_modules(s: &ComputeShape, n: &Names, d: &str) -> Result<Vec<Module>> {
    let lanes = match s.array.lanes {
        8 => lane_blocks::<8>(s, n),
        16 => lane_blocks::<16>(s, n),
        32 => lane_blocks::<32>(s, n),
        64 => lane_blocks::<64>(s, n),
        128 => lane_blocks::<128>(s, n),
        _ => None,
    };
    let xs = by_width!(s.x_bits, x_blocks(n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
    let acc = match s.acc {
        16 => by_width!(s.x_bits, acc_block[16](n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        20 => by_width!(s.x_bits, acc_block[20](n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        24 => by_width!(s.x_bits, acc_block[24](n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        28 => by_width!(s.x_bits, acc_block[28](n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        32 => by_width!(s.x_bits, acc_block[32](n); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
        _ => None,
    };
    match (lanes, xs, acc) {
        (Some(mut v), Some(x), Some(a)) => {
            v.extend(x);
            v.extend(a);
            // One-bit registers are DFF<Bit>, as in the array (a Bits<1> DFF is another module).
            v.extend(emit_block(DFF::<Bit>::default(), &format!("{d}_reg1")));
            v.extend(reg::<3>(d));
            Ok(v)
        }
        _ => bail!("no generated blocks for {s:?} (limits.max_width must be at most 4096; banks of 64 to 32768 words)"),
    }
}

/// A chain of `depth` registers (module `{d}_reg{width}`) after `src`; returns its end.
pub(crate) fn delay_chain(m: &mut NetModule, d: &str, name: &str, src: String, width: usize, depth: usize) -> String {
    let mut cur = src;
    for i in 0..depth {
        let q = format!("{name}_d{}", i + 1);
        m.wire(&q, width);
        m.instance(
            &format!("{d}_reg{width}"),
            &format!("{q}_reg"),
            &[("clock", "clock".into()), ("d", cur), ("q", q.clone())],
        );
        cur = q;
    }
    cur
}

/// A buffer bank: written by the loader whose wires start with `writer` (`{writer}_wr_sel`,
/// `{writer}_wr_addr`) with the enable and data `write`, read at `(enable, address)`, its word and
/// overflow flag on `(data, overflow)`.
#[allow(clippy::too_many_arguments)]
fn bank_instance(
    m: &mut NetModule,
    module: &str,
    inst: &str,
    id: usize,
    writer: &str,
    write: (String, String),
    read: (&str, &str),
    out: (&str, &str),
) {
    m.instance(
        module,
        inst,
        &[
            ("clock", "clock".into()),
            ("my_id", format!("8'd{id}")),
            ("wr_en", write.0),
            ("wr_sel", format!("{writer}_wr_sel")),
            ("wr_addr", format!("{writer}_wr_addr")),
            ("wr_data", write.1),
            ("rd_en", read.0.into()),
            ("rd_addr", read.1.into()),
            ("rd_data", out.0.into()),
            ("overflow", out.1.into()),
        ],
    );
}

fn concat(parts: impl Iterator<Item = String>) -> String {
    // Verilog concatenation lists the most significant part first.
    let v: Vec<String> = parts.collect();
    format!("{{{}}}", v.into_iter().rev().collect::<Vec<_>>().join(", "))
}

/// The compute unit: the loaders and the sequencer, the row banks with their row control, the
/// column banks, the array and the column accumulators, wired in that order.
fn compute_module(s: &ComputeShape, n: &Names, d: &str) -> Module {
    let mut m = NetModule::new(&n.unit);
    unit_ports(&mut m, s);
    loaders(&mut m, s, n);
    sequencer(&mut m, s, n);
    let mut rows = row_banks(&mut m, s, n, d);
    let wbank_q = column_banks(&mut m, s, n, d, &mut rows.overflow);
    m.assign("overflow", &rows.overflow.join(" | "));
    array(&mut m, s, d, rows, wbank_q);
    accumulators(&mut m, s, n, d);
    m.finish()
}

/// The compute unit's ports: the streams, the descriptor registers, the run's values, the
/// accumulators' read port.
fn unit_ports(m: &mut NetModule, s: &ComputeShape) {
    let (c_n, l) = (s.array.cols, s.array.lanes);
    let (a, nx) = (s.acc, s.x_bits);
    for (p, w) in [
        ("clock", 1),
        ("load_start", 1),
        ("act_valid", 1),
        ("w_load_start", 1),
        ("w_valid", 1),
        ("go", 1),
        ("bank", 1),
        ("rd_bank", 1),
    ] {
        m.port(Dir::In, p, w);
    }
    m.bus(Dir::In, "act_data", 8 * s.beat);
    m.bus(Dir::In, "w_data", l);
    // Descriptor registers, at the widths of the register map.
    for r in read_by(Block::Compute) {
        if r.width == 1 {
            m.port(Dir::In, r.name, 1);
        } else {
            m.bus(Dir::In, r.name, r.width as usize);
        }
    }
    // Per-run values from the controller (a grouped layer's run also has a weight base, and
    // the array row and lane offset of its group).
    for p in ["y0", "first_row", "iy0", "base0", "w_base0"] {
        m.bus(Dir::In, p, 16);
    }
    m.bus(Dir::In, "run_row", 8);
    m.bus(Dir::In, "run_shift", 8);
    m.bus(Dir::In, "rd_x", nx);
    m.port(Dir::Out, "act_ready", 1);
    m.port(Dir::Out, "act_busy", 1);
    m.port(Dir::Out, "w_ready", 1);
    m.port(Dir::Out, "busy", 1);
    m.port(Dir::Out, "overflow", 1);
    m.bus(Dir::Out, "step_y", 16);
    m.bus(Dir::Out, "rd_data", c_n * a);
}

/// The activation and weight loaders, and the wires of their bank writes.
fn loaders(m: &mut NetModule, s: &ComputeShape, n: &Names) {
    let (c_n, l) = (s.array.cols, s.array.lanes);
    // Loaders.
    for (w, name) in [
        (1, "al_wr_en"),
        (8, "al_wr_sel"),
        (16, "al_wr_addr"),
        (l, "al_wr_data"),
        (l / s.beat, "al_wr_groups"),
        (1, "wl_wr_en"),
        (8, "wl_wr_sel"),
        (16, "wl_wr_addr"),
        (l, "wl_wr_data"),
    ] {
        m.wire(name, w);
    }
    m.instance(
        &n.act_loader,
        "act_loader",
        &[
            ("clock", "clock".into()),
            ("start", "load_start".into()),
            ("c_in", "c_in".into()),
            ("t_ch", "t_ch".into()),
            ("t_w", "t_w".into()),
            ("fc", "fc".into()),
            ("planes", "planes".into()),
            ("plane_shift", "plane_shift".into()),
            ("pixel_words", "pixel_words".into()),
            ("in_valid", "act_valid".into()),
            ("in_data", "act_data".into()),
            ("in_ready", "act_ready".into()),
            ("busy", "act_busy".into()),
            ("wr_en", "al_wr_en".into()),
            ("wr_row", "al_wr_sel".into()),
            ("wr_addr", "al_wr_addr".into()),
            ("wr_groups", "al_wr_groups".into()),
            ("wr_data", "al_wr_data".into()),
        ],
    );
    m.instance(
        &n.weight_loader,
        "weight_loader",
        &[
            ("clock", "clock".into()),
            ("start", "w_load_start".into()),
            ("cols", format!("8'd{c_n}")),
            ("in_valid", "w_valid".into()),
            ("in_data", "w_data".into()),
            ("in_ready", "w_ready".into()),
            ("wr_en", "wl_wr_en".into()),
            ("wr_sel", "wl_wr_sel".into()),
            ("wr_addr", "wl_wr_addr".into()),
            ("wr_data", "wl_wr_data".into()),
        ],
    );
}

/// The sequencer and the wires of its steps.
fn sequencer(m: &mut NetModule, s: &ComputeShape, n: &Names) {
    let (r_n, nx) = (s.array.rows, s.x_bits);
    // Sequencer.
    for (w, name) in [
        (1, "s_valid"),
        (16, "s_addr"),
        (1, "s_outside"),
        (1, "s_last"),
        (1, "s_first"),
        (1, "s_init"),
        (nx, "s_x"),
        (3, "s_plane"),
        (1, "w_rd"),
        (16, "w_addr"),
        (1, "w_start"),
    ] {
        m.wire(name, w);
    }
    let mut conns: Vec<(&str, String)> = vec![("clock", "clock".into()), ("go", "go".into()), ("busy", "busy".into())];
    for p in [
        "y0",
        "first_row",
        "h",
        "w",
        "w_out",
        "kernel",
        "stride",
        "groups",
        "passes",
        "weight_words",
        "iy0",
        "ix0",
        "base0",
        "w_base0",
        "x_step",
        "kx_step",
        "ky_step",
        "y_step",
    ] {
        conns.push((p, p.into()));
    }
    conns.push(("array_rows", format!("16'd{r_n}")));
    // A pass streams the plane cycles of one row's planes; the accumulator's plane shift
    // counts in steps of the planes side by side on the rows.
    conns.push(("planes", "pass_planes".into()));
    conns.push(("plane_shift", "plane_shift".into()));
    for (p, w) in [
        ("step_valid", "s_valid"),
        ("step_addr", "s_addr"),
        ("step_outside", "s_outside"),
        ("step_last_group", "s_last"),
        ("step_first", "s_first"),
        ("step_init", "s_init"),
        ("step_y", "step_y"),
        ("step_x", "s_x"),
        ("step_plane", "s_plane"),
        ("w_valid", "w_rd"),
        ("w_addr", "w_addr"),
        ("w_start", "w_start"),
    ] {
        conns.push((p, w.into()));
    }
    m.instance(&n.sequencer, "sequencer", &conns);
    // Padded taps read nothing (their address is meaningless and may lie outside the band).
    m.wire("s_read", 1);
    m.assign("s_read", "s_valid & ~s_outside");
}

/// What the row banks hand to the array: each row's activations, pad and tail flags (delayed to
/// the array's input), the step's `first` and the weight load's start (delayed to match), the
/// registered tail mask, and the banks' overflow flags.
struct RowOutputs {
    first: String,
    wl_en: String,
    tail_mask_q: String,
    overflow: Vec<String>,
    a_q: Vec<String>,
    pad_q: Vec<String>,
    tail_q: Vec<String>,
}

/// The row banks (`L / B` slices each, written by lane group) and each row's row control.
fn row_banks(m: &mut NetModule, s: &ComputeShape, n: &Names, d: &str) -> RowOutputs {
    let (r_n, l) = (s.array.rows, s.array.lanes);
    // Row banks, step flags one cycle later (with the bank data), row control.
    let outside = delay_chain(m, d, "outside", "s_outside".into(), 1, 1);
    let last = delay_chain(m, d, "last_group", "s_last".into(), 1, 1);
    // The array's inputs leave a register after the banks' read (`READ_TO_ARRAY`): the step's
    // `first` and the weight load's start are delayed to match.
    let first = delay_chain(m, d, "first", "s_first".into(), 1, READ_TO_ARRAY);
    let wl_en = delay_chain(m, d, "wl_en", "w_start".into(), 1, READ_TO_ARRAY);
    m.wire("tail_mask", l);
    m.instance(&n.tail_mask, "tail_mask_gen", &[("tail_lanes", "tail_lanes".into()), ("mask", "tail_mask".into())]);
    // The tail mask is layer-static: registered, its compare leaves the PEs' path.
    let tail_mask_q = delay_chain(m, d, "tail_mask_q", "tail_mask".into(), l, 1);
    let mut overflow = Vec::new();
    let (mut a_q, mut pad_q, mut tail_q) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..r_n {
        for (w, name) in
            [(l, format!("abank_r{r}")), (l, format!("a_r{r}")), (1, format!("pad_r{r}")), (1, format!("tail_r{r}"))]
        {
            m.wire(&name, w);
        }
        // A row bank is `L / B` slices of `B` lanes, each with its own write enable: the loader
        // writes a word in pieces, one segment's lane groups at a time.
        let g_n = l / s.beat;
        for g in 0..g_n {
            let (en, data, ovf) = (format!("al_en_r{r}_g{g}"), format!("abank_r{r}_g{g}"), format!("aovf_r{r}_g{g}"));
            m.wire(&en, 1);
            m.wire(&data, s.beat);
            m.wire(&ovf, 1);
            // One lane group (L = beat) makes the select a scalar wire.
            let sel = if g_n == 1 { "al_wr_groups".to_string() } else { format!("al_wr_groups[{g}]") };
            m.assign(&en, &format!("al_wr_en & {sel}"));
            bank_instance(
                m,
                &n.act_bank,
                &format!("act_bank_r{r}_g{g}"),
                r,
                "al",
                (en, slice("al_wr_data", g, s.beat)),
                ("s_read", "s_addr"),
                (&data, &ovf),
            );
            overflow.push(ovf);
        }
        m.assign(&format!("abank_r{r}"), &concat((0..g_n).map(|g| format!("abank_r{r}_g{g}"))));
        m.instance(
            &n.row_ctl,
            &format!("row_ctl_r{r}"),
            &[
                ("my_row", format!("8'd{r}")),
                ("outside", outside.clone()),
                ("last_group", last.clone()),
                ("rows_valid", "rows_valid".into()),
                ("tail_en", "tail_en".into()),
                ("sub", "sub".into()),
                ("run_row", "run_row".into()),
                ("shift", "run_shift".into()),
                ("mask", tail_mask_q.clone()),
                ("rd_data", format!("abank_r{r}")),
                ("a", format!("a_r{r}")),
                ("pad", format!("pad_r{r}")),
                ("tail", format!("tail_r{r}")),
            ],
        );
        let late = READ_TO_ARRAY - 1;
        a_q.push(delay_chain(m, d, &format!("a_q_r{r}"), format!("a_r{r}"), l, late));
        pad_q.push(delay_chain(m, d, &format!("pad_q_r{r}"), format!("pad_r{r}"), 1, late));
        tail_q.push(delay_chain(m, d, &format!("tail_q_r{r}"), format!("tail_r{r}"), 1, late));
    }
    RowOutputs { first, wl_en, tail_mask_q, overflow, a_q, pad_q, tail_q }
}

/// The column banks; their overflow flags join `overflow`. Returns each column's weight word,
/// delayed to the array's input.
fn column_banks(m: &mut NetModule, s: &ComputeShape, n: &Names, d: &str, overflow: &mut Vec<String>) -> Vec<String> {
    let (c_n, l) = (s.array.cols, s.array.lanes);
    let mut wbank_q = Vec::new();
    // Column banks.
    for c in 0..c_n {
        m.wire(&format!("wbank_c{c}"), l);
        m.wire(&format!("wovf_c{c}"), 1);
        bank_instance(
            m,
            &n.weight_bank,
            &format!("weight_bank_c{c}"),
            c,
            "wl",
            ("wl_wr_en".into(), "wl_wr_data".into()),
            ("w_rd", "w_addr"),
            (&format!("wbank_c{c}"), &format!("wovf_c{c}")),
        );
        overflow.push(format!("wovf_c{c}"));
        wbank_q.push(delay_chain(m, d, &format!("wbank_q_c{c}"), format!("wbank_c{c}"), l, READ_TO_ARRAY - 1));
    }
    wbank_q
}

/// The R x C array, fed by the row and column banks.
fn array(m: &mut NetModule, s: &ComputeShape, d: &str, rows: RowOutputs, wbank_q: Vec<String>) {
    let (r_n, c_n, sw) = (s.array.rows, s.array.cols, s.array.psum_bits());
    let RowOutputs { first, wl_en, tail_mask_q, a_q, pad_q, tail_q, .. } = rows;
    // The array.
    m.wire("psum", c_n * sw);
    m.instance(
        &format!("{d}_array"),
        "array",
        &[
            ("clock", "clock".into()),
            ("bwn", "bwn".into()),
            ("plane_rows", "(plane_shift != 3'd0)".into()),
            ("tail_mask", format!("{{{r_n}{{{tail_mask_q}}}}}")),
            ("a_in", concat(a_q.into_iter())),
            ("pad_in", concat(pad_q.into_iter())),
            ("tail_in", concat(tail_q.into_iter())),
            ("first_in", format!("{{{r_n}{{{first}}}}}")),
            ("wl_data", concat(wbank_q.into_iter())),
            ("wl_en", wl_en),
            ("psum_out", "psum".into()),
        ],
    );
}

/// The column accumulators, with the sequencer's step description delayed to meet the column
/// sums.
fn accumulators(m: &mut NetModule, s: &ComputeShape, n: &Names, d: &str) {
    let (c_n, a, sw, nx) = (s.array.cols, s.acc, s.array.psum_bits(), s.x_bits);
    // Accumulator control: the sequencer's step description, delayed to meet its column sums.
    let depth = s.step_to_acc();
    let acc_valid = delay_chain(m, d, "acc_valid", "s_valid".into(), 1, depth);
    let acc_init = delay_chain(m, d, "acc_init", "s_init".into(), 1, depth);
    let acc_plane = delay_chain(m, d, "acc_plane", "s_plane".into(), 3, depth);
    let acc_x = delay_chain(m, d, "acc_x", "s_x".into(), nx, depth);
    let acc_bank = delay_chain(m, d, "acc_bank", "bank".into(), 1, depth);
    for c in 0..c_n {
        let ps = slice("psum", c, sw);
        let ext = if a > sw { format!("{{{{{}{{psum[{}]}}}}, {ps}}}", a - sw, c * sw + sw - 1) } else { ps };
        m.instance(
            &n.col_acc,
            &format!("col_acc_c{c}"),
            &[
                ("clock", "clock".into()),
                ("valid", acc_valid.clone()),
                ("init", acc_init.clone()),
                ("plane", acc_plane.clone()),
                ("bank", acc_bank.clone()),
                ("x", acc_x.clone()),
                ("psum", ext),
                ("rd_bank", "rd_bank".into()),
                ("rd_x", "rd_x".into()),
                ("rd_data", slice("rd_data", c, a)),
            ],
        );
    }
}

/// Every module of the compute unit (the unit first), one definition per distinct block.
pub fn compute_modules(design: &str, cfg: &AccelConfig) -> Result<Vec<Module>> {
    let s = ComputeShape::from_config(cfg)?;
    let n = Names::new(design);
    let mut v = vec![compute_module(&s, &n, design)];
    v.extend(array_modules(design, &s.array)?);
    v.extend(leaf_modules(&s, &n, design)?);
    merge_checked(v)
}

#[cfg(test)]
mod tests;
