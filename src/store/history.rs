//! The store's side of repeat detection: [`HistoryStore`] over the `history` tables.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{from_micros, micros, store_error, Store};
use crate::error::{Error, Result};
use crate::repeat::signature::Signature;
use crate::repeat::{EntryKind, HistoryEntry, HistoryStore};

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<HistoryEntry> {
    let get = |e: sqlx::Error| store_error("reading history", e);
    let label: String = row.try_get("label").map_err(get)?;
    let kind: String = row.try_get("kind").map_err(get)?;
    let signature: String = row.try_get("signature").map_err(get)?;
    Ok(HistoryEntry {
        message_id: row.try_get("message_id").map_err(get)?,
        sender_key: row.try_get("sender_key").map_err(get)?,
        received_at: from_micros(row.try_get("received_us").map_err(get)?),
        label: label
            .parse()
            .map_err(|e: crate::domain::UnknownName| Error::store("reading history", e))?,
        kind: EntryKind::parse(&kind).ok_or_else(|| {
            Error::store("reading history", format!("unknown history kind {kind:?}"))
        })?,
        signature: serde_json::from_str::<Signature>(&signature)
            .map_err(|e| Error::store("reading history signature", e))?,
    })
}

const COLUMNS: &str = "h.message_id, h.sender_key, h.received_us, h.label, h.kind, h.signature";

#[async_trait::async_trait]
impl HistoryStore for Store {
    async fn record(&self, e: &HistoryEntry) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO history (message_id, sender_key, received_us, label, kind, signature) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(&e.message_id)
        .bind(&e.sender_key)
        .bind(micros(e.received_at))
        .bind(e.label.as_str())
        .bind(e.kind.as_str())
        .bind(serde_json::to_string(&e.signature).expect("signature serialises"))
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error("recording history", e))?
        .rows_affected()
            > 0;
        if inserted {
            for l in &e.signature.locations {
                sqlx::query("INSERT INTO history_location (message_id, location) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(&e.message_id)
                    .bind(l)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| store_error("recording history location", e))?;
            }
        }
        tx.commit()
            .await
            .map_err(|e| store_error("history commit", e))?;
        Ok(inserted)
    }

    async fn get(&self, message_id: &str) -> Result<Option<HistoryEntry>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM history h WHERE h.message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| store_error("reading history", e))?;
        row.as_ref().map(entry_from_row).transpose()
    }

    async fn by_sender(
        &self,
        sender_key: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<HistoryEntry>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM history h WHERE h.sender_key = $1 AND h.received_us >= $2 AND h.received_us < $3 ORDER BY h.received_us, h.message_id"
        ))
        .bind(sender_key)
        .bind(micros(since))
        .bind(micros(until))
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading history", e))?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn near(
        &self,
        locations: &[String],
        exclude_sender: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<HistoryEntry>> {
        if locations.is_empty() {
            return Ok(Vec::new());
        }
        // One query for all locations (this runs for every routed message); the subquery keeps
        // an entry that shares several locations once.
        let placeholders: Vec<String> = (0..locations.len())
            .map(|i| format!("${}", i + 4))
            .collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM history h WHERE h.message_id IN \
             (SELECT message_id FROM history_location WHERE location IN ({})) \
             AND h.sender_key <> $1 AND h.received_us >= $2 AND h.received_us < $3 \
             ORDER BY h.received_us LIMIT {}",
            placeholders.join(", "),
            500 * locations.len()
        );
        let mut q = sqlx::query(&sql)
            .bind(exclude_sender)
            .bind(micros(since))
            .bind(micros(until));
        for l in locations {
            q = q.bind(l);
        }
        let rows = q
            .fetch_all(self.pool())
            .await
            .map_err(|e| store_error("reading history", e))?;
        rows.iter().map(entry_from_row).collect()
    }

    async fn purge(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM history_location WHERE message_id IN (SELECT message_id FROM history WHERE received_us < $1)")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error("purging history", e))?;
        let n = sqlx::query("DELETE FROM history WHERE received_us < $1")
            .bind(micros(before))
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error("purging history", e))?
            .rows_affected();
        tx.commit()
            .await
            .map_err(|e| store_error("purge commit", e))?;
        Ok(n)
    }
}
