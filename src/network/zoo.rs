//! Network shapes that performance figures are quoted on, written as complete network
//! directories (net.toml, weights, an input image) so that `simulate`, `golden` and `sweep` run
//! them like any user's network. Weights are random (seeded): cycles, bytes and utilisation do not
//! depend on their values, only the codec's compression does a little.

use anyhow::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::fmt::Write as _;
use std::path::Path;

use crate::npyio::{self, Elem};
use crate::tensor::Tensor3;

/// A network the zoo can write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// The binary VGG-small of BinaryNet at half width, padded 3x3 convs:
    /// 64-64-P-128-128-P-256-256-P-fc256-fc10 on a 3x32x32 8-bit image.
    VggHalf,
    /// FINN's CNV-W1A1 (BNN-PYNQ) at full width, valid 3x3 convs:
    /// 64-64-P-128-128-P-256-256-fc512-fc512-fc10 on a 3x32x32 8-bit image.
    CnvW1a1,
}

impl Shape {
    pub const ALL: [Shape; 2] = [Shape::VggHalf, Shape::CnvW1a1];

    /// The name on the command line and of the default output directory.
    pub fn name(self) -> &'static str {
        match self {
            Shape::VggHalf => "vgg-half",
            Shape::CnvW1a1 => "cnv-w1a1",
        }
    }

    fn layers(self) -> Vec<Spec> {
        match self {
            Shape::VggHalf => {
                let mut l = conv_stack(1);
                l.push(pool("pool3"));
                l.extend([fc("fc7", 4096, 256, "sign"), fc("fc8", 256, 10, "accumulator")]);
                l
            }
            Shape::CnvW1a1 => {
                let mut l = conv_stack(0);
                l.extend([fc("fc7", 256, 512, "sign"), fc("fc8", 512, 512, "sign"), fc("fc9", 512, 10, "accumulator")]);
                l
            }
        }
    }

    /// Writes the network into `dir` (which must exist): `net.toml`, one `.npy` per weighted
    /// layer and `input.npy`, a smooth 8-bit image with noise (so the codec sees correlation).
    pub fn write(self, dir: &Path, seed: u64) -> Result<()> {
        let head = format!("{ZOO_MARK} {} (seed {seed}); random weights\n", self.name());
        write_net(dir, &head, [3, 32, 32], 8, &self.layers(), seed)
    }
}

/// One layer of a zoo network: `fan_in` weights per filter (`9 * C_in` for a 3x3 conv).
struct Spec {
    name: &'static str,
    kind: &'static str,
    out: usize,
    fan_in: usize,
    padding: usize,
    output: &'static str,
}

/// The 3x3 conv layers both shapes share, `padding` 1 (same) or 0 (valid):
/// 64-64-P-128-128-P-256-256.
fn conv_stack(padding: usize) -> Vec<Spec> {
    vec![
        conv("conv1", 3, 64, padding),
        conv("conv2", 64, 64, padding),
        pool("pool1"),
        conv("conv3", 64, 128, padding),
        conv("conv4", 128, 128, padding),
        pool("pool2"),
        conv("conv5", 128, 256, padding),
        conv("conv6", 256, 256, padding),
    ]
}

fn conv(name: &'static str, c_in: usize, out: usize, padding: usize) -> Spec {
    Spec { name, kind: "conv", out, fan_in: 9 * c_in, padding, output: "sign" }
}

fn fc(name: &'static str, fan_in: usize, out: usize, output: &'static str) -> Spec {
    Spec { name, kind: "fc", out, fan_in, padding: 0, output }
}

fn pool(name: &'static str) -> Spec {
    Spec { name, kind: "maxpool", out: 0, fan_in: 0, padding: 0, output: "" }
}

/// A binary 3x3 convolution, `c` to `c` channels on a `hw` x `hw` map with padding 1, binary
/// input and sign output, as a one-layer network in `dir`: the layer simulators are timed on.
pub fn write_binary_layer(dir: &Path, c: usize, hw: usize, seed: u64) -> Result<()> {
    let head = format!("{ZOO_MARK} a {c}-channel binary 3x3 layer (seed {seed}); random weights\n");
    write_net(dir, &head, [c, hw, hw], 1, &[conv("conv", c, c, 1)], seed)
}

/// The first words of every net.toml the zoo writes: an earlier output that may be replaced.
const ZOO_MARK: &str = "# written by cbnn's network zoo:";

/// Whether `dir` holds an earlier output of the zoo (so writing there again may replace it).
pub fn is_zoo_output(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("net.toml")).is_ok_and(|t| t.starts_with(ZOO_MARK))
}

fn write_net(dir: &Path, head: &str, input: [usize; 3], in_bits: u32, layers: &[Spec], seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let [c, h, w] = input;
    let mut toml = format!("{head}[input]\nshape = [{c}, {h}, {w}]\nbits = {in_bits}\ncodec = \"raw\"\n");
    for l in layers {
        write!(toml, "\n[[layer]]\nname = \"{}\"\nkind = \"{}\"\n", l.name, l.kind)?;
        if l.kind == "maxpool" {
            toml += "kernel = 2\ncodec = \"auto\"\n";
            continue;
        }
        write!(toml, "out_channels = {}\nweights = \"{}.npy\"\noutput = \"{}\"\n", l.out, l.name, l.output)?;
        if l.kind == "conv" {
            write!(toml, "kernel = 3\npadding = {}\nscale_group = 8\n", l.padding)?;
        }
        if l.output != "accumulator" {
            toml += "codec = \"auto\"\n";
        }
        let data: Vec<f32> = (0..l.out * l.fan_in).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let shape: Vec<usize> = if l.kind == "conv" { vec![l.out, l.fan_in / 9, 3, 3] } else { vec![l.out, l.fan_in] };
        crate::fsutil::write_atomic(&dir.join(format!("{}.npy", l.name)), &npyio::f32_to_npy(&shape, &data))?;
    }
    crate::fsutil::write_atomic(&dir.join("net.toml"), toml.as_bytes())?;
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
    let image = npyio::activations_to_npy(&Tensor3::from_vec(c, h, w, data), elem);
    crate::fsutil::write_atomic(&dir.join("input.npy"), &image)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::load_network;

    #[test]
    fn every_shape_loads_with_the_layer_shapes_its_paper_gives() {
        for shape in Shape::ALL {
            let d = tempfile::tempdir().unwrap();
            shape.write(d.path(), 1).unwrap();
            assert!(is_zoo_output(d.path()));
            let net = load_network(&d.path().join("net.toml")).unwrap();
            let outs: Vec<[usize; 3]> = net.layers.iter().map(|l| l.out_shape).collect();
            let last = *outs.last().unwrap();
            assert_eq!(last, [10, 1, 1], "{}", shape.name());
            if shape == Shape::CnvW1a1 {
                // Valid convs: 32 -> 30 -> 28 -> P 14 -> 12 -> 10 -> P 5 -> 3 -> 1, then fc 512.
                assert_eq!(outs[3], [128, 12, 12]);
                assert_eq!(outs[7], [256, 1, 1]);
                assert_eq!(outs[9], [512, 1, 1]);
            } else {
                assert_eq!(outs[8], [256, 4, 4]);
            }
        }
    }
}
