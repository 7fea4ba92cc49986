//! Training the encoder head: embeddings (cached, on every core), the head on the same split
//! as the sparse model, and the weight of its blend with the sparse model.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::domain::Label;
use crate::error::{Error, Result};
use crate::eval::{self, Scored};
use crate::pipeline::argmax;
use crate::pipeline::model::encoder::Encoder;
use crate::pipeline::model::head::{Head, HeadOptions, L2_GRID};
use crate::pipeline::model::manifest::HeldoutScores;
use crate::pipeline::types::LabelScores;
use crate::training::embed_cache::EmbedCache;
use crate::training::Progress;

/// Texts with their embeddings.
type Embedded<'a> = Vec<(&'a str, Vec<f32>)>;

/// Embeddings of `texts`, from the cache or computed on all cores (and cached).
pub fn embeddings(
    encoder: &Encoder,
    cache_dir: &Path,
    texts: &[&str],
    progress: Progress<'_>,
) -> Result<Vec<Vec<f32>>> {
    let mut cache = EmbedCache::open(cache_dir, &encoder.cache_id(), encoder.dim())?;
    let mut missing: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| cache.get(t).is_none())
        .collect();
    missing.sort_unstable();
    missing.dedup();
    let total = missing.len();
    let done = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .max(1);
    for chunk in missing.chunks(64 * threads) {
        let per = chunk.len().div_ceil(threads);
        let results: Vec<Result<Embedded<'_>>> = std::thread::scope(|s| {
            let handles: Vec<_> = chunk
                .chunks(per.max(1))
                .map(|part| {
                    let done = &done;
                    s.spawn(move || {
                        part.iter()
                            .map(|t| {
                                let v = encoder.embed(t)?;
                                done.fetch_add(1, Ordering::Relaxed);
                                Ok((*t, v))
                            })
                            .collect()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("embedding thread"))
                .collect()
        });
        for r in results {
            for (t, v) in r? {
                cache.put(t, v)?;
            }
        }
        progress(done.load(Ordering::Relaxed), total, "embedding");
    }
    texts
        .iter()
        .map(|t| {
            cache
                .get(t)
                .cloned()
                .ok_or_else(|| Error::Model("embedding missing after computing it".into()))
        })
        .collect()
}

/// Train the head on the embeddings (indexed like `labels`): probes on `train_idx` for each L2
/// penalty of [`L2_GRID`] (side by side on the cores), calibrated and compared on `held_idx`
/// (the best head alone wins); the blend weight α with the sparse model is chosen on the
/// held-out split (best macro-F1, then the smaller α), using `held_sparse`, the held-out
/// probabilities of the sparse model trained on `train_idx`; then the final head on everything
/// with the probe's temperatures and α.
pub fn train_head(
    labels: &[Label],
    embeddings: &[Vec<f32>],
    train_idx: &[usize],
    held_idx: &[usize],
    held_sparse: &[LabelScores],
    progress: Progress<'_>,
) -> (Head, HeldoutScores, f32) {
    let data: Vec<(Vec<f32>, Label)> = embeddings
        .iter()
        .cloned()
        .zip(labels.iter().copied())
        .collect();
    let pick = |idx: &[usize]| -> Vec<(Vec<f32>, Label)> {
        idx.iter().map(|&i| data[i].clone()).collect()
    };
    let train = pick(train_idx);
    let held = pick(held_idx);
    let score = |p: &[LabelScores]| -> eval::Metrics {
        let scored: Vec<Scored> = p
            .iter()
            .zip(&held)
            .map(|(p, (_, y))| {
                let predicted = argmax(p);
                Scored {
                    gold: *y,
                    predicted,
                    confidence: p[predicted.index()],
                }
            })
            .collect();
        eval::metrics(&scored)
    };
    // The L2 penalty: the head alone, best held-out macro-F1 (ties: the stronger penalty).
    let steps = L2_GRID.len() + 1;
    progress(0, steps, "head");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let probes: Vec<(Head, Vec<LabelScores>, HeadOptions)> = L2_GRID
        .chunks(L2_GRID.len().div_ceil(threads))
        .flat_map(|part| {
            std::thread::scope(|s| {
                let handles: Vec<_> = part
                    .iter()
                    .map(|&l2| {
                        let (train, held) = (&train, &held);
                        s.spawn(move || {
                            let hopts = HeadOptions {
                                l2,
                                ..HeadOptions::default()
                            };
                            let mut probe = Head::train(train, &hopts);
                            probe.calibrate(held);
                            let probs: Vec<LabelScores> =
                                held.iter().map(|(x, _)| probe.predict(x)).collect();
                            (probe, probs, hopts)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("head thread"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut chosen: Option<(Head, Vec<LabelScores>, f64, HeadOptions)> = None;
    for (probe, probs, hopts) in probes {
        let f1 = score(&probs).macro_f1;
        if chosen.as_ref().is_none_or(|c| f1 >= c.2 - 1e-9) {
            chosen = Some((probe, probs, f1, hopts));
        }
    }
    let (mut probe, head_probs, _, hopts) = chosen.expect("a non-empty grid");
    let mut best: Option<(f32, f64)> = None;
    for step in 0..=10 {
        probe.alpha = step as f32 / 10.0;
        probe.blend_temperature = 1.0;
        let blended: Vec<LabelScores> = held_sparse
            .iter()
            .zip(&head_probs)
            .map(|(s, h)| probe.blend(s, h))
            .collect();
        let f1 = score(&blended).macro_f1;
        if best.is_none_or(|(_, b)| f1 > b + 1e-9) {
            best = Some((probe.alpha, f1));
        }
    }
    probe.alpha = best.map(|b| b.0).unwrap_or(0.0);
    let logits: Vec<(LabelScores, usize)> = held_sparse
        .iter()
        .zip(&head_probs)
        .zip(&held)
        .map(|((s, h), (_, y))| (probe.blend_logits(s, h), y.index()))
        .collect();
    probe.blend_temperature = crate::pipeline::model::head::fit_temperature(&logits);
    let blended: Vec<LabelScores> = held_sparse
        .iter()
        .zip(&head_probs)
        .map(|(s, h)| probe.blend(s, h))
        .collect();
    let m = score(&blended);
    progress(steps - 1, steps, "head");
    let mut head = Head::train(&data, &hopts);
    head.temperature = probe.temperature;
    head.alpha = probe.alpha;
    head.blend_temperature = probe.blend_temperature;
    progress(steps, steps, "head");
    (
        head,
        HeldoutScores {
            count: held.len(),
            accuracy: m.accuracy,
            macro_f1: m.macro_f1,
            ece: m.ece,
            klacht_recall: m.labels["klacht"].recall,
        },
        hopts.l2,
    )
}
