//! Feature extraction for the sparse model: hashed word unigrams and bigrams, character
//! n-grams (3 to 5, within words), cue-family counts and a few message facts (channel,
//! language, subject words). Each group is L2-normalised and scaled, so long messages do not
//! drown short ones.
//!
//! The hash is FNV-1a 64, fixed here, so a model trained by one build scores the same in
//! another: never change it without retraining.

use crate::domain::{Channel, Lang};
use crate::pipeline::types::Family;

/// Everything the model sees of a message.
#[derive(Debug, Clone, Copy)]
pub struct ModelInput<'a> {
    /// The evidence text (normalised: quotes, signatures and employee turns removed).
    pub text: &'a str,
    /// The subject line, if any.
    pub subject: &'a str,
    /// The channel.
    pub channel: Channel,
    /// The detected language.
    pub lang: Lang,
    /// Non-negated cue counts per family, in [`Family::ALL`] order.
    pub family_counts: &'a [u32; Family::ALL.len()],
    /// Number of negation cues.
    pub negations: u32,
    /// Whether the message was a transcript with turns.
    pub transcript: bool,
}

/// A sparse feature vector: sorted, unique indices with values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseVec {
    /// Feature indices, sorted and unique.
    pub idx: Vec<u32>,
    /// Values, one per index.
    pub val: Vec<f32>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv(seed: u64, bytes: &[u8]) -> u64 {
    let mut h = seed;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

fn key(parts: &[&[u8]]) -> u64 {
    let mut h = FNV_OFFSET;
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h = fnv(h, &[0x1f]);
        }
        h = fnv(h, p);
    }
    h
}

struct Group {
    entries: Vec<(u64, f32)>,
}

impl Group {
    fn new() -> Group {
        Group {
            entries: Vec::new(),
        }
    }
    fn add(&mut self, k: u64, v: f32) {
        self.entries.push((k, v));
    }
    /// Push into `out`, L2-normalised and scaled by `scale`.
    fn flush(self, dim_mask: u64, scale: f32, out: &mut Vec<(u32, f32)>) {
        let norm: f32 = self.entries.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
        if norm == 0.0 {
            return;
        }
        for (k, v) in self.entries {
            out.push(((k & dim_mask) as u32, v / norm * scale));
        }
    }
}

/// Lower-cased word tokens (letters and digits; digits collapsed to `0`).
pub fn tokens(text: &str) -> Vec<String> {
    token_spans(text)
        .into_iter()
        .map(|(s, e)| token_form(&text[s..e]))
        .collect()
}

/// A word as a feature sees it: lower-cased, digits collapsed to `0`.
fn token_form(w: &str) -> String {
    w.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

/// Byte spans of the word tokens of `text` (maximal runs of letters and digits), in order:
/// the tokens of [`tokens`], where they are.
pub fn token_spans(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The character n-grams (3 to 5) of a token, padded with `<` and `>`.
fn char_ngrams(t: &str, mut each: impl FnMut(&str)) {
    let padded: Vec<char> = std::iter::once('<')
        .chain(t.chars())
        .chain(std::iter::once('>'))
        .collect();
    let mut s = String::new();
    for n in 3..=5 {
        if padded.len() < n {
            break;
        }
        for w in padded.windows(n) {
            s.clear();
            s.extend(w.iter());
            each(&s);
        }
    }
}

/// One word token of the evidence text and the features of the text groups (words, bigrams,
/// character n-grams) it brings, with the values [`extract`] gives them (a bigram's value is
/// split between its two words). Summed over all tokens they are exactly the text groups of
/// [`extract`]: a linear model's logits decompose over the words, which is what attribution
/// (`crate::pipeline::attribution`) uses.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFeatures {
    /// Byte start in the text.
    pub start: usize,
    /// Byte end (exclusive).
    pub end: usize,
    /// Feature indices with values (an index may occur more than once).
    pub feats: Vec<(u32, f32)>,
}

/// The per-word decomposition of the text groups of [`extract`] for `text`.
pub fn token_features(text: &str, dim_bits: u32) -> Vec<TokenFeatures> {
    let mask = (1u64 << dim_bits) - 1;
    let spans = token_spans(text);
    let toks: Vec<String> = spans
        .iter()
        .map(|&(s, e)| token_form(&text[s..e]))
        .collect();
    // Group norms as `Group::flush` computes them: every entry has value 1.
    let n_words = toks.len();
    let n_bigrams = n_words.saturating_sub(1);
    let mut n_chars = 0usize;
    for t in &toks {
        char_ngrams(t, |_| n_chars += 1);
    }
    let unit = |n: usize, scale: f32| {
        if n == 0 {
            0.0
        } else {
            scale / (n as f32).sqrt()
        }
    };
    let (w_val, b_val, c_val) = (unit(n_words, 1.0), unit(n_bigrams, 0.7), unit(n_chars, 1.0));
    let idx = |k: u64| (k & mask) as u32;
    let mut out: Vec<TokenFeatures> = spans
        .iter()
        .map(|&(start, end)| TokenFeatures {
            start,
            end,
            feats: Vec::new(),
        })
        .collect();
    for (i, t) in toks.iter().enumerate() {
        out[i].feats.push((idx(key(&[b"w", t.as_bytes()])), w_val));
        if i + 1 < toks.len() {
            let b = idx(key(&[b"b", t.as_bytes(), toks[i + 1].as_bytes()]));
            out[i].feats.push((b, b_val / 2.0));
            out[i + 1].feats.push((b, b_val / 2.0));
        }
        let feats = &mut out[i].feats;
        char_ngrams(t, |g| feats.push((idx(key(&[b"c", g.as_bytes()])), c_val)));
    }
    out
}

/// The index of the count feature of cue family `f` in a space of `2^dim_bits`.
pub fn family_feature(f: Family, dim_bits: u32) -> u32 {
    (key(&[b"f", f.as_str().as_bytes()]) & ((1u64 << dim_bits) - 1)) as u32
}

/// Extract the features of `input` into a vector of dimension `2^dim_bits`.
pub fn extract(input: &ModelInput<'_>, dim_bits: u32) -> SparseVec {
    let mask = (1u64 << dim_bits) - 1;
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(512);
    let toks = tokens(input.text);

    let mut words = Group::new();
    let mut bigrams = Group::new();
    let mut chars = Group::new();
    for (i, t) in toks.iter().enumerate() {
        words.add(key(&[b"w", t.as_bytes()]), 1.0);
        if i + 1 < toks.len() {
            bigrams.add(key(&[b"b", t.as_bytes(), toks[i + 1].as_bytes()]), 1.0);
        }
        char_ngrams(t, |s| chars.add(key(&[b"c", s.as_bytes()]), 1.0));
    }
    words.flush(mask, 1.0, &mut out);
    bigrams.flush(mask, 0.7, &mut out);
    chars.flush(mask, 1.0, &mut out);

    let mut subject = Group::new();
    for t in tokens(input.subject) {
        subject.add(key(&[b"s", t.as_bytes()]), 1.0);
    }
    subject.flush(mask, 0.5, &mut out);

    // Cue families: log-scaled counts, and the interactions a linear model cannot form itself.
    let fc = input.family_counts;
    let c = |f: Family| fc[f.index()] as f32;
    for f in Family::ALL {
        if c(f) > 0.0 {
            out.push((family_feature(f, dim_bits), (1.0 + c(f)).ln()));
        }
    }
    let about_public_space = c(Family::Object) + c(Family::Situatie) > 0.0;
    let mut flag = |name: &str, on: bool| {
        if on {
            out.push(((key(&[b"x", name.as_bytes()]) & mask) as u32, 1.0));
        }
    };
    flag(
        "herhaling*openbare-ruimte",
        c(Family::Herhaling) > 0.0 && about_public_space,
    );
    flag(
        "proces*openbare-ruimte",
        c(Family::Proces) > 0.0 && about_public_space,
    );
    flag("ontkenning", input.negations > 0);
    flag(
        "besluit*ongenoegen",
        c(Family::Besluit) > 0.0 && c(Family::Ongenoegen) > 0.0,
    );
    flag(
        "raad*ongenoegen",
        c(Family::Raad) > 0.0 && c(Family::Ongenoegen) > 0.0,
    );
    flag("transcript", input.transcript);
    flag(&format!("channel={}", input.channel), true);
    flag(&format!("lang={}", input.lang.as_str()), true);
    flag("short", toks.len() < 12);
    flag("bias", true);

    out.sort_unstable_by_key(|(i, _)| *i);
    let mut v = SparseVec::default();
    for (i, x) in out {
        if v.idx.last() == Some(&i) {
            *v.val.last_mut().expect("val has an entry for every idx") += x;
        } else {
            v.idx.push(i);
            v.val.push(x);
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(text: &'a str, counts: &'a [u32; Family::ALL.len()]) -> ModelInput<'a> {
        ModelInput {
            text,
            subject: "",
            channel: Channel::Email,
            lang: Lang::Nl,
            family_counts: counts,
            negations: 0,
            transcript: false,
        }
    }

    #[test]
    fn indices_are_sorted_unique_and_in_range() {
        let counts = [0; Family::ALL.len()];
        let v = extract(
            &input("De lantaarnpaal is kapot, de lantaarnpaal!", &counts),
            12,
        );
        assert!(v.idx.windows(2).all(|w| w[0] < w[1]));
        assert!(v.idx.iter().all(|&i| i < 4096));
        assert_eq!(v.idx.len(), v.val.len());
    }

    #[test]
    fn deterministic() {
        let counts = [1; Family::ALL.len()];
        let a = extract(&input("Ik ben teleurgesteld.", &counts), 18);
        let b = extract(&input("Ik ben teleurgesteld.", &counts), 18);
        assert_eq!(a, b);
    }

    #[test]
    fn empty_text_still_has_bias_and_facts() {
        let counts = [0; Family::ALL.len()];
        let v = extract(&input("", &counts), 18);
        assert!(v.idx.len() >= 3);
    }

    #[test]
    fn token_features_sum_to_the_text_groups_of_extract() {
        let counts = [0; Family::ALL.len()];
        let text = "Ik heb het al gemeld, de lamp is nog steeds kapot! Café 12b.";
        let bits = 18;
        // The text groups alone: extract minus extract of an empty text (same facts, but
        // "short" and the empty text's own features removed), so compare on the text keys.
        let full = extract(&input(text, &counts), bits);
        let mut summed: std::collections::BTreeMap<u32, f32> = Default::default();
        for t in token_features(text, bits) {
            for (i, v) in t.feats {
                *summed.entry(i).or_default() += v;
            }
        }
        assert!(!summed.is_empty());
        for (i, v) in &summed {
            let pos = full
                .idx
                .iter()
                .position(|x| x == i)
                .expect("feature present");
            assert!(
                (full.val[pos] - v).abs() < 1e-4,
                "feature {i}: {} vs {v}",
                full.val[pos]
            );
        }
        // Every token's span is the word in the text.
        let words: Vec<&str> = token_features(text, bits)
            .iter()
            .map(|t| &text[t.start..t.end])
            .collect();
        assert_eq!(words[0], "Ik");
        assert_eq!(words[words.len() - 2], "Café");
        assert_eq!(tokens(text).len(), words.len());
    }

    #[test]
    fn digits_collapse() {
        assert_eq!(
            tokens("Merelstraat 22, 3511AB"),
            vec!["merelstraat", "00", "0000ab"]
        );
    }
}
