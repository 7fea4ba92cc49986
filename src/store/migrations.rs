//! Schema migrations, per backend. Append new versions; never edit a released one.

use sqlx::Executor;

use super::{store_error, Backend, Store};
use crate::error::Result;

/// (version, SQLite statements, PostgreSQL statements)
const MIGRATIONS: &[(i64, &[&str], &[&str])] = &[
(
    1,
    &[
        "CREATE TABLE history (message_id TEXT PRIMARY KEY, sender_key TEXT NOT NULL, received_us BIGINT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, signature TEXT NOT NULL)",
        "CREATE INDEX history_sender ON history (sender_key, received_us)",
        "CREATE INDEX history_received ON history (received_us)",
        "CREATE TABLE history_location (message_id TEXT NOT NULL REFERENCES history (message_id) ON DELETE CASCADE, location TEXT NOT NULL, PRIMARY KEY (message_id, location))",
        "CREATE INDEX history_location_location ON history_location (location)",
    ],
    &[
        "CREATE TABLE history (message_id TEXT PRIMARY KEY, sender_key TEXT NOT NULL, received_us BIGINT NOT NULL, label TEXT NOT NULL, kind TEXT NOT NULL, signature TEXT NOT NULL)",
        "CREATE INDEX history_sender ON history (sender_key, received_us)",
        "CREATE INDEX history_received ON history (received_us)",
        "CREATE TABLE history_location (message_id TEXT NOT NULL REFERENCES history (message_id) ON DELETE CASCADE, location TEXT NOT NULL, PRIMARY KEY (message_id, location))",
        "CREATE INDEX history_location_location ON history_location (location)",
    ],
),
(
    2,
    &[
        "CREATE TABLE queue_item (item_id TEXT PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, state TEXT NOT NULL, label TEXT NOT NULL, message TEXT NOT NULL, classification TEXT NOT NULL, enqueued_us BIGINT NOT NULL, due_us BIGINT NOT NULL, lease_until_us BIGINT, deliveries INTEGER NOT NULL DEFAULT 0, acked_us BIGINT)",
        "CREATE INDEX queue_item_pull ON queue_item (queue, state, enqueued_us)",
        "CREATE TABLE correction (correction_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, from_label TEXT NOT NULL, to_label TEXT NOT NULL, from_queue TEXT NOT NULL, to_queue TEXT NOT NULL, corrected_by TEXT NOT NULL, note TEXT NOT NULL, corrected_us BIGINT NOT NULL)",
        "CREATE INDEX correction_time ON correction (corrected_us)",
    ],
    &[
        "CREATE TABLE queue_item (item_id TEXT PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL, state TEXT NOT NULL, label TEXT NOT NULL, message TEXT NOT NULL, classification TEXT NOT NULL, enqueued_us BIGINT NOT NULL, due_us BIGINT NOT NULL, lease_until_us BIGINT, deliveries INTEGER NOT NULL DEFAULT 0, acked_us BIGINT)",
        "CREATE INDEX queue_item_pull ON queue_item (queue, state, enqueued_us)",
        "CREATE TABLE correction (correction_id TEXT PRIMARY KEY, message_id TEXT NOT NULL, from_label TEXT NOT NULL, to_label TEXT NOT NULL, from_queue TEXT NOT NULL, to_queue TEXT NOT NULL, corrected_by TEXT NOT NULL, note TEXT NOT NULL, corrected_us BIGINT NOT NULL)",
        "CREATE INDEX correction_time ON correction (corrected_us)",
    ],
),
(
    3,
    &[
        "ALTER TABLE queue_item ADD COLUMN leased_by TEXT",
        "CREATE INDEX queue_item_age ON queue_item (state, enqueued_us)",
        "CREATE INDEX correction_message ON correction (message_id)",
        "CREATE TABLE audit (audit_id TEXT PRIMARY KEY, at_us BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, message_id TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX audit_time ON audit (at_us)",
    ],
    &[
        "ALTER TABLE queue_item ADD COLUMN leased_by TEXT",
        "CREATE INDEX queue_item_age ON queue_item (state, enqueued_us)",
        "CREATE INDEX correction_message ON correction (message_id)",
        "CREATE TABLE audit (audit_id TEXT PRIMARY KEY, at_us BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, message_id TEXT NOT NULL, detail TEXT NOT NULL)",
        "CREATE INDEX audit_time ON audit (at_us)",
    ],
)];

/// Bring the schema up to date: one transaction under a lock (an advisory lock on PostgreSQL,
/// `BEGIN IMMEDIATE` on SQLite), so two servers starting at once on one database migrate once.
pub async fn run(store: &Store) -> Result<()> {
    let mut tx = store.begin_write().await?;
    migrate(&mut tx, store.backend()).await?;
    tx.commit()
        .await
        .map_err(|e| store_error("migration commit", e))
}

async fn migrate(conn: &mut super::queue::WriteTx, backend: Backend) -> Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7340519)")
            .execute(&mut **conn)
            .await
            .map_err(|e| store_error("migration lock", e))?;
    }
    (&mut **conn)
        .execute("CREATE TABLE IF NOT EXISTS herken_schema (version BIGINT PRIMARY KEY)")
        .await
        .map_err(|e| store_error("creating herken_schema", e))?;
    for (version, sqlite, postgres) in MIGRATIONS {
        let done: Option<(i64,)> =
            sqlx::query_as("SELECT version FROM herken_schema WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut **conn)
                .await
                .map_err(|e| store_error("reading herken_schema", e))?;
        if done.is_some() {
            continue;
        }
        let statements = match backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        };
        for s in statements.iter() {
            (&mut **conn)
                .execute(*s)
                .await
                .map_err(|e| store_error(&format!("migration {version}"), e))?;
        }
        sqlx::query("INSERT INTO herken_schema (version) VALUES ($1)")
            .bind(*version)
            .execute(&mut **conn)
            .await
            .map_err(|e| store_error("recording migration", e))?;
        tracing::info!(version, "schema migrated");
    }
    Ok(())
}
