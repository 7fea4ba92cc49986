//! The secret that keys sender hashes: read from a file, generated at first start. A server
//! whose store already holds history refuses to start without it ([`load_for_store`]): a new
//! secret would silently make every earlier sender a stranger.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Bytes of a generated secret.
pub const SECRET_LEN: usize = 32;

/// The secret for a store holding `history_rows` rows of history: read from `path` (with a
/// warning in the log when others may read it); generated only while there is no history.
pub fn load_for_store(path: &Path, history_rows: u64) -> Result<Vec<u8>> {
    if history_rows > 0 && !path.exists() {
        return Err(Error::Config(format!(
            "the sender-key secret {} is missing, but the store holds {history_rows} history rows keyed with it: restore the file from a backup (a new secret would make every earlier sender a stranger), or point secret_file at it",
            path.display()
        )));
    }
    let secret = load_or_create(path)?;
    crate::auth::warn_if_loose(path);
    Ok(secret)
}

/// Read the secret from `path`, or generate one there (mode 0600) when the file is missing.
pub fn load_or_create(path: &Path) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 16 => Ok(bytes),
        Ok(bytes) => Err(Error::Config(format!(
            "secret file {} has {} bytes; at least 16 are needed",
            path.display(),
            bytes.len()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = vec![0u8; SECRET_LEN];
            getrandom::getrandom(&mut secret)
                .map_err(|e| Error::Internal(format!("no randomness for the secret: {e}")))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            // Written in full to a private temporary file, then published with a hard link,
            // which fails when the name exists: a reader never sees a half-written secret, and
            // of two servers starting at once exactly one secret wins.
            let mut nonce = [0u8; 8];
            getrandom::getrandom(&mut nonce)
                .map_err(|e| Error::Internal(format!("no randomness for the secret: {e}")))?;
            let file_name = path
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", hex::encode(nonce)));
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let written = options
                .open(&tmp)
                .and_then(|mut f| f.write_all(&secret).and_then(|_| f.sync_all()));
            let published = written.and_then(|_| std::fs::hard_link(&tmp, path));
            let _ = std::fs::remove_file(&tmp);
            match published {
                Ok(()) => {
                    tracing::info!(path = %path.display(), "generated a new sender-key secret");
                    Ok(secret)
                }
                // Another process published one first: use theirs.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(path),
                Err(e) => Err(Error::io(path, e)),
            }
        }
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A fresh random secret that is never written (one CLI run).
pub fn ephemeral() -> Vec<u8> {
    let mut secret = vec![0u8; SECRET_LEN];
    getrandom::getrandom(&mut secret).expect("the OS has randomness");
    secret
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_once_then_reused_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("sender.key");
        let a = load_or_create(&p).unwrap();
        let b = load_or_create(&p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), SECRET_LEN);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn servers_starting_at_once_all_get_the_one_whole_secret() {
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("sender.key");
            let secrets: Vec<Vec<u8>> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..8).map(|_| s.spawn(|| load_or_create(&p))).collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap().unwrap())
                    .collect()
            });
            assert!(secrets
                .iter()
                .all(|x| x.len() == SECRET_LEN && *x == secrets[0]));
            // No temporary file is left beside it.
            assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        }
    }

    #[test]
    fn a_missing_secret_is_refused_once_there_is_history() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sender.key");
        let e = load_for_store(&p, 3).unwrap_err().to_string();
        assert!(e.contains("missing") && e.contains("3 history rows"), "{e}");
        assert!(!p.exists(), "no new secret was made");
        assert_eq!(load_for_store(&p, 0).unwrap().len(), SECRET_LEN);
        assert!(load_for_store(&p, 3).is_ok());
    }

    #[test]
    fn a_too_short_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, b"short").unwrap();
        assert!(load_or_create(&p).unwrap_err().to_string().contains("16"));
    }
}
