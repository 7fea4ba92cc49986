//! The `herken` command: parse arguments, set up logging, load configuration, hand off.

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("herken: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
