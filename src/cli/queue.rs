//! `herken queue …`: operators' commands, as a client of a running server.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::client::{status, ClientArgs};

use herken::pb;
use herken::pb::intake_client::IntakeClient;

/// Arguments of `herken queue`.
#[derive(Debug, Args)]
pub struct QueueArgs {
    /// The server and how to reach it.
    #[command(flatten)]
    pub client: ClientArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: QueueCommand,
}

/// Queue subcommands.
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Every queue with its depth, leased items, oldest item age and items past due.
    List,
    /// Lease items from a queue and print them (message text included: handle with care).
    Pull {
        /// The queue.
        queue: String,
        /// At most this many items [server default 10].
        #[arg(long, default_value_t = 0)]
        max_items: u32,
        /// Lease length in seconds [server default 300].
        #[arg(long, default_value_t = 0)]
        lease_seconds: u32,
    },
    /// Ack items: handled, gone for good.
    Ack {
        /// Item ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Give leased items back to their queue now.
    Release {
        /// Item ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

/// Run `herken queue`.
pub fn run(args: QueueArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut client = IntakeClient::new(args.client.connect().await?);
        match args.command {
            QueueCommand::List => {
                let r = client
                    .list_queues(pb::ListQueuesRequest {})
                    .await
                    .map_err(status)?
                    .into_inner();
                if args.json {
                    let v: Vec<_> = r
                        .queues
                        .iter()
                        .map(|q| {
                            serde_json::json!({
                                "name": q.name, "depth": q.depth, "leased": q.leased,
                                "oldest_age_seconds": q.oldest_age_seconds, "past_due": q.past_due,
                                "description": q.description,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else {
                    println!(
                        "{:<24} {:>6} {:>7} {:>12} {:>9}  desk",
                        "queue", "depth", "leased", "oldest", "past due"
                    );
                    for q in r.queues {
                        println!(
                            "{:<24} {:>6} {:>7} {:>12} {:>9}  {}",
                            q.name,
                            q.depth,
                            q.leased,
                            age(q.oldest_age_seconds, q.depth),
                            q.past_due,
                            q.description
                        );
                    }
                }
            }
            QueueCommand::Pull {
                queue,
                max_items,
                lease_seconds,
            } => {
                let r = client
                    .pull(pb::PullRequest {
                        queue,
                        max_items,
                        lease_seconds,
                    })
                    .await
                    .map_err(status)?
                    .into_inner();
                if args.json {
                    let v: Vec<_> = r.items.iter().map(item_json).collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                } else if r.items.is_empty() {
                    println!("(no items available)");
                } else {
                    for i in &r.items {
                        let c = i.classification.clone().unwrap_or_default();
                        let m = i.message.clone().unwrap_or_default();
                        println!(
                            "item {}  (delivery {}, due {})",
                            i.item_id,
                            i.deliveries,
                            i.due_at.map(|t| t.to_string()).unwrap_or_default()
                        );
                        println!(
                            "  {} ({:.0}%) — {}",
                            label_name(c.label),
                            c.confidence * 100.0,
                            c.explanation
                        );
                        for w in &c.warnings {
                            println!("  ! {w}");
                        }
                        println!(
                            "  message {}: {}\n",
                            m.message_id,
                            m.text
                                .chars()
                                .take(300)
                                .collect::<String>()
                                .replace('\n', " ⏎ ")
                        );
                    }
                }
            }
            QueueCommand::Ack { ids } => {
                let r = client
                    .ack(pb::AckRequest { item_ids: ids })
                    .await
                    .map_err(status)?
                    .into_inner();
                println!("acked {}", r.acked);
                if !r.not_held_item_ids.is_empty() {
                    eprintln!(
                        "not held by this key (pull them first): {}",
                        r.not_held_item_ids.join(", ")
                    );
                }
                if !r.unknown_item_ids.is_empty() || !r.not_held_item_ids.is_empty() {
                    eprintln!(
                        "unknown or already acked: {}",
                        r.unknown_item_ids.join(", ")
                    );
                    return Ok(ExitCode::from(1));
                }
            }
            QueueCommand::Release { ids } => {
                let r = client
                    .release(pb::ReleaseRequest { item_ids: ids })
                    .await
                    .map_err(status)?
                    .into_inner();
                println!("released {}", r.released);
                if !r.not_held_item_ids.is_empty() {
                    eprintln!("not held by this key: {}", r.not_held_item_ids.join(", "));
                }
                if !r.unknown_item_ids.is_empty() || !r.not_held_item_ids.is_empty() {
                    eprintln!(
                        "unknown or already acked: {}",
                        r.unknown_item_ids.join(", ")
                    );
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn age(seconds: u64, depth: u32) -> String {
    if depth == 0 {
        return "-".into();
    }
    match seconds {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} d", s / 86_400),
    }
}

fn label_name(v: i32) -> &'static str {
    match pb::Label::try_from(v).unwrap_or(pb::Label::Unspecified) {
        pb::Label::Klacht => "klacht",
        pb::Label::Melding => "melding",
        pb::Label::Bezwaar => "bezwaar",
        pb::Label::Raadsadres => "raadsadres",
        pb::Label::Overig => "overig",
        pb::Label::Unspecified => "?",
    }
}

fn item_json(i: &pb::IntakeItem) -> serde_json::Value {
    let c = i.classification.clone().unwrap_or_default();
    let m = i.message.clone().unwrap_or_default();
    serde_json::json!({
        "item_id": i.item_id, "queue": i.queue, "deliveries": i.deliveries,
        "due_at": i.due_at.map(|t| t.to_string()),
        "message_id": m.message_id, "text": m.text, "sender": m.sender, "subject": m.subject,
        "label": label_name(c.label), "confidence": c.confidence, "explanation": c.explanation,
        "warnings": c.warnings,
    })
}
