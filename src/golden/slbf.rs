//! Stacked low-dimensional binary filters (SPEC 3.4): bank responses T(i, j) per slice i and
//! bank filter j, then a gather-and-add per output filter driven by the index.

use super::conv::window_dot;
use crate::network::Geometry;
use crate::tensor::Tensor3;

pub struct SlbfParams<'a> {
    /// ±1 bank `[n, d, K, K]`.
    pub bank: &'a [i8],
    pub n: usize,
    pub d: usize,
    /// `[O, m]`.
    pub index: &'a [usize],
    pub m: usize,
}

pub fn slbf(input: &Tensor3<i32>, p: &SlbfParams, out_channels: usize, g: &Geometry) -> Tensor3<i64> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let per = p.d * g.kernel * g.kernel;
    // T(i, j) for every slice and bank filter: m * n maps of h_out x w_out.
    let mut t = vec![0i64; p.m * p.n * h_out * w_out];
    for i in 0..p.m {
        for j in 0..p.n {
            for y in 0..h_out {
                for x in 0..w_out {
                    t[((i * p.n + j) * h_out + y) * w_out + x] =
                        window_dot(input, &p.bank[j * per..(j + 1) * per], i * p.d, p.d, g, y, x);
                }
            }
        }
    }
    let mut out = Tensor3::zeros(out_channels, h_out, w_out);
    for o in 0..out_channels {
        for y in 0..h_out {
            for x in 0..w_out {
                let sum = (0..p.m).map(|i| t[((i * p.n + p.index[o * p.m + i]) * h_out + y) * w_out + x]).sum();
                out.set(o, y, x, sum);
            }
        }
    }
    out
}
