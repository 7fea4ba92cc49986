//! Time a lone message through the encoder at several lengths (forward passes only, the
//! result cache off): `cargo run --release --example encoder_latency [runs]`.
//! Pin it to one core (`taskset -c 0`) to see a message on one thread.
use std::time::Instant;

use herken::config::Config;
use herken::pipeline::model::encoder::{Encoder, Runtime};

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(40);
    let dir = Config::default().encoder_dir;
    let e = Encoder::load_on(&dir, Runtime::Int8).expect("encoder loads");
    e.set_cache_entries(0);
    let word = "de gemeente heeft mijn melding over de kapotte lantaarnpaal niet opgepakt ";
    for words in [4usize, 30, 100, 400] {
        let text: String = word
            .split(' ')
            .cycle()
            .take(words)
            .collect::<Vec<_>>()
            .join(" ");
        let tokens = e.token_ids(&text).map(|t| t.len()).unwrap_or(0);
        for _ in 0..3 {
            e.embed(&text).unwrap();
        }
        let mut ms: Vec<f64> = (0..runs)
            .map(|_| {
                let t0 = Instant::now();
                e.embed(&text).unwrap();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(|a, b| a.total_cmp(b));
        println!(
            "{tokens:>4} tokens: median {:.2} ms, min {:.2} ms, p90 {:.2} ms",
            ms[runs / 2],
            ms[0],
            ms[runs * 9 / 10]
        );
    }
}
