//! Helpers: a server on 127.0.0.1:0, the shared recognizer, messages.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use herken::config::Config;
use herken::recognizer::Recognizer;
use tokio::sync::oneshot;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the repository (the evaluation sets).
pub fn shared() -> PathBuf {
    root().join("..").join("shared")
}

/// The configuration tests run with: defaults, the committed model, a private in-memory
/// store and a throw-away secret file.
pub fn config() -> Config {
    let secret = std::env::temp_dir().join(format!("herken-test-{}.key", std::process::id()));
    Config {
        model_dir: root().join("models"),
        require_model: true,
        store: herken::store::Location::SqliteMemory,
        secret_file: secret,
        ..Config::default()
    }
}

fn shared_recognizer() -> &'static Arc<Recognizer> {
    static R: OnceLock<Arc<Recognizer>> = OnceLock::new();
    R.get_or_init(|| {
        Arc::new(Recognizer::from_config(&config()).expect("the committed model loads"))
    })
}

/// One recognizer for all tests of this binary.
pub fn recognizer() -> &'static Recognizer {
    shared_recognizer()
}

/// The shared recognizer, for engines.
pub fn recognizer_arc() -> Arc<Recognizer> {
    shared_recognizer().clone()
}

/// A PostgreSQL database of one test's own, created on the server at
/// HERKEN_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test).
pub struct PgDatabase {
    pub url: String,
    admin: String,
    name: String,
}

impl PgDatabase {
    pub async fn create() -> PgDatabase {
        use sqlx::Connection;
        let admin = std::env::var("HERKEN_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("herken_t_{}", uuid::Uuid::new_v4().simple());
        let mut c = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL for tests at {admin} is not reachable ({e}); start it or set HERKEN_TEST_DATABASE_URL")
        });
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .unwrap();
        c.close().await.unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        PgDatabase {
            url: format!("{base}/{name}"),
            admin,
            name,
        }
    }

    pub async fn drop(self) {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&self.admin).await.unwrap();
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut c)
        .await
        .unwrap();
        c.close().await.unwrap();
    }
}

/// A running server; dropping it does not stop it, `stop` does (and waits).
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<herken::Result<()>>,
}

impl TestServer {
    /// Serve `config` on 127.0.0.1:0.
    pub async fn start(config: Config) -> TestServer {
        let admission =
            herken::admission::Admission::new(config.admission.threads, config.admission.queue);
        TestServer::start_with(config, admission).await
    }

    /// Serve `config` on 127.0.0.1:0 with a given admission pool.
    pub async fn start_with(config: Config, admission: herken::admission::Admission) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(herken::server::run_with(
            listener,
            config,
            admission,
            async {
                let _ = rx.await;
            },
        ));
        TestServer {
            addr,
            stop: Some(tx),
            handle,
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Wait for the server's own end (a refusal to start).
    pub async fn outcome(self) -> herken::Result<()> {
        self.handle.await.unwrap()
    }

    /// Ask for shutdown and wait until the server has stopped.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.handle.await.unwrap().unwrap();
    }
}

/// A connected channel, retrying while the server builds its recognizer.
pub async fn channel(url: &str) -> tonic::transport::Channel {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_string()).unwrap();
    for _ in 0..200 {
        if let Ok(c) = endpoint.connect().await {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("server at {url} did not accept connections");
}

/// A request with the API key `token` in its metadata.
pub fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(message);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}
