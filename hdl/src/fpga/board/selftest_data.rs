//! The self-test's data: one conv layer chosen for the core a config generates (a deterministic
//! random layer that exercises channel groups, bit-planes, filter tiles and padding), the ROM
//! images of its descriptor, parameters, activation and weight streams, and the checksum the
//! golden model's output gives.

use anyhow::{bail, Context, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use cbnn::config::AccelConfig;
use cbnn::golden;
use cbnn::hw::{setup, streams, LayerDescriptor};
use cbnn::network::{Geometry, Network, Op, OutputFn};
use cbnn::quant::{compile, QLayer};
use cbnn::tensor::Tensor3;

/// Everything the board-level top holds in ROM, and what the run must give.
pub struct SelfTestData {
    pub layer: QLayer,
    pub input: Tensor3<i32>,
    pub descriptor: LayerDescriptor,
    /// Setup entries (`cbnn::hw::setup`), the last one the end of the table.
    pub setup: Vec<u128>,
    /// The activation stream's beats and the weight stream's words, in stream order.
    pub acts: Vec<u128>,
    pub weights: Vec<u128>,
    /// The golden model's output and the checksum of its result beats.
    pub golden: Tensor3<i32>,
    pub checksum: (u32, u32),
}

/// The self-test layer for `cfg`: 3x3 conv (or the largest kernel the core takes), padding,
/// 2-bit input (two bit-planes), a few more input channels than one array step holds, two filter
/// tiles of `array.cols` filters, a 2-bit ReLU output; shrunk until it fits the buffers.
fn layer_for(cfg: &AccelConfig) -> Result<(QLayer, Tensor3<i32>)> {
    let mut rng = StdRng::seed_from_u64(2026);
    let (r, c, l) = (cfg.array.rows as usize, cfg.array.cols as usize, cfg.array.lanes as usize);
    let lim = &cfg.limits;
    let c_in = (r * l + 3).min(lim.max_channels as usize);
    let c_out = (2 * c).min(lim.max_filters() as usize / c * c).max(c);
    let k = 3.min(lim.max_kernel as usize);
    let bits = 2.min(cfg.datapath.act_bits);
    let g = Geometry { kernel: k, stride: 1, padding: k / 2 };
    let mut last_error = None;
    for hw in [8usize, 6, 4, 3] {
        let hw = hw.min(lim.max_width as usize).max(k);
        let w: Vec<f32> = (0..c_out * c_in * k * k).map(|_| rng.gen_range(-1.0f32..1.0)).collect();
        let mut net = Network::single_conv(c_in, hw, hw, c_out, g, bits, w);
        let Op::Weighted(wl) = &mut net.layers[0].op else { unreachable!() };
        wl.scale_group = cfg.datapath.scale_group as usize;
        wl.bias = Some((0..c_out).map(|_| rng.gen_range(-2.0f32..2.0) as f64).collect());
        wl.output = OutputFn::Relu { bits: 2.min(cfg.datapath.act_bits), scale: Some(0.6), max: None };
        let q = compile(&net, cfg, None).context("the self-test layer")?;
        let layer = q.layers.into_iter().next().context("the self-test network has no layer")?;
        match LayerDescriptor::new(&layer, cfg) {
            Ok(_) => {
                let data = (0..c_in * hw * hw).map(|_| rng.gen_range(0..1 << bits)).collect();
                return Ok((layer, Tensor3::from_vec(c_in, hw, hw, data)));
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap()).context("no self-test layer fits this core")
}

/// A result beat (`lanes` words of `acc_bits`) folded to 32 bits: the XOR of its 32-bit slices,
/// as the board top folds `out_data`.
pub fn fold_beat(lanes: &[u64], acc_bits: u32) -> u32 {
    let mut bits = Vec::with_capacity(lanes.len() * acc_bits as usize);
    for &v in lanes {
        bits.extend((0..acc_bits).map(|i| (v >> i) & 1 == 1));
    }
    bits.chunks(32).map(|c| c.iter().enumerate().fold(0u32, |w, (i, &b)| w | (b as u32) << i)).fold(0, |a, w| a ^ w)
}

/// The reply's checksum over folded beats: `s1 += fold`, `s2 += s1` (wrapping, 32 bits).
pub fn checksum(folds: impl IntoIterator<Item = u32>) -> (u32, u32) {
    folds.into_iter().fold((0u32, 0u32), |(s1, s2), f| {
        let s1 = s1.wrapping_add(f);
        (s1, s2.wrapping_add(s1))
    })
}

impl SelfTestData {
    pub fn new(cfg: &AccelConfig) -> Result<Self> {
        if cfg.codec.enabled {
            bail!(
                "the board-level top streams raw activations: set codec.enabled = false in the config (the codec's \
                 record streams are not in the self-test yet)"
            );
        }
        let (layer, input) = layer_for(cfg)?;
        let d = LayerDescriptor::new(&layer, cfg)?;
        let mut setup = setup::layer_setup(&layer, &d, cfg)?;
        setup.push(setup::end_entry());
        let acts: Vec<u128> =
            streams::layer_act_stream(&d, cfg, &input, layer.in_bits).iter().map(|b| b.word()).collect();
        let weights = streams::layer_weight_stream(&layer, &d, cfg);
        let golden = golden::layer_output(&layer, &input);
        let beats = streams::tensor_to_results(&d, cfg, &golden);
        let mut folds = Vec::with_capacity(beats.len());
        for beat in beats {
            let lanes: Option<Vec<u64>> = beat.into_iter().collect();
            folds.push(fold_beat(&lanes.context("the self-test layer leaves PPU lanes idle")?, cfg.datapath.acc_bits));
        }
        let checksum = checksum(folds);
        Ok(SelfTestData { layer, input, descriptor: d, setup, acts, weights, golden, checksum })
    }
}
