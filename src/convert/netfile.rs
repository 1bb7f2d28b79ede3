//! The network file of a conversion: the input network's TOML with one layer replaced (edited
//! with toml_edit, so comments, key order and every other layer stay as they were) and the files
//! the result names, gathered for a self-contained output directory.

use anyhow::{anyhow, bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path};
use toml_edit::{DocumentMut, Item, TableLike, Value};

use crate::network::{DirSource, FileSource};

/// The keys of a layer that name files (docs/FORMATS.md).
pub const FILE_KEYS: [&str; 8] = ["weights", "bias", "weight_scale", "threshold", "bank", "index", "basis", "coef"];

/// The keys of `[input]` that name files.
pub const INPUT_FILE_KEYS: [&str; 1] = ["thresholds"];

/// Names the output directory holds besides the network's files.
const RESERVED: [&str; 3] = ["net.toml", "input.npy", "report.json"];

/// A network file as text and where the files it names are read from.
pub struct Source {
    pub text: String,
    pub origin: String,
    pub files: Box<dyn FileSource>,
}

impl Source {
    /// The network file given with --network, or the embedded example.
    pub fn load(network: Option<&Path>) -> Result<Source> {
        Ok(match network {
            Some(p) => Source {
                text: crate::fsutil::read_text(p, "network file")?,
                origin: p.display().to_string(),
                files: Box::new(DirSource(p.parent().map(Path::to_path_buf).unwrap_or_default())),
            },
            None => Source {
                text: crate::examples::TINY_NET_TOML.to_string(),
                origin: crate::examples::TINY_ORIGIN.to_string(),
                files: Box::new(crate::examples::tiny_files()),
            },
        })
    }
}

/// The new network file and every file it names (relative path in the output directory, bytes).
#[derive(Debug)]
pub struct Rewritten {
    pub net_toml: String,
    pub files: Vec<(String, Vec<u8>)>,
    /// The paths of the converted layer's new files.
    pub new_files: Vec<String>,
}

/// The `[[layer]]` tables (or inline tables of a `layer = [...]` array), in order.
fn layer_tables(doc: &mut DocumentMut) -> Vec<&mut dyn TableLike> {
    match doc.get_mut("layer") {
        Some(Item::ArrayOfTables(a)) => a.iter_mut().map(|t| t as &mut dyn TableLike).collect(),
        Some(Item::Value(Value::Array(a))) => {
            a.iter_mut().filter_map(|v| v.as_inline_table_mut()).map(|t| t as &mut dyn TableLike).collect()
        }
        _ => Vec::new(),
    }
}

/// Sets a string value, keeping the comment that followed the old one.
fn set_str(t: &mut dyn TableLike, key: &str, s: &str) {
    match t.get_mut(key).and_then(Item::as_value_mut) {
        Some(v) => {
            let decor = v.decor().clone();
            *v = Value::from(s);
            *v.decor_mut() = decor;
        }
        None => {
            t.insert(key, toml_edit::value(s));
        }
    }
}

/// `rel` as a plain relative path inside the directory (`a/b.npy`), if it is one: no `..`, no root.
fn inside(rel: &str) -> Option<String> {
    let mut parts = Vec::new();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_str()?.to_string()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `name`, or `stem_2.ext`, `stem_3.ext`, ... : the first not in `used`.
fn unique(used: &BTreeSet<String>, name: &str) -> String {
    let (stem, ext) = name.rsplit_once('.').map_or((name, String::new()), |(s, e)| (s, format!(".{e}")));
    (1..)
        .map(|i| if i == 1 { name.to_string() } else { format!("{stem}_{i}{ext}") })
        .find(|n| !used.contains(n))
        .unwrap()
}

/// The files a rewritten network names, gathered into the output directory.
struct Gather<'a> {
    src: &'a Source,
    used: BTreeSet<String>,
    /// Source path -> path in the output directory.
    placed: BTreeMap<String, String>,
    files: Vec<(String, Vec<u8>)>,
}

impl Gather<'_> {
    /// Copies the file `t[key]` names (once per source path) and points the key at the copy.
    fn place(&mut self, t: &mut dyn TableLike, key: &str) -> Result<()> {
        let Some(rel) = t.get(key).and_then(Item::as_str).map(str::to_string) else { return Ok(()) };
        let target = match self.placed.get(&rel) {
            Some(target) => target.clone(),
            None => {
                let target = match inside(&rel).filter(|p| !self.used.contains(p)) {
                    Some(p) => p,
                    None => {
                        let name = Path::new(&rel).file_name().map_or("file.npy".into(), |n| n.to_string_lossy());
                        unique(&self.used, &name)
                    }
                };
                let bytes = self.src.files.read(&rel).with_context(|| format!("{}: key `{key}`", self.src.origin))?;
                self.used.insert(target.clone());
                self.placed.insert(rel.clone(), target.clone());
                self.files.push((target.clone(), bytes));
                target
            }
        };
        if target != rel {
            set_str(t, key, &target);
        }
        Ok(())
    }
}

/// The network file with layer `idx` turned into a `kind` layer: `kind` set, `weights` removed,
/// `new_files` (key, .npy bytes) added as `LAYER_KEY.npy`; every file the result names read from
/// the source. Files stay at their relative paths; a path outside the network's directory
/// (absolute or with `..`) or one that clashes with net.toml, input.npy or report.json is
/// given a file name of its own in the output directory instead.
pub fn rewrite(
    src: &Source,
    idx: usize,
    kind: &str,
    new_files: &[(&str, Vec<u8>)],
    layer_name: &str,
) -> Result<Rewritten> {
    let mut doc: DocumentMut = src.text.parse().map_err(|e| anyhow!("{}: {e}", src.origin))?;
    let mut gather = Gather {
        src,
        used: RESERVED.iter().map(|s| s.to_string()).collect(),
        placed: BTreeMap::new(),
        files: Vec::new(),
    };
    if let Some(input) = doc.get_mut("input").and_then(Item::as_table_like_mut) {
        for key in INPUT_FILE_KEYS {
            gather.place(input, key)?;
        }
    }
    let mut tables = layer_tables(&mut doc);
    if idx >= tables.len() {
        bail!("{}: layer {idx} is not a [[layer]] table of the file", src.origin);
    }
    set_str(&mut *tables[idx], "kind", kind);
    tables[idx].remove("weights");
    for t in tables.iter_mut() {
        for key in FILE_KEYS {
            gather.place(&mut **t, key)?;
        }
    }
    let Gather { mut used, mut files, .. } = gather;
    let mut added = Vec::new();
    for (key, bytes) in new_files {
        let target = unique(&used, &format!("{layer_name}_{key}.npy"));
        used.insert(target.clone());
        set_str(&mut *tables[idx], key, &target);
        files.push((target.clone(), bytes.clone()));
        added.push(target);
    }
    Ok(Rewritten { net_toml: doc.to_string(), files, new_files: added })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::EmbeddedSource;

    const NET: &str = r#"# a comment that stays
[input]
shape = [4, 8, 8]
bits = 8

[[layer]]
name = "c1"
kind = "conv"   # the layer to convert
out_channels = 2
kernel = 3
weights = "w/c1.npy"
bias = "../shared/b.npy"

[[layer]]
kind = "conv"
out_channels = 2
kernel = 1
weights = "input.npy"
"#;

    fn source() -> Source {
        let files: &[(&'static str, &'static [u8])] =
            &[("w/c1.npy", b"W1"), ("../shared/b.npy", b"B"), ("input.npy", b"W2")];
        Source {
            text: NET.into(),
            origin: "net.toml".into(),
            files: Box::new(EmbeddedSource(files.iter().copied().collect())),
        }
    }

    #[test]
    fn one_layer_replaced_everything_else_kept_and_every_file_inside() {
        let r = rewrite(&source(), 0, "slbf", &[("bank", b"BANK".to_vec()), ("index", b"IDX".to_vec())], "c1").unwrap();
        let doc: toml::Table = toml::from_str(&r.net_toml).unwrap();
        let layers = doc["layer"].as_array().unwrap();
        let l0 = layers[0].as_table().unwrap();
        assert_eq!(l0["kind"].as_str(), Some("slbf"));
        assert!(!l0.contains_key("weights"));
        assert_eq!(l0["bank"].as_str(), Some("c1_bank.npy"));
        assert_eq!(l0["index"].as_str(), Some("c1_index.npy"));
        // Outside the directory: its own file name; clashing with input.npy: renamed.
        assert_eq!(l0["bias"].as_str(), Some("b.npy"));
        assert_eq!(layers[1]["weights"].as_str(), Some("input_2.npy"));
        assert!(r.net_toml.starts_with("# a comment that stays\n"));
        assert!(r.net_toml.contains("kind = \"slbf\"   # the layer to convert"), "{}", r.net_toml);
        let names: Vec<&str> = r.files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["b.npy", "input_2.npy", "c1_bank.npy", "c1_index.npy"]);
        assert_eq!(r.new_files, ["c1_bank.npy", "c1_index.npy"]);
    }

    #[test]
    fn a_layer_keeping_its_weights_keeps_their_path() {
        let r = rewrite(&source(), 1, "penni", &[("basis", vec![]), ("coef", vec![])], "conv1").unwrap();
        let doc: toml::Table = toml::from_str(&r.net_toml).unwrap();
        assert_eq!(doc["layer"][0]["weights"].as_str(), Some("w/c1.npy"));
        assert_eq!(r.files[0], ("w/c1.npy".to_string(), b"W1".to_vec()));
    }
}
