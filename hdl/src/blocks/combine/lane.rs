//! One combine lane (docs/ARCHITECTURE.md, section 10): the output accumulator of the filters
//! `o = t*C + l` of its lane, `oacc[a + x] += coef * sel` for each valid entry and pixel (`=` for
//! a filter's first entry of the row, `init`), in a three-stage read-modify-write:
//! 1. (inputs, registered here) the entry's row address plus the pixel, its coefficient and the
//!    column value the netlist selected for it;
//! 2. the accumulator read, and the product `coef * sel` (its own stage: a multiplier);
//! 3. the add and the write. A read of the word written in the same cycle (consecutive entries of
//!    one tile on a one-pixel row) gets the sum forwarded.
//!
//! The same RAM serves the drain unit (read `rd_addr`, data a cycle later, when no entry is in
//! stage 2). Nothing is ever cleared: every word a drain reads was written by an `init` entry
//! of the row. An entry's word or a drain's read beyond the accumulator raises `overflow` (a
//! cycle later, like the buffer banks): the drain's address is always in range, `0` when idle.

use rust_hdl::prelude::*;

/// `y = coef * x` in the low `A` bits (`coef` 16-bit two's complement, `x` `A`-bit), which is
/// exact whenever the true product fits `A` bits (SPEC 4 bounds every partial sum of a layer).
#[derive(LogicBlock, Default)]
pub struct CoefMul<const A: usize> {
    pub coef: Signal<In, Bits<16>>,
    pub x: Signal<In, Bits<A>>,
    pub y: Signal<Out, Bits<A>>,
}

impl<const A: usize> Logic for CoefMul<A> {
    fn update(&mut self) {
        let c = self.coef.val().index() as u64;
        let c = ((c << 48) as i64 >> 48) as u64;
        let x = self.x.val().index() as u64;
        self.y.next = (c.wrapping_mul(x) & ((1u64 << A) - 1)).to_bits();
    }
    fn connect(&mut self) {
        self.y.connect();
    }
    fn hdl(&self) -> Verilog {
        // Both operands at A bits (the coefficient sign-extended): the low A bits of an A x A
        // product are those of the signed product.
        let ext = if A > 16 { format!("{{{{{}{{coef[15]}}}}, coef}}", A - 16) } else { "coef".to_string() };
        Verilog::Custom(format!("wire [{}:0] coef_a = {ext};\nalways @(*) y = coef_a * x;\n", A - 1))
    }
}

/// A lane with `A`-bit sums and `2^N` accumulator words.
#[derive(LogicBlock)]
pub struct CombineLane<const A: usize, const N: usize> {
    pub clock: Signal<In, Clock>,
    /// Stage 1: a valid entry of this lane, its row address `a`, the pixel `x`, its coefficient
    /// and the value of its column at `x`.
    pub s1_valid: Signal<In, Bit>,
    pub init: Signal<In, Bit>,
    pub a: Signal<In, Bits<16>>,
    pub x: Signal<In, Bits<16>>,
    pub coef: Signal<In, Bits<16>>,
    pub sel: Signal<In, Bits<A>>,
    /// The drain's read: `rd_data` one cycle later.
    pub rd_addr: Signal<In, Bits<16>>,
    pub rd_data: Signal<Out, Bits<A>>,
    pub overflow: Signal<Out, Bit>,
    ram: RAM<Bits<A>, N>,
    mul: CoefMul<A>,
    s2_valid: DFF<Bit>,
    s2_init: DFF<Bit>,
    s2_addr: DFF<Bits<N>>,
    s2_coef: DFF<Bits<16>>,
    s2_sel: DFF<Bits<A>>,
    s3_valid: DFF<Bit>,
    s3_init: DFF<Bit>,
    s3_addr: DFF<Bits<N>>,
    s3_prod: DFF<Bits<A>>,
    fwd: DFF<Bit>,
    fwd_val: DFF<Bits<A>>,
    ovf: DFF<Bit>,
    addr: Signal<Local, Bits<16>>,
    old: Signal<Local, Bits<A>>,
    sum: Signal<Local, Bits<A>>,
    zero: Constant<Bits<A>>,
    depth: Constant<Bits<16>>,
}

impl<const A: usize, const N: usize> Default for CombineLane<A, N> {
    fn default() -> Self {
        assert!((1..=15).contains(&N), "CombineLane<{A}, {N}>: too deep for 16-bit addresses");
        CombineLane {
            clock: Default::default(),
            s1_valid: Default::default(),
            init: Default::default(),
            a: Default::default(),
            x: Default::default(),
            coef: Default::default(),
            sel: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            overflow: Default::default(),
            ram: Default::default(),
            mul: Default::default(),
            s2_valid: Default::default(),
            s2_init: Default::default(),
            s2_addr: Default::default(),
            s2_coef: Default::default(),
            s2_sel: Default::default(),
            s3_valid: Default::default(),
            s3_init: Default::default(),
            s3_addr: Default::default(),
            s3_prod: Default::default(),
            fwd: Default::default(),
            fwd_val: Default::default(),
            ovf: Default::default(),
            addr: Default::default(),
            old: Default::default(),
            sum: Default::default(),
            zero: Constant::new(0u64.into()),
            depth: Constant::new(((1u64 << N) as LiteralType).into()),
        }
    }
}

impl<const A: usize, const N: usize> Logic for CombineLane<A, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, s2_valid, s2_init, s2_addr, s2_coef, s2_sel, s3_valid, s3_init, s3_addr, s3_prod, fwd,
            fwd_val, ovf
        );
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        // Stage 1 -> 2.
        self.s2_valid.d.next = self.s1_valid.val();
        self.s2_init.d.next = self.init.val();
        self.addr.next = self.a.val() + self.x.val();
        self.s2_addr.d.next = self.addr.val().get_bits::<N>(0);
        self.s2_coef.d.next = self.coef.val();
        self.s2_sel.d.next = self.sel.val();
        // Stage 2: the read (an entry's, else the drain's) and the product.
        self.ram.read_address.next = self.rd_addr.val().get_bits::<N>(0);
        if self.s2_valid.q.val() {
            self.ram.read_address.next = self.s2_addr.q.val();
        }
        self.mul.coef.next = self.s2_coef.q.val();
        self.mul.x.next = self.s2_sel.q.val();
        self.s3_valid.d.next = self.s2_valid.q.val();
        self.s3_init.d.next = self.s2_init.q.val();
        self.s3_addr.d.next = self.s2_addr.q.val();
        self.s3_prod.d.next = self.mul.y.val();
        // Stage 3: add and write back; the word written now is forwarded to a read of it now.
        self.old.next = self.ram.read_data.val();
        if self.fwd.q.val() {
            self.old.next = self.fwd_val.q.val();
        }
        if self.s3_init.q.val() {
            self.old.next = self.zero.val();
        }
        self.sum.next = self.old.val() + self.s3_prod.q.val();
        self.fwd.d.next =
            self.s3_valid.q.val() & self.s2_valid.q.val() & (self.s3_addr.q.val() == self.s2_addr.q.val());
        self.fwd_val.d.next = self.sum.val();
        self.ram.write_enable.next = self.s3_valid.q.val();
        self.ram.write_address.next = self.s3_addr.q.val();
        self.ram.write_data.next = self.sum.val();
        self.rd_data.next = self.ram.read_data.val();
        self.ovf.d.next =
            (self.s1_valid.val() & (self.addr.val() >= self.depth.val())) | (self.rd_addr.val() >= self.depth.val());
        self.overflow.next = self.ovf.q.val();
    }
}
