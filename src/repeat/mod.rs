//! Repeat detection: *"herhaalde melding is vaak een klacht"*. Has this sender reported this
//! issue before?
//!
//! - **Who**: [`sender::Sender`], stored only as an HMAC-SHA256 key.
//! - **What**: [`signature::Signature`]: places (streets, named places, postcodes, landmarks
//!   such as "bij de Jumbo" or "naast basisschool De Regenboog", [`address`]), the object
//!   (topics), what is wrong with it (problems) and which request or case it is about
//!   (processes, keyed case references, [`vocab`]), a MinHash sketch of the wording and a
//!   semantic sketch of the meaning ([`semantic`]).
//! - **Same issue?** ([`pair`]): a small logistic model over what two signatures share or
//!   contradict, fitted on `data/sequences/` with `herken sequences fit`.
//! - **Decide** ([`decide`]): against the same sender's history within the window (default
//!   12 weeks):
//!   - the same issue within `duplicate_minutes`, in any words, is a *duplicate* (not a
//!     complaint: a form that showed an error, a message sent twice);
//!   - a message that says the issue is fixed (thanks, "opgelost") is a *resolution*: reports
//!     before it no longer count, so the same problem after a fix is a new occurrence;
//!   - a short addition (a photo, an "aanvulling") soon after a report is a *follow-up*;
//!   - a status question ("waar blijft het") about an earlier request of the sender is a
//!     *process repeat* once the request's term (`data/processes.toml`) has passed — per the
//!     workshop, "te lang" and "geen reactie" make it a klacht — and just a question before;
//!   - otherwise a report about the same issue as an earlier, unresolved report is a *repeat*;
//!     with no earlier report of the sender in memory, a text that only says it was reported
//!     ("de derde keer", "my neighbour called") is none ([`RepeatFinding::reported_before`]).
//!
//!   The finding names the signals that decided, in the message's language.
//! - **Hotspots**: other senders' reports about the same issue within the window are counted.
//!
//! What the history keeps of a message is its signature, never its text, sender, house number
//! or case number: see the modules for what each part can and cannot reveal.
//!
//! The store implements [`HistoryStore`]; this module decides, the store remembers.

pub mod address;
pub mod pair;
pub mod semantic;
pub mod sender;
pub mod signature;
pub mod vocab;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Label, Lang};
use crate::error::Result;
use pair::PairModel;
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
    /// A report that says the earlier issue was fixed and tells of another ("it works again
    /// since the repair, but now a car hit it"): a resolution of what came before and a
    /// report of its own.
    AfterFix,
}

impl EntryKind {
    /// Name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Report => "report",
            EntryKind::Duplicate => "duplicate",
            EntryKind::FollowUp => "followup",
            EntryKind::Resolution => "resolution",
            EntryKind::AfterFix => "afterfix",
        }
    }

    /// Whether it reports an issue that a later message can repeat.
    pub fn is_report(self) -> bool {
        matches!(self, EntryKind::Report | EntryKind::AfterFix)
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<EntryKind> {
        Some(match s {
            "report" => EntryKind::Report,
            "duplicate" => EntryKind::Duplicate,
            "followup" => EntryKind::FollowUp,
            "resolution" => EntryKind::Resolution,
            "afterfix" => EntryKind::AfterFix,
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
    /// The same issue again within this time, without dissatisfaction and without saying it
    /// was reported, adds to the report (the exact spot, a licence plate) before anyone could
    /// act on it: a follow-up, whatever its words.
    pub same_day_within: Duration,
    /// How far back a request or objection counts for a status question about it: decisions
    /// may take longer than `window` (an objection with an advisory committee, twelve weeks
    /// and more), and a chase after them is still about that request.
    pub process_window: Duration,
    /// Whether messages with a sender get a semantic sketch (the `meaning` signal). It costs
    /// an eight-layer encoder pass per message the cascade would otherwise answer without the
    /// encoder, and on the project's sequences it separates same-issue pairs from others no
    /// better than chance (README, "Repeat detection"): off unless asked for.
    pub semantic_sketch: bool,
}

impl RepeatOptions {
    /// How far back the history is read: the longer of the two windows.
    pub fn lookback(&self) -> Duration {
        self.window.max(self.process_window)
    }
}

impl Default for RepeatOptions {
    fn default() -> Self {
        RepeatOptions {
            window: Duration::weeks(12),
            duplicate_within: Duration::minutes(10),
            follow_up_within: Duration::days(2),
            same_day_within: Duration::hours(12),
            process_window: Duration::weeks(26),
            semantic_sketch: false,
        }
    }
}

/// What the pipeline tells repeat detection about the new message.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The message says it was reported before (a herhaling cue that claims an earlier
    /// report, not one that says how often the situation recurs).
    pub says_repeat: bool,
    /// The message says the issue is fixed or thanks for it, without dissatisfaction.
    pub says_resolved: bool,
    /// The message is a short addition (a photo, details) without dissatisfaction.
    pub is_addition: bool,
    /// The message asks where a request or report stays ("nog niets gehoord").
    pub asks_status: bool,
    /// The message voices dissatisfaction (an ongenoegen, proces, bejegening or sarcasm cue).
    pub dissatisfied: bool,
    /// The message says, in passing or not, that something was fixed ("sinds de reparatie",
    /// "the net was replaced"): what was reported before is dealt with.
    pub mentions_fix: bool,
    /// The label of the message on its text alone, before repeat detection.
    pub label: Option<Label>,
}

/// Which rule decided.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Rule {
    /// Nothing earlier about this issue.
    #[default]
    New,
    /// The same issue again within minutes.
    Duplicate,
    /// A thank-you or "it is fixed".
    Resolution,
    /// An addition soon after a report.
    FollowUp,
    /// A report that says the earlier issue was fixed: another problem now.
    AfterFix,
    /// A status question about a request whose term has not passed.
    WithinTerm,
    /// A status question about a request whose term has passed.
    ProcessRepeat,
    /// The same issue as an open earlier report.
    Repeat,
}

/// The repeat decision for one message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RepeatFinding {
    /// The same sender reported the same issue before (unresolved, within the window), or
    /// asks after a request whose term has passed.
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
    /// The rule that decided.
    pub rule: Rule,
    /// The signals that decided, in words of the message's language (empty when none).
    pub signals: String,
    /// For a process repeat: the term in days that has passed.
    pub term_days: Option<u32>,
    /// Whether the sender's history within the window holds an earlier report at all. When it
    /// holds none, a message that only *says* it was reported before ("de derde keer",
    /// "mijn buurman heeft het al gemeld") repeats nothing remembered of this sender.
    pub reported_before: bool,
    /// The candidate pairs the same-issue model weighed at the repeat step (for fitting).
    pub candidates: Vec<pair::Pair>,
    /// The best same-issue probability among the earlier messages, and that pair's signal
    /// contributions by name (for evaluation: why a repeat was or was not found).
    pub best: Option<(f32, Vec<(&'static str, f32)>)>,
}

/// Decide against the sender's history (`history`, oldest first, this message excluded) with
/// the same-issue model. Entries older than `opts.window` count only for a status question
/// about a request (`opts.process_window`).
pub fn decide(
    signature: &Signature,
    received_at: DateTime<Utc>,
    facts: &Facts,
    history: &[HistoryEntry],
    opts: &RepeatOptions,
    model: &PairModel,
    lang: Lang,
) -> RepeatFinding {
    let days = |h: &HistoryEntry| (received_at - h.received_at).num_minutes() as f32 / 1440.0;
    let score_all = |within: Duration| -> Vec<(&HistoryEntry, pair::Pair, pair::Scored)> {
        history
            .iter()
            .filter(|h| h.received_at <= received_at && received_at - h.received_at <= within)
            .map(|h| {
                let p = pair::Pair::of(&h.signature, signature, days(h), facts.says_repeat);
                let s = model.score(&p);
                (h, p, s)
            })
            .collect()
    };
    let requests = score_all(opts.process_window.max(opts.window));
    let history: Vec<HistoryEntry> = history
        .iter()
        .filter(|h| received_at - h.received_at <= opts.window)
        .cloned()
        .collect();
    let history = history.as_slice();
    let scored = score_all(opts.window);
    let mut f = RepeatFinding {
        best: scored
            .iter()
            .max_by(|a, b| a.2.probability.total_cmp(&b.2.probability))
            .map(|(_, _, s)| {
                let named = pair::SIGNALS
                    .iter()
                    .copied()
                    .zip(s.contributions.iter().copied())
                    .filter(|(_, c)| c.abs() >= 0.05)
                    .collect();
                (s.probability, named)
            }),
        ..RepeatFinding::default()
    };
    // The same issue again within minutes, in any words: the same submission again.
    if let Some((d, _, _)) = scored.iter().rev().find(|(h, _, s)| {
        received_at - h.received_at <= opts.duplicate_within
            && h.kind != EntryKind::Resolution
            && (s.probability >= model.duplicate_threshold || h.signature.wording(signature) >= 0.8)
    }) {
        f.duplicate_of = Some(d.message_id.clone());
        f.kind = Some(EntryKind::Duplicate);
        f.rule = Rule::Duplicate;
        return f;
    }
    // A message about a request the sender made (the same kind of request) repeats it only by
    // chasing it (the process rule below) or by saying so: a question about a permit granted
    // is no repeat of the application.
    let chases = facts.asks_status || facts.dissatisfied;
    let about_request = |h: &HistoryEntry| {
        matches!(h.label, Label::Overig | Label::Bezwaar | Label::Raadsadres)
            && h.signature.same_process(signature)
            && !chases
            && !facts.says_repeat
    };
    // A report about public space does not repeat a question, a request or an objection, and
    // an objection or a council letter does not repeat a report: another kind of message is
    // another issue, unless the sender says it was reported (a request chased is the process
    // rule's).
    let comparable = |h: &HistoryEntry| {
        facts.says_repeat
            || match facts.label {
                Some(Label::Melding) => {
                    !matches!(h.label, Label::Overig | Label::Bezwaar | Label::Raadsadres)
                }
                Some(Label::Bezwaar | Label::Raadsadres) => {
                    !matches!(h.label, Label::Melding | Label::Klacht)
                }
                _ => true,
            }
    };
    let same: Vec<&(&HistoryEntry, pair::Pair, pair::Scored)> = scored
        .iter()
        .filter(|(h, _, s)| s.probability >= model.threshold && !about_request(h) && comparable(h))
        .collect();
    // A report is resolved by a later resolution about the same issue, or by one that names
    // no place or object of its own ("bedankt, het is gemaakt") soon after it.
    // A resolution, or a report that says the earlier issue was fixed, resolves what it shares
    // a place or an object with.
    let resolutions: Vec<&HistoryEntry> = history
        .iter()
        .filter(|h| {
            matches!(h.kind, EntryKind::Resolution | EntryKind::AfterFix)
                && h.received_at <= received_at
        })
        .collect();
    let after_resolution = |h: &HistoryEntry| {
        !resolutions.iter().any(|r| {
            r.received_at > h.received_at
                && (r.signature.locations.is_empty()
                    && r.signature.topics.is_empty()
                    && r.received_at - h.received_at <= opts.window
                    || (h.signature.same_named_place(&r.signature)
                        || h.signature.same_topic(&r.signature))
                        && r.received_at - h.received_at <= opts.window
                    || model
                        .score(&pair::Pair::of(
                            &h.signature,
                            &r.signature,
                            (r.received_at - h.received_at).num_minutes() as f32 / 1440.0,
                            false,
                        ))
                        .probability
                        >= model.duplicate_threshold)
        })
    };
    let open: Vec<&&(&HistoryEntry, pair::Pair, pair::Scored)> = same
        .iter()
        .filter(|(h, _, _)| h.kind.is_report() && after_resolution(h))
        .collect();
    f.kind = Some(EntryKind::Report);
    // A thank-you or "it is fixed" resolves the sender's earlier reports; with none in the
    // window there is nothing to resolve ("where the old oak was removed, there is a hole"),
    // and it is a report.
    let reported_before = history
        .iter()
        .any(|h| h.kind.is_report() && h.received_at <= received_at);
    f.reported_before = reported_before;
    if facts.says_resolved && !facts.says_repeat && reported_before {
        f.kind = Some(EntryKind::Resolution);
        f.rule = Rule::Resolution;
        return f;
    }
    // An addition to the sender's report about this issue, or to their last report when it
    // came in hours before ("aanvulling op mijn melding van net": it says which, not how).
    let latest_report = history
        .iter()
        .rfind(|h| h.kind.is_report() && h.received_at <= received_at);
    if facts.is_addition
        && (open
            .last()
            .is_some_and(|(h, _, _)| received_at - h.received_at <= opts.follow_up_within)
            || latest_report.is_some_and(|h| received_at - h.received_at <= Duration::hours(6)))
    {
        f.kind = Some(EntryKind::FollowUp);
        f.rule = Rule::FollowUp;
        return f;
    }
    // The same issue again within hours, calmly and without saying it was reported: more
    // about the report (where exactly, a licence plate, what it looks like now), before anyone
    // could act on it.
    if !facts.dissatisfied
        && !facts.says_repeat
        && !facts.asks_status
        && open
            .last()
            .is_some_and(|(h, _, _)| received_at - h.received_at <= opts.same_day_within)
    {
        f.kind = Some(EntryKind::FollowUp);
        f.rule = Rule::FollowUp;
        return f;
    }
    // A status question or a grievance about a request: a repeat once the request's term has
    // passed.
    if chases {
        // A request chased in other words ("waar blijft het?") shares no place or object with
        // it: the model's own weighing, without the rules about places and objects, decides.
        let request = requests.iter().find(|(h, p, _)| {
            h.kind.is_report()
                && (h.signature.same_case(signature)
                    || h.signature.same_process(signature)
                    || (!h.signature.processes.is_empty() && signature.processes.is_empty()
                        || matches!(h.label, Label::Overig | Label::Bezwaar))
                        && model.logistic(p) >= model.threshold * 0.6)
        });
        if let Some((h, _, _)) = request {
            // A request of a known kind has its term; one with a case number but no known
            // kind the Awb's reasonable term; a plain question or request without either the
            // service norm for answering letters.
            let term = h
                .signature
                .processes
                .iter()
                .map(|p| vocab::term_days(p))
                .max()
                .unwrap_or(if h.signature.cases.is_empty() {
                    vocab::term_days("brief")
                } else {
                    vocab::DEFAULT_TERM_DAYS
                });
            if received_at - h.received_at >= Duration::days(term as i64) {
                f.is_repeat = true;
                f.rule = Rule::ProcessRepeat;
                f.term_days = Some(term);
                f.previous_message_ids = vec![h.message_id.clone()];
                f.first_reported = Some(h.received_at);
                f.signals = match lang {
                    Lang::Nl => format!("de termijn van {term} dagen is verstreken"),
                    Lang::En => format!("the term of {term} days has passed"),
                };
                return f;
            } else if facts.asks_status {
                f.rule = Rule::WithinTerm;
                return f;
            }
        }
    }
    // A report that says what was reported before is fixed tells of something else now.
    if facts.mentions_fix && !facts.says_repeat {
        f.kind = Some(EntryKind::AfterFix);
        f.rule = Rule::AfterFix;
        return f;
    }
    f.candidates = scored
        .iter()
        .filter(|(h, _, _)| h.kind.is_report() && after_resolution(h) && comparable(h))
        .map(|(_, p, _)| p.clone())
        .collect();
    if !open.is_empty() {
        f.is_repeat = true;
        f.rule = Rule::Repeat;
        f.previous_message_ids = open.iter().map(|(h, _, _)| h.message_id.clone()).collect();
        f.first_reported = open.first().map(|(h, _, _)| h.received_at);
        let best = open
            .iter()
            .max_by(|a, b| a.2.probability.total_cmp(&b.2.probability))
            .expect("non-empty");
        f.signals = pair::deciding_signals(&best.2, lang);
    }
    f
}

/// The repeat reason in `lang`, for a finding that is a repeat: when, and which signals
/// decided.
pub fn reason(f: &RepeatFinding, lang: Lang) -> String {
    let n = f.previous_message_ids.len();
    let when = f
        .first_reported
        .map(|t| t.format("%d-%m-%Y").to_string())
        .unwrap_or_default();
    let why = if f.signals.is_empty() {
        String::new()
    } else {
        match lang {
            Lang::Nl => format!(" Doorslaggevend: {}.", f.signals),
            Lang::En => format!(" Decisive: {}.", f.signals),
        }
    };
    let first = match (f.rule, lang) {
        (Rule::ProcessRepeat, Lang::Nl) => format!(
            "Dezelfde afzender vroeg hier op {when} al om en vraagt nu waar het blijft, na de termijn: te lang, geen reactie."
        ),
        (Rule::ProcessRepeat, Lang::En) => format!(
            "The same sender asked for this on {when} and now asks where it is, after the term: too long, no answer."
        ),
        (_, Lang::Nl) if n == 1 => {
            format!("Dezelfde melder meldde dit eerder, op {when}, en het is nog niet opgelost.")
        }
        (_, Lang::Nl) => {
            format!("Dezelfde melder meldde dit al {n} keer eerder, voor het eerst op {when}.")
        }
        (_, Lang::En) if n == 1 => {
            format!("The same sender reported this before, on {when}, and it is not resolved.")
        }
        (_, Lang::En) => format!("The same sender reported this {n} times before, first on {when}."),
    };
    format!("{first}{why}")
}

/// Whether a remembered repeat decided by `rule` changes the label to klacht: a repeated
/// melding is a klacht, and so is chasing an open report with a question ("Wanneer komt er
/// iemand?", overig on its text alone). An objection or a council letter keeps its label,
/// except when it chases an earlier request or objection after its term: waiting too long
/// and getting no answer are complaints about the handling, whatever the text names.
pub fn promotes(label: Label, rule: Rule) -> bool {
    matches!(label, Label::Melding | Label::Overig)
        || rule == Rule::ProcessRepeat && label == Label::Bezwaar
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
        asks_status: false,
        dissatisfied: false,
        mentions_fix: false,
        label: None,
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
            PairModel::builtin(),
            Lang::Nl,
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
            PairModel::builtin(),
            Lang::Nl,
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
            PairModel::builtin(),
            Lang::Nl,
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
            PairModel::builtin(),
            Lang::Nl,
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
            PairModel::builtin(),
            Lang::Nl,
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
            PairModel::builtin(),
            Lang::Nl,
        );
        assert_eq!(f.kind, Some(EntryKind::Resolution));
        assert!(!f.is_repeat);
    }

    #[test]
    fn the_same_object_with_another_problem_is_no_repeat() {
        let h = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let f = decide(
            &Signature::of(
                "Een auto is tegen de lantaarnpaal bij Merelstraat 22 gereden, hij staat scheef.",
            ),
            t(40, 0),
            &NONE,
            &h,
            &RepeatOptions::default(),
            PairModel::builtin(),
            Lang::Nl,
        );
        assert!(!f.is_repeat, "{f:?}");
    }

    #[test]
    fn a_status_question_after_the_term_is_a_process_repeat() {
        let h = [entry(
            "a",
            t(0, 0),
            EntryKind::Report,
            "Ik vraag een parkeervergunning aan, kenmerk 2026-0412.",
        )];
        let asks = Facts {
            asks_status: true,
            ..NONE
        };
        let q = Signature::of("Waar blijft mijn vergunning? Kenmerk 2026-0412.");
        let opts = RepeatOptions::default();
        let early = decide(
            &q,
            t(10, 0),
            &asks,
            &h,
            &opts,
            PairModel::builtin(),
            Lang::Nl,
        );
        assert_eq!((early.is_repeat, early.rule), (false, Rule::WithinTerm));
        let late = decide(
            &q,
            t(40, 0),
            &asks,
            &h,
            &opts,
            PairModel::builtin(),
            Lang::Nl,
        );
        assert_eq!((late.is_repeat, late.rule), (true, Rule::ProcessRepeat));
        assert_eq!(late.term_days, Some(28));
        assert!(reason(&late, Lang::Nl).contains("termijn"));
    }

    #[test]
    fn a_request_older_than_the_window_still_counts_for_a_status_question() {
        let h = [HistoryEntry {
            label: Label::Bezwaar,
            ..entry(
                "a",
                t(0, 0),
                EntryKind::Report,
                "Ik maak bezwaar tegen de WOZ-beschikking, mijn bezwaarschrift volgt.",
            )
        }];
        let asks = Facts {
            asks_status: true,
            ..NONE
        };
        let opts = RepeatOptions::default();
        let f = decide(
            &Signature::of("Over mijn bezwaar tegen de WOZ heb ik nog steeds niets gehoord."),
            t(100, 0),
            &asks,
            &h,
            &opts,
            PairModel::builtin(),
            Lang::Nl,
        );
        assert_eq!((f.is_repeat, f.rule), (true, Rule::ProcessRepeat), "{f:?}");
        // A report that old is outside the window: the same lamp again is a new report.
        let lamp = [entry("a", t(0, 0), EntryKind::Report, LAMP)];
        let again = decide(
            &Signature::of("De lantaarnpaal voor Merelstraat 22 brandt niet."),
            t(100, 0),
            &NONE,
            &lamp,
            &opts,
            PairModel::builtin(),
            Lang::Nl,
        );
        assert!(!again.is_repeat, "{again:?}");
    }

    #[test]
    fn keyed_cases_and_postcodes_still_meet_and_cannot_be_read() {
        let mut a = Signature::of("Over kenmerk 2026-0412.");
        let mut b = Signature::of("Zaaknummer 2026/0412 graag.");
        a.key_personal(b"secret");
        b.key_personal(b"secret");
        assert!(a.same_case(&b));
        assert!(a
            .cases
            .iter()
            .all(|c| c.starts_with("k:") && !c.contains("0412")));
        let mut p = Signature::of("Bij 3824 KT ligt afval.");
        let mut q = Signature::of("Afval bij postcode 3824KT.");
        p.key_personal(b"secret");
        q.key_personal(b"secret");
        assert!(p.same_named_place(&q), "{p:?} {q:?}");
        assert!(p.locations.iter().all(|l| !l.contains("3824")), "{p:?}");
    }

    #[test]
    fn melding_and_overig_are_promoted() {
        assert!(promotes(Label::Melding, Rule::Repeat));
        assert!(promotes(Label::Overig, Rule::Repeat));
        assert!(!promotes(Label::Bezwaar, Rule::Repeat));
        assert!(!promotes(Label::Raadsadres, Rule::Repeat));
        assert!(promotes(Label::Bezwaar, Rule::ProcessRepeat));
        assert!(!promotes(Label::Raadsadres, Rule::ProcessRepeat));
    }
}
