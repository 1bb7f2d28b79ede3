//! The drain unit's control (`hdl/src/blocks/drain.rs`, `DrainCtl`): one accumulator read per cycle
//! while it holds a credit (a free slot of the result FIFO, `RESULT_FIFO_DEPTH` entries), the
//! PPU pipeline behind it (a read's value comes `DRAIN_READ_TO_VALUE` cycles after it, is written
//! into the FIFO then, and is visible a cycle after that), and the FIFO's pointers. The values of
//! a row are the datapath's (`datapath.rs`).

use cbnn::hw::pipeline::{DRAIN_READ_TO_VALUE as READ_TO_VALUE, RESULT_FIFO_DEPTH};

const FIFO_DEPTH: u32 = RESULT_FIFO_DEPTH as u32;

#[derive(Clone, Debug, Default)]
pub struct Drain {
    running: bool,
    issuing: bool,
    x: u32,
    c: u32,
    used: u32,
    /// Reads issued in the last `READ_TO_VALUE` cycles (bit 0: the previous cycle).
    pipe: u8,
    wp: u8,
    wp_seen: u8,
    rp: u8,
}

impl Drain {
    pub fn busy(&self) -> bool {
        self.running
    }

    pub fn out_valid(&self) -> bool {
        self.rp != self.wp_seen
    }

    /// A read is issued this cycle.
    pub fn issue(&self, start: bool) -> bool {
        (start || self.issuing) && self.used < FIFO_DEPTH
    }

    /// The clock edge: `start` begins a row of `w_out * g_hw` beats; `pop` is a beat accepted.
    pub fn clock(&mut self, start: bool, pop: bool, w_out: u32, g_hw: u32) {
        let q = self.clone();
        let issue = q.issue(start);
        let ppu_valid = (q.pipe >> (READ_TO_VALUE - 1)) & 1 == 1;
        self.rp = (q.rp + pop as u8) & 15;
        self.wp = (q.wp + ppu_valid as u8) & 15;
        self.wp_seen = q.wp;
        self.pipe = ((q.pipe << 1) | issue as u8) & ((1 << READ_TO_VALUE) - 1);
        if start {
            self.running = true;
            self.issuing = true;
        }
        if issue {
            if q.c + 1 == g_hw {
                self.c = 0;
                if q.x + 1 == w_out {
                    self.x = 0;
                    self.issuing = false;
                } else {
                    self.x = q.x + 1;
                }
            } else {
                self.c = q.c + 1;
            }
        }
        match (issue, pop) {
            (true, false) => self.used = q.used + 1,
            (false, true) => self.used = q.used - 1,
            _ => {}
        }
        if q.running && !q.issuing && pop && q.used == 1 {
            self.running = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With the output always ready, a row's first beat is offered `F = DRAIN_FIRST_BEAT` cycles
    /// after `start`, the last of `N` beats transfers in cycle `drain_last_beat(N)` and `busy` is
    /// high from cycle 1 to that cycle: the contract the RTL's drain unit tests hold it to.
    #[test]
    fn a_row_drains_in_n_plus_first_beat_cycles() {
        use cbnn::hw::pipeline::{drain_last_beat, DRAIN_FIRST_BEAT};
        let f = DRAIN_FIRST_BEAT as u32;
        for (w_out, g) in [(1, 1), (8, 1), (5, 4), (16, 2)] {
            let n = w_out * g;
            let mut dr = Drain::default();
            let (mut first, mut last, mut busy) = (None, None, Vec::new());
            for t in 0..(n + 20) {
                busy.push(dr.busy());
                let pop = dr.out_valid();
                if pop {
                    first.get_or_insert(t);
                    last = Some(t);
                }
                dr.clock(t == 0, pop, w_out, g);
            }
            assert_eq!(first, Some(f));
            assert_eq!(last, Some(drain_last_beat(n as usize) as u32));
            let high: Vec<u32> = (0..busy.len() as u32).filter(|&t| busy[t as usize]).collect();
            assert_eq!(high, (1..=n + f - 1).collect::<Vec<_>>(), "w_out {w_out} G {g}");
        }
    }
}
