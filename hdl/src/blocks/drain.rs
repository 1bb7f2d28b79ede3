//! The drain unit (docs/ARCHITECTURE.md, section 4): turns a finished output row, held in one bank
//! of the column accumulators, into the result stream through the post-processing units.
//!
//! `P = C / G_hw` PPUs; PPU `j` serves columns `j*G_hw .. (j+1)*G_hw - 1`. A row drains as
//! `w_out * G_hw` beats, `x` outer and `c_local` inner; lane `j` of a beat is PPU `j`'s value for
//! column `j*G_hw + c_local` at pixel `x`. Each PPU has its own scale memory (address: filter
//! tile) and bias memory (address: `tile*G_hw + c_local`), both `Bank`s written through the
//! parameter port (images: `cbnn::hw::params::{scale_tables, bias_tables}`). The scale memory
//! is read at the row's `scale_addr`, stable for the whole row, so its output register is the
//! PPU's scale register; the bias memory is read with every beat, in step with the accumulator
//! read, so filters follow each other without bubbles.
//!
//! Pipeline (cycle 0 = the cycle `start` is high; the constants are `cbnn::hw::pipeline`'s): the
//! controller block issues one accumulator + bias read per cycle (the first in cycle 0); sums and
//! bias arrive a cycle later and pass the column select into the PPUs (`PPU_LATENCY` cycles); the
//! PPU values are written into the output FIFO and become visible on `out_*` two cycles after
//! that: the first beat is offered in cycle `DRAIN_FIRST_BEAT`, and with `out_ready` high the last
//! of the row's `N = w_out * G_hw` beats transfers in cycle `drain_last_beat(N)`; `busy` is high
//! from cycle 1 to that cycle.
//!
//! Backpressure: a credit counter (`DrainCtl::used`) counts beats issued and not yet accepted on
//! the output stream; a read is issued only while it is below the FIFO depth
//! (`RESULT_FIFO_DEPTH`), so every beat in flight has a FIFO slot waiting and nothing ever needs
//! to stall mid-pipeline (the PPUs and memories have no enables, no skid buffers). The round trip
//! from issue to acceptance is `DRAIN_FIRST_BEAT` cycles, so the credits keep one beat per cycle
//! flowing while `out_ready` stays high (a longer PPU pipeline would need a deeper FIFO: the
//! contract asserts `DRAIN_FIRST_BEAT < RESULT_FIFO_DEPTH`). The FIFO is
//! a RAM (`P` lanes of `RESULT_FIFO_DEPTH` x `A` bits, one per PPU) with the pointers in `DrainCtl`, not a bank of
//! registers: on iCE40 a flip-flop costs a logic cell, and `P*A*8` of them would cost more than
//! the PPUs' multipliers. Its read port is addressed with the next head (`rp + pop`), so the RAM's
//! output register holds the head entry; an entry is visible one cycle after it was written
//! (`wp` is compared delayed), so the RAM never reads an address written at the same edge.
//!
//! Composed structurally (`netlist.rs`) from rust-hdl blocks: `DrainCtl` (sequencing, credits,
//! FIFO pointers, parameter write decode), `Bank` (parameter memories), `ColMux` (the column
//! select tree of each PPU), `Ppu`, and rust-hdl's `RAM` (FIFO lanes). The glue is wiring plus the
//! AND of the PPUs' (identical) valid flags and the OR of the memories' overflow flags.

use anyhow::{bail, Result};

use crate::blocks::bank::Bank;
use crate::blocks::ppu::Ppu;
use crate::generator::netlist::{slice, Dir, NetModule};
use crate::generator::verilog::{emit_block, merge_checked, Module};
use cbnn::config::AccelConfig;
use cbnn::hw::params::{param_depths, ppus};
use cbnn::hw::pipeline::RESULT_FIFO_BITS;
use cbnn::quant::scale::SHIFT_BITS;
use rust_hdl::prelude::*;

/// Every generation parameter of the drain unit, from the config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DrainShape {
    /// Array columns `C`, columns per PPU `G_hw`, PPUs `P = C / G_hw`.
    pub cols: usize,
    pub g_hw: usize,
    pub ppus: usize,
    /// Accumulator bits `A` (also the bits of a result lane), multiplier bits `S`, bias bits `B`.
    pub acc: usize,
    pub scale: usize,
    pub bias: usize,
    /// Pixel index bits (the accumulators' address), bits of the column select within a PPU.
    pub x_bits: usize,
    pub col_bits: usize,
    /// Address bits of a PPU's scale memory and bias memory (power-of-two RAMs).
    pub scale_addr_bits: usize,
    pub bias_addr_bits: usize,
}

/// Bits to address `n` entries (at least 1).
pub(crate) fn addr_bits(n: u32) -> usize {
    (32 - n.max(2).next_power_of_two().leading_zeros() - 1) as usize
}

impl DrainShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let (scale_depth, bias_depth) = param_depths(cfg);
        let g_hw = cfg.datapath.scale_group as usize;
        let s = DrainShape {
            cols: cfg.array.cols as usize,
            g_hw,
            ppus: ppus(cfg) as usize,
            acc: cfg.datapath.acc_bits as usize,
            scale: cfg.datapath.scale_bits as usize,
            bias: cfg.datapath.bias_bits() as usize,
            x_bits: cbnn::hw::descriptor::pixel_index_bits(cfg),
            col_bits: addr_bits(g_hw as u32),
            scale_addr_bits: addr_bits(scale_depth),
            bias_addr_bits: addr_bits(bias_depth),
        };
        if s.ppus == 0 || s.ppus * s.g_hw != s.cols || s.ppus > 256 {
            bail!("datapath.scale_group = {g_hw} must divide array.cols = {} (at most 256 PPUs)", s.cols);
        }
        if s.scale_addr_bits > 15 || s.bias_addr_bits > 15 {
            bail!("parameter memories of {scale_depth} scales and {bias_depth} biases per PPU exceed 32768 entries (lower limits.max_filters or raise datapath.scale_group)");
        }
        Ok(s)
    }

    /// The result stream's width: `P` lanes of `A` bits.
    pub fn out_bits(&self) -> usize {
        self.ppus * self.acc
    }
}

/// The drain unit's sequencer: issues the row's accumulator and bias reads, keeps the output
/// credits and the FIFO pointers, and decodes parameter writes into scale and bias writes.
#[derive(LogicBlock)]
pub struct DrainCtl<const NX: usize, const NC: usize> {
    pub clock: Signal<In, Clock>,
    pub start: Signal<In, Bit>,
    pub w_out: Signal<In, Bits<16>>,
    /// `G_hw - 1` (a constant where instantiated).
    pub g_last: Signal<In, Bits<16>>,
    pub bias_base: Signal<In, Bits<16>>,
    pub param_we: Signal<In, Bit>,
    pub param_sel: Signal<In, Bit>,
    /// The PPUs' results are valid this cycle (they enter the FIFO).
    pub ppu_valid: Signal<In, Bit>,
    pub out_ready: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    /// An accumulator and bias read is issued this cycle at (`rd_x`, `bias_addr`).
    pub issue: Signal<Out, Bit>,
    pub rd_x: Signal<Out, Bits<NX>>,
    pub bias_addr: Signal<Out, Bits<16>>,
    /// The read data of the previous cycle's read is on the read ports; `col_sel` is its column
    /// within each PPU's group.
    pub acc_valid: Signal<Out, Bit>,
    pub col_sel: Signal<Out, Bits<NC>>,
    pub scale_we: Signal<Out, Bit>,
    pub bias_we: Signal<Out, Bit>,
    /// FIFO RAM ports (write the PPU values; read at the next head).
    pub fifo_we: Signal<Out, Bit>,
    pub fifo_wr_addr: Signal<Out, Bits<RESULT_FIFO_BITS>>,
    pub fifo_rd_addr: Signal<Out, Bits<RESULT_FIFO_BITS>>,
    pub out_valid: Signal<Out, Bit>,
    running: DFF<Bit>,
    issuing: DFF<Bit>,
    x: DFF<Bits<16>>,
    c: DFF<Bits<16>>,
    used: DFF<Bits<4>>,
    acc_valid_q: DFF<Bit>,
    col_q: DFF<Bits<NC>>,
    wp: DFF<Bits<4>>,
    wp_seen: DFF<Bits<4>>,
    rp: DFF<Bits<4>>,
    pop: Signal<Local, Bit>,
    rp_next: Signal<Local, Bits<4>>,
    one16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    one4: Constant<Bits<4>>,
    depth4: Constant<Bits<4>>,
}

impl<const NX: usize, const NC: usize> Default for DrainCtl<NX, NC> {
    fn default() -> Self {
        assert!((1..=16).contains(&NX) && (1..=8).contains(&NC), "DrainCtl<{NX}, {NC}>");
        DrainCtl {
            clock: Default::default(),
            start: Default::default(),
            w_out: Default::default(),
            g_last: Default::default(),
            bias_base: Default::default(),
            param_we: Default::default(),
            param_sel: Default::default(),
            ppu_valid: Default::default(),
            out_ready: Default::default(),
            busy: Default::default(),
            issue: Default::default(),
            rd_x: Default::default(),
            bias_addr: Default::default(),
            acc_valid: Default::default(),
            col_sel: Default::default(),
            scale_we: Default::default(),
            bias_we: Default::default(),
            fifo_we: Default::default(),
            fifo_wr_addr: Default::default(),
            fifo_rd_addr: Default::default(),
            out_valid: Default::default(),
            running: Default::default(),
            issuing: Default::default(),
            x: Default::default(),
            c: Default::default(),
            used: Default::default(),
            acc_valid_q: Default::default(),
            col_q: Default::default(),
            wp: Default::default(),
            wp_seen: Default::default(),
            rp: Default::default(),
            pop: Default::default(),
            rp_next: Default::default(),
            one16: Constant::new(1u64.into()),
            zero16: Constant::new(0u64.into()),
            one4: Constant::new(1u64.into()),
            depth4: Constant::new(((1u64 << RESULT_FIFO_BITS) as LiteralType).into()),
        }
    }
}

impl<const NX: usize, const NC: usize> Logic for DrainCtl<NX, NC> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, running, issuing, x, c, used, acc_valid_q, col_q, wp, wp_seen, rp);
        self.busy.next = self.running.q.val();
        self.scale_we.next = self.param_we.val() & !self.param_sel.val();
        self.bias_we.next = self.param_we.val() & self.param_sel.val();
        // Output side: the FIFO head is valid once its write is a cycle old.
        self.out_valid.next = self.rp.q.val() != self.wp_seen.q.val();
        self.pop.next = (self.rp.q.val() != self.wp_seen.q.val()) & self.out_ready.val();
        self.rp_next.next = self.rp.q.val();
        if self.pop.val() {
            self.rp_next.next = self.rp.q.val() + self.one4.val();
        }
        self.rp.d.next = self.rp_next.val();
        self.fifo_rd_addr.next = self.rp_next.val().get_bits::<RESULT_FIFO_BITS>(0);
        self.fifo_we.next = self.ppu_valid.val();
        self.fifo_wr_addr.next = self.wp.q.val().get_bits::<RESULT_FIFO_BITS>(0);
        if self.ppu_valid.val() {
            self.wp.d.next = self.wp.q.val() + self.one4.val();
        }
        self.wp_seen.d.next = self.wp.q.val();
        // Issue side: a read needs a credit (a FIFO slot for its beat).
        self.issue.next = (self.start.val() | self.issuing.q.val()) & (self.used.q.val() < self.depth4.val());
        self.rd_x.next = self.x.q.val().get_bits::<NX>(0);
        self.bias_addr.next = self.bias_base.val() + self.c.q.val();
        self.acc_valid_q.d.next = self.issue.val();
        self.col_q.d.next = self.c.q.val().get_bits::<NC>(0);
        self.acc_valid.next = self.acc_valid_q.q.val();
        self.col_sel.next = self.col_q.q.val();
        if self.start.val() {
            self.running.d.next = true;
            self.issuing.d.next = true;
        }
        if self.issue.val() {
            if self.c.q.val() == self.g_last.val() {
                self.c.d.next = self.zero16.val();
                if (self.x.q.val() + self.one16.val()) == self.w_out.val() {
                    // The row's last read: back to (0, 0) for the next row.
                    self.x.d.next = self.zero16.val();
                    self.issuing.d.next = false;
                } else {
                    self.x.d.next = self.x.q.val() + self.one16.val();
                }
            } else {
                self.c.d.next = self.c.q.val() + self.one16.val();
            }
        }
        if self.issue.val() & !self.pop.val() {
            self.used.d.next = self.used.q.val() + self.one4.val();
        }
        if !self.issue.val() & self.pop.val() {
            self.used.d.next = self.used.q.val() - self.one4.val();
        }
        // Done when everything is issued and the last outstanding beat is accepted.
        if self.running.q.val() & !self.issuing.q.val() & self.pop.val() & (self.used.q.val() == self.one4.val()) {
            self.running.d.next = false;
        }
    }
}

/// One 2:1 step of a PPU's column select (`sel` ? `b` : `a`).
#[derive(LogicBlock)]
pub struct ColMux<const A: usize> {
    pub a: Signal<In, Bits<A>>,
    pub b: Signal<In, Bits<A>>,
    pub sel: Signal<In, Bit>,
    pub y: Signal<Out, Bits<A>>,
}

impl<const A: usize> Default for ColMux<A> {
    fn default() -> Self {
        ColMux { a: Default::default(), b: Default::default(), sel: Default::default(), y: Default::default() }
    }
}

impl<const A: usize> Logic for ColMux<A> {
    #[hdl_gen]
    fn update(&mut self) {
        self.y.next = self.a.val();
        if self.sel.val() {
            self.y.next = self.b.val();
        }
    }
}

/// Module names inside the drain unit.
struct Names {
    unit: String,
    ctl: String,
    mux: String,
    fifo: String,
    ppu: String,
    scale_mem: String,
    bias_mem: String,
}

impl Names {
    fn new(d: &str) -> Self {
        Names {
            unit: format!("{d}_drain"),
            ctl: format!("{d}_drain_ctl"),
            mux: format!("{d}_drain_mux"),
            fifo: format!("{d}_drain_fifo"),
            ppu: format!("{d}_ppu"),
            scale_mem: format!("{d}_scale_mem"),
            bias_mem: format!("{d}_bias_mem"),
        }
    }
}

/// The PPU's internal product width `Z` (see `Requant`): above the product and the bias, and at
/// least 34 bits.
const fn z_bits(a: usize, s: usize) -> usize {
    if a + s + 2 > 34 {
        a + s + 2
    } else {
        34
    }
}

macro_rules! ppu_for {
    ($a:expr, $s:expr, $name:expr; $(($av:literal, $sv:literal)),*) => {
        match ($a, $s) {
            $( ($av, $sv) => Some(emit_block(
                Ppu::<$av, $sv, { $av + $sv + 1 }, { $av + $sv }, { z_bits($av, $sv) }>::default(),
                $name,
            )), )*
            _ => None,
        }
    };
}

fn mem<const W: usize, const N: usize>(name: &str) -> Vec<Module> {
    emit_block(Bank::<W, N>::default(), name)
}

fn mem_any<const W: usize>(n: usize, name: &str) -> Option<Vec<Module>> {
    by_width!(n, mem[W](name); 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

fn ctl<const NX: usize, const NC: usize>(name: &str) -> Vec<Module> {
    emit_block(DrainCtl::<NX, NC>::default(), name)
}

fn ctl_any<const NX: usize>(nc: usize, name: &str) -> Option<Vec<Module>> {
    by_width!(nc, ctl[NX](name); 1, 2, 3, 4, 5, 6)
}

fn acc_blocks<const A: usize>(n: &Names) -> Vec<Module> {
    let mut v = emit_block(ColMux::<A>::default(), &n.mux);
    v.extend(emit_block(RAM::<Bits<A>, RESULT_FIFO_BITS>::default(), &n.fifo));
    v
}

fn leaf_modules(s: &DrainShape, n: &Names) -> Result<Vec<Module>> {
    let ppu = ppu_for!(s.acc, s.scale, &n.ppu;
        (16, 8), (16, 12), (16, 16), (20, 8), (20, 12), (20, 16), (24, 8), (24, 12), (24, 16),
        (28, 8), (28, 12), (28, 16), (32, 8), (32, 12), (32, 16));
    let scale = match s.scale {
        8 => mem_any::<8>(s.scale_addr_bits, &n.scale_mem),
        12 => mem_any::<12>(s.scale_addr_bits, &n.scale_mem),
        16 => mem_any::<16>(s.scale_addr_bits, &n.scale_mem),
        _ => None,
    };
    let bias = match s.bias {
        24 => mem_any::<24>(s.bias_addr_bits, &n.bias_mem),
        28 => mem_any::<28>(s.bias_addr_bits, &n.bias_mem),
        32 => mem_any::<32>(s.bias_addr_bits, &n.bias_mem),
        36 => mem_any::<36>(s.bias_addr_bits, &n.bias_mem),
        40 => mem_any::<40>(s.bias_addr_bits, &n.bias_mem),
        44 => mem_any::<44>(s.bias_addr_bits, &n.bias_mem),
        48 => mem_any::<48>(s.bias_addr_bits, &n.bias_mem),
        _ => None,
    };
    let ctl = match s.x_bits {
        1 => ctl_any::<1>(s.col_bits, &n.ctl),
        2 => ctl_any::<2>(s.col_bits, &n.ctl),
        3 => ctl_any::<3>(s.col_bits, &n.ctl),
        4 => ctl_any::<4>(s.col_bits, &n.ctl),
        5 => ctl_any::<5>(s.col_bits, &n.ctl),
        6 => ctl_any::<6>(s.col_bits, &n.ctl),
        7 => ctl_any::<7>(s.col_bits, &n.ctl),
        8 => ctl_any::<8>(s.col_bits, &n.ctl),
        9 => ctl_any::<9>(s.col_bits, &n.ctl),
        10 => ctl_any::<10>(s.col_bits, &n.ctl),
        11 => ctl_any::<11>(s.col_bits, &n.ctl),
        12 => ctl_any::<12>(s.col_bits, &n.ctl),
        _ => None,
    };
    let acc = by_width!(s.acc, acc_blocks(n); 16, 20, 24, 28, 32);
    match (ppu, scale, bias, ctl, acc) {
        (Some(mut v), Some(sm), Some(bm), Some(c), Some(a)) => {
            v.extend(sm);
            v.extend(bm);
            v.extend(c);
            v.extend(a);
            Ok(v)
        }
        _ => bail!("no generated drain blocks for {s:?} (limits.max_width must be at most 4096, array.cols / datapath.scale_group at most 64 columns per PPU)"),
    }
}

/// PPU `j`'s column select: a tree of 2:1 muxes over its `G_hw` columns of `rd_data`, level `k`
/// steered by bit `k` of `col_sel` (an odd node out passes up unchanged: its indices are past
/// `G_hw`). With `G_hw = 1` one mux picks between two copies of the column, so that `col_sel` is
/// used (an unused port fails `-Wall`); synthesis removes it. Returns the selected wire.
fn column_select(m: &mut NetModule, s: &DrainShape, n: &Names, j: usize) -> String {
    let a = s.acc;
    let mut level: Vec<String> = (0..s.g_hw).map(|i| slice("rd_data", j * s.g_hw + i, a)).collect();
    if level.len() == 1 {
        level.push(level[0].clone());
    }
    let mut k = 0;
    while level.len() > 1 {
        let mut next = Vec::new();
        for (i, pair) in level.chunks(2).enumerate() {
            if pair.len() == 1 {
                next.push(pair[0].clone());
                continue;
            }
            let y = format!("sel{j}_l{k}_{i}");
            m.wire(&y, a);
            let sel = if s.col_bits == 1 { "col_sel".to_string() } else { format!("col_sel[{k}]") };
            m.instance(
                &n.mux,
                &format!("mux{j}_l{k}_{i}"),
                &[("a", pair[0].clone()), ("b", pair[1].clone()), ("sel", sel), ("y", y.clone())],
            );
            next.push(y);
        }
        level = next;
        k += 1;
    }
    level.pop().unwrap()
}

fn drain_module(s: &DrainShape, n: &Names) -> Module {
    let (a, sb, b, p) = (s.acc, s.scale, s.bias, s.ppus);
    let mut m = NetModule::new(&n.unit);
    for name in ["clock", "start", "bank", "param_we", "param_sel", "out_ready"] {
        m.port(Dir::In, name, 1);
    }
    for name in ["scale_addr", "bias_base", "w_out", "param_addr"] {
        m.bus(Dir::In, name, 16);
    }
    m.bus(Dir::In, "shift", SHIFT_BITS);
    m.bus(Dir::In, "mode", 2);
    m.bus(Dir::In, "out_bits", 4);
    m.bus(Dir::In, "out_max", 8);
    m.bus(Dir::In, "param_ppu", 8);
    m.bus(Dir::In, "param_data", b);
    m.bus(Dir::In, "rd_data", s.cols * a);
    for name in ["busy", "rd_bank", "out_valid", "overflow"] {
        m.port(Dir::Out, name, 1);
    }
    m.bus(Dir::Out, "rd_x", s.x_bits);
    m.bus(Dir::Out, "out_data", p * a);
    for (name, w) in [
        ("issue", 1),
        ("acc_valid", 1),
        ("scale_we", 1),
        ("bias_we", 1),
        ("fifo_we", 1),
        ("ppu_valid", 1),
        ("col_sel", s.col_bits),
        ("bias_addr", 16),
        ("fifo_wr_addr", RESULT_FIFO_BITS),
        ("fifo_rd_addr", RESULT_FIFO_BITS),
    ] {
        m.wire(name, w);
    }
    let mut conns: Vec<(&str, String)> = Vec::new();
    for name in [
        "clock",
        "start",
        "w_out",
        "bias_base",
        "param_we",
        "param_sel",
        "ppu_valid",
        "out_ready",
        "busy",
        "issue",
        "rd_x",
        "bias_addr",
        "acc_valid",
        "col_sel",
        "scale_we",
        "bias_we",
        "fifo_we",
        "fifo_wr_addr",
        "fifo_rd_addr",
        "out_valid",
    ] {
        conns.push((name, name.into()));
    }
    conns.insert(3, ("g_last", format!("16'd{}", s.g_hw - 1)));
    m.instance(&n.ctl, "ctl", &conns);
    m.assign("rd_bank", "bank");
    let mut valid = Vec::new();
    let mut overflow = Vec::new();
    for j in 0..p {
        let (mj, bj, vj, pvj) = (format!("m{j}"), format!("b{j}"), format!("v{j}"), format!("pv{j}"));
        let (so, bo) = (format!("scale_ovf{j}"), format!("bias_ovf{j}"));
        for (name, w) in [(&mj, sb), (&bj, b), (&vj, a), (&pvj, 1), (&so, 1), (&bo, 1)] {
            m.wire(name, w);
        }
        let mem_conns = |we: &str, data: String, rd_en: &str, rd_addr: &str, q: &str, ovf: &str| {
            vec![
                ("clock", "clock".to_string()),
                ("my_id", format!("8'd{j}")),
                ("wr_en", we.to_string()),
                ("wr_sel", "param_ppu".to_string()),
                ("wr_addr", "param_addr".to_string()),
                ("wr_data", data),
                ("rd_en", rd_en.to_string()),
                ("rd_addr", rd_addr.to_string()),
                ("rd_data", q.to_string()),
                ("overflow", ovf.to_string()),
            ]
        };
        // The scale memory is read at the row's tile for the whole row (its output register is
        // the PPU's scale register); the bias memory with every beat.
        m.instance(
            &n.scale_mem,
            &format!("scale_mem{j}"),
            &mem_conns("scale_we", slice("param_data", 0, sb), "busy", "scale_addr", &mj, &so),
        );
        m.instance(
            &n.bias_mem,
            &format!("bias_mem{j}"),
            &mem_conns("bias_we", "param_data".into(), "issue", "bias_addr", &bj, &bo),
        );
        let acc = column_select(&mut m, s, n, j);
        m.instance(
            &n.ppu,
            &format!("ppu{j}"),
            &[
                ("clock", "clock".into()),
                ("in_valid", "acc_valid".into()),
                ("acc", acc),
                ("m", mj.clone()),
                ("bias", bj.clone()),
                ("shift", "shift".into()),
                ("mode", "mode".into()),
                ("out_bits", "out_bits".into()),
                ("out_max", "out_max".into()),
                ("out_valid", pvj.clone()),
                ("value", vj.clone()),
            ],
        );
        m.instance(
            &n.fifo,
            &format!("fifo{j}"),
            &[
                ("read_address", "fifo_rd_addr".into()),
                ("read_clock", "clock".into()),
                ("read_data", slice("out_data", j, a)),
                ("write_address", "fifo_wr_addr".into()),
                ("write_clock", "clock".into()),
                ("write_data", vj),
                ("write_enable", "fifo_we".into()),
            ],
        );
        valid.push(pvj);
        overflow.push(so);
        overflow.push(bo);
    }
    // All PPUs see the same in_valid, so their out_valid flags are equal; all are used.
    m.assign("ppu_valid", &valid.join(" & "));
    m.assign("overflow", &overflow.join(" | "));
    m.finish()
}

/// Every module of the drain unit (`{design}_drain` first), one definition per distinct block.
///
/// Ports of `{design}_drain` (`A` = acc_bits, `P` = C / G_hw, `B` = bias_bits, `NX` = pixel bits):
/// `clock`; parameter writes `param_we`, `param_sel` (0 scale, 1 bias), `param_ppu[8]`,
/// `param_addr[16]`, `param_data[B]`; drain control `start`, `bank`, `scale_addr[16]`,
/// `bias_base[16]`, `w_out[16]`, `shift[SHIFT_BITS]`, `mode[2]`, `out_bits[4]`, `out_max[8]`,
/// `busy`;
/// accumulator read port `rd_bank`, `rd_x[NX]`, `rd_data[C*A]`; results `out_valid`,
/// `out_ready`, `out_data[P*A]`; `overflow` (a parameter write or read beyond the memories).
pub fn drain_modules(design: &str, cfg: &AccelConfig) -> Result<Vec<Module>> {
    let s = DrainShape::from_config(cfg)?;
    let n = Names::new(design);
    let mut v = vec![drain_module(&s, &n)];
    v.extend(leaf_modules(&s, &n)?);
    merge_checked(v)
}

#[cfg(test)]
mod tests;
