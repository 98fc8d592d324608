//! A database per test: `cpc_test_<uuid>` on the server named by
//! `CPC_TEST_DATABASE_URL`, migrated into a service schema the way the
//! platform does it, and dropped when the test ends.

#![allow(
    dead_code,
    clippy::panic,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test support, shared by several test binaries; a failed setup fails the test"
)]

use chrono::{DateTime, Utc};
use cpc_audit::{Decision, NewAuditRecord};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, PgConnection, PgPool};
use uuid::Uuid;

/// The schema the tests migrate into, standing in for a service's.
pub const SCHEMA: &str = "svc";

pub fn admin_url() -> String {
    std::env::var("CPC_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

pub struct TestDb {
    name: String,
    admin: PgConnectOptions,
    /// A pool confined to [`SCHEMA`], like a service's.
    pub pool: PgPool,
}

impl TestDb {
    /// A fresh database with the audit log migrated into [`SCHEMA`].
    pub async fn new() -> Self {
        let db = Self::empty().await;
        db.migrate(SCHEMA).await;
        db
    }

    /// A fresh database with nothing in it.
    pub async fn empty() -> Self {
        let admin: PgConnectOptions = admin_url().parse().expect("test database URL");
        let name = format!("cpc_test_{}", Uuid::new_v4().simple());
        let mut conn = admin.connect().await.expect("reach Postgres for tests");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.expect("close admin connection");
        let pool = PgPoolOptions::new()
            .max_connections(25)
            .connect_lazy_with(Self::options(&admin, &name, SCHEMA));
        Self { name, admin, pool }
    }

    fn options(admin: &PgConnectOptions, name: &str, schema: &str) -> PgConnectOptions {
        admin
            .clone()
            .database(name)
            .options([("search_path", schema)])
    }

    /// A pool confined to `schema`.
    pub fn pool_for(&self, schema: &str) -> PgPool {
        self.pool_with(PgPoolOptions::new().max_connections(5), schema)
    }

    /// A pool confined to `schema`, made with `options`.
    pub fn pool_with(&self, options: PgPoolOptions, schema: &str) -> PgPool {
        options.connect_lazy_with(Self::options(&self.admin, &self.name, schema))
    }

    /// Creates `schema` and runs the audit migrator in it, as
    /// `cpc_platform::db::migrate` does.
    pub async fn migrate(&self, schema: &str) {
        let mut conn = self.connect(schema).await;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&mut conn)
            .await
            .expect("create schema");
        cpc_audit::MIGRATOR
            .run(&mut conn)
            .await
            .expect("audit migrations");
        conn.close().await.expect("close");
    }

    /// A separate superuser session in `schema`: the tamperer.
    pub async fn connect(&self, schema: &str) -> PgConnection {
        Self::options(&self.admin, &self.name, schema)
            .connect()
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = self.admin.clone();
        let name = std::mem::take(&mut self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = admin.connect().await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(()))) {
            eprintln!("warning: could not drop a test database; it will be left behind");
        }
    }
}

/// 2025-03-01T09:00:00Z plus `n` seconds and some sub-microsecond noise
/// that Postgres cannot keep.
pub fn at(n: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_740_819_600 + n, 123_456_789).expect("valid timestamp")
}

/// A plausible allowed read of `child` in `case`.
pub fn record(n: i64, case: Option<Uuid>, children: &[Uuid]) -> NewAuditRecord {
    NewAuditRecord {
        occurred_at: at(n),
        request_id: format!("req-{n}"),
        actor_subject: "3f1c0d1e-0000-4000-8000-000000000001".to_owned(),
        actor_kind: "person".to_owned(),
        on_behalf_of: None,
        role: "social_worker".to_owned(),
        authority_id: "la-916".to_owned(),
        agency: None,
        case_id: case,
        child_ids: children.to_vec(),
        action: "/cpc.cases.v1.CasesService/GetChild".to_owned(),
        decision: Decision::Allow,
        policy_ids: vec!["case-membership-active".to_owned()],
        reason: None,
        named: None,
        credential_id: None,
        policy_set: None,
    }
}
