//! The engine: one message through recognition (on a blocking thread), repeat detection
//! against the store, and into the history. What the gRPC service and the CLI call.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::{Label, Lang, Message};
use crate::error::{Error, Result};
use crate::intake::Intake;
use crate::pipeline::explain::label_phrase;
use crate::recognizer::{Outcome, Recognizer};
use crate::repeat::sender::Sender;
use crate::repeat::{self, EntryKind, HistoryEntry, HistoryStore, RepeatOptions};

/// Recognition plus memory (and, when there is a queue, routing into it).
#[derive(Clone)]
pub struct Engine {
    recognizer: Arc<Recognizer>,
    history: Arc<dyn HistoryStore>,
    intake: Option<Intake>,
    admission: Option<crate::admission::Admission>,
    secret: Arc<Vec<u8>>,
    options: RepeatOptions,
    min_confidence: f32,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over a recognizer and a history store; `secret` keys the sender hashes.
    pub fn new(
        recognizer: Arc<Recognizer>,
        history: Arc<dyn HistoryStore>,
        secret: Vec<u8>,
        options: RepeatOptions,
        min_confidence: f32,
    ) -> Engine {
        Engine {
            recognizer,
            history,
            intake: None,
            admission: None,
            secret: Arc::new(secret),
            options,
            min_confidence,
        }
    }

    /// An engine whose memory lives as long as it does: a private in-memory store and a secret
    /// that is never written (one CLI run, one evaluation).
    pub async fn in_memory(
        recognizer: Arc<Recognizer>,
        config: &crate::config::Config,
    ) -> Result<Engine> {
        let store = crate::store::Store::open(&crate::store::Location::SqliteMemory).await?;
        Ok(Engine::new(
            recognizer,
            Arc::new(store),
            crate::store::secret::ephemeral(),
            config.repeat.clone(),
            config.decide.min_confidence,
        ))
    }

    /// With intake queues: `route = true` puts messages in their queue.
    pub fn with_intake(mut self, intake: Intake) -> Engine {
        self.intake = Some(intake);
        self
    }

    /// With admission control: recognition runs on its bounded pool (see `crate::admission`).
    pub fn with_admission(mut self, admission: crate::admission::Admission) -> Engine {
        self.admission = Some(admission);
        self
    }

    /// The recognizer.
    pub fn recognizer(&self) -> &Arc<Recognizer> {
        &self.recognizer
    }

    /// Classify, remember and, with `route`, put the message in its intake queue: committed
    /// before this returns. Returns the outcome and whether the message is in its queue.
    pub async fn classify_and_route(
        &self,
        message: Message,
        route: bool,
    ) -> Result<(Outcome, bool)> {
        if !route {
            return Ok((self.classify(message).await?, false));
        }
        let intake = self.intake.as_ref().ok_or_else(|| {
            Error::Config("route = true needs intake queues; this engine has none".into())
        })?;
        let kept = message.clone();
        let outcome = self.classify(message).await?;
        let queued = intake.enqueue(&kept, &outcome, chrono::Utc::now()).await?;
        Ok((outcome, queued))
    }

    /// Classify one message and remember it. A message id seen before is not remembered
    /// twice; it is judged against the history before it, as the first time.
    pub async fn classify(&self, message: Message) -> Result<Outcome> {
        let r = self.recognizer.clone();
        let sender = Sender::parse(&message.sender);
        let (message, (mut outcome, signature, facts)) =
            crate::admission::run_blocking(self.admission.as_ref(), move || {
                let detailed = r.classify_detailed(&message);
                detailed.map(|d| (message, d))
            })
            .await??;
        let Some(sender) = sender else {
            // Nobody to remember: the text alone decides.
            return Ok(outcome);
        };
        let key = sender.key(&self.secret);
        let t = message.received_at;
        let since = t - self.options.window;
        let mut history = self
            .history
            .by_sender(&key, since, t + Duration::microseconds(1))
            .await?;
        history.retain(|h| h.message_id != message.id);
        let finding = repeat::decide(&signature, t, &facts, &history, &self.options);
        let others = if signature.locations.is_empty() {
            Vec::new()
        } else {
            self.history
                .near(
                    &signature.locations,
                    &key,
                    since,
                    t + Duration::microseconds(1),
                )
                .await?
        };
        let mut other_senders: Vec<&str> = others
            .iter()
            .filter(|h| {
                h.kind == EntryKind::Report
                    && h.message_id != message.id
                    && h.signature.same_issue(&signature)
            })
            .map(|h| h.sender_key.as_str())
            .collect();
        other_senders.sort_unstable();
        other_senders.dedup();
        outcome.similar_reports = other_senders.len() as u32;

        let lang = if outcome.language == "en" {
            Lang::En
        } else {
            Lang::Nl
        };
        if let Some(d) = &finding.duplicate_of {
            outcome.duplicate_of = Some(d.clone());
            outcome.repeat.reason = match lang {
                Lang::Nl => {
                    "Dubbel ingezonden: hetzelfde bericht kwam enkele minuten eerder binnen.".into()
                }
                Lang::En => "Sent twice: the same message arrived a few minutes earlier.".into(),
            };
            outcome.repeat.is_repeat = false;
        } else if finding.is_repeat {
            apply_repeat(&mut outcome, &finding, lang, self.min_confidence);
            self.recognizer
                .apply_route(&mut outcome, &message, &signature);
        } else if matches!(
            finding.kind,
            Some(EntryKind::Resolution | EntryKind::FollowUp)
        ) {
            // A thank-you or an addition is no repeat, whatever words it uses.
            outcome.repeat.is_repeat = false;
            outcome.repeat.reason.clear();
        }
        let entry = HistoryEntry {
            message_id: message.id.clone(),
            sender_key: key,
            received_at: t,
            label: outcome.label,
            kind: finding.kind.unwrap_or(EntryKind::Report),
            signature,
        };
        self.history.record(&entry).await?;
        Ok(outcome)
    }
}

/// A remembered repeat: fill the repeat fields, and a repeated melding becomes a klacht (the
/// probability mass of melding and overig moves to klacht: the message is about the same
/// unresolved issue).
fn apply_repeat(o: &mut Outcome, f: &repeat::RepeatFinding, lang: Lang, min_confidence: f32) {
    o.repeat.is_repeat = true;
    o.repeat.previous_message_ids = f.previous_message_ids.clone();
    o.repeat.reason = repeat::reason(f, lang);
    if repeat::promotes(o.label) {
        let moved: f32 = ["melding", "overig"]
            .iter()
            .map(|l| o.scores.insert((*l).into(), 0.0).unwrap_or(0.0))
            .sum();
        if let Some(k) = o.scores.get_mut("klacht") {
            *k += moved;
        }
        o.label = Label::Klacht;
        o.confidence = o.scores["klacht"];
        o.needs_clarification = o.confidence < min_confidence;
        if !o.needs_clarification {
            o.clarifying_question.clear();
        }
        o.satisfaction_reminder = match lang {
            Lang::Nl => {
                "Check tevredenheid en noteer dit: vraag of de oplossing naar tevredenheid is."
                    .into()
            }
            Lang::En => {
                "Check satisfaction and note it: ask whether the solution is satisfactory.".into()
            }
        };
        o.explanation = match lang {
            Lang::Nl => format!("Dit lijkt {}: een herhaalde melding, en een herhaalde melding is vaak een klacht. {}", label_phrase(Label::Klacht, lang), o.repeat.reason),
            Lang::En => format!("This looks like {}: a repeated report, and a repeated report is often a complaint. {}", label_phrase(Label::Klacht, lang), o.repeat.reason),
        };
    }
}
