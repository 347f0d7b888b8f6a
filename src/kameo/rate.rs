//! The request budget: never more than `requests_per_minute` (less a
//! margin) in any minute, reads spaced by `rate_limit_delay`, a pause when
//! Kameo says it is running low or answers 429, and headroom that polling
//! can never take from a bid's preview and submit.
//!
//! Two GCRA limiters (governor): `total`, which every request passes, and
//! `reads`, which only reads pass and which is set below `total`, so the
//! gap between them is always there for bids. They run on tokio's clock, so
//! tests drive them with paused time.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use tokio::time::Instant;

/// Which traffic a request belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Listing polls, balances, login: spaced, and yield to bids.
    Read,
    /// A bid's preview and submit: back to back, never starved.
    Bid,
}

/// governor's clock, reading tokio's (paused in tests) time.
#[derive(Debug, Clone)]
pub struct TokioClock {
    origin: Instant,
}

impl Clock for TokioClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

type Limiter = RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>;

/// Requests that may go back to back (a login and a few listing pages).
const TOTAL_BURST: u32 = 20;
/// The reads' own burst, smaller than the total's so bids keep headroom.
const READ_BURST: u32 = 14;
/// Of the margin-reduced budget, this many a minute are kept for bids.
const BID_RESERVE_PER_MINUTE: u32 = 6;
/// `x-ratelimit-remaining` at or below this slows reads down.
const LOW_REMAINING: u32 = 6;

/// The shared budget for one Kameo session.
pub struct RateBudget {
    clock: TokioClock,
    total: Limiter,
    reads: Limiter,
    read_gap: Duration,
    /// When the next read may start (spacing, soft slowdowns).
    next_read: Mutex<Instant>,
    /// Nothing goes out before this (429, nothing remaining).
    hold_until: Mutex<Instant>,
    /// The most requests any 60-second window can see from us.
    pub ceiling_per_minute: u32,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl RateBudget {
    /// `requests_per_minute` is the configured ceiling (≤ 60); we keep 10 %
    /// below it. `read_gap` is `rate_limit_delay`.
    pub fn new(requests_per_minute: u32, read_gap: Duration) -> Self {
        let rpm = requests_per_minute.max(1);
        let ceiling = (rpm - rpm / 10).max(1);
        // GCRA lets `burst` through at once and then one per period, so a
        // 60 s window sees at most burst + 60 s / period: keep that ≤ ceiling.
        let burst = TOTAL_BURST.min(ceiling / 2).max(1);
        let sustained = (ceiling - burst).max(1);
        let total_quota = Quota::with_period(Duration::from_secs(60) / sustained)
            .unwrap_or_else(|| Quota::per_minute(nonzero(sustained)))
            .allow_burst(nonzero(burst));
        // Reads get less than the total, burst and rate alike: whatever they
        // do, bids find room in the total limiter.
        let read_burst = READ_BURST.min(burst.saturating_sub(BID_RESERVE_PER_MINUTE / 2)).max(1);
        let read_sustained = sustained
            .saturating_sub(BID_RESERVE_PER_MINUTE)
            .max(sustained.div_ceil(2));
        let reads_quota = Quota::with_period(Duration::from_secs(60) / read_sustained)
            .unwrap_or_else(|| Quota::per_minute(nonzero(read_sustained)))
            .allow_burst(nonzero(read_burst));
        let clock = TokioClock { origin: Instant::now() };
        let now = Instant::now();
        RateBudget {
            total: RateLimiter::direct_with_clock(total_quota, clock.clone()),
            reads: RateLimiter::direct_with_clock(reads_quota, clock.clone()),
            clock,
            read_gap,
            next_read: Mutex::new(now),
            hold_until: Mutex::new(now),
            ceiling_per_minute: ceiling,
        }
    }

    /// Waits until a request in `lane` may go out, and takes its slot.
    pub async fn acquire(&self, lane: Lane) {
        // A read takes its token from the reads limiter once; if it then
        // waits for the total, it must not take a second one.
        let mut read_token = lane == Lane::Bid;
        loop {
            let hold = *lock(&self.hold_until);
            if hold > Instant::now() {
                tokio::time::sleep_until(hold).await;
                continue;
            }
            if !read_token {
                let next = *lock(&self.next_read);
                if next > Instant::now() {
                    tokio::time::sleep_until(next).await;
                    continue;
                }
                if let Err(not_until) = self.reads.check() {
                    tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
                    continue;
                }
                read_token = true;
            }
            match self.total.check() {
                Ok(()) => break,
                Err(not_until) => tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await,
            }
        }
        if lane == Lane::Read {
            let mut next = lock(&self.next_read);
            *next = (*next).max(Instant::now() + self.read_gap);
        }
    }

    /// Reads `x-ratelimit-remaining`: low → space reads out; none → hold all.
    pub fn observe_remaining(&self, remaining: u32, limit: u32) {
        let per_request = Duration::from_secs(60) / limit.max(1);
        if remaining == 0 {
            self.hold_for(per_request * 2);
        } else if remaining <= LOW_REMAINING {
            let mut next = lock(&self.next_read);
            *next = (*next).max(Instant::now() + per_request * (LOW_REMAINING + 1 - remaining));
        }
    }

    /// Holds every request for `wait` (a 429's `Retry-After`).
    pub fn hold_for(&self, wait: Duration) {
        let mut hold = lock(&self.hold_until);
        *hold = (*hold).max(Instant::now() + wait);
    }
}

/// The lock, even if a holder panicked: the value is a plain instant.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most requests in any 60-second window of `times`.
    fn busiest_minute(times: &[Duration]) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t < times[i] + Duration::from_secs(60))
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_than_the_ceiling_in_any_minute() {
        let budget = RateBudget::new(60, Duration::ZERO);
        let start = Instant::now();
        let mut times = Vec::new();
        for i in 0..200 {
            budget.acquire(if i % 7 == 0 { Lane::Bid } else { Lane::Read }).await;
            times.push(start.elapsed());
        }
        let busiest = busiest_minute(&times);
        assert!(busiest <= 54, "{busiest} requests in one minute");
        assert!(busiest >= 45, "the budget should still be used: {busiest}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_bid_is_not_starved_by_polling() {
        let budget = std::sync::Arc::new(RateBudget::new(60, Duration::ZERO));
        // Drain the read lane as fast as it goes.
        let poller = {
            let b = budget.clone();
            tokio::spawn(async move {
                loop {
                    b.acquire(Lane::Read).await;
                }
            })
        };
        tokio::time::sleep(Duration::from_secs(120)).await;
        let before = Instant::now();
        budget.acquire(Lane::Bid).await;
        budget.acquire(Lane::Bid).await;
        let waited = before.elapsed();
        poller.abort();
        assert!(waited <= Duration::from_secs(3), "preview+submit waited {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn reads_keep_their_gap_and_429_holds_everything() {
        let budget = RateBudget::new(60, Duration::from_secs(1));
        let start = Instant::now();
        budget.acquire(Lane::Read).await;
        budget.acquire(Lane::Read).await;
        assert!(start.elapsed() >= Duration::from_secs(1));
        budget.hold_for(Duration::from_secs(10));
        let held = Instant::now();
        budget.acquire(Lane::Bid).await;
        assert!(held.elapsed() >= Duration::from_secs(10));
    }

    #[tokio::test(start_paused = true)]
    async fn low_remaining_spaces_reads() {
        let budget = RateBudget::new(60, Duration::ZERO);
        budget.acquire(Lane::Read).await;
        budget.observe_remaining(1, 60);
        let before = Instant::now();
        budget.acquire(Lane::Read).await;
        assert!(before.elapsed() >= Duration::from_secs(5), "{:?}", before.elapsed());
    }
}
