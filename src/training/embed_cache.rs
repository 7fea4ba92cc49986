//! A cache of sentence embeddings for training, keyed by the SHA-256 of the text, in a file
//! beside the encoder: `embeddings-<encoder id>.bin`, records of 32 bytes of key and `dim`
//! little-endian f32. Appended as embeddings are computed, so an interrupted run keeps its work.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The cache.
pub struct EmbedCache {
    path: PathBuf,
    dim: usize,
    map: HashMap<[u8; 32], Vec<f32>>,
    file: Option<std::fs::File>,
}

/// The key of a text.
pub fn key(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

impl EmbedCache {
    /// Open (or start) the cache for `encoder_id` in `dir`.
    pub fn open(dir: &Path, encoder_id: &str, dim: usize) -> Result<EmbedCache> {
        let safe: String = encoder_id
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let path = dir.join(format!("embeddings-{safe}.bin"));
        let mut map = HashMap::new();
        if let Ok(bytes) = std::fs::read(&path) {
            let rec = 32 + 4 * dim;
            // A torn last record (an interrupted write) is ignored.
            for r in bytes.chunks_exact(rec) {
                let k: [u8; 32] = r[..32].try_into().expect("32 bytes");
                let v = r[32..]
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect();
                map.insert(k, v);
            }
        }
        Ok(EmbedCache {
            path,
            dim,
            map,
            file: None,
        })
    }

    /// Embeddings cached.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The cached embedding of `text`.
    pub fn get(&self, text: &str) -> Option<&Vec<f32>> {
        self.map.get(&key(text))
    }

    /// Add an embedding, appending it to the file.
    pub fn put(&mut self, text: &str, v: Vec<f32>) -> Result<()> {
        if v.len() != self.dim {
            return Err(Error::Model(format!(
                "embedding of dimension {}, expected {}",
                v.len(),
                self.dim
            )));
        }
        let k = key(text);
        if self.file.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .map_err(|e| Error::io(&self.path, e))?;
            self.file = Some(f);
        }
        let mut rec = Vec::with_capacity(32 + 4 * self.dim);
        rec.extend_from_slice(&k);
        for x in &v {
            rec.extend_from_slice(&x.to_le_bytes());
        }
        self.file
            .as_mut()
            .expect("opened above")
            .write_all(&rec)
            .map_err(|e| Error::io(&self.path, e))?;
        self.map.insert(k, v);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_reopening_and_a_torn_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = EmbedCache::open(dir.path(), "e5@x", 3).unwrap();
        c.put("a", vec![1.0, 2.0, 3.0]).unwrap();
        c.put("b", vec![4.0, 5.0, 6.0]).unwrap();
        drop(c);
        let path = dir.path().join("embeddings-e5-x.bin");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        std::fs::write(&path, bytes).unwrap();
        let c = EmbedCache::open(dir.path(), "e5@x", 3).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("b").unwrap(), &vec![4.0, 5.0, 6.0]);
        assert!(c.get("c").is_none());
    }
}
