//! The row drains of the pass scheduler: after the combine pass of a grouped (slbf, penni)
//! row's last run, the row's filter tiles leave the combine stage's accumulators through the
//! drain unit, one tile after another (each tile's scales and biases `g_hw` further on, its
//! accumulator words `w_out` further on). The scheduler starts no pass while they are pending
//! or running: the next row's first pass would overwrite those words.
//!
//! Mirrored by `clock_row_drains` in `sim/src/controller.rs`.

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;

#[derive(LogicBlock, Default)]
pub struct RowDrains {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// The combine pass of a row's last run has finished.
    pub row_done: Signal<In, Bit>,
    pub drain_busy: Signal<In, Bit>,
    pub filter_tiles: Signal<In, Bits<16>>,
    pub g_hw: Signal<In, Bits<16>>,
    pub w_out: Signal<In, Bits<16>>,
    /// Drains are pending or running.
    pub draining: Signal<Out, Bit>,
    /// Start the drain of tile `tile` (scales and biases from `bias_base`, accumulator words
    /// from `acc_base`).
    pub start: Signal<Out, Bit>,
    pub tile: Signal<Out, Bits<16>>,
    pub bias_base: Signal<Out, Bits<16>>,
    pub acc_base: Signal<Out, Bits<16>>,
    pending: DFF<Bit>,
    active: DFF<Bit>,
    starting: DFF<Bit>,
    od_tile: DFF<Bits<16>>,
    od_bias: DFF<Bits<16>>,
    od_base: DFF<Bits<16>>,
    one: Lit<16, 1>,
    zero: Lit<16, 0>,
}

impl Logic for RowDrains {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, pending, active, starting, od_tile, od_bias, od_base);
        self.draining.next = self.pending.q.val() | self.active.q.val();
        self.start.next = false;
        self.tile.next = self.od_tile.q.val();
        self.bias_base.next = self.od_bias.q.val();
        self.acc_base.next = self.od_base.q.val();
        if self.row_done.val() {
            self.pending.d.next = true;
        }
        if self.active.q.val() {
            // The drain unit is busy from the cycle after its start.
            if self.starting.q.val() {
                self.starting.d.next = false;
            } else if !self.drain_busy.val() {
                self.active.d.next = false;
                self.od_tile.d.next = self.od_tile.q.val() + self.one.val();
                self.od_bias.d.next = self.od_bias.q.val() + self.g_hw.val();
                self.od_base.d.next = self.od_base.q.val() + self.w_out.val();
                if (self.od_tile.q.val() + self.one.val()) == self.filter_tiles.val() {
                    self.pending.d.next = false;
                    self.od_tile.d.next = self.zero.val();
                    self.od_bias.d.next = self.zero.val();
                    self.od_base.d.next = self.zero.val();
                }
            }
        } else if self.pending.q.val() {
            self.start.next = true;
            self.active.d.next = true;
            self.starting.d.next = true;
        }
        if self.reset.val() {
            self.pending.d.next = false;
            self.active.d.next = false;
        }
    }
}
