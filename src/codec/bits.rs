//! MSB-first bit packing (SPEC 8.2) and Exp-Golomb codes (SPEC 8.5 step 4).
//!
//! Bit `8i + j` of a stream is bit `7 - j` of byte `i`, and a multi-bit field is written most
//! significant bit first, so a field can be appended bit by bit from its top bit down.

/// Longest Exp-Golomb zero prefix the reader accepts (SPEC 8.2: 16 zeros or more are rejected,
/// as the RTL decoder's 16-bit leading-zero count does). The encoder never needs more than 13
/// (|dct coefficient| < 2^13, SPEC 8.5), and the limit keeps a corrupt stream's values small
/// (u < 2^(16 + 7)).
pub const MAX_EG_PREFIX: u32 = 15;

/// Appends bits MSB-first to a byte vector.
#[derive(Clone, Debug, Default)]
pub struct BitWriter {
    bytes: Vec<u8>,
    /// Number of bits written, padding included.
    len: u64,
}

impl BitWriter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bits written so far (including any alignment padding).
    pub fn bit_len(&self) -> u64 {
        self.len
    }

    pub fn write_bit(&mut self, bit: bool) {
        let j = (self.len % 8) as u32;
        if j == 0 {
            self.bytes.push(0);
        }
        if bit {
            *self.bytes.last_mut().expect("a byte was pushed") |= 0x80 >> j;
        }
        self.len += 1;
    }

    /// Writes the low `n` bits of `value`, most significant first. `n <= 64`; the bits of
    /// `value` above `n` must be zero (a caller bug otherwise).
    pub fn write_bits(&mut self, value: u64, n: u32) {
        assert!(n <= 64, "write_bits: n = {n} > 64");
        debug_assert!(n == 64 || value >> n == 0, "write_bits: {value} does not fit in {n} bits");
        for s in (0..n).rev() {
            self.write_bit((value >> s) & 1 == 1);
        }
    }

    /// Exp-Golomb code of order `e` of `u` (SPEC 8.5): with `w = u + 2^e` of bit length `L`,
    /// `L - 1 - e` zero bits, then `w` in `L` bits.
    pub fn write_exp_golomb(&mut self, u: u64, e: u32) {
        let w = u + (1u64 << e);
        let l = 64 - w.leading_zeros();
        self.write_bits(0, l - 1 - e);
        self.write_bits(w, l);
    }

    /// Pads with zero bits up to the next byte boundary (SPEC 8.2/8.3: end of a row).
    pub fn align_to_byte(&mut self) {
        while !self.len.is_multiple_of(8) {
            self.write_bit(false);
        }
    }

    /// The bytes written so far; a partial last byte has its unused low bits zero.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The stream; a partial last byte has its unused low bits zero.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Length in bits of the Exp-Golomb code of order `e` of `u`: `2L - 1 - e`.
pub fn exp_golomb_len(u: u64, e: u32) -> u32 {
    let w = u + (1u64 << e);
    let l = 64 - w.leading_zeros();
    2 * l - 1 - e
}

/// Reads bits MSB-first; every read past the end is an error, never a panic.
#[derive(Clone, Debug)]
pub struct BitReader<'a> {
    bytes: &'a [u8],
    pos: u64,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, pos: 0 }
    }

    /// Bits consumed so far.
    pub fn bit_pos(&self) -> u64 {
        self.pos
    }

    /// Bits left in the stream.
    pub fn bits_left(&self) -> u64 {
        self.bytes.len() as u64 * 8 - self.pos
    }

    pub fn read_bit(&mut self) -> Result<bool, String> {
        let i = (self.pos / 8) as usize;
        let Some(&byte) = self.bytes.get(i) else {
            return Err(format!("bitstream ends early (at bit {})", self.pos));
        };
        let bit = (byte >> (7 - (self.pos % 8))) & 1 == 1;
        self.pos += 1;
        Ok(bit)
    }

    /// Reads an `n`-bit field (`n <= 64`), most significant bit first.
    pub fn read_bits(&mut self, n: u32) -> Result<u64, String> {
        assert!(n <= 64, "read_bits: n = {n} > 64");
        if (n as u64) > self.bits_left() {
            return Err(format!(
                "bitstream ends early: {n}-bit field at bit {} but only {} bits left",
                self.pos,
                self.bits_left()
            ));
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | self.read_bit()? as u64;
        }
        Ok(v)
    }

    /// Reads an Exp-Golomb code of order `e` (see [`BitWriter::write_exp_golomb`]).
    pub fn read_exp_golomb(&mut self, e: u32) -> Result<u64, String> {
        let mut zeros = 0u32;
        while !self.read_bit()? {
            zeros += 1;
            if zeros > MAX_EG_PREFIX {
                return Err(format!("Exp-Golomb prefix longer than {MAX_EG_PREFIX} zero bits (at bit {})", self.pos));
            }
        }
        // The leading 1 of w has been read; L = zeros + 1 + e, so L - 1 bits remain.
        let rest = zeros + e;
        let low = self.read_bits(rest)?;
        let w = (1u64 << rest) | low;
        Ok(w - (1u64 << e))
    }

    /// Skips to the next byte boundary; the skipped bits must be zero (SPEC 8.2: unused bits at
    /// the end of a row are 0), so a stream with garbage in its padding is rejected.
    pub fn align_to_byte(&mut self) -> Result<(), String> {
        while !self.pos.is_multiple_of(8) {
            let at = self.pos;
            if self.read_bit()? {
                return Err(format!("non-zero padding bit at bit {at}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    /// The bits of a stream as a '0'/'1' string, `n` of them.
    fn bit_string(bytes: &[u8], n: u64) -> String {
        let mut r = BitReader::new(bytes);
        (0..n).map(|_| if r.read_bit().unwrap() { '1' } else { '0' }).collect()
    }

    fn eg_string(u: u64, e: u32) -> String {
        let mut w = BitWriter::new();
        w.write_exp_golomb(u, e);
        let n = w.bit_len();
        bit_string(&w.into_bytes(), n)
    }

    #[test]
    fn msb_first_packing() {
        let mut w = BitWriter::new();
        w.write_bit(true);
        w.write_bits(0b011, 3);
        w.write_bits(0b1010_0101, 8);
        assert_eq!(w.bit_len(), 12);
        // 1 011 1010 0101 -> 1011_1010 0101_0000
        assert_eq!(w.into_bytes(), vec![0xBA, 0x50]);
        let mut w = BitWriter::new();
        w.write_bits(0, 0);
        assert_eq!(w.bit_len(), 0);
        assert!(w.into_bytes().is_empty());
    }

    #[test]
    fn align_pads_with_zeros() {
        let mut w = BitWriter::new();
        w.write_bits(0b111, 3);
        w.align_to_byte();
        assert_eq!(w.bit_len(), 8);
        w.align_to_byte(); // already aligned: no-op
        assert_eq!(w.bit_len(), 8);
        w.write_bit(true);
        w.align_to_byte();
        assert_eq!(w.into_bytes(), vec![0xE0, 0x80]);
    }

    #[test]
    fn exp_golomb_hand_vectors() {
        let order0 = [(0, "1"), (1, "010"), (2, "011"), (3, "00100"), (6, "00111"), (7, "0001000")];
        for (u, s) in order0 {
            assert_eq!(eg_string(u, 0), s, "order 0, u = {u}");
        }
        let order1 = [(0, "10"), (1, "11"), (2, "0100"), (5, "0111"), (6, "001000")];
        for (u, s) in order1 {
            assert_eq!(eg_string(u, 1), s, "order 1, u = {u}");
        }
        let order2 = [(0, "100"), (3, "111"), (4, "01000"), (11, "01111"), (12, "0010000")];
        for (u, s) in order2 {
            assert_eq!(eg_string(u, 2), s, "order 2, u = {u}");
        }
        assert_eq!(eg_string(0, 7), "10000000");
        assert_eq!(eg_string(128, 7), "0100000000");
    }

    #[test]
    fn exp_golomb_round_trip_and_length() {
        let mut rng = StdRng::seed_from_u64(7);
        for e in 0..=7u32 {
            let mut w = BitWriter::new();
            let mut vals = Vec::new();
            for i in 0..300u64 {
                let u = if i < 100 {
                    i
                } else {
                    // Up to the longest code the reader takes: 15 zeros (MAX_EG_PREFIX) at e = 0.
                    let width = rng.gen_range(1..=15);
                    rng.gen_range(0..1u64 << width)
                };
                let before = w.bit_len();
                w.write_exp_golomb(u, e);
                assert_eq!(w.bit_len() - before, exp_golomb_len(u, e) as u64, "u {u} e {e}");
                vals.push(u);
            }
            let bytes = w.into_bytes();
            let mut r = BitReader::new(&bytes);
            for &u in &vals {
                assert_eq!(r.read_exp_golomb(e).unwrap(), u);
            }
        }
    }

    #[test]
    fn reader_errors_at_end() {
        let bytes = [0xA5u8];
        let mut r = BitReader::new(&bytes);
        assert_eq!(r.read_bits(4).unwrap(), 0xA);
        assert!(r.read_bits(5).is_err(), "5 bits from 4 left");
        assert_eq!(r.bit_pos(), 4, "a failed read consumes nothing");
        assert_eq!(r.read_bits(4).unwrap(), 0x5);
        assert!(r.read_bit().is_err());
        assert!(BitReader::new(&[]).read_bit().is_err());
        // An Exp-Golomb code cut in its prefix or its suffix.
        assert!(BitReader::new(&[0x00]).read_exp_golomb(0).is_err());
        assert!(BitReader::new(&[0x01]).read_exp_golomb(2).is_err()); // 0000000 1 then 9 bits
                                                                      // An over-long prefix is an error, not an overflow.
        assert!(BitReader::new(&[0u8; 8]).read_exp_golomb(0).is_err());
        // Exactly the limit is accepted: 15 zeros, the 1, then 15 bits.
        let edge = [0x00, 0x01, 0x00, 0x00];
        assert_eq!(BitReader::new(&edge).read_exp_golomb(0).unwrap(), (1u64 << 15) - 1);
        // 16 zeros then a 1: over the limit (SPEC 8.2), whatever follows.
        assert!(BitReader::new(&[0x00, 0x00, 0x80, 0, 0, 0]).read_exp_golomb(7).is_err());
    }

    #[test]
    fn reader_align_checks_padding() {
        let mut r = BitReader::new(&[0b1010_0000, 0xFF]);
        assert_eq!(r.read_bits(3).unwrap(), 0b101);
        r.align_to_byte().unwrap();
        assert_eq!(r.bit_pos(), 8);
        let mut r = BitReader::new(&[0b1010_0001]);
        r.read_bits(3).unwrap();
        assert!(r.align_to_byte().is_err());
    }

    #[test]
    fn write_read_random_fields() {
        let mut rng = StdRng::seed_from_u64(11);
        let mut w = BitWriter::new();
        let mut fields = Vec::new();
        for _ in 0..2000 {
            let n = rng.gen_range(0..=64u32);
            let v = if n == 64 { rng.gen() } else { rng.gen::<u64>() & ((1u64 << n) - 1) };
            w.write_bits(v, n);
            fields.push((v, n));
        }
        let total = w.bit_len();
        let bytes = w.into_bytes();
        assert_eq!(bytes.len() as u64, total.div_ceil(8));
        let mut r = BitReader::new(&bytes);
        for (v, n) in fields {
            assert_eq!(r.read_bits(n).unwrap(), v);
        }
        assert_eq!(r.bit_pos(), total);
    }
}
