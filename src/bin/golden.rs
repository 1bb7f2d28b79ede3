//! golden: runs a network through the golden model (docs/SPEC.md) and the float32 reference,
//! on one image or a batch of images (in parallel, the network compiled once).
//!
//! With no arguments it runs the embedded example network on its embedded input.

use anyhow::Result;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn::batch::{self, Batch};
use cbnn::classify::Top1;
use cbnn::network::{Network, ACC_BITS};
use cbnn::quant::{QLayer, QOp};
use cbnn::{fsutil, reference};

/// Run a binary-CNN network through the bit-exact golden model.
#[derive(Parser)]
#[command(name = "golden", version)]
struct Args {
    #[command(flatten)]
    inputs: cbnn::cli::BatchInputs,
    /// Output directory.
    #[arg(long, default_value = "out/golden")]
    out: PathBuf,
    /// Also write every layer's output as DIR/layers/NN_NAME.npy (stacked [N, ...] for a batch).
    #[arg(long)]
    dump_layers: bool,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("golden");
    cbnn::cli::run("golden", || run(args))
}

struct LayerReport {
    name: String,
    kind: &'static str,
    shape: [usize; 3],
    bits: u32,
    detail: String,
    fidelity: String,
    fidelity_value: Option<f64>,
}

fn describe(l: &QLayer) -> String {
    let geometry = |g: &cbnn::network::Geometry| format!("k{} s{} p{}", g.kernel, g.stride, g.padding);
    let codec = if l.out_bits == ACC_BITS { String::new() } else { format!(" codec={}", l.codec.mode) };
    match &l.op {
        QOp::MaxPool(g) => format!("{}{codec}", geometry(g)),
        QOp::Weighted(w) => {
            let shape = match w.weights {
                cbnn::quant::QWeights::Fc { .. } => format!("{} inputs", l.in_shape.iter().product::<usize>()),
                _ => geometry(&w.geometry),
            };
            let scale = if w.output == cbnn::quant::QOutput::Accumulator {
                "raw accumulator".to_string()
            } else {
                format!("m<={} F={}", w.mult.iter().max().copied().unwrap_or(0), w.shift)
            };
            format!("{shape} G={} ({} groups) {scale} acc={}b{codec}", w.scale_group, w.mult.len(), w.acc_width)
        }
    }
}

fn run(args: Args) -> Result<()> {
    let (cfg, net, batch) = args.inputs.load()?;
    // A bad --out fails before any work; the directory is made once the work has succeeded.
    fsutil::check_out_dir(&args.out)?;
    let layers_dir = args.out.join("layers");
    // Once for the whole batch: a missing out_scale is calibrated on the first image.
    let compiled = reference::compile_once(&net, &cfg, &batch.images[0])?;
    compiled.print_notes("golden", batch.calibration_input());
    let qnet = compiled.qnet;
    let bar = batch::par::progress("golden", batch.images.len());
    let eval = batch::eval::evaluate(&net, &qnet, &batch.images, args.dump_layers, &bar)?;
    bar.finish_and_clear();

    fsutil::create_dir(&args.out)?;
    if args.dump_layers {
        fsutil::fresh_layer_dump_dir(&layers_dir)?;
    }
    let dump = args.dump_layers.then_some(&*layers_dir);
    let out_path = batch::write::outputs(&args.out, &qnet.layers, &eval.outputs, batch.stacked, dump)?;
    let predictions = batch::write::predictions(&args.out, &eval.predicted)?;
    let top1 = Top1::new(&eval.predicted, &eval.reference, batch.labels.as_deref());

    let reports: Vec<LayerReport> = qnet
        .layers
        .iter()
        .zip(&net.layers)
        .zip(&eval.fidelity)
        .map(|((l, nl), f)| {
            let (fidelity, fidelity_value) = f.describe();
            LayerReport {
                name: l.name.clone(),
                kind: nl.kind_name(),
                shape: l.out_shape,
                bits: l.out_bits,
                detail: describe(l),
                fidelity,
                fidelity_value,
            }
        })
        .collect();
    let mut report_json = serde_json::json!({
        "network": net.origin,
        "output": out_path.display().to_string(),
        "predictions": predictions.display().to_string(),
        "layers": reports.iter().map(|r| serde_json::json!({
            "name": r.name, "kind": r.kind, "shape": r.shape, "bits": r.bits,
            "detail": r.detail, "fidelity": r.fidelity_value,
        })).collect::<Vec<_>>(),
    });
    top1.add_to(&mut report_json);
    fsutil::write_atomic(&args.out.join("report.json"), serde_json::to_string_pretty(&report_json)?.as_bytes())?;
    if args.json {
        cbnn::outln!("{}", serde_json::to_string_pretty(&report_json)?);
    } else {
        print_table(&net, &batch, &reports, &top1, &args.out, args.dump_layers);
    }
    Ok(())
}

fn print_table(net: &Network, batch: &Batch, reports: &[LayerReport], top1: &Top1, out: &Path, dumped: bool) {
    let images = if batch.stacked { format!(", a batch of {} images", batch.images.len()) } else { String::new() };
    cbnn::outln!("golden model: {} ({} layers{images})", net.origin, reports.len());
    let header = ["layer", "kind", "output CHW", "bits", "parameters", "vs float32 reference"];
    cbnn::outln!(
        "{:<10} {:<8} {:<14} {:>4}  {:<58} {}",
        header[0],
        header[1],
        header[2],
        header[3],
        header[4],
        header[5]
    );
    for r in reports {
        let shape = format!("{}x{}x{}", r.shape[0], r.shape[1], r.shape[2]);
        cbnn::outln!("{:<10} {:<8} {:<14} {:>4}  {:<58} {}", r.name, r.kind, shape, r.bits, r.detail, r.fidelity);
    }
    cbnn::outln!("{}", top1.describe());
    cbnn::outln!("wrote {}", out.join("output.npy").display());
    cbnn::outln!("wrote {}", out.join("predictions.npy").display());
    cbnn::outln!("wrote {}", out.join("report.json").display());
    if dumped {
        cbnn::outln!("wrote every layer's output to {}/ (NN_LAYERNAME.npy)", out.join("layers").display());
    }
}
