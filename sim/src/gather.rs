//! The gather stage's control (`hdl/src/blocks/gather.rs`): result beats (`G_hw` per pixel) collected
//! into one pixel register while the previous pixel leaves for the encoder a block per cycle.
//! Counts and flags only; which values a block holds is known to the datapath.

#[derive(Clone, Copy, Debug)]
pub struct GatherLayer {
    /// Columns `C`, columns per PPU `G_hw`, values per block `N`.
    pub cols: u32,
    pub g_hw: u32,
    pub block: u32,
    pub w_out: u32,
    pub band_out_rows: u32,
    pub h_out: u32,
    pub filter_tiles: u32,
    pub c_out: u32,
    /// A grouped layer: every row drains its tiles in turn.
    pub grouped: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Gather {
    col_full: bool,
    col_last: bool,
    col_len: u32,
    em_valid: bool,
    em_last: bool,
    em_left: u32,
    cnt: u32,
    x: u32,
    yb: u32,
    y0: u32,
    tile: u32,
    ch0: u32,
}

/// The block offered to the encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatherOut {
    pub valid: bool,
    pub n: u32,
    pub last: bool,
}

impl Gather {
    fn em_done(&self, out_ready: bool, s: &GatherLayer) -> bool {
        out_ready && self.em_left <= s.block
    }

    fn moving(&self, out_ready: bool, s: &GatherLayer) -> bool {
        self.col_full && (!self.em_valid || self.em_done(out_ready, s))
    }

    pub fn in_ready(&self, out_ready: bool, s: &GatherLayer) -> bool {
        !self.col_full || self.moving(out_ready, s)
    }

    pub fn out(&self, s: &GatherLayer) -> GatherOut {
        GatherOut { valid: self.em_valid, n: self.em_left.min(s.block), last: self.em_last && self.em_left <= s.block }
    }

    pub fn busy(&self) -> bool {
        self.col_full || self.em_valid || self.cnt != 0
    }

    /// The clock edge: `take` is a beat accepted from the drain, `out_ready` the encoder's.
    pub fn clock(&mut self, take: bool, out_ready: bool, s: &GatherLayer) {
        let q = self.clone();
        let mv = q.moving(out_ready, s);
        let px_done = take && q.cnt == s.g_hw - 1;
        if take {
            self.cnt = if q.cnt == s.g_hw - 1 { 0 } else { q.cnt + 1 };
        }
        if px_done {
            self.col_len = (s.c_out - q.ch0).min(s.cols);
            let row_last = q.x + 1 == s.w_out;
            self.col_last = row_last;
            if !row_last {
                self.x = q.x + 1;
            } else {
                self.x = 0;
                let band_done = q.yb + 1 == s.band_out_rows || q.y0 + q.yb + 1 == s.h_out;
                if s.grouped {
                    // Every row drains its tiles in turn.
                    self.tile = if q.tile + 1 != s.filter_tiles { q.tile + 1 } else { 0 };
                    self.ch0 = self.tile * s.cols;
                } else if !band_done {
                    self.yb = q.yb + 1;
                } else {
                    self.yb = 0;
                    if q.tile + 1 != s.filter_tiles {
                        self.tile = q.tile + 1;
                        self.ch0 = q.ch0 + s.cols;
                    } else {
                        self.tile = 0;
                        self.ch0 = 0;
                        self.y0 = q.y0 + s.band_out_rows;
                    }
                }
            }
        }
        self.col_full = px_done || (q.col_full && !mv);
        if mv {
            self.em_left = q.col_len;
            self.em_last = q.col_last;
            self.em_valid = true;
        } else if q.em_valid && out_ready {
            if q.em_left <= s.block {
                self.em_valid = false;
            } else {
                self.em_left = q.em_left - s.block;
            }
        }
    }
}
