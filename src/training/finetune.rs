//! Fine-tuning the encoder's top layers (`herken train --fine-tune`, feature "libtorch").
//!
//! The lower `n − k` transformer layers stay frozen: their output (the *boundary states*, one
//! `[tokens × 384]` matrix per text) is computed once with rust-bert and cached on disk in f16
//! beside the encoder (`states-<encoder>-after<n−k>.bin`), so an epoch only runs the top `k`
//! layers, forward and backward. The top layers start from the base weights and are trained
//! together with a temporary linear head (on the L2-normalised mean of the output, as the
//! encoder pools) with AdamW, class-balanced cross-entropy, linear warm-up and decay, dropout
//! as in BERT, and gradient clipping. After each epoch the held-out split is scored; the
//! epoch with the best held-out macro-F1 is kept.
//!
//! The result is written as f16 (`models/encoder-top.safetensors`, see
//! [`crate::pipeline::model::encoder::TopLayers`]); the weights are rounded to f16 *before*
//! the final embeddings are computed, so the head that `herken train` fits afterwards sees
//! exactly what the runtimes compute from the file.
//!
//! Deterministic for a seed on one machine: the head's initialisation and dropout come from
//! libtorch's generator seeded here, the batch order from `SplitMix`, and the thread count
//! is fixed by the options.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::anyhow;
use rust_bert::bert::{BertConfig, BertEmbeddings, BertLayer, BertModel};
use tch::nn::{self, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::domain::Label;
use crate::error::{Error, Result};
use crate::eval::{self, Scored};
use crate::pipeline::model::encoder::Encoder;
use crate::pipeline::model::half::{f16_to_f32, f32_to_f16};
use crate::pipeline::model::sparse::SplitMix;
use crate::training::embed_cache;
use crate::training::{FineTuneOptions, FineTuneReport, Progress};

/// The boundary states of a set of texts: f16 matrices `[tokens × hidden]`, one per text.
pub struct BoundaryStates {
    hidden: usize,
    /// (offset into `data` in elements, tokens) per text, in the order asked for.
    index: Vec<(usize, usize)>,
    data: Vec<u16>,
}

impl BoundaryStates {
    /// Number of texts.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Tokens of text `i`.
    pub fn tokens(&self, i: usize) -> usize {
        self.index[i].1
    }

    /// A padded batch: states `[B, T, h]` (f32) and mask `[B, T]` (1 for tokens).
    fn batch(&self, items: &[usize]) -> (Tensor, Tensor) {
        let t_max = items.iter().map(|&i| self.tokens(i)).max().unwrap_or(1);
        let h = self.hidden;
        let mut x = vec![0f32; items.len() * t_max * h];
        let mut m = vec![0f32; items.len() * t_max];
        for (b, &i) in items.iter().enumerate() {
            let (off, t) = self.index[i];
            for (o, &v) in x[b * t_max * h..][..t * h]
                .iter_mut()
                .zip(&self.data[off..off + t * h])
            {
                *o = f16_to_f32(v);
            }
            m[b * t_max..][..t].fill(1.0);
        }
        let bsz = items.len() as i64;
        (
            Tensor::from_slice(&x).view([bsz, t_max as i64, h as i64]),
            Tensor::from_slice(&m).view([bsz, t_max as i64]),
        )
    }
}

fn model_error(e: impl std::fmt::Display) -> Error {
    Error::Model(format!("fine-tuning: {e}"))
}

fn read_config(encoder_dir: &Path) -> Result<BertConfig> {
    let path = encoder_dir.join("config.json");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::Model(format!("{}: not a BERT config: {e}", path.display())))
}

/// The on-disk cache of boundary states for one base encoder and boundary: records of the
/// text's SHA-256 (32 bytes), its token count (u32 LE) and tokens × hidden f16 values (LE).
/// Appended as states are computed; a torn last record is ignored.
fn states_path(cache_dir: &Path, encoder_id: &str, boundary: usize) -> PathBuf {
    let safe: String = encoder_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    cache_dir.join(format!("states-{safe}-after{boundary}.bin"))
}

fn read_states(path: &Path, hidden: usize) -> HashMap<[u8; 32], Vec<u16>> {
    let mut map = HashMap::new();
    let Ok(bytes) = std::fs::read(path) else {
        return map;
    };
    let mut at = 0usize;
    while at + 36 <= bytes.len() {
        let key: [u8; 32] = bytes[at..at + 32].try_into().expect("32 bytes");
        let t = u32::from_le_bytes(bytes[at + 32..at + 36].try_into().expect("4 bytes")) as usize;
        let end = at + 36 + t * hidden * 2;
        if end > bytes.len() {
            break;
        }
        let v = bytes[at + 36..end]
            .chunks_exact(2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        map.insert(key, v);
        at = end;
    }
    map
}

/// A computed boundary state: the text's key and its f16 matrix.
type StateRecord = ([u8; 32], Vec<u16>);

/// The output of the lower `boundary` layers of the base encoder in `encoder_dir` for every
/// text (tokenised as `encoder` does), from the cache in `cache_dir` or computed (and cached).
pub fn boundary_states(
    encoder_dir: &Path,
    encoder: &Encoder,
    boundary: usize,
    texts: &[&str],
    cache_dir: &Path,
    threads: usize,
    progress: Progress<'_>,
) -> Result<BoundaryStates> {
    let mut config = read_config(encoder_dir)?;
    let hidden = config.hidden_size as usize;
    if boundary == 0 || boundary >= config.num_hidden_layers as usize {
        return Err(Error::Model(format!(
            "fine-tuning: the frozen part must keep 1 to {} of the {} layers, not {boundary}",
            config.num_hidden_layers - 1,
            config.num_hidden_layers
        )));
    }
    let path = states_path(cache_dir, encoder.base_id(), boundary);
    let mut cached = read_states(&path, hidden);
    let mut missing: Vec<&str> = texts
        .iter()
        .copied()
        .filter(|t| !cached.contains_key(&embed_cache::key(t)))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        // Texts side by side, one libtorch thread each (as `herken train` embeds): OpenMP's
        // threads on one small sequence wait on each other, and far more so when another
        // process holds a core.
        config.num_hidden_layers = boundary as i64;
        tch::set_num_threads(1);
        let file = std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?,
        );
        let done = std::sync::atomic::AtomicUsize::new(0);
        let per = missing.len().div_ceil(threads.max(1));
        let results: Vec<Result<Vec<StateRecord>>> = std::thread::scope(|s| {
            let handles: Vec<_> = missing
                .chunks(per.max(1))
                .map(|part| {
                    let (config, file, done, path) = (&config, &file, &done, &path);
                    s.spawn(move || -> Result<Vec<StateRecord>> {
                        let lower = LowerModel::load(encoder_dir, config)?;
                        let mut out = Vec::with_capacity(part.len());
                        for text in part {
                            let ids = encoder.token_ids(text)?;
                            let half = lower.states(&ids)?;
                            let key = embed_cache::key(text);
                            let mut rec = Vec::with_capacity(36 + half.len() * 2);
                            rec.extend_from_slice(&key);
                            rec.extend_from_slice(&(ids.len() as u32).to_le_bytes());
                            for v in &half {
                                rec.extend_from_slice(&v.to_le_bytes());
                            }
                            file.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .write_all(&rec)
                                .map_err(|e| Error::io(path, e))?;
                            out.push((key, half));
                            done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(out)
                    })
                })
                .collect();
            // Progress from this thread: the callback need not be shareable.
            while !handles.iter().all(|h| h.is_finished()) {
                progress(
                    done.load(std::sync::atomic::Ordering::Relaxed),
                    missing.len(),
                    "frozen layers",
                );
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            handles
                .into_iter()
                .map(|h| h.join().expect("boundary-state thread"))
                .collect()
        });
        for r in results {
            for (k, v) in r? {
                cached.insert(k, v);
            }
        }
        progress(missing.len(), missing.len(), "frozen layers");
    }
    let mut index = Vec::with_capacity(texts.len());
    let mut data = Vec::new();
    for t in texts {
        let v = cached
            .get(&embed_cache::key(t))
            .ok_or_else(|| model_error("a boundary state is missing after computing it"))?;
        index.push((data.len(), v.len() / hidden));
        data.extend_from_slice(v);
    }
    Ok(BoundaryStates {
        hidden,
        index,
        data,
    })
}

/// The frozen lower layers of the base encoder, for computing boundary states.
struct LowerModel {
    model: BertModel<BertEmbeddings>,
    _vs: nn::VarStore,
}

impl LowerModel {
    /// `config` with `num_hidden_layers` set to the boundary; weights from `encoder_dir`.
    fn load(encoder_dir: &Path, config: &BertConfig) -> Result<LowerModel> {
        let mut vs = nn::VarStore::new(Device::Cpu);
        let model = BertModel::<BertEmbeddings>::new_with_optional_pooler(vs.root(), config, false);
        let weights = encoder_dir.join("model.safetensors");
        vs.load(&weights)
            .map_err(|e| Error::Model(format!("loading {}: {e}", weights.display())))?;
        vs.freeze();
        Ok(LowerModel { model, _vs: vs })
    }

    /// The boundary state of one token sequence, as f16 bits `[tokens × hidden]`.
    fn states(&self, ids: &[u32]) -> Result<Vec<u16>> {
        let _no_grad = tch::no_grad_guard();
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let t = ids.len() as i64;
        let input = Tensor::from_slice(&ids).unsqueeze(0);
        let mask = Tensor::ones([1, t], (Kind::Int64, Device::Cpu));
        let out = self
            .model
            .forward_t(
                Some(&input),
                Some(&mask),
                None,
                None,
                None,
                None,
                None,
                false,
            )
            .map_err(model_error)?;
        let flat = Vec::<f32>::try_from(out.hidden_state.reshape([-1])).map_err(model_error)?;
        Ok(flat.iter().map(|&v| f32_to_f16(v)).collect())
    }
}

/// The trainable top: `k` BERT layers and a temporary linear head.
pub struct TopModel {
    vs: nn::VarStore,
    layers: Vec<BertLayer>,
    head: nn::Linear,
    first: usize,
    scale: f64,
}

impl TopModel {
    /// Layers `first..n` of the base encoder in `encoder_dir`, and a fresh head (seeded).
    pub fn new(encoder_dir: &Path, first: usize, seed: u64) -> Result<TopModel> {
        let config = read_config(encoder_dir)?;
        let n = config.num_hidden_layers as usize;
        tch::manual_seed(seed as i64);
        let mut vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let layers: Vec<BertLayer> = (first..n)
            .map(|i| BertLayer::new(&root / "encoder" / "layer" / i, &config))
            .collect();
        let head = nn::linear(
            root.set_group(1) / "finetune_head",
            config.hidden_size,
            Label::COUNT as i64,
            Default::default(),
        );
        let weights = encoder_dir.join("model.safetensors");
        let missing = vs
            .load_partial(&weights)
            .map_err(|e| Error::Model(format!("loading {}: {e}", weights.display())))?;
        if missing.iter().any(|m| !m.starts_with("finetune_head")) {
            return Err(model_error(format!(
                "{} lacks {}",
                weights.display(),
                missing.join(", ")
            )));
        }
        Ok(TopModel {
            vs,
            layers,
            head,
            first,
            scale: (config.hidden_size as f64).sqrt(),
        })
    }

    /// The L2-normalised mean of the top's output over the tokens: `[B, h]`.
    fn pooled(&self, x: &Tensor, mask: &Tensor, train: bool) -> Tensor {
        let ext = ((mask.ones_like() - mask) * -10000.0)
            .unsqueeze(1)
            .unsqueeze(1);
        let mut h = x.shallow_clone();
        for l in &self.layers {
            h = l.forward_t(&h, Some(&ext), None, None, train).hidden_state;
        }
        let m = mask.unsqueeze(-1);
        let sum = (h * &m).sum_dim_intlist(1, false, Kind::Float);
        let mean = sum / m.sum_dim_intlist(1, false, Kind::Float);
        let norm = mean.norm_scalaropt_dim(2, 1, true).clamp_min(1e-12);
        mean / norm
    }

    fn logits(&self, pooled: &Tensor) -> Tensor {
        (pooled * self.scale).apply(&self.head)
    }

    /// The layers' weights by their names in the encoder (`encoder.layer.{i}.…`).
    fn layer_tensors(&self) -> Vec<(String, Tensor)> {
        let mut v: Vec<(String, Tensor)> = self
            .vs
            .variables()
            .into_iter()
            .filter(|(k, _)| k.starts_with("encoder.layer."))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Round the layers' weights to f16 and back, as the file will hold them.
    fn round_to_f16(&mut self) {
        let _no_grad = tch::no_grad_guard();
        for (_, mut t) in self.layer_tensors() {
            let r = t.to_kind(Kind::Half).to_kind(Kind::Float);
            t.copy_(&r);
        }
    }

    /// Embeddings (as the encoder makes them) of the texts `items` of `states`.
    pub fn embed(&self, states: &BoundaryStates, items: &[usize]) -> Result<Vec<Vec<f32>>> {
        let _no_grad = tch::no_grad_guard();
        let mut out = vec![Vec::new(); items.len()];
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by_key(|&i| states.tokens(items[i]));
        for chunk in order.chunks(32) {
            let idx: Vec<usize> = chunk.iter().map(|&i| items[i]).collect();
            let (x, m) = states.batch(&idx);
            let p = self.pooled(&x, &m, false);
            let flat = Vec::<f32>::try_from(p.reshape([-1])).map_err(model_error)?;
            for (row, &i) in flat.chunks_exact(states.hidden).zip(chunk) {
                out[i] = row.to_vec();
            }
        }
        Ok(out)
    }

    /// Write the layers as f16 with metadata naming the base encoder and the layers.
    ///
    /// The safetensors file is written here rather than by the `safetensors` crate, whose
    /// metadata is a `HashMap` serialised in a random order: the same seed must give the same
    /// bytes. Layout: header length (u64 LE), the JSON header (sorted keys, padded with spaces
    /// to a multiple of 8), then the tensors' data back to back in the header's order.
    pub fn save(&self, path: &Path, base_encoder: &str) -> Result<()> {
        use std::collections::BTreeMap;
        let n_layers = self.layers.len();
        let layers: Vec<String> = (self.first..self.first + n_layers)
            .map(|l| l.to_string())
            .collect();
        let mut header: BTreeMap<String, serde_json::Value> = BTreeMap::new();
        header.insert(
            "__metadata__".into(),
            serde_json::json!({
                "base_encoder": base_encoder,
                "format": "herken fine-tuned encoder layers",
                "layers": layers.join(","),
            }),
        );
        let mut data: Vec<u8> = Vec::new();
        for (name, t) in self.layer_tensors() {
            let shape: Vec<usize> = t.size().iter().map(|&d| d as usize).collect();
            let flat = Vec::<f32>::try_from(t.reshape([-1])).map_err(model_error)?;
            let start = data.len();
            data.extend(flat.iter().flat_map(|&v| f32_to_f16(v).to_le_bytes()));
            header.insert(
                name,
                serde_json::json!({"dtype": "F16", "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let mut head = serde_json::to_vec(&header).map_err(model_error)?;
        while head.len() % 8 != 0 {
            head.push(b' ');
        }
        let mut bytes = Vec::with_capacity(8 + head.len() + data.len());
        bytes.extend_from_slice(&(head.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&head);
        bytes.extend_from_slice(&data);
        let tmp = path.with_extension("safetensors.tmp");
        std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
    }
}

/// Batches of indices with similar lengths (little padding), in a seeded order.
fn batches(
    states: &BoundaryStates,
    idx: &[usize],
    size: usize,
    rng: &mut SplitMix,
) -> Vec<Vec<usize>> {
    let mut shuffled = idx.to_vec();
    rng.shuffle(&mut shuffled);
    // Sort within windows of 50 batches by length, then shuffle the batches.
    let mut out = Vec::new();
    for window in shuffled.chunks(size * 50) {
        let mut w = window.to_vec();
        w.sort_by_key(|&i| states.tokens(i));
        out.extend(w.chunks(size).map(|c| c.to_vec()));
    }
    rng.shuffle(&mut out);
    out
}

fn macro_f1(
    model: &TopModel,
    states: &BoundaryStates,
    idx: &[usize],
    labels: &[Label],
) -> Result<f64> {
    let _no_grad = tch::no_grad_guard();
    let mut scored = Vec::with_capacity(idx.len());
    for chunk in idx.chunks(32) {
        let (x, m) = states.batch(chunk);
        let p = model
            .logits(&model.pooled(&x, &m, false))
            .softmax(-1, Kind::Float);
        let flat = Vec::<f32>::try_from(p.reshape([-1])).map_err(model_error)?;
        for (row, &i) in flat.chunks_exact(Label::COUNT).zip(chunk) {
            let (k, &c) = row
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .expect("five scores");
            scored.push(Scored {
                gold: labels[i],
                predicted: Label::from_index(k),
                confidence: c,
            });
        }
    }
    Ok(eval::metrics(&scored).macro_f1)
}

/// Train the top `opts.layers` layers on `train_idx` (states and labels indexed alike), score
/// every epoch on `held_idx`, and keep the best epoch's weights, rounded to f16.
#[allow(clippy::too_many_arguments)]
pub fn fine_tune(
    encoder_dir: &Path,
    states: &BoundaryStates,
    labels: &[Label],
    train_idx: &[usize],
    held_idx: &[usize],
    opts: &FineTuneOptions,
    seed: u64,
    progress: Progress<'_>,
) -> Result<(TopModel, FineTuneReport)> {
    let config = read_config(encoder_dir)?;
    let n = config.num_hidden_layers as usize;
    if opts.layers == 0 || opts.layers >= n {
        return Err(model_error(format!(
            "--top-layers must be 1 to {}, not {}",
            n - 1,
            opts.layers
        )));
    }
    if train_idx.is_empty() || held_idx.is_empty() {
        return Err(model_error("an empty training or held-out split"));
    }
    tch::set_num_threads(opts.threads.max(1) as i32);
    let mut model = TopModel::new(encoder_dir, n - opts.layers, seed)?;
    let mut opt = nn::AdamW {
        wd: opts.weight_decay,
        ..Default::default()
    }
    .build(&model.vs, opts.learning_rate)
    .map_err(model_error)?;
    // Class weights: balanced, as the other models.
    let mut counts = [0usize; Label::COUNT];
    for &i in train_idx {
        counts[labels[i].index()] += 1;
    }
    let weights: Vec<f32> = counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                train_idx.len() as f32 / (Label::COUNT * c) as f32
            }
        })
        .collect();
    let class_w = Tensor::from_slice(&weights);
    let mut rng = SplitMix::new(seed ^ 0xf1e7);
    let per_epoch = train_idx.len().div_ceil(opts.batch_size.max(1));
    let total = per_epoch * opts.epochs;
    let warm = ((total as f64 * opts.warmup).ceil() as usize).max(1);
    let mut report = FineTuneReport::default();
    let mut best: Option<(f64, Vec<(String, Tensor)>)> = None;
    let mut step = 0usize;
    for epoch in 0..opts.epochs {
        let mut loss_sum = 0.0;
        let bs = batches(states, train_idx, opts.batch_size.max(1), &mut rng);
        for (b, batch) in bs.iter().enumerate() {
            let f = if step < warm {
                (step + 1) as f64 / warm as f64
            } else {
                ((total - step) as f64 / (total - warm).max(1) as f64).max(0.0)
            };
            opt.set_lr_group(0, opts.learning_rate * f);
            opt.set_lr_group(1, opts.head_learning_rate * f);
            let (x, m) = states.batch(batch);
            let y: Vec<i64> = batch.iter().map(|&i| labels[i].index() as i64).collect();
            let y = Tensor::from_slice(&y);
            let logp = model
                .logits(&model.pooled(&x, &m, true))
                .log_softmax(-1, Kind::Float);
            let w = class_w.index_select(0, &y);
            let picked = logp.gather(1, &y.unsqueeze(1), false).squeeze_dim(1);
            let loss = -(picked * &w).sum(Kind::Float) / w.sum(Kind::Float);
            opt.zero_grad();
            loss.backward();
            opt.clip_grad_norm(1.0);
            opt.step();
            loss_sum += loss.double_value(&[]);
            step += 1;
            if b % 10 == 0 || b + 1 == bs.len() {
                progress(epoch * per_epoch + b + 1, total, "fine-tuning");
            }
        }
        let f1 = macro_f1(&model, states, held_idx, labels)?;
        report.train_loss.push(loss_sum / bs.len().max(1) as f64);
        report.heldout_macro_f1.push(f1);
        if best.as_ref().is_none_or(|(b, _)| f1 > *b + 1e-9) {
            let snapshot = model
                .layer_tensors()
                .into_iter()
                .map(|(k, t)| (k, t.detach().copy()))
                .collect();
            best = Some((f1, snapshot));
            report.best_epoch = epoch + 1;
        }
    }
    if let Some((_, snapshot)) = best {
        let _no_grad = tch::no_grad_guard();
        let vars = model.vs.variables();
        for (k, t) in snapshot {
            let mut v = vars
                .get(&k)
                .map(Tensor::shallow_clone)
                .ok_or_else(|| anyhow!("variable {k} vanished"))
                .map_err(model_error)?;
            v.copy_(&t);
        }
    }
    model.round_to_f16();
    Ok((model, report))
}

/// Write the fine-tuned layers to `path` and return the encoder id they make on `base`.
pub fn save(model: &TopModel, path: &Path, base: &Encoder) -> Result<String> {
    model.save(path, base.base_id())?;
    let top = crate::pipeline::model::encoder::TopLayers::read(path)?;
    Ok(top.encoder_id(base.base_id()))
}
