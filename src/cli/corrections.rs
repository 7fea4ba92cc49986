//! `herken corrections export`: staff corrections as JSON lines in the corpus format, for
//! retraining — the "Leren" of the ombudsman's motto. Reads the configured store directly.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};

use herken::config::Config;
use herken::intake::QueueStore;
use herken::store::Store;

/// Arguments of `herken corrections`.
#[derive(Debug, Args)]
pub struct CorrectionsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CorrectionsCommand,
}

/// Corrections subcommands.
#[derive(Debug, Subcommand)]
pub enum CorrectionsCommand {
    /// Write corrections as JSON lines ({"text", "label", "lang", "channel", "subject",
    /// "source", "from_label", "note", "corrected_at"}) to standard output or --out. The texts
    /// are real messages with personal data: anonymise before adding them to data/corpus.
    Export {
        /// Only corrections made at or after this time (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

/// Run `herken corrections`.
pub fn run(args: CorrectionsArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let CorrectionsCommand::Export { since, out } = args.command;
    let since: DateTime<Utc> = match since {
        Some(s) => DateTime::parse_from_rfc3339(&s)
            .with_context(|| format!("--since {s:?} is not RFC 3339"))?
            .with_timezone(&Utc),
        None => DateTime::<Utc>::UNIX_EPOCH,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let rows = rt.block_on(async {
        let store = Store::open(&config.store).await?;
        let rows = store.corrections(since).await?;
        store.close().await;
        Ok::<_, anyhow::Error>(rows)
    })?;
    let mut sink: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut written = 0;
    let mut without_text = 0;
    for (c, message) in rows {
        let Some(m) = message else {
            // The item was purged after the retention: the correction is kept, its text is not.
            without_text += 1;
            continue;
        };
        let lang = herken::pipeline::language::detect(&m.text);
        let line = serde_json::json!({
            "text": m.text, "label": c.to_label, "lang": lang.as_str(), "channel": m.channel,
            "subject": m.subject, "source": "correction", "from_label": c.from_label,
            "note": c.note, "corrected_at": c.corrected_at.to_rfc3339(),
        });
        serde_json::to_writer(&mut sink, &line)?;
        sink.write_all(b"\n")?;
        written += 1;
    }
    sink.flush()?;
    eprintln!(
        "exported {written} correction(s){}",
        if without_text > 0 {
            format!("; {without_text} without text (purged)")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}
