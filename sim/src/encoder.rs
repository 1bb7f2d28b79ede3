//! The codec encoder's control (`hdl/src/codec/encoder.rs`): two block stages and the packer's
//! shift buffer, in bits. The coder's only effect on timing is each block's code length, which
//! the datapath supplies when the block enters stage 1 (`cbnn::codec::BlockCoster`, the golden
//! encoder's prices, which the RTL coder is co-simulated against).

use cbnn::codec::BlockCost;

#[derive(Clone, Copy, Debug)]
pub struct EncoderShape {
    /// Bits of the packer's buffer and of a beat (`8 P`).
    pub buffer_bits: u32,
    pub beat_bits: u32,
}

#[derive(Clone, Debug, Default)]
pub struct Encoder {
    s1_valid: bool,
    s1_last: bool,
    s1_len: u32,
    s2_valid: bool,
    s2_last: bool,
    s2_len: u32,
    efill: u32,
    eflush: bool,
    /// Bytes sent since `start`.
    pub bytes: u64,
}

/// A beat offered on the output stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncOut {
    pub valid: bool,
    pub nbytes: u32,
    pub last: bool,
}

impl Encoder {
    fn acc2(&self, s: &EncoderShape) -> bool {
        self.s2_valid && !self.eflush && self.efill + self.s2_len <= s.buffer_bits
    }

    pub fn in_ready(&self, s: &EncoderShape) -> bool {
        !self.s1_valid || !self.s2_valid || self.acc2(s)
    }

    pub fn out(&self, s: &EncoderShape) -> EncOut {
        let last = self.eflush && self.efill <= s.beat_bits;
        EncOut {
            valid: if self.eflush { self.efill != 0 } else { self.efill >= s.beat_bits },
            nbytes: if last { self.efill / 8 } else { s.beat_bits / 8 },
            last,
        }
    }

    pub fn idle(&self) -> bool {
        !self.s1_valid && !self.s2_valid && !self.eflush && self.efill == 0
    }

    /// The clock edge: `take` a block of `cost` (`last` ends its record); `out_ready`
    /// the stream's.
    pub fn clock(&mut self, take: Option<(BlockCost, bool)>, out_ready: bool, s: &EncoderShape) {
        let q = self.clone();
        let acc2 = q.acc2(s);
        let s1_adv = !q.s2_valid || acc2;
        let o = q.out(s);
        let emit = o.valid && out_ready;
        let fill_e = if emit {
            if o.last {
                0
            } else {
                q.efill - s.beat_bits
            }
        } else {
            q.efill
        };
        let fill_a = fill_e + q.s2_len;
        if let Some((cost, last)) = take {
            self.s1_valid = true;
            self.s1_len = cost.bits;
            self.s1_last = last;
        } else if s1_adv {
            self.s1_valid = false;
        }
        if s1_adv {
            self.s2_valid = q.s1_valid;
            self.s2_len = q.s1_len;
            self.s2_last = q.s1_last;
        }
        self.efill = if acc2 {
            if q.s2_last {
                fill_a.next_multiple_of(8)
            } else {
                fill_a
            }
        } else {
            fill_e
        };
        if acc2 && q.s2_last {
            self.eflush = true;
        } else if emit && o.last {
            self.eflush = false;
        }
        if emit {
            self.bytes += o.nbytes as u64;
        }
    }
}
