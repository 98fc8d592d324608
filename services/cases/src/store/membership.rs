//! Case membership: `AddCaseMember`, `EndCaseMember`, `ListCaseMembers`.
//! Authorisation reads memberships through [`super::access::members`].

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox::StoredEvent;
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::lock_case;
use super::{Ctx, Written, db, lock_version};
use crate::codes::{AgencyKind, CaseRole, MembershipEndReason};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::PersonRef;
use crate::domain::check::{Check, redacted_debug};
use crate::domain::membership::{MemberEnding, MemberFilter, NewCaseMember};
use crate::events::{Subject, emit};
use crate::idempotency;

/// A membership with the children it covers (empty: all of the case's).
const SELECT_MEMBERSHIP: &str = "\
SELECT m.*, ARRAY(SELECT c.child_id FROM case_membership_children c
                   WHERE c.membership_id = m.id ORDER BY c.child_id) AS child_ids
  FROM case_memberships m";

#[derive(sqlx::FromRow)]
struct MembershipRow {
    id: Uuid,
    case_id: Uuid,
    person_id: Uuid,
    display_name: String,
    agency_kind: Option<AgencyKind>,
    agency_name: Option<String>,
    case_role: CaseRole,
    start_date: NaiveDate,
    end_date: Option<NaiveDate>,
    end_reason: Option<MembershipEndReason>,
    granted_by: serde_json::Value,
    agency_wide: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    child_ids: Vec<Uuid>,
}

redacted_debug!(MembershipRow);

impl MembershipRow {
    fn into_proto(self, today: NaiveDate) -> pb::CaseMembership {
        pb::CaseMembership {
            id: self.id.to_string(),
            version: self.version,
            case_id: self.case_id.to_string(),
            person: Some(
                PersonRef {
                    person_id: self.person_id,
                    display_name: self.display_name,
                    agency_kind: self.agency_kind,
                    agency_name: self.agency_name,
                }
                .to_proto(),
            ),
            case_role: self.case_role.to_i32(),
            child_ids: self.child_ids.iter().map(Uuid::to_string).collect(),
            start_date: Some(date_to_proto(self.start_date)),
            end_date: opt_date_to_proto(self.end_date),
            end_reason: self.end_reason.map_or(0, MembershipEndReason::to_i32),
            granted_by: serde_json::from_value::<PersonRef>(self.granted_by)
                .ok()
                .map(|p| p.to_proto()),
            active: self.start_date <= today && self.end_date.is_none_or(|end| end >= today),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
            agency_wide: self.agency_wide,
        }
    }
}

async fn get_membership(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> Result<pb::CaseMembership, ApiError> {
    let row: MembershipRow = sqlx::query_as(&format!("{SELECT_MEMBERSHIP} WHERE m.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("case membership", id.to_string()))?;
    Ok(row.into_proto(today))
}

/// The children a membership concerns: those it covers, or every child of
/// its case.
async fn subject(
    conn: &mut PgConnection,
    membership: &pb::CaseMembership,
) -> Result<Subject, ApiError> {
    let mut child_ids: Vec<Uuid> = membership
        .child_ids
        .iter()
        .filter_map(|id| Uuid::parse_str(id).ok())
        .collect();
    if child_ids.is_empty() {
        child_ids = sqlx::query_scalar("SELECT id FROM children WHERE case_id = $1 ORDER BY id")
            .bind(Uuid::parse_str(&membership.case_id).unwrap_or_default())
            .fetch_all(&mut *conn)
            .await?;
    }
    Ok(Subject {
        aggregate_id: Uuid::parse_str(&membership.id).unwrap_or_default(),
        version: membership.version,
        child_ids,
    })
}

/// `AddCaseMember`. Emits `CaseMemberAdded`.
///
/// # Errors
/// `NOT_FOUND` (case), `INVALID_ARGUMENT` for a child outside the case or a
/// start before the case existed, `ALREADY_EXISTS` when the person already
/// holds the role on the case in an overlapping period,
/// `FAILED_PRECONDITION` for a reused request id; database errors.
pub async fn add_case_member(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewCaseMember,
) -> Result<Written<pb::AddCaseMemberResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let case_created = lock_case(conn, new.case_id).await?;
    let mut check = Check::new();
    if new.start_date < case_created.date_naive() {
        check.add(
            "membership.start_date",
            "must not be before the case was created",
        );
    }
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM children WHERE case_id = $1 AND id = ANY ($2)")
            .bind(new.case_id)
            .bind(&new.child_ids)
            .fetch_all(&mut *conn)
            .await?;
    for (i, id) in new.child_ids.iter().enumerate() {
        if !found.contains(id) {
            check.add(
                format!("membership.child_ids[{i}]"),
                "is not a child of the case",
            );
        }
    }
    check.finish()?;
    let mut events = Vec::new();
    let grant = Grant {
        case_id: new.case_id,
        person: &new.person,
        role: new.role,
        child_ids: &new.child_ids,
        start_date: new.start_date,
        agency_wide: new.agency_wide,
    };
    let membership = insert_membership(conn, ctx, &grant, &mut events).await?;
    let response = pb::AddCaseMemberResponse {
        membership: Some(membership),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// Makes the person who opened a case a current member of it (as a social
/// worker, for every child), so that they can go on working on what they
/// created: the access policies give a social worker only the cases they
/// are a member of. Emits `CaseMemberAdded`.
///
/// # Errors
/// Database errors.
pub async fn add_creator(
    conn: &mut PgConnection,
    ctx: &Ctx,
    case_id: Uuid,
) -> Result<Vec<StoredEvent>, ApiError> {
    let mut events = Vec::new();
    let grant = Grant {
        case_id,
        person: &ctx.actor,
        role: CaseRole::SocialWorker,
        child_ids: &[],
        start_date: ctx.today,
        agency_wide: false,
    };
    insert_membership(conn, ctx, &grant, &mut events).await?;
    Ok(events)
}

/// A membership about to be inserted (checked by the caller).
struct Grant<'a> {
    case_id: Uuid,
    person: &'a PersonRef,
    role: CaseRole,
    /// Empty: every child of the case.
    child_ids: &'a [Uuid],
    start_date: NaiveDate,
    agency_wide: bool,
}

/// Inserts a membership and emits `CaseMemberAdded`.
async fn insert_membership(
    conn: &mut PgConnection,
    ctx: &Ctx,
    grant: &Grant<'_>,
    events: &mut Vec<StoredEvent>,
) -> Result<pb::CaseMembership, ApiError> {
    let Grant {
        case_id,
        person,
        role,
        child_ids,
        start_date,
        agency_wide,
    } = *grant;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO case_memberships (id, authority_id, case_id, person_id, display_name, agency_kind, agency_name, \
                                       case_role, start_date, granted_by, agency_wide, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(case_id)
    .bind(person.person_id)
    .bind(&person.display_name)
    .bind(person.agency_kind)
    .bind(person.agency_name.as_deref())
    .bind(role)
    .bind(start_date)
    .bind(ctx.actor.to_json())
    .bind(agency_wide)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    for child_id in child_ids {
        sqlx::query(
            "INSERT INTO case_membership_children (membership_id, child_id, case_id, authority_id) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(id)
        .bind(child_id)
        .bind(case_id)
        .bind(ctx.authority.as_str())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    let membership = get_membership(conn, id, ctx.today).await?;
    let subject = subject(conn, &membership).await?;
    emit(
        conn,
        ctx,
        events,
        subject,
        &pb::CaseMemberAdded {
            membership: Some(membership.clone()),
        },
    )
    .await?;
    Ok(membership)
}

/// `EndCaseMember`: access stops after `end_date`. Emits `CaseMemberEnded`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` when
/// already ended, `INVALID_ARGUMENT` for an end before the start; database
/// errors.
pub async fn end_case_member(
    conn: &mut PgConnection,
    ctx: &Ctx,
    ending: &MemberEnding,
) -> Result<Written<pb::EndCaseMemberResponse>, ApiError> {
    lock_version(
        conn,
        "case_memberships",
        "case membership",
        ending.id,
        ending.version,
    )
    .await?;
    let (start, end): (NaiveDate, Option<NaiveDate>) =
        sqlx::query_as("SELECT start_date, end_date FROM case_memberships WHERE id = $1")
            .bind(ending.id)
            .fetch_one(&mut *conn)
            .await?;
    if end.is_some() {
        return Err(ApiError::FailedPrecondition(
            "the membership has already ended".to_owned(),
        ));
    }
    if ending.end_date < start {
        return Err(ApiError::invalid_field(
            "end_date",
            "must be on or after the membership's start date",
        ));
    }
    sqlx::query(
        "UPDATE case_memberships SET end_date = $3, end_reason = $4, version = version + 1, updated_at = $5 \
         WHERE id = $1 AND version = $2",
    )
    .bind(ending.id)
    .bind(ending.version)
    .bind(ending.end_date)
    .bind(ending.reason)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let membership = get_membership(conn, ending.id, ctx.today).await?;
    let mut events = Vec::new();
    let subject = subject(conn, &membership).await?;
    emit(
        conn,
        ctx,
        &mut events,
        subject,
        &pb::CaseMemberEnded {
            membership: Some(membership.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::EndCaseMemberResponse {
            membership: Some(membership),
        },
        events,
    ))
}

/// `ListCaseMembers`: current memberships first, then by start date.
///
/// # Errors
/// Database errors.
pub async fn list_case_members(
    conn: &mut PgConnection,
    filter: &MemberFilter,
    today: NaiveDate,
) -> Result<pb::ListCaseMembersResponse, ApiError> {
    let mut rows: Vec<MembershipRow> = sqlx::query_as(&format!(
        "{SELECT_MEMBERSHIP} \
         WHERE ($1::uuid IS NULL OR m.case_id = $1) \
           AND ($2::uuid IS NULL OR m.case_id = (SELECT case_id FROM children WHERE id = $2)) \
           AND ($2::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = m.id) \
                OR EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = m.id AND c.child_id = $2)) \
           AND ($3::uuid IS NULL OR m.person_id = $3) \
           AND ($4::text IS NULL OR m.case_role = $4) \
           AND (NOT $5 OR (m.start_date <= $6 AND (m.end_date IS NULL OR m.end_date >= $6))) \
           AND ($7::uuid IS NULL OR ((m.end_date IS NOT NULL), m.start_date, m.id) > \
                (SELECT (a.end_date IS NOT NULL), a.start_date, a.id FROM case_memberships a WHERE a.id = $7 \
                    AND ($1::uuid IS NULL OR a.case_id = $1) \
                    AND ($2::uuid IS NULL OR a.case_id = (SELECT case_id FROM children WHERE id = $2)) \
                    AND ($2::uuid IS NULL OR NOT EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = a.id) \
                         OR EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = a.id AND c.child_id = $2)))) \
         ORDER BY (m.end_date IS NOT NULL), m.start_date, m.id LIMIT $8"
    ))
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.person_id)
    .bind(filter.role)
    .bind(filter.active_only)
    .bind(today)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    Ok(pb::ListCaseMembersResponse {
        memberships: rows.into_iter().map(|r| r.into_proto(today)).collect(),
        next_page_token,
    })
}
