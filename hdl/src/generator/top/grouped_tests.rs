//! SLBF and PENNI layers on the whole core's Verilog under Icarus against the golden model
//! (docs/ARCHITECTURE.md, section 10): random layers of both kinds (slices inside a chunk and of
//! whole chunk groups, banks over several tiles, sparse coefficients, strides, padding, XNOR and
//! BWN, every output function), on cores with the combine stage, one after another on one core,
//! with free and random stream timing.

use super::tests::{check, config};
use super::*;
use crate::cosim::{run_layers_with, LayerCase, Traffic};
use cbnn::hw::LayerDescriptor;
use cbnn::quant::{compile, QLayer};
use cbnn::tensor::Tensor3;
use cbnn::testing::random_grouped_layer;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn grouped_config(rows: u32, cols: u32, lanes: u32, g_hw: u32) -> AccelConfig {
    let mut c = config(rows, cols, lanes, g_hw);
    c.datapath.acc_bits = 32;
    c.combine.enabled = true;
    c.combine.penni = true;
    c.combine.entry_kib = 2;
    c.buffers.act_kib = 1;
    c
}

/// What the grouped layers of a test exercise; each test must cover all of it.
#[derive(Default)]
struct Coverage {
    sub_chunk: bool,
    whole_chunks: bool,
    penni: bool,
    bank_tiles: bool,
    bands: bool,
    bwn: bool,
    filter_tiles: bool,
}

impl Coverage {
    fn add(&mut self, d: &LayerDescriptor) -> bool {
        let g = d.grouped.as_ref().unwrap();
        let before = self.missing().len();
        self.sub_chunk |= g.sub_chunk && g.method == cbnn::hw::grouped::Method::Slbf;
        self.whole_chunks |= !g.sub_chunk;
        self.penni |= g.method == cbnn::hw::grouped::Method::Penni;
        self.bank_tiles |= g.bank_tiles > 1;
        self.bands |= d.bands > 1;
        self.bwn |= d.bwn;
        self.filter_tiles |= d.filter_tiles > 1;
        self.missing().len() < before
    }

    fn missing(&self) -> Vec<&'static str> {
        [
            (self.sub_chunk, "slbf slices inside a chunk"),
            (self.whole_chunks, "slbf slices of whole chunk groups"),
            (self.penni, "penni"),
            (self.bank_tiles, "several bank tiles"),
            (self.bands, "row bands"),
            (self.bwn, "BWN"),
            (self.filter_tiles, "several filter tiles"),
        ]
        .into_iter()
        .filter(|(ok, _)| !ok)
        .map(|(_, what)| what)
        .collect()
    }
}

fn run_grouped(cfg: &AccelConfig, seed: u64, n: usize, traffic: Traffic) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut nets, mut inputs) = (Vec::new(), Vec::new());
    let mut cov = Coverage::default();
    for candidate in 0..4000 {
        if nets.len() >= n && cov.missing().is_empty() {
            break;
        }
        let (net, input) = random_grouped_layer(&mut rng, cfg, candidate % 2 == 0);
        let q = compile(&net, cfg, None).unwrap();
        let Ok(d) = LayerDescriptor::new(&q.layers[0], cfg) else {
            continue; // does not fit this core's buffers or maxima
        };
        // Icarus is slow: keep each layer's array work (runs x passes x pixels) small, so the
        // whole test stays near a minute of CI; row bands need taller layers.
        let g = d.grouped.as_ref().unwrap();
        let work = (g.runs() * d.h_out * d.steps * d.w_out * d.planes) as u64;
        if work > 40_000 || (work > 12_000 && d.bands == 1) {
            continue;
        }
        if !cov.add(&d) && nets.len() >= n {
            continue;
        }
        nets.push(q);
        inputs.push(input);
    }
    assert!(cov.missing().is_empty(), "seed {seed}: no random layer covered {:?}", cov.missing());
    // CBNN_LAYER=i runs case i alone (to tell a layer's failure from one left by the layer before).
    if let Some(i) = std::env::var("CBNN_LAYER").ok().and_then(|v| v.parse::<usize>().ok()) {
        nets = vec![nets.swap_remove(i)];
        inputs = vec![inputs.swap_remove(i)];
    }
    let layers: Vec<&QLayer> = nets.iter().map(|q| &q.layers[0]).collect();
    for (i, l) in layers.iter().enumerate() {
        let d = LayerDescriptor::new(l, cfg).unwrap();
        let g = d.grouped.as_ref().unwrap();
        println!(
            "grouped seed {seed}: layer {i}: {:?} {}x{}x{} -> {} K{} S{} P{} planes {} gs {} groups {} bank {} ({} tiles, sub {}), {} filter tiles, {} bands, entries {}",
            g.method, d.c_in, d.h, d.w, d.c_out, d.kernel, d.stride, d.padding, d.planes, g.gs, g.n_groups, g.bank,
            g.bank_tiles, g.sub_chunk, d.filter_tiles, d.bands, d.entries
        );
    }
    let cases: Vec<LayerCase> = layers.iter().zip(&inputs).map(|(l, i)| LayerCase::new(l, i)).collect();
    let modules = core_modules(cfg).unwrap();
    if let Some(runs) = run_layers_with(cfg, &modules, &cases, traffic).unwrap() {
        check(&runs, &layers, &inputs, cfg, &format!("grouped seed {seed}"));
    }
}

#[test]
fn grouped_layers_on_a_2x4x8_core_match_golden() {
    run_grouped(&grouped_config(2, 4, 8, 1), 11, 8, Traffic::Free);
}

#[test]
fn grouped_layers_on_a_1x3x16_core_with_random_streams_match_golden() {
    run_grouped(&grouped_config(1, 3, 16, 1), 12, 8, Traffic::Random(5));
}

/// Verilator -Wall on a core with the combine stage; Yosys (ECP5) only with `CBNN_SOAK=1`, as it
/// takes CI a minute and a half: the combine stage alone is synthesised in every run
/// (`combine/tests.rs`), the rest of the core by the other cores' tests.
#[test]
fn grouped_core_verilog_is_lint_clean_and_synthesises() {
    let modules = core_modules(&grouped_config(2, 4, 8, 2)).unwrap();
    let soak = std::env::var("CBNN_SOAK").is_ok_and(|v| v == "1");
    let families: &[crate::cosim::verilog_tools::Family] =
        if soak { &[crate::cosim::verilog_tools::Family::Ecp5] } else { &[] };
    crate::cosim::verilog_tools::check_lint_and_synth_for("grouped core", &modules, "core", families);
}

/// A plain conv layer right after grouped layers whose banks span several tiles: the sequencer
/// takes every run's first weight address (`w_base0`) from the controller, and a plain layer's
/// runs must start at word 0 whatever the last grouped run left there.
#[test]
fn a_plain_layer_after_grouped_layers_matches_golden() {
    let cfg = grouped_config(2, 4, 8, 1);
    let mut rng = StdRng::seed_from_u64(13);
    let mut picked = Vec::new();
    while picked.is_empty() {
        let (net, input) = random_grouped_layer(&mut rng, &cfg, true);
        let q = compile(&net, &cfg, None).unwrap();
        let Ok(d) = LayerDescriptor::new(&q.layers[0], &cfg) else { continue };
        let g = d.grouped.as_ref().unwrap();
        let work = (g.runs() * d.h_out * d.steps * d.w_out * d.planes) as u64;
        if g.bank_tiles > 1 && work <= 12_000 {
            picked.push((q, input));
        }
    }
    loop {
        let net = super::tests::random_layer(&mut rng, &cfg, false);
        let q = compile(&net, &cfg, None).unwrap();
        if LayerDescriptor::new(&q.layers[0], &cfg).is_ok() {
            let input = super::tests::random_input(&mut rng, q.layers[0].in_shape, q.layers[0].in_bits);
            picked.push((q, input));
            break;
        }
    }
    let (nets, inputs): (Vec<_>, Vec<Tensor3<i32>>) = picked.into_iter().unzip();
    let layers: Vec<&QLayer> = nets.iter().map(|q| &q.layers[0]).collect();
    let cases: Vec<LayerCase> = layers.iter().zip(&inputs).map(|(l, i)| LayerCase::new(l, i)).collect();
    let modules = core_modules(&cfg).unwrap();
    if let Some(runs) = run_layers_with(&cfg, &modules, &cases, Traffic::Free).unwrap() {
        check(&runs, &layers, &inputs, &cfg, "grouped then plain");
    }
}
