//! `herken eval` on a sequences file (`{"id", "messages": [{"sender", "received", "text",
//! "expect_label", "expect_repeat"}]}` per line): every message through the engine with one
//! repeat memory, as the server would see them, scored for repeat precision and recall and
//! for labels.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;

use herken::config::Config;
use herken::domain::{Label, Message};
use herken::engine::Engine;
use herken::recognizer::Recognizer;

#[derive(Deserialize)]
struct Sequence {
    id: String,
    messages: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    sender: String,
    received: String,
    text: String,
    expect_label: String,
    expect_repeat: bool,
    #[serde(default)]
    channel: Option<String>,
}

/// Whether `first_line` is a sequences line.
pub fn is_sequences(first_line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(first_line)
        .ok()
        .is_some_and(|v| v.get("messages").is_some_and(|m| m.is_array()))
}

/// Score a sequences file.
pub fn run(path: &Path, json_out: bool, config: &Config) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut sequences = Vec::new();
    for (n, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let s: Sequence = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: not a sequence", path.display(), n + 1))?;
        sequences.push(s);
    }
    let recognizer = Recognizer::from_config(config)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (mut tp, mut fp, mut fn_, mut labels_ok, mut total) = (0, 0, 0, 0, 0);
    let mut misses = Vec::new();
    rt.block_on(async {
        let engine = Engine::in_memory(std::sync::Arc::new(recognizer), config).await?;
        for s in &sequences {
            for (i, step) in s.messages.iter().enumerate() {
                let mut m = Message::new(step.text.clone());
                m.id = format!("{}#{}", s.id, i + 1);
                m.sender = step.sender.clone();
                m.received_at = DateTime::parse_from_rfc3339(&step.received)
                    .with_context(|| format!("{}: received {:?}", m.id, step.received))?
                    .with_timezone(&Utc);
                m.channel = step.channel.as_deref().unwrap_or("").parse()?;
                let want: Label = step.expect_label.parse()?;
                let o = engine.classify(m.clone()).await?;
                total += 1;
                labels_ok += usize::from(o.label == want);
                match (o.repeat.is_repeat, step.expect_repeat) {
                    (true, true) => tp += 1,
                    (true, false) => fp += 1,
                    (false, true) => fn_ += 1,
                    _ => {}
                }
                if o.repeat.is_repeat != step.expect_repeat || o.label != want {
                    misses.push(json!({
                        "id": m.id, "expect_label": want, "label": o.label,
                        "expect_repeat": step.expect_repeat, "is_repeat": o.repeat.is_repeat,
                        "reason": o.repeat.reason, "explanation": o.explanation,
                    }));
                }
            }
        }
        Ok::<_, anyhow::Error>(())
    })?;
    let precision = if tp + fp > 0 {
        tp as f64 / (tp + fp) as f64
    } else {
        1.0
    };
    let recall = if tp + fn_ > 0 {
        tp as f64 / (tp + fn_) as f64
    } else {
        1.0
    };
    let accuracy = if total > 0 {
        labels_ok as f64 / total as f64
    } else {
        0.0
    };
    if json_out {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "file": path.display().to_string(), "sequences": sequences.len(), "messages": total,
                "repeat": {"precision": precision, "recall": recall, "true_positives": tp,
                           "false_positives": fp, "false_negatives": fn_},
                "label_accuracy": accuracy, "misses": misses,
            }))?
        );
    } else {
        println!(
            "{} — {} sequences, {} messages\n",
            path.display(),
            sequences.len(),
            total
        );
        println!(
            "repeat:  precision {precision:.3}  recall {recall:.3}  (TP {tp}, FP {fp}, FN {fn_})"
        );
        println!("labels:  accuracy {accuracy:.3} ({labels_ok}/{total})");
        for m in &misses {
            println!(
                "- {}: label {} (want {}), repeat {} (want {}) — {}",
                m["id"].as_str().unwrap_or(""),
                m["label"].as_str().unwrap_or(""),
                m["expect_label"].as_str().unwrap_or(""),
                m["is_repeat"],
                m["expect_repeat"],
                m["explanation"].as_str().unwrap_or("")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
