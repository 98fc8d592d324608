//! The scheduling service: conferences on the statutory clock: due dates, bookings, chairs, invitations, attendance and quorum.
//!
//! It owns the `scheduling` Postgres schema; no other service reads its tables.

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
        grpc_service: cpc_proto::scheduling::v1::scheduling_service_server::SERVICE_NAME,
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: None,
        append_only: &[],
    }
}
