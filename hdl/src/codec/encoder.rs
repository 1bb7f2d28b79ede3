//! Codec encoder (SPEC 8.3-8.6, 8.x golomb): one block of `N` activation values per cycle in,
//! the layer's bitstream out as beats of `P` bytes, one record at a time.
//!
//! Each incoming block carries its value count (`in_n`, short blocks at a segment's end) and
//! whether it ends a record (`in_last`): the producer knows where it is in the tensor, and
//! records may arrive in any order (the core sends them filter tile by filter tile), each placed
//! by the DMA in its own slot. Pipeline: stage 1 holds the block while the coder (combinational) turns it into one
//! MSB-aligned code word and its length: the auto header, the mask, then one field per value
//! (raw/sparse: `k` bits; golomb: the Exp-Golomb code of `q - 1`; dct: the Exp-Golomb code of
//! `|Xq| - 1` and a sign), the dct computed with the HEVC matrix as constants and, in auto mode,
//! every candidate priced as in SPEC 8.6. Stage 2 holds the code word; the packer appends it to a
//! shift buffer and sends the buffer's top `P` bytes whenever it holds that many. After a
//! record's last block the packer pads to a byte, sends the rest as a short beat
//! (`out_nbytes < P`) marked `out_last`, and only then starts the next record, so every record
//! starts on a beat of its own and a DMA can place it knowing its byte count (SPEC 8.3).
//!
//! `bytes` counts the bytes sent since `start` (the layer's coded size); `idle` is high when
//! nothing is left inside.

use super::{bits_for, blen_function, const_mul, fixed_block_mode, params, CodecGeom, Text};
use super::{BM_DCT, BM_GOLOMB, BM_RAW, BM_SPARSE, BM_ZERO};
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
}

impl<const D: usize, const PD: usize> CodecEncoder<D, PD> {
    /// An encoder for blocks of `D / 8` values and beats of `PD / 8` bytes (4, 8 or 16 and a
    /// power of two up to 16: see [`CodecGeom::new`]).
    pub fn new() -> Self {
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
        Verilog::Custom(verilog_body(&CodecGeom::new(D / 8, PD / 8, 1)))
    }
}

impl<const D: usize, const PD: usize> Default for CodecEncoder<D, PD> {
    fn default() -> Self {
        Self::new()
    }
}

/// The coder: from the stage-1 block (`s1_v`, `s1_n`) to the LSB-aligned code word `code` of
/// `co` bits. Widths are the smallest that hold every value of a valid block.
fn coder(v: &mut Text, g: &CodecGeom) {
    let (n, mb, fw) = (g.block, g.block_bits, g.field_bits);
    let ob = bits_for(mb);
    let m = DctMatrix::new(n);
    // Half a step for rounding to nearest (0 at step 1), at the widths of q and |X|.
    v.line("wire [8:0] h9 = (step_t == 3'd0) ? 9'd0 : (9'd1 << (step_t - 3'd1));");
    v.line("wire [13:0] h14 = {5'd0, h9};");
    for i in 0..n {
        v.line(format!("wire [7:0] v{i} = s1_v[{}:{}] & kmax;", 8 * i + 7, 8 * i));
        v.line(format!("wire p{i} = 5'd{i} < s1_n;"));
        v.line(format!("wire nz{i} = p{i} & (v{i} != 8'd0);"));
        // golomb: the value quantised by the step, coded as Exp-Golomb of q - 1.
        v.line(format!("wire [8:0] q{i} = ({{1'b0, v{i}}} + h9) >> step_t;"));
        v.line(format!("wire gz{i} = p{i} & (q{i} != 9'd0);"));
        v.line(format!("wire [8:0] gw{i} = q{i} - 9'd1 + (9'd1 << eg);"));
        v.line(format!("wire [4:0] gl{i} = {{blen9(gw{i}), 1'b0}} - 5'd1 - {{2'd0, eg}};"));
        // dct: a short block is extended by repeating its last value (SPEC 8.5 step 1).
        let prev = if i == 0 { "v0".to_string() } else { format!("ve{}", i - 1) };
        v.line(format!("wire [7:0] ve{i} = p{i} ? v{i} : {prev};"));
        v.line(format!("wire [19:0] vx{i} = {{12'd0, ve{i}}};"));
    }
    for j in 0..n {
        let terms: Vec<String> = (0..n).map(|i| const_mul(&format!("vx{i}"), m.get(j, i), 20)).collect();
        v.line(format!("wire [19:0] xs{j} = {};", terms.join(" + ")));
        // (sum + 32) >> 6 with floor: the top 14 bits of the 20-bit two's complement sum.
        v.line(format!("wire [19:0] xr{j} = xs{j} + 20'd32;"));
        v.line(format!("wire [13:0] x{j} = xr{j}[19:6];"));
        v.line(format!("wire [13:0] ax{j} = x{j}[13] ? 14'd0 - x{j} : x{j};"));
        v.line(format!("wire [13:0] aq{j} = (5'd{j} < keep) ? ((ax{j} + h14) >> step_t) : 14'd0;"));
        v.line(format!("wire dz{j} = aq{j} != 14'd0;"));
        v.line(format!("wire [13:0] dw{j} = aq{j} - 14'd1 + (14'd1 << eg);"));
        // Exp-Golomb length 2L - 1 - e, plus the sign bit.
        v.line(format!("wire [4:0] dl{j} = {{blen14(dw{j}), 1'b0}} - {{2'd0, eg}};"));
        v.line(format!("wire [14:0] df{j} = {{dw{j}, x{j}[13]}};"));
    }
    // SPEC 8.6: every candidate priced, ties to the first of zero, sparse, raw, dct.
    let sum = |f: &dyn Fn(usize) -> String| (0..n).map(f).collect::<Vec<_>>().join(" + ");
    v.line(format!("wire zero_ok = ~({});", (0..n).map(|i| format!("nz{i}")).collect::<Vec<_>>().join(" | ")));
    v.line(format!(
        "wire [9:0] c_sparse = {{5'd0, s1_n}} + {};",
        sum(&|i| format!("(nz{i} ? {{6'd0, bits}} : 10'd0)"))
    ));
    v.line(format!("wire [9:0] c_raw = {};", sum(&|i| format!("(p{i} ? {{6'd0, bits}} : 10'd0)"))));
    v.line(format!("wire [9:0] c_dct = {{5'd0, keep}} + {};", sum(&|j| format!("(dz{j} ? {{5'd0, dl{j}}} : 10'd0)"))));
    v.line("wire [9:0] c_best = (c_raw < c_sparse) ? c_raw : c_sparse;");
    v.line(format!("wire [2:0] bm_lossless = (c_raw < c_sparse) ? 3'd{BM_RAW} : 3'd{BM_SPARSE};"));
    v.line(format!("wire [2:0] bm_auto = zero_ok ? 3'd{BM_ZERO} : (c_dct < c_best) ? 3'd{BM_DCT} : bm_lossless;"));
    fixed_block_mode(v);
    v.line("wire [2:0] bm = hdr_on ? bm_auto : fixed_bm;");
    v.line(format!("wire is_raw = bm == 3'd{BM_RAW}; wire is_sparse = bm == 3'd{BM_SPARSE};"));
    v.line(format!("wire is_dct = bm == 3'd{BM_DCT}; wire is_golomb = bm == 3'd{BM_GOLOMB};"));
    for i in 0..n {
        v.line(format!(
            "wire [4:0] fl{i} = is_raw ? (p{i} ? {{1'b0, bits}} : 5'd0) : is_sparse ? (nz{i} ? {{1'b0, bits}} : 5'd0) : is_golomb ? (gz{i} ? gl{i} : 5'd0) : is_dct ? (dz{i} ? dl{i} : 5'd0) : 5'd0;"
        ));
        // Leading zeros of an Exp-Golomb code are implicit: the value is the code's low bits.
        v.line(format!(
            "wire [14:0] fm{i} = (fl{i} == 5'd0) ? 15'd0 : (is_raw | is_sparse) ? {{7'd0, v{i}}} : is_golomb ? {{6'd0, gw{i}}} : df{i};"
        ));
        v.line(format!("wire mb{i} = is_sparse ? nz{i} : is_golomb ? gz{i} : is_dct ? dz{i} : 1'b0;"));
    }
    v.line("wire [4:0] mlen = (is_sparse | is_golomb) ? s1_n : is_dct ? keep : 5'd0;");
    let bits: Vec<String> = (0..n).map(|i| format!("mb{i}")).collect();
    v.line(format!("wire [{}:0] mvec = {{{}}};", n - 1, bits.join(", ")));
    v.line(format!("wire [{}:0] mval = mvec >> (5'd{n} - mlen);", n - 1));
    // The code word grows field by field: shift what is there left by the field's length and
    // append the field (shifts by at most one field length, not by the running offset).
    v.line("wire [1:0] c_h = hdr_on ? bm[1:0] : 2'd0;");
    let mut w = 2 + n;
    v.line(format!("wire [{}:0] c_m = ({{{n}'d0, c_h}} << mlen) | {{2'd0, mval}};", w - 1));
    let mut prev = "c_m".to_string();
    for i in 0..n {
        let w2 = w + fw;
        v.line(format!("wire [{}:0] c_{i} = ({{{fw}'d0, {prev}}} << fl{i}) | {{{}'d0, fm{i}}};", w2 - 1, w2 - 15));
        prev = format!("c_{i}");
        w = w2;
    }
    assert_eq!(w, mb);
    v.line(format!("wire [{}:0] code = {prev};", mb - 1));
    let lens: Vec<String> = (0..n).map(|i| format!("{{{}'d0, fl{i}}}", ob - 5)).collect();
    v.line(format!(
        "wire [{}:0] co = (hdr_on ? {ob}'d2 : {ob}'d0) + {{{}'d0, mlen}} + {};",
        ob - 1,
        ob - 5,
        lens.join(" + ")
    ));
}

/// The encoder's Verilog for geometry `g`.
fn verilog_body(g: &CodecGeom) -> String {
    let (n, p, mb, ew) = (g.block, g.port_bytes, g.block_bits, g.buffer_bits());
    let (pb, ob, fb) = (8 * p, bits_for(mb), bits_for(ew));
    let mut v = Text::default();
    blen_function(&mut v, "blen9", 9, 4);
    blen_function(&mut v, "blen14", 14, 4);
    params(&mut v);
    v.line("wire take = in_valid & in_ready;");
    v.line(format!("reg s1_valid, s1_last; reg [{}:0] s1_v; reg [4:0] s1_n;", 8 * n - 1));
    v.line(format!("reg s2_valid, s2_last; reg [{}:0] s2_code; reg [15:0] s2_len;", mb - 1));
    v.line(format!("reg [{}:0] ebuf; reg [15:0] efill; reg eflush;", ew - 1));
    coder(&mut v, g);
    // Packer: a record's blocks are appended until its last one, then the record is flushed.
    v.line(format!("wire acc2 = s2_valid & ~eflush & ((efill + s2_len) <= 16'd{ew});"));
    v.line("wire s1_adv = ~s2_valid | acc2;");
    v.line("always @(*) begin");
    v.line("    in_ready = ~s1_valid | s1_adv;");
    v.line(format!("    out_last = eflush & (efill <= 16'd{pb});"));
    v.line(format!("    out_valid = eflush ? (efill != 16'd0) : (efill >= 16'd{pb});"));
    v.line(format!("    out_nbytes = out_last ? efill[7:3] : 5'd{p};"));
    let bytes: Vec<String> = (0..p).rev().map(|j| format!("ebuf[{}:{}]", ew - 1 - 8 * j, ew - 8 - 8 * j)).collect();
    v.line(format!("    out_data = {{{}}};", bytes.join(", ")));
    v.line("    idle = ~s1_valid & ~s2_valid & ~eflush & (efill == 16'd0);");
    v.line("end");
    v.line("wire emit = out_valid & out_ready;");
    v.line(format!("wire [15:0] fill_e = emit ? (out_last ? 16'd0 : efill - 16'd{pb}) : efill;"));
    v.line(format!("wire [{}:0] buf_e = emit ? (out_last ? {{{ew}{{1'b0}}}} : (ebuf << {pb})) : ebuf;", ew - 1));
    v.line("wire [15:0] fill_a = fill_e + s2_len;");
    v.line("wire [15:0] fill_p = (fill_a + 16'd7) & ~16'd7;");
    // The code word goes right below the bits already in the buffer.
    v.line(format!("wire [15:0] place = 16'd{ew} - fill_a;"));
    v.line(format!("wire [{}:0] placed = {{{}'d0, s2_code}} << place[{}:0];", ew - 1, ew - mb, fb - 1));
    // Bits dropped on purpose, named for Verilator's unused-signal rule (`*unused*`): the
    // high bits of the placement, the bits below 64ths of the dct sums.
    let low: String = (0..n).map(|j| format!(", xr{j}[5:0]")).collect();
    v.line(format!("wire unused_ok = &{{1'b0, place[15:{fb}]{low}, 1'b0}};"));
    v.line("always @(posedge clock) begin");
    v.line("    if (start) begin");
    v.line(format!(
        "        s1_valid <= 1'b0; s2_valid <= 1'b0; ebuf <= {{{ew}{{1'b0}}}}; efill <= 16'd0; eflush <= 1'b0; bytes <= 32'd0;"
    ));
    v.line("    end else begin");
    v.line("        if (take) begin s1_valid <= 1'b1; s1_v <= in_data; s1_n <= in_n; s1_last <= in_last; end");
    v.line("        else if (s1_adv) s1_valid <= 1'b0;");
    v.line(format!(
        "        if (s1_adv) begin s2_valid <= s1_valid; s2_code <= code; s2_len <= {{{}'d0, co}}; s2_last <= s1_last; end",
        16 - ob
    ));
    v.line("        ebuf <= acc2 ? (buf_e | placed) : buf_e;");
    v.line("        efill <= acc2 ? (s2_last ? fill_p : fill_a) : fill_e;");
    v.line("        if (acc2 & s2_last) eflush <= 1'b1; else if (emit & out_last) eflush <= 1'b0;");
    v.line("        if (emit) bytes <= bytes + {27'd0, out_nbytes};");
    v.line("    end");
    v.line("end");
    v.0
}
