//! SLBF and PENNI layers on the core (docs/ARCHITECTURE.md, section 10): the geometry of the
//! grouped stage 1 (which chunk, array row and lanes a run reads, which weights it uses) and
//! the weight words of the shared bank. The combine stage's entries are in `hw::combine`.
//!
//! Both methods are a grouped convolution with one bank of filters shared by every group of
//! input channels, followed by a sparse sum per output filter:
//! - slbf: `m` groups (slices) of `d` channels, a bank of `n` filters of `d x K x K`;
//! - penni: `C_in` groups of one channel, a bank of `d` basis kernels of `K x K`.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::config::AccelConfig;
use crate::quant::QWeights;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Method {
    Slbf,
    Penni,
}

/// The stage-1 geometry of a grouped layer on a core.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Grouped {
    pub method: Method,
    /// Input channels per group (slbf: `d`; penni: 1).
    pub gs: u32,
    /// Groups (slbf: `m` slices; penni: `C_in`).
    pub n_groups: u32,
    /// Filters of the shared bank (slbf: `n`; penni: `d` basis kernels), `C` per bank tile.
    pub bank: u32,
    pub bank_tiles: u32,
    /// `gs <= L`: a group lies inside one chunk; a run uses the array row holding it and the
    /// row control shifts the chunk down by the group's lane offset. Otherwise a group is
    /// `gs / (R*L)` whole chunk groups and a run uses every row.
    pub sub_chunk: bool,
    /// Chunk groups a run steps through per tap.
    pub run_groups: u32,
    /// Weight words per column bank of one bank tile: `K*K * run_groups * R`.
    pub tile_words: u32,
    /// The kernel size `K`.
    pub kernel: u32,
}

/// Where group `g`'s channels sit in the activation buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupPos {
    /// Address offset of the group's first chunk group within a pixel's words (a multiple of
    /// `planes`).
    pub base: u32,
    /// The array row holding the group (sub-chunk groups; 0 otherwise).
    pub row: u32,
    /// Lane of the group's first channel in its chunk (sub-chunk groups; 0 otherwise).
    pub lane: u32,
}

impl Grouped {
    /// The grouped geometry of a layer with weights `w`, or `None` for conv and fc layers; an
    /// error when the slice width does not suit the array (naming the layer).
    pub fn new(name: &str, w: &QWeights, c_in: u32, kernel: u32, cfg: &AccelConfig) -> Result<Option<Self>> {
        let (method, gs, n_groups, bank) = match w {
            QWeights::Slbf { n, d, m, .. } => (Method::Slbf, *d as u32, *m as u32, *n as u32),
            QWeights::Penni { d, .. } => (Method::Penni, 1, c_in, *d as u32),
            _ => return Ok(None),
        };
        let (r, c, l) = (cfg.array.rows, cfg.array.cols, cfg.array.lanes);
        if !cfg.combine.enabled {
            bail!("layer {name}: the core has no combine stage for slbf and penni layers (set combine.enabled = true in the accelerator config)");
        }
        if method == Method::Penni && !cfg.combine.penni {
            bail!("layer {name}: penni layers need the combine stage's multipliers (set combine.penni = true in the accelerator config)");
        }
        let sub_chunk = gs <= l;
        if sub_chunk && !l.is_multiple_of(gs) {
            bail!("layer {name}: slices of d = {gs} channels must divide array.lanes = {l} or be a multiple of array.rows * array.lanes = {}", r * l);
        }
        if !sub_chunk && !gs.is_multiple_of(r * l) {
            bail!("layer {name}: slices of d = {gs} channels must divide array.lanes = {l} or be a multiple of array.rows * array.lanes = {}", r * l);
        }
        let run_groups = if sub_chunk { 1 } else { gs / (r * l) };
        Ok(Some(Grouped {
            method,
            gs,
            n_groups,
            bank,
            bank_tiles: bank.div_ceil(c),
            sub_chunk,
            run_groups,
            tile_words: kernel * kernel * run_groups * r,
            kernel,
        }))
    }

    /// Runs per output row: one per group and bank tile.
    pub fn runs(&self) -> u32 {
        self.n_groups * self.bank_tiles
    }

    pub fn pos(&self, g: u32, planes: u32, cfg: &AccelConfig) -> GroupPos {
        let (r, l) = (cfg.array.rows, cfg.array.lanes);
        if self.sub_chunk {
            let chunk = g * self.gs / l;
            GroupPos { base: chunk / r * planes, row: chunk % r, lane: g * self.gs % l }
        } else {
            GroupPos { base: g * self.run_groups * planes, row: 0, lane: 0 }
        }
    }

    /// The weight word of array row `r`, column `col` at step `s` of a run of bank tile `b`:
    /// bank filter `b*C + col` at tap `s / run_groups`; sub-chunk groups hold the group's
    /// channels in lanes `0..gs` of every row (the row control shifts the chunk to match),
    /// whole-chunk groups channel `(cg*R + r)*L + l` of the group in lane `l`. Filters past
    /// the bank are 0 (their maps are never combined).
    pub fn weight_word(&self, w: &QWeights, cfg: &AccelConfig, b: u32, s: u32, r: u32, col: u32) -> u128 {
        let (rows, lanes) = (cfg.array.rows, cfg.array.lanes);
        let j = b * cfg.array.cols + col;
        if j >= self.bank {
            return 0;
        }
        let (tap, cg) = (s / self.run_groups, s % self.run_groups);
        let kk = (self.kernel * self.kernel) as usize;
        // The ±1 bank: slbf [n, d, K, K], penni [d, K, K] (one channel).
        let bit = |ch: u32| -> bool {
            match w {
                QWeights::Slbf { bank, d, .. } => bank[(j as usize * d + ch as usize) * kk + tap as usize] > 0,
                QWeights::Penni { basis, .. } => basis[j as usize * kk + tap as usize] > 0,
                _ => unreachable!("grouped layers are slbf or penni"),
            }
        };
        let mut word = 0u128;
        for l in 0..lanes {
            let ch = if self.sub_chunk { l } else { (cg * rows + r) * lanes + l };
            if ch < self.gs && bit(ch) {
                word |= 1 << l;
            }
        }
        word
    }

    /// The bank's weight words on the weight stream: for each bank tile, step, array row and
    /// column (word `i` lands in column bank `i mod C` at address `i div C`, so bank tile `b`
    /// starts at address `b * tile_words`).
    pub fn weight_stream(&self, w: &QWeights, cfg: &AccelConfig) -> Vec<u128> {
        let steps = self.tile_words / cfg.array.rows;
        let mut v = Vec::with_capacity((self.bank_tiles * self.tile_words * cfg.array.cols) as usize);
        for b in 0..self.bank_tiles {
            for s in 0..steps {
                for r in 0..cfg.array.rows {
                    for col in 0..cfg.array.cols {
                        v.push(self.weight_word(w, cfg, b, s, r, col));
                    }
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slbf(n: usize, d: usize, m: usize) -> QWeights {
        QWeights::Slbf { bank: vec![1; n * d * 9], n, d, index: vec![0; 4 * m], m }
    }

    fn cfg(rows: u32, lanes: u32) -> AccelConfig {
        let mut c = AccelConfig::default();
        c.array.rows = rows;
        c.array.lanes = lanes;
        c.combine.enabled = true;
        c.combine.penni = true;
        c
    }

    #[test]
    fn slices_inside_a_chunk_pick_a_row_and_a_lane_offset() {
        // R = 2, L = 32, d = 8: slice g is chunk g/4, lanes (g%4)*8..; chunk 0 row 0, chunk 1 row 1,
        // chunk 2 row 0 of the next chunk group (address + planes).
        let c = cfg(2, 32);
        let g = Grouped::new("s", &slbf(20, 8, 12), 96, 3, &c).unwrap().unwrap();
        assert!(g.sub_chunk);
        assert_eq!((g.run_groups, g.bank_tiles, g.tile_words), (1, 3, 18));
        assert_eq!(g.pos(5, 4, &c), GroupPos { base: 0, row: 1, lane: 8 });
        assert_eq!(g.pos(9, 4, &c), GroupPos { base: 4, row: 0, lane: 8 });
    }

    #[test]
    fn wide_slices_are_whole_chunk_groups() {
        let c = cfg(2, 8);
        let g = Grouped::new("s", &slbf(4, 32, 3), 96, 3, &c).unwrap().unwrap();
        assert!(!g.sub_chunk);
        assert_eq!((g.run_groups, g.tile_words), (2, 36));
        assert_eq!(g.pos(2, 3, &c), GroupPos { base: 12, row: 0, lane: 0 });
        let e = Grouped::new("s", &slbf(4, 24, 4), 96, 3, &c).unwrap_err().to_string();
        assert!(e.contains("d = 24") && e.contains("array.lanes = 8") && e.contains("= 16"), "{e}");
    }

    #[test]
    fn a_core_without_the_combine_stage_names_the_key() {
        let mut c = cfg(2, 32);
        c.combine.penni = false;
        let p = QWeights::Penni { basis: vec![1; 9], d: 1, coef: vec![1; 4] };
        let e = Grouped::new("p", &p, 1, 3, &c).unwrap_err().to_string();
        assert!(e.contains("combine.penni = true"), "{e}");
        c.combine.enabled = false;
        let e = Grouped::new("s", &slbf(4, 8, 1), 8, 3, &c).unwrap_err().to_string();
        assert!(e.contains("combine.enabled = true") && e.starts_with("layer s"), "{e}");
    }
}
