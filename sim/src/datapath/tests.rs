//! The datapath's grouped operations, driven in the controller's loop order without its cycle
//! timing, against the golden model: the host's packing (bank weight words, combine entries,
//! group positions) and the datapath's arithmetic for slbf and penni layers.

use super::*;
use cbnn::golden;
use cbnn::hw::streams::{act_stream, band_input_rows, band_output_rows, layer_weight_stream};
use cbnn::quant::compile;
use cbnn::testing::random_grouped_layer;
use rand::rngs::StdRng;
use rand::SeedableRng;

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
                    dp.combine(bank);
                    bank ^= 1;
                }
            }
            for t in 0..d.filter_tiles {
                dp.drain_oacc(t);
            }
        }
    }
    dp.output
}

#[test]
fn grouped_layers_match_the_golden_model() {
    let mut rng = StdRng::seed_from_u64(81);
    for cfg in [config(1, 4, 8, 1), config(2, 4, 8, 2), config(2, 8, 32, 1), config(3, 2, 16, 1)] {
        let mut ran = 0;
        for i in 0..60 {
            let (net, input) = random_grouped_layer(&mut rng, &cfg, i % 2 == 0);
            let q = compile(&net, &cfg, None).unwrap();
            let layer = &q.layers[0];
            if LayerDescriptor::new(layer, &cfg).is_err() {
                continue; // more channels than the core's limits
            }
            ran += 1;
            let want = golden::layer_output(layer, &input);
            let got = run_grouped(&cfg, layer, &input);
            assert_eq!(got.data, want.data, "case {i} on {:?}: {:?}", cfg.array, net.layers[0].op);
        }
        assert!(ran >= 40, "only {ran} of 60 random layers fit {:?}", cfg.array);
    }
}
