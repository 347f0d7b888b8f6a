//! Every non-destructive `kameo-bot` command in the README runs as written,
//! against the simulator, in the README's order. Left out: `--submit` (real
//! money), and the long-running `run` (without --once), `sandbox` and
//! `simulate` (tested in their own files).

mod common;

use std::path::Path;
use std::process::Command;

use kameo_bot::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, Scenario, ScenarioLoan, SimOptions};

/// Variables set before a command, and its arguments.
type ReadmeCommand = (Vec<(String, String)>, Vec<String>);

/// The `kameo-bot …` lines of the README's shell blocks.
fn readme_commands() -> Vec<ReadmeCommand> {
    let text = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_shell = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_shell = trimmed == "```sh";
            continue;
        }
        if !in_shell {
            continue;
        }
        let command = trimmed.split(" # ").next().unwrap_or_default().trim();
        let mut words = command.split_whitespace().peekable();
        let mut env = Vec::new();
        while let Some(w) = words.peek() {
            match w.split_once('=') {
                Some((k, v)) if k.chars().all(|c| c.is_ascii_uppercase() || c == '_') => {
                    env.push((k.to_string(), v.to_string()));
                    words.next();
                }
                _ => break,
            }
        }
        if words.next() != Some("kameo-bot") {
            continue;
        }
        let args: Vec<String> = words.map(String::from).collect();
        out.push((env, args));
    }
    out
}

fn runnable(args: &[String]) -> bool {
    let has = |flag: &str| args.iter().any(|a| a == flag);
    match args.first().map(String::as_str) {
        _ if has("--submit") => false,
        Some("sandbox" | "simulate") => false,
        Some("run") => has("--once"),
        _ => true,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_in_the_readme_runs_as_written() {
    let commands = readme_commands();
    assert!(commands.len() >= 12, "found only {} commands", commands.len());
    let open = ScenarioLoan {
        application_amount: 10_000_000,
        annual_interest_rate: 9.0,
        opens_after: -60,
        ..ScenarioLoan::new(4841, -60)
    };
    let sim = common::sim(SimOptions {
        scenario: Some(Scenario { loans: vec![open] }),
        ..SimOptions::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut ran = 0;
    for (env, args) in commands.into_iter().filter(|(_, a)| runnable(a)) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kameo-bot"));
        cmd.env_clear()
            .current_dir(root)
            .env("KAMEO_EMAIL", DEMO_EMAIL)
            .env("KAMEO_PASSWORD", DEMO_PASSWORD)
            .env("KAMEO_TOTP_SECRET", DEMO_TOTP_SECRET)
            .env("KAMEO_BASE_URL", sim.api_url())
            .env("KAMEO_WEB_URL", sim.web_url())
            .env("KAMEO_BOT__LEDGER__PATH", dir.path().join("ledger.sqlite"))
            .env("KAMEO_BOT__DAEMON__PAUSE_FILE", dir.path().join("PAUSE"))
            .env("LOG_LEVEL", "warn")
            .args(&args);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "`kameo-bot {}` failed:\n{text}",
            args.join(" ")
        );
        ran += 1;
    }
    assert!(ran >= 10, "ran only {ran}");
    assert!(
        sim.accepted_bids().is_empty(),
        "nothing in the README's runnable set spends money"
    );
    sim.shutdown().await;
}
