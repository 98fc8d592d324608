//! Postgres: one pool per service, confined to that service's schema, and
//! its embedded migrations applied under an advisory lock so that replicas
//! starting together do not race.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::str::FromStr as _;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{Connection as _, PgConnection, PgPool};

use crate::config::DatabaseConfig;

/// Why a service's storage could not be made ready.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid schema name {0:?}: use lower-case letters and underscores")]
    SchemaName(String),
    #[error("invalid database URL: {0}")]
    Url(#[source] sqlx::Error),
    #[error("cannot reach Postgres: {0}")]
    Connect(#[source] sqlx::Error),
    /// Production mode, and the connection to a database on another host
    /// would not verify the server's certificate.
    #[error(
        "the database at {host} is reached without verified TLS: in production add \
         sslmode=verify-full (and sslrootcert=<the server's CA file>, unless a public CA signs it) \
         to CPC_DATABASE_URL, or connect over a Unix socket or to a loopback address"
    )]
    UnverifiedTls { host: String },
    #[error("cannot prepare schema {schema}: {source}")]
    Schema {
        schema: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migration version {version} is defined twice ({first} and {second})")]
    DuplicateMigration {
        version: i64,
        first: String,
        second: String,
    },
    #[error(
        "cannot prepare the query role {role}: {source} (the role that runs migrations needs CREATEROLE, \
         or an administrator creates {role} NOLOGIN NOBYPASSRLS and grants it to that role)"
    )]
    QueryRole {
        role: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrations for schema {schema} failed: {source}")]
    Migrate {
        schema: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
}

/// Connection options whose `search_path` is `schema` alone, so that a
/// service's queries, and sqlx's migration bookkeeping, stay inside the
/// schema it owns.
pub fn schema_options(url: &SecretString, schema: &str) -> Result<PgConnectOptions, DbError> {
    check_schema_name(schema)?;
    let options = PgConnectOptions::from_str(url.expose_secret()).map_err(DbError::Url)?;
    Ok(options
        .options([("search_path", schema)])
        .application_name(&format!("cpc-{schema}")))
}

/// Refuses a connection that would carry children's records across a
/// network without a verified server: anything but `sslmode=verify-full`
/// to a host other than a Unix socket or a loopback address (a proxy
/// sidecar). `prefer`, `require` and `verify-ca` encrypt but accept a server
/// with another name, so a machine in the middle could read and change
/// every query. Production mode checks this before connecting.
///
/// # Errors
/// [`DbError::Url`] if the URL does not parse, [`DbError::UnverifiedTls`]
/// otherwise.
pub fn require_verified_tls(url: &SecretString) -> Result<(), DbError> {
    let options = PgConnectOptions::from_str(url.expose_secret()).map_err(DbError::Url)?;
    let host = options.get_host();
    let local = options.get_socket().is_some()
        || host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if local || matches!(options.get_ssl_mode(), PgSslMode::VerifyFull) {
        Ok(())
    } else {
        Err(DbError::UnverifiedTls {
            host: host.to_owned(),
        })
    }
}

/// One migrator from several sources: the platform's own tables (small
/// version numbers, e.g. the audit log) and the service's (14-digit
/// timestamps), applied in version order and tracked in one
/// `_sqlx_migrations` table in the service's schema.
pub fn merged(parts: &[&Migrator]) -> Result<Migrator, DbError> {
    let mut by_version = BTreeMap::new();
    for migration in parts.iter().flat_map(|m| m.iter()) {
        if let Some(first) = by_version.insert(migration.version, migration.clone()) {
            return Err(DbError::DuplicateMigration {
                version: migration.version,
                first: first.description.into_owned(),
                second: migration.description.to_string(),
            });
        }
    }
    // sqlx exposes no constructor from a list; its fields are public for
    // `migrate!`, and this is the one place that relies on them.
    Ok(Migrator {
        migrations: Cow::Owned(by_version.into_values().collect()),
        ignore_missing: false,
        locking: true,
        no_tx: false,
    })
}

/// Creates `schema` if needed, applies `migrators` (merged) and grants the
/// query role ([`grant_query_role`]), holding a session-level advisory lock
/// keyed on the schema for the whole run.
pub async fn migrate(
    url: &SecretString,
    schema: &str,
    migrators: &[&Migrator],
    append_only: &[&str],
) -> Result<(), DbError> {
    let migrator = merged(migrators)?;
    let options = schema_options(url, schema)?;
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(DbError::Connect)?;
    let schema_err = |source| DbError::Schema {
        schema: schema.to_owned(),
        source,
    };
    let lock_key = format!("cpc.migrate.{schema}");
    sqlx::query("SELECT pg_advisory_lock(hashtext($1))")
        .bind(&lock_key)
        .execute(&mut conn)
        .await
        .map_err(schema_err)?;
    // The name is checked above to be a plain identifier, so quoting is safe.
    let result = async {
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))
            .execute(&mut conn)
            .await
            .map_err(schema_err)?;
        migrator
            .run(&mut conn)
            .await
            .map_err(|source| DbError::Migrate {
                schema: schema.to_owned(),
                source,
            })?;
        grant_query_role(&mut conn, schema, append_only).await
    }
    .await;
    // Closing the session would release the lock too; unlock explicitly so
    // a pooled or long-lived connection can never keep it.
    let unlocked = sqlx::query("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&lock_key)
        .execute(&mut conn)
        .await;
    let _ = conn.close().await;
    result?;
    unlocked.map_err(schema_err)?;
    Ok(())
}

/// Opens the service's pool. Connections are made lazily, so a service can
/// start while Postgres is still coming up; readiness is reported by health.
///
/// Every connection switches to the schema's query role
/// ([`query_role`]) before use: row-level security binds that role, not the
/// login role that ran the migrations (which may own the tables, or be a
/// superuser in development). A transaction left open with nothing running
/// is ended by Postgres after `database.idle_in_transaction_timeout`, and a
/// statement still running after `database.statement_timeout` is cancelled.
pub fn pool(url: &SecretString, schema: &str, config: &DatabaseConfig) -> Result<PgPool, DbError> {
    // Whole milliseconds, as Postgres reads a bare number for these
    // settings.
    let idle = config.idle_in_transaction_timeout.as_millis().to_string();
    let statement = config.statement_timeout.as_millis().to_string();
    let options = schema_options(url, schema)?.options([
        ("idle_in_transaction_session_timeout", idle.as_str()),
        ("statement_timeout", statement.as_str()),
    ]);
    let set_role = format!("SET ROLE \"{}\"", query_role(schema));
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .after_connect(move |conn, _meta| {
            let set_role = set_role.clone();
            Box::pin(async move {
                sqlx::query(&set_role).execute(conn).await?;
                Ok(())
            })
        })
        .connect_lazy_with(options))
}

/// Opens a transaction bound to `authority`: with each service's
/// row-level security policies (`authority_id =
/// current_setting('cpc.authority_id', true)`), every query in it sees and
/// writes only that authority's rows. The setting is transaction-local, so
/// a pooled connection never carries one request's authority into the next.
///
/// # Errors
/// Database errors.
pub async fn begin_for_authority(
    pool: &PgPool,
    authority: &str,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error> {
    let mut tx = cpc_audit::begin(pool).await?;
    sqlx::query("SELECT set_config('cpc.authority_id', $1, true)")
        .bind(authority)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// The role a service's queries run as: `cpc_<schema>_app`. A plain role
/// (no superuser, no `BYPASSRLS`, owns nothing), so row-level security and
/// the append-only revokes bind it.
pub fn query_role(schema: &str) -> String {
    format!("cpc_{schema}_app")
}

/// Tables no service may change once written: the audit log and the
/// change feed (their triggers refuse changes too; the revoke means the
/// query role cannot even try).
const PLATFORM_APPEND_ONLY: [&str; 2] = ["audit_log", "change_events"];

/// Creates the schema's query role if it is missing and grants it what a
/// store needs in `schema`: use of the schema, read and write on its
/// tables, but no change to `append_only` tables (nor the platform's) and
/// nothing on the migration bookkeeping. Idempotent; run after migrating,
/// as the role that owns the schema.
///
/// # Errors
/// `DbError::QueryRole` when the role cannot be created or granted (the
/// login role needs `CREATEROLE`, or an administrator creates the role).
pub async fn grant_query_role(
    conn: &mut PgConnection,
    schema: &str,
    append_only: &[&str],
) -> Result<(), DbError> {
    check_schema_name(schema)?;
    let role = query_role(schema);
    let err = |source| DbError::QueryRole {
        role: role.clone(),
        source,
    };
    // Names are plain identifiers (schema checked above, tables are the
    // services' own constants), so quoting is safe. Roles are per cluster
    // and replicas or tests may race to create one: a duplicate is fine.
    let mut statements = vec![
        format!(
            "DO $$ BEGIN CREATE ROLE \"{role}\" NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ),
        // SET ROLE needs membership; superusers have it already.
        format!(
            "DO $$ BEGIN IF NOT pg_has_role(current_user, '{role}', 'MEMBER') THEN \
             GRANT \"{role}\" TO CURRENT_USER; END IF; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        ),
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\""
        ),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\""),
        format!("REVOKE ALL ON \"{schema}\"._sqlx_migrations FROM \"{role}\""),
    ];
    for table in PLATFORM_APPEND_ONLY {
        // A schema may hold only some of the platform's tables.
        let present: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
            .bind(format!("\"{schema}\".\"{table}\""))
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
        if present.is_some() {
            statements.push(revoke_changes(schema, table, &role));
        }
    }
    statements.extend(
        append_only
            .iter()
            .map(|table| revoke_changes(schema, table, &role)),
    );
    for statement in statements {
        sqlx::query(&statement)
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }
    Ok(())
}

fn revoke_changes(schema: &str, table: &str, role: &str) -> String {
    format!("REVOKE UPDATE, DELETE, TRUNCATE ON \"{schema}\".\"{table}\" FROM \"{role}\"")
}

fn check_schema_name(schema: &str) -> Result<(), DbError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase())
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit());
    if valid {
        Ok(())
    } else {
        Err(DbError::SchemaName(schema.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_verified_or_local_database_connection_is_accepted() {
        let check = |url: &str| require_verified_tls(&SecretString::from(url.to_owned()));
        for accepted in [
            "postgres://cpc@db.example.internal/cpc?sslmode=verify-full",
            "postgres://cpc@db.example.internal/cpc?sslmode=verify-full&sslrootcert=/etc/cpc/db/ca.crt",
            "postgres://cpc@127.0.0.1:5432/cpc",
            "postgres://cpc@localhost/cpc?sslmode=disable",
            "postgres://cpc@[::1]:5432/cpc",
            "postgres://cpc@%2Fvar%2Frun%2Fpostgresql/cpc",
            "postgres:///cpc?host=/var/run/postgresql",
        ] {
            check(accepted).unwrap_or_else(|err| panic!("{accepted}: {err}"));
        }
        for refused in [
            "postgres://cpc@db.example.internal/cpc",
            "postgres://cpc@db.example.internal/cpc?sslmode=disable",
            "postgres://cpc@db.example.internal/cpc?sslmode=prefer",
            "postgres://cpc@db.example.internal/cpc?sslmode=require",
            "postgres://cpc@db.example.internal/cpc?sslmode=verify-ca",
            "postgres://cpc:secret@10.0.0.5/cpc?sslmode=require",
            // A name that merely starts like a loopback one.
            "postgres://cpc@localhost.example.com/cpc",
            "postgres://cpc@127.0.0.1.example.com/cpc",
        ] {
            let err = check(refused).unwrap_err();
            assert!(
                matches!(err, DbError::UnverifiedTls { .. }),
                "{refused}: {err}"
            );
            // The message names the host and says what to add, never the password.
            let message = err.to_string();
            assert!(message.contains("sslmode=verify-full"), "{message}");
            assert!(!message.contains("secret"), "{message}");
        }
        assert!(matches!(
            check("postgres://cpc@db.example.internal/cpc?sslmode=verify_full"),
            Err(DbError::Url(_))
        ));
    }

    async fn migrator_with(files: &[(&str, &str)]) -> Migrator {
        let dir =
            std::env::temp_dir().join(format!("cpc-migrations-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, sql) in files {
            std::fs::write(dir.join(name), sql).unwrap();
        }
        let migrator = Migrator::new(dir.as_path()).await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        migrator
    }

    #[tokio::test]
    async fn merged_orders_by_version_and_refuses_duplicates() {
        let platform = migrator_with(&[("1_audit_log.sql", "SELECT 1;")]).await;
        let service = migrator_with(&[
            ("20261125000002_plans.sql", "SELECT 3;"),
            ("20261125000001_children.sql", "SELECT 2;"),
        ])
        .await;
        let both = merged(&[&service, &platform]).unwrap();
        let versions: Vec<i64> = both.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 20_261_125_000_001, 20_261_125_000_002]);

        let clash = migrator_with(&[("1_other.sql", "SELECT 4;")]).await;
        let err = merged(&[&platform, &clash]).unwrap_err();
        assert!(
            matches!(&err, DbError::DuplicateMigration { version: 1, first, second } if first == "audit log" && second == "other"),
            "{err}"
        );
    }

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["cases", "scheduling", "audit_2"] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Cases", "cases;drop", "x\"y", "1abc", "a b"] {
            assert!(
                matches!(check_schema_name(bad), Err(DbError::SchemaName(_))),
                "{bad}"
            );
        }
    }
}
