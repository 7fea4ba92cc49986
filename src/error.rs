//! The library's one error type. Every error says what was wrong and, where it helps, what to
//! do. The only conversion to `tonic::Status` lives in `service`.

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
    /// The store failed or cannot be reached.
    #[error("store: {0}")]
    Store(String),
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
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
