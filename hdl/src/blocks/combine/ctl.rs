//! Control of the combine stage (docs/ARCHITECTURE.md, section 10). A *pass* combines one run's
//! maps (a column accumulator bank): it walks the run's entries from the entry pointer, each for
//! every pixel `x` of the row, one (entry, pixel) per cycle; the lanes' stage 1 sees the entry
//! and the column values a cycle after their reads. Where the run's entries end is only known
//! then (the `last` bit), so the read after the last one is issued and dropped, and the pointer
//! is left at it: the next pass starts there (the pointer wraps after the layer's `entries`, so
//! each output row walks the whole list).
//!
//! Also the drain's read address of the output accumulators, `dr_base + dr_x`.

use rust_hdl::prelude::*;

/// `NX` bits of a pixel index (the column accumulators' address).
#[derive(LogicBlock)]
pub struct CombineCtl<const NX: usize> {
    pub clock: Signal<In, Clock>,
    pub reset: Signal<In, Bit>,
    /// A layer starts: rewind the entry pointer.
    pub rewind: Signal<In, Bit>,
    /// Start a pass over accumulator bank `bank` (only while not `busy`).
    pub start: Signal<In, Bit>,
    pub bank: Signal<In, Bit>,
    pub w_out: Signal<In, Bits<16>>,
    pub entries: Signal<In, Bits<16>>,
    /// A pass is under way (until its last write).
    pub busy: Signal<Out, Bit>,
    // The reads of the issue stage.
    pub e_rd: Signal<Out, Bit>,
    pub e_addr: Signal<Out, Bits<16>>,
    pub acc_rd_x: Signal<Out, Bits<NX>>,
    pub acc_rd_bank: Signal<Out, Bit>,
    /// Stage 1: lane 0's entry's `last` bit (the same in every lane) and, to the lanes, the
    /// stage's valid and pixel.
    pub e_last: Signal<In, Bit>,
    pub s1_valid: Signal<Out, Bit>,
    pub s1_x: Signal<Out, Bits<16>>,
    /// The drain's reads of the output accumulators: its pixel (zero-extended by the netlist)
    /// in the filter tile whose words start at `dr_base`.
    pub dr_x: Signal<In, Bits<16>>,
    pub dr_base: Signal<In, Bits<16>>,
    pub dr_addr: Signal<Out, Bits<16>>,
    run: DFF<Bit>,
    bank_r: DFF<Bit>,
    ptr: DFF<Bits<16>>,
    x: DFF<Bits<16>>,
    x_last: DFF<Bit>,
    s1_v: DFF<Bit>,
    s1_xlast: DFF<Bit>,
    s1_x_r: DFF<Bits<16>>,
    s2_v: DFF<Bit>,
    s3_v: DFF<Bit>,
    pass_end: Signal<Local, Bit>,
    one16: Constant<Bits<16>>,
    two16: Constant<Bits<16>>,
    zero16: Constant<Bits<16>>,
}

impl<const NX: usize> Default for CombineCtl<NX> {
    fn default() -> Self {
        CombineCtl {
            clock: Default::default(),
            reset: Default::default(),
            rewind: Default::default(),
            start: Default::default(),
            bank: Default::default(),
            w_out: Default::default(),
            entries: Default::default(),
            busy: Default::default(),
            e_rd: Default::default(),
            e_addr: Default::default(),
            acc_rd_x: Default::default(),
            acc_rd_bank: Default::default(),
            e_last: Default::default(),
            s1_valid: Default::default(),
            s1_x: Default::default(),
            dr_x: Default::default(),
            dr_base: Default::default(),
            dr_addr: Default::default(),
            run: Default::default(),
            bank_r: Default::default(),
            ptr: Default::default(),
            x: Default::default(),
            x_last: Default::default(),
            s1_v: Default::default(),
            s1_xlast: Default::default(),
            s1_x_r: Default::default(),
            s2_v: Default::default(),
            s3_v: Default::default(),
            pass_end: Default::default(),
            one16: Constant::new(1u64.into()),
            two16: Constant::new(2u64.into()),
            zero16: Constant::new(0u64.into()),
        }
    }
}

impl<const NX: usize> Logic for CombineCtl<NX> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, run, bank_r, ptr, x, x_last, s1_v, s1_xlast, s1_x_r, s2_v, s3_v);
        self.busy.next = self.run.q.val() | self.s1_v.q.val() | self.s2_v.q.val() | self.s3_v.q.val();
        // Issue stage.
        self.e_rd.next = self.run.q.val();
        self.e_addr.next = self.ptr.q.val();
        self.acc_rd_x.next = self.x.q.val().get_bits::<NX>(0);
        self.acc_rd_bank.next = self.bank_r.q.val();
        // Stage 1: the pass ends with the last entry's last pixel; the read issued in the same
        // cycle is dropped.
        self.pass_end.next = self.s1_v.q.val() & self.e_last.val() & self.s1_xlast.q.val();
        self.s1_valid.next = self.s1_v.q.val();
        self.s1_x.next = self.s1_x_r.q.val();
        self.s1_v.d.next = self.run.q.val() & !self.pass_end.val();
        self.s1_xlast.d.next = self.x_last.q.val();
        self.s1_x_r.d.next = self.x.q.val();
        self.s2_v.d.next = self.s1_v.q.val();
        self.s3_v.d.next = self.s2_v.q.val();
        if self.run.q.val() {
            if self.x_last.q.val() {
                self.x.d.next = self.zero16.val();
                self.x_last.d.next = self.w_out.val() == self.one16.val();
                self.ptr.d.next = self.ptr.q.val() + self.one16.val();
                if (self.ptr.q.val() + self.one16.val()) == self.entries.val() {
                    self.ptr.d.next = self.zero16.val();
                }
            } else {
                self.x.d.next = self.x.q.val() + self.one16.val();
                self.x_last.d.next = (self.x.q.val() + self.two16.val()) == self.w_out.val();
            }
        }
        if self.pass_end.val() {
            // The dropped read's entry starts the next pass.
            self.run.d.next = false;
            self.ptr.d.next = self.ptr.q.val();
            self.x.d.next = self.zero16.val();
            self.x_last.d.next = self.w_out.val() == self.one16.val();
        }
        if self.start.val() {
            self.run.d.next = true;
            self.bank_r.d.next = self.bank.val();
            self.x.d.next = self.zero16.val();
            self.x_last.d.next = self.w_out.val() == self.one16.val();
        }
        self.dr_addr.next = self.dr_base.val() + self.dr_x.val();
        if self.rewind.val() {
            self.ptr.d.next = self.zero16.val();
        }
        if self.reset.val() {
            self.run.d.next = false;
            self.s1_v.d.next = false;
            self.s2_v.d.next = false;
            self.s3_v.d.next = false;
            self.ptr.d.next = self.zero16.val();
        }
    }
}
