//! The library's one error type. Every error says what was wrong and, where it helps, what to
//! do. Each variant is a *kind*: what went wrong, not where. The only conversion to
//! `tonic::Status` lives in `service::status`, which maps every kind to one gRPC code and
//! never shows a client the text of a database error.

use std::path::PathBuf;

/// Everything that can go wrong in herken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A request field is missing, too large or malformed.
    #[error("invalid {field}: {problem}")]
    InvalidArgument {
        /// The field, e.g. `message.text`.
        field: String,
        /// What is wrong with it, with the limit where one applies.
        problem: String,
    },
    /// The configuration is wrong.
    #[error("configuration: {0}")]
    Config(String),
    /// A lexicon file is wrong.
    #[error("lexicon {file}: {problem}")]
    Lexicon {
        /// The file (or "built-in").
        file: String,
        /// What is wrong, naming the family and phrase.
        problem: String,
    },
    /// The model could not be loaded, trained or used.
    #[error("model: {0}")]
    Model(String),
    /// Training or evaluation data is wrong.
    #[error("{file}:{line}: {problem}")]
    Data {
        /// The file.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        problem: String,
    },
    /// Something asked for does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The thing to create exists already with other content (a reused `message_id`).
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The store failed. `what` says what herken was doing and may be shown to clients;
    /// `detail` is the database's own text, for the server log only.
    #[error("store: {what}: {detail}")]
    Store {
        /// What herken was doing, e.g. "pulling".
        what: String,
        /// The database's error text (never sent to clients).
        detail: String,
        /// Retrying later may succeed (connection lost, pool exhausted, database busy).
        transient: bool,
    },
    /// A raw e-mail could not be parsed.
    #[error("raw e-mail: {0}")]
    Email(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No valid API key came with the call.
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller's key lacks the role, or the caller does not hold what it acts on.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Too much work is waiting already; try again later.
    #[error("resource exhausted: {0}")]
    Exhausted(String),
    /// The call's deadline passed before its work could start.
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// The caller went away before its work could start.
    #[error("cancelled: {0}")]
    Cancelled(String),
    /// Serving failed: binding, TLS set-up, the transport.
    #[error("transport: {0}")]
    Transport(String),
    /// A failure inside herken that no caller caused: a task that panicked, no randomness.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A permanent store error: retrying will not help (bad data, a constraint, a bug).
    pub fn store(what: impl Into<String>, detail: impl std::fmt::Display) -> Error {
        Error::Store {
            what: what.into(),
            detail: detail.to_string(),
            transient: false,
        }
    }

    /// A field over its limit: names the field, the size, the limit and the setting.
    pub fn too_long(
        field: impl Into<String>,
        size: usize,
        unit: &str,
        limit: usize,
        setting: &str,
    ) -> Error {
        Error::invalid(
            field,
            format!("has {size} {unit}, more than the limit of {limit} ({setting})"),
        )
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
