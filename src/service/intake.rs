//! The `herken.v1.Intake` service: queues for people.

use chrono::Utc;
use tonic::{Request, Response, Status};

use crate::config::Limits;
use crate::error::Error;
use crate::intake::Intake;
use crate::pb;
use crate::service::{caller, check_len, convert, status};

/// Serves ListQueues, Pull, Ack, Release and Correct. Leases are taken and settled in the
/// caller's name (its API key's), and corrections are recorded under it.
#[derive(Debug, Clone)]
pub struct IntakeService {
    intake: Intake,
    limits: Limits,
}

impl IntakeService {
    /// A service over the intake desk.
    pub fn new(intake: Intake, limits: Limits) -> IntakeService {
        IntakeService { intake, limits }
    }
}

#[tonic::async_trait]
impl pb::intake_server::Intake for IntakeService {
    async fn list_queues(
        &self,
        _request: Request<pb::ListQueuesRequest>,
    ) -> Result<Response<pb::ListQueuesResponse>, Status> {
        let queues = self
            .intake
            .list(Utc::now())
            .await
            .map_err(status)?
            .into_iter()
            .map(|(s, description)| pb::QueueInfo {
                name: s.name,
                depth: s.depth,
                oldest_age_seconds: s.oldest_age_seconds,
                past_due: s.past_due,
                leased: s.leased,
                description,
            })
            .collect();
        Ok(Response::new(pb::ListQueuesResponse { queues }))
    }

    async fn pull(
        &self,
        request: Request<pb::PullRequest>,
    ) -> Result<Response<pb::PullResponse>, Status> {
        let holder = caller(&request).name;
        let r = request.into_inner();
        check_len("queue", &r.queue, self.limits.max_id_chars, "max_id_chars").map_err(status)?;
        let items = self
            .intake
            .pull(&r.queue, r.max_items, r.lease_seconds, Utc::now(), &holder)
            .await
            .map_err(status)?;
        tracing::debug!(queue = %r.queue, items = items.len(), "pulled");
        Ok(Response::new(pb::PullResponse {
            items: items.into_iter().map(convert::item_to_pb).collect(),
        }))
    }

    async fn ack(
        &self,
        request: Request<pb::AckRequest>,
    ) -> Result<Response<pb::AckResponse>, Status> {
        let holder = caller(&request).name;
        let s = self
            .intake
            .ack(&request.into_inner().item_ids, Utc::now(), &holder)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::AckResponse {
            acked: s.done,
            unknown_item_ids: s.unknown,
            not_held_item_ids: s.not_held,
        }))
    }

    async fn release(
        &self,
        request: Request<pb::ReleaseRequest>,
    ) -> Result<Response<pb::ReleaseResponse>, Status> {
        let holder = caller(&request).name;
        let s = self
            .intake
            .release(&request.into_inner().item_ids, &holder)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::ReleaseResponse {
            released: s.done,
            unknown_item_ids: s.unknown,
            not_held_item_ids: s.not_held,
        }))
    }

    async fn correct(
        &self,
        request: Request<pb::CorrectRequest>,
    ) -> Result<Response<pb::CorrectResponse>, Status> {
        let who = caller(&request);
        let r = request.into_inner();
        let limits = &self.limits;
        check_len(
            "message_id",
            &r.message_id,
            limits.max_id_chars,
            "max_id_chars",
        )
        .and_then(|_| {
            check_len(
                "corrected_by",
                &r.corrected_by,
                limits.max_note_chars,
                "max_note_chars",
            )
        })
        .and_then(|_| check_len("note", &r.note, limits.max_note_chars, "max_note_chars"))
        .map_err(status)?;
        // With keys, the key's name is who corrected: a client cannot speak for someone else.
        let corrected_by = if who.is_anonymous() {
            r.corrected_by.clone()
        } else {
            who.name
        };
        let label = convert::label_from_pb(r.label).ok_or_else(|| {
            status(Error::invalid(
                "label",
                format!(
                    "{} is not a label; expected KLACHT, MELDING, BEZWAAR, RAADSADRES or OVERIG",
                    r.label
                ),
            ))
        })?;
        let c = self
            .intake
            .correct(&r.message_id, label, &corrected_by, &r.note, Utc::now())
            .await
            .map_err(status)?;
        tracing::info!(from = %c.from_label, to = %c.to_label, "corrected");
        Ok(Response::new(pb::CorrectResponse {
            previous_label: convert::label_to_pb(c.from_label) as i32,
            previous_queue: c.from_queue,
            queue: c.to_queue,
        }))
    }
}
