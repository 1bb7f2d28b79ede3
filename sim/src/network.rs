//! A whole network on the simulated core, layer after layer, each reading what the previous one
//! stored. Conv and fc layers run on the core, and slbf and penni layers on a core generated with
//! the combine stage (`combine.enabled`; penni also needs `combine.penni`); layers it does not
//! run (maxpool; slbf and penni on a core without the combine stage) are computed by the host
//! with the golden model's arithmetic and stored the same way, and reported as host layers. The outputs are checked against the
//! golden model unless the caller skips it.

use anyhow::{bail, Result};
use serde::Serialize;

use crate::layer::{run_layer_probed, LayerResult, Probe, Stored, Traffic};
use crate::report::{Counts, Figures};
use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::hw::first_layer::{im2col_input, lowered_first_layer};
use cbnn::hw::LayerDescriptor;
use cbnn::quant::memory::weight_memory_bits;
use cbnn::quant::plain::{layer_ops, plain_binary, Ops};
use cbnn::quant::{QLayer, QNet, QOp, QWeights};
use cbnn::tensor::Tensor3;

/// What one layer cost, as `simulate` reports it.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReport {
    pub name: String,
    /// conv, fc, slbf, penni, maxpool; `im2col` for a first conv layer run over its window taps
    /// (`cbnn::hw::first_layer`).
    pub kind: String,
    /// Run by the core (false: computed by the host, no cycles).
    pub on_core: bool,
    /// Cycles with the controller computing output rows.
    pub compute_cycles: u64,
    /// Cycles with the controller loading input rows, weights or entries (`Phase::is_load`).
    pub load_cycles: u64,
    /// Bits of on-chip memory the layer's parameters take (`cbnn::quant::memory`).
    pub weight_bits: u64,
    /// Operations the layer performs (binary MACs on the array, MACs of the combine stage).
    pub ops: Ops,
    /// For slbf and penni layers: the plain binary conv of the same shape on the same core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plain: Option<PlainReport>,
    /// `memory` when the DRAM model makes the layer more than 10% slower than ideal memory,
    /// else `load` when more than half its cycles are loads, else `compute`; `host` for host
    /// layers.
    pub bound: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// What the plain binary conv a slbf or penni layer stands for costs (`cbnn::quant::plain`).
#[derive(Clone, Debug, Serialize)]
pub struct PlainReport {
    pub weight_bits: u64,
    pub binary_macs: u64,
    /// Its cycles on the same core with the same memory; None when not simulated (sweeps) or
    /// when the plain layer does not fit the core.
    pub cycles: Option<u64>,
}

/// A network's simulation: every layer's output as stored, and the reports.
pub struct NetworkRun {
    pub outputs: Vec<Tensor3<i32>>,
    pub layers: Vec<LayerReport>,
}

fn kind(l: &QLayer) -> &'static str {
    match &l.op {
        QOp::MaxPool(_) => "maxpool",
        QOp::Weighted(w) => match w.weights {
            QWeights::Conv { .. } => "conv",
            QWeights::Fc { .. } => "fc",
            QWeights::Slbf { .. } => "slbf",
            QWeights::Penni { .. } => "penni",
        },
    }
}

/// Whether the core runs this layer kind (the others are host layers).
pub fn on_core(l: &QLayer, cfg: &AccelConfig) -> bool {
    let QOp::Weighted(w) = &l.op else { return false };
    match w.weights {
        QWeights::Conv { .. } | QWeights::Fc { .. } => true,
        QWeights::Slbf { .. } => cfg.combine.enabled,
        QWeights::Penni { .. } => cfg.combine.enabled && cfg.combine.penni,
    }
}

/// Every core layer's descriptor, before anything runs: a layer too large for the generated core
/// is an error naming the limit.
pub fn check_fits(q: &QNet, cfg: &AccelConfig) -> Result<()> {
    for l in q.layers.iter().filter(|l| on_core(l, cfg)) {
        LayerDescriptor::new(l, cfg)?;
    }
    Ok(())
}

/// A core layer's `bound`: `memory` when the DRAM model makes it more than 10% slower than
/// ideal memory; else `load` when the controller spends more than half its cycles loading
/// (the core's own load path is the limit, not the DRAM); else `compute`.
pub fn bound(cycles: u64, ideal_cycles: u64, load_cycles: u64) -> &'static str {
    if cycles * 10 > ideal_cycles * 11 {
        "memory"
    } else if load_cycles * 2 > cycles {
        "load"
    } else {
        "compute"
    }
}

fn report(cfg: &AccelConfig, l: &QLayer, r: Option<(&LayerResult, u64)>) -> Result<LayerReport> {
    let ops = layer_ops(l);
    let mut rep = LayerReport {
        name: l.name.clone(),
        kind: kind(l).to_string(),
        on_core: r.is_some(),
        compute_cycles: 0,
        load_cycles: 0,
        weight_bits: weight_memory_bits(l, cfg),
        ops,
        plain: None,
        bound: "host".into(),
        figures: Figures::default(),
    };
    let Some((r, ideal)) = r else { return Ok(rep) };
    let d = LayerDescriptor::new(l, cfg)?;
    let bytes = |values: u64, bits: u32| (values * bits as u64).div_ceil(8);
    let out_bits = if l.out_bits == cbnn::network::ACC_BITS { 32 } else { l.out_bits };
    let lanes = (cfg.array.rows * cfg.array.cols * cfg.array.lanes) as f64;
    rep.compute_cycles = r.compute_cycles;
    rep.load_cycles = r.load_cycles;
    rep.bound = bound(r.cycles, ideal, r.load_cycles).into();
    rep.figures = Figures::new(
        cfg,
        Counts {
            cycles: r.cycles,
            ideal_cycles: ideal,
            binary_macs: ops.binary_macs,
            combine_macs: ops.combine_macs,
            pe_busy_cycles: ops.binary_macs as f64 * d.planes as f64 / lanes,
            act_raw_bytes: bytes(r.values_in, l.in_bits),
            act_bytes: r.act_bytes,
            weight_bytes: r.weight_bytes,
            out_raw_bytes: bytes(r.values_out, out_bits),
            out_bytes: r.written_bytes,
            stall_cycles: r.read_stalls + r.write_stalls,
        },
    );
    Ok(rep)
}

/// The first value where `got` differs from `want`, as an error naming the layer and index.
pub fn first_difference(layer: &str, got: &Tensor3<i32>, want: &Tensor3<i32>) -> Result<()> {
    if got.shape() != want.shape() {
        bail!(
            "layer {layer}: the simulator's output has shape {:?}, the golden model's {:?}",
            got.shape(),
            want.shape()
        );
    }
    if let Some(i) = got.data.iter().zip(&want.data).position(|(a, b)| a != b) {
        let (c, y, x) = (i / (got.h * got.w), i / got.w % got.h, i % got.w);
        bail!(
            "layer {layer}: output differs from the golden model at (c, y, x) = ({c}, {y}, {x}), index {i}: simulator {}, golden {}",
            got.data[i],
            want.data[i]
        );
    }
    Ok(())
}

/// Options of a network run.
pub struct RunOptions<'a> {
    pub traffic: Traffic,
    /// Also run each core layer with ideal memory (for the `bound` column).
    pub ideal: bool,
    /// Compare every layer with the golden model (an error at the first difference).
    pub check: bool,
    pub probe: Option<&'a mut dyn Probe>,
    /// Test hook: corrupt this layer's output (to see the golden check fail).
    pub fault: Option<usize>,
    /// Also run the plain binary conv of each slbf and penni layer (`LayerReport::plain`).
    pub plain: bool,
}

/// The plain binary conv standing for a slbf or penni layer, run on the same input.
fn plain_report(cfg: &AccelConfig, l: &QLayer, input: &Stored, o: &RunOptions) -> Result<Option<PlainReport>> {
    let Some(p) = plain_binary(l) else { return Ok(None) };
    let cycles = if o.plain && LayerDescriptor::new(&p, cfg).is_ok() {
        Some(crate::layer::run_layer(cfg, &p, input, o.traffic)?.cycles)
    } else {
        None
    };
    Ok(Some(PlainReport { weight_bits: weight_memory_bits(&p, cfg), binary_macs: layer_ops(&p).binary_macs, cycles }))
}

/// Runs the compiled network `q` on input `x` (integers of `q.input.bits`).
pub fn run_network(cfg: &AccelConfig, q: &QNet, x: &Tensor3<i32>, mut o: RunOptions) -> Result<NetworkRun> {
    check_fits(q, cfg)?;
    let want = if o.check { Some(golden::run(q, x)) } else { None };
    let mut stored = Stored::new(cfg, x.clone(), q.input.bits, &q.input.codec)?;
    let lowered = lowered_first_layer(q, cfg);
    let (mut outputs, mut layers) = (Vec::new(), Vec::new());
    for (i, l) in q.layers.iter().enumerate() {
        if let Some(p) = o.probe.as_deref_mut() {
            p.layer_start(i);
        }
        let plain = plain_report(cfg, l, &stored, &o)?;
        let (mut next, mut rep) = if on_core(l, cfg) {
            // The first layer may run over its window taps, which the host writes (im2col).
            let taps;
            let (l, input) = match (&lowered, i) {
                (Some(low), 0) => {
                    taps = Stored::new(cfg, im2col_input(l, &stored.tensor), low.in_bits, &low.in_codec)?;
                    (low, &taps)
                }
                _ => (l, &stored),
            };
            let r = run_layer_probed(cfg, l, input, o.traffic, o.probe.as_deref_mut())?;
            let ideal = if o.ideal && o.traffic != Traffic::Free {
                crate::layer::run_layer(cfg, l, input, Traffic::Free)?.cycles
            } else {
                r.cycles
            };
            let mut rep = report(cfg, l, Some((&r, ideal)))?;
            if lowered.is_some() && i == 0 {
                rep.kind = "im2col".into();
            }
            (r.stored, rep)
        } else {
            let out = golden::layer_output(l, &stored.tensor);
            (Stored::new(cfg, out, l.out_bits, &l.codec)?, report(cfg, l, None)?)
        };
        rep.plain = plain;
        if o.fault == Some(i) {
            next.tensor.data[0] ^= 1;
        }
        if let Some(w) = &want {
            first_difference(&l.name, &next.tensor, &w[i])?;
        }
        outputs.push(next.tensor.clone());
        layers.push(rep);
        stored = next;
    }
    Ok(NetworkRun { outputs, layers })
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbnn::network::{Geometry, Network};
    use cbnn::quant::compile;

    /// Runs a one-layer network on the default core with the DRAM model and gives its report.
    fn report_of(net: &Network, x: Tensor3<i32>) -> LayerReport {
        let cfg = AccelConfig::default();
        let q = compile(net, &cfg, None).unwrap();
        let o = RunOptions { traffic: Traffic::Dram, ideal: true, check: true, probe: None, fault: None, plain: false };
        run_network(&cfg, &q, &x, o).unwrap().layers.remove(0)
    }

    #[test]
    fn a_layer_that_mostly_loads_is_load_bound_and_a_conv_that_computes_is_not() {
        // fc 4096 -> 8: 1024 weight words through the port for 64 passes of one pixel.
        let fc = report_of(
            &Network::single_fc(256, 4, 4, 8, 1, vec![0.5; 8 * 4096]),
            Tensor3::from_vec(256, 4, 4, vec![1; 4096]),
        );
        assert!(fc.load_cycles * 2 > fc.figures.counts.cycles, "{fc:?}");
        assert_eq!(fc.bound, "load");
        // 3x3 conv 64 -> 16 on 16x16: 16 rows of 9 passes of 16 pixels per filter tile.
        let g = Geometry { kernel: 3, stride: 1, padding: 1 };
        let conv = Network::single_conv(64, 16, 16, 16, g, 1, vec![0.5; 16 * 64 * 9]);
        let conv = report_of(&conv, Tensor3::from_vec(64, 16, 16, vec![-1; 16384]));
        assert!(conv.compute_cycles * 2 > conv.figures.counts.cycles, "{conv:?}");
        assert_eq!(conv.bound, "compute");
    }
}
