//! The gather stage (docs/ARCHITECTURE.md, section 4, "Codec"): between the drain unit and the codec
//! encoder, it turns result beats into codec blocks.
//!
//! The drain sends a pixel of a filter tile as `G_hw` beats of `P = C / G_hw` lanes (lane `j` of
//! beat `c` is channel `j * G_hw + c` of the tile, `cbnn::hw::streams::result_beats`); the encoder
//! takes blocks of `N` consecutive channels of one pixel (SPEC 8.3). A filter tile's `C` channels
//! are exactly one codec segment (`S = C`), so an output row of a tile is one record: its pixels
//! in order, each cut into `ceil(len / N)` blocks, where `len = min(C, c_out - tile * C)`, the
//! record ending with the row's last pixel.
//!
//! Two pixel registers of `C` bytes: `col` collects the beats of the pixel coming in, `em` sends
//! the previous one to the encoder a block per cycle (shifting down by `N` bytes); a full `col`
//! moves to `em` in the cycle `em` sends its last block, so with `ceil(C / N) <= G_hw` blocks
//! per pixel the stage takes a beat every cycle. Only the low 8 bits of each lane are kept (the
//! drain's k-bit and sign outputs; accumulator outputs bypass the codec). The stage counts
//! pixels, rows of a band, filter tiles and bands itself, in the drain's order, from the
//! descriptor registers, so it needs no side channel from the controller. A grouped layer
//! (`grouped`) drains each row's tiles in turn (`cbnn::hw::streams::drain_order`): the tile then
//! advances after every row.
//!
//! Generated as Verilog text, like the array netlist (`netlist.rs`): its port widths are
//! products of config values (`P * A` bits in, `8 C` bits held), which rust-hdl's const-generic
//! widths cannot be instantiated for at run time.

use anyhow::{bail, Result};
use std::fmt::Write;

use crate::generator::verilog::Module;
use cbnn::config::AccelConfig;
use cbnn::hw::regs::{read_by, Block as RegBlock, Register};

/// Every generation parameter of the gather stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GatherShape {
    /// Array columns `C` (channels of a tile), columns per PPU `G_hw`, result lanes `P`, bits
    /// per lane `A`, values per codec block `N`.
    pub cols: usize,
    pub g_hw: usize,
    pub lanes: usize,
    pub lane_bits: usize,
    pub block: usize,
}

impl GatherShape {
    pub fn from_config(cfg: &AccelConfig) -> Result<Self> {
        let s = GatherShape {
            cols: cfg.array.cols as usize,
            g_hw: cfg.datapath.scale_group as usize,
            lanes: cbnn::hw::params::ppus(cfg) as usize,
            lane_bits: cfg.datapath.acc_bits as usize,
            block: cfg.codec.block as usize,
        };
        if s.lanes * s.g_hw != s.cols || s.lane_bits < 8 || s.block > 16 {
            bail!("gather stage: {s:?} is not a valid geometry");
        }
        Ok(s)
    }

    /// Blocks per full pixel, `ceil(C / N)`.
    pub fn blocks_per_pixel(&self) -> usize {
        self.cols.div_ceil(self.block)
    }
}

/// The descriptor registers the stage reads (`cbnn::hw::regs::Block::Gather`): the one-bit
/// flags and the 16-bit values.
fn registers() -> (Vec<&'static str>, Vec<&'static str>) {
    let (flags, values): (Vec<&Register>, Vec<&Register>) = read_by(RegBlock::Gather).partition(|r| r.width == 1);
    debug_assert!(values.iter().all(|r| r.width == 16), "the stage's value registers are 16 bits");
    (flags.iter().map(|r| r.name).collect(), values.iter().map(|r| r.name).collect())
}

/// The stage's register ports as its port list has them: the flags, then the values.
pub fn register_ports() -> Vec<&'static str> {
    let (flags, values) = registers();
    flags.into_iter().chain(values).collect()
}

/// The gather stage's module, named `name`.
pub fn gather_module(name: &str, s: &GatherShape) -> Module {
    let (c, g, p, a, n) = (s.cols, s.g_hw, s.lanes, s.lane_bits, s.block);
    let mut v = String::new();
    let mut line = |t: String| {
        v.push_str(&t);
        v.push('\n');
    };
    let (flags, regs) = registers();
    line(format!(
        "module {name}(clock, start, {}, {}, in_valid, in_data, in_ready, out_valid, out_data, out_n, out_last, out_ready, busy);",
        flags.join(", "),
        regs.join(", ")
    ));
    line(format!("    input wire clock, start, {};", flags.join(", ")));
    line(format!("    input wire [15:0] {};", regs.join(", ")));
    line(format!("    input wire in_valid; input wire [{}:0] in_data; output wire in_ready;", p * a - 1));
    line(format!(
        "    output wire out_valid; output wire [{}:0] out_data; output wire [4:0] out_n; output wire out_last; input wire out_ready;",
        8 * n - 1
    ));
    line("    output wire busy;".into());
    // Pixel registers and their flags: `len` channels, `last` = the record's last pixel.
    line(format!("    reg [{}:0] col, em;", 8 * c - 1));
    line("    reg col_full, col_last, em_valid, em_last;".into());
    line("    reg [15:0] cnt, col_len, em_left;".into());
    // Position in the drain's order: pixel, row of the band, band's first row, tile, its channel 0.
    line("    reg [15:0] x, yb, y0, tile, ch0;".into());
    line(format!("    wire em_done = out_ready & (em_left <= 16'd{n});"));
    line("    wire em_free = ~em_valid | em_done;".into());
    line("    wire move = col_full & em_free;".into());
    line("    assign in_ready = ~col_full | move;".into());
    line("    wire take = in_valid & in_ready;".into());
    line(format!("    wire px_done = take & (cnt == 16'd{});", g - 1));
    line("    wire [15:0] rest = c_out - ch0;".into());
    line(format!("    wire [15:0] len = (rest > 16'd{c}) ? 16'd{c} : rest;"));
    line("    wire row_last = x == w_out - 16'd1;".into());
    line("    wire band_done = (yb + 16'd1 == band_out_rows) | (y0 + yb + 16'd1 == h_out);".into());
    line("    wire tile_last = tile + 16'd1 == filter_tiles;".into());
    line("    assign out_valid = em_valid;".into());
    line(format!("    assign out_data = em[{}:0];", 8 * n - 1));
    line(format!("    assign out_n = (em_left > 16'd{n}) ? 5'd{n} : em_left[4:0];"));
    line(format!("    assign out_last = em_last & (em_left <= 16'd{n});"));
    line("    assign busy = col_full | em_valid | (cnt != 16'd0);".into());
    // The lanes' bits above the byte carry nothing here (see the file comment).
    if a > 8 {
        let hi: Vec<String> = (0..p).map(|j| format!("in_data[{}:{}]", j * a + a - 1, j * a + 8)).collect();
        line(format!("    wire unused_ok = &{{1'b0, {}, 1'b0}};", hi.join(", ")));
    }
    line("    always @(posedge clock) begin".into());
    line("        if (start) begin".into());
    line("            col_full <= 1'b0; em_valid <= 1'b0; cnt <= 16'd0;".into());
    line("            x <= 16'd0; yb <= 16'd0; y0 <= 16'd0; tile <= 16'd0; ch0 <= 16'd0;".into());
    line("        end else begin".into());
    line("            if (take) begin".into());
    for j in 0..p {
        for cl in 0..g {
            let ch = j * g + cl;
            let lane = format!("in_data[{}:{}]", j * a + 7, j * a);
            let dst = format!("col[{}:{}]", 8 * ch + 7, 8 * ch);
            if g == 1 {
                line(format!("                {dst} <= {lane};"));
            } else {
                line(format!("                if (cnt == 16'd{cl}) {dst} <= {lane};"));
            }
        }
    }
    line(format!("                cnt <= (cnt == 16'd{}) ? 16'd0 : cnt + 16'd1;", g - 1));
    line("            end".into());
    line("            if (px_done) begin".into());
    line("                col_len <= len; col_last <= row_last;".into());
    line("                if (~row_last) x <= x + 16'd1;".into());
    line("                else begin".into());
    line("                    x <= 16'd0;".into());
    line(format!(
        "                    if (grouped) begin if (~tile_last) begin tile <= tile + 16'd1; ch0 <= ch0 + 16'd{c}; end"
    ));
    line("                        else begin tile <= 16'd0; ch0 <= 16'd0; end end".into());
    line("                    else if (~band_done) yb <= yb + 16'd1;".into());
    line("                    else begin".into());
    line("                        yb <= 16'd0;".into());
    line(format!("                        if (~tile_last) begin tile <= tile + 16'd1; ch0 <= ch0 + 16'd{c}; end"));
    line("                        else begin tile <= 16'd0; ch0 <= 16'd0; y0 <= y0 + band_out_rows; end".into());
    line("                    end".into());
    line("                end".into());
    line("            end".into());
    line("            col_full <= px_done | (col_full & ~move);".into());
    line(
        "            if (move) begin em <= col; em_left <= col_len; em_last <= col_last; em_valid <= 1'b1; end".into(),
    );
    line("            else if (em_valid & out_ready) begin".into());
    line(format!("                if (em_left <= 16'd{n}) em_valid <= 1'b0;"));
    line(format!("                else begin em <= em >> {}; em_left <= em_left - 16'd{n}; end", 8 * n));
    line("            end".into());
    line("        end".into());
    line("    end".into());
    writeln!(v, "endmodule // {name}").unwrap();
    Module { name: name.to_string(), text: v }
}

#[cfg(test)]
mod tests;
