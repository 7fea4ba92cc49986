//! The intake queues: where routed messages wait for a person, durably.
//!
//! # Invariants
//! 1. **Accepted means committed.** A Classify with `route = true` returns only after its item
//!    is committed to the store (SQLite WAL with `synchronous = FULL`, or PostgreSQL). A
//!    process killed right after the answer loses nothing.
//! 2. **Once per message.** An item is keyed by `message_id` (unique): routing the same
//!    message again changes nothing.
//! 3. **One clerk at a time.** A pull leases items in one transaction (PostgreSQL:
//!    `SELECT … FOR UPDATE SKIP LOCKED`; SQLite: `BEGIN IMMEDIATE`, the single writer), so two
//!    concurrent pullers, in one process or many, never lease the same item.
//! 4. **Leases expire.** An item pulled and neither acked nor released is available again once
//!    its lease runs out; every lease counts as a delivery.
//! 5. **Poison goes aside.** An item that would be leased a `max_deliveries + 1`-th time moves
//!    to the dead-letter queue instead.
//! 6. **Acked is final.** An acked item never returns to any queue; it is kept (state `acked`)
//!    for audits and for corrections, until the retention purges it.
//! 7. **Corrections are kept.** Every correction is a row of its own (who, from, to, note,
//!    when); a queued item moves to the corrected label's queue. The audit log records who
//!    corrected what, without the note or any message text.
//! 8. **Only the holder settles.** Ack and Release work only for the caller that holds the
//!    item's lease (`leased_by`, the API key's name; empty when keys are off): an item must be
//!    pulled before it is acked, and another clerk's items cannot be taken away.
//! 9. **One id, one message.** Routing a `message_id` again with the same content changes
//!    nothing; with other content it is refused (`ALREADY_EXISTS`), never reported as queued.
//! 10. **Nothing is kept forever.** Acked items and corrections go after `retention_days`,
//!     items still waiting (dead letters too) after `queue_retention_days`, and one person's
//!     or one message's data can be erased at once (`herken purge`, `Admin.Purge`).
//!
//! # Storage format (migration 2)
//! ```text
//! queue_item(item_id TEXT PK, message_id TEXT UNIQUE, queue TEXT, state TEXT 'queued'|'acked',
//!            label TEXT, message TEXT /* JSON Message: text and sender, which the clerk needs */,
//!            classification TEXT /* JSON Outcome */, enqueued_us BIGINT, due_us BIGINT,
//!            lease_until_us BIGINT NULL /* NULL: not leased */, deliveries INTEGER,
//!            acked_us BIGINT NULL,
//!            leased_by TEXT NULL /* migration 3: the lease holder's key name */)
//!   index (queue, state, enqueued_us), (state, enqueued_us)
//! correction(correction_id TEXT PK, message_id TEXT, from_label TEXT, to_label TEXT,
//!            from_queue TEXT, to_queue TEXT, corrected_by TEXT, note TEXT, corrected_us BIGINT)
//! ```
//! Times are microseconds since the Unix epoch. Items are pulled oldest first
//! (`enqueued_us`, then `item_id`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Label, Message};
use crate::error::Result;
use crate::recognizer::Outcome;

/// An item to put in a queue.
#[derive(Debug, Clone)]
pub struct NewItem {
    /// Its id.
    pub item_id: String,
    /// The queue.
    pub queue: String,
    /// The message (its text and sender are what the clerk works with).
    pub message: Message,
    /// The classification.
    pub classification: Outcome,
    /// Handling deadline.
    pub due_at: DateTime<Utc>,
    /// When it was queued.
    pub enqueued_at: DateTime<Utc>,
}

/// An item as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    /// Its id.
    pub item_id: String,
    /// Its queue.
    pub queue: String,
    /// The message.
    pub message: Message,
    /// The classification (with any correction applied).
    pub classification: Outcome,
    /// Handling deadline.
    pub due_at: DateTime<Utc>,
    /// How often it was leased.
    pub deliveries: u32,
    /// Acked (gone for good).
    pub acked: bool,
}

/// One queue's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// The queue.
    pub name: String,
    /// Items waiting (leased or not).
    pub depth: u32,
    /// Items currently leased.
    pub leased: u32,
    /// Age of the oldest waiting item, in seconds.
    pub oldest_age_seconds: u64,
    /// Waiting items past their deadline.
    pub past_due: u32,
}

/// A correction, as kept.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Correction {
    /// The message corrected.
    pub message_id: String,
    /// Label before.
    pub from_label: Label,
    /// Label after.
    pub to_label: Label,
    /// Queue before.
    pub from_queue: String,
    /// Queue after.
    pub to_queue: String,
    /// Who corrected it.
    pub corrected_by: String,
    /// Why.
    pub note: String,
    /// When.
    pub corrected_at: DateTime<Utc>,
}

/// Result of acking or releasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Items changed.
    pub done: u32,
    /// Ids that are unknown, or already acked.
    pub unknown: Vec<String>,
    /// Ids of waiting items whose lease the caller does not hold (not pulled, or pulled by
    /// another key).
    pub not_held: Vec<String>,
}

/// How a pull is done.
#[derive(Debug, Clone)]
pub struct PullSpec<'a> {
    /// The queue.
    pub queue: &'a str,
    /// At most this many items.
    pub max_items: u32,
    /// Lease length.
    pub lease: chrono::Duration,
    /// Now.
    pub now: DateTime<Utc>,
    /// Leases before dead-lettering.
    pub max_deliveries: u32,
    /// The dead-letter queue.
    pub dead_letter: &'a str,
    /// Who takes the lease: the caller's key name (empty when keys are off).
    pub holder: &'a str,
}

/// The durable queue. Implemented by the store.
#[async_trait::async_trait]
pub trait QueueStore: Send + Sync {
    /// Queue an item; `false` when its message was already queued (nothing changes).
    async fn enqueue(&self, item: &NewItem) -> Result<bool>;
    /// Lease up to `max_items` available items, oldest first (see the invariants).
    async fn pull(&self, spec: &PullSpec<'_>) -> Result<Vec<Item>>;
    /// Ack items held by `holder`: gone for good.
    async fn ack(&self, item_ids: &[String], now: DateTime<Utc>, holder: &str) -> Result<Settled>;
    /// Give items held by `holder` back now.
    async fn release(&self, item_ids: &[String], holder: &str) -> Result<Settled>;
    /// The item of a message, if it was queued.
    async fn item_of_message(&self, message_id: &str) -> Result<Option<Item>>;
    /// Record a correction and move the item (when still queued) to `correction.to_queue`,
    /// with `classification` as its new classification.
    async fn correct(&self, correction: &Correction, classification: &Outcome) -> Result<()>;
    /// Numbers per queue that has items.
    async fn stats(&self, now: DateTime<Utc>) -> Result<Vec<QueueStats>>;
    /// Corrections made at or after `since`, oldest first, with the message each corrects.
    async fn corrections(&self, since: DateTime<Utc>)
        -> Result<Vec<(Correction, Option<Message>)>>;
    /// Every item's (message id, queue, acked): for audits and tests.
    async fn snapshot(&self) -> Result<Vec<(String, String, bool)>>;
}

/// Items a pull leases when it asks for 0.
pub const DEFAULT_MAX_ITEMS: u32 = 10;
/// Lease when a pull asks for 0 seconds.
pub const DEFAULT_LEASE_SECONDS: u32 = 300;
/// Most ids one ack or release may name.
pub const MAX_IDS: usize = 1000;

use std::sync::Arc;

use crate::error::Error;
use crate::route::Router;

/// The intake desk: validation and the rules around the queue store.
#[derive(Clone)]
pub struct Intake {
    store: Arc<dyn QueueStore>,
    router: Router,
    max_items: u32,
    max_lease_seconds: u32,
}

impl std::fmt::Debug for Intake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Intake").finish_non_exhaustive()
    }
}

impl Intake {
    /// Intake over a store with the routing's queues and dead-lettering.
    pub fn new(store: Arc<dyn QueueStore>, router: Router) -> Intake {
        let limits = crate::config::Limits::default();
        Intake {
            store,
            router,
            max_items: limits.max_pull_items,
            max_lease_seconds: limits.max_lease_seconds,
        }
    }

    /// With other bounds on one pull (`max_pull_items`, `max_lease_seconds`).
    pub fn with_limits(mut self, max_items: u32, max_lease_seconds: u32) -> Intake {
        self.max_items = max_items;
        self.max_lease_seconds = max_lease_seconds;
        self
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn QueueStore> {
        &self.store
    }

    /// Put a routed message in its queue; `true` when it is (now or already) queued. The same
    /// `message_id` queued before with other content is [`Error::AlreadyExists`].
    pub async fn enqueue(
        &self,
        message: &Message,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let inserted = self
            .store
            .enqueue(&NewItem {
                item_id: uuid::Uuid::new_v4().to_string(),
                queue: outcome.queue.clone(),
                message: message.clone(),
                classification: outcome.clone(),
                due_at: outcome.due_at,
                enqueued_at: now,
            })
            .await?;
        if !inserted {
            self.check_reuse(message).await?;
        }
        Ok(true)
    }

    /// [`Error::AlreadyExists`] when `message.id` was queued before with other content (text,
    /// sender, subject or channel); fine when it was not queued or is the same message.
    pub async fn check_reuse(&self, message: &Message) -> Result<()> {
        match self.store.item_of_message(&message.id).await? {
            Some(item) if !same_content(&item.message, message) => {
                Err(Error::AlreadyExists(format!(
                    "message_id {:?} was queued before with other content; give a new message its own message_id",
                    message.id
                )))
            }
            _ => Ok(()),
        }
    }

    /// Every declared queue with its numbers (empty queues too).
    pub async fn list(&self, now: DateTime<Utc>) -> Result<Vec<(QueueStats, String)>> {
        let stats = self.store.stats(now).await?;
        let mut out: Vec<(QueueStats, String)> = self
            .router
            .queues
            .iter()
            .map(|(name, desc)| {
                let s = stats
                    .iter()
                    .find(|s| &s.name == name)
                    .cloned()
                    .unwrap_or(QueueStats {
                        name: name.clone(),
                        ..Default::default()
                    });
                (s, desc.clone())
            })
            .collect();
        // Items in a queue no longer declared (after a configuration change) are shown too.
        for s in stats
            .into_iter()
            .filter(|s| !self.router.queues.contains_key(&s.name))
        {
            out.push((s, "(not in the routing configuration)".into()));
        }
        Ok(out)
    }

    /// Validate and pull; `holder` (the caller's key name) takes the leases.
    pub async fn pull(
        &self,
        queue: &str,
        max_items: u32,
        lease_seconds: u32,
        now: DateTime<Utc>,
        holder: &str,
    ) -> Result<Vec<Item>> {
        if !self.router.queues.contains_key(queue) {
            return Err(Error::invalid(
                "queue",
                format!(
                    "unknown queue {queue:?}; the queues are: {}",
                    self.router
                        .queues
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let max_items = if max_items == 0 {
            DEFAULT_MAX_ITEMS
        } else {
            max_items
        };
        if max_items > self.max_items {
            return Err(Error::invalid(
                "max_items",
                format!(
                    "is {max_items}, more than the limit of {} (max_pull_items)",
                    self.max_items
                ),
            ));
        }
        let lease_seconds = if lease_seconds == 0 {
            DEFAULT_LEASE_SECONDS
        } else {
            lease_seconds
        };
        if lease_seconds > self.max_lease_seconds {
            return Err(Error::invalid(
                "lease_seconds",
                format!(
                    "is {lease_seconds}, more than the limit of {} (max_lease_seconds)",
                    self.max_lease_seconds
                ),
            ));
        }
        self.store
            .pull(&PullSpec {
                queue,
                max_items,
                lease: chrono::Duration::seconds(lease_seconds as i64),
                now,
                max_deliveries: self.router.max_deliveries,
                dead_letter: &self.router.dead_letter,
                holder,
            })
            .await
    }

    fn check_ids(ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Err(Error::invalid(
                "item_ids",
                "is empty; name at least one item",
            ));
        }
        if ids.len() > MAX_IDS {
            return Err(Error::invalid(
                "item_ids",
                format!("has {} ids, more than the limit of {MAX_IDS}", ids.len()),
            ));
        }
        let longest = crate::config::DEFAULT_MAX_ID_CHARS;
        if let Some((i, id)) = ids
            .iter()
            .enumerate()
            .find(|(_, id)| id.chars().count() > longest)
        {
            return Err(Error::too_long(
                format!("item_ids[{i}]"),
                id.chars().count(),
                "characters",
                longest,
                "item ids are at most 200 characters",
            ));
        }
        Ok(())
    }

    /// Validate and ack the items `holder` holds.
    pub async fn ack(&self, ids: &[String], now: DateTime<Utc>, holder: &str) -> Result<Settled> {
        Intake::check_ids(ids)?;
        self.store.ack(ids, now, holder).await
    }

    /// Validate and release the items `holder` holds.
    pub async fn release(&self, ids: &[String], holder: &str) -> Result<Settled> {
        Intake::check_ids(ids)?;
        self.store.release(ids, holder).await
    }

    /// A person sets the right label: recorded, and a queued item moves to that label's queue.
    pub async fn correct(
        &self,
        message_id: &str,
        label: Label,
        corrected_by: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Correction> {
        if message_id.trim().is_empty() {
            return Err(Error::invalid("message_id", "is empty"));
        }
        if corrected_by.trim().is_empty() {
            return Err(Error::invalid(
                "corrected_by",
                "is empty; say who corrects (kept with the correction)",
            ));
        }
        let item = self.store.item_of_message(message_id).await?.ok_or_else(|| Error::NotFound(format!(
            "message {message_id:?} is not in an intake queue; only routed messages (route = true) can be corrected"
        )))?;
        let to_queue = self.router.queue_for_label(label);
        let mut classification = item.classification.clone();
        classification.label = label;
        classification.queue = to_queue.clone();
        classification.needs_clarification = false;
        classification.clarifying_question.clear();
        classification.route_rule = "correction".into();
        let correction = Correction {
            message_id: message_id.to_string(),
            from_label: item.classification.label,
            to_label: label,
            from_queue: item.queue.clone(),
            to_queue: if item.acked {
                item.queue.clone()
            } else {
                to_queue
            },
            corrected_by: corrected_by.to_string(),
            note: note.to_string(),
            corrected_at: now,
        };
        self.store.correct(&correction, &classification).await?;
        Ok(correction)
    }
}

/// The same message, as far as idempotency goes: what the caller sent, not when.
fn same_content(a: &Message, b: &Message) -> bool {
    a.text == b.text && a.sender == b.sender && a.subject == b.subject && a.channel == b.channel
}
