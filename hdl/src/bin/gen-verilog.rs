//! gen-verilog: emits the Verilog of the accelerator core described by an accelerator config,
//! one module per file, with a JSON manifest of its parameters, ports and register map.
//!
//! With no arguments it generates the embedded default config into out/<name>/.

use anyhow::Result;
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

use cbnn::config::AccelConfig;
use cbnn::fsutil;
use cbnn::hw::descriptor::{act_bank_words, act_rows_words, tile_weight_words, weight_bank_words};
use cbnn_hdl::generator::manifest::Manifest;
use cbnn_hdl::generator::top::core_modules;
use cbnn_hdl::generator::verilog::join;

/// Generate the Verilog of a binary-CNN accelerator core.
#[derive(Parser)]
#[command(name = "gen-verilog", version)]
struct Args {
    /// Accelerator config (TOML); default: the embedded default config.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory; default: out/<name> (<name> from the config).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args: Args = cbnn::cli::parse_args("gen-verilog");
    cbnn::cli::run("gen-verilog", || run(args))
}

fn run(args: Args) -> Result<()> {
    let cfg = AccelConfig::load_or_default(args.config.as_deref())?;
    let modules = core_modules(&cfg)?;
    let out = args.out.unwrap_or_else(|| PathBuf::from("out").join(&cfg.name));
    let rtl = out.join("rtl");
    fsutil::create_dir(&rtl)?;
    let mut files = Vec::new();
    for m in &modules {
        let name = format!("rtl/{}.v", m.name);
        fsutil::write_atomic(&out.join(&name), m.text.as_bytes())?;
        files.push(name);
    }
    let single = format!("{}.v", cfg.name);
    fsutil::write_atomic(&out.join(&single), join(&modules).as_bytes())?;
    files.push(single);
    files.push("manifest.json".into());
    let manifest = Manifest::new(&cfg, &modules, files)?;
    let json = serde_json::to_string_pretty(&manifest)? + "\n";
    fsutil::write_atomic(&out.join("manifest.json"), json.as_bytes())?;

    let d = &manifest.derived;
    let c = &cfg;
    cbnn::outln!(
        "gen-verilog: core `{}` from {}",
        cfg.name,
        args.config.as_ref().map_or("the embedded default config".into(), |p| p.display().to_string())
    );
    cbnn::outln!(
        "  array      {} x {} PEs x {} lanes ({} binary MACs/cycle), weight-stationary",
        c.array.rows,
        c.array.cols,
        c.array.lanes,
        c.array.rows * c.array.cols * c.array.lanes
    );
    cbnn::outln!(
        "  datapath   activations <= {} bits, accumulators {} bits, multipliers {} bits, bias {} bits",
        c.datapath.act_bits,
        c.datapath.acc_bits,
        c.datapath.scale_bits,
        c.datapath.bias_bits()
    );
    cbnn::outln!(
        "  PPUs       {} (one per {} column(s)), {} scale + {} bias entries each",
        d.ppus,
        c.datapath.scale_group,
        d.scale_entries_per_ppu,
        d.bias_entries_per_ppu
    );
    cbnn::outln!(
        "  buffers    activations {} banks x {} words, weights {} banks x {} words ({} bits/word)",
        c.array.rows,
        d.act_bank_words,
        c.array.cols,
        d.weight_bank_words,
        c.array.lanes
    );
    cbnn::outln!(
        "  limits     {} channels, {} filters, {}x{} pixels, kernel {}, {} fc inputs",
        c.limits.max_channels,
        c.limits.max_filters(),
        c.limits.max_width,
        c.limits.max_width,
        c.limits.max_kernel,
        c.limits.max_fc_inputs
    );
    for note in fit_notes(&cfg) {
        cbnn::outln!("  note       {note}");
    }
    cbnn::outln!("  modules    {} distinct ({} files)", modules.len(), modules.len());
    cbnn::outln!("  ports of {}:", cfg.name);
    for p in &manifest.ports {
        cbnn::outln!("    {:<4}{:>5}  {}", p.dir, p.width, p.name);
    }
    cbnn::outln!("  registers  {} (see manifest.json for addresses and widths)", manifest.registers.len());
    cbnn::outln!("wrote {}/{{rtl/*.v, {}.v, manifest.json}}", out.display(), cfg.name);
    Ok(())
}

/// Where the generated maxima do not fit the buffers: such layers are rejected when a network is
/// mapped (with the key to raise), so the user learns it now.
fn fit_notes(cfg: &AccelConfig) -> Vec<String> {
    let m = &cfg.limits;
    let act_words = act_rows_words(cfg, m.max_channels, m.max_width, cfg.datapath.act_bits, m.max_kernel);
    let weight_words = tile_weight_words(cfg, m.max_channels, m.max_kernel);
    let mut v = Vec::new();
    if act_words > act_bank_words(cfg) {
        v.push(format!(
            "a {k}x{k} layer with {ch} {b}-bit input channels {w} pixels wide needs {act_words} words per activation bank, the buffer holds {} (buffers.act_kib)",
            act_bank_words(cfg),
            k = m.max_kernel,
            ch = m.max_channels,
            b = cfg.datapath.act_bits,
            w = m.max_width
        ));
    }
    if weight_words > weight_bank_words(cfg) {
        v.push(format!(
            "a {k}x{k} layer with {ch} input channels needs {weight_words} words per weight bank, the buffer holds {} (buffers.weight_kib)",
            weight_bank_words(cfg),
            k = m.max_kernel,
            ch = m.max_channels
        ));
    }
    v
}
