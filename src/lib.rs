//! kameo-bot: a daemon that invests on Kameo (kameo.se) for one person.
//!
//! The modules, and why each exists:
//! - [`cli`]: the command line, a public interface that scripts depend on.
//! - [`commands`]: one function per subcommand, so `main.rs` stays thin.
//! - [`config`]: layered, validated settings; one path for start and reload.
//! - [`daemon`]: the schedule, the bidding cycle, signals, reload, sd_notify.
//! - [`exit`]: sysexits codes and which error means which.
//! - [`kameo`]: the only code that speaks HTTP to the platform.
//! - [`ledger`]: the durable record, and the source of every cap and budget.
//! - [`sim`]: a faithful Kameo simulator on 127.0.0.1 for tests and the demo.
//! - [`strategy`]: the pure decision: bid or skip, how much, and why.
//! - [`telemetry`]: structured logs with stable event names, secrets kept out.
#![forbid(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod daemon;
pub mod exit;
pub mod kameo;
pub mod ledger;
pub mod sim;
pub mod strategy;
pub mod telemetry;
