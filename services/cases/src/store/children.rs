//! Children: `CreateChild`, `GetChild`, `ListChildren`, `UpdateChild`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::access::CHILD_RESOURCE;
use cpc_proto::cases::v1 as pb;
use cpc_rules::census::Sex;
use cpc_rules::identifiers::UpnUnknownReason;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::{bump_case, emit_case_updated, insert_case, lock_case, same_authority};
use super::{Ctx, Written, db, lock_version, missing_or_stale};
use crate::codes;
use crate::convert::{opt_date_to_proto, timestamp_to_proto};
use crate::domain::AuthorityId;
use crate::domain::check::redacted_debug;
use crate::domain::child::{ChildDetails, ChildFilter, ChildUpdate, OwnCases};
use crate::domain::common::ExternalReference;
use crate::events::{Subject, emit};
use crate::idempotency::{self, RequestKey};

#[derive(sqlx::FromRow)]
pub(crate) struct ChildRow {
    pub id: Uuid,
    pub authority_id: String,
    pub case_id: Uuid,
    pub la_child_id: String,
    pub upn: Option<String>,
    pub upn_unknown_reason: Option<String>,
    pub former_upn: Option<String>,
    pub nhs_number: Option<String>,
    pub given_names: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub expected_birth_date: Option<NaiveDate>,
    pub death_date: Option<NaiveDate>,
    pub sex: String,
    pub ethnicity_code: Option<String>,
    pub disability_codes: Vec<String>,
    pub first_language: Option<String>,
    pub external_references: serde_json::Value,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

redacted_debug!(ChildRow);

impl ChildRow {
    /// `FAILED_PRECONDITION` with `why` when the child's recorded death is
    /// before `on`, the date of a record that would make a conference due
    /// ([`crate::domain::plan::DIED_BEFORE_ENQUIRY`],
    /// [`crate::domain::plan::DIED_BEFORE_TRANSFER_IN`]).
    pub(crate) fn living_on(&self, on: NaiveDate, why: &str) -> Result<(), ApiError> {
        match self.death_date {
            Some(died) if died < on => Err(ApiError::FailedPrecondition(why.to_owned())),
            _ => Ok(()),
        }
    }

    pub(crate) fn into_proto(self) -> pb::Child {
        let sex = self
            .sex
            .parse::<Sex>()
            .map_or(pb::Sex::Unspecified, codes::sex_to_proto);
        let upn_unknown_reason = self
            .upn_unknown_reason
            .as_deref()
            .and_then(|code| code.parse::<UpnUnknownReason>().ok())
            .map_or(
                pb::UpnUnknownReason::Unspecified,
                codes::upn_unknown_to_proto,
            );
        pb::Child {
            id: self.id.to_string(),
            version: self.version,
            authority_id: self.authority_id,
            case_id: self.case_id.to_string(),
            la_child_id: self.la_child_id,
            upn: self.upn.unwrap_or_default(),
            upn_unknown_reason: upn_unknown_reason as i32,
            former_upn: self.former_upn.unwrap_or_default(),
            nhs_number: self.nhs_number.unwrap_or_default(),
            given_names: self.given_names,
            family_name: self.family_name,
            preferred_name: self.preferred_name.unwrap_or_default(),
            birth_date: opt_date_to_proto(self.birth_date),
            expected_birth_date: opt_date_to_proto(self.expected_birth_date),
            death_date: opt_date_to_proto(self.death_date),
            sex: sex as i32,
            ethnicity_code: self.ethnicity_code.unwrap_or_default(),
            disability_codes: self.disability_codes,
            first_language: self.first_language.unwrap_or_default(),
            external_references: ExternalReference::list_from_json(&self.external_references),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// The stored child row, locked for this transaction when `lock`.
pub(crate) async fn child_row(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<ChildRow, ApiError> {
    let sql = if lock {
        "SELECT * FROM children WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM children WHERE id = $1"
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found(CHILD_RESOURCE, id.to_string()))
}

/// `GetChild`.
///
/// # Errors
/// `NOT_FOUND` (including another authority's child); database errors.
pub async fn get_child(conn: &mut PgConnection, id: Uuid) -> Result<pb::Child, ApiError> {
    Ok(child_row(conn, id, false).await?.into_proto())
}

fn child_subject(child: &pb::Child) -> Subject {
    let id = Uuid::parse_str(&child.id).unwrap_or_default();
    Subject {
        aggregate_id: id,
        version: child.version,
        child_ids: vec![id],
    }
}

/// `CreateChild`. Opens a new case when none is given. Emits
/// `CaseCreated` + `ChildRegistered` (new case) or `ChildRegistered` +
/// `CaseUpdated` (joining a sibling group).
///
/// # Errors
/// `PERMISSION_DENIED` for another authority, `NOT_FOUND` for an unknown
/// case, `ALREADY_EXISTS` for a duplicate LA child id, `FAILED_PRECONDITION`
/// for a reused request id; database errors.
pub async fn create_child(
    conn: &mut PgConnection,
    ctx: &Ctx,
    key: &RequestKey,
    child: &ChildDetails,
) -> Result<Written<pb::CreateChildResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, key).await? {
        return Ok(Written::replay(response));
    }
    same_authority(ctx, &child.authority_id, "child.authority_id")?;
    let (case_id, new_case) = match child.case_id {
        Some(case_id) => {
            lock_case(conn, case_id).await?;
            (case_id, false)
        }
        None => {
            let label = format!("{} family", child.family_name);
            let label: String = label.chars().take(200).collect();
            (insert_case(conn, ctx, &label, &[]).await?, true)
        }
    };
    let id = Uuid::now_v7();
    let sql = format!(
        "INSERT INTO children (id, authority_id, case_id, {COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)"
    );
    bind_details(
        sqlx::query(&sql)
            .bind(id)
            .bind(ctx.authority.as_str())
            .bind(case_id),
        child,
    )
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if !new_case {
        bump_case(conn, ctx, case_id).await?;
    }
    let created = get_child(conn, id).await?;
    let mut events = Vec::new();
    if new_case {
        let case = super::cases::get_case(conn, ctx, case_id).await?;
        emit(
            conn,
            ctx,
            &mut events,
            super::cases::case_subject(&case),
            &pb::CaseCreated { r#case: Some(case) },
        )
        .await?;
    }
    emit(
        conn,
        ctx,
        &mut events,
        child_subject(&created),
        &pb::ChildRegistered {
            child: Some(created.clone()),
        },
    )
    .await?;
    if !new_case {
        emit_case_updated(conn, ctx, &mut events, case_id).await?;
    }
    let response = pb::CreateChildResponse {
        child: Some(created),
    };
    idempotency::remember(conn, ctx, key, &response).await?;
    Ok(Written::new(response, events))
}

/// The detail columns, in the order [`bind_details`] binds them.
const COLUMNS: &str = "la_child_id, upn, upn_unknown_reason, former_upn, nhs_number, given_names, family_name, \
                       preferred_name, birth_date, expected_birth_date, death_date, sex, ethnicity_code, \
                       disability_codes, first_language, external_references";

fn bind_details<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    c: &'q ChildDetails,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(c.la_child_id.as_str())
        .bind(c.upn.as_ref().map(|u| u.as_str().to_owned()))
        .bind(c.upn_unknown_reason.map(|r| r.code()))
        .bind(c.former_upn.as_ref().map(|u| u.as_str().to_owned()))
        .bind(c.nhs_number.as_ref().map(|n| n.as_str().to_owned()))
        .bind(c.given_names.as_str())
        .bind(c.family_name.as_str())
        .bind(c.preferred_name.as_deref())
        .bind(c.birth_date)
        .bind(c.expected_birth_date)
        .bind(c.death_date)
        .bind(c.sex.code())
        .bind(c.ethnicity.map(|e| e.code()))
        .bind(
            c.disabilities
                .iter()
                .map(|d| d.code().to_owned())
                .collect::<Vec<_>>(),
        )
        .bind(c.first_language.as_deref())
        .bind(ExternalReference::list_to_json(&c.external_references))
}

/// `UpdateChild`. Emits `ChildUpdated` (with the fields that changed);
/// also `ChildBorn` when a birth date is set for the first time, and
/// `ChildDied` when a death date is set, ending any open plan with reason
/// DIED (`PlanEnded`); moving the child to another case emits `CaseUpdated`
/// for both cases. An update that changes nothing writes nothing.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `INVALID_ARGUMENT` for a child
/// the update would make invalid, `ALREADY_EXISTS` for a duplicate LA child
/// id, `FAILED_PRECONDITION` for a move that would strand relationships or
/// memberships; database errors.
pub async fn update_child(
    conn: &mut PgConnection,
    ctx: &Ctx,
    update: &ChildUpdate,
) -> Result<Written<pb::UpdateChildResponse>, ApiError> {
    lock_version(conn, "children", CHILD_RESOURCE, update.id, update.version).await?;
    let before = child_row(conn, update.id, false).await?;
    let (born_before, died_before, case_before) =
        (before.birth_date, before.death_date, before.case_id);
    let current = before.into_proto();
    let (details, changed) = update.apply(&current, ctx.today)?;
    if changed.is_empty() {
        return Ok(Written::new(
            pb::UpdateChildResponse {
                child: Some(current),
            },
            Vec::new(),
        ));
    }
    let case_after = details.case_id.unwrap_or(case_before);
    let moved = case_after != case_before;
    if moved {
        // Both cases, in id order, so concurrent moves cannot deadlock.
        lock_case(conn, case_before.min(case_after)).await?;
        lock_case(conn, case_before.max(case_after)).await?;
    }
    let sql = format!(
        "UPDATE children SET ({COLUMNS}) = ($3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18), \
                             case_id = $19, version = version + 1, updated_at = $20 \
         WHERE id = $1 AND version = $2"
    );
    let done = bind_details(
        sqlx::query(&sql).bind(update.id).bind(update.version),
        &details,
    )
    .bind(case_after)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(
            missing_or_stale(conn, "children", CHILD_RESOURCE, update.id, update.version).await,
        );
    }
    // Every write before the first event: the feed's lock is held from the
    // first append to commit, so no row lock is taken after it.
    let died = match (died_before, details.death_date) {
        (None, Some(death)) => {
            Some(super::plans::end_open_plan_on_death(conn, ctx, update.id, death).await?)
        }
        _ => None,
    };
    if moved {
        bump_case(conn, ctx, case_before).await?;
        bump_case(conn, ctx, case_after).await?;
    }
    let child = get_child(conn, update.id).await?;
    let mut events = Vec::new();
    let subject = child_subject(&child);
    emit(
        conn,
        ctx,
        &mut events,
        subject.clone(),
        &pb::ChildUpdated {
            child: Some(child.clone()),
            changed_fields: changed,
        },
    )
    .await?;
    if born_before.is_none() && details.birth_date.is_some() {
        emit(
            conn,
            ctx,
            &mut events,
            subject.clone(),
            &pb::ChildBorn {
                child: Some(child.clone()),
            },
        )
        .await?;
    }
    if let Some(ended_plan) = died {
        emit(
            conn,
            ctx,
            &mut events,
            subject,
            &pb::ChildDied {
                child: Some(child.clone()),
            },
        )
        .await?;
        if let Some(plan_id) = ended_plan {
            super::plans::emit_ended(conn, ctx, &mut events, plan_id).await?;
        }
    }
    if moved {
        emit_case_updated(conn, ctx, &mut events, case_before).await?;
        emit_case_updated(conn, ctx, &mut events, case_after).await?;
    }
    Ok(Written::new(
        pb::UpdateChildResponse { child: Some(child) },
        events,
    ))
}

/// [`OwnCases::condition`] for the child aliased `child`: a membership of
/// its case covering it (the whole case, or that child).
fn own_child(child: &str) -> String {
    OwnCases::condition(
        &format!("{child}.case_id"),
        "$12",
        13,
        &format!(
            "AND (NOT EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = m.id) \
                  OR EXISTS (SELECT 1 FROM case_membership_children c \
                              WHERE c.membership_id = m.id AND c.child_id = {child}.id))"
        ),
    )
}

/// `ListChildren`: by family name, given names, id.
///
/// # Errors
/// Database errors.
pub async fn list_children(
    conn: &mut PgConnection,
    authority: &AuthorityId,
    filter: &ChildFilter,
    today: NaiveDate,
) -> Result<pb::ListChildrenResponse, ApiError> {
    let (person, agency_kind, agency_name) = OwnCases::params(filter.member.as_ref());
    let mut rows: Vec<ChildRow> = sqlx::query_as(&format!(
        "SELECT ch.* FROM children ch \
         WHERE ch.authority_id = $1 \
           AND ($2::uuid IS NULL OR ch.case_id = $2) \
           AND ($3::text IS NULL OR ch.la_child_id = $3) \
           AND ($4::text IS NULL OR ch.nhs_number = $4) \
           AND ($5::text IS NULL OR starts_with(lower(ch.family_name), lower($5))) \
           AND ($6::bool IS NULL OR EXISTS (SELECT 1 FROM plans p WHERE p.child_id = ch.id AND p.end_date IS NULL) = $6) \
           AND ($7::text IS NULL OR EXISTS (SELECT 1 FROM plans p WHERE p.child_id = ch.id AND p.end_date IS NULL \
                                                                     AND p.latest_category = $7)) \
           AND ($8::uuid IS NULL OR EXISTS (SELECT 1 FROM plans p WHERE p.child_id = ch.id AND p.end_date IS NULL \
                                                                     AND p.lead_social_worker_id = $8)) \
           AND (NOT $9 OR ch.birth_date IS NULL) \
           AND ($10::uuid IS NULL OR (lower(ch.family_name), lower(ch.given_names), ch.id) > \
                (SELECT lower(a.family_name), lower(a.given_names), a.id FROM children a \
                  WHERE a.id = $10 AND {anchor_own})) \
           AND {own} \
         ORDER BY lower(ch.family_name), lower(ch.given_names), ch.id LIMIT $11",
        own = own_child("ch"),
        // A page token's anchor must be a child the caller may list: else a
        // token made up around another child's id would show, by where the
        // page starts, how that child's name sorts.
        anchor_own = own_child("a"),
    ))
    .bind(authority.as_str())
    .bind(filter.case_id)
    .bind(filter.la_child_id.as_ref().map(|id| id.as_str().to_owned()))
    .bind(filter.nhs_number.as_ref().map(|n| n.as_str().to_owned()))
    .bind(filter.family_name_prefix.as_deref())
    .bind(filter.has_active_plan)
    .bind(filter.category.map(|c| c.code()))
    .bind(filter.lead_social_worker_id)
    .bind(filter.unborn_only)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .bind(today)
    .bind(person)
    .bind(agency_kind)
    .bind(agency_name)
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    Ok(pb::ListChildrenResponse {
        children: rows.into_iter().map(ChildRow::into_proto).collect(),
        next_page_token,
    })
}
