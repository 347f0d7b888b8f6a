//! Fault injection: the failures a client must survive, on demand and
//! deterministic under a seed. Spec: `5xx=0.05,slow=0.02,malformed=0.01,
//! burst429=0.01,expire=600s,slow_delay=30s`: shares of API requests that
//! fail each way, session expiry every N simulated seconds, and how long a
//! slow response takes.

use std::time::Duration;

use rand::Rng;
use rand::rngs::StdRng;

use crate::config::parse_duration;

/// What to do to one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 503 before the request is handled (nothing happens).
    ServerError,
    /// The request is handled, then the answer is held back `slow_delay`.
    Slow,
    /// The request is handled, then the body is replaced with garbage.
    Malformed,
    /// 429 `Too Many Attempts.`
    TooManyRequests,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultSpec {
    pub server_error: f64,
    pub slow: f64,
    pub malformed: f64,
    pub burst_429: f64,
    /// Sessions end this long (simulated time) after login.
    pub expire_every: Option<Duration>,
    pub slow_delay: Option<Duration>,
}

impl FaultSpec {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut out = FaultSpec::default();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("fault `{part}`: expected key=value"))?;
            let share = || -> Result<f64, String> {
                let v: f64 = value
                    .parse()
                    .map_err(|_| format!("fault {key}: `{value}` is not a number"))?;
                if (0.0..=1.0).contains(&v) {
                    Ok(v)
                } else {
                    Err(format!("fault {key}: {v} is not between 0 and 1"))
                }
            };
            match key {
                "5xx" => out.server_error = share()?,
                "slow" => out.slow = share()?,
                "malformed" => out.malformed = share()?,
                "burst429" => out.burst_429 = share()?,
                "expire" => out.expire_every = Some(parse_duration(value).map_err(|e| format!("fault expire: {e}"))?),
                "slow_delay" => {
                    out.slow_delay = Some(parse_duration(value).map_err(|e| format!("fault slow_delay: {e}"))?)
                }
                other => {
                    return Err(format!(
                        "unknown fault `{other}` (5xx, slow, malformed, burst429, expire, slow_delay)"
                    ));
                }
            }
        }
        Ok(out)
    }
}

/// How many 429s a burst lasts.
const BURST_LENGTH: u32 = 3;

/// The live fault state: the spec plus one-shot faults queued by tests.
#[derive(Default)]
pub struct Faults {
    pub spec: FaultSpec,
    queued: Vec<(String, Fault)>,
    burst_left: u32,
}

impl Faults {
    pub fn new(spec: FaultSpec) -> Self {
        Faults {
            spec,
            ..Faults::default()
        }
    }

    /// Makes the next API request whose path contains `path_part` fail.
    pub fn queue(&mut self, path_part: &str, fault: Fault) {
        self.queued.push((path_part.to_string(), fault));
    }

    /// The fault for a request to `path`, if any.
    pub fn draw(&mut self, path: &str, rng: &mut StdRng) -> Option<Fault> {
        if let Some(i) = self.queued.iter().position(|(p, _)| path.contains(p.as_str())) {
            return Some(self.queued.remove(i).1);
        }
        if self.burst_left > 0 {
            self.burst_left -= 1;
            return Some(Fault::TooManyRequests);
        }
        let s = &self.spec;
        if s.server_error + s.slow + s.malformed + s.burst_429 == 0.0 {
            return None;
        }
        let x: f64 = rng.random();
        let mut edge = s.server_error;
        if x < edge {
            return Some(Fault::ServerError);
        }
        edge += s.slow;
        if x < edge {
            return Some(Fault::Slow);
        }
        edge += s.malformed;
        if x < edge {
            return Some(Fault::Malformed);
        }
        edge += s.burst_429;
        if x < edge {
            self.burst_left = BURST_LENGTH - 1;
            return Some(Fault::TooManyRequests);
        }
        None
    }

    pub fn slow_delay(&self) -> Duration {
        self.spec.slow_delay.unwrap_or(Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_a_full_spec() {
        let s = FaultSpec::parse("5xx=0.05, slow=0.02,malformed=0.01,burst429=0.01,expire=600s,slow_delay=2s").unwrap();
        assert_eq!(s.server_error, 0.05);
        assert_eq!(s.expire_every, Some(Duration::from_secs(600)));
        assert_eq!(s.slow_delay, Some(Duration::from_secs(2)));
        assert!(FaultSpec::parse("5xx=2").is_err());
        assert!(FaultSpec::parse("gremlins=0.1").is_err());
        assert!(FaultSpec::parse("5xx").is_err());
    }

    #[test]
    fn deterministic_under_a_seed() {
        let spec = FaultSpec::parse("5xx=0.2,malformed=0.2").unwrap();
        let draws = |seed| {
            let mut f = Faults::new(spec.clone());
            let mut rng = StdRng::seed_from_u64(seed);
            (0..50).map(|_| f.draw("/v1/x", &mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draws(3), draws(3));
        assert!(draws(3).iter().any(Option::is_some));
    }

    #[test]
    fn queued_faults_hit_the_named_path_once() {
        let mut f = Faults::default();
        let mut rng = StdRng::seed_from_u64(0);
        f.queue("/submit", Fault::Slow);
        assert_eq!(f.draw("/v1/loans/listing", &mut rng), None);
        assert_eq!(f.draw("/v1/bidding/1/submit", &mut rng), Some(Fault::Slow));
        assert_eq!(f.draw("/v1/bidding/1/submit", &mut rng), None);
    }
}
