//! Postgres: one pool per service, confined to that service's schema, and
//! its embedded migrations applied under an advisory lock so that replicas
//! starting together do not race.

use std::str::FromStr as _;

use secrecy::{ExposeSecret as _, SecretString};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
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
    #[error("cannot prepare schema {schema}: {source}")]
    Schema {
        schema: String,
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

/// Creates `schema` if needed and applies `migrator`, holding a
/// session-level advisory lock keyed on the schema for the whole run.
pub async fn migrate(url: &SecretString, schema: &str, migrator: &Migrator) -> Result<(), DbError> {
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
            })
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
pub fn pool(url: &SecretString, schema: &str, config: &DatabaseConfig) -> Result<PgPool, DbError> {
    let options = schema_options(url, schema)?;
    Ok(PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout)
        .connect_lazy_with(options))
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
