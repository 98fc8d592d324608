//! The cases service: the child's child protection journey: children, CIN episodes, strategy discussions, section 47 enquiries, conference outcomes, plans and case membership.
//!
//! It owns the `cases` Postgres schema; no other service reads its tables.
//!
//! Layers, bottom up:
//! - [`codes`]: the API's closed vocabularies as Rust enums with stored codes;
//! - [`domain`]: requests parsed into domain values, every bad field named;
//! - [`store`]: one function per RPC, each inside the caller's transaction
//!   (row-level security set by [`store::begin`]), writing its change events
//!   to the outbox ([`events`]) and honouring request ids ([`idempotency`]);
//! - [`follow`]: which conferences scheduling held, from its change feed.
//!
//! - [`api`]: the gRPC service: every call identified, authorised against
//!   the case's members, run in one transaction and audited.

pub mod api;
pub mod codes;
pub mod convert;
pub mod domain;
pub mod events;
pub mod follow;
pub mod idempotency;
pub mod store;

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `cases` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "cases";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "cases",
        grpc_services: &[cpc_proto::cases::v1::cases_service_server::SERVICE_NAME],
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: api::mount,
        append_only: &["plan_action_status_changes"],
        locate_child: Some(api::locate_child),
        follows: &[follow::SCHEDULING_FEED],
        slow_calls: &[],
    }
}
