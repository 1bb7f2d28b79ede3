//! The codec decoder's control (`hdl/src/codec/decoder.rs`): the shift buffer's fill in bits,
//! the record-end handling, the parser's steps (a block's head step, then one step per
//! Exp-Golomb field), the pipeline stages F, A, collect and output, and the block walker (per
//! row: segments of `S` channels, pixels, blocks). The parser's only effects on timing are each
//! block's length and Exp-Golomb field count, which the datapath supplies (the golden encoder's
//! [`BlockCost`] of the stored records): the RTL counts the fill as at a block's first step
//! until the block ends, and a block's first step waits for the longest block of the mode, so
//! the lengths of the single fields never matter.

use cbnn::codec::BlockCost;
use cbnn::hw::codec_geom::CodecGeom;
use cbnn::hw::descriptor::StreamCodec;

#[derive(Clone, Copy, Debug)]
pub struct DecoderShape {
    pub block: u32,
    pub segment: u32,
    pub t_ch: u32,
    pub t_w: u32,
    pub buffer_bits: u32,
    pub beat_bits: u32,
    /// Bits the buffer must hold before a block's first step (`CodecGeom::decoder_need`).
    pub need: u32,
    /// Records end with a check byte (SPEC 8.9): a record's last block waits for its last beat.
    pub check: bool,
}

impl DecoderShape {
    pub fn new(g: &CodecGeom, c: &StreamCodec, t_ch: u32, t_w: u32) -> Self {
        let n = g.block as u32;
        let need = g.decoder_need(c.mode, c.bits);
        DecoderShape {
            block: n,
            segment: g.segment as u32,
            t_ch,
            t_w,
            buffer_bits: g.buffer_bits() as u32,
            beat_bits: 8 * g.port_bytes as u32,
            need,
            check: g.check,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Decoder {
    /// The buffer's fill as at the current block's first step (the RTL's `dfill + dcons`).
    dfill: u32,
    dlast: bool,
    dskip: bool,
    /// In a block's field steps: the fields left and the block's length.
    fph: bool,
    fields_left: u32,
    cur_bits: u32,
    /// Stages F and A (valid, and the step ends its block) and the collect register.
    f_valid: bool,
    f_done: bool,
    a_valid: bool,
    a_done: bool,
    c_full: bool,
    out_valid: bool,
    wk_ch: u32,
    wk_seg0: u32,
    wk_x: u32,
    /// Bytes taken since `start`.
    pub bytes: u64,
}

/// Which stages load this cycle: the collect register, stage A, stage F (the parser may step).
struct Loads {
    o_adv: bool,
    c_ok: bool,
    a_ok: bool,
    f_ok: bool,
}

impl Decoder {
    pub fn in_ready(&self, s: &DecoderShape) -> bool {
        !self.dlast && (self.dskip || self.dfill <= s.buffer_bits - s.beat_bits)
    }

    pub fn out_valid(&self) -> bool {
        self.out_valid
    }

    fn loads(&self, out_ready: bool) -> Loads {
        let o_adv = !self.out_valid || out_ready;
        let c_ok = !self.c_full || o_adv;
        let a_ok = !self.a_valid || c_ok;
        let f_ok = !self.f_valid || a_ok;
        Loads { o_adv, c_ok, a_ok, f_ok }
    }

    /// A block's head step this cycle (the block at the head of the buffer is taken: its
    /// [`BlockCost`] is the one passed to this cycle's [`Decoder::clock`]).
    pub fn fire(&self, out_ready: bool, s: &DecoderShape) -> bool {
        let wait = s.check && self.rec_last_block(s);
        self.loads(out_ready).f_ok && !self.fph && !self.dskip && (self.dlast || (self.dfill >= s.need && !wait))
    }

    /// Whether the walker's block is its record's last.
    fn rec_last_block(&self, s: &DecoderShape) -> bool {
        let wk_end = self.walker_end(s);
        let wk_n = (wk_end - self.wk_ch).min(s.block);
        self.wk_ch + wk_n == wk_end && self.wk_x + 1 == s.t_w
    }

    fn walker_end(&self, s: &DecoderShape) -> u32 {
        (self.wk_seg0 + s.segment).min(s.t_ch)
    }

    /// The clock edge: `take` a beat of `(nbytes, last)`; `head` is the cost of the block at the
    /// head of the buffer (its head step is taken if [`Decoder::fire`]).
    pub fn clock(&mut self, take: Option<(u32, bool)>, out_ready: bool, head: BlockCost, s: &DecoderShape) {
        let q = self.clone();
        let l = q.loads(out_ready);
        let fire_h = q.fire(out_ready, s);
        let fire_f = l.f_ok && q.fph;
        // The block ends with its head step (no fields) or its last field step.
        let (bdone, bits) =
            if fire_h { (head.eg_fields == 0, head.bits) } else { (fire_f && q.fields_left == 1, q.cur_bits) };
        let wk_end = q.walker_end(s);
        let wk_n = (wk_end - q.wk_ch).min(s.block);
        let wk_blk_last = q.wk_ch + wk_n == wk_end;
        let rec_end = bdone && q.rec_last_block(s);
        let fill_s = if bdone { q.dfill.saturating_sub(bits) } else { q.dfill };
        if let Some((nbytes, _)) = take {
            self.bytes += nbytes as u64;
        }
        if rec_end {
            self.dfill = 0;
            self.dlast = false;
            self.dskip = !q.dlast && !take.is_some_and(|(_, last)| last);
        } else if let (Some((nbytes, last)), false) = (take, q.dskip) {
            self.dfill = fill_s + 8 * nbytes;
            self.dlast = last;
        } else {
            self.dfill = fill_s;
            if take.is_some_and(|(_, last)| last) {
                self.dskip = false;
            }
        }
        if fire_h && head.eg_fields > 0 {
            (self.fph, self.fields_left, self.cur_bits) = (true, head.eg_fields, head.bits);
        } else if fire_f {
            self.fields_left = q.fields_left - 1;
            self.fph = self.fields_left > 0;
        }
        if l.f_ok {
            (self.f_valid, self.f_done) = (fire_h || fire_f, bdone);
        }
        if l.a_ok {
            (self.a_valid, self.a_done) = (q.f_valid, q.f_done);
        }
        if l.c_ok {
            self.c_full = q.a_valid && q.a_done;
        }
        if l.o_adv {
            self.out_valid = q.c_full;
        }
        if bdone {
            self.walk(wk_end, wk_n, wk_blk_last, s);
        }
    }

    /// The walker's step to the next block.
    fn walk(&mut self, wk_end: u32, wk_n: u32, wk_blk_last: bool, s: &DecoderShape) {
        if !wk_blk_last {
            self.wk_ch += wk_n;
        } else if self.wk_x + 1 != s.t_w {
            self.wk_ch = self.wk_seg0;
            self.wk_x += 1;
        } else if wk_end != s.t_ch {
            self.wk_x = 0;
            self.wk_seg0 = wk_end;
            self.wk_ch = wk_end;
        } else {
            self.wk_x = 0;
            self.wk_seg0 = 0;
            self.wk_ch = 0;
        }
    }
}
