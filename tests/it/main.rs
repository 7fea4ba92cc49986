//! herken's integration tests: one binary, a module per concern.

mod cli;
mod corpus;
mod encoder;
#[cfg(feature = "libtorch")]
mod finetune;
mod grpc;
mod intake;
mod load;
mod offsets;
mod repeat;
mod support;
mod workshop;
