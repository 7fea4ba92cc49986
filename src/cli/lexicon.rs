//! `herken lexicon mine`: phrases the sparse model weighs heavily per label, mined from the
//! corpus, as a candidate list for a person to review before any goes into `data/lexicon/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use herken::config::Config;
use herken::dataset;
use herken::domain::Label;
use herken::pipeline::cues::Lexicon;
use herken::training::mine::{self, MineOptions};

/// Arguments of `herken lexicon`.
#[derive(Debug, Args)]
pub struct LexiconArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: LexiconCommand,
}

/// Lexicon subcommands.
#[derive(Debug, Subcommand)]
pub enum LexiconCommand {
    /// Mine the corpus for word n-grams (1–4) the sparse model weighs heavily per label, with
    /// their weight (mean share of the label's log-odds), count, purity and an example id;
    /// tab-separated, best first per label. A candidate list to review, never written into
    /// the lexicon by itself.
    Mine {
        /// The labelled corpus.
        #[arg(long, default_value = "data/corpus")]
        corpus: PathBuf,
        /// Only this label.
        #[arg(long)]
        label: Option<Label>,
        /// Candidates per label (at most 10000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
        top: u32,
        /// Least number of messages of the label holding a phrase.
        #[arg(long, default_value_t = 3)]
        min_count: usize,
        /// Least share of the messages holding a phrase that have the label (0..1).
        #[arg(long, default_value_t = 0.6)]
        min_purity: f32,
        /// Leave out phrases a lexicon phrase already covers.
        #[arg(long)]
        new_only: bool,
        /// Write the list here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Run `herken lexicon`.
pub fn run(args: LexiconArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let LexiconCommand::Mine {
        corpus,
        label,
        top,
        min_count,
        min_purity,
        new_only,
        out,
    } = args.command;
    let lexicon = match &config.lexicon_dir {
        Some(d) => Lexicon::from_dir(d)?,
        None => Lexicon::builtin()?,
    };
    let sparse = herken::pipeline::model::load_sparse(&config.model_dir, &lexicon)?;
    let (examples, _) = dataset::read_corpus(&corpus)?;
    let opts = MineOptions {
        label,
        top: top as usize,
        min_count,
        min_purity: min_purity.clamp(0.0, 1.0),
        ..MineOptions::default()
    };
    let found = mine::mine(&examples, &lexicon, &sparse, &opts);
    let mut w: Box<dyn Write> = match &out {
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p)?)),
        None => Box::new(std::io::stdout().lock()),
    };
    writeln!(
        w,
        "# herken lexicon mine: {} messages of {}; review before adding to data/lexicon/",
        examples.len(),
        corpus.display()
    )?;
    writeln!(
        w,
        "label\tweight\tcount\tpurity\texample\tin_lexicon\tphrase"
    )?;
    for c in found.iter().filter(|c| !(new_only && c.in_lexicon)) {
        writeln!(
            w,
            "{}\t{:.3}\t{}\t{:.2}\t{}\t{}\t{}",
            c.label,
            c.weight,
            c.count,
            c.purity,
            c.example,
            if c.in_lexicon { "yes" } else { "no" },
            c.phrase
        )?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}
