//! Speed of the cycle simulator, in simulated clock cycles per wall-clock second, against the
//! event-driven simulators running the emitted Verilog of the same config on the same layer
//! (Verilator 5 and Icarus Verilog, through the co-simulation testbench with the DRAM model),
//! and against rust-hdl's own simulator; on a small and a large array. Results must be identical
//! (outputs and cycle counts) or the benchmark fails. Then a whole CIFAR-10-sized binary VGG on
//! the default config: wall-clock seconds per simulated inference.
//!
//!     cargo bench -p cbnn-explore --bench speed            # everything (about 12 minutes)
//!     cargo bench -p cbnn-explore --bench speed -- --quick # small array, no Icarus (1 minute)
//!
//! The figures go into docs/PERFORMANCE.md.

use anyhow::{bail, Context, Result};
use cbnn::network::zoo;
use clap::Parser;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cbnn::config::AccelConfig;
use cbnn::network::load_network;
use cbnn::quant::QLayer;
use cbnn::{examples, golden, reference};
use cbnn_hdl::cosim::verilog_tools::Simulator;
use cbnn_hdl::cosim::{run_layers_on, LayerCase};
use cbnn_sim::{run_layer, run_network, RunOptions, Stored, Traffic};

#[derive(Parser)]
struct Args {
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
    /// The small array only, without Icarus (which runs on the small array only anyway).
    #[arg(long)]
    quick: bool,
    /// Where the benchmark networks are written (runnable with `simulate --network`); default:
    /// out/bench in the workspace (`cargo bench` runs benchmarks in the crate's directory).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../out/bench"))]
    out: PathBuf,
}

/// One array to measure: its config and the layer's channels and size.
struct Case {
    label: &'static str,
    cfg: AccelConfig,
    channels: usize,
    hw: usize,
}

fn cases(quick: bool) -> Vec<Case> {
    let small = AccelConfig::default();
    let mut large = AccelConfig::default();
    large.array.rows = 8;
    large.array.cols = 32;
    let mut v = vec![Case { label: "small", cfg: small, channels: 128, hw: 32 }];
    if !quick {
        v.push(Case { label: "large", cfg: large, channels: 128, hw: 32 });
    }
    v
}

fn array(cfg: &AccelConfig) -> String {
    format!("{}x{}x{}", cfg.array.rows, cfg.array.cols, cfg.array.lanes)
}

/// Repeats `f` until at least `min_s` seconds have passed; returns the seconds per call.
fn per_call<T>(min_s: f64, mut f: impl FnMut() -> Result<T>) -> Result<(T, f64)> {
    let t = Instant::now();
    let mut n = 0u32;
    loop {
        let v = f()?;
        n += 1;
        if t.elapsed().as_secs_f64() >= min_s {
            return Ok((v, t.elapsed().as_secs_f64() / n as f64));
        }
    }
}

/// Writes a zoo network into `dir` (created if needed) and gives its net.toml.
fn written(dir: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    write(dir)?;
    Ok(dir.join("net.toml"))
}

/// One row of the table: simulator, cycles, wall seconds, and a note.
struct Row {
    array: String,
    simulator: String,
    cycles: u64,
    run_s: f64,
    note: String,
}

fn layer_rows(case: &Case, dir: &Path, quick: bool) -> Result<Vec<Row>> {
    let cfg = &case.cfg;
    let net_path = written(&dir.join(format!("layer_{}", case.channels)), |d| {
        zoo::write_binary_layer(d, case.channels, case.hw, 11)
    })?;
    let (net, x) = examples::load_network_and_input(Some(&net_path), Some(&net_path.with_file_name("input.npy")))?;
    let q = reference::prepare(&net, cfg, &x)?.qnet;
    let l: &QLayer = &q.layers[0];
    let want = golden::run(&q, &x).remove(0);
    let stored = Stored::new(cfg, x.clone(), q.input.bits, &q.input.codec)?;
    let (sim, s) = per_call(3.0, || run_layer(cfg, l, &stored, Traffic::Dram))?;
    if sim.stored.tensor.data != want.data {
        bail!("{}: the simulator's output differs from the golden model", case.label);
    }
    let a = array(cfg);
    let mut rows = vec![Row {
        array: a.clone(),
        simulator: "cbnn-sim (this simulator)".into(),
        cycles: sim.cycles,
        run_s: s,
        note: format!("{} MACs", l.out_shape.iter().product::<usize>() * 9 * case.channels),
    }];
    let modules = cbnn_hdl::generator::top::core_modules(cfg)?;
    let stored_x = golden::stored(&x, q.input.bits, &q.input.codec);
    // Icarus takes minutes on the small array (about 700 cycles/s) and hours on the large one.
    let sims: &[Simulator] = if quick || case.label != "small" {
        &[Simulator::Verilator]
    } else {
        &[Simulator::Verilator, Simulator::Icarus]
    };
    for &which in sims {
        let tool = if which == Simulator::Verilator { "verilator" } else { "iverilog" };
        if !cbnn::tools::runs(tool, &["--version"]) && !cbnn::tools::runs(tool, &["-V"]) {
            eprintln!("speed: {tool} is not installed (apt-get install {tool}); its row is skipped");
            continue;
        }
        eprintln!("speed: {} array, {which:?}: building and running the emitted Verilog ...", case.label);
        let (runs, timing) = run_layers_on(which, cfg, &modules, &[LayerCase::new(l, &stored_x)], Traffic::Dram)?;
        let r = &runs[0];
        if r.output.data != want.data || r.cycles != sim.cycles {
            bail!(
                "{which:?}: {} cycles and the output {} the golden model's; the simulator: {} cycles",
                r.cycles,
                if r.output.data == want.data { "equal to" } else { "differing from" },
                sim.cycles
            );
        }
        rows.push(Row {
            array: a.clone(),
            simulator: format!("{which:?} (emitted Verilog, testbench with the DRAM model)"),
            cycles: r.cycles,
            run_s: timing.run_s,
            note: format!("build {:.1} s; cycles and output identical", timing.build_s),
        });
    }
    rows.push(rust_hdl_row(cfg, sim.cycles)?);
    Ok(rows)
}

/// rust-hdl's simulator runs one rust-hdl block; the core is composed structurally from blocks
/// (hdl/src/generator/top.rs), so it cannot run whole. It runs the array's repeated block, a PE, here, and
/// the row gives what an array of R x C such PEs alone would reach: an upper bound for the core.
fn rust_hdl_row(cfg: &AccelConfig, cycles: u64) -> Result<Row> {
    use cbnn_hdl::blocks::pe::Pe;
    use rust_hdl::prelude::*;
    const L: usize = 32;
    if cfg.array.lanes as usize != L {
        bail!("the rust-hdl row is written for 32 lanes");
    }
    let n = 20_000u64;
    let mut sim = Simulation::new();
    sim.add_clock(5, |x: &mut Box<Pe<L, 8>>| x.clock.next = !x.clock.val());
    sim.add_testbench(move |mut sim: Sim<Pe<L, 8>>| {
        let mut x = sim.init()?;
        for i in 0..n {
            x.a_in.next = ((i * 2_654_435_761) & 0xffff_ffff).into();
            x.first_in.next = i % 9 == 0;
            x.wl_en.next = i % 9 == 1;
            x.wl_data.next = ((i * 40_503) & 0xffff_ffff).into();
            wait_clock_cycle!(sim, clock, x);
        }
        sim.done(x)
    });
    let mut uut = Pe::<L, 8>::default();
    uut.connect_all();
    let t = Instant::now();
    sim.run(Box::new(uut), n * 10 + 100).map_err(|e| anyhow::anyhow!("rust-hdl simulation: {e:?}"))?;
    let pe_rate = n as f64 / t.elapsed().as_secs_f64();
    let pes = (cfg.array.rows * cfg.array.cols) as f64;
    Ok(Row {
        array: array(cfg),
        simulator: "rust-hdl simulator (PE array only, projected)".into(),
        cycles,
        run_s: cycles as f64 * pes / pe_rate,
        note: format!("one PE: {pe_rate:.0} cycles/s measured over {n} cycles, / {pes} PEs"),
    })
}

fn network_rows(dir: &Path) -> Result<Vec<String>> {
    let cfg = AccelConfig::default();
    let net_path = written(&dir.join("vgg_cifar"), |d| zoo::Shape::VggHalf.write(d, 7))?;
    let net = load_network(&net_path)?;
    let (_, x) = examples::load_network_and_input(Some(&net_path), Some(&net_path.with_file_name("input.npy")))?;
    let t = Instant::now();
    let q = reference::prepare(&net, &cfg, &x)?.qnet;
    let prep = t.elapsed().as_secs_f64();
    let opts =
        |ideal, check| RunOptions { traffic: Traffic::Dram, ideal, check, probe: None, fault: None, plain: false };
    let (run, alone) = per_call(3.0, || run_network(&cfg, &q, &x, opts(false, false)))?;
    let t = Instant::now();
    run_network(&cfg, &q, &x, opts(true, true)).context("the golden check")?;
    let full = t.elapsed().as_secs_f64();
    let cycles: u64 = run.layers.iter().map(|l| l.figures.counts.cycles).sum();
    Ok(vec![
        format!("network: {} on {} ({})", net_path.display(), cfg.name, array(&cfg)),
        format!(
            "simulated cycles per inference: {cycles} ({:.2} ms at {} MHz)",
            cycles as f64 / cfg.clock.mhz / 1e3,
            cfg.clock.mhz
        ),
        format!(
            "core simulation alone (DRAM model, no check): {alone:.3} s per inference, {:.0} cycles/s",
            cycles as f64 / alone
        ),
        format!(
            "as `simulate` runs it (plus the ideal-memory run for the bound column and the golden check): {full:.3} s"
        ),
        format!("float reference and compilation: {prep:.3} s"),
    ])
}

fn main() -> Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    println!("| array | simulator | cycles | wall s | cycles/s | vs cbnn-sim | note |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for case in cases(args.quick) {
        let rows = layer_rows(&case, &args.out, args.quick)?;
        let ours = rows[0].cycles as f64 / rows[0].run_s;
        for r in &rows {
            let rate = r.cycles as f64 / r.run_s;
            println!(
                "| {} | {} | {} | {:.3} | {:.0} | {:.1}x slower | {} |",
                r.array,
                r.simulator,
                r.cycles,
                r.run_s,
                rate,
                ours / rate,
                r.note
            );
        }
    }
    println!();
    for line in network_rows(&args.out)? {
        println!("{line}");
    }
    Ok(())
}
