//! The DRAM model (docs/ARCHITECTURE.md, section 6): one memory port of `dram.bytes_per_cycle`
//! bytes per cycle and `dram.latency_cycles` of read latency, serving the core's streams. The
//! cycle simulator steps this struct; the RTL testbench runs the same rules written in Verilog
//! (`verilog_rules`, below the struct), and the simulator's tests hold the two to identical
//! cycle counts. A change to a rule changes both here.
//!
//! Rules, per cycle `t` of a layer (cycle 0 is the first after `start`):
//! 1. The bandwidth budget `credit` is refilled by `bytes_per_cycle`, up to `bytes_per_cycle`
//!    (it may be negative: a beat larger than the budget is allowed and paid off later).
//! 2. A read stream offers its next beat (`valid`) once the beat has arrived: a beat requested at
//!    the end of cycle `r` arrives in cycle `r + 1 + latency_cycles`. A write stream is `ready`
//!    while `credit > 0`.
//! 3. The core's transfers happen; each written beat costs its bytes.
//! 4. Read requests: each read stream in turn (activations, then weights) requests its next beat
//!    if it has one left, fewer than `latency_cycles + 2` of its beats are requested and not yet
//!    taken (its queue), and `credit > 0`; the request costs the beat's bytes.
//!
//! A layer's reads are known in advance (the host wrote the descriptors), so the DMA prefetches
//! from the layer's first cycle; writes are posted. The model restarts with every layer.

use std::collections::VecDeque;

use crate::config::AccelConfig;

/// The read streams in request priority order.
pub const READ_STREAMS: usize = 2;
pub const ACT: usize = 0;
pub const WEIGHT: usize = 1;

/// Beats a read stream may have requested and not yet taken (its queue, rule 4): enough for a
/// stream to run at a beat per cycle through the read latency.
pub fn queue_depth(cfg: &AccelConfig) -> usize {
    cfg.dram.latency_cycles as usize + 2
}

/// Bytes of a weight word on the weight stream (`L` bits).
pub fn weight_beat_bytes(cfg: &AccelConfig) -> u32 {
    cfg.array.lanes.div_ceil(8)
}

/// Bytes of a beat of the result stream: one value per PPU lane, stored as an int32 for
/// accumulator outputs and as a byte for k-bit and sign outputs.
pub fn result_beat_bytes(cfg: &AccelConfig, out_mode: u32) -> u32 {
    let per = if out_mode == crate::hw::descriptor::MODE_ACC { 4 } else { 1 };
    crate::hw::params::ppus(cfg) * per
}

/// One read stream: the sizes of its beats and where the DMA is in them.
#[derive(Clone, Debug, Default)]
struct ReadStream {
    sizes: Vec<u32>,
    requested: usize,
    taken: usize,
    /// Arrival cycles of the requested beats not yet taken.
    arrivals: VecDeque<u64>,
}

/// The memory port of one layer.
#[derive(Clone, Debug)]
pub struct Dram {
    bytes_per_cycle: i64,
    latency: u64,
    queue: usize,
    credit: i64,
    streams: [ReadStream; READ_STREAMS],
    /// Bytes read and written, and cycles in which a stream's next beat was requested but had
    /// not arrived (the core waited on memory only if it wanted the beat then).
    pub bytes_read: u64,
    pub bytes_written: u64,
}

impl Dram {
    /// The port for a layer whose read streams carry beats of `act_sizes` and `weight_sizes`
    /// bytes, in the order the core takes them.
    pub fn new(cfg: &AccelConfig, act_sizes: Vec<u32>, weight_sizes: Vec<u32>) -> Self {
        let bpc = cfg.dram.bytes_per_cycle as i64;
        let mk = |sizes| ReadStream { sizes, ..ReadStream::default() };
        Dram {
            bytes_per_cycle: bpc,
            latency: cfg.dram.latency_cycles as u64,
            queue: queue_depth(cfg),
            credit: 0,
            streams: [mk(act_sizes), mk(weight_sizes)],
            bytes_read: 0,
            bytes_written: 0,
        }
    }

    /// Step 1: the start of cycle `t`.
    pub fn begin_cycle(&mut self) {
        self.credit = (self.credit + self.bytes_per_cycle).min(self.bytes_per_cycle);
    }

    /// Step 2: does read stream `s` offer a beat in cycle `t`?
    pub fn read_valid(&self, s: usize, t: u64) -> bool {
        self.streams[s].arrivals.front().is_some_and(|&a| a <= t)
    }

    /// Step 2: may a write beat go out this cycle?
    pub fn write_ready(&self) -> bool {
        self.credit > 0
    }

    /// Step 3: the core took the head beat of read stream `s`.
    pub fn take(&mut self, s: usize) {
        let st = &mut self.streams[s];
        st.arrivals.pop_front().expect("a beat is taken only when valid");
        st.taken += 1;
    }

    /// Step 3: the core wrote a beat of `bytes` bytes.
    pub fn write(&mut self, bytes: u32) {
        self.credit -= bytes as i64;
        self.bytes_written += bytes as u64;
    }

    /// Step 4: read requests at the end of cycle `t`.
    pub fn end_cycle(&mut self, t: u64) {
        for st in self.streams.iter_mut() {
            if st.requested < st.sizes.len() && st.requested - st.taken < self.queue && self.credit > 0 {
                let b = st.sizes[st.requested];
                self.credit -= b as i64;
                self.bytes_read += b as u64;
                st.requested += 1;
                st.arrivals.push_back(t + 1 + self.latency);
            }
        }
    }

    /// Beats of read stream `s` not yet taken by the core.
    pub fn left(&self, s: usize) -> usize {
        self.streams[s].sizes.len() - self.streams[s].taken
    }
}

/// The same rules in Verilog, for the co-simulation testbench's cycle loop (`hdl/src/cosim/mod.rs`):
/// steps 1 and 3-4 as two pieces of the loop's body, the refill before the transfers and the
/// rest after them. They read and write the testbench's variables: `cr` (the budget), `t` (the
/// cycle), per read stream the beats requested (`dan`, `dwn`), taken (`dat`, `dwt`) and their
/// arrival cycles (`daq`, `dwq`, `DQ` = `queue_depth` entries each), and `BW`, `LAT`, `WB`
/// (`bytes_per_cycle`, `latency_cycles`, `weight_beat_bytes`). Step 2 is the stream gates:
/// `dat < dan && daq[dat % DQ] <= t` and the same for weights, and `cr > 0` for writes.
///
/// the budget's refill at the cycle's start; after the transfers, the written bytes, then one
/// request per read stream (activations first) while its queue has room and the budget is
/// positive. Activation beats are the host's value beats (`asz`) or, with the codec, the
/// records' beats of up to `P` bytes, walked by the DMA's own record position (`dri`, `dro`).
pub fn verilog_rules(codec: Option<usize>) -> (String, String) {
    let refill = "\x20 cr = (cr + BW > BW) ? BW : cr + BW;\n".to_string();
    let act = match codec {
        None => "\x20 if (ai + dan - dat < ae && dan - dat < DQ && cr > 0) begin\n\
                 \x20   daq[dan % DQ] = t + 1 + LAT; cr = cr - asz[ai + dan - dat]; dan = dan + 1;\n\
                 \x20 end\n"
            .to_string(),
        Some(p) => format!(
            "\x20 if (dri < ae && dan - dat < DQ && cr > 0) begin\n\
             \x20   drl = rlen[rlist[dri]] - dro; if (drl > {p}) drl = {p};\n\
             \x20   daq[dan % DQ] = t + 1 + LAT; cr = cr - drl; dan = dan + 1;\n\
             \x20   if (dro + {p} >= rlen[rlist[dri]]) begin dri = dri + 1; dro = 0; end else dro = dro + {p};\n\
             \x20 end\n"
        ),
    };
    let taken = "\x20 if (act_valid && act_ready) dat = dat + 1;\n\
                 \x20 if (w_valid && w_ready) dwt = dwt + 1;\n\
                 \x20 if (out_valid && out_ready) cr = cr - outb;\n";
    let code = if codec.is_some() { "\x20 if (code_valid && code_ready) cr = cr - code_nbytes;\n" } else { "" };
    let weights = "\x20 if (wi + dwn - dwt < we_ && dwn - dwt < DQ && cr > 0) begin\n\
                   \x20   dwq[dwn % DQ] = t + 1 + LAT; cr = cr - WB; dwn = dwn + 1;\n\
                   \x20 end\n";
    (refill, format!("{taken}{code}{act}{weights}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(bpc: u32, latency: u32) -> AccelConfig {
        let mut c = AccelConfig::default();
        c.dram.bytes_per_cycle = bpc;
        c.dram.latency_cycles = latency;
        c
    }

    /// Cycles a consumer that takes every offered beat needs for `sizes` on one stream.
    fn drain(c: &AccelConfig, sizes: Vec<u32>) -> (u64, Vec<u64>) {
        let n = sizes.len();
        let mut d = Dram::new(c, sizes, Vec::new());
        let (mut t, mut when) = (0, Vec::new());
        while when.len() < n {
            d.begin_cycle();
            if d.read_valid(ACT, t) {
                d.take(ACT);
                when.push(t);
            }
            d.end_cycle(t);
            t += 1;
        }
        (t, when)
    }

    /// Beats no larger than the port stream at one per cycle once the latency has passed: the
    /// first beat arrives `latency + 1` cycles after the first request.
    #[test]
    fn a_free_stream_runs_at_one_beat_per_cycle_after_the_latency() {
        for latency in [0, 1, 5, 64] {
            let (_, when) = drain(&cfg(8, latency), vec![8; 100]);
            assert_eq!(when[0], latency as u64 + 1);
            assert!(when.windows(2).all(|w| w[1] == w[0] + 1), "latency {latency}: {when:?}");
        }
    }

    /// Beats larger than the budget are paced by the bandwidth: 100 beats of 8 bytes at 2 bytes
    /// per cycle take 4 cycles each.
    #[test]
    fn the_bandwidth_paces_large_beats() {
        let (_, when) = drain(&cfg(2, 3), vec![8; 100]);
        let gaps: Vec<u64> = when.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.iter().all(|&g| g == 4), "{gaps:?}");
    }

    /// Writes take the budget first; reads use what is left.
    #[test]
    fn writes_delay_reads() {
        let c = cfg(8, 0);
        let mut d = Dram::new(&c, vec![8; 4], Vec::new());
        let mut t = 0;
        let mut got = Vec::new();
        while got.len() < 4 {
            d.begin_cycle();
            if d.read_valid(ACT, t) {
                d.take(ACT);
                got.push(t);
            }
            if t < 3 && d.write_ready() {
                d.write(8);
            }
            d.end_cycle(t);
            t += 1;
        }
        // No read request while the three writes use the whole budget (cycles 0..3).
        assert_eq!(got[0], 4);
        assert_eq!(d.bytes_written, 24);
        assert_eq!(d.bytes_read, 32);
    }
}
