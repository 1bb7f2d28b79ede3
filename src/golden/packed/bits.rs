//! Vectors of activations and of ±1 weights packed into 64-bit words, the software form of
//! the array's lanes (SPEC 1.1): lane `l` of word `w` holds element `64*w + l`, and the lanes
//! past the vector's end are 0. A k-bit activation vector is `k` bit-planes (plane `j` holds bit
//! `j` of every element); a binary (±1) one is a single plane holding 1 for +1 (SPEC 2.1).

/// Lanes per word.
pub const LANES: usize = 64;

/// Words a vector of `len` elements takes.
pub fn words(len: usize) -> usize {
    len.div_ceil(LANES)
}

/// `count` vectors of `len` elements each, packed: vector `v`'s words are
/// `data[v * words * planes ..][.. words * planes]`, plane-fastest (word `w`, plane `j` at
/// `w * planes + j`), so one tap of a dot product reads its planes from consecutive words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packed {
    pub planes: usize,
    pub words: usize,
    pub data: Vec<u64>,
    /// Per vector, what the dot product subtracts (SPEC 2.2): for binary vectors the number of
    /// elements (`N_valid` of a whole vector), for k-bit ones the sum of the elements.
    pub base: Vec<i64>,
}

impl Packed {
    /// Packs `count` vectors of `len` elements, element `i` of vector `v` being `value(v, i)`:
    /// ±1 when `bits == 1`, else an unsigned `bits`-bit integer.
    pub fn new(count: usize, len: usize, bits: u32, value: impl Fn(usize, usize) -> i32) -> Packed {
        let (planes, words) = (if bits == 1 { 1 } else { bits as usize }, words(len));
        let mut data = vec![0u64; count * words * planes];
        let mut base = vec![0i64; count];
        for (v, (chunk, b)) in data.chunks_exact_mut(words * planes).zip(&mut base).enumerate() {
            for i in 0..len {
                let a = value(v, i);
                let (w, lane) = (i / LANES, i % LANES);
                if bits == 1 {
                    chunk[w] |= u64::from(a > 0) << lane;
                    *b += 1;
                } else {
                    for (j, word) in chunk[w * planes..(w + 1) * planes].iter_mut().enumerate() {
                        *word |= ((a as u64 >> j) & 1) << lane;
                    }
                    *b += i64::from(a);
                }
            }
        }
        Packed { planes, words, data, base }
    }

    /// The words of vector `v`.
    #[inline]
    pub fn vector(&self, v: usize) -> &[u64] {
        let n = self.words * self.planes;
        &self.data[v * n..(v + 1) * n]
    }
}

/// ±1 weights `count` vectors of `len`, vector `v`'s element `i` at `signs[index(v, i)]`.
pub fn pack_signs(count: usize, len: usize, index: impl Fn(usize, usize) -> usize, signs: &[i8]) -> Packed {
    Packed::new(count, len, 1, |v, i| i32::from(signs[index(v, i)]))
}

/// The packed part of a signed dot product between activation words `a` (`planes` planes per
/// word) and weight words `w`: `popcount((a XOR w) AND valid)` for binary activations (`valid`,
/// when given, masks the lanes of padded taps, which a 0 bit would otherwise count as -1), and
/// `sum_j 2^j popcount(a_j AND w)` for k-bit ones, whose padded lanes hold 0 (SPEC 2.2). `dot`
/// turns it into the dot product.
#[inline]
pub fn packed_sum(a: &[u64], w: &[u64], valid: Option<&[u64]>, planes: usize, binary: bool) -> i64 {
    if binary {
        match valid {
            Some(m) => a.iter().zip(w).zip(m).map(|((&a, &w), &m)| i64::from(((a ^ w) & m).count_ones())).sum(),
            None => a.iter().zip(w).map(|(&a, &w)| i64::from((a ^ w).count_ones())).sum(),
        }
    } else {
        let mut acc = 0i64;
        for (a, &w) in a.chunks_exact(planes).zip(w) {
            for (j, &aj) in a.iter().enumerate() {
                acc += i64::from((aj & w).count_ones()) << j;
            }
        }
        acc
    }
}

/// ORs the `planes`-plane words `src` (a vector whose lanes past its length are 0) into `dst`
/// starting at lane `at`: how a conv window is assembled from its taps' channel vectors.
pub fn copy_lanes(dst: &mut [u64], src: &[u64], planes: usize, at: usize) {
    for (w, word) in src.chunks_exact(planes).enumerate() {
        let (d, shift) = ((at + w * LANES) / LANES, (at + w * LANES) % LANES);
        for (j, &v) in word.iter().enumerate() {
            dst[d * planes + j] |= v << shift;
            // The bits shifted out go to the next word; past the end they are 0 (lanes beyond
            // the source's length).
            if shift > 0 {
                if let Some(next) = dst.get_mut((d + 1) * planes + j) {
                    *next |= v >> (LANES - shift);
                }
            }
        }
    }
}

/// Sets lanes `at..at + len` of the one-plane words `dst`.
pub fn set_lanes(dst: &mut [u64], at: usize, len: usize) {
    for lane in at..at + len {
        dst[lane / LANES] |= 1 << (lane % LANES);
    }
}

/// The signed dot product from the packed sum `acc` (`packed_sum`) over the valid taps and the
/// sum `base` of their activation vectors' `Packed::base` (SPEC 2.2):
/// binary `N_valid - 2 * popcount(XOR)`; k-bit `2 * sum_j 2^j popcount(a_j AND w) - sum a`
/// (as `popcount(a_j) = sum_t a_{t,j}`, the second term of `d_j` summed over the planes is the
/// sum of the activations).
#[inline]
pub fn dot(acc: i64, base: i64, binary: bool) -> i64 {
    if binary {
        base - 2 * acc
    } else {
        2 * acc - base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_and_planes_are_where_the_layout_says() {
        // 70 elements: two words, the second holding elements 64..70; value i % 8 on 3 planes.
        let p = Packed::new(2, 70, 3, |v, i| ((i + v) % 8) as i32);
        assert_eq!((p.planes, p.words, p.data.len()), (3, 2, 12));
        for v in 0..2 {
            for i in 0..70 {
                for j in 0..3 {
                    let bit = (p.vector(v)[(i / 64) * 3 + j] >> (i % 64)) & 1;
                    assert_eq!(bit as usize, ((i + v) % 8) >> j & 1, "v{v} i{i} j{j}");
                }
            }
            // Lanes past the end are 0 in every plane.
            assert!((0..3).all(|j| p.vector(v)[3 + j] >> 6 == 0));
            assert_eq!(p.base[v], (0..70).map(|i| ((i + v) % 8) as i64).sum::<i64>());
        }
        let b = Packed::new(1, 3, 1, |_, i| if i == 1 { -1 } else { 1 });
        assert_eq!((b.data.clone(), b.base.clone()), (vec![0b101], vec![3]));
    }

    #[test]
    fn one_tap_dot_products_by_hand() {
        // a = [+1, -1, +1], w = [+1, +1, -1]: dot = 1 - 1 - 1 = -1.
        let a = Packed::new(1, 3, 1, |_, i| [1, -1, 1][i]);
        let w = pack_signs(1, 3, |_, i| i, &[1, 1, -1]);
        assert_eq!(dot(packed_sum(a.vector(0), w.vector(0), None, 1, true), a.base[0], true), -1);
        // Lane 1 masked (a padded tap): 1 - 1 over the two valid lanes.
        assert_eq!(dot(packed_sum(a.vector(0), w.vector(0), Some(&[0b101]), 1, true), 2, true), 0);
        // a = [3, 0, 2] (2 bits), w as above: 3 + 0 - 2 = 1.
        let a = Packed::new(1, 3, 2, |_, i| [3, 0, 2][i]);
        assert_eq!(dot(packed_sum(a.vector(0), w.vector(0), None, 2, false), a.base[0], false), 1);
    }

    #[test]
    fn lanes_are_copied_across_word_boundaries() {
        // A 100-lane vector of 2 planes copied to lane 50 of a 3-word window: lane i lands at
        // lane 50 + i, in both planes.
        let src = Packed::new(1, 100, 2, |_, i| (i % 4) as i32);
        let mut dst = vec![0u64; 3 * 2];
        copy_lanes(&mut dst, src.vector(0), 2, 50);
        for lane in 0..192 {
            for j in 0..2 {
                let bit = (dst[(lane / 64) * 2 + j] >> (lane % 64)) & 1;
                let want = if (50..150).contains(&lane) { ((lane - 50) % 4) >> j & 1 } else { 0 };
                assert_eq!(bit as usize, want, "lane {lane} plane {j}");
            }
        }
        let mut mask = vec![0u64; 3];
        set_lanes(&mut mask, 60, 70);
        assert_eq!(mask, vec![0xF << 60, !0, (1 << 2) - 1]);
    }
}
