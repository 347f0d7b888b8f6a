//! Telling systemd how we are (sd_notify): READY, RELOADING, STOPPING, a
//! one-line STATUS, and the watchdog. Without `NOTIFY_SOCKET` every call is
//! a no-op; a failed notification is logged, never fatal.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;

fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(event = "api_error", error = %e, "sd_notify failed");
    }
}

pub fn ready() {
    send(&[NotifyState::Ready]);
}

pub fn stopping() {
    send(&[NotifyState::Stopping]);
}

pub fn status(line: &str) {
    send(&[NotifyState::Status(line)]);
}

/// RELOADING=1 with the monotonic time systemd wants beside it.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => {
            tracing::warn!(event = "api_error", error = %e, "no monotonic clock for RELOADING");
            send(&[NotifyState::Reloading]);
        }
    }
}

/// When the last cycle succeeded, shared with the watchdog task.
#[derive(Clone)]
pub struct Heartbeat(Arc<Mutex<Instant>>);

impl Heartbeat {
    pub fn new() -> Self {
        Heartbeat(Arc::new(Mutex::new(Instant::now())))
    }

    pub fn beat(&self) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    pub fn age(&self) -> Duration {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).elapsed()
    }
}

impl Default for Heartbeat {
    fn default() -> Self {
        Self::new()
    }
}

/// Pets systemd's watchdog at half its interval, but only while the last
/// good cycle is younger than `stale_after` (three poll intervals): a daemon
/// whose cycles keep failing or hang gets restarted.
pub fn spawn_watchdog(heartbeat: Heartbeat, stale_after: Arc<Mutex<Duration>>) -> Option<tokio::task::JoinHandle<()>> {
    let interval = sd_notify::watchdog_enabled()?;
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval / 2);
        loop {
            tick.tick().await;
            let limit = *stale_after.lock().unwrap_or_else(|p| p.into_inner());
            if heartbeat.age() <= limit {
                send(&[NotifyState::Watchdog]);
            } else {
                tracing::warn!(
                    event = "api_error",
                    stale_secs = heartbeat.age().as_secs(),
                    "no good cycle lately: not petting the watchdog"
                );
            }
        }
    }))
}
