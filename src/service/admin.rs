//! The `herken.v1.Admin` service: erasure (AVG). Every method needs the `admin` role.

use chrono::Utc;
use std::sync::Arc;
use tonic::{Request, Response, Status};

use crate::config::Limits;
use crate::error::Error;
use crate::pb;
use crate::service::{caller, check_len, status};
use crate::store::{Erase, Store};

/// Serves Purge.
#[derive(Debug, Clone)]
pub struct AdminService {
    store: Store,
    secret: Arc<Vec<u8>>,
    limits: Limits,
}

impl AdminService {
    /// A service over the store; `secret` keys the sender hashes, as the engine's does.
    pub fn new(store: Store, secret: Arc<Vec<u8>>, limits: Limits) -> AdminService {
        AdminService {
            store,
            secret,
            limits,
        }
    }
}

#[tonic::async_trait]
impl pb::admin_server::Admin for AdminService {
    async fn purge(
        &self,
        request: Request<pb::PurgeRequest>,
    ) -> Result<Response<pb::PurgeResponse>, Status> {
        let who = caller(&request);
        let what = match request.into_inner().target {
            Some(pb::purge_request::Target::Sender(s)) => {
                check_len(
                    "sender",
                    &s,
                    self.limits.max_sender_chars,
                    "max_sender_chars",
                )
                .map_err(status)?;
                Erase::Sender(s)
            }
            Some(pb::purge_request::Target::MessageId(id)) => {
                check_len("message_id", &id, self.limits.max_id_chars, "max_id_chars")
                    .map_err(status)?;
                Erase::MessageId(id)
            }
            None => {
                return Err(status(Error::invalid(
                    "target",
                    "is missing; give a sender or a message_id",
                )))
            }
        };
        let actor = if who.is_anonymous() {
            "Admin.Purge".to_string()
        } else {
            who.name
        };
        let erased = self
            .store
            .erase(&what, &self.secret, &actor, Utc::now())
            .await
            .map_err(status)?;
        tracing::info!(
            messages = erased.message_ids.len(),
            history = erased.history,
            queue_items = erased.queue_items,
            corrections = erased.corrections,
            "erased"
        );
        Ok(Response::new(pb::PurgeResponse {
            history: erased.history,
            queue_items: erased.queue_items,
            corrections: erased.corrections,
            message_ids: erased.message_ids,
        }))
    }
}
