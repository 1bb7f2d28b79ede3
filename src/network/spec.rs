//! The network description file (TOML) as written by users: parsed strictly (unknown keys are
//! errors) into plain structs; `build.rs` turns them into a checked `Network`.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    pub input: InputSpec,
    #[serde(rename = "layer", default)]
    pub layers: Vec<LayerSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub shape: Vec<i64>,
    pub bits: i64,
    pub scale: Option<f64>,
    /// The input file holds uint8 pixels, quantised by these per-channel thresholds (SPEC 2.5).
    pub thresholds: Option<String>,
    /// With `thresholds`: the real value of one pixel step in the trained model's input.
    pub pixel_scale: Option<f64>,
    pub codec: Option<String>,
    pub step: Option<i64>,
    pub dct_keep: Option<i64>,
    pub eg_order: Option<i64>,
}

/// One `[[layer]]` table. Keys that a kind does not use are rejected in build.rs, with a message
/// saying which kind ignores them, rather than silently dropped.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayerSpec {
    pub kind: String,
    pub name: Option<String>,
    pub out_channels: Option<i64>,
    pub kernel: Option<i64>,
    pub stride: Option<i64>,
    pub padding: Option<i64>,
    pub weights: Option<String>,
    pub bias: Option<String>,
    pub weight_scale: Option<String>,
    pub threshold: Option<String>,
    pub bank: Option<String>,
    pub index: Option<String>,
    pub basis: Option<String>,
    pub coef: Option<String>,
    pub scale_group: Option<i64>,
    pub output: Option<String>,
    pub out_bits: Option<i64>,
    pub out_scale: Option<f64>,
    pub out_max: Option<i64>,
    pub codec: Option<String>,
    pub step: Option<i64>,
    pub dct_keep: Option<i64>,
    pub eg_order: Option<i64>,
}

impl LayerSpec {
    /// The keys present in this table, for "key not used by this kind" checks.
    pub fn present_keys(&self) -> Vec<&'static str> {
        let mut k = Vec::new();
        macro_rules! check {
            ($($f:ident),*) => { $( if self.$f.is_some() { k.push(stringify!($f)); } )* };
        }
        check!(
            out_channels,
            kernel,
            stride,
            padding,
            weights,
            bias,
            weight_scale,
            threshold,
            bank,
            index,
            basis,
            coef,
            scale_group,
            output,
            out_bits,
            out_scale,
            out_max,
            codec,
            step,
            dct_keep,
            eg_order
        );
        k
    }
}
