//! What every program does the same way: parse arguments (one-line errors, never a usage dump on
//! bad input) and turn an error into one line on stderr and a non-zero exit.

use clap::Parser;
use std::process::ExitCode;

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
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("invalid arguments");
            let msg = first.trim_start_matches("error: ");
            eprintln!("{program}: error: {msg} (see {program} --help)");
            std::process::exit(2);
        }
    }
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
