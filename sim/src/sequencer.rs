//! The compute sequencer's control (`hdl/src/blocks/sequencer.rs`): the load engine (R weight reads per
//! pass) and the pass engine (`planes x W_out` activation reads per pass) under the array's
//! timing contract. Only the counters that decide *when* reads happen are kept; which words a
//! run reads is the datapath's business (`datapath.rs`), computed when the run starts.

#[derive(Clone, Debug, Default)]
pub struct Sequencer {
    running: bool,
    ld_idx: u32,
    ld_active: bool,
    ld_r: u32,
    ps_idx: u32,
    ps_active: bool,
    x: u32,
    plane: u32,
}

/// The run's shape: passes per run (`passes`), array rows, pass length `planes x w_out`.
#[derive(Clone, Copy, Debug)]
pub struct SeqShape {
    pub passes: u32,
    pub rows: u32,
    pub w_out: u32,
    pub planes: u32,
}

impl Sequencer {
    pub fn busy(&self) -> bool {
        self.running
    }

    /// An activation read is issued this cycle (for utilisation counts).
    pub fn issuing(&self, s: &SeqShape) -> bool {
        self.pass_start(s) || self.ps_active
    }

    fn pass_start(&self, s: &SeqShape) -> bool {
        self.running && !self.ps_active && self.ps_idx < s.passes && self.ld_idx > self.ps_idx
    }

    /// The clock edge; the engines' functions mirror the RTL's sub-blocks of the same names
    /// (`hdl/src/blocks/sequencer/`).
    pub fn clock(&mut self, go: bool, s: &SeqShape) {
        let pass_start = self.pass_start(s);
        let ps_after = self.ps_idx + pass_start as u32;
        let load_start = self.running && !self.ld_active && self.ld_idx < s.passes && ps_after >= self.ld_idx;
        let q = self.clone();
        self.clock_load_engine(&q, load_start, s);
        self.clock_pass_engine(&q, pass_start, s);
        if q.running && !pass_start && !q.ps_active && !q.ld_active && q.ps_idx == s.passes {
            self.running = false;
        }
        if go {
            *self = Sequencer { running: true, ..Sequencer::default() };
        }
    }

    /// `LoadEngine`: R weight reads per pass from `load_start`.
    fn clock_load_engine(&mut self, q: &Sequencer, load_start: bool, s: &SeqShape) {
        if load_start {
            self.ld_idx = q.ld_idx + 1;
            if s.rows != 1 {
                self.ld_active = true;
                self.ld_r = 1;
            }
        }
        if q.ld_active {
            self.ld_r = q.ld_r + 1;
            if q.ld_r + 1 == s.rows {
                self.ld_active = false;
            }
        }
    }

    /// `PassEngine`: `planes x W_out` activation reads per pass from `pass_start`.
    fn clock_pass_engine(&mut self, q: &Sequencer, pass_start: bool, s: &SeqShape) {
        if pass_start || q.ps_active {
            self.ps_active = true;
            if pass_start {
                self.ps_idx = q.ps_idx + 1;
            }
            if q.x + 1 == s.w_out {
                self.x = 0;
                self.plane = q.plane + 1;
                if q.plane + 1 == s.planes {
                    self.ps_active = false;
                    self.plane = 0;
                }
            } else {
                self.x = q.x + 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbnn::config::AccelConfig;
    use cbnn::hw::sequence::{compute_cycles, compute_sequence};
    use cbnn::hw::LayerDescriptor;
    use cbnn::network::{Geometry, Network};
    use cbnn::quant::compile;

    /// After `go` the sequencer issues activation reads in exactly the cycles of
    /// `cbnn::hw::sequence::compute_sequence` (cycle 1 = its cycle 0) and is busy until two
    /// cycles after the last read, as the RTL block (whose Verilog reproduces the sequence).
    #[test]
    fn reads_follow_the_reference_sequence() {
        for (rows, c_in, k, w, bits) in [(2, 70, 3, 9, 1), (1, 10, 1, 5, 2), (4, 40, 3, 3, 8), (3, 200, 1, 1, 1)] {
            let mut cfg = AccelConfig::default();
            cfg.array.rows = rows;
            cfg.datapath.acc_bits = 32;
            let g = Geometry { kernel: k, stride: 1, padding: k / 2 };
            let net = Network::single_conv(c_in, w, w, 3, g, bits, vec![1.0; 3 * c_in * k * k]);
            let q = compile(&net, &cfg, None).unwrap();
            let d = LayerDescriptor::new(&q.layers[0], &cfg).unwrap();
            let want = compute_sequence(&d, &cfg, 0..1, 0);
            let s = SeqShape { passes: d.steps, rows, w_out: d.w_out, planes: d.pass_planes };
            let mut seq = Sequencer::default();
            seq.clock(true, &s);
            let mut t = 0usize;
            let mut reads = Vec::new();
            while seq.busy() {
                if seq.issuing(&s) {
                    reads.push(t);
                }
                seq.clock(false, &s);
                t += 1;
            }
            let expect: Vec<usize> =
                want.iter().enumerate().filter(|(_, i)| i.step.is_some()).map(|(t, _)| t).collect();
            assert_eq!(reads, expect, "R {rows} C_in {c_in} K {k}");
            assert_eq!(
                t as u64,
                compute_cycles(&d, &cfg, d.steps as u64) + 1,
                "busy falls 2 cycles after the last read"
            );
        }
    }
}
