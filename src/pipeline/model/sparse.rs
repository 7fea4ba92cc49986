//! The sparse model: multinomial logistic regression over hashed features, trained with
//! AdaGrad and L2 regularisation, calibrated with one temperature fitted on held-out data.
//!
//! File format (`models/sparse-lr.bin`, little-endian):
//! ```text
//! magic     8 bytes  "HRKNSLR1"
//! dim_bits  u32      the feature space has 2^dim_bits dimensions
//! temp      f32      calibration temperature: p = softmax(logits / temp)
//! bias      5 × f32  per label, in Label::ALL order
//! weights   2^dim_bits × 5 × f16, row-major by feature
//! ```
//! f16 halves the file (about 2.6 MB at 2^18) and changes no decision measurably.

use std::path::Path;

use crate::domain::Label;
use crate::error::{Error, Result};
use crate::pipeline::model::features::SparseVec;
use crate::pipeline::model::half::{f16_to_f32, f32_to_f16};
use crate::pipeline::types::LabelScores;

const MAGIC: &[u8; 8] = b"HRKNSLR1";
const L: usize = Label::COUNT;

/// A trained sparse model.
#[derive(Debug, Clone)]
pub struct SparseModel {
    /// Feature space is 2^dim_bits.
    pub dim_bits: u32,
    /// Calibration temperature.
    pub temperature: f32,
    bias: [f32; L],
    weights: Vec<f32>,
}

/// One training example: features, the prior offset, the gold label.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Hashed features.
    pub x: SparseVec,
    /// Fixed logit offset (the lexicon prior).
    pub offset: LabelScores,
    /// The gold label.
    pub label: Label,
}

/// Training settings. Defaults are what `herken train` uses.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    /// Feature space is 2^dim_bits.
    pub dim_bits: u32,
    /// Passes over the data.
    pub epochs: usize,
    /// AdaGrad base learning rate.
    pub learning_rate: f32,
    /// L2 penalty per update on touched weights.
    pub l2: f32,
    /// Shuffling seed: the same seed and data give the same model.
    pub seed: u64,
    /// Weigh classes by inverse frequency, so small labels count as much as large ones.
    pub balance_classes: bool,
    /// Strength of the lexicon prior added to the logits (0: none).
    pub prior_strength: f32,
    /// Share of training messages whose channel the model is not shown (0..1). Public texts
    /// (news, petitions, posts) come without one, and so do many messages in use: without this
    /// the missing channel itself would teach the model a genre.
    pub channel_dropout: f32,
    /// How many models, each with its own shuffling order, are trained and averaged into one
    /// (1: a single model). A stochastic gradient's order moves a linear model's weights;
    /// the average of a few is the steadier estimate, at the size and speed of one.
    pub average: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            dim_bits: 18,
            epochs: 12,
            learning_rate: 0.3,
            l2: 1e-5,
            seed: 20261121,
            balance_classes: true,
            prior_strength: 1.0,
            channel_dropout: 0.5,
            // Cross-genre mean (sparse alone, corpus v5): 1 0.918, 4 0.929, 8 0.931.
            average: 8,
        }
    }
}

/// Softmax of `logits / temperature`.
pub fn softmax(logits: &LabelScores, temperature: f32) -> LabelScores {
    let t = temperature.max(1e-3);
    let max = logits.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut p = [0f32; L];
    let mut sum = 0.0;
    for (i, l) in logits.iter().enumerate() {
        p[i] = ((l - max) / t).exp();
        sum += p[i];
    }
    for x in &mut p {
        *x /= sum;
    }
    p
}

/// The temperature that minimises the negative log-likelihood of `(logits, gold)` pairs
/// (grid search from 0.2 to 5 in steps of 0.05; 1 when there is nothing to fit on).
pub fn fit_temperature(logits: &[(LabelScores, usize)]) -> f32 {
    if logits.is_empty() {
        return 1.0;
    }
    let nll = |t: f32| -> f32 {
        logits
            .iter()
            .map(|(l, y)| -(softmax(l, t)[*y].max(1e-9)).ln())
            .sum::<f32>()
    };
    let mut best = (1.0f32, nll(1.0));
    let mut t = 0.2f32;
    while t <= 5.0 {
        let v = nll(t);
        if v < best.1 {
            best = (t, v);
        }
        t += 0.05;
    }
    best.0
}

/// A small deterministic generator (SplitMix64) for shuffling.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub(crate) fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

impl SparseModel {
    /// The weights of feature `idx`, one per label in [`Label::ALL`] order.
    pub fn row(&self, idx: u32) -> [f32; L] {
        let base = idx as usize * L;
        std::array::from_fn(|k| self.weights.get(base + k).copied().unwrap_or(0.0))
    }

    /// Raw (uncalibrated) logits: `offset` (the lexicon prior) + bias + weights · x.
    pub fn logits(&self, x: &SparseVec, offset: &LabelScores) -> LabelScores {
        let mut out: LabelScores = std::array::from_fn(|k| self.bias[k] + offset[k]);
        for (&i, &v) in x.idx.iter().zip(&x.val) {
            let row = &self.weights[i as usize * L..i as usize * L + L];
            for k in 0..L {
                out[k] += row[k] * v;
            }
        }
        out
    }

    /// Calibrated probabilities.
    pub fn predict(&self, x: &SparseVec, offset: &LabelScores) -> LabelScores {
        softmax(&self.logits(x, offset), self.temperature)
    }

    /// Train on examples. Each example's `offset` is added to its logits during training as
    /// at prediction time, so the weights learn what the offset (the lexicon prior) misses.
    /// Temperature is 1 until [`SparseModel::calibrate`].
    /// With `opts.average` > 1, that many models with different shuffling orders (the
    /// first with `opts.seed`) are trained side by side and their weights averaged.
    pub fn train(data: &[Sample], opts: &TrainOptions) -> SparseModel {
        let runs = opts.average.max(1);
        let mut seeds = SplitMix::new(opts.seed ^ 0xa7e2_a9e5);
        let options: Vec<TrainOptions> = (0..runs)
            .map(|r| TrainOptions {
                seed: if r == 0 { opts.seed } else { seeds.next() },
                ..opts.clone()
            })
            .collect();
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let mut fitted: Vec<(Vec<f32>, LabelScores)> = Vec::with_capacity(runs);
        for part in options.chunks(threads) {
            std::thread::scope(|s| {
                let handles: Vec<_> = part
                    .iter()
                    .map(|o| s.spawn(move || Self::train_once(data, o)))
                    .collect();
                fitted.extend(
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("training thread")),
                );
            });
        }
        let n = fitted.len() as f32;
        let mut runs = fitted.into_iter();
        let (mut w, mut b) = runs.next().expect("at least one run");
        for (wr, br) in runs {
            w.iter_mut().zip(wr).for_each(|(x, y)| *x += y);
            b.iter_mut().zip(br).for_each(|(x, y)| *x += y);
        }
        if n > 1.0 {
            w.iter_mut().for_each(|x| *x /= n);
            b.iter_mut().for_each(|x| *x /= n);
        }
        SparseModel {
            dim_bits: opts.dim_bits,
            temperature: 1.0,
            bias: b,
            // Round through f16 now, so the trained model is exactly the one that is saved.
            weights: w.into_iter().map(|x| f16_to_f32(f32_to_f16(x))).collect(),
        }
    }

    /// One model's weights and bias, trained with `opts.seed`'s order.
    fn train_once(data: &[Sample], opts: &TrainOptions) -> (Vec<f32>, LabelScores) {
        let dim = 1usize << opts.dim_bits;
        let mut w = vec![0f32; dim * L];
        let mut g2 = vec![1e-6f32; dim * L];
        let mut b = [0f32; L];
        let mut bg2 = [1e-6f32; L];
        let mut counts = [0usize; L];
        for s in data {
            counts[s.label.index()] += 1;
        }
        let class_weight: [f32; L] = std::array::from_fn(|k| {
            if opts.balance_classes && counts[k] > 0 {
                data.len() as f32 / (L as f32 * counts[k] as f32)
            } else {
                1.0
            }
        });
        let mut order: Vec<usize> = (0..data.len()).collect();
        let mut rng = SplitMix::new(opts.seed);
        for _epoch in 0..opts.epochs {
            rng.shuffle(&mut order);
            for &n in &order {
                let Sample {
                    x,
                    offset,
                    label: y,
                } = &data[n];
                // Forward pass with the current weights.
                let mut logits: LabelScores = std::array::from_fn(|k| b[k] + offset[k]);
                for (&i, &v) in x.idx.iter().zip(&x.val) {
                    let row = &w[i as usize * L..i as usize * L + L];
                    for k in 0..L {
                        logits[k] += row[k] * v;
                    }
                }
                let p = softmax(&logits, 1.0);
                let cw = class_weight[y.index()];
                let grad: [f32; L] =
                    std::array::from_fn(|k| cw * (p[k] - if k == y.index() { 1.0 } else { 0.0 }));
                for k in 0..L {
                    bg2[k] += grad[k] * grad[k];
                    b[k] -= opts.learning_rate * grad[k] / bg2[k].sqrt();
                }
                for (&i, &v) in x.idx.iter().zip(&x.val) {
                    let base = i as usize * L;
                    for k in 0..L {
                        let g = grad[k] * v + opts.l2 * w[base + k];
                        g2[base + k] += g * g;
                        w[base + k] -= opts.learning_rate * g / g2[base + k].sqrt();
                    }
                }
            }
        }
        (w, b)
    }

    /// Fit the temperature that minimises the negative log-likelihood on held-out data.
    pub fn calibrate(&mut self, heldout: &[Sample]) {
        if heldout.is_empty() {
            return;
        }
        let logits: Vec<(LabelScores, usize)> = heldout
            .iter()
            .map(|s| (self.logits(&s.x, &s.offset), s.label.index()))
            .collect();
        self.temperature = fit_temperature(&logits);
    }

    /// Write the model file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut buf = Vec::with_capacity(8 + 4 + 4 + 4 * L + self.weights.len() * 2);
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&self.dim_bits.to_le_bytes());
        buf.extend_from_slice(&self.temperature.to_le_bytes());
        for b in self.bias {
            buf.extend_from_slice(&b.to_le_bytes());
        }
        for w in &self.weights {
            buf.extend_from_slice(&f32_to_f16(*w).to_le_bytes());
        }
        std::fs::write(path, buf).map_err(|e| Error::io(path, e))
    }

    /// Read a model file.
    pub fn load(path: &Path) -> Result<SparseModel> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        SparseModel::from_bytes(&bytes)
            .map_err(|problem| Error::Model(format!("{}: {problem}", path.display())))
    }

    /// Parse the file format.
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<SparseModel, String> {
        let header = 8 + 4 + 4 + 4 * L;
        if bytes.len() < header || &bytes[..8] != MAGIC {
            return Err("not a herken sparse model (bad magic or too short)".into());
        }
        let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let f32_at = |o: usize| f32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes"));
        let dim_bits = u32_at(8);
        if !(8..=24).contains(&dim_bits) {
            return Err(format!("dim_bits {dim_bits} out of range 8..=24"));
        }
        let temperature = f32_at(12);
        let bias: [f32; L] = std::array::from_fn(|k| f32_at(16 + 4 * k));
        let n = (1usize << dim_bits) * L;
        if bytes.len() != header + 2 * n {
            return Err(format!(
                "expected {} bytes for 2^{dim_bits} features, found {}",
                header + 2 * n,
                bytes.len()
            ));
        }
        let weights = bytes[header..]
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect();
        Ok(SparseModel {
            dim_bits,
            temperature,
            bias,
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_round_trip_is_close() {
        for x in [0.0f32, 1.0, -1.0, 0.333, 1e-3, -2.5e-5, 123.456, 6e-8] {
            let y = f16_to_f32(f32_to_f16(x));
            assert!((x - y).abs() <= x.abs() * 1e-3 + 1e-7, "{x} -> {y}");
        }
    }

    const ZERO: LabelScores = [0.0; L];

    fn toy() -> Vec<Sample> {
        (0..50)
            .flat_map(|i| {
                let noise = (i % 7) as u32 + 100;
                Label::ALL.map(|l| Sample {
                    x: SparseVec {
                        idx: vec![l.index() as u32, noise],
                        val: vec![1.0, 0.5],
                    },
                    offset: ZERO,
                    label: l,
                })
            })
            .collect()
    }

    #[test]
    fn learns_a_separable_toy_problem() {
        let m = SparseModel::train(
            &toy(),
            &TrainOptions {
                dim_bits: 8,
                ..Default::default()
            },
        );
        for l in Label::ALL {
            let p = m.predict(
                &SparseVec {
                    idx: vec![l.index() as u32],
                    val: vec![1.0],
                },
                &ZERO,
            );
            let best = (0..L).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, l.index());
        }
    }

    #[test]
    fn averaged_model_is_the_mean_of_its_runs() {
        let one = |seed| TrainOptions {
            dim_bits: 8,
            seed,
            average: 1,
            ..Default::default()
        };
        let avg = TrainOptions {
            average: 3,
            ..one(5)
        };
        let m = SparseModel::train(&toy(), &avg);
        // The runs: the first with the seed itself, then seeds drawn from it.
        let mut seeds = SplitMix::new(5 ^ 0xa7e2_a9e5);
        let runs: Vec<(Vec<f32>, LabelScores)> = [5, seeds.next(), seeds.next()]
            .into_iter()
            .map(|s| SparseModel::train_once(&toy(), &one(s)))
            .collect();
        assert_ne!(runs[0].0, runs[1].0, "different orders, different weights");
        for (i, w) in m.weights.iter().enumerate() {
            let mean = runs.iter().map(|r| r.0[i]).sum::<f32>() / 3.0;
            assert!(
                (w - mean).abs() <= 1e-3 * mean.abs().max(1.0),
                "{i}: {w} vs {mean}"
            );
        }
        for k in 0..L {
            let mean = runs.iter().map(|r| r.1[k]).sum::<f32>() / 3.0;
            assert!((m.bias[k] - mean).abs() < 1e-5);
        }
        // A single run is the model of that seed.
        let single = SparseModel::train(&toy(), &one(5));
        assert_eq!(single.bias, runs[0].1);
        // Still deterministic.
        assert_eq!(SparseModel::train(&toy(), &avg).weights, m.weights);
    }

    #[test]
    fn same_seed_same_model_and_file_round_trip() {
        let opts = TrainOptions {
            dim_bits: 8,
            ..Default::default()
        };
        let a = SparseModel::train(&toy(), &opts);
        let b = SparseModel::train(&toy(), &opts);
        assert_eq!(a.weights, b.weights);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.bin");
        a.save(&path).unwrap();
        let c = SparseModel::load(&path).unwrap();
        assert_eq!(a.weights, c.weights);
        assert_eq!(a.bias, c.bias);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let err = SparseModel::from_bytes(b"nonsense").unwrap_err();
        assert!(err.contains("magic"));
    }

    #[test]
    fn an_offset_the_data_agrees_with_leaves_little_to_learn() {
        // With the offset already pointing at the right label, the weights stay smaller
        // than without it.
        let data = toy();
        let with: Vec<Sample> = data
            .iter()
            .map(|s| {
                let mut offset = ZERO;
                offset[s.label.index()] = 3.0;
                Sample {
                    offset,
                    ..s.clone()
                }
            })
            .collect();
        let opts = TrainOptions {
            dim_bits: 8,
            ..Default::default()
        };
        let a = SparseModel::train(&data, &opts);
        let b = SparseModel::train(&with, &opts);
        let norm = |m: &SparseModel| m.weights.iter().map(|w| w * w).sum::<f32>();
        assert!(norm(&b) < norm(&a));
    }

    #[test]
    fn calibration_softens_an_overconfident_model() {
        let data = toy();
        let mut m = SparseModel::train(
            &data,
            &TrainOptions {
                dim_bits: 8,
                ..Default::default()
            },
        );
        // Held-out data with flipped labels: the best temperature is larger than 1.
        let flipped: Vec<_> = data
            .iter()
            .map(|s| Sample {
                label: Label::from_index((s.label.index() + 1) % L),
                ..s.clone()
            })
            .collect();
        m.calibrate(&flipped);
        assert!(m.temperature > 1.0);
    }
}
