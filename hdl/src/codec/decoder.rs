//! Codec decoder (SPEC 8.3-8.6, 8.8): a layer's records as beats of `P` bytes in, blocks of `N`
//! reconstructed values out, in the activation stream's format.
//!
//! Pipeline (one step of the parser per cycle):
//!
//! ```text
//! beats -> shift buffer -> parser step -> [F] -> products -> [A] -> collect [C] -> recon -> [out]
//! ```
//!
//! - *Shift buffer*: incoming bytes are appended right below the bits kept. It holds a whole
//!   worst-case block plus a beat ([`CodecGeom::buffer_bits`]), and a block's first step waits
//!   until it holds the longest block the layer's mode allows (`need`) or the record's last beat
//!   (`in_last`): the Exp-Golomb steps that follow then never wait for input, so the timing
//!   depends only on each block's length and field count (what the cycle simulator knows).
//! - *Parser*: a block's *head step* reads the auto header, the mask and, for zero, raw and
//!   sparse blocks, all the `k`-bit fields at once (raw field `i` at `i*k` after the header,
//!   sparse field `i` at `popcount(mask before i)*k` after the mask: small multiplexers, not a
//!   chain of shifters). Dct and golomb blocks then take one *field step* per non-zero mask bit,
//!   in mask order: one Exp-Golomb code (and, for dct, its sign). Each step shifts the buffer by
//!   what it consumed (at most `2 + 9N` bits).
//! - `[F]` holds the step's result (the head's values, or one field's index, magnitude and sign);
//!   `[A]` the field's dequantised golomb value or the constant multiples `X'_j * |T|` of the
//!   dct coefficient `X'_j = Xq_j << step_t` (shift-and-add, one per distinct magnitude of the
//!   HEVC matrix: no multipliers); the collect register `[C]` takes the head's values, a golomb
//!   value in its lane, or adds `T[j][i] * X'_j` to every lane's dct sum (the product of lane `i`
//!   is picked among the multiples by `j`; lanes `i` and `N-1-i` share it, with the sign
//!   `(-1)^j`). The sums wrap at 24 bits as SPEC 8.5's exact sums of a valid block never do.
//! - Reconstruction (combinational on `[C]`): dct lanes `clamp((sum + 2^(r-1)) >> r)` (SPEC 8.5),
//!   the others as collected; lanes past a short block 0. The output register holds the block.
//!
//! Timing: a block with `E` Exp-Golomb fields (0 for zero, raw and sparse blocks and for a dct or
//! golomb block whose mask is 0) takes `1 + E` parser cycles; with the output ready and the
//! buffer fed, blocks follow each other without gaps, and a block reaches `out_valid` four
//! cycles after its last step. The stages move as a pipeline with bubbles squeezed out: a stage
//! loads when it is empty or the next one loads. The buffer takes a beat while its fill, counted
//! as at the current block's first step (the bits a block's later steps consume are freed when
//! the block ends), leaves room for one.
//!
//! The block walker says how many values a block has and where a record ends: there the decoder
//! drops the padding and the rest of the beat and waits for the next record's first beat.
//!
//! `error` (sticky until `start`) flags a stream the golden decoder rejects (SPEC 8.2): a record
//! shorter than its blocks, extra bytes after them, non-zero padding, an Exp-Golomb prefix of 16
//! zeros or more, a sparse value of 0 under a set mask bit, or a golomb value above the largest
//! a `k`-bit value quantises to. The decoder never waits for more than a record holds: on a
//! corrupt record it flags the error, walks the rest of the tensor's blocks and finishes. `bytes` counts the bytes taken since `start`.

use super::{bits_for, const_mul, crc8_function, fixed_block_mode, params, walker, CodecGeom, Text};
use super::{BM_DCT, BM_GOLOMB, BM_RAW, BM_SPARSE, MODE_AUTO, MODE_DCT, MODE_GOLOMB, MODE_RAW, MODE_SPARSE};
use cbnn::codec::check::CRC8_INIT;
use cbnn::codec::dct::DctMatrix;
use cbnn::hw::codec_geom::Need;
use rust_hdl::prelude::*;

/// `D = 8 N` bits of values out, `PD = 8 P` bits of bytes in.
#[derive(LogicBlock)]
pub struct CodecDecoder<const D: usize, const PD: usize> {
    pub clock: Signal<In, Clock>,
    /// Rewinds to the first block of a row (a band's first row) and clears counter and error.
    pub start: Signal<In, Bit>,
    /// The layer's codec parameters, as for the encoder.
    pub mode: Signal<In, Bits<3>>,
    pub bits: Signal<In, Bits<4>>,
    pub step_t: Signal<In, Bits<3>>,
    pub keep: Signal<In, Bits<5>>,
    pub eg: Signal<In, Bits<3>>,
    pub t_ch: Signal<In, Bits<16>>,
    pub t_w: Signal<In, Bits<16>>,
    /// Byte `j` of the beat in bits `[8j + 7 : 8j]`, `in_nbytes` valid; `in_last` ends a record.
    pub in_valid: Signal<In, Bit>,
    pub in_data: Signal<In, Bits<PD>>,
    pub in_nbytes: Signal<In, Bits<5>>,
    pub in_last: Signal<In, Bit>,
    pub in_ready: Signal<Out, Bit>,
    /// Value `i` in bits `[8i + 7 : 8i]`, lanes past a short block 0.
    pub out_valid: Signal<Out, Bit>,
    pub out_data: Signal<Out, Bits<D>>,
    pub out_ready: Signal<In, Bit>,
    pub bytes: Signal<Out, Bits<32>>,
    pub error: Signal<Out, Bit>,
    /// `S`, channels per segment (the walker's record length); `N` and `P` are `D / 8`, `PD / 8`.
    seg_c: Constant<Bits<16>>,
    /// Whether records end with a CRC-8 check byte (SPEC 8.9, `CodecGeom::check`).
    chk_c: Constant<Bit>,
}

impl<const D: usize, const PD: usize> CodecDecoder<D, PD> {
    pub fn new(geom: CodecGeom) -> Self {
        assert!(D == 8 * geom.block && PD == 8 * geom.port_bytes, "CodecDecoder<{D}, {PD}> for {geom:?}");
        CodecDecoder {
            clock: Default::default(),
            start: Default::default(),
            mode: Default::default(),
            bits: Default::default(),
            step_t: Default::default(),
            keep: Default::default(),
            eg: Default::default(),
            t_ch: Default::default(),
            t_w: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_nbytes: Default::default(),
            in_last: Default::default(),
            in_ready: Default::default(),
            out_valid: Default::default(),
            out_data: Default::default(),
            out_ready: Default::default(),
            bytes: Default::default(),
            error: Default::default(),
            seg_c: Constant::new((geom.segment as LiteralType).into()),
            chk_c: Constant::new(geom.check),
        }
    }
}

impl<const D: usize, const PD: usize> Logic for CodecDecoder<D, PD> {
    /// Not modelled for rust-hdl's simulator: the Verilog is the block (see `super`).
    fn update(&mut self) {}

    fn connect(&mut self) {
        for s in [&mut self.in_ready, &mut self.out_valid, &mut self.error] {
            s.connect();
        }
        self.out_data.connect();
        self.bytes.connect();
    }

    fn hdl(&self) -> Verilog {
        let g = CodecGeom::new(D / 8, PD / 8, self.seg_c.val().index()).with_check(self.chk_c.val());
        Verilog::Custom(verilog_body(&g))
    }
}

/// `lz16(x)`: leading zeros of a 16-bit value (16 for 0), 5 bits.
fn lz16_function(v: &mut Text) {
    v.line("function [4:0] lz16;");
    v.line("    input [15:0] x;");
    v.line("    begin");
    let mut e = "5'd16".to_string();
    for b in 0..16 {
        e = format!("x[{b}] ? 5'd{} : {e}", 15 - b);
    }
    v.line(format!("        lz16 = {e};"));
    v.line("    end");
    v.line("endfunction");
}

/// Bits of the window a field step reads: the longest Exp-Golomb code it can meet (16 zeros,
/// 24 value bits) and its sign.
const WIN: usize = 48;

/// Bits a head step may consume: the auto header, `N` mask bits and `N` 8-bit fields.
fn head_bits(n: usize) -> usize {
    2 + 9 * n
}

/// Bits a step reads: the head's or a field's window, whichever is longer.
fn window_bits(n: usize) -> usize {
    head_bits(n).max(WIN)
}

/// Bits of the shift buffer: [`CodecGeom::buffer_bits`] (a whole block and a beat, the fill
/// `in_ready` allows) and a byte for the bits of its top byte already consumed.
fn store_bits(g: &CodecGeom) -> usize {
    g.buffer_bits() + 8
}

/// `name = x * bits` (`x` a `w`-bit wire, the product `out` bits, `bits` in 1..=8): each
/// constant product as shifts and adds (at most two terms; no multiplier for synthesis to map to
/// a DSP block), chosen by the layer-static `bits`, so that `x` passes one adder and a
/// multiplexer instead of a chain of four adders on the parser's step loop.
fn times_bits(v: &mut Text, name: &str, x: &str, w: usize, out: usize) {
    let xw = format!("{{{}'d0, {x}}}", out - w);
    v.line(format!("reg [{}:0] {name};", out - 1));
    v.line("always @(*) begin");
    v.line("    case (bits)");
    for k in 1..=8u32 {
        let e = match k {
            // 7x as 8x - x: one subtractor instead of two adders.
            7 => format!("({xw} << 3) - {xw}"),
            _ => (0..4).filter(|b| k >> b & 1 == 1).map(|b| format!("({xw} << {b})")).collect::<Vec<_>>().join(" + "),
        };
        v.line(format!("        4'd{k}: {name} = {e};"));
    }
    v.line(format!("        default: {name} = {out}'d0;"));
    v.line("    endcase");
    v.line("end");
}

/// `name`: the number of set bits of the `n`-bit `x`, `out` bits wide, as a balanced tree of
/// adders (depth log2 n, where the prefix counts `pc{i}` are a chain of n).
fn popcount_tree(v: &mut Text, name: &str, x: &str, n: usize, out: usize) {
    let mut level: Vec<String> = (0..n).map(|i| format!("{{{}'d0, {x}[{i}]}}", out - 1)).collect();
    let mut depth = 0;
    while level.len() > 1 {
        let mut next = Vec::new();
        for (k, pair) in level.chunks(2).enumerate() {
            if pair.len() == 2 {
                let w = format!("{name}_{depth}_{k}");
                v.line(format!("wire [{}:0] {w} = {} + {};", out - 1, pair[0], pair[1]));
                next.push(w);
            } else {
                next.push(pair[0].clone());
            }
        }
        level = next;
        depth += 1;
    }
    v.line(format!("wire [{}:0] {name} = {};", out - 1, level[0]));
}

/// The head step, from the buffer's top: the block mode `pbm`, the mask `mvec` (lane `i` in bit
/// `i`), the values `hv{i}` of raw and sparse blocks (0 otherwise), the bits consumed `hl`
/// (`ob` bits) and `h_fields` (a dct or golomb block with Exp-Golomb fields to follow).
fn head_step(v: &mut Text, g: &CodecGeom, ob: usize, unused: &mut Vec<String>) {
    let n = g.block;
    let (wh, cb) = (head_bits(n), bits_for(n));
    fixed_block_mode(v);
    let wt = window_bits(n);
    v.line(format!("wire [{}:0] blk = win[{}:{}];", wh - 1, wt - 1, wt - wh));
    v.line(format!("wire [2:0] pbm = hdr_on ? {{1'b0, blk[{}:{}]}} : fixed_bm;", wh - 1, wh - 2));
    v.line(format!("wire hb_raw = pbm == 3'd{BM_RAW}; wire hb_sparse = pbm == 3'd{BM_SPARSE};"));
    v.line(format!("wire hb_dct = pbm == 3'd{BM_DCT}; wire hb_gol = pbm == 3'd{BM_GOLOMB};"));
    // The payload after the header (a header-less block ends 2 bits earlier).
    let ws = wh - 2;
    v.line(format!("wire [{}:0] s_h = hdr_on ? blk[{}:0] : blk[{}:2];", ws - 1, ws - 1, wh - 1));
    v.line("wire [4:0] mlen = (hb_sparse | hb_gol) ? wk_n5 : hb_dct ? keep : 5'd0;");
    let bits: Vec<String> = (0..n).rev().map(|i| format!("(s_h[{}] & (5'd{i} < mlen))", ws - 1 - i)).collect();
    v.line(format!("wire [{}:0] mvec = {{{}}};", n - 1, bits.join(", ")));
    // Fields: a sparse block's start after its `n` mask bits, a raw block's right away.
    v.line(format!("wire [{}:0] s_sh = s_h << (hb_sparse ? wk_n5 : 5'd0);", ws - 1));
    let pw = 8 * n;
    v.line(format!("wire [{}:0] s_pl = s_sh[{}:{}];", pw - 1, ws - 1, ws - pw));
    unused.push(format!("s_sh[{}:0]", ws - pw - 1));
    // Field m of either mode: k bits at m*k.
    for m in 0..n {
        v.line(format!("reg [7:0] fd{m};"));
        v.line("always @(*) begin");
        v.line("    case (bits)");
        for k in 1..=8 {
            let hi = pw - 1 - m * k;
            let f = format!("s_pl[{hi}:{}]", hi + 1 - k);
            let f = if k < 8 { format!("{{{}'d0, {f}}}", 8 - k) } else { f };
            v.line(format!("        4'd{k}: fd{m} = {f};"));
        }
        v.line(format!("        default: fd{m} = 8'd0;"));
        v.line("    endcase");
        v.line("end");
    }
    // pc{i}: set mask bits before lane i, the index of lane i's sparse field.
    v.line(format!("wire [{}:0] pc0 = {cb}'d0;", cb - 1));
    for i in 0..n - 1 {
        v.line(format!("wire [{}:0] pc{} = pc{i} + {{{}'d0, mvec[{i}]}};", cb - 1, i + 1, cb - 1));
    }
    for i in 0..n {
        v.line(format!("reg [7:0] sp{i};"));
        v.line("always @(*) begin");
        v.line(format!("    case (pc{i})"));
        for m in 0..=i {
            v.line(format!("        {cb}'d{m}: sp{i} = fd{m};"));
        }
        v.line(format!("        default: sp{i} = 8'd0;"));
        v.line("    endcase");
        v.line("end");
        v.line(format!(
            "wire [7:0] hv{i} = hb_raw ? ((5'd{i} < wk_n5) ? fd{i} : 8'd0) : (hb_sparse & mvec[{i}]) ? sp{i} : 8'd0;"
        ));
    }
    // Fixed fields' bits: n*k (raw) or popcount(mask)*k (sparse).
    popcount_tree(v, "mcnt", "mvec", n, 5);
    v.line("wire [4:0] hcnt = hb_raw ? wk_n5 : hb_sparse ? mcnt : 5'd0;");
    times_bits(v, "hkb", "hcnt", 5, ob);
    v.line(format!("wire [{}:0] hl = (hdr_on ? {ob}'d2 : {ob}'d0) + {{{}'d0, mlen}} + hkb;", ob - 1, ob - 5));
    v.line("wire h_fields = (hb_dct | hb_gol) & (|mvec);");
    // SPEC 8.2: a sparse value of 0 under a set mask bit (the encoder never writes one).
    let zeros: Vec<String> = (0..n).map(|i| format!("(mvec[{i}] & (sp{i} == 8'd0))")).collect();
    v.line(format!("wire h_zero = hb_sparse & ({});", zeros.join(" | ")));
}

/// A field step, from the buffer's top: the Exp-Golomb code of order `eg` (`z` zeros, then the
/// `z + eg + 1`-bit `w`; the value `w - 2^eg + 1`), for dct its sign; `fl` bits consumed, `fj`
/// the field's lane or coefficient (the lowest bit left in `fmask`), `f_last` the block's last.
fn field_step(v: &mut Text, g: &CodecGeom, unused: &mut Vec<String>) {
    let n = g.block;
    let jb = bits_for(n - 1);
    let wt = window_bits(n);
    v.line(format!("wire [{}:0] wd = win[{}:{}];", WIN - 1, wt - 1, wt - WIN));
    v.line("wire [4:0] z = lz16(wd[47:32]);");
    v.line("wire [4:0] ln = z + {2'd0, eg} + 5'd1;");
    v.line("wire [47:0] tz = wd << z;");
    v.line("wire [23:0] ev = (tz[47:24] >> (5'd24 - ln)) - (24'd1 << eg) + 24'd1;");
    v.line(format!("wire f_dct = mode != 3'd{MODE_GOLOMB};"));
    v.line("wire sg = f_dct & tz[6'd47 - {1'b0, ln}];");
    v.line("wire [5:0] fl = {1'b0, z} + {1'b0, ln} + {5'd0, f_dct};");
    unused.push("tz[23:0]".into());
    unused.push("ev[23:16]".into());
    let mut e = format!("{jb}'d{}", n - 1);
    for j in (0..n - 1).rev() {
        e = format!("fmask[{j}] ? {jb}'d{j} : {e}");
    }
    v.line(format!("wire [{}:0] fj = {e};", jb - 1));
    v.line(format!("wire [{}:0] fmask_nx = fmask & (fmask - {n}'d1);", n - 1));
    v.line("wire f_last = ~|fmask_nx;");
    // SPEC 8.8: a golomb value above (2^k - 1 + step/2) >> t, the largest any k-bit value
    // quantises to (the encoder never writes one).
    v.line("wire [8:0] ghalf = (step_t == 3'd0) ? 9'd0 : (9'd1 << (step_t - 3'd1));");
    v.line("wire [8:0] gmaxq = ({1'b0, kmax} + ghalf) >> step_t;");
    v.line("wire f_big = ~f_dct & (ev > {15'd0, gmaxq});");
}

/// Stage A, from `[F]`: the golomb value `min(q << step_t, 2^k - 1)` and the multiples
/// `X' * m` (`X' = |Xq| << step_t`, 24 bits) for each distinct magnitude `m` of the matrix.
fn products(v: &mut Text, mags: &[i32]) {
    v.line("wire [22:0] gq = {7'd0, f_mag} << step_t;");
    v.line("wire [7:0] gv = (gq > {15'd0, kmax}) ? kmax : gq[7:0];");
    v.line("wire [23:0] xpm = {11'd0, f_mag[12:0]} << step_t;");
    for (k, &m) in mags.iter().enumerate() {
        v.line(format!("wire [23:0] xm{k} = {};", const_mul("xpm", m, 24)));
    }
}

/// The distinct magnitudes of the `N`-point matrix, and per `(j, i)` the index of `|T[j][i]|`.
fn magnitudes(m: &DctMatrix) -> (Vec<i32>, Vec<Vec<usize>>) {
    let n = m.n();
    let mut mags: Vec<i32> = Vec::new();
    for j in 0..n {
        for i in 0..n {
            let a = m.get(j, i).abs();
            if !mags.contains(&a) {
                mags.push(a);
            }
        }
    }
    let idx =
        (0..n).map(|j| (0..n).map(|i| mags.iter().position(|&a| a == m.get(j, i).abs()).unwrap()).collect()).collect();
    (mags, idx)
}

/// Stage C's dct addends: lane `i` adds `T[j][i] * X'` with `j = a_j`, as the multiple picked by
/// `j` (shared with lane `N-1-i`, `|T[j][N-1-i]| = |T[j][i]|`) and the sign `a_sign ^ (T < 0)`.
fn addends(v: &mut Text, m: &DctMatrix, idx: &[Vec<usize>]) {
    let n = m.n();
    let jb = bits_for(n - 1);
    for i in 0..n / 2 {
        assert!((0..n).all(|j| idx[j][i] == idx[j][n - 1 - i]), "HEVC matrix symmetry");
        v.line(format!("reg [23:0] sel{i};"));
        v.line("always @(*) begin");
        v.line("    case (a_j)");
        for (j, row) in idx.iter().enumerate() {
            v.line(format!("        {jb}'d{j}: sel{i} = a_m{};", row[i]));
        }
        v.line("    endcase");
        v.line("end");
    }
    for i in 0..n {
        let tneg: String = (0..n).rev().map(|j| if m.get(j, i) < 0 { '1' } else { '0' }).collect();
        v.line(format!("wire [{}:0] tn{i} = {n}'b{tneg};", n - 1));
        v.line(format!("wire ng{i} = a_sign ^ tn{i}[a_j];"));
        let s = i.min(n - 1 - i);
        v.line(format!("wire [23:0] ad{i} = acc{i} + (sel{s} ^ {{24{{ng{i}}}}}) + {{23'd0, ng{i}}};"));
    }
}

/// The reconstruction of the collected block into `recon` (SPEC 8.5 decoding for dct lanes:
/// `clamp((sum + 2^(r-1)) >> r, 0, 2^k - 1)` with floor; the other modes' lanes as collected).
fn reconstruction(v: &mut Text, g: &CodecGeom, unused: &mut Vec<String>) {
    let n = g.block;
    let r = 6 + n.trailing_zeros() as usize;
    let hw = 24 - r;
    v.line(format!("wire c_dct = c_bm == 3'd{BM_DCT};"));
    let mut lanes = Vec::new();
    for i in 0..n {
        v.line(format!("wire [23:0] ir{i} = acc{i} + 24'd{};", 1u32 << (r - 1)));
        v.line(format!("wire [{}:0] iv{i} = ir{i}[23:{r}];", hw - 1));
        v.line(format!(
            "wire [7:0] iu{i} = iv{i}[{}] ? 8'd0 : (iv{i} > {{{}'d0, kmax}}) ? kmax : iv{i}[7:0];",
            hw - 1,
            hw - 8
        ));
        v.line(format!("wire [7:0] rc{i} = (5'd{i} >= c_n) ? 8'd0 : c_dct ? iu{i} : acc{i}[7:0];"));
        unused.push(format!("ir{i}[{}:0]", r - 1));
        lanes.push(format!("rc{i}"));
    }
    lanes.reverse();
    v.line(format!("wire [{}:0] recon = {{{}}};", 8 * n - 1, lanes.join(", ")));
}

/// Registers: buffer, parser state, stages F, A, C.
fn declarations(v: &mut Text, g: &CodecGeom, mags: usize) {
    let (n, sw) = (g.block, store_bits(g));
    let jb = bits_for(n - 1);
    v.line(format!("reg [{}:0] dbuf; reg [2:0] dbo; reg [15:0] dfill, dcons; reg dlast, dskip;", sw - 1));
    v.line(format!("reg fph; reg [{}:0] fmask;", n - 1));
    if g.check {
        v.line("reg [7:0] crc_r;");
    }
    v.line(format!(
        "reg f_valid, f_head, f_done, f_sign; reg [2:0] f_bm; reg [4:0] f_n; reg [{}:0] f_j; reg [15:0] f_mag;",
        jb - 1
    ));
    v.line(format!(
        "reg a_valid, a_head, a_done, a_sign; reg [2:0] a_bm; reg [4:0] a_n; reg [{}:0] a_j; reg [7:0] a_gv;",
        jb - 1
    ));
    v.line("reg c_full; reg [2:0] c_bm; reg [4:0] c_n;");
    for i in 0..n {
        v.line(format!("reg [7:0] f_v{i}, a_v{i}; reg [23:0] acc{i};"));
    }
    for k in 0..mags {
        v.line(format!("reg [23:0] a_m{k};"));
    }
}

/// The decoder's Verilog for geometry `g`.
fn verilog_body(g: &CodecGeom) -> String {
    let (n, p, dw, sw) = (g.block, g.port_bytes, g.buffer_bits(), store_bits(g));
    let pb = 8 * p;
    let ob = bits_for(head_bits(n));
    let wt = window_bits(n);
    let m = DctMatrix::new(n);
    let (mags, idx) = magnitudes(&m);
    let mut v = Text::default();
    let mut unused = Vec::new();
    lz16_function(&mut v);
    params(&mut v);
    declarations(&mut v, g, mags.len());
    // Stages move together, bubbles squeezed out: each loads when empty or when the next loads.
    v.line("wire o_adv = ~out_valid | out_ready;");
    v.line("wire c_ok = ~c_full | o_adv;");
    v.line("wire a_ok = ~a_valid | c_ok;");
    v.line("wire f_ok = ~f_valid | a_ok;");
    // A block's first step waits for the longest block of the layer's mode (or the record's
    // last beat), so that its field steps never wait for input.
    need_table(&mut v, g);
    // With the record check, a record's last block waits for the record's last beat: its
    // bits may all be in earlier beats, and the check byte must be in before the record ends.
    let wait = if g.check { " & ~wk_rec_last" } else { "" };
    v.line("wire fire_h;");
    v.line("wire fire_f = f_ok & fph;");
    v.line("wire step = fire_h | fire_f;");
    v.line("wire bdone;");
    walker(&mut v, g, "bdone");
    v.line(format!("assign fire_h = f_ok & ~fph & ~dskip & (dlast | ((dfill >= need){wait}));"));
    v.line("wire [4:0] wk_n5 = wk_n16[4:0];");
    // The buffer only ever shifts by whole bytes; `dbo` bits of its top byte are consumed, and
    // the steps read a window aligned by a 3-bit shift.
    v.line(format!("wire [{}:0] wsh = dbuf[{}:{}] << dbo;", wt + 6, sw - 1, sw - wt - 7));
    v.line(format!("wire [{}:0] win = wsh[{}:7];", wt - 1, wt + 6));
    unused.push("wsh[6:0]".into());
    unused.push("wk_n16[15:5]".into());
    head_step(&mut v, g, ob, &mut unused);
    field_step(&mut v, g, &mut unused);
    v.line("assign bdone = (fire_h & ~h_fields) | (fire_f & f_last);");
    let fl = if ob > 6 { format!("{{{}'d0, fl}}", ob - 6) } else { "fl".to_string() };
    v.line(format!("wire [{}:0] po = fph ? {fl} : hl;", ob - 1));
    // Rejected fields: an Exp-Golomb prefix of 16 zeros or more (SPEC 8.2), a golomb value too
    // large, a sparse value of 0.
    v.line("wire perr = (fph & ((z == 5'd16) | f_big)) | (~fph & h_zero);");
    products(&mut v, &mags);
    addends(&mut v, &m, &idx);
    reconstruction(&mut v, g, &mut unused);
    v.line(format!("wire [15:0] po16 = {{{}'d0, po}};", 16 - ob));
    v.line(format!("wire [{ob}:0] tot = {{1'b0, po}} + {{{}'d0, dbo}};", ob - 2));
    v.line(format!("wire [{}:0] prest = dbuf << {{tot[{ob}:3], 3'b000}};", sw - 1));
    v.line(format!("wire [15:0] pt16 = prest[{}:{}] << tot[2:0];", sw - 1, sw - 16));
    v.line("wire [7:0] ptail = pt16[15:8];");
    unused.push("pt16[7:0]".into());
    v.line("wire over = po16 > dfill;");
    v.line("wire [15:0] left = over ? 16'd0 : dfill - po16;");
    // After a record's last block: its padding (under 8 bits, zero), then the check byte if any.
    let extra = if g.check { "(left < 16'd8) | (left >= 16'd16)" } else { "(left >= 16'd8)" };
    v.line(format!(
        "wire pad_bad = wk_rec_last & (~dlast | over | {extra} | ((ptail & ~(8'hff >> left[2:0])) != 8'd0));"
    ));
    v.line("wire rec_end = bdone & wk_rec_last;");
    let bytes: Vec<String> = (0..p).map(|j| format!("in_data[{}:{}]", 8 * j + 7, 8 * j)).collect();
    v.line(format!("wire [{}:0] beat = {{{}}};", pb - 1, bytes.join(", ")));
    v.line(format!("wire [{}:0] beat_m = beat & ~({{{pb}{{1'b1}}}} >> {{in_nbytes, 3'b000}});", pb - 1));
    // The record check (SPEC 8.9): a CRC-8 register over every byte of a record's beats, its
    // check byte included, which leaves 0 for an intact record.
    if g.check {
        crc8_function(&mut v);
        v.line("wire [7:0] dc0 = crc_r;");
        for j in 0..p {
            v.line(format!("wire [7:0] dc{} = crc8_byte(dc{j}, in_data[{}:{}]);", j + 1, 8 * j + 7, 8 * j));
        }
        let mut e = format!("dc{p}");
        for k in (0..p).rev() {
            e = format!("(in_nbytes == 5'd{k}) ? dc{k} : {e}");
        }
        v.line(format!("wire [7:0] dcn = {e};"));
    }
    // The fill as at the block's first step: a later step's bits are freed when the block ends.
    v.line("wire [15:0] afill = dfill + dcons;");
    v.line("always @(*) begin");
    v.line(format!("    in_ready = ~dlast & (dskip | (afill <= 16'd{}));", dw - pb));
    v.line("end");
    v.line("wire take = in_valid & in_ready;");
    v.line("wire [15:0] fill_s = step ? left : dfill;");
    v.line("wire [2:0] dbo_s = (step & ~over) ? tot[2:0] : step ? 3'd0 : dbo;");
    v.line(format!("wire [{}:0] buf_s = step ? prest : dbuf;", sw - 1));
    // The beat goes right below the bytes kept (whole bytes: the fill and the consumed bits).
    let fb = bits_for(sw);
    v.line("wire [15:0] kept = fill_s + {13'd0, dbo_s};");
    v.line(format!("wire [{}:0] incoming = {{beat_m, {}'d0}} >> {{kept[{}:3], 3'b000}};", sw - 1, sw - pb, fb - 1));
    unused.push(format!("kept[15:{fb}]"));
    unused.push("kept[2:0]".into());
    unused.retain(|u| !u.is_empty());
    unused.push("chk_c".into());
    v.line(format!("wire unused_ok = &{{1'b0, {}, 1'b0}};", unused.join(", ")));
    clocked(&mut v, g);
    v.0
}

/// The registers' updates.
fn clocked(v: &mut Text, g: &CodecGeom) {
    let (n, dw) = (g.block, store_bits(g));
    let mags = magnitudes(&DctMatrix::new(n)).0.len();
    v.line("always @(posedge clock) begin");
    v.line("    if (start) begin");
    v.line(format!(
        "        dbuf <= {{{dw}{{1'b0}}}}; dbo <= 3'd0; dfill <= 16'd0; dcons <= 16'd0; dlast <= 1'b0; dskip <= 1'b0;"
    ));
    v.line("        fph <= 1'b0; f_valid <= 1'b0; a_valid <= 1'b0; c_full <= 1'b0;");
    v.line("        out_valid <= 1'b0; bytes <= 32'd0; error <= 1'b0;");
    if g.check {
        v.line(format!("        crc_r <= 8'h{CRC8_INIT:02x};"));
    }
    v.line("    end else begin");
    v.line("        if (take) bytes <= bytes + {27'd0, in_nbytes};");
    let crc_bad = if g.check { " | (take & in_last & (dcn != 8'd0))" } else { "" };
    v.line(format!("        if ((step & (over | perr)) | (rec_end & pad_bad){crc_bad}) error <= 1'b1;"));
    if g.check {
        v.line(format!("        if (take) crc_r <= in_last ? 8'h{CRC8_INIT:02x} : dcn;"));
    }
    v.line("        if (rec_end) begin");
    v.line(format!("            dbuf <= {{{dw}{{1'b0}}}}; dbo <= 3'd0; dfill <= 16'd0; dlast <= 1'b0;"));
    // A record whose blocks ended before its last beat: drop the rest of it.
    v.line("            dskip <= ~dlast & ~(take & in_last);");
    v.line("        end else if (take & ~dskip) begin");
    v.line("            dbuf <= buf_s | incoming; dbo <= dbo_s;");
    v.line("            dfill <= fill_s + {8'd0, in_nbytes, 3'b000}; dlast <= in_last;");
    v.line("        end else begin");
    v.line("            dbuf <= buf_s; dbo <= dbo_s; dfill <= fill_s;");
    v.line("            if (take & in_last) dskip <= 1'b0;");
    v.line("        end");
    v.line("        if (bdone) dcons <= 16'd0; else if (step) dcons <= dcons + po16;");
    v.line("        if (fire_h & h_fields) begin fph <= 1'b1; fmask <= mvec; end");
    v.line("        else if (fire_f) begin fph <= ~f_last; fmask <= fmask_nx; end");
    // Stage F: the step's result.
    let fv: String = (0..n).map(|i| format!(" f_v{i} <= hv{i};")).collect();
    v.line("        if (f_ok) f_valid <= step;");
    v.line(format!(
        "        if (step & f_ok) begin f_head <= fire_h; f_done <= bdone; f_bm <= fire_h ? pbm : f_dct ? 3'd{BM_DCT} : 3'd{BM_GOLOMB}; f_n <= wk_n5; f_j <= fj; f_mag <= ev[15:0]; f_sign <= sg;{fv} end"
    ));
    // Stage A: golomb value and dct multiples.
    let av: String = (0..n).map(|i| format!(" a_v{i} <= f_v{i};")).collect();
    let am: String = (0..mags).map(|k| format!(" a_m{k} <= xm{k};")).collect();
    v.line("        if (a_ok) a_valid <= f_valid;");
    v.line(format!(
        "        if (f_valid & a_ok) begin a_head <= f_head; a_done <= f_done; a_bm <= f_bm; a_n <= f_n; a_j <= f_j; a_sign <= f_sign; a_gv <= gv;{av}{am} end"
    ));
    // Stage C: collect the block.
    v.line("        if (c_ok) c_full <= a_valid & a_done;");
    v.line("        if (a_valid & c_ok) begin");
    let jb = bits_for(n - 1);
    let heads: String = (0..n).map(|i| format!(" acc{i} <= {{16'd0, a_v{i}}};")).collect();
    let dcts: String = (0..n).map(|i| format!(" acc{i} <= ad{i};")).collect();
    let gols: String = (0..n).map(|i| format!(" if (a_j == {jb}'d{i}) acc{i} <= {{16'd0, a_gv}};")).collect();
    v.line(format!("            if (a_head) begin c_bm <= a_bm; c_n <= a_n;{heads} end"));
    v.line(format!("            else if (a_bm == 3'd{BM_DCT}) begin{dcts} end"));
    v.line(format!("            else begin{gols} end"));
    v.line("        end");
    v.line("        if (o_adv) begin out_valid <= c_full; out_data <= recon; end");
    v.line("    end");
    v.line("end");
}

/// The decoder's `need` (`CodecGeom::decoder_need`) over the layer's `mode` and `bits`
/// registers, built from `decoder_need_rule`: the conditions (auto headers, each mode) that share
/// a form select it together, and the form of single-bit auto tensors (no header) is the default.
fn need_table(v: &mut Text, g: &CodecGeom) {
    let ln = g.block.trailing_zeros();
    let term = |n: Need| match n {
        Need::Fixed(b) => format!("16'd{b}"),
        Need::PerValue { extra: 0 } => format!("({{12'd0, bits}} << {ln})"),
        Need::PerValue { extra } => format!("(({{12'd0, bits}} + 16'd{extra}) << {ln})"),
    };
    let default = g.decoder_need_rule(MODE_AUTO, false);
    let mut cases: Vec<(String, Need)> = vec![("hdr_on".into(), g.decoder_need_rule(MODE_AUTO, true))];
    for mode in [MODE_RAW, MODE_SPARSE, MODE_DCT, MODE_GOLOMB] {
        cases.push((format!("mode == 3'd{mode}"), g.decoder_need_rule(mode, false)));
    }
    let mut groups: Vec<(Need, Vec<String>)> = Vec::new();
    for (cond, rule) in cases.into_iter().filter(|(_, r)| *r != default) {
        match groups.iter_mut().find(|(r, _)| *r == rule) {
            Some((_, conds)) => conds.push(cond),
            None => groups.push((rule, vec![cond])),
        }
    }
    let mut e = String::new();
    for (rule, conds) in groups {
        let cond = if conds.len() == 1 { format!("({})", conds[0]) } else { format!("({})", conds.join(" || ")) };
        e += &format!("{cond} ? {} : ", term(rule));
    }
    e += &term(default);
    v.line(format!("wire [15:0] need = {e};"));
}
