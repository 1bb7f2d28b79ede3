//! golden: runs a network through the golden model (docs/SPEC.md) and the float32 reference.
//!
//! With no arguments it runs the embedded example network on its embedded input.

use anyhow::Result;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn::network::{Network, ACC_BITS};
use cbnn::npyio;
use cbnn::quant::{QLayer, QOp};
use cbnn::tensor::Tensor3;
use cbnn::{fsutil, golden, reference};

/// Run a binary-CNN network through the bit-exact golden model.
#[derive(Parser)]
#[command(name = "golden", version)]
struct Args {
    #[command(flatten)]
    inputs: cbnn::cli::RunInputs,
    /// Output directory.
    #[arg(long, default_value = "out/golden")]
    out: PathBuf,
    /// Also write every layer's output as DIR/layers/NN_NAME.npy.
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

/// SQNR for multi-bit and accumulator outputs, sign agreement for binary ones.
fn fidelity(l: &QLayer, out: &Tensor3<i32>, reference: &Tensor3<f32>) -> (String, Option<f64>) {
    if l.out_bits == 1 {
        let agree = out.data.iter().zip(&reference.data).filter(|(&q, &r)| (q > 0) == (r >= 0.0)).count();
        let pct = 100.0 * agree as f64 / out.data.len() as f64;
        (format!("sign agreement {pct:.1}%"), Some(pct))
    } else {
        let deq = reference::dequantise(l, out);
        let s = reference::sqnr_db(&reference.data, &deq.data);
        if s.is_infinite() {
            // JSON has no infinity: the report says null, the table says why.
            ("SQNR exact (no error)".to_string(), None)
        } else {
            (format!("SQNR {s:.1} dB"), Some(s))
        }
    }
}

fn run(args: Args) -> Result<()> {
    let (cfg, net, input) = args.inputs.load()?;
    // Output directories first: a bad --out fails before any work or note, and no write below
    // can fail for a missing directory after some files were written.
    fsutil::create_dir(&args.out)?;
    let layers_dir = args.out.join("layers");
    if args.dump_layers {
        fsutil::create_dir(&layers_dir)?;
    }
    let prepared = reference::prepare(&net, &cfg, &input)?;
    prepared.print_notes("golden");
    let (float_outs, qnet) = (prepared.float_outs, prepared.qnet);
    let outs = golden::run(&qnet, &input);

    let out_path = npyio::write_run_outputs(&args.out, &qnet.layers, &outs, args.dump_layers.then_some(&*layers_dir))?;

    let reports: Vec<LayerReport> = qnet
        .layers
        .iter()
        .zip(&net.layers)
        .zip(&outs)
        .zip(&float_outs)
        .map(|(((l, nl), o), r)| {
            let (fidelity, fidelity_value) = fidelity(l, o, r);
            let kind = nl.kind_name();
            LayerReport {
                name: l.name.clone(),
                kind,
                shape: l.out_shape,
                bits: l.out_bits,
                detail: describe(l),
                fidelity,
                fidelity_value,
            }
        })
        .collect();
    let report_json = serde_json::json!({
        "network": net.origin,
        "output": out_path.display().to_string(),
        "layers": reports.iter().map(|r| serde_json::json!({
            "name": r.name, "kind": r.kind, "shape": r.shape, "bits": r.bits,
            "detail": r.detail, "fidelity": r.fidelity_value,
        })).collect::<Vec<_>>(),
    });
    fsutil::write_atomic(&args.out.join("report.json"), serde_json::to_string_pretty(&report_json)?.as_bytes())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report_json)?);
    } else {
        print_table(&net, &reports, &args.out, args.dump_layers);
    }
    Ok(())
}

fn print_table(net: &Network, reports: &[LayerReport], out: &Path, dumped: bool) {
    println!("golden model: {} ({} layers)", net.origin, reports.len());
    let header = ["layer", "kind", "output CHW", "bits", "parameters", "vs float32 reference"];
    println!("{:<10} {:<8} {:<14} {:>4}  {:<58} {}", header[0], header[1], header[2], header[3], header[4], header[5]);
    for r in reports {
        let shape = format!("{}x{}x{}", r.shape[0], r.shape[1], r.shape[2]);
        println!("{:<10} {:<8} {:<14} {:>4}  {:<58} {}", r.name, r.kind, shape, r.bits, r.detail, r.fidelity);
    }
    println!("wrote {}", out.join("output.npy").display());
    println!("wrote {}", out.join("report.json").display());
    if dumped {
        println!("wrote every layer's output to {}/ (NN_LAYERNAME.npy)", out.join("layers").display());
    }
}
