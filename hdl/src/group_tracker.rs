//! Which scale group a PPU's current filter belongs to, without a divider (docs/ARCHITECTURE.md,
//! section 4): the tracker keeps `(g, r) = (f div G, f mod G)` for the PPU's filter `f` and steps it
//! as `f` steps: by one per filter during a drain, back to the row's first filter for the next row,
//! and by `C` (the filters of a tile) between filter tiles. Jumps are normalised one filter per cycle
//! while `busy` (they happen during the weight-load phase, which is longer).

use rust_hdl::prelude::*;

#[derive(LogicBlock)]
pub struct GroupTracker {
    pub clock: Signal<In, Clock>,
    /// The layer's group size G (>= 1).
    pub group: Signal<In, Bits<16>>,
    /// Start of a layer: the PPU's first filter is `first` (its hardware group's first column).
    pub init: Signal<In, Bit>,
    pub first: Signal<In, Bits<16>>,
    /// Move the row start on by `tile_step` filters (the next filter tile).
    pub next_tile: Signal<In, Bit>,
    pub tile_step: Signal<In, Bits<16>>,
    /// Go back to the row's first filter.
    pub restart_row: Signal<In, Bit>,
    /// Move to the next filter.
    pub next_filter: Signal<In, Bit>,
    /// `f div G` of the current filter.
    pub g: Signal<Out, Bits<16>>,
    pub busy: Signal<Out, Bit>,
    cur_g: DFF<Bits<16>>,
    cur_r: DFF<Bits<16>>,
    row_g: DFF<Bits<16>>,
    row_r: DFF<Bits<16>>,
    pending: DFF<Bits<16>>,
    one: Constant<Bits<16>>,
    zero: Constant<Bits<16>>,
}

impl Default for GroupTracker {
    fn default() -> Self {
        GroupTracker {
            clock: Default::default(),
            group: Default::default(),
            init: Default::default(),
            first: Default::default(),
            next_tile: Default::default(),
            tile_step: Default::default(),
            restart_row: Default::default(),
            next_filter: Default::default(),
            g: Default::default(),
            busy: Default::default(),
            cur_g: Default::default(),
            cur_r: Default::default(),
            row_g: Default::default(),
            row_r: Default::default(),
            pending: Default::default(),
            one: Constant::new(1u64.into()),
            zero: Constant::new(0u64.into()),
        }
    }
}

impl Logic for GroupTracker {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, cur_g, cur_r, row_g, row_r, pending);
        self.g.next = self.cur_g.q.val();
        self.busy.next = self.pending.q.val() != self.zero.val();
        // Normalise a jump of the row start, one filter per cycle.
        if self.pending.q.val() != self.zero.val() {
            self.pending.d.next = self.pending.q.val() - self.one.val();
            self.row_r.d.next = self.row_r.q.val() + self.one.val();
            self.cur_r.d.next = self.row_r.q.val() + self.one.val();
            self.cur_g.d.next = self.row_g.q.val();
            if (self.row_r.q.val() + self.one.val()) == self.group.val() {
                self.row_r.d.next = self.zero.val();
                self.row_g.d.next = self.row_g.q.val() + self.one.val();
                self.cur_r.d.next = self.zero.val();
                self.cur_g.d.next = self.row_g.q.val() + self.one.val();
            }
        }
        if self.next_filter.val() {
            self.cur_r.d.next = self.cur_r.q.val() + self.one.val();
            if (self.cur_r.q.val() + self.one.val()) == self.group.val() {
                self.cur_r.d.next = self.zero.val();
                self.cur_g.d.next = self.cur_g.q.val() + self.one.val();
            }
        }
        if self.restart_row.val() {
            self.cur_g.d.next = self.row_g.q.val();
            self.cur_r.d.next = self.row_r.q.val();
        }
        if self.next_tile.val() {
            self.pending.d.next = self.pending.q.val() + self.tile_step.val();
        }
        if self.init.val() {
            self.cur_g.d.next = self.zero.val();
            self.cur_r.d.next = self.zero.val();
            self.row_g.d.next = self.zero.val();
            self.row_r.d.next = self.zero.val();
            self.pending.d.next = self.first.val();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow;
    use crate::verilog::emit_block;
    use std::fmt::Write as _;

    /// A drain schedule (tiles of rows of filters) for several G: the tracked group is always
    /// `f div G` of the filter being drained.
    #[test]
    fn verilog_tracks_f_div_g() {
        let (c, ghw, ppu) = (6u32, 3u32, 1u32); // PPU 1 serves columns 3..6 of each tile
        let mut tb = String::from(
            "module tb;\nreg clock = 0, init = 0, next_tile = 0, restart_row = 0, next_filter = 0; reg [15:0] group = 0;\n\
             wire [15:0] g; wire busy;\n",
        );
        writeln!(tb, "gt dut(.clock(clock), .group(group), .init(init), .first(16'd{}), .next_tile(next_tile), .tile_step(16'd{c}), .restart_row(restart_row), .next_filter(next_filter), .g(g), .busy(busy));", ppu * ghw).unwrap();
        tb += "task tick; begin #1 clock = 1; #1 clock = 0; end endtask\ninitial begin\n";
        let mut want = Vec::new();
        for group in [1u32, 2, 4, 5, 12] {
            writeln!(tb, "group = {group}; init = 1; tick; init = 0; while (busy) tick;").unwrap();
            for tile in 0..3u32 {
                if tile > 0 {
                    tb += "next_tile = 1; tick; next_tile = 0; while (busy) tick;\n";
                }
                for _row in 0..2 {
                    tb += "restart_row = 1; tick; restart_row = 0;\n";
                    for col in 0..ghw {
                        tb += "#1 $display(\"%0d\", g); #1;\n";
                        tb += "next_filter = 1; tick; next_filter = 0;\n";
                        want.push((tile * c + ppu * ghw + col) / group);
                    }
                }
            }
        }
        tb += "$finish;\nend\nendmodule\n";
        if !flow::have_icarus("group tracker co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = flow::icarus_run_with(dir.path(), &tb, &emit_block(GroupTracker::default(), "gt")).unwrap();
        let got: Vec<u32> = out.lines().map(|l| l.trim().parse().unwrap()).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        flow::check_lint_and_synth("group tracker", &emit_block(GroupTracker::default(), "gt"), "gt");
    }
}
