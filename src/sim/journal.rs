//! What the simulator saw, for tests and benchmarks: every request, and
//! every bid accepted or refused, with wall-clock times. Reaction latency is
//! a submit's arrival minus its loan's `subscription_starts_at`.

use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct RequestRecord {
    pub at: OffsetDateTime,
    pub method: String,
    pub path: String,
    pub status: u16,
    /// Whether the request carried a session cookie.
    pub with_session: bool,
}

#[derive(Debug, Clone)]
pub struct BidRecord {
    /// When the submit arrived.
    pub at: OffsetDateTime,
    pub loan_id: u64,
    pub amount: u64,
    pub accepted: bool,
    /// Kameo's message when refused.
    pub reason: Option<String>,
    /// The loan's `subscription_starts_at`.
    pub loan_opened_at: Option<OffsetDateTime>,
}

impl BidRecord {
    /// Submit arrival − subscription open, when the loan was known.
    pub fn reaction_latency(&self) -> Option<time::Duration> {
        self.loan_opened_at.map(|open| self.at - open)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Journal {
    pub requests: Vec<RequestRecord>,
    pub bids: Vec<BidRecord>,
}

impl Journal {
    /// How many API responses were 429.
    pub fn too_many_requests(&self) -> usize {
        self.requests.iter().filter(|r| r.status == 429).count()
    }

    /// Reaction latencies in milliseconds of the accepted bids on loans
    /// that opened at or after `since` (earlier ones were open before the
    /// bidder was watching, so their "latency" means nothing).
    pub fn reaction_latencies_ms(&self, since: OffsetDateTime) -> Vec<f64> {
        self.bids
            .iter()
            .filter(|b| b.accepted && b.loan_opened_at.is_some_and(|o| o >= since))
            .filter_map(BidRecord::reaction_latency)
            .map(|d| d.as_seconds_f64() * 1000.0)
            .collect()
    }

    pub fn count(&self, method: &str, path_part: &str) -> usize {
        self.requests
            .iter()
            .filter(|r| r.method == method && r.path.contains(path_part))
            .count()
    }
}

/// The `q`-th quantile (0..=1) of `values`, nearest rank; None when empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(50.0));
        assert_eq!(quantile(&v, 0.99), Some(99.0));
        assert_eq!(quantile(&[7.0], 0.99), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
