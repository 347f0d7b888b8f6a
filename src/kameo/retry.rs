//! Retries with exponential backoff and jitter, for reads and previews.
//!
//! The only file that uses the `backoff` crate, which is unmaintained
//! (RUSTSEC-2025-0012, and its `instant` dependency RUSTSEC-2024-0384): it is
//! on the design's dependency list, and keeping it here makes replacing it
//! (e.g. with `backon`) a one-file change. Submits never come here: a
//! retried submit can double a bid.

use std::future::Future;
use std::time::Duration;

use backoff::ExponentialBackoff;

use super::KameoError;

/// How many times a read is tried in all.
pub const MAX_ATTEMPTS: u32 = 4;

fn policy() -> ExponentialBackoff {
    ExponentialBackoff {
        initial_interval: Duration::from_millis(250),
        randomization_factor: 0.5,
        multiplier: 2.0,
        max_interval: Duration::from_secs(5),
        // Bounded by attempts instead: backoff's elapsed-time clock is not
        // tokio's, and tests run on paused time.
        max_elapsed_time: None,
        ..ExponentialBackoff::default()
    }
}

/// Runs `op` until it succeeds, fails for good, or has been tried
/// [`MAX_ATTEMPTS`] times. Transient errors (see
/// [`KameoError::is_transient`]) are retried; others are returned at once.
pub async fn retry_transient<T, F, Fut>(endpoint: &str, mut op: F) -> Result<T, KameoError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, KameoError>>,
{
    let mut attempt = 0u32;
    backoff::future::retry(policy(), || {
        attempt += 1;
        let this_attempt = attempt;
        let fut = op();
        async move {
            match fut.await {
                Ok(v) => Ok(v),
                Err(e) if e.is_transient() && this_attempt < MAX_ATTEMPTS => {
                    tracing::warn!(event = "api_error", endpoint, attempt = this_attempt, error = %e, "retrying");
                    Err(backoff::Error::transient(e))
                }
                Err(e) => Err(backoff::Error::permanent(e)),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn transient() -> KameoError {
        KameoError::Transient {
            endpoint: "x".into(),
            reason: "503".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_transient_errors_then_gives_up() {
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry_transient("x", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(transient()) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), MAX_ATTEMPTS);
    }

    #[tokio::test(start_paused = true)]
    async fn recovers_and_does_not_retry_permanent_errors() {
        let calls = AtomicU32::new(0);
        let r = retry_transient("x", || {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move { if n < 2 { Err(transient()) } else { Ok(n) } }
        })
        .await;
        assert_eq!(r.unwrap(), 2);

        let calls = AtomicU32::new(0);
        let r: Result<(), _> = retry_transient("x", || {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(KameoError::MissingCredentials("no".into())) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
