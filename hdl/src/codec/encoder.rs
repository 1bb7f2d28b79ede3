//! Codec encoder (SPEC 8.3-8.6, 8.8): blocks of `N` activation values in, the layer's
//! bitstream out as beats of `P` bytes, one record at a time.
//!
//! Each incoming block carries its value count (`in_n`, short blocks at a segment's end) and
//! whether it ends a record (`in_last`): the producer knows where it is in the tensor, and
//! records may arrive in any order (the core sends them filter tile by filter tile), each placed
//! by the DMA in its own slot.
//!
//! Pipeline (every fixed-length part of a block at once, Exp-Golomb fields one per cycle):
//! - *A, analysis*: holds the block (extended by repeating its last value, and the butterfly
//!   sums and differences `v_i +- v_{N-1-i}`). Tensors that need no transform (raw, sparse,
//!   1-bit) decide in the cycle the block arrives. dct and auto tensors issue one coefficient
//!   per cycle for `j < keep` into a pipeline of [`PIPE_DEPTH`] stages: `N / 2` products (each
//!   a matrix magnitude formed as two shifted *fundamentals* `u`, `3u`, `5u`, `9u`... of its
//!   operand, selected by `j`, complemented for a negative entry), their sum with the rounding
//!   constant, the quantiser, and the Exp-Golomb field with its length, stored at the next free
//!   entry of a field file while the mask bit and the dct price accumulate. golomb tensors send
//!   their `N` values through the same quantiser (no products, no sign bit). A decides
//!   `PIPE_DEPTH` cycles after the last issue: in auto mode the SPEC 8.6 prices of zero, sparse
//!   and raw are made from the values at once and compared with the dct price, ties to the first
//!   of zero, sparse, raw, dct. It then forms the block's *head*: the header, the mask and every
//!   fixed-length field (raw value `i` at offset `i k`, sparse value `i` at `popcount(mask
//!   before i) k`, by fixed per-`k` wirings and small muxes). The header and mask are
//!   right-aligned in `2 + N` bits with the fields right behind them, so the head needs no
//!   shifter: its step says how far below the word's top its content starts.
//! - *S and E*: A hands the head to the step register S and its field file to E (a copy, so
//!   that A can analyse the next block meanwhile); E moves one field per cycle into S, each
//!   MSB-aligned by its length. So a block occupies S for `1 + e` cycles (`e` its Exp-Golomb
//!   fields: `cbnn::codec::BlockCost::eg_fields`). A field stays right-aligned in its word.
//! - *Packer*: appends S's step (one shifter, by the fill plus the step's own offset) under
//!   the bits already in an MSB-aligned shift buffer of
//!   `CodecGeom::buffer_bits` (the longest block plus a beat) and sends the top `P` bytes whenever
//!   it holds that many *committed* bits: a block's bits count once its last step is in, so
//!   the output's timing depends on whole blocks' lengths, never on how a block is split into
//!   steps. A block's head is taken only when at most `buffer_bits - block_bits` bits are
//!   committed (before this cycle's beat, so no handshake waits on `out_ready`), after which
//!   its fields always fit. After a record's last block the packer pads to a byte, sends the
//!   rest as a short beat (`out_nbytes < P`) marked `out_last`, and only then takes the next
//!   record's head, so every record starts on a beat of its own and a DMA can place it knowing
//!   its byte count (SPEC 8.3).
//!
//! Timing, per block: A holds a block for `a_end + 1` cycles and until it can hand over
//! (`a_end = 0` for raw, sparse and 1-bit tensors, `keep + PIPE_DEPTH - 1` for dct and auto,
//! `N + PIPE_DEPTH - 1` for golomb); the handover needs E empty and S free or leaving; S then
//! holds the block's `1 + e` steps, one per cycle while the packer takes them. With the output
//! always ready a block therefore costs `max(a_end + 1, 1 + e_prev)` cycles: one cycle for raw,
//! sparse and zero blocks, `keep + 4` for dct and auto blocks, `N + 4` for golomb blocks,
//! plus at most one cycle per record for the flush. `sim/src/encoder.rs` mirrors this.
//!
//! `bytes` counts the bytes sent since `start` (the layer's coded size); `idle` is high when
//! nothing is left inside.

use super::{bits_for, blen_function, crc8_function, fixed_block_mode, params, CodecGeom, Text};
use super::{BM_DCT, BM_GOLOMB, BM_RAW, BM_SPARSE, BM_ZERO};
use cbnn::codec::check::CRC8_INIT;
use cbnn::codec::dct::DctMatrix;
use rust_hdl::prelude::*;

/// `D = 8 N` bits of values in, `PD = 8 P` bits of bytes out.
#[derive(LogicBlock)]
pub struct CodecEncoder<const D: usize, const PD: usize> {
    pub clock: Signal<In, Clock>,
    /// Rewinds to the first block of a tensor and clears the byte counter.
    pub start: Signal<In, Bit>,
    /// The layer's codec parameters: `mode` (`super::MODE_*`), bits per value `k`, `log2(step)`,
    /// `keep` and the Exp-Golomb order.
    pub mode: Signal<In, Bits<3>>,
    pub bits: Signal<In, Bits<4>>,
    pub step_t: Signal<In, Bits<3>>,
    pub keep: Signal<In, Bits<5>>,
    pub eg: Signal<In, Bits<3>>,
    /// Value `i` of the block in bits `[8i + 7 : 8i]`; `in_n` values (lanes past them are
    /// ignored); `in_last` on a record's last block.
    pub in_valid: Signal<In, Bit>,
    pub in_data: Signal<In, Bits<D>>,
    pub in_n: Signal<In, Bits<5>>,
    pub in_last: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    /// Byte `j` of the stream beat in bits `[8j + 7 : 8j]`; `out_nbytes` of them are valid.
    pub out_valid: Signal<Out, Bit>,
    pub out_data: Signal<Out, Bits<PD>>,
    pub out_nbytes: Signal<Out, Bits<5>>,
    pub out_last: Signal<Out, Bit>,
    pub out_ready: Signal<In, Bit>,
    pub bytes: Signal<Out, Bits<32>>,
    pub idle: Signal<Out, Bit>,
    /// Whether records end with a CRC-8 check byte (SPEC 8.9, `CodecGeom::check`).
    chk_c: Constant<Bit>,
}

impl<const D: usize, const PD: usize> CodecEncoder<D, PD> {
    /// An encoder for blocks of `D / 8` values and beats of `PD / 8` bytes (4, 8 or 16 and a
    /// power of two up to 16: see [`CodecGeom::new`]).
    pub fn new() -> Self {
        Self::with_check(false)
    }

    /// As [`CodecEncoder::new`], each record followed by its CRC-8 check byte when `check`.
    pub fn with_check(check: bool) -> Self {
        let _ = CodecGeom::new(D / 8, PD / 8, 1);
        CodecEncoder {
            clock: Default::default(),
            start: Default::default(),
            mode: Default::default(),
            bits: Default::default(),
            step_t: Default::default(),
            keep: Default::default(),
            eg: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_n: Default::default(),
            in_last: Default::default(),
            in_ready: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            out_nbytes: Default::default(),
            out_last: Default::default(),
            out_ready: Default::default(),
            bytes: Default::default(),
            idle: Default::default(),
            chk_c: Constant::new(check),
        }
    }
}

impl<const D: usize, const PD: usize> Logic for CodecEncoder<D, PD> {
    /// Not modelled for rust-hdl's simulator: the Verilog is the block (see `super`).
    fn update(&mut self) {}

    fn connect(&mut self) {
        for s in [&mut self.in_ready, &mut self.out_valid, &mut self.out_last, &mut self.idle] {
            s.connect();
        }
        self.out_data.connect();
        self.out_nbytes.connect();
        self.bytes.connect();
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(&CodecGeom::new(D / 8, PD / 8, 1).with_check(self.chk_c.val())))
    }
}

impl<const D: usize, const PD: usize> Default for CodecEncoder<D, PD> {
    fn default() -> Self {
        Self::new()
    }
}

/// Cycles of the analysis stage's coefficient pipeline from issuing a coefficient (or golomb
/// value) to its field being in the field file: product terms, sum, quantiser, field.
pub const PIPE_DEPTH: usize = 4;

/// How a dct matrix magnitude `m` is formed from one operand `u`: `(u * a) << s` plus
/// `(u * b) << r` (`b = 0` for none), `a` and `b` from a small set of fundamentals `2^m +- 1`
/// (one adder each) shared by all magnitudes of a lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Split {
    a: u32,
    s: u32,
    b: u32,
    r: u32,
}

/// Fundamentals that cost one adder: 1 (free) and `2^m +- 1`.
const FUNDAMENTALS: [u32; 8] = [3, 5, 7, 9, 15, 17, 31, 33];

fn split_with(m: u32, base: &[u32]) -> Option<Split> {
    let shifted = |f: u32| (0..8).map(move |s| (f, s)).filter(move |&(f, s)| f << s <= m);
    for &a in base {
        for (a, s) in shifted(a) {
            let rest = m - (a << s);
            if rest == 0 {
                return Some(Split { a, s, b: 0, r: 0 });
            }
            for &b in base {
                if let Some((b, r)) = shifted(b).find(|&(b, r)| b << r == rest) {
                    return Some(Split { a, s, b, r });
                }
            }
        }
    }
    None
}

/// The smallest set of fundamentals (with 1) that forms every magnitude of `mags` as a sum of
/// two shifted fundamentals, and each magnitude's split.
fn mcm(mags: &[u32]) -> (Vec<u32>, Vec<(u32, Split)>) {
    // Subsets of the fundamentals, fewest first (then the smallest values).
    let mut sets: Vec<u32> = (0..1u32 << FUNDAMENTALS.len()).collect();
    sets.sort_by_key(|s| (s.count_ones(), s.reverse_bits()));
    for set in sets {
        let mut base = vec![1];
        base.extend((0..FUNDAMENTALS.len()).filter(|i| set >> i & 1 == 1).map(|i| FUNDAMENTALS[i]));
        let splits: Option<Vec<(u32, Split)>> = mags.iter().map(|&m| split_with(m, &base).map(|s| (m, s))).collect();
        if let Some(splits) = splits {
            return (base, splits);
        }
    }
    panic!("no split of the dct magnitudes {mags:?}")
}

/// `x` (`from` bits) zero-extended to `to` bits.
fn zext(x: &str, from: usize, to: usize) -> String {
    if from == to {
        x.to_string()
    } else {
        format!("{{{}'d0, {x}}}", to - from)
    }
}

/// Width of the lanes' product terms and of the coefficient sum.
const TW: usize = 18;
const SW_SUM: usize = 20;

/// The block's butterfly operands, made when the block enters stage A: `s_i = v_i + v_{N-1-i}`
/// (even rows of the matrix are symmetric) and `d_i = v_i - v_{N-1-i}` (odd rows are
/// antisymmetric), so one coefficient needs `N / 2` products, not `N`.
fn input_stage(v: &mut Text, g: &CodecGeom) {
    let n = g.block;
    for i in 0..n {
        v.line(format!("wire [7:0] iv{i} = in_data[{}:{}] & kmax;", 8 * i + 7, 8 * i));
    }
    // SPEC 8.5 step 1: a short block is extended by repeating its last value.
    let last: Vec<String> = (0..n).map(|i| format!("(in_n == 5'd{}) ? iv{i} : ", i + 1)).collect();
    v.line(format!("wire [7:0] iv_last = {}8'd0;", last.concat()));
    for i in 0..n {
        v.line(format!("wire [7:0] ie{i} = (5'd{i} < in_n) ? iv{i} : iv_last;"));
    }
    for i in 0..n / 2 {
        let k = n - 1 - i;
        v.line(format!("wire [9:0] is{i} = {{2'd0, ie{i}}} + {{2'd0, ie{k}}};"));
        v.line(format!("wire [9:0] id{i} = {{2'd0, ie{i}}} - {{2'd0, ie{k}}};"));
    }
}

/// Stage A's coefficient pipeline: issue (`a_t < nser`) -> x1 (the `N / 2` signed products of
/// row `j`, each from the shared fundamentals of its operand, selected by `j`) -> x2 (their sum
/// plus the rounding constant: `X_j * 64 + 32 + r`, or a golomb value times 64) -> x3
/// (`|X| + h >> t`, the sign) -> the field file (Exp-Golomb value and length, written at the
/// next free entry when non-zero), the mask bit and the running price.
fn coefficient_pipe(v: &mut Text, g: &CodecGeom) {
    let n = g.block;
    let h = n / 2;
    let lj = bits_for(n - 1);
    let m = DctMatrix::new(n);
    for j in 0..n {
        for i in 0..h {
            let (a, b) = (m.get(j, i), m.get(j, n - 1 - i));
            assert_eq!(a, if j % 2 == 0 { b } else { -b }, "dct row {j} is not (anti)symmetric");
        }
    }
    let mut mags: Vec<u32> =
        (0..n).flat_map(|j| (0..h).map(move |i| (j, i))).map(|(j, i)| m.get(j, i).unsigned_abs()).collect();
    mags.sort_unstable();
    mags.dedup();
    let (base, splits) = mcm(&mags);
    let split = |mag: u32| splits.iter().find(|s| s.0 == mag).unwrap().1;
    v.line(format!("wire [{}:0] jj = a_t[{}:0];", lj - 1, lj - 1));
    v.line("wire iss = a_valid & serial & (a_t < {1'b0, nser});");
    for i in 0..h {
        v.line(format!("wire [9:0] u{i} = jj[0] ? a_d{i} : a_s{i};"));
        v.line(format!("wire [{}:0] ux{i} = {{{{{}{{u{i}[9]}}}}, u{i}}};", TW - 1, TW - 10));
        for &f in &base {
            let e = if f == 1 {
                format!("ux{i}")
            } else if (f - 1).is_power_of_two() {
                format!("ux{i} + (ux{i} << {})", (f - 1).trailing_zeros())
            } else {
                format!("(ux{i} << {}) - ux{i}", (f + 1).trailing_zeros())
            };
            v.line(format!("wire [{}:0] f{f}_{i} = {e};", TW - 1));
        }
        v.line(format!("reg [{}:0] ta{i}, tb{i}; reg ng{i};", TW - 1));
        v.line("always @(*) begin");
        v.line("    case (jj)");
        for j in 0..n {
            let c = m.get(j, i);
            let sp = split(c.unsigned_abs());
            let term = |f: u32, s: u32| if s == 0 { format!("f{f}_{i}") } else { format!("(f{f}_{i} << {s})") };
            let tb = if sp.b == 0 { format!("{TW}'d0") } else { term(sp.b, sp.r) };
            v.line(format!(
                "        {lj}'d{j}: begin ta{i} = {}; tb{i} = {tb}; ng{i} = 1'b{}; end",
                term(sp.a, sp.s),
                (c < 0) as u8
            ));
        }
        if n.is_power_of_two() && (1 << lj) > n {
            v.line(format!("        default: begin ta{i} = {TW}'d0; tb{i} = {TW}'d0; ng{i} = 1'b0; end"));
        }
        v.line("    endcase");
        v.line("end");
        // A negated term is its complement; the missing +1s are in the row's constant.
        v.line(format!("wire [{}:0] tt{i} = (ta{i} + tb{i}) ^ {{{TW}{{ng{i}}}}};", TW - 1));
    }
    let gsel: Vec<String> = (0..n).map(|i| format!("(jj == {lj}'d{i}) ? av{i} : ")).collect();
    v.line(format!("wire [7:0] gv = {}8'd0;", gsel.concat()));
    // Stage x1.
    v.line(format!("reg x1_valid, x1_p; reg [{}:0] x1_j; reg [7:0] x1_g;", lj - 1));
    for i in 0..h {
        v.line(format!("reg [{}:0] x1_t{i};", TW - 1));
    }
    v.line("always @(posedge clock) begin");
    v.line("    x1_valid <= iss & ~start; x1_j <= jj; x1_g <= gv;");
    v.line(format!("    x1_p <= ~gm | ({{{}'d0, jj}} < a_n);", 5 - lj));
    for i in 0..h {
        v.line(format!("    x1_t{i} <= tt{i};"));
    }
    v.line("end");
    // Stage x2: the sum, plus 32 (rounding) and one per complemented term of the row.
    v.line(format!("reg [{}:0] x2_rc;", SW_SUM - 1));
    v.line("always @(*) begin");
    v.line("    case (x1_j)");
    for j in 0..n {
        let negs = (0..h).filter(|&i| m.get(j, i) < 0).count();
        v.line(format!("        {lj}'d{j}: x2_rc = {SW_SUM}'d{};", 32 + negs));
    }
    if (1 << lj) > n {
        v.line(format!("        default: x2_rc = {SW_SUM}'d32;"));
    }
    v.line("    endcase");
    v.line("end");
    let terms: Vec<String> =
        (0..h).map(|i| format!("{{{{{}{{x1_t{i}[{}]}}}}, x1_t{i}}}", SW_SUM - TW, TW - 1)).collect();
    v.line(format!("wire [{}:0] x2_sum = {} + x2_rc;", SW_SUM - 1, terms.join(" + ")));
    v.line(format!("reg x2_valid, x2_p; reg [{}:0] x2_j; reg [{}:0] x2_s;", lj - 1, SW_SUM - 1));
    v.line("always @(posedge clock) begin");
    v.line("    x2_valid <= x1_valid & ~start; x2_j <= x1_j; x2_p <= x1_p;");
    v.line(format!("    x2_s <= gm ? {{{}'d0, x1_g, 6'd0}} : x2_sum;", SW_SUM - 14));
    v.line("end");
    // Stage x3: X = (sum + 32) >> 6 with floor; |X| + h as (X ^ sign) + (h + sign).
    v.line("wire [13:0] x3_x = x2_s[19:6];");
    v.line("wire x3_sg = x3_x[13];");
    v.line("wire [13:0] x3_m = (x3_x ^ {14{x3_sg}}) + (x3_sg ? h14p : h14);");
    v.line("wire [13:0] x3_q = x2_p ? (x3_m >> step_t) : 14'd0;");
    v.line(format!("reg x3_valid, x3_s; reg [{}:0] x3_j; reg [13:0] x3_aq;", lj - 1));
    v.line("always @(posedge clock) begin");
    v.line("    x3_valid <= x2_valid & ~start; x3_j <= x2_j; x3_aq <= x3_q; x3_s <= x3_sg;");
    v.line("end");
    // The field: Exp-Golomb of aq - 1 (value w = aq - 1 + 2^eg, length 2L - 1 - eg), then the
    // sign bit for dct.
    v.line("wire x4_nz = x3_valid & (x3_aq != 14'd0);");
    v.line("wire [13:0] x4_w = x3_aq + egm1;");
    v.line("wire [4:0] x4_len = {blen14(x4_w), 1'b0} - eg_lo;");
    v.line("wire [14:0] x4_fv = gm ? {1'b0, x4_w} : {x4_w, x3_s};");
    v.line(format!("wire [{}:0] x4_jr = {lj}'d{} - x3_j;", lj - 1, n - 1));
}

/// The head of the decided block: auto header, mask and every fixed-length field (raw values,
/// or sparse values moved to the slots given by the mask's prefix counts), MSB-aligned in
/// `2 + N + 8N` bits, and its length.
fn head(v: &mut Text, g: &CodecGeom) {
    let n = g.block;
    let hw = 2 + 9 * n;
    let lg = bits_for(n);
    for i in 0..n {
        v.line(format!("wire [7:0] av{i} = a_v[{}:{}];", 8 * i + 7, 8 * i));
        v.line(format!("wire ap{i} = 5'd{i} < a_n;"));
        v.line(format!("wire nz{i} = ap{i} & (av{i} != 8'd0);"));
    }
    // Prefix counts of the non-zero lanes: where each sparse value goes.
    v.line(format!("wire [{}:0] pc0 = {lg}'d0;", lg - 1));
    for i in 1..=n {
        v.line(format!("wire [{}:0] pc{i} = pc{} + {{{}'d0, nz{}}};", lg - 1, i - 1, lg - 1, i - 1));
    }
    v.line(format!("wire [4:0] nnz = {};", zext(&format!("pc{n}"), lg, 5)));
    v.line("wire zero_ok = nnz == 5'd0;");
    v.line("wire [9:0] c_raw = kmul(a_n, bits);");
    v.line("wire [9:0] c_nzk = kmul(nnz, bits);");
    v.line("wire [9:0] c_sparse = {5'd0, a_n} + c_nzk;");
    v.line("wire [9:0] c_dct = {5'd0, keep} + a_cd;");
    v.line("wire [9:0] c_best = (c_raw < c_sparse) ? c_raw : c_sparse;");
    v.line(format!("wire [2:0] bm_lossless = (c_raw < c_sparse) ? 3'd{BM_RAW} : 3'd{BM_SPARSE};"));
    v.line(format!("wire [2:0] bm_auto = zero_ok ? 3'd{BM_ZERO} : (c_dct < c_best) ? 3'd{BM_DCT} : bm_lossless;"));
    v.line("wire [2:0] bm = hdr_on ? bm_auto : fixed_bm;");
    v.line(format!("wire is_raw = bm == 3'd{BM_RAW}; wire is_sparse = bm == 3'd{BM_SPARSE};"));
    v.line(format!("wire is_eg = (bm == 3'd{BM_DCT}) | (bm == 3'd{BM_GOLOMB});"));
    // Slot s of the fixed fields: raw value s, or the sparse value with s non-zero lanes before it.
    for s in 0..n {
        let comp: Vec<String> = (s..n).map(|i| format!("((nz{i} & (pc{i} == {lg}'d{s})) ? av{i} : 8'd0)")).collect();
        v.line(format!(
            "wire [7:0] sl{s} = is_raw ? (ap{s} ? av{s} : 8'd0) : is_sparse ? ({}) : 8'd0;",
            comp.join(" | ")
        ));
    }
    // Slot s at offset s * k: one fixed wiring per k.
    v.line(format!("reg [{}:0] fpack;", 8 * n - 1));
    v.line("always @(*) begin");
    v.line("    case (bits)");
    for k in 1..=8 {
        let mut parts: Vec<String> = (0..n).map(|s| format!("sl{s}[{}:0]", k - 1)).collect();
        if k < 8 {
            parts.push(format!("{}'d0", 8 * n - k * n));
        }
        v.line(format!("        4'd{k}: fpack = {{{}}};", parts.join(", ")));
    }
    v.line(format!("        default: fpack = {}'d0;", 8 * n));
    v.line("    endcase");
    v.line("end");
    let mv: Vec<String> = (0..n).map(|i| format!("nz{i}")).collect();
    v.line(format!("wire [{}:0] mvec = is_sparse ? {{{}}} : is_eg ? a_mask : {n}'d0;", n - 1, mv.join(", ")));
    v.line(format!(
        "wire [4:0] mlen = (is_sparse | (bm == 3'd{BM_GOLOMB})) ? a_n : (bm == 3'd{BM_DCT}) ? keep : 5'd0;"
    ));
    // The header and mask right-aligned in `2 + N` bits, the fixed fields right behind them:
    // the head starts `2 + N - hoff` bits below the word's top, which the packer's shift
    // absorbs (no shifter here).
    v.line(format!("wire [{}:0] mlsb = mvec >> (5'd{n} - mlen);", n - 1));
    v.line(format!(
        "wire [{}:0] hm = (hdr_on ? ({{{n}'d0, bm[1:0]}} << mlen) : {}'d0) | {{2'd0, mlsb}};",
        n + 1,
        n + 2
    ));
    v.line("wire [4:0] hoff = (hdr_on ? 5'd2 : 5'd0) + mlen;");
    v.line(format!("wire [{}:0] hword = {{hm, fpack}};", hw - 1));
    v.line("wire [9:0] hlen = {5'd0, hoff} + (is_raw ? c_raw : is_sparse ? c_nzk : 10'd0);");
    v.line("wire [4:0] hcnt = is_eg ? a_cnt : 5'd0;");
}

/// The layer constants (which blocks go through the coefficient pipeline, and for how long) and
/// the registers of stage A, of E (the fields of the block being emitted) and of S (the step
/// offered to the packer).
fn layer_constants_and_registers(v: &mut Text, g: &CodecGeom) {
    let (n, w) = (g.block, g.buffer_bits());
    let (hw, lg) = (2 + 9 * n, bits_for(n - 1));
    // Layer constants: which blocks go through the coefficient pipeline, and for how long.
    v.line(format!("wire gm = ~hdr_on & (fixed_bm == 3'd{BM_GOLOMB});"));
    v.line(format!("wire serial = hdr_on | (fixed_bm == 3'd{BM_DCT}) | gm;"));
    v.line(format!("wire [4:0] nser = gm ? 5'd{n} : keep;"));
    v.line(format!("wire [5:0] a_end = serial ? ({{1'b0, nser}} + 6'd{}) : 6'd0;", PIPE_DEPTH - 1));
    v.line("wire [8:0] h9 = (step_t == 3'd0) ? 9'd0 : (9'd1 << (step_t - 3'd1));");
    v.line("wire [13:0] h14 = {5'd0, h9};");
    v.line("wire [13:0] h14p = h14 + 14'd1;");
    v.line("wire [13:0] egm1 = (14'd1 << eg) - 14'd1;");
    v.line("wire [4:0] eg_lo = {2'd0, eg} + {4'd0, gm};");
    // Stage A registers.
    v.line(format!("reg a_valid, a_last; reg [{}:0] a_v; reg [4:0] a_n; reg [5:0] a_t;", 8 * n - 1));
    for i in 0..n / 2 {
        v.line(format!("reg [9:0] a_s{i}, a_d{i};"));
    }
    v.line(format!("reg [{}:0] a_mask; reg [4:0] a_cnt; reg [9:0] a_cd;", n - 1));
    v.line(format!("reg [19:0] a_file [0:{}];", n - 1));
    // E (fields of the block being emitted) and S (the step offered to the packer).
    v.line(format!("reg [19:0] e_file [0:{}]; reg [4:0] e_left; reg [{}:0] e_i; reg e_last;", n - 1, lg - 1));
    v.line(format!("reg s_valid, s_head, s_end, s_rec; reg [{}:0] s_word; reg [9:0] s_len; reg [7:0] s_sh;", hw - 1));
    v.line(format!("reg [{}:0] ebuf; reg [15:0] efill, cfill; reg eflush;", w - 1));
    if g.check {
        v.line("reg [7:0] crc_r;");
    }
}

/// The encoder's Verilog for geometry `g`.
fn verilog_body(g: &CodecGeom) -> String {
    let (n, p, mb, w) = (g.block, g.port_bytes, g.block_bits, g.buffer_bits());
    let (fw, hw) = (g.field_bits, 2 + 9 * n);
    // `E`: the top bits of a step's word that may hold no content (a head's unused header and
    // mask bits, a field's leading bits); `ab`: the width of the packer's shift amount.
    let ee = (2 + n).max(fw);
    let (pb, ab, lg) = (8 * p, bits_for(w + ee - 1).max(9), bits_for(n - 1));
    assert!(ab <= 16, "packer shift of {ab} bits");
    // The room a head needs: its block at the longest, and the record's check byte after it.
    let thr = w - mb - g.check_bits();
    let mut v = Text::default();
    blen_function(&mut v, "blen14", 14, 4);
    if g.check {
        crc8_function(&mut v);
    }
    v.line("function [9:0] kmul;");
    v.line("    input [4:0] x;");
    v.line("    input [3:0] k;");
    v.line("    kmul = (k[0] ? {5'd0, x} : 10'd0) + (k[1] ? {4'd0, x, 1'd0} : 10'd0) + (k[2] ? {3'd0, x, 2'd0} : 10'd0) + (k[3] ? {2'd0, x, 3'd0} : 10'd0);");
    v.line("endfunction");
    params(&mut v);
    fixed_block_mode(&mut v);
    layer_constants_and_registers(&mut v, g);
    input_stage(&mut v, g);
    head(&mut v, g);
    coefficient_pipe(&mut v, g);
    // Handshakes: stage A hands its block over when E has no fields left and S moves.
    v.line("wire a_done = a_valid & (a_t == a_end);");
    v.line("wire s_acc;");
    v.line("wire s_adv = ~s_valid | s_acc;");
    v.line("wire hand = a_done & s_adv & (e_left == 5'd0);");
    v.line("wire take = in_valid & in_ready;");
    v.line("wire [19:0] e_cur = e_file[e_i];");
    // The beat's bytes, and the CRC-8 register after each of them (`ec{j}`: before byte j).
    for j in 0..p {
        v.line(format!("wire [7:0] eb{j} = ebuf[{}:{}];", w - 1 - 8 * j, w - 8 - 8 * j));
    }
    if g.check {
        v.line("wire [7:0] ec0 = crc_r;");
        for j in 0..p {
            v.line(format!("wire [7:0] ec{} = crc8_byte(ec{j}, eb{j});", j + 1));
        }
    }
    // The packer: out_* from committed bits only (whole blocks), so a beat's timing depends on
    // block lengths, not on how a block's bits are split into steps.
    v.line("always @(*) begin");
    v.line("    in_ready = ~a_valid | hand;");
    v.line(format!("    out_last = eflush & (cfill <= 16'd{pb});"));
    v.line(format!("    out_valid = eflush ? (cfill != 16'd0) : (cfill >= 16'd{pb});"));
    v.line(format!("    out_nbytes = out_last ? cfill[7:3] : 5'd{p};"));
    // With the record check, the last byte of a record's last beat is the CRC-8 of the
    // record's bytes before it (SPEC 8.9): the packer reserved it, zero, at the record's end.
    let bytes: Vec<String> = (0..p)
        .rev()
        .map(|j| {
            if g.check {
                format!("((out_last & (out_nbytes == 5'd{})) ? ec{j} : eb{j})", j + 1)
            } else {
                format!("eb{j}")
            }
        })
        .collect();
    v.line(format!("    out_data = {{{}}};", bytes.join(", ")));
    v.line("    idle = ~a_valid & ~s_valid & (e_left == 5'd0) & ~eflush & (efill == 16'd0);");
    v.line("end");
    v.line("wire emit = out_valid & out_ready;");
    v.line(format!("wire [15:0] fill_e = emit ? (out_last ? 16'd0 : efill - 16'd{pb}) : efill;"));
    v.line(format!("wire [15:0] cfill_e = emit ? (out_last ? 16'd0 : cfill - 16'd{pb}) : cfill;"));
    // A head needs room for the longest block behind the committed bits (counted before the
    // cycle's beat, so that no handshake waits on out_ready); a block's fields then always fit.
    v.line(format!("assign s_acc = s_valid & ~eflush & (~s_head | (cfill <= 16'd{thr}));"));
    v.line(format!("wire [{}:0] buf_e = emit ? (out_last ? {{{w}{{1'b0}}}} : (ebuf << {pb})) : ebuf;", w - 1));
    v.line("wire [15:0] fill_a = fill_e + {6'd0, s_len};");
    // A record ends on a byte, then (with the record check) a reserved byte for its CRC-8.
    v.line(format!("wire [15:0] fill_p = s_rec ? (((fill_a + 16'd7) & ~16'd7) + 16'd{}) : fill_a;", g.check_bits()));
    // A step's content starts `E - s_sh` bits below the top of `s_word` (`E = max(2 + N, fw)`):
    // shifting by `fill + s_sh` puts it `E` bits below the top of `yy`, at `fill` in `placed`.
    v.line(format!("wire [{}:0] amt = fill_e[{}:0] + {{{}'d0, s_sh}};", ab - 1, ab - 1, ab - 8));
    v.line(format!("wire [{}:0] yy = {{s_word, {}'d0}} >> amt;", w + ee - 1, w - hw + ee));
    v.line(format!("wire [{}:0] placed = yy[{}:0];", w - 1, w - 1));
    v.line(format!("wire unused_ok = &{{1'b0, fill_e[15:{ab}], yy[{}:{w}], x2_s[5:0], chk_c, 1'b0}};", w + ee - 1));
    v.line("always @(posedge clock) begin");
    v.line("    if (start) begin");
    v.line(format!(
        "        a_valid <= 1'b0; s_valid <= 1'b0; e_left <= 5'd0; ebuf <= {{{w}{{1'b0}}}}; efill <= 16'd0; cfill <= 16'd0; eflush <= 1'b0; bytes <= 32'd0;"
    ));
    if g.check {
        v.line(format!("        crc_r <= 8'h{CRC8_INIT:02x};"));
    }
    v.line("    end else begin");
    // Stage A: load, count, collect the coefficient pipeline's fields.
    v.line("        if (take) begin");
    let lanes: Vec<String> = (0..n).rev().map(|i| format!("ie{i}")).collect();
    v.line(format!(
        "            a_valid <= 1'b1; a_v <= {{{}}}; a_n <= in_n; a_last <= in_last; a_t <= 6'd0;",
        lanes.join(", ")
    ));
    for i in 0..n / 2 {
        v.line(format!("            a_s{i} <= is{i}; a_d{i} <= id{i};"));
    }
    v.line(format!("            a_mask <= {n}'d0; a_cnt <= 5'd0; a_cd <= 10'd0;"));
    v.line("        end else begin");
    v.line("            if (hand) a_valid <= 1'b0;");
    v.line("            if (a_valid & (a_t != a_end)) a_t <= a_t + 6'd1;");
    v.line("            if (x4_nz) begin");
    v.line(format!("                a_file[a_cnt[{}:0]] <= {{x4_fv, x4_len}};", lg - 1));
    v.line("                a_cnt <= a_cnt + 5'd1; a_cd <= a_cd + {5'd0, x4_len}; a_mask[x4_jr] <= 1'b1;");
    v.line("            end");
    v.line("        end");
    // E and S.
    v.line("        if (s_adv & (e_left != 5'd0)) begin");
    v.line(format!(
        "            s_valid <= 1'b1; s_head <= 1'b0; s_word <= {{{}'d0, e_cur[19:5], {}'d0}}; s_len <= {{5'd0, e_cur[4:0]}}; s_sh <= 8'd{} + {{3'd0, e_cur[4:0]}};",
        fw - 15,
        hw - fw,
        ee - fw
    ));
    v.line("            s_end <= e_left == 5'd1; s_rec <= e_last & (e_left == 5'd1);");
    v.line(format!("            e_left <= e_left - 5'd1; e_i <= e_i + {lg}'d1;"));
    v.line("        end else if (hand) begin");
    v.line(format!(
        "            s_valid <= 1'b1; s_head <= 1'b1; s_word <= hword; s_len <= hlen; s_sh <= 8'd{} + {{3'd0, hoff}};",
        ee - 2 - n
    ));
    v.line("            s_end <= hcnt == 5'd0; s_rec <= a_last & (hcnt == 5'd0);");
    v.line(format!("            e_left <= hcnt; e_i <= {lg}'d0; e_last <= a_last;"));
    for q in 0..n {
        v.line(format!("            e_file[{q}] <= a_file[{q}];"));
    }
    v.line("        end else if (s_acc) s_valid <= 1'b0;");
    // Packer.
    v.line("        ebuf <= s_acc ? (buf_e | placed) : buf_e;");
    v.line("        efill <= s_acc ? fill_p : fill_e;");
    v.line("        cfill <= (s_acc & s_end) ? fill_p : cfill_e;");
    v.line("        if (s_acc & s_rec) eflush <= 1'b1; else if (emit & out_last) eflush <= 1'b0;");
    v.line("        if (emit) bytes <= bytes + {27'd0, out_nbytes};");
    // The CRC-8 register runs over every byte sent, and starts again after a record.
    if g.check {
        v.line(format!("        if (emit) crc_r <= out_last ? 8'h{CRC8_INIT:02x} : ec{p};"));
    }
    v.line("    end");
    v.line("end");
    v.0
}
