//! The durable store: SQLite (embedded, the default) or PostgreSQL (when a database URL is
//! configured), through one implementation over `sqlx::Any`.
//!
//! # Invariants
//! - The store holds no message text and no sender: history rows carry a keyed hash of the
//!   sender and an issue signature (location keys, topics, a MinHash sketch).
//! - Every write that a caller has been told succeeded is committed (SQLite runs in WAL mode
//!   with `synchronous = FULL`).
//! - Times are stored as microseconds since the Unix epoch (BIGINT), the same on both backends.
//! - The schema is versioned in `herken_schema`; migrations run at start, in order, each in
//!   its own transaction, and are never edited once released (add a new one instead).
//!
//! # Tables (version 1)
//! ```text
//! history(message_id TEXT PK, sender_key TEXT, received_us BIGINT, label TEXT, kind TEXT,
//!         signature TEXT /* JSON */)            -- one row per classified message with a sender
//! history_location(message_id TEXT, location TEXT, PK (message_id, location))
//! ```
//! Indexes: history(sender_key, received_us), history(received_us), history_location(location).

mod history;
mod migrations;
mod queue;
pub mod secret;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

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

fn store_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Store(format!("{what}: {e}"))
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
