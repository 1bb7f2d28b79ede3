//! The core's top level (`hdl/src/generator/top.rs`), one cycle at a time: the blocks' combinational
//! outputs in dependency order, the handshakes between them, then every block's clock edge.
//! The wiring is the RTL's, expression for expression (`act_fire = a_valid & c_act_ready &
//! act_en`, `busy = ctl_busy | g_busy | ~enc_idle`, ...).

use std::collections::VecDeque;

use crate::act_loader::{ActLoader, LoaderShape};
use crate::combine::Combine;
use crate::controller::{Bounds, Controller, CtlIn};
use crate::decoder::{Decoder, DecoderShape};
use crate::drain::Drain;
use crate::encoder::{EncOut, Encoder, EncoderShape};
use crate::gather::{Gather, GatherLayer};
use crate::sequencer::{SeqShape, Sequencer};
use cbnn::codec::BlockCost;

/// Everything fixed for a layer: shapes of the blocks and the register values they read.
#[derive(Clone, Debug)]
pub struct CoreShape {
    pub bounds: Bounds,
    pub loader: LoaderShape,
    pub seq: SeqShape,
    pub w_out: u32,
    pub g_hw: u32,
    /// Cycles from a run's end to its sums being in the accumulators (`TopShape::store_delay`).
    pub store_delay: u64,
    /// With the codec: the decoder, gather stage and encoder shapes.
    pub codec: Option<(DecoderShape, GatherLayer, EncoderShape)>,
    /// The layer's results leave as raw accumulators on the result stream (`mode = 0`).
    pub is_acc: bool,
    /// A grouped layer's combine entries per run of a row (empty for conv and fc layers).
    pub run_entries: Vec<u32>,
}

/// What the environment (DRAM, host) drives in a cycle.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortsIn {
    pub act_valid: bool,
    /// With the codec: the record beat's byte count and last flag.
    pub act_nbytes: u32,
    pub act_last: bool,
    pub w_valid: bool,
    pub out_ready: bool,
    pub code_ready: bool,
}

/// The transfers and events of a cycle.
#[derive(Clone, Copy, Debug, Default)]
pub struct Events {
    pub busy: bool,
    pub phase: cbnn::hw::control::Phase,
    /// Transfers on the core's ports.
    pub act_take: bool,
    pub w_take: bool,
    pub out_take: bool,
    pub code: Option<EncOut>,
    /// Inside: a block reaches the activation loader, a band or tile load starts, a run starts
    /// `(tile, y, bank)`, a drain starts on a bank, the decoder parses a block, the encoder takes one.
    pub act_fire: bool,
    pub load_start: bool,
    pub w_load_start: bool,
    pub go: Option<(u32, u32, usize)>,
    pub drain_start: Option<usize>,
    /// A grouped layer: a combine pass starts on a bank; a drain of a filter tile from the
    /// combine stage starts.
    pub comb_start: Option<usize>,
    pub oacc_drain: Option<u32>,
    /// The bank the controller offers a drain or combine pass (`drain_bank`), and the bank of
    /// the current run (`acc_bank`, 0 before the layer's first run).
    pub start_bank: usize,
    pub acc_bank: usize,
    pub dec_fire: bool,
    pub enc_take: bool,
    /// Signals for waveforms and counts.
    pub act_ready: bool,
    pub w_ready: bool,
    pub out_valid: bool,
    pub seq_busy: bool,
    pub seq_issue: bool,
    pub drain_busy: bool,
    pub act_busy: bool,
    /// The loader would take a block but none is offered; the encoder offers a beat.
    pub loader_wants: bool,
    pub code_valid: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Core {
    pub ctl: Controller,
    loader: ActLoader,
    seq: Sequencer,
    drain: Drain,
    gather: Gather,
    pub enc: Encoder,
    pub dec: Decoder,
    comb: Combine,
    /// Cycles at which a delayed run end (`run_stored`) arrives.
    stored_at: VecDeque<u64>,
    t: u64,
}

impl Core {
    /// The core after the `start` edge of a layer (the codec blocks restart with it).
    pub fn start(&mut self) {
        self.ctl.start();
        self.gather = Gather::default();
        self.enc = Encoder::default();
        self.dec = Decoder::default();
        self.comb = Combine::default();
        self.stored_at.clear();
        self.t = 0;
    }

    /// `busy` as the core's port shows it in the current cycle (before its inputs matter).
    pub fn busy(&self, s: &CoreShape) -> bool {
        self.ctl.state != cbnn::hw::control::Phase::Idle
            || (s.codec.is_some() && (self.gather.busy() || !self.enc.idle()))
    }

    /// One cycle: `head` is the cost of the block at the head of the decoder's buffer, `enc`
    /// that of the block the gather stage offers the encoder.
    pub fn cycle(&mut self, s: &CoreShape, p: &PortsIn, head: BlockCost, enc: BlockCost) -> Events {
        let run_stored = self.stored_at.front() == Some(&self.t);
        let ci = CtlIn {
            act_busy: self.loader.busy(),
            seq_busy: self.seq.busy(),
            run_stored,
            drain_busy: self.drain.busy(),
            comb_busy: self.comb.busy(),
            ..CtlIn::default()
        };
        let co = self.ctl.outputs(&ci, &s.bounds);
        let c_act_ready = self.loader.in_ready(&s.loader);
        let loader_ready = c_act_ready && co.act_en;
        let mut e = Events {
            phase: self.ctl.state,
            load_start: co.load_start,
            w_load_start: co.w_load_start,
            seq_busy: self.seq.busy(),
            seq_issue: self.seq.issuing(&s.seq),
            drain_busy: self.drain.busy(),
            act_busy: self.loader.busy(),
            ..Events::default()
        };
        // The activation path: straight from the port, or through the decoder.
        let (a_valid, dec_take) = match &s.codec {
            None => {
                e.act_ready = loader_ready;
                e.act_take = p.act_valid && e.act_ready;
                (p.act_valid, None)
            }
            Some((ds, _, _)) => {
                e.act_ready = self.dec.in_ready(ds) && co.busy;
                e.act_take = p.act_valid && e.act_ready;
                e.dec_fire = self.dec.fire(loader_ready, ds);
                (self.dec.out_valid(), e.act_take.then_some((p.act_nbytes, p.act_last)))
            }
        };
        e.act_fire = a_valid && loader_ready;
        e.loader_wants = loader_ready && !a_valid;
        // The weight stream feeds the weight loader or, in a grouped layer's entry phase, the
        // combine stage's entry loader (always ready).
        e.w_ready = co.w_en || co.ent_en;
        e.w_take = p.w_valid && e.w_ready;
        // The write path: the result stream, or gather stage and encoder.
        e.out_valid = self.drain.out_valid() && s.is_acc;
        let (d_ready, mut gather_take, mut enc_take) = (p.out_ready, false, None);
        // (`d_ready`: the drain's output handshake, `is_acc ? out_ready : g_ready`.)
        let d_ready = match &s.codec {
            Some((_, gs, es)) if !s.is_acc => {
                let enc_ready = self.enc.in_ready(es);
                let g_ready = self.gather.in_ready(enc_ready, gs);
                gather_take = self.drain.out_valid() && g_ready;
                let go = self.gather.out(gs);
                if go.valid && enc_ready {
                    enc_take = Some((enc, go.last));
                }
                let eo = self.enc.out(es);
                e.code_valid = eo.valid;
                e.code = (eo.valid && p.code_ready).then_some(eo);
                g_ready
            }
            Some(_) => d_ready,
            None => {
                if !s.is_acc {
                    e.out_valid = self.drain.out_valid();
                }
                d_ready
            }
        };
        let pop = self.drain.out_valid() && d_ready;
        e.out_take = e.out_valid && p.out_ready;
        e.enc_take = enc_take.is_some();
        e.busy = co.busy || (s.codec.is_some() && (self.gather.busy() || !self.enc.idle()));
        if co.go {
            e.go = Some((co.run_tile, co.run_y, co.run_bank));
        }
        let grouped = !s.run_entries.is_empty();
        if co.drain_start {
            if grouped {
                e.oacc_drain = Some(co.drain_tile);
            } else {
                e.drain_start = Some(co.drain_bank);
            }
        }
        if co.comb_start {
            e.comb_start = Some(co.drain_bank);
        }
        e.start_bank = co.drain_bank;
        e.acc_bank = co.acc_bank;

        // Clock edge.
        let ci = CtlIn { act_fire: e.act_fire, w_fire: e.w_take, ..ci };
        self.ctl.clock(&ci, &co, &s.bounds);
        self.loader.clock(co.load_start, e.act_fire, &s.loader);
        self.seq.clock(co.go, &s.seq);
        self.drain.clock(co.drain_start, pop, s.w_out, s.g_hw);
        if grouped {
            self.comb.clock(co.comb_start, &s.run_entries, s.w_out);
        }
        if let Some((ds, gs, es)) = &s.codec {
            self.dec.clock(dec_take, loader_ready, head, ds);
            if !s.is_acc {
                let enc_ready = self.enc.in_ready(es);
                self.gather.clock(gather_take, enc_ready, gs);
                self.enc.clock(enc_take, p.code_ready, es);
            }
        }
        if run_stored {
            self.stored_at.pop_front();
        }
        if co.run_end {
            self.stored_at.push_back(self.t + s.store_delay);
        }
        self.t += 1;
        e
    }
}
