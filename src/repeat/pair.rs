//! Is an earlier message about the same issue as a new one? A small logistic model over the
//! signals two signatures share or contradict — place, object, problem, wording, meaning,
//! case, time — fitted on the project's own sequences (`herken sequences fit`, see
//! `data/sequences/`). Its weights are `data/repeat_model.json`, built into the binary.
//!
//! Each signal's contribution (weight × value) is kept, so a decision can say which signals
//! decided it, in the message's language.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::domain::Lang;
use crate::error::{Error, Result};
use crate::repeat::signature::Signature;

const BUILTIN: &str = include_str!("../../data/repeat_model.json");

/// The signals of a pair, by name, in model order.
pub const SIGNALS: &[&str] = &[
    "place",
    "place_kind",
    "place_conflict",
    "no_place",
    "topic",
    "topic_conflict",
    "problem",
    "problem_conflict",
    "new_event",
    "wording",
    "meaning",
    "no_meaning",
    "case",
    "process",
    "says_repeat",
    "gap",
];

/// Signals that can only speak for the same issue (their weight is kept ≥ 0 in fitting) and
/// signals that can only speak against it (kept ≤ 0): a contradiction is never evidence of
/// sameness, whatever a small corpus happens to show. The rest are free.
const FOR: &[&str] = &[
    "place",
    "place_kind",
    "topic",
    "problem",
    "wording",
    "meaning",
    "case",
    "process",
    "says_repeat",
];
const AGAINST: &[&str] = &[
    "place_conflict",
    "no_place",
    "topic_conflict",
    "problem_conflict",
    "new_event",
];
/// Signals kept at 0: the time between two messages within the window is no evidence either
/// way (a request is chased after its term, weeks later; a written corpus would teach the
/// model its authors' habits of timing), and the absence of a sketch is no evidence.
const UNWEIGHED: &[&str] = &["gap", "no_meaning"];

// Positions in SIGNALS of the signals the hard rules of `PairModel::score` read (tested).
const PLACE_CONFLICT: usize = 2;
const TOPIC_CONFLICT: usize = 5;
const PROBLEM_CONFLICT: usize = 7;
const NEW_EVENT: usize = 8;
const CASE: usize = 12;
const SAYS_REPEAT: usize = 14;
const WORDING: usize = 9;
// place, place_kind, topic, problem, process, says_repeat.
const ANCHORS: [usize; 6] = [0, 1, 4, 6, 13, 14];

/// The signal values of one (earlier, new) pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// Values in [`SIGNALS`] order.
    pub values: Vec<f32>,
}

impl Pair {
    /// The signals of `earlier` against `new`, `gap_days` apart; `says_repeat` when the new
    /// message says it was reported before.
    pub fn of(earlier: &Signature, new: &Signature, gap_days: f32, says_repeat: bool) -> Pair {
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        let place = earlier.same_named_place(new);
        let meaning = earlier.meaning(new);
        let values = vec![
            b(place),
            b(!place && earlier.same_place_kind(new)),
            b(earlier.place_conflict(new)),
            b(earlier.locations.is_empty() || new.locations.is_empty()),
            b(earlier.same_topic(new)),
            b(earlier.topic_conflict(new)),
            b(earlier.same_problem(new)),
            b(earlier.problem_conflict(new)),
            b(new.new_event_since(earlier)),
            earlier.wording(new),
            meaning.unwrap_or(0.0),
            b(meaning.is_none()),
            b(earlier.same_case(new)),
            b(earlier.same_process(new)),
            b(says_repeat),
            (1.0 + gap_days.max(0.0)).ln(),
        ];
        debug_assert_eq!(values.len(), SIGNALS.len());
        Pair { values }
    }
}

/// The fitted model: one weight per signal, a bias, and the decision thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairModel {
    /// Weight per signal name.
    pub weights: std::collections::BTreeMap<String, f32>,
    /// The bias.
    pub bias: f32,
    /// Probability from which a pair is the same issue.
    pub threshold: f32,
    /// Probability from which a pair within `duplicate_minutes` is the same submission again.
    pub duplicate_threshold: f32,
    /// How it was fitted (file, sizes, scores), for the record.
    #[serde(default)]
    pub fitted_on: String,
    /// The weights in signal order, made once from `weights` on first use.
    #[serde(skip)]
    vector: OnceLock<Vec<f32>>,
}

/// A scored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Probability that the two are the same issue.
    pub probability: f32,
    /// Contribution of each signal (weight × value), in [`SIGNALS`] order.
    pub contributions: Vec<f32>,
}

impl PairModel {
    /// The built-in model (`data/repeat_model.json`).
    pub fn builtin() -> &'static PairModel {
        static M: OnceLock<PairModel> = OnceLock::new();
        M.get_or_init(|| {
            PairModel::parse(BUILTIN).expect("data/repeat_model.json is valid (tested)")
        })
    }

    /// Parse and check a model file's text.
    pub fn parse(text: &str) -> Result<PairModel> {
        let m: PairModel =
            serde_json::from_str(text).map_err(|e| Error::Config(format!("repeat model: {e}")))?;
        for name in m.weights.keys() {
            if !SIGNALS.contains(&name.as_str()) {
                return Err(Error::Config(format!(
                    "repeat model: unknown signal {name:?} (known: {})",
                    SIGNALS.join(", ")
                )));
            }
        }
        for (what, t) in [
            ("threshold", m.threshold),
            ("duplicate_threshold", m.duplicate_threshold),
        ] {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::Config(format!(
                    "repeat model: {what} {t} is not a probability"
                )));
            }
        }
        Ok(m)
    }

    /// Weights in [`SIGNALS`] order (a missing signal weighs 0).
    pub fn weight_vector(&self) -> &[f32] {
        self.vector.get_or_init(|| {
            SIGNALS
                .iter()
                .map(|s| self.weights.get(*s).copied().unwrap_or(0.0))
                .collect()
        })
    }

    /// The model's probability for a pair, without the hard rules.
    pub fn logistic(&self, pair: &Pair) -> f32 {
        let z = self.bias
            + self
                .weight_vector()
                .iter()
                .zip(&pair.values)
                .map(|(w, x)| w * x)
                .sum::<f32>();
        1.0 / (1.0 + (-z).exp())
    }

    /// Score a pair. The hard rules of [`contradicted`] come first: another street *and*
    /// another object or problem is another issue, whatever the model says; so is a new event
    /// at the same object (the lamp that was out, now hit by a car) that does not say it was
    /// reported before, and a pair with nothing concrete in common.
    pub fn score(&self, pair: &Pair) -> Scored {
        let contributions: Vec<f32> = self
            .weight_vector()
            .iter()
            .zip(&pair.values)
            .map(|(w, x)| w * x)
            .collect();
        let z = self.bias + contributions.iter().sum::<f32>();
        Scored {
            probability: if contradicted(pair) {
                0.0
            } else {
                1.0 / (1.0 + (-z).exp())
            },
            contributions,
        }
    }
}

/// Whether the hard rules say the pair is two issues, whatever the weights: another street
/// and another object or problem; or something that happened to the object since (a car hit
/// it) and no word of an earlier report. A shared case reference overrules both.
pub fn contradicted(pair: &Pair) -> bool {
    let on = |i: usize| pair.values[i] > 0.0;
    // Nothing concrete in common — no place or kind of place, object, problem, request or
    // word of an earlier report, and little of the wording — is no evidence, whatever the
    // meaning sketch says: a meaning is shared by every report of its kind.
    let nothing_shared = ANCHORS.iter().all(|i| !on(*i)) && pair.values[WORDING] < 0.3;
    !on(CASE)
        && (on(PLACE_CONFLICT) && (on(PROBLEM_CONFLICT) || on(TOPIC_CONFLICT))
            || on(NEW_EVENT) && !on(SAYS_REPEAT)
            || nothing_shared)
}

/// Whether fitting keeps `name`'s weight ≥ 0 (`Some(true)`) or ≤ 0 (`Some(false)`); the
/// others are kept at 0.
pub fn sign_of(name: &str) -> Option<bool> {
    if FOR.contains(&name) {
        Some(true)
    } else if AGAINST.contains(&name) {
        Some(false)
    } else {
        None
    }
}

/// The signals that decided a same-issue pair, strongest first, as words in `lang`
/// ("dezelfde plek, hetzelfde probleem").
pub fn deciding_signals(s: &Scored, lang: Lang) -> String {
    let mut named: Vec<(f32, &str)> = SIGNALS
        .iter()
        .zip(&s.contributions)
        .filter(|(_, c)| **c >= 0.5)
        .filter_map(|(name, c)| signal_words(name, lang).map(|w| (*c, w)))
        .collect();
    named.sort_by(|a, b| b.0.total_cmp(&a.0));
    named
        .iter()
        .take(3)
        .map(|(_, w)| *w)
        .collect::<Vec<_>>()
        .join(", ")
}

fn signal_words(name: &str, lang: Lang) -> Option<&'static str> {
    Some(match (name, lang) {
        ("place", Lang::Nl) => "dezelfde plek",
        ("place", Lang::En) => "the same place",
        ("place_kind", Lang::Nl) => "hetzelfde soort plek",
        ("place_kind", Lang::En) => "the same kind of place",
        ("topic", Lang::Nl) => "hetzelfde onderwerp",
        ("topic", Lang::En) => "the same subject",
        ("problem", Lang::Nl) => "hetzelfde probleem",
        ("problem", Lang::En) => "the same problem",
        ("wording", Lang::Nl) => "grotendeels dezelfde woorden",
        ("wording", Lang::En) => "much the same words",
        ("meaning", Lang::Nl) => "dezelfde strekking",
        ("meaning", Lang::En) => "the same meaning",
        ("case", Lang::Nl) => "hetzelfde kenmerk",
        ("case", Lang::En) => "the same reference number",
        ("process", Lang::Nl) => "dezelfde aanvraag",
        ("process", Lang::En) => "the same request",
        ("says_repeat", Lang::Nl) => "de melder zegt zelf dat het eerder gemeld is",
        ("says_repeat", Lang::En) => "the sender says it was reported before",
        _ => return None,
    })
}

/// One training example: the pairs of a new message with its earlier candidates, and whether
/// at least one of them is the same issue (a "bag": which one is not labelled).
#[derive(Debug, Clone)]
pub struct Bag {
    /// The candidate pairs.
    pub pairs: Vec<Pair>,
    /// Whether one of them is the same issue.
    pub same: bool,
}

/// Fit the weights on bags (multiple-instance logistic regression: a bag's score is its best
/// pair's, so only the best pair learns from each bag), starting from `start`. L2 penalty
/// `l2`, `epochs` full-batch gradient steps.
///
/// Pairs the hard rules decide ([`contradicted`]) teach the weights nothing and are left out.
/// Both kinds of bag weigh the same in total: the corpus's share of repeats is no evidence,
/// so the bias does not learn it (a pair that shares nothing must not be the same issue
/// because most bags were).
pub fn fit(bags: &[Bag], start: &PairModel, l2: f32, epochs: usize) -> PairModel {
    let n = SIGNALS.len();
    let mut w = start.weight_vector().to_vec();
    let mut bias = start.bias;
    let lr = 0.5;
    let kept: Vec<Bag> = bags
        .iter()
        .map(|b| Bag {
            pairs: b
                .pairs
                .iter()
                .filter(|p| !contradicted(p))
                .cloned()
                .collect(),
            same: b.same,
        })
        .filter(|b| !b.pairs.is_empty())
        .collect();
    let usable: Vec<&Bag> = kept.iter().collect();
    if usable.is_empty() {
        return start.clone();
    }
    let positives = usable.iter().filter(|b| b.same).count() as f32;
    let negatives = usable.len() as f32 - positives;
    // Weight of a bag of each kind, so that each kind weighs half.
    let weight = |same: bool| {
        let count = if same { positives } else { negatives };
        if count > 0.0 {
            usable.len() as f32 / (2.0 * count)
        } else {
            1.0
        }
    };
    let z = |w: &[f32], bias: f32, p: &Pair| {
        bias + w.iter().zip(&p.values).map(|(a, x)| a * x).sum::<f32>()
    };
    for _ in 0..epochs {
        let mut gw = vec![0.0f32; n];
        let mut gb = 0.0f32;
        for bag in &usable {
            // The best pair (the first of equals).
            let best = bag
                .pairs
                .iter()
                .reduce(|a, b| {
                    if z(&w, bias, b) > z(&w, bias, a) {
                        b
                    } else {
                        a
                    }
                })
                .expect("non-empty");
            let p = 1.0 / (1.0 + (-z(&w, bias, best)).exp());
            let err = (p - if bag.same { 1.0 } else { 0.0 }) * weight(bag.same);
            for (g, x) in gw.iter_mut().zip(&best.values) {
                *g += err * x;
            }
            gb += err;
        }
        let m = usable.len() as f32;
        for ((wi, g), name) in w.iter_mut().zip(&gw).zip(SIGNALS) {
            *wi -= lr * (g / m + l2 * *wi);
            if FOR.contains(name) {
                *wi = wi.max(0.0);
            } else if AGAINST.contains(name) {
                *wi = wi.min(0.0);
            } else if UNWEIGHED.contains(name) {
                *wi = 0.0;
            }
        }
        bias -= lr * gb / m;
    }
    PairModel {
        weights: SIGNALS
            .iter()
            .zip(&w)
            .map(|(s, v)| (s.to_string(), (v * 1000.0).round() / 1000.0))
            .collect(),
        bias: (bias * 1000.0).round() / 1000.0,
        threshold: start.threshold,
        duplicate_threshold: start.duplicate_threshold,
        fitted_on: start.fitted_on.clone(),
        vector: OnceLock::new(),
    }
}

/// The best bag score of each bag under `model`.
pub fn bag_scores(bags: &[Bag], model: &PairModel) -> Vec<(f32, bool)> {
    bags.iter()
        .filter(|b| !b.pairs.is_empty())
        .map(|b| {
            let p = b
                .pairs
                .iter()
                .map(|p| model.score(p).probability)
                .fold(0.0f32, f32::max);
            (p, b.same)
        })
        .collect()
}

/// The threshold with the best F-score (β weighs recall; β < 1 favours precision) over
/// bag scores, and that score.
pub fn best_threshold(scores: &[(f32, bool)], beta: f32) -> (f32, f32) {
    let mut best = (0.5, -1.0);
    for step in 5..96 {
        let t = step as f32 / 100.0;
        let tp = scores.iter().filter(|(p, y)| *p >= t && *y).count() as f32;
        let fp = scores.iter().filter(|(p, y)| *p >= t && !*y).count() as f32;
        let fneg = scores.iter().filter(|(p, y)| *p < t && *y).count() as f32;
        let b2 = beta * beta;
        let f = (1.0 + b2) * tp / ((1.0 + b2) * tp + b2 * fneg + fp).max(1.0);
        if f > best.1 {
            best = (t, f);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_model_parses_and_knows_every_signal() {
        let m = PairModel::builtin();
        assert_eq!(m.weight_vector().len(), SIGNALS.len());
        for (i, name) in [
            (PLACE_CONFLICT, "place_conflict"),
            (TOPIC_CONFLICT, "topic_conflict"),
            (PROBLEM_CONFLICT, "problem_conflict"),
            (NEW_EVENT, "new_event"),
            (CASE, "case"),
            (SAYS_REPEAT, "says_repeat"),
            (WORDING, "wording"),
            (ANCHORS[0], "place"),
            (ANCHORS[1], "place_kind"),
            (ANCHORS[2], "topic"),
            (ANCHORS[3], "problem"),
            (ANCHORS[4], "process"),
            (ANCHORS[5], "says_repeat"),
        ] {
            assert_eq!(SIGNALS[i], name);
        }
        assert!(PairModel::parse(
            r#"{"weights":{"colour":1},"bias":0,"threshold":0.5,"duplicate_threshold":0.5}"#
        )
        .is_err());
        assert!(PairModel::parse(
            r#"{"weights":{},"bias":0,"threshold":1.5,"duplicate_threshold":0.5}"#
        )
        .is_err());
    }

    #[test]
    fn same_lamp_in_other_words_scores_above_another_problem_at_the_same_lamp() {
        let m = PairModel::builtin();
        let first = Signature::of("De lantaarnpaal bij Lijsterlaan 14 brandt niet meer.");
        let again = Signature::of("Bij Lijsterlaan 14 is het 's avonds nog steeds pikkedonker.");
        let hit = Signature::of("Een auto heeft de lantaarnpaal in de Lijsterlaan aangereden.");
        let same = m.score(&Pair::of(&first, &again, 17.0, false));
        let other = m.score(&Pair::of(&first, &hit, 60.0, false));
        assert!(same.probability >= m.threshold, "{same:?}");
        assert!(other.probability < m.threshold, "{other:?}");
        assert!(!deciding_signals(&same, Lang::Nl).is_empty(), "{same:?}");
    }

    #[test]
    fn fitting_separates_bags() {
        let pos = |w: f32| Pair {
            values: SIGNALS
                .iter()
                .map(|s| match *s {
                    "place" | "topic" => 1.0,
                    "wording" => w,
                    _ => 0.0,
                })
                .collect(),
        };
        // The same object on another street (not a hard contradiction: the object is shared).
        let neg = Pair {
            values: SIGNALS
                .iter()
                .map(|s| match *s {
                    "place_conflict" | "topic" => 1.0,
                    _ => 0.0,
                })
                .collect(),
        };
        let bags: Vec<Bag> = (0..20)
            .map(|i| Bag {
                pairs: vec![if i % 2 == 0 { pos(0.3) } else { neg.clone() }, neg.clone()],
                same: i % 2 == 0,
            })
            .collect();
        let start = PairModel {
            weights: Default::default(),
            bias: 0.0,
            threshold: 0.5,
            duplicate_threshold: 0.5,
            fitted_on: String::new(),
            vector: Default::default(),
        };
        let m = fit(&bags, &start, 0.001, 500);
        for (name, w) in &m.weights {
            match sign_of(name) {
                Some(true) => assert!(*w >= 0.0, "{name} {w}"),
                Some(false) => assert!(*w <= 0.0, "{name} {w}"),
                None => assert_eq!(*w, 0.0, "{name}"),
            }
        }
        let scores = bag_scores(&bags, &m);
        assert!(scores.iter().all(|(p, y)| (*p >= 0.5) == *y), "{m:?}");
        assert!(m.weights["place"] > 0.0 && m.weights["place_conflict"] < 0.0);
    }
}
