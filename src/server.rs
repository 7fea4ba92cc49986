//! The server: builds the recognizer from the configuration, registers the Classifier, the
//! standard health service and reflection, and serves on a bound listener until `shutdown`
//! completes. Requests in flight when shutdown starts are finished first.
//!
//! Taking a bound listener (not an address) lets tests bind `127.0.0.1:0` and know the port
//! before anything is served, with no sleeps.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::pb;
use crate::recognizer::{ModelStatus, Recognizer};
use crate::service::{ClassifierService, IntakeService};

/// Health service name that reports whether the full model (encoder included) is loaded.
pub const MODEL_HEALTH_SERVICE: &str = "herken.model";

/// Serve until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let recognizer = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || Recognizer::from_config(&config))
            .await
            .map_err(|e| Error::Config(format!("start-up task failed: {e}")))??
    };
    let recognizer = Arc::new(recognizer);
    let store = crate::store::Store::open(&config.store).await?;
    tracing::info!(store = %crate::store::describe(&config.store), "store open");
    let secret = crate::store::secret::load_or_create(&config.secret_file)?;
    let intake = crate::intake::Intake::new(Arc::new(store.clone()), recognizer.router().clone());
    let engine = crate::engine::Engine::new(
        recognizer.clone(),
        Arc::new(store.clone()),
        secret,
        config.repeat.clone(),
        config.decide.min_confidence,
    )
    .with_intake(intake.clone());
    let purge = tokio::spawn(purge_old(store.clone(), config.retention));
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
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::Config(format!("reflection: {e}")))?;

    let classifier = ClassifierService::new(engine, config.max_batch);
    let addr = listener
        .local_addr()
        .map_err(|e| Error::io("listener", e))?;
    tracing::info!(%addr, "serving herken.v1.Classifier, herken.v1.Intake, grpc.health.v1.Health and reflection");
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
    tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection)
        .add_service(
            pb::classifier_server::ClassifierServer::new(classifier)
                .max_decoding_message_size(64 << 20),
        )
        .add_service(pb::intake_server::IntakeServer::new(IntakeService::new(
            intake,
        )))
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| Error::Config(format!("server: {e}")))?;
    purge.abort();
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Forget repeat history and acked items older than the retention, at start and hourly.
async fn purge_old(store: crate::store::Store, retention: chrono::Duration) {
    use crate::intake::QueueStore;
    use crate::repeat::HistoryStore;
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let before = chrono::Utc::now() - retention;
        match store.purge(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "repeat history older than the retention purged"),
            Err(e) => tracing::warn!(error = %e, "purging repeat history failed; will retry"),
        }
        match store.purge_acked(before).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "acked items older than the retention purged"),
            Err(e) => tracing::warn!(error = %e, "purging acked items failed; will retry"),
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
