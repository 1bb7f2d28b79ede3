//! Codec decoder (SPEC 8.3-8.6, 8.x golomb): a layer's records as beats of `P` bytes in, one
//! block of `N` reconstructed values per cycle out, in the activation stream's format.
//!
//! Pipeline: incoming bytes are appended to a shift buffer; the parser (combinational) reads one
//! block from the buffer's top as soon as the buffer holds the longest block the layer's mode
//! can produce, or the record's last beat (`in_last`) has arrived: the auto header, the mask,
//! then the fields one after the other (each field's length depends on the previous ones, so this
//! is a chain). The parse stage register holds the block's magnitudes and signs; the
//! reconstruction (combinational) undoes the quantisation and, for dct blocks, applies the
//! inverse HEVC DCT with rounding and clamping (SPEC 8.5); the output register holds the block.
//! The block walker says how many values a block has and where a record ends: there the
//! decoder drops the padding and the rest of the beat and waits for the next record's first beat.
//!
//! `error` (sticky until `start`) flags a stream the golden decoder would reject for its
//! structure: a record shorter than its blocks, extra bytes after them, non-zero padding, or an
//! Exp-Golomb prefix longer than any valid code. `bytes` counts the bytes taken since `start`.

use super::{bits_for, const_mul, fixed_block_mode, params, walker, CodecGeom, Text};
use super::{BM_DCT, BM_GOLOMB, BM_RAW, BM_SPARSE, BM_ZERO, MODE_DCT, MODE_GOLOMB, MODE_SPARSE};
use cbnn::codec::dct::DctMatrix;
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
        Verilog::Custom(verilog_body(&CodecGeom::new(D / 8, PD / 8, self.seg_c.val().index())))
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

/// Bits of the window a field is read from: the longest Exp-Golomb code the parser can meet
/// (16 zeros, 24 value bits) and its sign.
const WIN: usize = 48;

/// The parser: from the block at the buffer's top to its mode `pbm`, magnitudes `pv*`, signs
/// `ps*` and length `po`; `perr` for an over-long Exp-Golomb prefix. The block is consumed
/// field by field: each step shifts what is left by the field just read (at most one field
/// length), and keeps only as many bits as the remaining fields can need.
fn parser(v: &mut Text, g: &CodecGeom, unused: &mut Vec<String>) {
    let (n, mb, fw, dw) = (g.block, g.block_bits, g.field_bits, g.buffer_bits());
    let ob = bits_for(mb);
    fixed_block_mode(v);
    let wb = mb + WIN;
    v.line(format!("wire [{}:0] blk = {{dbuf[{}:{}], {WIN}'d0}};", wb - 1, dw - 1, dw - mb));
    v.line(format!("wire [2:0] pbm = hdr_on ? {{1'b0, blk[{}:{}]}} : fixed_bm;", wb - 1, wb - 2));
    v.line(format!("wire pb_dct = pbm == 3'd{BM_DCT}; wire pb_raw = pbm == 3'd{BM_RAW};"));
    v.line(format!("wire pb_fixed = pb_raw | (pbm == 3'd{BM_SPARSE});"));
    v.line(format!(
        "wire [4:0] pmlen = (pbm == 3'd{BM_SPARSE} || pbm == 3'd{BM_GOLOMB}) ? wk_n5 : pb_dct ? keep : 5'd0;"
    ));
    v.line(format!("wire [4:0] lim = pb_dct ? keep : (pbm == 3'd{BM_ZERO}) ? 5'd0 : wk_n5;"));
    // Header, then mask.
    let w1 = wb - 2;
    v.line(format!("wire [{}:0] sh_h = blk << (hdr_on ? 2 : 0);", wb - 1));
    v.line(format!("wire [{}:0] s_h = sh_h[{}:2];", w1 - 1, wb - 1));
    unused.push("sh_h[1:0]".into());
    let top = format!("s_h[{}:{}]", w1 - 1, w1 - n);
    let padded = if n < 16 { format!("{{{top}, {}'d0}}", 16 - n) } else { top };
    v.line(format!("wire [15:0] mvec = {padded} & ~(16'hffff >> pmlen);"));
    if n < 16 {
        unused.push(format!("mvec[{}:0]", 15 - n));
    }
    let mut w = n * fw + WIN;
    v.line(format!("wire [{}:0] sh_m = s_h << pmlen;", w1 - 1));
    v.line(format!("wire [{}:0] s0 = sh_m[{}:{}];", w - 1, w1 - 1, w1 - w));
    unused.push(format!("sh_m[{}:0]", w1 - w - 1));
    for i in 0..n {
        let t = w - 1;
        v.line(format!("wire [{}:0] wd{i} = s{i}[{t}:{}];", WIN - 1, w - WIN));
        v.line(format!("wire pr{i} = (5'd{i} < lim) & (pb_raw | mvec[{}]);", 15 - i));
        // Exp-Golomb: z zeros, then the (z + e + 1)-bit value w; q = w - 2^e + 1.
        v.line(format!("wire [4:0] z{i} = lz16(wd{i}[47:32]);"));
        v.line(format!("wire [4:0] ln{i} = z{i} + {{2'd0, eg}} + 5'd1;"));
        v.line(format!("wire [47:0] tz{i} = wd{i} << z{i};"));
        v.line(format!("wire [23:0] ev{i} = (tz{i}[47:24] >> (5'd24 - ln{i})) - (24'd1 << eg) + 24'd1;"));
        v.line(format!("wire sg{i} = pb_dct & tz{i}[6'd47 - {{1'b0, ln{i}}}];"));
        v.line(format!("wire [5:0] el{i} = {{1'b0, z{i}}} + {{1'b0, ln{i}}} + {{5'd0, pb_dct}};"));
        v.line(format!("wire [7:0] kv{i} = wd{i}[47:40] >> (4'd8 - bits);"));
        v.line(format!("wire [5:0] fl{i} = ~pr{i} ? 6'd0 : pb_fixed ? {{2'd0, bits}} : el{i};"));
        v.line(format!("wire [15:0] pv{i} = ~pr{i} ? 16'd0 : pb_fixed ? {{8'd0, kv{i}}} : ev{i}[15:0];"));
        v.line(format!("wire ps{i} = pr{i} & sg{i};"));
        unused.push(format!("tz{i}[23:0]"));
        unused.push(format!("ev{i}[23:16]"));
        if i + 1 < n {
            let w2 = (n - 1 - i) * fw + WIN;
            v.line(format!("wire [{t}:0] sh{i} = s{i} << fl{i};"));
            v.line(format!("wire [{}:0] s{} = sh{i}[{t}:{}];", w2 - 1, i + 1, w - w2));
            unused.push(format!("sh{i}[{}:0]", w - w2 - 1));
            w = w2;
        } else {
            unused.push(format!("s{i}[{}:0]", w - WIN - 1));
        }
    }
    let lens: Vec<String> = (0..n).map(|i| format!("{{{}'d0, fl{i}}}", ob - 6)).collect();
    v.line(format!(
        "wire [{}:0] po = (hdr_on ? {ob}'d2 : {ob}'d0) + {{{}'d0, pmlen}} + {};",
        ob - 1,
        ob - 5,
        lens.join(" + ")
    ));
    let bad: Vec<String> = (0..n).map(|i| format!("(pr{i} & ~pb_fixed & (z{i} == 5'd16))")).collect();
    v.line(format!("wire perr = {};", bad.join(" | ")));
}

/// The reconstruction of the parse-stage block (`pr_*`) into `recon` (SPEC 8.5 decoding,
/// golomb), in the widths a valid block needs (dct sums: 24 bits).
fn reconstruction(v: &mut Text, g: &CodecGeom, unused: &mut Vec<String>) {
    let n = g.block;
    let m = DctMatrix::new(n);
    let r = 6 + m.log2n() as usize;
    v.line(format!("wire rb_raw = (p_bm == 3'd{BM_RAW}) | (p_bm == 3'd{BM_SPARSE});"));
    v.line(format!("wire rb_golomb = p_bm == 3'd{BM_GOLOMB}; wire rb_dct = p_bm == 3'd{BM_DCT};"));
    for j in 0..n {
        v.line(format!("wire [13:0] xm{j} = {{1'b0, pr_v{j}[12:0]}};"));
        v.line(format!("wire [13:0] xq{j} = pr_s{j} ? (14'd0 - xm{j}) : xm{j};"));
        v.line(format!("wire [23:0] xp{j} = {{{{10{{xq{j}[13]}}}}, xq{j}}} << step_t;"));
    }
    let mut lanes = Vec::new();
    for i in 0..n {
        v.line(format!("wire [22:0] gq{i} = {{7'd0, pr_v{i}}} << step_t;"));
        v.line(format!("wire [7:0] gr{i} = (gq{i} > {{15'd0, kmax}}) ? kmax : gq{i}[7:0];"));
        let terms: Vec<String> = (0..n).map(|j| const_mul(&format!("xp{j}"), m.get(j, i), 24)).collect();
        v.line(format!("wire [23:0] is{i} = {};", terms.join(" + ")));
        // (sum + 2^(r-1)) >> r with floor, then clamped to 0..2^k - 1.
        v.line(format!("wire [23:0] ir{i} = is{i} + 24'd{};", 1u32 << (r - 1)));
        let hw = 24 - r;
        v.line(format!("wire [{}:0] iv{i} = ir{i}[23:{r}];", hw - 1));
        v.line(format!(
            "wire [7:0] iu{i} = iv{i}[{}] ? 8'd0 : (iv{i} > {{{}'d0, kmax}}) ? kmax : iv{i}[7:0];",
            hw - 1,
            hw - 8
        ));
        v.line(format!(
            "wire [7:0] rc{i} = (5'd{i} >= p_n) ? 8'd0 : rb_raw ? pr_v{i}[7:0] : rb_golomb ? gr{i} : rb_dct ? iu{i} : 8'd0;"
        ));
        unused.push(format!("ir{i}[{}:0]", r - 1));
        lanes.push(format!("rc{i}"));
    }
    lanes.reverse();
    v.line(format!("wire [{}:0] recon = {{{}}};", 8 * n - 1, lanes.join(", ")));
}

/// The decoder's Verilog for geometry `g`.
fn verilog_body(g: &CodecGeom) -> String {
    let (n, p, mb, dw) = (g.block, g.port_bytes, g.block_bits, g.buffer_bits());
    let pb = 8 * p;
    let mut v = Text::default();
    lz16_function(&mut v);
    params(&mut v);
    v.line(format!("reg [{}:0] dbuf; reg [15:0] dfill; reg dlast, dskip;", dw - 1));
    v.line("reg p_valid; reg [2:0] p_bm; reg [4:0] p_n;");
    for i in 0..n {
        v.line(format!("reg [15:0] pr_v{i}; reg pr_s{i};"));
    }
    v.line("wire o_adv = ~out_valid | out_ready;");
    v.line("wire p_free = ~p_valid | o_adv;");
    // The longest block of the layer's mode: a block can be parsed once that much is buffered.
    let ln = n.trailing_zeros();
    v.line(format!(
        "wire [15:0] need = (hdr_on || mode == 3'd{MODE_DCT}) ? 16'd{mb} : (mode == 3'd{MODE_SPARSE}) ? (({{12'd0, bits}} + 16'd1) << {ln}) : (mode == 3'd{MODE_GOLOMB}) ? 16'd{} : ({{12'd0, bits}} << {ln});",
        16 * n
    ));
    v.line("wire fire = p_free & ~dskip & (dlast | (dfill >= need));");
    walker(&mut v, g, "fire");
    v.line("wire [4:0] wk_n5 = wk_n16[4:0];");
    let mut unused = Vec::new();
    parser(&mut v, g, &mut unused);
    reconstruction(&mut v, g, &mut unused);
    let ob = bits_for(mb);
    v.line(format!("wire [15:0] po16 = {{{}'d0, po}};", 16 - ob));
    v.line(format!("wire [{}:0] prest = dbuf << po;", dw - 1));
    v.line(format!("wire [7:0] ptail = prest[{}:{}];", dw - 1, dw - 8));
    v.line("wire over = po16 > dfill;");
    v.line("wire [15:0] left = over ? 16'd0 : dfill - po16;");
    v.line(
        "wire pad_bad = wk_rec_last & (~dlast | over | (left >= 16'd8) | ((ptail & ~(8'hff >> left[2:0])) != 8'd0));",
    );
    unused.retain(|u| !u.is_empty());
    v.line(format!("wire unused_ok = &{{1'b0, {}, 1'b0}};", unused.join(", ")));
    v.line("wire rec_end = fire & wk_rec_last;");
    let bytes: Vec<String> = (0..p).map(|j| format!("in_data[{}:{}]", 8 * j + 7, 8 * j)).collect();
    v.line(format!("wire [{}:0] beat = {{{}}};", pb - 1, bytes.join(", ")));
    v.line(format!("wire [{}:0] beat_m = beat & ~({{{pb}{{1'b1}}}} >> {{in_nbytes, 3'b000}});", pb - 1));
    v.line("always @(*) begin");
    v.line(format!("    in_ready = ~dlast & (dskip | (dfill <= 16'd{}));", dw - pb));
    v.line("end");
    v.line("wire take = in_valid & in_ready;");
    v.line("wire [15:0] fill_s = fire ? (over ? 16'd0 : dfill - po16) : dfill;");
    v.line(format!("wire [{}:0] buf_s = fire ? prest : dbuf;", dw - 1));
    // The beat goes right below the bits kept (at most the buffer's width: a narrow shift).
    let fb = bits_for(dw);
    v.line(format!("wire [{}:0] incoming = {{beat_m, {}'d0}} >> fill_s[{}:0];", dw - 1, dw - pb, fb - 1));
    v.line(format!("wire unused_fill = &{{1'b0, fill_s[15:{fb}], 1'b0}};"));
    v.line("always @(posedge clock) begin");
    v.line("    if (start) begin");
    v.line(format!("        dbuf <= {{{dw}{{1'b0}}}}; dfill <= 16'd0; dlast <= 1'b0; dskip <= 1'b0;"));
    v.line("        p_valid <= 1'b0; out_valid <= 1'b0; bytes <= 32'd0; error <= 1'b0;");
    v.line("    end else begin");
    v.line("        if (take) bytes <= bytes + {27'd0, in_nbytes};");
    v.line("        if (fire & (over | perr | pad_bad)) error <= 1'b1;");
    v.line("        if (rec_end) begin");
    v.line(format!("            dbuf <= {{{dw}{{1'b0}}}}; dfill <= 16'd0; dlast <= 1'b0;"));
    // A record whose blocks ended before its last beat: drop the rest of it.
    v.line("            dskip <= ~dlast & ~(take & in_last);");
    v.line("        end else if (take & ~dskip) begin");
    v.line("            dbuf <= buf_s | incoming;");
    v.line("            dfill <= fill_s + {8'd0, in_nbytes, 3'b000}; dlast <= in_last;");
    v.line("        end else begin");
    v.line("            dbuf <= buf_s; dfill <= fill_s;");
    v.line("            if (take & in_last) dskip <= 1'b0;");
    v.line("        end");
    v.line("        if (p_free) begin");
    v.line("            p_valid <= fire;");
    let loads: String = (0..n).map(|i| format!(" pr_v{i} <= pv{i}; pr_s{i} <= ps{i};")).collect();
    v.line(format!("            if (fire) begin p_bm <= pbm; p_n <= wk_n5;{loads} end"));
    v.line("        end");
    v.line("        if (o_adv) begin out_valid <= p_valid; out_data <= recon; end");
    v.line("    end");
    v.line("end");
    v.0
}
