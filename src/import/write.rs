//! The network directory an import writes: net.toml (docs/FORMATS.md) and the .npy files it
//! names, built in memory so that the network can be loaded back and checked before anything is
//! written.

use std::fmt::Write as _;

use super::lower::{LayerKind, Lowered, OutMap};
use crate::npyio;

/// net.toml's text and the files it names (relative paths, bytes).
pub struct NetworkFiles {
    pub toml: String,
    pub files: Vec<(String, Vec<u8>)>,
}

/// A float for TOML that reads back as the same float64 (Rust prints the shortest such text).
fn real(v: f64) -> String {
    let s = format!("{v:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

pub fn network_files(l: &Lowered, model_name: &str) -> NetworkFiles {
    let mut files = Vec::new();
    let mut t = String::new();
    let _ = writeln!(t, "# Imported by `import` from {model_name}; report.json says how each layer maps.");
    let _ = writeln!(t, "# The integers (thresholds, the scales and biases SPEC 5.2 folds) reproduce the");
    let _ = writeln!(t, "# model's quantisers: edit the layers' codec keys freely, their arithmetic keys with care.");
    let i = &l.input;
    let _ = writeln!(t, "\n[input]");
    let _ = writeln!(t, "# ONNX nodes: {}", i.nodes.join(", "));
    let _ = writeln!(t, "shape = [{}, {}, {}]", i.shape[0], i.shape[1], i.shape[2]);
    let _ = writeln!(t, "bits = {}", i.bits);
    if i.bits > 1 {
        let _ = writeln!(t, "scale = {}", real(i.step));
    }
    let _ = writeln!(t, "thresholds = \"input_thresholds.npy\"   # uint8 pixels in, quantised by the host (SPEC 2.5)");
    let _ = writeln!(t, "pixel_scale = {}   # the model reads pixel / {}", real(1.0 / i.divisor as f64), i.divisor);
    let flat: Vec<i64> = i.thresholds.iter().flatten().map(|&v| v as i64).collect();
    files.push(("input_thresholds.npy".into(), npyio::i64_to_npy(&[i.shape[0], i.thresholds[0].len()], &flat)));
    for layer in &l.layers {
        let _ = writeln!(t, "\n[[layer]]");
        let _ = writeln!(t, "# ONNX nodes: {}", layer.nodes.join(", "));
        let _ = writeln!(t, "name = \"{}\"", layer.name);
        match &layer.kind {
            LayerKind::MaxPool(g) => {
                let _ = writeln!(t, "kind = \"maxpool\"");
                let _ = writeln!(t, "kernel = {}\nstride = {}\npadding = {}", g.kernel, g.stride, g.padding);
            }
            LayerKind::Weighted(w) => {
                let o = w.out_channels;
                let file = |key: &str| format!("{}_{key}.npy", layer.name);
                match w.conv {
                    Some(g) => {
                        let _ = writeln!(t, "kind = \"conv\"\nout_channels = {o}");
                        let _ = writeln!(t, "kernel = {}\nstride = {}\npadding = {}", g.kernel, g.stride, g.padding);
                        let k = g.kernel;
                        files.push((file("weights"), npyio::f32_to_npy(&[o, layer.in_shape[0], k, k], &w.signs)));
                    }
                    None => {
                        let _ = writeln!(t, "kind = \"fc\"\nout_channels = {o}");
                        files.push((file("weights"), npyio::f32_to_npy(&[o, w.signs.len() / o], &w.signs)));
                    }
                }
                let _ = writeln!(t, "weights = \"{}\"", file("weights"));
                match &w.output {
                    OutMap::Sign { threshold } => {
                        let _ = writeln!(t, "output = \"sign\"\nthreshold = \"{}\"", file("threshold"));
                        files.push((file("threshold"), npyio::i64_to_npy(&[o], threshold)));
                    }
                    OutMap::Relu { bits, max, out_scale, weight_scale, bias, .. } => {
                        let _ = writeln!(t, "output = \"relu\"\nout_bits = {bits}");
                        if *max != (1 << bits) - 1 {
                            let _ = writeln!(t, "out_max = {max}");
                        }
                        let _ = writeln!(t, "out_scale = {}", real(*out_scale));
                        let _ = writeln!(t, "weight_scale = \"{}\"\nbias = \"{}\"", file("weight_scale"), file("bias"));
                        files.push((file("weight_scale"), npyio::f64_to_npy(&[o], weight_scale)));
                        files.push((file("bias"), npyio::f64_to_npy(&[o], bias)));
                    }
                    OutMap::Accumulator { weight_scale, bias } => {
                        let _ = writeln!(t, "output = \"accumulator\"");
                        if let (Some(ws), Some(b)) = (weight_scale, bias) {
                            let _ =
                                writeln!(t, "weight_scale = \"{}\"\nbias = \"{}\"", file("weight_scale"), file("bias"));
                            files.push((file("weight_scale"), npyio::f64_to_npy(&[o], ws)));
                            files.push((file("bias"), npyio::f64_to_npy(&[o], b)));
                        }
                    }
                }
            }
        }
    }
    NetworkFiles { toml: t, files }
}
