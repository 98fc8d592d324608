//! `cpc.cases.v1.CasesService` over real gRPC on a loopback socket, served
//! by `cpcd` against a fresh Postgres database per test: the child's
//! journey, every refusal a caller can meet, the change feed, and who may
//! do what.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "../access_log.rs"]
mod access_log;
#[path = "../bad_request.rs"]
mod bad_request;

#[path = "../access_matrix.rs"]
#[allow(dead_code, reason = "not every reader uses every part")]
mod access_matrix;

mod access;
mod audit_outage;
mod endings;
mod feed;
mod hostile;
mod journey;
mod matrix;
mod refusals;
mod support;
#[path = "../wire.rs"]
mod wire;
