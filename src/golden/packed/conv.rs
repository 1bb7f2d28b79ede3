//! conv (SPEC 3.1) on packed words. Each output pixel's window is assembled once as one vector
//! of `K*K*C` lanes in the hardware's order (SPEC 1.1: taps `ky`, `kx`, channels fastest), from
//! the input pixels' channel words, and every filter's dot product with it is one run of
//! XOR/AND and popcount (SPEC 2.2). A padded tap's lanes hold 0 and are masked out of binary
//! sums; `N_valid` (or the activation sum) counts the valid taps only. Packing whole windows
//! rather than one tap at a time keeps the words full when C is small (a first layer's 3
//! channels take 27 lanes of one word, not 3 lanes of each of 9).

use super::bits::{copy_lanes, dot, pack_signs, packed_sum, set_lanes, words, Packed};
use crate::network::Geometry;
use crate::tensor::Tensor3;

/// A conv layer's ±1 weights packed once: vector `o` holds filter `o`'s window, lane
/// `t * C + c` the weight of channel `c` at tap `t = ky * K + kx`.
#[derive(Clone, Debug)]
pub struct PackedConv {
    out_channels: usize,
    in_channels: usize,
    geometry: Geometry,
    weights: Packed,
}

impl PackedConv {
    /// From ±1 weights in OIHW order.
    pub fn new(signs: &[i8], out_channels: usize, in_channels: usize, geometry: Geometry) -> PackedConv {
        let (c, kk) = (in_channels, geometry.kernel * geometry.kernel);
        let index = |o: usize, lane: usize| (o * c + lane % c) * kk + lane / c;
        PackedConv { out_channels, in_channels, geometry, weights: pack_signs(out_channels, kk * c, index, signs) }
    }

    /// `dot[o, y, x]` for an input of `bits`-bit activations (±1 for `bits = 1`), equal to
    /// `golden::conv::conv` on the same layer.
    pub fn dots(&self, input: &Tensor3<i32>, bits: u32) -> Tensor3<i64> {
        assert_eq!(input.c, self.in_channels, "input channels of a packed conv layer");
        let (g, c, hw) = (&self.geometry, input.c, input.h * input.w);
        let pixels = Packed::new(hw, c, bits, |p, ch| input.data[ch * hw + p]);
        let (planes, binary) = (pixels.planes, bits == 1);
        let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
        let n = words(g.kernel * g.kernel * c);
        let (mut window, mut valid) = (vec![0u64; n * planes], vec![0u64; n]);
        let mut out = Tensor3::zeros(self.out_channels, h_out, w_out);
        for y in 0..h_out {
            for x in 0..w_out {
                window.fill(0);
                valid.fill(0);
                let mut base = 0;
                for (ky, kx, iy, ix) in g.window(y, x) {
                    if (0..input.h as isize).contains(&iy) && (0..input.w as isize).contains(&ix) {
                        let p = iy as usize * input.w + ix as usize;
                        let at = (ky * g.kernel + kx) * c;
                        copy_lanes(&mut window, pixels.vector(p), planes, at);
                        set_lanes(&mut valid, at, c);
                        base += pixels.base[p];
                    }
                }
                for o in 0..self.out_channels {
                    let acc = packed_sum(&window, self.weights.vector(o), Some(&valid), planes, binary);
                    out.data[(o * h_out + y) * w_out + x] = dot(acc, base, binary);
                }
            }
        }
        out
    }
}
