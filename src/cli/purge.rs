//! `herken purge`: erase one person's or one message's data from every table of the
//! configured store (the AVG's right to erasure), and print what was erased.

use std::process::ExitCode;

use clap::Args;

use herken::config::Config;
use herken::store::{Erase, Store};

/// Arguments of `herken purge`.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct PurgeArgs {
    /// Everything of this sender: e-mail address, phone number or "name, postcode", in any
    /// notation (matched as the same keyed hash the repeat history uses).
    #[arg(long)]
    pub sender: Option<String>,
    /// Everything of this message.
    #[arg(long)]
    pub message_id: Option<String>,
}

/// Run `herken purge`.
pub fn run(args: PurgeArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let what = match (args.sender, args.message_id) {
        (Some(s), _) => Erase::Sender(s),
        (None, Some(id)) => Erase::MessageId(id),
        (None, None) => anyhow::bail!("give --sender or --message-id"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let erased = rt.block_on(async {
        let store = Store::open(&config.store).await?;
        let secret = herken::store::secret::load_for_store(
            &config.secret_file,
            store.history_rows().await?,
        )?;
        let erased = store
            .erase(&what, &secret, "herken purge", chrono::Utc::now())
            .await;
        store.close().await;
        Ok::<_, anyhow::Error>(erased?)
    })?;
    println!("history rows: {}", erased.history);
    println!("queue items: {}", erased.queue_items);
    println!("corrections: {}", erased.corrections);
    println!("messages: {}", erased.message_ids.join(" "));
    Ok(ExitCode::SUCCESS)
}
