//! `herken key …`: API keys in the keys file (only hashes of the tokens are kept).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use herken::auth::{Keys, Role};
use herken::config::Config;

/// Arguments of `herken key`.
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeyCommand,
}

/// Key subcommands.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Add a key and print its token once, alone on the last line of standard output. Only the
    /// token's SHA-256 is stored; a lost token cannot be recovered, only replaced.
    New {
        /// Who holds it (a system or a person): recorded as corrected_by and lease holder.
        #[arg(long)]
        name: String,
        /// Roles, comma-separated: classify, intake, correct, admin.
        #[arg(long, value_delimiter = ',', required = true)]
        role: Vec<String>,
        /// The keys file [default: keys_file from the configuration, <data_dir>/keys.toml].
        /// Env: HERKEN_KEYS_FILE.
        #[arg(long)]
        keys_file: Option<PathBuf>,
    },
    /// List the keys: name, roles, when made (never a token).
    List {
        /// The keys file [default: keys_file from the configuration].
        #[arg(long)]
        keys_file: Option<PathBuf>,
    },
    /// Remove a key: its token stops working when the server restarts.
    Revoke {
        /// The key's name.
        #[arg(long)]
        name: String,
        /// The keys file [default: keys_file from the configuration].
        #[arg(long)]
        keys_file: Option<PathBuf>,
    },
}

/// Run `herken key`.
pub fn run(args: KeyArgs, config: &Config) -> anyhow::Result<ExitCode> {
    let file = |f: Option<PathBuf>| f.unwrap_or_else(|| config.access.keys_file.clone());
    match args.command {
        KeyCommand::New {
            name,
            role,
            keys_file,
        } => {
            let path = file(keys_file);
            let roles = role
                .iter()
                .map(|r| r.parse::<Role>())
                .collect::<Result<Vec<_>, _>>()?;
            let mut keys = Keys::load(&path)?;
            let token = keys.add(&name, roles.clone())?;
            keys.save(&path)?;
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            println!(
                "key {name:?} with roles {} added to {}; its token (shown once, keep it secret):",
                roles.join(","),
                path.display()
            );
            println!("{token}");
        }
        KeyCommand::List { keys_file } => {
            let keys = Keys::load(&file(keys_file))?;
            for k in keys.entries() {
                let roles: Vec<&str> = k.roles.iter().map(|r| r.as_str()).collect();
                println!("{:<24} {:<32} {}", k.name, roles.join(","), k.created);
            }
        }
        KeyCommand::Revoke { name, keys_file } => {
            let path = file(keys_file);
            let mut keys = Keys::load(&path)?;
            if !keys.revoke(&name)? {
                anyhow::bail!("no key named {name:?} in {}", path.display());
            }
            keys.save(&path)?;
            println!(
                "key {name:?} removed from {}; restart the server to apply",
                path.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
