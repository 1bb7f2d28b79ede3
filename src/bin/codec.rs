//! codec: runs the DCT-CM activation codec (docs/SPEC.md section 8) on activation dumps and says
//! how much it saves against raw storage and against zero-value compression, at what error.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cbnn::codec::report::{analyse, block_shares, ratio, sqnr_db, TensorReport};
use cbnn::codec::{BlockMode, CodecParams, Mode, RecordCheck};
use cbnn::config::AccelConfig;
use cbnn::fsutil;
use cbnn::npyio::{self, Elem};
use cbnn::tensor::Tensor3;

/// Measure the DCT-CM codec on activation tensors (.npy, CHW).
#[derive(Parser)]
#[command(name = "codec", version)]
struct Args {
    /// An activation tensor (.npy, [C, H, W], uint8; int8 ±1 with --bits 1), or a folder of them.
    #[arg(long)]
    input: PathBuf,
    /// Codec mode (SPEC 8.4, 8.8): auto picks the cheapest of zero/sparse/raw/dct per block;
    /// golomb quantises values by --step and codes the non-zero ones (lossless at step 1).
    #[arg(long, default_value = "auto")]
    mode: Mode,
    /// Quantisation step of dct coefficients and golomb values: a power of two in 1..=128.
    #[arg(long, default_value_t = 1)]
    step: u32,
    /// Low-frequency dct coefficients kept, 1..=N (default N).
    #[arg(long)]
    keep: Option<usize>,
    /// Exp-Golomb order of dct magnitudes and golomb values, 0..=7 (for golomb about
    /// 5 - log2(step) is best on real activations, docs/CODEC.md).
    #[arg(long, default_value_t = 2)]
    eg: u32,
    /// Record check (SPEC 8.9): crc8 ends every record with a CRC-8 byte, so that a corrupt
    /// record is rejected instead of decoded; none or crc8.
    #[arg(long, default_value = "none")]
    check: RecordCheck,
    /// Bits per activation value, 1..=8 (values must be below 2^bits).
    #[arg(long, default_value_t = 8)]
    bits: u32,
    /// Accelerator config giving the block length N (codec.block) and the segment S (array.cols);
    /// default: the embedded default config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Write DIR/NAME.bin (the bitstream) and DIR/NAME.rec.npy (the decoded tensor) per input.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("codec");
    cbnn::cli::run("codec", || run(args))
}

fn run(args: Args) -> Result<()> {
    let cfg = AccelConfig::load_or_default(args.config.as_deref())?;
    let block = cfg.codec.block as usize;
    let p = CodecParams {
        block,
        mode: args.mode,
        step: args.step,
        keep: args.keep.unwrap_or(block),
        eg_order: args.eg,
        segment: cfg.segment() as usize,
        check: args.check,
    };
    p.validate(args.bits).map_err(|e| anyhow::anyhow!("bad codec options: {}", options_named(&e)))?;

    // Read and check every input before writing anything.
    let inputs = input_files(&args.input)?;
    let tensors: Vec<(String, Tensor3<i32>)> =
        inputs.iter().map(|path| Ok((stem(path)?, load_tensor(path, args.bits)?))).collect::<Result<_>>()?;
    if let Some(dir) = &args.out {
        fsutil::create_dir(dir)?;
    }

    let mut reports = Vec::new();
    for (name, t) in &tensors {
        let (r, enc, rec) = analyse(name, t, args.bits, &p);
        if let Some(dir) = &args.out {
            fsutil::write_atomic(&dir.join(format!("{name}.bin")), &enc.bytes)?;
            let dtype = if args.bits == 1 { Elem::I8 } else { Elem::U8 };
            fsutil::write_atomic(&dir.join(format!("{name}.rec.npy")), &npyio::activations_to_npy(&rec, dtype))?;
        }
        reports.push(r);
    }
    let total = Total::of(&reports);
    if args.json {
        let json = serde_json::json!({
            "params": { "block": p.block, "segment": p.segment, "mode": p.mode, "step": p.step,
                        "keep": p.keep, "eg_order": p.eg_order, "check": p.check, "bits": args.bits },
            "tensors": reports.iter().map(tensor_json).collect::<Vec<_>>(),
            "total": total.json(),
        });
        cbnn::outln!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print_table(&p, args.bits, &reports, &total);
        if let Some(dir) = &args.out {
            cbnn::outln!("wrote {} bitstreams and reconstructions to {}", reports.len(), dir.display());
        }
    }
    Ok(())
}

/// Rewrites the library's field names ("codec step = 3 ...") as the program's options.
fn options_named(e: &str) -> String {
    e.replace("codec step", "--step")
        .replace("codec keep", "--keep")
        .replace("codec eg_order", "--eg")
        .replace("codec mode", "--mode")
        .replace("activation bits", "--bits")
}

/// The .npy files to read: the file itself, or a folder's `*.npy` files in name order.
fn input_files(path: &Path) -> Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(path).with_context(|| format!("{}: cannot read", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .with_context(|| format!("{}: cannot list folder", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "npy") && !is_reconstruction(p))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("{}: no .npy files in this folder", path.display());
    }
    Ok(files)
}

/// `NAME.rec.npy` files are this program's own output; a folder used for both is not re-read.
fn is_reconstruction(p: &Path) -> bool {
    p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".rec.npy"))
}

fn stem(path: &Path) -> Result<String> {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .with_context(|| format!("{}: not a file name", path.display()))
}

/// Loads a `[C, H, W]` activation tensor of `bits`-bit values, naming the file in every error.
fn load_tensor(path: &Path, bits: u32) -> Result<Tensor3<i32>> {
    let bytes = npyio::read_file(path)?;
    let elem = if bits == 1 { Elem::I8 } else { Elem::U8 };
    let at = || format!("{}", path.display());
    let a = npyio::parse_int(&bytes, elem).with_context(at)?;
    if a.shape.len() != 3 {
        let hint = if a.shape.len() == 4 && a.shape[0] == 1 { " (drop the batch dimension)" } else { "" };
        bail!("{}: expected a [C, H, W] tensor (rank 3), found shape {:?}{hint}", path.display(), a.shape);
    }
    let max = (1i64 << bits) - 1;
    if let Some((i, v)) = a.data.iter().enumerate().find(|(_, &v)| if bits == 1 { v != 1 && v != -1 } else { v > max })
    {
        let want = if bits == 1 { "-1 or +1".to_string() } else { format!("at most {max} for --bits {bits}") };
        bail!("{}: value {v} at flat index {i}: expected {want}", path.display());
    }
    let [c, h, w] = [a.shape[0], a.shape[1], a.shape[2]];
    Ok(Tensor3::from_vec(c, h, w, a.data.into_iter().map(|v| v as i32).collect()))
}

/// Sums over all tensors; the ratio and SQNR pooled (bytes and energies added), plus the mean of
/// the per-tensor ratios (the figure papers usually quote).
struct Total {
    raw: u64,
    coded: u64,
    zvc: u64,
    zvc_records: u64,
    /// Tensors that coded to more bytes than ZVC.
    above_zvc: usize,
    signal: f64,
    error: f64,
    blocks: [u64; 5],
    mean_ratio: f64,
}

impl Total {
    fn of(reports: &[TensorReport]) -> Total {
        let mut t = Total {
            raw: 0,
            coded: 0,
            zvc: 0,
            zvc_records: 0,
            above_zvc: 0,
            signal: 0.0,
            error: 0.0,
            blocks: [0; 5],
            mean_ratio: 0.0,
        };
        for r in reports {
            t.raw += r.raw_bytes;
            t.coded += r.coded_bytes;
            t.zvc += r.zvc_bytes;
            t.zvc_records += r.zvc_record_bytes;
            t.above_zvc += usize::from(r.bytes_over_zvc() > 0);
            t.signal += r.signal_energy;
            t.error += r.error_energy;
            for (a, b) in t.blocks.iter_mut().zip(r.blocks) {
                *a += b;
            }
            t.mean_ratio += r.ratio() / reports.len() as f64;
        }
        t
    }

    fn ratio(&self) -> f64 {
        ratio(self.raw, self.coded)
    }

    fn ratio_vs_zvc(&self) -> f64 {
        ratio(self.zvc, self.coded)
    }

    fn bytes_over_zvc(&self) -> i64 {
        self.coded as i64 - self.zvc as i64
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "raw_bytes": self.raw, "coded_bytes": self.coded, "zvc_bytes": self.zvc,
            "zvc_record_bytes": self.zvc_records, "bytes_over_zvc": self.bytes_over_zvc(),
            "tensors_above_zvc": self.above_zvc,
            "ratio": self.ratio(), "ratio_vs_zvc": self.ratio_vs_zvc(),
            "mean_ratio": self.mean_ratio,
            "sqnr_db": sqnr_db(self.signal, self.error), "exact": self.error == 0.0,
            "block_share": per_mode_json(&block_shares(&self.blocks)),
        })
    }
}

/// `{"zero": x[0], "sparse": x[1], ...}`: one entry per block mode.
fn per_mode_json<T: Into<serde_json::Value> + Copy>(x: &[T; 5]) -> serde_json::Value {
    BlockMode::ALL.iter().map(|m| (m.as_str(), x[m.index()])).collect()
}

fn tensor_json(r: &TensorReport) -> serde_json::Value {
    serde_json::json!({
        "name": r.name, "shape": r.shape, "bits": r.bits,
        "raw_bytes": r.raw_bytes, "coded_bytes": r.coded_bytes, "zvc_bytes": r.zvc_bytes,
        "zvc_record_bytes": r.zvc_record_bytes, "bytes_over_zvc": r.bytes_over_zvc(),
        "ratio": r.ratio(), "ratio_vs_zvc": r.ratio_vs_zvc(),
        "entropy_bits_per_value": r.entropy_bits, "entropy_bound_ratio": r.entropy_ratio(),
        "sqnr_db": r.sqnr_db(), "exact": r.sqnr_db().is_none(), "max_abs_error": r.max_abs_error,
        "blocks": per_mode_json(&r.blocks),
        "block_share": per_mode_json(&block_shares(&r.blocks)),
    })
}

fn fmt_sqnr(db: Option<f64>) -> String {
    match db {
        None => "exact".to_string(),
        Some(v) => format!("{v:.1}"),
    }
}

fn fmt_shares(blocks: &[u64; 5]) -> String {
    block_shares(blocks).iter().map(|s| format!("{:>6.1}", 100.0 * s)).collect::<Vec<_>>().join(" ")
}

fn print_table(p: &CodecParams, bits: u32, reports: &[TensorReport], total: &Total) {
    cbnn::outln!(
        "codec: mode {} step {} keep {} eg {} check {} | N = {} channels per block, S = {} channels per record, {bits}-bit values",
        p.mode, p.step, p.keep, p.eg_order, p.check, p.block, p.segment
    );
    let name_w = reports.iter().map(|r| r.name.len()).max().unwrap_or(0).max(6);
    cbnn::outln!(
        "{:<name_w$} {:>14} {:>10} {:>10} {:>7} {:>10} {:>8} {:>8} {:>8}   block share %: {}",
        "tensor",
        "shape",
        "raw B",
        "coded B",
        "ratio",
        "ZVC B",
        "over ZVC",
        "H0 bound",
        "SQNR dB",
        BlockMode::ALL.map(|m| format!("{:>6}", m.as_str())).join(" ")
    );
    for r in reports {
        let shape = format!("{}x{}x{}", r.shape[0], r.shape[1], r.shape[2]);
        cbnn::outln!(
            "{:<name_w$} {:>14} {:>10} {:>10} {:>7.2} {:>10} {:>+8} {:>8.2} {:>8}   {:>14} {}",
            r.name,
            shape,
            r.raw_bytes,
            r.coded_bytes,
            r.ratio(),
            r.zvc_bytes,
            r.bytes_over_zvc(),
            r.entropy_ratio(),
            fmt_sqnr(r.sqnr_db()),
            "",
            fmt_shares(&r.blocks)
        );
    }
    if reports.len() > 1 {
        cbnn::outln!(
            "{:<name_w$} {:>14} {:>10} {:>10} {:>7.2} {:>10} {:>+8} {:>8} {:>8}   {:>14} {}",
            "total",
            format!("{} tensors", reports.len()),
            total.raw,
            total.coded,
            total.ratio(),
            total.zvc,
            total.bytes_over_zvc(),
            "",
            fmt_sqnr(sqnr_db(total.signal, total.error)),
            "",
            fmt_shares(&total.blocks)
        );
        cbnn::outln!("mean of the per-tensor ratios: {:.2}", total.mean_ratio);
        cbnn::outln!(
            "coded above ZVC on {} of {} tensors; ZVC in the stream's records would take {} B",
            total.above_zvc,
            reports.len(),
            total.zvc_records
        );
    }
}
