//! The cases store: one function per RPC of `cpc.cases.v1.CasesService`.
//!
//! Every function runs inside a transaction the caller opened with
//! [`begin`] (which binds row-level security to one authority) and does not
//! commit it. A writing function, in order: replays a stored response if
//! the request id was seen ([`crate::idempotency`]); checks what the request
//! refers to and whether its state allows the change; writes; appends the
//! change's events to the outbox ([`crate::events::emit`]); remembers the
//! response under the request id; and returns the response with the events
//! it appended ([`Written`]). The caller then appends its audit record (the
//! last statement) and commits:
//!
//! ```ignore
//! let mut tx = store::begin(&pool, &ctx.authority).await?;
//! let written = store::children::create_child(&mut tx, &ctx, &key, &child).await?;
//! // hook: audit::append(&mut tx, ... written.events ...).await?;
//! tx.commit().await?;
//! ```
//!
//! Updates take the version the caller read: a missing row is
//! `NOT_FOUND`, a different version `ABORTED`. Lists page by keyset with
//! opaque tokens ([`crate::paging`]).
//!
//! # Row-level security and database roles
//!
//! Every table has a policy `authority_id = current_setting('cpc.authority_id',
//! true)` with `FORCE ROW LEVEL SECURITY`; [`begin`] sets that setting for
//! the transaction only (`set_config(..., true)`), so a pooled connection
//! never carries one request's authority into the next. Policies do not bind
//! superusers or `BYPASSRLS` roles, so the service's pool switches every
//! connection to the plain role `cpc_cases_app` (`NOSUPERUSER NOBYPASSRLS`,
//! owns nothing), which the platform creates and grants after migrating
//! (`cpc_platform::db::grant_query_role`): the login role may own the
//! schema, or be a superuser in development, and queries still see one
//! authority at a time. `FORCE` keeps the policies binding even for the
//! owner.

pub mod access;
pub mod actions;
pub mod cases;
pub mod children;
pub mod conferences;
pub mod episodes;
pub mod family;
pub mod membership;
pub mod outcomes;
pub mod plans;
pub mod section47;
pub mod strategy;
pub mod transfers;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox::StoredEvent;
use cpc_rules::timescales::Timescales;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{AuthorityId, PersonRef};

/// Who is acting, for which authority, and when: everything a store call
/// needs besides its request. Built by the caller from the credentials and
/// the authority's configuration.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The authority whose data this is; must be the one [`begin`] set.
    pub authority: AuthorityId,
    /// The person acting (recorded as `recorded_by`, `changed_by`...).
    pub actor: PersonRef,
    /// The instant of the change (row timestamps and event times).
    pub now: DateTime<Utc>,
    /// Today in the authority's time zone (future-date checks, overdue,
    /// active memberships).
    pub today: NaiveDate,
    /// The authority's timescales (statutory and local deadlines).
    pub timescales: Timescales,
}

impl cpc_platform::idempotency::Spender for Ctx {
    fn authority(&self) -> &str {
        self.authority.as_str()
    }

    fn caller(&self) -> String {
        self.actor.person_id.to_string()
    }

    fn now(&self) -> DateTime<Utc> {
        self.now
    }
}

/// What a writing store call returns.
#[derive(Debug, Clone)]
pub struct Written<T> {
    /// The RPC's response message.
    pub response: T,
    /// The events appended to the change feed in this transaction, in
    /// order (empty for a replay). The audit hook reads them.
    pub events: Vec<StoredEvent>,
    /// Whether this was a retry answered from the stored response.
    pub replayed: bool,
}

impl<T> Written<T> {
    fn new(response: T, events: Vec<StoredEvent>) -> Self {
        Self {
            response,
            events,
            replayed: false,
        }
    }

    fn replay(response: T) -> Self {
        Self {
            response,
            events: Vec::new(),
            replayed: true,
        }
    }
}

/// Opens a transaction bound to `authority`: every query in it sees and
/// writes only that authority's rows.
///
/// # Errors
/// Database errors.
pub async fn begin(
    pool: &PgPool,
    authority: &AuthorityId,
) -> Result<Transaction<'static, Postgres>, ApiError> {
    Ok(cpc_platform::db::begin_for_authority(pool, authority.as_str()).await?)
}

/// Locks the row `id` of `table` for this transaction and checks that its
/// version is `expected`.
///
/// # Errors
/// `NOT_FOUND` when the row does not exist (or is another authority's),
/// `ABORTED` when its version differs.
pub(crate) async fn lock_version(
    conn: &mut PgConnection,
    table: &'static str,
    resource: &'static str,
    id: Uuid,
    expected: i64,
) -> Result<(), ApiError> {
    let current: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT version FROM {table} WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    match current {
        None => Err(ApiError::not_found(resource, id.to_string())),
        Some(current) if current != expected => Err(stale(resource, id, expected, current)),
        Some(_) => Ok(()),
    }
}

/// The `ABORTED` error of a stale version.
pub(crate) fn stale(resource: &str, id: Uuid, read: i64, current: i64) -> ApiError {
    ApiError::Aborted(format!(
        "{resource} {id} has changed since version {read} was read (now version {current}); re-read and retry"
    ))
}

/// After an `UPDATE ... WHERE id = $1 AND version = $2` touched no row:
/// `NOT_FOUND` if the row is gone, else `ABORTED`.
pub(crate) async fn missing_or_stale(
    conn: &mut PgConnection,
    table: &'static str,
    resource: &'static str,
    id: Uuid,
    read: i64,
) -> ApiError {
    let current: Result<Option<i64>, _> =
        sqlx::query_scalar(&format!("SELECT version FROM {table} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await;
    match current {
        Ok(None) => ApiError::not_found(resource, id.to_string()),
        Ok(Some(current)) => stale(resource, id, read, current),
        Err(err) => err.into(),
    }
}

/// Maps a database error to the API error the caller can act on, naming
/// the rule a constraint enforces (never the values involved).
pub(crate) fn db_error(err: sqlx::Error) -> ApiError {
    let constraint = err
        .as_database_error()
        .and_then(|db| db.constraint().map(str::to_owned));
    let precondition = |msg: &str| ApiError::FailedPrecondition(msg.to_owned());
    match constraint.as_deref() {
        Some("children_la_child_id_unique") => ApiError::AlreadyExists {
            resource: "child",
            id: "with this la_child_id".to_owned(),
        },
        Some("conference_outcomes_one_per_child") => ApiError::AlreadyExists {
            resource: "conference outcome",
            id: "for this child at this conference".to_owned(),
        },
        Some("case_memberships_no_overlap") => ApiError::AlreadyExists {
            resource: "case membership",
            id: "for this person and role in an overlapping period".to_owned(),
        },
        Some("cin_episodes_one_open_per_child") => {
            precondition("the child already has an open CIN episode")
        }
        Some("cin_episodes_no_overlap") => precondition("CIN episodes of a child may not overlap"),
        Some("section47_one_in_progress_per_child") => {
            precondition("the child already has a section 47 enquiry in progress")
        }
        Some("plans_one_open_per_child") => {
            precondition("the child already has an open child protection plan")
        }
        Some("plans_no_overlap") => {
            precondition("child protection plans of a child may not overlap")
        }
        Some("transfers_in_one_awaiting_per_child") => {
            precondition("the child already has a transfer-in awaiting its conference")
        }
        Some("family_relationships_child_fk" | "case_membership_children_child_fk") => {
            precondition(
                "the child has family relationships or case memberships naming it in its current case; change those first",
            )
        }
        _ => ApiError::from(err),
    }
}

/// `?`-friendly shorthand: `.map_err(db)`.
pub(crate) use db_error as db;
