//! The self-test sequencer of the board-level top: after power-up, and again for every byte that
//! arrives on the UART, it writes the layer's descriptor registers and PPU parameters from the
//! setup ROM into the core, starts the core (and the stream players), folds every result beat
//! into a Fletcher-style checksum, counts the cycles the core is busy, and sends the reply:
//!
//! `0xCB`, `s1`, `s2`, `cycles` (32 bits each, least significant byte first), `status`
//! (bit 0: the core's error flag, bit 1: the checksum equals the golden model's).
//!
//! The setup ROM's words carry the kind of each entry in `kind`: 1 a register write, 2 a
//! parameter write, 0 the end of the list.

use cbnn::hw::setup::SetupKind;
use rust_hdl::prelude::*;

/// The first byte of every reply.
pub const REPLY_MAGIC: u8 = 0xCB;
/// Bytes in a reply.
pub const REPLY_BYTES: usize = 14;

const POWER_ON: u64 = 0;
const SETUP: u64 = 1;
const START: u64 = 2;
const RUN: u64 = 3;
const SEND: u64 = 4;
const IDLE: u64 = 5;

#[derive(LogicBlock)]
pub struct SelfTest {
    pub clock: Signal<In, Clock>,
    /// The clock is stable; until then the power-on count waits.
    pub locked: Signal<In, Bit>,
    /// Held in reset until the power-on count ends.
    pub core_reset: Signal<Out, Bit>,
    pub setup_addr: Signal<Out, Bits<16>>,
    pub setup_kind: Signal<In, Bits<2>>,
    pub reg_we: Signal<Out, Bit>,
    pub param_we: Signal<Out, Bit>,
    /// The core's (and the players') start pulse.
    pub start: Signal<Out, Bit>,
    pub busy: Signal<In, Bit>,
    pub error: Signal<In, Bit>,
    /// A result beat is taken this cycle, and its 32-bit fold.
    pub out_fire: Signal<In, Bit>,
    pub out_fold: Signal<In, Bits<32>>,
    pub rx_valid: Signal<In, Bit>,
    pub tx_valid: Signal<Out, Bit>,
    pub tx_data: Signal<Out, Bits<8>>,
    pub tx_ready: Signal<In, Bit>,
    /// The run's figures, and the reply the board top packs from them
    /// (`{status, cycles, s2, s1, 0xCB}`, sent from the low byte up).
    pub sum1: Signal<Out, Bits<32>>,
    pub sum2: Signal<Out, Bits<32>>,
    pub run_cycles: Signal<Out, Bits<32>>,
    pub status: Signal<Out, Bits<8>>,
    pub reply_in: Signal<In, Bits<112>>,
    /// For the board's LEDs: the core is running a layer; a run has finished; its checksum was
    /// the golden model's; its error flag was set.
    pub running: Signal<Out, Bit>,
    pub done: Signal<Out, Bit>,
    pub pass: Signal<Out, Bit>,
    pub failed: Signal<Out, Bit>,
    expect_s1: Constant<Bits<32>>,
    expect_s2: Constant<Bits<32>>,
    status_error: Constant<Bits<8>>,
    status_pass: Constant<Bits<8>>,
    status_both: Constant<Bits<8>>,
    zero8: Constant<Bits<8>>,
    st_power_on: Constant<Bits<3>>,
    st_setup: Constant<Bits<3>>,
    st_start: Constant<Bits<3>>,
    st_run: Constant<Bits<3>>,
    st_send: Constant<Bits<3>>,
    st_idle: Constant<Bits<3>>,
    kind_end: Constant<Bits<2>>,
    kind_reg: Constant<Bits<2>>,
    kind_param: Constant<Bits<2>>,
    por_last: Constant<Bits<4>>,
    reply_last: Constant<Bits<4>>,
    one4: Constant<Bits<4>>,
    one16: Constant<Bits<16>>,
    one32: Constant<Bits<32>>,
    zero4: Constant<Bits<4>>,
    zero16: Constant<Bits<16>>,
    zero32: Constant<Bits<32>>,
    state: DFF<Bits<3>>,
    por: DFF<Bits<4>>,
    setup_idx: DFF<Bits<16>>,
    /// The setup ROM's output is an entry (not the cycle the list starts).
    setup_ok: DFF<Bit>,
    s1: DFF<Bits<32>>,
    s2: DFF<Bits<32>>,
    cycles: DFF<Bits<32>>,
    reply: DFF<Bits<112>>,
    sent: DFF<Bits<4>>,
    was_done: DFF<Bit>,
    was_pass: DFF<Bit>,
    was_error: DFF<Bit>,
    /// The checksum equals the golden model's.
    sum_ok: Signal<Local, Bit>,
}

impl SelfTest {
    /// `expect`: the golden model's checksum `(s1, s2)`.
    pub fn new(expect: (u32, u32)) -> Self {
        let c3 = |v: u64| Constant::new(v.into());
        SelfTest {
            clock: Default::default(),
            locked: Default::default(),
            core_reset: Default::default(),
            setup_addr: Default::default(),
            setup_kind: Default::default(),
            reg_we: Default::default(),
            param_we: Default::default(),
            start: Default::default(),
            busy: Default::default(),
            error: Default::default(),
            out_fire: Default::default(),
            out_fold: Default::default(),
            rx_valid: Default::default(),
            tx_valid: Default::default(),
            tx_data: Default::default(),
            tx_ready: Default::default(),
            sum1: Default::default(),
            sum2: Default::default(),
            run_cycles: Default::default(),
            status: Default::default(),
            reply_in: Default::default(),
            running: Default::default(),
            done: Default::default(),
            pass: Default::default(),
            failed: Default::default(),
            expect_s1: Constant::new((expect.0 as u64).into()),
            expect_s2: Constant::new((expect.1 as u64).into()),
            status_error: Constant::new(1u64.into()),
            status_pass: Constant::new(2u64.into()),
            status_both: Constant::new(3u64.into()),
            zero8: Constant::new(0u64.into()),
            st_power_on: c3(POWER_ON),
            st_setup: c3(SETUP),
            st_start: c3(START),
            st_run: c3(RUN),
            st_send: c3(SEND),
            st_idle: c3(IDLE),
            kind_end: Constant::new(SetupKind::End.code().into()),
            kind_reg: Constant::new(SetupKind::Reg.code().into()),
            kind_param: Constant::new(SetupKind::Param.code().into()),
            por_last: Constant::new(15u64.into()),
            reply_last: Constant::new((REPLY_BYTES as u64 - 1).into()),
            one4: Constant::new(1u64.into()),
            one16: Constant::new(1u64.into()),
            one32: Constant::new(1u64.into()),
            zero4: Constant::new(0u64.into()),
            zero16: Constant::new(0u64.into()),
            zero32: Constant::new(0u64.into()),
            state: Default::default(),
            por: Default::default(),
            setup_idx: Default::default(),
            setup_ok: Default::default(),
            s1: Default::default(),
            s2: Default::default(),
            cycles: Default::default(),
            reply: Default::default(),
            sent: Default::default(),
            was_done: Default::default(),
            was_pass: Default::default(),
            was_error: Default::default(),
            sum_ok: Default::default(),
        }
    }
}

impl Logic for SelfTest {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(
            self, clock, state, por, setup_idx, setup_ok, s1, s2, cycles, reply, sent, was_done, was_pass, was_error
        );
        self.core_reset.next = self.state.q.val() == self.st_power_on.val();
        self.setup_addr.next = self.setup_idx.q.val();
        self.reg_we.next = false;
        self.param_we.next = false;
        self.start.next = false;
        self.tx_valid.next = false;
        self.tx_data.next = self.reply.q.val().get_bits::<8>(0);
        self.sum1.next = self.s1.q.val();
        self.sum2.next = self.s2.q.val();
        self.run_cycles.next = self.cycles.q.val();
        self.running.next = self.state.q.val() == self.st_run.val();
        self.done.next = self.was_done.q.val();
        self.pass.next = self.was_pass.q.val();
        self.failed.next = self.was_error.q.val();
        // The reply's status byte.
        self.sum_ok.next = (self.s1.q.val() == self.expect_s1.val()) & (self.s2.q.val() == self.expect_s2.val());
        self.status.next = self.zero8.val();
        if self.error.val() {
            self.status.next = self.status_error.val();
        }
        if self.sum_ok.val() {
            self.status.next = self.status_pass.val();
            if self.error.val() {
                self.status.next = self.status_both.val();
            }
        }
        // Result beats count whenever they come (only a run produces them).
        if self.out_fire.val() {
            self.s1.d.next = self.s1.q.val() + self.out_fold.val();
            self.s2.d.next = self.s2.q.val() + self.s1.q.val() + self.out_fold.val();
        }
        if self.state.q.val() == self.st_power_on.val() {
            if self.locked.val() {
                self.por.d.next = self.por.q.val() + self.one4.val();
            }
            if self.por.q.val() == self.por_last.val() {
                self.state.d.next = self.st_setup.val();
                self.setup_idx.d.next = self.zero16.val();
                self.setup_ok.d.next = false;
            }
        } else if self.state.q.val() == self.st_setup.val() {
            self.setup_idx.d.next = self.setup_idx.q.val() + self.one16.val();
            self.setup_ok.d.next = true;
            if self.setup_ok.q.val() {
                self.reg_we.next = self.setup_kind.val() == self.kind_reg.val();
                self.param_we.next = self.setup_kind.val() == self.kind_param.val();
                if self.setup_kind.val() == self.kind_end.val() {
                    self.state.d.next = self.st_start.val();
                }
            }
        } else if self.state.q.val() == self.st_start.val() {
            self.start.next = true;
            self.s1.d.next = self.zero32.val();
            self.s2.d.next = self.zero32.val();
            self.cycles.d.next = self.zero32.val();
            self.state.d.next = self.st_run.val();
        } else if self.state.q.val() == self.st_run.val() {
            if self.busy.val() {
                self.cycles.d.next = self.cycles.q.val() + self.one32.val();
            } else {
                self.state.d.next = self.st_send.val();
                self.sent.d.next = self.zero4.val();
                self.was_done.d.next = true;
                self.was_pass.d.next = self.sum_ok.val();
                self.was_error.d.next = self.error.val();
                self.reply.d.next = self.reply_in.val();
            }
        } else if self.state.q.val() == self.st_send.val() {
            self.tx_valid.next = true;
            if self.tx_ready.val() {
                self.reply.d.next = self.reply.q.val() >> 8;
                self.sent.d.next = self.sent.q.val() + self.one4.val();
                if self.sent.q.val() == self.reply_last.val() {
                    self.state.d.next = self.st_idle.val();
                }
            }
        } else if self.rx_valid.val() {
            self.state.d.next = self.st_setup.val();
            self.setup_idx.d.next = self.zero16.val();
            self.setup_ok.d.next = false;
        }
    }
}
