//! The sweep file (docs/SWEEPS.md): a base accelerator config, a network and its inputs, and the
//! axes to vary, read and checked before any point runs.
//!
//! ```toml
//! config = "my_accel.toml"        # optional: the embedded default config
//! network = "net.toml"            # optional: the embedded example network and input
//! inputs = ["a.npy", "b.npy"]     # with `network`: its input set
//! labels = [3, 7]                 # optional: the images' classes, or an integer .npy file
//!                                 # ("labels.npy", one per image), for the top-1 accuracy
//! color = "array.rows"            # the axis that colours the latency-vs-area plot
//!
//! [axes]                          # the cartesian product of these, in this order
//! "array.rows" = [1, 2, 4]
//! "array.cols" = { from = 8, to = 32, step = 8 }
//! "dram.bytes_per_cycle" = { from = 1, to = 16, times = 2 }
//! "layers.scale_group" = [1, 4]   # every layer that takes the key
//! "layers.conv1.codec" = ["raw", "dct"]
//! ```
//!
//! or, instead of `[axes]`, a listed set of points: `[[points]]` tables of `key = value`.

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::apply::{AxisKey, Base};
use cbnn::batch::labels;

/// The most points a sweep may expand to (a guard against a typo in a range).
pub const MAX_POINTS: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    config: Option<PathBuf>,
    network: Option<PathBuf>,
    inputs: Option<Vec<PathBuf>>,
    /// A list of classes or the path of an integer .npy file.
    labels: Option<toml::Value>,
    color: Option<String>,
    /// Drop points whose combination of values the config or network rejects (they are listed
    /// in summary.md) instead of rejecting the sweep.
    #[serde(default)]
    skip_invalid: bool,
    axes: Option<toml::Table>,
    points: Option<Vec<toml::Table>>,
    synth: Option<SynthSection>,
}

/// `[synth]`: what `--synth` runs for each point.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SynthSection {
    /// A target of the `synth` program (`ecp5-45k`, `ice40-hx8k`, ...).
    pub target: String,
    /// Synthesise the core alone (out of context), as `synth --core-only`; default true.
    #[serde(default = "yes")]
    pub core_only: bool,
}

fn yes() -> bool {
    true
}

/// One axis: a key and its values, in order.
#[derive(Clone, Debug)]
pub struct Axis {
    pub key: AxisKey,
    pub values: Vec<toml::Value>,
}

/// A point: one value per axis (`None` where a listed point leaves an axis at the base).
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    pub index: usize,
    pub values: Vec<Option<toml::Value>>,
}

/// A checked sweep: where it came from, its base, axes and points.
pub struct Sweep {
    pub origin: String,
    pub base: Base,
    pub axes: Vec<Axis>,
    pub points: Vec<Point>,
    pub labels: Option<Vec<usize>>,
    pub color: Option<usize>,
    pub skip_invalid: bool,
    pub synth: Option<SynthSection>,
    /// The sweep's identity: its text and the files it reads, hashed (a results directory
    /// belongs to one sweep).
    pub fingerprint: String,
}

/// The example sweep `sweep` runs with no arguments.
pub const EXAMPLE: &str = include_str!("../defaults/sweep.toml");
pub const EXAMPLE_ORIGIN: &str = "<embedded sweep>";

impl Sweep {
    /// Reads and checks a sweep file (its paths are relative to its directory).
    pub fn load(path: &Path) -> Result<Sweep> {
        let text = cbnn::fsutil::read_text(path, "sweep file")?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Sweep::parse(&text, &path.display().to_string(), Some(&dir))
    }

    /// The embedded example sweep.
    pub fn example() -> Result<Sweep> {
        Sweep::parse(EXAMPLE, EXAMPLE_ORIGIN, None)
    }

    /// Parses and checks sweep text; `dir` resolves its paths (`None`: it may name none).
    pub fn parse(text: &str, origin: &str, dir: Option<&Path>) -> Result<Sweep> {
        let f: SweepFile =
            toml::from_str(text).map_err(|e| anyhow!("{origin}: {}", cbnn::errors::toml_error_line(text, &e)))?;
        let at = |p: &PathBuf| -> Result<PathBuf> {
            match dir {
                Some(d) => Ok(d.join(p)),
                None => bail!("{origin}: an embedded sweep names no files"),
            }
        };
        let config = f.config.as_ref().map(at).transpose()?;
        let network = f.network.as_ref().map(at).transpose()?;
        let inputs = f.inputs.as_ref().map(|v| v.iter().map(at).collect::<Result<Vec<_>>>()).transpose()?;
        if inputs.as_ref().is_some_and(Vec::is_empty) {
            bail!("{origin}: key `inputs`: expected at least one .npy file");
        }
        let mut base =
            Base::load(config.as_deref(), network.as_deref(), inputs.as_deref()).with_context(|| origin.to_string())?;
        base.dir = dir.map(Path::to_path_buf);
        let labels = match &f.labels {
            None => None,
            Some(l) => Some(labels(l, &mut base, &at).with_context(|| origin.to_string())?),
        };
        let (axes, points) = match (f.axes, f.points) {
            (Some(_), Some(_)) => bail!("{origin}: `[axes]` and `[[points]]` both given: expected one of them"),
            (None, None) => bail!("{origin}: no `[axes]` and no `[[points]]`: nothing to sweep"),
            (Some(a), None) => {
                let axes = parse_axes(&a, &base).with_context(|| origin.to_string())?;
                let points = product(&axes).with_context(|| origin.to_string())?;
                (axes, points)
            }
            (None, Some(p)) => listed(&p, &base).with_context(|| origin.to_string())?,
        };
        // The networks a `network` axis names, loaded (and checked) once.
        for a in axes.iter().filter(|a| a.key == AxisKey::Network) {
            for v in &a.values {
                base.add_network(v).with_context(|| origin.to_string())?;
            }
        }
        let color = match &f.color {
            None => None,
            Some(c) => Some(
                axes.iter()
                    .position(|a| a.key.name() == *c)
                    .ok_or_else(|| anyhow!("{origin}: key `color` = {c:?}: expected one of the sweep's axes"))?,
            ),
        };
        if let Some(s) = &f.synth {
            super::synth::check_section(s).with_context(|| format!("{origin}: key `synth.target`"))?;
        }
        let fingerprint = super::store::fingerprint(text, &base);
        Ok(Sweep {
            origin: origin.to_string(),
            base,
            axes,
            points,
            labels,
            color,
            skip_invalid: f.skip_invalid,
            synth: f.synth,
            fingerprint,
        })
    }

    /// Checks every point (its config and network load, compile and fit), before any runs: a
    /// value that no point can use is an error naming its axis; other invalid points are an
    /// error naming the point, or with `skip_invalid` the list of them (point, reason).
    pub fn check_points(&self, bar: &indicatif::ProgressBar) -> Result<Vec<(usize, String)>> {
        use rayon::prelude::*;
        bar.set_length(self.points.len() as u64);
        let errors: Vec<Option<String>> = self
            .points
            .par_iter()
            .map(|p| {
                let e = super::point::check(self, p).err().map(|e| cbnn::errors::one_line(&e));
                bar.inc(1);
                e
            })
            .collect();
        bar.finish_and_clear();
        for (k, a) in self.axes.iter().enumerate() {
            // Per value of the axis: the first error among the points that take it, and
            // whether any of them is valid.
            let index: std::collections::HashMap<String, usize> =
                a.values.iter().enumerate().map(|(i, v)| (value_key(v), i)).collect();
            let mut first_error: Vec<Option<&String>> = vec![None; a.values.len()];
            let mut usable = vec![false; a.values.len()];
            for p in &self.points {
                let Some(i) = p.values[k].as_ref().map(|v| index[&value_key(v)]) else { continue };
                match &errors[p.index] {
                    None => usable[i] = true,
                    Some(e) => {
                        first_error[i].get_or_insert(e);
                    }
                }
            }
            for (i, v) in a.values.iter().enumerate() {
                if let (false, Some(e)) = (usable[i], first_error[i]) {
                    bail!("{}: axis `{}` = {v}: {e}", self.origin, a.key.name());
                }
            }
        }
        let invalid: Vec<(usize, String)> =
            errors.into_iter().enumerate().filter_map(|(i, e)| e.map(|e| (i, e))).collect();
        if let (false, Some((i, e))) = (self.skip_invalid, invalid.first()) {
            bail!(
                "{}: {} is invalid ({} of the sweep's {} points are): {e}; change the axes or set skip_invalid = true",
                self.origin,
                self.describe(&self.points[*i]),
                invalid.len(),
                self.points.len()
            );
        }
        Ok(invalid)
    }

    /// `axis = value` for each axis a point sets, for messages.
    pub fn describe(&self, p: &Point) -> String {
        let parts: Vec<String> = self
            .axes
            .iter()
            .zip(&p.values)
            .filter_map(|(a, v)| v.as_ref().map(|v| format!("{} = {v}", a.key.name())))
            .collect();
        format!("point {} ({})", p.index, parts.join(", "))
    }
}

/// The `labels` key: a list of classes, or an integer .npy file (its hash joins the sweep's
/// fingerprint), one class per input image (`cbnn::batch::labels`).
fn labels(v: &toml::Value, base: &mut Base, at: &dyn Fn(&PathBuf) -> Result<PathBuf>) -> Result<Vec<usize>> {
    let (images, classes) = (base.inputs.len(), base.classes());
    match v {
        toml::Value::String(f) => {
            let path = at(&PathBuf::from(f))?;
            let bytes = cbnn::npyio::read_file(&path).context("key `labels`")?;
            base.texts.push(format!("{}:{}", path.display(), super::store::hash_bytes(&bytes)));
            labels::parse(&bytes, images, classes).with_context(|| format!("key `labels`: {}", path.display()))
        }
        toml::Value::Array(a) => {
            let list: Option<Vec<i64>> = a.iter().map(toml::Value::as_integer).collect();
            let list = list.context("key `labels`: expected a list of integer classes")?;
            labels::check(&list, images, classes).context("key `labels`")
        }
        other => bail!("key `labels` = {other}: expected a list of classes or the path of an integer .npy file"),
    }
}

/// An axis's values: a list, `{ from, to, step }` or `{ from, to, times }`, or one value.
fn axis_values(name: &str, v: &toml::Value) -> Result<Vec<toml::Value>> {
    let values = match v {
        toml::Value::Array(a) => a.clone(),
        toml::Value::Table(t) => {
            let int = |k: &str| -> Result<Option<i64>> {
                match t.get(k) {
                    None => Ok(None),
                    Some(toml::Value::Integer(i)) => Ok(Some(*i)),
                    Some(other) => bail!("axis `{name}`: `{k}` = {other}: expected an integer"),
                }
            };
            if let Some(k) = t.keys().find(|k| !["from", "to", "step", "times"].contains(&k.as_str())) {
                bail!("axis `{name}`: unknown range key `{k}`: expected from, to and step or times");
            }
            let (from, to) = match (int("from")?, int("to")?) {
                (Some(a), Some(b)) => (a, b),
                _ => bail!("axis `{name}`: a range needs `from` and `to`"),
            };
            if from > to {
                bail!("axis `{name}`: range from {from} to {to} is empty: expected from <= to");
            }
            let too_many = || anyhow!("axis `{name}`: the range has more than {MAX_POINTS} values");
            let mut out = Vec::new();
            match (int("step")?, int("times")?) {
                (Some(s), None) if s > 0 => {
                    // Counted before any value is made, in i128 so that no bound wraps around.
                    let count = (to as i128 - from as i128) / s as i128 + 1;
                    if count > MAX_POINTS as i128 {
                        return Err(too_many());
                    }
                    out.extend((0..count).map(|i| toml::Value::Integer((from as i128 + i * s as i128) as i64)));
                }
                (None, Some(m)) if m > 1 && from > 0 => {
                    // At most 63 values; the last product may overflow, which ends the range.
                    let mut x = Some(from);
                    while let Some(v) = x.filter(|&v| v <= to) {
                        out.push(toml::Value::Integer(v));
                        x = v.checked_mul(m);
                    }
                }
                (Some(_), None) => bail!("axis `{name}`: `step` must be positive"),
                (None, Some(_)) => bail!("axis `{name}`: `times` must be at least 2, with `from` positive"),
                _ => bail!("axis `{name}`: a range needs exactly one of `step` and `times`"),
            }
            out
        }
        scalar => vec![scalar.clone()],
    };
    if values.is_empty() {
        bail!("axis `{name}` is empty: expected at least one value");
    }
    if values.len() > MAX_POINTS {
        return Err(anyhow!("axis `{name}`: more than {MAX_POINTS} values"));
    }
    let mut seen = std::collections::HashSet::new();
    for a in &values {
        if !seen.insert(value_key(a)) {
            bail!("axis `{name}`: value {a} given twice");
        }
    }
    Ok(values)
}

/// What makes two axis values the same value: `100` and `100.0` are one number.
pub fn value_key(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", *f as i64),
        toml::Value::Float(f) => format!("{f:?}"),
        other => other.to_string(),
    }
}

fn parse_axes(t: &toml::Table, base: &Base) -> Result<Vec<Axis>> {
    if t.is_empty() {
        bail!("`[axes]` is empty: expected at least one axis");
    }
    let codec_axis = t.keys().any(|n| sets_codec(n));
    let mut axes = Vec::new();
    for (name, v) in t {
        let key = base.axis_key(name, codec_axis)?;
        let values = axis_values(name, v)?;
        axes.push(Axis { key, values });
    }
    Ok(axes)
}

/// Whether an axis name sets a layer's codec (`layers.codec` or `layers.LAYER.codec`).
fn sets_codec(name: &str) -> bool {
    name.starts_with("layers.") && name.ends_with(".codec")
}

/// The cartesian product, the last axis varying fastest.
fn product(axes: &[Axis]) -> Result<Vec<Point>> {
    let total = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.values.len()).filter(|&n| n <= MAX_POINTS));
    let total = total.ok_or_else(|| anyhow!("the axes expand to more than {MAX_POINTS} points"))?;
    Ok((0..total)
        .map(|index| {
            let mut rest = index;
            let mut values = vec![None; axes.len()];
            for (k, a) in axes.iter().enumerate().rev() {
                values[k] = Some(a.values[rest % a.values.len()].clone());
                rest /= a.values.len();
            }
            Point { index, values }
        })
        .collect())
}

/// `[[points]]`: the axes are the keys the points name, in order of first appearance.
fn listed(pts: &[toml::Table], base: &Base) -> Result<(Vec<Axis>, Vec<Point>)> {
    if pts.is_empty() {
        bail!("`[[points]]` is empty: expected at least one point");
    }
    let codec_axis = pts.iter().any(|p| p.keys().any(|n| sets_codec(n)));
    let mut axes: Vec<Axis> = Vec::new();
    // Per axis, the keys of the values it already has: a point list may be long.
    let mut seen: Vec<HashSet<String>> = Vec::new();
    for (i, p) in pts.iter().enumerate() {
        if p.is_empty() {
            bail!("points {i}: sets no key");
        }
        for (name, value) in p {
            let k = match axes.iter().position(|a| a.key.name() == *name) {
                Some(k) => k,
                None => {
                    axes.push(Axis { key: base.axis_key(name, codec_axis)?, values: Vec::new() });
                    seen.push(HashSet::new());
                    axes.len() - 1
                }
            };
            if seen[k].insert(value_key(value)) {
                axes[k].values.push(value.clone());
            }
        }
    }
    let points = pts
        .iter()
        .enumerate()
        .map(|(index, p)| Point { index, values: axes.iter().map(|a| p.get(&a.key.name()).cloned()).collect() })
        .collect();
    Ok((axes, points))
}

#[cfg(test)]
mod tests;
