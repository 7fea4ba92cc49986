//! `herken report`: the Leren report of the configured store over a period, for a person (a
//! summary), as JSON (`--json`), CSV (`--csv`) or a self-contained HTML file with inline SVG
//! charts (`--html FILE`). Aggregates only; counts below `report_min_count` are suppressed.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use herken::config::Config;
use herken::store::report::Report;
use herken::store::Store;

/// Arguments of `herken report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// First day (YYYY-MM-DD) [default: 12 weeks before --to].
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive (YYYY-MM-DD) [default: today].
    #[arg(long)]
    pub to: Option<String>,
    /// Write the report as one self-contained HTML file (styles and SVG charts inside).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print the report as CSV (section,key,count,detail).
    #[arg(long)]
    pub csv: bool,
    /// Suppress counts below this [default: report_min_count, 5].
    #[arg(long)]
    pub min_count: Option<u64>,
}

fn c(n: Option<u64>, min: u64) -> String {
    n.map(|n| n.to_string()).unwrap_or(format!("<{min}"))
}

/// A summary for a person.
fn summary(r: &Report) -> String {
    let min = r.min_count;
    let mut s = format!(
        "Leren: {} tot {}\nrouted {} · with sender {} · corrections {} (counts below {min} shown as <{min})\n",
        &r.from[..10],
        &r.to[..10],
        c(r.routed, min),
        c(r.remembered, min),
        c(r.corrections, min)
    );
    let list = |title: &str, b: &[herken::store::report::Bucket]| {
        let items: Vec<String> = b
            .iter()
            .map(|b| format!("{} {}", b.key, c(b.count, min)))
            .collect();
        format!(
            "{title}: {}\n",
            if items.is_empty() {
                "-".into()
            } else {
                items.join(", ")
            }
        )
    };
    s.push_str(&list("labels", &r.by_label));
    s.push_str(&list("queues", &r.by_queue));
    s.push_str(&list("channels", &r.by_channel));
    s.push_str(&list("weeks", &r.by_week));
    s.push_str(&list("complaint signals", &r.complaint_families));
    s.push_str(&list("complaint topics", &r.complaint_topics));
    let spots: Vec<String> = r
        .hotspots
        .iter()
        .map(|h| format!("{} {}", h.place, c(h.reports, min)))
        .collect();
    s.push_str(&format!(
        "hotspots: {}{}\n",
        if spots.is_empty() {
            "-".into()
        } else {
            spots.join(", ")
        },
        if r.places_below_threshold > 0 {
            format!(
                " ({} places below {min} left out)",
                r.places_below_threshold
            )
        } else {
            String::new()
        }
    ));
    for d in &r.deadlines {
        s.push_str(&format!(
            "deadlines {}: queued {}, handled late {}, open past due {}\n",
            d.queue,
            c(d.queued, min),
            c(d.handled_late, min),
            c(d.open_past_due, min)
        ));
    }
    for p in &r.correction_pairs {
        s.push_str(&format!(
            "correction {} → {}: {}\n",
            p.from,
            p.to,
            c(p.count, min)
        ));
    }
    s
}

/// Run `herken report`.
pub fn run(args: ReportArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now();
    let (from, to) = herken::web::period(
        args.from.as_deref().unwrap_or(""),
        args.to.as_deref().unwrap_or(""),
        now,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let min = args.min_count.unwrap_or(config.report_min_count);
    anyhow::ensure!(min >= 1, "--min-count must be at least 1");
    let spec = herken::web::spec(from, to, min, now);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let report = rt.block_on(async {
        let store = Store::open(&config.store).await?;
        let r = store.report(&spec).await;
        store.close().await;
        Ok::<_, anyhow::Error>(r?)
    })?;
    if let Some(path) = &args.html {
        std::fs::write(path, herken::web::render::report_file(&report))
            .with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report written to {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print!("{}", report.to_csv());
    } else if args.html.is_none() {
        print!("{}", summary(&report));
    }
    Ok(ExitCode::SUCCESS)
}
