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
    /// `log2(P)`, the planes side by side on the rows: plane `b` of a one-chunk pixel goes to
    /// bank `b mod P`, word `b div P` (`LayerDescriptor::act_slot`).
    pub plane_shift: Signal<In, Bits<3>>,
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
    // The head beat's geometry, kept in registers so that `in_ready` depends on no adder chain:
    // `seg_end_r = min(seg_c0 + S, t_ch)`, `left_r = seg_end_r - tch`, `big_r = left_r > B`,
    // `cin_left_r = c_in - ch0`.
    seg_end_r: Signal<Local, Bits<16>>,
    left_r: Signal<Local, Bits<16>>,
    big_r: Signal<Local, Bit>,
    cin_left_r: Signal<Local, Bits<16>>,
    // The head beat's word decisions: it fills the word (`full_r`), spills past it (`spill_r`),
    // ends its pixel (`endpx_r`). They decide `in_ready`; as registers they keep the lane-offset
    // adder and the channel compares off the handshake, whose `take` fans out to every word
    // register. Each is computed for the next beat of every case of the position update
    // separately and the case picked last, so the update's own decisions (`x_last_r`: the
    // pixel is the row's last, `seg_more_r`: a segment follows) are registers too.
    full_r: Signal<Local, Bit>,
    spill_r: Signal<Local, Bit>,
    endpx_r: Signal<Local, Bit>,
    x_last_r: Signal<Local, Bit>,
    seg_more_r: Signal<Local, Bit>,
    // The segment's geometry, set when a segment starts: channels after it (`rem_r = t_ch -
    // seg_end_r`), its length (`pix_len_r = seg_end_r - seg_c0`, a pixel's first `left`) and
    // whether that exceeds a beat (`pix_big_r`). They keep the decisions' inputs one compare
    // from a register.
    rem_r: Signal<Local, Bits<16>>,
    pix_len_r: Signal<Local, Bits<16>>,
    pix_big_r: Signal<Local, Bit>,
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
    pend_last: Signal<Local, Bit>,
    pend_q: Signal<Local, Bits<16>>,
    pend_pbase: Signal<Local, Bits<16>>,
    pend_groups: Signal<Local, Bits<G>>,
    pend: [Signal<Local, Bits<L>>; 8],
    // Write pipeline stage 1: bank, address parts (the chunk group's offset is a multiply),
    // the plane's data; stage 2 is the `wr_*` outputs.
    w1_valid: Signal<Local, Bit>,
    w1_row: Signal<Local, Bits<16>>,
    w1_base: Signal<Local, Bits<16>>,
    w1_off: Signal<Local, Bits<16>>,
    w1_groups: Signal<Local, Bits<G>>,
    w1_data: Signal<Local, Bits<L>>,
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
            plane_shift: Default::default(),
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
            seg_end_r: Default::default(),
            left_r: Default::default(),
            big_r: Default::default(),
            cin_left_r: Default::default(),
            full_r: Default::default(),
            spill_r: Default::default(),
            endpx_r: Default::default(),
            x_last_r: Default::default(),
            seg_more_r: Default::default(),
            rem_r: Default::default(),
            pix_len_r: Default::default(),
            pix_big_r: Default::default(),
            cur_valid: Default::default(),
            cur_done: Default::default(),
            cur_q: Default::default(),
            cur_pbase: Default::default(),
            cur_groups: Default::default(),
            cur: std::array::from_fn(|_| Default::default()),
            pend_valid: Default::default(),
            pend_b: Default::default(),
            pend_last: Default::default(),
            pend_q: Default::default(),
            pend_pbase: Default::default(),
            pend_groups: Default::default(),
            pend: std::array::from_fn(|_| Default::default()),
            w1_valid: Default::default(),
            w1_row: Default::default(),
            w1_base: Default::default(),
            w1_off: Default::default(),
            w1_groups: Default::default(),
            w1_data: Default::default(),
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
        for s in [&mut self.seg_end_r, &mut self.left_r, &mut self.cin_left_r] {
            s.connect();
        }
        for s in [
            &mut self.big_r,
            &mut self.full_r,
            &mut self.spill_r,
            &mut self.endpx_r,
            &mut self.x_last_r,
            &mut self.seg_more_r,
            &mut self.pix_big_r,
        ] {
            s.connect();
        }
        self.rem_r.connect();
        self.pix_len_r.connect();
        for s in
            [&mut self.cur_valid, &mut self.cur_done, &mut self.pend_valid, &mut self.pend_last, &mut self.w1_valid]
        {
            s.connect();
        }
        for s in [&mut self.cur_q, &mut self.cur_pbase, &mut self.pend_q, &mut self.pend_pbase] {
            s.connect();
        }
        for s in [&mut self.w1_row, &mut self.w1_base, &mut self.w1_off] {
            s.connect();
        }
        self.cur_groups.connect();
        self.pend_groups.connect();
        self.w1_groups.connect();
        self.w1_data.connect();
        self.pend_b.connect();
        for k in 0..8 {
            self.cur[k].connect();
            self.pend[k].connect();
        }
    }

    fn hdl(&self) -> Verilog {
        Verilog::Custom(verilog_body(L, B, G, self.seg_c.val().index() > B))
    }
}

/// Statements handing a finished word to the writer: its 8 plane words are `{word}{k}` and its
/// lane groups `groups`.
fn load_pend(indent: &str, groups: &str, word: &str) -> String {
    let mut v = format!(
        "{indent}pend_valid <= 1'b1; pend_b <= 4'd0; pend_last <= (planes == 16'd1); pend_q <= mv_q; pend_pbase <= mv_pbase; pend_groups <= {groups};"
    );
    for k in 0..8 {
        v += &format!("\n{indent}pend${k} <= {word}{k};");
    }
    v
}

/// Cycles from `busy` falling to the loader's last bank write: the write pipeline behind `pend`
/// (stage 1 and the `wr_*` registers). The controller's `ACT_SETTLE` wait covers them.
pub const WRITE_LAG: usize = 2;

/// Wires `full_{sfx}`, `spill_{sfx}`, `endpx_{sfx}`: the word decisions of a beat whose lanes
/// start at lane `lo` of a word, with `left` channels left in its segment run (`big`: more than
/// `b`, so the beat carries `b` of them) and `cin_left` in its pixel (`l` lanes, `b` values per
/// beat).
fn decisions(
    line: &mut impl FnMut(&str),
    sfx: &str,
    lo: &str,
    big: &str,
    left: &str,
    cin_left: &str,
    (l, b): (usize, usize),
) {
    let lb = l.trailing_zeros() as usize;
    let bb = b.trailing_zeros() as usize;
    line(&format!("wire [15:0] left_{sfx} = {left};"));
    line(&format!("wire [{bb}:0] n_{sfx} = {big} ? {}'d{b} : left_{sfx}[{bb}:0];", bb + 1));
    let n_wide = if lb == bb { format!("n_{sfx}") } else { format!("{{{}'d0, n_{sfx}}}", lb - bb) };
    line(&format!("wire [{lb}:0] lend_{sfx} = {{1'b0, {lo}}} + {n_wide};"));
    line(&format!("wire full_{sfx} = lend_{sfx} >= {}'d{l};", lb + 1));
    line(&format!("wire spill_{sfx} = lend_{sfx} > {}'d{l};", lb + 1));
    line(&format!("wire endpx_{sfx} = {big} ? ({cin_left} == 16'd{b}) : ({cin_left} == left_{sfx});"));
}

/// The loader's Verilog for `l` lanes, `b` values per beat and `g = l / b` lane groups: the
/// head beat's geometry and its word decisions, the lanes it fills, then the registers.
fn verilog_body(l: usize, b: usize, g: usize, segment_gt_beat: bool) -> String {
    let mut v = String::new();
    beat_geometry(&mut v, l, b, segment_gt_beat);
    beat_lanes(&mut v, l, b, g);
    registers(&mut v, l);
    v
}

/// The geometry of the beat at the head of the stream and the word decisions of the next one.
fn beat_geometry(v: &mut String, l: usize, b: usize, segment_gt_beat: bool) {
    let (lb, bb) = (l.trailing_zeros(), b.trailing_zeros());
    let mut line = |s: &str| {
        v.push_str(s);
        v.push('\n');
    };
    // Geometry of the beat at the head of the stream, from the position registers and the
    // geometry registers (`seg_end_r`, `left_r`, `cin_left_r`); its word decisions are registers
    // (`full_r`, `spill_r`, `endpx_r`), so `in_ready` is a few gates from registers.
    line("wire big = big_r;");
    line(&format!("wire [{bb}:0] n_s = big ? {}'d{b} : left_r[{bb}:0];", bb + 1));
    line(&format!("wire [15:0] n = {{{}'d0, n_s}};", 15 - bb));
    line("wire [15:0] ch0 = fc ? fc_ch : tch;");
    line(&format!("wire [15:0] q = {{{lb}'d0, ch0[15:{lb}]}};"));
    let n_wide = if lb == bb { "n_s".to_string() } else { format!("{{{}'d0, n_s}}", lb - bb) };
    // The lane just past the beat's: where an fc layer's next beat starts in its word.
    line(&format!("wire [{lb}:0] l_end = {{1'b0, ch0[{}:0]}} + {n_wide};", lb - 1));
    line("wire end_px = endpx_r;");
    line("wire blk_last = ~big;");
    line("wire full = full_r;");
    line("wire spill = spill_r;");
    line("wire done = full | end_px | (~fc & blk_last);");
    line("wire pend_free = ~pend_valid | pend_last;");
    line("wire take = in_valid & in_ready;");
    // The next position's geometry (used only on the clock edge of a `take`).
    line("wire [15:0] first_end = (t_ch > seg_c) ? seg_c : t_ch;");
    line("wire [15:0] rem = rem_r;");
    line("wire [15:0] next_len = (rem > seg_c) ? seg_c : rem;");
    line("wire [15:0] next_end = seg_end_r + next_len;");
    line("wire x_last = x_last_r;");
    line("wire seg_more = seg_more_r;");
    line("wire [15:0] pix_len = pix_len_r;");
    // `big_r` of each next `left_r`, compared before the `min` with S rather than after it.
    let s_big = if segment_gt_beat { "1'b1" } else { "1'b0" };
    line(&format!("wire first_big = (t_ch > seg_c) ? {s_big} : (t_ch > 16'd{b});"));
    line(&format!("wire step_big = left_r > 16'd{};", 2 * b));
    line("wire pix_big = pix_big_r;");
    line(&format!("wire next_big = (rem > seg_c) ? {s_big} : (rem > 16'd{b});"));
    // The next beat's word decisions for each case of the position update below (a: the next
    // block of the segment run, b: the next pixel, c: the next segment, d: the next row; st: the
    // first beat after `start`). An fc layer's beats follow each other in its words.
    line("wire [15:0] cin_step = cin_left_r - n;");
    line("wire [15:0] left_step = left_r - n;");
    line("wire [15:0] cin_px = fc ? cin_step : c_in - seg_c0;");
    line("wire [15:0] cin_row = fc ? cin_step : c_in;");
    let lo = |conv: &str| format!("(fc ? l_end[{}:0] : {conv})", lb - 1);
    decisions(&mut line, "a", &lo(&format!("l_end[{}:0]", lb - 1)), "step_big", "left_step", "cin_step", (l, b));
    decisions(&mut line, "b", &lo(&format!("seg_c0[{}:0]", lb - 1)), "pix_big", "pix_len", "cin_px", (l, b));
    decisions(&mut line, "c", &lo(&format!("seg_end_r[{}:0]", lb - 1)), "next_big", "next_len", "cin_step", (l, b));
    decisions(&mut line, "d", &lo(&format!("{lb}'d0")), "first_big", "first_end", "cin_row", (l, b));
    decisions(&mut line, "st", &format!("{lb}'d0"), "first_big", "first_end", "c_in", (l, b));
    for w in ["full", "spill", "endpx"] {
        line(&format!("wire {w}_nx = ~blk_last ? {w}_a : ~x_last ? {w}_b : seg_more ? {w}_c : {w}_d;"));
    }
    // Only the low bits of the lengths count in `n_*`, and only the lane offset in `l_end`.
    line(&format!(
        "wire unused_len = &{{1'b0, left_a[15:{bb1}], left_b[15:{bb1}], left_c[15:{bb1}], left_d[15:{bb1}], left_st[15:{bb1}], l_end[{lb}], 1'b0}};",
        bb1 = bb + 1
    ));
}

/// The beat's valid lanes and bit-planes merged into the word being filled, and the lane groups
/// the word's write enables.
fn beat_lanes(v: &mut String, l: usize, b: usize, g: usize) {
    let (lb, bb, w2) = (l.trailing_zeros(), b.trailing_zeros(), 2 * l);
    let mut line = |s: &str| {
        v.push_str(s);
        v.push('\n');
    };
    // The beat's valid lanes and their bit-planes, placed at lane l0 of a two-word window.
    line(&format!("wire [{}:0] l0 = ch0[{}:0];", lb - 1, lb - 1));
    line(&format!("wire [{}:0] nmask = ~({{{b}{{1'b1}}}} << n_s);", b - 1));
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
    // The word's chunk and pixel base; its bank and address are computed in the write pipeline.
    line("wire [15:0] base_now = fc ? 16'd0 : pbase;");
    line("wire [15:0] mv_q = cur_done ? cur_q : q;");
    line("wire [15:0] mv_pbase = cur_done ? cur_pbase : base_now;");
    // Buffer address of a chunk: bank q % R, word (q / R) * planes past the pixel's base.
    line("wire [15:0] pend_grp = pend_q / rows_c;");
    line("wire [15:0] pend_row = pend_q % rows_c;");
    line("wire [15:0] plane_mask = (16'd1 << plane_shift) - 16'd1;");
}

/// The `in_ready`/`busy` outputs, the write pipeline and the stream position's registers.
fn registers(v: &mut String, l: usize) {
    let w2 = 2 * l;
    let mut line = |s: &str| {
        v.push_str(s);
        v.push('\n');
    };
    line("always @(*) begin");
    line("    in_ready = ~cur_done & (pend_free | ~done);");
    line("    busy = cur_valid | pend_valid;");
    line("end");
    line("always @(posedge clock) begin");
    // Write pipeline: stage 1 (bank, address parts, the plane's word), stage 2 (the outputs).
    // A bank index past 255 cannot occur (R <= 255); the guard keeps every bit of it in use.
    // With planes side by side on the rows (a one-chunk pixel: pend_row = pend_grp = 0), plane
    // b goes to bank b mod 2^plane_shift, word b >> plane_shift.
    line("    w1_valid <= pend_valid & ~start; w1_row <= pend_row | ({12'd0, pend_b} & plane_mask); w1_groups <= pend_groups;");
    line("    w1_base <= pend_pbase + ({12'd0, pend_b} >> plane_shift); w1_off <= pend_grp * planes;");
    line("    case (pend_b)\n        4'd0: w1_data <= pend$0;");
    for k in 1..8 {
        line(&format!("        4'd{k}: w1_data <= pend${k};"));
    }
    line(&format!("        default: w1_data <= {{{l}{{1'b0}}}};\n    endcase"));
    line("    wr_en <= w1_valid & (w1_row[15:8] == 8'd0) & ~start; wr_row <= w1_row[7:0];");
    line("    wr_addr <= w1_base + w1_off; wr_groups <= w1_groups; wr_data <= w1_data;");
    line("    if (start) begin");
    line("        tch <= 16'd0; seg_c0 <= 16'd0; x <= 16'd0; pbase <= 16'd0; row_pbase <= 16'd0; fc_ch <= 16'd0;");
    line("        seg_end_r <= first_end; left_r <= first_end; big_r <= first_big; cin_left_r <= c_in;");
    line("        full_r <= full_st; spill_r <= spill_st; endpx_r <= endpx_st;");
    line("        x_last_r <= (t_w == 16'd1); seg_more_r <= (t_ch > seg_c);");
    line("        rem_r <= t_ch - first_end; pix_len_r <= first_end; pix_big_r <= first_big;");
    line("        cur_valid <= 1'b0; cur_done <= 1'b0; pend_valid <= 1'b0; pend_b <= 4'd0;");
    line("    end else begin");
    line("        if (pend_valid) begin\n            if (pend_last) pend_valid <= 1'b0;\n            else begin\n                pend_b <= pend_b + 4'd1; pend_last <= ({12'd0, pend_b} + 16'd2) == planes;\n            end\n        end");
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
    // Next stream position: blocks of a segment, then pixels, then segments, then rows; the
    // geometry registers follow it. An fc layer counts its channels across the whole input.
    line("            fc_ch <= fc_ch + n;");
    line("            full_r <= full_nx; spill_r <= spill_nx; endpx_r <= endpx_nx;");
    line("            if (fc | ~blk_last) cin_left_r <= cin_left_r - n;");
    line("            if (~blk_last) begin\n                tch <= tch + n; left_r <= left_r - n; big_r <= step_big;\n            end");
    line("            else if (~x_last) begin\n                tch <= seg_c0; x <= x + 16'd1; pbase <= pbase + pixel_words;");
    line("                x_last_r <= (x + 16'd2) == t_w;");
    line("                left_r <= pix_len; big_r <= pix_big;\n                if (~fc) cin_left_r <= c_in - seg_c0;\n            end");
    line("            else if (seg_more) begin\n                x <= 16'd0; pbase <= row_pbase; seg_c0 <= seg_end_r; tch <= seg_end_r;");
    line("                x_last_r <= (t_w == 16'd1); seg_more_r <= (rem > seg_c);");
    line("                rem_r <= rem - next_len; pix_len_r <= next_len; pix_big_r <= next_big;");
    line("                seg_end_r <= next_end; left_r <= next_len; big_r <= next_big;\n                if (~fc) cin_left_r <= cin_left_r - n;\n            end");
    line("            else begin\n                x <= 16'd0; seg_c0 <= 16'd0; tch <= 16'd0;\n                pbase <= pbase + pixel_words; row_pbase <= pbase + pixel_words;");
    line("                x_last_r <= (t_w == 16'd1); seg_more_r <= (t_ch > seg_c);");
    line("                rem_r <= t_ch - first_end; pix_len_r <= first_end; pix_big_r <= first_big;");
    line("                seg_end_r <= first_end; left_r <= first_end; big_r <= first_big;\n                if (~fc) cin_left_r <= c_in;\n            end");
    line("        end");
    line("    end");
    line("end");
}

#[cfg(test)]
mod tests;
