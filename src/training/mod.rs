//! `herken train`: corpus → analysis (the same normalize, language and cue stages as at
//! classification time) → hashed features → sparse logistic regression → calibration →
//! `models/sparse-lr.bin` and `models/manifest.json`.
//!
//! Procedure, deterministic for a seed: a stratified 20 % of the corpus is held out; a model
//! trained on the other 80 % is calibrated (temperature scaling) and scored on it, and those
//! held-out scores go into the manifest. Then the final model is trained on the whole corpus
//! with the same settings and takes the fitted temperature.

pub mod embed_cache;
pub mod encoder;

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::dataset::{self, Example};
use crate::domain::Label;
use crate::error::{Error, Result};
use crate::eval::{self, Scored};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::model::features;
use crate::pipeline::model::manifest::HeldoutScores;
use crate::pipeline::model::sparse::SplitMix;
use crate::pipeline::model::{CuePrior, Manifest, Sample, SparseModel, TrainOptions, SPARSE_FILE};
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
            let x = features::extract(&a.model_input(&ex.message), opts.dim_bits);
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

/// Train from `corpus_dir` into `out_dir`; returns the manifest written.
pub fn train(
    corpus_dir: &Path,
    out_dir: &Path,
    lexicon: &Lexicon,
    opts: &TrainOptions,
    encoder: Option<(&crate::pipeline::model::encoder::Encoder, &Path)>,
    progress: Progress<'_>,
) -> Result<Manifest> {
    let (examples, corpus_sha256) = dataset::read_corpus(corpus_dir)?;
    if examples.len() < 20 {
        return Err(Error::Model(format!(
            "corpus {} has {} messages; at least 20 are needed",
            corpus_dir.display(),
            examples.len()
        )));
    }
    let analysed = featurize(&examples, lexicon, opts, progress);
    let data: Vec<Sample> = analysed.iter().map(|a| a.sample.clone()).collect();
    let labels: Vec<Label> = data.iter().map(|s| s.label).collect();
    let (train_idx, held_idx) = stratified_split(&labels, HELDOUT_SHARE, opts.seed);
    let pick = |idx: &[usize]| -> Vec<Sample> { idx.iter().map(|&i| data[i].clone()).collect() };
    let train_set = pick(&train_idx);
    let held_set = pick(&held_idx);

    progress(0, 2, "training");
    let mut probe = SparseModel::train(&train_set, opts);
    probe.calibrate(&held_set);
    let scored: Vec<Scored> = held_set
        .iter()
        .map(|s| {
            let p = probe.predict(&s.x, &s.offset);
            let predicted = argmax(&p);
            Scored {
                gold: s.label,
                predicted,
                confidence: p[predicted.index()],
            }
        })
        .collect();
    let m = eval::metrics(&scored);
    progress(1, 2, "training");
    let mut model = SparseModel::train(&data, opts);
    model.temperature = probe.temperature;
    progress(2, 2, "training");

    let head = match encoder {
        Some((enc, cache_dir)) => {
            let evidence: Vec<String> = analysed.iter().map(|a| a.evidence.clone()).collect();
            let held_sparse: Vec<_> = held_set
                .iter()
                .map(|s| probe.predict(&s.x, &s.offset))
                .collect();
            let (head, scores, l2) = encoder::train_head(
                &labels,
                &evidence,
                &train_idx,
                &held_idx,
                &held_sparse,
                enc,
                cache_dir,
                progress,
            )?;
            Some((head, scores, l2, enc.id().to_string()))
        }
        None => None,
    };

    std::fs::create_dir_all(out_dir).map_err(|e| Error::io(out_dir, e))?;
    let head_path = out_dir.join(crate::pipeline::model::HEAD_FILE);
    let encoder_info = match &head {
        Some((h, scores, l2, id)) => {
            h.save(&head_path)?;
            let bytes = std::fs::read(&head_path).map_err(|e| Error::io(&head_path, e))?;
            Some(crate::pipeline::model::manifest::EncoderInfo {
                encoder: id.clone(),
                head_sha256: hex::encode(Sha256::digest(&bytes)),
                temperature: h.temperature,
                alpha: h.alpha,
                l2: *l2,
                heldout: scores.clone(),
            })
        }
        None => {
            // A head trained for another sparse model would be wrong: remove it.
            let _ = std::fs::remove_file(&head_path);
            None
        }
    };
    let weights_path = out_dir.join(SPARSE_FILE);
    model.save(&weights_path)?;
    let bytes = std::fs::read(&weights_path).map_err(|e| Error::io(&weights_path, e))?;
    let mut corpus_labels = BTreeMap::new();
    for l in &labels {
        *corpus_labels.entry(l.as_str().to_string()).or_insert(0) += 1;
    }
    let manifest = Manifest {
        model: "sparse-lr".into(),
        herken_version: env!("CARGO_PKG_VERSION").into(),
        trained_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        corpus_sha256,
        corpus_count: examples.len(),
        corpus_labels,
        lexicon_sha256: lexicon.sha256().to_string(),
        seed: opts.seed,
        dim_bits: opts.dim_bits,
        epochs: opts.epochs,
        temperature: model.temperature,
        prior_strength: opts.prior_strength,
        weights_sha256: hex::encode(Sha256::digest(&bytes)),
        encoder: encoder_info,
        heldout: HeldoutScores {
            count: held_set.len(),
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            ece: m.ece,
            klacht_recall: m.labels["klacht"].recall,
        },
    };
    manifest.save(out_dir)?;
    Ok(manifest)
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
