//! Evidence from the model: the words a decision rests on, also where the lexicon has no
//! phrase for them.
//!
//! Computed on the sparse model (the encoder is too costly to run once per phrase), for the
//! label the pipeline chose:
//! 1. **Per word**, its share of the label's log-odds (log p(label) / p(any other), which
//!    unlike the probability does not saturate in a message that is certain anyway): the
//!    sparse model is linear in its features, and its text features (words, word pairs,
//!    character n-grams) decompose exactly over the words ([`features::token_features`]); a
//!    word's share is the sum of its features' values times the gradient of the log-odds with
//!    respect to them (gradient × input).
//! 2. **Phrases**: windows of 1 to [`AttributionOptions::max_words`] words inside one clause
//!    (no punctuation or line break between them), with positive words at both ends, ranked
//!    by their words' share over the square root of their length; a clause that already holds
//!    a cue backing the label gets none.
//! 3. **Checked by leaving it out**: a phrase becomes a cue only when leaving it out of the
//!    text lowers the label's log-odds on the sparse model by at least
//!    [`AttributionOptions::min_drop`]; at most [`AttributionOptions::max_checks`] such
//!    re-scorings per message, so the cost is bounded (a few feature extractions, microseconds
//!    beside the encoder's milliseconds).
//!
//! 4. **Clauses with a wording a trainer points at** ([`Salience`]: a request, nobody/never,
//!    a judgement, a question) that no lexicon family stands for, because by itself such a
//!    wording says nothing about the label: a clause with one becomes a cue when leaving the
//!    whole clause out lowers the label's log-odds by at least
//!    [`AttributionOptions::min_salient_drop`] (at most `max_checks` such re-scorings too).
//!    They come first; word windows (2.–3.) only while fewer than
//!    [`AttributionOptions::phrases_below`] cues back the label, and never over a word of
//!    place or time ([`is_context`]), which a sparse model weighs and a trainer does not mark.
//!
//! The cues it makes have `from_model` set, support the label, and carry the label's broadest
//! lexicon family ([`model_family`]; a request in a complaint is an expectation, nobody/never
//! its handling: [`salient_family`]). Every cue that backs the label also gets a `weight`: the
//! share of its words plus, for a lexicon cue, its share of its family's count feature and of
//! the lexicon prior. The explanation quotes the cues with the highest weight, whichever source
//! found them.

use crate::domain::{Label, Message};
use crate::pipeline::cues::CharIndex;
use crate::pipeline::model::features::{self, ModelInput};
use crate::pipeline::model::SparseScorer;
use crate::pipeline::types::{Cue, Family, LabelScores};
use crate::pipeline::Analysis;

mod wording;
pub use wording::{is_context, is_filler, salience, salient_family, Salience};

/// Settings of the attribution.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributionOptions {
    /// Most model cues per message (fewer for short messages: one per
    /// [`AttributionOptions::words_per_cue`] words, at least one).
    pub max_cues: usize,
    /// Words of evidence text per model cue.
    pub words_per_cue: usize,
    /// Longest phrase, in words.
    pub max_words: usize,
    /// Shortest phrase, in words: one word alone is seldom what a trainer points at.
    pub min_words: usize,
    /// Least share of the label's log-odds of a phrase's words, over the square root of its
    /// length.
    pub min_score: f32,
    /// Least drop in the label's log-odds when the phrase is left out.
    pub min_drop: f32,
    /// Most phrases checked by leaving them out, per message.
    pub max_checks: usize,
    /// Messages with more words than this get no model cues (the per-word pass is linear in
    /// the length, but a bound is a bound).
    pub max_text_words: usize,
    /// Whether a clause that already holds a cue backing the label gets none.
    pub skip_backed: bool,
    /// Whether a model phrase may not hold a word of place or time ([`is_context`]).
    pub skip_context: bool,
    /// Model phrases only while fewer cues than this back the label (lexicon and salient
    /// clauses together).
    pub phrases_below: usize,
    /// Most cues per message from clauses with a wording a trainer points at ([`Salience`]).
    pub max_salient: usize,
    /// Longest span shown for such a clause, in words.
    pub clause_words: usize,
    /// Least drop in the label's log-odds when such a clause is left out.
    pub min_salient_drop: f32,
}

impl Default for AttributionOptions {
    fn default() -> Self {
        AttributionOptions {
            max_cues: 3,
            words_per_cue: 15,
            max_words: 4,
            min_words: 2,
            min_score: 0.6,
            min_drop: 0.2,
            max_checks: 6,
            max_text_words: 2000,
            skip_backed: true,
            skip_context: true,
            phrases_below: 2,
            max_salient: 3,
            clause_words: 10,
            min_salient_drop: 0.1,
        }
    }
}

/// The lexicon family a model cue for `label` carries: the label's broadest family.
pub fn model_family(label: Label) -> Family {
    match label {
        Label::Klacht => Family::Ongenoegen,
        Label::Melding => Family::Situatie,
        Label::Bezwaar => Family::Besluit,
        Label::Raadsadres => Family::Raad,
        Label::Overig => Family::Vraag,
    }
}

/// A word of the evidence text and its share of the label's log-odds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordScore {
    /// Byte start in the evidence text.
    pub start: usize,
    /// Byte end (exclusive).
    pub end: usize,
    /// Its share of the label's log-odds (natural log; positive: for the label).
    pub score: f32,
}

/// The sparse model's raw logits for `input`.
fn logits(sparse: &SparseScorer, input: &ModelInput<'_>) -> LabelScores {
    sparse.model().logits(
        &sparse.features(input),
        &sparse.prior().logits(input.family_counts),
    )
}

/// The calibrated log-odds of `label`: `(z_label - logsumexp of the others' z) / T`. Unlike
/// the probability it does not saturate, so a phrase still counts in a message that is
/// certain without it.
fn log_odds(z: &LabelScores, label: usize, temperature: f32) -> f32 {
    let others = z
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != label)
        .map(|(_, v)| *v);
    let max = others.clone().fold(f32::NEG_INFINITY, f32::max);
    let lse = max + others.map(|v| (v - max).exp()).sum::<f32>().ln();
    (z[label] - lse) / temperature.max(1e-3)
}

/// The gradient of the label's log-odds with respect to a feature with weights `row`:
/// `(row[label] - Σ q·row) / T`, q the softmax of the other labels' logits.
struct Gradient {
    /// The probabilities of the other labels among themselves (0 at `label`).
    others: LabelScores,
    label: usize,
    temperature: f32,
}

impl Gradient {
    fn of(&self, row: &[f32; Label::COUNT]) -> f32 {
        let mean: f32 = row.iter().zip(&self.others).map(|(w, q)| w * q).sum();
        (row[self.label] - mean) / self.temperature.max(1e-3)
    }
}

fn gradient(sparse: &SparseScorer, input: &ModelInput<'_>, label: Label) -> Gradient {
    let z = logits(sparse, input);
    let t = sparse.model().temperature;
    let mut rest = z;
    rest[label.index()] = f32::NEG_INFINITY;
    let mut others = crate::pipeline::model::sparse::softmax(&rest, t);
    others[label.index()] = 0.0;
    Gradient {
        others,
        label: label.index(),
        temperature: t,
    }
}

/// Every word's share of the log-odds of `label` on the sparse model.
pub fn word_scores(sparse: &SparseScorer, input: &ModelInput<'_>, label: Label) -> Vec<WordScore> {
    let g = gradient(sparse, input, label);
    word_scores_with(sparse, input.text, &g)
}

fn word_scores_with(sparse: &SparseScorer, text: &str, g: &Gradient) -> Vec<WordScore> {
    let model = sparse.model();
    features::token_features(text, model.dim_bits)
        .into_iter()
        .map(|t| WordScore {
            start: t.start,
            end: t.end,
            score: t.feats.iter().map(|&(i, v)| v * g.of(&model.row(i))).sum(),
        })
        .collect()
}

/// Whether the text between two words ends a clause.
fn breaks_clause(gap: &str) -> bool {
    gap.chars().any(|c| {
        matches!(
            c,
            '.' | ','
                | ';'
                | ':'
                | '!'
                | '?'
                | '\n'
                | '('
                | ')'
                | '['
                | ']'
                | '"'
                | '“'
                | '”'
                | '…'
                | '–'
                | '—'
        )
    })
}

/// The clause number of every word of `text` (words in text order): a clause ends at
/// punctuation or a line break.
pub fn clauses(text: &str, words: &[WordScore]) -> Vec<usize> {
    let mut clause = vec![0usize; words.len()];
    for i in 1..words.len() {
        clause[i] =
            clause[i - 1] + usize::from(breaks_clause(&text[words[i - 1].end..words[i].start]));
    }
    clause
}

/// A phrase of the evidence text that the model's decision rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Phrase {
    /// Byte start in the evidence text.
    pub start: usize,
    /// Byte end (exclusive).
    pub end: usize,
    /// Its words' share of the label's log-odds.
    pub score: f32,
    /// How much the label's log-odds drop when it is left out.
    pub drop: f32,
}

/// The phrases of `input.text` the decision for `label` rests on, beside `taken` (byte spans
/// of the evidence text already shown as cues backing the label), in text order.
pub fn phrases(
    sparse: &SparseScorer,
    input: &ModelInput<'_>,
    label: Label,
    words: &[WordScore],
    taken: &[(usize, usize)],
    opts: &AttributionOptions,
) -> Vec<Phrase> {
    if words.is_empty() || words.len() > opts.max_text_words || opts.max_cues == 0 {
        return Vec::new();
    }
    let text = input.text;
    let clause = clauses(text, words);
    let overlaps =
        |s: usize, e: usize, spans: &[(usize, usize)]| spans.iter().any(|&(a, b)| s < b && a < e);
    // Clauses already backed by a cue.
    let mut backed = vec![false; clause.last().map_or(0, |c| c + 1)];
    for (w, c) in words.iter().zip(&clause) {
        if overlaps(w.start, w.end, taken) {
            backed[*c] = true;
        }
    }
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new(); // (rank, first word, last word)
    let filler: Vec<bool> = words
        .iter()
        .map(|w| is_filler(&text[w.start..w.end]))
        .collect();
    let context: Vec<bool> = words
        .iter()
        .map(|w| opts.skip_context && is_context(text, w.start, w.end))
        .collect();
    for i in 0..words.len() {
        if words[i].score <= 0.0
            || filler[i]
            || context[i]
            || (opts.skip_backed && backed[clause[i]])
        {
            continue;
        }
        let mut sum = 0.0;
        for j in i..words.len().min(i + opts.max_words) {
            if clause[j] != clause[i] || context[j] {
                break;
            }
            sum += words[j].score;
            if words[j].score > 0.0 && !filler[j] && j + 1 - i >= opts.min_words {
                let rank = sum / ((j - i + 1) as f32).sqrt();
                if rank >= opts.min_score {
                    candidates.push((rank, i, j));
                }
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let want = (words.len() / opts.words_per_cue.max(1)).clamp(1, opts.max_cues);
    let t = sparse.model().temperature;
    let base = log_odds(&logits(sparse, input), label.index(), t);
    let mut chosen: Vec<Phrase> = Vec::new();
    let mut used_clauses: Vec<usize> = Vec::new();
    let mut checks = 0;
    for (_, i, j) in candidates {
        if chosen.len() >= want || checks >= opts.max_checks {
            break;
        }
        if used_clauses.contains(&clause[i]) || overlaps(words[i].start, words[j].end, taken) {
            continue;
        }
        let (start, end) = (words[i].start, words[j].end);
        checks += 1;
        let mut without = String::with_capacity(text.len());
        without.push_str(&text[..start]);
        without.push(' ');
        without.push_str(&text[end..]);
        let occluded = ModelInput {
            text: &without,
            ..*input
        };
        let drop = base - log_odds(&logits(sparse, &occluded), label.index(), t);
        if drop >= opts.min_drop {
            used_clauses.push(clause[i]);
            chosen.push(Phrase {
                start,
                end,
                score: words[i..=j].iter().map(|w| w.score).sum(),
                drop,
            });
        }
    }
    chosen.sort_by_key(|p| p.start);
    chosen
}

/// Clauses of `input.text` with a [`Salience`] that back `label`: leaving the clause out lowers
/// the label's log-odds by at least [`AttributionOptions::min_salient_drop`]. Shown trimmed of
/// function words at both ends, at most [`AttributionOptions::clause_words`] words from where
/// the wording begins. None in a clause that overlaps `taken`. In text order, with their kind.
pub fn salient_phrases(
    sparse: &SparseScorer,
    input: &ModelInput<'_>,
    label: Label,
    words: &[WordScore],
    taken: &[(usize, usize)],
    opts: &AttributionOptions,
) -> Vec<(Phrase, Salience)> {
    if words.is_empty() || words.len() > opts.max_text_words || opts.max_salient == 0 {
        return Vec::new();
    }
    let text = input.text;
    let clause = clauses(text, words);
    let n_clauses = clause.last().map_or(0, |c| c + 1);
    let mut ranges: Vec<(usize, usize)> = vec![(usize::MAX, 0); n_clauses];
    for (i, c) in clause.iter().enumerate() {
        let r = &mut ranges[*c];
        r.0 = r.0.min(i);
        r.1 = i;
    }
    let filler = |i: usize| is_filler(&text[words[i].start..words[i].end]);
    let t = sparse.model().temperature;
    // The label's log-odds on the whole text: computed once, and only when a clause is checked.
    let mut base: Option<f32> = None;
    let mut found: Vec<(Phrase, Salience)> = Vec::new();
    let mut checks = 0;
    for &(first, last) in &ranges {
        if first > last || checks >= opts.max_checks {
            continue;
        }
        let (cs, ce) = (words[first].start, words[last].end);
        if taken.iter().any(|&(a, b)| cs < b && a < ce) {
            continue;
        }
        let question = text[ce..].trim_start().starts_with('?');
        let Some((kind, at)) = salience(&text[cs..ce], question) else {
            continue;
        };
        // Leave the whole clause out.
        checks += 1;
        let mut without = String::with_capacity(text.len());
        without.push_str(&text[..cs]);
        without.push(' ');
        without.push_str(&text[ce..]);
        let occluded = ModelInput {
            text: &without,
            ..*input
        };
        let whole = *base.get_or_insert_with(|| log_odds(&logits(sparse, input), label.index(), t));
        let drop = whole - log_odds(&logits(sparse, &occluded), label.index(), t);
        if drop < opts.min_salient_drop {
            continue;
        }
        // From the word where the wording begins (or earlier, to fill the window), trimmed.
        let from = (first..=last)
            .find(|&i| words[i].end > cs + at)
            .unwrap_or(first);
        let n = opts.clause_words.max(1);
        let mut i = from.min((last + 1).saturating_sub(n)).max(first);
        let mut j = (i + n - 1).min(last);
        while i < j && filler(i) && i < from {
            i += 1;
        }
        while j > i && filler(j) {
            j -= 1;
        }
        found.push((
            Phrase {
                start: words[i].start,
                end: words[j].end,
                score: words[i..=j].iter().map(|w| w.score).sum(),
                drop,
            },
            kind,
        ));
    }
    // The strongest few, in text order.
    found.sort_by(|a, b| b.0.drop.total_cmp(&a.0.drop));
    found.truncate(opts.max_salient);
    found.sort_by_key(|(p, _)| p.start);
    found
}

/// The cues of a classified message with the model's evidence added: the lexicon cues (those
/// backing `label` with their weight) and the model's phrases as cues, in text order.
pub fn attribute(
    sparse: &SparseScorer,
    analysis: &Analysis,
    message: &Message,
    label: Label,
    opts: &AttributionOptions,
) -> Vec<Cue> {
    let input = analysis.model_input(message);
    let mut cues = analysis.cues.clone();
    if input.text.is_empty() {
        return cues;
    }
    let g = gradient(sparse, &input, label);
    let words = word_scores_with(sparse, input.text, &g);
    let norm = &analysis.normalized;
    let mut chars = CharIndex::new(input.text);
    // Original char span of a byte span of the evidence text.
    let mut original = |s: usize, e: usize| {
        let (cs, ce) = (chars.char_at(s), chars.char_at(e));
        norm.original_span(cs, ce)
    };
    let word_spans: Vec<Option<(usize, usize)>> =
        words.iter().map(|w| original(w.start, w.end)).collect();

    // Weights of the lexicon cues: their words' share, and their share of their family's
    // count feature and prior.
    let model = sparse.model();
    let backing = |c: &Cue| c.supports == label && !c.negated;
    for f in Family::ALL {
        let n = cues.iter().filter(|c| c.family == f && backing(c)).count();
        if n == 0 {
            continue;
        }
        let value = (1.0 + n as f32).ln();
        let feature = g.of(&model.row(features::family_feature(f, model.dim_bits))) * value;
        let (supports, w) = sparse.prior().family(f);
        let prior_grad = if supports == label {
            1.0
        } else {
            -g.others[supports.index()]
        } / g.temperature.max(1e-3);
        let share = (feature + prior_grad * w * value) / n as f32;
        for c in cues.iter_mut().filter(|c| c.family == f && backing(c)) {
            c.weight = share;
        }
    }
    for c in cues.iter_mut().filter(|c| backing(c)) {
        c.weight += words
            .iter()
            .zip(&word_spans)
            .filter(|(_, s)| s.is_some_and(|(a, b)| a < c.end && c.start < b))
            .map(|(w, _)| w.score)
            .sum::<f32>();
    }

    // The model's phrases beside the lexicon's.
    let taken: Vec<(usize, usize)> = words
        .iter()
        .zip(&word_spans)
        .filter(|(_, s)| {
            s.is_some_and(|(a, b)| cues.iter().any(|c| backing(c) && a < c.end && c.start < b))
        })
        .map(|(w, _)| (w.start, w.end))
        .collect();
    let salient = salient_phrases(sparse, &input, label, &words, &taken, opts);
    let mut taken = taken;
    taken.extend(salient.iter().map(|(p, _)| (p.start, p.end)));
    let backing_now = cues.iter().filter(|c| backing(c)).count() + salient.len();
    let phrase_opts = AttributionOptions {
        max_cues: if backing_now < opts.phrases_below {
            opts.max_cues
        } else {
            0
        },
        ..opts.clone()
    };
    let found: Vec<(Phrase, Family)> = salient
        .into_iter()
        .map(|(p, kind)| (p, salient_family(kind, label)))
        .chain(
            phrases(sparse, &input, label, &words, &taken, &phrase_opts)
                .into_iter()
                .map(|p| (p, model_family(label))),
        )
        .collect();
    let original_chars: Vec<usize> = if found.is_empty() {
        Vec::new()
    } else {
        message.text.char_indices().map(|(b, _)| b).collect()
    };
    for (p, family) in found {
        let Some((start, end)) = original(p.start, p.end) else {
            continue;
        };
        let from = original_chars
            .get(start)
            .copied()
            .unwrap_or(message.text.len());
        let to = original_chars
            .get(end)
            .copied()
            .unwrap_or(message.text.len());
        cues.push(Cue {
            start,
            end,
            text: message.text[from..to].to_string(),
            family,
            supports: label,
            negated: false,
            from_model: true,
            weight: p.score,
        });
    }
    cues.sort_by(|a, b| a.start.cmp(&b.start).then(b.end.cmp(&a.end)));
    cues
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::cues::Lexicon;
    use crate::pipeline::model::{features, CuePrior, Sample, SparseModel, TrainOptions};

    /// A sparse model on a few messages: "stoepje kapotgereden" only in reports, "nergens
    /// teruggehoord" only in complaints (no lexicon phrase covers either).
    fn model(lexicon: &Lexicon) -> SparseScorer {
        let data = [
            ("Het stoepje is kapotgereden bij de bakker.", Label::Melding),
            ("Stoepje kapotgereden door een vrachtwagen.", Label::Melding),
            ("Bij de school is het stoepje kapotgereden.", Label::Melding),
            (
                "Ik heb nergens teruggehoord van de afdeling.",
                Label::Klacht,
            ),
            ("Nergens teruggehoord, weken wachten.", Label::Klacht),
            ("Van niemand nergens teruggehoord sinds mei.", Label::Klacht),
        ];
        let opts = TrainOptions {
            dim_bits: 14,
            epochs: 40,
            ..Default::default()
        };
        let prior = CuePrior::new(lexicon, 0.0);
        let samples: Vec<Sample> = data
            .iter()
            .map(|(t, l)| {
                let m = Message::new(t.to_string());
                let a = crate::pipeline::analyse(lexicon, &m);
                Sample {
                    x: features::extract(&a.model_input(&m), opts.dim_bits),
                    offset: prior.logits(&a.family_counts),
                    label: *l,
                }
            })
            .collect();
        SparseScorer::new(SparseModel::train(&samples, &opts), prior, "test")
    }

    /// What each attribution test starts from: the test model, and `text` as a message with
    /// its analysis.
    fn setup(text: &str) -> (SparseScorer, Message, crate::pipeline::Analysis) {
        let lexicon = Lexicon::builtin().unwrap();
        let sparse = model(&lexicon);
        let m = Message::new(text.to_string());
        let a = crate::pipeline::analyse(&lexicon, &m);
        (sparse, m, a)
    }

    /// The original text a cue points at.
    fn pointed_at(text: &str, c: &Cue) -> String {
        text.chars().skip(c.start).take(c.end - c.start).collect()
    }

    #[test]
    fn the_phrase_the_decision_rests_on_becomes_a_model_cue() {
        let text = "Beste gemeente,\n\nIk heb echt nergens teruggehoord over mijn aanvraag.";
        let (sparse, m, a) = setup(text);
        let opts = AttributionOptions {
            min_score: 0.05,
            min_drop: 0.01,
            ..Default::default()
        };
        let cues = attribute(&sparse, &a, &m, Label::Klacht, &opts);
        let model: Vec<&Cue> = cues.iter().filter(|c| c.from_model).collect();
        assert!(!model.is_empty(), "{cues:?}");
        for c in &model {
            assert_eq!(pointed_at(text, c), c.text);
            assert_eq!(c.supports, Label::Klacht);
            // "nergens" makes the clause one of what did not happen: handling.
            assert!(matches!(c.family, Family::Ongenoegen | Family::Proces));
            assert!(c.weight > 0.0);
        }
        assert!(
            model.iter().any(|c| c.text.contains("teruggehoord")),
            "{model:?}"
        );
        // Never across the line break, and never starting on a greeting.
        assert!(model
            .iter()
            .all(|c| !c.text.contains('\n') && !c.text.starts_with("Beste")));
        // For the other label the same words weigh against: no cue there.
        let other = attribute(&sparse, &a, &m, Label::Melding, &opts);
        assert!(
            other
                .iter()
                .filter(|c| c.from_model)
                .all(|c| !c.text.contains("teruggehoord")),
            "{other:?}"
        );
    }

    #[test]
    fn word_scores_sum_to_the_change_in_log_odds_of_a_linear_model() {
        // Gradient × input is exact to first order: the words' shares point the same way as
        // the log-odds against an empty text.
        let (sparse, m, a) = setup("stoepje kapotgereden");
        let words = word_scores(&sparse, &a.model_input(&m), Label::Melding);
        assert_eq!(words.len(), 2);
        assert!(words.iter().all(|w| w.score > 0.0), "{words:?}");
        let against = word_scores(&sparse, &a.model_input(&m), Label::Klacht);
        assert!(against.iter().all(|w| w.score < 0.0), "{against:?}");
    }

    #[test]
    fn salient_wordings_are_recognised_in_both_languages() {
        let kind = |s: &str, q: bool| salience(s, q).map(|(k, _)| k);
        assert_eq!(
            kind("Graag zo snel mogelijk weghalen", false),
            Some(Salience::Request)
        );
        assert_eq!(
            kind("Wij verzoeken u de regel te schrappen", false),
            Some(Salience::Request)
        );
        assert_eq!(kind("could someone fix it", false), Some(Salience::Request));
        assert_eq!(
            kind("en niemand belde terug", false),
            Some(Salience::Nobody)
        );
        assert_eq!(kind("nobody got back", false), Some(Salience::Nobody));
        assert_eq!(kind("Dat kan toch niet", false), Some(Salience::Judgement));
        assert_eq!(kind("Waar moet ik heen", true), Some(Salience::Question));
        assert_eq!(kind("de lamp brandt", false), None);
        // Where the wording begins, in bytes.
        assert_eq!(
            salience("Nu graag opruimen", false),
            Some((Salience::Request, 3))
        );
        assert_eq!(
            salient_family(Salience::Request, Label::Klacht),
            Family::Verwachting
        );
        assert_eq!(
            salient_family(Salience::Nobody, Label::Klacht),
            Family::Proces
        );
        assert_eq!(
            salient_family(Salience::Request, Label::Melding),
            Family::Situatie
        );
    }

    #[test]
    fn places_and_times_are_context() {
        let text = "Gisteren lag er bij de Lindelaan weer afval, vanochtend ook. Zo 3 zakken.";
        let ctx: Vec<&str> = features::token_spans(text)
            .into_iter()
            .filter(|&(s, e)| is_context(text, s, e))
            .map(|(s, e)| &text[s..e])
            .collect();
        // "Zo" opens a sentence; the street inside one is a name.
        assert_eq!(ctx, vec!["Gisteren", "Lindelaan", "vanochtend", "3"]);
    }

    #[test]
    fn a_request_clause_that_backs_the_label_becomes_a_cue() {
        let text = "Stoepje kapotgereden bij ons. Graag het stoepje kapotgereden aanpakken.";
        let (sparse, m, a) = setup(text);
        let opts = AttributionOptions {
            min_salient_drop: 0.01,
            ..Default::default()
        };
        let cues = attribute(&sparse, &a, &m, Label::Melding, &opts);
        let request = cues
            .iter()
            .find(|c| c.from_model && c.text.starts_with("Graag"))
            .unwrap_or_else(|| panic!("{cues:?}"));
        assert_eq!(request.supports, Label::Melding);
        assert_eq!(request.family, Family::Situatie);
        assert_eq!(pointed_at(text, request), request.text);
        // Against the label it weighs the other way: no such cue for a complaint.
        let other = attribute(&sparse, &a, &m, Label::Klacht, &opts);
        assert!(
            other.iter().all(|c| !c.text.starts_with("Graag")),
            "{other:?}"
        );
    }

    #[test]
    fn clauses_end_at_punctuation_and_fillers_are_known() {
        let text = "de lamp, is kapot. Nu";
        let words: Vec<WordScore> = features::token_spans(text)
            .into_iter()
            .map(|(start, end)| WordScore {
                start,
                end,
                score: 0.0,
            })
            .collect();
        assert_eq!(clauses(text, &words), vec![0, 0, 1, 1, 2]);
        assert!(is_filler("De") && is_filler("2024") && !is_filler("kapot"));
        assert_eq!(model_family(Label::Bezwaar), Family::Besluit);
    }
}
