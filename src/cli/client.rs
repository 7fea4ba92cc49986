//! How the client commands (`herken queue`, `herken load`, `herken admin`) reach a server:
//! its URL, an API key, and TLS (a CA to trust, a client certificate for mTLS).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Connection options shared by the client commands.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server (http://… or https://…). Env: HERKEN_SERVER.
    #[arg(long, env = "HERKEN_SERVER", default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// API key (from `herken key new`), sent as `authorization: Bearer <token>`.
    /// Env: HERKEN_TOKEN (preferred: a flag shows in the process list).
    #[arg(long, env = "HERKEN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// PEM CA certificate to trust for an https:// server (default: the system's roots are
    /// not used; give the CA that signed the server's certificate). Env: HERKEN_CA_CERT.
    #[arg(long, env = "HERKEN_CA_CERT")]
    pub ca_cert: Option<PathBuf>,
    /// PEM client certificate, for a server that asks for one (mTLS). Env: HERKEN_CLIENT_CERT.
    #[arg(long, env = "HERKEN_CLIENT_CERT", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate. Env: HERKEN_CLIENT_KEY.
    #[arg(long, env = "HERKEN_CLIENT_KEY", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
}

/// Adds the API key to every call.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl tonic::service::Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

/// A channel with the API key attached.
pub type Authed = InterceptedService<Channel, Bearer>;

impl ClientArgs {
    /// Connect, with TLS when configured.
    pub async fn connect(&self) -> anyhow::Result<Authed> {
        let mut endpoint = Endpoint::from_shared(self.server.clone())
            .with_context(|| format!("{:?} is not a server URL", self.server))?;
        if self.server.starts_with("https://") || self.ca_cert.is_some() {
            let mut tls = ClientTlsConfig::new();
            if let Some(ca) = &self.ca_cert {
                let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            if let (Some(c), Some(k)) = (&self.client_cert, &self.client_key) {
                let cert = std::fs::read(c).with_context(|| format!("reading {}", c.display()))?;
                let key = std::fs::read(k).with_context(|| format!("reading {}", k.display()))?;
                tls = tls.identity(Identity::from_pem(cert, key));
            }
            endpoint = endpoint.tls_config(tls).context("TLS configuration")?;
        }
        let channel = endpoint.connect().await.with_context(|| {
            format!("connecting to {} (is `herken serve` running?)", self.server)
        })?;
        let bearer = match &self.token {
            Some(t) => Some(
                format!("Bearer {}", t.trim())
                    .parse()
                    .context("the token has characters a header cannot carry")?,
            ),
            None => None,
        };
        Ok(InterceptedService::new(channel, Bearer(bearer)))
    }
}

/// A gRPC error for a person.
pub fn status(e: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{:?}: {}", e.code(), e.message())
}
