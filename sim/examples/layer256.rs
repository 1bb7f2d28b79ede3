//! One real-sized layer four ways: a 256 -> 256 channel 3x3 convolution (padding 1, on a 14 x 14
//! map of binary activations, sign output) as a plain binary conv with a scale per filter
//! (G = 1), with scales shared by 8 adjacent filters, converted to SLBF and to PENNI. Each is
//! written as a network directory under out/layer256/ (the conversions by `convert`'s own code),
//! with the config they run on, and then simulated exactly as `simulate` does (the same loader,
//! compiler and `run_network`), so `simulate` on any of the directories prints the same figures.
//! It prints a Markdown table of weight memory, operations and cycles for docs/ARCHITECTURE.md.
//!
//! cargo run --release -p cbnn-sim --example layer256

use anyhow::{Context, Result};
use rand::{rngs::StdRng, Rng, SeedableRng};
use std::path::{Path, PathBuf};

use cbnn::config::AccelConfig;
use cbnn::convert::{self, kmeans::Init, netfile::Source, penni, slbf, Method};
use cbnn::fsutil;
use cbnn::hw::LayerDescriptor;
use cbnn::network::load_network;
use cbnn::npyio::{activations_to_npy, f32_to_npy, Elem};
use cbnn::tensor::Tensor3;
use cbnn_sim::layer::Traffic;
use cbnn_sim::network::{run_network, LayerReport, RunOptions};

const CHANNELS: usize = 256;
const SIDE: usize = 14;
const OUT: &str = "out/layer256";

/// A one-layer network file of the plain binary conv.
fn plain_toml(scale_group: usize) -> String {
    format!(
        "# 256 -> 256, 3x3 binary conv on 14x14 binary activations (written by sim/examples/layer256.rs)\n\
         [input]\nshape = [{CHANNELS}, {SIDE}, {SIDE}]\nbits = 1\ncodec = \"raw\"\n\n\
         [[layer]]\nname = \"conv\"\nkind = \"conv\"\nout_channels = {CHANNELS}\nkernel = 3\npadding = 1\n\
         weights = \"conv.npy\"\nscale_group = {scale_group}\noutput = \"sign\"\n"
    )
}

fn write_plain(dir: &Path, scale_group: usize, weights: &[f32], input: &Tensor3<i32>) -> Result<()> {
    fsutil::create_dir(dir)?;
    fsutil::write_atomic(&dir.join("net.toml"), plain_toml(scale_group).as_bytes())?;
    fsutil::write_atomic(&dir.join("conv.npy"), &f32_to_npy(&[CHANNELS, CHANNELS, 3, 3], weights))?;
    fsutil::write_atomic(&dir.join("input.npy"), &activations_to_npy(input, Elem::for_bits(1)))
}

/// `convert --to slbf|penni` on the plain network, into `dir`.
fn write_converted(cfg: &AccelConfig, plain: &Path, dir: &Path, method: &Method, input: &Tensor3<i32>) -> Result<()> {
    let net_path = plain.join("net.toml");
    let source = Source::load(Some(&net_path))?;
    let net = load_network(&net_path)?;
    let job = convert::Job {
        cfg,
        source: &source,
        net: &net,
        input,
        input_file: None,
        input_name: plain.join("input.npy").display().to_string(),
        layer: None,
        method,
        out: dir.to_path_buf(),
    };
    convert::run(&job).with_context(|| format!("converting into {}", dir.display()))?;
    Ok(())
}

/// What `simulate --config accel.toml --network DIR/net.toml --input DIR/input.npy` reports.
fn simulate(cfg: &AccelConfig, dir: &Path) -> Result<LayerReport> {
    let net = load_network(&dir.join("net.toml"))?;
    let input = cbnn::npyio::parse_activations(
        &cbnn::npyio::read_file(&dir.join("input.npy"))?,
        net.input.bits,
        net.input.shape,
    )?;
    let q = cbnn::reference::prepare(&net, cfg, &input)?.qnet;
    let opts = RunOptions { traffic: Traffic::Dram, ideal: true, check: true, probe: None, fault: None, plain: true };
    Ok(run_network(cfg, &q, &input, opts)?.layers.remove(0))
}

/// The default config with an entry memory just large enough for every layer of `dirs`.
fn config_for(dirs: &[PathBuf], input: &Tensor3<i32>) -> Result<AccelConfig> {
    let mut cfg = AccelConfig::default();
    for dir in dirs {
        let net = load_network(&dir.join("net.toml"))?;
        let q = cbnn::reference::prepare(&net, &cfg, input)?.qnet;
        while LayerDescriptor::new(&q.layers[0], &cfg).is_err() && cfg.combine.entry_kib < 1 << 20 {
            cfg.combine.entry_kib *= 2;
        }
        LayerDescriptor::new(&q.layers[0], &cfg)?;
    }
    Ok(cfg)
}

fn main() -> Result<()> {
    let mut rng = StdRng::seed_from_u64(256);
    let weights: Vec<f32> = (0..CHANNELS * CHANNELS * 9).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
    let input = Tensor3::from_vec(
        CHANNELS,
        SIDE,
        SIDE,
        (0..CHANNELS * SIDE * SIDE).map(|_| [-1, 1][rng.gen_range(0..2)]).collect(),
    );
    let out = PathBuf::from(OUT);
    let dir = |name: &str| out.join(name);
    write_plain(&dir("plain"), 1, &weights, &input)?;
    write_plain(&dir("shared"), 8, &weights, &input)?;
    let base = AccelConfig::default();
    let slbf = |d, n| {
        Method::Slbf(slbf::SlbfOptions {
            slice_channels: Some(d),
            bank_size: Some(n),
            bank: None,
            init: Init::KMeansPlusPlus,
            seed: 1,
            iterations: 20,
        })
    };
    let penni = |density| Method::Penni(penni::PenniOptions { bases: Some(5), prune: penni::Prune::Density(density) });
    let converted = [
        ("slbf_d32_n64", slbf(32, 64), "SLBF, d = 32 (one array row), n = 64"),
        ("slbf_d64_n64", slbf(64, 64), "SLBF, d = 64 (both array rows), n = 64"),
        ("penni_d5_30", penni(0.3), "PENNI, d = 5, 30% of coefficients kept"),
        ("penni_d5_5", penni(0.05), "PENNI, d = 5, 5% of coefficients kept"),
    ];
    for (name, method, _) in &converted {
        write_converted(&base, &dir("plain"), &dir(name), method, &input)?;
    }
    let mut rows = vec![
        ("plain", "plain binary, a scale per filter (G = 1)"),
        ("shared", "binary, scales shared by 8 filters (G = 8)"),
    ];
    rows.extend(converted.iter().map(|(n, _, what)| (*n, *what)));
    let dirs: Vec<PathBuf> = rows.iter().map(|(n, _)| dir(n)).collect();
    let cfg = config_for(&dirs, &input)?;
    let cfg_path = out.join("accel.toml");
    fsutil::write_atomic(&cfg_path, toml::to_string(&cfg)?.as_bytes())?;

    let reports: Vec<LayerReport> = dirs.iter().map(|d| simulate(&cfg, d)).collect::<Result<_>>()?;
    let plain = &reports[0];
    println!(
        "256 -> 256 channels, 3x3, padding 1, 14 x 14 binary activations, sign output; {} ({})",
        cbnn_sim::report::describe_core(&cfg, false),
        cfg_path.display()
    );
    println!();
    // `x2.00 smaller` / `x1.50 larger`: a ratio always >= 1, with its direction in words.
    let times = |a: f64, b: f64, less: &str, more: &str| {
        if a <= b {
            format!("x{:.2} {less}", b / a)
        } else {
            format!("x{:.2} {more}", a / b)
        }
    };
    println!("| layer | weight bits | against plain | binary MACs | combine MACs | cycles | us | against plain |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for ((_, what), r) in rows.iter().zip(&reports) {
        let c = &r.figures.counts;
        let plain_cycles = plain.figures.counts.cycles as f64;
        println!(
            "| {what} | {} | {} | {} | {} | {} | {:.1} | {} |",
            r.weight_bits,
            times(r.weight_bits as f64, plain.weight_bits as f64, "smaller", "larger"),
            r.ops.binary_macs,
            r.ops.combine_macs,
            c.cycles,
            r.figures.latency_us,
            times(c.cycles as f64, plain_cycles, "faster", "slower"),
        );
    }
    let own: Vec<String> =
        reports.iter().filter_map(|r| r.plain.as_ref().and_then(|p| p.cycles)).map(|c| c.to_string()).collect();
    println!();
    println!(
        "The plain equivalents simulate runs beside the converted layers (their own weights, same shape) took {} cycles.",
        own.join(", ")
    );
    println!();
    println!(
        "Every row: simulate --config {} --network {}/NAME/net.toml --input {}/NAME/input.npy",
        cfg_path.display(),
        OUT,
        OUT
    );
    Ok(())
}
