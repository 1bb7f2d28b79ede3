//! The optional record check of SPEC 8.9: a CRC-8 byte after every record, so that a corrupt
//! record is detected instead of decoded.
//!
//! CRC-8 with the polynomial `x^8 + x^2 + x + 1` (0x07), the register starting at 0xFF, bytes
//! fed most significant bit first, no reflection and no final XOR. Without a final XOR, the CRC
//! of a record followed by its own check byte is 0: that is what the decoder tests. The
//! polynomial has the factor `x + 1`, so every error of an odd number of bits is caught, as is
//! every burst of at most 8 bits; other errors escape with probability 2^-8. The starting value
//! 0xFF makes a record cleared to zeros (with a zero check byte) an error too.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Whether records carry a check byte (SPEC 8.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordCheck {
    /// Records end at their padding (SPEC 8.3).
    #[default]
    None,
    /// A CRC-8 byte follows every record.
    Crc8,
}

impl RecordCheck {
    /// Bytes the check adds to each record.
    pub fn bytes(self) -> usize {
        match self {
            RecordCheck::None => 0,
            RecordCheck::Crc8 => 1,
        }
    }
}

impl fmt::Display for RecordCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecordCheck::None => "none",
            RecordCheck::Crc8 => "crc8",
        })
    }
}

impl FromStr for RecordCheck {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(RecordCheck::None),
            "crc8" => Ok(RecordCheck::Crc8),
            _ => Err(format!("unknown record check {s:?} (expected \"none\" or \"crc8\")")),
        }
    }
}

/// The register's starting value.
pub const CRC8_INIT: u8 = 0xFF;
/// The polynomial without its `x^8` term.
pub const CRC8_POLY: u8 = 0x07;

/// The CRC-8 register after `bytes`, starting from `crc`.
pub fn crc8_update(mut crc: u8, bytes: &[u8]) -> u8 {
    for &b in bytes {
        crc ^= b;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 { (crc << 1) ^ CRC8_POLY } else { crc << 1 };
        }
    }
    crc
}

/// The check byte of a record.
pub fn crc8(record: &[u8]) -> u8 {
    crc8_update(CRC8_INIT, record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn the_published_check_value_of_the_polynomial() {
        // CRC-8/SMBUS (polynomial 0x07, start 0, no reflection, no final XOR) of "123456789"
        // is 0xF4 in the CRC catalogues; only the start differs here.
        assert_eq!(crc8_update(0, b"123456789"), 0xF4);
        assert_eq!(crc8(&[]), CRC8_INIT);
    }

    #[test]
    fn a_record_with_its_check_byte_leaves_zero_and_any_one_bit_error_does_not() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(89);
        for len in 0..40 {
            let mut rec: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            rec.push(crc8(&rec));
            assert_eq!(crc8(&rec), 0, "{rec:?}");
            for bit in 0..8 * rec.len() {
                rec[bit / 8] ^= 0x80 >> (bit % 8);
                assert_ne!(crc8(&rec), 0, "bit {bit} of {rec:?}");
                rec[bit / 8] ^= 0x80 >> (bit % 8);
            }
            // Odd numbers of flipped bits, anywhere.
            let mut bad = rec.clone();
            for _ in 0..3 {
                let bit = rng.gen_range(0..8 * bad.len());
                bad[bit / 8] ^= 0x80 >> (bit % 8);
            }
            if (0..bad.len()).map(|i| (bad[i] ^ rec[i]).count_ones()).sum::<u32>() % 2 == 1 {
                assert_ne!(crc8(&bad), 0);
            }
        }
        // A record cleared to zeros, check byte included, is caught.
        assert_ne!(crc8(&[0, 0, 0, 0]), 0);
    }

    #[test]
    fn spellings() {
        assert_eq!("crc8".parse::<RecordCheck>(), Ok(RecordCheck::Crc8));
        assert_eq!("none".parse::<RecordCheck>(), Ok(RecordCheck::None));
        assert!("crc16".parse::<RecordCheck>().unwrap_err().contains("crc8"));
        assert_eq!(RecordCheck::Crc8.to_string(), "crc8");
    }
}
