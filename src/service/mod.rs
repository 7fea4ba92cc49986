//! The gRPC services: generated traits implemented, protobuf ⇄ domain, validation, and CPU
//! work moved off the async threads with `spawn_blocking`.

pub mod classifier;
pub mod convert;
pub mod intake;

pub use classifier::ClassifierService;
pub use intake::IntakeService;

use crate::error::Error;

/// The one conversion from [`Error`] to a gRPC status.
pub fn status(e: Error) -> tonic::Status {
    match &e {
        Error::InvalidArgument { .. } | Error::Email(_) => {
            tonic::Status::invalid_argument(e.to_string())
        }
        Error::Config(_) | Error::Lexicon { .. } | Error::Model(_) => {
            tonic::Status::failed_precondition(e.to_string())
        }
        Error::Store(_) => tonic::Status::unavailable(e.to_string()),
        Error::NotFound(_) => tonic::Status::not_found(e.to_string()),
        _ => tonic::Status::internal(e.to_string()),
    }
}
