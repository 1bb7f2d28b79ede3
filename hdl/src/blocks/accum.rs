//! Column accumulator (docs/ARCHITECTURE.md): `acc[bank][x] = (init ? 0 : acc[bank][x]) +
//! (psum << plane)` for the column sum leaving the array, one per cycle, with two banks so that a
//! finished output row drains through the PPU while the next row accumulates.
//!
//! Each bank is a synchronous-read RAM, so an update is a two-stage read-modify-write: the read is
//! issued in stage 1, the add and the write happen in stage 2. When an update hits the address
//! the previous update is writing in the same cycle (consecutive bit-planes of one pixel, or a
//! one-pixel row), the RAM still returns the old value, so the previous sum is forwarded.

use rust_hdl::prelude::*;

/// `sum = (init ? 0 : old) + (psum << plane)`, all `A` bits two's complement (`psum` arrives
/// sign-extended; SPEC 4 guarantees the result fits).
#[derive(LogicBlock)]
pub struct AccAdd<const A: usize> {
    pub old: Signal<In, Bits<A>>,
    pub psum: Signal<In, Bits<A>>,
    pub plane: Signal<In, Bits<3>>,
    pub init: Signal<In, Bit>,
    pub sum: Signal<Out, Bits<A>>,
}

impl<const A: usize> Default for AccAdd<A> {
    fn default() -> Self {
        AccAdd {
            old: Default::default(),
            psum: Default::default(),
            plane: Default::default(),
            init: Default::default(),
            sum: Default::default(),
        }
    }
}

impl<const A: usize> Logic for AccAdd<A> {
    fn update(&mut self) {
        let base = if self.init.val() { Bits::<A>::default() } else { self.old.val() };
        self.sum.next = base + (self.psum.val() << self.plane.val());
    }
    fn connect(&mut self) {
        self.sum.connect();
    }
    fn hdl(&self) -> Verilog {
        Verilog::Custom(format!("always @(*) sum = (init ? {{{A}{{1'b0}}}} : old) + (psum << plane);\n"))
    }
}

/// One column's accumulator: `A`-bit sums, banks of `2^N` pixels.
#[derive(LogicBlock)]
pub struct ColAcc<const A: usize, const N: usize> {
    pub clock: Signal<In, Clock>,
    /// Update port (stage 1 inputs).
    pub valid: Signal<In, Bit>,
    pub init: Signal<In, Bit>,
    pub plane: Signal<In, Bits<3>>,
    pub bank: Signal<In, Bit>,
    pub x: Signal<In, Bits<N>>,
    pub psum: Signal<In, Bits<A>>,
    /// Drain port: `rd_data` is `acc[rd_bank][rd_x]` one cycle after the address.
    pub rd_bank: Signal<In, Bit>,
    pub rd_x: Signal<In, Bits<N>>,
    pub rd_data: Signal<Out, Bits<A>>,
    ram0: RAM<Bits<A>, N>,
    ram1: RAM<Bits<A>, N>,
    add: AccAdd<A>,
    valid_q: DFF<Bit>,
    init_q: DFF<Bit>,
    plane_q: DFF<Bits<3>>,
    bank_q: DFF<Bit>,
    x_q: DFF<Bits<N>>,
    psum_q: DFF<Bits<A>>,
    rd_bank_q: DFF<Bit>,
    last_valid: DFF<Bit>,
    last_bank: DFF<Bit>,
    last_x: DFF<Bits<N>>,
    last_sum: DFF<Bits<A>>,
    old: Signal<Local, Bits<A>>,
}

impl<const A: usize, const N: usize> Default for ColAcc<A, N> {
    fn default() -> Self {
        ColAcc {
            clock: Default::default(),
            valid: Default::default(),
            init: Default::default(),
            plane: Default::default(),
            bank: Default::default(),
            x: Default::default(),
            psum: Default::default(),
            rd_bank: Default::default(),
            rd_x: Default::default(),
            rd_data: Default::default(),
            ram0: Default::default(),
            ram1: Default::default(),
            add: Default::default(),
            valid_q: Default::default(),
            init_q: Default::default(),
            plane_q: Default::default(),
            bank_q: Default::default(),
            x_q: Default::default(),
            psum_q: Default::default(),
            rd_bank_q: Default::default(),
            last_valid: Default::default(),
            last_bank: Default::default(),
            last_x: Default::default(),
            last_sum: Default::default(),
            old: Default::default(),
        }
    }
}

impl<const A: usize, const N: usize> Logic for ColAcc<A, N> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, valid_q, init_q, plane_q, bank_q, x_q, psum_q, rd_bank_q, last_valid, last_bank, last_x,
            last_sum
        );
        self.ram0.read_clock.next = self.clock.val();
        self.ram0.write_clock.next = self.clock.val();
        self.ram1.read_clock.next = self.clock.val();
        self.ram1.write_clock.next = self.clock.val();
        // Stage 1: a valid update reads its bank; the drain port reads the other (the controller
        // never drains the bank being accumulated).
        self.ram0.read_address.next = self.rd_x.val();
        self.ram1.read_address.next = self.rd_x.val();
        if self.valid.val() & self.bank.val() {
            self.ram1.read_address.next = self.x.val();
        }
        if self.valid.val() & !self.bank.val() {
            self.ram0.read_address.next = self.x.val();
        }
        self.valid_q.d.next = self.valid.val();
        self.init_q.d.next = self.init.val();
        self.plane_q.d.next = self.plane.val();
        self.bank_q.d.next = self.bank.val();
        self.x_q.d.next = self.x.val();
        self.psum_q.d.next = self.psum.val();
        self.rd_bank_q.d.next = self.rd_bank.val();
        // Stage 2: add (forwarding the sum written in this same cycle's edge) and write back.
        self.old.next = self.ram0.read_data.val();
        if self.bank_q.q.val() {
            self.old.next = self.ram1.read_data.val();
        }
        if self.last_valid.q.val()
            & (self.last_bank.q.val() == self.bank_q.q.val())
            & (self.last_x.q.val() == self.x_q.q.val())
        {
            self.old.next = self.last_sum.q.val();
        }
        self.add.old.next = self.old.val();
        self.add.psum.next = self.psum_q.q.val();
        self.add.plane.next = self.plane_q.q.val();
        self.add.init.next = self.init_q.q.val();
        self.ram0.write_address.next = self.x_q.q.val();
        self.ram1.write_address.next = self.x_q.q.val();
        self.ram0.write_data.next = self.add.sum.val();
        self.ram1.write_data.next = self.add.sum.val();
        self.ram0.write_enable.next = self.valid_q.q.val() & !self.bank_q.q.val();
        self.ram1.write_enable.next = self.valid_q.q.val() & self.bank_q.q.val();
        self.last_valid.d.next = self.valid_q.q.val();
        self.last_bank.d.next = self.bank_q.q.val();
        self.last_x.d.next = self.x_q.q.val();
        self.last_sum.d.next = self.add.sum.val();
        // Drain read data.
        self.rd_data.next = self.ram0.read_data.val();
        if self.rd_bank_q.q.val() {
            self.rd_data.next = self.ram1.read_data.val();
        }
    }
}

#[cfg(test)]
mod tests;
