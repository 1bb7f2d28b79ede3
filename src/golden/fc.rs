//! Fully-connected layer (SPEC 3.2): the input flattened in CHW order.

use crate::tensor::Tensor3;

/// dot[o] as a `[O, 1, 1]` tensor, ±1 weights `[O, I]`.
pub fn fc(input: &Tensor3<i32>, signs: &[i8], out_channels: usize) -> Tensor3<i64> {
    let n = input.data.len();
    let data = (0..out_channels)
        .map(|o| signs[o * n..(o + 1) * n].iter().zip(&input.data).map(|(&w, &a)| w as i64 * a as i64).sum())
        .collect();
    Tensor3::from_vec(out_channels, 1, 1, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattens_chw() {
        let input = Tensor3::from_vec(2, 1, 2, vec![1, 2, 3, 4]);
        let out = fc(&input, &[1, -1, 1, -1, 1, 1, 1, 1], 2);
        assert_eq!(out.data, vec![-2, 10]);
    }
}
