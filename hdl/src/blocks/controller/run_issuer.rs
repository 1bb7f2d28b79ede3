//! The run issuer of the layer controller: the registers of the sequencer run in flight. With
//! `go` it takes the run's output row, input row, activation and weight bases, group row and
//! lane, and accumulator bank (the banks alternate), and passes them straight to the sequencer
//! in that cycle too, which takes them with `go`; afterwards it holds them, since the array's
//! row controls read them for the whole run. A run is over when the sequencer is idle again (it
//! is busy from the cycle after `go`): then `run_end` pulses.
//!
//! Mirrored by `clock_run_issuer` in `sim/src/controller.rs`, which keeps the bank and the
//! active/wait flags (the row bases are addresses: the simulator's datapath computes them).

use rust_hdl::prelude::*;

#[derive(LogicBlock, Default)]
pub struct RunIssuer {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// A layer starts: its first run goes to bank 0.
    pub rewind: Signal<In, Bit>,
    pub go: Signal<In, Bit>,
    pub seq_busy: Signal<In, Bit>,
    /// The next run's position, from the loop nest (`y`, `iy`, `base`) and the grouped-row
    /// iterator (the group's offsets; zero for a plain layer).
    pub y: Signal<In, Bits<16>>,
    pub iy: Signal<In, Bits<16>>,
    pub base: Signal<In, Bits<16>>,
    pub g_base: Signal<In, Bits<16>>,
    pub g_row: Signal<In, Bits<8>>,
    pub g_lane: Signal<In, Bits<8>>,
    pub w_base: Signal<In, Bits<16>>,
    /// A run is in flight (from the cycle after `go` until the cycle after `run_end`).
    pub active: Signal<Out, Bit>,
    /// The accumulator bank the next run goes to.
    pub next_bank: Signal<Out, Bit>,
    pub y0: Signal<Out, Bits<16>>,
    pub iy0: Signal<Out, Bits<16>>,
    pub base0: Signal<Out, Bits<16>>,
    pub w_base0: Signal<Out, Bits<16>>,
    pub run_row: Signal<Out, Bits<8>>,
    pub run_shift: Signal<Out, Bits<8>>,
    pub acc_bank: Signal<Out, Bit>,
    pub run_end: Signal<Out, Bit>,
    run_y: DFF<Bits<16>>,
    run_iy: DFF<Bits<16>>,
    run_base: DFF<Bits<16>>,
    run_wbase: DFF<Bits<16>>,
    run_row_r: DFF<Bits<8>>,
    run_lane: DFF<Bits<8>>,
    run_bank: DFF<Bit>,
    bank: DFF<Bit>,
    run_active: DFF<Bit>,
    run_wait: DFF<Bit>,
}

impl Logic for RunIssuer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, run_y, run_iy, run_base, run_wbase, run_row_r, run_lane, run_bank, bank, run_active, run_wait
        );
        self.active.next = self.run_active.q.val();
        self.next_bank.next = self.bank.q.val();
        self.y0.next = self.run_y.q.val();
        self.iy0.next = self.run_iy.q.val();
        self.base0.next = self.run_base.q.val();
        self.w_base0.next = self.run_wbase.q.val();
        self.run_row.next = self.run_row_r.q.val();
        self.run_shift.next = self.run_lane.q.val();
        self.acc_bank.next = self.run_bank.q.val();
        self.run_end.next = false;
        if self.run_active.q.val() {
            if self.run_wait.q.val() {
                self.run_wait.d.next = false;
            } else if !self.seq_busy.val() {
                self.run_active.d.next = false;
                self.run_end.next = true;
            }
        }
        if self.go.val() {
            self.run_active.d.next = true;
            self.run_wait.d.next = true;
            self.run_y.d.next = self.y.val();
            self.run_iy.d.next = self.iy.val();
            self.run_base.d.next = self.base.val() + self.g_base.val();
            self.run_wbase.d.next = self.w_base.val();
            self.run_row_r.d.next = self.g_row.val();
            self.run_lane.d.next = self.g_lane.val();
            self.run_bank.d.next = self.bank.q.val();
            self.bank.d.next = !self.bank.q.val();
            self.y0.next = self.y.val();
            self.iy0.next = self.iy.val();
            self.base0.next = self.base.val() + self.g_base.val();
            self.w_base0.next = self.w_base.val();
        }
        if self.rewind.val() {
            self.bank.d.next = false;
        }
        if self.reset.val() {
            self.run_active.d.next = false;
        }
    }
}
