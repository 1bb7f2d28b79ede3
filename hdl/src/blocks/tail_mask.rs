//! The valid-lane mask of a pixel's last chunk: lanes `0..tail_lanes` (all lanes when
//! `tail_lanes` is 0, i.e. when the channels fill their last chunk). Layer-static; shared by the
//! array rows (only the row holding the last chunk uses it).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct TailMask<const L: usize> {
    pub tail_lanes: Signal<In, Bits<16>>,
    pub mask: Signal<Out, Bits<L>>,
}

impl<const L: usize> Default for TailMask<L> {
    fn default() -> Self {
        TailMask { tail_lanes: Default::default(), mask: Default::default() }
    }
}

impl<const L: usize> Logic for TailMask<L> {
    fn update(&mut self) {
        let n = self.tail_lanes.val().index();
        let mut m = Bits::<L>::default();
        for i in 0..L {
            m = m.replace_bit(i, n == 0 || i < n);
        }
        self.mask.next = m;
    }
    fn connect(&mut self) {
        self.mask.connect();
    }
    fn hdl(&self) -> Verilog {
        // One comparator per lane: lane i is valid when tail_lanes is 0 or greater than i.
        let mut v = String::from("always @(*) begin\n");
        for i in 0..L {
            v += &format!("    mask[{i}] = (tail_lanes == 16'd0) | (tail_lanes > 16'd{i});\n");
        }
        v += "end\n";
        Verilog::Custom(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;

    #[test]
    fn verilog_masks_the_tail_lanes() {
        let mut tb = String::from(
            "module tb;\nreg [15:0] n; wire [7:0] mask;\ntm dut(.tail_lanes(n), .mask(mask));\ninitial begin\n",
        );
        for n in 0..9 {
            tb += &format!("n = {n}; #1 $display(\"%b\", mask);\n");
        }
        tb += "$finish;\nend\nendmodule\n";
        if !verilog_tools::have_icarus("tail mask co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(TailMask::<8>::default(), "tm")).unwrap();
        let want: Vec<String> =
            (0..9u32).map(|n| format!("{:08b}", if n == 0 { 0xff } else { (1u32 << n) - 1 })).collect();
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("tail mask", &emit_block(TailMask::<32>::default(), "tm"), "tm");
    }
}
