//! `herken train`: corpus → analysis (the same normalize, language and cue stages as at
//! classification time) → hashed features → sparse logistic regression → calibration →
//! `models/sparse-lr.bin` and `models/manifest.json`.
//!
//! Procedure, deterministic for a seed: a stratified 20 % of the corpus is held out; a model
//! trained on the other 80 % is calibrated (temperature scaling) and scored on it, and those
//! held-out scores go into the manifest. Then the final model is trained on the whole corpus
//! with the same settings and takes the fitted temperature.
//!
//! The encoder: a head on the frozen encoder's embeddings, and with `--fine-tune` the top
//! layers trained on the 80 % (the epoch chosen on the 20 %, see [`finetune`]) and a head on
//! their embeddings. The same fitting runs per fold in [`cross_genre`].

pub mod cross_genre;
pub mod embed_cache;
pub mod encoder;
#[cfg(feature = "libtorch")]
pub mod finetune;
pub mod mine;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::dataset::{self, Example};
use crate::domain::Label;
use crate::error::{Error, Result};
use crate::eval::{self, Scored};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::model::features;
use crate::pipeline::model::head::Head;
pub use crate::pipeline::model::manifest::FineTuneReport;
use crate::pipeline::model::manifest::{EncoderInfo, FineTuneInfo, HeldoutScores};
use crate::pipeline::model::sparse::SplitMix;
use crate::pipeline::model::{CuePrior, Manifest, Sample, SparseModel, TrainOptions, SPARSE_FILE};
use crate::pipeline::types::LabelScores;
use crate::pipeline::{analyse, argmax};

/// Share of each label held out for calibration and the manifest's scores.
pub const HELDOUT_SHARE: f64 = 0.2;

/// Progress callback: (done, total, phase).
pub type Progress<'a> = &'a dyn Fn(usize, usize, &str);

/// What training needs of one example: its sparse sample and evidence text.
pub struct Analysed {
    /// Sparse features, prior offset and label.
    pub sample: Sample,
    /// The normalised evidence text (what the encoder embeds).
    pub evidence: String,
}

/// Analyse every example, in order.
pub fn featurize(
    examples: &[Example],
    lexicon: &Lexicon,
    opts: &TrainOptions,
    progress: Progress<'_>,
) -> Vec<Analysed> {
    let prior = CuePrior::new(lexicon, opts.prior_strength);
    let total = examples.len();
    examples
        .iter()
        .enumerate()
        .map(|(i, ex)| {
            let a = analyse(lexicon, &ex.message);
            let mut input = a.model_input(&ex.message);
            if hides_channel(&ex.message.text, opts) {
                input.channel = crate::domain::Channel::Unspecified;
            }
            let x = features::extract(&input, opts.dim_bits);
            if i % 25 == 0 || i + 1 == total {
                progress(i + 1, total, "features");
            }
            Analysed {
                sample: Sample {
                    x,
                    offset: prior.logits(&a.family_counts),
                    label: ex.label,
                },
                evidence: a.normalized.text,
            }
        })
        .collect()
}

/// Whether training hides this message's channel from the sparse model: a fixed share
/// (`channel_dropout`) of messages, chosen by a hash of the text and the seed, so the same
/// corpus and seed always hide the same ones.
fn hides_channel(text: &str, opts: &TrainOptions) -> bool {
    if opts.channel_dropout <= 0.0 {
        return false;
    }
    let h = Sha256::digest([text.as_bytes(), &opts.seed.to_le_bytes()].concat());
    let x = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as f64 / u32::MAX as f64;
    x < opts.channel_dropout as f64
}

/// Split indices per label: (train, held-out).
pub fn stratified_split(labels: &[Label], share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut rng = SplitMix::new(seed ^ 0x5eed);
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for l in Label::ALL {
        let mut idx: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == l).collect();
        rng.shuffle(&mut idx);
        let n_held = (idx.len() as f64 * share).round() as usize;
        held.extend_from_slice(&idx[..n_held]);
        train.extend_from_slice(&idx[n_held..]);
    }
    train.sort_unstable();
    held.sort_unstable();
    (train, held)
}

/// Fine-tuning settings (`herken train --fine-tune`); the training itself needs the
/// "libtorch" feature (see [`finetune`](crate::training)).
#[derive(Debug, Clone, PartialEq)]
pub struct FineTuneOptions {
    /// How many top layers are trained (the rest stay frozen).
    pub layers: usize,
    /// Peak learning rate of the transformer layers.
    pub learning_rate: f64,
    /// Peak learning rate of the temporary head.
    pub head_learning_rate: f64,
    /// Passes over the training split (the best one on the held-out split is kept).
    pub epochs: usize,
    /// Texts per step.
    pub batch_size: usize,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Share of the steps with a linearly rising learning rate.
    pub warmup: f64,
    /// libtorch threads (fixed, for reproducibility).
    pub threads: usize,
}

impl Default for FineTuneOptions {
    fn default() -> Self {
        FineTuneOptions {
            layers: 2,
            learning_rate: 5e-5,
            head_learning_rate: 2e-3,
            epochs: 3,
            batch_size: 16,
            weight_decay: 0.01,
            warmup: 0.1,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }
}

/// The encoder part of training: the base encoder, where its files and caches are, and
/// whether to fine-tune its top layers.
pub struct EncoderSetup<'a> {
    /// The base encoder (without fine-tuned layers).
    pub encoder: &'a crate::pipeline::model::encoder::Encoder,
    /// Its directory (config.json, model.safetensors): fine-tuning builds its layers from it.
    pub encoder_dir: &'a Path,
    /// Where embeddings and boundary states are cached.
    pub cache_dir: &'a Path,
    /// Fine-tune the top layers with these settings; `None`: the frozen encoder only.
    pub fine_tune: Option<FineTuneOptions>,
}

/// A corpus read and analysed once.
pub struct Prepared {
    /// The messages, in file order.
    pub examples: Vec<Example>,
    /// Their sparse samples and evidence texts.
    pub analysed: Vec<Analysed>,
    /// SHA-256 over the corpus files.
    pub corpus_sha256: String,
}

impl Prepared {
    /// The gold labels.
    pub fn labels(&self) -> Vec<Label> {
        self.analysed.iter().map(|a| a.sample.label).collect()
    }

    /// The evidence texts (what the encoder embeds).
    pub fn evidence(&self) -> Vec<&str> {
        self.analysed.iter().map(|a| a.evidence.as_str()).collect()
    }
}

/// Read and analyse the corpus in `corpus_dir`.
pub fn prepare(
    corpus_dir: &Path,
    lexicon: &Lexicon,
    opts: &TrainOptions,
    progress: Progress<'_>,
) -> Result<Prepared> {
    let (examples, corpus_sha256) = dataset::read_corpus(corpus_dir)?;
    if examples.len() < 20 {
        return Err(Error::Model(format!(
            "corpus {} has {} messages; at least 20 are needed",
            corpus_dir.display(),
            examples.len()
        )));
    }
    let analysed = featurize(&examples, lexicon, opts, progress);
    Ok(Prepared {
        examples,
        analysed,
        corpus_sha256,
    })
}

/// Split `idx` per label into (train, held-out), deterministic for `seed`.
pub fn split_subset(labels: &[Label], idx: &[usize], seed: u64) -> (Vec<usize>, Vec<usize>) {
    let sub: Vec<Label> = idx.iter().map(|&i| labels[i]).collect();
    let (a, b) = stratified_split(&sub, HELDOUT_SHARE, seed);
    (
        a.into_iter().map(|i| idx[i]).collect(),
        b.into_iter().map(|i| idx[i]).collect(),
    )
}

/// The sparse model fitted on a set of messages.
pub struct SparseFit {
    /// Trained on all of the set, with the probe's temperature.
    pub model: SparseModel,
    /// The probe's (trained on the train split, calibrated) probabilities on the held-out split.
    pub held_probs: Vec<LabelScores>,
    /// The probe's held-out scores.
    pub metrics: eval::Metrics,
}

/// Fit the sparse model on `train ∪ held`: a probe on `train`, calibrated and scored on
/// `held`, then the final model on both with the probe's temperature.
pub fn fit_sparse(
    samples: &[Sample],
    train: &[usize],
    held: &[usize],
    opts: &TrainOptions,
) -> SparseFit {
    let pick = |idx: &[usize]| -> Vec<Sample> { idx.iter().map(|&i| samples[i].clone()).collect() };
    let train_set = pick(train);
    let held_set = pick(held);
    let mut probe = SparseModel::train(&train_set, opts);
    probe.calibrate(&held_set);
    let held_probs: Vec<LabelScores> = held_set
        .iter()
        .map(|s| probe.predict(&s.x, &s.offset))
        .collect();
    let scored: Vec<Scored> = held_set
        .iter()
        .zip(&held_probs)
        .map(|(s, p)| {
            let predicted = argmax(p);
            Scored {
                gold: s.label,
                predicted,
                confidence: p[predicted.index()],
            }
        })
        .collect();
    let metrics = eval::metrics(&scored);
    let all: Vec<Sample> = train_set.into_iter().chain(held_set).collect();
    let mut model = SparseModel::train(&all, opts);
    model.temperature = probe.temperature;
    SparseFit {
        model,
        held_probs,
        metrics,
    }
}

/// An encoder head fitted on a set of messages, and the embeddings it was fitted on.
pub struct HeadFit {
    /// The head (trained on the whole set, calibrated, with its blend weight).
    pub head: Head,
    /// The combination's held-out scores.
    pub scores: HeldoutScores,
    /// The L2 penalty chosen.
    pub l2: f32,
    /// Id of the encoder the embeddings came from.
    pub encoder_id: String,
}

/// Fit a head on `embeddings` (indexed like `labels`) for `train ∪ held`.
fn fit_head(
    labels: &[Label],
    embeddings: &[Vec<f32>],
    train: &[usize],
    held: &[usize],
    sparse: &SparseFit,
    encoder_id: &str,
    progress: Progress<'_>,
) -> HeadFit {
    let set: Vec<usize> = train.iter().chain(held).copied().collect();
    let sub_labels: Vec<Label> = set.iter().map(|&i| labels[i]).collect();
    let sub_emb: Vec<Vec<f32>> = set.iter().map(|&i| embeddings[i].clone()).collect();
    let (t, h): (Vec<usize>, Vec<usize>) = (
        (0..train.len()).collect(),
        (train.len()..set.len()).collect(),
    );
    let (head, scores, l2) =
        encoder::train_head(&sub_labels, &sub_emb, &t, &h, &sparse.held_probs, progress);
    HeadFit {
        head,
        scores,
        l2,
        encoder_id: encoder_id.to_string(),
    }
}

/// What the encoder part of a training run made.
pub struct EncoderFit {
    /// The head on the frozen encoder.
    pub frozen: HeadFit,
    /// With fine-tuning: the head on the fine-tuned encoder, the report, and the fine-tuned
    /// encoder's embeddings of every message.
    pub tuned: Option<TunedFit>,
}

/// The fine-tuned part of an [`EncoderFit`].
pub struct TunedFit {
    /// The head on the fine-tuned encoder's embeddings.
    pub head: HeadFit,
    /// What fine-tuning measured.
    pub report: FineTuneReport,
    /// The fine-tuned encoder's embeddings of every message of the corpus.
    pub embeddings: Vec<Vec<f32>>,
    /// The fine-tuned layers (libtorch builds only).
    #[cfg(feature = "libtorch")]
    pub model: finetune::TopModel,
}

/// Fit the encoder head(s) on `train ∪ held`: on the frozen encoder's embeddings
/// (`base_embeddings`, every message of the corpus), and, when the setup asks, fine-tune the
/// top layers on `train` (epochs chosen on `held`) and fit a head on their embeddings.
/// `tuned_id` names the fine-tuned encoder (it depends on the file it is saved to).
#[allow(clippy::too_many_arguments)]
pub fn fit_encoder(
    prepared: &Prepared,
    setup: &EncoderSetup<'_>,
    base_embeddings: &[Vec<f32>],
    train: &[usize],
    held: &[usize],
    sparse: &SparseFit,
    seed: u64,
    progress: Progress<'_>,
) -> Result<EncoderFit> {
    let labels = prepared.labels();
    let frozen = fit_head(
        &labels,
        base_embeddings,
        train,
        held,
        sparse,
        setup.encoder.id(),
        progress,
    );
    let tuned = match &setup.fine_tune {
        None => None,
        Some(ft) => Some(fine_tune_fit(
            prepared, setup, ft, train, held, sparse, seed, progress,
        )?),
    };
    Ok(EncoderFit { frozen, tuned })
}

#[cfg(feature = "libtorch")]
#[allow(clippy::too_many_arguments)]
fn fine_tune_fit(
    prepared: &Prepared,
    setup: &EncoderSetup<'_>,
    ft: &FineTuneOptions,
    train: &[usize],
    held: &[usize],
    sparse: &SparseFit,
    seed: u64,
    progress: Progress<'_>,
) -> Result<TunedFit> {
    let labels = prepared.labels();
    let texts = prepared.evidence();
    let layers = setup.encoder.layers();
    let most = layers.saturating_sub(crate::pipeline::model::encoder::SKETCH_LAYER);
    if ft.layers == 0 || ft.layers > most {
        return Err(Error::Config(format!(
            "--top-layers {}: 1 to {most} of the encoder's {layers} layers can be fine-tuned (the \
             layers up to {} feed the repeat sketch and stay frozen)",
            ft.layers,
            crate::pipeline::model::encoder::SKETCH_LAYER
        )));
    }
    let states = finetune::boundary_states(
        setup.encoder_dir,
        setup.encoder,
        layers - ft.layers,
        &texts,
        setup.cache_dir,
        ft.threads,
        progress,
    )?;
    let (model, report) = finetune::fine_tune(
        setup.encoder_dir,
        &states,
        &labels,
        train,
        held,
        ft,
        seed,
        progress,
    )?;
    let all: Vec<usize> = (0..texts.len()).collect();
    let embeddings = model.embed(&states, &all)?;
    let head = fit_head(
        &labels,
        &embeddings,
        train,
        held,
        sparse,
        &format!("{}+top{}", setup.encoder.base_id(), ft.layers),
        progress,
    );
    Ok(TunedFit {
        head,
        report,
        embeddings,
        model,
    })
}

#[cfg(not(feature = "libtorch"))]
#[allow(clippy::too_many_arguments)]
fn fine_tune_fit(
    _: &Prepared,
    _: &EncoderSetup<'_>,
    _: &FineTuneOptions,
    _: &[usize],
    _: &[usize],
    _: &SparseFit,
    _: u64,
    _: Progress<'_>,
) -> Result<TunedFit> {
    Err(Error::Config(
        "fine-tuning needs libtorch: this herken was built without the \"libtorch\" feature".into(),
    ))
}

fn save_head(fit: &HeadFit, path: &Path) -> Result<EncoderInfo> {
    fit.head.save(path)?;
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    Ok(EncoderInfo {
        encoder: fit.encoder_id.clone(),
        head_sha256: hex::encode(Sha256::digest(&bytes)),
        temperature: fit.head.temperature,
        alpha: fit.head.alpha,
        l2: fit.l2,
        heldout: fit.scores.clone(),
        fine_tune: None,
    })
}

/// Train from `corpus_dir` into `out_dir`; returns the manifest written.
///
/// Writes `sparse-lr.bin`, and with an encoder `encoder-head.bin`; with fine-tuning also
/// `encoder-top.safetensors` (the layers) and `encoder-head-frozen.bin` (a head on the frozen
/// encoder, for `herken eval --compare`). Files of an earlier run that this one does not make
/// are removed, so a model directory never mixes runs.
pub fn train(
    corpus_dir: &Path,
    out_dir: &Path,
    lexicon: &Lexicon,
    opts: &TrainOptions,
    encoder: Option<&EncoderSetup<'_>>,
    progress: Progress<'_>,
) -> Result<Manifest> {
    let prepared = prepare(corpus_dir, lexicon, opts, progress)?;
    let data: Vec<Sample> = prepared.analysed.iter().map(|a| a.sample.clone()).collect();
    let labels = prepared.labels();
    let (train_idx, held_idx) = stratified_split(&labels, HELDOUT_SHARE, opts.seed);
    progress(0, 1, "training");
    let sparse = fit_sparse(&data, &train_idx, &held_idx, opts);
    progress(1, 1, "training");
    let m = &sparse.metrics;

    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let head_path = out_dir.join(crate::pipeline::model::HEAD_FILE);
    let frozen_path = out_dir.join(crate::pipeline::model::FROZEN_HEAD_FILE);
    let top_path = out_dir.join(crate::pipeline::model::encoder::TOP_FILE);
    let (encoder_info, frozen_info) = match encoder {
        Some(setup) => {
            let texts = prepared.evidence();
            let base = encoder::embeddings(setup.encoder, setup.cache_dir, &texts, progress)?;
            let fit = fit_encoder(
                &prepared, setup, &base, &train_idx, &held_idx, &sparse, opts.seed, progress,
            )?;
            match fit.tuned {
                None => {
                    let _ = std::fs::remove_file(&top_path);
                    let _ = std::fs::remove_file(&frozen_path);
                    (Some(save_head(&fit.frozen, &head_path)?), None)
                }
                Some(tuned) => {
                    let ft = setup.fine_tune.clone().expect("fine-tuned");
                    let id = save_top(&tuned, &top_path, setup)?;
                    // The cache of the fine-tuned encoder, so `herken eval` and later runs
                    // need not embed the corpus again.
                    let mut cache =
                        embed_cache::EmbedCache::open(setup.cache_dir, &id, setup.encoder.dim())?;
                    for (t, e) in texts.iter().zip(&tuned.embeddings) {
                        if cache.get(t).is_none() {
                            cache.put(t, e.clone())?;
                        }
                    }
                    let mut head = tuned.head;
                    head.encoder_id = id;
                    let mut info = save_head(&head, &head_path)?;
                    let top_bytes =
                        std::fs::read(&top_path).map_err(|e| Error::io(&top_path, e))?;
                    info.fine_tune = Some(FineTuneInfo {
                        base_encoder: setup.encoder.id().to_string(),
                        layers: ft.layers,
                        learning_rate: ft.learning_rate,
                        head_learning_rate: ft.head_learning_rate,
                        epochs: ft.epochs,
                        batch_size: ft.batch_size,
                        weight_decay: ft.weight_decay,
                        warmup: ft.warmup,
                        threads: ft.threads,
                        top_sha256: hex::encode(Sha256::digest(&top_bytes)),
                        report: tuned.report,
                    });
                    (Some(info), Some(save_head(&fit.frozen, &frozen_path)?))
                }
            }
        }
        None => {
            // Heads trained for another sparse model would be wrong: remove them.
            for p in [&head_path, &frozen_path, &top_path] {
                let _ = std::fs::remove_file(p);
            }
            (None, None)
        }
    };
    let weights_path = out_dir.join(SPARSE_FILE);
    sparse.model.save(&weights_path)?;
    let bytes = std::fs::read(&weights_path).map_err(|e| Error::io(&weights_path, e))?;
    let mut corpus_labels = BTreeMap::new();
    for l in &labels {
        *corpus_labels.entry(l.as_str().to_string()).or_insert(0) += 1;
    }
    let mut corpus_genres = BTreeMap::new();
    for ex in &prepared.examples {
        *corpus_genres
            .entry(ex.genre.unwrap_or("unknown").to_string())
            .or_insert(0) += 1;
    }
    let manifest = Manifest {
        model: "sparse-lr".into(),
        herken_version: env!("CARGO_PKG_VERSION").into(),
        trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        corpus_sha256: prepared.corpus_sha256.clone(),
        corpus_count: prepared.examples.len(),
        corpus_labels,
        corpus_genres,
        lexicon_sha256: lexicon.sha256().to_string(),
        seed: opts.seed,
        dim_bits: opts.dim_bits,
        epochs: opts.epochs,
        temperature: sparse.model.temperature,
        prior_strength: opts.prior_strength,
        channel_dropout: opts.channel_dropout,
        sparse_l2: Some(opts.l2),
        sparse_average: Some(opts.average.max(1)),
        weights_sha256: hex::encode(Sha256::digest(&bytes)),
        encoder: encoder_info,
        encoder_frozen: frozen_info,
        heldout: HeldoutScores {
            count: held_idx.len(),
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            ece: m.ece,
            klacht_recall: m.labels["klacht"].recall,
        },
    };
    manifest.save(out_dir)?;
    Ok(manifest)
}

#[cfg(feature = "libtorch")]
fn save_top(tuned: &TunedFit, path: &Path, setup: &EncoderSetup<'_>) -> Result<String> {
    finetune::save(&tuned.model, path, setup.encoder)
}

#[cfg(not(feature = "libtorch"))]
fn save_top(_: &TunedFit, _: &Path, _: &EncoderSetup<'_>) -> Result<String> {
    unreachable!("no TunedFit without libtorch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_stratified_disjoint_and_deterministic() {
        let labels: Vec<Label> = (0..100).map(|i| Label::from_index(i % 5)).collect();
        let (a, b) = stratified_split(&labels, 0.2, 7);
        assert_eq!(b.len(), 20);
        assert_eq!(a.len() + b.len(), 100);
        assert!(a.iter().all(|i| !b.contains(i)));
        for l in Label::ALL {
            assert_eq!(b.iter().filter(|&&i| labels[i] == l).count(), 4);
        }
        assert_eq!(stratified_split(&labels, 0.2, 7), (a, b));
    }
}
