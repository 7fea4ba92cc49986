//! Query tokenisation for the encoder: the model's tokenizer.json (a SentencePiece Unigram
//! model with a precompiled normaliser and the Metaspace pre-tokeniser), read into a compact
//! table of its own.
//!
//! Why not the `tokenizers` crate's `Tokenizer`: it builds a byte trie of all 250 002 pieces
//! with a hash map per node, which took 1.2 s and about 200 MB at every start (and 0.3 s to
//! drop) — most of a one-shot `herken classify` and a third of the server's memory. Here the
//! pieces sit in one hash map (about 15 MB, 0.1 s to read), and the best segmentation is
//! found by the same Viterbi search over the pieces that start at each position (at most 16
//! characters long, so at most 16 look-ups per character). The crate still does the
//! normalisation (the precompiled character map and the whitespace rule, deserialised from
//! the same file), and the test `our_tokenizer_matches_the_reference_one` holds the ids equal
//! to the crate's on the whole corpus and on awkward inputs.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use tokenizers::{NormalizedString, Normalizer, NormalizerWrapper};

/// The e5 query prefix.
pub const QUERY_PREFIX: &str = "query: ";

/// The Metaspace replacement for a space, which starts every word.
const SPACE: char = '\u{2581}';

/// SentencePiece's penalty for an unknown character, below the least likely piece.
const UNK_PENALTY: f64 = 10.0;

#[derive(Deserialize)]
struct File {
    added_tokens: Vec<AddedToken>,
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: serde_json::Value,
    model: Model,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct Model {
    #[serde(rename = "type")]
    kind: String,
    vocab: Vec<(String, f64)>,
    unk_id: Option<u32>,
    #[serde(default)]
    byte_fallback: bool,
}

/// `<s> ▁query : ▁… </s>`, truncated to the model's 512 positions.
pub struct QueryTokenizer {
    normalizer: Option<NormalizerWrapper>,
    // Piece → (id, log-probability).
    pieces: HashMap<Box<str>, (u32, f64)>,
    // The longest piece, in characters.
    longest: usize,
    unk: (u32, f64),
    // Tokens matched in the raw text before anything else (`<s>`, `<mask>`, …).
    added: Vec<(String, u32)>,
    bos: u32,
    eos: u32,
}

impl QueryTokenizer {
    pub fn from_file(path: &Path) -> Result<QueryTokenizer> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        QueryTokenizer::from_json(&bytes).with_context(|| format!("loading {}", path.display()))
    }

    fn from_json(bytes: &[u8]) -> Result<QueryTokenizer> {
        let file: File = serde_json::from_slice(bytes)?;
        if file.model.kind != "Unigram" || file.model.byte_fallback {
            bail!(
                "model type {} (byte fallback {}): only a Unigram model without byte fallback is \
                 supported",
                file.model.kind,
                file.model.byte_fallback
            );
        }
        let pre = &file.pre_tokenizer;
        let replacement = pre["replacement"].as_str().and_then(|s| s.chars().next());
        let prepends = pre["add_prefix_space"].as_bool() == Some(true)
            || pre["prepend_scheme"].as_str() == Some("always");
        if pre["type"] != "Metaspace" || replacement != Some(SPACE) || !prepends {
            bail!("pre-tokenizer {pre}: only Metaspace with '▁', prepended always, is supported");
        }
        let n = file.model.vocab.len();
        let min_score = file
            .model
            .vocab
            .iter()
            .map(|(_, s)| *s)
            .fold(f64::INFINITY, f64::min);
        let unk_id = file
            .model
            .unk_id
            .ok_or_else(|| anyhow!("the model has no unk_id"))?;
        let mut pieces = HashMap::with_capacity(n);
        let mut longest = 0;
        for (id, (piece, score)) in file.model.vocab.into_iter().enumerate() {
            longest = longest.max(piece.chars().count());
            // The first of two equal pieces wins, as in the reference trie.
            pieces
                .entry(piece.into_boxed_str())
                .or_insert((id as u32, score));
        }
        let special = |name: &str| {
            file.added_tokens
                .iter()
                .find(|t| t.content == name)
                .map(|t| t.id)
                .ok_or_else(|| anyhow!("added token {name} missing"))
        };
        let (bos, eos) = (special("<s>")?, special("</s>")?);
        if let Some(t) = file.added_tokens.iter().find(|t| t.normalized) {
            bail!(
                "added token {}: normalised added tokens are not supported",
                t.content
            );
        }
        // Longest first, so that a token containing another one wins.
        let mut added: Vec<(String, u32)> = file
            .added_tokens
            .into_iter()
            .map(|t| (t.content, t.id))
            .collect();
        added.sort_by_key(|(c, _)| std::cmp::Reverse(c.len()));
        Ok(QueryTokenizer {
            normalizer: file.normalizer,
            pieces,
            longest,
            unk: (unk_id, min_score - UNK_PENALTY),
            added,
            bos,
            eos,
        })
    }

    /// Token ids of `"query: " + text` with `<s>`/`</s>`, at most `max_tokens` of them: over
    /// that the content is cut and the closing `</s>` kept. Words past the cut are not
    /// segmented at all (a page-long text costs what its first `max_tokens` tokens cost).
    pub fn encode(&self, text: &str, max_tokens: usize) -> Result<Vec<u32>> {
        let max_tokens = max_tokens.max(2);
        let text = format!("{QUERY_PREFIX}{text}");
        let mut ids = vec![self.bos];
        let mut rest = text.as_str();
        while !rest.is_empty() && ids.len() < max_tokens {
            // The first added token in the rest (the longest where two start together).
            let next = self
                .added
                .iter()
                .filter_map(|(c, id)| rest.find(c.as_str()).map(|at| (at, c.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let (segment, after) = match next {
                Some((at, len, id)) => (&rest[..at], Some((id, &rest[at + len..]))),
                None => (rest, None),
            };
            if !segment.is_empty() {
                self.encode_segment(segment, &mut ids, max_tokens)?;
            }
            match after {
                Some((id, tail)) => {
                    ids.push(id);
                    rest = tail;
                }
                None => break,
            }
        }
        ids.truncate(max_tokens - 1);
        ids.push(self.eos);
        Ok(ids)
    }

    /// Normalise a segment between added tokens, put `▁` for spaces and before it, and
    /// segment every word (a `▁` and what follows up to the next one).
    fn encode_segment(&self, segment: &str, ids: &mut Vec<u32>, max_tokens: usize) -> Result<()> {
        let mut normalized = NormalizedString::from(segment);
        if let Some(n) = &self.normalizer {
            n.normalize(&mut normalized)
                .map_err(|e| anyhow!("normalising: {e}"))?;
        }
        let s = normalized.get();
        if s.is_empty() {
            return Ok(());
        }
        let mut spaced = String::with_capacity(s.len() + 3);
        if !s.starts_with([' ', SPACE]) {
            spaced.push(SPACE);
        }
        spaced.extend(s.chars().map(|c| if c == ' ' { SPACE } else { c }));
        let mut start = 0;
        for (at, _) in spaced.match_indices(SPACE).skip(1) {
            if ids.len() >= max_tokens {
                return Ok(());
            }
            self.viterbi(&spaced[start..at], ids);
            start = at;
        }
        if ids.len() < max_tokens {
            self.viterbi(&spaced[start..], ids);
        }
        Ok(())
    }

    /// The most likely segmentation of `word` into pieces (unknown characters as `<unk>`,
    /// runs of them fused into one), appended to `ids`.
    fn viterbi(&self, word: &str, ids: &mut Vec<u32>) {
        // best[i]: (score, start, id) of the best path ending at byte i.
        let n = word.len();
        let mut best: Vec<Option<(f64, usize, u32)>> = vec![None; n + 1];
        best[0] = Some((0.0, 0, 0));
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain(std::iter::once(n))
            .collect();
        for (ci, &start) in bounds[..bounds.len() - 1].iter().enumerate() {
            let Some((here, _, _)) = best[start] else {
                continue;
            };
            let mut single = false;
            // Shorter pieces first: on equal scores the first found stays, as in the reference.
            for &end in &bounds[ci + 1..bounds.len().min(ci + 1 + self.longest)] {
                if let Some(&(id, score)) = self.pieces.get(&word[start..end]) {
                    let candidate = here + score;
                    if best[end].is_none_or(|(s, _, _)| candidate > s) {
                        best[end] = Some((candidate, start, id));
                    }
                    single |= end == bounds[ci + 1];
                }
            }
            if !single {
                let end = bounds[ci + 1];
                let candidate = here + self.unk.1;
                if best[end].is_none_or(|(s, _, _)| candidate > s) {
                    best[end] = Some((candidate, start, self.unk.0));
                }
            }
        }
        let mut path = Vec::new();
        let mut end = n;
        while end > 0 {
            let (_, start, id) = best[end].expect("every character boundary is reachable");
            // Consecutive unknowns become one <unk>.
            if !(id == self.unk.0 && path.last() == Some(&self.unk.0)) {
                path.push(id);
            }
            end = start;
        }
        ids.extend(path.into_iter().rev());
    }
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        ab += x as f64 * y as f64;
        aa += x as f64 * x as f64;
        bb += y as f64 * y as f64;
    }
    ab / (aa.sqrt() * bb.sqrt())
}
