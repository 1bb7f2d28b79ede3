//! Weight loader: the weight stream (one `L`-bit word per beat, in the order of
//! `cbnn::hw::streams::weight_stream`: step, array row, column) into the C column banks; word `i`
//! goes to bank `i mod C` at address `i div C` (= step * R + row).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct WeightLoader<const L: usize> {
    pub clock: Signal<In, Clock>,
    /// Restart at address 0, column 0 (before each filter tile).
    pub start: Signal<In, Bit>,
    /// C, the number of column banks.
    pub cols: Signal<In, Bits<8>>,
    pub in_valid: Signal<In, Bit>,
    pub in_data: Signal<In, Bits<L>>,
    pub in_ready: Signal<Out, Bit>,
    pub wr_en: Signal<Out, Bit>,
    pub wr_sel: Signal<Out, Bits<8>>,
    pub wr_addr: Signal<Out, Bits<16>>,
    pub wr_data: Signal<Out, Bits<L>>,
    col: DFF<Bits<8>>,
    addr: DFF<Bits<16>>,
    one8: Constant<Bits<8>>,
    one16: Constant<Bits<16>>,
    zero8: Constant<Bits<8>>,
    zero16: Constant<Bits<16>>,
}

impl<const L: usize> Default for WeightLoader<L> {
    fn default() -> Self {
        WeightLoader {
            clock: Default::default(),
            start: Default::default(),
            cols: Default::default(),
            in_valid: Default::default(),
            in_data: Default::default(),
            in_ready: Default::default(),
            wr_en: Default::default(),
            wr_sel: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            col: Default::default(),
            addr: Default::default(),
            one8: Constant::new(1u64.into()),
            one16: Constant::new(1u64.into()),
            zero8: Constant::new(0u64.into()),
            zero16: Constant::new(0u64.into()),
        }
    }
}

impl<const L: usize> Logic for WeightLoader<L> {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, col, addr);
        // A bank write every cycle: the stream never waits.
        self.in_ready.next = true;
        self.wr_en.next = self.in_valid.val();
        self.wr_sel.next = self.col.q.val();
        self.wr_addr.next = self.addr.q.val();
        self.wr_data.next = self.in_data.val();
        if self.in_valid.val() {
            self.col.d.next = self.col.q.val() + self.one8.val();
            if self.col.q.val() + self.one8.val() == self.cols.val() {
                self.col.d.next = self.zero8.val();
                self.addr.d.next = self.addr.q.val() + self.one16.val();
            }
        }
        if self.start.val() {
            self.col.d.next = self.zero8.val();
            self.addr.d.next = self.zero16.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;
    use std::fmt::Write as _;

    #[test]
    fn verilog_spreads_words_over_the_column_banks() {
        let cols = 3u32;
        let mut tb = String::from(
            "module tb;\nreg clock = 0, start = 1, in_valid = 0; reg [15:0] in_data = 0; wire in_ready, wr_en;\n\
             wire [7:0] wr_sel; wire [15:0] wr_addr; wire [15:0] wr_data;\n\
             wl dut(.clock(clock), .start(start), .cols(8'd3), .in_valid(in_valid), .in_data(in_data), .in_ready(in_ready),\n\
             .wr_en(wr_en), .wr_sel(wr_sel), .wr_addr(wr_addr), .wr_data(wr_data));\n\
             always @(posedge clock) if (wr_en) $display(\"%0d %0d %0d\", wr_sel, wr_addr, wr_data);\n\
             initial begin\n#1 clock = 1; #1 clock = 0; start = 0;\n",
        );
        // Words 100.. with a gap every fourth cycle.
        let mut i = 0;
        for n in 0..40 {
            let valid = n % 4 != 3;
            writeln!(tb, "in_valid = {}; in_data = {}; #1 clock = 1; #1 clock = 0;", valid as u8, 100 + i).unwrap();
            if valid {
                i += 1;
            }
        }
        writeln!(tb, "in_valid = 0; #1 clock = 1; #1 clock = 0;\n$finish;\nend\nendmodule").unwrap();
        if !verilog_tools::have_icarus("weight loader co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out =
            verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(WeightLoader::<16>::default(), "wl")).unwrap();
        let got: Vec<String> = out.lines().map(str::to_string).collect();
        let want: Vec<String> = (0..i).map(|k| format!("{} {} {}", k % cols, k / cols, 100 + k)).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("weight loader", &emit_block(WeightLoader::<32>::default(), "wl"), "wl");
    }
}
