//! `simulate`: the simulator alone, on fixed ports, until Ctrl-C or SIGTERM.

use std::net::SocketAddr;

use anyhow::Context;

use crate::exit;
use crate::sim::{DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOTP_SECRET, FaultSpec, SimOptions, Simulator};

pub async fn run(listen: SocketAddr, speed: u32, seed: Option<u64>, faults: Option<&str>) -> anyhow::Result<u8> {
    if speed == 0 {
        return Err(exit::UsageError("--speed must be at least 1".into()).into());
    }
    let faults = match faults {
        Some(spec) => FaultSpec::parse(spec).map_err(|e| exit::UsageError(format!("--faults: {e}")))?,
        None => FaultSpec::default(),
    };
    // The web host takes the port after the API's (any free one for port 0).
    let web_listen = match listen.port() {
        0 => listen,
        p => SocketAddr::new(
            listen.ip(),
            p.checked_add(1)
                .context("--listen: no port after it for the web host")?,
        ),
    };
    let seed = seed.unwrap_or_else(crate::kameo::totp::unix_now);
    let sim = Simulator::start(SimOptions {
        speed,
        seed,
        faults,
        api_listen: listen,
        web_listen,
        ..SimOptions::default()
    })
    .await
    .with_context(|| format!("cannot listen on {listen} and {web_listen}"))?;

    println!("Kameo simulator (seed {seed}, speed {speed}x)");
    println!("  api_url = \"{}\"", sim.api_url());
    println!("  web_url = \"{}\"", sim.web_url());
    println!("  demo account: email {DEMO_EMAIL}, password {DEMO_PASSWORD}, TOTP secret {DEMO_TOTP_SECRET}");
    println!("  (simulator-only credentials; stop with Ctrl-C)");

    wait_for_stop().await?;
    sim.shutdown().await;
    Ok(exit::OK)
}

async fn wait_for_stop() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.context("cannot watch Ctrl-C"),
        _ = term.recv() => Ok(()),
    }
}
