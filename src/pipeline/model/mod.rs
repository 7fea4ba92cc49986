//! The model stage: scores for the five labels.
//!
//! A [`Scorer`] turns a [`ModelInput`] into calibrated probabilities. Two ship now:
//! - [`SparseScorer`]: logistic regression over hashed n-grams and cue families
//!   (`models/sparse-lr.bin`, trained by `herken train`);
//! - [`CueScorer`]: the lexicon alone (family weights → softmax), a baseline for `herken eval`
//!   and the last resort when no trained model is found.
//!
//! An encoder-based scorer plugs in behind the same trait: it receives the same input (the
//! evidence text is what it embeds) and returns probabilities.

pub mod encoder;
pub mod features;
pub mod half;
pub mod head;
pub mod manifest;
pub mod sparse;

use std::path::Path;

pub use features::{ModelInput, SparseVec};
pub use manifest::Manifest;
pub use sparse::{Sample, SparseModel, TrainOptions};

use crate::domain::Label;
use crate::error::{Error, Result};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::types::{Family, LabelScores};

/// File name of the sparse model inside a model directory.
pub const SPARSE_FILE: &str = "sparse-lr.bin";
/// File name of the encoder head inside a model directory.
pub const HEAD_FILE: &str = "encoder-head.bin";
/// File name of the head on the frozen encoder, when the main head is on a fine-tuned one.
pub const FROZEN_HEAD_FILE: &str = "encoder-head-frozen.bin";

/// Something that scores a message for the five labels.
pub trait Scorer: Send + Sync + std::fmt::Debug {
    /// A short id for responses and logs, e.g. `sparse-lr@1a2b3c4d`.
    fn id(&self) -> &str;
    /// Calibrated probabilities in [`Label::ALL`] order, summing to 1.
    fn score(&self, input: &ModelInput<'_>) -> LabelScores;
    /// The scores and, when the scorer runs the encoder, the semantic sketch source from the
    /// same forward pass (for repeat detection; never stored as it is). `need_sketch` says
    /// whether the caller will use the sketch (it remembers the message): a scorer that skips
    /// the encoder for a message still computes the sketch then.
    fn score_with_sketch(
        &self,
        input: &ModelInput<'_>,
        _need_sketch: bool,
    ) -> (LabelScores, Option<encoder::SketchSource>) {
        (self.score(input), None)
    }
    /// How many messages the encoder's head scored and how many it was spared (the sparse
    /// model sure enough), when this scorer has a head.
    fn head_use(&self) -> Option<(u64, u64)> {
        None
    }
    /// The sparse model behind this scorer, if there is one: what evidence from the model
    /// (`crate::pipeline::attribution`) is computed on, the encoder being too costly per phrase.
    fn sparse(&self) -> Option<&SparseScorer> {
        None
    }
}

/// The lexicon as logits: each non-negated cue adds its family's weight (from families.toml)
/// to the label it supports, log-scaled by count, times a strength.
///
/// It is the expert's knowledge in numbers. Alone it is the `cues-only` baseline; added to the
/// sparse model's logits (in training and prediction alike) it is a prior the model learns
/// corrections to, so a phrase a coordinator adds to the lexicon counts even when the corpus
/// never had it.
#[derive(Debug, Clone)]
pub struct CuePrior {
    weights: [(Label, f32); Family::ALL.len()],
    strength: f32,
}

impl CuePrior {
    /// From the lexicon's family table, scaled by `strength` (0 switches it off).
    pub fn new(lexicon: &Lexicon, strength: f32) -> CuePrior {
        CuePrior {
            weights: Family::ALL.map(|f| {
                let fi = lexicon.family(f);
                (fi.supports, fi.weight)
            }),
            strength,
        }
    }

    /// The label `family` supports and its weight times the strength: what one step of
    /// `ln(1 + count)` adds to that label's logit.
    pub fn family(&self, family: Family) -> (Label, f32) {
        let (label, w) = self.weights[family.index()];
        (label, w * self.strength)
    }

    /// The prior's logits for a message with these family counts.
    pub fn logits(&self, family_counts: &[u32; Family::ALL.len()]) -> LabelScores {
        let mut logits = [0f32; Label::COUNT];
        if self.strength == 0.0 {
            return logits;
        }
        for (f, &n) in Family::ALL.iter().zip(family_counts) {
            let (label, w) = self.weights[f.index()];
            logits[label.index()] += self.strength * w * (1.0 + n as f32).ln();
        }
        logits
    }
}

/// The trained sparse model with its id and the lexicon prior it was trained with.
#[derive(Debug, Clone)]
pub struct SparseScorer {
    model: SparseModel,
    prior: CuePrior,
    id: String,
}

impl SparseScorer {
    /// Wrap a trained model under `id`.
    pub fn new(model: SparseModel, prior: CuePrior, id: impl Into<String>) -> SparseScorer {
        SparseScorer {
            model,
            prior,
            id: id.into(),
        }
    }

    /// Load `sparse-lr.bin` and its manifest (for the id and the prior's strength) from `dir`.
    pub fn load(dir: &Path, lexicon: &Lexicon) -> Result<SparseScorer> {
        let model = SparseModel::load(&dir.join(SPARSE_FILE))?;
        let manifest = Manifest::load(dir)?;
        let short = manifest.weights_sha256.get(..8).unwrap_or("unknown");
        Ok(SparseScorer::new(
            model,
            CuePrior::new(lexicon, manifest.prior_strength),
            format!("sparse-lr@{short}"),
        ))
    }

    /// The features of `input` in this model's feature space.
    pub fn features(&self, input: &ModelInput<'_>) -> SparseVec {
        features::extract(input, self.model.dim_bits)
    }

    /// The trained model.
    pub fn model(&self) -> &SparseModel {
        &self.model
    }

    /// The lexicon prior it adds to its logits.
    pub fn prior(&self) -> &CuePrior {
        &self.prior
    }
}

impl Scorer for SparseScorer {
    fn id(&self) -> &str {
        &self.id
    }
    fn sparse(&self) -> Option<&SparseScorer> {
        Some(self)
    }
    fn score(&self, input: &ModelInput<'_>) -> LabelScores {
        self.model.predict(
            &self.features(input),
            &self.prior.logits(input.family_counts),
        )
    }
}

/// The lexicon alone: the `cues-only` baseline, and the last resort without a trained model.
#[derive(Debug)]
pub struct CueScorer {
    prior: CuePrior,
}

impl CueScorer {
    /// Built from the lexicon's family table.
    pub fn new(lexicon: &Lexicon) -> CueScorer {
        CueScorer {
            prior: CuePrior::new(lexicon, 1.0),
        }
    }
}

impl Scorer for CueScorer {
    fn id(&self) -> &str {
        "cues-only"
    }
    fn score(&self, input: &ModelInput<'_>) -> LabelScores {
        let mut logits = self.prior.logits(input.family_counts);
        // A small prior for overig: no evidence at all means "something else".
        logits[Label::Overig.index()] += 0.5;
        sparse::softmax(&logits, 1.0)
    }
}

/// Load the sparse scorer from `dir`, or an error that says how to make one.
pub fn load_sparse(dir: &Path, lexicon: &Lexicon) -> Result<SparseScorer> {
    if !dir.join(SPARSE_FILE).exists() {
        return Err(Error::Model(format!(
            "no trained model in {} (run `herken train` to make one)",
            dir.display()
        )));
    }
    SparseScorer::load(dir, lexicon)
}

/// The combination: the sparse model and the encoder head, as a weighted geometric mean of
/// their probabilities (see [`head`]); or, for comparison, the encoder head alone.
#[derive(Debug)]
pub struct EncoderScorer {
    encoder: std::sync::Arc<dyn encoder::Embedder>,
    sparse: SparseScorer,
    head: head::Head,
    head_alone: bool,
    skip_above: Option<f32>,
    /// Messages the head scored, and messages it was spared.
    asked: std::sync::atomic::AtomicU64,
    spared: std::sync::atomic::AtomicU64,
    id: String,
}

impl EncoderScorer {
    /// Whether `head` was trained for inputs of `encoder`.
    pub fn check(encoder: &dyn encoder::Embedder, head: &head::Head) -> Result<()> {
        let want = encoder.dim();
        if head.dim() != want {
            return Err(Error::Model(format!(
                "the encoder head expects {} inputs but this encoder gives {want}: retrain with `herken train`",
                head.dim()
            )));
        }
        Ok(())
    }

    /// Combine a loaded encoder, the sparse scorer and a head trained for them (see [`EncoderScorer::check`]).
    pub fn new(
        encoder: std::sync::Arc<dyn encoder::Embedder>,
        sparse: SparseScorer,
        head: head::Head,
    ) -> EncoderScorer {
        let id = format!("{}+{}", encoder.id(), sparse.id());
        EncoderScorer {
            encoder,
            sparse,
            head,
            head_alone: false,
            skip_above: None,
            asked: Default::default(),
            spared: Default::default(),
            id,
        }
    }

    /// A cascade: when the sparse model's probability for its label is at least `threshold`,
    /// its scores stand and the encoder's head is not asked (the encoder then runs only as far
    /// as repeat detection's sketch needs, and only when the caller needs the sketch).
    /// `None` or a threshold above 1 asks the head for every message.
    pub fn skipping_above(mut self, threshold: Option<f32>) -> EncoderScorer {
        self.skip_above = threshold.filter(|t| *t <= 1.0);
        self
    }

    /// The encoder head alone, without the sparse model (which answers only when the encoder
    /// fails on a message): the "encoder head" row of `herken eval --compare`.
    pub fn head_alone(
        encoder: std::sync::Arc<dyn encoder::Embedder>,
        sparse: SparseScorer,
        head: head::Head,
    ) -> EncoderScorer {
        let id = format!("{}-head", encoder.id());
        EncoderScorer {
            head_alone: true,
            id,
            ..EncoderScorer::new(encoder, sparse, head)
        }
    }
}

impl Scorer for EncoderScorer {
    fn id(&self) -> &str {
        &self.id
    }
    fn sparse(&self) -> Option<&SparseScorer> {
        Some(&self.sparse)
    }
    fn head_use(&self) -> Option<(u64, u64)> {
        use std::sync::atomic::Ordering::Relaxed;
        Some((self.asked.load(Relaxed), self.spared.load(Relaxed)))
    }
    fn score(&self, input: &ModelInput<'_>) -> LabelScores {
        self.score_with_sketch(input, false).0
    }
    fn score_with_sketch(
        &self,
        input: &ModelInput<'_>,
        need_sketch: bool,
    ) -> (LabelScores, Option<encoder::SketchSource>) {
        let sparse = self.sparse.score(input);
        if let Some(threshold) = self.skip_above.filter(|_| !self.head_alone) {
            if sparse[crate::pipeline::argmax(&sparse).index()] >= threshold {
                self.spared
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let sketch = if need_sketch {
                    self.encoder.sketch(input.text).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "encoder failed on a message; no sketch");
                        None
                    })
                } else {
                    None
                };
                return (sparse, sketch);
            }
        }
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // The layer-8 tap costs a mean over the states; without it the result cache keys the
        // embedding alone, as for a message nobody remembers.
        let embedded = if need_sketch {
            self.encoder.embed_with_sketch(input.text)
        } else {
            self.encoder.embed(input.text).map(|e| (e, None))
        };
        match embedded {
            Ok((e, sketch)) if self.head_alone => (self.head.predict(&e), sketch),
            Ok((e, sketch)) => (self.head.blend(&sparse, &self.head.predict(&e)), sketch),
            Err(e) => {
                // An input the tokenizer cannot take: the sparse model alone answers.
                tracing::warn!(error = %e, "encoder failed on a message; sparse model used");
                (sparse, None)
            }
        }
    }
}
