//! The controller's compute sequence (docs/ARCHITECTURE.md, section 4), cycle by cycle, as memory
//! reads: the RTL controller must issue exactly these reads, and the cycle simulator counts them.
//! Data read in cycle `t` reach the array in cycle `t + 1` (synchronous-read banks).
//!
//! For each output row and each step `s` (tap `(ky, kx) = divmod(s / groups, K)`, chunk group
//! `s % groups`) there is one *pass*: first the step's weights are read row by row (`R` cycles,
//! addresses `s*R + r`, the first read marked `start`), then the pass streams `planes x W_out`
//! activation reads, plane-major. Timing (the array's contract, `hdl/src/blocks/array.rs`): a weight
//! load starts no earlier than the previous pass and `R` cycles after the previous load; a pass
//! starts one cycle after its load starts and after the previous pass has finished.

use super::descriptor::LayerDescriptor;
use crate::config::AccelConfig;

/// An activation read and the step it feeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StepIssue {
    /// Address in every row bank (0 when `outside`: nothing is read that matters).
    pub addr: u32,
    /// The tap falls into the zero padding.
    pub outside: bool,
    /// The step covers the pixel's last chunk group.
    pub last_group: bool,
    /// First step of a pass: the array swaps in the weights loaded for it.
    pub first: bool,
    /// First contribution to this output pixel (the accumulator starts from 0).
    pub init: bool,
    pub y: u32,
    pub x: u32,
    pub plane: u32,
}

/// A weight read: address in every column bank, `start` on the first of a load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WeightIssue {
    pub addr: u32,
    pub start: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Issue {
    pub step: Option<StepIssue>,
    pub weight: Option<WeightIssue>,
}

/// The compute sequence of output rows `rows` for one filter tile, with the band's stored input
/// starting at input row `first_row`. Cycle 0 is the first weight read.
pub fn compute_sequence(
    d: &LayerDescriptor,
    cfg: &AccelConfig,
    rows: std::ops::Range<u32>,
    first_row: u32,
) -> Vec<Issue> {
    let r_n = cfg.array.rows as usize;
    let mut out: Vec<Issue> = Vec::new();
    let at = |out: &mut Vec<Issue>, t: usize| {
        if out.len() <= t {
            out.resize(t + 1, Issue::default());
        }
    };
    let pass_len = (d.pass_planes * d.w_out) as usize;
    let (mut prev_load, mut prev_pass): (Option<usize>, Option<usize>) = (None, None);
    for y in rows {
        for s in 0..d.steps {
            let (tap, group) = (s / d.groups, s % d.groups);
            let (ky, kx) = (tap / d.kernel, tap % d.kernel);
            let t_load = match (prev_load, prev_pass) {
                (Some(l), Some(p)) => p.max(l + r_n),
                _ => 0,
            };
            let t_pass = match prev_pass {
                Some(p) => (t_load + 1).max(p + pass_len),
                None => t_load + 1,
            };
            for r in 0..r_n {
                at(&mut out, t_load + r);
                out[t_load + r].weight = Some(WeightIssue { addr: s * r_n as u32 + r as u32, start: r == 0 });
            }
            let iy = (y * d.stride + ky) as i64 - d.padding as i64;
            for plane in 0..d.pass_planes {
                for x in 0..d.w_out {
                    let ix = (x * d.stride + kx) as i64 - d.padding as i64;
                    let outside = iy < first_row as i64 || ix < 0 || iy >= d.h as i64 || ix >= d.w as i64;
                    let addr = if outside {
                        0
                    } else {
                        (((iy as u32 - first_row) * d.w + ix as u32) * d.groups + group) * d.pass_planes + plane
                    };
                    let t = t_pass + (plane * d.w_out + x) as usize;
                    at(&mut out, t);
                    out[t].step = Some(StepIssue {
                        addr,
                        outside,
                        last_group: group + 1 == d.groups,
                        first: plane == 0 && x == 0,
                        init: s == 0 && plane == 0,
                        y,
                        x,
                        plane: plane * d.plane_rows,
                    });
                }
            }
            prev_load = Some(t_load);
            prev_pass = Some(t_pass);
        }
    }
    out
}

/// The registers the RTL sequencer runs `compute_sequence` from: loop bounds and the address
/// increments, precomputed here (16-bit two's complement) so the hardware only adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequencerRegs {
    pub y0: u32,
    pub first_row: u32,
    pub h: u32,
    pub w: u32,
    pub w_out: u32,
    pub kernel: u32,
    pub stride: u32,
    pub groups: u32,
    /// Plane cycles of a pass per pixel (`pass_planes`), and `log2(plane_rows)`: the
    /// accumulator's shift of pass plane `p` is `p << plane_shift`.
    pub planes: u32,
    pub plane_shift: u32,
    pub array_rows: u32,
    /// `rows_n * steps`.
    pub passes: u32,
    /// `steps * R`: the weight words of one output row.
    pub weight_words: u32,
    /// Input row of the first pass: `y0 * stride - padding` (two's complement).
    pub iy0: u32,
    /// `-padding`.
    pub ix0: u32,
    /// Address of the first pass's first step.
    pub base0: u32,
    /// Address increments: per x (`stride * pixel_words`), per tap (from a pass's last chunk
    /// group to the next tap's first), per ky and per output row.
    pub x_step: u32,
    pub kx_step: u32,
    pub ky_step: u32,
    pub y_step: u32,
}

fn m16(v: i64) -> u32 {
    (v & 0xffff) as u32
}

impl SequencerRegs {
    pub fn new(d: &LayerDescriptor, cfg: &AccelConfig, rows: std::ops::Range<u32>, first_row: u32) -> Self {
        let (s, k, p) = (d.stride as i64, d.kernel as i64, d.padding as i64);
        let (w, pw, planes) = (d.w as i64, d.pixel_words as i64, d.pass_planes as i64);
        let iy0 = rows.start as i64 * s - p;
        // A run steps through `run_groups` of the pixel's chunk groups per tap (all of them,
        // but for a grouped layer).
        let skip = pw - d.run_groups as i64 * planes;
        SequencerRegs {
            y0: rows.start,
            first_row,
            h: d.h,
            w: d.w,
            w_out: d.w_out,
            kernel: d.kernel,
            stride: d.stride,
            groups: d.run_groups,
            planes: d.pass_planes,
            plane_shift: d.plane_rows.trailing_zeros(),
            array_rows: cfg.array.rows,
            passes: (rows.end - rows.start) * d.steps,
            weight_words: d.steps * cfg.array.rows,
            iy0: m16(iy0),
            ix0: m16(-p),
            base0: m16(((iy0 - first_row as i64) * w - p) * pw),
            x_step: m16(s * pw),
            kx_step: m16(planes + skip),
            ky_step: m16(w * pw - k * pw + planes + skip),
            y_step: m16((s - k + 1) * w * pw - k * pw + planes + skip),
        }
    }
}

/// Cycles of `compute_sequence` for `passes` passes: one pass every `max(planes * W_out, R)` cycles
/// (a load holds the weight bus for R cycles), and the last pass's one-cycle lead plus its steps, or
/// its R-cycle load when that is longer.
pub fn compute_cycles(d: &LayerDescriptor, cfg: &AccelConfig, passes: u64) -> u64 {
    let (len, r) = ((d.pass_planes * d.w_out) as u64, cfg.array.rows as u64);
    if passes == 0 {
        return 0;
    }
    (passes - 1) * len.max(r) + (len + 1).max(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::{Geometry, Network};
    use crate::quant::compile;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The closed form used by docs/ARCHITECTURE.md and the cycle simulator equals the length of
    /// the cycle-by-cycle sequence (which the RTL sequencer reproduces exactly).
    #[test]
    fn compute_cycles_is_the_length_of_the_sequence() {
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let mut cfg = AccelConfig::default();
            cfg.datapath.acc_bits = 32;
            cfg.buffers.act_kib = 1024;
            cfg.limits.max_kernel = 5;
            cfg.array.rows = rng.gen_range(1..=8);
            let (c_in, k, hw, o) =
                (rng.gen_range(1..100), [1, 3, 5][rng.gen_range(0..3)], rng.gen_range(5..12), rng.gen_range(1..5));
            let g = Geometry { kernel: k, stride: rng.gen_range(1..=2), padding: rng.gen_range(0..=k / 2) };
            let bits = rng.gen_range(1..=8);
            let net = Network::single_conv(c_in, hw, hw, o, g, bits, vec![1.0; o * c_in * k * k]);
            let q = compile(&net, &cfg, None).unwrap();
            let d = LayerDescriptor::new(&q.layers[0], &cfg).unwrap();
            let y1 = rng.gen_range(1..=d.h_out);
            let seq = compute_sequence(&d, &cfg, 0..y1, 0);
            assert_eq!(seq.len() as u64, compute_cycles(&d, &cfg, (y1 * d.steps) as u64), "{d:?}");
            // Every activation read is there exactly once: planes x W_out per pass.
            assert_eq!(seq.iter().filter(|i| i.step.is_some()).count() as u32, y1 * d.steps * d.pass_planes * d.w_out);
        }
    }
}
