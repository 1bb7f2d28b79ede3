//! The combine stage's pass control (`hdl/src/blocks/combine/ctl.rs`) as the rest of the core sees it:
//! a pass over a run of `E` entries issues `E * W_out` reads (one entry and pixel per cycle) and
//! one more that it drops, and its last write leaves the three-stage lanes three cycles after
//! the last read, so `busy` is high for `E * W_out + 3` cycles from the cycle after `start`
//! (`hdl/src/blocks/combine/tests.rs` checks this count on the Verilog). Passes follow the runs in
//! order, so the `n`-th pass of a layer is its row's run `n mod runs`. The sums are the
//! datapath's (`datapath.rs`).

#[derive(Clone, Debug, Default)]
pub struct Combine {
    /// Cycles of `busy` left, and passes started since the layer's start.
    left: u64,
    passes: u64,
}

impl Combine {
    pub fn busy(&self) -> bool {
        self.left > 0
    }

    /// The clock edge; `run_entries` are the entries of each run of a row (`E(g, b)`).
    pub fn clock(&mut self, start: bool, run_entries: &[u32], w_out: u32) {
        self.left = self.left.saturating_sub(1);
        if start {
            let e = run_entries[(self.passes % run_entries.len() as u64) as usize] as u64;
            self.left = e * w_out as u64 + cbnn::hw::pipeline::COMBINE_TAIL as u64;
            self.passes += 1;
        }
    }
}
