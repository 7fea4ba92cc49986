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

pub mod features;
pub mod manifest;
pub mod sparse;

use std::path::Path;

pub use features::{ModelInput, SparseVec};
pub use manifest::Manifest;
pub use sparse::{SparseModel, TrainOptions};

use crate::domain::Label;
use crate::error::{Error, Result};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::types::{Family, LabelScores};

/// File name of the sparse model inside a model directory.
pub const SPARSE_FILE: &str = "sparse-lr.bin";

/// Something that scores a message for the five labels.
pub trait Scorer: Send + Sync + std::fmt::Debug {
    /// A short id for responses and logs, e.g. `sparse-lr@1a2b3c4d`.
    fn id(&self) -> &str;
    /// Calibrated probabilities in [`Label::ALL`] order, summing to 1.
    fn score(&self, input: &ModelInput<'_>) -> LabelScores;
}

/// The trained sparse model with its id.
#[derive(Debug)]
pub struct SparseScorer {
    model: SparseModel,
    id: String,
}

impl SparseScorer {
    /// Wrap a trained model under `id`.
    pub fn new(model: SparseModel, id: impl Into<String>) -> SparseScorer {
        SparseScorer {
            model,
            id: id.into(),
        }
    }

    /// Load `sparse-lr.bin` (and its manifest, for the id) from `dir`.
    pub fn load(dir: &Path) -> Result<SparseScorer> {
        let model = SparseModel::load(&dir.join(SPARSE_FILE))?;
        let manifest = Manifest::load(dir)?;
        let short = manifest.weights_sha256.get(..8).unwrap_or("unknown");
        Ok(SparseScorer::new(model, format!("sparse-lr@{short}")))
    }

    /// The features of `input` in this model's feature space.
    pub fn features(&self, input: &ModelInput<'_>) -> SparseVec {
        features::extract(input, self.model.dim_bits)
    }
}

impl Scorer for SparseScorer {
    fn id(&self) -> &str {
        &self.id
    }
    fn score(&self, input: &ModelInput<'_>) -> LabelScores {
        self.model.predict(&self.features(input))
    }
}

/// The lexicon alone: each non-negated cue adds its family's weight to the label it supports.
#[derive(Debug)]
pub struct CueScorer {
    weights: [(Label, f32); Family::ALL.len()],
}

impl CueScorer {
    /// Built from the lexicon's family table.
    pub fn new(lexicon: &Lexicon) -> CueScorer {
        CueScorer {
            weights: Family::ALL.map(|f| {
                let fi = lexicon.family(f);
                (fi.supports, fi.weight)
            }),
        }
    }
}

impl Scorer for CueScorer {
    fn id(&self) -> &str {
        "cues-only"
    }
    fn score(&self, input: &ModelInput<'_>) -> LabelScores {
        let mut logits = [0f32; Label::COUNT];
        // A small prior for overig: no evidence at all means "something else".
        logits[Label::Overig.index()] = 0.5;
        for (f, &n) in Family::ALL.iter().zip(input.family_counts) {
            let (label, w) = self.weights[f.index()];
            logits[label.index()] += w * (1.0 + n as f32).ln();
        }
        sparse::softmax(&logits, 1.0)
    }
}

/// Load the scorer from `dir`: the sparse model when it is there, else an error that says how
/// to make one.
pub fn load_sparse(dir: &Path) -> Result<SparseScorer> {
    if !dir.join(SPARSE_FILE).exists() {
        return Err(Error::Model(format!(
            "no trained model in {} (run `herken train` to make one)",
            dir.display()
        )));
    }
    SparseScorer::load(dir)
}
