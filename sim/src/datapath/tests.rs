//! The datapath's grouped operations, driven in the controller's loop order without its cycle
//! timing, against the golden model: the host's packing (bank weight words, combine entries,
//! group positions) and the datapath's arithmetic for slbf and penni layers.

use super::*;
use cbnn::golden;
use cbnn::hw::streams::{act_stream, band_input_rows, band_output_rows, layer_weight_stream};
use cbnn::network::{Geometry, Network, Op, OutputFn, Weights};
use cbnn::quant::compile;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn config(rows: u32, cols: u32, lanes: u32, g_hw: u32) -> AccelConfig {
    let mut c = AccelConfig::default();
    c.array.rows = rows;
    c.array.cols = cols;
    c.array.lanes = lanes;
    c.datapath.scale_group = g_hw;
    c.datapath.acc_bits = 32;
    c.codec.enabled = false;
    c.combine.enabled = true;
    c.combine.penni = true;
    c.combine.entry_kib = 64;
    c
}

fn floats(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// A random slbf or penni layer for `cfg`: slice widths the array takes (dividing L, or whole
/// chunk groups), banks over one or several tiles, sparse coefficients, any geometry and mode.
fn random_layer(rng: &mut StdRng, cfg: &AccelConfig, slbf: bool) -> (Network, Tensor3<i32>) {
    let (r, c, l) = (cfg.array.rows as usize, cfg.array.cols as usize, cfg.array.lanes as usize);
    let k = [1usize, 3][rng.gen_range(0..2)];
    let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
    let bits = [1u32, 1, 2, 3][rng.gen_range(0..4)];
    let (hw, o) = (rng.gen_range(k..k + 6), rng.gen_range(1..3 * c));
    let (c_in, weights) = if slbf {
        let d = [1, 2, l / 2, l, r * l][rng.gen_range(0..5)];
        let (m, n) = (rng.gen_range(1..=3), rng.gen_range(1..=2 * c + 1));
        let index = (0..o * m).map(|_| rng.gen_range(0..n)).collect();
        (m * d, Weights::Slbf { bank: floats(rng, n * d * k * k), n, d, index, m })
    } else {
        let (c_in, d) = (rng.gen_range(1..2 * l), rng.gen_range(1..=c + 2));
        let density = rng.gen_range(0.05..1.0);
        let coef =
            (0..o * c_in * d).map(|_| if rng.gen_bool(density) { rng.gen_range(-1.0f32..1.0) } else { 0.0 }).collect();
        (c_in, Weights::Penni { basis: floats(rng, d * k * k), d, coef })
    };
    let mut net = Network::single_weighted([c_in, hw, hw], o, g, bits, weights);
    if let Op::Weighted(w) = &mut net.layers[0].op {
        w.output = match rng.gen_range(0..3) {
            0 => OutputFn::Accumulator,
            1 => OutputFn::Sign,
            _ => OutputFn::Relu { bits: rng.gen_range(2..=4), scale: Some(rng.gen_range(0.05..2.0)) },
        };
        if w.output != OutputFn::Accumulator {
            w.bias = Some(floats(rng, o));
        }
        w.scale_group = (cfg.datapath.scale_group as usize * rng.gen_range(1..=2)).min(o);
    }
    let n = c_in * hw * hw;
    let data =
        (0..n).map(|_| if bits == 1 { [-1, 1][rng.gen_range(0..2)] } else { rng.gen_range(0..1 << bits) }).collect();
    (net, Tensor3::from_vec(c_in, hw, hw, data))
}

/// The controller's loop nest for a grouped layer, as datapath calls.
fn run_grouped(cfg: &AccelConfig, layer: &QLayer, input: &Tensor3<i32>) -> Tensor3<i32> {
    let d = LayerDescriptor::new(layer, cfg).unwrap();
    let g = d.grouped.clone().unwrap();
    let mut dp = Datapath::new(cfg, &d, layer);
    dp.start_tile();
    for w in layer_weight_stream(layer, &d, cfg) {
        dp.write_weight(w);
    }
    let mut bank = 0;
    for band in 0..d.bands {
        let rows = band_input_rows(&d, band);
        dp.start_band(rows.start);
        for beat in act_stream(&d, cfg, input, layer.in_bits, rows) {
            dp.write_beat(&beat);
        }
        for y in band_output_rows(&d, band) {
            for grp in 0..g.n_groups {
                for b in 0..g.bank_tiles {
                    dp.run_group(grp, b, y, bank);
                    dp.combine(bank, grp * g.bank_tiles + b);
                    bank ^= 1;
                }
            }
            for t in 0..d.filter_tiles {
                dp.drain_oacc(t, y);
            }
        }
    }
    dp.output
}

#[test]
fn grouped_layers_match_the_golden_model() {
    let mut rng = StdRng::seed_from_u64(81);
    for cfg in [config(1, 4, 8, 1), config(2, 4, 8, 2), config(2, 8, 32, 1), config(3, 2, 16, 1)] {
        for i in 0..40 {
            let (net, input) = random_layer(&mut rng, &cfg, i % 2 == 0);
            let q = compile(&net, &cfg, None).unwrap();
            let layer = &q.layers[0];
            if let Err(e) = LayerDescriptor::new(layer, &cfg) {
                panic!("{e:#}"); // every generated layer fits these cores
            }
            let want = golden::layer_output(layer, &input);
            let got = run_grouped(&cfg, layer, &input);
            assert_eq!(got.data, want.data, "case {i} on {:?}: {:?}", cfg.array, net.layers[0].op);
        }
    }
}
