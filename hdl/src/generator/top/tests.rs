//! The whole core's Verilog under Icarus against the golden model: random conv and fc layers on
//! several generated cores (array shapes, lanes, PPU groups, buffer sizes that force row bands
//! and filter tiles), every output function (relu with full and narrowed ranges, `out_max`) and
//! scale group, and a three-layer network run layer after layer on one core. Each run prints its
//! layers' cycle counts.

use super::*;
use crate::cosim::verilog_tools;
use crate::cosim::{run_layers_with, LayerCase, LayerRun, Traffic};
use cbnn::golden;
use cbnn::hw::sequence::compute_cycles;
use cbnn::hw::LayerDescriptor;
use cbnn::network::{Geometry, Layer, Network, Op, OutputFn};
use cbnn::quant::{compile, QLayer};
use cbnn::tensor::Tensor3;
use cbnn::testing::out_max_clamps;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub(super) fn config(rows: u32, cols: u32, lanes: u32, g_hw: u32) -> AccelConfig {
    let mut c = AccelConfig { name: "core".into(), ..AccelConfig::default() };
    c.array.rows = rows;
    c.array.cols = cols;
    c.array.lanes = lanes;
    c.datapath.scale_group = g_hw;
    c.datapath.acc_bits = 24;
    c.limits.max_width = 16;
    c.limits.max_channels = 64;
    c.limits.max_filters = Some(64);
    c.limits.max_fc_inputs = 1024;
    c.buffers.act_kib = 2;
    c.buffers.weight_kib = 2;
    c.codec.enabled = false;
    // Conv and fc layers on a core without the combine stage (the grouped tests add it).
    c.combine.enabled = false;
    c
}

pub(super) fn random_input(rng: &mut StdRng, shape: [usize; 3], bits: u32) -> Tensor3<i32> {
    let data = (0..shape.iter().product::<usize>())
        .map(|_| if bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) })
        .collect();
    Tensor3::from_vec(shape[0], shape[1], shape[2], data)
}

/// Half of the relu layers stop below `2^k - 1` (SPEC 6's `out_max`): 2-bit ones with the coarser
/// steps at 2 (three levels), 8-bit ones at 200 with a step 8 times finer, so that their outputs
/// reach it. (Which half follows from the drawn step, so the same layers are drawn either way.)
fn random_output(rng: &mut StdRng) -> OutputFn {
    match rng.gen_range(0..4) {
        0 => OutputFn::Accumulator,
        1 => OutputFn::Sign,
        2 => {
            let s = rng.gen_range(0.05..2.0);
            OutputFn::Relu { bits: 2, scale: Some(s), max: (s > 0.5).then_some(2) }
        }
        _ => match rng.gen_range(0.01..0.5) {
            s if s < 0.25 => OutputFn::Relu { bits: 8, scale: Some(s / 8.0), max: Some(200) },
            s => OutputFn::Relu { bits: 8, scale: Some(s), max: None },
        },
    }
}

/// A random conv or fc layer the core accepts (G a multiple of the core's G_hw, or all filters).
pub(super) fn random_layer(rng: &mut StdRng, cfg: &AccelConfig, fc: bool) -> Network {
    let bits = [1u32, 2, 8][rng.gen_range(0..3)];
    let c_in = rng.gen_range(1..40);
    // Enough filters for a scale group of 4 * G_hw that does not cover them all.
    let o = rng.gen_range(1..(4 * cfg.datapath.scale_group as usize + 5).max(12));
    let mut net = if fc {
        let hw = rng.gen_range(1..4);
        let w = (0..o * c_in * hw * hw).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        Network::single_fc(c_in, hw, hw, o, bits, w)
    } else {
        let k = [1usize, 3][rng.gen_range(0..2)];
        let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
        let hw = rng.gen_range(k.max(2)..12);
        let w = (0..o * c_in * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        Network::single_conv(c_in, hw, hw, o, g, bits, w)
    };
    let g_hw = cfg.datapath.scale_group as usize;
    let Op::Weighted(w) = &mut net.layers[0].op else { unreachable!() };
    w.scale_group = [g_hw, 2 * g_hw, 4 * g_hw, o][rng.gen_range(0..4)].min(o);
    w.bias = Some((0..o).map(|_| rng.gen_range(-2.0f32..2.0) as f64).collect());
    w.output = random_output(rng);
    net
}

pub(super) fn check(runs: &[LayerRun], layers: &[&QLayer], inputs: &[Tensor3<i32>], cfg: &AccelConfig, what: &str) {
    for (i, (run, (layer, input))) in runs.iter().zip(layers.iter().zip(inputs)).enumerate() {
        let d = LayerDescriptor::new(layer, cfg).unwrap();
        assert!(!run.error, "{what}: layer {i} raised the buffer overflow flag ({d:?})");
        let want = golden::layer_output(layer, input);
        assert_eq!(run.output.data, want.data, "{what}: layer {i} differs from golden ({d:?})");
        // The core cannot beat its sequencer: one run per output row and filter tile (grouped
        // layers: per output row, group and bank tile).
        let runs_per_row = d.grouped.as_ref().map_or(d.filter_tiles, |g| g.runs());
        let floor = runs_per_row as u64 * d.h_out as u64 * compute_cycles(&d, cfg, d.steps as u64);
        assert!(run.cycles >= floor, "{what}: layer {i} took {} cycles, below the sequencer's {floor}", run.cycles);
        println!(
            "{what}: layer {i}: {:?} {}->{} {}x{} K{} S{} P{} planes {} G {}: {} bands, {} tiles: {} cycles ({} computing)",
            d.kind,
            d.c_in,
            d.c_out,
            d.h,
            d.w,
            d.kernel,
            d.stride,
            d.padding,
            d.planes,
            d.group,
            d.bands,
            d.filter_tiles,
            run.cycles,
            run.compute_cycles
        );
    }
}

/// What a set of test layers exercises; each random test must cover all of it.
#[derive(Default)]
struct Coverage {
    bands: bool,
    tiles: bool,
    fc: bool,
    stride2_padded: bool,
    odd_channels: bool,
    xnor: bool,
    bwn2: bool,
    bwn8: bool,
    /// Relu layers of 2 and 8 bits with `out_max` below `2^k - 1`.
    narrow2: bool,
    narrow8: bool,
    groups: std::collections::BTreeSet<String>,
}

impl Coverage {
    /// Adds a layer; true if it covers something new.
    fn add(&mut self, d: &LayerDescriptor, g_hw: u32) -> bool {
        let g = if d.group >= d.c_out { "all".to_string() } else { (d.group / g_hw).to_string() + "xG_hw" };
        let before = self.missing().len() + usize::from(!self.groups.contains(&g));
        self.bands |= d.bands > 1;
        self.tiles |= d.filter_tiles > 1;
        self.fc |= d.kind == cbnn::hw::LayerKind::Fc;
        self.stride2_padded |= d.stride == 2 && d.padding > 0;
        self.odd_channels |= d.c_in % 2 == 1;
        self.xnor |= !d.bwn;
        self.bwn2 |= d.bwn && d.planes == 2;
        self.bwn8 |= d.bwn && d.planes == 8;
        let narrow = d.out_mode == cbnn::hw::descriptor::MODE_RELU && d.out_max < (1 << d.out_bits) - 1;
        self.narrow2 |= narrow && d.out_bits == 2;
        self.narrow8 |= narrow && d.out_bits == 8;
        self.groups.insert(g);
        self.missing().len() < before
    }

    fn missing(&self) -> Vec<&'static str> {
        let mut m = Vec::new();
        for (ok, what) in [
            (self.bands, "row bands"),
            (self.tiles, "filter tiles"),
            (self.fc, "fc"),
            (self.stride2_padded, "stride 2 with padding"),
            (self.odd_channels, "odd channels"),
            (self.xnor, "XNOR"),
            (self.bwn2, "BWN k=2"),
            (self.bwn8, "BWN k=8"),
            (self.narrow2, "relu 2 bits, out_max 2"),
            (self.narrow8, "relu 8 bits, out_max 200"),
        ] {
            if !ok {
                m.push(what);
            }
        }
        for g in ["1xG_hw", "2xG_hw", "4xG_hw", "all"] {
            if !self.groups.contains(g) {
                m.push(g);
            }
        }
        m
    }
}

/// At least `n` random layers that fit the core and together cover `Coverage`, run one after
/// another on one core.
fn run_random_layers(cfg: &AccelConfig, seed: u64, n: usize, traffic: Traffic) {
    let mut rng = StdRng::seed_from_u64(seed);
    let modules = core_modules(cfg).unwrap();
    let mut nets = Vec::new();
    let mut inputs = Vec::new();
    let mut cov = Coverage::default();
    for candidate in 0..2000 {
        if nets.len() >= n && cov.missing().is_empty() {
            break;
        }
        let net = random_layer(&mut rng, cfg, candidate % 4 == 3);
        let q = compile(&net, cfg, None).unwrap();
        let Ok(d) = LayerDescriptor::new(&q.layers[0], cfg) else {
            continue; // does not fit this core's buffers or maxima
        };
        if !cov.add(&d, cfg.datapath.scale_group) && nets.len() >= n {
            continue;
        }
        inputs.push(random_input(&mut rng, net.layers[0].in_shape, net.layers[0].in_bits));
        nets.push(q);
    }
    assert!(cov.missing().is_empty(), "seed {seed}: no random layer covered {:?}", cov.missing());
    let layers: Vec<&QLayer> = nets.iter().map(|q| &q.layers[0]).collect();
    let clamping: Vec<u32> =
        layers.iter().zip(&inputs).filter(|(l, i)| out_max_clamps(l, i)).map(|(l, _)| l.out_bits).collect();
    assert!(
        clamping.contains(&2) && clamping.contains(&8),
        "seed {seed}: a narrowed out_max clamps outputs only in layers of bits {clamping:?}"
    );
    let cases: Vec<LayerCase> = layers.iter().zip(&inputs).map(|(l, i)| LayerCase::new(l, i)).collect();
    if let Some(runs) = run_layers_with(cfg, &modules, &cases, traffic).unwrap() {
        check(&runs, &layers, &inputs, cfg, &format!("seed {seed}"));
    }
    // Every core the tests run is also one the open tools accept: Verilator's lint for each, Yosys
    // for one family each, alternating (the three-layer network's core below is synthesised for
    // both; each synthesis takes CI half a minute or more).
    let family = if seed % 2 == 1 { verilog_tools::Family::Ice40 } else { verilog_tools::Family::Ecp5 };
    verilog_tools::check_lint_and_synth_for(&format!("core of seed {seed}"), &modules, "core", &[family]);
}

#[test]
fn random_layers_on_a_2x2x8_core_match_golden() {
    run_random_layers(&config(2, 2, 8, 1), 1, 8, Traffic::Free);
}

#[test]
fn random_layers_on_a_non_square_3x2x32_core_with_shared_ppus_match_golden() {
    run_random_layers(&config(3, 2, 32, 2), 2, 8, Traffic::Random(7));
}

#[test]
fn random_layers_on_a_1x4x64_core_with_one_ppu_match_golden() {
    run_random_layers(&config(1, 4, 64, 4), 3, 6, Traffic::Free);
}

/// conv (2-bit in, ReLU 2-bit out of three levels: `out_max` 2) -> conv stride 2 (sign out) ->
/// fc (accumulator out), on one core, each layer reading what the previous one produced.
#[test]
fn three_layer_network_runs_on_one_core() {
    let cfg = config(2, 3, 8, 1);
    let mut rng = StdRng::seed_from_u64(5);
    let mut conv = |c_in: usize, hw: usize, o: usize, g: Geometry, bits: u32, out: OutputFn| -> Layer {
        let w = (0..o * c_in * g.kernel * g.kernel).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let mut net = Network::single_conv(c_in, hw, hw, o, g, bits, w);
        let Op::Weighted(wt) = &mut net.layers[0].op else { unreachable!() };
        wt.output = out;
        wt.scale_group = 2.min(o);
        net.layers.remove(0)
    };
    let l1 = conv(
        5,
        9,
        7,
        Geometry { kernel: 3, stride: 1, padding: 1 },
        2,
        OutputFn::Relu { bits: 2, scale: Some(0.4), max: Some(2) },
    );
    let l2 = conv(7, 9, 10, Geometry { kernel: 3, stride: 2, padding: 1 }, 2, OutputFn::Sign);
    let fc_w = (0..4 * 10 * 5 * 5).map(|i| ((i * 37 % 11) as f32) - 5.0).collect();
    let l3 = Network::single_fc(10, 5, 5, 4, 1, fc_w).layers.remove(0);
    let mut net = Network::single_conv(5, 9, 9, 7, Geometry { kernel: 3, stride: 1, padding: 1 }, 2, vec![1.0; 315]);
    net.layers = vec![l1, l2, l3];
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.name = format!("l{}", i + 1);
    }
    let q = compile(&net, &cfg, None).unwrap();
    let input = random_input(&mut StdRng::seed_from_u64(6), [5, 9, 9], 2);
    let outs = golden::run(&q, &input);
    assert!(out_max_clamps(&q.layers[0], &input), "l1's out_max clamps some outputs");
    let inputs: Vec<Tensor3<i32>> = std::iter::once(input).chain(outs[..2].iter().cloned()).collect();
    let layers: Vec<&QLayer> = q.layers.iter().collect();
    let cases: Vec<LayerCase> = layers.iter().zip(&inputs).map(|(l, i)| LayerCase::new(l, i)).collect();
    let modules = core_modules(&cfg).unwrap();
    let Some(runs) = run_layers_with(&cfg, &modules, &cases, Traffic::Free).unwrap() else { return };
    check(&runs, &layers, &inputs, &cfg, "three-layer network");
    assert_eq!(runs[2].output.data, outs[2].data, "the network's output");
}

/// The acceptance check of the generator's default output (what `gen-verilog` writes with no
/// arguments), codec included: Verilator -Wall always; Yosys synthesis for ECP5 (the family a
/// core of this size targets) only with `CBNN_SOAK=1`, as it takes about seven CPU minutes, a
/// quarter of CI's budget (the smaller cores of these tests are synthesised for both families in
/// every run, and `synth --core-only` synthesises the default core, docs/PERFORMANCE.md).
#[test]
fn default_config_verilog_is_lint_clean_and_synthesises() {
    let cfg = AccelConfig::default();
    let modules = core_modules(&cfg).unwrap();
    let soak = std::env::var("CBNN_SOAK").is_ok_and(|v| v == "1");
    let families: &[verilog_tools::Family] = if soak { &[verilog_tools::Family::Ecp5] } else { &[] };
    verilog_tools::check_lint_and_synth_for("default core", &modules, &cfg.name, families);
}

/// The three-layer network's core.
#[test]
fn core_verilog_is_lint_clean_and_synthesises() {
    let modules = core_modules(&config(2, 3, 8, 1)).unwrap();
    verilog_tools::check_lint_and_synth("core", &modules, "core");
}
