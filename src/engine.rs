//! The orchestrator: one path for one message, what the gRPC service, the web pages and the
//! CLI call. normalize → language → cues → model → decide ([`Recognizer::recognize`], on a
//! blocking thread) → repeat detection against the store ([`crate::repeat::decide`]) →
//! promotion and routing, once ([`Recognizer::finish`]) → into the history and, when asked,
//! the intake queue.

use std::sync::Arc;

use chrono::Duration;

use crate::domain::{Message, Outcome};
use crate::error::{Error, Result};
use crate::intake::Intake;
use crate::recognizer::Recognizer;
use crate::repeat::pair::{Pair, PairModel};
use crate::repeat::sender::Sender;
use crate::repeat::{self, EntryKind, HistoryEntry, HistoryStore, RepeatFinding, RepeatOptions};

/// Recognition plus memory (and, when there is a queue, routing into it).
#[derive(Clone)]
pub struct Engine {
    recognizer: Arc<Recognizer>,
    history: Arc<dyn HistoryStore>,
    intake: Option<Intake>,
    admission: Option<crate::admission::Admission>,
    secret: Arc<Vec<u8>>,
    options: RepeatOptions,
    model: Arc<PairModel>,
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
    ) -> Engine {
        Engine {
            recognizer,
            history,
            intake: None,
            admission: None,
            secret: Arc::new(secret),
            options,
            model: Arc::new(PairModel::builtin().clone()),
        }
    }

    /// With another same-issue model (fitting and evaluating one).
    pub fn with_pair_model(mut self, model: PairModel) -> Engine {
        self.model = Arc::new(model);
        self
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
        Ok(self.classify_traced(message).await?.0)
    }

    /// [`Engine::classify`], also returning the repeat finding (for evaluation and fitting).
    pub async fn classify_traced(
        &self,
        message: Message,
    ) -> Result<(Outcome, Option<RepeatFinding>)> {
        let r = self.recognizer.clone();
        let (message, recognized) =
            crate::admission::run_blocking(self.admission.as_ref(), move || {
                r.recognize(&message).map(|d| (message, d))
            })
            .await??;
        let mut signature = recognized.signature;
        signature.key_personal(&self.secret);
        let Some(sender) = Sender::parse(&message.sender) else {
            // Nobody to remember: the text alone decides.
            let o = self
                .recognizer
                .finish(recognized.outcome, &message, &signature, None);
            return Ok((o, None));
        };
        let key = sender.key(&self.secret);
        let t = message.received_at;
        let since = t - self.options.window;
        let until = t + Duration::microseconds(1);
        let mut history = self
            .history
            .by_sender(&key, t - self.options.lookback(), until)
            .await?;
        history.retain(|h| h.message_id != message.id);
        let lang = recognized.outcome.language;
        let mut finding = repeat::decide(
            &signature,
            t,
            &recognized.facts,
            &history,
            &self.options,
            &self.model,
            lang,
        );
        finding.similar_reports = self
            .similar_reports(&signature, &message.id, &key, since, until)
            .await?;
        let mut outcome =
            self.recognizer
                .finish(recognized.outcome, &message, &signature, Some(&finding));
        outcome.similar_reports = finding.similar_reports;
        let entry = HistoryEntry {
            message_id: message.id.clone(),
            sender_key: key,
            received_at: t,
            label: outcome.label,
            kind: finding.kind.unwrap_or(EntryKind::Report),
            signature,
        };
        self.history.record(&entry).await?;
        Ok((outcome, Some(finding)))
    }

    /// Other senders' open reports about the same issue (a hotspot when many).
    async fn similar_reports(
        &self,
        signature: &repeat::signature::Signature,
        message_id: &str,
        key: &str,
        since: chrono::DateTime<chrono::Utc>,
        until: chrono::DateTime<chrono::Utc>,
    ) -> Result<u32> {
        if signature.locations.is_empty() {
            return Ok(0);
        }
        let others = self
            .history
            .near(&signature.locations, key, since, until)
            .await?;
        let mut senders: Vec<&str> = others
            .iter()
            .filter(|h| {
                h.kind.is_report()
                    && h.message_id != message_id
                    && self
                        .model
                        .score(&Pair::of(&h.signature, signature, 0.0, false))
                        .probability
                        >= self.model.threshold
            })
            .map(|h| h.sender_key.as_str())
            .collect();
        senders.sort_unstable();
        senders.dedup();
        Ok(senders.len() as u32)
    }
}
