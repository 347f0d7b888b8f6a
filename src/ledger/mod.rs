//! The ledger: a SQLite file (WAL) that records everything the bot saw and
//! did: loans and their snapshots, every decision, the bid journal, balances
//! over time, and cycles.
//!
//! Why it exists: the daemon must never bid twice, across restarts and
//! crashes. Caps and budgets are computed from here (and from Kameo's
//! `my_bid_amount`), not from memory, and an intent is committed before the
//! preview goes out. Schema changes are migrations keyed by `user_version`.

mod bids;
mod report;

use std::path::Path;

use rusqlite::{Connection, params};
use time::OffsetDateTime;

use crate::kameo::{Balances, Loan};
use crate::strategy::Decision;

pub use bids::{BidRow, BidStatus, Reconciled};
pub use report::{Report, build_report};

/// What can go wrong with the ledger file.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("ledger {path}: {source}")]
    Open { path: String, source: rusqlite::Error },
    #[error("ledger: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("ledger {path}: cannot create its directory: {source}")]
    Directory { path: String, source: std::io::Error },
    #[error("ledger was written by a newer kameo-bot (schema {found}, this one knows {known})")]
    TooNew { found: i64, known: i64 },
}

/// The schema, one migration per version; never edit a shipped one.
const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE loans (
    loan_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    currency TEXT NOT NULL,
    annual_interest_rate REAL NOT NULL,
    duration_in_months INTEGER NOT NULL,
    risk_score TEXT NOT NULL,
    application_amount INTEGER NOT NULL,
    min_amount INTEGER NOT NULL,
    subscription_starts_at TEXT,
    subscription_ends_at TEXT,
    first_seen_ms INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    json TEXT NOT NULL
);
CREATE TABLE snapshots (
    id INTEGER PRIMARY KEY,
    loan_id INTEGER NOT NULL REFERENCES loans(loan_id),
    seen_ms INTEGER NOT NULL,
    state_id INTEGER NOT NULL,
    subscribed_amount INTEGER NOT NULL,
    my_bid_amount INTEGER NOT NULL
);
CREATE INDEX snapshots_loan ON snapshots(loan_id, id);
CREATE TABLE cycles (
    id INTEGER PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    finished_ms INTEGER,
    ok INTEGER,
    dry_run INTEGER NOT NULL,
    loans_seen INTEGER NOT NULL DEFAULT 0,
    bids INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY,
    cycle_id INTEGER,
    loan_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    amount INTEGER NOT NULL,
    reason TEXT NOT NULL,
    capped_by TEXT,
    detail TEXT NOT NULL,
    config_fingerprint TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    decided_ms INTEGER NOT NULL
);
CREATE INDEX decisions_time ON decisions(decided_ms);
CREATE TABLE bids (
    id INTEGER PRIMARY KEY,
    loan_id INTEGER NOT NULL,
    currency TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    dry_run INTEGER NOT NULL,
    platform_before INTEGER NOT NULL,
    created_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bids_loan ON bids(loan_id);
CREATE INDEX bids_status ON bids(status);
CREATE TABLE bid_events (
    id INTEGER PRIMARY KEY,
    bid_id INTEGER NOT NULL REFERENCES bids(id),
    status TEXT NOT NULL,
    at_ms INTEGER NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE balances (
    id INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    currency TEXT NOT NULL,
    available_ore INTEGER NOT NULL,
    reserved_ore INTEGER NOT NULL
);
"#];

/// Milliseconds since the epoch, as the ledger stores time.
pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The ledger's time back as a date-time (UTC).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

pub struct Ledger {
    conn: Connection,
}

impl Ledger {
    /// Opens (creating if needed) the ledger at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| LedgerError::Directory {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let open_err = |source| LedgerError::Open {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(open_err)?;
        // FULL: an intent must be on disk before its preview goes out, even
        // through a power cut; a lost intent could mean a second bid.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(open_err)?;
        let mut ledger = Ledger { conn };
        ledger.migrate()?;
        Ok(ledger)
    }

    fn migrate(&mut self) -> Result<(), LedgerError> {
        let version: i64 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if version > known {
            return Err(LedgerError::TooNew { found: version, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Records the listing: the latest view of each loan, and a snapshot
    /// row only when its state, subscription or our bid changed. Returns
    /// how many loans were new or changed.
    pub fn record_snapshot(&mut self, loans: &[Loan], at: OffsetDateTime) -> Result<usize, LedgerError> {
        let at = ms(at);
        let tx = self.conn.transaction()?;
        let mut changed = 0;
        for l in loans {
            let json = serde_json::to_string(l).unwrap_or_default();
            let time = |t: Option<OffsetDateTime>| t.map(|t| ms(t).to_string());
            tx.execute(
                "INSERT INTO loans (loan_id, title, currency, annual_interest_rate, duration_in_months, risk_score,
                    application_amount, min_amount, subscription_starts_at, subscription_ends_at, first_seen_ms, last_seen_ms, json)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12)
                 ON CONFLICT(loan_id) DO UPDATE SET title = ?2, currency = ?3, annual_interest_rate = ?4,
                    duration_in_months = ?5, risk_score = ?6, application_amount = ?7, min_amount = ?8,
                    subscription_starts_at = ?9, subscription_ends_at = ?10, last_seen_ms = ?11, json = ?12",
                params![
                    l.loan_application_id as i64,
                    l.title,
                    l.currency,
                    l.annual_interest_rate,
                    l.duration_in_months as i64,
                    l.risk_score,
                    l.application_amount as i64,
                    l.min_amount as i64,
                    time(l.subscription_starts_at),
                    time(l.subscription_ends_at),
                    at,
                    json
                ],
            )?;
            let last: Option<(i64, i64, i64)> = tx
                .query_row(
                    "SELECT state_id, subscribed_amount, my_bid_amount FROM snapshots WHERE loan_id = ?1 ORDER BY id DESC LIMIT 1",
                    [l.loan_application_id as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .ok();
            let now = (
                l.subscription_state.state_id as i64,
                l.subscribed_amount as i64,
                l.my_bid_amount as i64,
            );
            if last != Some(now) {
                tx.execute(
                    "INSERT INTO snapshots (loan_id, seen_ms, state_id, subscribed_amount, my_bid_amount) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![l.loan_application_id as i64, at, now.0, now.1, now.2],
                )?;
                changed += 1;
            }
        }
        tx.commit()?;
        Ok(changed)
    }

    /// How many snapshot rows a loan has (for tests and reports).
    pub fn snapshot_count(&self, loan_id: u64) -> Result<i64, LedgerError> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM snapshots WHERE loan_id = ?1",
            [loan_id as i64],
            |r| r.get(0),
        )?)
    }

    /// Stores one decision with the config it was made under.
    pub fn record_decision(
        &self,
        cycle_id: Option<i64>,
        loan_id: u64,
        decision: &Decision,
        fingerprint: &str,
        dry_run: bool,
        at: OffsetDateTime,
    ) -> Result<(), LedgerError> {
        self.conn.execute(
            "INSERT INTO decisions (cycle_id, loan_id, action, amount, reason, capped_by, detail, config_fingerprint, dry_run, decided_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                cycle_id,
                loan_id as i64,
                decision.action_name(),
                decision.amount() as i64,
                decision.reason_code(),
                decision.capped_by.map(|c| c.code()),
                decision.detail,
                fingerprint,
                dry_run,
                ms(at)
            ],
        )?;
        Ok(())
    }

    /// Records the cash per currency.
    pub fn record_balances(&self, balances: &Balances, at: OffsetDateTime) -> Result<(), LedgerError> {
        for a in &balances.accounts {
            self.conn.execute(
                "INSERT INTO balances (at_ms, currency, available_ore, reserved_ore) VALUES (?1, ?2, ?3, ?4)",
                params![ms(at), a.currency, a.available_ore, a.reserved_ore],
            )?;
        }
        Ok(())
    }

    /// Starts a cycle; returns its id.
    pub fn begin_cycle(&self, dry_run: bool, at: OffsetDateTime) -> Result<i64, LedgerError> {
        self.conn.execute(
            "INSERT INTO cycles (started_ms, dry_run) VALUES (?1, ?2)",
            params![ms(at), dry_run],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Ends a cycle with its outcome.
    pub fn finish_cycle(
        &self,
        id: i64,
        loans_seen: usize,
        bids: usize,
        error: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<(), LedgerError> {
        self.conn.execute(
            "UPDATE cycles SET finished_ms = ?2, ok = ?3, loans_seen = ?4, bids = ?5, error = ?6 WHERE id = ?1",
            params![id, ms(at), error.is_none(), loans_seen as i64, bids as i64, error],
        )?;
        Ok(())
    }

    /// When the last cycle that succeeded ended (the health check's heartbeat).
    pub fn last_good_cycle(&self) -> Result<Option<OffsetDateTime>, LedgerError> {
        let last: Option<i64> = self
            .conn
            .query_row("SELECT MAX(finished_ms) FROM cycles WHERE ok = 1", [], |r| r.get(0))?;
        Ok(last.map(from_ms))
    }
}

/// A short, stable fingerprint of a config section (FNV-1a over its TOML),
/// stored with each decision to tell which settings made it.
pub fn fingerprint<T: serde::Serialize>(section: &T) -> String {
    let text = toml::to_string(section).unwrap_or_default();
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}
