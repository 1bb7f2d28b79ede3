//! golden: runs a network through the golden model (docs/SPEC.md) and the float32 reference.
//!
//! With no arguments it runs the embedded example network on its embedded input.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn::config::AccelConfig;
use cbnn::network::{load_network, Network, Op, OutputFn, ACC_BITS};
use cbnn::npyio::{self, Elem};
use cbnn::quant::{self, QLayer, QNet, QOp};
use cbnn::tensor::Tensor3;
use cbnn::{examples, fsutil, golden, reference};

/// Run a binary-CNN network through the bit-exact golden model.
#[derive(Parser)]
#[command(name = "golden", version)]
struct Args {
    /// Accelerator config (TOML); default: the embedded default config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Network description (TOML); default: the embedded example network.
    #[arg(long)]
    network: Option<PathBuf>,
    /// Input tensor (.npy, CHW); default: the embedded example input (only with the example network).
    #[arg(long)]
    input: Option<PathBuf>,
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

/// The .npy dtype of a tensor with `bits`-bit values.
fn dtype(bits: u32) -> Elem {
    match bits {
        1 => Elem::I8,
        ACC_BITS => Elem::I32,
        _ => Elem::U8,
    }
}

fn load_inputs(args: &Args) -> Result<(Network, Tensor3<i32>)> {
    let net = match &args.network {
        Some(p) => load_network(p)?,
        None => examples::tiny_network()?,
    };
    let input = match (&args.input, &args.network) {
        (Some(p), _) => {
            let bytes = npyio::read_file(p)?;
            npyio::parse_activations(&bytes, net.input.bits, net.input.shape).with_context(|| {
                format!(
                    "{}: input for [input] shape = {:?}, bits = {} of {}",
                    p.display(),
                    net.input.shape,
                    net.input.bits,
                    net.origin
                )
            })?
        }
        (None, None) => examples::tiny_input(&net)?,
        (None, Some(_)) => bail!("--input: expected an input tensor (.npy) for the network given with --network"),
    };
    Ok((net, input))
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
    let cfg = AccelConfig::load_or_default(args.config.as_deref())?;
    let (net, input) = load_inputs(&args)?;
    // Output directories first: a bad --out fails before any work or note, and no write below
    // can fail for a missing directory after some files were written.
    fsutil::create_dir(&args.out)?;
    let layers_dir = args.out.join("layers");
    if args.dump_layers {
        fsutil::create_dir(&layers_dir)?;
    }
    let float_outs = reference::run(&net, &input);
    let calib = quant::needs_calibration(&net).then(|| reference::calibrate(&net, &float_outs));
    let qnet: QNet = quant::compile(&net, &cfg, calib.as_ref())?;
    if calib.is_some() {
        // Say which steps were calibrated: they depend on this input (SPEC 6).
        for (nl, l) in net.layers.iter().zip(&qnet.layers) {
            if matches!(&nl.op, Op::Weighted(w) if matches!(w.output, OutputFn::Relu { scale: None, .. })) {
                eprintln!(
                    "golden: note: layer {}: out_scale not set, calibrated to {:.6e} on this input",
                    l.name, l.out_scale
                );
            }
        }
    }
    let outs = golden::run(&qnet, &input);

    let last = qnet.layers.last().expect("networks have at least one layer");
    let out_path = args.out.join("output.npy");
    fsutil::write_atomic(&out_path, &npyio::activations_to_npy(outs.last().unwrap(), dtype(last.out_bits)))?;
    if args.dump_layers {
        for (i, (l, t)) in qnet.layers.iter().zip(&outs).enumerate() {
            fsutil::write_atomic(
                &layers_dir.join(format!("{i:02}_{}.npy", l.name)),
                &npyio::activations_to_npy(t, dtype(l.out_bits)),
            )?;
        }
    }

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
