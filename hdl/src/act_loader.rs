//! Activation loader: turns the activation stream (one codec block of up to `B` values per beat,
//! in the codec's order: rows, segments of `S = array.cols` channels, pixels, blocks; SPEC 8.3)
//! into the activation buffer's bit-plane words (docs/ARCHITECTURE.md, section 4).
//!
//! Core channel `ch` of core pixel `p` lives in chunk `q = ch / L`, lane `ch % L`; chunk `q` in
//! row bank `q % R` at addresses `p * pixel_words + (q / R) * planes + b`, one word per bit-plane
//! `b`. A conv layer's beat of pixel `p` starts at channel `seg * S + blk * B`; an fc layer sees
//! its whole input as the channels of pixel 0, numbered in stream order, so its beats fill the
//! channels one after the other (and may straddle two words when `B` does not divide the
//! tensor's channels).
//!
//! The segments of a pixel arrive far apart (a whole row of pixels lies between them), so a
//! buffer word is written in pieces: the banks have one write enable per group of `B` lanes
//! (`wr_groups`), and the loader writes only the groups it filled. Beats of one word are merged
//! in `cur`; a word is handed to `pend` and written out, one bit-plane per cycle, when it is full,
//! when its segment run ends (conv) or when the pixel's last channel arrived; the last write of a
//! pixel also clears the groups above its last channel, which BWN mode relies on (lanes past the
//! channels must be 0). Stalls only when a word is complete while the previous one is still
//! being written (`planes` cycles per word).
//!
//! The block is custom Verilog (computed lane offsets and group masks); rust-hdl's simulator does
//! not model it: its behaviour is defined by the Verilog, co-simulated under Icarus against
//! `cbnn::hw::layout::act_banks` (tests beside this file).

use rust_hdl::prelude::*;

/// `L` lanes, `B` values per beat, `D = 8 * B` data bits (one byte per value), `G = L / B`
/// lane groups (bank write enables).
#[derive(LogicBlock)]
pub struct ActLoader<const L: usize, const B: usize, const D: usize, const G: usize> {
    pub clock: Signal<In, Clock>,
    /// Restart at the band's first pixel (before each band).
    pub start: Signal<In, Bit>,
    /// Channels as the core sees them (fc: the whole input).
    pub c_in: Signal<In, Bits<16>>,
    /// Channels and width of the streamed tensor.
    pub t_ch: Signal<In, Bits<16>>,
    pub t_w: Signal<In, Bits<16>>,
    pub fc: Signal<In, Bit>,
    /// Bit-planes per value: 1 in XNOR mode, k in BWN mode.
    pub planes: Signal<In, Bits<16>>,
    /// Buffer words per pixel and bank: chunk groups x planes.
    pub pixel_words: Signal<In, Bits<16>>,
    pub in_valid: Signal<In, Bit>,
    /// Value `i` of the beat in bits `[8i + 7 : 8i]` (bit-plane `b` is bit `8i + b`).
    pub in_data: Signal<In, Bits<D>>,
    pub in_ready: Signal<Out, Bit>,
    /// A word is buffered or being written (the controller waits for this to fall).
    pub busy: Signal<Out, Bit>,
    pub wr_en: Signal<Out, Bit>,
    pub wr_row: Signal<Out, Bits<8>>,
    pub wr_addr: Signal<Out, Bits<16>>,
    pub wr_groups: Signal<Out, Bits<G>>,
    pub wr_data: Signal<Out, Bits<L>>,
    /// R (row banks) and S (channels per segment) of the generated core.
    rows_c: Constant<Bits<16>>,
    seg_c: Constant<Bits<16>>,
    // Stream position.
    tch: Signal<Local, Bits<16>>,
    seg_c0: Signal<Local, Bits<16>>,
    x: Signal<Local, Bits<16>>,
    pbase: Signal<Local, Bits<16>>,
    row_pbase: Signal<Local, Bits<16>>,
    fc_ch: Signal<Local, Bits<16>>,
    // The word being filled.
    cur_valid: Signal<Local, Bit>,
    cur_done: Signal<Local, Bit>,
    cur_q: Signal<Local, Bits<16>>,
    cur_pbase: Signal<Local, Bits<16>>,
    cur_groups: Signal<Local, Bits<G>>,
    cur: [Signal<Local, Bits<L>>; 8],
    // The word being written, one plane per cycle.
    pend_valid: Signal<Local, Bit>,
    pend_b: Signal<Local, Bits<4>>,
    pend_base: Signal<Local, Bits<16>>,
    pend_row: Signal<Local, Bits<16>>,
    pend_groups: Signal<Local, Bits<G>>,
    pend: [Signal<Local, Bits<L>>; 8],
}

impl<const L: usize, const B: usize, const D: usize, const G: usize> ActLoader<L, B, D, G> {
    /// A loader for a core of `rows` row banks whose streams carry segments of `segment` channels.
    pub fn new(rows: usize, segment: usize) -> Self {
        assert!(
            L.is_power_of_two() && (8..=128).contains(&L) && B.is_power_of_two() && B <= 16 && B <= L,
            "ActLoader<{L}, {B}>: L a power of two in 8..=128, B a power of two up to min(16, L)"
        );
        assert!(D == 8 * B && G == L / B, "ActLoader<{L}, {B}, {D}, {G}>: D = 8B, G = L/B");
        assert!(segment.is_multiple_of(B) && (1..=255).contains(&rows), "segment {segment} not a multiple of {B}");
        ActLoader {
            clock: Default::default(),
            start: Default::default(),
            c_in: Default::default(),
            t_ch: Default::default(),
            t_w: Default::default(),
            fc: Default::default(),
            planes: Default::default(),
            pixel_words: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_ready: Default::default(),
            busy: Default::default(),
            wr_en: Default::default(),
            wr_row: Default::default(),
            wr_addr: Default::default(),
            wr_groups: Default::default(),
            wr_data: Default::default(),
            rows_c: Constant::new((rows as LiteralType).into()),
            seg_c: Constant::new((segment as LiteralType).into()),
            tch: Default::default(),
            seg_c0: Default::default(),
            x: Default::default(),
            pbase: Default::default(),
            row_pbase: Default::default(),
            fc_ch: Default::default(),
            cur_valid: Default::default(),
            cur_done: Default::default(),
            cur_q: Default::default(),
            cur_pbase: Default::default(),
            cur_groups: Default::default(),
            cur: std::array::from_fn(|_| Default::default()),
            pend_valid: Default::default(),
            pend_b: Default::default(),
            pend_base: Default::default(),
            pend_row: Default::default(),
            pend_groups: Default::default(),
            pend: std::array::from_fn(|_| Default::default()),
        }
    }
}

impl<const L: usize, const B: usize, const D: usize, const G: usize> Logic for ActLoader<L, B, D, G> {
    /// Not modelled for rust-hdl's simulator (see the module comment): the Verilog is the block.
    fn update(&mut self) {}

    fn connect(&mut self) {
        for s in [&mut self.in_ready, &mut self.busy, &mut self.wr_en] {
            s.connect();
        }
        self.wr_row.connect();
        self.wr_addr.connect();
        self.wr_groups.connect();
        self.wr_data.connect();
        for s in [&mut self.tch, &mut self.seg_c0, &mut self.x, &mut self.pbase, &mut self.row_pbase, &mut self.fc_ch] {
            s.connect();
        }
        for s in [&mut self.cur_valid, &mut self.cur_done, &mut self.pend_valid] {
            s.connect();
        }
        for s in [&mut self.cur_q, &mut self.cur_pbase, &mut self.pend_base, &mut self.pend_row] {
            s.connect();
        }
        self.cur_groups.connect();
        self.pend_groups.connect();
        self.pend_b.connect();
        for k in 0..8 {
            self.cur[k].connect();
            self.pend[k].connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(L, B, G))
    }
}

/// Statements handing a finished word to the writer: its 8 plane words are `{word}{k}` and its
/// lane groups `groups`.
fn load_pend(indent: &str, groups: &str, word: &str) -> String {
    let mut v = format!(
        "{indent}pend_valid <= 1'b1; pend_b <= 4'd0; pend_base <= mv_addr; pend_row <= mv_row; pend_groups <= {groups};"
    );
    for k in 0..8 {
        v += &format!("\n{indent}pend${k} <= {word}{k};");
    }
    v
}

/// The loader's Verilog for `l` lanes, `b` values per beat and `g = l / b` lane groups.
fn verilog_body(l: usize, b: usize, g: usize) -> String {
    let lb = l.trailing_zeros();
    let bb = b.trailing_zeros();
    let w2 = 2 * l;
    let mut v = String::new();
    let mut line = |s: &str| {
        v.push_str(s);
        v.push('\n');
    };
    // Geometry of the beat at the head of the stream (all 17/32-bit arithmetic explicit).
    line("wire [16:0] seg_top = {1'b0, seg_c0} + {1'b0, seg_c};");
    line("wire [15:0] seg_end = (seg_top > {1'b0, t_ch}) ? t_ch : seg_top[15:0];");
    line("wire [15:0] left = seg_end - tch;");
    line(&format!("wire [15:0] n = (left > 16'd{b}) ? 16'd{b} : left;"));
    line("wire [15:0] ch0 = fc ? fc_ch : tch;");
    line(&format!("wire [15:0] q = {{{lb}'d0, ch0[15:{lb}]}};"));
    line(&format!("wire [15:0] l0 = {{{}'d0, ch0[{}:0]}};", 16 - lb, lb - 1));
    line("wire [16:0] l_end = {1'b0, l0} + {1'b0, n};");
    line("wire end_px = ({1'b0, ch0} + {1'b0, n}) == {1'b0, c_in};");
    line("wire blk_last = ({1'b0, tch} + {1'b0, n}) == {1'b0, seg_end};");
    line(&format!("wire full = l_end >= 17'd{l};"));
    line(&format!("wire spill = l_end > 17'd{l};"));
    line("wire done = full | end_px | (~fc & blk_last);");
    line("wire pend_last = ({12'd0, pend_b} == planes - 16'd1);");
    line("wire pend_free = ~pend_valid | pend_last;");
    line("wire take = in_valid & in_ready;");
    // The beat's valid lanes and their bit-planes, placed at lane l0 of a two-word window.
    line(&format!("wire [{}:0] nmask = ~({{{b}{{1'b1}}}} << n);", b - 1));
    line(&format!("wire [{}:0] lmask = {{{{{}{{1'b0}}}}, nmask}} << l0;", w2 - 1, w2 - b));
    for k in 0..8 {
        let lanes: Vec<String> = (0..b).rev().map(|i| format!("in_data[{}]", 8 * i + k)).collect();
        line(&format!("wire [{}:0] pb{k} = {{{}}} & nmask;", b - 1, lanes.join(", ")));
        line(&format!("wire [{}:0] ins{k} = {{{{{}{{1'b0}}}}, pb{k}}} << l0;", w2 - 1, w2 - b));
        // The word being filled with this beat's lanes of it merged in.
        line(&format!("wire [{}:0] merged{k} = (cur_valid ? cur${k} : {l}'d0) | ins{k}[{}:0];", l - 1, l - 1));
    }
    let grp = |base: usize| -> String {
        let parts: Vec<String> =
            (0..g).rev().map(|i| format!("(|lmask[{}:{}])", base + i * b + b - 1, base + i * b)).collect();
        format!("{{{}}}", parts.join(", "))
    };
    line(&format!("wire [{}:0] g_lo = {};", g - 1, grp(0)));
    line(&format!("wire [{}:0] g_hi = {};", g - 1, grp(l)));
    // The pixel's last write also clears the groups above its last channel.
    if g == 1 {
        line("wire above = 1'b1;");
    } else {
        line(&format!("wire [{}:0] above = {{{g}{{1'b1}}}} << l0[{}:{bb}];", g - 1, lb - 1));
    }
    line(&format!(
        "wire [{}:0] g_lo_w = (cur_valid ? cur_groups : {g}'d0) | g_lo | ((end_px & ~spill) ? above : {g}'d0);",
        g - 1
    ));
    line(&format!("wire [{}:0] g_hi_w = g_hi | (end_px ? {{{g}{{1'b1}}}} : {g}'d0);", g - 1));
    // Buffer address of a chunk: bank q % R, word (q / R) * planes past the pixel's base.
    line("wire [15:0] base_now = fc ? 16'd0 : pbase;");
    line("wire [15:0] mv_q = cur_done ? cur_q : q;");
    line("wire [15:0] mv_pbase = cur_done ? cur_pbase : base_now;");
    line("wire [15:0] mv_grp = mv_q / rows_c;");
    line("wire [15:0] mv_row = mv_q % rows_c;");
    line("wire [15:0] mv_addr = mv_pbase + mv_grp * planes;");
    line("always @(*) begin");
    line("    in_ready = ~cur_done & (pend_free | ~done);");
    line("    busy = cur_valid | pend_valid;");
    // A bank index past 255 cannot occur (R <= 255); the guard keeps every bit of it in use.
    line("    wr_en = pend_valid & (pend_row[15:8] == 8'd0); wr_row = pend_row[7:0];");
    line("    wr_addr = pend_base + {12'd0, pend_b}; wr_groups = pend_groups;");
    line("    case (pend_b)\n        4'd0: wr_data = pend$0;");
    for k in 1..8 {
        line(&format!("        4'd{k}: wr_data = pend${k};"));
    }
    line(&format!("        default: wr_data = {{{l}{{1'b0}}}};\n    endcase\nend"));
    line("always @(posedge clock) begin");
    line("    if (start) begin");
    line("        tch <= 16'd0; seg_c0 <= 16'd0; x <= 16'd0; pbase <= 16'd0; row_pbase <= 16'd0; fc_ch <= 16'd0;");
    line("        cur_valid <= 1'b0; cur_done <= 1'b0; pend_valid <= 1'b0; pend_b <= 4'd0;");
    line("    end else begin");
    line("        if (pend_valid) begin\n            if (pend_last) pend_valid <= 1'b0;\n            else pend_b <= pend_b + 4'd1;\n        end");
    // A finished word waiting for the writer (only after a straddling last beat).
    line("        if (cur_done & pend_free) begin");
    line(&load_pend("            ", "cur_groups", "cur$"));
    line("            cur_valid <= 1'b0; cur_done <= 1'b0;");
    line("        end");
    line("        if (take) begin");
    line("            if (done) begin");
    line(&load_pend("                ", "g_lo_w", "merged"));
    line("                cur_valid <= spill; cur_done <= spill & end_px; cur_q <= q + 16'd1; cur_pbase <= base_now; cur_groups <= g_hi_w;");
    for k in 0..8 {
        line(&format!("                cur${k} <= ins{k}[{}:{l}];", w2 - 1));
    }
    line("            end else begin");
    line("                cur_valid <= 1'b1; cur_q <= q; cur_pbase <= base_now; cur_groups <= g_lo_w;");
    for k in 0..8 {
        line(&format!("                cur${k} <= merged{k};"));
    }
    line("            end");
    // Next stream position: blocks of a segment, then pixels, then segments, then rows.
    line("            fc_ch <= fc_ch + n;");
    line("            if (~blk_last) tch <= tch + n;");
    line("            else if (x != t_w - 16'd1) begin\n                tch <= seg_c0; x <= x + 16'd1; pbase <= pbase + pixel_words;\n            end");
    line("            else if (seg_end != t_ch) begin\n                x <= 16'd0; pbase <= row_pbase; seg_c0 <= seg_end; tch <= seg_end;\n            end");
    line("            else begin\n                x <= 16'd0; seg_c0 <= 16'd0; tch <= 16'd0;\n                pbase <= pbase + pixel_words; row_pbase <= pbase + pixel_words;\n            end");
    line("        end");
    line("    end");
    line("end");
    v
}

#[cfg(test)]
mod tests;
