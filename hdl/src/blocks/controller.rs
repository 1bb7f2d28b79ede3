//! The layer controller (docs/ARCHITECTURE.md, section 4): after `start` it runs the loop nest of
//! one layer from the descriptor registers, with adds and compares only (the host precomputes
//! every product, `cbnn::hw::regs`):
//!
//! ```text
//! for band:   load the band's input rows (gate the activation stream, count rows x values)
//!   for tile: load the tile's weights (gate the weight stream, count words; skipped after the
//!             first band when the layer has one tile: the weights are still in the buffer)
//!     for y in the band's output rows: one sequencer run (y0, iy0, base0, accumulator bank)
//! ```
//!
//! It is five blocks, each in its own file under `controller/` and mirrored by a function of the
//! same name in the simulator's controller (`sim/src/controller.rs`):
//! - `LoopNest`: the phase register, the loops and the loads; raises `go` for each run;
//! - `BandIter`: the current row band's input and output rows (the simulator takes them from
//!   the contract, `cbnn::hw::streams`);
//! - `RunIssuer`: the registers of the run in flight and its accumulator bank;
//! - `PassScheduler`: a drain (or combine) pass per stored run, and (`RowDrains`) a grouped
//!   row's drains;
//! - `GroupIter`: a grouped layer's position within its output row.
//!
//! Beside the loop, a drain scheduler sends each finished row through the drain unit, in order.
//! The column accumulators have two banks, so run `n` uses bank `n mod 2` and may start only when
//! the drain of run `n - 2` has finished; a run's sums are complete when its delayed end pulse
//! (`run_stored`, the run end delayed past the array and the accumulator, in the netlist)
//! arrives. `busy` falls when the last row has left the result stream.
//!
//! A grouped (slbf, penni) layer (`grouped`, docs/ARCHITECTURE.md section 10) loads its bank's
//! weights and then its combine entries once, in the first band, and runs
//!
//! ```text
//! for band:   load the band's input rows
//!   for y in the band's output rows: for group: for bank tile: one run (one row, one group)
//! ```
//!
//! where a run's accumulator bank goes to the combine stage instead of the drain unit (same
//! scheduling: a pass per run, in order), and after the pass of a row's last run the drain unit
//! drains the row's filter tiles from the combine stage's accumulators, one after another; no
//! pass starts until they are done (the next row's first pass overwrites those words).

mod band_iter;
mod group_iter;
mod loop_nest;
mod pass_scheduler;
mod row_drains;
mod run_issuer;

use rust_hdl::prelude::*;

use band_iter::BandIter;
use cbnn::hw::control::Phase;
use group_iter::GroupIter;
use loop_nest::LoopNest;
use pass_scheduler::PassScheduler;
use run_issuer::RunIssuer;

#[derive(LogicBlock, Default)]
pub struct Controller {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    /// The current phase (`cbnn::hw::control::Phase`), for waveforms and measurements.
    pub phase: Signal<Out, Bits<{ Phase::BITS }>>,
    /// A buffer access out of range (`overflow` from the banks) since the last `start`: the
    /// descriptor does not fit the generated buffers.
    pub overflow: Signal<In, Bit>,
    pub error: Signal<Out, Bit>,
    // Descriptor registers.
    pub bands: Signal<In, Bits<16>>,
    pub band_out_rows: Signal<In, Bits<16>>,
    pub h_out: Signal<In, Bits<16>>,
    pub filter_tiles: Signal<In, Bits<16>>,
    pub row_beats: Signal<In, Bits<32>>,
    pub tile_words: Signal<In, Bits<32>>,
    pub band_span: Signal<In, Bits<16>>,
    pub band_iy_step: Signal<In, Bits<16>>,
    pub band_base_step: Signal<In, Bits<16>>,
    pub row_base_step: Signal<In, Bits<16>>,
    pub iy0_first: Signal<In, Bits<16>>,
    pub band_base_first: Signal<In, Bits<16>>,
    pub pad_base: Signal<In, Bits<16>>,
    pub h: Signal<In, Bits<16>>,
    pub stride: Signal<In, Bits<16>>,
    /// The activation loader still holds or writes a word.
    pub act_busy: Signal<In, Bit>,
    /// G_hw, the columns per PPU (a constant of the generated core).
    pub g_hw: Signal<In, Bits<16>>,
    // Streams: the gates, and the transfers seen at the core's ports.
    pub act_en: Signal<Out, Bit>,
    pub act_fire: Signal<In, Bit>,
    pub w_en: Signal<Out, Bit>,
    pub w_fire: Signal<In, Bit>,
    pub load_start: Signal<Out, Bit>,
    pub w_load_start: Signal<Out, Bit>,
    // Sequencer runs.
    pub go: Signal<Out, Bit>,
    pub seq_busy: Signal<In, Bit>,
    pub y0: Signal<Out, Bits<16>>,
    pub iy0: Signal<Out, Bits<16>>,
    pub base0: Signal<Out, Bits<16>>,
    pub first_row: Signal<Out, Bits<16>>,
    pub acc_bank: Signal<Out, Bit>,
    /// One cycle when a run has issued its last read; `run_stored` is that pulse delayed until
    /// the run's sums are in the accumulators.
    pub run_end: Signal<Out, Bit>,
    pub run_stored: Signal<In, Bit>,
    // Drain unit.
    pub drain_start: Signal<Out, Bit>,
    pub drain_busy: Signal<In, Bit>,
    pub drain_bank: Signal<Out, Bit>,
    pub drain_scale_addr: Signal<Out, Bits<16>>,
    pub drain_bias_base: Signal<Out, Bits<16>>,
    // Grouped layers: descriptor registers, the run's group position, the combine stage.
    pub grouped: Signal<In, Bit>,
    pub n_groups: Signal<In, Bits<16>>,
    pub bank_tiles: Signal<In, Bits<16>>,
    pub bank_words: Signal<In, Bits<16>>,
    pub grp_lanes: Signal<In, Bits<16>>,
    pub grp_rows: Signal<In, Bits<16>>,
    pub grp_base_step: Signal<In, Bits<16>>,
    pub entry_words: Signal<In, Bits<32>>,
    pub w_out: Signal<In, Bits<16>>,
    /// L, the array's lanes (a constant of the generated core).
    pub lanes: Signal<In, Bits<16>>,
    pub w_base0: Signal<Out, Bits<16>>,
    pub run_row: Signal<Out, Bits<8>>,
    pub run_shift: Signal<Out, Bits<8>>,
    pub ent_en: Signal<Out, Bit>,
    pub ent_start: Signal<Out, Bit>,
    pub rewind: Signal<Out, Bit>,
    pub comb_start: Signal<Out, Bit>,
    pub comb_busy: Signal<In, Bit>,
    /// The first word of the drained filter tile in the combine stage's accumulators.
    pub oacc_base: Signal<Out, Bits<16>>,
    nest: LoopNest,
    band: BandIter,
    issuer: RunIssuer,
    passes: PassScheduler,
    groups: GroupIter,
}

impl Logic for Controller {
    #[hdl_gen]
    fn update(&mut self) {
        // Clocks and resets.
        self.nest.clock.next = self.clock.val();
        self.issuer.clock.next = self.clock.val();
        self.passes.clock.next = self.clock.val();
        self.groups.clock.next = self.clock.val();
        self.nest.reset.next = self.reset.val();
        self.issuer.reset.next = self.reset.val();
        self.passes.reset.next = self.reset.val();
        // The loop nest: descriptor registers, loads, and the other blocks' state.
        self.nest.start.next = self.start.val();
        self.nest.overflow.next = self.overflow.val();
        self.nest.filter_tiles.next = self.filter_tiles.val();
        self.nest.row_beats.next = self.row_beats.val();
        self.nest.tile_words.next = self.tile_words.val();
        self.nest.entry_words.next = self.entry_words.val();
        self.nest.row_base_step.next = self.row_base_step.val();
        self.nest.stride.next = self.stride.val();
        self.nest.grouped.next = self.grouped.val();
        self.nest.g_hw.next = self.g_hw.val();
        self.nest.act_busy.next = self.act_busy.val();
        self.nest.act_fire.next = self.act_fire.val();
        self.nest.w_fire.next = self.w_fire.val();
        self.nest.run_active.next = self.issuer.active.val();
        self.nest.bank_free.next = self.passes.bank_free.val();
        self.nest.row_last.next = self.groups.row_last.val();
        self.nest.passes_idle.next = self.passes.idle.val();
        self.nest.band_rows.next = self.band.rows.val();
        self.nest.y_begin.next = self.band.y_begin.val();
        self.nest.y_end.next = self.band.y_end.val();
        self.nest.iy_begin.next = self.band.iy_begin.val();
        self.nest.base_begin.next = self.band.base_begin.val();
        self.nest.first_band.next = self.band.first_band.val();
        self.nest.last_band.next = self.band.last_band.val();
        self.busy.next = self.nest.busy.val();
        self.phase.next = self.nest.phase.val();
        self.error.next = self.nest.error.val();
        self.act_en.next = self.nest.act_en.val();
        self.w_en.next = self.nest.w_en.val();
        self.ent_en.next = self.nest.ent_en.val();
        self.load_start.next = self.nest.load_start.val();
        self.w_load_start.next = self.nest.w_load_start.val();
        self.ent_start.next = self.nest.ent_start.val();
        self.rewind.next = self.nest.rewind.val();
        self.go.next = self.nest.go.val();
        // The band iterator: stepped by the loop nest.
        self.band.clock.next = self.clock.val();
        self.band.rewind.next = self.nest.rewind.val();
        self.band.setup.next = self.nest.band_setup.val();
        self.band.advance.next = self.nest.band_advance.val();
        self.band.bands.next = self.bands.val();
        self.band.band_out_rows.next = self.band_out_rows.val();
        self.band.h_out.next = self.h_out.val();
        self.band.band_span.next = self.band_span.val();
        self.band.band_iy_step.next = self.band_iy_step.val();
        self.band.band_base_step.next = self.band_base_step.val();
        self.band.iy0_first.next = self.iy0_first.val();
        self.band.band_base_first.next = self.band_base_first.val();
        self.band.pad_base.next = self.pad_base.val();
        self.band.h.next = self.h.val();
        self.first_row.next = self.band.first_row.val();
        // The grouped-row iterator: cleared with each tile, stepped with each grouped run.
        self.groups.clear.next = self.nest.tile_setup.val();
        self.groups.step.next = self.nest.go.val() & self.grouped.val();
        self.groups.n_groups.next = self.n_groups.val();
        self.groups.bank_tiles.next = self.bank_tiles.val();
        self.groups.bank_words.next = self.bank_words.val();
        self.groups.grp_lanes.next = self.grp_lanes.val();
        self.groups.grp_rows.next = self.grp_rows.val();
        self.groups.grp_base_step.next = self.grp_base_step.val();
        self.groups.lanes.next = self.lanes.val();
        // The run issuer: the run's position from the loop nest and the iterator.
        self.issuer.rewind.next = self.nest.rewind.val();
        self.issuer.go.next = self.nest.go.val();
        self.issuer.seq_busy.next = self.seq_busy.val();
        self.issuer.y.next = self.nest.y.val();
        self.issuer.iy.next = self.nest.iy.val();
        self.issuer.base.next = self.nest.base.val();
        self.issuer.g_base.next = self.groups.base.val();
        self.issuer.g_row.next = self.groups.row.val();
        self.issuer.g_lane.next = self.groups.lane.val();
        self.issuer.w_base.next = self.groups.w_base.val();
        self.y0.next = self.issuer.y0.val();
        self.iy0.next = self.issuer.iy0.val();
        self.base0.next = self.issuer.base0.val();
        self.w_base0.next = self.issuer.w_base0.val();
        self.run_row.next = self.issuer.run_row.val();
        self.run_shift.next = self.issuer.run_shift.val();
        self.acc_bank.next = self.issuer.acc_bank.val();
        self.run_end.next = self.issuer.run_end.val();
        // The pass scheduler: each run's bank, tile and row flag at `go`.
        self.passes.rewind.next = self.nest.rewind.val();
        self.passes.go.next = self.nest.go.val();
        self.passes.go_bank.next = self.issuer.next_bank.val();
        self.passes.tile.next = self.nest.tile.val();
        self.passes.bias_base.next = self.nest.bias_base.val();
        self.passes.row_last.next = self.groups.row_last.val();
        self.passes.run_stored.next = self.run_stored.val();
        self.passes.grouped.next = self.grouped.val();
        self.passes.drain_busy.next = self.drain_busy.val();
        self.passes.comb_busy.next = self.comb_busy.val();
        self.passes.filter_tiles.next = self.filter_tiles.val();
        self.passes.g_hw.next = self.g_hw.val();
        self.passes.w_out.next = self.w_out.val();
        self.drain_start.next = self.passes.drain_start.val();
        self.comb_start.next = self.passes.comb_start.val();
        self.drain_bank.next = self.passes.drain_bank.val();
        self.drain_scale_addr.next = self.passes.drain_scale_addr.val();
        self.drain_bias_base.next = self.passes.drain_bias_base.val();
        self.oacc_base.next = self.passes.oacc_base.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{cosim::verilog_tools, generator::verilog::emit_block};

    // Its behaviour is co-simulated as part of the whole core (`top/tests.rs`), where its loop
    // nest decides which data every layer's outputs are computed from.
    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("controller", &emit_block(Controller::default(), "ctl"), "ctl");
    }
}
