//! `herken eval`: score a labelled file with the configured pipeline (and, with `--compare`,
//! the frozen encoder, the encoder head alone, the sparse model alone and the lexicon alone
//! beside it), per label, language and genre, with the errors listed by genre; or, with
//! `--cross-genre`, train without each genre of the corpus in turn and score it. With
//! `--evidence`, the cues are scored against the phrases a trainer marked (the file's `cues`).

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
use herken::recognizer::{load_encoder, load_frozen_encoder, Recognizer};

/// Arguments of `herken eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// A labelled JSON-lines file: `text` and `label`, optional `id`, `channel`, `lang`; or a
    /// sequences file (`messages` with `sender`, `received`, `text`, `expect_label`,
    /// `expect_repeat`), scored for repeat precision and recall. Not with --cross-genre.
    #[arg(
        required_unless_present = "cross_genre",
        conflicts_with = "cross_genre"
    )]
    pub file: Option<PathBuf>,
    /// Print one JSON object (macro_f1, accuracy, labels, confusion, ece, by_lang, variants;
    /// with --errors also errors).
    #[arg(long)]
    pub json: bool,
    /// List every misclassified message with its explanation (with --cross-genre: each
    /// left-out genre's misses, by corpus file and line).
    #[arg(long)]
    pub errors: bool,
    /// Also score the cues against the phrases a trainer marked (the file's `cues` field):
    /// recall, precision and coverage per label and language, and the marked phrases no cue
    /// overlaps. Lines without `cues` are skipped and counted.
    #[arg(long)]
    pub evidence: bool,
    /// Also score the frozen encoder (when the model's is fine-tuned), the encoder head alone,
    /// the sparse model alone and the lexicon alone, side by side.
    #[arg(long)]
    pub compare: bool,
    /// Generalisation to unseen kinds of text: for each genre of the corpus, train on the
    /// others (as `herken train` does) and score the left-out genre; prints macro-F1 per genre
    /// and their mean. Takes minutes (hours with --fine-tune).
    #[arg(long)]
    pub cross_genre: bool,
    /// The corpus for --cross-genre.
    #[arg(long, default_value = "data/corpus", requires = "cross_genre")]
    pub corpus: PathBuf,
    /// Only these genres (repeatable) for --cross-genre.
    #[arg(long = "genre", requires = "cross_genre")]
    pub genres: Vec<String>,
    /// Only the sparse model for --cross-genre (seconds per genre).
    #[arg(long, requires = "cross_genre")]
    pub no_encoder: bool,
    /// For a sequences file: the same-issue model to use instead of the built-in one (as
    /// written by `herken sequences fit`).
    #[arg(long)]
    pub repeat_model: Option<PathBuf>,
    #[command(flatten)]
    pub sparse: super::train::SparseArgs,
    #[command(flatten)]
    pub encoder: super::train::EncoderArgs,
}

struct Run {
    name: String,
    metrics: Metrics,
    by_lang: Vec<(String, Metrics)>,
    by_genre: Vec<(String, Metrics)>,
    errors: Vec<serde_json::Value>,
    /// Per example with marked phrases: its index, the predicted label, the language and the cues.
    evidence: Vec<(
        usize,
        herken::Label,
        String,
        Vec<herken::pipeline::types::Cue>,
    )>,
}

/// Add `s` to the group named `key`.
fn group(groups: &mut Vec<(String, Vec<Scored>)>, key: &str, s: Scored) {
    match groups.iter_mut().find(|(k, _)| k == key) {
        Some((_, v)) => v.push(s),
        None => groups.push((key.to_string(), vec![s])),
    }
}

fn score(
    recognizer: &Recognizer,
    examples: &[dataset::Example],
    name: &str,
) -> anyhow::Result<Run> {
    let mut items = Vec::with_capacity(examples.len());
    let mut langs: Vec<(String, Vec<Scored>)> = Vec::new();
    let mut genres: Vec<(String, Vec<Scored>)> = Vec::new();
    let mut errors = Vec::new();
    let mut evidence = Vec::new();
    for (i, ex) in examples.iter().enumerate() {
        let o = recognizer.classify(&ex.message)?;
        let s = Scored {
            gold: ex.label,
            predicted: o.label,
            confidence: o.confidence,
        };
        items.push(s);
        let lang = ex
            .lang
            .clone()
            .unwrap_or_else(|| o.language.as_str().to_string());
        group(&mut langs, &lang, s);
        if ex.marked.is_some() {
            evidence.push((i, o.label, lang.clone(), o.cues.clone()));
        }
        if let Some(g) = ex.genre {
            group(&mut genres, g, s);
        }
        if o.label != ex.label {
            errors.push(json!({
                "id": ex.message.id, "genre": ex.genre, "gold": ex.label, "predicted": o.label,
                "confidence": o.confidence, "explanation": o.explanation,
                "text": ex.message.text.chars().take(160).collect::<String>(),
            }));
        }
    }
    let finish = |mut groups: Vec<(String, Vec<Scored>)>| -> Vec<(String, Metrics)> {
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        groups
            .into_iter()
            .map(|(l, v)| (l, eval::metrics(&v)))
            .collect()
    };
    // Misses grouped by genre (in the genres' order), so a person sees which kind of text fails.
    errors.sort_by(|a, b| {
        a["genre"]
            .as_str()
            .unwrap_or("~")
            .cmp(b["genre"].as_str().unwrap_or("~"))
    });
    Ok(Run {
        name: name.to_string(),
        metrics: eval::metrics(&items),
        by_lang: finish(langs),
        by_genre: finish(genres),
        errors,
        evidence,
    })
}

/// Run `herken eval`.
pub fn run(args: EvalArgs, config: &Config) -> anyhow::Result<ExitCode> {
    if args.cross_genre {
        return cross_genre(&args, config);
    }
    let file = args
        .file
        .clone()
        .expect("clap requires FILE without --cross-genre");
    let first = std::fs::read_to_string(&file)
        .map(|t| t.lines().next().unwrap_or("").to_string())
        .unwrap_or_default();
    if super::sequences::is_sequences(&first) {
        return super::sequences::run(&file, args.json, args.repeat_model.as_deref(), config);
    }
    let examples = dataset::read_file(&file)?;
    let recognizer = Recognizer::from_config(config)?;
    let main = score(&recognizer, &examples, recognizer.pipeline().model_id())?;
    // Counted before the variants run (each has its own scorer).
    let head_use = recognizer.pipeline().head_use();
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
                if let Ok((encoder, head)) = load_frozen_encoder(config) {
                    runs.push(variant(Box::new(
                        EncoderScorer::new(encoder, s.clone(), head)
                            .skipping_above(config.encoder_skip_confidence),
                    ))?);
                }
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
    let evidence = args.evidence.then(|| {
        let items: Vec<eval::evidence::Item> = main
            .evidence
            .iter()
            .map(|(i, predicted, lang, cues)| {
                let ex = &examples[*i];
                eval::evidence::Item {
                    id: &ex.message.id,
                    text: &ex.message.text,
                    gold: ex.label,
                    predicted: *predicted,
                    lang,
                    marked: ex.marked.as_deref().unwrap_or(&[]),
                    cues,
                }
            })
            .collect();
        (
            eval::evidence::report(&items),
            examples.len() - main.evidence.len(),
        )
    });
    if args.json {
        let m = &main.metrics;
        let mut out = json!({
            "file": file.display().to_string(),
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
            "by_genre": main.by_genre.iter().map(|(g, m)| (g.clone(), json!({
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
        if let Some((r, skipped)) = &evidence {
            let counts = |c: &eval::evidence::Counts| {
                json!({
                    "messages": c.messages, "phrases": c.marked, "recall": c.recall(),
                    "precision": c.precision(), "coverage": c.coverage(), "counts": c,
                })
            };
            out["evidence"] = json!({
                "skipped_without_cues": skipped,
                "all": counts(&r.all),
                "by_label": r.by_label.iter().map(|(k, c)| (k.clone(), counts(c))).collect::<serde_json::Map<_, _>>(),
                "by_lang": r.by_lang.iter().map(|(k, c)| (k.clone(), counts(c))).collect::<serde_json::Map<_, _>>(),
                "misses": r.misses,
                // Every scored message's cues, for a person studying which cues land on a mark.
                "messages": main.evidence.iter().map(|(i, predicted, lang, cues)| json!({
                    "id": examples[*i].message.id, "gold": examples[*i].label,
                    "predicted": predicted, "lang": lang, "cues": cues,
                })).collect::<Vec<_>>(),
            });
        }
        if let Some((asked, spared)) = head_use {
            out["encoder_head"] = json!({"asked": asked, "spared": spared});
        }
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} — {} messages — model {}",
        file.display(),
        main.metrics.count,
        main.name
    );
    if let Some((asked, spared)) = head_use {
        println!(
            "encoder head asked for {asked} messages; {spared} answered by the sparse model alone \
             (encoder_skip_confidence)"
        );
    }
    println!();
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
    if !main.by_genre.is_empty() {
        println!("\nper genre:");
        for (g, m) in &main.by_genre {
            println!(
                "  {g:<12} n = {:<4} macro-F1 {:.3}  accuracy {:.3}  klacht recall {:.3}",
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
        let mut last_genre = None;
        for e in &main.errors {
            let genre = e["genre"].as_str();
            if genre.is_some() && genre != last_genre {
                let n = main
                    .errors
                    .iter()
                    .filter(|x| x["genre"].as_str() == genre)
                    .count();
                println!("\n[{}: {n} misses]", genre.unwrap_or(""));
                last_genre = genre;
            }
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
    if let Some((r, skipped)) = &evidence {
        println!("\n{}", eval::evidence::render(r, *skipped));
    }
    Ok(ExitCode::SUCCESS)
}

/// The `n` most frequent (gold, predicted, count) confusions of `m`, most frequent first.
fn top_confusions(m: &Metrics, n: usize) -> Vec<(&str, &str, usize)> {
    let mut misses: Vec<(&str, &str, usize)> = m
        .confusion
        .iter()
        .flat_map(|(gold, row)| {
            row.iter()
                .filter(move |(predicted, &k)| *predicted != gold && k > 0)
                .map(move |(predicted, &k)| (gold.as_str(), predicted.as_str(), k))
        })
        .collect();
    misses.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)).then(a.1.cmp(b.1)));
    misses.truncate(n);
    misses
}

/// `herken eval --cross-genre`.
fn cross_genre(args: &EvalArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let lexicon = match &config.lexicon_dir {
        Some(d) => herken::pipeline::cues::Lexicon::from_dir(d)?,
        None => herken::pipeline::cues::Lexicon::builtin()?,
    };
    let opts = args.sparse.options();
    let bar = super::progress::Progress::new();
    let progress = |done: usize, total: usize, phase: &str| bar.update(done, total, phase);
    let fine_tune = args.encoder.options();
    let encoder = super::train::training_encoder(
        config,
        !args.no_encoder,
        fine_tune.is_some(),
        args.encoder.encoder_depth,
    )?;
    let setup = encoder.as_ref().map(|e| herken::training::EncoderSetup {
        encoder: e,
        encoder_dir: &config.encoder_dir,
        cache_dir: &config.encoder_dir,
        fine_tune: fine_tune.clone(),
    });
    for g in &args.genres {
        anyhow::ensure!(
            dataset::genre(g).is_some(),
            "unknown genre {g:?} (one of {})",
            dataset::GENRES.map(|(g, _)| g).join(", ")
        );
    }
    let prepared = herken::training::prepare(&args.corpus, &lexicon, &opts, &progress)?;
    let print_row = |r: &herken::training::cross_genre::GenreResult| {
        let m = &r.metrics;
        let labels: Vec<String> = r.labels.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let frozen = r
            .frozen
            .as_ref()
            .map(|f| format!("  (frozen {:.3})", f.macro_f1))
            .unwrap_or_default();
        let misses: Vec<String> = top_confusions(m, 3)
            .into_iter()
            .map(|(gold, predicted, n)| format!("{gold}→{predicted} {n}"))
            .collect();
        let mut misses = if misses.is_empty() {
            String::new()
        } else {
            format!(
                "\n               most missed (gold→predicted): {}",
                misses.join(", ")
            )
        };
        if args.errors {
            for x in &r.misses {
                misses.push_str(&format!(
                    "\n               - {} gold {} predicted {} ({:.2})",
                    x.id, x.gold, x.predicted, x.confidence
                ));
            }
        }
        bar.suspend(|| {
            eprintln!(
                "  {:<12} n = {:<5} macro-F1 {:.3}  accuracy {:.3}  klacht recall {:.3}{frozen}   [{}]{misses}",
                r.genre,
                m.count,
                m.macro_f1,
                m.accuracy,
                m.labels["klacht"].recall,
                labels.join(", ")
            )
        });
    };
    if !args.json {
        eprintln!(
            "cross-genre: {} messages in {}; each genre left out in turn ({})",
            prepared.examples.len(),
            args.corpus.display(),
            match (&setup, &fine_tune) {
                (None, _) => "sparse model".to_string(),
                (Some(_), None) => "frozen encoder + sparse model".to_string(),
                (Some(_), Some(f)) => format!("top {} layers fine-tuned + sparse model", f.layers),
            }
        );
    }
    let procedure = herken::training::cross_genre::Procedure {
        lexicon: &lexicon,
        opts: &opts,
        setup: setup.as_ref(),
        decide: &config.decide,
        skip_above: config.encoder_skip_confidence,
    };
    let results =
        herken::training::cross_genre::run(&prepared, procedure, &args.genres, &progress, &|r| {
            if !args.json {
                print_row(r)
            }
        })?;
    bar.finish();
    let (mean, min) = herken::training::cross_genre::summary(&results);
    if args.json {
        let out = json!({
            "corpus": args.corpus.display().to_string(),
            "fine_tune": fine_tune.as_ref().map(|f| json!({"layers": f.layers, "learning_rate": f.learning_rate, "epochs": f.epochs})),
            "encoder": setup.is_some(),
            "mean_macro_f1": mean,
            "min": min.map(|(g, f)| json!({"genre": g, "macro_f1": f})),
            "mean_by_alpha": herken::training::cross_genre::mean_by_alpha(&results),
            "genres": results.iter().map(|r| json!({
                "genre": r.genre, "count": r.metrics.count, "labels": r.labels,
                "macro_f1": r.metrics.macro_f1, "accuracy": r.metrics.accuracy,
                "klacht_recall": r.metrics.labels["klacht"].recall,
                "recall": r.metrics.labels.iter().map(|(k, v)| (k.clone(), json!(v.recall))).collect::<serde_json::Map<_, _>>(),
                "frozen_macro_f1": r.frozen.as_ref().map(|f| f.macro_f1),
                "confusion": r.metrics.confusion,
                "misses": if args.errors { json!(r.misses) } else { json!(null) },
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if let Some((g, f)) = min {
        println!(
            "cross-genre mean macro-F1 {mean:.3} over {} genres; weakest: {g} {f:.3}",
            results.len()
        );
        let sweep = herken::training::cross_genre::mean_by_alpha(&results);
        if !sweep.is_empty() {
            println!(
                "mean macro-F1 of the blend by encoder weight α (before the decide stage): {}",
                sweep
                    .iter()
                    .enumerate()
                    .map(|(a, f)| format!("{:.1}: {f:.3}", a as f64 / 10.0))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
