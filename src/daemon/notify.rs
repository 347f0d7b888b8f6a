//! Telling systemd how we are (sd_notify): READY, RELOADING, STOPPING, a
//! one-line STATUS, and the watchdog. Without `NOTIFY_SOCKET` every call is
//! a no-op; a failed notification is logged, never fatal, and a stuck
//! receiver never stalls the daemon (sends happen on their own thread).

use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::time::Instant;

/// One notification, owned so it can cross to the sender thread.
enum Note {
    Ready,
    Reloading,
    Stopping(SyncSender<()>),
    Status(String),
    Watchdog,
}

/// `sd_notify::notify` blocks when the socket's queue is full (a stuck
/// receiver): it runs on its own thread, in order, never on the runtime.
fn sender() -> &'static Mutex<Option<Sender<Note>>> {
    static SENDER: OnceLock<Mutex<Option<Sender<Note>>>> = OnceLock::new();
    SENDER.get_or_init(|| {
        if std::env::var_os("NOTIFY_SOCKET").is_none() {
            return Mutex::new(None); // not under systemd: all silent
        }
        let (tx, rx) = mpsc::channel::<Note>();
        let spawned = std::thread::Builder::new().name("sd-notify".into()).spawn(move || {
            for note in rx {
                let result = match &note {
                    Note::Ready => sd_notify::notify(&[NotifyState::Ready]),
                    Note::Reloading => match NotifyState::monotonic_usec_now() {
                        Ok(now) => sd_notify::notify(&[NotifyState::Reloading, now]),
                        Err(_) => sd_notify::notify(&[NotifyState::Reloading]),
                    },
                    Note::Stopping(_) => sd_notify::notify(&[NotifyState::Stopping]),
                    Note::Status(line) => sd_notify::notify(&[NotifyState::Status(line)]),
                    Note::Watchdog => sd_notify::notify(&[NotifyState::Watchdog]),
                };
                if let Err(e) = result {
                    tracing::warn!(event = "api_error", error = %e, "sd_notify failed");
                }
                if let Note::Stopping(done) = note {
                    let _ = done.send(());
                }
            }
        });
        match spawned {
            Ok(_) => Mutex::new(Some(tx)),
            Err(e) => {
                tracing::warn!(event = "api_error", error = %e, "no sd_notify thread: notifications off");
                Mutex::new(None)
            }
        }
    })
}

fn send(note: Note) {
    if let Some(tx) = sender().lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        let _ = tx.send(note);
    }
}

pub fn ready() {
    send(Note::Ready);
}

/// STOPPING=1, waiting (briefly) until it is out: the process ends next.
pub fn stopping() {
    let (done, sent) = mpsc::sync_channel(1);
    send(Note::Stopping(done));
    let _ = sent.recv_timeout(Duration::from_secs(2));
}

pub fn status(line: &str) {
    send(Note::Status(line.to_string()));
}

/// RELOADING=1 with the monotonic time systemd wants beside it.
pub fn reloading() {
    send(Note::Reloading);
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
                send(Note::Watchdog);
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
