//! The data lifecycle (AVG): retention of every table, erasure of one person's or one
//! message's data, and the audit log that records both without any message content.
//!
//! # What is kept, and for how long
//! | table | holds | kept |
//! |---|---|---|
//! | `history`, `history_location` | sender hash, issue signature (no text) | `retention_days` after receipt |
//! | `queue_item` (acked) | the message (text, sender, subject) and its classification | `retention_days` after the ack |
//! | `queue_item` (waiting, dead letters too) | the same | `queue_retention_days` after it was queued |
//! | `correction` | labels, queues, who, the note | `retention_days` after the correction |
//! | `audit` | who did what to which message id, counts; never text, sender or note | `audit_retention_days` |
//!
//! # Erasure
//! [`Store::erase`] removes, in one write transaction, every history row, queue item and
//! correction of one message id, or of one sender: history rows by the sender's keyed hash,
//! queue items by the sender in their stored message (compared as the same keyed hash, so
//! `Piet@Example.nl` and `piet+x@example.nl` are one person), and every correction of those
//! messages. The audit entry of an erasure by sender names no sender.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::queue::WriteTx;
use super::{from_micros, micros, store_error, Store};
use crate::domain::Message;
use crate::error::{Error, Result};
use crate::repeat::sender::Sender;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// When.
    pub at: DateTime<Utc>,
    /// Who: the key's name, `corrected_by`, "herken purge" or "retention".
    pub actor: String,
    /// What: "correct", "erase" or "retention".
    pub action: String,
    /// The message concerned; empty for an erasure by sender and for retention.
    pub message_id: String,
    /// Labels, queues or counts; never message content.
    pub detail: String,
}

/// Record an audit entry inside a write transaction.
pub(crate) async fn audit_in(tx: &mut WriteTx, e: &AuditEntry) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit (audit_id, at_us, actor, action, message_id, detail) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(micros(e.at))
    .bind(&e.actor)
    .bind(&e.action)
    .bind(&e.message_id)
    .bind(&e.detail)
    .execute(&mut **tx)
    .await
    .map_err(|e| store_error("writing the audit log", e))?;
    Ok(())
}

/// What to erase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erase {
    /// Everything of one sender (e-mail address, phone number or "name, postcode").
    Sender(String),
    /// Everything of one message.
    MessageId(String),
}

/// What an erasure removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Erased {
    /// Repeat history rows.
    pub history: u64,
    /// Queue items (waiting or acked).
    pub queue_items: u64,
    /// Corrections.
    pub corrections: u64,
    /// The message ids whose data was erased, sorted.
    pub message_ids: Vec<String>,
}

/// What a retention pass removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expired {
    /// Repeat history rows.
    pub history: u64,
    /// Acked queue items.
    pub acked_items: u64,
    /// Items still waiting (dead letters too).
    pub waiting_items: u64,
    /// Corrections.
    pub corrections: u64,
    /// Audit entries.
    pub audit: u64,
}

impl Expired {
    /// Nothing was removed.
    pub fn is_empty(&self) -> bool {
        *self == Expired::default()
    }
}

impl Store {
    /// Erase one sender's or one message's data from every table (see the module doc), and
    /// record it in the audit log as done by `actor`. `secret` keys the sender hashes.
    pub async fn erase(
        &self,
        what: &Erase,
        secret: &[u8],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Erased> {
        let mut tx = self.begin_write().await?;
        let mut ids: Vec<String> = Vec::new();
        match what {
            Erase::MessageId(id) => {
                if id.trim().is_empty() {
                    return Err(Error::invalid("message_id", "is empty"));
                }
                ids.push(id.clone());
            }
            Erase::Sender(raw) => {
                let key = Sender::parse(raw)
                    .ok_or_else(|| {
                        Error::invalid(
                            "sender",
                            "is not an e-mail address, phone number or \"name, postcode\"",
                        )
                    })?
                    .key(secret);
                let rows = sqlx::query("SELECT message_id FROM history WHERE sender_key = $1")
                    .bind(&key)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| store_error("finding the sender's history", e))?;
                for r in &rows {
                    ids.push(
                        r.try_get("message_id")
                            .map_err(|e| store_error("erasing", e))?,
                    );
                }
                // Queue items keep the sender as sent: compare its keyed hash, row by row.
                let rows = sqlx::query("SELECT message_id, message FROM queue_item")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| store_error("finding the sender's queue items", e))?;
                for r in &rows {
                    let json: String = r
                        .try_get("message")
                        .map_err(|e| store_error("erasing", e))?;
                    let sender = serde_json::from_str::<Message>(&json)
                        .map(|m| m.sender)
                        .unwrap_or_default();
                    if Sender::parse(&sender).is_some_and(|s| s.key(secret) == key) {
                        ids.push(
                            r.try_get("message_id")
                                .map_err(|e| store_error("erasing", e))?,
                        );
                    }
                }
            }
        }
        ids.sort();
        ids.dedup();
        let mut erased = Erased::default();
        for id in &ids {
            let run = |sql: &'static str| sqlx::query(sql).bind(id);
            run("DELETE FROM history_location WHERE message_id = $1")
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error("erasing history", e))?;
            let n = |r: sqlx::any::AnyQueryResult| r.rows_affected();
            let h = n(run("DELETE FROM history WHERE message_id = $1")
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error("erasing history", e))?);
            let q = n(run("DELETE FROM queue_item WHERE message_id = $1")
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error("erasing queue items", e))?);
            let c = n(run("DELETE FROM correction WHERE message_id = $1")
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error("erasing corrections", e))?);
            if h + q + c > 0 {
                erased.message_ids.push(id.clone());
            }
            erased.history += h;
            erased.queue_items += q;
            erased.corrections += c;
        }
        audit_in(
            &mut tx,
            &AuditEntry {
                at: now,
                actor: actor.to_string(),
                action: "erase".into(),
                message_id: match what {
                    Erase::MessageId(id) => id.clone(),
                    Erase::Sender(_) => String::new(),
                },
                detail: format!(
                    "by {}: {} messages, {} history rows, {} queue items, {} corrections",
                    match what {
                        Erase::MessageId(_) => "message id",
                        Erase::Sender(_) => "sender",
                    },
                    erased.message_ids.len(),
                    erased.history,
                    erased.queue_items,
                    erased.corrections
                ),
            },
        )
        .await?;
        tx.commit()
            .await
            .map_err(|e| store_error("erasure commit", e))?;
        Ok(erased)
    }

    /// Remove what is older than its retention (see the module doc), as of `now`, and record
    /// what was removed (counts only) in the audit log.
    pub async fn expire(
        &self,
        retention: &crate::config::Retention,
        now: DateTime<Utc>,
    ) -> Result<Expired> {
        let history = micros(now - retention.history);
        let waiting = micros(now - retention.waiting);
        let audit = micros(now - retention.audit);
        let mut tx = self.begin_write().await?;
        let del = |sql: &'static str, t: i64| sqlx::query(sql).bind(t);
        let what = "expiring old data";
        del("DELETE FROM history_location WHERE message_id IN (SELECT message_id FROM history WHERE received_us < $1)", history)
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(what, e))?;
        let expired = Expired {
            history: del("DELETE FROM history WHERE received_us < $1", history)
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(what, e))?
                .rows_affected(),
            acked_items: del(
                "DELETE FROM queue_item WHERE state = 'acked' AND acked_us < $1",
                history,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(what, e))?
            .rows_affected(),
            waiting_items: del(
                "DELETE FROM queue_item WHERE state = 'queued' AND enqueued_us < $1",
                waiting,
            )
            .execute(&mut *tx)
            .await
            .map_err(|e| store_error(what, e))?
            .rows_affected(),
            corrections: del("DELETE FROM correction WHERE corrected_us < $1", history)
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(what, e))?
                .rows_affected(),
            audit: del("DELETE FROM audit WHERE at_us < $1", audit)
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(what, e))?
                .rows_affected(),
        };
        if !expired.is_empty() {
            audit_in(
                &mut tx,
                &AuditEntry {
                    at: now,
                    actor: "retention".into(),
                    action: "retention".into(),
                    message_id: String::new(),
                    detail: format!(
                        "{} history rows, {} acked items, {} waiting items, {} corrections, {} audit entries",
                        expired.history,
                        expired.acked_items,
                        expired.waiting_items,
                        expired.corrections,
                        expired.audit
                    ),
                },
            )
            .await?;
        }
        tx.commit().await.map_err(|e| store_error(what, e))?;
        Ok(expired)
    }

    /// The audit log from `since` on, oldest first.
    pub async fn audit_log(&self, since: DateTime<Utc>) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at_us, actor, action, message_id, detail FROM audit WHERE at_us >= $1 ORDER BY at_us, audit_id",
        )
        .bind(micros(since))
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading the audit log", e))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| store_error("reading the audit log", e);
                Ok(AuditEntry {
                    at: from_micros(r.try_get("at_us").map_err(get)?),
                    actor: r.try_get("actor").map_err(get)?,
                    action: r.try_get("action").map_err(get)?,
                    message_id: r.try_get("message_id").map_err(get)?,
                    detail: r.try_get("detail").map_err(get)?,
                })
            })
            .collect()
    }

    /// Rows in the repeat history: the sender-key secret matters once there are any.
    pub async fn history_rows(&self) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM history")
            .fetch_one(self.pool())
            .await
            .map_err(|e| store_error("counting history", e))?;
        Ok(n.max(0) as u64)
    }

    /// Rows per table, read in one statement (one snapshot), for tests and reports.
    pub async fn counts(&self) -> Result<Counts> {
        let (history, queue_items, corrections, audit): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM history), (SELECT COUNT(*) FROM queue_item), \
             (SELECT COUNT(*) FROM correction), (SELECT COUNT(*) FROM audit)",
        )
        .fetch_one(self.pool())
        .await
        .map_err(|e| store_error("counting rows", e))?;
        let n = |v: i64| v.max(0) as u64;
        Ok(Counts {
            history: n(history),
            queue_items: n(queue_items),
            corrections: n(corrections),
            audit: n(audit),
        })
    }
}

/// Rows per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Repeat history rows.
    pub history: u64,
    /// Queue items.
    pub queue_items: u64,
    /// Corrections.
    pub corrections: u64,
    /// Audit entries.
    pub audit: u64,
}
