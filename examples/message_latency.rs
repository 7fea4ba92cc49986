//! Where a message's time goes, without gRPC: each message of a JSON-lines file (default
//! `benches/data/mix_unseen.jsonl`) classified in process, the best of five runs, with the
//! encoder's result cache off; the slowest fifteen with their time without the encoder and
//! in the encoder alone.
//!
//! `cargo run --release --example message_latency [FILE]`
use std::time::Instant;

use herken::config::Config;
use herken::domain::Message;
use herken::pipeline::model::encoder::{Encoder, Runtime};
use herken::recognizer::Recognizer;

/// The best of five timed runs of `f` (after one untimed), in milliseconds.
fn best_ms(f: &dyn Fn()) -> f64 {
    f();
    (0..5)
        .map(|_| {
            let t0 = Instant::now();
            f();
            t0.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "benches/data/mix_unseen.jsonl".into());
    let text = std::fs::read_to_string(&path).expect("the messages file");
    let messages: Vec<Message> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            Message::new(v["text"].as_str().expect("a text field"))
        })
        .collect();
    let config = Config {
        encoder_cache_entries: 0,
        ..Config::default()
    };
    let full = Recognizer::from_config(&config).expect("the model loads");
    let sparse = Recognizer::from_config(&Config {
        encoder_dir: "/nonexistent".into(),
        ..config.clone()
    })
    .expect("the sparse model loads");
    let encoder = Encoder::load_on(&config.encoder_dir, Runtime::Int8).expect("the encoder");
    encoder.set_cache_entries(0);
    let mut rows: Vec<(f64, usize)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| (best_ms(&|| drop(full.classify(m).unwrap())), i))
        .collect();
    rows.sort_by(|a, b| b.0.total_cmp(&a.0));
    let at = |q: f64| rows[((1.0 - q) * rows.len() as f64) as usize].0;
    println!(
        "{} messages: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms",
        rows.len(),
        at(0.5),
        at(0.9),
        at(0.99)
    );
    for &(ms, i) in rows.iter().take(15) {
        let m = &messages[i];
        let without = best_ms(&|| drop(sparse.classify(m).unwrap()));
        let alone = best_ms(&|| drop(encoder.embed(&m.text).unwrap()));
        let tokens = encoder.token_ids(&m.text).map_or(0, |t| t.len());
        println!(
            "{ms:6.2} ms  line {:>3}  {tokens:>3} tokens; without the encoder {without:.2} ms, the encoder alone {alone:.2} ms",
            i + 1
        );
    }
}
