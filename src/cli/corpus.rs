//! `herken corpus stats`: what a labelled corpus holds — messages per genre × label, per
//! language and channel, lengths — as a table or Markdown for the data card.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use herken::dataset;
use herken::domain::Label;

/// Arguments of `herken corpus`.
#[derive(Debug, Args)]
pub struct CorpusArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CorpusCommand,
}

/// Corpus subcommands.
#[derive(Debug, Subcommand)]
pub enum CorpusCommand {
    /// Count messages per genre × label, language and channel, and their lengths.
    Stats {
        /// The corpus directory (*.jsonl) or one labelled file.
        #[arg(default_value = "data/corpus")]
        path: PathBuf,
        /// Print Markdown tables (for data/README.md).
        #[arg(long)]
        markdown: bool,
    },
}

/// Run `herken corpus`.
pub fn run(args: CorpusArgs) -> anyhow::Result<ExitCode> {
    let CorpusCommand::Stats { path, markdown } = args.command;
    let examples = if path.is_dir() {
        dataset::read_corpus(&path)?.0
    } else {
        dataset::read_file(&path)?
    };
    let mut grid: BTreeMap<&str, [usize; Label::COUNT]> = BTreeMap::new();
    let mut langs: BTreeMap<String, usize> = BTreeMap::new();
    let mut channels: BTreeMap<&str, usize> = BTreeMap::new();
    let mut words: Vec<usize> = Vec::with_capacity(examples.len());
    for ex in &examples {
        grid.entry(ex.genre.unwrap_or("(none)")).or_default()[ex.label.index()] += 1;
        *langs
            .entry(ex.lang.clone().unwrap_or_else(|| "?".into()))
            .or_default() += 1;
        *channels.entry(ex.message.channel.as_str()).or_default() += 1;
        words.push(ex.message.text.split_whitespace().count());
    }
    words.sort_unstable();
    let mut totals = [0usize; Label::COUNT];
    for row in grid.values() {
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
    }
    let head: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
    let (open, sep, close) = if markdown {
        ("| ", " | ", " |")
    } else {
        ("", "  ", "")
    };
    let line = |name: &str, row: &[usize; Label::COUNT]| {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:>10}")).collect();
        format!(
            "{open}{name:<12}{sep}{}{sep}{:>6}{close}",
            cells.join(sep),
            row.iter().sum::<usize>()
        )
    };
    println!(
        "{open}{:<12}{sep}{}{sep}{:>6}{close}",
        "genre",
        head.iter()
            .map(|h| format!("{h:>10}"))
            .collect::<Vec<_>>()
            .join(sep),
        "total"
    );
    if markdown {
        println!("|{}|", ["---"; Label::COUNT + 2].join("|"));
    }
    for (g, row) in &grid {
        println!("{}", line(g, row));
    }
    println!(
        "{}",
        line(if markdown { "**total**" } else { "total" }, &totals)
    );
    let pct = |n: usize| 100.0 * n as f64 / examples.len().max(1) as f64;
    println!(
        "\n{} messages; languages: {}; channels: {}",
        examples.len(),
        langs
            .iter()
            .map(|(k, v)| format!("{k} {v} ({:.0} %)", pct(*v)))
            .collect::<Vec<_>>()
            .join(", "),
        channels
            .iter()
            .map(|(k, v)| format!("{} {v}", if k.is_empty() { "none" } else { k }))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if let (Some(min), Some(max)) = (words.first(), words.last()) {
        println!(
            "words: {min} to {max}, median {}; under 20: {}, over 200: {}",
            words[words.len() / 2],
            words.iter().filter(|&&w| w < 20).count(),
            words.iter().filter(|&&w| w > 200).count()
        );
    }
    Ok(ExitCode::SUCCESS)
}
