//! The recognizer: one message in, one explained answer out. Validation, the pipeline, the
//! repeat decision and the queue, in the order of ARCHITECTURE.md. Synchronous: callers on
//! async threads run it with `spawn_blocking`.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::domain::Lang;
use crate::domain::{Label, Message};
use crate::error::{Error, Result};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::model::{self, CueScorer, Scorer};
use crate::pipeline::types::Cue;
use crate::pipeline::types::Family;
use crate::pipeline::{Classification, Pipeline};
use crate::repeat::signature::Signature;
use crate::repeat::Facts;
use crate::route::{self, RouteInput, Router};
use std::collections::BTreeSet;

/// The encoder (on the configured runtime, with the model directory's fine-tuned layers when
/// it has them) and its head, or why they cannot be had.
pub fn load_encoder(
    config: &Config,
) -> std::result::Result<(std::sync::Arc<model::encoder::Encoder>, model::head::Head), String> {
    let top = config.model_dir.join(model::encoder::TOP_FILE);
    load_encoder_with(
        config,
        model::HEAD_FILE,
        top.is_file().then_some(top.as_path()),
    )
}

/// The frozen encoder and the head trained on it, when the model directory's main head is on a
/// fine-tuned encoder (`encoder-head-frozen.bin`): the "frozen" row of `herken eval --compare`.
pub fn load_frozen_encoder(
    config: &Config,
) -> std::result::Result<(std::sync::Arc<model::encoder::Encoder>, model::head::Head), String> {
    load_encoder_with(config, model::FROZEN_HEAD_FILE, None)
}

fn load_encoder_with(
    config: &Config,
    head_file: &str,
    top: Option<&std::path::Path>,
) -> std::result::Result<(std::sync::Arc<model::encoder::Encoder>, model::head::Head), String> {
    let head_path = config.model_dir.join(head_file);
    if !config.encoder_dir.join("model.safetensors").is_file() {
        return Err(format!(
            "no encoder in {} (run `herken model fetch`); classifying with the sparse model alone",
            config.encoder_dir.display()
        ));
    }
    if !head_path.is_file() {
        return Err(format!(
            "no encoder head {} (run `herken train` with the encoder present)",
            head_path.display()
        ));
    }
    let encoder = model::encoder::load_shared(&config.encoder_dir, config.encoder_runtime, top)
        .map_err(|e| e.to_string())?;
    let head = model::head::Head::load(&head_path).map_err(|e| e.to_string())?;
    model::EncoderScorer::check(encoder.as_ref(), &head).map_err(|e| e.to_string())?;
    // The manifest names the encoder each head was trained on: another one (other weights,
    // other fine-tuned layers) would make its inputs meaningless.
    if let Ok(manifest) = model::Manifest::load(&config.model_dir) {
        let want = if head_file == model::FROZEN_HEAD_FILE {
            manifest.encoder_frozen.map(|e| e.encoder)
        } else {
            manifest.encoder.map(|e| e.encoder)
        };
        if let Some(want) = want {
            if want != encoder.id() {
                return Err(format!(
                    "the encoder head {} was trained on encoder {want}, but the encoder is {}: \
                     run `herken model fetch` or retrain with `herken train`",
                    head_path.display(),
                    encoder.id()
                ));
            }
        }
    }
    Ok((encoder, head))
}

fn addition_re() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\b(?:aanvulling|foto'?s?|bijlage|bijgevoegd|toevoeging|addition|photos?|pictures?|attached|attachment)\b")
            .expect("addition pattern compiles")
    })
}

/// What repeat detection needs to know of a classified message, from its cues.
fn facts(c: &Classification) -> Facts {
    let has = |f: Family| c.cues.iter().any(|x| x.family == f && !x.negated);
    let unhappy = [
        Family::Ongenoegen,
        Family::Proces,
        Family::Bejegening,
        Family::Sarcasme,
    ]
    .into_iter()
    .any(has);
    let says_repeat = has(Family::Herhaling);
    let words = c.evidence.split_whitespace().count();
    Facts {
        says_repeat,
        says_resolved: has(Family::Dank) && !unhappy && !says_repeat,
        is_addition: addition_re().is_match(&c.evidence) && !unhappy && words <= 80,
    }
}

/// Whether a message repeats an earlier report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RepeatOutcome {
    /// It repeats an earlier report.
    pub is_repeat: bool,
    /// Ids of the earlier messages, when known.
    pub previous_message_ids: Vec<String>,
    /// Why, in the message's language.
    pub reason: String,
}

/// The full answer for one message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    /// The message id (the caller's, or generated).
    pub id: String,
    /// The label.
    pub label: Label,
    /// Probability of `label`.
    pub confidence: f32,
    /// Probability per label.
    pub scores: std::collections::BTreeMap<String, f32>,
    /// Language: "nl" or "en".
    pub language: String,
    /// The evidence, in text order.
    pub cues: Vec<Cue>,
    /// Repeat decision.
    pub repeat: RepeatOutcome,
    /// Other senders' recent reports about the same issue (a hotspot when high).
    pub similar_reports: u32,
    /// The same submission again within minutes: the earlier message's id.
    pub duplicate_of: Option<String>,
    /// "Bij twijfel: vragen naar intentie".
    pub needs_clarification: bool,
    /// The question to ask, when in doubt.
    pub clarifying_question: String,
    /// One or two sentences a counter employee can read aloud.
    pub explanation: String,
    /// For a klacht: check and note satisfaction.
    pub satisfaction_reminder: String,
    /// The intake queue it goes (or would go) to.
    pub queue: String,
    /// The routing rule that chose the queue.
    pub route_rule: String,
    /// Handling deadline from the legal terms.
    pub due_at: chrono::DateTime<chrono::Utc>,
    /// Warnings for staff (in the message's language), e.g. a bezwaar filed late, or where
    /// to refer the writer.
    pub warnings: Vec<String>,
    /// For an overig about another body or a claim for damages: where it belongs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referral: Option<crate::pipeline::explain::Referral>,
    /// Id of the scorer.
    pub model: String,
}

/// Model status, for health and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelStatus {
    /// The trained model is loaded.
    Ready,
    /// Running on the lexicon alone; the reason is given.
    Degraded(String),
}

/// Validation limits, the pipeline and the routing.
#[derive(Debug)]
pub struct Recognizer {
    pipeline: Pipeline,
    router: Router,
    max_text_chars: usize,
    status: ModelStatus,
}

impl Recognizer {
    /// Build from configuration: lexicon (built-in or `lexicon_dir`) and the trained model.
    /// Without a trained model it runs degraded on the lexicon, unless `require_model` is set.
    pub fn from_config(config: &Config) -> Result<Recognizer> {
        let lexicon = match &config.lexicon_dir {
            Some(dir) => Lexicon::from_dir(dir)?,
            None => Lexicon::builtin()?,
        };
        let (scorer, status): (Box<dyn Scorer>, ModelStatus) =
            match model::load_sparse(&config.model_dir, &lexicon) {
                Ok(sparse) => match load_encoder(config) {
                    Ok((encoder, head)) => (
                        Box::new(model::EncoderScorer::new(encoder, sparse, head)),
                        ModelStatus::Ready,
                    ),
                    Err(why) if !config.require_encoder => {
                        (Box::new(sparse), ModelStatus::Degraded(why))
                    }
                    Err(why) => return Err(Error::Model(why)),
                },
                Err(e) if !config.require_model && !config.require_encoder => (
                    Box::new(CueScorer::new(&lexicon)),
                    ModelStatus::Degraded(e.to_string()),
                ),
                Err(e) => return Err(e),
            };
        let router = match &config.routing_file {
            Some(path) => Router::from_file(path)?,
            None => Router::builtin(),
        };
        Ok(Recognizer {
            pipeline: Pipeline::new(lexicon, scorer, config.decide.clone()),
            router,
            max_text_chars: config.max_text_chars,
            status,
        })
    }

    /// Build from a ready pipeline with the built-in routing (evaluation variants).
    pub fn new(pipeline: Pipeline, max_text_chars: usize) -> Recognizer {
        Recognizer {
            pipeline,
            router: Router::builtin(),
            max_text_chars,
            status: ModelStatus::Ready,
        }
    }

    /// The routing.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// Route an outcome: queue, rule, deadline, and the late-bezwaar warning.
    pub fn apply_route(&self, o: &mut Outcome, message: &Message, signature: &Signature) {
        let families: BTreeSet<Family> = o
            .cues
            .iter()
            .filter(|c| !c.negated)
            .map(|c| c.family)
            .collect();
        let lang = if o.language == "en" {
            Lang::En
        } else {
            Lang::Nl
        };
        let r = self.router.route(&RouteInput {
            label: o.label,
            confidence: o.confidence,
            needs_clarification: o.needs_clarification,
            repeat: o.repeat.is_repeat,
            channel: message.channel,
            lang,
            families: &families,
            topics: &signature.topics,
            received_at: message.received_at,
        });
        o.queue = r.queue;
        o.route_rule = r.rule;
        o.due_at = r.due_at;
        o.warnings.clear();
        if let (Label::Overig, Some(r)) = (o.label, &o.referral) {
            o.warnings.push(r.hint.clone());
        }
        if o.label == Label::Bezwaar {
            if let Some(w) = route::bezwaar_filing_warning(
                &message.text,
                message.received_at,
                self.router.deadlines.bezwaar_filing,
                lang,
            ) {
                o.warnings.push(w);
            }
        }
    }

    /// Whether the trained model is loaded.
    pub fn status(&self) -> &ModelStatus {
        &self.status
    }

    /// The pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Check a message against the limits. `field` prefixes the field names in errors.
    pub fn validate(&self, message: &Message, field: &str) -> Result<()> {
        if message.text.trim().is_empty() {
            return Err(Error::invalid(
                format!("{field}.text"),
                "is empty; send the message text (or raw_email)",
            ));
        }
        let n = message.text.chars().count();
        if n > self.max_text_chars {
            return Err(Error::invalid(
                format!("{field}.text"),
                format!(
                    "has {n} characters, more than the limit of {} (max_text_chars)",
                    self.max_text_chars
                ),
            ));
        }
        Ok(())
    }

    /// Validate and classify one message.
    pub fn classify(&self, message: &Message) -> Result<Outcome> {
        Ok(self.classify_detailed(message)?.0)
    }

    /// Validate and classify one message; also what repeat detection needs of it.
    pub fn classify_detailed(&self, message: &Message) -> Result<(Outcome, Signature, Facts)> {
        self.validate(message, "message")?;
        let c = self.pipeline.classify(message);
        let signature = Signature::of(&c.evidence);
        let facts = facts(&c);
        let mut outcome = self.outcome(message, c);
        self.apply_route(&mut outcome, message, &signature);
        Ok((outcome, signature, facts))
    }

    fn outcome(&self, message: &Message, c: Classification) -> Outcome {
        let d = c.decision;
        let repeat = RepeatOutcome {
            is_repeat: d.text_says_repeat,
            previous_message_ids: Vec::new(),
            reason: d.repeat_reason.clone(),
        };
        let model = match &self.status {
            ModelStatus::Ready => c.model,
            ModelStatus::Degraded(_) => format!("{} (degraded)", c.model),
        };
        Outcome {
            id: message.id.clone(),
            label: d.label,
            confidence: d.confidence,
            scores: Label::ALL
                .iter()
                .map(|l| (l.as_str().to_string(), d.scores[l.index()]))
                .collect(),
            language: c.lang.as_str().to_string(),
            cues: c.cues,
            repeat,
            similar_reports: 0,
            duplicate_of: None,
            needs_clarification: d.needs_clarification,
            clarifying_question: d.clarifying_question,
            explanation: d.explanation,
            satisfaction_reminder: d.satisfaction_reminder,
            queue: String::new(),
            route_rule: String::new(),
            due_at: message.received_at,
            warnings: Vec::new(),
            referral: d.referral,
            model,
        }
    }
}
