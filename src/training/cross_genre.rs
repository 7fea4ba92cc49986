//! `herken eval --cross-genre`: how well the model generalises to a kind of text it has never
//! seen. For each genre of the corpus (see [`crate::dataset::GENRES`]), the whole training
//! procedure runs on the other genres — the sparse model, the encoder head (and, when asked,
//! the fine-tuning of the top layers) with their own held-out split for calibration and the
//! blend weight — and the left-out genre is classified by the full pipeline (decide stage
//! included), exactly as `herken eval` would classify it.
//!
//! The mean macro-F1 over the left-out genres is the number to improve: a change that raises
//! the score on one evaluation set but lowers this one has learned how *we* write, not how
//! residents write. Messages without a genre are always trained on, never tested.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::domain::Label;
use crate::error::Result;
use crate::eval::{self, Metrics, Scored};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::decide::DecideOptions;
use crate::pipeline::model::encoder::Precomputed;
use crate::pipeline::model::head::Head;
use crate::pipeline::model::{CuePrior, EncoderScorer, Sample, Scorer, SparseScorer, TrainOptions};
use crate::pipeline::types::LabelScores;
use crate::pipeline::Pipeline;
use crate::recognizer::Recognizer;
use crate::training::{
    encoder, fit_encoder, fit_sparse, split_subset, EncoderSetup, Prepared, Progress,
};

/// The result for one left-out genre.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GenreResult {
    /// The genre left out and tested on.
    pub genre: String,
    /// Messages per gold label in it.
    pub labels: BTreeMap<String, usize>,
    /// The scores of the model trained without it (fine-tuned when fine-tuning was asked).
    pub metrics: Metrics,
    /// With fine-tuning: the same fold's head on the frozen encoder.
    pub frozen: Option<Metrics>,
    /// The messages the model got wrong: id (`file:line`), gold and predicted label.
    pub misses: Vec<Miss>,
    /// With an encoder: macro-F1 of the blend's best label for α = 0, 0.1, …, 1 (the weight of
    /// the encoder head against the sparse model), before the decide stage — how the blend
    /// weight chosen on the in-genre held-out split fares out of genre.
    pub by_alpha: Vec<f64>,
}

/// A message of a left-out genre the model trained without it got wrong.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Miss {
    /// The message's id (`file:line` for the corpus).
    pub id: String,
    /// The right label.
    pub gold: Label,
    /// The label given.
    pub predicted: Label,
    /// Its probability.
    pub confidence: f32,
}

/// The mean over genres of the macro-F1 per α (empty without an encoder).
pub fn mean_by_alpha(results: &[GenreResult]) -> Vec<f64> {
    let n = results.len().max(1) as f64;
    let k = results.first().map_or(0, |r| r.by_alpha.len());
    (0..k)
        .map(|a| results.iter().map(|r| r.by_alpha[a]).sum::<f64>() / n)
        .collect()
}

/// Macro-F1 of argmax of `p_sparse^(1−α) · p_head^α` for α = 0, 0.1, …, 1.
fn alpha_sweep(pairs: &[(LabelScores, LabelScores, Label)]) -> Vec<f64> {
    (0..=10)
        .map(|step| {
            let a = step as f32 / 10.0;
            let scored: Vec<Scored> = pairs
                .iter()
                .map(|(s, h, gold)| {
                    let logits: LabelScores = std::array::from_fn(|k| {
                        (1.0 - a) * s[k].max(1e-7).ln() + a * h[k].max(1e-7).ln()
                    });
                    let predicted = crate::pipeline::argmax(&logits);
                    Scored {
                        gold: *gold,
                        predicted,
                        confidence: 1.0,
                    }
                })
                .collect();
            eval::metrics(&scored).macro_f1
        })
        .collect()
}

/// The mean macro-F1 over the results, and the weakest genre with its score.
pub fn summary(results: &[GenreResult]) -> (f64, Option<(&str, f64)>) {
    let n = results.len().max(1) as f64;
    let mean = results.iter().map(|r| r.metrics.macro_f1).sum::<f64>() / n;
    let min = results
        .iter()
        .min_by(|a, b| a.metrics.macro_f1.total_cmp(&b.metrics.macro_f1))
        .map(|r| (r.genre.as_str(), r.metrics.macro_f1));
    (mean, min)
}

fn classify(
    lexicon: &Lexicon,
    scorer: Box<dyn Scorer>,
    decide: &DecideOptions,
    prepared: &Prepared,
    test: &[usize],
) -> Result<(Metrics, Vec<Miss>)> {
    let recognizer = Recognizer::new(
        Pipeline::new(lexicon.clone(), scorer, decide.clone()),
        usize::MAX,
    );
    let mut scored = Vec::with_capacity(test.len());
    let mut misses = Vec::new();
    for &i in test {
        let ex = &prepared.examples[i];
        let o = recognizer.classify(&ex.message)?;
        scored.push(Scored {
            gold: ex.label,
            predicted: o.label,
            confidence: o.confidence,
        });
        if o.label != ex.label {
            misses.push(Miss {
                id: ex.message.id.clone(),
                gold: ex.label,
                predicted: o.label,
                confidence: o.confidence,
            });
        }
    }
    Ok((eval::metrics(&scored), misses))
}

/// How each fold is trained and classified: as `herken train` trains and the service
/// classifies.
#[derive(Clone, Copy)]
pub struct Procedure<'a, 's> {
    /// The lexicon the sparse model's features and the cues come from.
    pub lexicon: &'a Lexicon,
    /// Training options (seed, prior strength, …).
    pub opts: &'a TrainOptions,
    /// The encoder and its cache, when the encoder's head is trained too.
    pub setup: Option<&'a EncoderSetup<'s>>,
    /// The decide stage's thresholds.
    pub decide: &'a DecideOptions,
    /// The cascade: the encoder's head is skipped where the sparse model is at least this
    /// sure, as the service does (`encoder_skip_confidence`).
    pub skip_above: Option<f32>,
}

/// Leave each genre out in turn (or only those in `only`), train on the rest by `procedure`
/// and score it; `done` is told each genre's result as it comes.
pub fn run(
    prepared: &Prepared,
    procedure: Procedure<'_, '_>,
    only: &[String],
    progress: Progress<'_>,
    done: &dyn Fn(&GenreResult),
) -> Result<Vec<GenreResult>> {
    let Procedure {
        lexicon,
        opts,
        setup,
        decide,
        skip_above,
    } = procedure;
    let labels = prepared.labels();
    let samples: Vec<Sample> = prepared.analysed.iter().map(|a| a.sample.clone()).collect();
    let texts = prepared.evidence();
    let mut genres: Vec<&'static str> = prepared.examples.iter().filter_map(|e| e.genre).collect();
    genres.sort_unstable();
    genres.dedup();
    genres.retain(|g| only.is_empty() || only.iter().any(|o| o == g));
    let base = match setup {
        Some(s) => Some(encoder::embeddings(
            s.encoder,
            s.cache_dir,
            &texts,
            progress,
        )?),
        None => None,
    };
    let prior = CuePrior::new(lexicon, opts.prior_strength);
    let mut results = Vec::new();
    for g in genres {
        let (test, fold): (Vec<usize>, Vec<usize>) =
            (0..prepared.examples.len()).partition(|&i| prepared.examples[i].genre == Some(g));
        let (train, held) = split_subset(&labels, &fold, opts.seed);
        let sparse = fit_sparse(&samples, &train, &held, opts);
        let sparse_scorer =
            SparseScorer::new(sparse.model.clone(), prior.clone(), "sparse-lr@fold");
        let lookup = |emb: &[Vec<f32>], id: &str, dim: usize| -> Arc<Precomputed> {
            let map: HashMap<String, Vec<f32>> = test
                .iter()
                .map(|&i| (texts[i].to_string(), emb[i].clone()))
                .collect();
            Arc::new(Precomputed::new(id, dim, map))
        };
        let with = |emb: Arc<Precomputed>, head: Head| -> Box<dyn Scorer> {
            Box::new(
                EncoderScorer::new(emb, sparse_scorer.clone(), head).skipping_above(skip_above),
            )
        };
        // The blend's inputs per test message, for the α sweep.
        let pairs = |emb: &[Vec<f32>], head: &Head| -> Vec<(LabelScores, LabelScores, Label)> {
            test.iter()
                .map(|&i| {
                    let ex = &prepared.examples[i];
                    let a = crate::pipeline::analyse(lexicon, &ex.message);
                    let sp = sparse_scorer.score(&a.model_input(&ex.message));
                    (sp, head.predict(&emb[i]), labels[i])
                })
                .collect()
        };
        let ((metrics, misses), frozen, by_alpha) = match (setup, &base) {
            (Some(s), Some(base)) => {
                let fit = fit_encoder(
                    prepared, s, base, &train, &held, &sparse, opts.seed, progress,
                )?;
                let dim = s.encoder.dim();
                let frozen_pairs = pairs(base, &fit.frozen.head);
                let frozen_scorer = with(lookup(base, s.encoder.id(), dim), fit.frozen.head);
                let frozen = classify(lexicon, frozen_scorer, decide, prepared, &test)?;
                match fit.tuned {
                    Some(t) => {
                        let sweep = alpha_sweep(&pairs(&t.embeddings, &t.head.head));
                        let scorer =
                            with(lookup(&t.embeddings, &t.head.encoder_id, dim), t.head.head);
                        (
                            classify(lexicon, scorer, decide, prepared, &test)?,
                            Some(frozen.0),
                            sweep,
                        )
                    }
                    None => (frozen, None, alpha_sweep(&frozen_pairs)),
                }
            }
            _ => (
                classify(
                    lexicon,
                    Box::new(sparse_scorer.clone()),
                    decide,
                    prepared,
                    &test,
                )?,
                None,
                Vec::new(),
            ),
        };
        let mut counts = BTreeMap::new();
        for &i in &test {
            *counts.entry(labels[i].as_str().to_string()).or_insert(0) += 1;
        }
        let r = GenreResult {
            genre: g.to_string(),
            labels: counts,
            metrics,
            misses,
            frozen,
            by_alpha,
        };
        done(&r);
        results.push(r);
    }
    Ok(results)
}
