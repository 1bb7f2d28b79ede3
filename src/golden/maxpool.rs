//! Max-pooling (SPEC 3.3): the maximum of the valid taps; padded taps are ignored.

use crate::network::Geometry;
use crate::tensor::Tensor3;

pub fn maxpool(input: &Tensor3<i32>, g: &Geometry) -> Tensor3<i32> {
    let (h_out, w_out) = (g.out_len(input.h).unwrap(), g.out_len(input.w).unwrap());
    let mut out = Tensor3::zeros(input.c, h_out, w_out);
    for c in 0..input.c {
        for y in 0..h_out {
            for x in 0..w_out {
                let best = g.window(y, x).filter_map(|(_, _, iy, ix)| input.get_padded(c, iy, ix)).max();
                out.set(c, y, x, best.expect("padding < kernel guarantees a valid tap"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_is_ignored_not_zero() {
        // All -1: a zero-padded max would give 0 at the borders; the contract gives -1.
        let input = Tensor3::from_vec(1, 2, 2, vec![-1; 4]);
        let out = maxpool(&input, &Geometry { kernel: 2, stride: 1, padding: 1 });
        assert_eq!(out.shape(), [1, 3, 3]);
        assert!(out.data.iter().all(|&v| v == -1));
        let input = Tensor3::from_vec(1, 2, 2, vec![1, 5, 3, 2]);
        let out = maxpool(&input, &Geometry { kernel: 2, stride: 2, padding: 0 });
        assert_eq!(out.data, vec![5]);
    }
}
