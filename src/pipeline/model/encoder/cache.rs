//! A bounded cache of encoder results, keyed by a SHA-256 of the text the encoder runs on
//! (gateways retry, counters resend): a hit skips the forward pass. It holds no text, only
//! the hash and the vectors, in memory; the least recently used entry goes when it is full.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// The embedding and, when it was asked for, the sketch source.
pub type Vectors = (Vec<f32>, Option<Vec<f32>>);

struct Entry {
    vectors: Vectors,
    used: u64,
}

#[derive(Default)]
struct Inner {
    map: HashMap<[u8; 32], Entry>,
    tick: u64,
    capacity: usize,
    hits: u64,
    misses: u64,
}

/// The cache; capacity 0 turns it off.
pub struct ResultCache(Mutex<Inner>);

fn hash(kind: &[u8], text: &str, tap: Option<usize>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(kind);
    h.update(tap.map_or(0u64, |t| t as u64 + 1).to_le_bytes());
    h.update(text.as_bytes());
    h.finalize().into()
}

/// Default number of entries (about 3 KB each).
pub const DEFAULT_ENTRIES: usize = 2048;

impl ResultCache {
    /// A cache of at most `capacity` results.
    pub fn new(capacity: usize) -> ResultCache {
        ResultCache(Mutex::new(Inner {
            capacity,
            ..Inner::default()
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Change the capacity (dropping the oldest entries when it shrinks).
    pub fn set_capacity(&self, capacity: usize) {
        let mut g = self.lock();
        g.capacity = capacity;
        while g.map.len() > capacity {
            evict_oldest(&mut g);
        }
    }

    /// The key of a pass that stopped at the sketch layer `tap` (no embedding in it).
    pub fn sketch_key(text: &str, tap: Option<usize>) -> [u8; 32] {
        hash(b"sketch only", text, tap)
    }

    /// The key of `text` with the sketch layer asked for (`tap`).
    pub fn key(text: &str, tap: Option<usize>) -> [u8; 32] {
        hash(b"", text, tap)
    }

    /// The cached result for `key`, if any.
    pub fn get(&self, key: &[u8; 32]) -> Option<Vectors> {
        let mut g = self.lock();
        if g.capacity == 0 {
            return None;
        }
        g.tick += 1;
        let tick = g.tick;
        match g.map.get_mut(key) {
            Some(e) => {
                e.used = tick;
                let v = e.vectors.clone();
                g.hits += 1;
                Some(v)
            }
            None => {
                g.misses += 1;
                None
            }
        }
    }

    /// Keep `vectors` under `key`.
    pub fn put(&self, key: [u8; 32], vectors: Vectors) {
        let mut g = self.lock();
        if g.capacity == 0 {
            return;
        }
        if !g.map.contains_key(&key) && g.map.len() >= g.capacity {
            evict_oldest(&mut g);
        }
        g.tick += 1;
        let used = g.tick;
        g.map.insert(key, Entry { vectors, used });
    }

    /// Entries, hits and misses so far.
    pub fn stats(&self) -> (usize, u64, u64) {
        let g = self.lock();
        (g.map.len(), g.hits, g.misses)
    }
}

fn evict_oldest(g: &mut Inner) {
    if let Some(k) = g.map.iter().min_by_key(|(_, e)| e.used).map(|(k, _)| *k) {
        g.map.remove(&k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_at_most_capacity_and_drops_the_least_recently_used() {
        let c = ResultCache::new(2);
        let (a, b, d) = (
            ResultCache::key("a", None),
            ResultCache::key("b", None),
            ResultCache::key("d", None),
        );
        c.put(a, (vec![1.0], None));
        c.put(b, (vec![2.0], None));
        assert!(c.get(&a).is_some()); // a used after b
        c.put(d, (vec![3.0], None));
        assert_eq!(c.stats().0, 2);
        assert!(c.get(&b).is_none(), "b was the least recently used");
        assert_eq!(c.get(&a).unwrap().0, vec![1.0]);
        assert_eq!(c.get(&d).unwrap().0, vec![3.0]);
    }

    #[test]
    fn the_sketch_layer_is_part_of_the_key_and_zero_capacity_is_off() {
        assert_ne!(ResultCache::key("x", None), ResultCache::key("x", Some(8)));
        assert_ne!(
            ResultCache::key("x", Some(8)),
            ResultCache::sketch_key("x", Some(8))
        );
        let c = ResultCache::new(0);
        c.put(ResultCache::key("x", None), (vec![1.0], None));
        assert!(c.get(&ResultCache::key("x", None)).is_none());
        c.set_capacity(1);
        c.put(ResultCache::key("x", None), (vec![1.0], None));
        assert!(c.get(&ResultCache::key("x", None)).is_some());
        c.set_capacity(0);
        assert_eq!(c.stats().0, 0);
    }
}
