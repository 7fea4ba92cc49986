//! Query tokenisation with the model's real tokenizer.json (HF `tokenizers`).

use std::path::Path;

use anyhow::{anyhow, Context, Result};

/// The e5 query prefix.
pub const QUERY_PREFIX: &str = "query: ";

/// Wraps tokenizer.json: `<s> ▁query : ▁… </s>`, truncated to the model's 512 positions.
pub struct QueryTokenizer {
    inner: tokenizers::Tokenizer,
    max_len: usize,
}

impl QueryTokenizer {
    pub fn from_file(path: &Path, max_len: usize) -> Result<QueryTokenizer> {
        let inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("loading {}", path.display()))?;
        Ok(QueryTokenizer { inner, max_len })
    }

    /// Token ids of `"query: " + text` with `<s>`/`</s>`; over `max_len` the content is cut and
    /// the closing `</s>` kept.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self
            .inner
            .encode(format!("{QUERY_PREFIX}{text}"), true)
            .map_err(|e| anyhow!("tokenising: {e}"))?;
        let mut ids = enc.get_ids().to_vec();
        if ids.len() > self.max_len {
            let last = *ids.last().unwrap();
            ids.truncate(self.max_len - 1);
            ids.push(last);
        }
        Ok(ids)
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
