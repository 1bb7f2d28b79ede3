//! The sequencer's load engine: a pass's `R` weight reads, one per cycle from `start`, at
//! addresses `ld_base + r`; the base moves on by `R` per pass and wraps at the tile's
//! `weight_words` (a run loads its tile's words over and over, one pass at a time). `go` loads
//! the run's first address (`w_base0`, a grouped layer's bank tile).
//!
//! Mirrored by `clock_load_engine` in `sim/src/sequencer.rs`, which keeps the counters that
//! decide when reads happen (the addresses are the datapath's).

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;

#[derive(LogicBlock, Default)]
pub struct LoadEngine {
    pub clock: Signal<In, Clock>,
    pub go: Signal<In, Bit>,
    /// Start the next pass's load.
    pub start: Signal<In, Bit>,
    pub array_rows: Signal<In, Bits<16>>,
    pub weight_words: Signal<In, Bits<16>>,
    pub passes: Signal<In, Bits<32>>,
    pub w_base0: Signal<In, Bits<16>>,
    /// A load is under way after its first read (rows 1 to R-1 still to read).
    pub active: Signal<Out, Bit>,
    /// Not every pass of the run has been loaded.
    pub more: Signal<Out, Bit>,
    pub w_valid: Signal<Out, Bit>,
    pub w_addr: Signal<Out, Bits<16>>,
    pub w_start: Signal<Out, Bit>,
    ld_idx: DFF<Bits<32>>,
    ld_active: DFF<Bit>,
    ld_r: DFF<Bits<16>>,
    ld_base: DFF<Bits<16>>,
    /// `ld_idx < passes`, kept beside the counter so that `start` does not wait for a 32-bit
    /// compare.
    ld_more: DFF<Bit>,
    next_base: Signal<Local, Bits<16>>,
    zero16: Lit<16, 0>,
    one16: Lit<16, 1>,
    zero32: Lit<32, 0>,
    one32: Lit<32, 1>,
}

impl Logic for LoadEngine {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, ld_idx, ld_active, ld_r, ld_base, ld_more);
        self.active.next = self.ld_active.q.val();
        self.more.next = self.ld_more.q.val();
        self.w_valid.next = false;
        self.w_start.next = false;
        self.w_addr.next = self.ld_base.q.val();
        self.next_base.next = self.ld_base.q.val() + self.array_rows.val();
        if (self.ld_base.q.val() + self.array_rows.val()) == self.weight_words.val() {
            self.next_base.next = self.zero16.val();
        }
        if self.start.val() {
            self.w_valid.next = true;
            self.w_start.next = true;
            self.ld_idx.d.next = self.ld_idx.q.val() + self.one32.val();
            self.ld_more.d.next = (self.ld_idx.q.val() + self.one32.val()) < self.passes.val();
            if self.array_rows.val() == self.one16.val() {
                self.ld_base.d.next = self.next_base.val();
            } else {
                self.ld_active.d.next = true;
                self.ld_r.d.next = self.one16.val();
            }
        }
        if self.ld_active.q.val() {
            self.w_valid.next = true;
            self.w_addr.next = self.ld_base.q.val() + self.ld_r.q.val();
            self.ld_r.d.next = self.ld_r.q.val() + self.one16.val();
            if (self.ld_r.q.val() + self.one16.val()) == self.array_rows.val() {
                self.ld_active.d.next = false;
                self.ld_base.d.next = self.next_base.val();
            }
        }
        if self.go.val() {
            self.ld_idx.d.next = self.zero32.val();
            self.ld_active.d.next = false;
            self.ld_r.d.next = self.zero16.val();
            self.ld_base.d.next = self.w_base0.val();
            self.ld_more.d.next = self.zero32.val() < self.passes.val();
        }
    }
}
