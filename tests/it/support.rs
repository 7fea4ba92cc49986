//! Helpers: a server on 127.0.0.1:0, the shared recognizer, messages.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

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

/// The configuration tests run with: defaults, the committed model.
pub fn config() -> Config {
    Config {
        model_dir: root().join("models"),
        require_model: true,
        ..Config::default()
    }
}

/// One recognizer for all tests of this binary.
pub fn recognizer() -> &'static Recognizer {
    static R: OnceLock<Recognizer> = OnceLock::new();
    R.get_or_init(|| Recognizer::from_config(&config()).expect("the committed model loads"))
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(herken::server::run(listener, config, async {
            let _ = rx.await;
        }));
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
