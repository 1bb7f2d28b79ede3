//! A sweep's base (config, network, inputs) and how a point's values change it: every value is
//! written into the TOML of the config or the network and the result read by the same checked
//! loaders as a user's files (`AccelConfig::from_toml_str`, `parse_network`), so a sweep accepts
//! exactly what the programs accept and its errors are theirs.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use cbnn::codec::Mode;
use cbnn::config::{AccelConfig, DEFAULT_CONFIG_TOML};
use cbnn::network::{parse_network, DirSource, FileSource, Network, Op, OutputFn};
use cbnn::tensor::Tensor3;

/// The per-layer network keys a sweep may vary (docs/FORMATS.md, *Network description*).
pub const LAYER_KEYS: [&str; 6] = ["codec", "scale_group", "out_bits", "step", "dct_keep", "eg_order"];

/// What an axis varies: a config key, a network key of one layer or of every layer that takes
/// it, or the whole network (`network`: network files, e.g. the outputs of `convert`, that read
/// the same input).
#[derive(Clone, Debug, PartialEq)]
pub enum AxisKey {
    Config(String),
    Layer { layer: Option<String>, key: &'static str },
    Network,
}

impl AxisKey {
    /// The name the sweep file and the results use.
    pub fn name(&self) -> String {
        match self {
            AxisKey::Config(k) => k.clone(),
            AxisKey::Layer { layer: None, key } => format!("layers.{key}"),
            AxisKey::Layer { layer: Some(l), key } => format!("layers.{l}.{key}"),
            AxisKey::Network => "network".into(),
        }
    }
}

/// Reads files once and keeps them (every point parses the network again).
struct CachedFiles {
    inner: Box<dyn FileSource + Send + Sync>,
    cache: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl FileSource for CachedFiles {
    fn read(&self, rel: &str) -> Result<Vec<u8>> {
        if let Some(b) = self.cache.lock().unwrap().get(rel) {
            return Ok(b.clone());
        }
        let b = self.inner.read(rel)?;
        self.cache.lock().unwrap().insert(rel.to_string(), b.clone());
        Ok(b)
    }
    fn display(&self, rel: &str) -> String {
        self.inner.display(rel)
    }
}

/// A network as a sweep point uses it: its TOML (which layer axes edit), its files, parsed.
struct NetworkSource {
    origin: String,
    doc: toml::Table,
    files: CachedFiles,
    network: Network,
}

/// The sweep's starting point: the config and network as TOML, the network parsed, the inputs.
pub struct Base {
    config_origin: String,
    config: toml::Table,
    network_origin: String,
    network_doc: toml::Table,
    files: CachedFiles,
    pub network: Network,
    /// The networks a `network` axis names (by the value in the sweep file), and the
    /// directory those values are relative to (`None` for an embedded sweep).
    variants: BTreeMap<String, NetworkSource>,
    pub dir: Option<PathBuf>,
    /// Each input image's name (its file, `FILE image K` for the images of a batch file, or
    /// `<embedded input>`) and tensor.
    pub inputs: Vec<(String, Tensor3<i32>)>,
    /// The texts the sweep depends on, for its fingerprint.
    pub texts: Vec<String>,
}

fn parse_table(text: &str, origin: &str) -> Result<toml::Table> {
    toml::from_str(text).map_err(|e| anyhow!("{origin}: {}", cbnn::errors::toml_error_line(text, &e)))
}

impl Base {
    pub fn load(config: Option<&Path>, network: Option<&Path>, inputs: Option<&[PathBuf]>) -> Result<Base> {
        let (config_text, config_origin) = match config {
            Some(p) => (cbnn::fsutil::read_text(p, "accelerator config")?, p.display().to_string()),
            None => (DEFAULT_CONFIG_TOML.to_string(), "<embedded default config>".to_string()),
        };
        AccelConfig::from_toml_str(&config_text, &config_origin)?;
        let (net_text, network_origin, inner): (String, String, Box<dyn FileSource + Send + Sync>) = match network {
            Some(p) => (
                cbnn::fsutil::read_text(p, "network file")?,
                p.display().to_string(),
                Box::new(DirSource(p.parent().map(Path::to_path_buf).unwrap_or_default())),
            ),
            None => (
                cbnn::examples::TINY_NET_TOML.to_string(),
                cbnn::examples::TINY_ORIGIN.to_string(),
                Box::new(cbnn::examples::tiny_files()),
            ),
        };
        let files = CachedFiles { inner, cache: Mutex::new(BTreeMap::new()) };
        let net = parse_network(&net_text, &network_origin, &files)?;
        let mut texts = vec![config_text.clone(), net_text.clone()];
        let inputs = match (network, inputs) {
            (None, None) => vec![("<embedded input>".to_string(), cbnn::examples::tiny_input(&net)?)],
            (None, Some(_)) => bail!("key `inputs`: the embedded network has its own input; set `network` too"),
            (Some(_), None) => bail!("key `inputs`: expected the network's input set (.npy files)"),
            (Some(_), Some(paths)) => {
                let mut images = Vec::new();
                for p in paths {
                    let bytes = cbnn::npyio::read_file(p)?;
                    texts.push(format!("{}:{}", p.display(), super::store::hash_bytes(&bytes)));
                    let batch = cbnn::batch::Batch::parse(&bytes, p, &net)?;
                    // A batch file contributes each of its images, named by index.
                    for (k, x) in batch.images.into_iter().enumerate() {
                        let name =
                            if batch.stacked { format!("{} image {k}", p.display()) } else { p.display().to_string() };
                        images.push((name, x));
                    }
                }
                images
            }
        };
        Ok(Base {
            config: parse_table(&config_text, &config_origin)?,
            config_origin,
            network_doc: parse_table(&net_text, &network_origin)?,
            network_origin,
            files,
            network: net,
            variants: BTreeMap::new(),
            dir: None,
            inputs,
            texts,
        })
    }

    /// Loads a network a `network` axis names (relative to the sweep file). It must read the
    /// same input as the base network (the sweep's inputs are for both).
    pub fn add_network(&mut self, value: &toml::Value) -> Result<()> {
        let rel = value.as_str().ok_or_else(|| anyhow!("axis `network` = {value}: expected a network file path"))?;
        if self.variants.contains_key(rel) {
            return Ok(());
        }
        let dir = self.dir.as_ref().ok_or_else(|| anyhow!("axis `network`: an embedded sweep names no files"))?;
        let path = dir.join(rel);
        let text =
            cbnn::fsutil::read_text(&path, "network file").with_context(|| format!("axis `network` = {rel:?}"))?;
        let origin = path.display().to_string();
        let files = CachedFiles {
            inner: Box::new(DirSource(path.parent().map(Path::to_path_buf).unwrap_or_default())),
            cache: Mutex::new(BTreeMap::new()),
        };
        let network = parse_network(&text, &origin, &files).with_context(|| format!("axis `network` = {rel:?}"))?;
        let (a, b) = (&network.input, &self.network.input);
        if a.shape != b.shape || a.bits != b.bits || a.pixels != b.pixels || a.scale != b.scale {
            bail!("axis `network` = {rel:?}: its [input] differs from the base network's {}; expected networks that read the same images", self.network_origin);
        }
        self.texts.push(text.clone());
        let doc = parse_table(&text, &origin)?;
        self.variants.insert(rel.to_string(), NetworkSource { origin, doc, files, network });
        Ok(())
    }

    /// Output classes of the network (the values of its last layer's output).
    pub fn classes(&self) -> usize {
        cbnn::classify::classes(&self.network)
    }

    /// The axis an axis name in a sweep file stands for; `codec_axis`: whether the sweep also
    /// sets a layer's codec (which a codec's own keys may then depend on).
    pub fn axis_key(&self, name: &str, codec_axis: bool) -> Result<AxisKey> {
        if name == "network" {
            return Ok(AxisKey::Network);
        }
        if let Some(rest) = name.strip_prefix("layers.") {
            let (layer, key) = match rest.rsplit_once('.') {
                Some((l, k)) => (Some(l.to_string()), k),
                None => (None, rest),
            };
            let key = LAYER_KEYS.iter().copied().find(|k| *k == key).ok_or_else(|| {
                anyhow!("axis `{name}`: unknown layer key `{key}`: expected one of {}", LAYER_KEYS.join(", "))
            })?;
            if let Some(l) = &layer {
                if !self.network.layers.iter().any(|x| x.name == *l) {
                    let names: Vec<&str> = self.network.layers.iter().map(|x| x.name.as_str()).collect();
                    bail!(
                        "axis `{name}`: no layer `{l}` in {}: expected one of {}",
                        self.network_origin,
                        names.join(", ")
                    );
                }
            }
            let k = AxisKey::Layer { layer, key };
            // A codec's own key (step, eg_order, dct_keep) may name layers whose codec a codec
            // axis of the same sweep sets: then it is checked against any layer a codec could take.
            let could_take = codec_axis && self.network.layers.iter().any(|l| takes(l, key, "dct"));
            if self.layers_for(&self.network, &k, &self.network_doc).is_empty()
                && !(Mode::KEYS.contains(&key) && could_take)
            {
                bail!("axis `{name}`: no layer of {} takes `{key}`", self.network_origin);
            }
            return Ok(k);
        }
        // Every config key is required, so the base config has them all.
        match lookup(&self.config, name) {
            Some(v) if !v.is_table() && name != "name" => Ok(AxisKey::Config(name.to_string())),
            _ => bail!(
                "axis `{name}`: unknown key: expected a config key ({}) or layers.KEY / layers.LAYER.KEY",
                leaf_keys(&self.config).join(", ")
            ),
        }
    }

    /// The indices of the layers (in the network file's `[[layer]]` list) a layer axis sets:
    /// the named layer, or every layer where the key has an effect given the layer's kind,
    /// output and (for the codec's own keys) its codec in `doc`.
    fn layers_for(&self, network: &Network, key: &AxisKey, doc: &toml::Table) -> Vec<usize> {
        let AxisKey::Layer { layer, key } = key else { return Vec::new() };
        let specs = doc.get("layer").and_then(|l| l.as_array()).cloned().unwrap_or_default();
        network
            .layers
            .iter()
            .enumerate()
            .filter(|(i, l)| match layer {
                Some(name) => l.name == *name,
                None => {
                    let codec = specs.get(*i).and_then(|s| s.get("codec")).and_then(|c| c.as_str()).unwrap_or("raw");
                    takes(l, key, codec)
                }
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// The config and network of a point: the base with `values` written into it.
    pub fn apply(&self, values: &[(&AxisKey, &toml::Value)]) -> Result<(AccelConfig, Network)> {
        let mut cfg = self.config.clone();
        // The point's network: the base, or the one a `network` axis names.
        let variant = values.iter().find(|(k, _)| **k == AxisKey::Network).map(|(_, v)| {
            let rel = v.as_str().unwrap_or_default();
            self.variants.get(rel).ok_or_else(|| anyhow!("axis `network` = {rel:?}: not loaded"))
        });
        let (origin, base_doc, files, network) = match variant.transpose()? {
            Some(v) => (&v.origin, &v.doc, &v.files, &v.network),
            None => (&self.network_origin, &self.network_doc, &self.files, &self.network),
        };
        let mut doc = base_doc.clone();
        // The codec first: setting it drops the keys the new mode does not use, which the
        // other axes may then set.
        let mut order: Vec<_> = values.iter().collect();
        order.sort_by_key(|(k, _)| !matches!(k, AxisKey::Layer { key: "codec", .. }));
        for (k, v) in order {
            match k {
                AxisKey::Config(name) => set(&mut cfg, name, (*v).clone()),
                AxisKey::Network => {}
                AxisKey::Layer { key, .. } => {
                    // A codec key reaches no layer at a point whose codec does not use it
                    // (`raw` in a product of codecs and steps): there it has no effect.
                    for i in self.layers_for(network, k, &doc) {
                        let layers = doc.get_mut("layer").and_then(|l| l.as_array_mut()).expect("checked at load");
                        let t = layers[i].as_table_mut().expect("a [[layer]] table");
                        t.insert(key.to_string(), (*v).clone());
                        if *key == "codec" {
                            let mode = v.as_str().and_then(|m| m.parse::<Mode>().ok());
                            for dep in Mode::KEYS {
                                if !mode.is_some_and(|m| m.uses(dep)) {
                                    t.remove(dep);
                                }
                            }
                        }
                    }
                }
            }
        }
        let cfg_text = toml::to_string(&cfg).context("config")?;
        let accel = AccelConfig::from_toml_str(&cfg_text, &self.config_origin)?;
        let net_text = toml::to_string(&doc).context("network")?;
        let net = parse_network(&net_text, origin, files)?;
        Ok((accel, net))
    }
}

/// Whether a layer axis `key` has an effect on layer `l` whose codec is `codec`.
fn takes(l: &cbnn::network::Layer, key: &str, codec: &str) -> bool {
    // Threshold layers have no scales to share (SPEC 6).
    let weighted = matches!(&l.op, Op::Weighted(w) if w.threshold.is_none());
    let output = match &l.op {
        Op::Weighted(w) => Some(&w.output),
        Op::MaxPool(_) => None,
    };
    let stored_coded = l.out_bits() > 1 && !matches!(output, Some(OutputFn::Accumulator));
    match key {
        "scale_group" => weighted && !matches!(output, Some(OutputFn::Accumulator)),
        "out_bits" => matches!(output, Some(OutputFn::Relu { .. })),
        "codec" => stored_coded,
        k if Mode::KEYS.contains(&k) => stored_coded && codec.parse::<Mode>().is_ok_and(|m| m.uses(k)),
        _ => false,
    }
}

fn lookup<'a>(t: &'a toml::Table, dotted: &str) -> Option<&'a toml::Value> {
    let (head, rest) = match dotted.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (dotted, None),
    };
    let v = t.get(head)?;
    match rest {
        None => Some(v),
        Some(r) => lookup(v.as_table()?, r),
    }
}

fn set(t: &mut toml::Table, dotted: &str, value: toml::Value) {
    match dotted.split_once('.') {
        None => {
            t.insert(dotted.to_string(), value);
        }
        Some((h, r)) => {
            let sub = t.entry(h.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let Some(sub) = sub.as_table_mut() {
                set(sub, r, value);
            }
        }
    }
}

fn leaf_keys(t: &toml::Table) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in t {
        match v.as_table() {
            Some(sub) => out.extend(leaf_keys(sub).into_iter().map(|s| format!("{k}.{s}"))),
            None if k != "name" => out.push(k.clone()),
            None => {}
        }
    }
    out
}
