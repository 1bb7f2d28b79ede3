//! The codec encoder's control (`hdl/src/codec/encoder.rs`): the analysis stage A, the field
//! holder E, the step register S and the packer's committed fill, in bits. The coder's only
//! effects on timing are each block's code length and Exp-Golomb field count, which the
//! datapath supplies when the block enters stage A (`cbnn::codec::BlockCoster`, the golden
//! encoder's prices, which the RTL coder is co-simulated against). The packer's handshakes
//! read only committed bits (whole blocks), so the length of each step is not needed.

use cbnn::codec::BlockCost;
use cbnn::hw::codec_geom::CodecGeom;
use cbnn::hw::descriptor::{StreamCodec, CODEC_AUTO, CODEC_DCT, CODEC_GOLOMB};

#[derive(Clone, Copy, Debug)]
pub struct EncoderShape {
    /// Bits of a beat (`8 P`).
    pub beat_bits: u32,
    /// A block's head step enters the packer only when at most this many bits are committed
    /// (before the cycle's beat): the buffer minus the longest block.
    pub head_room: u32,
    /// The last cycle of stage A's analysis of a block (`a_end`): 0 for blocks that need no
    /// coefficient pipeline, `n_ser + 3` for dct and auto tensors (`n_ser = keep`) and golomb
    /// tensors (`n_ser = N`).
    pub a_end: u32,
    /// Bits of the check byte that ends a record (SPEC 8.9), 0 without the record check.
    pub check_bits: u32,
}

impl EncoderShape {
    pub fn new(g: &CodecGeom, c: &StreamCodec) -> Self {
        let hdr_on = c.mode == CODEC_AUTO && c.bits != 1;
        let n_ser = if c.bits == 1 {
            None
        } else if hdr_on || c.mode == CODEC_DCT {
            Some(c.keep)
        } else if c.mode == CODEC_GOLOMB {
            Some(g.block as u32)
        } else {
            None
        };
        EncoderShape {
            beat_bits: 8 * g.port_bytes as u32,
            head_room: (g.buffer_bits() - g.block_bits - g.check_bits()) as u32,
            a_end: n_ser.map_or(0, |n| n + 3),
            check_bits: g.check_bits() as u32,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Encoder {
    a_valid: bool,
    a_t: u32,
    a_cost: BlockCost,
    a_last: bool,
    /// Fields of the block in E not yet moved to S.
    e_left: u32,
    e_last: bool,
    e_bits: u32,
    s_valid: bool,
    s_head: bool,
    s_end: bool,
    s_rec: bool,
    /// The block's length, carried by its last step (it commits the block).
    s_bits: u32,
    cfill: u32,
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
    fn cfill_e(&self, emit: bool, o: &EncOut, s: &EncoderShape) -> u32 {
        match (emit, o.last) {
            (false, _) => self.cfill,
            (true, true) => 0,
            (true, false) => self.cfill - s.beat_bits,
        }
    }

    /// The packer takes the step in S.
    fn s_acc(&self, s: &EncoderShape) -> bool {
        self.s_valid && !self.eflush && (!self.s_head || self.cfill <= s.head_room)
    }

    /// Stage A hands its block to E and S.
    fn hand(&self, s: &EncoderShape) -> bool {
        let s_adv = !self.s_valid || self.s_acc(s);
        self.a_valid && self.a_t == s.a_end && s_adv && self.e_left == 0
    }

    pub fn in_ready(&self, s: &EncoderShape) -> bool {
        !self.a_valid || self.hand(s)
    }

    pub fn out(&self, s: &EncoderShape) -> EncOut {
        let last = self.eflush && self.cfill <= s.beat_bits;
        EncOut {
            valid: if self.eflush { self.cfill != 0 } else { self.cfill >= s.beat_bits },
            nbytes: if last { self.cfill / 8 } else { s.beat_bits / 8 },
            last,
        }
    }

    pub fn idle(&self) -> bool {
        !self.a_valid && !self.s_valid && self.e_left == 0 && !self.eflush && self.cfill == 0
    }

    /// The clock edge: `take` a block of `cost` (`last` ends its record); `out_ready`
    /// the stream's.
    pub fn clock(&mut self, take: Option<(BlockCost, bool)>, out_ready: bool, s: &EncoderShape) {
        let q = self.clone();
        let o = q.out(s);
        let emit = o.valid && out_ready;
        let s_acc = q.s_acc(s);
        let s_adv = !q.s_valid || s_acc;
        let hand = q.hand(s);
        let cfill_e = q.cfill_e(emit, &o, s);
        // Stage A.
        if let Some((cost, last)) = take {
            self.a_valid = true;
            self.a_t = 0;
            self.a_cost = cost;
            self.a_last = last;
        } else {
            if hand {
                self.a_valid = false;
            }
            if q.a_valid && q.a_t != s.a_end {
                self.a_t += 1;
            }
        }
        // E and S.
        if s_adv && q.e_left != 0 {
            let end = q.e_left == 1;
            (self.s_valid, self.s_head, self.s_end, self.s_rec, self.s_bits) =
                (true, false, end, q.e_last && end, q.e_bits);
            self.e_left -= 1;
        } else if hand {
            let end = q.a_cost.eg_fields == 0;
            (self.s_valid, self.s_head, self.s_end, self.s_rec, self.s_bits) =
                (true, true, end, q.a_last && end, q.a_cost.bits);
            (self.e_left, self.e_last, self.e_bits) = (q.a_cost.eg_fields, q.a_last, q.a_cost.bits);
        } else if s_acc {
            self.s_valid = false;
        }
        // Packer: a block's bits count once its last step is in.
        self.cfill = if s_acc && q.s_end {
            let f = cfill_e + q.s_bits;
            if q.s_rec {
                f.next_multiple_of(8) + s.check_bits
            } else {
                f
            }
        } else {
            cfill_e
        };
        if s_acc && q.s_rec {
            self.eflush = true;
        } else if emit && o.last {
            self.eflush = false;
        }
        if emit {
            self.bytes += o.nbytes as u64;
        }
    }
}
