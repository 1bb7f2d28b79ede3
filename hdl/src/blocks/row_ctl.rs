//! Per-row control of an array step (docs/ARCHITECTURE.md, section 4): from the controller's
//! broadcast step description, row `my_row` works out whether its chunk is padding (the tap falls
//! outside the input, or the row holds no chunk in the pixel's last group), whether it is the
//! pixel's last, partial chunk, and zeroes a padded chunk (BWN mode needs zero bits there).
//! One instance per array row, `my_row` tied to the row number.
//!
//! A run of a grouped layer whose groups lie inside one chunk (`sub`, docs/ARCHITECTURE.md
//! section 10) uses only the row holding the group (`run_row`): the others are padding; that
//! row's chunk is shifted down by the group's first lane (`shift`) and cut to the group's lanes
//! (`mask`, the layer's tail mask), and it is the tail chunk of every step.

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
    /// Grouped layer with sub-chunk groups (layer-static); the run's row and lane offset.
    pub sub: Signal<In, Bit>,
    pub run_row: Signal<In, Bits<8>>,
    pub shift: Signal<In, Bits<8>>,
    /// The layer's tail mask (lanes `0..tail_lanes`, all when 0), registered.
    pub mask: Signal<In, Bits<L>>,
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
            sub: Default::default(),
            run_row: Default::default(),
            shift: Default::default(),
            mask: Default::default(),
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
        if self.sub.val() {
            self.pad.next = self.outside.val() | (self.my_row.val() != self.run_row.val());
            self.tail.next = self.tail_en.val();
            self.a.next = (self.rd_data.val() >> self.shift.val()) & self.mask.val();
        }
        if self.pad.val() {
            self.a.next = self.zero.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;
    use std::fmt::Write as _;

    /// Every combination of row, padding and last group against the rule written out in Rust.
    #[test]
    fn verilog_flags_rows_like_the_rule() {
        let mut tb = String::from(
            "module tb;\nreg [7:0] my_row, rows_valid, run_row = 0, shift = 0; reg outside, last_group, tail_en, sub = 0;\n\
             reg [7:0] rd_data = 8'ha5, mask = 8'hff;\nwire [7:0] a; wire pad, tail;\n\
             rc dut(.my_row(my_row), .outside(outside), .last_group(last_group), .rows_valid(rows_valid), .tail_en(tail_en),\n\
             .sub(sub), .run_row(run_row), .shift(shift), .mask(mask), .rd_data(rd_data), .a(a), .pad(pad), .tail(tail));\ninitial begin\n",
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
        // Sub-chunk groups: only the run's row, its chunk shifted and masked, always the tail.
        for row in 0..3u32 {
            for run_row in 0..3u32 {
                for (shift, mask) in [(0u32, 0x01u32), (3, 0x01), (4, 0x0f), (6, 0x03), (0, 0xff)] {
                    for bits in 0..4u32 {
                        let (outside, tail_en) = (bits & 1 == 1, bits & 2 == 2);
                        writeln!(tb, "sub = 1; my_row = {row}; run_row = {run_row}; shift = {shift}; mask = {mask}; rows_valid = 1; last_group = 1; outside = {}; tail_en = {}; #1 $display(\"%0d %0d %0d\", a, pad, tail);", outside as u8, tail_en as u8).unwrap();
                        let pad = outside || row != run_row;
                        let a = if pad { 0 } else { (0xa5 >> shift) & mask };
                        want.push(format!("{a} {} {}", pad as u8, tail_en as u8));
                    }
                }
            }
        }
        tb += "$finish;\nend\nendmodule\n";
        if !verilog_tools::have_icarus("row control co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(RowCtl::<8>::default(), "rc")).unwrap();
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("row control", &emit_block(RowCtl::<32>::default(), "rc"), "rc");
    }
}
