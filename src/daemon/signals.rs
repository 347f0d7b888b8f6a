//! Signals as intents. One task turns SIGTERM/SIGINT/SIGHUP into
//! [`Intent`]s on a channel the daemon's loop selects on, so the loop never
//! deals with signal numbers and tests can send intents without signals.

use futures::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;
use tokio::sync::mpsc;

/// What the operator (or systemd) asks of the daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Finish what is in flight, then exit.
    Shutdown,
    /// Read the config again and apply what changed.
    Reload,
}

/// Starts the signal task; intents arrive on the returned receiver.
pub fn listen() -> std::io::Result<mpsc::Receiver<Intent>> {
    let mut signals = Signals::new([SIGHUP, SIGTERM, SIGINT])?;
    let (tx, rx) = mpsc::channel(8);
    tokio::spawn(async move {
        while let Some(signal) = signals.next().await {
            let intent = match signal {
                SIGHUP => Intent::Reload,
                _ => Intent::Shutdown,
            };
            if tx.send(intent).await.is_err() {
                break; // the daemon is gone
            }
        }
    });
    Ok(rx)
}
