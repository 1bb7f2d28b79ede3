//! The grouped-row iterator of the layer controller: where a grouped (slbf, penni) layer's next
//! run is in its output row. A row is `n_groups x bank_tiles` runs; the iterator holds the run's
//! group and bank tile, the group's lane, PE row and activation address offset (`grp_lanes`
//! lanes per group, `grp_rows` groups per lane block, then the next block of `grp_base_step`
//! words), and the bank tile's first weight word. The simulator keeps only the run's index in
//! the row (`sim/src/controller.rs`, `run_idx`): the rest are addresses, which decide no cycle.

use rust_hdl::prelude::*;

use crate::blocks::lit::Lit;

#[derive(LogicBlock, Default)]
pub struct GroupIter {
    pub clock: Signal<In, Clock>,
    /// Back to the row's first run (a filter tile is being set up). Plain layers are cleared
    /// here too and never step, so their runs see zero offsets.
    pub clear: Signal<In, Bit>,
    /// A run is issued: move to the next one.
    pub step: Signal<In, Bit>,
    // Descriptor registers.
    pub n_groups: Signal<In, Bits<16>>,
    pub bank_tiles: Signal<In, Bits<16>>,
    pub bank_words: Signal<In, Bits<16>>,
    pub grp_lanes: Signal<In, Bits<16>>,
    pub grp_rows: Signal<In, Bits<16>>,
    pub grp_base_step: Signal<In, Bits<16>>,
    /// L, the array's lanes (a constant of the generated core).
    pub lanes: Signal<In, Bits<16>>,
    /// The current run is the row's last (its last group's last bank tile).
    pub row_last: Signal<Out, Bit>,
    /// The group's first lane and its PE row (sub-chunk groups; 0 otherwise).
    pub lane: Signal<Out, Bits<8>>,
    pub row: Signal<Out, Bits<8>>,
    pub base: Signal<Out, Bits<16>>,
    pub w_base: Signal<Out, Bits<16>>,
    grp: DFF<Bits<16>>,
    bt: DFF<Bits<16>>,
    g_lane: DFF<Bits<16>>,
    g_row: DFF<Bits<16>>,
    g_base: DFF<Bits<16>>,
    wb: DFF<Bits<16>>,
    one: Lit<16, 1>,
    zero: Lit<16, 0>,
}

impl Logic for GroupIter {
    #[hdl_gen]
    fn update(&mut self) {
        dff_setup!(self, clock, grp, bt, g_lane, g_row, g_base, wb);
        self.lane.next = self.g_lane.q.val().get_bits::<8>(0);
        self.row.next = self.g_row.q.val().get_bits::<8>(0);
        self.base.next = self.g_base.q.val();
        self.w_base.next = self.wb.q.val();
        self.row_last.next = ((self.bt.q.val() + self.one.val()) == self.bank_tiles.val())
            & ((self.grp.q.val() + self.one.val()) == self.n_groups.val());
        if self.clear.val() {
            self.grp.d.next = self.zero.val();
            self.bt.d.next = self.zero.val();
            self.g_lane.d.next = self.zero.val();
            self.g_row.d.next = self.zero.val();
            self.g_base.d.next = self.zero.val();
            self.wb.d.next = self.zero.val();
        } else if self.step.val() {
            // Next bank tile; after the last, the next group: the next lanes, or the next PE row
            // once the lanes are used up, or the next block of activations once the rows are.
            self.bt.d.next = self.bt.q.val() + self.one.val();
            self.wb.d.next = self.wb.q.val() + self.bank_words.val();
            if (self.bt.q.val() + self.one.val()) == self.bank_tiles.val() {
                self.bt.d.next = self.zero.val();
                self.wb.d.next = self.zero.val();
                self.grp.d.next = self.grp.q.val() + self.one.val();
                self.g_lane.d.next = self.g_lane.q.val() + self.grp_lanes.val();
                if (self.g_lane.q.val() + self.grp_lanes.val()) == self.lanes.val() {
                    self.g_lane.d.next = self.zero.val();
                    self.g_row.d.next = self.g_row.q.val() + self.one.val();
                    if (self.g_row.q.val() + self.one.val()) == self.grp_rows.val() {
                        self.g_row.d.next = self.zero.val();
                        self.g_base.d.next = self.g_base.q.val() + self.grp_base_step.val();
                    }
                }
                if self.row_last.val() {
                    self.grp.d.next = self.zero.val();
                    self.g_lane.d.next = self.zero.val();
                    self.g_row.d.next = self.zero.val();
                    self.g_base.d.next = self.zero.val();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosim::verilog_tools;
    use crate::generator::verilog::emit_block;
    use cbnn::config::AccelConfig;
    use cbnn::hw::{regs, LayerDescriptor};
    use cbnn::quant::compile;
    use cbnn::testing::random_grouped_layer;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::fmt::Write as _;

    /// Random slbf and penni layers (groups inside a chunk and of whole chunk groups, several
    /// bank tiles): the Verilog, stepped through two rows of runs, against each run's group
    /// position (`Grouped::pos`) and bank tile weight base from the contract in `cbnn::hw`.
    #[test]
    fn verilog_steps_through_every_run_of_a_row_like_the_contract() {
        let mut cfg = AccelConfig::default();
        (cfg.array.rows, cfg.array.cols, cfg.array.lanes) = (2, 4, 8);
        (cfg.combine.enabled, cfg.combine.penni) = (true, true);
        let mut rng = StdRng::seed_from_u64(5);
        let mut tb = String::from(
            "module tb;\nreg clock = 0, clear = 0, step = 0;\n\
             reg [15:0] n_groups, bank_tiles, bank_words, grp_lanes, grp_rows, grp_base_step, lanes;\n\
             wire row_last; wire [7:0] lane, row; wire [15:0] base, w_base;\n\
             gi dut(.clock(clock), .clear(clear), .step(step), .n_groups(n_groups), .bank_tiles(bank_tiles),\n\
             .bank_words(bank_words), .grp_lanes(grp_lanes), .grp_rows(grp_rows), .grp_base_step(grp_base_step),\n\
             .lanes(lanes), .row_last(row_last), .lane(lane), .row(row), .base(base), .w_base(w_base));\n\
             always #1 clock = !clock;\ninitial begin\n",
        );
        let mut want = Vec::new();
        let (mut sub_chunk, mut whole, mut tiles, mut cases) = (false, false, false, 0);
        while !(sub_chunk && whole && tiles && cases >= 6) {
            let (net, _) = random_grouped_layer(&mut rng, &cfg, cases % 2 == 0);
            let q = compile(&net, &cfg, None).unwrap();
            let Ok(d) = LayerDescriptor::new(&q.layers[0], &cfg) else { continue };
            let g = d.grouped.as_ref().unwrap();
            (sub_chunk, whole, tiles, cases) =
                (sub_chunk | g.sub_chunk, whole | !g.sub_chunk, tiles | (g.bank_tiles > 1), cases + 1);
            for name in ["n_groups", "bank_tiles", "bank_words", "grp_lanes", "grp_rows", "grp_base_step"] {
                write!(tb, "{name} = {}; ", (regs::register(name).value)(&d, &cfg)).unwrap();
            }
            writeln!(
                tb,
                "lanes = {};\n@(negedge clock) clear = 1; @(negedge clock) clear = 0; step = 1;",
                cfg.array.lanes
            )
            .unwrap();
            for run in 0..2 * g.runs() {
                let (grp, b) = (run % g.runs() / g.bank_tiles, run % g.bank_tiles);
                let p = g.pos(grp, d.planes, &cfg);
                tb += "$display(\"%0d %0d %0d %0d %0d\", row_last, lane, row, base, w_base); @(negedge clock);\n";
                want.push(
                    format!("{} {} {} {} {}", (run + 1) % g.runs() == 0, p.lane, p.row, p.base, b * g.tile_words)
                        .replace("true", "1")
                        .replace("false", "0"),
                );
            }
            tb += "step = 0;\n";
        }
        tb += "$finish;\nend\nendmodule\n";
        if !verilog_tools::have_icarus("grouped-row iterator co-simulation") {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = verilog_tools::icarus_run_with(dir.path(), &tb, &emit_block(GroupIter::default(), "gi")).unwrap();
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
    }

    #[test]
    fn verilog_is_lint_clean_and_synthesises() {
        verilog_tools::check_lint_and_synth("grouped-row iterator", &emit_block(GroupIter::default(), "gi"), "gi");
    }
}
