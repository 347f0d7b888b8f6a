//! The `kameo-bot` binary: parse, run, map the outcome to an exit code.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use kameo_bot::{cli::Cli, commands, exit};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are not errors; everything else is usage.
            let code = if e.use_stderr() { exit::USAGE } else { exit::OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match commands::dispatch(cli).await {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("kameo-bot: {e:#}");
            ExitCode::from(exit::code_for(&e))
        }
    }
}
