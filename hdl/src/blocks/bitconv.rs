//! Conversions between rust-hdl `Bits<N>` and plain integers, for the `update()` models of the
//! custom-Verilog blocks (two's complement, up to 128 bits).

use rust_hdl::prelude::*;

pub fn to_u128<const N: usize>(b: Bits<N>) -> u128 {
    (0..N.min(128)).fold(0u128, |acc, i| acc | ((b.get_bit(i) as u128) << i))
}

/// The low `N` bits of `v`.
pub fn from_i128<const N: usize>(v: i128) -> Bits<N> {
    let mut b = Bits::<N>::default();
    for i in 0..N.min(128) {
        b = b.replace_bit(i, (v >> i) & 1 == 1);
    }
    b
}

/// `v` read as a `bits`-bit two's complement number.
pub fn sext(v: u128, bits: usize) -> i128 {
    let v = v as i128;
    if bits < 128 && (v >> (bits - 1)) & 1 == 1 {
        v - (1i128 << bits)
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_sign_extends() {
        let b: Bits<12> = from_i128(-3);
        assert_eq!(to_u128(b), 0xffd);
        assert_eq!(sext(to_u128(b), 12), -3);
        assert_eq!(sext(5, 12), 5);
        assert_eq!(to_u128(from_i128::<70>(1 << 68)), 1 << 68);
    }
}
