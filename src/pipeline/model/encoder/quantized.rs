//! The encoder's weights in the int8 runtime's precision, as a file in the model directory:
//! made once from the f32 weights (and the fine-tuned top layers, when there are any), then
//! memory-mapped at every start, so a one-shot `herken classify` does not read and convert
//! 470 MB of f32 weights and a server keeps only the pages it touches.
//!
//! Format (safetensors, metadata `format` = [`FORMAT`], `encoder` = the encoder's id):
//! - `embeddings.word` F16 `[vocab, hidden]` (only the rows of the tokens seen are read);
//! - `embeddings.position` F32 `[positions, hidden]`, `embeddings.type0` F32 `[hidden]`,
//!   `embeddings.norm.{weight,bias}` F32;
//! - per layer `l` and linear map `m` in `qkv` (query, key and value stacked), `ao`
//!   (attention output), `fi` (intermediate), `fo` (output): `layer.{l}.{m}.q` I8 `[out, in]`,
//!   `layer.{l}.{m}.scale` F32 `[out]`, `layer.{l}.{m}.bias` F32 `[out]`, and for `qkv` and
//!   `fi`, whose input is a LayerNorm's output, `layer.{l}.{m}.smooth` F32 `[in]` (see
//!   [`smoothing`]);
//! - per layer the norms `layer.{l}.{aln,oln}.{weight,bias}` F32.
//!
//! The linear weights are quantised symmetrically **per output channel**: row `n` of `W` is
//! `scale[n] · q[n]` with `q` in −127..=127 and `scale[n] = max|W[n]| / 127`, so one large
//! weight spoils only its own row. The F16 word table keeps 11 bits of mantissa.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use safetensors::{Dtype, SafeTensors};

use super::bert::BertConfig;
use crate::pipeline::model::half::{f16_to_f32, f32_to_f16};

/// The format tag in the file's metadata; a file with another tag is made again.
pub const FORMAT: &str = "herken-int8/2";

/// Where the quantised weights of encoder `id` live inside the model directory `dir`.
pub fn path_for(dir: &Path, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.@+".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join(format!("int8-{safe}.safetensors"))
}

/// Read an F32 or F16 tensor of `st` as f32, checking its shape.
fn read_f32(st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .with_context(|| format!("tensor {name} missing"))?;
    if t.shape() != shape {
        bail!("tensor {name}: shape {:?}, expected {shape:?}", t.shape());
    }
    Ok(match t.dtype() {
        Dtype::F32 => t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect(),
        Dtype::F16 => t
            .data()
            .chunks_exact(2)
            .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
            .collect(),
        other => bail!("tensor {name}: {other:?}, expected F32 or F16"),
    })
}

/// Symmetric per-row int8 quantisation of `w` (`[n_out, n_in]`): the int8 values and each
/// row's scale.
pub fn quantize_rows(w: &[f32], n_in: usize) -> (Vec<i8>, Vec<f32>) {
    let mut q = Vec::with_capacity(w.len());
    let mut scales = Vec::with_capacity(w.len() / n_in.max(1));
    for row in w.chunks_exact(n_in) {
        let max = row.iter().fold(0f32, |m, v| m.max(v.abs()));
        let s = if max > 0.0 { max / 127.0 } else { 1.0 };
        scales.push(s);
        q.extend(
            row.iter()
                .map(|v| (v / s).round().clamp(-127.0, 127.0) as i8),
        );
    }
    (q, scales)
}

/// How much of an input channel's range [`smoothing`] moves into the weights: 0.4 was the
/// best of 0.3–0.85 on `herken model compare` (mean cosine to f32 0.9955 against 0.9758
/// without smoothing; 0.5: 0.9944, 0.7: 0.9890).
pub const SMOOTHING_ALPHA: f32 = 0.4;

/// Smoothing of a linear map whose input is a LayerNorm's output (SmoothQuant, without
/// calibration data): the LayerNorm makes a few input channels large (|γ| or |β| large), and
/// one scale per call for the whole input would leave the other channels a few levels of
/// int8. The input channel `j` is divided by `s_j` and the weight's column `j` multiplied by
/// it, which leaves `x·Wᵀ` unchanged; `s_j = (a_j / max_n |W[n, j]|)^α` moves part of the
/// activation's range `a_j = 4|γ_j| + |β_j|` (a normalised value rarely passes 4) into the
/// weights. Scales `w` in place and returns the input multipliers `1 / s_j`.
pub fn smoothing(w: &mut [f32], n_in: usize, gamma: &[f32], beta: &[f32]) -> Vec<f32> {
    let mut col_max = vec![0f32; n_in];
    for row in w.chunks_exact(n_in) {
        for (m, v) in col_max.iter_mut().zip(row) {
            *m = m.max(v.abs());
        }
    }
    let s: Vec<f32> = (0..n_in)
        .map(|j| {
            let a = 4.0 * gamma[j].abs() + beta[j].abs();
            if a > 0.0 && col_max[j] > 0.0 {
                (a / col_max[j]).powf(SMOOTHING_ALPHA).clamp(1e-3, 1e3)
            } else {
                1.0
            }
        })
        .collect();
    for row in w.chunks_exact_mut(n_in) {
        for (v, sj) in row.iter_mut().zip(&s) {
            *v *= sj;
        }
    }
    s.iter().map(|v| 1.0 / v).collect()
}

/// One tensor to write: dtype, shape, little-endian bytes.
struct Out {
    dtype: Dtype,
    shape: Vec<usize>,
    data: Vec<u8>,
}

impl safetensors::View for &Out {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        std::borrow::Cow::Borrowed(&self.data)
    }
    fn data_len(&self) -> usize {
        self.data.len()
    }
}

fn f32_out(v: &[f32], shape: Vec<usize>) -> Out {
    Out {
        dtype: Dtype::F32,
        shape,
        data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
    }
}

/// Make the quantised file for encoder `id` from `dir`/model.safetensors and, for the layers
/// `top` names, the fine-tuned weights; written to a temporary name and renamed, so a reader
/// never sees half a file.
pub fn build(
    dir: &Path,
    config: &BertConfig,
    top: Option<&super::TopLayers>,
    id: &str,
    out: &Path,
) -> Result<()> {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let base =
        SafeTensors::deserialize(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let top_st = match top {
        Some(t) => Some(
            SafeTensors::deserialize(&t.bytes)
                .with_context(|| format!("parsing {}", t.path.display()))?,
        ),
        None => None,
    };
    let (h, ff) = (config.hidden_size, config.intermediate_size);
    let mut tensors: Vec<(String, Out)> = Vec::new();

    let word = read_f32(
        &base,
        "embeddings.word_embeddings.weight",
        &[config.vocab_size, h],
    )?;
    tensors.push((
        "embeddings.word".into(),
        Out {
            dtype: Dtype::F16,
            shape: vec![config.vocab_size, h],
            data: word
                .iter()
                .flat_map(|&x| f32_to_f16(x).to_le_bytes())
                .collect(),
        },
    ));
    drop(word);
    let pos = read_f32(
        &base,
        "embeddings.position_embeddings.weight",
        &[config.max_position_embeddings, h],
    )?;
    tensors.push((
        "embeddings.position".into(),
        f32_out(&pos, vec![config.max_position_embeddings, h]),
    ));
    let typ = read_f32(
        &base,
        "embeddings.token_type_embeddings.weight",
        &[config.type_vocab_size, h],
    )?;
    tensors.push(("embeddings.type0".into(), f32_out(&typ[..h], vec![h])));
    for part in ["weight", "bias"] {
        let v = read_f32(&base, &format!("embeddings.LayerNorm.{part}"), &[h])?;
        tensors.push((format!("embeddings.norm.{part}"), f32_out(&v, vec![h])));
    }

    // The LayerNorm whose output feeds the next layer's qkv: the embeddings' at first.
    let mut prev_norm = (
        read_f32(&base, "embeddings.LayerNorm.weight", &[h])?,
        read_f32(&base, "embeddings.LayerNorm.bias", &[h])?,
    );
    for l in 0..config.num_hidden_layers {
        let st = match (&top_st, top) {
            (Some(t), Some(meta)) if meta.layers.contains(&l) => t,
            _ => &base,
        };
        let p = format!("encoder.layer.{l}");
        let lin = |name: &str, n_out: usize, n_in: usize| -> Result<(Vec<f32>, Vec<f32>)> {
            Ok((
                read_f32(st, &format!("{p}.{name}.weight"), &[n_out, n_in])?,
                read_f32(st, &format!("{p}.{name}.bias"), &[n_out])?,
            ))
        };
        // (name, weight, bias, out, in)
        type Map<'n> = (&'n str, Vec<f32>, Vec<f32>, usize, usize);
        let mut maps: Vec<Map> = Vec::new();
        let (mut w, mut b) = (Vec::new(), Vec::new());
        for m in ["query", "key", "value"] {
            let (mw, mb) = lin(&format!("attention.self.{m}"), h, h)?;
            w.extend(mw);
            b.extend(mb);
        }
        maps.push(("qkv", w, b, 3 * h, h));
        let (w, b) = lin("attention.output.dense", h, h)?;
        maps.push(("ao", w, b, h, h));
        let (w, b) = lin("intermediate.dense", ff, h)?;
        maps.push(("fi", w, b, ff, h));
        let (w, b) = lin("output.dense", h, ff)?;
        maps.push(("fo", w, b, h, ff));
        let aln = (
            read_f32(st, &format!("{p}.attention.output.LayerNorm.weight"), &[h])?,
            read_f32(st, &format!("{p}.attention.output.LayerNorm.bias"), &[h])?,
        );
        for (name, mut w, b, n_out, n_in) in maps {
            let input_norm = match name {
                "qkv" => Some(&prev_norm),
                "fi" => Some(&aln),
                _ => None,
            };
            if let Some((g, beta)) = input_norm {
                let smooth = smoothing(&mut w, n_in, g, beta);
                tensors.push((
                    format!("layer.{l}.{name}.smooth"),
                    f32_out(&smooth, vec![n_in]),
                ));
            }
            let (q, scale) = quantize_rows(&w, n_in);
            tensors.push((
                format!("layer.{l}.{name}.q"),
                Out {
                    dtype: Dtype::I8,
                    shape: vec![n_out, n_in],
                    data: q.iter().map(|&v| v as u8).collect(),
                },
            ));
            tensors.push((
                format!("layer.{l}.{name}.scale"),
                f32_out(&scale, vec![n_out]),
            ));
            tensors.push((format!("layer.{l}.{name}.bias"), f32_out(&b, vec![n_out])));
        }
        prev_norm = (
            read_f32(st, &format!("{p}.output.LayerNorm.weight"), &[h])?,
            read_f32(st, &format!("{p}.output.LayerNorm.bias"), &[h])?,
        );
        for (norm, src) in [
            ("aln", "attention.output.LayerNorm"),
            ("oln", "output.LayerNorm"),
        ] {
            for part in ["weight", "bias"] {
                let v = read_f32(st, &format!("{p}.{src}.{part}"), &[h])?;
                tensors.push((format!("layer.{l}.{norm}.{part}"), f32_out(&v, vec![h])));
            }
        }
    }

    let meta: HashMap<String, String> = [
        ("format".to_string(), FORMAT.to_string()),
        ("encoder".to_string(), id.to_string()),
    ]
    .into();
    let refs: Vec<(&str, &Out)> = tensors.iter().map(|(n, o)| (n.as_str(), o)).collect();
    static MADE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = out.with_extension(format!("partial.{}.{n}", std::process::id()));
    safetensors::serialize_to_file(refs, &Some(meta), &tmp).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!(
            "writing {}: {e} (the int8 runtime keeps its weights beside the encoder's; make \
             the directory writable once, or run `herken model fetch` as its owner)",
            tmp.display()
        )
    })?;
    std::fs::rename(&tmp, out).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        anyhow!("renaming {} to {}: {e}", tmp.display(), out.display())
    })?;
    Ok(())
}

/// A quantised weights file, memory-mapped; large tables read row by row through the file
/// instead ([`Mapped::read_at`]), so that they never count towards the process's memory.
pub struct Mapped {
    map: memmap2::Mmap,
    file: std::fs::File,
    path: PathBuf,
}

impl Mapped {
    /// Map `path` and check that it holds the weights of encoder `id` in this format.
    pub fn open(path: &Path, id: &str) -> Result<Mapped> {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: the file is only ever replaced by rename (see `build`), never written in
        // place, so the mapped pages do not change under us while the map lives.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .with_context(|| format!("mapping {}", path.display()))?;
        let m = Mapped {
            map,
            file,
            path: path.to_path_buf(),
        };
        let (_, meta) = SafeTensors::read_metadata(&m.map)
            .map_err(|e| anyhow!("{}: not a safetensors file ({e})", path.display()))?;
        let meta = meta.metadata().clone().unwrap_or_default();
        if meta.get("format").map(String::as_str) != Some(FORMAT) {
            bail!("{}: not in format {FORMAT}", path.display());
        }
        if meta.get("encoder").map(String::as_str) != Some(id) {
            bail!(
                "{}: made for encoder {:?}, not {id}",
                path.display(),
                meta.get("encoder")
            );
        }
        Ok(m)
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Fill `buf` from the file at byte `offset` (the same bytes as `bytes()[offset..]`),
    /// without touching the map. Reading a row of the word table this way costs a copy from
    /// the page cache; through the map, the kernel's fault-around would map 64 KB around every
    /// row a message touches, until the whole 192 MB table counted towards the process's
    /// resident memory.
    pub fn read_at(&self, offset: usize, buf: &mut [u8]) -> Result<()> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buf, offset as u64)
            .with_context(|| format!("reading {} at byte {offset}", self.path.display()))
    }

    /// The tensors.
    pub fn tensors(&self) -> Result<SafeTensors<'_>> {
        SafeTensors::deserialize(&self.map).map_err(|e| anyhow!("{}: {e}", self.path.display()))
    }
}

/// Read a tensor of the quantised file, checking dtype and shape: its raw bytes.
pub fn raw<'a>(
    st: &SafeTensors<'a>,
    name: &str,
    dtype: Dtype,
    shape: &[usize],
) -> Result<&'a [u8]> {
    let t = st
        .tensor(name)
        .with_context(|| format!("tensor {name} missing"))?;
    if t.dtype() != dtype || t.shape() != shape {
        bail!(
            "tensor {name}: {:?} {:?}, expected {dtype:?} {shape:?}",
            t.dtype(),
            t.shape()
        );
    }
    Ok(t.data())
}

/// An F32 tensor of the quantised file as floats.
pub fn floats(st: &SafeTensors, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    Ok(raw(st, name, Dtype::F32, shape)?
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect())
}

/// The f32 values of the F16 values in `bytes` (little-endian), one per element of `out`.
pub fn f16_into(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = f16_to_f32(u16::from_le_bytes([b[0], b[1]]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_row_quantisation_keeps_each_row_within_half_a_step() {
        // Row 0 has a large weight; row 1 small ones: per-row scales keep row 1 precise.
        let w = vec![8.0, -0.5, 0.25, 0.01, -0.02, 0.015];
        let (q, s) = quantize_rows(&w, 3);
        assert_eq!(q.len(), 6);
        assert_eq!(q[0], 127);
        for (i, (&qv, &wv)) in q.iter().zip(&w).enumerate() {
            let scale = s[i / 3];
            assert!((qv as f32 * scale - wv).abs() <= scale / 2.0 + 1e-9, "{i}");
        }
        assert!(s[1] < 0.001, "row 1 has its own small scale");
        // An all-zero row gets scale 1 and zeros, not a division by zero.
        let (q, s) = quantize_rows(&[0.0, 0.0], 2);
        assert_eq!((q, s), (vec![0, 0], vec![1.0]));
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        let p = path_for(Path::new("/m"), "e5-small@12ab+top2@cd/../x");
        assert_eq!(
            p,
            Path::new("/m/int8-e5-small@12ab+top2@cd_.._x.safetensors")
        );
    }
}
