//! The recognizer: the synchronous half of one message's path. Validation and the pipeline
//! ([`Recognizer::recognize`]), then — after repeat detection, which needs the store and is
//! done by [`crate::engine`] — [`Recognizer::finish`]: the repeat finding, the promotion of a
//! repeated melding to klacht (the one place that rule is applied to an outcome) and routing,
//! once. Callers on async threads run it with `spawn_blocking`.

use crate::config::Config;
use crate::domain::{Label, Lang, Message};
pub use crate::domain::{Outcome, RepeatOutcome};
use crate::error::{Error, Result};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::model::{self, CueScorer, Scorer};
use crate::pipeline::types::Family;
use crate::pipeline::{Classification, Pipeline};
use crate::repeat::signature::Signature;
use crate::repeat::{Facts, RepeatFinding, Rule};
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
    // The manifest names the encoder each head was trained on: another one (other weights,
    // other fine-tuned layers, another depth) would make its inputs meaningless. The depth
    // the head reads is part of that name, and the encoder is loaded at it.
    let want = model::Manifest::load(&config.model_dir)
        .ok()
        .and_then(|manifest| {
            if head_file == model::FROZEN_HEAD_FILE {
                manifest.encoder_frozen.map(|e| e.encoder)
            } else {
                manifest.encoder.map(|e| e.encoder)
            }
        });
    let depth = want.as_deref().and_then(model::encoder::depth_of_id);
    let encoder =
        model::encoder::load_shared(&config.encoder_dir, config.encoder_runtime, top, depth)
            .map_err(|e| e.to_string())?;
    encoder.set_cache_entries(config.encoder_cache_entries);
    let head = model::head::Head::load(&head_path).map_err(|e| e.to_string())?;
    model::EncoderScorer::check(encoder.as_ref(), &head).map_err(|e| e.to_string())?;
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
    Ok((encoder, head))
}

static_regex!(
    addition_re,
    r"(?i)\b(?:aanvulling|aanvullen|aanvullend|foto'?s?|bijlage|bijgevoegd|toevoeging|correctie|ik bedoelde|(?:ik )?wilde (?:nog )?(?:even )?(?:zeggen|melden|toevoegen|doorgeven)|nog (?:even )?(?:melden|zeggen|doorgeven)|i (?:wanted|want) to add|one more thing|vergeten (?:te )?(?:melden|vermelden|zeggen|noemen)|nog (?:even )?(?:iets )?(?:toevoegen|aanvullen)|extra informatie|addition|additional|photos?|pictures?|attached|attachment|forgot to (?:add|mention|say)|correction|i meant|to add to my)\b"
);

/// What repeat detection needs to know of a classified message, from its cues.
fn facts(c: &Classification, text: &str, signature: &Signature) -> Facts {
    // The lexicon's cues: the model's evidence carries a family, but no claim of its kind.
    let has = |f: Family| {
        c.cues
            .iter()
            .any(|x| x.family == f && !x.negated && !x.from_model)
    };
    let unhappy = [
        Family::Ongenoegen,
        Family::Proces,
        Family::Bejegening,
        Family::Sarcasme,
    ]
    .into_iter()
    .any(has);
    let words = c.evidence.split_whitespace().count();
    let says_repeat = c
        .cues
        .iter()
        .any(|x| !x.negated && crate::pipeline::decide::claims_earlier_report(x, text));
    // A message that tells of a fix and of another problem besides ("it works again, but now
    // a car hit it") reports that problem: no resolution.
    let mentions_fix = crate::repeat::vocab::says_fixed(&c.evidence);
    let reports_besides_fix =
        mentions_fix && !crate::repeat::vocab::problems_besides_fix(&c.evidence).is_empty();
    Facts {
        says_repeat,
        // A thank-you or "it is fixed" is a short message of its own; a long one (a call
        // that ends "dank u wel"), one that asks something, or a thank-you that names a
        // problem or a request is about something else.
        says_resolved: !unhappy
            && !says_repeat
            && !reports_besides_fix
            && !c.evidence.contains('?')
            && (has(Family::Dank)
                && words <= 40
                && signature.problems.is_empty()
                && signature.processes.is_empty()
                || mentions_fix && words <= 80),
        // "I forgot to attach the photo" is a proces cue, but no grievance.
        is_addition: addition_re().is_match(&c.evidence)
            && ![Family::Ongenoegen, Family::Bejegening, Family::Sarcasme]
                .into_iter()
                .any(has)
            && words <= 80,
        asks_status: crate::repeat::vocab::asks_status(&c.evidence),
        dissatisfied: unhappy,
        // "The posters are gone, but the seat is still broken": the fix is of something else.
        mentions_fix: mentions_fix && !signature.says_still,
        label: None,
    }
}

/// A message recognised on its text: the outcome before repeat detection and routing, and
/// what repeat detection needs of it.
#[derive(Debug, Clone)]
pub struct Recognized {
    /// The outcome on the text alone, not routed.
    pub outcome: Outcome,
    /// The issue signature (case references still in the clear: key them before storing).
    pub signature: Signature,
    /// What the text says about earlier reports.
    pub facts: Facts,
}

/// Fill an outcome's repeat fields from a finding and, for a repeat, apply the workshop's
/// rule once: a repeated melding (or a status question chasing an open report) is a klacht.
fn apply_finding(o: &mut Outcome, f: &RepeatFinding, min_confidence: f32) {
    let lang = o.language;
    if let Some(d) = &f.duplicate_of {
        o.duplicate_of = Some(d.clone());
        o.repeat = RepeatOutcome {
            is_repeat: false,
            previous_message_ids: Vec::new(),
            reason: match lang {
                Lang::Nl => "Dubbel ingezonden: hetzelfde bericht, in dezelfde of andere woorden, kwam enkele minuten eerder binnen.".into(),
                Lang::En => "Sent twice: the same message, in the same or other words, arrived a few minutes earlier.".into(),
            },
        };
        return;
    }
    match f.rule {
        Rule::Resolution | Rule::FollowUp | Rule::WithinTerm | Rule::AfterFix => {
            // A thank-you, an addition, an early status question or a report after a fix is
            // no repeat, whatever words it uses.
            o.repeat = RepeatOutcome::default();
            return;
        }
        // A known sender with no earlier report in memory: what the text says of earlier
        // reports (someone else's, or by other ways) is no repeat of this sender's. The label
        // the text earned stays.
        _ if !f.is_repeat && !f.reported_before => {
            o.repeat = RepeatOutcome::default();
            return;
        }
        _ if !f.is_repeat => return,
        _ => {}
    }
    o.repeat = RepeatOutcome {
        is_repeat: true,
        previous_message_ids: f.previous_message_ids.clone(),
        reason: crate::repeat::reason(f, lang),
    };
    if !crate::repeat::promotes(o.label, f.rule) {
        return;
    }
    let mut scores: crate::pipeline::types::LabelScores = std::array::from_fn(|i| {
        o.scores
            .get(Label::from_index(i).as_str())
            .copied()
            .unwrap_or(0.0)
    });
    crate::pipeline::decide::promote_to_klacht(&mut scores);
    o.scores = Label::ALL
        .iter()
        .map(|l| (l.as_str().to_string(), scores[l.index()]))
        .collect();
    o.label = Label::Klacht;
    o.confidence = scores[Label::Klacht.index()];
    o.needs_clarification = o.confidence < min_confidence;
    if !o.needs_clarification {
        o.clarifying_question.clear();
    }
    o.referral = None;
    o.satisfaction_reminder = crate::pipeline::explain::satisfaction_reminder(lang).into();
    let (why, rule) = match (f.rule, lang) {
        (Rule::ProcessRepeat, Lang::Nl) => (
            "een vraag waar een aanvraag blijft, na de termijn",
            "te lang wachten en geen reactie zijn klachten",
        ),
        (Rule::ProcessRepeat, Lang::En) => (
            "a question where a request stays, after its term",
            "waiting too long and getting no answer are complaints",
        ),
        (_, Lang::Nl) => (
            "een herhaalde melding",
            "een herhaalde melding is vaak een klacht",
        ),
        (_, Lang::En) => (
            "a repeated report",
            "a repeated report is often a complaint",
        ),
    };
    let label = crate::pipeline::explain::label_phrase(Label::Klacht, lang);
    o.explanation = match lang {
        Lang::Nl => format!("Dit lijkt {label}: {why}, en {rule}. {}", o.repeat.reason),
        Lang::En => format!(
            "This looks like {label}: {why}, and {rule}. {}",
            o.repeat.reason
        ),
    };
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
    // Whether a message with a sender gets a semantic sketch (`RepeatOptions::semantic_sketch`).
    semantic_sketch: bool,
}

impl Recognizer {
    /// Build from configuration: lexicon (built-in or `lexicon_dir`) and the trained model.
    /// Without a trained model it runs degraded on the lexicon, unless `require_model` is set.
    pub fn from_config(config: &Config) -> Result<Recognizer> {
        // The encoder (weights, tokenizer) loads on its own thread while the lexicon compiles
        // and the sparse model is read: a one-shot `herken classify` waits for the slower of
        // the two instead of their sum.
        let (loaded, encoder) = std::thread::scope(|s| {
            let encoder = s.spawn(|| load_encoder(config));
            let loaded = match &config.lexicon_dir {
                Some(dir) => Lexicon::from_dir(dir),
                None => Lexicon::builtin(),
            }
            .map(|lexicon| {
                let sparse = model::load_sparse(&config.model_dir, &lexicon);
                (lexicon, sparse)
            });
            let encoder = encoder
                .join()
                .unwrap_or_else(|_| Err("loading the encoder panicked".to_string()));
            (loaded, encoder)
        });
        let (lexicon, sparse) = loaded?;
        let (scorer, status): (Box<dyn Scorer>, ModelStatus) = match sparse {
            Ok(sparse) => match encoder {
                Ok((encoder, head)) => (
                    Box::new(
                        model::EncoderScorer::new(encoder, sparse, head)
                            .skipping_above(config.encoder_skip_confidence),
                    ),
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
            pipeline: Pipeline::new(lexicon, scorer, config.decide.clone()).with_attribution(
                config
                    .model_cues
                    .then(crate::pipeline::attribution::AttributionOptions::default),
            ),
            router,
            max_text_chars: config.max_text_chars,
            status,
            semantic_sketch: config.repeat.semantic_sketch,
        })
    }

    /// Build from a ready pipeline with the built-in routing (evaluation variants).
    pub fn new(pipeline: Pipeline, max_text_chars: usize) -> Recognizer {
        Recognizer {
            pipeline,
            router: Router::builtin(),
            max_text_chars,
            status: ModelStatus::Ready,
            semantic_sketch: false,
        }
    }

    /// With or without semantic sketches for messages with a sender
    /// (`RepeatOptions::semantic_sketch`).
    pub fn with_semantic_sketch(mut self, on: bool) -> Recognizer {
        self.semantic_sketch = on;
        self
    }

    /// The routing.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The second half of one message's path: apply the repeat finding (when there is a
    /// memory), promote a repeated melding or overig to klacht, and route — once.
    pub fn finish(
        &self,
        mut o: Outcome,
        message: &Message,
        signature: &Signature,
        finding: Option<&RepeatFinding>,
    ) -> Outcome {
        if let Some(f) = finding {
            apply_finding(&mut o, f, self.pipeline.options().min_confidence);
        }
        self.route(&mut o, message, signature);
        o
    }

    /// Route an outcome: queue, rule, deadline, and the warnings (late bezwaar, referral).
    fn route(&self, o: &mut Outcome, message: &Message, signature: &Signature) {
        let families: BTreeSet<Family> = o
            .cues
            .iter()
            .filter(|c| !c.negated && !c.from_model)
            .map(|c| c.family)
            .collect();
        let lang = o.language;
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

    /// Validate, classify and route one message on its text alone (no memory).
    pub fn classify(&self, message: &Message) -> Result<Outcome> {
        let r = self.run(message, false)?;
        Ok(self.finish(r.outcome, message, &r.signature, None))
    }

    /// The first half of one message's path: validate and run the pipeline. The outcome is
    /// not routed yet ([`Recognizer::finish`] does that). The semantic sketch is computed when
    /// it is switched on and the message has a sender (it will be remembered and compared).
    pub fn recognize(&self, message: &Message) -> Result<Recognized> {
        // The sender is parsed only when a sketch may be wanted (the engine parses it again).
        let need_sketch =
            self.semantic_sketch && crate::repeat::sender::Sender::parse(&message.sender).is_some();
        self.run(message, need_sketch)
    }

    fn run(&self, message: &Message, need_sketch: bool) -> Result<Recognized> {
        self.validate(message, "message")?;
        let c = self.pipeline.classify(message, need_sketch);
        let semantic = c
            .sketch
            .as_ref()
            .map(|s| crate::repeat::semantic::SemanticSketch::of(&s.source, &s.vector));
        let signature = Signature::of(&c.evidence).with_semantic(semantic);
        let mut facts = facts(&c, &message.text, &signature);
        let outcome = self.outcome(message, c);
        facts.label = Some(outcome.label);
        Ok(Recognized {
            outcome,
            signature,
            facts,
        })
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
            language: c.lang,
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
