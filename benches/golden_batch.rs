//! Speed of the golden model over a batch: images per second of the golden model with the
//! plain and the bit-packed dot products side by side, of the float32 reference, of the whole
//! evaluation `golden` runs on a batch, and of the per-image path `golden` took before batches
//! (float reference, compile and plain golden model for every image, one after the other; the
//! float reference and the codec shortcut of this code, so slightly faster than before).
//!
//!     cargo bench -p cbnn --bench golden_batch
//!
//! Networks:
//! - `tfc`: the trained TFC_1W1A (testdata/mnist; fc 784-64-64-64-10, binary weights and
//!   activations) as `import` writes it into `out/bench/TFC_1W1A/`, on the 10,000 MNIST test
//!   images (uint8 pixels, quantised by its input thresholds);
//! - `cnv_1w2a`: the conv network trained here (conv 3x3 16-16-P-32-32-P, fc 512-64-10, 2-bit
//!   activations, 8-bit input), imported likewise, on its 2,000 held-out images;
//! - `out/bench/cnv/`: a larger binary CNN with random weights (seeded; speed does not depend on
//!   their values) on an 8-bit [3, 32, 32] input, conv 3x3 32-32-P-64-64-P (padding 1, sign
//!   outputs), fc 4096-128-10; 500 images.
//!
//! Each figure is the best of three runs. The figures go into docs/PERFORMANCE.md.

use anyhow::{ensure, Result};
use cbnn::batch::{par, Batch};
use cbnn::golden::{self, packed::PackedNet};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A weighted layer of a bench network: kind, output channels, weights per filter, output.
struct Spec(&'static str, usize, usize, &'static str);

/// Writes `dir/net.toml`, its weights, `input.npy` (`images` random images, a batch) and
/// `labels.npy` (random classes); returns the network file.
fn write_net(dir: &Path, input: [usize; 3], bits: u32, layers: &[Spec], images: usize, seed: u64) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let [c, h, w] = input;
    let mut toml = format!("[input]\nshape = [{c}, {h}, {w}]\nbits = {bits}\n");
    for (i, Spec(kind, out, fan_in, output)) in layers.iter().enumerate() {
        let name = format!("{kind}{i}");
        write!(toml, "\n[[layer]]\nname = \"{name}\"\nkind = \"{kind}\"\n")?;
        if *kind == "maxpool" {
            toml += "kernel = 2\n";
            continue;
        }
        write!(toml, "out_channels = {out}\nweights = \"{name}.npy\"\noutput = \"{output}\"\n")?;
        let shape = if *kind == "conv" {
            toml += "kernel = 3\npadding = 1\n";
            vec![*out, fan_in / 9, 3, 3]
        } else {
            vec![*out, *fan_in]
        };
        let weights: Vec<f32> = (0..out * fan_in).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        std::fs::write(dir.join(format!("{name}.npy")), npyio::f32_to_npy(&shape, &weights))?;
    }
    std::fs::write(dir.join("net.toml"), toml)?;
    let top = (1i32 << bits) - 1;
    let image = |rng: &mut StdRng| {
        let data =
            (0..c * h * w).map(|_| if bits == 1 { [1, -1][rng.gen_range(0..2)] } else { rng.gen_range(0..=top) });
        Tensor3::from_vec(c, h, w, data.collect())
    };
    let batch: Vec<Tensor3<i32>> = (0..images).map(|_| image(&mut rng)).collect();
    let elem = if bits == 1 { Elem::I8 } else { Elem::U8 };
    std::fs::write(dir.join("input.npy"), npyio::images_to_npy(&batch.iter().collect::<Vec<_>>(), true, elem))?;
    let classes = layers.last().map_or(1, |l| l.1);
    let labels: Vec<i64> = (0..images).map(|_| rng.gen_range(0..classes as i64)).collect();
    std::fs::write(dir.join("labels.npy"), npyio::i64_to_npy(&[images], &labels))?;
    Ok(dir.join("net.toml"))
}

/// Images per second of `f` over `n` images, the best of three runs.
fn rate(n: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(n as f64 / best)
}

/// `import` of a trained model of testdata/mnist into `out/bench/NAME/`; its net.toml.
fn imported(out: &Path, model: &str) -> Result<PathBuf> {
    let onnx = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mnist").join(format!("{model}.onnx"));
    let opts = cbnn::import::Options { divisor: 255.0, images: None, labels: None, synthetic: 4 };
    let imp = cbnn::import::import(&onnx, &cbnn::config::AccelConfig::default(), &opts)?;
    let dir = out.join(model);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("net.toml"), &imp.files.toml)?;
    for (rel, bytes) in &imp.files.files {
        std::fs::write(dir.join(rel), bytes)?;
    }
    Ok(dir.join("net.toml"))
}

fn mnist(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/mnist").join(file)
}

fn bench(name: &str, net_path: &Path, input: &Path, before_images: usize) -> Result<()> {
    let (net, batch) = cbnn::examples::load_network_and_batch(Some(net_path), Some(input))?;
    let Batch { images, .. } = batch;
    let cfg = cbnn::config::AccelConfig::default();
    let q = cbnn::reference::compile_once(&net, &cfg, &images[0])?.qnet;
    let hidden = indicatif::ProgressBar::hidden();
    let n = images.len();
    // The packed model must give the plain one's outputs on every image.
    let plain = par::map(&images, &hidden, |_, x| Ok(golden::run(&q, x)))?;
    let packed = PackedNet::new(&q);
    ensure!(par::map(&images, &hidden, |_, x| Ok(packed.run(x)))? == plain, "{name}: packed != plain");

    let before = rate(before_images, || {
        for x in &images[..before_images] {
            let p = cbnn::reference::prepare(&net, &cfg, x)?;
            golden::run(&p.qnet, x);
        }
        Ok(())
    })?;
    let plain = rate(n, || par::map(&images, &hidden, |_, x| Ok(golden::run(&q, x))).map(drop))?;
    let packed_rate = rate(n, || par::map(&images, &hidden, |_, x| Ok(packed.run(x))).map(drop))?;
    let float = rate(n, || par::map(&images, &hidden, |_, x| Ok(cbnn::reference::run(&net, x))).map(drop))?;
    let all = rate(n, || cbnn::batch::eval::evaluate(&net, &q, &images, false, &hidden).map(drop))?;
    let rows = [
        ("per image: float reference, compile, plain golden model (1 thread)", before_images, before),
        ("golden model, plain dot products (compiled once, parallel)", n, plain),
        ("golden model, packed dot products (compiled once, parallel)", n, packed_rate),
        ("float32 reference (parallel)", n, float),
        ("golden's whole batch evaluation (packed, float reference, fidelity, classes)", n, all),
    ];
    for (what, images, r) in rows {
        println!("{name:<8} {what:<80} {images:>6} {r:>12.0}");
    }
    Ok(())
}

fn main() -> Result<()> {
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("out/bench");
    let cnv = [
        Spec("conv", 32, 27, "sign"),
        Spec("conv", 32, 288, "sign"),
        Spec("maxpool", 0, 0, ""),
        Spec("conv", 64, 288, "sign"),
        Spec("conv", 64, 576, "sign"),
        Spec("maxpool", 0, 0, ""),
        Spec("fc", 128, 4096, "sign"),
        Spec("fc", 10, 128, "accumulator"),
    ];
    println!("golden_batch: {} threads", rayon::current_num_threads());
    println!("{:<8} {:<80} {:>6} {:>12}", "net", "what", "images", "images/s");
    bench("tfc", &imported(&out, "TFC_1W1A")?, &mnist("t10k-images.npy"), 1000)?;
    bench("cnv_1w2a", &imported(&out, "cnv_1w2a")?, &mnist("heldout-images.npy"), 200)?;
    let cnv_net = write_net(&out.join("cnv"), [3, 32, 32], 8, &cnv, 500, 2)?;
    bench("cnv", &cnv_net, &cnv_net.with_file_name("input.npy"), 50)?;
    Ok(())
}
