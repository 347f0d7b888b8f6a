//! The Kameo simulator: both hosts on 127.0.0.1, with the captured paths,
//! forms, redirects, headers and JSON shapes, a seeded accelerated market,
//! Kameo's bid rules, its rate limit, and fault injection.
//!
//! Why it exists: nobody working on kameo-bot can reach Kameo, and nothing
//! here may try. Every test, the sandbox demo and every benchmark run against
//! this instead, so it follows `shared/kameo-api/README.md` rather than
//! what would be convenient for the client.
//!
//! State lives in one [`World`] behind a std mutex that is never held across
//! an `.await`; the market advances lazily to "now" on each request.

mod account;
mod api;
pub mod faults;
pub mod journal;
pub mod market;
mod session;
mod web;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use account::{AcceptedBid, Cash, project_cap, swedish_money};
pub use faults::{Fault, FaultSpec};
pub use journal::{BidRecord, Journal, RequestRecord, quantile};
pub use market::{STATE_ALLOCATION, STATE_CLOSED, STATE_OPEN, STATE_UPCOMING, Scenario, ScenarioLoan, SimLoan};

use account::Account;
use faults::Faults;
use market::Market;
use session::Sessions;

/// The demo account the simulator serves unless told otherwise.
pub const DEMO_EMAIL: &str = "demo@sandbox.invalid";
pub const DEMO_PASSWORD: &str = "sandbox-password";
/// A base32 TOTP secret for the demo account (RFC 6238's test seed).
pub const DEMO_TOTP_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
pub const DEMO_CASH_SEK: u64 = 200_000;

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// The market runs this many times faster than real time.
    pub speed: u32,
    pub seed: u64,
    pub faults: FaultSpec,
    /// A fixed market instead of a generated one.
    pub scenario: Option<Scenario>,
    pub email: String,
    pub password: String,
    pub totp_secret: String,
    pub cash_sek: u64,
    pub sophisticated: bool,
    pub api_listen: SocketAddr,
    pub web_listen: SocketAddr,
    /// How long a preview's sequence hash stays valid.
    pub hash_ttl: time::Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
        SimOptions {
            speed: 1,
            seed: 1,
            faults: FaultSpec::default(),
            scenario: None,
            email: DEMO_EMAIL.into(),
            password: DEMO_PASSWORD.into(),
            totp_secret: DEMO_TOTP_SECRET.into(),
            cash_sek: DEMO_CASH_SEK,
            sophisticated: false,
            api_listen: any_port,
            web_listen: any_port,
            hash_ttl: account::SEQUENCE_HASH_TTL,
        }
    }
}

/// Everything the simulator knows.
pub(crate) struct World {
    pub speed: u32,
    pub market: Market,
    pub account: Account,
    pub sessions: Sessions,
    pub faults: Faults,
    pub journal: Journal,
    pub rng: StdRng,
    /// Added to the wall clock: tests move the market forward without sleeping.
    pub clock_offset: time::Duration,
}

impl World {
    /// The simulator's "now": the wall clock plus any time travel.
    pub fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    /// Brings the market and the account up to `now`.
    pub fn advance(&mut self, now: OffsetDateTime) {
        self.market.advance(now);
        self.account.settle(&self.market, now);
    }

    /// How long a login lasts, in real time, when expiry is injected.
    pub fn session_lifetime(&self) -> Option<time::Duration> {
        self.faults
            .spec
            .expire_every
            .map(|d| time::Duration::milliseconds((d.as_millis() / self.speed.max(1) as u128) as i64))
    }
}

/// The state shared by both hosts' handlers.
pub(crate) struct Shared {
    world: Mutex<World>,
}

impl Shared {
    /// The world, even if a handler panicked while holding it: the state is
    /// plain data, and a test should see it rather than a second panic.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// [`World::now`], for code that does not hold the lock (never call it
    /// while holding it: the mutex is not reentrant).
    pub fn now(&self) -> OffsetDateTime {
        self.world().now()
    }
}

/// A running simulator. Dropping it does not stop it; call [`shutdown`].
///
/// [`shutdown`]: Simulator::shutdown
pub struct Simulator {
    pub api_addr: SocketAddr,
    pub web_addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Simulator {
    pub async fn start(options: SimOptions) -> std::io::Result<Simulator> {
        let now = OffsetDateTime::now_utc();
        let market = match &options.scenario {
            Some(s) => Market::scenario(s, now).map_err(std::io::Error::other)?,
            None => Market::generated(options.seed, options.speed, now),
        };
        let mut account = Account::new(
            &options.email,
            &options.password,
            &options.totp_secret,
            options.cash_sek,
        );
        account.sophisticated = options.sophisticated;
        account.hash_ttl = options.hash_ttl;
        let shared = Arc::new(Shared {
            world: Mutex::new(World {
                speed: options.speed.max(1),
                market,
                account,
                sessions: Sessions::default(),
                faults: Faults::new(options.faults.clone()),
                journal: Journal::default(),
                rng: StdRng::seed_from_u64(options.seed ^ 0x5eed),
                clock_offset: time::Duration::ZERO,
            }),
        });

        let api_listener = TcpListener::bind(options.api_listen).await?;
        let web_listener = TcpListener::bind(options.web_listen).await?;
        let api_addr = api_listener.local_addr()?;
        let web_addr = web_listener.local_addr()?;
        let (stop, stopped) = watch::channel(false);
        let tasks = vec![
            serve(api_listener, api::router(shared.clone()), stopped.clone()),
            serve(web_listener, web::router(shared.clone()), stopped),
        ];
        Ok(Simulator {
            api_addr,
            web_addr,
            shared,
            stop,
            tasks,
        })
    }

    /// The API base URL, as `kameo.api_url` wants it.
    pub fn api_url(&self) -> String {
        format!("http://{}/v1", self.api_addr)
    }

    /// The web base URL, as `kameo.web_url` wants it.
    pub fn web_url(&self) -> String {
        format!("http://{}", self.web_addr)
    }

    /// A copy of everything recorded so far.
    pub fn journal(&self) -> Journal {
        self.shared.world().journal.clone()
    }

    /// Makes the next API request whose path contains `path_part` fail.
    pub fn queue_fault(&self, path_part: &str, fault: Fault) {
        self.shared.world().faults.queue(path_part, fault);
    }

    pub fn set_faults(&self, spec: FaultSpec) {
        self.shared.world().faults.spec = spec;
    }

    /// Logs every session out, as a server-side expiry would.
    pub fn expire_sessions(&self) {
        self.shared.world().sessions.expire_all();
    }

    /// The bids the account has had accepted.
    pub fn accepted_bids(&self) -> Vec<AcceptedBid> {
        self.shared.world().account.bids.clone()
    }

    /// The account's cash in one currency, in öre.
    pub fn cash(&self, currency: &str) -> Cash {
        self.shared
            .world()
            .account
            .cash
            .get(currency)
            .copied()
            .unwrap_or_default()
    }

    /// Moves the simulator's clock forward: loans open, close and settle as
    /// if `by` had passed. Login codes still follow the real clock.
    pub fn travel(&self, by: time::Duration) {
        let mut world = self.shared.world();
        world.clock_offset += by;
        let now = world.now();
        world.advance(now);
    }

    /// The simulator's current time.
    pub fn now(&self) -> OffsetDateTime {
        self.shared.now()
    }

    /// The market as it is now.
    pub fn loans(&self) -> Vec<SimLoan> {
        let mut world = self.shared.world();
        let now = world.now();
        world.advance(now);
        world.market.loans.clone()
    }

    /// Stops both hosts and waits for them.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn serve(listener: TcpListener, router: axum::Router, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<SocketAddr>();
        let shutdown = async move {
            let _ = stopped.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, service).with_graceful_shutdown(shutdown).await {
            tracing::error!(event = "api_error", error = %e, "simulator listener failed");
        }
    })
}
