//! Escalation's storage for a bench: a fresh database on the server named
//! by `CPC_TEST_DATABASE_URL` (as the tests use), migrated, and a pool of
//! the service's plain role, so that row-level security binds as it does
//! when serving.

use cpc_platform::testing::TestDatabase;
use sqlx::PgPool;
use tokio::runtime::Runtime;

/// The authority the benches' records belong to.
pub const AUTHORITY: &str = "E10000013";

/// A runtime, the database (dropped with it) and the service's pool.
pub fn storage() -> (Runtime, TestDatabase, PgPool) {
    let runtime = Runtime::new().unwrap();
    // Made inside the runtime, where the pool keeps its connections.
    let (db, pool) = runtime.block_on(TestDatabase::for_service(
        cpc_escalation::SCHEMA,
        &cpc_escalation::MIGRATOR,
    ));
    (runtime, db, pool)
}
