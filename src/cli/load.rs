//! `herken load`: a load generator for a running server. It sends the messages of a JSON-lines
//! file (cycled) as Classify or ClassifyBatch calls from N concurrent clients, for a time or a
//! number of calls, shows progress every second, and reports throughput and latency
//! percentiles. Calls are made with `route = false` and, unless `--senders` asks for invented
//! ones, without a sender, so a load run fills neither the repeat history nor the intake
//! queues. Message texts are never printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;
use serde_json::json;

use herken::domain::{Channel, Message};
use herken::pb;
use herken::pb::classifier_client::ClassifierClient;

use super::client::ClientArgs;

/// Arguments of `herken load`.
#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The server to load and how to reach it.
    #[command(flatten)]
    pub client: ClientArgs,
    /// JSON lines with `text` (optional `channel`, `subject`; other fields are ignored), sent in
    /// order and cycled, e.g. a corpus file.
    #[arg(long)]
    pub file: PathBuf,
    /// Concurrent clients, each with its own connection.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Run this long, in seconds (ignored with --calls).
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
    /// Stop after this many calls in all instead of after --seconds.
    #[arg(long)]
    pub calls: Option<u64>,
    /// Messages per call: 1 uses Classify, more use ClassifyBatch.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub batch: u32,
    /// A steady rate: start this many calls per second in all (spread over the clients)
    /// instead of each client calling again as soon as it has its answer.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Give the messages N invented senders (`load-<k>@example.invalid`, in turn), so the
    /// server remembers them as a gateway's mail is remembered: repeat detection (history
    /// reads and writes, the semantic sketch) is then part of what is measured. Use a server
    /// with a data directory of its own: the history keeps these senders' keys.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub senders: Option<u32>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Deserialize)]
struct Line {
    text: String,
    #[serde(default)]
    channel: Option<String>,
    #[serde(default)]
    subject: Option<String>,
}

/// The messages of `path`; a bad line is an error naming the file and line.
fn read_messages(path: &Path) -> anyhow::Result<Vec<pb::Message>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", path.display()))?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let line: Line = serde_json::from_str(raw)
            .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        let mut m = Message::new(line.text);
        if let Some(c) = line.channel {
            let channel: Channel = c
                .parse()
                .map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
            m = m.with_channel(channel);
        }
        m.subject = line.subject.unwrap_or_default();
        out.push(herken::service::convert::message_to_pb(m));
    }
    if out.is_empty() {
        bail!("{}: no messages", path.display());
    }
    Ok(out)
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    messages: u64,
    errors: std::collections::BTreeMap<String, u64>,
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Run `herken load`.
pub fn run(args: LoadArgs) -> anyhow::Result<ExitCode> {
    let messages = Arc::new(read_messages(&args.file)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut clients = Vec::new();
        for _ in 0..args.concurrency {
            clients.push(
                ClassifierClient::new(args.client.connect().await?)
                    .max_decoding_message_size(64 << 20),
            );
        }
        if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
            bail!("--rate must be a positive number of calls per second");
        }
        let rate = args.rate;
        let started = Instant::now();
        let deadline = started + Duration::from_secs(args.seconds);
        let issued = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let batch = args.batch as usize;
        let limit = args.calls;
        let senders = args.senders;
        let mut tasks = Vec::new();
        for mut client in clients {
            let (messages, issued, done, stop) =
                (messages.clone(), issued.clone(), done.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                let mut tally = Tally::default();
                loop {
                    let n = issued.fetch_add(1, Ordering::Relaxed);
                    let over = match limit {
                        Some(l) => n >= l,
                        None => Instant::now() >= deadline,
                    };
                    if over || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    if let Some(r) = rate {
                        // Call n starts at its place in a steady schedule.
                        let at = started + Duration::from_secs_f64(n as f64 / r);
                        if at >= deadline && limit.is_none() {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                    }
                    let pick = |k: usize| {
                        let i = n as usize * batch + k;
                        let mut m = messages[i % messages.len()].clone();
                        if let Some(senders) = senders {
                            m.sender = format!("load-{}@example.invalid", i % senders as usize);
                        }
                        pb::ClassifyRequest {
                            message: Some(m),
                            route: false,
                        }
                    };
                    let t = Instant::now();
                    let result = if batch == 1 {
                        client.classify(pick(0)).await.map(|_| 1)
                    } else {
                        let requests = (0..batch).map(pick).collect();
                        client
                            .classify_batch(pb::ClassifyBatchRequest { requests })
                            .await
                            .map(|r| r.into_inner().responses.len() as u64)
                    };
                    match result {
                        Ok(count) => {
                            tally.latencies_us.push(t.elapsed().as_micros() as u64);
                            tally.messages += count;
                        }
                        Err(status) => {
                            *tally
                                .errors
                                .entry(format!("{:?}", status.code()))
                                .or_default() += 1;
                            if status.code() == tonic::Code::Unavailable {
                                // The server is gone: stop every client instead of spinning.
                                stop.store(true, Ordering::Relaxed);
                            }
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                tally
            }));
        }
        let progress = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut last = 0;
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                tick.tick().await;
                loop {
                    tick.tick().await;
                    let now = done.load(Ordering::Relaxed);
                    eprintln!(
                        "{:>5.0} s  {now} calls  {} calls/s",
                        started.elapsed().as_secs_f64(),
                        now - last
                    );
                    last = now;
                }
            })
        };
        let mut all = Tally::default();
        for t in tasks {
            let t = t.await.context("a load client failed")?;
            all.latencies_us.extend(t.latencies_us);
            all.messages += t.messages;
            for (k, v) in t.errors {
                *all.errors.entry(k).or_default() += v;
            }
        }
        progress.abort();
        let elapsed = started.elapsed().as_secs_f64();
        all.latencies_us.sort_unstable();
        let lat = &all.latencies_us;
        let ms = |p: f64| percentile(lat, p) as f64 / 1000.0;
        let (p50, p90, p99, max) = (ms(50.0), ms(90.0), ms(99.0), ms(100.0));
        let failed: u64 = all.errors.values().sum();
        let rate = all.messages as f64 / elapsed;
        if args.json {
            let report = json!({
                "server": args.client.server,
                "concurrency": args.concurrency,
                "batch": args.batch,
                "senders": args.senders,
                "seconds": elapsed,
                "calls_ok": lat.len(),
                "calls_failed": failed,
                "errors": all.errors,
                "messages": all.messages,
                "messages_per_second": rate,
                "latency_ms": { "p50": p50, "p90": p90, "p99": p99, "max": max },
            });
            println!("{}", serde_json::to_string_pretty(&report)?);
        } else {
            println!(
                "{} calls ({} messages) in {elapsed:.1} s from {} clients: {rate:.1} messages/s",
                lat.len(),
                all.messages,
                args.concurrency,
            );
            println!(
                "latency per call: p50 {p50:.1} ms  p90 {p90:.1} ms  p99 {p99:.1} ms  max {max:.1} ms"
            );
            if failed > 0 {
                println!("failed calls: {failed} {:?}", all.errors);
            }
        }
        Ok(if failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 90.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
