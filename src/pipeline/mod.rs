//! The recognition pipeline: pure, synchronous stages, no tokio, no tonic, no generated code.
//!
//! ```text
//! normalize → language → cues → model → decide
//! ```
//! - [`normalize`]: NFC, whitespace; quoted replies, signatures, disclaimers and employee turns
//!   removed; an offset map back to the original text.
//! - [`language`]: nl or en.
//! - [`cues`]: lexicon phrases with family and supported label.
//! - [`model`]: calibrated scores for the five labels.
//! - [`decide`]: label, confidence, clarification, referral; [`explain`] words them; [`form`]
//!   reads the letter's layout (a petition's form, the addressee in its heading).
//! - [`attribution`]: the phrases the decision rests on, from the sparse model, as cues
//!   beside the lexicon's; the explanation is worded again with them.
//!
//! Stages do not call each other; [`Pipeline`] runs them in order and maps cue offsets from
//! the evidence text back to the original text.

pub mod attribution;
pub mod cues;
pub mod decide;
pub mod explain;
pub mod form;
pub mod language;
pub mod model;
pub mod normalize;
pub mod types;

use crate::domain::{Label, Lang, Message};
use cues::Lexicon;
use decide::{DecideOptions, Decision};
use model::{ModelInput, Scorer};
use normalize::{Normalized, TextKind};
use types::{Cue, Family};

/// What the stages before the model found: shared by classification and training.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// The normalised evidence.
    pub normalized: Normalized,
    /// The language.
    pub lang: Lang,
    /// The cues, with offsets into the original message text, in text order.
    pub cues: Vec<Cue>,
    /// Non-negated cue counts per family.
    pub family_counts: [u32; Family::ALL.len()],
    /// Number of negation cues.
    pub negations: u32,
}

impl Analysis {
    /// The model's view of the message.
    pub fn model_input<'a>(&'a self, message: &'a Message) -> ModelInput<'a> {
        ModelInput {
            text: &self.normalized.text,
            subject: &message.subject,
            channel: message.channel,
            lang: self.lang,
            family_counts: &self.family_counts,
            negations: self.negations,
            transcript: self.normalized.kind == TextKind::Transcript,
        }
    }
}

/// The result of the pipeline for one message (before repeat detection and routing).
#[derive(Debug, Clone)]
pub struct Classification {
    /// The language.
    pub lang: Lang,
    /// The cues, in text order.
    pub cues: Vec<Cue>,
    /// The decision.
    pub decision: Decision,
    /// Id of the scorer that produced the scores.
    pub model: String,
    /// The normalised evidence text (for issue signatures; never stored or logged).
    pub evidence: String,
    /// The encoder's semantic sketch source, when the encoder ran (for the repeat sketch;
    /// never stored or logged as it is).
    pub sketch: Option<model::encoder::SketchSource>,
}

/// The compiled pipeline: built once at start-up, shared by all requests.
#[derive(Debug)]
pub struct Pipeline {
    lexicon: Lexicon,
    scorer: Box<dyn Scorer>,
    options: DecideOptions,
    attribution: Option<attribution::AttributionOptions>,
}

impl Pipeline {
    /// The decision settings.
    pub fn options(&self) -> &DecideOptions {
        &self.options
    }

    /// A pipeline from its parts.
    pub fn new(lexicon: Lexicon, scorer: Box<dyn Scorer>, options: DecideOptions) -> Pipeline {
        Pipeline {
            lexicon,
            scorer,
            options,
            attribution: Some(attribution::AttributionOptions::default()),
        }
    }

    /// The same pipeline with other settings for the model's evidence (`None`: lexicon cues
    /// only).
    pub fn with_attribution(mut self, opts: Option<attribution::AttributionOptions>) -> Pipeline {
        self.attribution = opts;
        self
    }

    /// The lexicon.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The scorer's id.
    pub fn model_id(&self) -> &str {
        self.scorer.id()
    }

    /// How many messages the encoder's head scored and how many the sparse model answered
    /// alone, when the scorer has a head (see `encoder_skip_confidence`).
    pub fn head_use(&self) -> Option<(u64, u64)> {
        self.scorer.head_use()
    }

    /// Run normalize, language and cues.
    pub fn analyse(&self, message: &Message) -> Analysis {
        analyse(&self.lexicon, message)
    }

    /// Run the whole pipeline; `need_sketch` when the message will be remembered (repeat
    /// detection compares its semantic sketch).
    pub fn classify(&self, message: &Message, need_sketch: bool) -> Classification {
        let analysis = self.analyse(message);
        let (scores, sketch) = self
            .scorer
            .score_with_sketch(&analysis.model_input(message), need_sketch);
        let mut decision = decide::decide(
            scores,
            &analysis.cues,
            &message.text,
            analysis.lang,
            &self.lexicon,
            &self.options,
        );
        // The model's evidence for the label decided, beside the lexicon's, and the
        // explanation worded again to quote the strongest of both.
        let cues = match (self.scorer.sparse(), &self.attribution) {
            (Some(sparse), Some(opts)) => {
                let cues = attribution::attribute(sparse, &analysis, message, decision.label, opts);
                decision.explain_again(&cues, analysis.lang, &self.lexicon);
                cues
            }
            _ => analysis.cues,
        };
        Classification {
            lang: analysis.lang,
            cues,
            decision,
            model: self.scorer.id().to_string(),
            evidence: analysis.normalized.text,
            sketch,
        }
    }
}

/// Run normalize, language and cues with `lexicon`.
pub fn analyse(lexicon: &Lexicon, message: &Message) -> Analysis {
    let normalized = normalize::normalize(&message.text, message.channel);
    let lang = language::detect(&normalized.text);
    let text_cues = cues::find(lexicon, &normalized.text, lang);
    let family_counts = cues::family_counts(&text_cues);
    let negations = text_cues
        .iter()
        .filter(|c| c.family == Family::Ontkenning)
        .count() as u32;
    // Byte offsets of the original's chars: only needed (and built) when there are cues.
    let original: Vec<usize> = if text_cues.is_empty() {
        Vec::new()
    } else {
        message.text.char_indices().map(|(b, _)| b).collect()
    };
    let slice = |s: usize, e: usize| -> String {
        let from = original.get(s).copied().unwrap_or(message.text.len());
        let to = original.get(e).copied().unwrap_or(message.text.len());
        message.text[from..to].to_string()
    };
    let cues = text_cues
        .iter()
        .filter_map(|c| {
            let (start, end) = normalized.original_span(c.start, c.end)?;
            Some(Cue {
                start,
                end,
                text: slice(start, end),
                family: c.family,
                supports: c.supports,
                negated: c.negated,
                from_model: false,
                weight: 0.0,
            })
        })
        .collect();
    Analysis {
        normalized,
        lang,
        cues,
        family_counts,
        negations,
    }
}

/// The label with the highest score (first in [`Label::ALL`] order on a tie).
pub fn argmax(scores: &types::LabelScores) -> Label {
    let mut best = 0;
    for i in 1..scores.len() {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    Label::from_index(best)
}
