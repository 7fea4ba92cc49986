//! The `herken.v1.Classifier` service.

use std::pin::Pin;
use std::sync::Arc;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::error::Error;
use crate::pb;
use crate::pb::classifier_server::Classifier;
use crate::recognizer::Recognizer;
use crate::service::{convert, status};

/// Serves Classify, ClassifyBatch and ClassifyStream.
#[derive(Debug, Clone)]
pub struct ClassifierService {
    recognizer: Arc<Recognizer>,
    max_batch: usize,
}

impl ClassifierService {
    /// A service over a shared recognizer.
    pub fn new(recognizer: Arc<Recognizer>, max_batch: usize) -> ClassifierService {
        ClassifierService {
            recognizer,
            max_batch,
        }
    }
}

/// Convert, validate and classify one request. Runs on a blocking thread.
fn classify_one(
    recognizer: &Recognizer,
    req: pb::ClassifyRequest,
    field: &str,
) -> Result<pb::ClassifyResponse, Error> {
    let (message, decoded) = convert::message_from_pb(req.message, &format!("{field}.message"))?;
    recognizer.validate(&message, &format!("{field}.message"))?;
    let outcome = recognizer.classify(&message)?;
    Ok(convert::response_to_pb(outcome, decoded, false))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Status> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Status::internal(format!("classification task failed: {e}")))?
        .map_err(status)
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::ClassifyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Classifier for ClassifierService {
    async fn classify(
        &self,
        request: Request<pb::ClassifyRequest>,
    ) -> Result<Response<pb::ClassifyResponse>, Status> {
        let r = self.recognizer.clone();
        let req = request.into_inner();
        let resp = blocking(move || classify_one(&r, req, "request")).await?;
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
        let r = self.recognizer.clone();
        let responses = blocking(move || {
            requests
                .into_iter()
                .enumerate()
                .map(|(i, req)| classify_one(&r, req, &format!("requests[{i}]")))
                .collect::<Result<Vec<_>, Error>>()
        })
        .await?;
        tracing::debug!(count = responses.len(), "classified batch");
        Ok(Response::new(pb::ClassifyBatchResponse { responses }))
    }

    type ClassifyStreamStream = ResponseStream;

    async fn classify_stream(
        &self,
        request: Request<Streaming<pb::ClassifyRequest>>,
    ) -> Result<Response<Self::ClassifyStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let r = self.recognizer.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(32);
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Some(item) = inbound.next().await {
                let result = match item {
                    Ok(req) => {
                        let r = r.clone();
                        let field = format!("stream[{n}]");
                        blocking(move || classify_one(&r, req, &field)).await
                    }
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
