//! Per-row control of an array step (docs/ARCHITECTURE.md, section 4): from the controller's
//! broadcast step description, row `my_row` works out whether its chunk is padding (the tap falls
//! outside the input, or the row holds no chunk in the pixel's last group), whether it is the
//! pixel's last, partial chunk, and zeroes a padded chunk (BWN mode needs zero bits there).
//! One instance per array row, `my_row` tied to the row number.

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct RowCtl<const L: usize> {
    pub my_row: Signal<In, Bits<8>>,
    /// The step's tap lies in the zero padding.
    pub outside: Signal<In, Bit>,
    /// The step covers the pixel's last chunk group...
    pub last_group: Signal<In, Bit>,
    /// ...in which rows `0..rows_valid` hold a chunk.
    pub rows_valid: Signal<In, Bits<8>>,
    /// The pixel's last chunk is partial (`c_in` not a multiple of L).
    pub tail_en: Signal<In, Bit>,
    pub rd_data: Signal<In, Bits<L>>,
    pub a: Signal<Out, Bits<L>>,
    pub pad: Signal<Out, Bit>,
    pub tail: Signal<Out, Bit>,
    one8: Constant<Bits<8>>,
    zero: Constant<Bits<L>>,
}

impl<const L: usize> Default for RowCtl<L> {
    fn default() -> Self {
        RowCtl {
            my_row: Default::default(),
            outside: Default::default(),
            last_group: Default::default(),
            rows_valid: Default::default(),
            tail_en: Default::default(),
            rd_data: Default::default(),
            a: Default::default(),
            pad: Default::default(),
            tail: Default::default(),
            one8: Constant::new(1u64.into()),
            zero: Constant::new(0u64.into()),
        }
    }
}

impl<const L: usize> Logic for RowCtl<L> {
    #[hdl_gen]
    fn update(&mut self) {
        self.pad.next = self.outside.val() | (self.last_group.val() & (self.my_row.val() >= self.rows_valid.val()));
        self.tail.next = self.last_group.val()
            & self.tail_en.val()
            & ((self.my_row.val() + self.one8.val()) == self.rows_valid.val());
        self.a.next = self.rd_data.val();
        if self.pad.val() {
            self.a.next = self.zero.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow;
    use crate::verilog::emit_block;
    use std::fmt::Write as _;

    /// Every combination of row, padding and last group against the rule written out in Rust.
    #[test]
    fn verilog_flags_rows_like_the_rule() {
        let mut tb = String::from(
            "module tb;\nreg [7:0] my_row, rows_valid; reg outside, last_group, tail_en; reg [7:0] rd_data = 8'ha5;\n\
             wire [7:0] a; wire pad, tail;\n\
             rc dut(.my_row(my_row), .outside(outside), .last_group(last_group), .rows_valid(rows_valid), .tail_en(tail_en),\n\
             .rd_data(rd_data), .a(a), .pad(pad), .tail(tail));\ninitial begin\n",
        );
        let mut want = Vec::new();
        for row in 0..4u32 {
            for rows_valid in 1..=4u32 {
                for bits in 0..8u32 {
                    let (outside, last, tail_en) = (bits & 1 == 1, bits & 2 == 2, bits & 4 == 4);
                    writeln!(tb, "my_row = {row}; rows_valid = {rows_valid}; outside = {}; last_group = {}; tail_en = {}; #1 $display(\"%0d %0d %0d\", a, pad, tail);", outside as u8, last as u8, tail_en as u8).unwrap();
                    let pad = outside || (last && row >= rows_valid);
                    let tail = last && tail_en && row + 1 == rows_valid;
                    want.push(format!("{} {} {}", if pad { 0 } else { 0xa5 }, pad as u8, tail as u8));
                }
            }
        }
        tb += "$finish;\nend\nendmodule\n";
        if !flow::have_icarus("row control co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = flow::icarus_run_with(dir.path(), &tb, &emit_block(RowCtl::<8>::default(), "rc")).unwrap();
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        flow::check_lint_and_synth("row control", &emit_block(RowCtl::<32>::default(), "rc"), "rc");
    }
}
