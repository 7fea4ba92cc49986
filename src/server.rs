//! The server: builds the recognizer from the configuration, registers the Classifier, Intake
//! and Admin services, the standard health service and reflection (v1 and v1alpha) behind the
//! access check (`auth`), optionally over TLS, and serves on a bound listener until
//! `shutdown` completes. Requests in flight when shutdown starts are finished first.
//!
//! Before anything is served it refuses an exposed address without TLS and keys
//! ([`check_exposure`]) and a store with history but no sender-key secret.
//!
//! Taking a bound listener (not an address) lets tests bind `127.0.0.1:0` and know the port
//! before anything is served, with no sleeps.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use tonic::transport::{Certificate, Identity, ServerTlsConfig};

use crate::admission::Admission;
use crate::auth::{Access, AuthLayer};
use crate::config::{AccessConfig, AuthMode, Config};
use crate::error::{Error, Result};
use crate::pb;
use crate::recognizer::{ModelStatus, Recognizer};
use crate::service::{AdminService, ClassifierService, IntakeService};

/// Health service name that reports whether the full model (encoder included) is loaded.
pub const MODEL_HEALTH_SERVICE: &str = "herken.model";

/// Serve until `shutdown` completes, with the admission pool the configuration asks for.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let admission = Admission::new(config.admission.threads, config.admission.queue);
    run_with(listener, config, admission, shutdown).await
}

/// Refuse to serve on a non-loopback address without TLS and keys, unless `allow_insecure`.
pub fn check_exposure(addr: std::net::SocketAddr, access: &AccessConfig) -> Result<()> {
    if addr.ip().is_loopback() || access.allow_insecure {
        return Ok(());
    }
    let mut missing = Vec::new();
    if access.tls.is_none() {
        missing.push("TLS (tls_cert and tls_key)");
    }
    if access.auth != AuthMode::Keys {
        missing.push("API keys (auth = \"keys\")");
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "refusing to serve on {addr}, which is not a loopback address, without {}: anyone who reaches the port could read and change citizens' messages. Configure them, or set allow_insecure = true (HERKEN_ALLOW_INSECURE) when a trusted proxy in front does both",
        missing.join(" and ")
    )))
}

/// The TLS configuration from PEM files.
fn tls_config(files: &crate::config::TlsFiles) -> Result<ServerTlsConfig> {
    let read = |p: &std::path::Path| std::fs::read(p).map_err(|e| Error::io(p, e));
    crate::auth::warn_if_loose(&files.key);
    let mut tls =
        ServerTlsConfig::new().identity(Identity::from_pem(read(&files.cert)?, read(&files.key)?));
    if let Some(ca) = &files.client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
    }
    Ok(tls)
}

/// Serve until `shutdown` completes, with a given admission pool (tests hold its tickets to
/// saturate it).
pub async fn run_with(
    listener: TcpListener,
    config: Config,
    admission: Admission,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    run_full(listener, None, config, admission, shutdown).await
}

/// Serve gRPC on `listener` and, when given, the web pages on `web` (see `crate::web`) until
/// `shutdown` completes; both finish what is in flight.
pub async fn run_full(
    listener: TcpListener,
    web: Option<TcpListener>,
    config: Config,
    admission: Admission,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    if let Some(w) = &web {
        let addr = w.local_addr().map_err(|e| Error::io("web listener", e))?;
        crate::web::check_exposure(addr, &config.access)?;
    }
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    check_exposure(addr, &config.access)?;
    let access = Access::from_config(config.access.auth, &config.access.keys_file)?;
    let tls = config.access.tls.as_ref().map(tls_config).transpose()?;
    let recognizer = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Recognizer::from_config(&config))
            .await
            .map_err(|e| Error::Internal(format!("start-up task failed: {e}")))??
    };
    let recognizer = Arc::new(recognizer);
    let store = crate::store::Store::open(&config.store).await?;
    tracing::info!(store = %crate::store::describe(&config.store), "store open");
    let secret =
        crate::store::secret::load_for_store(&config.secret_file, store.history_rows().await?)?;
    let secret = Arc::new(secret);
    let limits = config.limits();
    let intake = crate::intake::Intake::new(Arc::new(store.clone()), recognizer.router().clone())
        .with_limits(limits.max_pull_items, limits.max_lease_seconds);
    let engine = crate::engine::Engine::new(
        recognizer.clone(),
        Arc::new(store.clone()),
        secret.as_ref().clone(),
        config.repeat.clone(),
    )
    .with_intake(intake.clone())
    .with_admission(admission.clone());
    let purge = tokio::spawn(expire_old(store.clone(), config.retentions));
    match recognizer.status() {
        ModelStatus::Ready => {
            tracing::info!(
                model = recognizer.pipeline().model_id(),
                encoder_runtime = %config.encoder_runtime,
                "model loaded"
            )
        }
        ModelStatus::Degraded(why) => tracing::warn!(
            reason = %why,
            "DEGRADED: classifying with less than the full model; every response's model field and health service herken.model say so"
        ),
    }

    let (mut health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<pb::classifier_server::ClassifierServer<ClassifierService>>()
        .await;
    health
        .set_serving::<pb::intake_server::IntakeServer<IntakeService>>()
        .await;
    // "herken.model": SERVING with the full model, NOT_SERVING when degraded, so monitoring
    // sees a service that answers but with less than it should.
    let model_status = match recognizer.status() {
        ModelStatus::Ready => tonic_health::ServingStatus::Serving,
        ModelStatus::Degraded(_) => tonic_health::ServingStatus::NotServing,
    };
    health
        .set_service_status(MODEL_HEALTH_SERVICE, model_status)
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection()
        .build_v1()
        .map_err(|e| Error::Internal(format!("reflection: {e}")))?;
    let reflection_v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| Error::Internal(format!("reflection: {e}")))?;

    let engine_for_web = engine.clone();
    let admission_for_web = admission.clone();
    let classifier =
        ClassifierService::new(engine, limits.clone(), admission, Some(intake.clone()));
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        client_certificates = config.access.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
        keys = access.mode() == AuthMode::Keys,
        recognition_threads = config.admission.threads,
        recognition_queue = config.admission.queue,
        "serving herken.v1.Classifier, herken.v1.Intake, herken.v1.Admin, grpc.health.v1.Health and reflection (v1, v1alpha)"
    );
    // Replies are small: without TCP_NODELAY, Nagle's algorithm meeting the client's delayed
    // ACK holds each unary reply back about 40 ms (measured with `herken load`).
    let incoming = tokio_stream::StreamExt::map(TcpListenerStream::new(listener), |conn| {
        if let Ok(stream) = &conn {
            if let Err(e) = stream.set_nodelay(true) {
                tracing::warn!(error = %e, "could not set TCP_NODELAY on a connection");
            }
        }
        conn
    });
    // One shutdown for both servers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    let web_task = web.map(|w| {
        let state = crate::web::WebState::new(
            engine_for_web.clone(),
            store.clone(),
            access.clone(),
            &config,
        )
        .with_admission(admission_for_web.clone())
        .with_secure_cookies(w.local_addr().is_ok_and(|a| !a.ip().is_loopback()));
        let mut stop = stop_rx.clone();
        tokio::spawn(crate::web::serve(
            w,
            state,
            limits.max_text_chars,
            async move {
                let _ = stop.wait_for(|s| *s).await;
            },
        ))
    });
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| Error::Transport(format!("TLS: {e}")))?;
    }
    builder
        .layer(AuthLayer::new(access))
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            pb::classifier_server::ClassifierServer::new(classifier)
                .max_decoding_message_size(limits.max_request_bytes),
        )
        .add_service(
            pb::intake_server::IntakeServer::new(IntakeService::new(intake, limits.clone()))
                .max_decoding_message_size(SMALL_REQUEST_BYTES),
        )
        .add_service(
            pb::admin_server::AdminServer::new(AdminService::new(store.clone(), secret, limits))
                .max_decoding_message_size(SMALL_REQUEST_BYTES),
        )
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| Error::Transport(format!("server: {e}")))?;
    if let Some(t) = web_task {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "the web server stopped with an error"),
            Err(e) => tracing::warn!(error = %e, "the web server task failed"),
        }
    }
    purge.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Decode limit of the Intake and Admin services: their largest request (an Ack of 1000 ids
/// of 200 characters, a correction note) is far below it.
pub const SMALL_REQUEST_BYTES: usize = 1 << 20;

/// Remove what is older than its retention (see `store::lifecycle`), at start and hourly.
async fn expire_old(store: crate::store::Store, retention: crate::config::Retention) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store.expire(&retention, chrono::Utc::now()).await {
            Ok(e) if e.is_empty() => {}
            Ok(e) => tracing::info!(
                history = e.history,
                acked_items = e.acked_items,
                waiting_items = e.waiting_items,
                corrections = e.corrections,
                audit = e.audit,
                "data older than its retention removed"
            ),
            Err(e) => {
                tracing::warn!(error = %e, "removing data past its retention failed; will retry")
            }
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
