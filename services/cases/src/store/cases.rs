//! Family cases (sibling groups): `CreateCase`, `GetCase`, `ListCases`,
//! `UpdateCase`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox::StoredEvent;
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Ctx, Written, db, lock_version};
use crate::convert::timestamp_to_proto;
use crate::domain::child::{CaseFilter, CaseUpdate, NewCase, OwnCases};
use crate::domain::common::ExternalReference;
use crate::domain::{AuthorityId, PersonRef};
use crate::events::{Subject, emit};
use crate::idempotency::{self, RequestKey};

/// A case with what is derived from its children: the sibling group, open
/// or closed, and the current lead social worker. `$1` is today.
const SELECT_CASE: &str = "\
SELECT c.id, c.authority_id, c.display_name, c.external_references, c.version, c.created_at, c.updated_at,
       ARRAY(SELECT ch.id FROM children ch WHERE ch.case_id = c.id ORDER BY ch.created_at, ch.id) AS child_ids,
       (EXISTS (SELECT 1 FROM children ch JOIN cin_episodes e ON e.child_id = ch.id
                 WHERE ch.case_id = c.id AND e.closure_date IS NULL)
        OR EXISTS (SELECT 1 FROM children ch JOIN plans p ON p.child_id = ch.id
                    WHERE ch.case_id = c.id AND p.end_date IS NULL)) AS open,
       coalesce(
         (SELECT p.lead_social_worker FROM children ch JOIN plans p ON p.child_id = ch.id
           WHERE ch.case_id = c.id AND p.end_date IS NULL ORDER BY p.start_date DESC, p.id LIMIT 1),
         (SELECT jsonb_strip_nulls(jsonb_build_object('person_id', m.person_id, 'display_name', m.display_name,
                                                      'agency_kind', m.agency_kind, 'agency_name', m.agency_name))
            FROM case_memberships m
           WHERE m.case_id = c.id AND m.case_role = 'lead_social_worker'
             AND m.start_date <= $1 AND (m.end_date IS NULL OR m.end_date >= $1)
           ORDER BY m.start_date DESC, m.id LIMIT 1)) AS lead_social_worker
  FROM cases c";

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: Uuid,
    authority_id: String,
    display_name: String,
    external_references: serde_json::Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    child_ids: Vec<Uuid>,
    open: bool,
    lead_social_worker: Option<serde_json::Value>,
}

impl CaseRow {
    fn into_proto(self) -> pb::Case {
        pb::Case {
            id: self.id.to_string(),
            version: self.version,
            authority_id: self.authority_id,
            display_name: self.display_name,
            child_ids: self.child_ids.iter().map(Uuid::to_string).collect(),
            status: if self.open {
                pb::CaseStatus::Open
            } else {
                pb::CaseStatus::Closed
            } as i32,
            lead_social_worker: self
                .lead_social_worker
                .and_then(|json| serde_json::from_value::<PersonRef>(json).ok())
                .map(|p| p.to_proto()),
            external_references: ExternalReference::list_from_json(&self.external_references),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// The case `id` as the API shows it.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_case(conn: &mut PgConnection, ctx: &Ctx, id: Uuid) -> Result<pb::Case, ApiError> {
    load_case(conn, ctx.today, id)
        .await?
        .ok_or_else(|| ApiError::not_found("case", id.to_string()))
}

pub(crate) async fn load_case(
    conn: &mut PgConnection,
    today: NaiveDate,
    id: Uuid,
) -> Result<Option<pb::Case>, ApiError> {
    let row: Option<CaseRow> = sqlx::query_as(&format!("{SELECT_CASE} WHERE c.id = $2"))
        .bind(today)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(CaseRow::into_proto))
}

/// Inserts a case row (no event).
pub(crate) async fn insert_case(
    conn: &mut PgConnection,
    ctx: &Ctx,
    display_name: &str,
    external_references: &[ExternalReference],
) -> Result<Uuid, ApiError> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO cases (id, authority_id, display_name, external_references, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(display_name)
    .bind(ExternalReference::list_to_json(external_references))
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    Ok(id)
}

/// Locks case `id` for this transaction.
///
/// # Errors
/// `NOT_FOUND` when there is no such case in this authority.
pub(crate) async fn lock_case(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<DateTime<Utc>, ApiError> {
    sqlx::query_scalar("SELECT created_at FROM cases WHERE id = $1 FOR UPDATE")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("case", id.to_string()))
}

/// Records that a case's derived content (its sibling group) changed: bumps
/// its version. The caller emits `CaseUpdated` ([`emit_case_updated`]) once
/// all its writes are done.
pub(crate) async fn bump_case(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE cases SET version = version + 1, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Emits `CaseUpdated` for case `id` as it now stands.
pub(crate) async fn emit_case_updated(
    conn: &mut PgConnection,
    ctx: &Ctx,
    events: &mut Vec<StoredEvent>,
    id: Uuid,
) -> Result<pb::Case, ApiError> {
    let case = get_case(conn, ctx, id).await?;
    emit(
        conn,
        ctx,
        events,
        case_subject(&case),
        &pb::CaseUpdated {
            r#case: Some(case.clone()),
        },
    )
    .await?;
    Ok(case)
}

pub(crate) fn case_subject(case: &pb::Case) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&case.id).unwrap_or_default(),
        version: case.version,
        child_ids: case
            .child_ids
            .iter()
            .filter_map(|id| Uuid::parse_str(id).ok())
            .collect(),
    }
}

pub(crate) fn same_authority(
    ctx: &Ctx,
    authority: &AuthorityId,
    field: &str,
) -> Result<(), ApiError> {
    if *authority == ctx.authority {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "{field} is not the caller's authority"
        )))
    }
}

/// `CreateCase`. Emits `CaseCreated`.
///
/// # Errors
/// `PERMISSION_DENIED` for another authority; `FAILED_PRECONDITION` for a
/// request id reused with a different request; database errors.
pub async fn create_case(
    conn: &mut PgConnection,
    ctx: &Ctx,
    key: &RequestKey,
    case: &NewCase,
) -> Result<Written<pb::CreateCaseResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, key).await? {
        return Ok(Written::replay(response));
    }
    same_authority(ctx, &case.authority_id, "case.authority_id")?;
    let id = insert_case(conn, ctx, &case.display_name, &case.external_references).await?;
    let created = get_case(conn, ctx, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        case_subject(&created),
        &pb::CaseCreated {
            r#case: Some(created.clone()),
        },
    )
    .await?;
    let response = pb::CreateCaseResponse {
        r#case: Some(created),
    };
    idempotency::remember(conn, ctx, key, &response).await?;
    Ok(Written::new(response, events))
}

/// `UpdateCase`. Emits `CaseUpdated`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version); database errors.
pub async fn update_case(
    conn: &mut PgConnection,
    ctx: &Ctx,
    update: &CaseUpdate,
) -> Result<Written<pb::UpdateCaseResponse>, ApiError> {
    lock_version(conn, "cases", "case", update.id, update.version).await?;
    sqlx::query(
        "UPDATE cases SET display_name = coalesce($3, display_name), \
                          external_references = coalesce($4, external_references), \
                          version = version + 1, updated_at = $5 \
         WHERE id = $1 AND version = $2",
    )
    .bind(update.id)
    .bind(update.version)
    .bind(update.display_name.as_deref())
    .bind(
        update
            .external_references
            .as_deref()
            .map(ExternalReference::list_to_json),
    )
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let case = get_case(conn, ctx, update.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        case_subject(&case),
        &pb::CaseUpdated {
            r#case: Some(case.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdateCaseResponse { r#case: Some(case) },
        events,
    ))
}

/// `ListCases`: by display name, then id.
///
/// # Errors
/// Database errors.
pub async fn list_cases(
    conn: &mut PgConnection,
    ctx: &Ctx,
    authority: &AuthorityId,
    filter: &CaseFilter,
) -> Result<pb::ListCasesResponse, ApiError> {
    let open = filter.status.map(|s| s == pb::CaseStatus::Open);
    let (person, agency_kind, agency_name) = OwnCases::params(filter.member.as_ref());
    let mut rows: Vec<CaseRow> = sqlx::query_as(&format!(
        "SELECT * FROM ({SELECT_CASE}) q \
         WHERE q.authority_id = $2 \
           AND ($3::bool IS NULL OR q.open = $3) \
           AND ($4::uuid IS NULL OR (q.lead_social_worker->>'person_id')::uuid = $4) \
           AND ($5::uuid IS NULL OR $5 = ANY (q.child_ids)) \
           AND ($6::uuid IS NULL OR (lower(q.display_name), q.id) > \
                (SELECT lower(a.display_name), a.id FROM cases a WHERE a.id = $6 AND {anchor_own})) \
           AND {own} \
         ORDER BY lower(q.display_name), q.id LIMIT $7",
        own = OwnCases::condition("q.id", "$1", 8, ""),
        // A page token's anchor must be a case the caller may list (see
        // `children::list_children`).
        anchor_own = OwnCases::condition("a.id", "$1", 8, ""),
    ))
    .bind(ctx.today)
    .bind(authority.as_str())
    .bind(open)
    .bind(filter.lead_social_worker_id)
    .bind(filter.child_id)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .bind(person)
    .bind(agency_kind)
    .bind(agency_name)
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    Ok(pb::ListCasesResponse {
        cases: rows.into_iter().map(CaseRow::into_proto).collect(),
        next_page_token,
    })
}
