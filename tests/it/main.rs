//! herken's integration tests: one binary, a module per concern.

mod access;
mod cli;
mod corpus;
mod encoder;
#[cfg(feature = "libtorch")]
mod finetune;
mod grpc;
mod intake;
mod lifecycle;
mod limits;
mod load;
mod offsets;
mod quiz;
mod repeat;
mod report;
mod support;
mod web;
mod workshop;
