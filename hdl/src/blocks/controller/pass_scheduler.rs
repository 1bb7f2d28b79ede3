//! The pass scheduler of the layer controller: one pass per stored run, in run order. A pass is
//! a drain of the run's accumulator bank through the drain unit or, in a grouped (slbf, penni)
//! layer, a combine pass into the combine stage. After the pass of a grouped row's last run,
//! the drain unit drains the row's filter tiles from the combine stage's accumulators, one
//! after another, and no pass starts until they are done (the next row's first pass would
//! overwrite those words): `RowDrains`, a block of its own.
//!
//! The two accumulator banks bound the runs in flight: run `n` uses bank `n mod 2`, so it may
//! start only when the pass of run `n - 2` has finished (`bank_free`). The counts of runs
//! stored and not yet passed (`to_drain`) and issued and not yet passed (`in_flight`) are
//! therefore at most 2, and 2-bit counters keep their compares off the `go` path.
//!
//! Mirrored by `clock_pass_scheduler` in `sim/src/controller.rs`, which counts the runs issued,
//! stored and passed as totals (their differences are these counters).

use rust_hdl::prelude::*;

use super::row_drains::RowDrains;
use crate::blocks::lit::Lit;

#[derive(LogicBlock, Default)]
pub struct PassScheduler {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// A layer starts: no runs, the first pass is of bank 0.
    pub rewind: Signal<In, Bit>,
    /// A run is issued into bank `go_bank`, for filter tile `tile` (its scales and biases from
    /// `bias_base`); `row_last`: it is its grouped row's last.
    pub go: Signal<In, Bit>,
    pub go_bank: Signal<In, Bit>,
    pub tile: Signal<In, Bits<16>>,
    pub bias_base: Signal<In, Bits<16>>,
    pub row_last: Signal<In, Bit>,
    /// A run's sums are in the accumulators.
    pub run_stored: Signal<In, Bit>,
    pub grouped: Signal<In, Bit>,
    pub drain_busy: Signal<In, Bit>,
    pub comb_busy: Signal<In, Bit>,
    // Descriptor registers and core constants.
    pub filter_tiles: Signal<In, Bits<16>>,
    pub g_hw: Signal<In, Bits<16>>,
    pub w_out: Signal<In, Bits<16>>,
    /// The bank of the next run has been passed: a run may be issued into it.
    pub bank_free: Signal<Out, Bit>,
    /// Every issued run has been passed, and no grouped row is draining.
    pub idle: Signal<Out, Bit>,
    pub drain_start: Signal<Out, Bit>,
    pub comb_start: Signal<Out, Bit>,
    pub drain_bank: Signal<Out, Bit>,
    pub drain_scale_addr: Signal<Out, Bits<16>>,
    pub drain_bias_base: Signal<Out, Bits<16>>,
    /// The first word of the drained filter tile in the combine stage's accumulators.
    pub oacc_base: Signal<Out, Bits<16>>,
    to_drain: DFF<Bits<2>>,
    in_flight: DFF<Bits<2>>,
    // Each bank's run: its tile, bias base and "last run of its row" flag.
    scale0: DFF<Bits<16>>,
    scale1: DFF<Bits<16>>,
    bias0: DFF<Bits<16>>,
    bias1: DFF<Bits<16>>,
    last0: DFF<Bit>,
    last1: DFF<Bit>,
    // The pass running (its bank, tile, bias base, last flag) and the bank of the next.
    drain_active: DFF<Bit>,
    drain_wait: DFF<Bit>,
    drain_sel: DFF<Bit>,
    d_bank: DFF<Bit>,
    d_scale: DFF<Bits<16>>,
    d_bias: DFF<Bits<16>>,
    d_last: DFF<Bit>,
    row_drains: RowDrains,
    pass_busy: Signal<Local, Bit>,
    pass_done: Signal<Local, Bit>,
    zero2: Lit<2, 0>,
    one2: Lit<2, 1>,
}

impl Logic for PassScheduler {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            to_drain,
            in_flight,
            scale0,
            scale1,
            bias0,
            bias1,
            last0,
            last1,
            drain_active,
            drain_wait,
            drain_sel,
            d_bank,
            d_scale,
            d_bias,
            d_last
        );
        self.row_drains.clock.next = self.clock.val();
        self.row_drains.reset.next = self.reset.val();
        self.row_drains.drain_busy.next = self.drain_busy.val();
        self.row_drains.filter_tiles.next = self.filter_tiles.val();
        self.row_drains.g_hw.next = self.g_hw.val();
        self.row_drains.w_out.next = self.w_out.val();
        self.row_drains.row_done.next = false;
        self.bank_free.next = !self.in_flight.q.val().get_bits::<1>(1).any();
        self.idle.next = (self.in_flight.q.val() == self.zero2.val()) & !self.row_drains.draining.val();
        self.comb_start.next = false;
        self.drain_start.next = false;
        self.oacc_base.next = self.row_drains.acc_base.val();
        // The pass's parameters: the running pass's, else those of the next one (its bank
        // `drain_sel`), chosen from registers only so that they do not wait for the `to_drain`
        // compare behind `drain_start` (the drain reads them from its start cycle on).
        self.drain_bank.next = self.d_bank.q.val();
        self.drain_scale_addr.next = self.d_scale.q.val();
        self.drain_bias_base.next = self.d_bias.q.val();
        if !self.drain_active.q.val() {
            self.drain_bank.next = self.drain_sel.q.val();
            self.drain_scale_addr.next = self.scale0.q.val();
            self.drain_bias_base.next = self.bias0.q.val();
            if self.drain_sel.q.val() {
                self.drain_scale_addr.next = self.scale1.q.val();
                self.drain_bias_base.next = self.bias1.q.val();
            }
        }
        if self.grouped.val() {
            self.drain_scale_addr.next = self.row_drains.tile.val();
            self.drain_bias_base.next = self.row_drains.bias_base.val();
        }

        // One pass per stored run, in order (a grouped layer's go to the combine stage, which
        // waits while a finished row drains).
        self.pass_busy.next = self.drain_busy.val();
        if self.grouped.val() {
            self.pass_busy.next = self.comb_busy.val();
        }
        self.pass_done.next = false;
        if self.drain_active.q.val() {
            if self.drain_wait.q.val() {
                self.drain_wait.d.next = false;
            } else if !self.pass_busy.val() {
                self.drain_active.d.next = false;
                self.pass_done.next = true;
                self.row_drains.row_done.next = self.grouped.val() & self.d_last.q.val();
            }
        } else if (self.to_drain.q.val() != self.zero2.val()) & !(self.grouped.val() & self.row_drains.draining.val()) {
            self.drain_start.next = !self.grouped.val();
            self.comb_start.next = self.grouped.val();
            self.d_last.d.next = self.last0.q.val();
            if self.drain_sel.q.val() {
                self.d_last.d.next = self.last1.q.val();
            }
            self.drain_active.d.next = true;
            self.drain_wait.d.next = true;
            self.drain_sel.d.next = !self.drain_sel.q.val();
            self.d_bank.d.next = self.drain_sel.q.val();
            if self.drain_sel.q.val() {
                self.d_scale.d.next = self.scale1.q.val();
                self.d_bias.d.next = self.bias1.q.val();
            } else {
                self.d_scale.d.next = self.scale0.q.val();
                self.d_bias.d.next = self.bias0.q.val();
            }
        }

        // A finished row of a grouped layer: its filter tiles through the drain unit.
        if self.row_drains.start.val() {
            self.drain_start.next = true;
        }

        // Record the issued run's tile and row flag with its bank.
        if self.go.val() {
            if self.go_bank.val() {
                self.scale1.d.next = self.tile.val();
                self.bias1.d.next = self.bias_base.val();
                self.last1.d.next = self.row_last.val();
            } else {
                self.scale0.d.next = self.tile.val();
                self.bias0.d.next = self.bias_base.val();
                self.last0.d.next = self.row_last.val();
            }
        }
        // The counters: +1 for a run stored / issued, -1 for a pass finished.
        if self.run_stored.val() & !self.pass_done.val() {
            self.to_drain.d.next = self.to_drain.q.val() + self.one2.val();
        }
        if !self.run_stored.val() & self.pass_done.val() {
            self.to_drain.d.next = self.to_drain.q.val() - self.one2.val();
        }
        if self.go.val() & !self.pass_done.val() {
            self.in_flight.d.next = self.in_flight.q.val() + self.one2.val();
        }
        if !self.go.val() & self.pass_done.val() {
            self.in_flight.d.next = self.in_flight.q.val() - self.one2.val();
        }
        if self.rewind.val() {
            self.drain_sel.d.next = false;
        }
        if self.rewind.val() | self.reset.val() {
            self.to_drain.d.next = self.zero2.val();
            self.in_flight.d.next = self.zero2.val();
        }
        if self.reset.val() {
            self.drain_active.d.next = false;
        }
    }
}
