//! The comparison the RTL tests share: networks run layer by layer on the generated core's
//! Verilog (`cbnn_hdl::cosim`, every core layer of every network in one simulation, on one
//! instance of the core) and on the cycle simulator, both against the golden model. Layers the
//! core does not run (maxpool; slbf and penni without the combine stage) are host layers, as in
//! `simulate`: the golden model's output is the next layer's input.

use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::hw::first_layer::{im2col_input, lowered_first_layer};
use cbnn::hw::trace::{describe_difference, RandomGates};
use cbnn::quant::{QLayer, QNet};
use cbnn::tensor::Tensor3;
use cbnn_hdl::cosim::verilog_tools::{self, Simulator};
use cbnn_hdl::cosim::{run_layers_on, LayerCase, LayerRun};
use cbnn_sim::network::on_core;
use cbnn_sim::trace::TraceProbe;
use cbnn_sim::{run_layer_probed, Stored, Traffic};

/// A compiled network and one input (integers of `net.input.bits`), named in messages by `what`.
pub struct NetCase<'a> {
    pub what: String,
    pub net: &'a QNet,
    pub input: Tensor3<i32>,
}

/// Runs every case's core layers on the RTL under `simulator` and on the simulator, and asserts,
/// layer by layer, the per-cycle control traces equal (`cbnn::hw::trace`: the first differing
/// cycle, signal and block fail the test), the outputs equal to the golden model's and the
/// simulator's cycle counts
/// (total and computing), codec bytes and DRAM bytes equal to the RTL's. Each layer reads the
/// golden model's output of the layer before it (with the codec, a core layer after a core layer
/// reads the records the RTL wrote). Returns, per case and layer, the RTL's run (`None` for a
/// host layer), or `None` when the simulator is missing on a developer machine.
pub fn compare_on(
    simulator: Simulator,
    cfg: &AccelConfig,
    cases: &[NetCase],
    traffic: Traffic,
    what: &str,
) -> Option<Vec<Vec<Option<LayerRun>>>> {
    let present = match simulator {
        Simulator::Icarus => verilog_tools::have_icarus(what),
        Simulator::Verilator => verilog_tools::have_verilator(what),
    };
    if !present {
        return None;
    }
    let outs: Vec<Vec<Tensor3<i32>>> = cases.iter().map(|c| golden::run(c.net, &c.input)).collect();
    // The core's view of each case's first layer and its input: in im2col form, the lowered
    // layer over the window taps the host lays out from the stored input.
    let firsts: Vec<(Option<QLayer>, Tensor3<i32>)> = cases
        .iter()
        .map(|c| {
            let stored = golden::stored(&c.input, c.net.input.bits, &c.net.input.codec);
            match lowered_first_layer(c.net, cfg) {
                Some(low) => {
                    let taps = im2col_input(&c.net.layers[0], &stored);
                    (Some(low), taps)
                }
                None => (None, stored),
            }
        })
        .collect();
    let core_layer = |k: usize, i: usize| -> &QLayer {
        match (&firsts[k].0, i) {
            (Some(low), 0) => low,
            _ => &cases[k].net.layers[i],
        }
    };
    let mut layer_cases = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        for (i, l) in c.net.layers.iter().enumerate() {
            if !on_core(l, cfg) {
                continue;
            }
            let l = core_layer(k, i);
            let input = if i == 0 { &firsts[k].1 } else { &outs[k][i - 1] };
            let chained = cfg.codec.enabled && i > 0 && on_core(&c.net.layers[i - 1], cfg);
            layer_cases.push(if chained { LayerCase::chained(l) } else { LayerCase::new(l, input) });
        }
    }
    let modules = cbnn_hdl::generator::top::core_modules(cfg).unwrap();
    let (runs, timing) = run_layers_on(simulator, cfg, &modules, &layer_cases, traffic).unwrap();
    println!(
        "{what}: {simulator:?} built the testbench in {:.1} s and ran {} layers in {:.1} s",
        timing.build_s,
        runs.len(),
        timing.run_s
    );
    let mut runs = runs.into_iter();
    let mut case = 0;
    let mut all = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let what = &c.what;
        let mut per_layer = Vec::new();
        let mut stored = Stored::new(cfg, c.input.clone(), c.net.input.bits, &c.net.input.codec).unwrap();
        if let Some(low) = &firsts[k].0 {
            println!("{what}: layer 0 ({}) runs over its {} window taps (im2col)", low.name, low.in_shape[0]);
            stored = Stored::new(cfg, firsts[k].1.clone(), low.in_bits, &low.in_codec).unwrap();
        }
        for (i, l) in c.net.layers.iter().enumerate() {
            if !on_core(l, cfg) {
                println!("{what}: layer {i} ({}): host (golden arithmetic)", l.name);
                stored = Stored::new(cfg, outs[k][i].clone(), l.out_bits, &l.codec).unwrap();
                per_layer.push(None);
                continue;
            }
            let l = core_layer(k, i);
            let rtl = runs.next().expect("one RTL run per core layer");
            let traffic = match traffic {
                // The testbench's gates for this case.
                Traffic::Random(seed) => Traffic::Random(RandomGates::case_seed(seed, case)),
                t => t,
            };
            case += 1;
            let mut probe = TraceProbe::default();
            let sim = run_layer_probed(cfg, l, &stored, traffic, Some(&mut probe)).unwrap();
            // Cycle by cycle first: a difference names the cycle, the signal and the block.
            if let Some(d) = describe_difference(&probe.trace, &rtl.trace, "simulator", "RTL") {
                panic!("{what}: layer {i} ({}): the control traces differ at {d}", l.name);
            }
            assert_eq!(sim.stored.tensor.data, outs[k][i].data, "{what}: layer {i}: simulator against golden");
            assert!(!rtl.error, "{what}: layer {i}: the core raised its error flag");
            assert_eq!(rtl.output.data, outs[k][i].data, "{what}: layer {i}: RTL against golden");
            println!(
                "{what}: layer {i} ({}): RTL {} cycles ({} computing), simulator {} ({}); codec bytes in {} / {}, out {} / {}; DRAM bytes act+weight+out {} / {}",
                l.name,
                rtl.cycles,
                rtl.compute_cycles,
                sim.cycles,
                sim.compute_cycles,
                rtl.bytes_in,
                sim.bytes_in,
                rtl.bytes_out,
                sim.bytes_out,
                rtl.act_bytes + rtl.weight_bytes + rtl.written_bytes,
                sim.act_bytes + sim.weight_bytes + sim.written_bytes
            );
            assert_eq!(
                (sim.cycles, sim.compute_cycles),
                (rtl.cycles, rtl.compute_cycles),
                "{what}: layer {i}: cycles (total, computing), simulator against RTL"
            );
            assert_eq!((sim.bytes_in, sim.bytes_out), (rtl.bytes_in, rtl.bytes_out), "{what}: layer {i}: codec bytes");
            assert_eq!(
                (sim.act_bytes, sim.weight_bytes, sim.written_bytes),
                (rtl.act_bytes, rtl.weight_bytes, rtl.written_bytes),
                "{what}: layer {i}: DRAM bytes (activations, weights, results)"
            );
            stored = if cfg.codec.enabled {
                sim.stored
            } else {
                Stored::new(cfg, outs[k][i].clone(), l.out_bits, &l.codec).unwrap()
            };
            per_layer.push(Some(rtl));
        }
        all.push(per_layer);
    }
    assert!(runs.next().is_none(), "{what}: more RTL runs than core layers");
    Some(all)
}
