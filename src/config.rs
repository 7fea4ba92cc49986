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
    /// Directory with the trained model (`sparse-lr.bin`, `manifest.json`).
    pub model_dir: Option<PathBuf>,
    /// Refuse to start without a trained model (instead of running degraded on the lexicon).
    pub require_model: Option<bool>,
    /// Directory with the sentence encoder (config.json, model.safetensors, tokenizer.json).
    pub encoder_dir: Option<PathBuf>,
    /// Refuse to start without the encoder (instead of running degraded on the sparse model).
    pub require_encoder: Option<bool>,
    /// Encoder runtime: "libtorch" (rust-bert) or "rust" (the built-in forward pass).
    pub encoder_runtime: Option<String>,
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
    /// History older than this many days is purged.
    pub retention_days: Option<u32>,
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
    /// Directory with the trained model.
    pub model_dir: PathBuf,
    /// Refuse to start without a trained model.
    pub require_model: bool,
    /// Directory with the sentence encoder.
    pub encoder_dir: PathBuf,
    /// Refuse to start without the encoder.
    pub require_encoder: bool,
    /// Which implementation runs the encoder.
    pub encoder_runtime: crate::pipeline::model::encoder::Runtime,
    /// Directory with lexicon files; `None` for the built-in lexicon.
    pub lexicon_dir: Option<PathBuf>,
    /// Longest accepted message text, in characters.
    pub max_text_chars: usize,
    /// Most requests in one ClassifyBatch.
    pub max_batch: usize,
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
    /// History older than this is purged.
    pub retention: chrono::Duration,
}

/// Default gRPC address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:50051";
/// Default text limit.
pub const DEFAULT_MAX_TEXT_CHARS: usize = 100_000;
/// Default batch limit.
pub const DEFAULT_MAX_BATCH: usize = 1000;
/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "herken-data";
/// Default repeat window: 12 weeks.
pub const DEFAULT_REPEAT_WINDOW_DAYS: u32 = 84;
/// Default duplicate window.
pub const DEFAULT_DUPLICATE_MINUTES: u32 = 10;
/// Default retention: 13 months.
pub const DEFAULT_RETENTION_DAYS: u32 = 396;

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
                "HERKEN_MODEL_DIR" => self.model_dir = Some(v.into()),
                "HERKEN_REQUIRE_MODEL" => self.require_model = Some(parse(&k, &v)?),
                "HERKEN_ENCODER_DIR" => self.encoder_dir = Some(v.into()),
                "HERKEN_REQUIRE_ENCODER" => self.require_encoder = Some(parse(&k, &v)?),
                "HERKEN_ENCODER_RUNTIME" => self.encoder_runtime = Some(v),
                "HERKEN_LEXICON_DIR" => self.lexicon_dir = Some(v.into()),
                "HERKEN_MAX_TEXT_CHARS" => self.max_text_chars = Some(parse(&k, &v)?),
                "HERKEN_MAX_BATCH" => self.max_batch = Some(parse(&k, &v)?),
                "HERKEN_MIN_CONFIDENCE" => self.min_confidence = Some(parse(&k, &v)?),
                "HERKEN_MIN_MARGIN" => self.min_margin = Some(parse(&k, &v)?),
                "HERKEN_LOG_FORMAT" => self.log_format = Some(v),
                "HERKEN_DATA_DIR" => self.data_dir = Some(v.into()),
                "HERKEN_ROUTING_FILE" => self.routing_file = Some(v.into()),
                "HERKEN_DATABASE_URL" => self.database_url = Some(v),
                "HERKEN_SECRET_FILE" => self.secret_file = Some(v.into()),
                "HERKEN_REPEAT_WINDOW_DAYS" => self.repeat_window_days = Some(parse(&k, &v)?),
                "HERKEN_DUPLICATE_MINUTES" => self.duplicate_minutes = Some(parse(&k, &v)?),
                "HERKEN_RETENTION_DAYS" => self.retention_days = Some(parse(&k, &v)?),
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
        Ok(Config {
            routing_file: self.routing_file,
            store,
            secret_file: self
                .secret_file
                .unwrap_or_else(|| data_dir.join("sender.key")),
            repeat: crate::repeat::RepeatOptions {
                window: chrono::Duration::days(window as i64),
                duplicate_within: chrono::Duration::minutes(duplicate as i64),
                ..Default::default()
            },
            retention: chrono::Duration::days(retention as i64),
            addr,
            model_dir: self.model_dir.unwrap_or_else(default_model_dir),
            require_model: self.require_model.unwrap_or(false),
            encoder_dir: self
                .encoder_dir
                .unwrap_or_else(crate::fetch::default_encoder_dir),
            require_encoder: self.require_encoder.unwrap_or(false),
            encoder_runtime: encoder_runtime(self.encoder_runtime.as_deref())?,
            lexicon_dir: self.lexicon_dir,
            max_text_chars,
            max_batch,
            decide: DecideOptions {
                min_confidence,
                min_margin,
                ..defaults
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
    fn encoder_runtime_defaults_to_rust_bert_when_built_with_it() {
        use crate::pipeline::model::encoder::Runtime;
        let c = RawConfig::default().validate().unwrap();
        let want = if cfg!(feature = "libtorch") {
            Runtime::Libtorch
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
            .filter(|l| l.contains(" = ") && !l.contains(':') || l.starts_with("addr"))
            // A build without libtorch refuses its documented default runtime.
            .filter(|l| cfg!(feature = "libtorch") || !l.starts_with("encoder_runtime"))
            .map(|l| format!("{l}\n"))
            .collect();
        let raw: RawConfig =
            toml::from_str(&uncommented).unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
        let documented = raw.validate().unwrap();
        let default = Config::default();
        assert_eq!(documented.addr, default.addr);
        assert_eq!(documented.max_text_chars, default.max_text_chars);
        assert_eq!(documented.max_batch, default.max_batch);
        assert_eq!(documented.decide, default.decide);
        assert_eq!(documented.require_model, default.require_model);
        if cfg!(feature = "libtorch") {
            assert_eq!(documented.encoder_runtime, default.encoder_runtime);
        }
        assert_eq!(documented.log_format, default.log_format);
    }
}
