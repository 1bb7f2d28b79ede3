//! The simulator against the RTL: the same layers on the same generated cores, run by the
//! simulator and by the core's emitted Verilog under Icarus (`cbnn_hdl::cosim`), must give
//! identical outputs, identical cycle counts per layer (total and computing phase), identical
//! codec byte counts and identical bytes on every DRAM stream; both against the golden model.
//! Cores with and without the codec, tiled and banded layers, XNOR and BWN, and DRAM-bound runs
//! through the shared DRAM model.

mod common;

use cbnn::codec::Mode;
use cbnn::config::AccelConfig;
use cbnn::network::{CodecSettings, Geometry, Layer, Network, Op, OutputFn, Weights};
use cbnn::quant::compile;
use cbnn::tensor::Tensor3;
use cbnn::testing::{narrowed_relu, out_max_clamps};
use cbnn_hdl::cosim::verilog_tools::Simulator;
use cbnn_sim::Traffic;
use common::NetCase;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn config(rows: u32, cols: u32, lanes: u32, g_hw: u32, codec: bool, port: u32) -> AccelConfig {
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
    c.codec.enabled = codec;
    c.codec.block = 8;
    c.dram.bytes_per_cycle = port;
    c.dram.latency_cycles = 6;
    // Conv and fc layers on a core without the combine stage (the grouped tests add it).
    c.combine.enabled = false;
    c
}

fn cs(mode: Mode, step: u32) -> CodecSettings {
    CodecSettings { mode, step, keep: None, eg_order: 2 }
}

#[allow(clippy::too_many_arguments)]
fn conv(
    rng: &mut StdRng,
    c_in: usize,
    hw: usize,
    o: usize,
    g: Geometry,
    bits: u32,
    out: OutputFn,
    c: CodecSettings,
) -> Layer {
    let w = (0..o * c_in * g.kernel * g.kernel).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let mut net = Network::single_conv(c_in, hw, hw, o, g, bits, w);
    let Op::Weighted(wt) = &mut net.layers[0].op else { unreachable!() };
    wt.output = out;
    wt.scale_group = 2;
    wt.bias = Some((0..o).map(|_| rng.gen_range(-1.0f32..1.0) as f64).collect());
    let mut l = net.layers.remove(0);
    l.codec = c;
    l
}

/// conv 3x3 ReLU8 of 13 levels (`out_max` 12, which its outputs pass; dct) -> conv 3x3 stride 2
/// ReLU4 (golomb) -> conv 1x1 sign (auto) -> fc.
fn network(rng: &mut StdRng, c_in: usize, hw: usize) -> Network {
    let g3 = Geometry { kernel: 3, stride: 1, padding: 1 };
    let g3s = Geometry { kernel: 3, stride: 2, padding: 1 };
    let relu8 = OutputFn::Relu { bits: 8, scale: Some(0.08), max: Some(12) };
    let l1 = conv(rng, c_in, hw, 13, g3, 8, relu8, cs(Mode::Dct, 4));
    let l2 =
        conv(rng, 13, hw, 18, g3s, 8, OutputFn::Relu { bits: 4, scale: Some(1.5), max: None }, cs(Mode::Golomb, 2));
    let h2 = hw.div_ceil(2);
    let g1 = Geometry { kernel: 1, stride: 1, padding: 0 };
    let l3 = conv(rng, 18, h2, 9, g1, 4, OutputFn::Sign, cs(Mode::Auto, 1));
    let fc_w = (0..5 * 9 * h2 * h2).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let mut l4 = Network::single_fc(9, h2, h2, 5, 1, fc_w).layers.remove(0);
    let Op::Weighted(wt) = &mut l4.op else { unreachable!() };
    wt.scale_group = 2;
    let mut net = Network::single_conv(c_in, hw, hw, 1, g3, 8, vec![1.0; 9 * c_in]);
    net.input.codec = cs(Mode::Auto, 1);
    net.layers = vec![l1, l2, l3, l4];
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.name = format!("l{}", i + 1);
    }
    net
}

fn input(rng: &mut StdRng, shape: [usize; 3]) -> Tensor3<i32> {
    let [c, h, w] = shape;
    let data = (0..c * h * w)
        .map(|i| {
            let (ch, y, x) = (i / (h * w), i / w % h, i % w);
            ((ch * 9 + y * 5 + x * 3) as i32 % 256 - 80 + rng.gen_range(-3..=3)).clamp(0, 255)
        })
        .collect();
    Tensor3::from_vec(c, h, w, data)
}

/// Runs `net` on the RTL under Icarus and on the simulator; asserts equality layer by layer.
fn compare(cfg: &AccelConfig, net: &Network, x: &Tensor3<i32>, traffic: Traffic, what: &str) {
    compare_on(Simulator::Icarus, cfg, net, x, traffic, what)
}

/// As `compare`, the RTL run by `simulator` (nothing is compared when it is missing on a
/// developer machine).
fn compare_on(simulator: Simulator, cfg: &AccelConfig, net: &Network, x: &Tensor3<i32>, traffic: Traffic, what: &str) {
    let q = compile(net, cfg, None).unwrap();
    // A narrowed relu range must matter on the test's data.
    let outs = cbnn::golden::run(&q, x);
    let stored_x = cbnn::golden::stored(x, q.input.bits, &q.input.codec);
    let inputs: Vec<&Tensor3<i32>> = std::iter::once(&stored_x).chain(outs.iter()).collect();
    for (l, input) in q.layers.iter().zip(&inputs) {
        assert!(narrowed_relu(l).is_none() || out_max_clamps(l, input), "{what}: {}: out_max clamps nothing", l.name);
    }
    let case = NetCase { what: what.to_string(), net: &q, input: x.clone() };
    common::compare_on(simulator, cfg, &[case], traffic, what);
}

#[test]
fn without_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(1);
    let net = network(&mut rng, 11, 9);
    let x = input(&mut rng, [11, 9, 9]);
    let mut cfg = config(2, 4, 8, 1, false, 8);
    cfg.buffers.act_kib = 1;
    compare(&cfg, &net, &x, Traffic::Free, "2x4x8, no codec");
}

#[test]
fn with_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(2);
    let net = network(&mut rng, 11, 9);
    let x = input(&mut rng, [11, 9, 9]);
    compare(&config(2, 8, 8, 1, true, 8), &net, &x, Traffic::Free, "2x8x8, codec, 8-byte port");
}

/// Memory-bound: 2 bytes per cycle for 4-byte weight words and 8-value beats, a latency of 6.
#[test]
fn dram_bound_without_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(3);
    let net = network(&mut rng, 11, 9);
    let x = input(&mut rng, [11, 9, 9]);
    let cfg = config(2, 4, 32, 1, false, 2);
    compare(&cfg, &net, &x, Traffic::Dram, "2x4x32, no codec, DRAM 2 B/cycle");
}

/// The codec's records through a 4-byte port at 4 bytes per cycle, PPU groups of 2, bands.
#[test]
fn dram_bound_with_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(4);
    let net = network(&mut rng, 19, 9);
    let x = input(&mut rng, [19, 9, 9]);
    let mut cfg = config(2, 16, 8, 2, true, 4);
    cfg.buffers.act_kib = 1;
    compare(&cfg, &net, &x, Traffic::Dram, "2x16x8, G_hw 2, codec, DRAM 4 B/cycle");
}

/// The record check (SPEC 8.9) on the same DRAM-bound core: each record a byte longer, the
/// decoder's last block of a record waiting for the record's last beat.
#[test]
fn with_the_record_check_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(4);
    let net = network(&mut rng, 19, 9);
    let x = input(&mut rng, [19, 9, 9]);
    let mut cfg = config(2, 16, 8, 2, true, 4);
    cfg.buffers.act_kib = 1;
    cfg.codec.check = cbnn::codec::RecordCheck::Crc8;
    compare(&cfg, &net, &x, Traffic::Dram, "2x16x8, G_hw 2, codec with crc8, DRAM 4 B/cycle");
    compare(&cfg, &net, &x, Traffic::Free, "2x16x8, G_hw 2, codec with crc8, memory always ready");
}

/// One PE row, 16 lanes: every layer tiled over several passes and filter tiles.
#[test]
fn one_row_narrow_lanes_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(5);
    let net = network(&mut rng, 21, 7);
    let x = input(&mut rng, [21, 7, 7]);
    compare(&config(1, 8, 16, 2, false, 8), &net, &x, Traffic::Free, "1x8x16, G_hw 2, no codec");
}

/// An RGB-like first layer (3 channels of 8 bits, 3x3, padding 1) run over its 27 window taps
/// (`datapath.first_layer = "im2col"`), with the codec on and the DRAM model. The image is stored
/// with a lossy codec mode, so the taps come from the decoded image, as the host lays them out.
#[test]
fn a_first_layer_over_its_window_taps_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(8);
    let mut net = network(&mut rng, 3, 10);
    // Three channels give small dot products: a relu over 8 bits, no narrowed range.
    let Op::Weighted(wt) = &mut net.layers[0].op else { unreachable!() };
    wt.output = OutputFn::Relu { bits: 8, scale: Some(0.08), max: None };
    let x = input(&mut rng, [3, 10, 10]);
    let cfg = config(2, 8, 16, 1, true, 8);
    let q = compile(&net, &cfg, None).unwrap();
    let low = cbnn::hw::first_layer::lowered_first_layer(&q, &cfg).expect("the test's first layer is lowered");
    assert_eq!(low.in_shape, [27, 10, 10]);
    compare(&cfg, &net, &x, Traffic::Dram, "2x8x16, codec, first layer over its taps, DRAM 8 B/cycle");
}

/// Starved memory with the codec: 2 bytes per cycle through a 2-byte port and a long latency.
#[test]
fn starved_memory_with_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(6);
    let net = network(&mut rng, 13, 8);
    let x = input(&mut rng, [13, 8, 8]);
    let mut cfg = config(4, 8, 16, 1, true, 2);
    cfg.dram.latency_cycles = 30;
    compare(&cfg, &net, &x, Traffic::Dram, "4x8x16, codec, DRAM 2 B/cycle, latency 30");
}

/// The same testbench under Verilator (as the speed benchmark runs it): the RTL's cycles do not
/// depend on the event-driven simulator, and neither do the outputs.
#[test]
fn under_verilator_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(7);
    let net = network(&mut rng, 11, 8);
    let x = input(&mut rng, [11, 8, 8]);
    let cfg = config(2, 4, 32, 1, false, 2);
    compare_on(Simulator::Verilator, &cfg, &net, &x, Traffic::Dram, "Verilator: 2x4x32, no codec, DRAM 2 B/cycle");
}

/// A weighted layer of any kind with `out`, a bias, G = 2 and codec settings `c`.
#[allow(clippy::too_many_arguments)] // a layer spelled out reads best in the network below
fn layer_of(
    rng: &mut StdRng,
    in_shape: [usize; 3],
    o: usize,
    g: Geometry,
    bits: u32,
    w: Weights,
    out: OutputFn,
    c: CodecSettings,
) -> Layer {
    let mut net = Network::single_weighted(in_shape, o, g, bits, w);
    let Op::Weighted(wt) = &mut net.layers[0].op else { unreachable!() };
    wt.output = out;
    wt.scale_group = 2;
    wt.bias = Some((0..o).map(|_| rng.gen_range(-1.0f32..1.0) as f64).collect());
    let mut l = net.layers.remove(0);
    l.codec = c;
    l
}

fn floats(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// conv 3x3 ReLU4 -> slbf 3x3 (slices of 8 of 16 channels, a bank of 6) ReLU2 of three levels
/// (`out_max` 2) -> penni 3x3 stride 2 (3 bases, sparse) sign -> slbf 1x1 (slices of 2)
/// accumulator.
fn mixed_network(rng: &mut StdRng, hw: usize, codec: bool) -> Network {
    let g3 = Geometry { kernel: 3, stride: 1, padding: 1 };
    let c = |m: Mode| if codec { cs(m, 1) } else { CodecSettings::default() };
    let l1 = conv(rng, 5, hw, 16, g3, 8, OutputFn::Relu { bits: 4, scale: Some(0.2), max: None }, c(Mode::Auto));
    let (n, d, m) = (6, 8, 2);
    let slbf =
        Weights::Slbf { bank: floats(rng, n * d * 9), n, d, index: (0..12 * m).map(|i| (i * 5 + 1) % n).collect(), m };
    let l2 = layer_of(
        rng,
        [16, hw, hw],
        12,
        g3,
        4,
        slbf,
        OutputFn::Relu { bits: 2, scale: Some(0.5), max: Some(2) },
        c(Mode::Sparse),
    );
    let coef = (0..10 * 12 * 3).map(|_| if rng.gen_bool(0.4) { rng.gen_range(-1.0f32..1.0) } else { 0.0 }).collect();
    let penni = Weights::Penni { basis: floats(rng, 3 * 9), d: 3, coef };
    let g3s = Geometry { kernel: 3, stride: 2, padding: 1 };
    let l3 = layer_of(rng, [12, hw, hw], 10, g3s, 2, penni, OutputFn::Sign, c(Mode::Raw));
    let h2 = hw.div_ceil(2);
    let slbf1 =
        Weights::Slbf { bank: floats(rng, 3 * 2), n: 3, d: 2, index: (0..7 * 5).map(|i| i % 3).collect(), m: 5 };
    let g1 = Geometry { kernel: 1, stride: 1, padding: 0 };
    let l4 = layer_of(rng, [10, h2, h2], 7, g1, 1, slbf1, OutputFn::Accumulator, CodecSettings::default());
    let mut net = Network::single_conv(5, hw, hw, 1, g3, 8, vec![1.0; 45]);
    if codec {
        net.input.codec = cs(Mode::Auto, 1);
    }
    net.layers = vec![l1, l2, l3, l4];
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.name = format!("l{}", i + 1);
        if let Op::Weighted(w) = &mut l.op {
            if w.output == OutputFn::Accumulator {
                w.bias = None;
            }
        }
    }
    net
}

fn with_combine(mut c: AccelConfig) -> AccelConfig {
    c.datapath.acc_bits = 32;
    c.combine.enabled = true;
    c.combine.penni = true;
    c.combine.entry_kib = 2;
    c
}

/// conv, slbf and penni layers on one core with the combine stage: outputs and cycles.
#[test]
fn grouped_layers_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(7);
    let net = mixed_network(&mut rng, 9, false);
    let x = input(&mut rng, [5, 9, 9]);
    let mut cfg = with_combine(config(2, 4, 8, 1, false, 8));
    cfg.buffers.act_kib = 1;
    compare(&cfg, &net, &x, Traffic::Free, "2x4x8 + combine, no codec");
}

/// The same kinds with the codec on both activation paths and a DRAM of 4 bytes per cycle.
#[test]
fn grouped_layers_with_the_codec_and_dram_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(8);
    let net = mixed_network(&mut rng, 8, true);
    let x = input(&mut rng, [5, 8, 8]);
    let cfg = with_combine(config(1, 8, 16, 2, true, 4));
    compare(&cfg, &net, &x, Traffic::Dram, "1x8x16 + combine, G_hw 2, codec, DRAM 4 B/cycle");
}

/// Valid and ready dropped at random on every stream (the same gates in the testbench and the
/// simulator, `cbnn::hw::trace::RandomGates`): without the codec, cycle for cycle.
#[test]
fn random_backpressure_without_the_codec_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(11);
    let net = network(&mut rng, 9, 8);
    let x = input(&mut rng, [9, 8, 8]);
    let mut cfg = config(2, 4, 16, 2, false, 8);
    cfg.buffers.act_kib = 1;
    compare(&cfg, &net, &x, Traffic::Random(21), "2x4x16, G_hw 2, no codec, random stalls");
}

/// Random stalls with the codec on both paths, and grouped layers on the combine stage.
#[test]
fn random_backpressure_with_the_codec_and_combine_cycles_equal_the_rtl() {
    let mut rng = StdRng::seed_from_u64(12);
    let net = mixed_network(&mut rng, 8, true);
    let x = input(&mut rng, [5, 8, 8]);
    let cfg = with_combine(config(2, 8, 8, 1, true, 4));
    compare(&cfg, &net, &x, Traffic::Random(22), "2x8x8 + combine, codec, random stalls");
}
