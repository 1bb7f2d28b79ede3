//! PENNI (SPEC 3.5): a depthwise pass with the d shared ±1 basis kernels, then a sparse 1x1 pass
//! with the integer coefficients that skips zeros.

use super::conv::window_dot;
use crate::network::Geometry;
use crate::tensor::Tensor3;

/// `basis`: ±1 `[d, K, K]`; `coef`: integer `[O, I, d]`.
pub fn penni(
    input: &Tensor3<i32>,
    basis: &[i8],
    d: usize,
    coef: &[i32],
    out_channels: usize,
    g: &Geometry,
) -> Tensor3<i64> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let kk = g.kernel * g.kernel;
    let c_in = input.c;
    // Stage 1: P[c, j] maps.
    let mut p = vec![0i64; c_in * d * h_out * w_out];
    for c in 0..c_in {
        for j in 0..d {
            for y in 0..h_out {
                for x in 0..w_out {
                    p[((c * d + j) * h_out + y) * w_out + x] =
                        window_dot(input, &basis[j * kk..(j + 1) * kk], c, 1, g, y, x);
                }
            }
        }
    }
    // Stage 2: sparse 1x1 over the C_in * d maps.
    let mut out = Tensor3::zeros(out_channels, h_out, w_out);
    for o in 0..out_channels {
        let row = &coef[o * c_in * d..(o + 1) * c_in * d];
        for (cj, &cq) in row.iter().enumerate() {
            if cq == 0 {
                continue;
            }
            for y in 0..h_out {
                for x in 0..w_out {
                    let v = out.get(o, y, x) + cq as i64 * p[(cj * h_out + y) * w_out + x];
                    out.set(o, y, x, v);
                }
            }
        }
    }
    out
}
