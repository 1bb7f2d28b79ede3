//! Binary convolution (SPEC 3.1) and the depthwise/bank convolutions SLBF and PENNI build on,
//! written as plainly as possible: the signed dot product over valid taps (SPEC 2.2).

use crate::network::Geometry;
use crate::tensor::Tensor3;

/// Signed dot product of one ±1 kernel `kern[c][ky][kx]` (channels `c0..c0+kc` of the input)
/// with the input window of output pixel (y, x). Padded taps contribute 0.
pub fn window_dot(input: &Tensor3<i32>, kern: &[i8], c0: usize, kc: usize, g: &Geometry, y: usize, x: usize) -> i64 {
    let k = g.kernel;
    let mut acc = 0i64;
    for c in 0..kc {
        for (ky, kx, iy, ix) in g.window(y, x) {
            if let Some(a) = input.get_padded(c0 + c, iy, ix) {
                acc += kern[(c * k + ky) * k + kx] as i64 * a as i64;
            }
        }
    }
    acc
}

/// dot[o, y, x] of a conv layer with ±1 weights `signs` in OIHW order.
pub fn conv(input: &Tensor3<i32>, signs: &[i8], out_channels: usize, g: &Geometry) -> Tensor3<i64> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let per = input.c * g.kernel * g.kernel;
    let mut out = Tensor3::zeros(out_channels, h_out, w_out);
    for o in 0..out_channels {
        let kern = &signs[o * per..(o + 1) * per];
        for y in 0..h_out {
            for x in 0..w_out {
                out.set(o, y, x, window_dot(input, kern, 0, input.c, g, y, x));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_stride_two_with_padding() {
        // 1 channel 3x3 input 1..9, kernel 2x2 all +1 except (1,1) = -1, stride 2, padding 1.
        let input = Tensor3::from_vec(1, 3, 3, (1..=9).collect());
        let g = Geometry { kernel: 2, stride: 2, padding: 1 };
        let out = conv(&input, &[1, 1, 1, -1], 1, &g);
        assert_eq!(out.shape(), [1, 2, 2]);
        // (0,0): window rows -1..0, cols -1..0: only (0,0)=1 valid, at kernel (1,1) = -1.
        // (0,1): rows -1..0, cols 1..2: kernel (1,0)*2 + (1,1)*3 = 2 - 3.
        // (1,0): rows 1..2, cols -1..0: kernel (0,1)*4 + (1,1)*7 = 4 - 7.
        // (1,1): rows 1..2, cols 1..2: 5 + 6 + 8 - 9.
        assert_eq!(out.data, vec![-1, -1, -3, 10]);
    }
}
