//! The simulator's side of the per-cycle control trace (`cbnn::hw::trace`): a probe that samples
//! the same signals the RTL testbench samples from the generated core's wires, every cycle of a
//! layer.

use anyhow::Result;

use crate::core::{Events, PortsIn};
use crate::layer::Probe;
use cbnn::hw::trace::{record, Sample, Trace};

/// Records a layer's trace (run one layer with it; `trace` then holds its changes).
#[derive(Clone, Debug, Default)]
pub struct TraceProbe {
    pub trace: Trace,
    t: u64,
}

/// Cycle `e`'s sample, with `p` the ports' inputs.
pub fn sample(p: &PortsIn, e: &Events) -> Sample {
    let drain_start = e.drain_start.is_some() || e.oacc_drain.is_some();
    let comb_start = e.comb_start.is_some();
    let start_bank = (drain_start || comb_start) && e.start_bank == 1;
    Sample([
        e.phase.code() as u32,
        e.go.is_some() as u32,
        e.acc_bank as u32,
        drain_start as u32,
        comb_start as u32,
        start_bank as u32,
        p.act_valid as u32,
        e.act_ready as u32,
        p.w_valid as u32,
        e.w_ready as u32,
        e.out_valid as u32,
        p.out_ready as u32,
        e.code_valid as u32,
        p.code_ready as u32,
    ])
}

impl Probe for TraceProbe {
    fn layer_start(&mut self, _index: usize) {
        self.trace.clear();
        self.t = 0;
    }

    fn cycle(&mut self, p: &PortsIn, e: &Events) -> Result<()> {
        record(&mut self.trace, self.t, &sample(p, e));
        self.t += 1;
        Ok(())
    }
}
