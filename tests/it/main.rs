//! herken's integration tests: one binary, a module per concern.

mod cli;
mod grpc;
mod offsets;
mod support;
mod workshop;
