//! `herken lexicon mine`: phrases the sparse model weighs heavily per label, mined from the
//! corpus as candidates for the lexicon, for a person to review.
//!
//! For every corpus message, each word's share of the log-odds of the message's own label is
//! computed as for the model's evidence ([`crate::pipeline::attribution`]); every window of
//! 1 to 4 words inside a clause that neither begins nor ends with a function word is a
//! candidate, with its words' share summed. Per label and phrase (lower-cased): the mean
//! share over the messages of that label holding it, how many such messages, the share of
//! all corpus messages holding it that have the label (purity), the first such message's
//! id, and whether a lexicon phrase already covers it. Ranked by mean share × ln(1 + count).
//! Nothing here writes the lexicon: the list is for review.

use std::collections::HashMap;

use crate::dataset::Example;
use crate::domain::Label;
use crate::pipeline::attribution::{self, WordScore};
use crate::pipeline::cues::Lexicon;
use crate::pipeline::model::SparseScorer;

/// Settings of the mining.
#[derive(Debug, Clone)]
pub struct MineOptions {
    /// Longest phrase in words.
    pub max_words: usize,
    /// Least number of messages of the label holding the phrase.
    pub min_count: usize,
    /// Least share of the messages holding the phrase that have the label.
    pub min_purity: f32,
    /// Candidates per label.
    pub top: usize,
    /// Only this label.
    pub label: Option<Label>,
}

impl Default for MineOptions {
    fn default() -> Self {
        MineOptions {
            max_words: 4,
            min_count: 3,
            min_purity: 0.6,
            top: 100,
            label: None,
        }
    }
}

/// A phrase proposed for the lexicon.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The label it backs.
    pub label: Label,
    /// The phrase, lower-cased.
    pub phrase: String,
    /// Mean share of the label's log-odds of its words, over the messages holding it.
    pub weight: f32,
    /// Messages of the label holding it.
    pub count: usize,
    /// Share of all messages holding it that have the label.
    pub purity: f32,
    /// The id of a message of the label holding it.
    pub example: String,
    /// Whether a lexicon phrase (of a family backing the label) already covers it.
    pub in_lexicon: bool,
}

#[derive(Default)]
struct Tally {
    weight: f32,
    count: [usize; Label::COUNT],
    example: Option<usize>,
}

/// The candidates per label, best first.
pub fn mine(
    examples: &[Example],
    lexicon: &Lexicon,
    sparse: &SparseScorer,
    opts: &MineOptions,
) -> Vec<Candidate> {
    let mut tallies: HashMap<String, Tally> = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    for (n, ex) in examples.iter().enumerate() {
        let analysis = crate::pipeline::analyse(lexicon, &ex.message);
        let input = analysis.model_input(&ex.message);
        let words: Vec<WordScore> = attribution::word_scores(sparse, &input, ex.label);
        let text = input.text;
        let clause = attribution::clauses(text, &words);
        let filler: Vec<bool> = words
            .iter()
            .map(|w| attribution::is_filler(&text[w.start..w.end]))
            .collect();
        seen.clear();
        for i in 0..words.len() {
            if filler[i] {
                continue;
            }
            let mut sum = 0.0;
            let mut phrase = String::new();
            for j in i..words.len().min(i + opts.max_words) {
                if clause[j] != clause[i] {
                    break;
                }
                sum += words[j].score;
                if !phrase.is_empty() {
                    phrase.push(' ');
                }
                phrase.extend(
                    text[words[j].start..words[j].end]
                        .chars()
                        .flat_map(char::to_lowercase),
                );
                if filler[j] || seen.contains(&phrase) {
                    continue;
                }
                seen.push(phrase.clone());
                let t = tallies.entry(phrase.clone()).or_default();
                t.count[ex.label.index()] += 1;
                if sum.is_finite() {
                    t.weight += sum;
                }
                if t.example.is_none() {
                    t.example = Some(n);
                }
            }
        }
    }
    let mut out = Vec::new();
    for label in Label::ALL {
        if opts.label.is_some_and(|l| l != label) {
            continue;
        }
        let mut cands: Vec<Candidate> = tallies
            .iter()
            .filter_map(|(phrase, t)| {
                let count = t.count[label.index()];
                let total: usize = t.count.iter().sum();
                let purity = count as f32 / total.max(1) as f32;
                if count < opts.min_count || purity < opts.min_purity {
                    return None;
                }
                // The weight was summed over every message holding the phrase, each for its
                // own label; the purity keeps mostly this label's.
                let weight = t.weight / total as f32;
                (weight > 0.0).then(|| Candidate {
                    label,
                    phrase: phrase.clone(),
                    weight,
                    count,
                    purity,
                    example: String::new(),
                    in_lexicon: false,
                })
            })
            .collect();
        cands.sort_by(|a, b| {
            let s = |c: &Candidate| c.weight * (1.0 + c.count as f32).ln();
            s(b).total_cmp(&s(a)).then(a.phrase.cmp(&b.phrase))
        });
        cands.truncate(opts.top);
        for c in &mut cands {
            let t = &tallies[&c.phrase];
            // An example of the label itself.
            c.example = examples
                .iter()
                .find(|e| e.label == label && e.message.text.to_lowercase().contains(&c.phrase))
                .or_else(|| t.example.map(|n| &examples[n]))
                .map(|e| e.message.id.clone())
                .unwrap_or_default();
            c.in_lexicon = [crate::domain::Lang::Nl, crate::domain::Lang::En]
                .iter()
                .any(|lang| {
                    lexicon.find(&c.phrase, *lang).iter().any(|h| {
                        lexicon.family(h.family).supports == label
                            && h.end - h.start >= c.phrase.len() / 2
                    })
                });
        }
        out.extend(cands);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Message;
    use crate::pipeline::model::{CuePrior, SparseModel};

    #[test]
    fn a_phrase_only_one_label_has_is_mined_for_it() {
        // A tiny model trained on a handful of messages: "nooit teruggebeld" only in
        // complaints, "losse tegel" only in reports.
        let lexicon = Lexicon::builtin().unwrap();
        let mut examples = Vec::new();
        for (i, (text, label)) in [
            ("Ik ben nooit teruggebeld door de afdeling.", Label::Klacht),
            ("Weer nooit teruggebeld, vreselijk.", Label::Klacht),
            ("Nooit teruggebeld na mijn vraag.", Label::Klacht),
            ("Er ligt een losse tegel op de stoep.", Label::Melding),
            ("Losse tegel bij de school.", Label::Melding),
            ("Een losse tegel voor nummer vijf.", Label::Melding),
        ]
        .iter()
        .enumerate()
        {
            let mut m = Message::new(text.to_string());
            m.id = format!("m{i}");
            examples.push(Example {
                message: m,
                label: *label,
                lang: None,
                genre: None,
                marked: None,
            });
        }
        let opts = crate::pipeline::model::TrainOptions {
            dim_bits: 12,
            epochs: 30,
            ..Default::default()
        };
        let prior = CuePrior::new(&lexicon, 0.0);
        let samples: Vec<_> = examples
            .iter()
            .map(|e| {
                let a = crate::pipeline::analyse(&lexicon, &e.message);
                crate::pipeline::model::Sample {
                    x: crate::pipeline::model::features::extract(
                        &a.model_input(&e.message),
                        opts.dim_bits,
                    ),
                    offset: prior.logits(&a.family_counts),
                    label: e.label,
                }
            })
            .collect();
        let model = SparseModel::train(&samples, &opts);
        let sparse = SparseScorer::new(model, prior, "test");
        let found = mine(&examples, &lexicon, &sparse, &MineOptions::default());
        let klacht: Vec<&str> = found
            .iter()
            .filter(|c| c.label == Label::Klacht)
            .map(|c| c.phrase.as_str())
            .collect();
        assert!(klacht.contains(&"nooit teruggebeld"), "{klacht:?}");
        assert!(!klacht.contains(&"losse tegel"), "{klacht:?}");
        let tegel = found
            .iter()
            .find(|c| c.label == Label::Melding && c.phrase == "losse tegel")
            .expect("losse tegel is mined for melding");
        assert_eq!(tegel.count, 3);
        assert_eq!(tegel.purity, 1.0);
        assert!(tegel.example.starts_with('m'));
    }
}
