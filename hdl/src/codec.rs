//! The DCT-CM activation codec in hardware (SPEC section 8): an encoder on the write path and a
//! decoder on the read path, both handling a block's fixed-length part at once and its Exp-Golomb
//! fields one per cycle, both custom Verilog generated here from the accelerator config (like
//! the activation loader, rust-hdl's simulator does not model them; their Verilog is
//! co-simulated against `cbnn::codec`).
//!
//! This file holds what the two share: the generation-time geometry ([`CodecGeom`]), the layer
//! parameters as port codes, and Verilog pieces (the decoder's block walker, which knows which
//! block of which record comes next; constant products as shifts and adds; bit lengths).

pub mod decoder;
pub mod encoder;

#[cfg(test)]
mod tests;

use cbnn::codec::BlockMode;
use cbnn::config::AccelConfig;

/// Codes of the `mode` port (a layer's tensor mode, SPEC 8.1), defined with the register map.
pub use cbnn::hw::descriptor::{
    CODEC_AUTO as MODE_AUTO, CODEC_DCT as MODE_DCT, CODEC_GOLOMB as MODE_GOLOMB, CODEC_RAW as MODE_RAW,
    CODEC_SPARSE as MODE_SPARSE,
};

/// Block-mode codes on the blocks' internal `bm` wires: `cbnn::codec::BlockMode`'s discriminants
/// (the auto header values of SPEC 8.4, and golomb, which never has a header), named for the
/// Verilog format strings.
pub(crate) const BM_ZERO: u32 = BlockMode::Zero as u32;
pub(crate) const BM_SPARSE: u32 = BlockMode::Sparse as u32;
pub(crate) const BM_RAW: u32 = BlockMode::Raw as u32;
pub(crate) const BM_DCT: u32 = BlockMode::Dct as u32;
pub(crate) const BM_GOLOMB: u32 = BlockMode::Golomb as u32;
// The wires are 3 bits wide.
const _: () = assert!(BM_GOLOMB < 8 && BM_ZERO < 8 && BM_SPARSE < 8 && BM_RAW < 8 && BM_DCT < 8);

pub use cbnn::hw::codec_geom::CodecGeom;

/// A Verilog text under construction, one statement per line.
#[derive(Default)]
pub(crate) struct Text(pub String);

impl Text {
    pub fn line(&mut self, s: impl AsRef<str>) {
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}

/// The block walker: which block of the stream comes next (SPEC 8.3: per row, segments of `S`
/// channels, pixels, blocks of `N` channels, the last block of a segment short). Declares
/// `wk_n16` (the block's value count) and `wk_rec_last` (the block ends its record), and
/// advances when `step` is high (the block's `seg_c` constant is `S`); `start` rewinds it to the
/// first block of a row.
///
/// Both outputs come from registers through one multiplexer: the walker keeps, beside its
/// position (segment start `wk_seg0`, pixel `wk_x`), the segment's end `wk_end`, the channels
/// left in the pixel's segment `wk_left`, `wk_big = wk_left > N` and `wk_xlast` (the row's last
/// pixel), each computed for the next block on the clock edge of a step. The decoder's parser
/// step starts from the block's length, so no adder of the walker lies on that loop.
pub(crate) fn walker(v: &mut Text, g: &CodecGeom, step: &str) {
    let n = g.block;
    v.line("reg [15:0] wk_seg0, wk_x, wk_end, wk_left;");
    v.line("reg wk_big, wk_xlast;");
    v.line(format!("wire [15:0] wk_n16 = wk_big ? 16'd{n} : wk_left;"));
    v.line("wire wk_rec_last = ~wk_big & wk_xlast;");
    // The next block's geometry: the first segment's, the next segment's, the next pixel's.
    v.line("wire [15:0] wk_end0 = (t_ch > seg_c) ? seg_c : t_ch;");
    v.line("wire [16:0] wk_top = {1'b0, wk_end} + {1'b0, seg_c};");
    v.line("wire [15:0] wk_end1 = (wk_top > {1'b0, t_ch}) ? t_ch : wk_top[15:0];");
    v.line("wire [15:0] wk_len1 = wk_end1 - wk_end;");
    v.line("wire [15:0] wk_pix = wk_end - wk_seg0;");
    v.line(format!("wire [15:0] wk_rest = wk_left - 16'd{n};"));
    v.line("always @(posedge clock) begin");
    v.line("    if (start) begin");
    v.line("        wk_seg0 <= 16'd0; wk_x <= 16'd0; wk_end <= wk_end0; wk_left <= wk_end0;");
    v.line(format!("        wk_big <= wk_end0 > 16'd{n}; wk_xlast <= t_w == 16'd1;"));
    v.line(format!("    end else if ({step}) begin"));
    v.line(format!("        if (wk_big) begin wk_left <= wk_rest; wk_big <= wk_rest > 16'd{n}; end"));
    v.line("        else if (~wk_xlast) begin");
    v.line(format!("            wk_x <= wk_x + 16'd1; wk_xlast <= (wk_x + 16'd2) == t_w; wk_left <= wk_pix; wk_big <= wk_pix > 16'd{n};"));
    v.line("        end else if (wk_end != t_ch) begin");
    v.line("            wk_x <= 16'd0; wk_xlast <= t_w == 16'd1; wk_seg0 <= wk_end; wk_end <= wk_end1;");
    v.line(format!("            wk_left <= wk_len1; wk_big <= wk_len1 > 16'd{n};"));
    v.line("        end else begin");
    v.line("            wk_x <= 16'd0; wk_xlast <= t_w == 16'd1; wk_seg0 <= 16'd0; wk_end <= wk_end0;");
    v.line(format!("            wk_left <= wk_end0; wk_big <= wk_end0 > 16'd{n};"));
    v.line("        end");
    v.line("    end");
    v.line("end");
}

/// The layer parameters every block needs: `kmax` (`2^k - 1`, 8 bits) and `hdr_on` (auto blocks
/// carry headers; auto on 1-bit values is raw, SPEC 8.1).
pub(crate) fn params(v: &mut Text) {
    v.line("wire [7:0] kmax = 8'hff >> (4'd8 - bits);");
    // SPEC 8.4's header rule, `cbnn::hw::codec_geom::auto_header`.
    v.line(format!("wire hdr_on = (mode == 3'd{MODE_AUTO}) & (bits != 4'd1);"));
}

/// `fixed_bm`: the block mode a non-auto tensor mode fixes for every block (1-bit values are
/// always raw; auto gives raw here and is decided per block by the caller).
pub(crate) fn fixed_block_mode(v: &mut Text) {
    v.line(format!(
        "wire [2:0] fixed_bm = (mode == 3'd{MODE_RAW} || bits == 4'd1) ? 3'd{BM_RAW} : (mode == 3'd{MODE_SPARSE}) ? 3'd{BM_SPARSE} : (mode == 3'd{MODE_DCT}) ? 3'd{BM_DCT} : (mode == 3'd{MODE_GOLOMB}) ? 3'd{BM_GOLOMB} : 3'd{BM_RAW};"
    ));
}

/// `x * c` in `w`-bit two's complement as a sum of shifted copies of `x` (a `w`-bit
/// expression): constant products never become multipliers (DSP blocks) in synthesis.
pub(crate) fn const_mul(x: &str, c: i32, w: usize) -> String {
    let m = c.unsigned_abs();
    if m == 0 {
        return format!("{w}'d0");
    }
    let terms: Vec<String> = (0..32)
        .filter(|b| m >> b & 1 == 1)
        .map(|b| if b == 0 { x.to_string() } else { format!("({x} << {b})") })
        .collect();
    let sum = terms.join(" + ");
    if c < 0 {
        format!("({w}'d0 - ({sum}))")
    } else {
        format!("({sum})")
    }
}

/// `name(x)`: the bit length of a `w`-bit value (0 for 0) in `out` bits, as a priority chain.
pub(crate) fn blen_function(v: &mut Text, name: &str, w: usize, out: usize) {
    v.line(format!("function [{}:0] {name};", out - 1));
    v.line(format!("    input [{}:0] x;", w - 1));
    v.line("    begin");
    let mut e = format!("{out}'d0");
    for b in 0..w {
        e = format!("x[{b}] ? {out}'d{} : {e}", b + 1);
    }
    v.line(format!("        {name} = {e};"));
    v.line("    end");
    v.line("endfunction");
}

/// Bits needed to hold values up to `x`.
/// `crc8_byte(c, b)`: the SPEC 8.9 CRC-8 register `c` after byte `b` (`cbnn::codec::check`'s
/// polynomial, most significant bit first).
pub(crate) fn crc8_function(v: &mut Text) {
    use cbnn::codec::check::CRC8_POLY;
    v.line("function [7:0] crc8_byte;");
    v.line("    input [7:0] c;");
    v.line("    input [7:0] b;");
    v.line("    integer i;");
    v.line("    reg [7:0] r;");
    v.line("    begin");
    v.line("        r = c ^ b;");
    v.line(format!(
        "        for (i = 0; i < 8; i = i + 1) r = r[7] ? ({{r[6:0], 1'b0}} ^ 8'h{CRC8_POLY:02x}) : {{r[6:0], 1'b0}};"
    ));
    v.line("        crc8_byte = r;");
    v.line("    end");
    v.line("endfunction");
}

pub(crate) fn bits_for(x: usize) -> usize {
    (usize::BITS - x.leading_zeros()) as usize
}

fn pair<const D: usize, const PD: usize>(d: &str, g: CodecGeom) -> Vec<crate::generator::verilog::Module> {
    let mut v = crate::generator::verilog::emit_block(
        encoder::CodecEncoder::<D, PD>::with_check(g.check),
        &format!("{d}_encoder"),
    );
    v.extend(crate::generator::verilog::emit_block(decoder::CodecDecoder::<D, PD>::new(g), &format!("{d}_decoder")));
    v
}

/// `pair::<8N, 8P>` for the runtime (N, P): rust-hdl widths are Rust types, so every
/// supported pair is listed.
macro_rules! by_geometry {
    ($n:expr, $p:expr, $d:expr, $g:expr; $( ($N:literal, $P:literal, $D:literal, $PD:literal) ),* ) => {
        match ($n, $p) { $( ($N, $P) => Some(pair::<$D, $PD>($d, $g)), )* _ => None }
    };
}

/// The encoder (`{d}_encoder`) and decoder (`{d}_decoder`) of the core generated from `cfg`.
pub fn codec_modules(d: &str, cfg: &AccelConfig) -> anyhow::Result<Vec<crate::generator::verilog::Module>> {
    let g = CodecGeom::from_config(cfg);
    by_geometry!(g.block, g.port_bytes, d, g;
        (4, 1, 32, 8), (4, 2, 32, 16), (4, 4, 32, 32), (4, 8, 32, 64), (4, 16, 32, 128),
        (8, 1, 64, 8), (8, 2, 64, 16), (8, 4, 64, 32), (8, 8, 64, 64), (8, 16, 64, 128),
        (16, 1, 128, 8), (16, 2, 128, 16), (16, 4, 128, 32), (16, 8, 128, 64), (16, 16, 128, 128)
    )
    .ok_or_else(|| {
        anyhow::anyhow!("codec.block = {} with dram.bytes_per_cycle = {} has no generated codec", g.block, g.port_bytes)
    })
}
