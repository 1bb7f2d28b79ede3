//! The combine stage's program (docs/ARCHITECTURE.md, section 10): per combine lane, the
//! entries that add a stage-1 map into an output accumulator, in the order of the runs.
//!
//! Lane `l` owns the output filters `o = t*C + l` and an output accumulator of `F * W_out`
//! words (address `t*W_out + x`). For run `(g, b)` (group `g`, bank tile `b`) each lane walks its
//! entries of that run: entry `(a, j, coef)` adds `coef * acc[j][x]` into `oacc[a + x]` for every
//! pixel `x` of the row. The lanes of one run are padded to the same count with null entries, so
//! they advance together; the last entry of a run carries `last`. The first entry of each filter
//! in a row carries `init` and writes instead of adding, so no accumulator needs clearing; a
//! filter with no non-zero coefficient at all gets one entry with coefficient 0 in the first run.

use serde::Serialize;

use crate::config::AccelConfig;
use crate::quant::QWeights;

use super::grouped::Grouped;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub valid: bool,
    pub last: bool,
    /// The filter's first entry of the row: `oacc[a + x] = coef * acc[j][x]`.
    pub init: bool,
    /// The output accumulator's row address `t * W_out` of filter tile `t`.
    pub a: u32,
    /// The column (bank filter within the bank tile) whose map is added.
    pub j: u32,
    /// The coefficient (1 for slbf).
    pub coef: i32,
}

/// Words of each combine lane's output accumulator: every filter tile of the widest row a core
/// accepts (`ceil(limits.max_channels / C) * limits.max_width`).
pub fn oacc_words(cfg: &AccelConfig) -> u32 {
    cfg.limits.max_channels.div_ceil(cfg.array.cols) * cfg.limits.max_width
}

fn bits_for(max: u32) -> u32 {
    (32 - max.leading_zeros()).max(1)
}

/// The bit layout of an entry in the entry memory, least significant field first:
/// `coef` (only in cores with penni multipliers), `j`, `a`, `init`, `last`, `valid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct EntryFormat {
    pub coef_bits: u32,
    pub j_bits: u32,
    pub a_bits: u32,
}

impl EntryFormat {
    pub fn new(cfg: &AccelConfig) -> Self {
        EntryFormat {
            coef_bits: if cfg.combine.penni { cfg.datapath.coef_bits } else { 0 },
            j_bits: bits_for(cfg.array.cols - 1),
            a_bits: bits_for(oacc_words(cfg) - 1),
        }
    }

    pub fn bits(&self) -> u32 {
        self.coef_bits + self.j_bits + self.a_bits + 3
    }

    /// Weight-stream words per entry (`L` bits each, the entry's low bits first).
    pub fn words(&self, cfg: &AccelConfig) -> u32 {
        self.bits().div_ceil(cfg.array.lanes)
    }

    pub fn pack(&self, e: &Entry) -> u128 {
        let mut v = (e.valid as u128) << 2 | (e.last as u128) << 1 | e.init as u128;
        v = v << self.a_bits | e.a as u128;
        v = v << self.j_bits | e.j as u128;
        if self.coef_bits > 0 {
            v = v << self.coef_bits | (e.coef as u32 as u128 & ((1 << self.coef_bits) - 1));
        }
        v
    }

    /// The entry a memory word holds (the inverse of `pack`; the coefficient sign-extended, 1
    /// in a core without coefficients).
    pub fn unpack(&self, v: u128) -> Entry {
        let field = |lo: u32, bits: u32| ((v >> lo) & ((1u128 << bits) - 1)) as u32;
        let coef = if self.coef_bits > 0 {
            let raw = field(0, self.coef_bits) as i32;
            (raw << (32 - self.coef_bits)) >> (32 - self.coef_bits)
        } else {
            1
        };
        let lo = self.coef_bits + self.j_bits + self.a_bits;
        Entry {
            valid: field(lo + 2, 1) == 1,
            last: field(lo + 1, 1) == 1,
            init: field(lo, 1) == 1,
            a: field(self.coef_bits + self.j_bits, self.a_bits),
            j: field(self.coef_bits, self.j_bits),
            coef,
        }
    }
}

/// Entries each lane's memory holds (the largest power of two that fits its share of
/// `combine.entry_kib`, at most `descriptor::MAX_BANK_WORDS`).
pub fn entry_depth(cfg: &AccelConfig) -> u32 {
    let bits = EntryFormat::new(cfg).bits();
    let words = cfg.combine.entry_kib * 8192 / (cfg.array.cols * bits);
    if words == 0 {
        0
    } else {
        (1u32 << (31 - words.leading_zeros())).min(super::descriptor::MAX_BANK_WORDS)
    }
}

/// The entries of run `(g, b)` for each lane, before padding: lane `l` walks its filter tiles in
/// order, and within a filter the bank filters in order.
fn run_entries(w: &QWeights, gr: &Grouped, c_out: u32, w_out: u32, cols: u32, g: u32, b: u32) -> Vec<Vec<Entry>> {
    let tiles = c_out.div_ceil(cols);
    let lo = b * cols;
    let hi = (lo + cols).min(gr.bank);
    (0..cols)
        .map(|l| {
            let mut v = Vec::new();
            for t in 0..tiles {
                let o = t * cols + l;
                if o >= c_out {
                    break;
                }
                let entry =
                    |j: u32, coef: i32| Entry { valid: true, last: false, init: false, a: t * w_out, j: j - lo, coef };
                match w {
                    QWeights::Slbf { index, m, .. } => {
                        let j = index[o as usize * m + g as usize] as u32;
                        if (lo..hi).contains(&j) {
                            v.push(entry(j, 1));
                        }
                    }
                    QWeights::Penni { d, coef, .. } => {
                        let c_in = gr.n_groups as usize;
                        for j in lo..hi {
                            let cq = coef[(o as usize * c_in + g as usize) * d + j as usize];
                            if cq != 0 {
                                v.push(entry(j, cq));
                            }
                        }
                    }
                    _ => unreachable!("grouped layers are slbf or penni"),
                }
            }
            v
        })
        .collect()
}

/// Every run's entries per lane (`[run][lane]`), before padding, with `init` on each filter's
/// first entry and a zero entry in the first run for a filter that has none.
fn runs(w: &QWeights, gr: &Grouped, c_out: u32, w_out: u32, cols: u32) -> Vec<Vec<Vec<Entry>>> {
    let mut runs: Vec<Vec<Vec<Entry>>> = (0..gr.n_groups)
        .flat_map(|g| (0..gr.bank_tiles).map(move |b| (g, b)))
        .map(|(g, b)| run_entries(w, gr, c_out, w_out, cols, g, b))
        .collect();
    for lane in 0..cols {
        let mut seen = vec![false; c_out.div_ceil(cols) as usize];
        for run in runs.iter_mut() {
            for e in run[lane as usize].iter_mut() {
                let t = (e.a / w_out) as usize;
                e.init = !seen[t];
                seen[t] = true;
            }
        }
        for (t, _) in seen.iter().enumerate().filter(|(t, &s)| !s && (*t as u32) * cols + lane < c_out) {
            assert!(matches!(w, QWeights::Penni { .. }), "every slbf filter has an entry per slice");
            let zero = Entry { valid: true, last: false, init: true, a: t as u32 * w_out, j: 0, coef: 0 };
            runs[0][lane as usize].push(zero);
        }
    }
    runs
}

/// Entries per run `(g, b)` (index `g * bank_tiles + b`): the longest lane's, at least 1 (a
/// run with nothing to add still ends with a `last` entry).
pub fn run_lengths(w: &QWeights, gr: &Grouped, c_out: u32, w_out: u32, cfg: &AccelConfig) -> Vec<u32> {
    runs(w, gr, c_out, w_out, cfg.array.cols)
        .iter()
        .map(|lanes| lanes.iter().map(|e| e.len() as u32).max().unwrap_or(0).max(1))
        .collect()
}

/// Each lane's entry memory image: the runs in order, every lane padded to the run's length
/// with null entries, `last` on the run's final entry.
pub fn lane_entries(w: &QWeights, gr: &Grouped, c_out: u32, w_out: u32, cfg: &AccelConfig) -> Vec<Vec<Entry>> {
    let cols = cfg.array.cols;
    let mut lanes: Vec<Vec<Entry>> = vec![Vec::new(); cols as usize];
    for run in runs(w, gr, c_out, w_out, cols) {
        let len = run.iter().map(|e| e.len()).max().unwrap_or(0).max(1);
        for (lane, mut e) in lanes.iter_mut().zip(run) {
            e.resize(len, Entry::default());
            e[len - 1].last = true;
            lane.extend(e);
        }
    }
    lanes
}

/// The entries on the weight stream: entry `i` of the interleaved lanes (lane `i mod C`, address
/// `i div C`) as `EntryFormat::words` words of `L` bits, low bits first.
pub fn entry_stream(lanes: &[Vec<Entry>], cfg: &AccelConfig) -> Vec<u128> {
    let f = EntryFormat::new(cfg);
    let (words, l) = (f.words(cfg), cfg.array.lanes);
    let depth = lanes.first().map_or(0, |v| v.len());
    let mask = if l >= 128 { u128::MAX } else { (1u128 << l) - 1 };
    let mut v = Vec::with_capacity(depth * lanes.len() * words as usize);
    for a in 0..depth {
        for lane in lanes {
            let packed = f.pack(&lane[a]);
            for k in 0..words {
                v.push((packed >> (k * l)) & mask);
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> AccelConfig {
        let mut c = AccelConfig::default();
        c.array.cols = 4;
        c.combine.enabled = true;
        c.combine.penni = true;
        c
    }

    /// Every (filter, slice) of an slbf layer appears exactly once, in the lane and run of its
    /// filter and bank filter, and every run's lanes are equally long.
    #[test]
    fn slbf_entries_cover_every_filter_and_slice_once() {
        let c = cfg();
        let (n, d, m, o) = (6usize, 8usize, 3usize, 10u32);
        let index: Vec<usize> = (0..o as usize * m).map(|i| (i * 7 + 3) % n).collect();
        let w = QWeights::Slbf { bank: vec![1; n * d * 9], n, d, index: index.clone(), m };
        let gr = Grouped::new("s", &w, (m * d) as u32, 3, &c).unwrap().unwrap();
        let lanes = lane_entries(&w, &gr, o, 5, &c);
        let lengths = run_lengths(&w, &gr, o, 5, &c);
        assert_eq!(lengths.len(), m * 2);
        assert!(lanes.iter().all(|l| l.len() as u32 == lengths.iter().sum::<u32>()));
        let mut seen = vec![0; o as usize * m];
        let mut pos = 0;
        for (run, &len) in lengths.iter().enumerate() {
            let (g, b) = (run as u32 / 2, run as u32 % 2);
            for (lane, entries) in lanes.iter().enumerate() {
                let es = &entries[pos..pos + len as usize];
                assert!(es[..len as usize - 1].iter().all(|e| !e.last) && es[len as usize - 1].last);
                for e in es.iter().filter(|e| e.valid) {
                    let f = e.a / 5 * 4 + lane as u32;
                    assert_eq!(index[(f * m as u32 + g) as usize] as u32, b * 4 + e.j);
                    assert_eq!(e.coef, 1);
                    seen[(f * m as u32 + g) as usize] += 1;
                }
            }
            pos += len as usize;
        }
        assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
    }

    /// Zero coefficients have no entry: a run's length is its densest lane's non-zeros.
    #[test]
    fn penni_entries_skip_zero_coefficients() {
        let c = cfg();
        let (ci, d, o) = (2usize, 3usize, 4usize);
        let mut coef = vec![0i32; o * ci * d];
        coef[(2 * ci + 1) * d] = -5; // filter 2, channel 1, basis 0
        coef[(2 * ci + 1) * d + 2] = 7; // filter 2, channel 1, basis 2
        let w = QWeights::Penni { basis: vec![1; d * 9], d, coef };
        let gr = Grouped::new("p", &w, ci as u32, 3, &c).unwrap().unwrap();
        // Filters 0, 1 and 3 have no coefficient: one zero entry each in the first run.
        assert_eq!(run_lengths(&w, &gr, o as u32, 6, &c), vec![1, 2]);
        let lanes = lane_entries(&w, &gr, o as u32, 6, &c);
        let e = &lanes[2][1..3];
        assert_eq!((e[0].j, e[0].coef, e[0].a, e[0].last, e[0].init), (0, -5, 0, false, true));
        assert_eq!((e[1].j, e[1].coef, e[1].last, e[1].init), (2, 7, true, false));
        assert!(!lanes[2][0].valid);
        for l in [0, 1, 3] {
            let z = lanes[l][0];
            assert!(z.valid && z.init && z.coef == 0 && z.last, "{z:?}");
            assert!(!lanes[l][1].valid && !lanes[l][2].valid && lanes[l][2].last);
        }
    }

    #[test]
    fn entries_pack_into_lane_words_low_bits_first() {
        let mut c = cfg();
        c.array.lanes = 8;
        let f = EntryFormat::new(&c);
        // coef 8 bits, j 2 bits (4 columns), a: ceil(256/4) * 32 = 2048 words -> 11 bits.
        assert_eq!((f.coef_bits, f.j_bits, f.a_bits, f.bits(), f.words(&c)), (8, 2, 11, 24, 3));
        let e = Entry { valid: true, last: false, init: true, a: 0x5a5, j: 3, coef: -2 };
        let packed = f.pack(&e);
        assert_eq!(packed & 0xff, 0xfe);
        assert_eq!((packed >> 8) & 3, 3);
        assert_eq!((packed >> 10) & 0x7ff, 0x5a5);
        assert_eq!(packed >> 21, 0b101);
        let words = entry_stream(&[vec![e]], &c);
        assert_eq!(words.len(), 3);
        assert_eq!(words[0] | words[1] << 8 | words[2] << 16, packed);
        assert_eq!(f.unpack(packed), e);
    }
}
