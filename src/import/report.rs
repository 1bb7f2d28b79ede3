//! What an import prints and writes to report.json: how the input and every layer map, what is
//! exact and what only up to float32 rounding (with the margins measured), and the check.

use serde_json::{json, Value as Json};
use std::fmt::Write as _;

use super::lower::{LayerKind, OutMap};
use super::Imported;

fn shape(s: [usize; 3]) -> String {
    format!("{}x{}x{}", s[0], s[1], s[2])
}

/// A margin for tables: a few significant digits, or "none" when nothing is near a decision.
fn margin(m: f64) -> String {
    if m.is_finite() {
        format!("{m:.3e}")
    } else {
        "none".into()
    }
}

fn output_text(kind: &LayerKind) -> String {
    match kind {
        LayerKind::MaxPool(g) => format!("maxpool k{} s{} p{}", g.kernel, g.stride, g.padding),
        LayerKind::Weighted(w) => match &w.output {
            OutMap::Sign { .. } => "sign (threshold per filter)".into(),
            OutMap::Relu { bits, max, fixed, .. } => format!("{bits}-bit, levels 0..={max} (F = {})", fixed.shift),
            OutMap::Accumulator { weight_scale: None, .. } => "raw dots (argmax = the model's)".into(),
            OutMap::Accumulator { .. } => "raw dots, per-class affine logits".into(),
        },
    }
}

/// The JSON report (`dir` the directory written).
pub fn json(imp: &Imported, dir: &str) -> Json {
    let l = &imp.lowered;
    let i = &l.input;
    let layers: Vec<Json> = l
        .layers
        .iter()
        .zip(&imp.exact)
        .map(|(layer, exact)| {
            let mut j = json!({
                "name": layer.name,
                "nodes": layer.nodes,
                "in_shape": layer.in_shape,
                "out_shape": layer.out_shape,
                "output": output_text(&layer.kind),
            });
            if let LayerKind::Weighted(w) = &layer.kind {
                j["kind"] = json!(if w.conv.is_some() { "conv" } else { "fc" });
                j["dot_bound"] = json!(w.dot_bound);
                j["exact"] = json!(exact);
                j["negated_filters"] = json!(w.eval.negated.iter().filter(|&&n| n).count());
                j["rounding_sensitive_thresholds"] = json!(w.rounding_sensitive);
                j["margin_steps"] = if w.margin.is_finite() { json!(w.margin) } else { Json::Null };
                if let OutMap::Relu { fixed, .. } = &w.output {
                    j["shift"] = json!(fixed.shift);
                    j["inexact_filters"] = json!(fixed.exact.iter().filter(|&&e| !e).count());
                }
            } else {
                j["kind"] = json!("maxpool");
            }
            j
        })
        .collect();
    let c = &imp.check;
    json!({
        "program": "import",
        "model": imp.model_name,
        "producer": imp.model.producer,
        "opsets": imp.model.opsets.iter().map(|(d, v)| json!({"domain": d, "version": v})).collect::<Vec<_>>(),
        "quantiser_domains": imp.model.quant_domains(),
        "output": dir,
        "input": {
            "shape": i.shape,
            "pixel_divisor": i.divisor,
            "bits": i.bits,
            "step": i.step,
            "zero_point": i.zero_point,
            "nodes": i.nodes,
            "rounding_sensitive_pixels": i.rounding_sensitive,
            "margin_steps": if i.margin.is_finite() { json!(i.margin) } else { Json::Null },
        },
        "layers": layers,
        "notes": l.notes,
        "check": c,
    })
}

/// The table printed after an import.
pub fn table(imp: &Imported, dir: &str) -> String {
    let mut t = String::new();
    let l = &imp.lowered;
    let i = &l.input;
    let opsets: Vec<String> = imp.model.opsets.iter().map(|(d, v)| format!("{d:?} {v}")).collect();
    let _ = writeln!(
        t,
        "import: {} ({}; opsets {}; quantisers in {}) -> {dir}",
        imp.model_name,
        if imp.model.producer.is_empty() { "unknown producer" } else { &imp.model.producer },
        opsets.join(", "),
        imp.model.quant_domains().join(", ")
    );
    let firsts: Vec<String> = i.thresholds.iter().map(|r| r[0].to_string()).collect();
    let _ = writeln!(
        t,
        "input  {}, uint8 pixels / {} -> {} -> {}-bit activations (first threshold per channel: {}; rounding-sensitive pixel values: {}, margin {} steps)",
        shape(i.shape),
        i.divisor,
        i.nodes.join(", "),
        i.bits,
        firsts.join(", "),
        i.rounding_sensitive,
        margin(i.margin)
    );
    let _ = writeln!(t, "{:<8} {:<8} {:<22} {:<34} {:<10} ONNX nodes", "layer", "kind", "shape", "output", "exact");
    for (layer, exact) in l.layers.iter().zip(&imp.exact) {
        let kind = match &layer.kind {
            LayerKind::MaxPool(_) => "maxpool",
            LayerKind::Weighted(w) if w.conv.is_some() => "conv",
            LayerKind::Weighted(_) => "fc",
        };
        let ex = match exact {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "-",
        };
        let shapes = format!("{} -> {}", shape(layer.in_shape), shape(layer.out_shape));
        let _ = writeln!(
            t,
            "{:<8} {:<8} {:<22} {:<34} {:<10} {}",
            layer.name,
            kind,
            shapes,
            output_text(&layer.kind),
            ex,
            layer.nodes.join(", ")
        );
    }
    for n in &l.notes {
        let _ = writeln!(t, "note: {n}");
    }
    let c = &imp.check;
    let _ = writeln!(
        t,
        "check on {} ({}): top-1 agreement {:.2}% ({}/{}), largest logit difference {:.3e}",
        if c.images == 1 { "1 image".to_string() } else { format!("{} images", c.images) },
        c.source,
        100.0 * c.top1_agreement,
        c.top1_agree,
        c.images,
        c.max_logit_difference
    );
    let per: Vec<String> = c.layers.iter().map(|lc| format!("{} {}/{}", lc.layer, lc.mismatches, lc.values)).collect();
    let _ = writeln!(t, "activations that differ from the model's: {}", per.join(", "));
    if let (Some(a), Some(b)) = (c.onnx_top1_accuracy, c.golden_top1_accuracy) {
        let _ = writeln!(
            t,
            "top-1 accuracy on {} labelled images: model (float32 reference executor) {:.2}%, golden model {:.2}%",
            c.images,
            100.0 * a,
            100.0 * b
        );
    }
    t
}
