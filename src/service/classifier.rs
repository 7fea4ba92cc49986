//! The `herken.v1.Classifier` service.

use std::pin::Pin;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::domain::Message;
use crate::engine::Engine;
use crate::error::Error;
use crate::pb;
use crate::pb::classifier_server::Classifier;
use crate::service::{convert, status};

/// Serves Classify, ClassifyBatch and ClassifyStream.
#[derive(Debug, Clone)]
pub struct ClassifierService {
    engine: Engine,
    max_batch: usize,
}

impl ClassifierService {
    /// A service over a shared engine.
    pub fn new(engine: Engine, max_batch: usize) -> ClassifierService {
        ClassifierService { engine, max_batch }
    }
}

/// A converted and validated request, ready to classify.
struct Checked {
    message: Message,
    decoded: Option<String>,
    route: bool,
}

/// Convert and validate one request; `field` names it in errors.
fn check(engine: &Engine, req: pb::ClassifyRequest, field: &str) -> Result<Checked, Error> {
    let field = format!("{field}.message");
    let route = req.route;
    let (message, decoded) = convert::message_from_pb(req.message, &field)?;
    engine.recognizer().validate(&message, &field)?;
    Ok(Checked {
        message,
        decoded,
        route,
    })
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
        let checked = check(&self.engine, request.into_inner(), "request").map_err(status)?;
        let resp = classify_checked(&self.engine, checked)
            .await
            .map_err(status)?;
        tracing::debug!(label = resp.label, cues = resp.cues.len(), "classified");
        Ok(Response::new(resp))
    }

    async fn classify_batch(
        &self,
        request: Request<pb::ClassifyBatchRequest>,
    ) -> Result<Response<pb::ClassifyBatchResponse>, Status> {
        let requests = request.into_inner().requests;
        if requests.len() > self.max_batch {
            return Err(status(Error::invalid(
                "requests",
                format!(
                    "has {} items, more than the limit of {} (max_batch)",
                    requests.len(),
                    self.max_batch
                ),
            )));
        }
        // Every request is checked before any is classified and remembered: a bad item
        // rejects the batch and leaves no trace.
        let checked = requests
            .into_iter()
            .enumerate()
            .map(|(i, req)| check(&self.engine, req, &format!("requests[{i}]")))
            .collect::<Result<Vec<_>, Error>>()
            .map_err(status)?;
        let mut responses = Vec::with_capacity(checked.len());
        for c in checked {
            responses.push(classify_checked(&self.engine, c).await.map_err(status)?);
        }
        tracing::debug!(count = responses.len(), "classified batch");
        Ok(Response::new(pb::ClassifyBatchResponse { responses }))
    }

    type ClassifyStreamStream = ResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let engine = self.engine.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(item) = inbound.next().await {
                let result = match item {
                    Ok(req) => match check(&engine, req, &format!("stream[{n}]")) {
                        Ok(c) => classify_checked(&engine, c).await.map_err(status),
                        Err(e) => Err(status(e)),
                    },
                    Err(e) => Err(e),
                };
                let failed = result.is_err();
                if tx.send(result).await.is_err() || failed {
                    // The client went away, or an item was invalid: the stream ends here,
                    // after every earlier item was answered.
                    break;
                }
                n += 1;
            }
        });
        let out = tokio_stream::wrappers::ReceiverStream::new(rx);
        Ok(Response::new(Box::pin(out)))
    }
}
