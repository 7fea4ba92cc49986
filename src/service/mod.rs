//! The gRPC services: generated traits implemented, protobuf ⇄ domain, validation, and CPU
//! work moved off the async threads through the admission pool.

pub mod admin;
pub mod classifier;
pub mod convert;
pub mod intake;

pub use admin::AdminService;
pub use classifier::ClassifierService;
pub use intake::IntakeService;

use tonic_types::{ErrorDetails, StatusExt};

use crate::auth::Caller;
use crate::error::Error;

/// The one conversion from [`Error`] to a gRPC status. Every kind has one code; an invalid
/// field also comes as a `google.rpc.BadRequest` field violation. Store errors show clients
/// only what herken was doing (the database's text goes to the log): `UNAVAILABLE` when a
/// retry can help, `INTERNAL` when it cannot.
pub fn status(e: Error) -> tonic::Status {
    use tonic::{Code, Status};
    match e {
        Error::InvalidArgument { field, problem } => {
            let message = format!("invalid {field}: {problem}");
            Status::with_error_details(
                Code::InvalidArgument,
                message,
                ErrorDetails::with_bad_request_violation(field, problem),
            )
        }
        Error::Email(m) => Status::invalid_argument(format!("raw e-mail: {m}")),
        Error::NotFound(m) => Status::not_found(m),
        Error::AlreadyExists(m) => Status::already_exists(m),
        Error::Unauthenticated(m) => Status::unauthenticated(m),
        Error::PermissionDenied(m) => Status::permission_denied(m),
        Error::Exhausted(m) => Status::resource_exhausted(m),
        Error::DeadlineExceeded(m) => Status::deadline_exceeded(m),
        Error::Cancelled(m) => Status::cancelled(m),
        Error::Config(m) => Status::failed_precondition(format!("configuration: {m}")),
        Error::Store {
            what,
            detail,
            transient,
        } => {
            tracing::error!(what = %what, error = %detail, transient, "store error");
            if transient {
                Status::unavailable(format!("the store is unavailable while {what}; retry"))
            } else {
                Status::internal(format!("store error while {what}; see the server log"))
            }
        }
        other => {
            tracing::error!(error = %other, "internal error");
            Status::internal("internal error; see the server log")
        }
    }
}

/// The caller of a request (put there by `auth::AuthLayer`); anonymous when absent.
pub fn caller<T>(request: &tonic::Request<T>) -> Caller {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .unwrap_or_else(Caller::anonymous)
}

/// A text field within its limit in characters, else an error naming field, size and limit.
pub fn check_len(field: &str, value: &str, limit: usize, setting: &str) -> Result<(), Error> {
    let n = value.chars().count();
    if n > limit {
        return Err(Error::too_long(field, n, "characters", limit, setting));
    }
    Ok(())
}
