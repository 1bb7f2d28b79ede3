//! import: a trained binary network in QONNX (Brevitas, the qonnx package) to a network directory
//! that golden, simulate, sweep and convert run unchanged; mapped exactly onto docs/SPEC.md and
//! checked against the model's own float32 computation on a batch of images.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn::config::AccelConfig;
use cbnn::import::{self, report, Options};
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;

/// Import a QONNX model with 1-bit weights as a network directory, checked against the model.
#[derive(Parser)]
#[command(name = "import", version)]
struct Args {
    /// The model (.onnx, QONNX as Brevitas or the qonnx package write it).
    model: PathBuf,
    /// Output directory (default: out/import/MODEL_NAME).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Accelerator config the network must fit (default: the embedded default config).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Images to check the import on: uint8 pixels, [N, C, H, W] or [C, H, W] (default: seeded
    /// synthetic images).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Labels of --input's images (integers, [N]): the report gives both top-1 accuracies.
    #[arg(long, requires = "input")]
    labels: Option<PathBuf>,
    /// The model's input is pixel / D in float32 (255: images scaled to [0, 1]).
    #[arg(long, value_name = "D", default_value_t = 255.0, value_parser = positive_f32)]
    pixel_divisor: f32,
    /// Synthetic images to check on without --input.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    synthetic: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn positive_f32(s: &str) -> std::result::Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?}: expected a positive number")),
    }
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("import");
    cbnn::cli::run("import", || run(args))
}

/// uint8 images, `[N, C, H, W]` or one `[C, H, W]`.
fn load_images(path: &Path) -> Result<Vec<Tensor3<i32>>> {
    let what = || format!("{}: --input", path.display());
    let a = npyio::parse_int(&npyio::read_file(path)?, Elem::U8).with_context(what)?;
    let (n, chw) = match a.shape.as_slice() {
        [n, c, h, w] => (*n, [*c, *h, *w]),
        [c, h, w] => (1, [*c, *h, *w]),
        other => bail!("{}: expected uint8 images [N, C, H, W] or [C, H, W], found shape {other:?}", what()),
    };
    if n == 0 {
        bail!("{}: no images (N = 0)", what());
    }
    let per = chw.iter().product::<usize>();
    Ok(a.data
        .chunks(per)
        .map(|c| Tensor3::from_vec(chw[0], chw[1], chw[2], c.iter().map(|&v| v as i32).collect()))
        .collect())
}

fn load_labels(path: &Path, n: usize) -> Result<Vec<usize>> {
    let what = || format!("{}: --labels", path.display());
    let a = npyio::parse_int(&npyio::read_file(path)?, Elem::AnyInt).with_context(what)?;
    if a.shape != [n] {
        bail!("{}: expected shape [{n}] (one label per image of --input), found {:?}", what(), a.shape);
    }
    if let Some((i, v)) = a.data.iter().enumerate().find(|(_, &v)| v < 0) {
        bail!("{}: label {i} is {v}; expected class indices >= 0", what());
    }
    Ok(a.data.iter().map(|&v| v as usize).collect())
}

fn is_import_output(dir: &Path) -> bool {
    std::fs::read(dir.join("report.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["program"] == "import")
}

fn run(args: Args) -> Result<()> {
    let cfg = AccelConfig::load_or_default(args.config.as_deref())?;
    let out = args.out.clone().unwrap_or_else(|| {
        let stem = args.model.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or("model".into());
        PathBuf::from("out/import").join(stem)
    });
    // A directory that is not an earlier import's output is refused before any work.
    cbnn::fsutil::check_replace(&out, is_import_output)?;
    let images = match &args.input {
        Some(p) => Some((load_images(p)?, p.display().to_string())),
        None => None,
    };
    let labels = match (&args.labels, &images) {
        (Some(p), Some((imgs, _))) => Some(load_labels(p, imgs.len())?),
        _ => None,
    };
    let opts = Options { divisor: args.pixel_divisor, images, labels, synthetic: args.synthetic as usize };
    let imp = import::import(&args.model, &cfg, &opts)?;
    let dir = out.display().to_string();
    let report = report::json(&imp, &dir);
    cbnn::fsutil::replace_dir(&out, is_import_output, |d| {
        let write = |rel: &str, bytes: &[u8]| -> Result<()> {
            std::fs::write(d.join(rel), bytes).with_context(|| format!("{}: cannot write", d.join(rel).display()))
        };
        write("net.toml", imp.files.toml.as_bytes())?;
        for (rel, bytes) in &imp.files.files {
            write(rel, bytes)?;
        }
        write("input.npy", &npyio::activations_to_npy(&imp.first_image, Elem::U8))?;
        write("report.json", serde_json::to_string_pretty(&report)?.as_bytes())
    })?;
    if args.json {
        cbnn::outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        cbnn::out!("{}", report::table(&imp, &dir));
        cbnn::outln!(
            "wrote {dir}/net.toml, input.npy (the first image checked), report.json and {} .npy files",
            imp.files.files.len()
        );
    }
    Ok(())
}
