//! The `herken.v1.Classifier` service.
//!
//! Every call takes a ticket from the admission pool first (refused at once when full), and
//! runs under its `grpc-timeout` deadline: see `crate::admission`. Raw e-mails are decoded and
//! messages recognised on the pool's threads, never on the async ones.

use std::pin::Pin;
use std::time::Instant;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::admission::{grpc_deadline, with_deadline, Admission};
use crate::config::Limits;
use crate::domain::Message;
use crate::engine::Engine;
use crate::error::Error;
use crate::intake::Intake;
use crate::pb;
use crate::pb::classifier_server::Classifier;
use crate::service::{convert, status};

/// Serves Classify, ClassifyBatch and ClassifyStream.
#[derive(Debug, Clone)]
pub struct ClassifierService {
    engine: Engine,
    limits: Limits,
    admission: Admission,
    intake: Option<Intake>,
}

impl ClassifierService {
    /// A service over a shared engine; `intake` (the engine's queues) lets a reused
    /// `message_id` be refused before any recognition work.
    pub fn new(
        engine: Engine,
        limits: Limits,
        admission: Admission,
        intake: Option<Intake>,
    ) -> ClassifierService {
        ClassifierService {
            engine,
            limits,
            admission,
            intake,
        }
    }

    /// Convert and validate one request; `field` names it in errors.
    async fn check(&self, req: pb::ClassifyRequest, field: &str) -> Result<Checked, Error> {
        let field = format!("{field}.message");
        let route = req.route;
        let incoming = convert::message_from_pb(req.message, &field, &self.limits)?;
        let (message, decoded) = if incoming.raw_email.is_some() {
            let (limits, f) = (self.limits.clone(), field.clone());
            self.admission
                .run(move || convert::decode_email(incoming, &f, &limits))
                .await??
        } else {
            convert::decode_email(incoming, &field, &self.limits)?
        };
        self.engine.recognizer().validate(&message, &field)?;
        if route {
            if let Some(intake) = &self.intake {
                intake.check_reuse(&message).await?;
            }
        }
        Ok(Checked {
            message,
            decoded,
            route,
        })
    }
}

/// A converted and validated request, ready to classify.
struct Checked {
    message: Message,
    decoded: Option<String>,
    route: bool,
}

/// Classify, remember and (with `route`) queue one checked request.
async fn classify_checked(engine: &Engine, c: Checked) -> Result<pb::ClassifyResponse, Error> {
    let (outcome, routed) = engine.classify_and_route(c.message, c.route).await?;
    Ok(convert::response_to_pb(outcome, c.decoded, routed))
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::ClassifyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Classifier for ClassifierService {
    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let deadline = grpc_deadline(request.metadata(), Instant::now());
        let _ticket = self.admission.admit().map_err(status)?;
        let resp = with_deadline(deadline, async {
            let checked = self.check(request.into_inner(), "request").await?;
            classify_checked(&self.engine, checked).await
        })
        .await
        .map_err(status)?;
        tracing::debug!(label = resp.label, cues = resp.cues.len(), "classified");
        Ok(Response::new(resp))
    }

    async fn classify_batch(
        &self,
        request: Request<pb::ClassifyBatchRequest>,
    ) -> Result<Response<pb::ClassifyBatchResponse>, Status> {
        let deadline = grpc_deadline(request.metadata(), Instant::now());
        let requests = request.into_inner().requests;
        if requests.len() > self.limits.max_batch {
            return Err(status(Error::too_long(
                "requests",
                requests.len(),
                "items",
                self.limits.max_batch,
                "max_batch",
            )));
        }
        let _ticket = self.admission.admit().map_err(status)?;
        let responses = with_deadline(deadline, async {
            // Every request is checked before any is classified and remembered: a bad item
            // rejects the batch and leaves no trace.
            let mut checked = Vec::with_capacity(requests.len());
            for (i, req) in requests.into_iter().enumerate() {
                checked.push(self.check(req, &format!("requests[{i}]")).await?);
            }
            let mut responses = Vec::with_capacity(checked.len());
            for c in checked {
                responses.push(classify_checked(&self.engine, c).await?);
            }
            Ok::<_, Error>(responses)
        })
        .await
        .map_err(status)?;
        tracing::debug!(count = responses.len(), "classified batch");
        Ok(Response::new(pb::ClassifyBatchResponse { responses }))
    }

    type ClassifyStreamStream = ResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let deadline = grpc_deadline(request.metadata(), Instant::now());
        let mut inbound = request.into_inner();
        let service = self.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        tokio::spawn(async move {
            let limits = &service.limits;
            let mut n = 0usize;
            loop {
                let item = match tokio::time::timeout(limits.stream_idle, inbound.next()).await {
                    Ok(Some(item)) => item,
                    Ok(None) => break,
                    Err(_) => {
                        let _ = tx
                            .send(Err(Status::deadline_exceeded(format!(
                                "no message for {} s (stream_idle_seconds): the stream is ended",
                                limits.stream_idle.as_secs()
                            ))))
                            .await;
                        break;
                    }
                };
                let result = if n >= limits.max_stream_items {
                    Err(status(Error::invalid(
                        "stream",
                        format!(
                            "has more than the limit of {} messages (max_stream_items); open a new stream",
                            limits.max_stream_items
                        ),
                    )))
                } else {
                    match item {
                        Ok(req) => {
                            let field = format!("stream[{n}]");
                            let work = async {
                                let _ticket = service.admission.admit()?;
                                let c = service.check(req, &field).await?;
                                classify_checked(&service.engine, c).await
                            };
                            with_deadline(deadline, work).await.map_err(status)
                        }
                        Err(e) => Err(e),
                    }
                };
                let failed = result.is_err();
                if tx.send(result).await.is_err() || failed {
                    // The client went away, or an item failed: the stream ends here, after
                    // every earlier item was answered.
                    break;
                }
                n += 1;
            }
        });
        let out = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(out)))
    }
}
