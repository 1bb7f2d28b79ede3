//! The controller's compute sequencer: issues, cycle by cycle, the weight-bank and
//! activation-bank reads of `cbnn::hw::sequence::compute_sequence` for a run of output rows of
//! one filter tile, from the registers of `cbnn::hw::sequence::SequencerRegs` (the host
//! precomputes every product, so the sequencer only counts and adds).
//!
//! Two engines run side by side: the load engine reads a pass's R weight rows, the pass engine
//! streams a pass's `planes x W_out` activation reads. A load starts once the previous pass has
//! started and the previous load is done; a pass starts once its load started in an earlier
//! cycle and the previous pass is done (the array's timing contract, `array.rs`).

use rust_hdl::prelude::*;

/// `NX` bits of the pixel index `step_x` (the column accumulators' address width).
#[derive(LogicBlock)]
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
    ld_idx: DFF<Bits<32>>,
    ld_active: DFF<Bit>,
    /// The load engine is one pass ahead (`ld_idx == ps_idx + 1`; it is never further ahead, and
    /// never behind): a flag instead of two 32-bit compares on the path to `issue`.
    ld_ahead: DFF<Bit>,
    ld_r: DFF<Bits<16>>,
    ld_base: DFF<Bits<16>>,
    ps_idx: DFF<Bits<32>>,
    /// Flags kept beside the counters so that `issue` and the pass end (which enables most of
    /// the pass engine's registers) do not wait for adders and wide compares:
    /// `ld_more = ld_idx < passes`, `ps_more = ps_idx < passes`, `x_last = x + 1 == w_out`,
    /// `plane_last = plane + 1 == planes`, and the same for the pass loop's `g`, `kx`, `ky`.
    ld_more: DFF<Bit>,
    g_last: DFF<Bit>,
    kx_last: DFF<Bit>,
    ky_last: DFF<Bit>,
    ps_more: DFF<Bit>,
    x_last: DFF<Bit>,
    plane_last: DFF<Bit>,
    ps_active: DFF<Bit>,
    x: DFF<Bits<16>>,
    plane: DFF<Bits<16>>,
    addr_x: DFF<Bits<16>>,
    ix: DFF<Bits<16>>,
    pass_base: DFF<Bits<16>>,
    g: DFF<Bits<16>>,
    kx: DFF<Bits<16>>,
    ky: DFF<Bits<16>>,
    yi: DFF<Bits<16>>,
    iy: DFF<Bits<16>>,
    ix_row: DFF<Bits<16>>,
    pass_start: Signal<Local, Bit>,
    load_start: Signal<Local, Bit>,
    issue: Signal<Local, Bit>,
    n_g: Signal<Local, Bits<16>>,
    n_kx: Signal<Local, Bits<16>>,
    n_ky: Signal<Local, Bits<16>>,
    n_yi: Signal<Local, Bits<16>>,
    n_iy: Signal<Local, Bits<16>>,
    n_ix_row: Signal<Local, Bits<16>>,
    n_base: Signal<Local, Bits<16>>,
    next_ld_base: Signal<Local, Bits<16>>,
    one16: Constant<Bits<16>>,
    two16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
    one32: Constant<Bits<32>>,
    zero32: Constant<Bits<32>>,
}

impl<const NX: usize> Default for Sequencer<NX> {
    fn default() -> Self {
        Sequencer {
            clock: Default::default(),
            go: Default::default(),
            busy: Default::default(),
            y0: Default::default(),
            first_row: Default::default(),
            h: Default::default(),
            w: Default::default(),
            w_out: Default::default(),
            kernel: Default::default(),
            stride: Default::default(),
            groups: Default::default(),
            planes: Default::default(),
            array_rows: Default::default(),
            passes: Default::default(),
            weight_words: Default::default(),
            iy0: Default::default(),
            ix0: Default::default(),
            base0: Default::default(),
            w_base0: Default::default(),
            x_step: Default::default(),
            kx_step: Default::default(),
            ky_step: Default::default(),
            y_step: Default::default(),
            step_valid: Default::default(),
            step_addr: Default::default(),
            step_outside: Default::default(),
            step_last_group: Default::default(),
            step_first: Default::default(),
            step_init: Default::default(),
            step_y: Default::default(),
            step_x: Default::default(),
            step_plane: Default::default(),
            w_valid: Default::default(),
            w_addr: Default::default(),
            w_start: Default::default(),
            running: Default::default(),
            ld_idx: Default::default(),
            ld_active: Default::default(),
            ld_ahead: Default::default(),
            ld_r: Default::default(),
            ld_base: Default::default(),
            ps_idx: Default::default(),
            ld_more: Default::default(),
            g_last: Default::default(),
            kx_last: Default::default(),
            ky_last: Default::default(),
            ps_more: Default::default(),
            x_last: Default::default(),
            plane_last: Default::default(),
            ps_active: Default::default(),
            x: Default::default(),
            plane: Default::default(),
            addr_x: Default::default(),
            ix: Default::default(),
            pass_base: Default::default(),
            g: Default::default(),
            kx: Default::default(),
            ky: Default::default(),
            yi: Default::default(),
            iy: Default::default(),
            ix_row: Default::default(),
            pass_start: Default::default(),
            load_start: Default::default(),
            issue: Default::default(),
            n_g: Default::default(),
            n_kx: Default::default(),
            n_ky: Default::default(),
            n_yi: Default::default(),
            n_iy: Default::default(),
            n_ix_row: Default::default(),
            n_base: Default::default(),
            next_ld_base: Default::default(),
            one16: Constant::new(1u64.into()),
            two16: Constant::new(2u64.into()),
            zero16: Constant::new(0u64.into()),
            one32: Constant::new(1u64.into()),
            zero32: Constant::new(0u64.into()),
        }
    }
}

impl<const NX: usize> Logic for Sequencer<NX> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, running, ld_idx, ld_active, ld_ahead, ld_r, ld_base, ps_idx, ld_more, g_last, kx_last,
            ky_last, ps_more, x_last, plane_last, ps_active, x, plane, addr_x, ix, pass_base, g, kx, ky, yi, iy,
            ix_row
        );
        self.busy.next = self.running.q.val();
        self.step_valid.next = false;
        self.w_valid.next = false;
        self.w_start.next = false;
        self.w_addr.next = self.ld_base.q.val();
        // When may a pass and a load start (array timing contract)?
        // (`ld_idx > ps_idx` is `ld_ahead`; `ps_idx + pass_start >= ld_idx` is
        // `pass_start | !ld_ahead`.)
        self.pass_start.next =
            self.running.q.val() & !self.ps_active.q.val() & self.ps_more.q.val() & self.ld_ahead.q.val();
        self.load_start.next = self.running.q.val()
            & !self.ld_active.q.val()
            & self.ld_more.q.val()
            & (self.pass_start.val() | !self.ld_ahead.q.val());
        if self.load_start.val() & !self.pass_start.val() {
            self.ld_ahead.d.next = true;
        }
        if !self.load_start.val() & self.pass_start.val() {
            self.ld_ahead.d.next = false;
        }
        // Load engine: R weight reads, addresses ld_base + r.
        self.next_ld_base.next = self.ld_base.q.val() + self.array_rows.val();
        if (self.ld_base.q.val() + self.array_rows.val()) == self.weight_words.val() {
            self.next_ld_base.next = self.zero16.val();
        }
        if self.load_start.val() {
            self.w_valid.next = true;
            self.w_start.next = true;
            self.ld_idx.d.next = self.ld_idx.q.val() + self.one32.val();
            self.ld_more.d.next = (self.ld_idx.q.val() + self.one32.val()) < self.passes.val();
            if self.array_rows.val() == self.one16.val() {
                self.ld_base.d.next = self.next_ld_base.val();
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
                self.ld_base.d.next = self.next_ld_base.val();
            }
        }
        // Pass engine: the registers hold the next step to issue.
        self.issue.next = self.pass_start.val() | self.ps_active.q.val();
        self.step_addr.next = self.addr_x.q.val() + self.plane.q.val();
        // Negative coordinates (in the top/left padding) have bit 15 set; otherwise unsigned
        // compares hold.
        self.step_outside.next = self.iy.q.val().get_bits::<1>(15).any()
            | (self.iy.q.val() < self.first_row.val())
            | (self.iy.q.val() >= self.h.val())
            | self.ix.q.val().get_bits::<1>(15).any()
            | (self.ix.q.val() >= self.w.val());
        self.step_last_group.next = self.g_last.q.val();
        self.step_first.next = (self.x.q.val() == self.zero16.val()) & (self.plane.q.val() == self.zero16.val());
        self.step_init.next = (self.g.q.val() == self.zero16.val())
            & (self.kx.q.val() == self.zero16.val())
            & (self.ky.q.val() == self.zero16.val())
            & (self.plane.q.val() == self.zero16.val());
        self.step_y.next = self.y0.val() + self.yi.q.val();
        self.step_x.next = self.x.q.val().get_bits::<NX>(0);
        self.step_plane.next = self.plane.q.val().get_bits::<3>(0);
        // The pass after this one: chunk group, then kx, then ky, then the output row.
        self.n_g.next = self.g.q.val() + self.one16.val();
        self.n_kx.next = self.kx.q.val();
        self.n_ky.next = self.ky.q.val();
        self.n_yi.next = self.yi.q.val();
        self.n_iy.next = self.iy.q.val();
        self.n_ix_row.next = self.ix_row.q.val();
        self.n_base.next = self.pass_base.q.val() + self.planes.val();
        if self.g_last.q.val() {
            self.n_g.next = self.zero16.val();
            self.n_base.next = self.pass_base.q.val() + self.kx_step.val();
            self.n_kx.next = self.kx.q.val() + self.one16.val();
            self.n_ix_row.next = self.ix_row.q.val() + self.one16.val();
            if self.kx_last.q.val() {
                self.n_kx.next = self.zero16.val();
                self.n_ix_row.next = self.ix0.val();
                self.n_ky.next = self.ky.q.val() + self.one16.val();
                self.n_iy.next = self.iy.q.val() + self.one16.val();
                self.n_base.next = self.pass_base.q.val() + self.ky_step.val();
                if self.ky_last.q.val() {
                    self.n_ky.next = self.zero16.val();
                    self.n_yi.next = self.yi.q.val() + self.one16.val();
                    self.n_iy.next = self.iy.q.val() + self.stride.val() + self.one16.val() - self.kernel.val();
                    self.n_base.next = self.pass_base.q.val() + self.y_step.val();
                }
            }
        }
        if self.issue.val() {
            self.step_valid.next = true;
            self.ps_active.d.next = true;
            if self.pass_start.val() {
                self.ps_idx.d.next = self.ps_idx.q.val() + self.one32.val();
                self.ps_more.d.next = (self.ps_idx.q.val() + self.one32.val()) < self.passes.val();
            }
            if self.x_last.q.val() {
                self.x.d.next = self.zero16.val();
                self.x_last.d.next = self.w_out.val() == self.one16.val();
                self.addr_x.d.next = self.pass_base.q.val();
                self.ix.d.next = self.ix_row.q.val();
                self.plane.d.next = self.plane.q.val() + self.one16.val();
                self.plane_last.d.next = (self.plane.q.val() + self.two16.val()) == self.planes.val();
                if self.plane_last.q.val() {
                    // The pass ends: set up the next one.
                    self.ps_active.d.next = false;
                    self.plane.d.next = self.zero16.val();
                    self.plane_last.d.next = self.planes.val() == self.one16.val();
                    self.g.d.next = self.n_g.val();
                    self.kx.d.next = self.n_kx.val();
                    self.ky.d.next = self.n_ky.val();
                    self.g_last.d.next = (self.n_g.val() + self.one16.val()) == self.groups.val();
                    self.kx_last.d.next = (self.n_kx.val() + self.one16.val()) == self.kernel.val();
                    self.ky_last.d.next = (self.n_ky.val() + self.one16.val()) == self.kernel.val();
                    self.yi.d.next = self.n_yi.val();
                    self.iy.d.next = self.n_iy.val();
                    self.ix_row.d.next = self.n_ix_row.val();
                    self.pass_base.d.next = self.n_base.val();
                    self.addr_x.d.next = self.n_base.val();
                    self.ix.d.next = self.n_ix_row.val();
                }
            } else {
                self.x.d.next = self.x.q.val() + self.one16.val();
                self.x_last.d.next = (self.x.q.val() + self.two16.val()) == self.w_out.val();
                self.addr_x.d.next = self.addr_x.q.val() + self.x_step.val();
                self.ix.d.next = self.ix.q.val() + self.stride.val();
            }
        }
        // The run ends when every pass has been issued.
        if self.running.q.val()
            & !self.issue.val()
            & !self.ps_active.q.val()
            & !self.ld_active.q.val()
            & (self.ps_idx.q.val() == self.passes.val())
        {
            self.running.d.next = false;
        }
        if self.go.val() {
            self.running.d.next = true;
            self.ld_idx.d.next = self.zero32.val();
            self.ps_idx.d.next = self.zero32.val();
            self.ld_active.d.next = false;
            self.ld_ahead.d.next = false;
            self.ps_active.d.next = false;
            self.ld_r.d.next = self.zero16.val();
            self.ld_base.d.next = self.w_base0.val();
            self.x.d.next = self.zero16.val();
            self.plane.d.next = self.zero16.val();
            self.ld_more.d.next = self.zero32.val() < self.passes.val();
            self.ps_more.d.next = self.zero32.val() < self.passes.val();
            self.x_last.d.next = self.w_out.val() == self.one16.val();
            self.plane_last.d.next = self.planes.val() == self.one16.val();
            self.g.d.next = self.zero16.val();
            self.kx.d.next = self.zero16.val();
            self.ky.d.next = self.zero16.val();
            self.g_last.d.next = self.groups.val() == self.one16.val();
            self.kx_last.d.next = self.kernel.val() == self.one16.val();
            self.ky_last.d.next = self.kernel.val() == self.one16.val();
            self.yi.d.next = self.zero16.val();
            self.iy.d.next = self.iy0.val();
            self.ix_row.d.next = self.ix0.val();
            self.ix.d.next = self.ix0.val();
            self.pass_base.d.next = self.base0.val();
            self.addr_x.d.next = self.base0.val();
        }
    }
}

#[cfg(test)]
mod tests;
