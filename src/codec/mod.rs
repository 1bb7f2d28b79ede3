//! DCT-CM activation codec (SPEC section 8): turns one `[C, H, W]` activation tensor with k-bit
//! values into the bitstream that moves between the accelerator and DRAM, and back.
//!
//! Layout of this module, one concern per file:
//! - [`bits`]: MSB-first bit writer/reader and Exp-Golomb codes (SPEC 8.2, 8.5 step 4);
//! - [`dct`]: the HEVC integer DCT, quantiser and the dct error bound (SPEC 8.5, 8.7);
//! - [`golomb`]: the value quantiser of golomb blocks and its error bound (SPEC 8.8);
//! - `layout`: which tensor values form which block, and value <-> bit-field mapping (SPEC 8.3, 8.4);
//! - `plan`: the one function that prices every block mode and picks one (SPEC 8.6), shared by
//!   the encoder and by `reconstruct`;
//! - `encode` / `decode`: the bitstream itself (SPEC 8.3, 8.4);
//! - `reconstruct`: what the decoder will output, computed without a bitstream;
//! - `zvc`: the zero-value-compression baseline used for comparisons;
//! - [`report`]: sizes, entropy bound and fidelity of a coded tensor (the `codec` program).

pub mod bits;
pub mod check;
pub mod dct;
mod decode;
mod encode;
pub mod golomb;
mod layout;
mod plan;
mod reconstruct;
pub mod report;
mod zvc;

#[cfg(test)]
mod testutil;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use check::RecordCheck;
pub use dct::dct_error_bound;
pub use decode::decode;
pub use encode::{encode, BlockCost, BlockCoster, Encoded};
pub use layout::{pixel_blocks, segment_blocks, segments, BlockSpan};
pub use reconstruct::reconstruct;
pub use zvc::{zvc_bytes, zvc_record_bytes};

/// Tensor-level codec mode (SPEC 8.1, 8.4). The discriminant is the mode's code on the codec
/// blocks' `mode` ports (`cbnn::hw::descriptor::CODEC_*`); everything else about a mode is its
/// row of [`MODES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every block raw, no headers.
    Raw = 0,
    /// Every block sparse (mask + non-zero values), no headers.
    Sparse = 1,
    /// Every block dct, no headers (lossy).
    Dct = 2,
    /// Every block carries a 2-bit header and uses the cheapest of zero, sparse, raw and dct
    /// (SPEC 8.6).
    Auto = 3,
    /// Every block golomb, no headers: values quantised by `step`, mask + Exp-Golomb codes
    /// (SPEC 8.8); lossless at step 1.
    Golomb = 4,
}

/// What a codec mode is: its name in network files and reports, and what its blocks do.
#[derive(Clone, Copy, Debug)]
pub struct ModeInfo {
    pub mode: Mode,
    pub name: &'static str,
    /// Its values are quantised by `step` and coded with Exp-Golomb fields of order `eg_order`.
    pub quantised: bool,
    /// It has dct blocks, which keep `dct_keep` coefficients.
    pub dct: bool,
}

/// Every codec mode, in code order: the one table a new mode is added to (docs/EXTENDING.md).
pub const MODES: [ModeInfo; 5] = [
    ModeInfo { mode: Mode::Raw, name: "raw", quantised: false, dct: false },
    ModeInfo { mode: Mode::Sparse, name: "sparse", quantised: false, dct: false },
    ModeInfo { mode: Mode::Dct, name: "dct", quantised: true, dct: true },
    ModeInfo { mode: Mode::Auto, name: "auto", quantised: true, dct: true },
    ModeInfo { mode: Mode::Golomb, name: "golomb", quantised: true, dct: false },
];

impl Mode {
    /// Every mode, in code order (the modes of [`MODES`]).
    pub const ALL: [Mode; MODES.len()] = {
        let mut all = [Mode::Raw; MODES.len()];
        let mut i = 0;
        while i < MODES.len() {
            all[i] = MODES[i].mode;
            i += 1;
        }
        all
    };

    /// The network keys that tune a codec mode (SPEC 8.5, 8.8): the quantiser step, the
    /// Exp-Golomb order and the number of DCT coefficients kept.
    pub const KEYS: [&'static str; 3] = ["step", "eg_order", "dct_keep"];

    /// This mode's row of [`MODES`].
    pub fn info(self) -> &'static ModeInfo {
        &MODES[self as usize]
    }

    /// The code on the codec blocks' `mode` ports.
    pub const fn code(self) -> u32 {
        self as u32
    }

    /// The accepted spellings, for messages: `"raw", "sparse", ...`.
    pub fn names() -> String {
        MODES.iter().map(|m| format!("{:?}", m.name)).collect::<Vec<_>>().join(", ")
    }

    /// Whether this mode reads tuning key `key` (one of [`Mode::KEYS`]): the quantising modes
    /// read `step` and `eg_order`, and the modes with dct blocks read `dct_keep` too.
    pub fn uses(self, key: &str) -> bool {
        match key {
            "step" | "eg_order" => self.info().quantised,
            "dct_keep" => self.info().dct,
            _ => false,
        }
    }

    /// The modes that read `key`, spelled for a message: `"dct", "auto" or "golomb"`.
    pub fn users_of(key: &str) -> String {
        let names: Vec<String> = Mode::ALL.iter().filter(|m| m.uses(key)).map(|m| format!("\"{m}\"")).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => last.clone(),
            None => String::new(),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.info().name
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match MODES.iter().find(|m| m.name == s) {
            Some(m) => Ok(m.mode),
            None => Err(format!("unknown codec mode {s:?} (expected one of {})", Mode::names())),
        }
    }
}

/// Mode of one block. The discriminant is the index into [`Encoded::block_modes`] and, for the
/// four modes auto chooses from, also the 2-bit auto header of SPEC 8.4. Golomb blocks only occur
/// in golomb tensors, which have no headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockMode {
    Zero = 0,
    Sparse = 1,
    Raw = 2,
    Dct = 3,
    Golomb = 4,
}

impl BlockMode {
    /// Every block mode, in [`Encoded::block_modes`] order.
    pub const ALL: [BlockMode; 5] =
        [BlockMode::Zero, BlockMode::Sparse, BlockMode::Raw, BlockMode::Dct, BlockMode::Golomb];

    /// The candidates of an auto block, in SPEC 8.6 tie-break order (zero, sparse, raw, dct),
    /// which is also header order.
    pub const AUTO: [BlockMode; 4] = [BlockMode::Zero, BlockMode::Sparse, BlockMode::Raw, BlockMode::Dct];

    /// The 2-bit header of an auto-mode block (SPEC 8.4).
    ///
    /// # Panics
    /// For [`BlockMode::Golomb`], which auto never chooses (a caller bug).
    pub fn header(self) -> u32 {
        assert!(self != BlockMode::Golomb, "golomb blocks have no auto header");
        self as u32
    }

    /// Inverse of [`BlockMode::header`]; only the low two bits are looked at.
    pub fn from_header(h: u32) -> BlockMode {
        BlockMode::AUTO[(h & 3) as usize]
    }

    /// Position in [`Encoded::block_modes`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the decoder's values are computed from quantised symbols (dct coefficients,
    /// golomb values) rather than stored as they are.
    pub fn is_quantised(self) -> bool {
        matches!(self, BlockMode::Dct | BlockMode::Golomb)
    }

    /// Lower-case name, as in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            BlockMode::Zero => "zero",
            BlockMode::Sparse => "sparse",
            BlockMode::Raw => "raw",
            BlockMode::Dct => "dct",
            BlockMode::Golomb => "golomb",
        }
    }
}

/// Per-tensor codec parameters (SPEC 8.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecParams {
    /// `N`: block length in channels, 4, 8 or 16.
    pub block: usize,
    pub mode: Mode,
    /// Quantisation step of dct coefficients and golomb values, `2^t` with `0 <= t <= 7`.
    pub step: u32,
    /// Number of low-frequency dct coefficients that may be sent, `1..=block`.
    pub keep: usize,
    /// Exp-Golomb order of dct coefficient magnitudes and golomb values, `0..=7`.
    pub eg_order: u32,
    /// `S`: channels per segment (SPEC 8.3), `>= 1`: the stream is cut into one record per
    /// (row, segment), and blocks never cross a segment. The accelerator uses its `array.cols`,
    /// the channels one filter tile produces; `S >= C` gives one record per row.
    pub segment: usize,
    /// A check byte after every record (SPEC 8.9).
    pub check: RecordCheck,
}

impl CodecParams {
    /// Checks every field against SPEC 8.1 for a tensor of `bits`-bit values. All problems are
    /// reported at once, separated by "; ", each naming its field.
    pub fn validate(&self, bits: u32) -> Result<(), String> {
        let mut errs: Vec<String> = Vec::new();
        if !(1..=8).contains(&bits) {
            errs.push(format!("activation bits = {bits} is out of range (must be 1..=8)"));
        }
        if ![4, 8, 16].contains(&self.block) {
            errs.push(format!("codec block = {} is invalid (must be 4, 8 or 16)", self.block));
        }
        if !(1..=128).contains(&self.step) || !self.step.is_power_of_two() {
            errs.push(format!("codec step = {} is invalid (must be a power of two in 1..=128)", self.step));
        }
        // With a bad block only the widest range (1..=16) can be checked for keep, so that a
        // bad block is not reported twice.
        let max_keep = if [4, 8, 16].contains(&self.block) { self.block } else { 16 };
        if self.keep < 1 || self.keep > max_keep {
            errs.push(format!("codec keep = {} is out of range (must be 1..=block = {})", self.keep, self.block));
        }
        if self.eg_order > 7 {
            errs.push(format!("codec eg_order = {} is out of range (must be 0..=7)", self.eg_order));
        }
        if self.segment == 0 {
            errs.push("codec segment = 0 is invalid (must be at least 1 channel)".to_string());
        }
        // SPEC 8.1: binary tensors have nothing to compress except by raw bits.
        if bits == 1 && matches!(self.mode, Mode::Sparse | Mode::Dct | Mode::Golomb) {
            errs.push(format!(
                "codec mode = {} is not allowed for 1-bit activations (only raw, or auto which means raw)",
                self.mode
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs.join("; "))
        }
    }

    /// The block mode every block uses when the tensor mode fixes it, `None` for a real auto
    /// tensor (SPEC 8.1: auto on 1-bit tensors means raw, without headers).
    pub(crate) fn fixed_block_mode(&self, bits: u32) -> Option<BlockMode> {
        match self.mode {
            Mode::Raw => Some(BlockMode::Raw),
            Mode::Sparse => Some(BlockMode::Sparse),
            Mode::Dct => Some(BlockMode::Dct),
            Mode::Golomb => Some(BlockMode::Golomb),
            Mode::Auto if bits == 1 => Some(BlockMode::Raw),
            Mode::Auto => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok_params() -> CodecParams {
        CodecParams { block: 8, mode: Mode::Auto, step: 4, keep: 8, eg_order: 2, segment: 8, check: RecordCheck::None }
    }

    #[test]
    fn mode_parses_and_prints() {
        for m in Mode::ALL {
            assert_eq!(m.as_str().parse::<Mode>().unwrap(), m);
            assert_eq!(m.to_string(), m.as_str());
            assert!(Mode::names().contains(&format!("\"{m}\"")), "{m} missing from the names");
            assert_eq!(m.info().mode, m, "MODES is in code order");
            // The mode's serde spelling (network files) is its name.
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{m}\""));
        }
        assert!("Raw".parse::<Mode>().is_err());
        assert!("zero".parse::<Mode>().is_err());
        let e = "golomb2".parse::<Mode>().unwrap_err();
        assert!(e.contains("golomb2") && e.contains("\"golomb\""), "{e}");
    }

    #[test]
    fn mode_serde_is_lowercase() {
        #[derive(Deserialize, Serialize)]
        struct W {
            mode: Mode,
        }
        let w: W = serde_json::from_str(r#"{"mode":"sparse"}"#).unwrap();
        assert_eq!(w.mode, Mode::Sparse);
        assert_eq!(serde_json::to_string(&W { mode: Mode::Dct }).unwrap(), r#"{"mode":"dct"}"#);
        let w: W = serde_json::from_str(r#"{"mode":"golomb"}"#).unwrap();
        assert_eq!(w.mode, Mode::Golomb);
        assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"mode":"golomb"}"#);
        assert!(serde_json::from_str::<W>(r#"{"mode":"Sparse"}"#).is_err());
    }

    #[test]
    fn block_mode_headers() {
        for (i, m) in BlockMode::AUTO.iter().enumerate() {
            assert_eq!(m.header(), i as u32);
            assert_eq!(BlockMode::from_header(i as u32), *m);
        }
        for (i, m) in BlockMode::ALL.iter().enumerate() {
            assert_eq!(m.index(), i);
        }
        assert_eq!(BlockMode::ALL[..4], BlockMode::AUTO);
        assert_eq!(BlockMode::Dct.header(), 0b11);
        assert_eq!(BlockMode::Sparse.header(), 0b01);
        assert_eq!(BlockMode::Golomb.index(), 4);
        let names: Vec<&str> = BlockMode::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, ["zero", "sparse", "raw", "dct", "golomb"]);
    }

    #[test]
    #[should_panic(expected = "no auto header")]
    fn golomb_has_no_header() {
        BlockMode::Golomb.header();
    }

    #[test]
    fn validate_accepts_good_params() {
        for block in [4, 8, 16] {
            for t in 0..=7 {
                for keep in 1..=block {
                    for eg in 0..=7 {
                        for mode in Mode::ALL {
                            let p = CodecParams {
                                block,
                                mode,
                                step: 1 << t,
                                keep,
                                eg_order: eg,
                                segment: block,
                                check: RecordCheck::None,
                            };
                            for bits in 2..=8 {
                                assert_eq!(p.validate(bits), Ok(()), "{p:?} bits {bits}");
                            }
                        }
                    }
                }
            }
        }
        let p = CodecParams { mode: Mode::Raw, ..ok_params() };
        assert_eq!(p.validate(1), Ok(()));
        let p = CodecParams { mode: Mode::Auto, ..ok_params() };
        assert_eq!(p.validate(1), Ok(()));
    }

    /// Every bad field is rejected, and the message names that field.
    #[test]
    fn validate_rejects_each_bad_field() {
        let cases: Vec<(CodecParams, u32, &str)> = vec![
            (CodecParams { block: 0, keep: 1, ..ok_params() }, 4, "block"),
            (CodecParams { block: 2, keep: 1, ..ok_params() }, 4, "block"),
            (CodecParams { block: 5, keep: 1, ..ok_params() }, 4, "block"),
            (CodecParams { block: 32, keep: 1, ..ok_params() }, 4, "block"),
            (CodecParams { step: 0, ..ok_params() }, 4, "step"),
            (CodecParams { step: 3, ..ok_params() }, 4, "step"),
            (CodecParams { step: 12, ..ok_params() }, 4, "step"),
            (CodecParams { step: 256, ..ok_params() }, 4, "step"),
            (CodecParams { keep: 0, ..ok_params() }, 4, "keep"),
            (CodecParams { keep: 9, ..ok_params() }, 4, "keep"),
            (CodecParams { block: 4, keep: 8, ..ok_params() }, 4, "keep"),
            (CodecParams { eg_order: 8, ..ok_params() }, 4, "eg_order"),
            (CodecParams { eg_order: 100, ..ok_params() }, 4, "eg_order"),
            (CodecParams { segment: 0, ..ok_params() }, 4, "segment"),
            (CodecParams { mode: Mode::Sparse, ..ok_params() }, 1, "mode"),
            (CodecParams { mode: Mode::Dct, ..ok_params() }, 1, "mode"),
            (CodecParams { mode: Mode::Golomb, ..ok_params() }, 1, "mode"),
            (ok_params(), 0, "bits"),
            (ok_params(), 9, "bits"),
        ];
        for (p, bits, field) in cases {
            let e = p.validate(bits).expect_err(&format!("{p:?} bits {bits} must be rejected"));
            assert!(e.contains(field), "message {e:?} should name {field}");
            // Exactly one problem was injected, so exactly one is reported.
            assert!(!e.contains(';'), "only one error expected in {e:?}");
        }
        // Several bad fields are all reported.
        let p = CodecParams {
            block: 3,
            mode: Mode::Dct,
            step: 5,
            keep: 0,
            eg_order: 9,
            segment: 0,
            check: RecordCheck::None,
        };
        let e = p.validate(1).unwrap_err();
        for field in ["block", "step", "keep", "eg_order", "mode", "segment"] {
            assert!(e.contains(field), "{e:?} should name {field}");
        }
    }

    #[test]
    fn fixed_block_modes() {
        let p = |mode| CodecParams { mode, ..ok_params() };
        assert_eq!(p(Mode::Raw).fixed_block_mode(4), Some(BlockMode::Raw));
        assert_eq!(p(Mode::Sparse).fixed_block_mode(4), Some(BlockMode::Sparse));
        assert_eq!(p(Mode::Dct).fixed_block_mode(4), Some(BlockMode::Dct));
        assert_eq!(p(Mode::Golomb).fixed_block_mode(4), Some(BlockMode::Golomb));
        assert_eq!(p(Mode::Auto).fixed_block_mode(4), None);
        assert_eq!(p(Mode::Auto).fixed_block_mode(1), Some(BlockMode::Raw));
    }
}
