//! The durable store: SQLite (embedded, the default) or PostgreSQL (when a database URL is
//! configured), through one implementation over `sqlx::Any`.
//!
//! # Invariants
//! - What is kept: the repeat history keeps no message text and no sender, only a keyed hash
//!   of the sender and an issue signature (location keys, topics, a MinHash sketch). The
//!   intake queues **do** keep the message (text, sender, subject: the clerk needs them) and
//!   corrections keep the staff member's note. How long each is kept, and how one person's
//!   data is erased, is in [`lifecycle`].
//! - Every write that a caller has been told succeeded is committed (SQLite runs in WAL mode
//!   with `synchronous = FULL`).
//! - Every multi-statement write is one sqlx `Transaction` (`BEGIN IMMEDIATE` on SQLite): a
//!   call cancelled in the middle rolls back, and its connection returns to the pool clean.
//! - Times are stored as microseconds since the Unix epoch (BIGINT), the same on both backends.
//! - The schema is versioned in `herken_schema`; migrations run at start, in order, in one
//!   transaction, and are never edited once released (add a new one instead).
//! - Errors: the database's own text stays in the server log; clients see what herken was
//!   doing, as UNAVAILABLE when retrying can help and INTERNAL when it cannot.
//!
//! # Tables
//! ```text
//! history(message_id TEXT PK, sender_key TEXT, received_us BIGINT, label TEXT, kind TEXT,
//!         signature TEXT /* JSON */)            -- one row per classified message with a sender
//! history_location(message_id TEXT, location TEXT, PK (message_id, location))
//! queue_item(…), correction(…)                  -- migrations 2 and 3, see `crate::intake`
//! audit(audit_id TEXT PK, at_us BIGINT, actor TEXT, action TEXT, message_id TEXT,
//!       detail TEXT)                            -- migration 3: corrections, erasures, retention
//! ```
//! The Leren report (aggregates only, small counts suppressed) is read in [`report`].
//!
//! Indexes: history(sender_key, received_us), history(received_us), history_location(location),
//! queue_item(state, enqueued_us), correction(message_id), audit(at_us).

mod history;
pub mod lifecycle;
mod migrations;
mod queue;
pub mod report;
pub mod secret;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

pub use lifecycle::{AuditEntry, Counts, Erase, Erased, Expired};

use crate::error::{Error, Result};

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Where the store lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLite file (created when missing).
    SqliteFile(PathBuf),
    /// A private in-memory SQLite database (one CLI run).
    SqliteMemory,
    /// A PostgreSQL URL (`postgres://user@host/db`).
    Postgres(String),
}

/// A store error from a database error: transient when retrying can help (the connection or
/// pool failed, the database is busy or asks for a retry), permanent otherwise.
fn store_error(what: &str, e: sqlx::Error) -> Error {
    Error::Store {
        what: what.to_string(),
        transient: is_transient(&e),
        detail: e.to_string(),
    }
}

fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => {
            let code = d.code().unwrap_or_default();
            // SQLite: SQLITE_BUSY (5), SQLITE_LOCKED (6) and their extended codes.
            // PostgreSQL: serialization failure, deadlock, connection and shutdown classes.
            matches!(code.as_ref(), "5" | "6" | "40001" | "40P01" | "57P01" | "57P02" | "57P03")
                || code.starts_with("08")
                // SQLite's extended codes (e.g. 517, SQLITE_BUSY_SNAPSHOT) are at most 4 digits.
                || (code.len() < 5 && code.parse::<i64>().is_ok_and(|c| c & 0xff == 5 || c & 0xff == 6))
        }
        _ => false,
    }
}

impl Store {
    /// Open (and migrate) the store.
    pub async fn open(location: &Location) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let (url, backend, max) = match location {
            Location::SqliteFile(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                (
                    format!("sqlite://{}?mode=rwc", path.display()),
                    Backend::Sqlite,
                    8,
                )
            }
            Location::SqliteMemory => ("sqlite::memory:".to_string(), Backend::Sqlite, 1),
            Location::Postgres(url) => (url.clone(), Backend::Postgres, 8),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| store_error("database URL", e))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .min_connections(if location == &Location::SqliteMemory {
                1
            } else {
                0
            })
            .idle_timeout(if location == &Location::SqliteMemory {
                None
            } else {
                Some(Duration::from_secs(600))
            })
            .max_lifetime(if location == &Location::SqliteMemory {
                None
            } else {
                Some(Duration::from_secs(1800))
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = FULL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(|e| store_error(&format!("opening {}", describe(location)), e))?;
        let store = Store { pool, backend };
        migrations::run(&store).await?;
        Ok(store)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Close all connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A description of a location without credentials, for errors and logs.
pub fn describe(location: &Location) -> String {
    match location {
        Location::SqliteFile(p) => format!("SQLite {}", p.display()),
        Location::SqliteMemory => "in-memory SQLite".into(),
        Location::Postgres(url) => {
            // postgres://user:password@host/db → postgres://host/db
            let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
            let host = rest.rsplit_once('@').map(|(_, h)| h).unwrap_or(rest);
            format!("PostgreSQL {host}")
        }
    }
}

/// Microseconds since the epoch.
pub(crate) fn micros(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_micros()
}

/// A time from microseconds since the epoch.
pub(crate) fn from_micros(us: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// The default SQLite file inside a data directory.
pub fn default_sqlite_file(data_dir: &Path) -> PathBuf {
    data_dir.join("herken.sqlite")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_reach_descriptions() {
        let d = describe(&Location::Postgres(
            "postgres://admin:s3cret@db.example:5432/herken".into(),
        ));
        assert_eq!(d, "PostgreSQL db.example:5432/herken");
    }
}
