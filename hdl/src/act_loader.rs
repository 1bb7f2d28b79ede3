//! Activation loader: turns the activation stream (one `K`-bit value per beat, HWC order) into the
//! activation buffer's bit-plane words (docs/ARCHITECTURE.md, section 4).
//!
//! Channel `ch` of a pixel goes to chunk `q = ch / L`, lane `ch % L`; chunk `q` lives in row bank
//! `q % R`, chunk group `q / R`. When a chunk is complete (its last lane, or the pixel's last
//! channel) its `planes` bit-plane words are written to bank `q % R` at addresses
//! `base + b`, `base = (pixel * groups + group) * planes`, one per cycle, while the next chunk
//! fills (the stream stalls only when a chunk ends before the previous one is written out).
//! Lanes past the channels stay 0, which BWN mode relies on.
//!
//! The lane insertion uses a computed bit index, which rust-hdl's `replace_bit` emits with a
//! 32-bit mask (wrong for lanes >= 32), so the block is custom Verilog with a matching `update()`.

use crate::bitconv::{from_i128, to_u128};
use rust_hdl::prelude::*;

/// `L` lanes, `K` the widest activation (bits per value and the most bit-planes).
#[derive(LogicBlock)]
pub struct ActLoader<const L: usize, const K: usize> {
    pub clock: Signal<In, Clock>,
    /// Restart at pixel 0, address 0 (before each band).
    pub start: Signal<In, Bit>,
    pub c_in: Signal<In, Bits<16>>,
    /// Bit-planes per value: 1 in XNOR mode, k in BWN mode.
    pub planes: Signal<In, Bits<16>>,
    /// R, the number of row banks.
    pub rows: Signal<In, Bits<8>>,
    pub in_valid: Signal<In, Bit>,
    pub in_data: Signal<In, Bits<K>>,
    pub in_ready: Signal<Out, Bit>,
    pub wr_en: Signal<Out, Bit>,
    pub wr_row: Signal<Out, Bits<8>>,
    pub wr_addr: Signal<Out, Bits<16>>,
    pub wr_data: Signal<Out, Bits<L>>,
    lane: Signal<Local, Bits<16>>,
    ch: Signal<Local, Bits<16>>,
    row: Signal<Local, Bits<8>>,
    base: Signal<Local, Bits<16>>,
    cur: [Signal<Local, Bits<L>>; K],
    pend: [Signal<Local, Bits<L>>; K],
    pend_valid: Signal<Local, Bit>,
    pend_row: Signal<Local, Bits<8>>,
    pend_base: Signal<Local, Bits<16>>,
    pend_b: Signal<Local, Bits<4>>,
}

impl<const L: usize, const K: usize> Default for ActLoader<L, K> {
    fn default() -> Self {
        assert!((1..=8).contains(&K) && L >= 8, "ActLoader<{L}, {K}>: K in 1..=8, L >= 8");
        ActLoader {
            clock: Default::default(),
            start: Default::default(),
            c_in: Default::default(),
            planes: Default::default(),
            rows: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_ready: Default::default(),
            wr_en: Default::default(),
            wr_row: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            lane: Default::default(),
            ch: Default::default(),
            row: Default::default(),
            base: Default::default(),
            cur: std::array::from_fn(|_| Default::default()),
            pend: std::array::from_fn(|_| Default::default()),
            pend_valid: Default::default(),
            pend_row: Default::default(),
            pend_base: Default::default(),
            pend_b: Default::default(),
        }
    }
}

fn u<const N: usize>(b: Bits<N>) -> u64 {
    to_u128(b) as u64
}

fn bits<const N: usize>(v: u64) -> Bits<N> {
    from_i128(v as i128)
}

impl<const L: usize, const K: usize> Logic for ActLoader<L, K> {
    fn update(&mut self) {
        let (lane, ch, c_in) = (u(self.lane.val()), u(self.ch.val()), u(self.c_in.val()));
        let planes = u(self.planes.val());
        let chunk_end = lane == L as u64 - 1 || ch == c_in.wrapping_sub(1) & 0xffff;
        let pend_last = u(self.pend_b.val()) == planes.wrapping_sub(1) & 0xffff;
        let ready = !(self.pend_valid.val() && chunk_end && !pend_last);
        self.in_ready.next = ready;
        self.wr_en.next = self.pend_valid.val();
        self.wr_row.next = self.pend_row.val();
        self.wr_addr.next = bits((u(self.pend_base.val()) + u(self.pend_b.val())) & 0xffff);
        let pb = u(self.pend_b.val()) as usize;
        self.wr_data.next = if pb < K { self.pend[pb].val() } else { Bits::default() };
        if !self.clock.pos_edge() {
            return;
        }
        if self.start.val() {
            self.lane.next = 0.into();
            self.ch.next = 0.into();
            self.row.next = 0.into();
            self.base.next = 0.into();
            self.pend_valid.next = false;
            self.pend_b.next = 0.into();
            for k in 0..K {
                self.cur[k].next = Bits::default();
            }
            return;
        }
        if self.pend_valid.val() {
            if pend_last {
                self.pend_valid.next = false;
            } else {
                self.pend_b.next = bits((u(self.pend_b.val()) + 1) & 0xf);
            }
        }
        if self.in_valid.val() && ready {
            let data = u(self.in_data.val());
            let with_bit =
                |w: Bits<L>, k: usize| if (data >> k) & 1 == 1 { w.replace_bit(lane as usize, true) } else { w };
            if chunk_end {
                self.pend_valid.next = true;
                self.pend_b.next = 0.into();
                self.pend_row.next = self.row.val();
                self.pend_base.next = self.base.val();
                for k in 0..K {
                    self.pend[k].next = with_bit(self.cur[k].val(), k);
                    self.cur[k].next = Bits::default();
                }
                self.lane.next = 0.into();
                let (row, rows) = (u(self.row.val()), u(self.rows.val()));
                let next_base = bits((u(self.base.val()) + planes) & 0xffff);
                if ch == (c_in.wrapping_sub(1) & 0xffff) {
                    self.ch.next = 0.into();
                    self.row.next = 0.into();
                    self.base.next = next_base;
                } else if row == rows.wrapping_sub(1) & 0xff {
                    self.ch.next = bits((ch + 1) & 0xffff);
                    self.row.next = 0.into();
                    self.base.next = next_base;
                } else {
                    self.ch.next = bits((ch + 1) & 0xffff);
                    self.row.next = bits((row + 1) & 0xff);
                }
            } else {
                for k in 0..K {
                    self.cur[k].next = with_bit(self.cur[k].val(), k);
                }
                self.lane.next = bits((lane + 1) & 0xffff);
                self.ch.next = bits((ch + 1) & 0xffff);
            }
        }
    }

    fn connect(&mut self) {
        self.in_ready.connect();
        self.wr_en.connect();
        self.wr_row.connect();
        self.wr_addr.connect();
        self.wr_data.connect();
        // The registers are driven by this block's own code.
        for s in [&mut self.lane, &mut self.ch, &mut self.base, &mut self.pend_base] {
            s.connect();
        }
        self.row.connect();
        self.pend_row.connect();
        self.pend_valid.connect();
        self.pend_b.connect();
        for k in 0..K {
            self.cur[k].connect();
            self.pend[k].connect();
        }
    }

    fn hdl(&self) -> Verilog {
        // rust-hdl declares a 1-bit port as a scalar, which cannot be indexed.
        let bit = |k: usize| if K == 1 { "in_data".to_string() } else { format!("in_data[{k}]") };
        let mut v = String::new();
        v += &format!("wire chunk_end = (lane == 16'd{}) | (ch == c_in - 16'd1);\n", L - 1);
        v += "wire last_ch = (ch == c_in - 16'd1);\n";
        v += "wire pend_last = ({12'd0, pend_b} == planes - 16'd1);\n";
        v += "wire take = in_valid & in_ready;\n";
        v += &format!("wire [{l1}:0] one_hot = {{{{{l1}{{1'b0}}}}, 1'b1}} << lane;\n", l1 = L - 1);
        v += "always @(*) begin\n";
        v += "    in_ready = ~(pend_valid & chunk_end & ~pend_last);\n";
        v += "    wr_en = pend_valid;\n    wr_row = pend_row;\n    wr_addr = pend_base + {12'd0, pend_b};\n";
        v += &format!("    wr_data = {{{L}{{1'b0}}}};\n    case (pend_b)\n");
        for k in 0..K {
            v += &format!("        4'd{k}: wr_data = pend${k};\n");
        }
        v += "        default: ;\n    endcase\nend\n";
        v += "always @(posedge clock) begin\n    if (start) begin\n";
        v += "        lane <= 16'd0; ch <= 16'd0; row <= 8'd0; base <= 16'd0; pend_valid <= 1'b0; pend_b <= 4'd0;\n";
        for k in 0..K {
            v += &format!("        cur${k} <= {{{L}{{1'b0}}}};\n");
        }
        v += "    end else begin\n";
        v += "        if (pend_valid) begin\n            if (pend_last) pend_valid <= 1'b0;\n            else pend_b <= pend_b + 4'd1;\n        end\n";
        v += "        if (take) begin\n            if (chunk_end) begin\n";
        v += "                pend_valid <= 1'b1; pend_b <= 4'd0; pend_row <= row; pend_base <= base; lane <= 16'd0;\n";
        for k in 0..K {
            v += &format!("                pend${k} <= {} ? (cur${k} | one_hot) : cur${k};\n                cur${k} <= {{{L}{{1'b0}}}};\n", bit(k));
        }
        v += "                if (last_ch) begin\n                    ch <= 16'd0; row <= 8'd0; base <= base + planes;\n";
        v += "                end else if (row == rows - 8'd1) begin\n                    ch <= ch + 16'd1; row <= 8'd0; base <= base + planes;\n";
        v += "                end else begin\n                    ch <= ch + 16'd1; row <= row + 8'd1;\n                end\n";
        v += "            end else begin\n";
        for k in 0..K {
            v += &format!("                if ({}) cur${k} <= cur${k} | one_hot;\n", bit(k));
        }
        v += "                lane <= lane + 16'd1; ch <= ch + 16'd1;\n            end\n        end\n    end\nend\n";
        Verilog::Custom(v)
    }
}

#[cfg(test)]
mod tests;
