//! "Leren": what the store's messages teach, over a period, as aggregates only.
//!
//! # What it reads, and what never leaves this module
//! - `queue_item` (routed messages): label, queue, the message's channel, the classification's
//!   cue families, queueing time, deadline and acknowledgement. The message text, sender and
//!   subject are parsed past (only the `channel` field of the stored message is read).
//! - `history` and `history_location` (every classified message with a sender): label, kind,
//!   topics of the issue signature, and the location keys. Postcode keys (`pc:…`, keyed `pc#…`) and any key
//!   with a digit in it are dropped, so no postcode or house number can appear.
//! - `correction`: from and to label, time. Not who corrected, nor the note.
//!
//! # Suppression
//! Every count from 1 to `min_count - 1` is reported as suppressed (`None`, `null` in JSON, "<N"
//! in text), so that no small group of messages (one person's) can be picked out. Places
//! (hotspots) with fewer reports than `min_count` are left out altogether (only how many were
//! left out is said). A rate is only given when the count it divides by is shown.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use sqlx::Row;

use super::{from_micros, micros, store_error, Store};
use crate::domain::Label;
use crate::error::Result;

/// The period and the suppression threshold of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSpec {
    /// Start (inclusive).
    pub from: DateTime<Utc>,
    /// End (exclusive).
    pub to: DateTime<Utc>,
    /// Counts below this are suppressed (at least 1).
    pub min_count: u64,
    /// "Now", for items still open past their deadline.
    pub now: DateTime<Utc>,
}

/// One named count; `count` is `None` when it was suppressed (1 ≤ n < min_count).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// What was counted (a label, queue, channel, ISO week, family, topic).
    pub key: String,
    /// How many, or `None` when suppressed.
    pub count: Option<u64>,
}

/// A place that was reported about often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hotspot {
    /// The street or area (no house number, no postcode).
    pub place: String,
    /// Reports about it.
    pub reports: Option<u64>,
    /// Different senders among them.
    pub senders: Option<u64>,
    /// Of them classified as klacht (repeated reports become complaints).
    pub klachten: Option<u64>,
}

/// Deadlines of one queue, for items queued in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadlineRow {
    /// The queue.
    pub queue: String,
    /// Items queued.
    pub queued: Option<u64>,
    /// Handled (acked) after their deadline.
    pub handled_late: Option<u64>,
    /// Still open and past their deadline now.
    pub open_past_due: Option<u64>,
}

/// Corrections of one kind: the model said `from`, a person said `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CorrectionPair {
    /// The model's label.
    pub from: String,
    /// The staff member's label.
    pub to: String,
    /// How often.
    pub count: Option<u64>,
}

/// Corrections in one week against the messages routed that week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CorrectionWeek {
    /// ISO week, `2026-W10`.
    pub week: String,
    /// Messages routed.
    pub routed: Option<u64>,
    /// Corrections made.
    pub corrected: Option<u64>,
    /// corrected / routed, when both are shown.
    pub rate: Option<f64>,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Start of the period (inclusive), RFC 3339.
    pub from: String,
    /// End of the period (exclusive), RFC 3339.
    pub to: String,
    /// The suppression threshold.
    pub min_count: u64,
    /// Routed messages in the period.
    pub routed: Option<u64>,
    /// Classified messages with a sender (the repeat memory) in the period.
    pub remembered: Option<u64>,
    /// Routed messages per label (all five labels, always in this order).
    pub by_label: Vec<Bucket>,
    /// Per intake queue.
    pub by_queue: Vec<Bucket>,
    /// Per channel.
    pub by_channel: Vec<Bucket>,
    /// Per ISO week.
    pub by_week: Vec<Bucket>,
    /// Complaints (klacht) by cue family: how many complaints showed each kind of signal.
    pub complaint_families: Vec<Bucket>,
    /// Complaints by topic of the issue (verlichting, afval, …).
    pub complaint_topics: Vec<Bucket>,
    /// Places reported about at least `min_count` times, most first.
    pub hotspots: Vec<Hotspot>,
    /// Places left out because fewer than `min_count` reports were about them.
    pub places_below_threshold: u64,
    /// Deadlines per queue.
    pub deadlines: Vec<DeadlineRow>,
    /// All corrections in the period.
    pub corrections: Option<u64>,
    /// Corrections by (model label, staff label).
    pub correction_pairs: Vec<CorrectionPair>,
    /// Corrections per week against what was routed.
    pub correction_weeks: Vec<CorrectionWeek>,
}

/// `n`, or `None` when 1 ≤ n < min.
pub fn suppress(n: u64, min: u64) -> Option<u64> {
    if n == 0 || n >= min {
        Some(n)
    } else {
        None
    }
}

/// The ISO week of a time, `2026-W10`.
pub fn iso_week(t: DateTime<Utc>) -> String {
    let w = t.iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

/// Whether a location key may be shown: no postcode, nothing with a digit (a house number),
/// and no bare kind of landmark (`lmt:speeltuin`: "a playground" is no place).
pub fn showable_place(key: &str) -> bool {
    !key.starts_with("pc")
        && !key.starts_with("lmt:")
        && !key.chars().any(|c| c.is_ascii_digit())
        && !key.trim().is_empty()
}

/// A location key as people write it: "merelstraat" → "Merelstraat", "van hallstraat" →
/// "Van Hallstraat", a landmark `lm:basisschool de regenboog` → "Basisschool De Regenboog".
fn place_name(key: &str) -> String {
    key.trim_start_matches("lm:")
        .split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn buckets(counts: BTreeMap<String, u64>, min: u64, by_count: bool) -> Vec<Bucket> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    if by_count {
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    v.into_iter()
        .map(|(key, n)| Bucket {
            key,
            count: suppress(n, min),
        })
        .collect()
}

struct QueueRow {
    label: String,
    queue: String,
    channel: String,
    families: BTreeSet<String>,
    enqueued_us: i64,
    due_us: i64,
    acked_us: Option<i64>,
    state: String,
}

impl Store {
    /// The "Leren" report over `spec`'s period (see the module documentation).
    pub async fn report(&self, spec: &ReportSpec) -> Result<Report> {
        let min = spec.min_count.max(1);
        let (from, to) = (micros(spec.from), micros(spec.to));
        let now = micros(spec.now);

        // Routed messages.
        let rows = sqlx::query(
            "SELECT label, queue, state, message, classification, enqueued_us, due_us, acked_us \
             FROM queue_item WHERE enqueued_us >= $1 AND enqueued_us < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading queue items for the report", e))?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let get = |e: sqlx::Error| store_error("reading queue items for the report", e);
            let message: String = row.try_get("message").map_err(get)?;
            let classification: String = row.try_get("classification").map_err(get)?;
            // Only the channel of the message and the cue families of the classification are
            // taken; the text, sender and subject are dropped with the parsed values.
            let channel = serde_json::from_str::<serde_json::Value>(&message)
                .ok()
                .and_then(|m| m.get("channel").and_then(|c| c.as_str()).map(String::from))
                .unwrap_or_else(|| "unspecified".into());
            let families = serde_json::from_str::<serde_json::Value>(&classification)
                .ok()
                .and_then(|c| c.get("cues").and_then(|c| c.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter(|c| !c.get("negated").and_then(|n| n.as_bool()).unwrap_or(false))
                // Complaint themes are the lexicon's families; the model's evidence is not one.
                .filter(|c| {
                    !c.get("from_model")
                        .and_then(|n| n.as_bool())
                        .unwrap_or(false)
                })
                .filter_map(|c| c.get("family").and_then(|f| f.as_str()).map(String::from))
                .collect();
            items.push(QueueRow {
                label: row.try_get("label").map_err(get)?,
                queue: row.try_get("queue").map_err(get)?,
                channel,
                families,
                enqueued_us: row.try_get("enqueued_us").map_err(get)?,
                due_us: row.try_get("due_us").map_err(get)?,
                acked_us: row.try_get("acked_us").map_err(get)?,
                state: row.try_get("state").map_err(get)?,
            });
        }

        let mut by_label: BTreeMap<String, u64> = Label::ALL
            .iter()
            .map(|l| (l.as_str().to_string(), 0))
            .collect();
        let mut by_queue = BTreeMap::<String, u64>::new();
        let mut by_channel = BTreeMap::<String, u64>::new();
        let mut by_week = BTreeMap::<String, u64>::new();
        let mut families = BTreeMap::<String, u64>::new();
        let mut deadlines = BTreeMap::<String, (u64, u64, u64)>::new();
        for it in &items {
            *by_label.entry(it.label.clone()).or_default() += 1;
            *by_queue.entry(it.queue.clone()).or_default() += 1;
            *by_channel.entry(it.channel.clone()).or_default() += 1;
            *by_week
                .entry(iso_week(from_micros(it.enqueued_us)))
                .or_default() += 1;
            if it.label == "klacht" {
                for f in &it.families {
                    *families.entry(f.clone()).or_default() += 1;
                }
            }
            let d = deadlines.entry(it.queue.clone()).or_default();
            d.0 += 1;
            match it.acked_us {
                Some(acked) if it.state == "acked" => {
                    if acked > it.due_us {
                        d.1 += 1;
                    }
                }
                _ => {
                    if it.due_us < now {
                        d.2 += 1;
                    }
                }
            }
        }
        // Every week of the period, so that the chart is a time line (an empty week is 0).
        let mut t = spec.from;
        while t < spec.to && by_week.len() < 600 {
            by_week.entry(iso_week(t)).or_default();
            t += chrono::Duration::days(7);
        }
        if spec.to > spec.from {
            by_week
                .entry(iso_week(spec.to - chrono::Duration::microseconds(1)))
                .or_default();
        }
        let by_label = Label::ALL
            .iter()
            .map(|l| Bucket {
                key: l.as_str().to_string(),
                count: suppress(by_label[l.as_str()], min),
            })
            .collect();

        // The repeat memory: topics of complaints, and places.
        let rows = sqlx::query(
            "SELECT message_id, label, kind, signature FROM history \
             WHERE received_us >= $1 AND received_us < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading history for the report", e))?;
        let mut topics = BTreeMap::<String, u64>::new();
        let mut label_of = BTreeMap::<String, String>::new();
        for row in &rows {
            let get = |e: sqlx::Error| store_error("reading history for the report", e);
            let id: String = row.try_get("message_id").map_err(get)?;
            let label: String = row.try_get("label").map_err(get)?;
            let signature: String = row.try_get("signature").map_err(get)?;
            if label == "klacht" {
                if let Ok(sig) =
                    serde_json::from_str::<crate::repeat::signature::Signature>(&signature)
                {
                    for t in sig.topics {
                        *topics.entry(t).or_default() += 1;
                    }
                }
            }
            label_of.insert(id, label);
        }
        let remembered = label_of.len() as u64;
        let rows = sqlx::query(
            "SELECT l.location, h.message_id, h.sender_key FROM history_location l \
             JOIN history h ON h.message_id = l.message_id \
             WHERE h.received_us >= $1 AND h.received_us < $2 AND h.kind = 'report'",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading places for the report", e))?;
        // place → (messages, senders)
        let mut places = BTreeMap::<String, (BTreeSet<String>, BTreeSet<String>)>::new();
        for row in &rows {
            let get = |e: sqlx::Error| store_error("reading places for the report", e);
            let location: String = row.try_get("location").map_err(get)?;
            if !showable_place(&location) {
                continue;
            }
            let p = places.entry(location).or_default();
            p.0.insert(row.try_get("message_id").map_err(get)?);
            p.1.insert(row.try_get("sender_key").map_err(get)?);
        }
        let mut places_below_threshold = 0;
        let mut hotspots = Vec::new();
        for (key, (messages, senders)) in &places {
            let reports = messages.len() as u64;
            if reports < min {
                places_below_threshold += 1;
                continue;
            }
            let klachten = messages
                .iter()
                .filter(|m| label_of.get(*m).is_some_and(|l| l == "klacht"))
                .count() as u64;
            hotspots.push(Hotspot {
                place: place_name(key),
                reports: Some(reports),
                senders: suppress(senders.len() as u64, min),
                klachten: suppress(klachten, min),
            });
        }
        hotspots.sort_by(|a, b| b.reports.cmp(&a.reports).then(a.place.cmp(&b.place)));

        // Corrections.
        let rows = sqlx::query(
            "SELECT from_label, to_label, corrected_us FROM correction \
             WHERE corrected_us >= $1 AND corrected_us < $2",
        )
        .bind(from)
        .bind(to)
        .fetch_all(self.pool())
        .await
        .map_err(|e| store_error("reading corrections for the report", e))?;
        let mut pairs = BTreeMap::<(String, String), u64>::new();
        let mut corrected_weeks = BTreeMap::<String, u64>::new();
        for row in &rows {
            let get = |e: sqlx::Error| store_error("reading corrections for the report", e);
            let f: String = row.try_get("from_label").map_err(get)?;
            let t: String = row.try_get("to_label").map_err(get)?;
            let at: i64 = row.try_get("corrected_us").map_err(get)?;
            *pairs.entry((f, t)).or_default() += 1;
            *corrected_weeks
                .entry(iso_week(from_micros(at)))
                .or_default() += 1;
        }
        let mut correction_pairs: Vec<CorrectionPair> = pairs
            .into_iter()
            .map(|((from, to), n)| CorrectionPair {
                from,
                to,
                count: suppress(n, min),
            })
            .collect();
        correction_pairs.sort_by_key(|p| std::cmp::Reverse(p.count));
        let weeks: BTreeSet<&String> = by_week.keys().chain(corrected_weeks.keys()).collect();
        let correction_weeks = weeks
            .into_iter()
            .filter(|w| {
                by_week.get(*w).copied().unwrap_or(0) > 0
                    || corrected_weeks.get(*w).copied().unwrap_or(0) > 0
            })
            .map(|w| {
                let routed = by_week.get(w).copied().unwrap_or(0);
                let corrected = corrected_weeks.get(w).copied().unwrap_or(0);
                let (routed_s, corrected_s) = (suppress(routed, min), suppress(corrected, min));
                CorrectionWeek {
                    week: w.clone(),
                    routed: routed_s,
                    corrected: corrected_s,
                    rate: match (routed_s, corrected_s) {
                        (Some(r), Some(c)) if r > 0 => Some(c as f64 / r as f64),
                        _ => None,
                    },
                }
            })
            .collect();

        Ok(Report {
            from: spec.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            to: spec.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            min_count: min,
            routed: suppress(items.len() as u64, min),
            remembered: suppress(remembered, min),
            by_label,
            by_queue: buckets(by_queue, min, true),
            by_channel: buckets(by_channel, min, true),
            by_week: buckets(by_week, min, false),
            complaint_families: buckets(families, min, true),
            complaint_topics: buckets(topics, min, true),
            hotspots,
            places_below_threshold,
            deadlines: deadlines
                .into_iter()
                .map(|(queue, (q, late, open))| DeadlineRow {
                    queue,
                    queued: suppress(q, min),
                    handled_late: suppress(late, min),
                    open_past_due: suppress(open, min),
                })
                .collect(),
            corrections: suppress(rows.len() as u64, min),
            correction_pairs,
            correction_weeks,
        })
    }
}

impl Report {
    /// The report as CSV: `section,key,count` (and `rate` for weeks), suppressed counts as
    /// `<N`. Keys are quoted when they hold a comma or quote.
    pub fn to_csv(&self) -> String {
        fn q(s: &str) -> String {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        }
        let min = self.min_count;
        let c = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or(format!("<{min}"));
        let mut out = String::from("section,key,count,detail\n");
        let mut line = |section: &str, key: &str, count: String, detail: String| {
            out.push_str(&format!("{section},{},{count},{}\n", q(key), q(&detail)));
        };
        line("period", &self.from, String::new(), self.to.clone());
        line("total", "routed", c(self.routed), String::new());
        line("total", "remembered", c(self.remembered), String::new());
        for (section, list) in [
            ("label", &self.by_label),
            ("queue", &self.by_queue),
            ("channel", &self.by_channel),
            ("week", &self.by_week),
            ("complaint_family", &self.complaint_families),
            ("complaint_topic", &self.complaint_topics),
        ] {
            for b in list {
                line(section, &b.key, c(b.count), String::new());
            }
        }
        for h in &self.hotspots {
            line(
                "hotspot",
                &h.place,
                c(h.reports),
                format!("senders {}; klachten {}", c(h.senders), c(h.klachten)),
            );
        }
        for d in &self.deadlines {
            line(
                "deadline",
                &d.queue,
                c(d.queued),
                format!(
                    "handled late {}; open past due {}",
                    c(d.handled_late),
                    c(d.open_past_due)
                ),
            );
        }
        line("total", "corrections", c(self.corrections), String::new());
        for p in &self.correction_pairs {
            line(
                "correction",
                &format!("{}→{}", p.from, p.to),
                c(p.count),
                String::new(),
            );
        }
        for w in &self.correction_weeks {
            line(
                "correction_week",
                &w.week,
                c(w.corrected),
                format!(
                    "routed {}; rate {}",
                    c(w.routed),
                    w.rate.map(|r| format!("{r:.3}")).unwrap_or_default()
                ),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_counts_are_suppressed_and_zero_and_large_are_not() {
        assert_eq!(suppress(0, 5), Some(0));
        assert_eq!(suppress(1, 5), None);
        assert_eq!(suppress(4, 5), None);
        assert_eq!(suppress(5, 5), Some(5));
        assert_eq!(suppress(1, 1), Some(1));
    }

    #[test]
    fn postcodes_and_house_numbers_are_never_places() {
        assert!(showable_place("merelstraat"));
        assert!(showable_place("van hallstraat"));
        assert!(!showable_place("pc:1234ab"));
        assert!(!showable_place("pc#0a1b2c3d4e5f6a7b"));
        assert!(!showable_place("lmt:speeltuin"));
        assert!(showable_place("lm:basisschool de regenboog"));
        assert_eq!(
            place_name("lm:basisschool de regenboog"),
            "Basisschool De Regenboog"
        );
        assert!(!showable_place("merelstraat 12"));
        assert!(!showable_place(""));
        assert_eq!(place_name("van hallstraat"), "Van Hallstraat");
    }

    #[test]
    fn weeks_are_iso_weeks() {
        let t = DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(iso_week(t), "2026-W01");
        let t = DateTime::parse_from_rfc3339("2027-01-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(iso_week(t), "2026-W53");
    }
}
