//! UART transmitter: 8 data bits, no parity, one stop bit, least significant bit first; the line
//! idles high. `divider` is the number of clock cycles per bit minus one, fixed when the block is
//! generated (the board's clock over the baud rate).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct UartTx {
    pub clock: Signal<In, Clock>,
    /// A byte to send; taken in a cycle with `ready` high.
    pub valid: Signal<In, Bit>,
    pub data: Signal<In, Bits<8>>,
    pub ready: Signal<Out, Bit>,
    /// The serial line.
    pub tx: Signal<Out, Bit>,
    divider: Constant<Bits<16>>,
    zero4: Constant<Bits<4>>,
    zero16: Constant<Bits<16>>,
    one4: Constant<Bits<4>>,
    one16: Constant<Bits<16>>,
    frame_bits: Constant<Bits<4>>,
    /// The byte being sent, shifted right after each data bit.
    shift: DFF<Bits<8>>,
    /// Bits of the frame still to send: 10 the start bit, 9..2 the data bits, 1 the stop bit, 0
    /// idle.
    left: DFF<Bits<4>>,
    /// Cycles left in the current bit.
    baud: DFF<Bits<16>>,
}

impl UartTx {
    /// `cycles_per_bit` in 2..=65536.
    pub fn new(cycles_per_bit: u32) -> Self {
        assert!((2..=65536).contains(&cycles_per_bit), "UART: {cycles_per_bit} cycles per bit");
        UartTx {
            clock: Default::default(),
            valid: Default::default(),
            data: Default::default(),
            ready: Default::default(),
            tx: Default::default(),
            divider: Constant::new(((cycles_per_bit - 1) as u64).into()),
            zero4: Constant::new(0u64.into()),
            zero16: Constant::new(0u64.into()),
            one4: Constant::new(1u64.into()),
            one16: Constant::new(1u64.into()),
            frame_bits: Constant::new(10u64.into()),
            shift: Default::default(),
            left: Default::default(),
            baud: Default::default(),
        }
    }
}

impl Logic for UartTx {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, shift, left, baud);
        self.ready.next = self.left.q.val() == self.zero4.val();
        self.tx.next = true;
        if self.left.q.val() != self.zero4.val() {
            if self.left.q.val() == self.frame_bits.val() {
                self.tx.next = false;
            } else if self.left.q.val() != self.one4.val() {
                self.tx.next = self.shift.q.val().get_bit(0);
            }
            if self.baud.q.val() == self.zero16.val() {
                self.baud.d.next = self.divider.val();
                self.left.d.next = self.left.q.val() - self.one4.val();
                if self.left.q.val() != self.frame_bits.val() {
                    self.shift.d.next = self.shift.q.val() >> 1;
                }
            } else {
                self.baud.d.next = self.baud.q.val() - self.one16.val();
            }
        } else if self.valid.val() {
            self.shift.d.next = self.data.val();
            self.left.d.next = self.frame_bits.val();
            self.baud.d.next = self.divider.val();
        }
    }
}
