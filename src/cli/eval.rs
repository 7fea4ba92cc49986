//! `herken eval`: score a labelled file with the configured pipeline (and, with `--compare`,
//! the encoder head alone, the sparse model alone and the lexicon alone beside it), per label
//! and per language, with the errors listed.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use herken::config::Config;
use herken::dataset;
use herken::eval::{self, Metrics, Scored};
use herken::pipeline::decide::DecideOptions;
use herken::pipeline::model::{CueScorer, EncoderScorer};
use herken::pipeline::Pipeline;
use herken::recognizer::{load_encoder, Recognizer};

/// Arguments of `herken eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A labelled JSON-lines file: `text` and `label`, optional `id`, `channel`, `lang`; or a
    /// sequences file (`messages` with `sender`, `received`, `text`, `expect_label`,
    /// `expect_repeat`), scored for repeat precision and recall.
    pub file: PathBuf,
    /// Print one JSON object (macro_f1, accuracy, labels, confusion, ece, by_lang, variants;
    /// with --errors also errors).
    #[arg(long)]
    pub json: bool,
    /// List every misclassified message with its explanation.
    #[arg(long)]
    pub errors: bool,
    /// Also score the encoder head alone, the sparse model alone and the lexicon alone, side by side.
    #[arg(long)]
    pub compare: bool,
}

struct Run {
    name: String,
    metrics: Metrics,
    by_lang: Vec<(String, Metrics)>,
    errors: Vec<serde_json::Value>,
}

fn score(
    recognizer: &Recognizer,
    examples: &[dataset::Example],
    name: &str,
) -> anyhow::Result<Run> {
    let mut items = Vec::with_capacity(examples.len());
    let mut langs: Vec<(String, Vec<Scored>)> = Vec::new();
    let mut errors = Vec::new();
    for ex in examples {
        let o = recognizer.classify(&ex.message)?;
        let s = Scored {
            gold: ex.label,
            predicted: o.label,
            confidence: o.confidence,
        };
        items.push(s);
        let lang = ex.lang.clone().unwrap_or_else(|| o.language.clone());
        match langs.iter_mut().find(|(l, _)| *l == lang) {
            Some((_, v)) => v.push(s),
            None => langs.push((lang, vec![s])),
        }
        if o.label != ex.label {
            errors.push(json!({
                "id": ex.message.id, "gold": ex.label, "predicted": o.label,
                "confidence": o.confidence, "explanation": o.explanation,
                "text": ex.message.text.chars().take(160).collect::<String>(),
            }));
        }
    }
    langs.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Run {
        name: name.to_string(),
        metrics: eval::metrics(&items),
        by_lang: langs
            .into_iter()
            .map(|(l, v)| (l, eval::metrics(&v)))
            .collect(),
        errors,
    })
}

/// Run `herken eval`.
pub fn run(args: EvalArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let first = std::fs::read_to_string(&args.file)
        .map(|t| t.lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    if super::sequences::is_sequences(&first) {
        return super::sequences::run(&args.file, args.json, config);
    }
    let examples = dataset::read_file(&args.file)?;
    let recognizer = Recognizer::from_config(config)?;
    let main = score(&recognizer, &examples, recognizer.pipeline().model_id())?;
    let mut runs = vec![main];
    if args.compare {
        // The main run's lexicon, already compiled, for every variant.
        let lexicon = recognizer.pipeline().lexicon().clone();
        let variant = |scorer: Box<dyn herken::pipeline::model::Scorer>| {
            let name = scorer.id().to_string();
            let r = Recognizer::new(
                Pipeline::new(lexicon.clone(), scorer, config.decide.clone()),
                config.max_text_chars,
            );
            score(&r, &examples, &name)
        };
        // Rows beside the main run only when the main run used more than the sparse model; the
        // encoder is the main run's (loaded once per process), the sparse model read once.
        if let Ok(s) = herken::pipeline::model::load_sparse(&config.model_dir, &lexicon) {
            if runs[0].name != herken::pipeline::model::Scorer::id(&s) {
                if let Ok((encoder, head)) = load_encoder(config) {
                    let alone = EncoderScorer::head_alone(encoder, s.clone(), head);
                    runs.push(variant(Box::new(alone))?);
                }
                runs.push(variant(Box::new(s))?);
            }
        }
        let cue = CueScorer::new(&lexicon);
        let baseline = Recognizer::new(
            Pipeline::new(lexicon, Box::new(cue), DecideOptions::default()),
            config.max_text_chars,
        );
        runs.push(score(&baseline, &examples, "cues-only")?);
    }
    let main = &runs[0];
    if args.json {
        let m = &main.metrics;
        let mut out = json!({
            "file": args.file.display().to_string(),
            "model": main.name,
            "count": m.count,
            "macro_f1": m.macro_f1,
            "accuracy": m.accuracy,
            "ece": m.ece,
            "labels": m.labels,
            "confusion": m.confusion,
            "by_lang": main.by_lang.iter().map(|(l, m)| (l.clone(), json!({
                "count": m.count, "macro_f1": m.macro_f1, "accuracy": m.accuracy,
                "klacht_recall": m.labels["klacht"].recall,
            }))).collect::<serde_json::Map<_, _>>(),
            "variants": runs.iter().map(|r| json!({
                "model": r.name, "macro_f1": r.metrics.macro_f1, "accuracy": r.metrics.accuracy,
                "ece": r.metrics.ece,
                "recall": r.metrics.labels.iter().map(|(k, v)| (k.clone(), json!(v.recall))).collect::<serde_json::Map<_, _>>(),
            })).collect::<Vec<_>>(),
        });
        if args.errors {
            out["errors"] = json!(main.errors);
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} — {} messages — model {}\n",
        args.file.display(),
        main.metrics.count,
        main.name
    );
    print!("{}", eval::render(&main.metrics));
    if !main.by_lang.is_empty() {
        println!("\nper language:");
        for (l, m) in &main.by_lang {
            println!(
                "  {l}: n = {:<4} macro-F1 {:.3}  accuracy {:.3}  klacht recall {:.3}",
                m.count, m.macro_f1, m.accuracy, m.labels["klacht"].recall
            );
        }
    }
    if runs.len() > 1 {
        println!("\nvariants:");
        println!(
            "  {:<38} {:>8} {:>8} {:>6} {:>8} {:>8} {:>8} {:>10} {:>7}",
            "model",
            "macro-F1",
            "accuracy",
            "ECE",
            "klacht",
            "melding",
            "bezwaar",
            "raadsadres",
            "overig"
        );
        for r in &runs {
            let rec = |l: &str| r.metrics.labels[l].recall;
            println!(
                "  {:<38} {:>8.3} {:>8.3} {:>6.3} {:>8.3} {:>8.3} {:>8.3} {:>10.3} {:>7.3}",
                r.name,
                r.metrics.macro_f1,
                r.metrics.accuracy,
                r.metrics.ece,
                rec("klacht"),
                rec("melding"),
                rec("bezwaar"),
                rec("raadsadres"),
                rec("overig")
            );
        }
        println!("  (per-label columns are recall)");
    }
    if args.errors {
        println!("\nerrors ({}):", main.errors.len());
        for e in &main.errors {
            println!(
                "- {} gold {} predicted {} ({:.2}): {}\n    {}",
                e["id"].as_str().unwrap_or(""),
                e["gold"].as_str().unwrap_or(""),
                e["predicted"].as_str().unwrap_or(""),
                e["confidence"].as_f64().unwrap_or(0.0),
                e["explanation"].as_str().unwrap_or(""),
                e["text"].as_str().unwrap_or("").replace('\n', " ⏎ "),
            );
        }
    } else if !main.errors.is_empty() {
        println!(
            "\n{} misclassified; --errors lists them with their explanations",
            main.errors.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
