//! `herken train`: train the sparse model from the corpus, with progress on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use herken::config::Config;
use herken::pipeline::cues::Lexicon;
use herken::pipeline::model::TrainOptions;
use herken::training::{EncoderSetup, FineTuneOptions};

/// Arguments of `herken train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Directory with the labelled corpus (*.jsonl with `text` and `label`).
    #[arg(long, default_value = "data/corpus")]
    pub corpus: PathBuf,
    /// Where to write sparse-lr.bin and manifest.json [default: the configured model_dir].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Train the sparse model only, even when the encoder is present.
    #[arg(long)]
    pub no_encoder: bool,
    #[command(flatten)]
    pub sparse: SparseArgs,
    #[command(flatten)]
    pub encoder: EncoderArgs,
}

/// The sparse model's training settings (shared by `herken train` and `herken eval --cross-genre`).
#[derive(Debug, Args, Clone)]
pub struct SparseArgs {
    /// Shuffling seed; the same seed and corpus give the same model.
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    pub seed: u64,
    /// Passes over the corpus.
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    pub epochs: usize,
    /// The hashed feature space has 2^dim_bits dimensions (8..=24).
    #[arg(long, default_value_t = TrainOptions::default().dim_bits, value_parser = clap::value_parser!(u32).range(8..=24))]
    pub dim_bits: u32,
    /// Strength of the lexicon prior the model learns corrections to (0 switches it off).
    #[arg(long, default_value_t = TrainOptions::default().prior_strength)]
    pub prior_strength: f32,
    /// Share of training messages whose channel the sparse model is not shown (0..1), so that
    /// a missing channel (public texts, many messages in use) teaches it nothing.
    #[arg(long, default_value_t = TrainOptions::default().channel_dropout)]
    pub channel_dropout: f32,
    /// L2 penalty on the sparse model's weights, per update (stronger: fewer phrases learned
    /// by heart).
    #[arg(long = "sparse-l2", default_value_t = TrainOptions::default().l2)]
    pub sparse_l2: f32,
    /// How many sparse models, each with its own shuffling order, are averaged into one.
    #[arg(long = "sparse-average", default_value_t = TrainOptions::default().average as u32, value_parser = clap::value_parser!(u32).range(1..=32))]
    pub sparse_average: u32,
}

impl SparseArgs {
    /// The options.
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            dim_bits: self.dim_bits,
            epochs: self.epochs,
            seed: self.seed,
            prior_strength: self.prior_strength,
            channel_dropout: self.channel_dropout.clamp(0.0, 1.0),
            l2: self.sparse_l2.max(0.0),
            average: self.sparse_average as usize,
            ..TrainOptions::default()
        }
    }
}

/// How the encoder is trained on: its top layers fine-tuned, or the head on a shallower layer
/// (shared by `herken train` and `herken eval --cross-genre`).
#[derive(Debug, Args, Clone)]
pub struct EncoderArgs {
    /// Fine-tune the encoder's top layers on the corpus (needs the libtorch runtime; minutes
    /// per epoch on 2 cores). Without it the encoder stays frozen.
    #[arg(long)]
    pub fine_tune: bool,
    /// How many top layers to fine-tune.
    #[arg(long, default_value_t = FineTuneOptions::default().layers, requires = "fine_tune")]
    pub top_layers: usize,
    /// Peak learning rate of the fine-tuned layers.
    #[arg(long, default_value_t = FineTuneOptions::default().learning_rate, requires = "fine_tune")]
    pub ft_lr: f64,
    /// Peak learning rate of the temporary classification head while fine-tuning.
    #[arg(long, default_value_t = FineTuneOptions::default().head_learning_rate, requires = "fine_tune")]
    pub ft_head_lr: f64,
    /// Epochs of fine-tuning (the best on the held-out split is kept).
    #[arg(long, default_value_t = FineTuneOptions::default().epochs, requires = "fine_tune")]
    pub ft_epochs: usize,
    /// Texts per fine-tuning step.
    #[arg(long, default_value_t = FineTuneOptions::default().batch_size, requires = "fine_tune")]
    pub ft_batch: usize,
    /// Threads for fine-tuning (fixed, so a seed gives the same layers) [default: all cores].
    #[arg(long, requires = "fine_tune")]
    pub ft_threads: Option<usize>,
    /// Fit the encoder head on the mean of layer N's states instead of the last layer's, so
    /// that classifying runs only the first N layers (from 8, the repeat sketch's layer, to
    /// the encoder's 12; 8 runs a third fewer layers). Recorded in the model's manifest as
    /// part of the encoder's id; the service loads the encoder at that depth.
    #[arg(long, value_name = "N", conflicts_with = "fine_tune")]
    pub encoder_depth: Option<usize>,
}

impl EncoderArgs {
    /// The options, when fine-tuning was asked for.
    pub fn options(&self) -> Option<FineTuneOptions> {
        self.fine_tune.then(|| {
            let d = FineTuneOptions::default();
            FineTuneOptions {
                layers: self.top_layers,
                learning_rate: self.ft_lr,
                head_learning_rate: self.ft_head_lr,
                epochs: self.ft_epochs.max(1),
                batch_size: self.ft_batch.max(1),
                threads: self.ft_threads.unwrap_or(d.threads).max(1),
                ..d
            }
        })
    }
}

/// The base encoder for training, or `None` (with the reason on stderr) when it is absent or
/// not wanted; fine-tuning without an encoder is an error.
pub fn training_encoder(
    config: &Config,
    wanted: bool,
    fine_tune: bool,
    depth: Option<usize>,
) -> anyhow::Result<Option<herken::pipeline::model::encoder::Encoder>> {
    if !wanted {
        anyhow::ensure!(
            !fine_tune,
            "--fine-tune needs the encoder; drop --no-encoder"
        );
        return Ok(None);
    }
    if herken::fetch::is_complete(&config.encoder_dir)
        || config.encoder_dir.join("model.safetensors").is_file()
    {
        eprintln!(
            "loading the encoder from {} ({} runtime)",
            config.encoder_dir.display(),
            config.encoder_runtime
        );
        Ok(Some(
            herken::pipeline::model::encoder::Encoder::load_at_depth(
                &config.encoder_dir,
                config.encoder_runtime,
                None,
                depth,
            )?,
        ))
    } else {
        anyhow::ensure!(
            !fine_tune,
            "--fine-tune needs the encoder, and {} has none (run `herken model fetch`)",
            config.encoder_dir.display()
        );
        eprintln!(
            "no encoder in {} (run `herken model fetch`): training the sparse model only",
            config.encoder_dir.display()
        );
        Ok(None)
    }
}

/// Run `herken train`.
pub fn run(args: TrainArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let lexicon = match &config.lexicon_dir {
        Some(d) => Lexicon::from_dir(d)?,
        None => Lexicon::builtin()?,
    };
    let out = args.out.unwrap_or_else(|| config.model_dir.clone());
    let opts = args.sparse.options();
    let bar = super::progress::Progress::new();
    let progress = |done: usize, total: usize, phase: &str| bar.update(done, total, phase);
    let fine_tune = args.encoder.options();
    let encoder = training_encoder(
        config,
        !args.no_encoder,
        fine_tune.is_some(),
        args.encoder.encoder_depth,
    )?;
    let setup = encoder.as_ref().map(|e| EncoderSetup {
        encoder: e,
        encoder_dir: &config.encoder_dir,
        cache_dir: &config.encoder_dir,
        fine_tune: fine_tune.clone(),
    });
    let manifest = herken::training::train(
        &args.corpus,
        &out,
        &lexicon,
        &opts,
        setup.as_ref(),
        &progress,
    )?;
    bar.finish();
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
    for (what, e) in [
        ("frozen encoder head", &manifest.encoder_frozen),
        ("encoder head", &manifest.encoder),
    ] {
        if let Some(e) = e {
            eprintln!(
                "{what} ({}, L2 {}), blended with weight {:.1}: held-out macro-F1 {:.3}, accuracy {:.3}, klacht recall {:.3}, ECE {:.3}",
                e.encoder, e.l2, e.alpha, e.heldout.macro_f1, e.heldout.accuracy, e.heldout.klacht_recall, e.heldout.ece
            );
            if let Some(ft) = &e.fine_tune {
                eprintln!(
                    "fine-tuned the top {} layers: held-out macro-F1 of the temporary head per epoch {:?}, kept epoch {}",
                    ft.layers,
                    ft.report
                        .heldout_macro_f1
                        .iter()
                        .map(|f| format!("{f:.3}"))
                        .collect::<Vec<_>>(),
                    ft.report.best_epoch
                );
            }
        }
    }
    eprintln!("wrote {}", out.display());
    Ok(ExitCode::SUCCESS)
}
