//! One function per subcommand: they load what they need, do one thing, and
//! return an exit code. `main.rs` only parses and maps errors to codes.

mod config_cmd;
mod health;
mod market;
mod report;
mod run;
mod sandbox;
mod simulate;
mod totp_cmd;

use crate::cli::{Cli, Command, ConfigAction};
use crate::config::{self, EnvMap};

/// Runs the parsed command line.
pub async fn dispatch(cli: Cli) -> anyhow::Result<u8> {
    let env = config::process_env();
    match cli.command {
        Command::Config { action } => match action {
            ConfigAction::Check { config } => Ok(config_cmd::check(config.config.as_deref(), &env)),
            ConfigAction::Show { config } => config_cmd::show(config.config.as_deref(), &env),
        },
        Command::Totp { config } => totp_cmd::run(config.config.as_deref(), &env),
        Command::Run { config, once, dry_run } => run::run(config.config.as_deref(), &env, once, dry_run).await,
        Command::Sandbox {
            duration,
            speed,
            seed,
            config,
        } => sandbox::run(duration, speed, seed, config.config.as_deref()).await,
        Command::Simulate {
            listen,
            speed,
            seed,
            faults,
        } => simulate::run(listen, speed, seed, faults.as_deref()).await,
        Command::Loans { config, json } => market::loans(config.config.as_deref(), &env, json).await,
        Command::Balance { config, json } => market::balance(config.config.as_deref(), &env, json).await,
        Command::Bid {
            loan_id,
            amount,
            submit,
            config,
        } => market::bid(config.config.as_deref(), &env, loan_id, amount, submit).await,
        Command::Report { since, json, config } => report::run(config.config.as_deref(), &env, since, json),
        Command::Health { config } => health::run(config.config.as_deref(), &env),
    }
}

/// Loads the config for a command, printing warnings to stderr.
pub(crate) fn load_config(named: Option<&std::path::Path>, env: &EnvMap) -> anyhow::Result<config::Loaded> {
    let loaded = config::load(named, env)?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    Ok(loaded)
}
