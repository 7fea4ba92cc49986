//! Sequences of messages from the same senders (`{"id", "kind"?, "messages": [{"sender",
//! "received", "text", "expect_label", "expect_repeat", "channel"?}]}` per line), for repeat
//! detection:
//! - `herken eval FILE`: every message through the engine with one repeat memory, as the
//!   server would see them, scored for repeat precision and recall and for labels, with the
//!   misses and the rule and signals that decided each;
//! - `herken sequences fit`: fit the same-issue model (`data/repeat_model.json`) on a
//!   sequences file.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::json;

use herken::config::Config;
use herken::domain::{Label, Message, Outcome};
use herken::engine::Engine;
use herken::recognizer::Recognizer;
use herken::repeat::pair::{self, Bag, PairModel};
use herken::repeat::{RepeatFinding, Rule};

#[derive(Deserialize)]
struct Sequence {
    id: String,
    #[serde(default)]
    kind: Option<String>,
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

fn read(path: &Path) -> anyhow::Result<Vec<Sequence>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not UTF-8 ({e})", path.display()))?;
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
    if sequences.is_empty() {
        bail!("{}: no sequences", path.display());
    }
    Ok(sequences)
}

/// One replayed message.
struct Replayed {
    id: String,
    kind: String,
    want_label: Label,
    want_repeat: bool,
    outcome: Outcome,
    finding: Option<RepeatFinding>,
}

/// Replay every sequence through one engine (one memory), in file order.
fn replay(
    sequences: &[Sequence],
    recognizer: &std::sync::Arc<Recognizer>,
    config: &Config,
    model: &PairModel,
) -> anyhow::Result<Vec<Replayed>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let total: usize = sequences.iter().map(|s| s.messages.len()).sum();
    rt.block_on(async {
        let engine = Engine::in_memory(recognizer.clone(), config)
            .await?
            .with_pair_model(model.clone());
        let mut out = Vec::with_capacity(total);
        for s in sequences {
            for (i, step) in s.messages.iter().enumerate() {
                let mut m = Message::new(step.text.clone());
                m.id = format!("{}#{}", s.id, i + 1);
                m.sender = step.sender.clone();
                m.received_at = DateTime::parse_from_rfc3339(&step.received)
                    .with_context(|| format!("{}: received {:?}", m.id, step.received))?
                    .with_timezone(&Utc);
                m.channel = step
                    .channel
                    .as_deref()
                    .unwrap_or("")
                    .parse()
                    .with_context(|| format!("{}: channel", m.id))?;
                let want_label: Label = step
                    .expect_label
                    .parse()
                    .with_context(|| format!("{}: expect_label", m.id))?;
                let id = m.id.clone();
                let (outcome, finding) = engine.classify_traced(m).await?;
                out.push(Replayed {
                    id,
                    kind: s.kind.clone().unwrap_or_default(),
                    want_label,
                    want_repeat: step.expect_repeat,
                    outcome,
                    finding,
                });
                if out.len() % 100 == 0 {
                    eprintln!("  {} of {total} messages", out.len());
                }
            }
        }
        Ok(out)
    })
}

fn rule_name(f: Option<&RepeatFinding>) -> &'static str {
    match f.map(|f| f.rule) {
        None => "no sender",
        Some(Rule::New) => "new issue",
        Some(Rule::Duplicate) => "duplicate",
        Some(Rule::Resolution) => "resolution",
        Some(Rule::FollowUp) => "follow-up",
        Some(Rule::AfterFix) => "a report after a fix",
        Some(Rule::WithinTerm) => "status question within term",
        Some(Rule::ProcessRepeat) => "process repeat",
        Some(Rule::Repeat) => "repeat",
    }
}

/// Score a sequences file.
pub fn run(
    path: &Path,
    json_out: bool,
    repeat_model: Option<&Path>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let sequences = read(path)?;
    let model = match repeat_model {
        Some(p) => PairModel::parse(
            &std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        )?,
        None => PairModel::builtin().clone(),
    };
    let recognizer = std::sync::Arc::new(Recognizer::from_config(config)?);
    let done = replay(&sequences, &recognizer, config, &model)?;
    let (mut tp, mut fp, mut fn_, mut labels_ok) = (0, 0, 0, 0);
    let mut misses = Vec::new();
    for r in &done {
        let is_repeat = r.outcome.repeat.is_repeat;
        labels_ok += usize::from(r.outcome.label == r.want_label);
        match (is_repeat, r.want_repeat) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            _ => {}
        }
        if is_repeat != r.want_repeat || r.outcome.label != r.want_label {
            let miss = match (is_repeat, r.want_repeat) {
                (true, false) => "false alarm",
                (false, true) => "missed repeat",
                _ => "label",
            };
            misses.push(json!({
                "id": r.id, "kind": r.kind, "miss": miss,
                "expect_label": r.want_label, "label": r.outcome.label,
                "expect_repeat": r.want_repeat, "is_repeat": is_repeat,
                "rule": rule_name(r.finding.as_ref()),
                "signals": r.finding.as_ref().map(|f| f.signals.clone()).unwrap_or_default(),
                "best": r.finding.as_ref().and_then(|f| f.best.as_ref()).map(|(p, c)| {
                    let parts: Vec<String> = c.iter().map(|(n, v)| format!("{n} {v:+.2}")).collect();
                    format!("p {p:.2}: {}", parts.join(", "))
                }).unwrap_or_default(),
                "reason": r.outcome.repeat.reason,
            }));
        }
    }
    let ratio = |a: usize, b: usize, empty: f64| {
        if b > 0 {
            a as f64 / b as f64
        } else {
            empty
        }
    };
    let precision = ratio(tp, tp + fp, 1.0);
    let recall = ratio(tp, tp + fn_, 1.0);
    let total = done.len();
    let accuracy = ratio(labels_ok, total, 0.0);
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
        if !misses.is_empty() {
            println!("\nmisses (id, kind: what went wrong — the rule that decided, its signals):");
        }
        for m in &misses {
            let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
            let label = if m["label"] != m["expect_label"] {
                format!(", label {} (want {})", s("label"), s("expect_label"))
            } else {
                String::new()
            };
            let signals = if s("signals").is_empty() {
                String::new()
            } else {
                format!(": {}", s("signals"))
            };
            let best = if s("best").is_empty() {
                String::new()
            } else {
                format!(" [closest earlier message: {}]", s("best"))
            };
            println!(
                "- {} {}: {}{} — {}{}{}",
                s("id"),
                s("kind"),
                s("miss"),
                label,
                s("rule"),
                signals,
                best
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `herken sequences`.
#[derive(Debug, Args)]
pub struct SequencesArgs {
    #[command(subcommand)]
    command: SequencesCommand,
}

#[derive(Debug, Subcommand)]
enum SequencesCommand {
    /// Fit the same-issue model of repeat detection on a sequences file and write it (then
    /// rebuild to build it in, and check it with `herken eval` on held-out sequences).
    Fit {
        /// Sequences to fit on.
        #[arg(long, default_value = "data/sequences/fit.jsonl")]
        file: PathBuf,
        /// Where to write the model.
        #[arg(long, default_value = "data/repeat_model.json")]
        out: PathBuf,
        /// Rounds of replay and fitting (each round replays with the model of the last).
        #[arg(long, default_value_t = 3)]
        rounds: usize,
        /// F-score β for the threshold: below 1 favours precision, above 1 recall.
        #[arg(long, default_value_t = 1.0)]
        beta: f32,
        /// L2 penalty on the weights.
        #[arg(long, default_value_t = 0.002)]
        l2: f32,
        /// Also write the last round's bags (signal values per candidate pair, and whether the
        /// bag is the same issue) as JSON lines, for analysis. Holds no text.
        #[arg(long)]
        dump_bags: Option<PathBuf>,
    },
    /// Compute the centre of the semantic sketch's source vectors over a sample of the corpus
    /// (`data/sketch_center.json`), for the encoder present. Rebuild to build it in; sketches
    /// made before are then no longer compared with new ones.
    Center {
        /// The corpus to sample.
        #[arg(long, default_value = "data/corpus")]
        corpus: PathBuf,
        /// How many messages (every n-th, spread over the corpus).
        #[arg(long, default_value_t = 800)]
        sample: usize,
        /// Where to write it.
        #[arg(long, default_value = "data/sketch_center.json")]
        out: PathBuf,
    },
}

/// Run `herken sequences`.
pub fn main(args: SequencesArgs, config: &Config) -> anyhow::Result<ExitCode> {
    match args.command {
        SequencesCommand::Fit {
            file,
            out,
            rounds,
            beta,
            l2,
            dump_bags,
        } => fit(
            &file,
            &out,
            rounds.max(1),
            beta,
            l2,
            dump_bags.as_deref(),
            config,
        ),
        SequencesCommand::Center {
            corpus,
            sample,
            out,
        } => center(&corpus, sample.max(1), &out, config),
    }
}

fn center(corpus: &Path, sample: usize, out: &Path, config: &Config) -> anyhow::Result<ExitCode> {
    let (examples, _) = herken::dataset::read_corpus(corpus)?;
    let (encoder, _) = herken::recognizer::load_encoder(config).map_err(anyhow::Error::msg)?;
    let step = (examples.len() / sample).max(1);
    let picked: Vec<&str> = examples
        .iter()
        .step_by(step)
        .take(sample)
        .map(|e| e.message.text.as_str())
        .collect();
    let mut sum: Vec<f64> = Vec::new();
    for (i, text) in picked.iter().enumerate() {
        let (_, v) = encoder.embed_with_sketch(text)?;
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        for (s, x) in sum.iter_mut().zip(&v) {
            *s += *x as f64;
        }
        if (i + 1) % 100 == 0 {
            eprintln!("  {} of {} messages", i + 1, picked.len());
        }
    }
    let n = picked.len() as f64;
    let c = herken::repeat::semantic::Center {
        source: encoder.sketch_source(),
        made_from: format!(
            "mean of {} messages of {} (every {step}th)",
            picked.len(),
            corpus.display()
        ),
        mean: sum
            .iter()
            .map(|s| ((s / n) as f32 * 1e5).round() / 1e5)
            .collect(),
    };
    std::fs::write(out, serde_json::to_string(&c)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({}, {})", out.display(), c.source, c.made_from);
    Ok(ExitCode::SUCCESS)
}

/// The training bags of one replay, with the message id and sequence kind of each: at the
/// repeat step, a message with open earlier reports of its sender is a bag, positive when it
/// is a repeat. A duplicate in other words or an addition is the same issue too (its earlier
/// message is its bag).
fn bags(done: &[Replayed]) -> Vec<(Bag, &str, &str)> {
    done.iter()
        .filter_map(|r| {
            let f = r.finding.as_ref()?;
            if f.candidates.is_empty() {
                return None;
            }
            let same = r.want_repeat
                || (matches!(
                    r.kind.as_str(),
                    "duplicate_other_words" | "followup_addition"
                ) && matches!(f.rule, Rule::New | Rule::Repeat));
            Some((
                Bag {
                    pairs: f.candidates.clone(),
                    same,
                },
                r.id.as_str(),
                r.kind.as_str(),
            ))
        })
        .collect()
}

fn fit(
    file: &Path,
    out: &Path,
    rounds: usize,
    beta: f32,
    l2: f32,
    dump_bags: Option<&Path>,
    config: &Config,
) -> anyhow::Result<ExitCode> {
    let sequences = read(file)?;
    let recognizer = std::sync::Arc::new(Recognizer::from_config(config)?);
    if let herken::recognizer::ModelStatus::Degraded(why) = recognizer.status() {
        eprintln!("warning: {why}; the meaning signal needs the encoder");
    }
    let mut model = PairModel::builtin().clone();
    for round in 1..=rounds {
        eprintln!("round {round} of {rounds}: replaying {}", file.display());
        let done = replay(&sequences, &recognizer, config, &model)?;
        let labelled = bags(&done);
        if let (Some(path), true) = (dump_bags, round == rounds) {
            let mut text = String::new();
            for (b, id, kind) in &labelled {
                let pairs: Vec<&Vec<f32>> = b.pairs.iter().map(|p| &p.values).collect();
                text.push_str(
                    &json!({"id": id, "kind": kind, "same": b.same, "signals": pair::SIGNALS, "pairs": pairs})
                        .to_string(),
                );
                text.push('\n');
            }
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let bags: Vec<Bag> = labelled.into_iter().map(|(b, _, _)| b).collect();
        let positives = bags.iter().filter(|b| b.same).count();
        model = pair::fit(&bags, &model, l2, 3000);
        let scores = pair::bag_scores(&bags, &model);
        let (threshold, f) = pair::best_threshold(&scores, beta);
        model.threshold = threshold;
        model.duplicate_threshold = ((threshold - 0.15).max(0.2) * 100.0).round() / 100.0;
        model.fitted_on = format!(
            "{}: {} bags ({positives} same issue), round {round} of {rounds}, F{beta} {f:.3} at threshold {threshold:.2}",
            file.display(),
            bags.len()
        );
        eprintln!("  {}", model.fitted_on);
    }
    let text = serde_json::to_string_pretty(&model)? + "\n";
    std::fs::write(out, text).with_context(|| format!("writing {}", out.display()))?;
    println!("wrote {} ({})", out.display(), model.fitted_on);
    for (name, w) in &model.weights {
        println!("  {name:<16} {w:>7.3}");
    }
    println!("  {:<16} {:>7.3}", "bias", model.bias);
    println!("Rebuild to build it in, then measure: herken eval data/sequences/heldout.jsonl");
    Ok(ExitCode::SUCCESS)
}
