//! The database role the service runs as.
//!
//! Row-level security does not bind superusers or roles with `BYPASSRLS`,
//! so the service must query as a plain role. The deploy job (or the test
//! harness) creates the role once per cluster and, after each migration,
//! grants it exactly what the store needs with [`grant_app_role`]: use of
//! the schema, read/write on the case tables, read/append on the change
//! feed. The role owns nothing and cannot change the schema; the history
//! and feed tables refuse updates and deletes by trigger in any case.
//!
//! Production sketch (run by an administrator, once):
//!
//! ```sql
//! CREATE ROLE cpc_cases_owner NOLOGIN;                       -- owns the schema, runs migrations
//! CREATE ROLE cpc_cases_app LOGIN PASSWORD '...'             -- the service connects as this
//!     NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
//! ```
//!
//! then, after migrating as the owner, `grant_app_role(conn, "cases",
//! "cpc_cases_app")`.

use sqlx::PgConnection;

/// Grants `role` what the cases store needs in `schema`. Idempotent.
///
/// # Errors
/// A bad role or schema name (not a plain lower-case identifier) or a
/// database error.
pub async fn grant_app_role(
    conn: &mut PgConnection,
    schema: &str,
    role: &str,
) -> Result<(), sqlx::Error> {
    for name in [schema, role] {
        let plain = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain {
            return Err(sqlx::Error::Protocol(
                "grant_app_role: schema and role must be plain lower-case identifiers".to_owned(),
            ));
        }
    }
    // Names are checked above to be plain identifiers, so quoting is safe.
    for statement in [
        format!("GRANT USAGE ON SCHEMA \"{schema}\" TO \"{role}\""),
        format!(
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \"{schema}\" TO \"{role}\""
        ),
        format!("REVOKE UPDATE, DELETE, TRUNCATE ON \"{schema}\".change_events FROM \"{role}\""),
        format!(
            "REVOKE UPDATE, DELETE, TRUNCATE ON \"{schema}\".plan_action_status_changes FROM \"{role}\""
        ),
        format!("REVOKE ALL ON \"{schema}\"._sqlx_migrations FROM \"{role}\""),
        format!("GRANT USAGE ON ALL SEQUENCES IN SCHEMA \"{schema}\" TO \"{role}\""),
    ] {
        sqlx::query(&statement).execute(&mut *conn).await?;
    }
    Ok(())
}
