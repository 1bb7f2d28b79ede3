//! The core with the codec on both DRAM paths, under Icarus against the golden model: networks
//! whose layers read, through the decoder, the records the previous layer wrote through the
//! gather stage and encoder into the testbench's DRAM, in every codec mode (lossy ones
//! included: the golden model applies the same reconstruction); the written bitstreams equal
//! the golden encoder's, and the byte counters equal the bytes the records hold.

use super::*;
use crate::cosim::{run_layers_with, LayerCase, LayerRun, Traffic};
use cbnn::codec::{self, Mode};
use cbnn::golden;
use cbnn::hw::{streams, LayerDescriptor};
use cbnn::network::{CodecSettings, Geometry, Layer, Network, Op, OutputFn};
use cbnn::quant::compile;
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The plain tests' core shape with the codec on: blocks of 8, a `port_bytes` DRAM port.
pub(super) fn config(rows: u32, cols: u32, lanes: u32, g_hw: u32, port_bytes: u32) -> AccelConfig {
    let mut c = super::tests::config(rows, cols, lanes, g_hw);
    c.codec.enabled = true;
    c.codec.block = 8;
    c.dram.bytes_per_cycle = port_bytes;
    c
}

pub(super) fn codec(mode: Mode, step: u32, keep: Option<usize>, eg_order: u32) -> CodecSettings {
    CodecSettings { mode, step, keep, eg_order }
}

/// A conv layer of random weights and biases.
#[allow(clippy::too_many_arguments)] // a layer spelled out reads best in `network`
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
    // Filters share scales in pairs: fits cores with PPU groups of 1 and 2.
    wt.scale_group = 2;
    wt.bias = Some((0..o).map(|_| rng.gen_range(-1.0f32..1.0) as f64).collect());
    let mut l = net.layers.remove(0);
    l.codec = c;
    l
}

/// Smooth, partly zero activations (what the dct and sparse modes are for), `bits` wide.
pub(super) fn input(rng: &mut StdRng, shape: [usize; 3], bits: u32) -> Tensor3<i32> {
    let [c, h, w] = shape;
    let top = (1 << bits) - 1;
    let data = (0..c * h * w)
        .map(|i| {
            let (ch, y, x) = (i / (h * w), i / w % h, i % w);
            let v = (ch * 9 + y * 5 + x * 3) as i32 % (top + 1) - top / 3 + rng.gen_range(-2..=2);
            v.clamp(0, top)
        })
        .collect();
    Tensor3::from_vec(c, h, w, data)
}

/// Runs `net` layer after layer on the core, each layer after the first reading the previous
/// one's records from the testbench's DRAM, and checks every layer against the golden model.
fn run_network(
    cfg: &AccelConfig,
    net: &Network,
    x: &Tensor3<i32>,
    traffic: Traffic,
    what: &str,
) -> Option<Vec<LayerRun>> {
    let q = compile(net, cfg, None).unwrap();
    let outs = golden::run(&q, x);
    let cases: Vec<LayerCase> = q
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { LayerCase::new(l, x) } else { LayerCase::chained(l) })
        .collect();
    let modules = core_modules(cfg).unwrap();
    let runs = run_layers_with(cfg, &modules, &cases, traffic).unwrap()?;
    let stored_in = golden::stored(x, q.input.bits, &q.input.codec);
    // The records each layer fetches: the host's coding of the input, then what the previous
    // layer wrote (a lossy code of its output, whose reconstruction is `outs[i - 1]`).
    let mut in_enc = codec::encode(x, q.input.bits, &q.input.codec);
    for (i, (run, l)) in runs.iter().zip(&q.layers).enumerate() {
        let d = LayerDescriptor::new(l, cfg).unwrap();
        assert!(!run.error, "{what}: layer {i} raised the error flag ({d:?})");
        assert_eq!(run.output.data, outs[i].data, "{what}: layer {i} differs from golden");
        // What the layer computed on: the decoded input or previous output.
        let read_from = if i == 0 { &stored_in } else { &outs[i - 1] };
        let fetched: usize = streams::record_reads(&d, cfg)
            .iter()
            .map(|&(y, s)| in_enc.records[(y * l.in_shape[0].div_ceil(cfg.segment() as usize) as u32 + s) as usize])
            .sum();
        assert_eq!(run.bytes_in, fetched as u64, "{what}: layer {i} bytes read ({} bands)", d.bands);
        let reads = streams::record_reads(&d, cfg);
        if d.bands == 1 && reads.len() == in_enc.records.len() {
            assert_eq!(run.bytes_in, in_enc.bytes.len() as u64, "{what}: layer {i} reads its input once");
        }
        match &run.coded {
            Some(coded) => {
                let want = codec::encode(&golden::layer_output(l, read_from), l.out_bits, &l.codec);
                assert!(
                    coded == &want.bytes,
                    "{what}: layer {i}: the written bitstream differs from the golden encoder's"
                );
                assert_eq!(run.bytes_out, want.bytes.len() as u64, "{what}: layer {i} bytes written");
                in_enc = want;
            }
            None => assert_eq!(run.bytes_out, 0, "{what}: layer {i}: accumulators leave on the result stream"),
        }
        println!(
            "{what}: layer {i} ({}): {} cycles ({} computing), {} bytes in, {} bytes out",
            l.name, run.cycles, run.compute_cycles, run.bytes_in, run.bytes_out
        );
    }
    Some(runs)
}

/// Input (auto) -> conv 3x3, ReLU 8-bit stored as dct (step 4, lossy) -> conv 3x3, ReLU 4-bit
/// stored as golomb (step 2, lossy) -> conv 1x1 stride 2, sign, stored raw -> fc accumulators.
fn network(rng: &mut StdRng, c_in: usize, hw: usize) -> Network {
    let g3 = Geometry { kernel: 3, stride: 1, padding: 1 };
    let l1 = conv(
        rng,
        c_in,
        hw,
        13,
        g3,
        8,
        OutputFn::Relu { bits: 8, scale: Some(0.08), max: None },
        codec(Mode::Dct, 4, Some(6), 3),
    );
    let l2 = conv(
        rng,
        13,
        hw,
        11,
        g3,
        8,
        OutputFn::Relu { bits: 4, scale: Some(1.5), max: None },
        codec(Mode::Golomb, 2, None, 1),
    );
    let g1 = Geometry { kernel: 1, stride: 2, padding: 0 };
    let l3 = conv(rng, 11, hw, 9, g1, 4, OutputFn::Sign, codec(Mode::Auto, 1, None, 2));
    let h3 = hw.div_ceil(2);
    let fc_w = (0..5 * 9 * h3 * h3).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let mut l4 = Network::single_fc(9, h3, h3, 5, 1, fc_w).layers.remove(0);
    let Op::Weighted(wt) = &mut l4.op else { unreachable!() };
    wt.scale_group = 2;
    let mut net = Network::single_conv(c_in, hw, hw, 1, g3, 8, vec![1.0; 9 * c_in]);
    net.input.codec = codec(Mode::Auto, 1, None, 2);
    net.layers = vec![l1, l2, l3, l4];
    for (i, l) in net.layers.iter_mut().enumerate() {
        l.name = format!("l{}", i + 1);
    }
    net
}

#[test]
fn network_with_the_codec_between_layers_matches_golden() {
    let mut rng = StdRng::seed_from_u64(21);
    let net = network(&mut rng, 11, 7);
    let x = input(&mut rng, [11, 7, 7], 8);
    run_network(&config(2, 8, 8, 1, 8), &net, &x, Traffic::Free, "2x8x8 core, 8-byte port");
}

/// The record check (SPEC 8.9): every record the core writes ends with its CRC-8 byte, equal
/// to the golden encoder's stream, and the next layer's decoder reads them without an error.
#[test]
fn network_with_the_record_check_matches_golden() {
    let mut rng = StdRng::seed_from_u64(24);
    let net = network(&mut rng, 11, 7);
    let x = input(&mut rng, [11, 7, 7], 8);
    let mut cfg = config(2, 8, 8, 1, 4);
    cfg.codec.check = cbnn::codec::RecordCheck::Crc8;
    run_network(&cfg, &net, &x, Traffic::Random(5), "2x8x8 core, 4-byte port, crc8");
}

/// Two blocks per pixel through PPU groups of 2, a 4-byte DRAM port, random handshakes, and an
/// activation buffer small enough for row bands (rows fetched twice).
#[test]
fn codec_core_with_shared_ppus_narrow_port_and_bands_matches_golden() {
    let mut rng = StdRng::seed_from_u64(22);
    let net = network(&mut rng, 19, 9);
    let x = input(&mut rng, [19, 9, 9], 8);
    let mut cfg = config(2, 16, 8, 2, 4);
    cfg.buffers.act_kib = 1;
    let Some(runs) = run_network(&cfg, &net, &x, Traffic::Random(3), "2x16x8 core, G_hw 2, 4-byte port") else {
        return;
    };
    let q = compile(&net, &cfg, None).unwrap();
    let bands: Vec<u32> = q.layers.iter().map(|l| LayerDescriptor::new(l, &cfg).unwrap().bands).collect();
    assert!(bands.iter().any(|&b| b > 1), "some layer runs in bands: {bands:?}");
    assert_eq!(runs.len(), 4);
}

/// The same raw layers on the same core with and without the codec: the computing phases take
/// exactly as many cycles (the codec never stalls the array when the DRAM keeps up), and a
/// layer's total grows only by the codec's fill and flush latency.
#[test]
fn the_codec_adds_no_stall_cycles() {
    let mut rng = StdRng::seed_from_u64(23);
    let mut net = network(&mut rng, 16, 8);
    net.input.codec = codec(Mode::Raw, 1, None, 2);
    for l in &mut net.layers {
        l.codec = codec(Mode::Raw, 1, None, 2);
    }
    let x = input(&mut rng, [16, 8, 8], 8);
    let on = config(2, 8, 8, 1, 8);
    let mut off = on.clone();
    off.codec.enabled = false;
    let Some(with) = run_network(&on, &net, &x, Traffic::Free, "codec on") else { return };
    let q = compile(&net, &off, None).unwrap();
    let outs = golden::run(&q, &x);
    let inputs: Vec<&Tensor3<i32>> = std::iter::once(&x).chain(outs.iter()).collect();
    let cases: Vec<LayerCase> = q.layers.iter().zip(&inputs).map(|(l, i)| LayerCase::new(l, i)).collect();
    let without = run_layers_with(&off, &core_modules(&off).unwrap(), &cases, Traffic::Free).unwrap().unwrap();
    for (i, (a, b)) in with.iter().zip(&without).enumerate() {
        assert_eq!(a.output.data, b.output.data, "layer {i}: same output");
        assert_eq!(a.compute_cycles, b.compute_cycles, "layer {i}: computing cycles with and without the codec");
        println!("layer {i}: {} cycles with the codec, {} without", a.cycles, b.cycles);
        assert!(
            a.cycles >= b.cycles && a.cycles - b.cycles <= 16,
            "layer {i}: {} cycles with, {} without",
            a.cycles,
            b.cycles
        );
    }
}
