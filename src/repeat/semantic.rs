//! The semantic sketch of a message: 256 sign bits of a fixed random projection of the
//! encoder's mean hidden state after layer [`SKETCH_LAYER`] (SimHash). The Hamming distance
//! of two sketches estimates the angle between the two vectors, so messages that say the same
//! thing in other words lie close, whatever their wording.
//!
//! What it can and cannot reveal (see also `super`'s privacy notes):
//! - It keeps 256 bits of a 384-dimensional vector: the text cannot be read back from it, nor
//!   any word of it.
//! - It does reveal *similarity*: whoever holds the sketches, the encoder and the projection
//!   seed can test a guessed text ("is there a message like this one?"). The history is
//!   therefore protected like the rest of the store, and sketches are kept no longer than
//!   the repeat history's retention.
//! - Its `source` names the encoder and layer that made it. The layer is below every layer
//!   fine-tuning may change, so retraining the classifier keeps sketches comparable; another
//!   base encoder makes them incomparable, and then the sketch is simply not used.
//!
//! - Mean hidden states of one encoder all point roughly the same way, so their cosines
//!   bunch near 1. The sketch is therefore taken of the vector minus a fixed centre: the
//!   mean over a sample of the corpus for that encoder and layer (`data/sketch_center.json`,
//!   written by `herken sequences center`). The centre is part of the source, so centred and
//!   uncentred sketches never compare; it reveals nothing of any message.
//!
//! [`SKETCH_LAYER`]: crate::pipeline::model::encoder::SKETCH_LAYER

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// Number of bits.
pub const BITS: usize = 256;
/// Seed of the projection: fixed, so sketches from every build compare.
const SEED: u64 = 0x4845_524b_454e_5348; // "HERKENSH"

/// A message's semantic sketch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SemanticSketch {
    /// What made it (encoder and layer).
    pub source: String,
    /// The sign bits, as 64 hex digits.
    pub bits: String,
}

const CENTER: &str = include_str!("../../data/sketch_center.json");

/// The centre of one sketch source's vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Center {
    /// The sketch source (encoder and layer) it belongs to.
    pub source: String,
    /// How it was made.
    pub made_from: String,
    /// The mean vector.
    pub mean: Vec<f32>,
}

impl Center {
    /// The built-in centre, if any (`data/sketch_center.json`; `null` there means none).
    pub fn builtin() -> Option<&'static Center> {
        Center::builtin_tagged().map(|(c, _)| c)
    }

    /// The built-in centre with the source name of the sketches centred on it, made once.
    fn builtin_tagged() -> Option<&'static (Center, String)> {
        static C: OnceLock<Option<(Center, String)>> = OnceLock::new();
        C.get_or_init(|| {
            serde_json::from_str::<Option<Center>>(CENTER)
                .expect("data/sketch_center.json is valid (tested)")
                .map(|c| {
                    let source = format!("{}/c{}", c.source, c.tag());
                    (c, source)
                })
        })
        .as_ref()
    }

    /// A short tag of the centre, for the source name of centred sketches.
    fn tag(&self) -> String {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for x in &self.mean {
            h.update(x.to_le_bytes());
        }
        h.finalize()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

fn projection(dim: usize) -> &'static Vec<f32> {
    static P: OnceLock<(usize, Vec<f32>)> = OnceLock::new();
    let (d, p) = P.get_or_init(|| {
        // Gaussian entries (Box–Muller over SplitMix64), BITS rows of `dim`.
        let mut state = SEED;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut v = Vec::with_capacity(BITS * dim);
        while v.len() < BITS * dim {
            let (u1, u2) = (next().max(1e-300), next());
            let r = (-2.0 * u1.ln()).sqrt();
            v.push((r * (2.0 * std::f64::consts::PI * u2).cos()) as f32);
            v.push((r * (2.0 * std::f64::consts::PI * u2).sin()) as f32);
        }
        v.truncate(BITS * dim);
        (dim, v)
    });
    assert_eq!(*d, dim, "one encoder dimension per process");
    p
}

impl SemanticSketch {
    /// The sketch of `vector` (the encoder's sketch source) made by `source`: centred on the
    /// built-in centre when it belongs to `source`.
    pub fn of(source: &str, vector: &[f32]) -> SemanticSketch {
        match Center::builtin_tagged() {
            Some((c, centred_source)) if c.source == source && c.mean.len() == vector.len() => {
                let centred: Vec<f32> = vector.iter().zip(&c.mean).map(|(x, m)| x - m).collect();
                SemanticSketch::raw(centred_source, &centred)
            }
            _ => SemanticSketch::raw(source, vector),
        }
    }

    /// The sketch of `vector` as it is.
    pub fn raw(source: &str, vector: &[f32]) -> SemanticSketch {
        let p = projection(vector.len());
        let mut words = [0u64; BITS / 64];
        for (b, row) in p.chunks_exact(vector.len()).enumerate() {
            let dot: f32 = row.iter().zip(vector).map(|(a, x)| a * x).sum();
            if dot >= 0.0 {
                words[b / 64] |= 1 << (b % 64);
            }
        }
        SemanticSketch {
            source: source.to_string(),
            bits: words.iter().map(|w| format!("{w:016x}")).collect(),
        }
    }

    fn words(&self) -> Option<[u64; BITS / 64]> {
        let mut out = [0u64; BITS / 64];
        if self.bits.len() != BITS / 4 {
            return None;
        }
        for (i, w) in out.iter_mut().enumerate() {
            *w = u64::from_str_radix(&self.bits[i * 16..i * 16 + 16], 16).ok()?;
        }
        Some(out)
    }

    /// The estimated cosine of the two vectors, or `None` when they come from different
    /// sources (or a sketch is damaged).
    pub fn cosine(&self, other: &SemanticSketch) -> Option<f32> {
        if self.source != other.source {
            return None;
        }
        let (a, b) = (self.words()?, other.words()?);
        let h: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        Some((std::f32::consts::PI * h as f32 / BITS as f32).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: Vec<f32>) -> Vec<f32> {
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    #[test]
    fn hamming_distance_estimates_the_cosine() {
        let a = unit((0..384).map(|i| ((i * 7 % 13) as f32) - 6.0).collect());
        let b = unit(
            a.iter()
                .enumerate()
                .map(|(i, x)| x + 0.05 * ((i % 5) as f32 - 2.0))
                .collect(),
        );
        let c = unit((0..384).map(|i| ((i * 11 % 17) as f32) - 8.0).collect());
        let true_ab: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let true_ac: f32 = a.iter().zip(&c).map(|(x, y)| x * y).sum();
        let (sa, sb, sc) = (
            SemanticSketch::raw("e@x/layer8", &a),
            SemanticSketch::raw("e@x/layer8", &b),
            SemanticSketch::raw("e@x/layer8", &c),
        );
        assert_eq!(sa.cosine(&sa), Some(1.0));
        assert!((sa.cosine(&sb).unwrap() - true_ab).abs() < 0.15);
        assert!((sa.cosine(&sc).unwrap() - true_ac).abs() < 0.2);
        assert_eq!(sa.bits.len(), 64);
    }

    #[test]
    fn sketches_of_other_sources_do_not_compare() {
        let a = SemanticSketch::raw("e@x/layer8", &[1.0; 384]);
        let b = SemanticSketch::raw("e@y/layer8", &[1.0; 384]);
        assert_eq!(a.cosine(&b), None);
    }

    #[test]
    fn the_builtin_centre_parses_and_centred_sketches_name_it() {
        if let Some(c) = Center::builtin() {
            assert!(!c.mean.is_empty());
            let s = SemanticSketch::of(&c.source, &c.mean.clone());
            assert!(
                s.source.starts_with(&format!("{}/c", c.source)),
                "{}",
                s.source
            );
        }
    }
}
