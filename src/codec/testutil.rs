//! Random tensors and parameters for the codec's tests (seeded, so failures reproduce).

use super::{CodecParams, Mode};
use crate::codec::RecordCheck;
use crate::tensor::Tensor3;
use rand::rngs::StdRng;
use rand::Rng;

/// Kinds of activation data, chosen to reach every block mode of auto.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// ~85% zeros (post-ReLU maps): sparse and zero blocks.
    Sparse,
    /// Uniform values: raw blocks.
    Dense,
    /// Slow ramps across channels plus small noise: dct blocks.
    Smooth,
    /// Only 0 and the maximum: worst case for the dct error.
    Extreme,
    /// Whole pixels zero or dense at random: zero blocks next to raw ones.
    Patchy,
}

impl Pattern {
    pub const ALL: [Pattern; 5] = [Pattern::Sparse, Pattern::Dense, Pattern::Smooth, Pattern::Extreme, Pattern::Patchy];
}

/// Channel counts that are not multiples of any N, and some that are.
pub const CHANNELS: [usize; 10] = [1, 3, 7, 9, 13, 17, 4, 8, 16, 32];

pub struct Case {
    pub t: Tensor3<i32>,
    pub bits: u32,
    pub p: CodecParams,
}

/// A random `bits`-bit tensor of the given shape (±1 values for `bits = 1`).
pub fn random_tensor(rng: &mut StdRng, c: usize, h: usize, w: usize, bits: u32, pat: Pattern) -> Tensor3<i32> {
    if bits == 1 {
        let p_plus = rng.gen_range(0.0..1.0);
        let data = (0..c * h * w).map(|_| if rng.gen_bool(p_plus) { 1 } else { -1 }).collect();
        return Tensor3::from_vec(c, h, w, data);
    }
    let max = (1i32 << bits) - 1;
    let mut t = Tensor3::zeros(c, h, w);
    for y in 0..h {
        for x in 0..w {
            let base = rng.gen_range(0..=max);
            let slope = rng.gen_range(-3..=3) as f64 * max as f64 / 64.0;
            let dense_pixel = rng.gen_bool(0.5);
            for ch in 0..c {
                let v = match pat {
                    Pattern::Sparse => {
                        if rng.gen_bool(0.15) {
                            rng.gen_range(1..=max)
                        } else {
                            0
                        }
                    }
                    Pattern::Dense => rng.gen_range(0..=max),
                    Pattern::Smooth => {
                        let noise = rng.gen_range(-1..=1);
                        (base as f64 + slope * ch as f64).round() as i32 + noise
                    }
                    Pattern::Extreme => {
                        if rng.gen_bool(0.5) {
                            max
                        } else {
                            0
                        }
                    }
                    Pattern::Patchy => {
                        if dense_pixel {
                            rng.gen_range(0..=max)
                        } else {
                            0
                        }
                    }
                };
                t.set(ch, y, x, v.clamp(0, max));
            }
        }
    }
    t
}

/// Random valid parameters for block length `block`, `bits` and `mode` (which must be allowed
/// for `bits`); keep = N half the time, the SPEC default.
pub fn random_params(rng: &mut StdRng, block: usize, mode: Mode) -> CodecParams {
    CodecParams {
        block,
        mode,
        step: 1 << rng.gen_range(0..=7),
        keep: if rng.gen_bool(0.5) { block } else { rng.gen_range(1..=block) },
        eg_order: rng.gen_range(0..=7),
        // Whole rows, segments of N or a multiple of it (the accelerator's case), and segments
        // that cut blocks short.
        segment: match rng.gen_range(0..4) {
            0 => 1000,
            1 => block,
            2 => 2 * block,
            _ => rng.gen_range(1..=24),
        },
        // Records with and without their check byte (SPEC 8.9).
        check: if rng.gen_bool(0.5) { RecordCheck::Crc8 } else { RecordCheck::None },
    }
}

/// Modes allowed for `bits` (SPEC 8.1).
pub fn modes_for(bits: u32) -> &'static [Mode] {
    if bits == 1 {
        &[Mode::Raw, Mode::Auto]
    } else {
        &[Mode::Raw, Mode::Sparse, Mode::Dct, Mode::Auto, Mode::Golomb]
    }
}

/// A fully random case: N, bits, shape (channels from [`CHANNELS`] or random), mode, params.
pub fn random_case(rng: &mut StdRng, pat: Pattern) -> Case {
    let block = [4, 8, 16][rng.gen_range(0..3)];
    let bits = rng.gen_range(1..=8);
    let c = if rng.gen_bool(0.7) { CHANNELS[rng.gen_range(0..CHANNELS.len())] } else { rng.gen_range(1..=40) };
    let (h, w) = (rng.gen_range(1..=4), rng.gen_range(1..=4));
    let modes = modes_for(bits);
    let mode = modes[rng.gen_range(0..modes.len())];
    Case { t: random_tensor(rng, c, h, w, bits, pat), bits, p: random_params(rng, block, mode) }
}
