//! The scheduling services, the reporting service's agency reports and
//! minutes of the conferences they book and hold, and the escalation
//! service's escalations of the plans they lead to, over real gRPC on a
//! loopback socket, served by `cpcd` (every service in one process, as
//! `make run` does) against a fresh Postgres database per test: conferences
//! made from the cases feed, booked and moved on the statutory clock,
//! reported on, held, minuted and escalated.

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

#[path = "../cases/support.rs"]
#[allow(
    dead_code,
    reason = "shared with the cases tests; not every helper is used here"
)]
mod support;

mod audit_outage;
mod births;
mod census;
mod chairs;
mod core_groups;
mod deaths;
mod diary;
mod drift;
mod escalations;
mod exclusions;
mod hostile;
mod matrix;
mod meetings;
mod minutes;
mod minutes_matrix;
mod moves;
mod reports;
mod timeliness;
#[path = "../wire.rs"]
mod wire;
