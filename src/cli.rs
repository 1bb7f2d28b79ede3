//! What every program does the same way: parse arguments (one-line errors, never a usage dump on
//! bad input) and turn an error into one line on stderr and a non-zero exit.

use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::config::AccelConfig;
use crate::network::Network;
use crate::tensor::Tensor3;

/// The inputs of every program that runs a network (flattened into its arguments).
#[derive(clap::Args, Debug)]
pub struct RunInputs {
    /// Accelerator config (TOML); default: the embedded default config.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Network description (TOML); default: the embedded example network.
    #[arg(long)]
    pub network: Option<PathBuf>,
    /// Input tensor (.npy): one image [C, H, W] (golden and simulate also take a batch
    /// [N, C, H, W]); default: the embedded example input (only with the example network).
    #[arg(long)]
    pub input: Option<PathBuf>,
}

impl RunInputs {
    /// The config, the network and its input, each given or embedded.
    pub fn load(&self) -> anyhow::Result<(AccelConfig, Network, Tensor3<i32>)> {
        let cfg = AccelConfig::load_or_default(self.config.as_deref())?;
        let (net, x) = crate::examples::load_network_and_input(self.network.as_deref(), self.input.as_deref())?;
        Ok((cfg, net, x))
    }
}

/// The inputs of a program that runs a batch of images: those of `RunInputs` and the labels.
#[derive(clap::Args, Debug)]
pub struct BatchInputs {
    #[command(flatten)]
    pub run: RunInputs,
    /// Labels (.npy, any integer dtype, shape [N]): the class of each image of --input, for the
    /// top-1 accuracy.
    #[arg(long, value_name = "Y.npy", requires = "input")]
    pub labels: Option<PathBuf>,
}

impl BatchInputs {
    /// The config, the network and its images (one or a batch) with their labels if given.
    pub fn load(&self) -> anyhow::Result<(AccelConfig, Network, crate::batch::Batch)> {
        let cfg = AccelConfig::load_or_default(self.run.config.as_deref())?;
        let (net, mut batch) =
            crate::examples::load_network_and_batch(self.run.network.as_deref(), self.run.input.as_deref())?;
        if let Some(p) = &self.labels {
            batch = batch.with_labels(p, &net)?;
        }
        Ok((cfg, net, batch))
    }
}

/// Parses the command line; on bad arguments prints `PROGRAM: error: ...` (one line) and exits 2.
pub fn parse_args<T: Parser>(program: &str) -> T {
    match T::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                std::process::exit(0);
            }
            let text = e.render().to_string();
            let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
            let first = lines.next().unwrap_or("invalid arguments");
            let mut msg = first.trim_start_matches("error: ").to_string();
            // "the following required arguments were not provided:" names them on the next line.
            if msg.ends_with(':') {
                if let Some(next) = lines.next() {
                    msg = format!("{msg} {next}");
                }
            }
            usage_error(program, &msg)
        }
    }
}

/// A bad command line that clap could not see (e.g. an option that the other options make
/// meaningless): `PROGRAM: error: ...` (one line) and exit code 2, like `parse_args`.
pub fn usage_error(program: &str, msg: &str) -> ! {
    eprintln!("{program}: error: {msg} (see {program} --help)");
    std::process::exit(2);
}

/// Runs a program body; an error is printed as one line and gives exit code 1.
pub fn run(program: &str, body: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    match body() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: error: {}", crate::errors::one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// Set once a write to standard output has failed: later writes are skipped.
static STDOUT_GONE: AtomicBool = AtomicBool::new(false);

/// Standard output for the programs' `outln!` and `out!`. A reader that has gone away
/// (`golden | head -1`) is not the program's error: the broken pipe is ignored, the rest of the
/// printing skipped, and the program still finishes its work (its output files) and exits 0.
/// Any other write error is reported once on stderr, and the printing skipped likewise.
pub fn write_stdout(args: std::fmt::Arguments) {
    use std::io::Write;
    if STDOUT_GONE.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|_| out.flush()) {
        STDOUT_GONE.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("warning: standard output: {e}; printing stopped");
        }
    }
}

/// `println!` for the programs: see `cli::write_stdout` (a closed stdout is no panic).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::cli::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` for the programs: see `cli::write_stdout`.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::cli::write_stdout(format_args!($($arg)*))
    };
}
