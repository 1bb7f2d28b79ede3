//! The sequencer's pass engine: a pass's `planes x W_out` activation reads, one per cycle from
//! `start` (bit-plane outer, output pixel inner), then the next pass's position: chunk group,
//! then kernel column, then kernel row, then the run's next output row. Its registers hold the
//! next read to issue; flags kept beside the counters (`x_last`, `plane_last`, `g_last`,
//! `kx_last`, `ky_last`, `ps_more`) keep wide compares off the paths that enable them.
//!
//! Mirrored by `clock_pass_engine` in `sim/src/sequencer.rs`, which keeps the counters that
//! decide when reads happen (the addresses are the datapath's).

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;

/// `NX` bits of the pixel index `step_x` (the column accumulators' address width).
#[derive(LogicBlock, Default)]
pub struct PassEngine<const NX: usize> {
    pub clock: Signal<In, Clock>,
    pub go: Signal<In, Bit>,
    /// Start the next pass.
    pub start: Signal<In, Bit>,
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
    pub plane_shift: Signal<In, Bits<3>>,
    pub passes: Signal<In, Bits<32>>,
    pub iy0: Signal<In, Bits<16>>,
    pub ix0: Signal<In, Bits<16>>,
    pub base0: Signal<In, Bits<16>>,
    pub x_step: Signal<In, Bits<16>>,
    pub kx_step: Signal<In, Bits<16>>,
    pub ky_step: Signal<In, Bits<16>>,
    pub y_step: Signal<In, Bits<16>>,
    /// A pass is under way after its first read.
    pub active: Signal<Out, Bit>,
    /// Not every pass of the run has started / every pass has.
    pub more: Signal<Out, Bit>,
    pub all_started: Signal<Out, Bit>,
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
    ps_idx: DFF<Bits<32>>,
    ps_more: DFF<Bit>,
    ps_active: DFF<Bit>,
    x: DFF<Bits<16>>,
    x_last: DFF<Bit>,
    plane: DFF<Bits<16>>,
    plane_last: DFF<Bit>,
    /// The pass plane's low bits (planes < 8), shifted into the accumulator's plane.
    plane_low: Signal<Local, Bits<3>>,
    addr_x: DFF<Bits<16>>,
    ix: DFF<Bits<16>>,
    pass_base: DFF<Bits<16>>,
    g: DFF<Bits<16>>,
    g_last: DFF<Bit>,
    kx: DFF<Bits<16>>,
    kx_last: DFF<Bit>,
    ky: DFF<Bits<16>>,
    ky_last: DFF<Bit>,
    yi: DFF<Bits<16>>,
    iy: DFF<Bits<16>>,
    ix_row: DFF<Bits<16>>,
    issue: Signal<Local, Bit>,
    n_g: Signal<Local, Bits<16>>,
    n_kx: Signal<Local, Bits<16>>,
    n_ky: Signal<Local, Bits<16>>,
    n_yi: Signal<Local, Bits<16>>,
    n_iy: Signal<Local, Bits<16>>,
    n_ix_row: Signal<Local, Bits<16>>,
    n_base: Signal<Local, Bits<16>>,
    zero16: Lit<16, 0>,
    one16: Lit<16, 1>,
    two16: Lit<16, 2>,
    zero32: Lit<32, 0>,
    one32: Lit<32, 1>,
}

impl<const NX: usize> Logic for PassEngine<NX> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, ps_idx, ps_more, ps_active, x, x_last, plane, plane_last, addr_x, ix, pass_base, g, g_last,
            kx, kx_last, ky, ky_last, yi, iy, ix_row
        );
        self.active.next = self.ps_active.q.val();
        self.more.next = self.ps_more.q.val();
        self.all_started.next = self.ps_idx.q.val() == self.passes.val();
        self.issue.next = self.start.val() | self.ps_active.q.val();
        self.step_valid.next = self.issue.val();
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
        self.plane_low.next = self.plane.q.val().get_bits::<3>(0);
        self.step_plane.next = self.plane_low.val() << self.plane_shift.val();
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
            self.ps_active.d.next = true;
            if self.start.val() {
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
        if self.go.val() {
            self.ps_idx.d.next = self.zero32.val();
            self.ps_more.d.next = self.zero32.val() < self.passes.val();
            self.ps_active.d.next = false;
            self.x.d.next = self.zero16.val();
            self.x_last.d.next = self.w_out.val() == self.one16.val();
            self.plane.d.next = self.zero16.val();
            self.plane_last.d.next = self.planes.val() == self.one16.val();
            self.g.d.next = self.zero16.val();
            self.g_last.d.next = self.groups.val() == self.one16.val();
            self.kx.d.next = self.zero16.val();
            self.kx_last.d.next = self.kernel.val() == self.one16.val();
            self.ky.d.next = self.zero16.val();
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
