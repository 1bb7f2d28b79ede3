//! Plays a stream of words from a synchronous ROM as a valid/ready source: word `i` of the ROM is
//! beat `i`, `count` beats in all, from `start` on. The ROM registers its address, so `addr` is
//! the word wanted in the next cycle: the next word as soon as a beat is taken, which keeps a
//! beat on the stream every cycle (the core sees the "free" traffic of the co-simulation).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct RomPlayer {
    pub clock: Signal<In, Clock>,
    /// Restart at word 0 (a layer's start).
    pub start: Signal<In, Bit>,
    /// Words in the stream (tied to a constant where the player is instantiated).
    pub count: Signal<In, Bits<16>>,
    pub valid: Signal<Out, Bit>,
    pub ready: Signal<In, Bit>,
    /// To the ROM's address input.
    pub addr: Signal<Out, Bits<16>>,
    one: Constant<Bits<16>>,
    zero: Constant<Bits<16>>,
    idx: DFF<Bits<16>>,
    /// A start was seen: the ROM's output is word `idx`.
    primed: DFF<Bit>,
    fire: Signal<Local, Bit>,
}

impl Default for RomPlayer {
    fn default() -> Self {
        RomPlayer {
            clock: Default::default(),
            start: Default::default(),
            count: Default::default(),
            valid: Default::default(),
            ready: Default::default(),
            addr: Default::default(),
            one: Constant::new(1u64.into()),
            zero: Constant::new(0u64.into()),
            idx: Default::default(),
            primed: Default::default(),
            fire: Default::default(),
        }
    }
}

impl Logic for RomPlayer {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, idx, primed);
        self.valid.next = self.primed.q.val() & (self.idx.q.val() < self.count.val());
        self.fire.next = self.valid.val() & self.ready.val();
        self.addr.next = self.idx.q.val();
        if self.fire.val() {
            self.idx.d.next = self.idx.q.val() + self.one.val();
            self.addr.next = self.idx.q.val() + self.one.val();
        }
        if self.start.val() {
            self.idx.d.next = self.zero.val();
            self.addr.next = self.zero.val();
            self.primed.d.next = true;
        }
    }
}
