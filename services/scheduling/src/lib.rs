//! The scheduling service: conferences on the statutory clock: due dates, bookings, chairs, invitations, attendance and quorum.
//!
//! It owns the `scheduling` Postgres schema; no other service reads its tables.
//!
//! Layers:
//! - [`due`]: what each cases feed event means for the diary (which
//!   conference or core group a child needs, by when, and why);
//! - [`allocation`]: choosing an eligible chair (working, not on leave or
//!   booked, within limits, not conflicted), continuity first;
//! - [`ical`]: the RFC 5545 export of a chair's or a case's meetings;
//! - [`store`]: the diary in Postgres (siblings share a conference, due by
//!   the earliest child's deadline; recomputation; a plan's end cancels its
//!   reviews), bookings, chairs, attendance, core groups, and the copy of
//!   each case's members that access decisions read;
//! - [`follow`]: applying the cases change feed to the diary and to that
//!   copy;
//! - [`api`]: the gRPC services: every call identified, authorised against
//!   the case's members, run in one transaction and audited, with
//!   scheduling's own change feed.

pub mod allocation;
pub mod api;
pub mod due;
pub mod follow;
pub mod ical;
pub mod store;

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `scheduling` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "scheduling";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "scheduling",
        grpc_services: &[
            cpc_proto::scheduling::v1::conferences_service_server::SERVICE_NAME,
            cpc_proto::scheduling::v1::attendance_service_server::SERVICE_NAME,
            cpc_proto::scheduling::v1::chairs_service_server::SERVICE_NAME,
            cpc_proto::scheduling::v1::core_groups_service_server::SERVICE_NAME,
            cpc_proto::scheduling::v1::calendar_service_server::SERVICE_NAME,
        ],
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: api::mount,
        append_only: &[],
        locate_child: Some(api::locate_child),
        follows: &[
            follow::CASES_FEED,
            follow::MEMBER_ROLES_FEED,
            follow::CHILD_DEATHS_FEED,
        ],
        slow_calls: &[],
    }
}
