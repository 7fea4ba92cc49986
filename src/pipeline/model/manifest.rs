//! The model manifest (`models/manifest.json`): what was trained, on what, and how well.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File name of the manifest inside a model directory.
pub const MANIFEST_FILE: &str = "manifest.json";

/// Held-out scores measured while training.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HeldoutScores {
    /// Messages in the held-out split.
    pub count: usize,
    /// Accuracy.
    pub accuracy: f64,
    /// Macro-averaged F1 over the five labels.
    pub macro_f1: f64,
    /// Expected calibration error (10 bins), after temperature scaling.
    pub ece: f64,
    /// Recall of klacht.
    pub klacht_recall: f64,
}

/// The encoder head, when one was trained.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct EncoderInfo {
    /// The encoder's id (model and weights hash).
    pub encoder: String,
    /// SHA-256 of encoder-head.bin, hex.
    pub head_sha256: String,
    /// The head's calibration temperature.
    pub temperature: f32,
    /// Weight of the head in the blend with the sparse model.
    #[serde(default)]
    pub alpha: f32,
    /// The head's L2 penalty, chosen on the held-out split.
    #[serde(default)]
    pub l2: f32,
    /// The combination's scores on the held-out split.
    pub heldout: HeldoutScores,
    /// How the encoder's top layers were fine-tuned, when they were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fine_tune: Option<FineTuneInfo>,
}

/// What fine-tuning measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FineTuneReport {
    /// Held-out macro-F1 of the temporary head after each epoch.
    pub heldout_macro_f1: Vec<f64>,
    /// Mean training loss of each epoch.
    pub train_loss: Vec<f64>,
    /// The epoch kept (1-based).
    pub best_epoch: usize,
}

/// The fine-tuned top layers (`encoder-top.safetensors`): on what, how, and how well.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FineTuneInfo {
    /// The base encoder the layers were trained on.
    pub base_encoder: String,
    /// How many top layers were trained.
    pub layers: usize,
    /// Peak learning rate of the layers.
    pub learning_rate: f64,
    /// Peak learning rate of the temporary head.
    pub head_learning_rate: f64,
    /// Epochs run (the best on the held-out split was kept).
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: usize,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of warm-up steps.
    pub warmup: f64,
    /// libtorch threads.
    pub threads: usize,
    /// SHA-256 of encoder-top.safetensors, hex.
    pub top_sha256: String,
    /// Per-epoch held-out scores and losses.
    pub report: FineTuneReport,
}

/// What `herken train` wrote.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    /// Model kind, e.g. `sparse-lr`.
    pub model: String,
    /// herken's version that trained it.
    pub herken_version: String,
    /// When it was trained (RFC 3339).
    pub trained_at: String,
    /// SHA-256 over the corpus files (sorted by name, content), hex.
    pub corpus_sha256: String,
    /// Messages in the corpus.
    pub corpus_count: usize,
    /// Messages per label.
    pub corpus_labels: std::collections::BTreeMap<String, usize>,
    /// Messages per genre.
    #[serde(default)]
    pub corpus_genres: std::collections::BTreeMap<String, usize>,
    /// SHA-256 of the lexicon used for the cue features, hex.
    pub lexicon_sha256: String,
    /// Shuffling seed.
    pub seed: u64,
    /// Feature space 2^dim_bits.
    pub dim_bits: u32,
    /// Training passes.
    pub epochs: usize,
    /// Calibration temperature.
    pub temperature: f32,
    /// Strength of the lexicon prior the model was trained with (0: none).
    #[serde(default)]
    pub prior_strength: f32,
    /// Share of training messages whose channel was hidden from the sparse model.
    #[serde(default)]
    pub channel_dropout: f32,
    /// L2 penalty per update on the sparse model's weights (older manifests: not recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_l2: Option<f32>,
    /// How many sparse models with their own shuffling orders were averaged (older
    /// manifests: one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_average: Option<usize>,
    /// SHA-256 of the weights file, hex.
    pub weights_sha256: String,
    /// Scores on the held-out split (20 %, stratified, same seed).
    pub heldout: HeldoutScores,
    /// The encoder head trained with this sparse model, if any (on the fine-tuned encoder
    /// when there is one).
    #[serde(default)]
    pub encoder: Option<EncoderInfo>,
    /// With fine-tuning: the head on the frozen encoder (`encoder-head-frozen.bin`), for
    /// `herken eval --compare`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoder_frozen: Option<EncoderInfo>,
}

impl Manifest {
    /// Read `manifest.json` from `dir`.
    pub fn load(dir: &Path) -> Result<Manifest> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::Model(format!("{}: {e}", path.display())))
    }

    /// Write `manifest.json` into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let path = dir.join(MANIFEST_FILE);
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        std::fs::write(&path, text + "\n").map_err(|e| Error::io(&path, e))
    }
}
