//! One buffer bank: a synchronous-read RAM of `2^N` words of `W` bits behind the controller's
//! 16-bit addresses. Writes are steered by a bank index (`wr_sel == my_id`, `my_id` tied to a
//! constant where the bank is instantiated); an access beyond the bank raises `overflow` a cycle
//! later (registered: the range check sits behind the address adders of the bank's users), which
//! the core reports as an error flag (a layer descriptor that does not fit the buffers).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct Bank<const W: usize, const N: usize> {
    pub clock: Signal<In, Clock>,
    pub my_id: Signal<In, Bits<8>>,
    pub wr_en: Signal<In, Bit>,
    pub wr_sel: Signal<In, Bits<8>>,
    pub wr_addr: Signal<In, Bits<16>>,
    pub wr_data: Signal<In, Bits<W>>,
    pub rd_en: Signal<In, Bit>,
    pub rd_addr: Signal<In, Bits<16>>,
    /// `mem[rd_addr]` one cycle after `rd_addr`.
    pub rd_data: Signal<Out, Bits<W>>,
    pub overflow: Signal<Out, Bit>,
    depth: Constant<Bits<16>>,
    ram: RAM<Bits<W>, N>,
    hit: Signal<Local, Bit>,
    overflow_q: DFF<Bit>,
}

impl<const W: usize, const N: usize> Default for Bank<W, N> {
    fn default() -> Self {
        assert!(
            N >= 1 && 1u32 << N <= cbnn::hw::descriptor::MAX_BANK_WORDS,
            "Bank<{W}, {N}>: too deep for 16-bit addresses"
        );
        Bank {
            clock: Default::default(),
            my_id: Default::default(),
            wr_en: Default::default(),
            wr_sel: Default::default(),
            wr_addr: Default::default(),
            wr_data: Default::default(),
            rd_en: Default::default(),
            rd_addr: Default::default(),
            rd_data: Default::default(),
            overflow: Default::default(),
            depth: Constant::new(((1u64 << N) as LiteralType).into()),
            ram: Default::default(),
            hit: Default::default(),
            overflow_q: Default::default(),
        }
    }
}

impl<const W: usize, const N: usize> Logic for Bank<W, N> {
    #[hdl_gen]
    fn update(&mut self) {
        self.ram.read_clock.next = self.clock.val();
        self.ram.write_clock.next = self.clock.val();
        self.hit.next = self.wr_en.val() & (self.wr_sel.val() == self.my_id.val());
        self.ram.write_enable.next = self.hit.val();
        self.ram.write_address.next = self.wr_addr.val().get_bits::<N>(0);
        self.ram.write_data.next = self.wr_data.val();
        self.ram.read_address.next = self.rd_addr.val().get_bits::<N>(0);
        self.rd_data.next = self.ram.read_data.val();
        dff_setup!(self, clock, overflow_q);
        self.overflow_q.d.next = (self.hit.val() & (self.wr_addr.val() >= self.depth.val()))
            | (self.rd_en.val() & (self.rd_addr.val() >= self.depth.val()));
        self.overflow.next = self.overflow_q.q.val();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;
    use std::fmt::Write as _;

    /// Writes to this bank land, writes to other banks do not, reads return them a cycle later,
    /// and out-of-range accesses raise `overflow` (registered: after the access's clock edge).
    #[test]
    fn verilog_reads_writes_and_flags_overflow() {
        let mut tb = String::from(
            "module tb;\nreg clock = 0, wr_en = 0, rd_en = 0; reg [7:0] wr_sel = 0; reg [15:0] wr_addr = 0, rd_addr = 0;\n\
             reg [11:0] wr_data = 0; wire [11:0] rd_data; wire overflow;\n\
             bank dut(.clock(clock), .my_id(8'd3), .wr_en(wr_en), .wr_sel(wr_sel), .wr_addr(wr_addr), .wr_data(wr_data),\n\
             .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(rd_data), .overflow(overflow));\ninitial begin\n",
        );
        for a in 0..16u32 {
            // Bank 3 gets a*7, bank 4 (another bank) gets garbage at the same address.
            writeln!(tb, "wr_en = 1; wr_sel = 3; wr_addr = {a}; wr_data = {}; #1 clock = 1; #1 clock = 0;", a * 7)
                .unwrap();
            writeln!(tb, "wr_sel = 4; wr_data = 12'hfff; #1 clock = 1; #1 clock = 0;").unwrap();
        }
        writeln!(tb, "wr_en = 0;").unwrap();
        for a in 0..16u32 {
            writeln!(
                tb,
                "rd_en = 1; rd_addr = {a}; #1 clock = 1; #1 clock = 0; $display(\"%0d %0d\", rd_data, overflow);"
            )
            .unwrap();
        }
        let edge = "#1 clock = 1; #1 clock = 0;";
        writeln!(tb, "rd_addr = 16; {edge} $display(\"%0d %0d\", 0, overflow);").unwrap();
        writeln!(tb, "rd_en = 0; wr_en = 1; wr_sel = 3; wr_addr = 40; {edge} $display(\"%0d %0d\", 0, overflow);")
            .unwrap();
        writeln!(tb, "wr_sel = 2; {edge} $display(\"%0d %0d\", 0, overflow);\n$finish;\nend\nendmodule").unwrap();
        if !verilog_tools::have_icarus("bank co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out =
            verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(Bank::<12, 4>::default(), "bank")).unwrap();
        let lines: Vec<String> = out.lines().map(str::to_string).collect();
        let mut want: Vec<String> = (0..16u32).map(|a| format!("{} 0", a * 7)).collect();
        want.extend(["0 1".to_string(), "0 1".to_string(), "0 0".to_string()]);
        assert_eq!(lines, want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("bank", &emit_block(Bank::<32, 9>::default(), "bank"), "bank");
    }
}
