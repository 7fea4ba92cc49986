//! `herken classify`: one message (argument, standard input or .eml file) shown for a person,
//! or JSON lines in and out for machines (`--jsonl`, the contract's format).

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use serde_json::json;

use herken::config::Config;
use herken::domain::{Channel, Label, Message};
use herken::engine::Engine;
use herken::pipeline::normalize;
use herken::recognizer::{Outcome, Recognizer};

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When standard output is a terminal.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `herken classify`.
#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The message text. Without it (and without --eml or --jsonl) the text is read from standard input.
    pub text: Option<String>,
    /// Read JSON lines from standard input ({"id", "text", optional "sender", "received" (RFC 3339),
    /// "channel", "subject"}) and write one JSON line per input line, in order. A bad line gives
    /// {"id", "error"} and the run goes on; the exit status is 1 if any line failed.
    #[arg(long, conflicts_with_all = ["text", "eml"])]
    pub jsonl: bool,
    /// Classify a raw RFC 5322 e-mail file (MIME, HTML, quoted-printable and charsets decoded).
    #[arg(long, value_name = "FILE", conflicts_with = "text")]
    pub eml: Option<PathBuf>,
    /// Channel of the message: balie, telefoon, email, brief, webformulier, chat.
    #[arg(long)]
    pub channel: Option<String>,
    /// Subject line, if any.
    #[arg(long)]
    pub subject: Option<String>,
    /// Print the answer as one JSON object instead of for a person.
    #[arg(long)]
    pub json: bool,
    /// Colour the cues in the text.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
}

/// Run `herken classify`.
pub fn run(args: ClassifyArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let recognizer = Recognizer::from_config(config)?;
    if let herken::recognizer::ModelStatus::Degraded(why) = recognizer.status() {
        eprintln!("herken: warning: running degraded on the lexicon alone: {why}");
    }
    if args.jsonl {
        return run_jsonl(recognizer, config);
    }
    let channel: Channel = args.channel.as_deref().unwrap_or("").parse()?;
    let mut message = if let Some(path) = &args.eml {
        let raw = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        if raw.len() > config.limits().max_raw_email_bytes {
            anyhow::bail!(
                "{}: {} bytes, more than the limit of {} (max_raw_email_bytes)",
                path.display(),
                raw.len(),
                config.limits().max_raw_email_bytes
            );
        }
        let parsed = normalize::parse_raw_email_bounded(&raw, config.max_text_chars)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut m = Message::new(parsed.body).with_channel(if channel == Channel::Unspecified {
            Channel::Email
        } else {
            channel
        });
        m.sender = parsed.sender;
        m.subject = parsed.subject;
        if let Some(d) = parsed.date {
            m.received_at = d;
        }
        m
    } else {
        let text = match args.text {
            Some(t) => t,
            None => {
                let mut buf = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut buf)
                    .context("reading standard input")?;
                String::from_utf8(buf).map_err(|e| {
                    anyhow::anyhow!(
                        "standard input is not valid UTF-8 (byte {})",
                        e.utf8_error().valid_up_to()
                    )
                })?
            }
        };
        Message::new(text).with_channel(channel)
    };
    if let Some(s) = args.subject {
        message.subject = s;
    }
    let outcome = recognizer.classify(&message)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &outcome_json(&outcome))?;
        writeln!(out)?;
    } else {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stdout().is_terminal(),
        };
        write!(out, "{}", render(&message.text, &outcome, color))?;
    }
    out.flush()?;
    drop(out);
    // The answer is out and nothing else is pending (no store, no files open for writing):
    // end the process without running libtorch's static destructors, which unregister its
    // thousands of operators one by one, nor handing the weights and tables back to the
    // allocator piece by piece — together a quarter of a one-shot run.
    std::io::stderr().flush()?;
    // SAFETY: _exit ends the process at once; everything to keep has been written.
    unsafe { libc::_exit(0) }
}

/// JSON lines: every line of one run shares one repeat memory (an in-memory store with a
/// secret that lives as long as the run).
fn run_jsonl(recognizer: Recognizer, config: &Config) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let engine = Engine::in_memory(std::sync::Arc::new(recognizer), config).await?;
        let stdin = std::io::stdin().lock();
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        let mut failed = 0usize;
        for (n, line) in stdin.split(b'\n').enumerate() {
            let line = line.context("reading standard input")?;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let fallback_id = format!("line:{}", n + 1);
            let value = match herken::jsonl::parse_line(&line, &fallback_id) {
                Ok(message) => {
                    let id = message.id.clone();
                    match engine.classify(message).await {
                        Ok(o) => outcome_json(&o),
                        Err(e) => {
                            failed += 1;
                            json!({ "id": id, "error": e.to_string() })
                        }
                    }
                }
                Err((id, e)) => {
                    failed += 1;
                    json!({ "id": id, "error": e })
                }
            };
            serde_json::to_writer(&mut out, &value)?;
            out.write_all(b"\n")?;
        }
        out.flush()?;
        if failed > 0 {
            eprintln!("herken: {failed} line(s) failed; see their \"error\" fields");
            Ok(ExitCode::from(1))
        } else {
            Ok(ExitCode::SUCCESS)
        }
    })
}

/// The contract's output object for one message.
pub fn outcome_json(o: &Outcome) -> serde_json::Value {
    json!({
        "id": o.id,
        "label": o.label,
        "confidence": o.confidence,
        "scores": o.scores,
        "is_repeat": o.repeat.is_repeat,
        "repeat": o.repeat,
        "similar_reports": o.similar_reports,
        "duplicate_of": o.duplicate_of,
        "queue": o.queue,
        "needs_clarification": o.needs_clarification,
        "clarifying_question": o.clarifying_question,
        "explanation": o.explanation,
        "satisfaction_reminder": o.satisfaction_reminder,
        "warnings": o.warnings,
        "referral": o.referral,
        "language": o.language,
        "model": o.model,
        "cues": o.cues.iter().map(|c| json!({
            "start": c.start, "end": c.end, "text": c.text, "family": c.family,
            "supports": c.supports, "negated": c.negated, "from_model": c.from_model,
            "weight": c.weight,
        })).collect::<Vec<_>>(),
    })
}

fn paint(label: Label) -> &'static str {
    match label {
        Label::Klacht => "\x1b[1;31m",
        Label::Melding => "\x1b[1;33m",
        Label::Bezwaar => "\x1b[1;35m",
        Label::Raadsadres => "\x1b[1;34m",
        Label::Overig => "\x1b[1;36m",
    }
}

/// The answer for a person: label, explanation, the text with its cues marked, the cue list.
pub fn render(text: &str, o: &Outcome, color: bool) -> String {
    let reset = if color { "\x1b[0m" } else { "" };
    let bold = |l: Label| if color { paint(l) } else { "" };
    let mut s = format!(
        "{}{}{} ({:.0}%) → queue {}\n{}\n",
        bold(o.label),
        o.label,
        reset,
        o.confidence * 100.0,
        o.queue,
        o.explanation
    );
    if o.needs_clarification {
        s.push_str(&format!("? {}\n", o.clarifying_question));
    }
    if o.repeat.is_repeat {
        s.push_str(&format!("↻ {}\n", o.repeat.reason));
    }
    if !o.satisfaction_reminder.is_empty() {
        s.push_str(&format!("✓ {}\n", o.satisfaction_reminder));
    }
    // A referral is already the explanation; other warnings get a line each.
    for w in o
        .warnings
        .iter()
        .filter(|w| !o.explanation.contains(w.as_str()))
    {
        s.push_str(&format!("! {w}\n"));
    }
    // The text with cues marked: colour on a terminal, [brackets] otherwise.
    s.push('\n');
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    for c in o.cues.iter().filter(|c| !c.negated) {
        if c.start < pos {
            continue;
        }
        s.extend(&chars[pos..c.start]);
        let inner: String = chars[c.start..c.end].iter().collect();
        if color {
            s.push_str(&format!("{}{}{}", paint(c.supports), inner, reset));
        } else {
            s.push_str(&format!("[{inner}]"));
        }
        pos = c.end;
    }
    s.extend(&chars[pos.min(chars.len())..]);
    s.push_str("\n\ncues:\n");
    for c in &o.cues {
        s.push_str(&format!(
            "  {:>5}..{:<5} {:<28} {:<12} → {:<10} {}{}\n",
            c.start,
            c.end,
            format!("{:?}", c.text),
            c.family.as_str(),
            c.supports,
            if c.weight != 0.0 {
                format!("{:+.2}", c.weight)
            } else {
                String::new()
            },
            match (c.negated, c.from_model) {
                (true, _) => " (negated)",
                (_, true) => " (model)",
                _ => "",
            }
        ));
    }
    s.push_str(&format!(
        "\nmodel {} · language {}\n",
        o.model,
        o.language.as_str()
    ));
    s
}
