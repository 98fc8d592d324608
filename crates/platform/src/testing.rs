//! Test harness: a fresh Postgres database per test and an in-process
//! server on `127.0.0.1:0` that a real gRPC client talks to over a socket.

#![allow(
    clippy::panic,
    clippy::print_stderr,
    reason = "test support: a setup that cannot happen fails the test, saying why"
)]

use std::net::SocketAddr;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Channel, Endpoint};

use crate::config::Config;
use crate::serve::{Component, Server};

/// Where tests create their databases: `CPC_TEST_DATABASE_URL`, else
/// `CPC_DATABASE_URL`, else the local default. The project's scripts set
/// the first (see `scripts/ensure-postgres.sh`).
pub fn admin_url() -> String {
    std::env::var("CPC_TEST_DATABASE_URL")
        .or_else(|_| std::env::var("CPC_DATABASE_URL"))
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    name: String,
    admin: PgConnectOptions,
    url: SecretString,
}

impl TestDatabase {
    /// Creates `cpc_test_<uuid>` on the admin server.
    ///
    /// # Panics
    /// When Postgres is unreachable: the test cannot run, and says why.
    pub async fn create() -> Self {
        let admin_url = admin_url();
        let admin: PgConnectOptions = admin_url
            .parse()
            .unwrap_or_else(|e| panic!("invalid test database URL: {e}"));
        let name = format!("cpc_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = admin.connect().await.unwrap_or_else(|e| {
            panic!("cannot reach Postgres for tests ({e}); run `make test`, which starts one")
        });
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
        let _ = conn.close().await;
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Self {
            name,
            admin,
            url: SecretString::from(url),
        }
    }

    /// A fresh database with `schema` migrated as a service's is (the
    /// platform's migrations merged with `service`'s), and a pool on it as
    /// the service's role, so row-level security binds.
    ///
    /// # Panics
    /// When the database cannot be created or migrated.
    pub async fn for_service(
        schema: &'static str,
        service: &sqlx::migrate::Migrator,
    ) -> (Self, sqlx::PgPool) {
        let db = Self::create().await;
        db.migrate_service(schema, service).await;
        let pool = crate::db::pool(db.url(), schema, &crate::config::DatabaseConfig::default())
            .unwrap_or_else(|e| panic!("cannot open a pool on {schema}: {e}"));
        (db, pool)
    }

    /// As [`Self::for_service`], with only `service`'s migrations before
    /// `version`: the schema as a migration found it, for a test of what
    /// it does to rows already there. [`Self::migrate_service`] applies
    /// the rest.
    ///
    /// # Panics
    /// When the database cannot be created or migrated.
    pub async fn for_service_before(
        schema: &'static str,
        service: &sqlx::migrate::Migrator,
        version: i64,
    ) -> (Self, sqlx::PgPool) {
        let before = sqlx::migrate::Migrator {
            migrations: std::borrow::Cow::Owned(
                service
                    .iter()
                    .filter(|m| m.version < version)
                    .cloned()
                    .collect(),
            ),
            ..sqlx::migrate::Migrator::DEFAULT
        };
        Self::for_service(schema, &before).await
    }

    /// Applies `service`'s migrations not yet applied to `schema`, as the
    /// service's start does.
    ///
    /// # Panics
    /// When the schema cannot be migrated.
    pub async fn migrate_service(&self, schema: &'static str, service: &sqlx::migrate::Migrator) {
        crate::db::migrate(self.url(), schema, &[&crate::MIGRATOR, service], &[])
            .await
            .unwrap_or_else(|e| panic!("cannot migrate {schema}: {e}"));
    }

    pub fn url(&self) -> &SecretString {
        &self.url
    }

    /// A configuration pointing at this database, in development mode on
    /// loopback, with a development signing key of its own.
    pub fn config(&self) -> Config {
        Config {
            database_url: SecretString::from(self.url.expose_secret().to_owned()),
            identity: cpc_identity::IdentityConfig {
                mode: cpc_identity::Mode::Development,
                dev_key_dir: self.dev_key_dir(),
                ..cpc_identity::IdentityConfig::default()
            },
            policy_dir: cpc_authz::bundled_policy_dir(),
            // The repository's validator, in the Python environment
            // `make test` prepares.
            census: crate::config::CensusConfig {
                validator: Some(
                    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                        .join("../../scripts/cin-validate"),
                ),
                ..crate::config::CensusConfig::default()
            },
            // Tests call in loops far faster than people do.
            limits: crate::config::LimitsConfig {
                calls_per_minute_per_caller: std::num::NonZeroU32::new(1_000_000)
                    .unwrap_or(std::num::NonZeroU32::MIN),
                burst_per_caller: std::num::NonZeroU32::new(100_000)
                    .unwrap_or(std::num::NonZeroU32::MIN),
                ..crate::config::LimitsConfig::default()
            },
            ..Config::default()
        }
    }

    /// Where this test's development signing key lives (removed on drop).
    pub fn dev_key_dir(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("{}-dev-identity", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop runs outside async; a short-lived thread with its own runtime
        // keeps test databases from piling up on the server.
        let _ = std::fs::remove_dir_all(self.dev_key_dir());
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

/// A server running in this process on an ephemeral loopback port.
pub struct TestServer {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), crate::serve::ServeError>>>,
}

impl TestServer {
    /// Migrates and serves `components` against `config`'s database.
    ///
    /// # Panics
    /// When the server cannot start; the message says why.
    pub async fn start(config: Config, components: Vec<Component>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("listener has no address: {e}"));
        let server = Server::prepare(config, components)
            .await
            .unwrap_or_else(|e| panic!("server failed to prepare: {e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.serve(listener, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// A client channel to the server, over a real TCP socket.
    ///
    /// # Panics
    /// When the server does not accept the connection.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap_or_else(|e| panic!("bad endpoint: {e}"))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server: {e}"))
    }

    /// Stops the server the way SIGTERM would, and waits for it.
    ///
    /// # Panics
    /// When the server ended with an error.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .unwrap_or_else(|e| panic!("server task panicked: {e}"))
                .unwrap_or_else(|e| panic!("server failed: {e}"));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A pool on `schema` as the test database's superuser, who may do what
/// the services' own role may not (break or tamper with an audit log).
async fn superuser_pool(db: &TestDatabase, schema: &str) -> sqlx::PgPool {
    let options = crate::db::schema_options(db.url(), schema)
        .unwrap_or_else(|e| panic!("schema {schema}: {e}"));
    sqlx::PgPool::connect_with(options)
        .await
        .unwrap_or_else(|e| panic!("cannot connect as the test superuser: {e}"))
}

/// An outage of one service's audit log: while it lasts, every insert
/// into `<schema>.audit_log` fails, as on a full disk or a broken
/// tablespace, through a trigger the database superuser adds.
pub struct AuditOutage {
    admin: sqlx::PgPool,
    schema: &'static str,
}

impl AuditOutage {
    /// What the database says to a refused insert; a caller must never see
    /// it.
    pub const REASON: &'static str = "audit storage unavailable (test)";

    /// Starts refusing inserts into `schema`'s audit log.
    ///
    /// # Panics
    /// When the trigger cannot be added.
    pub async fn begin(db: &TestDatabase, schema: &'static str) -> Self {
        let admin = superuser_pool(db, schema).await;
        for statement in [
            format!(
                "CREATE FUNCTION \"{schema}\".audit_outage() RETURNS trigger LANGUAGE plpgsql \
                 AS $$ BEGIN RAISE EXCEPTION '{}'; END $$",
                Self::REASON
            ),
            format!(
                "CREATE TRIGGER audit_outage BEFORE INSERT ON \"{schema}\".audit_log \
                 FOR EACH ROW EXECUTE FUNCTION \"{schema}\".audit_outage()"
            ),
        ] {
            sqlx::query(&statement)
                .execute(&admin)
                .await
                .unwrap_or_else(|e| panic!("cannot break {schema}.audit_log: {e}"));
        }
        Self { admin, schema }
    }

    /// How many records `schema`'s audit log holds.
    ///
    /// # Panics
    /// When the log cannot be counted.
    pub async fn records(db: &TestDatabase, schema: &'static str) -> i64 {
        let admin = superuser_pool(db, schema).await;
        let count = sqlx::query_scalar(&format!("SELECT count(*) FROM \"{schema}\".audit_log"))
            .fetch_one(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot count {schema}.audit_log: {e}"));
        admin.close().await;
        count
    }

    /// Ends the outage: inserts succeed again.
    ///
    /// # Panics
    /// When the trigger cannot be removed.
    pub async fn end(self) {
        sqlx::query(&format!(
            "DROP TRIGGER audit_outage ON \"{}\".audit_log",
            self.schema
        ))
        .execute(&self.admin)
        .await
        .unwrap_or_else(|e| panic!("cannot mend {}.audit_log: {e}", self.schema));
        self.admin.close().await;
    }
}

/// Runs `statement` on `schema`'s audit log as a tamperer with superuser
/// powers would: with the log's append-only and chain triggers off for it,
/// and on again after, so the log takes new records as before. The
/// statement names the table unqualified (`DELETE FROM audit_log ...`).
///
/// # Panics
/// When a statement fails.
pub async fn tamper_with_audit_log(db: &TestDatabase, schema: &'static str, statement: &str) {
    let admin = superuser_pool(db, schema).await;
    for statement in [
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
        statement,
        "ALTER TABLE audit_log ENABLE TRIGGER ALL",
    ] {
        sqlx::query(statement)
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("cannot tamper with {schema}.audit_log: {e}"));
    }
    admin.close().await;
}

/// Asserts `result` is the answer to a call refused because its access
/// record could not be written: `INTERNAL`, saying nothing of why.
///
/// # Panics
/// When it is anything else.
pub fn assert_refused_for_want_of_audit<T: std::fmt::Debug>(
    what: &str,
    result: Result<T, tonic::Status>,
) {
    let status = match result {
        Ok(value) => panic!("{what}: answered {value:?} without its access record"),
        Err(status) => status,
    };
    assert_eq!(status.code(), tonic::Code::Internal, "{what}: {status:?}");
    assert_eq!(status.message(), "internal error", "{what}: {status:?}");
    assert!(status.details().is_empty(), "{what}: {status:?}");
}
