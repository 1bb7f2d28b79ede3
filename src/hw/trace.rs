//! The per-cycle control trace both the RTL testbench and the cycle simulator write (issue 26):
//! in every cycle of a layer, the controller's phase and its run, drain and combine starts, and
//! the valid and ready of every stream at the core's ports. The co-simulation testbench samples
//! them from the generated core's wires (`hdl/src/cosim/mod.rs`), the simulator from its blocks'
//! outputs (`sim/src/trace.rs`); comparing the two names the first cycle, signal and block where
//! they part, instead of a wrong total at the end of a layer.
//!
//! A trace is kept as its changes: `(cycle, sample)` whenever the packed sample differs from the
//! previous cycle's, starting with cycle 0.

use super::control::Phase;

/// One signal of the trace: its name, width and the block that drives it (the simulator's file,
/// then the RTL's, where a difference should be looked for first).
#[derive(Clone, Copy, Debug)]
pub struct TraceSignal {
    pub name: &'static str,
    pub width: u32,
    pub block: &'static str,
}

const fn sig(name: &'static str, width: u32, block: &'static str) -> TraceSignal {
    TraceSignal { name, width, block }
}

const LOOP_NEST: &str =
    "controller's loop nest (sim/src/controller.rs clock_loop_nest, hdl/src/blocks/controller/loop_nest.rs)";
const RUN_ISSUER: &str =
    "controller's run issuer (sim/src/controller.rs clock_run_issuer, hdl/src/blocks/controller/run_issuer.rs)";
const PASS_SCHEDULER: &str = "controller's pass scheduler (sim/src/controller.rs clock_pass_scheduler, hdl/src/blocks/controller/pass_scheduler.rs)";
const ACT_PORT: &str =
    "activation port: loader or decoder (sim/src/act_loader.rs, sim/src/decoder.rs; hdl/src/blocks/act_loader.rs, hdl/src/codec/decoder.rs)";
const HOST: &str =
    "the environment: the testbench's DRAM or random gates (cbnn::hw::dram, cbnn::hw::trace::RandomGates)";
const W_PORT: &str = "weight port: controller's load phases (sim/src/core.rs, hdl/src/generator/top.rs)";
const OUT_PORT: &str = "result port: drain unit (sim/src/drain.rs, hdl/src/blocks/drain.rs)";
const CODE_PORT: &str = "record port: gather stage and encoder (sim/src/gather.rs, sim/src/encoder.rs; hdl/src/blocks/gather.rs, hdl/src/codec/encoder.rs)";

/// The signals in packing order, most significant first.
pub const SIGNALS: [TraceSignal; 14] = [
    sig("phase", Phase::BITS as u32, LOOP_NEST),
    sig("go", 1, LOOP_NEST),
    // The accumulator bank of the current run (the controller's `acc_bank`), 0 until the
    // layer's first run.
    sig("acc_bank", 1, RUN_ISSUER),
    sig("drain_start", 1, PASS_SCHEDULER),
    sig("comb_start", 1, PASS_SCHEDULER),
    // The bank of a drain or combine pass, while either starts (0 otherwise).
    sig("start_bank", 1, PASS_SCHEDULER),
    sig("act_valid", 1, HOST),
    sig("act_ready", 1, ACT_PORT),
    sig("w_valid", 1, HOST),
    sig("w_ready", 1, W_PORT),
    sig("out_valid", 1, OUT_PORT),
    sig("out_ready", 1, HOST),
    sig("code_valid", 1, CODE_PORT),
    sig("code_ready", 1, HOST),
];

/// Bits of a packed sample.
pub fn sample_bits() -> u32 {
    SIGNALS.iter().map(|s| s.width).sum()
}

/// One cycle's values, in `SIGNALS` order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample(pub [u32; SIGNALS.len()]);

impl Sample {
    /// The values packed into one word, the first signal in the most significant bits.
    pub fn pack(&self) -> u32 {
        SIGNALS.iter().zip(self.0).fold(0, |acc, (s, v)| (acc << s.width) | (v & ((1 << s.width) - 1)))
    }

    pub fn unpack(mut word: u32) -> Sample {
        let mut v = [0; SIGNALS.len()];
        for (i, s) in SIGNALS.iter().enumerate().rev() {
            v[i] = word & ((1 << s.width) - 1);
            word >>= s.width;
        }
        Sample(v)
    }
}

/// A layer's trace as its changes: `(cycle, packed sample)`.
pub type Trace = Vec<(u64, u32)>;

/// Appends cycle `t`'s sample to `trace` if it differs from the last one recorded.
pub fn record(trace: &mut Trace, t: u64, sample: &Sample) {
    let w = sample.pack();
    if trace.last().is_none_or(|&(_, last)| last != w) {
        trace.push((t, w));
    }
}

/// The first cycle at which two traces differ, with the value of each there (`u32::MAX` for a
/// trace that has not started).
pub fn first_difference(a: &Trace, b: &Trace) -> Option<(u64, u32, u32)> {
    // Walk the changes of both in cycle order, keeping each trace's current value.
    let (mut i, mut j) = (0, 0);
    let (mut x, mut y) = (u32::MAX, u32::MAX);
    while i < a.len() || j < b.len() {
        let t = match (a.get(i), b.get(j)) {
            (Some(&(ta, _)), Some(&(tb, _))) => ta.min(tb),
            (Some(&(ta, _)), None) => ta,
            (None, Some(&(tb, _))) => tb,
            (None, None) => unreachable!(),
        };
        while let Some(&(_, v)) = a.get(i).filter(|&&(c, _)| c == t) {
            x = v;
            i += 1;
        }
        while let Some(&(_, v)) = b.get(j).filter(|&&(c, _)| c == t) {
            y = v;
            j += 1;
        }
        if x != y {
            return Some((t, x, y));
        }
    }
    None
}

/// A difference described for a person: the cycle, every signal that differs (name, block,
/// each side's value) and the two traces' lengths.
pub fn describe_difference(ours: &Trace, theirs: &Trace, our_name: &str, their_name: &str) -> Option<String> {
    let (t, x, y) = first_difference(ours, theirs)?;
    let end = |tr: &Trace| tr.last().map_or(0, |&(c, _)| c);
    if x == u32::MAX || y == u32::MAX {
        return Some(format!(
            "cycle {t}: the {} trace has no sample (changes end at cycle {} in the {our_name}, {} in the {their_name})",
            if x == u32::MAX { our_name } else { their_name },
            end(ours),
            end(theirs)
        ));
    }
    let (sx, sy) = (Sample::unpack(x), Sample::unpack(y));
    let signals: Vec<String> = SIGNALS
        .iter()
        .enumerate()
        .filter(|(i, _)| sx.0[*i] != sy.0[*i])
        .map(|(i, s)| {
            format!("{} = {} in the {our_name}, {} in the {their_name} [{}]", s.name, sx.0[i], sy.0[i], s.block)
        })
        .collect();
    Some(format!("cycle {t}: {}", signals.join("; ")))
}

/// How the environment serves a layer's streams, in the co-simulation testbench and in the cycle
/// simulator alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Traffic {
    /// Input streams always valid, output streams always ready: the core's own cycle count.
    Free,
    /// The DRAM model of `cbnn::hw::dram` (`dram.bytes_per_cycle`, `dram.latency_cycles`):
    /// memory stalls.
    Dram,
    /// Valid and ready dropped at random by [`RandomGates`] from this seed: checks the
    /// handshakes. The testbench runs its case `i` from `RandomGates::case_seed(seed, i)`.
    Random(u32),
}

/// The random stalls of `Traffic::Random`: a 32-bit xorshift generator stepped once per cycle of a layer, whose low
/// bits gate the activation stream's valid, the weight stream's valid and the write streams'
/// ready, each open three cycles in four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomGates(u32);

impl RandomGates {
    /// The generator seeded `seed`: its state is never 0, the state xorshift cannot leave.
    pub fn new(seed: u32) -> Self {
        let x = u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        RandomGates((x >> 32) as u32 | 1)
    }

    /// The seed of case (layer) `index` of a run seeded `seed`, so that each layer of a
    /// testbench stalls differently and a simulator run of that layer alone stalls the same.
    pub fn case_seed(seed: u32, index: usize) -> u32 {
        seed.wrapping_add((index as u32).wrapping_mul(0x9e37_79b9))
    }

    /// The state the testbench starts the case with.
    pub fn state(&self) -> u32 {
        self.0
    }

    /// One cycle: the gates `(act_valid, w_valid, write_ready)` may open.
    pub fn step(&mut self) -> (bool, bool, bool) {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        (x & 3 != 0, (x >> 2) & 3 != 0, (x >> 4) & 3 != 0)
    }

    /// The same step in Verilog, on the testbench's `reg [31:0] rng`, setting `ga`, `gw`, `go_`.
    pub const VERILOG_STEP: &'static str = "rng = rng ^ (rng << 13); rng = rng ^ (rng >> 17); rng = rng ^ (rng << 5); \
         ga = rng[1:0] != 2'd0; gw = rng[3:2] != 2'd0; go_ = rng[5:4] != 2'd0;";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_pack_and_unpack() {
        assert!(sample_bits() <= 32);
        let mut s = Sample::default();
        for (i, sig) in SIGNALS.iter().enumerate() {
            s.0[i] = (1 << sig.width) - 1 - (i as u32 % 2);
        }
        assert_eq!(Sample::unpack(s.pack()), s);
        assert_eq!(Sample::unpack(1).0[SIGNALS.len() - 1], 1);
    }

    #[test]
    fn the_first_difference_is_found_between_changes() {
        let a: Trace = vec![(0, 1), (5, 2), (9, 3)];
        let mut b = a.clone();
        assert_eq!(first_difference(&a, &b), None);
        b[1].0 = 6;
        assert_eq!(first_difference(&a, &b), Some((5, 2, 1)));
        let c: Trace = vec![(0, 1), (5, 2)];
        assert_eq!(first_difference(&a, &c), Some((9, 3, 2)));
        let mut tr = Trace::new();
        for (t, v) in [(0, 4), (1, 4), (2, 5), (3, 5)] {
            record(&mut tr, t, &Sample::unpack(v));
        }
        assert_eq!(tr, vec![(0, 4), (2, 5)]);
    }

    #[test]
    fn the_gates_open_three_cycles_in_four_and_differ_by_case() {
        let mut g = RandomGates::new(7);
        let n = 40_000;
        let open = (0..n).map(|_| g.step()).fold([0; 3], |mut c, (a, w, o)| {
            c[0] += a as u32;
            c[1] += w as u32;
            c[2] += o as u32;
            c
        });
        for c in open {
            assert!((c as f64 / n as f64 - 0.75).abs() < 0.01, "{open:?}");
        }
        let case = |i| RandomGates::new(RandomGates::case_seed(7, i)).state();
        assert_ne!(case(0), case(1));
        assert_ne!(RandomGates::new(0).state(), 0);
    }
}
