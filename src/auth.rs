//! Access control: API keys with roles, checked for every gRPC call before it reaches a service.
//!
//! # Design
//! - A token is 32 random bytes (256 bits), written as `hk_` + 64 hex digits. The keys file
//!   holds only its SHA-256: a plain hash is enough for a high-entropy token (no password
//!   stretching needed), and a stolen keys file gives no token.
//! - A call's token is hashed and compared with every key's hash in constant time
//!   ([`subtle`]), so timing says nothing about how much of a hash matched.
//! - Which role a method needs is one table, [`required_role`], keyed by the gRPC path. A
//!   method of ours missing from it is refused (fail closed): a new endpoint cannot be served
//!   without a role. Health and reflection are open.
//! - With `auth = "none"` every caller is [`Caller::anonymous`] and holds every role.
//!
//! # Keys file (TOML, mode 0600)
//! ```toml
//! [[key]]
//! name = "mailgateway"
//! roles = ["classify"]
//! sha256 = "9f86d0…"          # SHA-256 of the token, hex
//! created = "2026-05-01T10:00:00Z"
//! ```

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config::AuthMode;
use crate::error::{Error, Result};

/// The keys file's name inside the data directory.
pub const DEFAULT_KEYS_FILE: &str = "keys.toml";

/// Prefix of every token, so that a leaked one is recognisable in logs and scanners.
pub const TOKEN_PREFIX: &str = "hk_";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The Classifier service.
    Classify,
    /// ListQueues, Pull, Ack, Release.
    Intake,
    /// Correct.
    Correct,
    /// Erasure and reports (the Admin service).
    Admin,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Classify, Role::Intake, Role::Correct, Role::Admin];

    /// Its name as in the keys file and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Classify => "classify",
            Role::Intake => "intake",
            Role::Correct => "correct",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| {
                Error::invalid(
                    "role",
                    format!("{s:?} is not a role; the roles are classify, intake, correct, admin"),
                )
            })
    }
}

/// The role a gRPC method needs; `None` for the open services (health, reflection).
/// [`Error::PermissionDenied`] for a method of ours that is not in the table: refused,
/// whoever calls.
pub fn required_role(path: &str) -> Result<Option<Role>> {
    let service = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if service.starts_with("grpc.health.") || service.starts_with("grpc.reflection.") {
        return Ok(None);
    }
    Ok(Some(match path {
        "/herken.v1.Classifier/Classify"
        | "/herken.v1.Classifier/ClassifyBatch"
        | "/herken.v1.Classifier/ClassifyStream" => Role::Classify,
        "/herken.v1.Intake/ListQueues"
        | "/herken.v1.Intake/Pull"
        | "/herken.v1.Intake/Ack"
        | "/herken.v1.Intake/Release" => Role::Intake,
        "/herken.v1.Intake/Correct" => Role::Correct,
        "/herken.v1.Admin/Purge" => Role::Admin,
        _ => return Err(Error::PermissionDenied(format!("no role grants {path}"))),
    }))
}

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Who holds it: a system or a person. Recorded as `corrected_by` and lease holder.
    pub name: String,
    /// What it may do.
    pub roles: Vec<Role>,
    /// SHA-256 of the token, hex.
    pub sha256: String,
    /// When it was made (RFC 3339).
    #[serde(default)]
    pub created: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysToml {
    #[serde(default)]
    key: Vec<KeyEntry>,
}

/// The keys of a keys file.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    entries: Vec<KeyEntry>,
    /// (hash bytes, index into entries)
    hashes: Vec<[u8; 32]>,
}

/// The SHA-256 of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token: `hk_` and 64 hex digits (256 bits).
pub fn new_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| Error::Internal(format!("no randomness for a token: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex::encode(bytes)))
}

impl Keys {
    /// Keys from entries; a malformed hash or a duplicate name is an error.
    pub fn new(entries: Vec<KeyEntry>) -> Result<Keys> {
        let mut hashes = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if e.name.trim().is_empty() {
                return Err(Error::Config(format!("key {} has an empty name", i + 1)));
            }
            if entries[..i].iter().any(|o| o.name == e.name) {
                return Err(Error::Config(format!("two keys are named {:?}", e.name)));
            }
            let bytes = hex::decode(&e.sha256)
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| {
                    Error::Config(format!("key {:?}: sha256 is not 64 hex digits", e.name))
                })?;
            hashes.push(bytes);
        }
        Ok(Keys { entries, hashes })
    }

    /// Read a keys file; a missing file is no keys.
    pub fn load(path: &Path) -> Result<Keys> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Keys::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        warn_if_loose(path);
        let parsed: KeysToml = toml::from_str(&text)
            .map_err(|e| Error::Config(format!("keys file {}: {e}", path.display())))?;
        Keys::new(parsed.key)
    }

    /// Write the keys file whole (a temporary file renamed over it), mode 0600.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(&KeysToml {
            key: self.entries.clone(),
        })
        .map_err(|e| Error::Internal(format!("keys file: {e}")))?;
        let text = format!(
            "# herken API keys: only SHA-256 hashes of the tokens. Made by `herken key new`.\n{text}"
        );
        write_private(path, text.as_bytes())
    }

    /// The entries.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// Add a key for a new token; returns the token (shown once, never stored).
    pub fn add(&mut self, name: &str, roles: Vec<Role>) -> Result<String> {
        if name.trim().is_empty() {
            return Err(Error::invalid(
                "name",
                "is empty; name the system or person",
            ));
        }
        if self.entries.iter().any(|e| e.name == name) {
            return Err(Error::AlreadyExists(format!(
                "a key named {name:?} exists; revoke it first or choose another name"
            )));
        }
        if roles.is_empty() {
            return Err(Error::invalid("role", "is empty; give at least one role"));
        }
        let token = new_token()?;
        let mut entries = self.entries.clone();
        entries.push(KeyEntry {
            name: name.to_string(),
            roles,
            sha256: hex::encode(token_hash(&token)),
            created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
        *self = Keys::new(entries)?;
        Ok(token)
    }

    /// Remove the key named `name`; false when there is none.
    pub fn revoke(&mut self, name: &str) -> Result<bool> {
        let before = self.entries.len();
        let entries: Vec<KeyEntry> = self
            .entries
            .iter()
            .filter(|e| e.name != name)
            .cloned()
            .collect();
        let removed = entries.len() != before;
        *self = Keys::new(entries)?;
        Ok(removed)
    }

    /// The key of a token, comparing against every key in constant time.
    pub fn authenticate(&self, token: &str) -> Option<&KeyEntry> {
        let h = token_hash(token);
        let mut found = None;
        for (i, stored) in self.hashes.iter().enumerate() {
            if bool::from(stored.ct_eq(&h)) {
                found = Some(i);
            }
        }
        found.map(|i| &self.entries[i])
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Write `bytes` to `path` through a private temporary file renamed over it (mode 0600).
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .and_then(|_| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(|e| Error::io(path, e))
}

/// Warn (in the log) when a secret file may be read by others than its owner.
pub fn warn_if_loose(path: &Path) {
    if let Some(mode) = loose_mode(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "secret file is readable by others than its owner; chmod 600 it"
        );
    }
}

/// The file's permission bits when group or others may access it.
pub fn loose_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (mode & 0o077 != 0).then_some(mode)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Who is calling: put in every request's extensions by [`AuthLayer`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The key's name; empty for anonymous callers (`auth = "none"`).
    pub name: String,
    /// The key's roles.
    pub roles: Vec<Role>,
}

impl Caller {
    /// The caller when keys are off: no name, every role.
    pub fn anonymous() -> Caller {
        Caller {
            name: String::new(),
            roles: Role::ALL.to_vec(),
        }
    }

    /// True when keys are off.
    pub fn is_anonymous(&self) -> bool {
        self.name.is_empty()
    }
}

/// The access policy of a running server.
#[derive(Debug, Clone)]
pub struct Access {
    mode: AuthMode,
    keys: Arc<Keys>,
}

impl Access {
    /// Keys off.
    pub fn open() -> Access {
        Access {
            mode: AuthMode::None,
            keys: Arc::new(Keys::default()),
        }
    }

    /// Keys on.
    pub fn with_keys(keys: Keys) -> Access {
        Access {
            mode: AuthMode::Keys,
            keys: Arc::new(keys),
        }
    }

    /// From the configuration: with keys, the keys file must hold at least one.
    pub fn from_config(mode: AuthMode, keys_file: &Path) -> Result<Access> {
        match mode {
            AuthMode::None => Ok(Access::open()),
            AuthMode::Keys => {
                let keys = Keys::load(keys_file)?;
                if keys.is_empty() {
                    return Err(Error::Config(format!(
                        "auth = \"keys\" but the keys file {} holds no keys; add one with `herken key new --name NAME --role ROLE`",
                        keys_file.display()
                    )));
                }
                Ok(Access::with_keys(keys))
            }
        }
    }

    /// The caller a token belongs to (the web login): `None` for an unknown token; with keys
    /// off, anonymous with every role.
    pub fn caller(&self, token: &str) -> Option<Caller> {
        if self.mode == AuthMode::None {
            return Some(Caller::anonymous());
        }
        self.keys.authenticate(token.trim()).map(|k| Caller {
            name: k.name.clone(),
            roles: k.roles.clone(),
        })
    }

    /// Whether keys are required.
    pub fn mode(&self) -> AuthMode {
        self.mode
    }

    /// Check a call to `path` with the given `authorization` header value.
    pub fn check(&self, path: &str, authorization: Option<&[u8]>) -> Result<Caller> {
        let role = required_role(path)?;
        if self.mode == AuthMode::None {
            return Ok(Caller::anonymous());
        }
        let Some(role) = role else {
            return Ok(Caller::anonymous());
        };
        let header = authorization.ok_or_else(|| {
            Error::Unauthenticated(
                "no API key: send the metadata `authorization: Bearer <token>`".into(),
            )
        })?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|h| {
                h.strip_prefix("Bearer ")
                    .or_else(|| h.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or_else(|| {
                Error::Unauthenticated("the authorization metadata is not `Bearer <token>`".into())
            })?;
        let key = self
            .keys
            .authenticate(token)
            .ok_or_else(|| Error::Unauthenticated("unknown API key".into()))?;
        if !key.roles.contains(&role) {
            return Err(Error::PermissionDenied(format!(
                "key {:?} lacks the role {role:?} that {path} needs",
                key.name,
                role = role.as_str()
            )));
        }
        Ok(Caller {
            name: key.name.clone(),
            roles: key.roles.clone(),
        })
    }
}

/// A tower layer that checks every call with [`Access::check`] and puts the [`Caller`] in the
/// request's extensions (where the services read it through `tonic::Request::extensions`).
#[derive(Debug, Clone)]
pub struct AuthLayer {
    access: Access,
}

impl AuthLayer {
    /// The layer for a policy.
    pub fn new(access: Access) -> AuthLayer {
        AuthLayer { access }
    }
}

impl<S> tower_layer::Layer<S> for AuthLayer {
    type Service = AuthService<S>;
    fn layer(&self, inner: S) -> AuthService<S> {
        AuthService {
            inner,
            access: self.access.clone(),
        }
    }
}

/// The service of [`AuthLayer`].
#[derive(Debug, Clone)]
pub struct AuthService<S> {
    inner: S,
    access: Access,
}

type BoxFuture<T, E> =
    std::pin::Pin<Box<dyn std::future::Future<Output = std::result::Result<T, E>> + Send>>;

impl<S, B> tower_service::Service<http::Request<B>> for AuthService<S>
where
    S: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::BoxBody>>
        + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::BoxBody>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let checked = self.access.check(
            req.uri().path(),
            req.headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.as_bytes()),
        );
        match checked {
            Ok(caller) => {
                req.extensions_mut().insert(caller);
                Box::pin(self.inner.call(req))
            }
            Err(e) => {
                tracing::info!(path = req.uri().path(), error = %e, "call refused");
                let status = crate::service::status(e);
                Box::pin(async move { Ok(status.into_http()) })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> (Keys, String, String) {
        let mut k = Keys::default();
        let a = k.add("gateway", vec![Role::Classify]).unwrap();
        let b = k.add("clerk", vec![Role::Intake, Role::Correct]).unwrap();
        (k, a, b)
    }

    #[test]
    fn tokens_are_long_random_and_only_their_hash_is_kept() {
        let (k, a, b) = keys();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 3 + 64);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("keys.toml");
        k.save(&p).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(!text.contains(&a[3..]) && !text.contains(&b[3..]));
        assert!(text.contains(&hex::encode(token_hash(&a))));
        assert_eq!(loose_mode(&p), None, "the keys file is private");
        let back = Keys::load(&p).unwrap();
        assert_eq!(back.authenticate(&a).unwrap().name, "gateway");
    }

    #[test]
    fn every_outcome_of_a_check() {
        let (k, a, b) = keys();
        let access = Access::with_keys(k);
        let bearer = |t: &str| format!("Bearer {t}");
        let classify = "/herken.v1.Classifier/Classify";
        assert!(matches!(
            access.check(classify, None),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            access.check(classify, Some(b"Basic abc")),
            Err(Error::Unauthenticated(_))
        ));
        assert!(matches!(
            access.check(classify, Some(bearer("hk_wrong").as_bytes())),
            Err(Error::Unauthenticated(_))
        ));
        assert_eq!(
            access
                .check(classify, Some(bearer(&a).as_bytes()))
                .unwrap()
                .name,
            "gateway"
        );
        assert!(matches!(
            access.check(classify, Some(bearer(&b).as_bytes())),
            Err(Error::PermissionDenied(_))
        ));
        assert!(access
            .check("/herken.v1.Intake/Correct", Some(bearer(&b).as_bytes()))
            .is_ok());
        assert!(matches!(
            access.check("/herken.v1.Admin/Purge", Some(bearer(&b).as_bytes())),
            Err(Error::PermissionDenied(_))
        ));
        // Health and reflection are open; an unknown method of ours is refused to everyone.
        assert!(access.check("/grpc.health.v1.Health/Check", None).is_ok());
        assert!(access
            .check(
                "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                None
            )
            .is_ok());
        assert!(matches!(
            Access::open().check("/herken.v1.Secret/Everything", None),
            Err(Error::PermissionDenied(_))
        ));
    }

    #[test]
    fn names_and_roles_are_checked() {
        let (mut k, _, _) = keys();
        assert!(matches!(
            k.add("gateway", vec![Role::Admin]),
            Err(Error::AlreadyExists(_))
        ));
        assert!(k.add("x", vec![]).is_err());
        assert!("boss".parse::<Role>().is_err());
        assert!(k.revoke("gateway").unwrap());
        assert!(!k.revoke("gateway").unwrap());
        assert_eq!(k.entries().len(), 1);
    }
}
