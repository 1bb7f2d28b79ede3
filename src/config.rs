//! The accelerator configuration: the one source of truth for every width and size.
//!
//! The RTL generator, the golden model, the cycle simulator, the testbenches and the resource
//! reports all read this struct; none keeps its own copy of a parameter.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The embedded default configuration (src/defaults/accel.toml).
pub const DEFAULT_CONFIG_TOML: &str = include_str!("defaults/accel.toml");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccelConfig {
    pub name: String,
    pub array: ArrayConfig,
    pub datapath: DatapathConfig,
    pub limits: LimitsConfig,
    pub buffers: BufferConfig,
    pub codec: CodecConfig,
    pub dram: DramConfig,
    pub clock: ClockConfig,
    /// Absent: the core has no combine stage (and runs no slbf or penni layers).
    #[serde(default)]
    pub combine: CombineConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArrayConfig {
    pub rows: u32,
    pub cols: u32,
    pub lanes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatapathConfig {
    pub act_bits: u32,
    pub acc_bits: u32,
    pub scale_bits: u32,
    /// `G_hw`: adjacent array columns served by one post-processing unit (one multiplier and one
    /// scale register); a layer's scale group must be a multiple of it (or cover all its filters).
    pub scale_group: u32,
    pub coef_bits: u32,
    /// How the network's first conv layer is mapped (`cbnn::hw::first_layer`). Optional.
    #[serde(default)]
    pub first_layer: FirstLayer,
}

/// How the network's first conv layer runs on the core (`datapath.first_layer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FirstLayer {
    /// As written: one step per kernel tap, the input's few channels in the first lanes.
    Direct,
    /// When it takes fewer steps: as a 1x1 conv over the `K*K*C_in` taps of each window, which
    /// the host lays out (im2col) and stores raw, so that the taps fill the lanes.
    #[default]
    Im2col,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// Input channels of a conv, slbf or penni layer (they size the activation and weight
    /// buffers), and output channels of slbf and penni layers (their output accumulators).
    pub max_channels: u32,
    /// Output channels (filters) of a conv or fc layer: they size the post-processing units'
    /// scale and bias memories. Optional; `max_channels` when absent.
    #[serde(default)]
    pub max_filters: Option<u32>,
    pub max_width: u32,
    pub max_kernel: u32,
    pub max_fc_inputs: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BufferConfig {
    pub weight_kib: u32,
    pub act_kib: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodecConfig {
    pub enabled: bool,
    pub block: u32,
    /// A CRC-8 byte after every record the encoder writes, checked by the decoder (SPEC 8.9).
    #[serde(default)]
    pub check: crate::codec::RecordCheck,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DramConfig {
    pub bytes_per_cycle: u32,
    pub latency_cycles: u32,
}

/// The combine stage that runs slbf and penni layers on the core (docs/ARCHITECTURE.md,
/// section 10): stage 1 on the array, then per output filter a sparse sum of the stage-1 maps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombineConfig {
    pub enabled: bool,
    /// One coefficient multiplier per combine lane, for penni layers (slbf's coefficients are 1).
    pub penni: bool,
    /// The entry memory: the slbf index / the penni non-zero coefficients of a layer, in KiB.
    pub entry_kib: u32,
}

impl Default for CombineConfig {
    fn default() -> Self {
        CombineConfig { enabled: false, penni: false, entry_kib: 8 }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockConfig {
    pub mhz: f64,
}

impl Default for AccelConfig {
    fn default() -> Self {
        AccelConfig::from_toml_str(DEFAULT_CONFIG_TOML, "<embedded default config>")
            .expect("the embedded default config is valid")
    }
}

/// Checks that `value` lies in `lo..=hi`, naming the key in the error.
fn check_range(key: &str, value: u64, lo: u64, hi: u64) -> Result<()> {
    if value < lo || value > hi {
        bail!("key `{key}` = {value}: expected an integer in {lo}..={hi}");
    }
    Ok(())
}

/// Accumulator widths the hardware generator supports (`datapath.acc_bits`).
pub const ACC_BITS_SUPPORTED: [u32; 5] = [16, 20, 24, 28, 32];
/// Multiplier widths the hardware generator supports (`datapath.scale_bits`).
pub const SCALE_BITS_SUPPORTED: [u32; 3] = [8, 12, 16];
/// The widest codec byte stream (`dram.bytes_per_cycle` bytes per beat) the generator supports.
pub const MAX_CODEC_PORT_BYTES: u32 = 16;

impl DatapathConfig {
    /// Signed width of the folded bias b_o (SPEC 5.2): as wide as the product m_g * dot, so a
    /// bias never needs more range than the value it is added to.
    pub fn bias_bits(&self) -> u32 {
        self.acc_bits + self.scale_bits
    }
}

impl LimitsConfig {
    /// The most output channels a conv or fc layer may have (`max_filters`, or `max_channels`
    /// when the config does not set it).
    pub fn max_filters(&self) -> u32 {
        self.max_filters.unwrap_or(self.max_channels)
    }
}

impl AccelConfig {
    /// Parses and validates a config; `origin` (a file name) prefixes every error.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self> {
        let cfg: AccelConfig = toml::from_str(text)
            .map_err(|e| anyhow::anyhow!("{}", crate::errors::toml_error_line(text, &e)))
            .with_context(|| origin.to_string())?;
        cfg.validate().with_context(|| origin.to_string())?;
        Ok(cfg)
    }

    pub fn from_file(path: &Path) -> Result<Self> {
        let text = crate::fsutil::read_text(path, "accelerator config")?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// The config file given on a command line, or the embedded default.
    pub fn load_or_default(path: Option<&Path>) -> Result<Self> {
        match path {
            Some(p) => Self::from_file(p),
            None => Ok(Self::default()),
        }
    }

    /// Channels per segment of the activation streams and the codec's records (SPEC 8.3): the
    /// filter tile's `array.cols` channels, which leave the core together.
    pub fn segment(&self) -> u32 {
        self.array.cols
    }

    /// Values per beat of the activation stream (docs/ARCHITECTURE.md, section 4): one codec
    /// block of `codec.block` values; with the codec off and `array.cols` not a multiple of the
    /// block, the largest power of two dividing `array.cols` (at most the block), so that beats
    /// never straddle two segments' lane groups in the activation buffer.
    pub fn beat_values(&self) -> u32 {
        let (n, s) = (self.codec.block, self.segment());
        if s.is_multiple_of(n) {
            n
        } else {
            (1u32 << s.trailing_zeros()).min(n)
        }
    }

    /// Range checks of every key; the ranges are what the generator and the formats support.
    pub fn validate(&self) -> Result<()> {
        if self.name.is_empty()
            || !self.name.chars().next().unwrap().is_ascii_alphabetic()
            || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            bail!("key `name` = {:?}: expected a Verilog identifier (a letter, then letters, digits or _)", self.name);
        }
        if crate::verilog_keywords::is_keyword(&self.name) {
            bail!("key `name` = {:?}: a reserved word of Verilog; expected another module name", self.name);
        }
        check_range("array.rows", self.array.rows.into(), 1, 64)?;
        check_range("array.cols", self.array.cols.into(), 1, 64)?;
        let l = self.array.lanes;
        // Up to 128: the host packs a weight word into a u128.
        if !l.is_power_of_two() || !(8..=128).contains(&l) {
            bail!("key `array.lanes` = {l}: expected a power of two in 8..=128");
        }
        let d = &self.datapath;
        check_range("datapath.act_bits", d.act_bits.into(), 1, 8)?;
        // The generator instantiates its rust-hdl blocks for these widths (Rust types fix widths).
        if !ACC_BITS_SUPPORTED.contains(&d.acc_bits) {
            bail!("key `datapath.acc_bits` = {}: expected one of {ACC_BITS_SUPPORTED:?}", d.acc_bits);
        }
        if !SCALE_BITS_SUPPORTED.contains(&d.scale_bits) {
            bail!("key `datapath.scale_bits` = {}: expected one of {SCALE_BITS_SUPPORTED:?}", d.scale_bits);
        }
        let g = d.scale_group;
        if g == 0 || !self.array.cols.is_multiple_of(g) {
            bail!("key `datapath.scale_group` = {g}: expected a divisor of array.cols = {}", self.array.cols);
        }
        check_range("datapath.coef_bits", d.coef_bits.into(), 2, 16)?;
        let m = &self.limits;
        check_range("limits.max_channels", m.max_channels.into(), 1, 65536)?;
        check_range("limits.max_filters", m.max_filters().into(), 1, 65536)?;
        check_range("limits.max_width", m.max_width.into(), 1, 65536)?;
        check_range("limits.max_kernel", m.max_kernel.into(), 1, 15)?;
        check_range("limits.max_fc_inputs", m.max_fc_inputs.into(), 1, 1 << 24)?;
        check_range("buffers.weight_kib", self.buffers.weight_kib.into(), 1, 1 << 20)?;
        check_range("buffers.act_kib", self.buffers.act_kib.into(), 1, 1 << 20)?;
        let n = self.codec.block;
        if ![4, 8, 16].contains(&n) {
            bail!("key `codec.block` = {n}: expected 4, 8 or 16");
        }
        // A block is one beat of the activation stream and lands in one buffer word.
        if n > self.array.lanes {
            bail!("key `codec.block` = {n}: expected at most array.lanes = {}", self.array.lanes);
        }
        // A filter tile's array.cols channels leave the core as whole blocks (SPEC 8.3 segments).
        if self.codec.enabled && !self.array.cols.is_multiple_of(n) {
            bail!(
                "key `codec.block` = {n}: expected a divisor of array.cols = {} when codec.enabled = true",
                self.array.cols
            );
        }
        let bpc = self.dram.bytes_per_cycle;
        check_range("dram.bytes_per_cycle", bpc.into(), 1, 1024)?;
        // The codec's byte streams are one DRAM beat wide.
        if self.codec.enabled && !(bpc.is_power_of_two() && bpc <= MAX_CODEC_PORT_BYTES) {
            bail!(
                "key `dram.bytes_per_cycle` = {bpc}: expected a power of two up to {MAX_CODEC_PORT_BYTES} when codec.enabled = true"
            );
        }
        check_range("dram.latency_cycles", self.dram.latency_cycles.into(), 0, 100_000)?;
        check_range("combine.entry_kib", self.combine.entry_kib.into(), 1, 1 << 20)?;
        if self.combine.penni && !self.combine.enabled {
            bail!("key `combine.penni` = true: expected combine.enabled = true (the multipliers are part of the combine stage)");
        }
        let mhz = self.clock.mhz;
        if !(mhz.is_finite() && mhz > 0.0 && mhz <= 2000.0) {
            bail!("key `clock.mhz` = {mhz}: expected a frequency in (0, 2000] MHz");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_default_parses_and_validates() {
        let c = AccelConfig::default();
        assert_eq!(c.codec.block, 8);
        assert!(c.validate().is_ok());
    }

    fn with_line_replaced(from: &str, to: &str) -> String {
        assert!(DEFAULT_CONFIG_TOML.contains(from), "test setup: {from} not in default");
        DEFAULT_CONFIG_TOML.replacen(from, to, 1)
    }

    #[test]
    fn unknown_key_is_an_error_naming_it() {
        let text = with_line_replaced("lanes = 32", "lanes = 32\nlane_count = 4");
        let e = format!("{:#}", AccelConfig::from_toml_str(&text, "x.toml").unwrap_err());
        assert!(e.starts_with("x.toml"), "{e}");
        assert!(e.contains("lane_count"), "{e}");
        assert!(!e.contains('\n'), "error must be one line: {e}");
    }

    #[test]
    fn out_of_range_values_name_the_key() {
        for (from, to, key) in [
            ("lanes = 32", "lanes = 24", "array.lanes"),
            ("block = 8", "block = 5", "codec.block"),
            ("acc_bits = 24", "acc_bits = 18", "datapath.acc_bits"),
            ("scale_bits = 16", "scale_bits = 10", "datapath.scale_bits"),
            ("mhz = 100.0", "mhz = -1.0", "clock.mhz"),
            ("name = \"cbnn_accel\"", "name = \"9bad\"", "name"),
            ("name = \"cbnn_accel\"", "name = \"module\"", "reserved word"),
            ("cols = 8", "cols = 12", "codec.block"),
            ("bytes_per_cycle = 8", "bytes_per_cycle = 6", "dram.bytes_per_cycle"),
            ("bytes_per_cycle = 8", "bytes_per_cycle = 32", "dram.bytes_per_cycle"),
            ("check = \"none\"", "check = \"crc16\"", "codec.check"),
        ] {
            let e = format!("{:#}", AccelConfig::from_toml_str(&with_line_replaced(from, to), "c.toml").unwrap_err());
            assert!(e.contains(key) && e.starts_with("c.toml"), "{e}");
        }
    }

    /// Without the codec, array.cols need not be a multiple of the block, nor the DRAM beat a
    /// power of two.
    #[test]
    fn codec_rules_apply_only_when_enabled() {
        let text = with_line_replaced("enabled = true", "enabled = false")
            .replacen("cols = 8", "cols = 12", 1)
            .replacen("bytes_per_cycle = 8", "bytes_per_cycle = 6", 1);
        assert!(AccelConfig::from_toml_str(&text, "c.toml").is_ok());
        // A block wider than the lanes never fits one buffer word, codec or not.
        let text = text.replacen("lanes = 32", "lanes = 8", 1).replacen("block = 8", "block = 16", 1);
        let e = format!("{:#}", AccelConfig::from_toml_str(&text, "c.toml").unwrap_err());
        assert!(e.contains("codec.block") && e.contains("array.lanes"), "{e}");
    }

    #[test]
    fn wrong_type_and_missing_key_are_errors() {
        let e = format!(
            "{:#}",
            AccelConfig::from_toml_str(&with_line_replaced("rows = 2", "rows = \"four\""), "c.toml").unwrap_err()
        );
        assert!(e.contains("rows"), "{e}");
        assert!(e.contains("key `array.rows`"), "{e}");
        let without: String =
            DEFAULT_CONFIG_TOML.lines().filter(|l| !l.starts_with("rows")).map(|l| format!("{l}\n")).collect();
        let e = format!("{:#}", AccelConfig::from_toml_str(&without, "c.toml").unwrap_err());
        assert!(e.contains("missing field `rows`"), "{e}");
    }
}
