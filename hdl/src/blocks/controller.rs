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

use rust_hdl::prelude::*;

use cbnn::hw::control::{Phase, ACT_SETTLE, WEIGHT_SETTLE};

// The loader's last bank writes trail `act_busy` by its write pipeline; the settle wait (and the
// states after it) keep the first read behind them.
const _: () = assert!(ACT_SETTLE as usize >= crate::blocks::act_loader::WRITE_LAG);

#[derive(LogicBlock)]
pub struct Controller {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    pub start: Signal<In, Bit>,
    pub busy: Signal<Out, Bit>,
    /// The current phase (the constants above), for waveforms and measurements.
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
    state: DFF<Bits<{ Phase::BITS }>>,
    error_r: DFF<Bit>,
    // Loop counters.
    band: DFF<Bits<16>>,
    tile: DFF<Bits<16>>,
    bias_base: DFF<Bits<16>>,
    y: DFF<Bits<16>>,
    y_end: DFF<Bits<16>>,
    y_band: DFF<Bits<16>>,
    iy_band: DFF<Bits<16>>,
    base_iy: DFF<Bits<16>>,
    base_band: DFF<Bits<16>>,
    first: DFF<Bits<16>>,
    iy: DFF<Bits<16>>,
    base: DFF<Bits<16>>,
    rows_left: DFF<Bits<16>>,
    vals_left: DFF<Bits<32>>,
    words_left: DFF<Bits<32>>,
    settle: DFF<Bits<16>>,
    // The activation load counts beats a cycle after they were taken (`fire_r`): the stream's
    // handshake runs through the loader's beat geometry, and registering it here keeps that
    // path off the counters' 48 flip-flops and the state. `act_last` (one beat left, not
    // counting the one in `fire_r`) is kept beside the counters, so that `act_en` falls in the
    // cycle after the last beat from registers alone (it is stale in the load's first cycle,
    // when `fire_r` is still 0). The simulator's controller keeps both registers too, and the
    // per-cycle trace comparison (explore/tests/rtl_cycles.rs) checks the phase and the
    // stream's ready against this block in every cycle.
    fire_r: DFF<Bit>,
    act_last: DFF<Bit>,
    // The current run's registers (stable until the sequencer is idle again).
    run_y: DFF<Bits<16>>,
    run_iy: DFF<Bits<16>>,
    run_base: DFF<Bits<16>>,
    run_bank: DFF<Bit>,
    run_active: DFF<Bit>,
    run_wait: DFF<Bit>,
    // Drain scheduling: runs stored and not yet drained, runs issued and not yet drained (each
    // at most 2, one per accumulator bank: small counters keep the compares off the `go` path);
    // each bank's tile.
    to_drain: DFF<Bits<2>>,
    in_flight: DFF<Bits<2>>,
    scale0: DFF<Bits<16>>,
    scale1: DFF<Bits<16>>,
    bias0: DFF<Bits<16>>,
    bias1: DFF<Bits<16>>,
    next_bank: DFF<Bit>,
    d_bank: DFF<Bit>,
    drain_active: DFF<Bit>,
    drain_wait: DFF<Bit>,
    drain_sel: DFF<Bit>,
    d_scale: DFF<Bits<16>>,
    d_bias: DFF<Bits<16>>,
    // Grouped layers: the row's loop over groups and bank tiles (group, bank tile, the group's
    // lane, row and address offset, the bank tile's weight base), the run's, each accumulator
    // bank's "last run of its row" flag, and the drains of a finished row (pending, running,
    // tile, bias base, accumulator base).
    grp: DFF<Bits<16>>,
    bt: DFF<Bits<16>>,
    g_lane: DFF<Bits<16>>,
    g_row: DFF<Bits<16>>,
    g_base: DFF<Bits<16>>,
    w_base: DFF<Bits<16>>,
    run_wbase: DFF<Bits<16>>,
    run_row_r: DFF<Bits<8>>,
    run_lane: DFF<Bits<8>>,
    last0: DFF<Bit>,
    last1: DFF<Bit>,
    d_last: DFF<Bit>,
    od_pending: DFF<Bit>,
    od_active: DFF<Bit>,
    od_wait: DFF<Bit>,
    od_tile: DFF<Bits<16>>,
    od_bias: DFF<Bits<16>>,
    od_base: DFF<Bits<16>>,
    // Combinational helpers.
    pass_busy: Signal<Local, Bit>,
    row_last: Signal<Local, Bit>,
    hi: Signal<Local, Bits<16>>,
    lo: Signal<Local, Bits<16>>,
    y_lim: Signal<Local, Bits<16>>,
    may_go: Signal<Local, Bit>,
    drain_done: Signal<Local, Bit>,
    s_idle: Constant<Bits<{ Phase::BITS }>>,
    s_band: Constant<Bits<{ Phase::BITS }>>,
    s_load_a: Constant<Bits<{ Phase::BITS }>>,
    s_settle_a: Constant<Bits<{ Phase::BITS }>>,
    s_tile: Constant<Bits<{ Phase::BITS }>>,
    s_load_w: Constant<Bits<{ Phase::BITS }>>,
    s_settle_w: Constant<Bits<{ Phase::BITS }>>,
    s_rows: Constant<Bits<{ Phase::BITS }>>,
    s_finish: Constant<Bits<{ Phase::BITS }>>,
    s_load_e: Constant<Bits<{ Phase::BITS }>>,
    one16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    one32: Constant<Bits<32>>,
    two32: Constant<Bits<32>>,
    two16: Constant<Bits<16>>,
    zero2: Constant<Bits<2>>,
    one2: Constant<Bits<2>>,
    w_settle: Constant<Bits<16>>,
    a_settle: Constant<Bits<16>>,
}

impl Default for Controller {
    fn default() -> Self {
        let c4 = |p: Phase| Constant::<Bits<{ Phase::BITS }>>::new(p.code().into());
        Controller {
            clock: Default::default(),
            reset: Default::default(),
            start: Default::default(),
            busy: Default::default(),
            phase: Default::default(),
            overflow: Default::default(),
            error: Default::default(),
            bands: Default::default(),
            band_out_rows: Default::default(),
            h_out: Default::default(),
            filter_tiles: Default::default(),
            row_beats: Default::default(),
            tile_words: Default::default(),
            band_span: Default::default(),
            band_iy_step: Default::default(),
            band_base_step: Default::default(),
            row_base_step: Default::default(),
            iy0_first: Default::default(),
            band_base_first: Default::default(),
            pad_base: Default::default(),
            h: Default::default(),
            stride: Default::default(),
            act_busy: Default::default(),
            g_hw: Default::default(),
            act_en: Default::default(),
            act_fire: Default::default(),
            w_en: Default::default(),
            w_fire: Default::default(),
            load_start: Default::default(),
            w_load_start: Default::default(),
            go: Default::default(),
            seq_busy: Default::default(),
            y0: Default::default(),
            iy0: Default::default(),
            base0: Default::default(),
            first_row: Default::default(),
            acc_bank: Default::default(),
            run_end: Default::default(),
            run_stored: Default::default(),
            drain_start: Default::default(),
            drain_busy: Default::default(),
            drain_bank: Default::default(),
            drain_scale_addr: Default::default(),
            drain_bias_base: Default::default(),
            grouped: Default::default(),
            n_groups: Default::default(),
            bank_tiles: Default::default(),
            bank_words: Default::default(),
            grp_lanes: Default::default(),
            grp_rows: Default::default(),
            grp_base_step: Default::default(),
            entry_words: Default::default(),
            w_out: Default::default(),
            lanes: Default::default(),
            w_base0: Default::default(),
            run_row: Default::default(),
            run_shift: Default::default(),
            ent_en: Default::default(),
            ent_start: Default::default(),
            rewind: Default::default(),
            comb_start: Default::default(),
            comb_busy: Default::default(),
            oacc_base: Default::default(),
            state: Default::default(),
            error_r: Default::default(),
            band: Default::default(),
            tile: Default::default(),
            bias_base: Default::default(),
            y: Default::default(),
            y_end: Default::default(),
            y_band: Default::default(),
            iy_band: Default::default(),
            base_iy: Default::default(),
            base_band: Default::default(),
            first: Default::default(),
            iy: Default::default(),
            base: Default::default(),
            rows_left: Default::default(),
            vals_left: Default::default(),
            words_left: Default::default(),
            settle: Default::default(),
            fire_r: Default::default(),
            act_last: Default::default(),
            run_y: Default::default(),
            run_iy: Default::default(),
            run_base: Default::default(),
            run_bank: Default::default(),
            run_active: Default::default(),
            run_wait: Default::default(),
            to_drain: Default::default(),
            in_flight: Default::default(),
            scale0: Default::default(),
            scale1: Default::default(),
            bias0: Default::default(),
            bias1: Default::default(),
            next_bank: Default::default(),
            d_bank: Default::default(),
            drain_active: Default::default(),
            drain_wait: Default::default(),
            drain_sel: Default::default(),
            d_scale: Default::default(),
            d_bias: Default::default(),
            grp: Default::default(),
            bt: Default::default(),
            g_lane: Default::default(),
            g_row: Default::default(),
            g_base: Default::default(),
            w_base: Default::default(),
            run_wbase: Default::default(),
            run_row_r: Default::default(),
            run_lane: Default::default(),
            last0: Default::default(),
            last1: Default::default(),
            d_last: Default::default(),
            od_pending: Default::default(),
            od_active: Default::default(),
            od_wait: Default::default(),
            od_tile: Default::default(),
            od_bias: Default::default(),
            od_base: Default::default(),
            pass_busy: Default::default(),
            row_last: Default::default(),
            hi: Default::default(),
            lo: Default::default(),
            y_lim: Default::default(),
            may_go: Default::default(),
            drain_done: Default::default(),
            s_idle: c4(Phase::Idle),
            s_band: c4(Phase::Band),
            s_load_a: c4(Phase::LoadA),
            s_settle_a: c4(Phase::SettleA),
            s_tile: c4(Phase::Tile),
            s_load_w: c4(Phase::LoadW),
            s_settle_w: c4(Phase::SettleW),
            s_rows: c4(Phase::Rows),
            s_finish: c4(Phase::Finish),
            s_load_e: c4(Phase::LoadE),
            one16: Constant::new(1u64.into()),
            zero16: Constant::new(0u64.into()),
            one32: Constant::new(1u64.into()),
            two32: Constant::new(2u64.into()),
            two16: Constant::new(2u64.into()),
            zero2: Constant::new(0u64.into()),
            one2: Constant::new(1u64.into()),
            w_settle: Constant::new(u64::from(WEIGHT_SETTLE).into()),
            a_settle: Constant::new(u64::from(ACT_SETTLE).into()),
        }
    }
}

impl Logic for Controller {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self,
            clock,
            state,
            error_r,
            band,
            tile,
            bias_base,
            y,
            y_end,
            y_band,
            iy_band,
            base_iy,
            base_band,
            first,
            iy,
            base,
            rows_left,
            vals_left,
            words_left,
            settle,
            fire_r,
            act_last,
            run_y,
            run_iy,
            run_base,
            run_bank,
            run_active,
            run_wait,
            to_drain,
            in_flight,
            scale0,
            scale1,
            bias0,
            bias1,
            next_bank,
            d_bank,
            drain_active,
            drain_wait,
            drain_sel,
            d_scale,
            d_bias,
            grp,
            bt,
            g_lane,
            g_row,
            g_base,
            w_base,
            run_wbase,
            run_row_r,
            run_lane,
            last0,
            last1,
            d_last,
            od_pending,
            od_active,
            od_wait,
            od_tile,
            od_bias,
            od_base
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
        self.comb_start.next = false;
        self.w_base0.next = self.run_wbase.q.val();
        self.run_row.next = self.run_row_r.q.val();
        self.run_shift.next = self.run_lane.q.val();
        self.oacc_base.next = self.od_base.q.val();
        self.load_start.next = false;
        self.w_load_start.next = false;
        self.go.next = false;
        self.run_end.next = false;
        self.drain_start.next = false;
        self.y0.next = self.run_y.q.val();
        self.iy0.next = self.run_iy.q.val();
        self.base0.next = self.run_base.q.val();
        self.first_row.next = self.first.q.val();
        self.acc_bank.next = self.run_bank.q.val();
        // The drain's row parameters: the running drain's, else those of the next one (its bank
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
            self.drain_scale_addr.next = self.od_tile.q.val();
            self.drain_bias_base.next = self.od_bias.q.val();
        }

        // The band's input rows: from max(iy_band, 0) to min(iy_band + band_span, h) (iy_band is
        // two's complement: negative in the top padding); its output rows end at
        // min(y_band + band_out_rows, h_out).
        self.lo.next = self.iy_band.q.val();
        if self.iy_band.q.val().get_bits::<1>(15).any() {
            self.lo.next = self.zero16.val();
        }
        self.hi.next = self.iy_band.q.val() + self.band_span.val();
        if (self.iy_band.q.val() + self.band_span.val()) > self.h.val() {
            self.hi.next = self.h.val();
        }
        self.y_lim.next = self.y_band.q.val() + self.band_out_rows.val();
        if (self.y_band.q.val() + self.band_out_rows.val()) > self.h_out.val() {
            self.y_lim.next = self.h_out.val();
        }

        // Run tracking: a run is over when the sequencer is idle again (it is busy from the cycle
        // after `go`).
        if self.run_active.q.val() {
            if self.run_wait.q.val() {
                self.run_wait.d.next = false;
            } else if !self.seq_busy.val() {
                self.run_active.d.next = false;
                self.run_end.next = true;
            }
        }

        // Drain scheduling, in run order (a grouped layer's runs go to the combine stage, which
        // waits while a finished row drains).
        self.pass_busy.next = self.drain_busy.val();
        if self.grouped.val() {
            self.pass_busy.next = self.comb_busy.val();
        }
        self.drain_done.next = false;
        if self.drain_active.q.val() {
            if self.drain_wait.q.val() {
                self.drain_wait.d.next = false;
            } else if !self.pass_busy.val() {
                self.drain_active.d.next = false;
                self.drain_done.next = true;
                if self.grouped.val() & self.d_last.q.val() {
                    self.od_pending.d.next = true;
                }
            }
        } else if (self.to_drain.q.val() != self.zero2.val())
            & !(self.grouped.val() & (self.od_pending.q.val() | self.od_active.q.val()))
        {
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
        if self.od_active.q.val() {
            if self.od_wait.q.val() {
                self.od_wait.d.next = false;
            } else if !self.drain_busy.val() {
                self.od_active.d.next = false;
                self.od_tile.d.next = self.od_tile.q.val() + self.one16.val();
                self.od_bias.d.next = self.od_bias.q.val() + self.g_hw.val();
                self.od_base.d.next = self.od_base.q.val() + self.w_out.val();
                if (self.od_tile.q.val() + self.one16.val()) == self.filter_tiles.val() {
                    self.od_pending.d.next = false;
                    self.od_tile.d.next = self.zero16.val();
                    self.od_bias.d.next = self.zero16.val();
                    self.od_base.d.next = self.zero16.val();
                }
            }
        } else if self.od_pending.q.val() {
            self.drain_start.next = true;
            self.od_active.d.next = true;
            self.od_wait.d.next = true;
        }

        // A run may start when the sequencer is free and the drain of the run two before it (the
        // same accumulator bank) has finished.
        self.may_go.next = !self.run_active.q.val() & !self.in_flight.q.val().get_bits::<1>(1).any();
        // A grouped row's last run: its last group's last bank tile.
        self.row_last.next = ((self.bt.q.val() + self.one16.val()) == self.bank_tiles.val())
            & ((self.grp.q.val() + self.one16.val()) == self.n_groups.val());

        if self.state.q.val() == self.s_idle.val() {
            if self.start.val() {
                self.state.d.next = self.s_band.val();
                self.error_r.d.next = false;
                self.band.d.next = self.zero16.val();
                self.y_band.d.next = self.zero16.val();
                self.iy_band.d.next = self.iy0_first.val();
                self.base_iy.d.next = self.band_base_first.val();
                self.next_bank.d.next = false;
                self.drain_sel.d.next = false;
            }
        } else if self.state.q.val() == self.s_band.val() {
            // Set up the band and start loading it.
            self.first.d.next = self.lo.val();
            self.rows_left.d.next = self.hi.val() - self.lo.val();
            self.vals_left.d.next = self.row_beats.val();
            self.y_end.d.next = self.y_lim.val();
            self.base_band.d.next = self.pad_base.val();
            if self.iy_band.q.val().get_bits::<1>(15).any() {
                self.base_band.d.next = self.base_iy.q.val() + self.pad_base.val();
            }
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
                self.tile.d.next = self.zero16.val();
                self.bias_base.d.next = self.zero16.val();
                self.state.d.next = self.s_tile.val();
            }
        } else if self.state.q.val() == self.s_tile.val() {
            self.y.d.next = self.y_band.q.val();
            self.iy.d.next = self.iy_band.q.val();
            self.base.d.next = self.base_band.q.val();
            self.grp.d.next = self.zero16.val();
            self.bt.d.next = self.zero16.val();
            self.g_lane.d.next = self.zero16.val();
            self.g_row.d.next = self.zero16.val();
            self.g_base.d.next = self.zero16.val();
            self.w_base.d.next = self.zero16.val();
            if ((self.filter_tiles.val() == self.one16.val()) | self.grouped.val())
                & (self.band.q.val() != self.zero16.val())
            {
                self.state.d.next = self.s_rows.val();
            } else {
                self.w_load_start.next = true;
                self.words_left.d.next = self.tile_words.val();
                self.state.d.next = self.s_load_w.val();
            }
        } else if self.state.q.val() == self.s_load_w.val() {
            if self.w_fire.val() {
                self.words_left.d.next = self.words_left.q.val() - self.one32.val();
                if self.words_left.q.val() == self.one32.val() {
                    self.settle.d.next = self.w_settle.val();
                    self.state.d.next = self.s_settle_w.val();
                    if self.grouped.val() {
                        self.words_left.d.next = self.entry_words.val();
                        self.ent_start.next = true;
                        self.state.d.next = self.s_load_e.val();
                    }
                }
            }
        } else if self.state.q.val() == self.s_load_e.val() {
            if self.w_fire.val() {
                self.words_left.d.next = self.words_left.q.val() - self.one32.val();
                if self.words_left.q.val() == self.one32.val() {
                    self.settle.d.next = self.w_settle.val();
                    self.state.d.next = self.s_settle_w.val();
                }
            }
        } else if self.state.q.val() == self.s_settle_w.val() {
            self.settle.d.next = self.settle.q.val() - self.one16.val();
            if self.settle.q.val() == self.zero16.val() {
                self.state.d.next = self.s_rows.val();
            }
        } else if self.state.q.val() == self.s_rows.val() {
            if self.y.q.val() == self.y_end.q.val() {
                // The tile's rows are issued; weights or activations change only once the
                // last run has read them.
                if !self.run_active.q.val() {
                    self.tile.d.next = self.tile.q.val() + self.one16.val();
                    self.bias_base.d.next = self.bias_base.q.val() + self.g_hw.val();
                    self.state.d.next = self.s_tile.val();
                    if ((self.tile.q.val() + self.one16.val()) == self.filter_tiles.val()) | self.grouped.val() {
                        self.band.d.next = self.band.q.val() + self.one16.val();
                        self.y_band.d.next = self.y_end.q.val();
                        self.iy_band.d.next = self.iy_band.q.val() + self.band_iy_step.val();
                        self.base_iy.d.next = self.base_iy.q.val() + self.band_base_step.val();
                        self.state.d.next = self.s_band.val();
                        if (self.band.q.val() + self.one16.val()) == self.bands.val() {
                            self.state.d.next = self.s_finish.val();
                        }
                    }
                }
            } else if self.may_go.val() {
                self.go.next = true;
                self.run_active.d.next = true;
                self.run_wait.d.next = true;
                self.run_y.d.next = self.y.q.val();
                self.run_iy.d.next = self.iy.q.val();
                self.run_base.d.next = self.base.q.val();
                // The sequencer takes iy0 and base0 with `go`.
                self.y0.next = self.y.q.val();
                self.iy0.next = self.iy.q.val();
                self.base0.next = self.base.q.val();
                self.run_bank.d.next = self.next_bank.q.val();
                self.next_bank.d.next = !self.next_bank.q.val();
                if self.next_bank.q.val() {
                    self.scale1.d.next = self.tile.q.val();
                    self.bias1.d.next = self.bias_base.q.val();
                } else {
                    self.scale0.d.next = self.tile.q.val();
                    self.bias0.d.next = self.bias_base.q.val();
                }
                self.y.d.next = self.y.q.val() + self.one16.val();
                self.iy.d.next = self.iy.q.val() + self.stride.val();
                self.base.d.next = self.base.q.val() + self.row_base_step.val();
                if self.grouped.val() {
                    // One group and bank tile of the row; the row advances after its last.
                    self.run_base.d.next = self.base.q.val() + self.g_base.q.val();
                    self.base0.next = self.base.q.val() + self.g_base.q.val();
                    self.run_wbase.d.next = self.w_base.q.val();
                    self.w_base0.next = self.w_base.q.val();
                    self.run_row_r.d.next = self.g_row.q.val().get_bits::<8>(0);
                    self.run_lane.d.next = self.g_lane.q.val().get_bits::<8>(0);
                    if self.next_bank.q.val() {
                        self.last1.d.next = self.row_last.val();
                    } else {
                        self.last0.d.next = self.row_last.val();
                    }
                    self.bt.d.next = self.bt.q.val() + self.one16.val();
                    self.w_base.d.next = self.w_base.q.val() + self.bank_words.val();
                    if !self.row_last.val() {
                        self.y.d.next = self.y.q.val();
                        self.iy.d.next = self.iy.q.val();
                        self.base.d.next = self.base.q.val();
                    }
                    if (self.bt.q.val() + self.one16.val()) == self.bank_tiles.val() {
                        self.bt.d.next = self.zero16.val();
                        self.w_base.d.next = self.zero16.val();
                        self.grp.d.next = self.grp.q.val() + self.one16.val();
                        self.g_lane.d.next = self.g_lane.q.val() + self.grp_lanes.val();
                        if (self.g_lane.q.val() + self.grp_lanes.val()) == self.lanes.val() {
                            self.g_lane.d.next = self.zero16.val();
                            self.g_row.d.next = self.g_row.q.val() + self.one16.val();
                            if (self.g_row.q.val() + self.one16.val()) == self.grp_rows.val() {
                                self.g_row.d.next = self.zero16.val();
                                self.g_base.d.next = self.g_base.q.val() + self.grp_base_step.val();
                            }
                        }
                        if self.row_last.val() {
                            self.grp.d.next = self.zero16.val();
                            self.g_lane.d.next = self.zero16.val();
                            self.g_row.d.next = self.zero16.val();
                            self.g_base.d.next = self.zero16.val();
                        }
                    }
                }
            }
        } else if self.state.q.val() == self.s_finish.val() {
            if (self.in_flight.q.val() == self.zero2.val())
                & !self.run_active.q.val()
                & !self.od_pending.q.val()
                & !self.od_active.q.val()
            {
                self.state.d.next = self.s_idle.val();
            }
        } else {
            self.state.d.next = self.s_idle.val();
        }
        // The drain counters: +1 for a run stored / issued, -1 for a drain finished.
        if self.run_stored.val() & !self.drain_done.val() {
            self.to_drain.d.next = self.to_drain.q.val() + self.one2.val();
        }
        if !self.run_stored.val() & self.drain_done.val() {
            self.to_drain.d.next = self.to_drain.q.val() - self.one2.val();
        }
        if self.go.val() & !self.drain_done.val() {
            self.in_flight.d.next = self.in_flight.q.val() + self.one2.val();
        }
        if !self.go.val() & self.drain_done.val() {
            self.in_flight.d.next = self.in_flight.q.val() - self.one2.val();
        }
        if ((self.state.q.val() == self.s_idle.val()) & self.start.val()) | self.reset.val() {
            self.to_drain.d.next = self.zero2.val();
            self.in_flight.d.next = self.zero2.val();
        }
        if self.reset.val() {
            self.state.d.next = self.s_idle.val();
            self.run_active.d.next = false;
            self.drain_active.d.next = false;
            self.od_pending.d.next = false;
            self.od_active.d.next = false;
        }
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
