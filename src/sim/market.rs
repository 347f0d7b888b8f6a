//! The simulated market: loans that are listed, open for subscription, fill
//! up with other investors' money, go to allocation ("Tilldelning") and
//! close, on a schedule compressed `speed` times.
//!
//! Every loan's life is a pure function of wall-clock time once it is
//! generated (demand arrives linearly over its open window), so the market
//! is deterministic under a seed and needs no background task: it is
//! advanced lazily whenever a request looks at it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use time::{Duration, OffsetDateTime};

/// Kameo's subscription states as the simulator serves them. Only 30
/// ("Tilldelning") was captured; the others are this simulator's convention.
pub const STATE_UPCOMING: u32 = 10;
pub const STATE_OPEN: u32 = 20;
pub const STATE_ALLOCATION: u32 = 30;
pub const STATE_CLOSED: u32 = 40;

/// One loan as the simulator knows it.
#[derive(Debug, Clone)]
pub struct SimLoan {
    pub id: u64,
    pub title: String,
    pub teaser: String,
    pub country: &'static str,
    pub currency: &'static str,
    pub application_amount: u64,
    /// Served as an integer when whole (as captured), else with decimals.
    pub annual_interest_rate: f64,
    pub duration_in_months: u32,
    pub risk_score: String,
    pub min_amount: u64,
    pub listing_date: OffsetDateTime,
    pub starts_at: OffsetDateTime,
    pub ends_at: OffsetDateTime,
    /// When allocation is done and the loan leaves the listing.
    pub closes_at: OffsetDateTime,
    /// Other investors' total demand, reached linearly by `ends_at`.
    pub other_demand: u64,
    pub book_building_minutes: u32,
}

impl SimLoan {
    pub fn state_at(&self, now: OffsetDateTime) -> u32 {
        if now < self.starts_at {
            STATE_UPCOMING
        } else if now < self.ends_at {
            STATE_OPEN
        } else if now < self.closes_at {
            STATE_ALLOCATION
        } else {
            STATE_CLOSED
        }
    }

    pub fn is_open(&self, now: OffsetDateTime) -> bool {
        self.state_at(now) == STATE_OPEN
    }

    /// Other investors' money on the loan at `now`.
    pub fn others_at(&self, now: OffsetDateTime) -> u64 {
        if now <= self.starts_at {
            return 0;
        }
        if now >= self.ends_at {
            return self.other_demand;
        }
        let elapsed = (now - self.starts_at).whole_milliseconds().max(0) as u128;
        let window = (self.ends_at - self.starts_at).whole_milliseconds().max(1) as u128;
        // Rounded down to a whole 500, as bids are.
        let raw = (self.other_demand as u128 * elapsed / window) as u64;
        raw - raw % 500
    }
}

/// A loan given by a test scenario, at offsets (real seconds) from start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioLoan {
    pub id: u64,
    #[serde(default = "default_title")]
    pub title: String,
    #[serde(default = "default_country")]
    pub country: String,
    pub application_amount: u64,
    pub annual_interest_rate: f64,
    pub duration_in_months: u32,
    pub risk_score: String,
    #[serde(default = "default_min_amount")]
    pub min_amount: u64,
    /// Seconds from start until it is listed (may be negative: listed already).
    #[serde(default)]
    pub listed_after: i64,
    /// Seconds from start until subscription opens.
    pub opens_after: i64,
    /// Seconds the subscription stays open.
    pub open_for: i64,
    /// Seconds in allocation before it leaves the listing.
    #[serde(default = "default_allocation")]
    pub allocation_for: i64,
    /// Other investors' demand over the open window.
    #[serde(default)]
    pub other_demand: u64,
}

impl ScenarioLoan {
    /// A plain open-able SEK loan: 1 MSEK, 10 %, 12 months, risk B, listed
    /// ten minutes before start, open for an hour; tweak fields from there.
    pub fn new(id: u64, opens_after: i64) -> Self {
        ScenarioLoan {
            id,
            title: format!("Loan {id}"),
            country: default_country(),
            application_amount: 1_000_000,
            annual_interest_rate: 10.0,
            duration_in_months: 12,
            risk_score: "B".into(),
            min_amount: default_min_amount(),
            listed_after: -600,
            opens_after,
            open_for: 3600,
            allocation_for: 600,
            other_demand: 0,
        }
    }
}

fn default_title() -> String {
    "Fastighetsbolag söker finansiering".into()
}
fn default_country() -> String {
    "sweden".into()
}
fn default_min_amount() -> u64 {
    500
}
fn default_allocation() -> i64 {
    3600
}

/// A fixed market for tests: exactly these loans, no random arrivals.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default, rename = "loan")]
    pub loans: Vec<ScenarioLoan>,
}

impl Scenario {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| format!("scenario: {e}"))
    }
}

/// Kameo's times are whole seconds; ours too, rounded up, so a served
/// `subscription_starts_at` is never earlier than the real opening.
pub fn ceil_second(t: OffsetDateTime) -> OffsetDateTime {
    if t.nanosecond() == 0 {
        t
    } else {
        t.replace_nanosecond(0).unwrap_or(t) + Duration::seconds(1)
    }
}

fn currency_of(country: &str) -> Option<(&'static str, &'static str)> {
    match country {
        "sweden" => Some(("sweden", "SEK")),
        "norway" => Some(("norway", "NOK")),
        "denmark" => Some(("denmark", "DKK")),
        _ => None,
    }
}

const TOWNS: [&str; 12] = [
    "Strömma, Värmdö",
    "Täby",
    "Uppsala",
    "Nacka",
    "Göteborg",
    "Malmö",
    "Västerås",
    "Oslo",
    "Bergen",
    "Aarhus",
    "Sundsvall",
    "Lidingö",
];
const PURPOSES: [&str; 5] = [
    "söker finansiering för att belåna fem markfastigheter i",
    "söker byggkreditiv för nyproduktion av radhus i",
    "söker förvärvsfinansiering av en kommersiell fastighet i",
    "söker brygglån inför försäljning av bostadsrätter i",
    "söker refinansiering av ett flerbostadshus i",
];

/// Market time (minutes at speed 1) between the pieces of a loan's life.
const MEAN_ARRIVAL_MINUTES: f64 = 40.0;
const LISTING_LEAD_MINUTES: (i64, i64) = (20, 120);
const OPEN_MINUTES: (i64, i64) = (60, 240);
const ALLOCATION_MINUTES: i64 = 60;

/// The market: loans by id, and the generator of new ones.
pub struct Market {
    pub loans: Vec<SimLoan>,
    rng: StdRng,
    speed: u32,
    next_id: u64,
    next_arrival: Option<OffsetDateTime>,
}

impl Market {
    /// A random market under `seed`, with some loans already in every state.
    pub fn generated(seed: u64, speed: u32, start: OffsetDateTime) -> Self {
        let mut market = Market {
            loans: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            speed: speed.max(1),
            next_id: 4841,
            next_arrival: None,
        };
        // A stock at start: two open, one in allocation, three upcoming soon.
        // The upcoming ones are ordinary good SEK loans, so a demo of a few
        // minutes sees a loan open and the bid that follows.
        for (listed_ago, opens_in) in [(120, -30), (90, -5), (400, -300), (10, 2), (5, 6), (30, 12)] {
            let listed = start - market.market_minutes(listed_ago);
            let opens = start + market.market_minutes(opens_in);
            market.push_random(listed, opens, opens_in > 0);
        }
        market.next_arrival = Some(start + market.arrival_gap());
        market
    }

    /// Exactly the scenario's loans, at real offsets from `start`.
    pub fn scenario(scenario: &Scenario, start: OffsetDateTime) -> Result<Self, String> {
        // Whole seconds, rounded down: an offset never lands later than asked.
        let start = start.replace_nanosecond(0).unwrap_or(start);
        let mut loans = Vec::new();
        for s in &scenario.loans {
            let (country, currency) =
                currency_of(&s.country).ok_or_else(|| format!("loan {}: unknown country `{}`", s.id, s.country))?;
            let starts_at = start + Duration::seconds(s.opens_after);
            let ends_at = starts_at + Duration::seconds(s.open_for.max(1));
            loans.push(SimLoan {
                id: s.id,
                title: s.title.clone(),
                teaser: format!("#{} | Scenario loan", s.id),
                country,
                currency,
                application_amount: s.application_amount,
                annual_interest_rate: s.annual_interest_rate,
                duration_in_months: s.duration_in_months,
                risk_score: s.risk_score.clone(),
                min_amount: s.min_amount,
                listing_date: start + Duration::seconds(s.listed_after.min(s.opens_after)),
                starts_at,
                ends_at,
                closes_at: ends_at + Duration::seconds(s.allocation_for.max(0)),
                other_demand: s.other_demand,
                book_building_minutes: (s.open_for / 60).max(1) as u32,
            });
        }
        Ok(Market {
            loans,
            rng: StdRng::seed_from_u64(0),
            speed: 1,
            next_id: 0,
            next_arrival: None,
        })
    }

    fn market_minutes(&self, minutes: i64) -> Duration {
        Duration::milliseconds(minutes * 60_000 / self.speed as i64)
    }

    fn arrival_gap(&mut self) -> Duration {
        // Exponential gaps: arrivals look like a Poisson process.
        let u: f64 = self.rng.random_range(0.05..1.0);
        let minutes = -MEAN_ARRIVAL_MINUTES * u.ln();
        Duration::milliseconds((minutes * 60_000.0 / self.speed as f64) as i64)
    }

    /// Generates the loans that arrived by `now`.
    pub fn advance(&mut self, now: OffsetDateTime) {
        while let Some(at) = self.next_arrival.filter(|at| *at <= now) {
            let lead = self.rng.random_range(LISTING_LEAD_MINUTES.0..=LISTING_LEAD_MINUTES.1);
            let opens = at + self.market_minutes(lead);
            self.push_random(at, opens, false);
            self.next_arrival = Some(at + self.arrival_gap());
        }
    }

    /// A random loan; `ordinary` makes it a plain good SEK loan (rate 9–12 %,
    /// risk A–C, 12–24 months).
    fn push_random(&mut self, listed: OffsetDateTime, opens: OffsetDateTime, ordinary: bool) {
        let rng = &mut self.rng;
        let id = self.next_id;
        self.next_id += 1;
        let (country, currency) = match rng.random_range(0..100) {
            _ if ordinary => ("sweden", "SEK"),
            0..80 => ("sweden", "SEK"),
            80..92 => ("norway", "NOK"),
            _ => ("denmark", "DKK"),
        };
        let application_amount = rng.random_range(20..=700u64) * 100_000;
        let risk = if ordinary {
            ["A", "B", "C"][rng.random_range(0..3)]
        } else {
            ["A", "B", "B", "C", "C", "C", "D", "E"][rng.random_range(0..8)]
        };
        // Whole rates half the time, as in the capture; else one decimal.
        let tenths: u32 = if ordinary {
            rng.random_range(90..=120)
        } else {
            rng.random_range(60..=140)
        };
        let rate = if rng.random_bool(0.5) {
            (tenths / 10) as f64
        } else {
            tenths as f64 / 10.0
        };
        let duration = if ordinary {
            [12, 18, 24][rng.random_range(0..3)]
        } else {
            [6, 9, 12, 12, 18, 24, 24, 36][rng.random_range(0..8)]
        };
        let demand_factor: f64 = rng.random_range(0.5..1.6);
        let other_demand = ((application_amount as f64 * demand_factor) as u64) / 500 * 500;
        let open_minutes = rng.random_range(OPEN_MINUTES.0..=OPEN_MINUTES.1);
        let town = TOWNS[rng.random_range(0..TOWNS.len())];
        let purpose = PURPOSES[rng.random_range(0..PURPOSES.len())];
        let valuation = application_amount * 2;
        let listed = ceil_second(listed);
        let starts_at = ceil_second(opens);
        let ends_at = ceil_second(starts_at + self.market_minutes(open_minutes));
        let closes_at = ceil_second(ends_at + self.market_minutes(ALLOCATION_MINUTES));
        self.loans.push(SimLoan {
            id,
            title: format!("Fastighetsbolag {purpose} {town}"),
            teaser: format!(
                "#{id} | Fastigheterna är värderade till totalt {currency} {}",
                group_thousands(valuation)
            ),
            country,
            currency,
            application_amount,
            annual_interest_rate: rate,
            duration_in_months: duration,
            risk_score: risk.into(),
            min_amount: 500,
            listing_date: listed,
            starts_at,
            ends_at,
            closes_at,
            other_demand,
            book_building_minutes: open_minutes as u32,
        });
    }

    pub fn get(&self, id: u64) -> Option<&SimLoan> {
        self.loans.iter().find(|l| l.id == id)
    }
}

pub use crate::kameo::money::group_thousands;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_market() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let mut a = Market::generated(7, 60, start);
        let mut b = Market::generated(7, 60, start);
        a.advance(start + Duration::hours(1));
        b.advance(start + Duration::hours(1));
        let ids = |m: &Market| {
            m.loans
                .iter()
                .map(|l| (l.id, l.application_amount, l.starts_at))
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&a), ids(&b));
        assert!(a.loans.len() > 6, "an hour at speed 60 brings new loans");
    }

    #[test]
    fn life_goes_listed_open_allocation_closed() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let m = Market::generated(1, 1, start);
        let loan = m.loans.iter().find(|l| l.starts_at > start).unwrap();
        assert!(loan.listing_date < loan.starts_at);
        assert_eq!(loan.state_at(loan.starts_at - Duration::seconds(1)), STATE_UPCOMING);
        assert_eq!(loan.state_at(loan.starts_at), STATE_OPEN);
        assert_eq!(loan.state_at(loan.ends_at), STATE_ALLOCATION);
        assert_eq!(loan.state_at(loan.closes_at), STATE_CLOSED);
        assert_eq!(loan.others_at(loan.starts_at), 0);
        assert_eq!(loan.others_at(loan.ends_at), loan.other_demand);
    }
}
