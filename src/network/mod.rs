//! Network descriptions: the TOML format (spec.rs), its loading and checking (build.rs), and the
//! checked, typed `Network` every tool consumes.

mod build;
mod spec;
pub mod zoo;

pub use build::{load_network, parse_network, DirSource, EmbeddedSource, FileSource};

use crate::codec::Mode;
use crate::tensor::Tensor3;

/// A checked network: shapes chain, every tensor is loaded and has the shape its layer needs.
#[derive(Clone, Debug)]
pub struct Network {
    /// Where it came from (file name), the prefix of every later error about it.
    pub origin: String,
    pub input: InputDef,
    pub layers: Vec<Layer>,
}

impl Network {
    /// A network of one conv layer (`[c_out, c_in, K, K]` float weights) with raw accumulator
    /// output over a `[c_in, h, w]` input of `in_bits`-bit activations: the unit the hardware
    /// tests and benchmarks feed the core.
    pub fn single_conv(
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        geometry: Geometry,
        in_bits: u32,
        weights: Vec<f32>,
    ) -> Network {
        let out = [c_out, geometry.out_len(h).expect("kernel fits"), geometry.out_len(w).expect("kernel fits")];
        Self::single([c_in, h, w], out, geometry, in_bits, Weights::Conv(weights))
    }

    /// Likewise one fc layer (`[c_out, c_in*h*w]` float weights).
    pub fn single_fc(c_in: usize, h: usize, w: usize, c_out: usize, in_bits: u32, weights: Vec<f32>) -> Network {
        let geometry = Geometry { kernel: 1, stride: 1, padding: 0 };
        Self::single([c_in, h, w], [c_out, 1, 1], geometry, in_bits, Weights::Fc(weights))
    }

    /// One layer of any weighted kind on a `[c_in, h, w]` input (accumulator output, G = 1; the
    /// fields are public to change), for tests and tools.
    pub fn single_weighted(
        in_shape: [usize; 3],
        c_out: usize,
        geometry: Geometry,
        in_bits: u32,
        weights: Weights,
    ) -> Network {
        let [_, h, w] = in_shape;
        let out = [c_out, geometry.out_len(h).expect("kernel fits"), geometry.out_len(w).expect("kernel fits")];
        Self::single(in_shape, out, geometry, in_bits, weights)
    }

    fn single(
        in_shape: [usize; 3],
        out_shape: [usize; 3],
        geometry: Geometry,
        in_bits: u32,
        weights: Weights,
    ) -> Network {
        let layer = Layer {
            name: "layer".into(),
            in_shape,
            in_bits,
            out_shape,
            op: Op::Weighted(Weighted {
                out_channels: out_shape[0],
                geometry,
                weights,
                bias: None,
                weight_scale: None,
                threshold: None,
                scale_group: 1,
                output: OutputFn::Accumulator,
            }),
            codec: CodecSettings::default(),
        };
        let scale = if in_bits == 1 { 1.0 } else { 1.0 / ((1u32 << in_bits) - 1) as f64 };
        Network {
            origin: "single layer".into(),
            input: InputDef { shape: in_shape, bits: in_bits, scale, pixels: None, codec: CodecSettings::default() },
            layers: vec![layer],
        }
    }
}

/// The input tensor: shape, activation bits and real-valued step (SPEC 2.3, 6), and how the
/// pixels a user has become those activations when the network reads images (SPEC 2.5).
#[derive(Clone, Debug)]
pub struct InputDef {
    pub shape: [usize; 3],
    pub bits: u32,
    pub scale: f64,
    pub pixels: Option<PixelQuantiser>,
    pub codec: CodecSettings,
}

impl InputDef {
    /// Bits of the values in an input file: 8 (uint8 pixels) for a network that quantises pixels
    /// itself, else the activations' own bits.
    pub fn file_bits(&self) -> u32 {
        if self.pixels.is_some() {
            8
        } else {
            self.bits
        }
    }

    /// The activations the first layer reads from the values of an input file (pixels are
    /// quantised, activations pass unchanged).
    pub fn activations(&self, file_values: &Tensor3<i32>) -> Tensor3<i32> {
        match &self.pixels {
            Some(p) => p.quantise(file_values, self.bits),
            None => file_values.clone(),
        }
    }
}

/// Per-channel pixel thresholds (SPEC 2.5): the activation of a pixel `p` of channel `c` is the
/// number of thresholds `t[c][j] <= p` (for a binary input: +1 if `p >= t[c][0]`, else -1).
#[derive(Clone, Debug, PartialEq)]
pub struct PixelQuantiser {
    /// `[C][levels - 1]`, non-decreasing in `j`, each in `0..=256` (256: never reached).
    pub thresholds: Vec<Vec<u16>>,
    /// The real value of one pixel step in the trained model's input (metadata: reported, not
    /// used by the arithmetic).
    pub pixel_scale: Option<f64>,
}

impl PixelQuantiser {
    /// The activation of every pixel of a `[C, H, W]` tensor of values in 0..=255.
    pub fn quantise(&self, pixels: &Tensor3<i32>, bits: u32) -> Tensor3<i32> {
        // One lookup table per channel: 256 entries instead of a search per pixel.
        let tables: Vec<[i32; 256]> = self
            .thresholds
            .iter()
            .map(|t| {
                let mut lut = [0i32; 256];
                for (p, v) in lut.iter_mut().enumerate() {
                    let count = t.iter().filter(|&&th| th as usize <= p).count() as i32;
                    *v = if bits == 1 { 2 * count - 1 } else { count };
                }
                lut
            })
            .collect();
        let per = pixels.h * pixels.w;
        let data = pixels.data.iter().enumerate().map(|(i, &p)| tables[i / per][p as usize]).collect();
        Tensor3::from_vec(pixels.c, pixels.h, pixels.w, data)
    }
}

/// How a tensor is stored in DRAM (SPEC 8.1); `keep = None` means all `N` coefficients.
#[derive(Clone, Debug, PartialEq)]
pub struct CodecSettings {
    pub mode: Mode,
    pub step: u32,
    pub keep: Option<usize>,
    pub eg_order: u32,
}

impl Default for CodecSettings {
    fn default() -> Self {
        CodecSettings { mode: Mode::Raw, step: 1, keep: None, eg_order: 2 }
    }
}

/// Bit width of an activation tensor: 1 = binary ±1, 2..8 = unsigned, `ACC_BITS` = raw int32.
pub const ACC_BITS: u32 = 32;

#[derive(Clone, Debug)]
pub struct Layer {
    pub name: String,
    pub in_shape: [usize; 3],
    pub in_bits: u32,
    pub out_shape: [usize; 3],
    pub op: Op,
    pub codec: CodecSettings,
}

impl Layer {
    /// Bits of this layer's output tensor (maxpool keeps its input's).
    pub fn out_bits(&self) -> u32 {
        match &self.op {
            Op::MaxPool(_) => self.in_bits,
            Op::Weighted(w) => w.output.bits(),
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match &self.op {
            Op::MaxPool(_) => "maxpool",
            Op::Weighted(w) => match w.weights {
                Weights::Conv(_) => "conv",
                Weights::Fc(_) => "fc",
                Weights::Slbf { .. } => "slbf",
                Weights::Penni { .. } => "penni",
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Geometry {
    /// Output length along one axis (SPEC 2.4), `None` if not at least 1.
    pub fn out_len(&self, len: usize) -> Option<usize> {
        let padded = len + 2 * self.padding;
        if padded < self.kernel {
            return None;
        }
        Some((padded - self.kernel) / self.stride + 1)
    }

    /// The taps of output pixel (y, x): `(ky, kx, input row, input column)`, the input
    /// coordinates signed because padded taps fall outside the input (SPEC 2.4).
    pub fn window(&self, y: usize, x: usize) -> impl Iterator<Item = (usize, usize, isize, isize)> + '_ {
        let (y0, x0) =
            ((y * self.stride) as isize - self.padding as isize, (x * self.stride) as isize - self.padding as isize);
        (0..self.kernel)
            .flat_map(move |ky| (0..self.kernel).map(move |kx| (ky, kx, y0 + ky as isize, x0 + kx as isize)))
    }
}

#[derive(Clone, Debug)]
pub enum Op {
    Weighted(Weighted),
    MaxPool(Geometry),
}

/// A layer with binary weights, a shared scale per group and an output function.
#[derive(Clone, Debug)]
pub struct Weighted {
    pub out_channels: usize,
    /// Kernel, stride and padding; for fc `kernel = 1, stride = 1, padding = 0` (unused).
    pub geometry: Geometry,
    pub weights: Weights,
    /// Real bias per filter (float32 or float64 in the file).
    pub bias: Option<Vec<f64>>,
    /// Per-filter factor of the float weights (SPEC 5.1): filter `o` stands for
    /// `weight_scale[o]` times its weights.
    pub weight_scale: Option<Vec<f64>>,
    /// Sign outputs with integer thresholds (SPEC 6): +1 where `dot >= threshold[o]`.
    pub threshold: Option<Vec<i64>>,
    pub scale_group: usize,
    pub output: OutputFn,
}

/// Float weights as given by the user; binarisation happens in `quant`.
#[derive(Clone, Debug)]
pub enum Weights {
    /// `[O, I, K, K]`.
    Conv(Vec<f32>),
    /// `[O, I]`, `I` = flattened input.
    Fc(Vec<f32>),
    /// bank `[n, d, K, K]`, index `[O, m]` (SPEC 3.4).
    Slbf { bank: Vec<f32>, n: usize, d: usize, index: Vec<usize>, m: usize },
    /// basis `[d, K, K]`, coef `[O, I, d]` (SPEC 3.5).
    Penni { basis: Vec<f32>, d: usize, coef: Vec<f32> },
}

#[derive(Clone, Debug, PartialEq)]
pub enum OutputFn {
    Accumulator,
    Sign,
    /// `scale = None`: calibrate `s_out` on the input (SPEC 6). `max`: the largest output value
    /// (`out_max`; `None`: `2^bits - 1`).
    Relu {
        bits: u32,
        scale: Option<f64>,
        max: Option<u32>,
    },
}

impl OutputFn {
    pub fn bits(&self) -> u32 {
        match self {
            OutputFn::Accumulator => ACC_BITS,
            OutputFn::Sign => 1,
            OutputFn::Relu { bits, .. } => *bits,
        }
    }

    /// The largest value a relu output takes (SPEC 6: `out_max`, by default `2^bits - 1`).
    pub fn relu_max(bits: u32, max: Option<u32>) -> u32 {
        max.unwrap_or((1 << bits) - 1)
    }
}
