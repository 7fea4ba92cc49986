//! The issue signature of a message: where (locations), what (topics) and how it was worded
//! (a MinHash sketch of its content words). Two signatures are the same issue when they share
//! a place and a topic or much wording, or when their wording is very alike.
//!
//! What is stored is only this signature: location keys without house numbers, topic names
//! and 32 hash minima — never the text.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::repeat::address;

const TOPICS: &str = include_str!("../../data/topics.toml");
const MINHASH_K: usize = 32;

/// Where, what and how a message speaks of its issue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Signature {
    /// Location keys (`merelstraat`, `pc:1234ab`, `brink`).
    pub locations: Vec<String>,
    /// Topics from `data/topics.toml` (`verlichting`, `afval`, …).
    pub topics: Vec<String>,
    /// MinHash sketch over content words (32 minima; empty for a text without content words).
    pub sketch: Vec<u32>,
}

fn topics() -> &'static Vec<(String, Vec<String>)> {
    static T: OnceLock<Vec<(String, Vec<String>)>> = OnceLock::new();
    T.get_or_init(|| {
        let raw: BTreeMap<String, Vec<String>> =
            toml::from_str(TOPICS).expect("data/topics.toml is valid (tested)");
        raw.into_iter().collect()
    })
}

/// The names of the topics in `data/topics.toml`.
pub fn topic_names() -> Vec<String> {
    topics().iter().map(|(n, _)| n.clone()).collect()
}

const STOP: &[&str] = &[
    "de", "het", "een", "en", "van", "ik", "je", "u", "uw", "mijn", "is", "dat", "die", "op",
    "aan", "met", "voor", "bij", "er", "niet", "nog", "al", "ook", "maar", "naar", "om", "te",
    "in", "zijn", "wordt", "was", "heb", "heeft", "hebben", "deze", "dit", "wat", "wel", "dan",
    "the", "and", "is", "it", "of", "to", "a", "my", "at", "on", "for", "this", "that", "there",
    "graag", "kunt", "kan", "wilt", "please", "could", "steeds", "nu", "weer", "meer", "geen",
];

/// Content words of the lower-cased words: no stop words, at least 3 letters, cut to 6 characters as a
/// crude stem ("tegels" and "tegel" meet).
fn content_words(lower: &[String]) -> Vec<String> {
    lower
        .iter()
        .filter(|w| {
            w.chars().count() >= 3
                && !STOP.contains(&w.as_str())
                && !w.chars().all(|c| c.is_ascii_digit())
        })
        .map(|w| w.chars().take(6).collect())
        .collect()
}

fn hash(seed: u32, word: &str) -> u32 {
    // FNV-1a 32 with a seed: stable across builds and platforms.
    let mut h: u32 = 0x811c_9dc5 ^ seed.wrapping_mul(0x9e37_79b9);
    for b in word.as_bytes() {
        h ^= *b as u32;
        h = h.wrapping_mul(0x0100_0193);
    }
    h ^ (h >> 15)
}

impl Signature {
    /// The signature of `text` (the normalised evidence of a message).
    pub fn of(text: &str) -> Signature {
        let locations = address::extract(text).into_iter().map(|l| l.key).collect();
        let lower: Vec<String> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect();
        let topics = topics()
            .iter()
            .filter(|(_, words)| {
                words.iter().any(|w| {
                    lower.iter().any(|t| {
                        if w.chars().count() <= 3 {
                            t == w
                        } else {
                            t.contains(w.as_str())
                        }
                    })
                })
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut words = content_words(&lower);
        words.sort();
        words.dedup();
        let sketch = if words.is_empty() {
            Vec::new()
        } else {
            (0..MINHASH_K as u32)
                .map(|seed| {
                    words
                        .iter()
                        .map(|w| hash(seed, w))
                        .min()
                        .expect("non-empty")
                })
                .collect()
        };
        Signature {
            locations,
            topics,
            sketch,
        }
    }

    /// Estimated Jaccard similarity of the two texts' content words.
    pub fn wording(&self, other: &Signature) -> f32 {
        if self.sketch.len() != MINHASH_K || other.sketch.len() != MINHASH_K {
            return 0.0;
        }
        let same = self
            .sketch
            .iter()
            .zip(&other.sketch)
            .filter(|(a, b)| a == b)
            .count();
        same as f32 / MINHASH_K as f32
    }

    /// Whether the two share a location.
    pub fn same_place(&self, other: &Signature) -> bool {
        self.locations.iter().any(|l| other.locations.contains(l))
    }

    /// Whether the two share a topic.
    pub fn same_topic(&self, other: &Signature) -> bool {
        self.topics.iter().any(|t| other.topics.contains(t))
    }

    /// Whether the two messages are about the same issue.
    pub fn same_issue(&self, other: &Signature) -> bool {
        let wording = self.wording(other);
        if self.same_place(other) {
            self.same_topic(other) || wording >= 0.2
        } else if self.locations.is_empty() || other.locations.is_empty() {
            // One of them names no place: the wording must carry it.
            self.same_topic(other) && wording >= 0.3 || wording >= 0.5
        } else {
            // Different places: only a near-identical text is the same issue.
            wording >= 0.7
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_file_parses() {
        assert!(topics().len() >= 10);
    }

    #[test]
    fn same_light_in_other_words_is_the_same_issue() {
        let a = Signature::of(
            "De lantaarnpaal voor Merelstraat 22 brandt niet meer, het is daar donker.",
        );
        let b =
            Signature::of("Nog steeds geen licht bij Merelstraat 22, sindsdien niets veranderd.");
        assert!(a.same_issue(&b), "{a:?} {b:?}");
    }

    #[test]
    fn another_object_at_the_same_place_is_another_issue() {
        let a = Signature::of("Voor de apotheek aan de Brink ligt een stoeptegel los.");
        let b = Signature::of("Bij de Brink groeit een struik ver over het fietspad.");
        assert!(a.same_place(&b));
        assert!(!a.same_issue(&b));
    }

    #[test]
    fn another_place_is_another_issue() {
        let a = Signature::of("Bij de ingang van het Julianapark ligt een stoeptegel scheef.");
        let b = Signature::of("Op de Dorpsstraat hangt een verkeersbord los aan de paal.");
        assert!(!a.same_issue(&b));
    }

    #[test]
    fn english_crossing_with_other_words_for_the_bin() {
        let a = Signature::of(
            "The underground waste container at the corner of Spoorlaan and Tulpstraat is full.",
        );
        let b = Signature::of("The bin at Spoorlaan/Tulpstraat is still overflowing.");
        assert!(a.same_issue(&b));
    }

    #[test]
    fn identical_texts_have_wording_one() {
        let a = Signature::of("Er ligt grofvuil naast de container.");
        assert_eq!(a.wording(&a.clone()), 1.0);
        assert_eq!(Signature::of("").wording(&a), 0.0);
    }

    #[test]
    fn signature_keeps_no_house_numbers_or_text() {
        let s = Signature::of("Mijn naam is Jan, Merelstraat 22, tel 0612345678");
        assert_eq!(s.locations, ["merelstraat"]);
        assert!(s.topics.is_empty());
        assert_eq!(s.sketch.len(), 32);
    }
}
