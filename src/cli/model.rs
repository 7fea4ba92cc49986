//! `herken model compare`: the same texts through two encoder runtimes — how close their
//! embeddings are and how long each takes per message. The check behind choosing a runtime
//! (the int8 runtime approximates the f32 function; see the README's "Performance").

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use herken::config::Config;
use herken::pipeline::model::encoder::{self, Runtime, TOP_FILE};

/// Arguments of `herken model compare`.
#[derive(Debug, ClapArgs)]
pub struct CompareArgs {
    /// JSON lines with `text` (a corpus or evaluation file).
    #[arg(long)]
    pub file: PathBuf,
    /// The runtime measured.
    #[arg(long, default_value = "int8")]
    pub runtime: Runtime,
    /// The runtime it is compared against.
    #[arg(long, default_value = "libtorch")]
    pub against: Runtime,
    /// At most this many texts (the first ones).
    #[arg(long, default_value_t = 300)]
    pub limit: usize,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// After `herken model fetch`: make what the configured runtime keeps beside the encoder
/// (the int8 runtime's quantised weights, for the model directory's encoder), so the first
/// start does not, and a read-only deployment has it.
pub fn prepare_runtime(config: &Config) -> Result<()> {
    if config.encoder_runtime != Runtime::Int8 {
        return Ok(());
    }
    let top = config.model_dir.join(TOP_FILE);
    let top = top.is_file().then_some(top.as_path());
    let e = encoder::Encoder::load_with_top(&config.encoder_dir, Runtime::Int8, top)
        .context("preparing the int8 runtime's weights")?;
    eprintln!(
        "int8 weights for {} ready in {}",
        e.id(),
        encoder::quantized::path_for(&config.encoder_dir, e.id()).display()
    );
    Ok(())
}

/// Run `herken model compare`.
pub fn compare(args: CompareArgs, config: &Config) -> Result<ExitCode> {
    let examples = herken::dataset::read_file(&args.file)?;
    let texts: Vec<&str> = examples
        .iter()
        .map(|e| e.message.text.as_str())
        .take(args.limit)
        .collect();
    if texts.is_empty() {
        bail!("{}: no texts", args.file.display());
    }
    let top = config.model_dir.join(TOP_FILE);
    let top = top.is_file().then_some(top.as_path());
    let load = |r: Runtime| {
        let start = Instant::now();
        let e = encoder::Encoder::load_with_top(&config.encoder_dir, r, top)
            .with_context(|| format!("loading the encoder on {r}"))?;
        anyhow::Ok((e, start.elapsed().as_secs_f64()))
    };
    let (a, a_load) = load(args.runtime)?;
    let (b, b_load) = load(args.against)?;
    let mut cosines = Vec::with_capacity(texts.len());
    let (mut a_secs, mut b_secs) = (0f64, 0f64);
    for (i, t) in texts.iter().enumerate() {
        let start = Instant::now();
        let ea = a.embed(t)?;
        a_secs += start.elapsed().as_secs_f64();
        let start = Instant::now();
        let eb = b.embed(t)?;
        b_secs += start.elapsed().as_secs_f64();
        cosines.push(encoder::cosine(&ea, &eb));
        if (i + 1) % 50 == 0 {
            eprintln!("{} of {} texts", i + 1, texts.len());
        }
    }
    cosines.sort_by(f64::total_cmp);
    let n = cosines.len();
    let pct = |p: f64| cosines[((n as f64 - 1.0) * p).round() as usize];
    let mean = cosines.iter().sum::<f64>() / n as f64;
    let ms = |s: f64| 1000.0 * s / n as f64;
    let report = serde_json::json!({
        "file": args.file.display().to_string(),
        "texts": n,
        "runtime": args.runtime.name(),
        "against": args.against.name(),
        "cosine": {"min": cosines[0], "p1": pct(0.01), "p5": pct(0.05), "median": pct(0.5), "mean": mean},
        "ms_per_text": {args.runtime.name(): ms(a_secs), args.against.name(): ms(b_secs)},
        "load_seconds": {args.runtime.name(): a_load, args.against.name(): b_load},
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{} texts of {}: {} against {}",
            n,
            args.file.display(),
            args.runtime,
            args.against
        );
        println!(
            "cosine: min {:.4}  p1 {:.4}  p5 {:.4}  median {:.4}  mean {:.4}",
            cosines[0],
            pct(0.01),
            pct(0.05),
            pct(0.5),
            mean
        );
        println!(
            "time per text (one at a time): {} {:.1} ms, {} {:.1} ms",
            args.runtime,
            ms(a_secs),
            args.against,
            ms(b_secs)
        );
        println!(
            "load: {} {:.2} s, {} {:.2} s",
            args.runtime, a_load, args.against, b_load
        );
    }
    Ok(ExitCode::SUCCESS)
}
