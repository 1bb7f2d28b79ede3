//! What `simulate` prints and writes: the per-layer table, the totals, and the JSON report.

use serde::Serialize;

use crate::network::LayerReport;
use cbnn::config::AccelConfig;

/// A layer's (or a network's) counted figures: what the simulation measured, summable.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Counts {
    pub cycles: u64,
    /// Cycles with memory that is never the limit (`Traffic::Free`).
    pub ideal_cycles: u64,
    /// One-bit multiply-accumulates on the array (`cbnn::quant::plain::Ops::binary_macs`).
    pub binary_macs: u64,
    /// Multiply-accumulates of the combine stage (slbf, penni layers).
    pub combine_macs: u64,
    /// `MACs * planes / (R * C * L)`: the cycles the work would take with every lane busy.
    #[serde(skip)]
    pub pe_busy_cycles: f64,
    /// Activation bytes read: as values (k bits each; rows shared by two bands twice) and on
    /// the stream (the codec's records); weight bytes; results written as values and on the
    /// stream.
    pub act_raw_bytes: u64,
    pub act_bytes: u64,
    pub weight_bytes: u64,
    pub out_raw_bytes: u64,
    pub out_bytes: u64,
    /// Cycles a stream of the core waited on memory.
    pub stall_cycles: u64,
}

impl std::ops::AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, o: &Counts) {
        self.cycles += o.cycles;
        self.ideal_cycles += o.ideal_cycles;
        self.binary_macs += o.binary_macs;
        self.combine_macs += o.combine_macs;
        self.pe_busy_cycles += o.pe_busy_cycles;
        self.act_raw_bytes += o.act_raw_bytes;
        self.act_bytes += o.act_bytes;
        self.weight_bytes += o.weight_bytes;
        self.out_raw_bytes += o.out_raw_bytes;
        self.out_bytes += o.out_bytes;
        self.stall_cycles += o.stall_cycles;
    }
}

impl Counts {
    /// The per-image mean of several images' counts, each rounded to the nearest whole count
    /// (cycles and bytes are whole; the batch's exact sums are in `batch::BatchTotals`).
    pub fn mean<'a>(all: impl IntoIterator<Item = &'a Counts>) -> Counts {
        let (mut sum, mut n) = (Counts::default(), 0u64);
        for c in all {
            sum += c;
            n += 1;
        }
        let n = n.max(1);
        let avg = |v: u64| rounded_mean(v, n);
        Counts {
            cycles: avg(sum.cycles),
            ideal_cycles: avg(sum.ideal_cycles),
            binary_macs: avg(sum.binary_macs),
            combine_macs: avg(sum.combine_macs),
            pe_busy_cycles: sum.pe_busy_cycles / n as f64,
            act_raw_bytes: avg(sum.act_raw_bytes),
            act_bytes: avg(sum.act_bytes),
            weight_bytes: avg(sum.weight_bytes),
            out_raw_bytes: avg(sum.out_raw_bytes),
            out_bytes: avg(sum.out_bytes),
            stall_cycles: avg(sum.stall_cycles),
        }
    }

    /// Bytes on the DRAM streams: activations read, weights read, results written, as stored.
    pub fn dram_bytes(&self) -> u64 {
        self.act_bytes + self.weight_bytes + self.out_bytes
    }
}

/// `sum / n` rounded to the nearest integer (halves up); `n > 0`.
fn rounded_mean(sum: u64, n: u64) -> u64 {
    (sum + n / 2) / n
}

/// The mean of whole counts, rounded to the nearest (0 for none).
pub fn mean_count(values: impl IntoIterator<Item = u64>) -> u64 {
    let (sum, n) = values.into_iter().fold((0, 0), |(s, n), v| (s + v, n + 1));
    rounded_mean(sum, n.max(1))
}

/// Counts and what follows from them at the config's clock.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Figures {
    #[serde(flatten)]
    pub counts: Counts,
    pub latency_us: f64,
    /// `pe_busy_cycles / cycles`.
    pub pe_utilisation: f64,
    /// Activation traffic as values over activation traffic on the streams (what the codec saves).
    pub compression: f64,
    /// The DRAM bandwidth needed to run at ideal-memory speed: bytes on all streams over
    /// `ideal_cycles`.
    pub bandwidth_bytes_per_cycle: f64,
}

impl Figures {
    pub fn new(cfg: &AccelConfig, c: Counts) -> Self {
        let ratio = |a: f64, b: u64| if b == 0 { 0.0 } else { a / b as f64 };
        Figures {
            latency_us: c.cycles as f64 / cfg.clock.mhz,
            pe_utilisation: ratio(c.pe_busy_cycles, c.cycles),
            compression: ratio((c.act_raw_bytes + c.out_raw_bytes) as f64, c.act_bytes + c.out_bytes),
            bandwidth_bytes_per_cycle: ratio(c.dram_bytes() as f64, c.ideal_cycles),
            counts: c,
        }
    }
}

/// A whole network's figures, summed over its layers (host layers add no cycles).
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    #[serde(flatten)]
    pub figures: Figures,
    pub inferences_per_s: f64,
    /// Layers computed by the host (no cycles counted).
    pub host_layers: usize,
}

impl Totals {
    pub fn of(cfg: &AccelConfig, layers: &[LayerReport]) -> Self {
        let mut c = Counts::default();
        for l in layers {
            c += &l.figures.counts;
        }
        let figures = Figures::new(cfg, c);
        Totals {
            inferences_per_s: if figures.counts.cycles == 0 { 0.0 } else { 1e6 / figures.latency_us },
            figures,
            host_layers: layers.iter().filter(|l| !l.on_core).count(),
        }
    }
}

/// One line describing the simulated core and its memory.
pub fn describe_core(cfg: &AccelConfig, ideal_memory: bool) -> String {
    let a = &cfg.array;
    let memory = if ideal_memory {
        "ideal memory (streams never wait)".to_string()
    } else {
        format!("DRAM {} B/cycle, latency {} cycles", cfg.dram.bytes_per_cycle, cfg.dram.latency_cycles)
    };
    let codec = if cfg.codec.enabled { format!("codec on (N = {})", cfg.codec.block) } else { "codec off".into() };
    format!(
        "core {}: {}x{} PEs x {} lanes, G_hw = {}, {} MHz, {memory}, {codec}",
        cfg.name, a.rows, a.cols, a.lanes, cfg.datapath.scale_group, cfg.clock.mhz
    )
}

/// `raw>coded`, or one number when the codec did not change it.
fn bytes_pair(raw: u64, coded: u64) -> String {
    if raw == coded {
        raw.to_string()
    } else {
        format!("{raw}>{coded}")
    }
}

/// A table row's cells from `name` on.
fn row(name: &str, kind: &str, f: &Figures, bound: &str) -> [String; 13] {
    let c = &f.counts;
    [
        name.to_string(),
        kind.to_string(),
        c.cycles.to_string(),
        format!("{:.2}", f.latency_us),
        c.binary_macs.to_string(),
        format!("{:.1}", 100.0 * f.pe_utilisation),
        bytes_pair(c.act_raw_bytes, c.act_bytes),
        c.weight_bytes.to_string(),
        bytes_pair(c.out_raw_bytes, c.out_bytes),
        format!("{:.2}", f.compression),
        format!("{:.2}", f.bandwidth_bytes_per_cycle),
        c.stall_cycles.to_string(),
        bound.to_string(),
    ]
}

/// The per-layer table and the totals, as plain aligned text.
pub fn table(layers: &[LayerReport], t: &Totals) -> String {
    let mut s = String::new();
    let mut line = |c: [&str; 13]| {
        s.push_str(&format!(
            "{:<12} {:<7} {:>10} {:>9} {:>12} {:>6} {:>19} {:>9} {:>19} {:>6} {:>8} {:>8}  {}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12]
        ))
    };
    line([
        "layer",
        "kind",
        "cycles",
        "us",
        "MACs",
        "PE %",
        "act B raw>coded",
        "weight B",
        "out B raw>coded",
        "ratio",
        "need B/c",
        "stalls",
        "bound",
    ]);
    for l in layers {
        if l.on_core {
            line(row(&l.name, &l.kind, &l.figures, &l.bound).each_ref().map(|c| c.as_str()));
        } else {
            let dash = ["-"; 10];
            let mut cells =
                [l.name.as_str(), l.kind.as_str(), "", "", "", "", "", "", "", "", "", "", "host (golden arithmetic)"];
            cells[2..12].copy_from_slice(&dash);
            line(cells);
        }
    }
    line(row("total", "", &t.figures, "").each_ref().map(|c| c.as_str()));
    let f = &t.figures;
    s.push_str(&format!("throughput: {:.1} inferences/s ({:.2} us per inference)", t.inferences_per_s, f.latency_us));
    if t.host_layers > 0 {
        s.push_str(&format!(", not counting {} host layer(s)", t.host_layers));
    }
    s.push('\n');
    s
}

/// The slbf and penni layers next to the plain binary conv each stands for (empty when the
/// network has none): weight memory, operations and cycles, and the ratios plain / compressed.
pub fn sharing_table(layers: &[LayerReport]) -> String {
    let rows: Vec<_> = layers.iter().filter_map(|l| l.plain.as_ref().map(|p| (l, p))).collect();
    if rows.is_empty() {
        return String::new();
    }
    let cycles = |c: Option<u64>| c.map_or("-".to_string(), |c| c.to_string());
    let ratio = |a: Option<u64>, b: Option<u64>| match (a, b) {
        (Some(a), Some(b)) if b > 0 => format!("{:.2}", a as f64 / b as f64),
        _ => "-".to_string(),
    };
    let mut s = String::from("filter sharing next to a plain binary conv of the same shape on this core:\n");
    let mut line = |c: [&str; 11]| {
        s.push_str(&format!(
            "{:<12} {:<6} {:>12} {:>13} {:>13} {:>10} | {:>12} {:>13} {:>10} | {:>8} {:>8}\n",
            c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10]
        ))
    };
    line([
        "layer",
        "kind",
        "weight bits",
        "binary MACs",
        "combine MACs",
        "cycles",
        "plain bits",
        "plain MACs",
        "plain cyc",
        "memory x",
        "speed x",
    ]);
    for (l, p) in rows {
        let own_cycles = l.on_core.then_some(l.figures.counts.cycles);
        let cells = [
            l.name.clone(),
            l.kind.clone(),
            l.weight_bits.to_string(),
            l.ops.binary_macs.to_string(),
            l.ops.combine_macs.to_string(),
            cycles(own_cycles),
            p.weight_bits.to_string(),
            p.binary_macs.to_string(),
            cycles(p.cycles),
            ratio(Some(p.weight_bits), Some(l.weight_bits)),
            ratio(p.cycles, own_cycles),
        ];
        line(cells.each_ref().map(|c| c.as_str()));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A made-up layer report: `cycles` with utilisation `util`, fixed bytes and MACs.
    pub(crate) fn layer(name: &str, cycles: u64, util: f64, on_core: bool) -> LayerReport {
        let cfg = AccelConfig::default();
        let counts = Counts {
            cycles,
            ideal_cycles: cycles,
            binary_macs: 1000,
            combine_macs: 0,
            pe_busy_cycles: util * cycles as f64,
            act_raw_bytes: 100,
            act_bytes: 50,
            weight_bytes: 10,
            out_raw_bytes: 100,
            out_bytes: 50,
            stall_cycles: 1,
        };
        LayerReport {
            name: name.into(),
            kind: "conv".into(),
            on_core,
            compute_cycles: cycles,
            load_cycles: 0,
            bound: "compute".into(),
            weight_bits: 500,
            ops: Default::default(),
            plain: None,
            figures: Figures::new(&cfg, counts),
        }
    }

    #[test]
    fn the_sharing_table_compares_with_the_plain_layer() {
        let a = layer("a", 100, 0.5, true);
        assert_eq!(sharing_table(std::slice::from_ref(&a)), "", "no slbf or penni layer, no table");
        let mut s = layer("s", 100, 0.5, true);
        s.plain = Some(crate::network::PlainReport { weight_bits: 2000, binary_macs: 9, cycles: Some(300) });
        let mut h = layer("h", 0, 0.0, false);
        h.plain = Some(crate::network::PlainReport { weight_bits: 1000, binary_macs: 9, cycles: None });
        let text = sharing_table(&[a, s, h]);
        assert_eq!(text.lines().count(), 4, "{text}");
        let row =
            |name: &str| text.lines().find(|l| l.starts_with(name)).unwrap().split_whitespace().collect::<Vec<_>>();
        // 2000 / 500 bits and 300 / 100 cycles; a host layer has no cycles of its own.
        assert_eq!(row("s")[row("s").len() - 2..], ["4.00", "3.00"]);
        assert_eq!(row("h")[row("h").len() - 2..], ["2.00", "-"]);
    }

    #[test]
    fn totals_weight_utilisation_by_cycles_and_skip_host_layers() {
        let cfg = AccelConfig::default();
        let ls = [layer("a", 100, 0.5, true), layer("b", 300, 0.1, true)];
        let t = Totals::of(&cfg, &ls);
        assert_eq!(t.figures.counts.cycles, 400);
        assert!((t.figures.pe_utilisation - (50.0 + 30.0) / 400.0).abs() < 1e-12);
        assert!((t.figures.compression - 2.0).abs() < 1e-12);
        assert!((t.figures.bandwidth_bytes_per_cycle - 220.0 / 400.0).abs() < 1e-12);
        assert!((t.inferences_per_s - 1e6 / (400.0 / cfg.clock.mhz)).abs() < 1e-6);
        let text = table(&[ls[0].clone(), layer("pool", 0, 0.0, false)], &t);
        assert!(text.contains("host"), "{text}");
        assert_eq!(text.lines().count(), 5, "{text}");
    }
}
