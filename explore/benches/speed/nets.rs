//! The benchmark's networks, written as network files (TOML and .npy) so that `simulate` and
//! `golden` can run them too: a CIFAR-10-sized binary VGG, and the single layer the simulators
//! are compared on. Weights are random (seeded): speed does not depend on their values.

use anyhow::Result;
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// A weighted layer of a network file: `kind` conv or fc, `fan_in` weights per filter.
struct Spec {
    name: &'static str,
    kind: &'static str,
    out: usize,
    fan_in: usize,
    output: &'static str,
}

fn write_net(dir: &Path, input: [usize; 3], in_bits: u32, layers: &[Spec], seed: u64) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let [c, h, w] = input;
    let mut toml = format!("[input]\nshape = [{c}, {h}, {w}]\nbits = {in_bits}\ncodec = \"raw\"\n");
    for l in layers {
        write!(toml, "\n[[layer]]\nname = \"{}\"\nkind = \"{}\"\n", l.name, l.kind)?;
        if l.kind == "maxpool" {
            toml += "kernel = 2\ncodec = \"auto\"\n";
            continue;
        }
        write!(toml, "out_channels = {}\nweights = \"{}.npy\"\noutput = \"{}\"\n", l.out, l.name, l.output)?;
        if l.kind == "conv" {
            toml += "kernel = 3\npadding = 1\nscale_group = 8\n";
        }
        if l.output != "accumulator" {
            toml += "codec = \"auto\"\n";
        }
        let data: Vec<f32> = (0..l.out * l.fan_in).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let shape: Vec<usize> = if l.kind == "conv" { vec![l.out, l.fan_in / 9, 3, 3] } else { vec![l.out, l.fan_in] };
        std::fs::write(dir.join(format!("{}.npy", l.name)), npyio::f32_to_npy(&shape, &data))?;
    }
    std::fs::write(dir.join("net.toml"), toml)?;
    // A smooth 8-bit (or binary) image with noise, so the codec sees realistic correlation.
    let data = (0..c * h * w)
        .map(|i| {
            let (ch, y, x) = (i / (h * w), i / w % h, i % w);
            let v = (ch * 40 + y * 5 + x * 3) as i32 % 256 + rng.gen_range(-8..=8);
            if in_bits == 1 {
                (v > 128) as i32 * 2 - 1
            } else {
                v.clamp(0, 255)
            }
        })
        .collect();
    let elem = if in_bits == 1 { Elem::I8 } else { Elem::U8 };
    std::fs::write(dir.join("input.npy"), npyio::activations_to_npy(&Tensor3::from_vec(c, h, w, data), elem))?;
    Ok(dir.join("net.toml"))
}

fn conv(name: &'static str, c_in: usize, out: usize) -> Spec {
    Spec { name, kind: "conv", out, fan_in: 9 * c_in, output: "sign" }
}

fn pool(name: &'static str) -> Spec {
    Spec { name, kind: "maxpool", out: 0, fan_in: 0, output: "" }
}

/// Binary VGG-small for CIFAR-10 (the BinaryNet layout at half width, so every layer fits the
/// default config's 256 channels and 4096 fc inputs): 64-64-P-128-128-P-256-256-P-fc256-fc10.
pub fn binary_vgg(dir: &Path) -> Result<PathBuf> {
    let layers = [
        conv("conv1", 3, 64),
        conv("conv2", 64, 64),
        pool("pool1"),
        conv("conv3", 64, 128),
        conv("conv4", 128, 128),
        pool("pool2"),
        conv("conv5", 128, 256),
        conv("conv6", 256, 256),
        pool("pool3"),
        Spec { name: "fc7", kind: "fc", out: 256, fan_in: 4096, output: "sign" },
        Spec { name: "fc8", kind: "fc", out: 10, fan_in: 256, output: "accumulator" },
    ];
    write_net(dir, [3, 32, 32], 8, &layers, 7)
}

/// The layer the simulators are compared on: a binary 3x3 convolution, `c` to `c` channels on
/// a `hw` x `hw` map, binary input and output.
pub fn binary_layer(dir: &Path, c: usize, hw: usize) -> Result<PathBuf> {
    write_net(dir, [c, hw, hw], 1, &[conv("conv", c, c)], 11)
}
