//! The reporting service: agency reports, minutes and their distribution, and the statutory returns (CIN census).
//!
//! It owns the `reporting` Postgres schema; no other service reads its tables.

use cpc_platform::Component;
use sqlx::migrate::Migrator;

/// Migrations of the `reporting` schema, embedded in the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The Postgres schema this service owns.
pub const SCHEMA: &str = "reporting";

/// How the platform serves this service.
pub fn component() -> Component {
    Component {
        name: "reporting",
        grpc_services: &[cpc_proto::reporting::v1::reporting_service_server::SERVICE_NAME],
        schema: SCHEMA,
        migrator: &MIGRATOR,
        mount: None,
        append_only: &[],
        locate_child: None,
        follows: &[],
    }
}
