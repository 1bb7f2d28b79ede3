//! UART receiver: the frame of `UartTx` (8 data bits, no parity, one stop bit). The line passes
//! two flip-flops first (it comes from another clock domain); a falling edge starts a frame, each
//! bit is sampled in its middle, and a frame whose start bit is still low and whose stop bit is
//! high yields a one-cycle `valid` pulse with the byte.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct UartRx {
    pub clock: Signal<In, Clock>,
    /// The serial line.
    pub rx: Signal<In, Bit>,
    pub valid: Signal<Out, Bit>,
    pub data: Signal<Out, Bits<8>>,
    divider: Constant<Bits<16>>,
    half: Constant<Bits<16>>,
    zero4: Constant<Bits<4>>,
    zero16: Constant<Bits<16>>,
    one4: Constant<Bits<4>>,
    one16: Constant<Bits<16>>,
    frame_bits: Constant<Bits<4>>,
    top_bit: Constant<Bits<10>>,
    /// The line inverted (flip-flops start at 0, the idle line is 1).
    low1: DFF<Bit>,
    low2: DFF<Bit>,
    /// Sampled bits, the first (start bit) ending in bit 0.
    shift: DFF<Bits<10>>,
    /// Bits of the frame still to sample; 0 when idle.
    left: DFF<Bits<4>>,
    baud: DFF<Bits<16>>,
    /// The last bit was sampled in the previous cycle.
    done: DFF<Bit>,
}

impl UartRx {
    /// `cycles_per_bit` in 2..=65536, as for `UartTx`.
    pub fn new(cycles_per_bit: u32) -> Self {
        assert!((2..=65536).contains(&cycles_per_bit), "UART: {cycles_per_bit} cycles per bit");
        UartRx {
            clock: Default::default(),
            rx: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            divider: Constant::new(((cycles_per_bit - 1) as u64).into()),
            // `low2` shows the line two cycles late, and the count starts a cycle after it saw the
            // edge: the first sample is then half a bit after the edge.
            half: Constant::new(((cycles_per_bit / 2).saturating_sub(1) as u64).into()),
            zero4: Constant::new(0u64.into()),
            zero16: Constant::new(0u64.into()),
            one4: Constant::new(1u64.into()),
            one16: Constant::new(1u64.into()),
            frame_bits: Constant::new(10u64.into()),
            top_bit: Constant::new(0x200u64.into()),
            low1: Default::default(),
            low2: Default::default(),
            shift: Default::default(),
            left: Default::default(),
            baud: Default::default(),
            done: Default::default(),
        }
    }
}

impl Logic for UartRx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, low1, low2, shift, left, baud, done);
        self.low1.d.next = !self.rx.val();
        self.low2.d.next = self.low1.q.val();
        self.done.d.next = false;
        self.valid.next = self.done.q.val() & !self.shift.q.val().get_bit(0) & self.shift.q.val().get_bit(9);
        self.data.next = self.shift.q.val().get_bits::<8>(1);
        if self.left.q.val() != self.zero4.val() {
            if self.baud.q.val() == self.zero16.val() {
                self.baud.d.next = self.divider.val();
                self.left.d.next = self.left.q.val() - self.one4.val();
                self.done.d.next = self.left.q.val() == self.one4.val();
                self.shift.d.next = self.shift.q.val() >> 1;
                if !self.low2.q.val() {
                    self.shift.d.next = (self.shift.q.val() >> 1) | self.top_bit.val();
                }
            } else {
                self.baud.d.next = self.baud.q.val() - self.one16.val();
            }
        } else if self.low2.q.val() {
            self.left.d.next = self.frame_bits.val();
            self.baud.d.next = self.half.val();
        }
    }
}
