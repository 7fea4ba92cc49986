//! The encoder head: multinomial logistic regression over the sentence embedding, each input
//! standardised (mean and spread from the training data), trained with full-batch gradient
//! descent (deterministic), class-balanced, L2-regularised, calibrated by temperature.
//!
//! It is combined with the sparse model as a weighted geometric mean,
//! `p ∝ p_sparse^(1−α) · p_head^α`, calibrated once more by `blend_temperature`; `α` and that
//! temperature are fitted on the corpus's held-out split by `herken train`.
//!
//! File format (`models/encoder-head.bin`, little-endian):
//! ```text
//! magic "HRKNHD03" · dim u32 · temperature f32 · alpha f32 · blend_temperature f32 ·
//! bias 5 × f32 · mean dim × f32 · inverse spread dim × f32 · weights dim × 5 × f32
//! ```

use std::path::Path;

use crate::domain::Label;
use crate::error::{Error, Result};
pub use crate::pipeline::model::sparse::fit_temperature;
use crate::pipeline::model::sparse::softmax;
use crate::pipeline::types::LabelScores;

const MAGIC: &[u8; 8] = b"HRKNHD03";
const L: usize = Label::COUNT;

/// A trained head.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    dim: usize,
    /// Calibration temperature of the head alone.
    pub temperature: f32,
    /// Weight of the head in the combination with the sparse model (0..1).
    pub alpha: f32,
    /// Calibration temperature of the combination.
    pub blend_temperature: f32,
    bias: [f32; L],
    mean: Vec<f32>,
    inv_sd: Vec<f32>,
    weights: Vec<f32>,
}

/// Head training settings.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Gradient steps over the whole set.
    pub steps: usize,
    /// Step size.
    pub learning_rate: f32,
    /// L2 penalty.
    pub l2: f32,
}

impl Default for HeadOptions {
    fn default() -> Self {
        HeadOptions {
            // Converged: 5000 steps give the same held-out scores.
            steps: 2000,
            learning_rate: 0.5,
            l2: 3e-2,
        }
    }
}

/// The L2 penalties `herken train` tries for the head; the best on the held-out split wins.
pub const L2_GRID: [f32; 6] = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1];

impl Head {
    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Uncalibrated logits.
    pub fn logits(&self, x: &[f32]) -> LabelScores {
        let mut out = self.bias;
        for (j, &raw) in x.iter().enumerate().take(self.dim) {
            let v = (raw - self.mean[j]) * self.inv_sd[j];
            let row = &self.weights[j * L..j * L + L];
            for k in 0..L {
                out[k] += row[k] * v;
            }
        }
        out
    }

    /// Calibrated probabilities.
    pub fn predict(&self, x: &[f32]) -> LabelScores {
        softmax(&self.logits(x), self.temperature)
    }

    /// Train on `(x, label)` pairs, all of one dimension.
    pub fn train(data: &[(Vec<f32>, Label)], opts: &HeadOptions) -> Head {
        let dim = data.first().map(|(x, _)| x.len()).unwrap_or(0);
        let n = data.len().max(1) as f32;
        let mut counts = [0usize; L];
        for (_, y) in data {
            counts[y.index()] += 1;
        }
        let cw: [f32; L] = std::array::from_fn(|k| {
            if counts[k] > 0 {
                n / (L as f32 * counts[k] as f32)
            } else {
                0.0
            }
        });
        let mut mean = vec![0f32; dim];
        for (x, _) in data {
            for (m, v) in mean.iter_mut().zip(x) {
                *m += v / n;
            }
        }
        let mut var = vec![0f32; dim];
        for (x, _) in data {
            for ((s, v), m) in var.iter_mut().zip(x).zip(&mean) {
                *s += (v - m) * (v - m) / n;
            }
        }
        let inv_sd: Vec<f32> = var.iter().map(|v| 1.0 / (v.sqrt() + 1e-6)).collect();
        let standard: Vec<Vec<f32>> = data
            .iter()
            .map(|(x, _)| {
                x.iter()
                    .enumerate()
                    .map(|(j, v)| (v - mean[j]) * inv_sd[j])
                    .collect()
            })
            .collect();
        let mut head = Head {
            dim,
            temperature: 1.0,
            alpha: 0.0,
            blend_temperature: 1.0,
            bias: [0.0; L],
            mean: vec![0.0; dim],
            inv_sd: vec![1.0; dim],
            weights: vec![0.0; dim * L],
        };
        let mut gw = vec![0f32; dim * L];
        for _ in 0..opts.steps {
            gw.iter_mut().for_each(|g| *g = 0.0);
            let mut gb = [0f32; L];
            for (x, (_, y)) in standard.iter().zip(data) {
                let p = softmax(&head.logits(x), 1.0);
                for k in 0..L {
                    let g = cw[y.index()] * (p[k] - if k == y.index() { 1.0 } else { 0.0 }) / n;
                    gb[k] += g;
                    for (j, &v) in x.iter().enumerate() {
                        gw[j * L + k] += g * v;
                    }
                }
            }
            for (w, g) in head.weights.iter_mut().zip(&gw) {
                *w -= opts.learning_rate * (g + opts.l2 * *w);
            }
            for (b, g) in head.bias.iter_mut().zip(gb) {
                *b -= opts.learning_rate * g;
            }
        }
        head.mean = mean;
        head.inv_sd = inv_sd;
        head
    }

    /// Fit the temperature on held-out data.
    pub fn calibrate(&mut self, heldout: &[(Vec<f32>, Label)]) {
        let logits: Vec<(LabelScores, usize)> = heldout
            .iter()
            .map(|(x, y)| (self.logits(x), y.index()))
            .collect();
        self.temperature = fit_temperature(&logits);
    }

    /// The combination's logits (before `blend_temperature`) of sparse and head probabilities.
    pub fn blend_logits(&self, sparse: &LabelScores, head: &LabelScores) -> LabelScores {
        std::array::from_fn(|k| {
            (1.0 - self.alpha) * sparse[k].max(1e-7).ln() + self.alpha * head[k].max(1e-7).ln()
        })
    }

    /// The combination's calibrated probabilities.
    pub fn blend(&self, sparse: &LabelScores, head: &LabelScores) -> LabelScores {
        softmax(&self.blend_logits(sparse, head), self.blend_temperature)
    }
}

impl Head {
    /// Write the head file.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut buf = Vec::with_capacity(20 + 4 * (L + self.weights.len()));
        buf.extend_from_slice(MAGIC);
        buf.extend_from_slice(&(self.dim as u32).to_le_bytes());
        buf.extend_from_slice(&self.temperature.to_le_bytes());
        buf.extend_from_slice(&self.alpha.to_le_bytes());
        buf.extend_from_slice(&self.blend_temperature.to_le_bytes());
        for b in self.bias {
            buf.extend_from_slice(&b.to_le_bytes());
        }
        for w in self.mean.iter().chain(&self.inv_sd).chain(&self.weights) {
            buf.extend_from_slice(&w.to_le_bytes());
        }
        std::fs::write(path, buf).map_err(|e| Error::io(path, e))
    }

    /// Read a head file.
    pub fn load(path: &Path) -> Result<Head> {
        let b = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |what: &str| Error::Model(format!("{}: {what}", path.display()));
        if b.len() < 24 + 4 * L || &b[..8] != MAGIC {
            return Err(bad("not a herken encoder head (bad magic or too short)"));
        }
        let f = |o: usize| f32::from_le_bytes(b[o..o + 4].try_into().expect("4 bytes"));
        let dim = u32::from_le_bytes(b[8..12].try_into().expect("4 bytes")) as usize;
        let header = 24 + 4 * L;
        let want = header + 4 * (2 * dim + dim * L);
        if b.len() != want {
            return Err(bad(&format!("expected {want} bytes for dimension {dim}")));
        }
        let vec_at =
            |start: usize, len: usize| -> Vec<f32> { (0..len).map(|i| f(start + 4 * i)).collect() };
        Ok(Head {
            dim,
            temperature: f(12),
            alpha: f(16),
            blend_temperature: f(20),
            bias: std::array::from_fn(|k| f(24 + 4 * k)),
            mean: vec_at(header, dim),
            inv_sd: vec_at(header + 4 * dim, dim),
            weights: vec_at(header + 8 * dim, dim * L),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy() -> Vec<(Vec<f32>, Label)> {
        (0..40)
            .flat_map(|i| {
                Label::ALL.map(|l| {
                    let mut x = vec![0.1 * ((i % 3) as f32); 8];
                    x[l.index()] = 1.0;
                    (x, l)
                })
            })
            .collect()
    }

    #[test]
    fn learns_a_separable_problem_and_round_trips() {
        let head = Head::train(&toy(), &HeadOptions::default());
        for (x, y) in toy().iter().take(5) {
            let p = head.predict(x);
            let best = (0..L).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
            assert_eq!(best, y.index());
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.bin");
        head.save(&path).unwrap();
        assert_eq!(Head::load(&path).unwrap(), head);
        std::fs::write(&path, b"junk").unwrap();
        assert!(Head::load(&path).unwrap_err().to_string().contains("magic"));
    }

    #[test]
    fn deterministic() {
        assert_eq!(
            Head::train(&toy(), &HeadOptions::default()),
            Head::train(&toy(), &HeadOptions::default())
        );
    }
}
