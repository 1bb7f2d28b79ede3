//! The controller's compute sequencer: issues, cycle by cycle, the weight-bank and
//! activation-bank reads of `cbnn::hw::sequence::compute_sequence` for a run of output rows of
//! one filter tile, from the registers of `cbnn::hw::sequence::SequencerRegs` (the host
//! precomputes every product, so the sequencer only counts and adds).
//!
//! Two engines run side by side: the load engine reads a pass's R weight rows, the pass engine
//! streams a pass's `planes x W_out` activation reads. A load starts once the previous pass has
//! started and the previous load is done; a pass starts once its load started in an earlier
//! cycle and the previous pass is done (the array's timing contract, `array.rs`). The engines
//! are blocks of their own (`sequencer/load_engine.rs`, `sequencer/pass_engine.rs`); this
//! block starts them and ends the run, as `sim/src/sequencer.rs` does.

mod load_engine;
mod pass_engine;

use rust_hdl::prelude::*;

use load_engine::LoadEngine;
use pass_engine::PassEngine;

/// `NX` bits of the pixel index `step_x` (the column accumulators' address width).
#[derive(LogicBlock, Default)]
pub struct Sequencer<const NX: usize> {
    pub clock: Signal<In, Clock>,
    /// Start a run (registers must be stable from here to `busy` falling).
    pub go: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    // SequencerRegs.
    pub y0: Signal<In, Bits<16>>,
    pub first_row: Signal<In, Bits<16>>,
    pub h: Signal<In, Bits<16>>,
    pub w: Signal<In, Bits<16>>,
    pub w_out: Signal<In, Bits<16>>,
    pub kernel: Signal<In, Bits<16>>,
    pub stride: Signal<In, Bits<16>>,
    pub groups: Signal<In, Bits<16>>,
    pub planes: Signal<In, Bits<16>>,
    /// `log2` of the planes side by side on the rows: `step_plane` is the pass plane shifted by it.
    pub plane_shift: Signal<In, Bits<3>>,
    pub array_rows: Signal<In, Bits<16>>,
    pub passes: Signal<In, Bits<32>>,
    pub weight_words: Signal<In, Bits<16>>,
    pub iy0: Signal<In, Bits<16>>,
    pub ix0: Signal<In, Bits<16>>,
    pub base0: Signal<In, Bits<16>>,
    /// The run's first weight address (a grouped layer's bank tile), taken with `go`.
    pub w_base0: Signal<In, Bits<16>>,
    pub x_step: Signal<In, Bits<16>>,
    /// From a pass's last chunk group to the next tap's first (`planes` when a run covers a
    /// pixel's chunk groups; more for a grouped layer's run over some of them).
    pub kx_step: Signal<In, Bits<16>>,
    pub ky_step: Signal<In, Bits<16>>,
    pub y_step: Signal<In, Bits<16>>,
    // Issued reads.
    pub step_valid: Signal<Out, Bit>,
    pub step_addr: Signal<Out, Bits<16>>,
    pub step_outside: Signal<Out, Bit>,
    pub step_last_group: Signal<Out, Bit>,
    pub step_first: Signal<Out, Bit>,
    pub step_init: Signal<Out, Bit>,
    pub step_y: Signal<Out, Bits<16>>,
    pub step_x: Signal<Out, Bits<NX>>,
    pub step_plane: Signal<Out, Bits<3>>,
    pub w_valid: Signal<Out, Bit>,
    pub w_addr: Signal<Out, Bits<16>>,
    pub w_start: Signal<Out, Bit>,
    running: DFF<Bit>,
    /// The load engine is one pass ahead (it is never further ahead, and never behind): a flag
    /// instead of two 32-bit pass-index compares on the path to the pass engine's `issue`.
    ld_ahead: DFF<Bit>,
    pass_start: Signal<Local, Bit>,
    load_start: Signal<Local, Bit>,
    load: LoadEngine,
    pass: PassEngine<NX>,
}

impl<const NX: usize> Logic for Sequencer<NX> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, running, ld_ahead);
        self.busy.next = self.running.q.val();
        // When may a pass and a load start (array timing contract)? A pass once its load is
        // ahead, a load once the pass before it has started.
        self.pass_start.next =
            self.running.q.val() & !self.pass.active.val() & self.pass.more.val() & self.ld_ahead.q.val();
        self.load_start.next = self.running.q.val()
            & !self.load.active.val()
            & self.load.more.val()
            & (self.pass_start.val() | !self.ld_ahead.q.val());
        if self.load_start.val() & !self.pass_start.val() {
            self.ld_ahead.d.next = true;
        }
        if !self.load_start.val() & self.pass_start.val() {
            self.ld_ahead.d.next = false;
        }
        // The run ends when every pass has been issued.
        if self.running.q.val()
            & !self.pass_start.val()
            & !self.pass.active.val()
            & !self.load.active.val()
            & self.pass.all_started.val()
        {
            self.running.d.next = false;
        }
        if self.go.val() {
            self.running.d.next = true;
            self.ld_ahead.d.next = false;
        }
        // The load engine.
        self.load.clock.next = self.clock.val();
        self.load.go.next = self.go.val();
        self.load.start.next = self.load_start.val();
        self.load.array_rows.next = self.array_rows.val();
        self.load.weight_words.next = self.weight_words.val();
        self.load.passes.next = self.passes.val();
        self.load.w_base0.next = self.w_base0.val();
        self.w_valid.next = self.load.w_valid.val();
        self.w_addr.next = self.load.w_addr.val();
        self.w_start.next = self.load.w_start.val();
        // The pass engine.
        self.pass.clock.next = self.clock.val();
        self.pass.go.next = self.go.val();
        self.pass.start.next = self.pass_start.val();
        self.pass.y0.next = self.y0.val();
        self.pass.first_row.next = self.first_row.val();
        self.pass.h.next = self.h.val();
        self.pass.w.next = self.w.val();
        self.pass.w_out.next = self.w_out.val();
        self.pass.kernel.next = self.kernel.val();
        self.pass.stride.next = self.stride.val();
        self.pass.groups.next = self.groups.val();
        self.pass.planes.next = self.planes.val();
        self.pass.plane_shift.next = self.plane_shift.val();
        self.pass.passes.next = self.passes.val();
        self.pass.iy0.next = self.iy0.val();
        self.pass.ix0.next = self.ix0.val();
        self.pass.base0.next = self.base0.val();
        self.pass.x_step.next = self.x_step.val();
        self.pass.kx_step.next = self.kx_step.val();
        self.pass.ky_step.next = self.ky_step.val();
        self.pass.y_step.next = self.y_step.val();
        self.step_valid.next = self.pass.step_valid.val();
        self.step_addr.next = self.pass.step_addr.val();
        self.step_outside.next = self.pass.step_outside.val();
        self.step_last_group.next = self.pass.step_last_group.val();
        self.step_first.next = self.pass.step_first.val();
        self.step_init.next = self.pass.step_init.val();
        self.step_y.next = self.pass.step_y.val();
        self.step_x.next = self.pass.step_x.val();
        self.step_plane.next = self.pass.step_plane.val();
    }
}

#[cfg(test)]
mod tests;
