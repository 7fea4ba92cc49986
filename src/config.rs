//! Configuration in two stages: [`RawConfig`] is what the user wrote (`herken.toml`, every field
//! optional, unknown fields rejected), [`Config`] is what herken runs with (validated, paths
//! resolved). Precedence: command-line flag > `HERKEN_*` environment variable > file > default.
//!
//! Every option, its environment variable and its default is documented in `herken.toml.example`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::pipeline::decide::DecideOptions;

/// What the user wrote in `herken.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to serve gRPC on.
    pub addr: Option<String>,
    /// Address to serve the web pages on, or "off".
    pub web_addr: Option<String>,
    /// Counts below this are suppressed in the report (Leren, `herken report`).
    pub report_min_count: Option<u64>,
    /// Directory with the trained model (`sparse-lr.bin`, `manifest.json`).
    pub model_dir: Option<PathBuf>,
    /// Refuse to start without a trained model (instead of running degraded on the lexicon).
    pub require_model: Option<bool>,
    /// Directory with the sentence encoder (config.json, model.safetensors, tokenizer.json).
    pub encoder_dir: Option<PathBuf>,
    /// Refuse to start without the encoder (instead of running degraded on the sparse model).
    pub require_encoder: Option<bool>,
    /// Add the model's evidence (phrases the sparse model's decision rests on) to the cues.
    pub model_cues: Option<bool>,
    /// Encoder runtime: "int8" (int8 linear maps on libtorch), "libtorch" (rust-bert, f32)
    /// or "rust" (the built-in f32 forward pass).
    pub encoder_runtime: Option<String>,
    /// Encoder results kept in memory, keyed by a hash of the text (0: no cache).
    pub encoder_cache_entries: Option<usize>,
    /// The sparse model's probability at or above which its answer stands without the
    /// encoder's head (0: the head is asked for every message).
    pub encoder_skip_confidence: Option<f32>,
    /// Directory with lexicon files; the built-in lexicon when absent.
    pub lexicon_dir: Option<PathBuf>,
    /// Longest accepted message text, in characters.
    pub max_text_chars: Option<usize>,
    /// Most requests in one ClassifyBatch.
    pub max_batch: Option<usize>,
    /// Below this confidence a message needs clarification.
    pub min_confidence: Option<f32>,
    /// Below this gap between the best two labels a message needs clarification.
    pub min_margin: Option<f32>,
    /// Least klacht probability for a text-stated repeat or unhandled report to make a melding
    /// a klacht (above 1: never).
    pub repeat_min_klacht: Option<f32>,
    /// Least raadsadres probability for a petition's public form to make a raadsadres (above 1:
    /// never).
    pub petition_min_raadsadres: Option<f32>,
    /// Least overig probability for a heading addressed to another body to make an overig
    /// (above 1: never).
    pub addressee_min_overig: Option<f32>,
    /// Log format: "text" or "json".
    pub log_format: Option<String>,
    /// Routing rules and deadlines (TOML); the built-in data/routing.toml when absent.
    pub routing_file: Option<PathBuf>,
    /// Directory for the embedded store and the sender-key secret.
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL; when set, the store is PostgreSQL instead of the embedded SQLite.
    pub database_url: Option<String>,
    /// File with the secret that keys sender hashes; generated at first start when missing.
    pub secret_file: Option<PathBuf>,
    /// How far back an earlier report by the same sender counts, in days.
    pub repeat_window_days: Option<u32>,
    /// The same submission again within this many minutes is a duplicate, not a repeat.
    pub duplicate_minutes: Option<u32>,
    /// Compute the semantic sketch of every message with a sender (an eight-layer encoder
    /// pass) for repeat detection's `meaning` signal; off by default (see README, "Repeat
    /// detection").
    pub semantic_sketch: Option<bool>,
    /// History, acked items and corrections older than this many days are purged.
    pub retention_days: Option<u32>,
    /// Items still waiting (queued or dead-lettered) longer than this many days are purged.
    pub queue_retention_days: Option<u32>,
    /// Audit log entries older than this many days are purged.
    pub audit_retention_days: Option<u32>,
    /// "none" (no keys; loopback only unless allow_insecure) or "keys" (API keys with roles).
    pub auth: Option<String>,
    /// The keys file (hashes of the tokens); default `<data_dir>/keys.toml`.
    pub keys_file: Option<PathBuf>,
    /// PEM certificate chain of the server (TLS).
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of the server (TLS).
    pub tls_key: Option<PathBuf>,
    /// PEM CA certificate(s): when set, clients must present a certificate signed by one (mTLS).
    pub tls_client_ca: Option<PathBuf>,
    /// Serve on a non-loopback address without TLS or without keys (behind a trusted proxy).
    pub allow_insecure: Option<bool>,
    /// Largest accepted raw e-mail, in bytes.
    pub max_raw_email_bytes: Option<usize>,
    /// Longest accepted subject, in characters.
    pub max_subject_chars: Option<usize>,
    /// Longest accepted sender, in characters.
    pub max_sender_chars: Option<usize>,
    /// Longest accepted id (message, item, queue), in characters.
    pub max_id_chars: Option<usize>,
    /// Longest accepted correction note or name, in characters.
    pub max_note_chars: Option<usize>,
    /// Largest accepted gRPC request, in bytes (a whole ClassifyBatch).
    pub max_request_bytes: Option<usize>,
    /// Most messages in one ClassifyStream.
    pub max_stream_items: Option<usize>,
    /// A ClassifyStream that sends nothing for this many seconds is ended.
    pub stream_idle_seconds: Option<u64>,
    /// Messages recognised at once (threads); default: the number of cores.
    pub recognition_threads: Option<usize>,
    /// Calls that may wait for a recognition thread; more are refused (RESOURCE_EXHAUSTED).
    pub recognition_queue: Option<usize>,
    /// Most items one Pull may lease.
    pub max_pull_items: Option<u32>,
    /// Longest lease one Pull may take, in seconds.
    pub max_lease_seconds: Option<u32>,
}

/// Whether callers need an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// No keys: every caller may do everything (loopback, or `allow_insecure`).
    None,
    /// API keys with roles, from the keys file.
    Keys,
}

/// TLS files of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
    /// PEM CA certificate(s) that client certificates must chain to (mTLS); `None`: no client
    /// certificates asked.
    pub client_ca: Option<PathBuf>,
}

/// Who may call, and how the connection is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// Keys or not.
    pub auth: AuthMode,
    /// The keys file.
    pub keys_file: PathBuf,
    /// TLS, when configured.
    pub tls: Option<TlsFiles>,
    /// Serve on a non-loopback address without TLS or keys.
    pub allow_insecure: bool,
}

/// Limits on what callers send. Each is named in the error a caller gets for going over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Longest message text, in characters.
    pub max_text_chars: usize,
    /// Most requests in one ClassifyBatch.
    pub max_batch: usize,
    /// Largest raw e-mail, in bytes.
    pub max_raw_email_bytes: usize,
    /// Longest subject, in characters.
    pub max_subject_chars: usize,
    /// Longest sender, in characters.
    pub max_sender_chars: usize,
    /// Longest id, in characters.
    pub max_id_chars: usize,
    /// Longest correction note (and name), in characters.
    pub max_note_chars: usize,
    /// Largest gRPC request to the Classifier, in bytes: its decode limit.
    pub max_request_bytes: usize,
    /// Most messages in one ClassifyStream.
    pub max_stream_items: usize,
    /// Idle time after which a ClassifyStream is ended.
    pub stream_idle: std::time::Duration,
    /// Most items one Pull may lease.
    pub max_pull_items: u32,
    /// Longest lease, in seconds.
    pub max_lease_seconds: u32,
}

impl Limits {
    /// The largest one ClassifyRequest can be within the other limits, in bytes: every text
    /// field at 4 bytes a character, the raw e-mail, and room for the protobuf framing.
    pub fn max_message_bytes(&self) -> usize {
        4 * (self.max_text_chars
            + self.max_subject_chars
            + self.max_sender_chars
            + self.max_id_chars)
            + self.max_raw_email_bytes
            + 1024
    }
}

impl Default for Limits {
    fn default() -> Self {
        Config::default().limits
    }
}

/// Recognition threads and waiting room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdmissionConfig {
    /// Messages recognised at once.
    pub threads: usize,
    /// Calls that may wait for a thread.
    pub queue: usize,
}

/// How long data is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Repeat history, acked items and corrections.
    pub history: chrono::Duration,
    /// Items still waiting (queued or dead-lettered).
    pub waiting: chrono::Duration,
    /// The audit log.
    pub audit: chrono::Duration,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to serve gRPC on.
    pub addr: SocketAddr,
    /// Address to serve the web pages on; `None` when turned off.
    pub web_addr: Option<SocketAddr>,
    /// Counts below this are suppressed in the report (at least 1).
    pub report_min_count: u64,
    /// Directory with the trained model.
    pub model_dir: PathBuf,
    /// Refuse to start without a trained model.
    pub require_model: bool,
    /// Directory with the sentence encoder.
    pub encoder_dir: PathBuf,
    /// Refuse to start without the encoder.
    pub require_encoder: bool,
    /// Add the model's evidence to the cues (`crate::pipeline::attribution`).
    pub model_cues: bool,
    /// Which implementation runs the encoder.
    pub encoder_runtime: crate::pipeline::model::encoder::Runtime,
    /// Encoder results kept in memory, keyed by a hash of the text (0: no cache).
    pub encoder_cache_entries: usize,
    /// The sparse model's probability at or above which the encoder's head is not asked
    /// (`None`: always asked).
    pub encoder_skip_confidence: Option<f32>,
    /// Directory with lexicon files; `None` for the built-in lexicon.
    pub lexicon_dir: Option<PathBuf>,
    /// Longest accepted message text, in characters (what [`Config::limits`] reports).
    pub max_text_chars: usize,
    /// Most requests in one ClassifyBatch (what [`Config::limits`] reports).
    pub max_batch: usize,
    /// The other limits on what callers send; read them all through [`Config::limits`].
    pub limits: Limits,
    /// Keys, roles and TLS.
    pub access: AccessConfig,
    /// Recognition threads and waiting room.
    pub admission: AdmissionConfig,
    /// Thresholds of the decide stage.
    pub decide: DecideOptions,
    /// Log format.
    pub log_format: LogFormat,
    /// Routing rules; `None` for the built-in ones.
    pub routing_file: Option<PathBuf>,
    /// Where the store lives.
    pub store: crate::store::Location,
    /// File with the sender-key secret.
    pub secret_file: PathBuf,
    /// Repeat detection settings.
    pub repeat: crate::repeat::RepeatOptions,
    /// History, acked items and corrections older than this are purged.
    pub retention: chrono::Duration,
    /// Retention of every kind of data.
    pub retentions: Retention,
}

impl Config {
    /// Every limit on what callers send, `max_text_chars` and `max_batch` included.
    pub fn limits(&self) -> Limits {
        Limits {
            max_text_chars: self.max_text_chars,
            max_batch: self.max_batch,
            ..self.limits.clone()
        }
    }
}

/// Default gRPC address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";
/// Default address of the web pages.
pub const DEFAULT_WEB_ADDR: &str = "127.0.0.1:8080";
/// Default suppression threshold of the report.
pub const DEFAULT_REPORT_MIN_COUNT: u64 = 5;
/// Default text limit.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 100_000;
/// Default batch limit.
pub const DEFAULT_MAX_BATCH: usize = 1000;
/// Default `encoder_skip_confidence`: see README, "Performance".
pub const DEFAULT_ENCODER_SKIP_CONFIDENCE: f32 = 0.99;
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "herken-data";
/// Default repeat window: 12 weeks.
pub const DEFAULT_REPEAT_WINDOW_DAYS: u32 = 84;
/// Default duplicate window.
pub const DEFAULT_DUPLICATE_MINUTES: u32 = 10;
/// Default retention: 13 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 396;
/// Default retention of items still waiting: 13 months.
pub const DEFAULT_QUEUE_RETENTION_DAYS: u32 = 396;
/// Default retention of the audit log: 7 years.
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 2557;
/// Default raw e-mail limit: 4 MiB.
pub const DEFAULT_MAX_RAW_EMAIL_BYTES: usize = 4 << 20;
/// Default subject limit.
pub const DEFAULT_MAX_SUBJECT_CHARS: usize = 1000;
/// Default sender limit.
pub const DEFAULT_MAX_SENDER_CHARS: usize = 320;
/// Default id limit.
pub const DEFAULT_MAX_ID_CHARS: usize = 200;
/// Default note limit.
pub const DEFAULT_MAX_NOTE_CHARS: usize = 2000;
/// Default request limit: 16 MiB.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 16 << 20;
/// Default stream limit.
pub const DEFAULT_MAX_STREAM_ITEMS: usize = 10_000;
/// Default stream idle time.
pub const DEFAULT_STREAM_IDLE_SECONDS: u64 = 60;
/// Default waiting room for recognition, per thread.
pub const DEFAULT_RECOGNITION_QUEUE_PER_THREAD: usize = 8;
/// Default most items per Pull.
pub const DEFAULT_MAX_PULL_ITEMS: u32 = 100;
/// Default longest lease: one hour.
pub const DEFAULT_MAX_LEASE_SECONDS: u32 = 3600;

impl Default for Config {
    fn default() -> Self {
        RawConfig::default()
            .validate()
            .expect("the defaults are valid")
    }
}

/// The model directory when none is configured: `./models` when it exists, else the one in
/// the source tree this binary was built from.
pub fn default_model_dir() -> PathBuf {
    let local = PathBuf::from("models");
    if local.join(crate::pipeline::model::SPARSE_FILE).exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("models")
    }
}

impl RawConfig {
    /// Read a TOML file.
    pub fn from_file(path: &Path) -> Result<RawConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    /// The file named by `explicit`, else `./herken.toml` when it exists, else defaults.
    pub fn discover(explicit: Option<&Path>) -> Result<RawConfig> {
        match explicit {
            Some(p) => RawConfig::from_file(p),
            None if Path::new("herken.toml").exists() => {
                RawConfig::from_file(Path::new("herken.toml"))
            }
            None => Ok(RawConfig::default()),
        }
    }

    /// Apply `HERKEN_*` environment variables from `vars` over the file's values.
    pub fn apply_env<I>(mut self, vars: I) -> Result<RawConfig>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        fn parse<T: std::str::FromStr>(name: &str, v: &str) -> Result<T>
        where
            T::Err: std::fmt::Display,
        {
            v.parse()
                .map_err(|e: T::Err| Error::Config(format!("{name}={v:?}: {e}")))
        }
        for (k, v) in vars {
            match k.as_str() {
                "HERKEN_ADDR" => self.addr = Some(v),
                "HERKEN_WEB_ADDR" => self.web_addr = Some(v),
                "HERKEN_REPORT_MIN_COUNT" => self.report_min_count = Some(parse(&k, &v)?),
                "HERKEN_MODEL_DIR" => self.model_dir = Some(v.into()),
                "HERKEN_REQUIRE_MODEL" => self.require_model = Some(parse(&k, &v)?),
                "HERKEN_ENCODER_DIR" => self.encoder_dir = Some(v.into()),
                "HERKEN_REQUIRE_ENCODER" => self.require_encoder = Some(parse(&k, &v)?),
                "HERKEN_MODEL_CUES" => self.model_cues = Some(parse(&k, &v)?),
                "HERKEN_ENCODER_RUNTIME" => self.encoder_runtime = Some(v),
                "HERKEN_ENCODER_CACHE_ENTRIES" => self.encoder_cache_entries = Some(parse(&k, &v)?),
                "HERKEN_ENCODER_SKIP_CONFIDENCE" => {
                    self.encoder_skip_confidence = Some(parse(&k, &v)?)
                }
                "HERKEN_LEXICON_DIR" => self.lexicon_dir = Some(v.into()),
                "HERKEN_MAX_TEXT_CHARS" => self.max_text_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_BATCH" => self.max_batch = Some(parse(&k, &v)?),
                "HERKEN_MIN_CONFIDENCE" => self.min_confidence = Some(parse(&k, &v)?),
                "HERKEN_MIN_MARGIN" => self.min_margin = Some(parse(&k, &v)?),
                "HERKEN_REPEAT_MIN_KLACHT" => self.repeat_min_klacht = Some(parse(&k, &v)?),
                "HERKEN_PETITION_MIN_RAADSADRES" => {
                    self.petition_min_raadsadres = Some(parse(&k, &v)?)
                }
                "HERKEN_ADDRESSEE_MIN_OVERIG" => self.addressee_min_overig = Some(parse(&k, &v)?),
                "HERKEN_LOG_FORMAT" => self.log_format = Some(v),
                "HERKEN_DATA_DIR" => self.data_dir = Some(v.into()),
                "HERKEN_ROUTING_FILE" => self.routing_file = Some(v.into()),
                "HERKEN_DATABASE_URL" => self.database_url = Some(v),
                "HERKEN_SECRET_FILE" => self.secret_file = Some(v.into()),
                "HERKEN_REPEAT_WINDOW_DAYS" => self.repeat_window_days = Some(parse(&k, &v)?),
                "HERKEN_DUPLICATE_MINUTES" => self.duplicate_minutes = Some(parse(&k, &v)?),
                "HERKEN_SEMANTIC_SKETCH" => self.semantic_sketch = Some(parse(&k, &v)?),
                "HERKEN_RETENTION_DAYS" => self.retention_days = Some(parse(&k, &v)?),
                "HERKEN_QUEUE_RETENTION_DAYS" => self.queue_retention_days = Some(parse(&k, &v)?),
                "HERKEN_AUDIT_RETENTION_DAYS" => self.audit_retention_days = Some(parse(&k, &v)?),
                "HERKEN_AUTH" => self.auth = Some(v),
                "HERKEN_KEYS_FILE" => self.keys_file = Some(v.into()),
                "HERKEN_TLS_CERT" => self.tls_cert = Some(v.into()),
                "HERKEN_TLS_KEY" => self.tls_key = Some(v.into()),
                "HERKEN_TLS_CLIENT_CA" => self.tls_client_ca = Some(v.into()),
                "HERKEN_ALLOW_INSECURE" => self.allow_insecure = Some(parse(&k, &v)?),
                "HERKEN_MAX_RAW_EMAIL_BYTES" => self.max_raw_email_bytes = Some(parse(&k, &v)?),
                "HERKEN_MAX_SUBJECT_CHARS" => self.max_subject_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_SENDER_CHARS" => self.max_sender_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_ID_CHARS" => self.max_id_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_NOTE_CHARS" => self.max_note_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_REQUEST_BYTES" => self.max_request_bytes = Some(parse(&k, &v)?),
                "HERKEN_MAX_STREAM_ITEMS" => self.max_stream_items = Some(parse(&k, &v)?),
                "HERKEN_STREAM_IDLE_SECONDS" => self.stream_idle_seconds = Some(parse(&k, &v)?),
                "HERKEN_RECOGNITION_THREADS" => self.recognition_threads = Some(parse(&k, &v)?),
                "HERKEN_RECOGNITION_QUEUE" => self.recognition_queue = Some(parse(&k, &v)?),
                "HERKEN_MAX_PULL_ITEMS" => self.max_pull_items = Some(parse(&k, &v)?),
                "HERKEN_MAX_LEASE_SECONDS" => self.max_lease_seconds = Some(parse(&k, &v)?),
                _ => {}
            }
        }
        Ok(self)
    }

    /// Check every value and build the [`Config`].
    pub fn validate(self) -> Result<Config> {
        let addr_text = self.addr.unwrap_or_else(|| DEFAULT_ADDR.to_string());
        let addr: SocketAddr = addr_text.parse().map_err(|e| {
            Error::Config(format!(
                "addr {addr_text:?} is not an address like 127.0.0.1:50051: {e}"
            ))
        })?;
        let web_addr = match self.web_addr.as_deref().map(str::trim) {
            Some("off") => None,
            Some(a) => Some(a.parse::<SocketAddr>().map_err(|e| {
                Error::Config(format!(
                    "web_addr {a:?} is not an address like 127.0.0.1:8080 (or \"off\"): {e}"
                ))
            })?),
            None => Some(
                DEFAULT_WEB_ADDR
                    .parse()
                    .expect("the default web address parses"),
            ),
        };
        let report_min_count = self.report_min_count.unwrap_or(DEFAULT_REPORT_MIN_COUNT);
        if report_min_count == 0 {
            return Err(Error::Config("report_min_count must be at least 1".into()));
        }
        let max_text_chars = self.max_text_chars.unwrap_or(DEFAULT_MAX_TEXT_CHARS);
        if max_text_chars == 0 {
            return Err(Error::Config("max_text_chars must be at least 1".into()));
        }
        let max_batch = self.max_batch.unwrap_or(DEFAULT_MAX_BATCH);
        if max_batch == 0 {
            return Err(Error::Config("max_batch must be at least 1".into()));
        }
        let defaults = DecideOptions::default();
        let min_confidence = self.min_confidence.unwrap_or(defaults.min_confidence);
        let min_margin = self.min_margin.unwrap_or(defaults.min_margin);
        for (name, v) in [
            ("min_confidence", min_confidence),
            ("min_margin", min_margin),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::Config(format!("{name} = {v} is outside 0..1")));
            }
        }
        let repeat_min_klacht = self.repeat_min_klacht.unwrap_or(defaults.repeat_min_klacht);
        let petition_min_raadsadres = self
            .petition_min_raadsadres
            .unwrap_or(defaults.petition_min_raadsadres);
        let addressee_min_overig = self
            .addressee_min_overig
            .unwrap_or(defaults.addressee_min_overig);
        for (name, v) in [
            ("repeat_min_klacht", repeat_min_klacht),
            ("petition_min_raadsadres", petition_min_raadsadres),
            ("addressee_min_overig", addressee_min_overig),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::Config(format!(
                    "{name} = {v}: expected a probability (0..1; above 1 switches the rule off)"
                )));
            }
        }
        let log_format = match self.log_format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(Error::Config(format!(
                    "log_format {other:?}: expected \"text\" or \"json\""
                )))
            }
        };
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let store = match self.database_url.filter(|u| !u.trim().is_empty()) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                crate::store::Location::Postgres(url)
            }
            Some(url) => {
                return Err(Error::Config(format!(
                    "database_url must start with postgres:// or postgresql:// (got {:?}); leave it out for the embedded SQLite store",
                    url.split("://").next().unwrap_or("")
                )))
            }
            None => crate::store::Location::SqliteFile(crate::store::default_sqlite_file(&data_dir)),
        };
        let days = |name: &str, v: Option<u32>, d: u32| -> Result<u32> {
            let v = v.unwrap_or(d);
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
            Ok(v)
        };
        let window = days(
            "repeat_window_days",
            self.repeat_window_days,
            DEFAULT_REPEAT_WINDOW_DAYS,
        )?;
        let retention = days(
            "retention_days",
            self.retention_days,
            DEFAULT_RETENTION_DAYS,
        )?;
        if retention < window {
            return Err(Error::Config(format!(
                "retention_days ({retention}) is shorter than repeat_window_days ({window}): history would be purged before it can be used"
            )));
        }
        let duplicate = days(
            "duplicate_minutes",
            self.duplicate_minutes,
            DEFAULT_DUPLICATE_MINUTES,
        )?;
        let queue_retention = days(
            "queue_retention_days",
            self.queue_retention_days,
            DEFAULT_QUEUE_RETENTION_DAYS,
        )?;
        let audit_retention = days(
            "audit_retention_days",
            self.audit_retention_days,
            DEFAULT_AUDIT_RETENTION_DAYS,
        )?;
        let at_least_1 = |name: &str, v: Option<usize>, d: usize| -> Result<usize> {
            let v = v.unwrap_or(d);
            if v == 0 {
                return Err(Error::Config(format!("{name} must be at least 1")));
            }
            Ok(v)
        };
        let limits = Limits {
            max_text_chars,
            max_batch,
            max_raw_email_bytes: at_least_1(
                "max_raw_email_bytes",
                self.max_raw_email_bytes,
                DEFAULT_MAX_RAW_EMAIL_BYTES,
            )?,
            max_subject_chars: at_least_1(
                "max_subject_chars",
                self.max_subject_chars,
                DEFAULT_MAX_SUBJECT_CHARS,
            )?,
            max_sender_chars: at_least_1(
                "max_sender_chars",
                self.max_sender_chars,
                DEFAULT_MAX_SENDER_CHARS,
            )?,
            max_id_chars: at_least_1("max_id_chars", self.max_id_chars, DEFAULT_MAX_ID_CHARS)?,
            max_note_chars: at_least_1(
                "max_note_chars",
                self.max_note_chars,
                DEFAULT_MAX_NOTE_CHARS,
            )?,
            max_request_bytes: at_least_1(
                "max_request_bytes",
                self.max_request_bytes,
                DEFAULT_MAX_REQUEST_BYTES,
            )?,
            max_stream_items: at_least_1(
                "max_stream_items",
                self.max_stream_items,
                DEFAULT_MAX_STREAM_ITEMS,
            )?,
            stream_idle: std::time::Duration::from_secs(at_least_1(
                "stream_idle_seconds",
                self.stream_idle_seconds.map(|s| s as usize),
                DEFAULT_STREAM_IDLE_SECONDS as usize,
            )? as u64),
            max_pull_items: at_least_1(
                "max_pull_items",
                self.max_pull_items.map(|v| v as usize),
                DEFAULT_MAX_PULL_ITEMS as usize,
            )? as u32,
            max_lease_seconds: at_least_1(
                "max_lease_seconds",
                self.max_lease_seconds.map(|v| v as usize),
                DEFAULT_MAX_LEASE_SECONDS as usize,
            )? as u32,
        };
        if limits.max_request_bytes < limits.max_message_bytes() {
            return Err(Error::Config(format!(
                "max_request_bytes ({}) is smaller than one message at the other limits can be ({} bytes: 4 bytes a character of max_text_chars, max_subject_chars, max_sender_chars and max_id_chars, plus max_raw_email_bytes and 1024)",
                limits.max_request_bytes,
                limits.max_message_bytes()
            )));
        }
        let threads = match self.recognition_threads {
            Some(0) => {
                return Err(Error::Config(
                    "recognition_threads must be at least 1".into(),
                ))
            }
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(1, |n| n.get()),
        };
        let admission = AdmissionConfig {
            threads,
            queue: self
                .recognition_queue
                .unwrap_or(DEFAULT_RECOGNITION_QUEUE_PER_THREAD * threads),
        };
        let auth = match self.auth.as_deref().unwrap_or("none") {
            "none" => AuthMode::None,
            "keys" => AuthMode::Keys,
            other => {
                return Err(Error::Config(format!(
                    "auth {other:?}: expected \"none\" or \"keys\""
                )))
            }
        };
        let tls = match (self.tls_cert, self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert,
                key,
                client_ca: self.tls_client_ca,
            }),
            (None, None) if self.tls_client_ca.is_none() => None,
            (None, None) => {
                return Err(Error::Config(
                    "tls_client_ca is set but tls_cert and tls_key are not: client certificates need TLS".into(),
                ))
            }
            (Some(_), None) => {
                return Err(Error::Config(
                    "tls_cert is set but tls_key is not: TLS needs both".into(),
                ))
            }
            (None, Some(_)) => {
                return Err(Error::Config(
                    "tls_key is set but tls_cert is not: TLS needs both".into(),
                ))
            }
        };
        let access = AccessConfig {
            auth,
            keys_file: self
                .keys_file
                .unwrap_or_else(|| data_dir.join(crate::auth::DEFAULT_KEYS_FILE)),
            tls,
            allow_insecure: self.allow_insecure.unwrap_or(false),
        };
        Ok(Config {
            limits,
            access,
            admission,
            retentions: Retention {
                history: chrono::Duration::days(retention as i64),
                waiting: chrono::Duration::days(queue_retention as i64),
                audit: chrono::Duration::days(audit_retention as i64),
            },
            routing_file: self.routing_file,
            store,
            secret_file: self
                .secret_file
                .unwrap_or_else(|| data_dir.join("sender.key")),
            repeat: crate::repeat::RepeatOptions {
                window: chrono::Duration::days(window as i64),
                duplicate_within: chrono::Duration::minutes(duplicate as i64),
                semantic_sketch: self.semantic_sketch.unwrap_or(false),
                ..Default::default()
            },
            retention: chrono::Duration::days(retention as i64),
            addr,
            web_addr,
            report_min_count,
            model_dir: self.model_dir.unwrap_or_else(default_model_dir),
            require_model: self.require_model.unwrap_or(false),
            encoder_dir: self
                .encoder_dir
                .unwrap_or_else(crate::fetch::default_encoder_dir),
            require_encoder: self.require_encoder.unwrap_or(false),
            model_cues: self.model_cues.unwrap_or(true),
            encoder_runtime: encoder_runtime(self.encoder_runtime.as_deref())?,
            encoder_cache_entries: match self.encoder_cache_entries {
                Some(n) if n > 1_000_000 => {
                    return Err(Error::Config(format!(
                        "encoder_cache_entries {n}: at most 1000000 (about 3 KB each)"
                    )))
                }
                Some(n) => n,
                None => crate::pipeline::model::encoder::cache::DEFAULT_ENTRIES,
            },
            encoder_skip_confidence: match self.encoder_skip_confidence {
                Some(0.0) => None,
                Some(t) if !(0.5..=1.0).contains(&t) => {
                    return Err(Error::Config(format!(
                        "encoder_skip_confidence = {t}: 0 (off) or between 0.5 and 1"
                    )))
                }
                Some(t) => Some(t),
                None => Some(DEFAULT_ENCODER_SKIP_CONFIDENCE),
            },
            lexicon_dir: self.lexicon_dir,
            max_text_chars,
            max_batch,
            decide: DecideOptions {
                min_confidence,
                min_margin,
                repeat_min_klacht,
                petition_min_raadsadres,
                addressee_min_overig,
            },
            log_format,
        })
    }
}

/// The configured encoder runtime, refused when this build lacks it.
fn encoder_runtime(name: Option<&str>) -> Result<crate::pipeline::model::encoder::Runtime> {
    match name {
        Some(r) => r.parse::<crate::pipeline::model::encoder::Runtime>()?,
        None => crate::pipeline::model::encoder::Runtime::default_for_build(),
    }
    .require_available()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_contract() {
        let c = Config::default();
        assert_eq!(c.addr.to_string(), "127.0.0.1:50051");
        assert_eq!(c.max_text_chars, 100_000);
        assert_eq!(c.max_batch, 1000);
    }

    #[test]
    fn unknown_field_is_rejected_with_its_name() {
        let err = toml::from_str::<RawConfig>("adress = \"x\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("adress"), "{err}");
    }

    #[test]
    fn env_overrides_file() {
        let raw: RawConfig = toml::from_str("max_batch = 5").unwrap();
        let c = raw
            .apply_env([("HERKEN_MAX_BATCH".to_string(), "7".to_string())])
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(c.max_batch, 7);
    }

    #[test]
    fn semantic_sketches_are_off_unless_asked_for() {
        assert!(!Config::default().repeat.semantic_sketch);
        let from_file: RawConfig = toml::from_str("semantic_sketch = true").unwrap();
        assert!(from_file.validate().unwrap().repeat.semantic_sketch);
        let c = RawConfig::default()
            .apply_env([("HERKEN_SEMANTIC_SKETCH".to_string(), "true".to_string())])
            .unwrap()
            .validate()
            .unwrap();
        assert!(c.repeat.semantic_sketch);
    }

    #[test]
    fn bad_values_name_themselves() {
        let err = RawConfig::default()
            .apply_env([("HERKEN_MAX_BATCH".to_string(), "many".to_string())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HERKEN_MAX_BATCH"), "{err}");
        let err = RawConfig {
            addr: Some("nowhere".into()),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(err.contains("nowhere"), "{err}");
        let err = RawConfig::default()
            .apply_env([("HERKEN_ENCODER_RUNTIME".to_string(), "onnx".to_string())])
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("onnx") && err.contains("encoder_runtime"),
            "{err}"
        );
    }

    #[test]
    fn the_cascade_threshold_is_off_at_zero_and_refused_below_one_half() {
        let skip = |v: f32| {
            RawConfig {
                encoder_skip_confidence: Some(v),
                ..Default::default()
            }
            .validate()
        };
        assert_eq!(
            RawConfig::default()
                .validate()
                .unwrap()
                .encoder_skip_confidence,
            Some(DEFAULT_ENCODER_SKIP_CONFIDENCE)
        );
        assert_eq!(skip(0.0).unwrap().encoder_skip_confidence, None);
        assert_eq!(skip(0.9).unwrap().encoder_skip_confidence, Some(0.9));
        for bad in [0.3, 1.5, f32::NAN] {
            let err = skip(bad).unwrap_err().to_string();
            assert!(err.contains("encoder_skip_confidence"), "{err}");
        }
    }

    #[test]
    fn encoder_runtime_defaults_to_int8_when_built_with_libtorch() {
        use crate::pipeline::model::encoder::Runtime;
        let c = RawConfig::default().validate().unwrap();
        let want = if cfg!(feature = "libtorch") {
            Runtime::Int8
        } else {
            Runtime::Rust
        };
        assert_eq!(c.encoder_runtime, want);
        let raw: RawConfig = toml::from_str("encoder_runtime = \"rust\"").unwrap();
        assert_eq!(raw.validate().unwrap().encoder_runtime, Runtime::Rust);
    }
}

#[cfg(test)]
mod example_tests {
    use super::*;

    /// Every option documented in herken.toml.example exists, and its documented default is
    /// the real default.
    #[test]
    fn the_example_file_documents_real_options_with_their_defaults() {
        let text = include_str!("../herken.toml.example");
        let uncommented: String = text
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| {
                l.contains(" = ") && !l.contains(':')
                    || l.starts_with("addr")
                    || l.starts_with("web_addr")
            })
            // A build without libtorch refuses its documented default runtime.
            .filter(|l| cfg!(feature = "libtorch") || !l.starts_with("encoder_runtime"))
            // Examples, not defaults: TLS files, and thread counts that follow the cores.
            .filter(|l| !l.starts_with("tls_") && !l.starts_with("recognition_"))
            .map(|l| format!("{l}\n"))
            .collect();
        let raw: RawConfig =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        let documented = raw.validate().unwrap();
        let default = Config::default();
        assert_eq!(documented.addr, default.addr);
        assert_eq!(documented.web_addr, default.web_addr);
        assert_eq!(documented.report_min_count, default.report_min_count);
        assert_eq!(documented.max_text_chars, default.max_text_chars);
        assert_eq!(documented.max_batch, default.max_batch);
        assert_eq!(documented.decide, default.decide);
        assert_eq!(documented.require_model, default.require_model);
        if cfg!(feature = "libtorch") {
            assert_eq!(documented.encoder_runtime, default.encoder_runtime);
        }
        assert_eq!(documented.log_format, default.log_format);
        assert_eq!(documented.limits, default.limits);
        assert_eq!(documented.retentions, default.retentions);
        assert_eq!(documented.access, default.access);
        assert_eq!(documented.admission.queue, 8 * documented.admission.threads);
    }

    /// Every option of the example file is read from its documented environment variable.
    #[test]
    fn every_example_option_has_its_environment_variable() {
        let text = include_str!("../herken.toml.example");
        for line in text.lines().filter_map(|l| l.strip_prefix("# ")) {
            let Some((name, _)) = line.split_once(" = ") else {
                continue;
            };
            if name.contains(' ') || name.contains(':') {
                continue;
            }
            let var = format!("HERKEN_{}", name.to_ascii_uppercase());
            let documented = text.contains(&var)
                || text.contains(&format!(
                    "_{}",
                    name.trim_start_matches("max_").to_ascii_uppercase()
                ));
            assert!(documented, "{name}: {var} is not documented");
        }
    }
}
