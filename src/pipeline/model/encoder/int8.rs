//! The int8 runtime (feature "libtorch", runtime "int8"): the same BERT forward pass as the
//! other two, on libtorch, with every linear map in int8 through FBGEMM (weights quantised per
//! output channel, activations per call) and the rest (attention, softmax, GELU, LayerNorm)
//! in f32. Weights come memory-mapped from the quantised file (`quantized.rs`); the word
//! embeddings stay in the file and only the rows of a message's tokens are read from it.
//!
//! Per output channel on a per-tensor kernel: FBGEMM's `fbgemm_linear_int8_weight_fp32_activation`
//! takes one weight scale, so the file stores `q = W / s` per row (`s` the row's scale), the
//! kernel runs with scale 1 and bias `b / s`, and the output is multiplied by `s`:
//! `s ⊙ (x·qᵀ + b/s) = x·Wᵀ + b`, up to rounding.
//!
//! Threads: the FBGEMM kernel runs on the calling thread, and libtorch's own ops are kept there
//! too (one intra-op thread). [`Encoder::embed_ids`] takes how many threads the message may
//! use; with more than one, a [`Team`] shares each layer by rows (tokens): each thread attends
//! from its rows' queries to all keys and runs the rest of the layer and the next layer's
//! query/key/value map on its rows, one hand-over per layer (see [`Encoder::layer`]) — so
//! one message at the desk uses both cores while a loaded server gives each message one.
//! Measured on the 2-core machine, `herken load` on benches/data/mix.jsonl at concurrency 1:
//! p50 18–20 ms against 23–27 ms with the rows of each linear map split over rayon.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use safetensors::Dtype;
use tch::{Kind, Tensor};

use super::bert::BertConfig;
use super::quantized::{self, Mapped};
use super::team::{with_team, Job, Team};

// Whether libtorch has printed (to /dev/null) its deprecation notice for packing, and for the
// int8 product; see `without_stderr`.
static PACK_NOTICE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static PRODUCT_NOTICE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Linear {
    // The int8 weight, `[out, in]`: FBGEMM reads its shape, the packed copy its values.
    q: Tensor,
    packed: Tensor,
    col_offsets: Tensor,
    bias_over_scale: Tensor,
    scale: Tensor,
    // Multiplies the input first, channel by channel (see `quantized::smoothing`).
    smooth: Option<Tensor>,
}

impl Linear {
    fn load(
        st: &safetensors::SafeTensors,
        prefix: &str,
        n_out: usize,
        n_in: usize,
    ) -> Result<Linear> {
        let q = quantized::raw(st, &format!("{prefix}.q"), Dtype::I8, &[n_out, n_in])?;
        let scale = quantized::floats(st, &format!("{prefix}.scale"), &[n_out])?;
        let bias = quantized::floats(st, &format!("{prefix}.bias"), &[n_out])?;
        let col_offsets: Vec<i32> = q
            .chunks_exact(n_in)
            .map(|row| row.iter().map(|&v| v as i8 as i32).sum())
            .collect();
        let bias_over_scale: Vec<f32> = bias.iter().zip(&scale).map(|(b, s)| b / s).collect();
        let qt = Tensor::f_from_data_size(q, &[n_out as i64, n_in as i64], Kind::Int8)
            .map_err(|e| anyhow!("{prefix}: {e}"))?;
        let packed = without_stderr(&PACK_NOTICE, || qt.f_fbgemm_pack_quantized_matrix())
            .map_err(|e| anyhow!("{prefix}: packing for FBGEMM: {e}"))?;
        let smooth = match st.tensor(&format!("{prefix}.smooth")) {
            Ok(_) => Some(Tensor::from_slice(&quantized::floats(
                st,
                &format!("{prefix}.smooth"),
                &[n_in],
            )?)),
            Err(_) => None,
        };
        Ok(Linear {
            smooth,
            q: qt,
            packed,
            col_offsets: Tensor::from_slice(&col_offsets),
            bias_over_scale: Tensor::from_slice(&bias_over_scale),
            scale: Tensor::from_slice(&scale),
        })
    }

    /// `x·Wᵀ + b` for `x` of shape `[rows, in]`.
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let smoothed;
        let x = match &self.smooth {
            Some(m) => {
                smoothed = x * m;
                &smoothed
            }
            None => x,
        };
        let mut y = x
            .f_fbgemm_linear_int8_weight_fp32_activation(
                &self.q,
                &self.packed,
                &self.col_offsets,
                tch::Scalar::float(1.0),
                tch::Scalar::int(0),
                &self.bias_over_scale,
            )
            .map_err(|e| anyhow!("int8 linear: {e}"))?;
        // In place: the product is this call's own tensor (one allocation fewer per map).
        y *= &self.scale;
        Ok(y)
    }
}

// SAFETY: see the note on `Encoder`: created in `Linear::load`, then only read.
unsafe impl Sync for Linear {}
// SAFETY: as for `Linear`: created in `Norm::load`, then only read.
unsafe impl Sync for Norm {}
// SAFETY: a layer is its linear maps and norms, each Sync as above.
unsafe impl Sync for Layer {}

struct Norm {
    g: Tensor,
    b: Tensor,
}

impl Norm {
    fn load(st: &safetensors::SafeTensors, prefix: &str, h: usize) -> Result<Norm> {
        Ok(Norm {
            g: Tensor::from_slice(&quantized::floats(st, &format!("{prefix}.weight"), &[h])?),
            b: Tensor::from_slice(&quantized::floats(st, &format!("{prefix}.bias"), &[h])?),
        })
    }

    fn forward(&self, x: &Tensor, h: usize, eps: f64) -> Tensor {
        x.layer_norm([h as i64], Some(&self.g), Some(&self.b), eps, false)
    }
}

struct Layer {
    qkv: Linear,
    ao: Linear,
    aln: Norm,
    fi: Linear,
    fo: Linear,
    oln: Norm,
}

/// The int8 model.
pub struct Encoder {
    config: BertConfig,
    map: Mapped,
    // Byte range of the F16 word table inside the file, read row by row (`Mapped::read_at`).
    word: (usize, usize),
    pos: Vec<f32>,
    type0: Vec<f32>,
    eln: Norm,
    layers: Vec<Layer>,
}

// SAFETY: as for the rust-bert runtime (torch.rs): the tensors are created in `load` and only
// read afterwards — by FBGEMM and libtorch's CPU ops under `no_grad`, which may read shared
// tensors from several threads at once. No in-place call on a weight is reachable. (A pass's
// own output buffers are written in place by its threads, each through a view of its own
// rows, see `Encoder::layer`: disjoint memory, read only after every thread is done.)
unsafe impl Sync for Encoder {}

impl Encoder {
    /// Map the quantised file of encoder `id` in `dir`, making it first when it is missing or
    /// stale (from model.safetensors and the fine-tuned layers of `top`).
    pub fn load(
        dir: &Path,
        config: BertConfig,
        top: Option<&super::TopLayers>,
        id: &str,
    ) -> Result<Encoder> {
        // Packing and the warm-up stay on this thread (see embed_ids).
        tch::set_num_threads(1);
        let path = quantized::path_for(dir, id);
        let map = match Mapped::open(&path, id) {
            Ok(m) => m,
            Err(_) => {
                quantized::build(dir, &config, top, id, &path)
                    .with_context(|| format!("making the int8 weights {}", path.display()))?;
                Mapped::open(&path, id)?
            }
        };
        let (h, ff) = (config.hidden_size, config.intermediate_size);
        let st = map.tensors()?;
        let word_view = st
            .tensor("embeddings.word")
            .context("tensor embeddings.word missing")?;
        if word_view.dtype() != Dtype::F16 || word_view.shape() != [config.vocab_size, h] {
            return Err(anyhow!(
                "embeddings.word: {:?} {:?}, expected F16 [{}, {h}]",
                word_view.dtype(),
                word_view.shape(),
                config.vocab_size
            ));
        }
        let base = map.bytes().as_ptr() as usize;
        let start = word_view.data().as_ptr() as usize - base;
        let word = (start, word_view.data().len());
        let pos = quantized::floats(
            &st,
            "embeddings.position",
            &[config.max_position_embeddings, h],
        )?;
        let type0 = quantized::floats(&st, "embeddings.type0", &[h])?;
        let eln = Norm::load(&st, "embeddings.norm", h)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        let dims = |m: &str| match m {
            "qkv" => (3 * h, h),
            "fi" => (ff, h),
            "fo" => (h, ff),
            _ => (h, h),
        };
        for l in 0..config.num_hidden_layers {
            let lin = |m: &str| {
                let (o, i) = dims(m);
                Linear::load(&st, &format!("layer.{l}.{m}"), o, i)
            };
            layers.push(Layer {
                qkv: lin("qkv")?,
                ao: lin("ao")?,
                aln: Norm::load(&st, &format!("layer.{l}.aln"), h)?,
                fi: lin("fi")?,
                fo: lin("fo")?,
                oln: Norm::load(&st, &format!("layer.{l}.oln"), h)?,
            });
        }
        drop(st);
        let encoder = Encoder {
            config,
            map,
            word,
            pos,
            type0,
            eln,
            layers,
        };
        // A first pass warms the kernels, and lets libtorch print its once-per-process notice
        // that these FBGEMM ops are deprecated (they are what libtorch 2.4 offers from C++
        // for dynamic int8) where nobody has to read it.
        without_stderr(&PRODUCT_NOTICE, || {
            encoder.embed_ids(&[0, 5, 2], None, false, 1)
        })?;
        Ok(encoder)
    }

    /// Keep only the first `depth` transformer layers (the rest are freed): the embedding is
    /// then the mean of layer `depth`'s states. Callers check `depth` against the model.
    pub fn truncate(&mut self, depth: usize) {
        self.layers.truncate(depth);
    }

    /// Embedding of a token id sequence (checked by the caller), and the L2-normalised mean
    /// of the hidden states after `tap` layers when asked; on `threads` threads. With
    /// `stop_at_tap` the pass ends at the tap: the embedding is then empty.
    pub fn embed_ids(
        &self,
        ids: &[u32],
        tap: Option<usize>,
        stop_at_tap: bool,
        threads: usize,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let c = &self.config;
        let (h, t) = (c.hidden_size, ids.len());
        let eps = c.layer_norm_eps;
        let _no_grad = tch::no_grad_guard();
        // libtorch's own ops (attention, LayerNorm, GELU) stay on this thread: an OpenMP team
        // beside the team's threads would spin against them on few cores (measured with
        // rayon: 10× slower).
        tch::set_num_threads(1);
        let mut x = vec![0f32; t * h];
        let mut bytes = vec![0u8; h * 2];
        for (i, &id) in ids.iter().enumerate() {
            let row = &mut x[i * h..][..h];
            let at = id as usize * h * 2;
            if at + h * 2 > self.word.1 {
                return Err(anyhow!("token id {id} outside the word table"));
            }
            self.map.read_at(self.word.0 + at, &mut bytes)?;
            quantized::f16_into(&bytes, row);
            for ((o, p), ty) in row.iter_mut().zip(&self.pos[i * h..][..h]).zip(&self.type0) {
                *o += p + ty;
            }
        }
        let mut x = self
            .eln
            .forward(&Tensor::from_slice(&x).view([t as i64, h as i64]), h, eps);
        let n = self.layers.len();
        // Layers run: all of them, or up to the tap when the pass stops there.
        let end = match (tap, stop_at_tap) {
            (Some(k), true) => k.min(n),
            _ => n,
        };
        let mut tapped = None;
        // A team only when the rows make more than one part.
        let parts = row_parts(t as i64, threads);
        with_team(parts.len(), |team| {
            let mut qkv = match self.layers.first() {
                Some(first) if end > 0 => Some(rows(team, &parts, |(a, len)| {
                    let x = x.narrow(0, a, len);
                    Box::new(move || first.qkv.forward(&x))
                })?),
                _ => None,
            };
            for li in 0..end {
                if tap == Some(li) {
                    tapped = Some(pooled(&x)?);
                }
                let next = (li + 1 < end).then(|| &self.layers[li + 1].qkv);
                let this = qkv.take().expect("each layer gets its query/key/value map");
                (x, qkv) = self.layer(&self.layers[li], next, &x, &this, team, &parts)?;
            }
            Ok::<_, anyhow::Error>(())
        })?;
        if tap == Some(end) {
            tapped = Some(pooled(&x)?);
        }
        if stop_at_tap && tapped.is_some() {
            return Ok((Vec::new(), tapped));
        }
        Ok((pooled(&x)?, tapped))
    }

    /// One transformer layer on `x` (`[t, h]`), given its query/key/value map of all rows
    /// (`[t, 3h]`), with its work shared by `team` in row `parts`: each thread attends from
    /// its rows' queries to every key, then runs everything after the attention on its rows
    /// (output map, LayerNorm, feed-forward, LayerNorm, all of which treat each token on its
    /// own) and `next`'s query/key/value map of them, so a layer needs one hand-over: the
    /// next attention wants every row's keys. Returns the layer's output and `next`'s map.
    fn layer<'w>(
        &'w self,
        ly: &'w Layer,
        next: Option<&'w Linear>,
        x: &Tensor,
        qkv: &Tensor,
        team: &Team<'w>,
        parts: &[(i64, i64)],
    ) -> Result<(Tensor, Option<Tensor>)> {
        let c = &self.config;
        let (h, t) = (c.hidden_size as i64, x.size()[0]);
        let nh = c.num_attention_heads as i64;
        // [3, nh, t, hd]: libtorch's fused attention (one pass over each head's scores)
        // wants batch-first 4-D.
        let heads = qkv.view([t, 3, nh, h / nh]).permute([1, 2, 0, 3]);
        if parts.len() == 1 {
            return self.layer_rows(ly, next, &heads, x, 0);
        }
        // Each part writes its rows of these: no two threads touch the same values, and
        // nobody reads them before every part is done.
        let cpu = (Kind::Float, tch::Device::Cpu);
        let out = Tensor::empty([t, h], cpu);
        let next_qkv = next.map(|_| Tensor::empty([t, 3 * h], cpu));
        in_parts(team, parts, |(a, len)| {
            let (heads, x) = (heads.shallow_clone(), x.narrow(0, a, len));
            let mut out = out.narrow(0, a, len);
            let next_qkv = next_qkv.as_ref().map(|q| q.narrow(0, a, len));
            Box::new(move || {
                let (y, q) = self.layer_rows(ly, next, &heads, &x, a)?;
                out.copy_(&y);
                if let (Some(mut to), Some(q)) = (next_qkv, q) {
                    to.copy_(&q);
                }
                // Nothing to hand back: the part is written in place.
                Ok(Tensor::new())
            })
        })?;
        Ok((out, next_qkv))
    }

    /// The layer's output for the rows `x` (`[len, h]`, starting at row `start`) from the
    /// query/key/value `heads` of all rows, and `next`'s query/key/value map of it.
    fn layer_rows(
        &self,
        ly: &Layer,
        next: Option<&Linear>,
        heads: &Tensor,
        x: &Tensor,
        start: i64,
    ) -> Result<(Tensor, Option<Tensor>)> {
        let c = &self.config;
        let (h, t, len) = (c.hidden_size, heads.size()[2], x.size()[0]);
        let eps = c.layer_norm_eps;
        let hd = h / c.num_attention_heads;
        // tch passes a missing mask to libtorch 2.4 as an undefined tensor, which its check
        // refuses; an all-zero additive mask is the same (every token sees every other).
        let no_mask = Tensor::zeros([len, t], (Kind::Float, tch::Device::Cpu));
        let q = heads.get(0).narrow(1, start, len).unsqueeze(0);
        let (k, v) = (heads.get(1).unsqueeze(0), heads.get(2).unsqueeze(0));
        let scale = 1.0 / (hd as f64).sqrt();
        let ctx =
            Tensor::f_scaled_dot_product_attention(&q, &k, &v, Some(&no_mask), 0.0, false, scale)
                .map_err(|e| anyhow!("attention: {e}"))?; // [1, nh, len, hd]
        let ctx = ctx
            .squeeze_dim(0)
            .permute([1, 0, 2])
            .reshape([len, h as i64]);
        // The residual sums and GELU run in place on tensors made here, so the allocator
        // sees fewer [len, h] or [len, ff] buffers per layer.
        let mut a = ly.ao.forward(&ctx)?;
        a += x;
        let y = ly.aln.forward(&a, h, eps);
        let mut f = ly.fi.forward(&y)?;
        let _ = f.gelu_("none");
        let mut f = ly.fo.forward(&f)?;
        f += &y;
        let y = ly.oln.forward(&f, h, eps);
        let q = next.map(|map| map.forward(&y)).transpose()?;
        Ok((y, q))
    }
}

/// The rows `(start, len)` of each thread's part of a `t`-row pass on a team of `threads`
/// (fewer parts when `t` is small: a part under 16 rows is not worth a hand-over).
fn row_parts(t: i64, threads: usize) -> Vec<(i64, i64)> {
    let parts = (threads as i64).min(t / 16).max(1);
    (0..parts)
        .map(|i| (t * i / parts, t * (i + 1) / parts - t * i / parts))
        .collect()
}

/// Run the job `job(part)` makes for each of `parts`, the first on this thread and the rest on
/// `team`'s partners; the results in part order.
fn in_parts<'w>(
    team: &Team<'w>,
    parts: &[(i64, i64)],
    job: impl Fn((i64, i64)) -> Job<'w>,
) -> Result<Vec<Tensor>> {
    let theirs = parts[1..].iter().map(|&p| job(p)).collect();
    let mine = job(parts[0]);
    team.run(mine, theirs)
}

/// Run `f` with file descriptor 2 pointed at /dev/null the first time `notice` is passed
/// (libtorch prints each deprecation notice once per process); later calls just run `f`.
/// Serialised, and only around the int8 runtime's loading, before anything is served.
fn without_stderr<T>(notice: &std::sync::atomic::AtomicBool, f: impl FnOnce() -> T) -> T {
    use std::sync::atomic::Ordering;
    use std::sync::Mutex;
    static LOCK: Mutex<()> = Mutex::new(());
    if notice.load(Ordering::Acquire) {
        return f();
    }
    let _guard = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    notice.store(true, Ordering::Release);
    // SAFETY: plain fd calls on fds this function owns (the dup) or the process's fd 2; fd 2
    // is restored before returning, also when `f` panics (the guard's drop).
    let saved = unsafe { libc::dup(2) };
    let null = std::fs::OpenOptions::new().write(true).open("/dev/null");
    let (Ok(null), true) = (null, saved >= 0) else {
        if saved >= 0 {
            unsafe { libc::close(saved) };
        }
        return f();
    };
    struct Restore(i32);
    impl Drop for Restore {
        fn drop(&mut self) {
            unsafe {
                libc::dup2(self.0, 2);
                libc::close(self.0);
            }
        }
    }
    use std::os::fd::AsRawFd;
    unsafe { libc::dup2(null.as_raw_fd(), 2) };
    let _restore = Restore(saved);
    f()
}

/// The L2-normalised mean over the rows of `x` (`[t, h]`).
fn pooled(x: &Tensor) -> Result<Vec<f32>> {
    let mean = x.mean_dim(0, false, Kind::Float);
    let normed = &mean / mean.norm().clamp_min(1e-12);
    Vec::<f32>::try_from(normed).map_err(|e| anyhow!("reading the embedding: {e}"))
}

/// The rows of `x`'s map that `job(part)` makes for each of `parts`, as in [`in_parts`],
/// stacked back in row order (one part: run here, nothing to stack).
fn rows<'w>(
    team: &Team<'w>,
    parts: &[(i64, i64)],
    job: impl Fn((i64, i64)) -> Job<'w>,
) -> Result<Tensor> {
    if let [only] = parts {
        return job(*only)();
    }
    Ok(Tensor::cat(&in_parts(team, parts, job)?, 0))
}
