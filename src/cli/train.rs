//! `herken train`: train the sparse model from the corpus, with a progress bar.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use herken::config::Config;
use herken::pipeline::cues::Lexicon;
use herken::pipeline::model::TrainOptions;

/// Arguments of `herken train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Directory with the labelled corpus (*.jsonl with `text` and `label`).
    #[arg(long, default_value = "data/corpus")]
    pub corpus: PathBuf,
    /// Where to write sparse-lr.bin and manifest.json [default: the configured model_dir].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Shuffling seed; the same seed and corpus give the same model.
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Passes over the corpus.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// The hashed feature space has 2^dim_bits dimensions (8..=24).
    #[arg(long, default_value_t = TrainOptions::default().dim_bits, value_parser = clap::value_parser!(u32).range(8..=24))]
    pub dim_bits: u32,
    /// Train the sparse model only, even when the encoder is present.
    #[arg(long)]
    pub no_encoder: bool,
    /// Strength of the lexicon prior the model learns corrections to (0 switches it off).
    #[arg(long, default_value_t = TrainOptions::default().prior_strength)]
    pub prior_strength: f32,
}

/// Run `herken train`.
pub fn run(args: TrainArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let lexicon = match &config.lexicon_dir {
        Some(d) => Lexicon::from_dir(d)?,
        None => Lexicon::builtin()?,
    };
    let out = args.out.unwrap_or_else(|| config.model_dir.clone());
    let opts = TrainOptions {
        dim_bits: args.dim_bits,
        epochs: args.epochs,
        seed: args.seed,
        prior_strength: args.prior_strength,
        ..TrainOptions::default()
    };
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({elapsed})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let progress = |done: usize, total: usize, phase: &str| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(phase.to_string());
    };
    let encoder = if args.no_encoder {
        None
    } else if herken::fetch::is_complete(&config.encoder_dir)
        || config.encoder_dir.join("model.safetensors").is_file()
    {
        eprintln!(
            "loading the encoder from {} ({} runtime)",
            config.encoder_dir.display(),
            config.encoder_runtime
        );
        Some(herken::pipeline::model::encoder::Encoder::load_on(
            &config.encoder_dir,
            config.encoder_runtime,
        )?)
    } else {
        eprintln!(
            "no encoder in {} (run `herken model fetch`): training the sparse model only",
            config.encoder_dir.display()
        );
        None
    };
    let manifest = herken::training::train(
        &args.corpus,
        &out,
        &lexicon,
        &opts,
        encoder.as_ref().map(|e| (e, config.encoder_dir.as_path())),
        &progress,
    )?;
    bar.finish_and_clear();
    eprintln!(
        "trained on {} messages ({}); held-out {}: macro-F1 {:.3}, accuracy {:.3}, klacht recall {:.3}, ECE {:.3}; temperature {:.2}",
        manifest.corpus_count,
        manifest
            .corpus_labels
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        manifest.heldout.count,
        manifest.heldout.macro_f1,
        manifest.heldout.accuracy,
        manifest.heldout.klacht_recall,
        manifest.heldout.ece,
        manifest.temperature,
    );
    if let Some(e) = &manifest.encoder {
        eprintln!(
            "encoder head ({}, L2 {}), blended with weight {:.1}: held-out macro-F1 {:.3}, accuracy {:.3}, klacht recall {:.3}, ECE {:.3}",
            e.encoder, e.l2, e.alpha, e.heldout.macro_f1, e.heldout.accuracy, e.heldout.klacht_recall, e.heldout.ece
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
