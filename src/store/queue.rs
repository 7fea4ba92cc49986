//! The store's side of the intake queues: [`QueueStore`] over `queue_item` and `correction`.
//! The invariants and the format are described in `crate::intake`.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{from_micros, micros, store_error, Backend, Store};
use crate::domain::Message;
use crate::error::{Error, Result};
use crate::intake::{Correction, Item, NewItem, PullSpec, QueueStats, QueueStore, Settled};
use crate::recognizer::Outcome;

const ITEM_COLUMNS: &str = "item_id, queue, state, message, classification, due_us, deliveries";

fn item_from_row(row: &sqlx::any::AnyRow) -> Result<Item> {
    let get = |e: sqlx::Error| store_error("reading queue item", e);
    let message: String = row.try_get("message").map_err(get)?;
    let classification: String = row.try_get("classification").map_err(get)?;
    let state: String = row.try_get("state").map_err(get)?;
    let deliveries: i32 = row.try_get("deliveries").map_err(get)?;
    Ok(Item {
        item_id: row.try_get("item_id").map_err(get)?,
        queue: row.try_get("queue").map_err(get)?,
        message: serde_json::from_str(&message)
            .map_err(|e| Error::store("reading queue item message", e))?,
        classification: serde_json::from_str(&classification)
            .map_err(|e| Error::store("reading queue item classification", e))?,
        due_at: from_micros(row.try_get("due_us").map_err(get)?),
        deliveries: deliveries.max(0) as u32,
        acked: state == "acked",
    })
}

/// A write transaction: `BEGIN IMMEDIATE` on SQLite (the write lock up front, so two writers
/// never deadlock upgrading a read lock), a plain `BEGIN` on PostgreSQL (row locks do the
/// work). An sqlx `Transaction`: when the future holding it is dropped (a cancelled call), it
/// rolls back before its connection is used again.
pub(crate) type WriteTx = sqlx::Transaction<'static, sqlx::Any>;

impl Store {
    /// Begin a write transaction (see [`WriteTx`]).
    ///
    /// The `BEGIN` runs in a task of its own, so that it always finishes: sqlx 0.8 (PostgreSQL)
    /// counts a transaction as open only once the server has answered `BEGIN`, so a caller
    /// cancelled between sending it and the answer would return the connection to the pool
    /// inside a transaction that nobody rolls back, and the next user's autocommit writes
    /// would silently join it (found by the cancellation test). Finished in its own task, the
    /// `Transaction` exists, and dropping it queues the `ROLLBACK`.
    pub(crate) async fn begin_write(&self) -> Result<WriteTx> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        let pool = self.pool().clone();
        tokio::spawn(async move { pool.begin_with(begin).await })
            .await
            .map_err(|e| Error::Internal(format!("beginning a transaction: {e}")))?
            .map_err(|e| store_error("beginning a transaction", e))
    }

    /// Run `sql` (item id as $1, holder as $2, `time` as $3 when given) for each id, in one
    /// transaction: what changed, the ids not held by `holder`, and the unknown ones.
    async fn settle(
        &self,
        item_ids: &[String],
        sql: &str,
        holder: &str,
        time: Option<i64>,
        what: &str,
    ) -> Result<Settled> {
        let mut tx = self.begin_write().await?;
        let mut s = Settled::default();
        for id in item_ids {
            let mut q = sqlx::query(sql).bind(id).bind(holder);
            if let Some(t) = time {
                q = q.bind(t);
            }
            let n = q
                .execute(&mut *tx)
                .await
                .map_err(|e| store_error(what, e))?
                .rows_affected();
            if n > 0 {
                s.done += 1;
                continue;
            }
            let queued: Option<(String,)> = sqlx::query_as(
                "SELECT item_id FROM queue_item WHERE item_id = $1 AND state = 'queued'",
            )
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| store_error(what, e))?;
            if queued.is_some() {
                s.not_held.push(id.clone());
            } else {
                s.unknown.push(id.clone());
            }
        }
        tx.commit().await.map_err(|e| store_error(what, e))?;
        Ok(s)
    }

    async fn pull_in(&self, conn: &mut WriteTx, spec: &PullSpec<'_>) -> Result<Vec<Item>> {
        let now = micros(spec.now);
        let lock = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let mut leased: Vec<String> = Vec::new();
        // Dead-lettered candidates do not count: look again until the pull is full or the
        // queue has nothing available. Bounded: every round removes what it dead-letters.
        for _round in 0..100 {
            let want = spec.max_items as i64 - leased.len() as i64;
            if want <= 0 {
                break;
            }
            let rows = sqlx::query(&format!(
                "SELECT item_id, deliveries FROM queue_item WHERE queue = $1 AND state = 'queued' \
                 AND (lease_until_us IS NULL OR lease_until_us <= $2) \
                 ORDER BY enqueued_us, item_id LIMIT $3{lock}"
            ))
            .bind(spec.queue)
            .bind(now)
            .bind(want)
            .fetch_all(&mut **conn)
            .await
            .map_err(|e| store_error("pulling", e))?;
            if rows.is_empty() {
                break;
            }
            let mut dead = 0;
            for r in &rows {
                let id: String = r
                    .try_get("item_id")
                    .map_err(|e| store_error("pulling", e))?;
                let deliveries: i32 = r
                    .try_get("deliveries")
                    .map_err(|e| store_error("pulling", e))?;
                if deliveries as u32 >= spec.max_deliveries && spec.queue != spec.dead_letter {
                    sqlx::query("UPDATE queue_item SET queue = $1, lease_until_us = NULL, leased_by = NULL WHERE item_id = $2")
                        .bind(spec.dead_letter)
                        .bind(&id)
                        .execute(&mut **conn)
                        .await
                        .map_err(|e| store_error("dead-lettering", e))?;
                    tracing::warn!(item = %id, deliveries, "item dead-lettered after too many deliveries");
                    dead += 1;
                } else {
                    sqlx::query("UPDATE queue_item SET lease_until_us = $1, leased_by = $2, deliveries = deliveries + 1 WHERE item_id = $3")
                        .bind(micros(spec.now + spec.lease))
                        .bind(spec.holder)
                        .bind(&id)
                        .execute(&mut **conn)
                        .await
                        .map_err(|e| store_error("leasing", e))?;
                    leased.push(id);
                }
            }
            if dead == 0 {
                break;
            }
        }
        let mut items = Vec::with_capacity(leased.len());
        for id in &leased {
            let row = sqlx::query(&format!(
                "SELECT {ITEM_COLUMNS} FROM queue_item WHERE item_id = $1"
            ))
            .bind(id)
            .fetch_one(&mut **conn)
            .await
            .map_err(|e| store_error("pulling", e))?;
            items.push(item_from_row(&row)?);
        }
        Ok(items)
    }
}

#[async_trait::async_trait]
impl QueueStore for Store {
    async fn enqueue(&self, item: &NewItem) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO queue_item (item_id, message_id, queue, state, label, message, classification, enqueued_us, due_us, lease_until_us, deliveries, acked_us) \
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $8, NULL, 0, NULL) ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(&item.item_id)
        .bind(&item.message.id)
        .bind(&item.queue)
        .bind(item.classification.label.as_str())
        .bind(serde_json::to_string(&item.message).expect("message serialises"))
        .bind(serde_json::to_string(&item.classification).expect("outcome serialises"))
        .bind(micros(item.enqueued_at))
        .bind(micros(item.due_at))
        .execute(self.pool())
        .await
        .map_err(|e| store_error("queueing", e))?
        .rows_affected();
        Ok(n > 0)
    }

    async fn pull(&self, spec: &PullSpec<'_>) -> Result<Vec<Item>> {
        let mut tx = self.begin_write().await?;
        let items = self.pull_in(&mut tx, spec).await?;
        tx.commit()
            .await
            .map_err(|e| store_error("pull commit", e))?;
        Ok(items)
    }

    async fn ack(&self, item_ids: &[String], now: DateTime<Utc>, holder: &str) -> Result<Settled> {
        self.settle(
            item_ids,
            "UPDATE queue_item SET state = 'acked', acked_us = $3, lease_until_us = NULL \
             WHERE item_id = $1 AND state = 'queued' AND leased_by = $2",
            holder,
            Some(micros(now)),
            "acking",
        )
        .await
    }

    async fn release(&self, item_ids: &[String], holder: &str) -> Result<Settled> {
        self.settle(
            item_ids,
            "UPDATE queue_item SET lease_until_us = NULL, leased_by = NULL \
             WHERE item_id = $1 AND state = 'queued' AND leased_by = $2",
            holder,
            None,
            "releasing",
        )
        .await
    }

    async fn item_of_message(&self, message_id: &str) -> Result<Option<Item>> {
        let row = sqlx::query(&format!(
            "SELECT {ITEM_COLUMNS} FROM queue_item WHERE message_id = $1"
        ))
        .bind(message_id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| store_error("reading queue item", e))?;
        row.as_ref().map(item_from_row).transpose()
    }

    async fn correct(&self, c: &Correction, classification: &Outcome) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO correction (correction_id, message_id, from_label, to_label, from_queue, to_queue, corrected_by, note, corrected_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&c.message_id)
        .bind(c.from_label.as_str())
        .bind(c.to_label.as_str())
        .bind(&c.from_queue)
        .bind(&c.to_queue)
        .bind(&c.corrected_by)
        .bind(&c.note)
        .bind(micros(c.corrected_at))
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error("recording correction", e))?;
        // A queued item moves (and its lease ends: the clerk holding it has the wrong desk);
        // an acked one keeps its place but carries the right label.
        sqlx::query(
            "UPDATE queue_item SET label = $1, classification = $2, \
             queue = CASE WHEN state = 'queued' THEN $3 ELSE queue END, \
             lease_until_us = CASE WHEN state = 'queued' THEN NULL ELSE lease_until_us END, \
             leased_by = CASE WHEN state = 'queued' THEN NULL ELSE leased_by END \
             WHERE message_id = $4",
        )
        .bind(c.to_label.as_str())
        .bind(serde_json::to_string(classification).expect("outcome serialises"))
        .bind(&c.to_queue)
        .bind(&c.message_id)
        .execute(&mut *tx)
        .await
        .map_err(|e| store_error("moving corrected item", e))?;
        super::lifecycle::audit_in(
            &mut tx,
            &super::lifecycle::AuditEntry {
                at: c.corrected_at,
                actor: c.corrected_by.clone(),
                action: "correct".into(),
                message_id: c.message_id.clone(),
                detail: format!(
                    "{} -> {}, {} -> {}",
                    c.from_label, c.to_label, c.from_queue, c.to_queue
                ),
            },
        )
        .await?;
        tx.commit()
            .await
            .map_err(|e| store_error("correction commit", e))?;
        Ok(())
    }

    async fn stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>> {
        let rows = sqlx::query(
            "SELECT queue, COUNT(*) AS depth, MIN(enqueued_us) AS oldest, \
             SUM(CASE WHEN due_us < $1 THEN 1 ELSE 0 END) AS past_due, \
             SUM(CASE WHEN lease_until_us > $1 THEN 1 ELSE 0 END) AS leased \
             FROM queue_item WHERE state = 'queued' GROUP BY queue ORDER BY queue",
        )
        .bind(micros(now))
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("queue statistics", e))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| store_error("queue statistics", e);
                let oldest: i64 = r.try_get("oldest").map_err(get)?;
                let count: i64 = r.try_get("depth").map_err(get)?;
                let past_due: i64 = r.try_get("past_due").map_err(get)?;
                let leased: i64 = r.try_get("leased").map_err(get)?;
                Ok(QueueStats {
                    name: r.try_get("queue").map_err(get)?,
                    depth: count as u32,
                    leased: leased as u32,
                    past_due: past_due as u32,
                    oldest_age_seconds: ((micros(now) - oldest).max(0) / 1_000_000) as u64,
                })
            })
            .collect()
    }

    async fn corrections(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(Correction, Option<Message>)>> {
        let rows = sqlx::query(
            "SELECT c.message_id, c.from_label, c.to_label, c.from_queue, c.to_queue, c.corrected_by, c.note, c.corrected_us, q.message \
             FROM correction c LEFT JOIN queue_item q ON q.message_id = c.message_id \
             WHERE c.corrected_us >= $1 ORDER BY c.corrected_us, c.correction_id",
        )
        .bind(micros(since))
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading corrections", e))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| store_error("reading corrections", e);
                let label = |s: String| {
                    s.parse().map_err(|e: crate::domain::UnknownName| {
                        Error::store("reading corrections", e)
                    })
                };
                let message: Option<String> = r.try_get("message").map_err(get)?;
                Ok((
                    Correction {
                        message_id: r.try_get("message_id").map_err(get)?,
                        from_label: label(r.try_get("from_label").map_err(get)?)?,
                        to_label: label(r.try_get("to_label").map_err(get)?)?,
                        from_queue: r.try_get("from_queue").map_err(get)?,
                        to_queue: r.try_get("to_queue").map_err(get)?,
                        corrected_by: r.try_get("corrected_by").map_err(get)?,
                        note: r.try_get("note").map_err(get)?,
                        corrected_at: from_micros(r.try_get("corrected_us").map_err(get)?),
                    },
                    message.and_then(|m| serde_json::from_str(&m).ok()),
                ))
            })
            .collect()
    }

    async fn snapshot(&self) -> Result<Vec<(String, String, bool)>> {
        let rows =
            sqlx::query("SELECT message_id, queue, state FROM queue_item ORDER BY message_id")
                .fetch_all(self.pool())
                .await
                .map_err(|e| store_error("queue snapshot", e))?;
        rows.iter()
            .map(|r| {
                let get = |e: sqlx::Error| store_error("queue snapshot", e);
                let state: String = r.try_get("state").map_err(get)?;
                Ok((
                    r.try_get("message_id").map_err(get)?,
                    r.try_get("queue").map_err(get)?,
                    state == "acked",
                ))
            })
            .collect()
    }
}
