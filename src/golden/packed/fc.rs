//! fc (SPEC 3.2) on packed words: the input flattened in CHW order is one vector, each filter
//! another, and each dot product one run of XOR/AND and popcount over their words (SPEC 2.2).

use super::bits::{dot, pack_signs, packed_sum, Packed};
use crate::tensor::Tensor3;

/// An fc layer's ±1 weights `[O, I]` packed once, one vector per filter.
#[derive(Clone, Debug)]
pub struct PackedFc {
    out_channels: usize,
    len: usize,
    weights: Packed,
}

impl PackedFc {
    /// From ±1 weights `[out_channels, len]`, `len` the flattened input's length.
    pub fn new(signs: &[i8], out_channels: usize, len: usize) -> PackedFc {
        PackedFc { out_channels, len, weights: pack_signs(out_channels, len, |o, i| o * len + i, signs) }
    }

    /// `dot[o]` as `[O, 1, 1]` for an input of `bits`-bit activations, equal to
    /// `golden::fc::fc` on the same layer.
    pub fn dots(&self, input: &Tensor3<i32>, bits: u32) -> Tensor3<i64> {
        assert_eq!(input.data.len(), self.len, "input length of a packed fc layer");
        let a = Packed::new(1, self.len, bits, |_, i| input.data[i]);
        let data = (0..self.out_channels)
            .map(|o| {
                let acc = packed_sum(a.vector(0), self.weights.vector(o), None, a.planes, bits == 1);
                dot(acc, a.base[0], bits == 1)
            })
            .collect();
        Tensor3::from_vec(self.out_channels, 1, 1, data)
    }
}
