//! The single place where a block's mode is chosen and every mode is priced (SPEC 8.4, 8.6,
//! 8.8), and where quantised symbols become values again. The encoder writes what
//! [`Planner::plan`] decides, `reconstruct` applies the same decision, and the decoder and
//! `reconstruct` both rebuild values with [`Planner::dequantise`], so none of them can disagree
//! about which blocks are lossy or what they decode to.

use super::bits::exp_golomb_len;
use super::dct::{quantised_coefficients, reconstruct_coefficients, DctMatrix, MAX_N};
use super::golomb::{dequantise_value, max_value_q, quantise_value};
use super::{BlockMode, CodecParams};

/// The decision for one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockPlan {
    pub mode: BlockMode,
    /// Payload length in bits, without the 2-bit auto header.
    pub cost: u64,
    /// The quantised symbols when `mode` is quantised ([`BlockMode::is_quantised`]): the dct
    /// coefficients `Xq` (entries `keep..` are 0) or the golomb values `q` (entries `n..` are 0).
    pub symbols: [i64; MAX_N],
}

/// Per-tensor state for planning blocks: the parameters and the dct matrix, built once.
#[derive(Clone, Debug)]
pub(crate) struct Planner {
    bits: u32,
    params: CodecParams,
    matrix: DctMatrix,
    fixed: Option<BlockMode>,
}

impl Planner {
    /// `params` must already be valid for `bits` (`CodecParams::validate`).
    pub fn new(bits: u32, params: &CodecParams) -> Self {
        Planner { bits, params: *params, matrix: DctMatrix::new(params.block), fixed: params.fixed_block_mode(bits) }
    }

    #[cfg(test)]
    pub fn matrix(&self) -> &DctMatrix {
        &self.matrix
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// Whether every block starts with a 2-bit header (a real auto tensor, SPEC 8.4).
    pub fn has_headers(&self) -> bool {
        self.fixed.is_none()
    }

    /// The block mode of every block of a fixed-mode tensor, `None` for auto.
    pub fn fixed_mode(&self) -> Option<BlockMode> {
        self.fixed
    }

    /// Mode and payload cost of the block `v` (its `n` values). With a fixed tensor mode that
    /// mode is used; in auto mode every candidate is priced and the cheapest wins, ties going to
    /// the first of zero, sparse, raw, dct (SPEC 8.6; golomb is not a candidate).
    pub fn plan(&self, v: &[i32]) -> BlockPlan {
        let p = &self.params;
        let mut symbols = [0i64; MAX_N];
        let mut price_dct = || {
            symbols = quantised_coefficients(&self.matrix, v, p.step, p.keep);
            dct_cost(&symbols[..p.keep], p.eg_order)
        };
        let (mode, cost) = match self.fixed {
            Some(BlockMode::Dct) => (BlockMode::Dct, price_dct()),
            Some(BlockMode::Golomb) => {
                for (q, &x) in symbols.iter_mut().zip(v) {
                    *q = quantise_value(x, p.step);
                }
                (BlockMode::Golomb, golomb_cost(&symbols[..v.len()], p.eg_order))
            }
            Some(BlockMode::Sparse) => (BlockMode::Sparse, sparse_cost(v, self.bits)),
            Some(BlockMode::Raw) => (BlockMode::Raw, raw_cost(v.len(), self.bits)),
            Some(BlockMode::Zero) => unreachable!("zero is never a tensor mode"),
            None => {
                let candidates = [
                    (BlockMode::Zero, zero_cost(v)),
                    (BlockMode::Sparse, Some(sparse_cost(v, self.bits))),
                    (BlockMode::Raw, Some(raw_cost(v.len(), self.bits))),
                    (BlockMode::Dct, Some(price_dct())),
                ];
                let mut best: Option<(BlockMode, u64)> = None;
                for (m, c) in candidates {
                    if let Some(c) = c {
                        // Strictly cheaper only: an equal cost keeps the earlier mode.
                        if best.is_none_or(|(_, b)| c < b) {
                            best = Some((m, c));
                        }
                    }
                }
                best.expect("sparse and raw are always candidates")
            }
        };
        BlockPlan { mode, cost, symbols }
    }

    /// The values a block of quantised `mode` decodes to (SPEC 8.5 decoding, 8.8), all `N` of
    /// them; the caller keeps the first `n`.
    ///
    /// # Panics
    /// If `mode` is not quantised (a caller bug: those blocks hold their values as they are).
    pub fn dequantise(&self, mode: BlockMode, symbols: &[i64; MAX_N]) -> [i32; MAX_N] {
        let (step, bits) = (self.params.step, self.bits);
        match mode {
            BlockMode::Dct => reconstruct_coefficients(&self.matrix, symbols, step, bits),
            BlockMode::Golomb => symbols.map(|q| dequantise_value(q, step, bits)),
            _ => unreachable!("{mode:?} blocks are not quantised"),
        }
    }

    /// The largest golomb value `q` a valid stream holds (SPEC 8.8); the decoder rejects more.
    pub fn max_golomb_q(&self) -> i64 {
        max_value_q(self.params.step, self.bits)
    }
}

/// Zero mode: only when every value is 0, at no cost.
fn zero_cost(v: &[i32]) -> Option<u64> {
    v.iter().all(|&x| x == 0).then_some(0)
}

/// Sparse: `n` mask bits plus `k` bits per non-zero value.
fn sparse_cost(v: &[i32], bits: u32) -> u64 {
    let nnz = v.iter().filter(|&&x| x != 0).count() as u64;
    v.len() as u64 + bits as u64 * nnz
}

/// Raw: `n` values of `k` bits.
fn raw_cost(n: usize, bits: u32) -> u64 {
    n as u64 * bits as u64
}

/// Dct: `keep` mask bits, then per non-zero `Xq` its Exp-Golomb code of `|Xq| - 1` and a sign.
fn dct_cost(kept: &[i64], eg_order: u32) -> u64 {
    kept.len() as u64
        + kept
            .iter()
            .filter(|&&q| q != 0)
            .map(|&q| exp_golomb_len(q.unsigned_abs() - 1, eg_order) as u64 + 1)
            .sum::<u64>()
}

/// Golomb: `n` mask bits, then per non-zero `q` its Exp-Golomb code of `q - 1` (no sign: `q >= 0`).
fn golomb_cost(q: &[i64], eg_order: u32) -> u64 {
    q.len() as u64 + q.iter().filter(|&&q| q != 0).map(|&q| exp_golomb_len(q as u64 - 1, eg_order) as u64).sum::<u64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Mode;
    use crate::codec::RecordCheck;

    fn params(mode: Mode, block: usize) -> CodecParams {
        CodecParams { block, mode, step: 1, keep: block, eg_order: 2, segment: 64, check: RecordCheck::None }
    }

    #[test]
    fn costs_by_hand() {
        assert_eq!(zero_cost(&[0, 0, 0]), Some(0));
        assert_eq!(zero_cost(&[0, 1, 0]), None);
        assert_eq!(sparse_cost(&[0, 5, 0, 15], 4), 4 + 8);
        assert_eq!(raw_cost(4, 4), 16);
        // |Xq| - 1 = 19, 16, 9, 14 at order 2: 7, 7, 5, 7 bits, plus a sign bit each.
        assert_eq!(dct_cost(&[20, -17, 10, -15], 2), 4 + 8 + 8 + 6 + 8);
        assert_eq!(dct_cost(&[0, 0, 1], 0), 3 + 2);
        // q - 1 = 1, 49, 63 at order 0: 3, 11, 13 bits, no sign bits.
        assert_eq!(golomb_cost(&[0, 2, 50, 64], 0), 4 + 3 + 11 + 13);
        assert_eq!(golomb_cost(&[0, 0, 0], 3), 3);
    }

    #[test]
    fn golomb_is_fixed_never_auto() {
        let v = [0, 9, 200, 255];
        let pl = Planner::new(8, &CodecParams { step: 4, eg_order: 0, ..params(Mode::Golomb, 4) });
        assert!(!pl.has_headers());
        let p = pl.plan(&v);
        assert_eq!((p.mode, p.cost), (BlockMode::Golomb, 31));
        assert_eq!(&p.symbols[..4], &[0, 2, 50, 64]);
        assert_eq!(&pl.dequantise(BlockMode::Golomb, &p.symbols)[..4], &[0, 8, 200, 255]);
        assert_eq!(pl.max_golomb_q(), 64);
        // A short block leaves the symbols past n at 0.
        let p = pl.plan(&[7, 7]);
        assert_eq!((p.cost, &p.symbols[..3]), (2 + 3 + 3, &[2, 2, 0][..]));
        // Auto never picks golomb, even where golomb would be cheaper: at step 1, [0, 0, 0, 1]
        // is 4 + 1 bits as golomb (EG0(0) = 1) but 4 + 8 bits as sparse, auto's cheapest.
        let p1 = CodecParams { step: 1, eg_order: 0, ..params(Mode::Golomb, 4) };
        let auto = Planner::new(8, &CodecParams { mode: Mode::Auto, ..p1 });
        assert_eq!(Planner::new(8, &p1).plan(&[0, 0, 0, 1]).cost, 5);
        assert_eq!((auto.plan(&[0, 0, 0, 1]).mode, auto.plan(&[0, 0, 0, 1]).cost), (BlockMode::Sparse, 12));
    }

    #[test]
    fn auto_picks_cheapest_by_hand() {
        let pl = Planner::new(4, &params(Mode::Auto, 4));
        assert!(pl.has_headers());
        let p = pl.plan(&[0, 5, 0, 15]);
        assert_eq!((p.mode, p.cost), (BlockMode::Sparse, 12));
        let p = pl.plan(&[0, 0, 0, 0]);
        assert_eq!((p.mode, p.cost), (BlockMode::Zero, 0));
        // Dense 4-bit values: sparse 4 + 16 = 20 > raw 16; dct of this rough block is longer.
        let p = pl.plan(&[1, 15, 2, 9]);
        assert_eq!((p.mode, p.cost), (BlockMode::Raw, 16));
        // A flat 8-bit block: dct 4 + 18 = 22 bits beats raw 32 and sparse 36.
        let pl8 = Planner::new(8, &params(Mode::Auto, 4));
        let p = pl8.plan(&[200, 200, 200, 200]);
        assert_eq!((p.mode, p.cost), (BlockMode::Dct, 22));
        assert_eq!(&p.symbols[..4], &[800, 0, 0, 0]);
    }

    #[test]
    fn ties_go_to_the_earlier_mode() {
        // 2-bit, n = 4, two non-zero values: sparse 4 + 4 = 8 = raw 8 -> sparse.
        let pl = Planner::new(2, &params(Mode::Auto, 4));
        let p = pl.plan(&[0, 3, 0, 1]);
        assert_eq!((p.mode, p.cost), (BlockMode::Sparse, 8));
        // Three non-zero values: sparse 10 > raw 8 -> raw.
        assert_eq!(pl.plan(&[2, 3, 0, 1]).mode, BlockMode::Raw);
        // Flat block of 1s, k = 2, keep 1, eg 1: X0 = (256 + 32) >> 6 = 4, EG1(3) = "0101"
        // -> dct 1 + 4 + 1 = 6 < raw 8 < sparse 12.
        let pl = Planner::new(2, &CodecParams { keep: 1, eg_order: 1, ..params(Mode::Auto, 4) });
        let p = pl.plan(&[1, 1, 1, 1]);
        assert_eq!((p.mode, p.cost), (BlockMode::Dct, 6));
        // Auto on a 1-bit tensor is raw without headers (SPEC 8.1).
        let pl = Planner::new(1, &params(Mode::Auto, 4));
        assert!(!pl.has_headers());
        assert_eq!(pl.plan(&[1, -1, 1]).mode, BlockMode::Raw);
        assert_eq!(pl.plan(&[1, -1, 1]).cost, 3);
    }

    /// Exhaustively over all 2- and 3-bit blocks of 4 values (several keep, eg, step): the plan
    /// is the first cheapest mode of the independently priced candidates. Also records which
    /// pairs of modes tied, to be sure ties were really exercised.
    #[test]
    fn ties_found_by_search() {
        let mut seen = [[false; 4]; 4];
        let settings = (2..=3u32)
            .flat_map(|bits| (1..=4).map(move |keep| (bits, keep)))
            .flat_map(|(bits, keep)| (0..=3).map(move |eg| (bits, keep, eg)))
            .flat_map(|(bits, keep, eg)| [1, 4].map(|step| (bits, keep, eg, step)));
        for (bits, keep, eg, step) in settings {
            let p = CodecParams { keep, eg_order: eg, step, ..params(Mode::Auto, 4) };
            let pl = Planner::new(bits, &p);
            for code in 0..1u32 << (4 * bits) {
                let v: Vec<i32> = (0..4).map(|i| ((code >> (bits * i)) & ((1 << bits) - 1)) as i32).collect();
                let q = quantised_coefficients(pl.matrix(), &v, step, keep);
                let costs = [
                    zero_cost(&v),
                    Some(sparse_cost(&v, bits)),
                    Some(raw_cost(4, bits)),
                    Some(dct_cost(&q[..keep], eg)),
                ];
                let min = costs.iter().flatten().min().copied().unwrap();
                let first = costs.iter().position(|c| *c == Some(min)).unwrap();
                let plan = pl.plan(&v);
                assert_eq!(plan.mode.index(), first, "{v:?} {p:?} bits {bits}: costs {costs:?}");
                assert_eq!(plan.cost, min);
                for a in 0..4 {
                    for b in a + 1..4 {
                        seen[a][b] |= costs[a] == Some(min) && costs[b] == Some(min);
                    }
                }
            }
        }
        // The search really exercised ties between sparse/raw, sparse/dct and raw/dct.
        assert!(seen[1][2] && seen[1][3] && seen[2][3], "ties seen: {seen:?}");
    }

    #[test]
    fn fixed_modes_use_their_cost() {
        let v = [0, 5, 0, 15];
        let p = Planner::new(4, &params(Mode::Raw, 4)).plan(&v);
        assert_eq!((p.mode, p.cost), (BlockMode::Raw, 16));
        let p = Planner::new(4, &params(Mode::Sparse, 4)).plan(&v);
        assert_eq!((p.mode, p.cost), (BlockMode::Sparse, 12));
        let p = Planner::new(4, &params(Mode::Dct, 4)).plan(&v);
        assert_eq!((p.mode, p.cost), (BlockMode::Dct, 34));
        assert_eq!(&p.symbols[..4], &[20, -17, 10, -15]);
        // A fixed sparse tensor uses sparse even for an all-zero block.
        let p = Planner::new(4, &params(Mode::Sparse, 4)).plan(&[0, 0, 0, 0]);
        assert_eq!((p.mode, p.cost), (BlockMode::Sparse, 4));
    }
}
