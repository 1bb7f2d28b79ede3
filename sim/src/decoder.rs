//! The codec decoder's control (`hdl/src/codec/decoder.rs`): the shift buffer's fill in bits,
//! the record-end handling, the parse and output stages and the block walker (per row: segments
//! of `S` channels, pixels, blocks). The parser's only effect on timing is the length of the
//! block it parses, which the datapath supplies (the golden encoder's block lengths of the
//! stored records).

use cbnn::codec::BlockCost;
use cbnn::hw::codec_geom::CodecGeom;
use cbnn::hw::descriptor::{StreamCodec, CODEC_AUTO, CODEC_DCT, CODEC_GOLOMB, CODEC_SPARSE};

#[derive(Clone, Copy, Debug)]
pub struct DecoderShape {
    pub block: u32,
    pub segment: u32,
    pub t_ch: u32,
    pub t_w: u32,
    pub buffer_bits: u32,
    pub beat_bits: u32,
    /// Bits the buffer must hold before a block is parsed (the longest block of the mode).
    pub need: u32,
}

impl DecoderShape {
    pub fn new(g: &CodecGeom, c: &StreamCodec, t_ch: u32, t_w: u32) -> Self {
        let n = g.block as u32;
        let hdr_on = c.mode == CODEC_AUTO && c.bits != 1;
        let need = if hdr_on || c.mode == CODEC_DCT {
            g.block_bits as u32
        } else if c.mode == CODEC_SPARSE {
            (c.bits + 1) * n
        } else if c.mode == CODEC_GOLOMB {
            16 * n
        } else {
            c.bits * n
        };
        DecoderShape {
            block: n,
            segment: g.segment as u32,
            t_ch,
            t_w,
            buffer_bits: g.buffer_bits() as u32,
            beat_bits: 8 * g.port_bytes as u32,
            need,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Decoder {
    dfill: u32,
    dlast: bool,
    dskip: bool,
    p_valid: bool,
    out_valid: bool,
    wk_ch: u32,
    wk_seg0: u32,
    wk_x: u32,
    /// Bytes taken since `start`.
    pub bytes: u64,
}

impl Decoder {
    pub fn in_ready(&self, s: &DecoderShape) -> bool {
        !self.dlast && (self.dskip || self.dfill <= s.buffer_bits - s.beat_bits)
    }

    pub fn out_valid(&self) -> bool {
        self.out_valid
    }

    fn p_free(&self, out_ready: bool) -> bool {
        !self.p_valid || !self.out_valid || out_ready
    }

    /// A block is parsed this cycle.
    pub fn fire(&self, out_ready: bool, s: &DecoderShape) -> bool {
        self.p_free(out_ready) && !self.dskip && (self.dlast || self.dfill >= s.need)
    }

    fn walker_end(&self, s: &DecoderShape) -> u32 {
        (self.wk_seg0 + s.segment).min(s.t_ch)
    }

    /// The clock edge: `take` a beat of `(nbytes, last)`; `head` is the cost of the
    /// block at the head of the buffer (parsed if `fire`).
    pub fn clock(&mut self, take: Option<(u32, bool)>, out_ready: bool, head: BlockCost, s: &DecoderShape) {
        let q = self.clone();
        let fire = q.fire(out_ready, s);
        let o_adv = !q.out_valid || out_ready;
        let wk_end = q.walker_end(s);
        let wk_n = (wk_end - q.wk_ch).min(s.block);
        let wk_blk_last = q.wk_ch + wk_n == wk_end;
        let rec_end = fire && wk_blk_last && q.wk_x + 1 == s.t_w;
        let fill_s = if fire { q.dfill.saturating_sub(head.bits) } else { q.dfill };
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
        if q.p_free(out_ready) {
            self.p_valid = fire;
        }
        if o_adv {
            self.out_valid = q.p_valid;
        }
        if fire {
            if !wk_blk_last {
                self.wk_ch = q.wk_ch + wk_n;
            } else if q.wk_x + 1 != s.t_w {
                self.wk_ch = q.wk_seg0;
                self.wk_x = q.wk_x + 1;
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
}
