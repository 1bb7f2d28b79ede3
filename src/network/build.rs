//! From a parsed network file to a checked `Network`: defaults, per-kind key rules, tensor
//! loading and shape chaining. Every error is one line naming the file, the layer, the key and
//! what was expected.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::spec::{InputSpec, LayerSpec, NetworkFile};
use super::*;
use crate::npyio::{self, Elem};

/// Where the files a network names (weights, bias, ...) are read from.
pub trait FileSource {
    fn read(&self, rel: &str) -> Result<Vec<u8>>;
    /// The name used in messages (a path a user can open).
    fn display(&self, rel: &str) -> String;
}

/// Files relative to the directory of the network file.
pub struct DirSource(pub PathBuf);

impl FileSource for DirSource {
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        let p = self.0.join(rel);
        // Every file a network names is a .npy: read no further than its header declares.
        crate::npyio::read_file(&p)
    }
    fn display(&self, rel: &str) -> String {
        self.0.join(rel).display().to_string()
    }
}

/// Files compiled into the binary (the embedded example network).
pub struct EmbeddedSource(pub BTreeMap<&'static str, &'static [u8]>);

impl FileSource for EmbeddedSource {
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        self.0.get(rel).map(|b| b.to_vec()).ok_or_else(|| anyhow!("{rel}: no such embedded file"))
    }
    fn display(&self, rel: &str) -> String {
        format!("<embedded>/{rel}")
    }
}

/// Loads a network file; its tensors are read relative to its directory.
pub fn load_network(path: &Path) -> Result<Network> {
    let text = crate::fsutil::read_text(path, "network file")?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse_network(&text, &path.display().to_string(), &DirSource(dir))
}

/// Parses and checks network TOML text; `origin` names it in errors.
pub fn parse_network(text: &str, origin: &str, files: &dyn FileSource) -> Result<Network> {
    let file: NetworkFile =
        toml::from_str(text).map_err(|e| anyhow!("{origin}: {}", crate::errors::toml_error_line(text, &e)))?;
    build(file, origin, files).with_context(|| origin.to_string())
}

fn build(file: NetworkFile, origin: &str, files: &dyn FileSource) -> Result<Network> {
    let input = build_input(&file.input, files).context("[input]")?;
    if file.layers.is_empty() {
        bail!("no [[layer]] tables: expected at least one layer");
    }
    let mut layers = Vec::new();
    let mut names = HashSet::new();
    let (mut shape, mut bits) = (input.shape, input.bits);
    // The layer whose relu output step is calibrated on the input (no `out_scale`), if the
    // current tensor's step is such.
    let mut calibrated_step: Option<String> = None;
    let count = file.layers.len();
    for (i, spec) in file.layers.iter().enumerate() {
        let name = spec.name.clone().unwrap_or_else(|| format!("{}{i}", spec.kind));
        // Names become file names (--dump-layers) and table cells: keep them plain.
        if name.is_empty()
            || name.len() > 64
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("layer {i}: key `name` = {name:?}: expected 1 to 64 letters, digits, '_' or '-'");
        }
        let layer = build_layer(spec, name.clone(), shape, bits, i + 1 == count, files)
            .with_context(|| format!("layer {i} ({name})"))?;
        if !names.insert(name.clone()) {
            bail!("layer {i} ({name}): key `name`: expected a unique name, {name:?} is used twice");
        }
        if let (Op::Weighted(w), Some(from)) = (&layer.op, &calibrated_step) {
            if w.threshold.is_some() {
                bail!("layer {i} ({name}): key `threshold`: the input's step must be known (the float reference compares with step * threshold); set `out_scale` of layer {from}");
            }
        }
        match &layer.op {
            Op::MaxPool(_) => {}
            Op::Weighted(w) => {
                calibrated_step = matches!(w.output, OutputFn::Relu { scale: None, .. }).then(|| name.clone())
            }
        }
        shape = layer.out_shape;
        bits = layer.out_bits();
        layers.push(layer);
    }
    Ok(Network { origin: origin.to_string(), input, layers })
}

fn to_usize(key: &str, v: i64, lo: i64, hi: i64) -> Result<usize> {
    if v < lo || v > hi {
        bail!("key `{key}` = {v}: expected an integer in {lo}..={hi}");
    }
    Ok(v as usize)
}

fn parse_mode(s: &str) -> Result<Mode> {
    s.parse::<Mode>().map_err(|_| anyhow!("key `codec` = {s:?}: expected one of {}", Mode::names()))
}

/// The codec keys that only some codecs use are errors with any other, not ignored (SPEC 8.1:
/// step and eg_order matter to dct and golomb blocks, dct_keep to dct blocks only). The codec
/// itself is checked first, so that a wrong codec is what the error names.
fn check_codec_keys(codec: &Option<String>, step: Option<i64>, keep: Option<i64>, eg: Option<i64>) -> Result<()> {
    let mode = codec.as_deref().map(parse_mode).transpose()?;
    for (k, present) in [("step", step.is_some()), ("eg_order", eg.is_some()), ("dct_keep", keep.is_some())] {
        if present && !mode.is_some_and(|m| m.uses(k)) {
            bail!("key `{k}` is only used by codec = {} (remove it or set codec)", Mode::users_of(k));
        }
    }
    Ok(())
}

/// Codec keys shared by [input] and layers; `bits` is the bits of the tensor they store.
fn build_codec(
    codec: &Option<String>,
    step: Option<i64>,
    keep: Option<i64>,
    eg: Option<i64>,
    bits: u32,
) -> Result<CodecSettings> {
    let mut c = CodecSettings::default();
    if let Some(m) = codec {
        c.mode = parse_mode(m)?;
    }
    if let Some(s) = step {
        if !(1..=128).contains(&s) || (s as u64).count_ones() != 1 {
            bail!("key `step` = {s}: expected a power of two in 1..=128");
        }
        c.step = s as u32;
    }
    if let Some(k) = keep {
        c.keep = Some(to_usize("dct_keep", k, 1, 16)?);
    }
    if let Some(e) = eg {
        c.eg_order = to_usize("eg_order", e, 0, 7)? as u32;
    }
    if bits == 1 {
        match c.mode {
            Mode::Raw => {}
            Mode::Auto => c.mode = Mode::Raw, // SPEC 8.1: auto means raw for binary tensors
            _ => bail!(
                "key `codec` = {:?}: binary (1-bit) tensors are stored raw; expected \"raw\" or \"auto\"",
                codec.as_deref().unwrap_or("")
            ),
        }
    }
    if bits == ACC_BITS && c.mode != Mode::Raw {
        bail!("key `codec`: raw accumulator outputs (int32) are stored raw; expected \"raw\"");
    }
    Ok(c)
}

fn build_input(s: &InputSpec, files: &dyn FileSource) -> Result<InputDef> {
    if s.shape.len() != 3 {
        bail!("key `shape` = {:?}: expected [C, H, W]", s.shape);
    }
    let mut shape = [0usize; 3];
    for (i, &v) in s.shape.iter().enumerate() {
        shape[i] = to_usize("shape", v, 1, 1 << 20)?;
    }
    let bits = to_usize("bits", s.bits, 1, 8)? as u32;
    let scale = match s.scale {
        Some(_) if bits == 1 => {
            bail!("key `scale`: binary inputs (bits = 1) are ±1 with step 1 (SPEC 2.3); remove the key")
        }
        Some(v) if v.is_finite() && v > 0.0 => v,
        Some(v) => bail!("key `scale` = {v}: expected a positive number"),
        None if bits == 1 => 1.0,
        None => 1.0 / ((1u32 << bits) - 1) as f64,
    };
    check_codec_keys(&s.codec, s.step, s.dct_keep, s.eg_order)?;
    let codec = build_codec(&s.codec, s.step, s.dct_keep, s.eg_order, bits)?;
    let pixels = match &s.thresholds {
        Some(rel) => Some(load_pixel_thresholds(rel, s.pixel_scale, shape[0], bits, files)?),
        None if s.pixel_scale.is_some() => {
            bail!("key `pixel_scale`: only used with `thresholds` (an input of uint8 pixels); remove it")
        }
        None => None,
    };
    Ok(InputDef { shape, bits, scale, pixels, codec })
}

/// `[input] thresholds`: `[C, L]` integers, `L = 1` for a binary input and `2^bits - 1`
/// otherwise, each row non-decreasing in `0..=256` (SPEC 2.5).
fn load_pixel_thresholds(
    rel: &str,
    pixel_scale: Option<f64>,
    channels: usize,
    bits: u32,
    files: &dyn FileSource,
) -> Result<PixelQuantiser> {
    let shown = files.display(rel);
    let levels = if bits == 1 { 1 } else { (1usize << bits) - 1 };
    let t = files
        .read(rel)
        .and_then(|b| npyio::parse_int(&b, Elem::AnyInt).map_err(|e| anyhow!("{shown}: {e}")))
        .and_then(|a| {
            npyio::check_shape(&a.shape, &[Some(channels), Some(levels)])
                .map_err(|e| anyhow!("{shown}: {e} ([C, {levels}] for {bits}-bit activations)"))
                .map(|_| a)
        })
        .context("key `thresholds`")?;
    if let Some(v) = t.data.iter().find(|&&v| !(0..=256).contains(&v)) {
        bail!("key `thresholds`: {shown}: value {v} out of range; expected pixel thresholds in 0..=256 (256: never reached)");
    }
    let thresholds: Vec<Vec<u16>> = t.data.chunks(levels).map(|r| r.iter().map(|&v| v as u16).collect()).collect();
    if let Some(c) = thresholds.iter().position(|r| r.windows(2).any(|p| p[0] > p[1])) {
        bail!("key `thresholds`: {shown}: channel {c} is not non-decreasing; expected sorted thresholds per channel");
    }
    match pixel_scale {
        Some(v) if !(v.is_finite() && v > 0.0) => bail!("key `pixel_scale` = {v}: expected a positive number"),
        _ => Ok(PixelQuantiser { thresholds, pixel_scale }),
    }
}

const COMMON: &[&str] = &["codec", "step", "dct_keep", "eg_order"];
const OUTPUT: &[&str] =
    &["out_channels", "bias", "weight_scale", "threshold", "scale_group", "output", "out_bits", "out_scale", "out_max"];
const GEOM: &[&str] = &["kernel", "stride", "padding"];

fn allowed_keys(kind: &str) -> Option<Vec<&'static str>> {
    let extra: &[&str] = match kind {
        "conv" => &["weights"],
        "fc" => &["weights"],
        "slbf" => &["bank", "index"],
        "penni" => &["basis", "coef"],
        "maxpool" => &[],
        _ => return None,
    };
    let mut k: Vec<&str> = COMMON.iter().chain(extra).copied().collect();
    if kind != "maxpool" {
        k.extend(OUTPUT);
    }
    if kind != "fc" {
        k.extend(GEOM);
    }
    Some(k)
}

fn required<T: Clone>(v: &Option<T>, key: &str, kind: &str) -> Result<T> {
    v.clone().ok_or_else(|| anyhow!("key `{key}` is missing: {kind} layers need it"))
}

/// The layer's keys: a known kind, only keys its kind uses, and no key whose meaning another
/// key's setting takes away.
fn check_keys(s: &LayerSpec, kind: &str) -> Result<()> {
    let allowed = allowed_keys(kind).ok_or_else(|| {
        anyhow!("key `kind` = {kind:?}: expected one of \"conv\", \"fc\", \"maxpool\", \"slbf\", \"penni\"")
    })?;
    if let Some(k) = s.present_keys().into_iter().find(|k| !allowed.contains(k)) {
        bail!("key `{k}` is not used by {kind} layers (remove it)");
    }
    // Keys that only matter for some settings of other keys are errors elsewhere, not ignored.
    if s.threshold.is_some() {
        if s.output.as_deref() != Some("sign") {
            bail!("key `threshold`: integer thresholds make sign outputs; expected output = \"sign\"");
        }
        for (k, present) in [
            ("bias", s.bias.is_some()),
            ("weight_scale", s.weight_scale.is_some()),
            ("scale_group", s.scale_group.is_some()),
        ] {
            if present {
                bail!("key `{k}` is not used with `threshold` (the thresholds alone decide the signs; remove it)");
            }
        }
    }
    Ok(())
}

/// The weights of a conv, fc, slbf or penni layer from the files its keys name, checked against
/// the layer's shape.
fn load_weights(
    s: &LayerSpec,
    kind: &str,
    out_channels: usize,
    [c_in, h, w]: [usize; 3],
    k: usize,
    files: &dyn FileSource,
) -> Result<Weights> {
    let load_f32 = |key: &str, rel: &Option<String>, shape: &[Option<usize>]| -> Result<(Vec<usize>, Vec<f32>)> {
        let rel = required(rel, key, kind)?;
        let shown = files.display(&rel);
        let arr = files
            .read(&rel)
            .and_then(|b| npyio::parse_f32(&b).map_err(|e| anyhow!("{shown}: {e}")))
            .and_then(|a| npyio::check_shape(&a.shape, shape).map_err(|e| anyhow!("{shown}: {e}")).map(|_| a))
            .with_context(|| format!("key `{key}`"))?;
        if let Some(i) = arr.data.iter().position(|v| !v.is_finite()) {
            bail!("key `{key}`: {shown}: element {i} is {}; expected finite values", arr.data[i]);
        }
        Ok((arr.shape, arr.data))
    };
    let weights = match kind {
        "conv" => {
            Weights::Conv(load_f32("weights", &s.weights, &[Some(out_channels), Some(c_in), Some(k), Some(k)])?.1)
        }
        "fc" => Weights::Fc(load_f32("weights", &s.weights, &[Some(out_channels), Some(c_in * h * w)])?.1),
        "slbf" => {
            let (bshape, bank) = load_f32("bank", &s.bank, &[None, None, Some(k), Some(k)])?;
            let (n, d) = (bshape[0], bshape[1]);
            let rel = required(&s.index, "index", kind)?;
            let shown = files.display(&rel);
            let idx = files
                .read(&rel)
                .and_then(|b| npyio::parse_int(&b, Elem::AnyInt).map_err(|e| anyhow!("{shown}: {e}")))
                .context("key `index`")?;
            if idx.shape.len() != 2 || idx.shape[0] != out_channels || idx.shape[1] == 0 {
                bail!("key `index`: {shown}: expected shape [{out_channels}, m], found {:?}", idx.shape);
            }
            let m = idx.shape[1];
            if d == 0 || n == 0 || m * d != c_in {
                bail!("key `bank`: bank filters have d = {d} channels and the index has m = {m} slices; expected m * d = {c_in} (the input channels)");
            }
            if let Some(&bad) = idx.data.iter().find(|&&v| v < 0 || v as usize >= n) {
                bail!("key `index`: {shown}: value {bad} out of range; expected 0..{n} (the bank size)");
            }
            Weights::Slbf { bank, n, d, index: idx.data.iter().map(|&v| v as usize).collect(), m }
        }
        "penni" => {
            let (bshape, basis) = load_f32("basis", &s.basis, &[None, Some(k), Some(k)])?;
            let d = bshape[0];
            if d == 0 {
                bail!("key `basis`: expected at least one basis kernel");
            }
            let coef = load_f32("coef", &s.coef, &[Some(out_channels), Some(c_in), Some(d)])?.1;
            Weights::Penni { basis, d, coef }
        }
        _ => unreachable!("kinds were checked above"),
    };
    Ok(weights)
}

fn build_layer(
    s: &LayerSpec,
    name: String,
    in_shape: [usize; 3],
    in_bits: u32,
    last: bool,
    files: &dyn FileSource,
) -> Result<Layer> {
    let kind = s.kind.as_str();
    check_keys(s, kind)?;
    check_codec_keys(&s.codec, s.step, s.dct_keep, s.eg_order)?;
    if in_bits == ACC_BITS {
        bail!("follows a layer with output = \"accumulator\", which must be the last layer");
    }
    let [c_in, h, w] = in_shape;
    let geometry = if kind == "fc" {
        Geometry { kernel: 1, stride: 1, padding: 0 }
    } else {
        let kernel = to_usize("kernel", required(&s.kernel, "kernel", kind)?, 1, 15)?;
        let default_stride = if kind == "maxpool" { kernel as i64 } else { 1 };
        let stride = to_usize("stride", s.stride.unwrap_or(default_stride), 1, 15)?;
        let max_pad = if kind == "maxpool" { kernel as i64 - 1 } else { 15 };
        let padding = to_usize("padding", s.padding.unwrap_or(0), 0, max_pad)?;
        Geometry { kernel, stride, padding }
    };
    let (h_out, w_out) = if kind == "fc" {
        (1, 1)
    } else {
        match (geometry.out_len(h), geometry.out_len(w)) {
            (Some(a), Some(b)) => (a, b),
            _ => bail!(
                "key `kernel` = {}: the {h}x{w} input (padding {}) is smaller than the kernel; expected an output of at least 1x1",
                geometry.kernel,
                geometry.padding
            ),
        }
    };
    let (op, out_shape) = if kind == "maxpool" {
        (Op::MaxPool(geometry), [c_in, h_out, w_out])
    } else {
        let out_channels = to_usize("out_channels", required(&s.out_channels, "out_channels", kind)?, 1, 1 << 16)?;
        let weights = load_weights(s, kind, out_channels, in_shape, geometry.kernel, files)?;
        // Real per-filter values: float32 or float64 (an importer's exact values need float64).
        let load_real = |key: &str, rel: &Option<String>, min: f64| -> Result<Option<Vec<f64>>> {
            let Some(rel) = rel else { return Ok(None) };
            let shown = files.display(rel);
            let arr = files
                .read(rel)
                .and_then(|b| npyio::parse_float(&b).map_err(|e| anyhow!("{shown}: {e}")))
                .and_then(|a| {
                    npyio::check_shape(&a.shape, &[Some(out_channels)]).map_err(|e| anyhow!("{shown}: {e}")).map(|_| a)
                })
                .with_context(|| format!("key `{key}`"))?;
            if let Some(i) = arr.data.iter().position(|v| !v.is_finite() || *v < min) {
                let want = if min == 0.0 { "finite values >= 0" } else { "finite values" };
                bail!("key `{key}`: {shown}: element {i} is {}; expected {want}", arr.data[i]);
            }
            Ok(Some(arr.data))
        };
        let bias = load_real("bias", &s.bias, f64::NEG_INFINITY)?;
        let weight_scale = load_real("weight_scale", &s.weight_scale, 0.0)?;
        let threshold = match &s.threshold {
            Some(rel) => {
                let shown = files.display(rel);
                let t = files
                    .read(rel)
                    .and_then(|b| npyio::parse_int(&b, Elem::AnyInt).map_err(|e| anyhow!("{shown}: {e}")))
                    .and_then(|a| {
                        npyio::check_shape(&a.shape, &[Some(out_channels)])
                            .map_err(|e| anyhow!("{shown}: {e}"))
                            .map(|_| a)
                    })
                    .context("key `threshold`")?;
                Some(t.data)
            }
            None => None,
        };
        let scale_group = to_usize("scale_group", s.scale_group.unwrap_or(1), 1, out_channels as i64)?;
        let output = build_output(s, last)?;
        (
            Op::Weighted(Weighted {
                out_channels,
                geometry,
                weights,
                bias,
                weight_scale,
                threshold,
                scale_group,
                output,
            }),
            [out_channels, h_out, w_out],
        )
    };
    let out_bits = match &op {
        Op::MaxPool(_) => in_bits,
        Op::Weighted(w) => w.output.bits(),
    };
    let codec = build_codec(&s.codec, s.step, s.dct_keep, s.eg_order, out_bits)?;
    Ok(Layer { name, in_shape, in_bits, out_shape, op, codec })
}

fn build_output(s: &LayerSpec, last: bool) -> Result<OutputFn> {
    let out = s.output.as_deref().unwrap_or("relu");
    let f = match out {
        "accumulator" => {
            if !last {
                bail!("key `output` = \"accumulator\": only the last layer may output raw accumulators");
            }
            if s.out_bits.is_some() || s.out_scale.is_some() || s.out_max.is_some() {
                bail!("key `out_bits`/`out_scale`/`out_max`: not used with output = \"accumulator\" (int32 output)");
            }
            OutputFn::Accumulator
        }
        "sign" => {
            if s.out_bits.is_some_and(|b| b != 1) {
                bail!(
                    "key `out_bits` = {}: output = \"sign\" produces 1-bit activations; expected 1 or no key",
                    s.out_bits.unwrap()
                );
            }
            if s.out_scale.is_some() || s.out_max.is_some() {
                bail!("key `out_scale`/`out_max`: not used with output = \"sign\" (binary activations are ±1 with step 1)");
            }
            OutputFn::Sign
        }
        "relu" => {
            let bits = to_usize("out_bits", s.out_bits.unwrap_or(8), 2, 8)? as u32;
            let scale = match s.out_scale {
                Some(v) if v.is_finite() && v > 0.0 => Some(v),
                Some(v) => bail!("key `out_scale` = {v}: expected a positive number"),
                None => None,
            };
            let top = (1i64 << bits) - 1;
            let max = s.out_max.map(|m| to_usize("out_max", m, 1, top)).transpose()?.map(|m| m as u32);
            OutputFn::Relu { bits, scale, max }
        }
        other => bail!("key `output` = {other:?}: expected one of \"accumulator\", \"sign\", \"relu\""),
    };
    Ok(f)
}
