//! The cases store against a real Postgres: a fresh database per test,
//! queries running as a plain role so row-level security applies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod common;
mod endings;
mod enquiries;
mod idempotency;
mod journey;
mod lists;
mod refusals;
mod rls;
mod steps;
mod updates;
