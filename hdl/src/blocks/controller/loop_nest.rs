//! The loop nest of the layer controller: the phase register and the loops over row bands
//! (their bounds from `BandIter`), filter tiles and output rows, with the loads between them (docs/ARCHITECTURE.md, section 4).
//! It counts the band's activation beats and the tile's weight words, waits out the loaders'
//! settle times, and raises `go` for each output row (a grouped layer: for each of the row's
//! runs, advancing the row after its last) when the run issuer is free and the pass scheduler
//! has freed the next accumulator bank.
//!
//! Mirrored by `clock_loop_nest` in `sim/src/controller.rs`; the per-cycle trace comparison
//! (explore/tests/rtl_cycles.rs) checks the phase and the streams' gates in every cycle.

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;
use cbnn::hw::control::{Phase, ACT_SETTLE, WEIGHT_SETTLE};

// The loader's last bank writes trail `act_busy` by its write pipeline; the settle wait (and the
// states after it) keep the first read behind them.
const _: () = assert!(ACT_SETTLE as usize >= crate::blocks::act_loader::WRITE_LAG);

/// The `phase` code of `P` (`cbnn::hw::control::Phase`).
type Code<const P: u64> = Lit<{ Phase::BITS }, P>;

#[derive(LogicBlock, Default)]
pub struct LoopNest {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    pub phase: Signal<Out, Bits<{ Phase::BITS }>>,
    pub overflow: Signal<In, Bit>,
    pub error: Signal<Out, Bit>,
    // Descriptor registers.
    pub filter_tiles: Signal<In, Bits<16>>,
    pub row_beats: Signal<In, Bits<32>>,
    pub tile_words: Signal<In, Bits<32>>,
    pub entry_words: Signal<In, Bits<32>>,
    pub row_base_step: Signal<In, Bits<16>>,
    pub stride: Signal<In, Bits<16>>,
    pub grouped: Signal<In, Bit>,
    pub g_hw: Signal<In, Bits<16>>,
    /// The band (`BandIter`): set up, done; its input rows, its output rows from `y_begin` to
    /// `y_end`, the input row and address of the first; the first or last band of the layer.
    pub band_setup: Signal<Out, Bit>,
    pub band_advance: Signal<Out, Bit>,
    pub band_rows: Signal<In, Bits<16>>,
    pub y_begin: Signal<In, Bits<16>>,
    pub y_end: Signal<In, Bits<16>>,
    pub iy_begin: Signal<In, Bits<16>>,
    pub base_begin: Signal<In, Bits<16>>,
    pub first_band: Signal<In, Bit>,
    pub last_band: Signal<In, Bit>,
    // Loads: the stream gates and transfers, the activation loader's tail.
    pub act_busy: Signal<In, Bit>,
    pub act_en: Signal<Out, Bit>,
    pub act_fire: Signal<In, Bit>,
    pub w_en: Signal<Out, Bit>,
    pub ent_en: Signal<Out, Bit>,
    pub w_fire: Signal<In, Bit>,
    pub load_start: Signal<Out, Bit>,
    pub w_load_start: Signal<Out, Bit>,
    pub ent_start: Signal<Out, Bit>,
    /// Runs: may one start (the run issuer is free and the pass scheduler has freed its bank),
    /// is one in flight, is the grouped row's current run its last, are all passes done.
    pub run_active: Signal<In, Bit>,
    pub bank_free: Signal<In, Bit>,
    pub row_last: Signal<In, Bit>,
    pub passes_idle: Signal<In, Bit>,
    pub go: Signal<Out, Bit>,
    /// `start` in the idle phase: a layer begins.
    pub rewind: Signal<Out, Bit>,
    /// A filter tile is being set up.
    pub tile_setup: Signal<Out, Bit>,
    // The next run's position and tile.
    pub y: Signal<Out, Bits<16>>,
    pub iy: Signal<Out, Bits<16>>,
    pub base: Signal<Out, Bits<16>>,
    pub tile: Signal<Out, Bits<16>>,
    pub bias_base: Signal<Out, Bits<16>>,
    state: DFF<Bits<{ Phase::BITS }>>,
    error_r: DFF<Bit>,
    tile_r: DFF<Bits<16>>,
    bias_r: DFF<Bits<16>>,
    y_r: DFF<Bits<16>>,
    iy_r: DFF<Bits<16>>,
    base_r: DFF<Bits<16>>,
    rows_left: DFF<Bits<16>>,
    vals_left: DFF<Bits<32>>,
    words_left: DFF<Bits<32>>,
    settle: DFF<Bits<16>>,
    // The activation load counts beats a cycle after they were taken (`fire_r`): the stream's
    // handshake runs through the loader's beat geometry, and registering it here keeps that
    // path off the counters' 48 flip-flops and the state. `act_last` (one beat left, not
    // counting the one in `fire_r`) is kept beside the counters, so that `act_en` falls in the
    // cycle after the last beat from registers alone (it is stale in the load's first cycle,
    // when `fire_r` is still 0). The simulator's controller keeps both registers too.
    fire_r: DFF<Bit>,
    act_last: DFF<Bit>,
    s_idle: Code<{ Phase::Idle.code() }>,
    s_band: Code<{ Phase::Band.code() }>,
    s_load_a: Code<{ Phase::LoadA.code() }>,
    s_settle_a: Code<{ Phase::SettleA.code() }>,
    s_tile: Code<{ Phase::Tile.code() }>,
    s_load_w: Code<{ Phase::LoadW.code() }>,
    s_settle_w: Code<{ Phase::SettleW.code() }>,
    s_rows: Code<{ Phase::Rows.code() }>,
    s_finish: Code<{ Phase::Finish.code() }>,
    s_load_e: Code<{ Phase::LoadE.code() }>,
    one16: Lit<16, 1>,
    zero16: Lit<16, 0>,
    two16: Lit<16, 2>,
    one32: Lit<32, 1>,
    two32: Lit<32, 2>,
    w_settle: Lit<16, { WEIGHT_SETTLE as u64 }>,
    a_settle: Lit<16, { ACT_SETTLE as u64 }>,
}

impl Logic for LoopNest {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, error_r, tile_r, bias_r, y_r, iy_r, base_r, rows_left, vals_left, words_left, settle,
            fire_r, act_last
        );
        self.busy.next = self.state.q.val() != self.s_idle.val();
        self.error.next = self.error_r.q.val();
        self.phase.next = self.state.q.val();
        if self.overflow.val() {
            self.error_r.d.next = true;
        }
        self.act_en.next = (self.state.q.val() == self.s_load_a.val()) & !(self.fire_r.q.val() & self.act_last.q.val());
        self.fire_r.d.next = self.act_fire.val();
        self.w_en.next = self.state.q.val() == self.s_load_w.val();
        self.ent_en.next = self.state.q.val() == self.s_load_e.val();
        self.ent_start.next = false;
        self.rewind.next = (self.state.q.val() == self.s_idle.val()) & self.start.val();
        self.tile_setup.next = self.state.q.val() == self.s_tile.val();
        self.load_start.next = false;
        self.w_load_start.next = false;
        self.go.next = false;
        self.y.next = self.y_r.q.val();
        self.iy.next = self.iy_r.q.val();
        self.base.next = self.base_r.q.val();
        self.tile.next = self.tile_r.q.val();
        self.bias_base.next = self.bias_r.q.val();
        self.band_setup.next = self.state.q.val() == self.s_band.val();
        self.band_advance.next = false;

        if self.state.q.val() == self.s_idle.val() {
            if self.start.val() {
                self.state.d.next = self.s_band.val();
                self.error_r.d.next = false;
            }
        } else if self.state.q.val() == self.s_band.val() {
            // Start loading the band (`BandIter` latches its bounds).
            self.rows_left.d.next = self.band_rows.val();
            self.vals_left.d.next = self.row_beats.val();
            self.load_start.next = true;
            self.state.d.next = self.s_load_a.val();
        } else if self.state.q.val() == self.s_load_a.val() {
            if self.fire_r.q.val() {
                self.vals_left.d.next = self.vals_left.q.val() - self.one32.val();
                self.act_last.d.next =
                    (self.vals_left.q.val() == self.two32.val()) & (self.rows_left.q.val() == self.one16.val());
                if self.vals_left.q.val() == self.one32.val() {
                    self.vals_left.d.next = self.row_beats.val();
                    self.rows_left.d.next = self.rows_left.q.val() - self.one16.val();
                    self.act_last.d.next =
                        (self.row_beats.val() == self.one32.val()) & (self.rows_left.q.val() == self.two16.val());
                    if self.rows_left.q.val() == self.one16.val() {
                        self.settle.d.next = self.a_settle.val();
                        self.state.d.next = self.s_settle_a.val();
                    }
                }
            } else {
                self.act_last.d.next =
                    (self.vals_left.q.val() == self.one32.val()) & (self.rows_left.q.val() == self.one16.val());
            }
        } else if self.state.q.val() == self.s_settle_a.val() {
            if !self.act_busy.val() {
                self.settle.d.next = self.settle.q.val() - self.one16.val();
            }
            if !self.act_busy.val() & (self.settle.q.val() == self.zero16.val()) {
                self.tile_r.d.next = self.zero16.val();
                self.bias_r.d.next = self.zero16.val();
                self.state.d.next = self.s_tile.val();
            }
        } else if self.state.q.val() == self.s_tile.val() {
            self.y_r.d.next = self.y_begin.val();
            self.iy_r.d.next = self.iy_begin.val();
            self.base_r.d.next = self.base_begin.val();
            // One tile (and a grouped layer's bank) stays in the buffer across bands.
            if ((self.filter_tiles.val() == self.one16.val()) | self.grouped.val()) & !self.first_band.val() {
                self.state.d.next = self.s_rows.val();
            } else {
                self.w_load_start.next = true;
                self.words_left.d.next = self.tile_words.val();
                self.state.d.next = self.s_load_w.val();
            }
        } else if (self.state.q.val() == self.s_load_w.val()) | (self.state.q.val() == self.s_load_e.val()) {
            // The tile's weights, then a grouped layer's combine entries, on the weight stream.
            if self.w_fire.val() {
                self.words_left.d.next = self.words_left.q.val() - self.one32.val();
                if self.words_left.q.val() == self.one32.val() {
                    self.settle.d.next = self.w_settle.val();
                    self.state.d.next = self.s_settle_w.val();
                    if self.grouped.val() & (self.state.q.val() == self.s_load_w.val()) {
                        self.words_left.d.next = self.entry_words.val();
                        self.ent_start.next = true;
                        self.state.d.next = self.s_load_e.val();
                    }
                }
            }
        } else if self.state.q.val() == self.s_settle_w.val() {
            self.settle.d.next = self.settle.q.val() - self.one16.val();
            if self.settle.q.val() == self.zero16.val() {
                self.state.d.next = self.s_rows.val();
            }
        } else if self.state.q.val() == self.s_rows.val() {
            if self.y_r.q.val() == self.y_end.val() {
                // The tile's rows are issued; weights or activations change only once the
                // last run has read them.
                if !self.run_active.val() {
                    self.tile_r.d.next = self.tile_r.q.val() + self.one16.val();
                    self.bias_r.d.next = self.bias_r.q.val() + self.g_hw.val();
                    self.state.d.next = self.s_tile.val();
                    if ((self.tile_r.q.val() + self.one16.val()) == self.filter_tiles.val()) | self.grouped.val() {
                        self.band_advance.next = true;
                        self.state.d.next = self.s_band.val();
                        if self.last_band.val() {
                            self.state.d.next = self.s_finish.val();
                        }
                    }
                }
            } else if !self.run_active.val() & self.bank_free.val() {
                // The next row (a grouped layer: the row's next run; the row after its last).
                self.go.next = true;
                if !self.grouped.val() | self.row_last.val() {
                    self.y_r.d.next = self.y_r.q.val() + self.one16.val();
                    self.iy_r.d.next = self.iy_r.q.val() + self.stride.val();
                    self.base_r.d.next = self.base_r.q.val() + self.row_base_step.val();
                }
            }
        } else if self.state.q.val() == self.s_finish.val() {
            if self.passes_idle.val() & !self.run_active.val() {
                self.state.d.next = self.s_idle.val();
            }
        } else {
            self.state.d.next = self.s_idle.val();
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
        }
    }
}
