//! The activation loader's control (`hdl/src/blocks/act_loader.rs`): where the next beat goes in the
//! stream (blocks of a segment, pixels, segments, rows), when a buffer word is complete, and the
//! writer that spends one cycle per bit-plane on it. `in_ready` and `busy` are the RTL's
//! expressions over these registers; the beat's values are written by the datapath.

#[derive(Clone, Copy, Debug)]
pub struct LoaderShape {
    /// Lanes `L`, values per beat `B`, channels per segment `S`.
    pub lanes: u32,
    pub beat: u32,
    pub segment: u32,
    /// Channels as the core sees them, and the streamed tensor's channels and width.
    pub c_in: u32,
    pub t_ch: u32,
    pub t_w: u32,
    pub fc: bool,
    pub planes: u32,
}

#[derive(Clone, Debug, Default)]
pub struct ActLoader {
    tch: u32,
    seg_c0: u32,
    x: u32,
    fc_ch: u32,
    cur_valid: bool,
    cur_done: bool,
    pend_valid: bool,
    pend_b: u32,
}

/// The head beat's geometry (the RTL's wires of the same names).
struct Head {
    n: u32,
    end_px: bool,
    blk_last: bool,
    spill: bool,
    done: bool,
    seg_end: u32,
}

impl ActLoader {
    fn head(&self, s: &LoaderShape) -> Head {
        let seg_end = (self.seg_c0 + s.segment).min(s.t_ch);
        let n = (seg_end - self.tch).min(s.beat);
        let ch0 = if s.fc { self.fc_ch } else { self.tch };
        let l_end = ch0 % s.lanes + n;
        let end_px = ch0 + n == s.c_in;
        let blk_last = self.tch + n == seg_end;
        let full = l_end >= s.lanes;
        Head { n, end_px, blk_last, spill: l_end > s.lanes, done: full || end_px || (!s.fc && blk_last), seg_end }
    }

    fn pend_free(&self, s: &LoaderShape) -> bool {
        !self.pend_valid || self.pend_b + 1 == s.planes
    }

    pub fn in_ready(&self, s: &LoaderShape) -> bool {
        !self.cur_done && (self.pend_free(s) || !self.head(s).done)
    }

    pub fn busy(&self) -> bool {
        self.cur_valid || self.pend_valid
    }

    /// The clock edge: `start` rewinds to the band's first pixel; `take` is a beat accepted.
    pub fn clock(&mut self, start: bool, take: bool, s: &LoaderShape) {
        if start {
            *self = ActLoader::default();
            return;
        }
        let q = self.clone();
        let h = q.head(s);
        let pend_free = q.pend_free(s);
        if q.pend_valid {
            if q.pend_b + 1 == s.planes {
                self.pend_valid = false;
            } else {
                self.pend_b = q.pend_b + 1;
            }
        }
        if q.cur_done && pend_free {
            self.pend_valid = true;
            self.pend_b = 0;
            self.cur_valid = false;
            self.cur_done = false;
        }
        if take {
            if h.done {
                self.pend_valid = true;
                self.pend_b = 0;
                self.cur_valid = h.spill;
                self.cur_done = h.spill && h.end_px;
            } else {
                self.cur_valid = true;
            }
            self.fc_ch = q.fc_ch + h.n;
            if !h.blk_last {
                self.tch = q.tch + h.n;
            } else if q.x + 1 != s.t_w {
                self.tch = q.seg_c0;
                self.x = q.x + 1;
            } else if h.seg_end != s.t_ch {
                self.x = 0;
                self.seg_c0 = h.seg_end;
                self.tch = h.seg_end;
            } else {
                self.x = 0;
                self.seg_c0 = 0;
                self.tch = 0;
            }
        }
    }
}
