//! Repeat detection: *"herhaalde melding is vaak een klacht"*. Has this sender reported this
//! issue before?
//!
//! - **Who**: [`sender::Sender`], stored only as an HMAC-SHA256 key.
//! - **What**: [`signature::Signature`]: locations, topics and a MinHash sketch of the wording.
//! - **Decide** ([`decide`]): against the same sender's history within the window (default
//!   12 weeks):
//!   - a near-identical message within minutes is a *duplicate* (not a complaint);
//!   - a message that says the issue is fixed (thanks, "opgelost") is a *resolution*: reports
//!     before it no longer count, so the same problem after a fix is a new occurrence;
//!   - a short addition (a photo, an "aanvulling") soon after a report is a *follow-up*;
//!   - otherwise a report about the same issue as an earlier, unresolved report is a *repeat*.
//! - **Hotspots**: other senders' reports about the same issue within the window are counted.
//!
//! The store implements [`HistoryStore`]; this module decides, the store remembers.

pub mod address;
pub mod sender;
pub mod signature;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Label, Lang};
use crate::error::Result;
use signature::Signature;

/// What a history row says a message was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A report or complaint about an issue.
    Report,
    /// The same submission again within minutes.
    Duplicate,
    /// An addition to a recent report (a photo, details).
    FollowUp,
    /// The sender says the issue is fixed.
    Resolution,
}

impl EntryKind {
    /// Name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Report => "report",
            EntryKind::Duplicate => "duplicate",
            EntryKind::FollowUp => "followup",
            EntryKind::Resolution => "resolution",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "report" => EntryKind::Report,
            "duplicate" => EntryKind::Duplicate,
            "followup" => EntryKind::FollowUp,
            "resolution" => EntryKind::Resolution,
            _ => return None,
        })
    }
}

/// One remembered message: no text, no sender.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// The message id.
    pub message_id: String,
    /// Keyed hash of the sender.
    pub sender_key: String,
    /// When it was received.
    pub received_at: DateTime<Utc>,
    /// Its final label.
    pub label: Label,
    /// What it was for repeat detection.
    pub kind: EntryKind,
    /// Its issue signature.
    pub signature: Signature,
}

/// The memory repeat detection needs. Implemented by the store.
#[async_trait::async_trait]
pub trait HistoryStore: Send + Sync {
    /// Remember an entry; `false` when its message id was already remembered (idempotent).
    async fn record(&self, entry: &HistoryEntry) -> Result<bool>;
    /// The entry of a message id, if remembered.
    async fn get(&self, message_id: &str) -> Result<Option<HistoryEntry>>;
    /// The sender's entries received in `[since, until)`, oldest first.
    async fn by_sender(
        &self,
        sender_key: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<HistoryEntry>>;
    /// Other senders' entries in `[since, until)` that share one of `locations`.
    async fn near(
        &self,
        locations: &[String],
        exclude_sender: &str,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<HistoryEntry>>;
    /// Forget entries received before `before`; returns how many.
    async fn purge(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Settings of repeat detection.
#[derive(Debug, Clone, PartialEq)]
pub struct RepeatOptions {
    /// How far back an earlier report counts.
    pub window: Duration,
    /// The same submission again within this time is a duplicate.
    pub duplicate_within: Duration,
    /// An addition within this time after a report is a follow-up.
    pub follow_up_within: Duration,
}

impl Default for RepeatOptions {
    fn default() -> Self {
        RepeatOptions {
            window: Duration::weeks(12),
            duplicate_within: Duration::minutes(10),
            follow_up_within: Duration::days(2),
        }
    }
}

/// What the pipeline tells repeat detection about the new message.
#[derive(Debug, Clone)]
pub struct Facts {
    /// The message says it was reported before (a herhaling cue).
    pub says_repeat: bool,
    /// The message says the issue is fixed or thanks for it, without dissatisfaction.
    pub says_resolved: bool,
    /// The message is a short addition (a photo, details) without dissatisfaction.
    pub is_addition: bool,
}

/// The repeat decision for one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepeatFinding {
    /// The same sender reported the same issue before (unresolved, within the window).
    pub is_repeat: bool,
    /// Those earlier reports, oldest first.
    pub previous_message_ids: Vec<String>,
    /// The same submission again within minutes: the earlier message's id.
    pub duplicate_of: Option<String>,
    /// Other senders' reports about the same issue within the window.
    pub similar_reports: u32,
    /// The kind remembered for this message.
    pub kind: Option<EntryKind>,
    /// When the first earlier report was received.
    pub first_reported: Option<DateTime<Utc>>,
}

/// Decide against the sender's history (`history`, oldest first, this message excluded).
pub fn decide(
    signature: &Signature,
    received_at: DateTime<Utc>,
    facts: &Facts,
    history: &[HistoryEntry],
    opts: &RepeatOptions,
) -> RepeatFinding {
    let same: Vec<&HistoryEntry> = history
        .iter()
        .filter(|h| h.received_at <= received_at && h.signature.same_issue(signature))
        .collect();
    let mut f = RepeatFinding::default();
    // The same submission again within minutes.
    if let Some(d) = same.iter().rev().find(|h| {
        received_at - h.received_at <= opts.duplicate_within
            && h.signature.wording(signature) >= 0.8
    }) {
        f.duplicate_of = Some(d.message_id.clone());
        f.kind = Some(EntryKind::Duplicate);
        return f;
    }
    // Reports after the last resolution of this issue.
    let last_resolution = same
        .iter()
        .filter(|h| h.kind == EntryKind::Resolution)
        .map(|h| h.received_at)
        .max();
    let open: Vec<&&HistoryEntry> = same
        .iter()
        .filter(|h| {
            h.kind == EntryKind::Report && last_resolution.is_none_or(|r| h.received_at > r)
        })
        .collect();
    if facts.says_resolved && !facts.says_repeat {
        f.kind = Some(EntryKind::Resolution);
        return f;
    }
    if facts.is_addition
        && !facts.says_repeat
        && open
            .last()
            .is_some_and(|h| received_at - h.received_at <= opts.follow_up_within)
    {
        f.kind = Some(EntryKind::FollowUp);
        return f;
    }
    f.kind = Some(EntryKind::Report);
    if !open.is_empty() {
        f.is_repeat = true;
        f.previous_message_ids = open.iter().map(|h| h.message_id.clone()).collect();
        f.first_reported = open.first().map(|h| h.received_at);
    }
    f
}

/// The repeat reason in `lang`, for a finding that is a repeat.
pub fn reason(f: &RepeatFinding, lang: Lang) -> String {
    let n = f.previous_message_ids.len();
    let when = f
        .first_reported
        .map(|t| t.format("%d-%m-%Y").to_string())
        .unwrap_or_default();
    match lang {
        Lang::Nl if n == 1 => {
            format!("Dezelfde melder meldde dit eerder, op {when}, en het is nog niet opgelost.")
        }
        Lang::Nl => {
            format!("Dezelfde melder meldde dit al {n} keer eerder, voor het eerst op {when}.")
        }
        Lang::En if n == 1 => {
            format!("The same sender reported this before, on {when}, and it is not resolved.")
        }
        Lang::En => format!("The same sender reported this {n} times before, first on {when}."),
    }
}

/// Whether a remembered repeat changes the label to klacht: a repeated melding is a klacht,
/// and so is chasing an open report with a question ("Wanneer komt er iemand?", overig on its
/// text alone). An objection or a council letter keeps its label.
pub fn promotes(label: Label) -> bool {
    matches!(label, Label::Melding | Label::Overig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(days: i64, minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_000_000, 0).unwrap()
            + Duration::days(days)
            + Duration::minutes(minutes)
    }

    fn entry(id: &str, at: DateTime<Utc>, kind: EntryKind, text: &str) -> HistoryEntry {
        HistoryEntry {
            message_id: id.into(),
            sender_key: "k".into(),
            received_at: at,
            label: Label::Melding,
            kind,
            signature: Signature::of(text),
        }
    }

    const NONE: Facts = Facts {
        says_repeat: false,
        says_resolved: false,
        is_addition: false,
    };
    const LAMP: &str = "De lantaarnpaal voor Merelstraat 22 brandt niet.";

    #[test]
    fn same_issue_again_is_a_repeat() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let f = decide(
            &Signature::of("Nog steeds geen licht bij Merelstraat 22."),
            t(17, 0),
            &NONE,
            &h,
            &RepeatOptions::default(),
        );
        assert!(f.is_repeat);
        assert_eq!(f.previous_message_ids, ["a"]);
        assert!(reason(&f, Lang::Nl).contains("eerder"));
    }

    #[test]
    fn same_text_within_minutes_is_a_duplicate_not_a_repeat() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let f = decide(
            &Signature::of(LAMP),
            t(0, 3),
            &NONE,
            &h,
            &RepeatOptions::default(),
        );
        assert!(!f.is_repeat);
        assert_eq!(f.duplicate_of.as_deref(), Some("a"));
    }

    #[test]
    fn another_issue_is_not_a_repeat() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let f = decide(
            &Signature::of("Op de Dorpsstraat hangt een verkeersbord los."),
            t(5, 0),
            &NONE,
            &h,
            &RepeatOptions::default(),
        );
        assert!(!f.is_repeat);
    }

    #[test]
    fn a_photo_soon_after_is_a_follow_up() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let facts = Facts {
            is_addition: true,
            ..NONE
        };
        let f = decide(
            &Signature::of("Aanvulling over de lantaarnpaal Merelstraat 22: een foto."),
            t(0, 30),
            &facts,
            &h,
            &RepeatOptions::default(),
        );
        assert!(!f.is_repeat);
        assert_eq!(f.kind, Some(EntryKind::FollowUp));
    }

    #[test]
    fn the_same_problem_after_a_fix_is_a_new_occurrence() {
        let h = [
            entry("a", t(0, 0), EntryKind::Report, LAMP),
            entry(
                "b",
                t(5, 0),
                EntryKind::Resolution,
                "Bedankt, de lantaarnpaal Merelstraat 22 brandt weer.",
            ),
        ];
        let f = decide(
            &Signature::of("De lantaarnpaal bij Merelstraat 22 is weer uit."),
            t(60, 0),
            &NONE,
            &h,
            &RepeatOptions::default(),
        );
        assert!(!f.is_repeat);
    }

    #[test]
    fn a_thank_you_is_a_resolution() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let facts = Facts {
            says_resolved: true,
            ..NONE
        };
        let f = decide(
            &Signature::of("Bedankt, de lantaarnpaal Merelstraat 22 doet het weer."),
            t(3, 0),
            &facts,
            &h,
            &RepeatOptions::default(),
        );
        assert_eq!(f.kind, Some(EntryKind::Resolution));
        assert!(!f.is_repeat);
    }

    #[test]
    fn melding_and_overig_are_promoted() {
        assert!(promotes(Label::Melding));
        assert!(promotes(Label::Overig));
        assert!(!promotes(Label::Bezwaar));
        assert!(!promotes(Label::Raadsadres));
    }
}
