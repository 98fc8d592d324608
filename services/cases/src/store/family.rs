//! Family members: `AddFamilyMember`, `GetFamilyMember`,
//! `ListFamilyMembers`, `UpdateFamilyMember`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use sqlx::PgConnection;
use uuid::Uuid;

use super::cases::lock_case;
use super::{Ctx, Written, db, lock_version};
use crate::codes::Relationship;
use crate::convert::{opt_date_to_proto, timestamp_to_proto};
use crate::domain::check::{Check, redacted_debug};
use crate::domain::family::{
    FamilyMemberDetails, FamilyMemberFilter, FamilyMemberUpdate, NewFamilyMember,
};
use crate::events::{Subject, emit};
use crate::idempotency;

#[derive(sqlx::FromRow)]
struct MemberRow {
    id: Uuid,
    case_id: Uuid,
    given_names: String,
    family_name: String,
    birth_date: Option<NaiveDate>,
    address_lines: Vec<String>,
    address_town: Option<String>,
    address_postcode: Option<String>,
    address_confidential: bool,
    phone: Option<String>,
    email: Option<String>,
    preferred_language: Option<String>,
    interpreter_needed: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct RelationshipRow {
    child_id: Uuid,
    relationship: Relationship,
    relationship_detail: Option<String>,
    parental_responsibility: bool,
    lives_with_child: bool,
}

redacted_debug!(MemberRow, RelationshipRow);

async fn load(conn: &mut PgConnection, row: MemberRow) -> Result<pb::FamilyMember, ApiError> {
    let relationships: Vec<RelationshipRow> = sqlx::query_as(
        "SELECT child_id, relationship, relationship_detail, parental_responsibility, lives_with_child \
         FROM family_relationships WHERE family_member_id = $1 ORDER BY child_id",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    let has_address = !row.address_lines.is_empty()
        || row.address_town.is_some()
        || row.address_postcode.is_some();
    Ok(pb::FamilyMember {
        id: row.id.to_string(),
        version: row.version,
        case_id: row.case_id.to_string(),
        given_names: row.given_names,
        family_name: row.family_name,
        birth_date: opt_date_to_proto(row.birth_date),
        relationships: relationships
            .into_iter()
            .map(|r| pb::ChildRelationship {
                child_id: r.child_id.to_string(),
                relationship: r.relationship.to_i32(),
                relationship_detail: r.relationship_detail.unwrap_or_default(),
                parental_responsibility: r.parental_responsibility,
                lives_with_child: r.lives_with_child,
            })
            .collect(),
        address: has_address.then(|| common::PostalAddress {
            lines: row.address_lines,
            town: row.address_town.unwrap_or_default(),
            postcode: row.address_postcode.unwrap_or_default(),
        }),
        address_confidential: row.address_confidential,
        phone: row.phone.unwrap_or_default(),
        email: row.email.unwrap_or_default(),
        preferred_language: row.preferred_language.unwrap_or_default(),
        interpreter_needed: row.interpreter_needed,
        create_time: Some(timestamp_to_proto(row.created_at)),
        update_time: Some(timestamp_to_proto(row.updated_at)),
    })
}

/// `GetFamilyMember`. (Withholding a confidential address from callers who
/// may not see it is the gRPC layer's decision, made with authorisation.)
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_family_member(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::FamilyMember, ApiError> {
    let row: MemberRow = sqlx::query_as("SELECT * FROM family_members WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("family member", id.to_string()))?;
    load(conn, row).await
}

/// Every relationship must name a child of the member's case.
async fn check_children_in_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    details: &FamilyMemberDetails,
) -> Result<(), ApiError> {
    let ids: Vec<Uuid> = details.relationships.iter().map(|r| r.child_id).collect();
    let found: Vec<Uuid> =
        sqlx::query_scalar("SELECT id FROM children WHERE case_id = $1 AND id = ANY ($2)")
            .bind(case_id)
            .bind(&ids)
            .fetch_all(&mut *conn)
            .await?;
    let mut check = Check::new();
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            check.add(
                format!("family_member.relationships[{i}].child_id"),
                "is not a child of the case",
            );
        }
    }
    check.finish()
}

async fn write_relationships(
    conn: &mut PgConnection,
    ctx: &Ctx,
    member_id: Uuid,
    details: &FamilyMemberDetails,
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM family_relationships WHERE family_member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    for r in &details.relationships {
        sqlx::query(
            "INSERT INTO family_relationships (family_member_id, child_id, case_id, authority_id, relationship, \
                                               relationship_detail, parental_responsibility, lives_with_child) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(member_id)
        .bind(r.child_id)
        .bind(details.case_id)
        .bind(ctx.authority.as_str())
        .bind(r.relationship)
        .bind(r.detail.as_deref())
        .bind(r.parental_responsibility)
        .bind(r.lives_with_child)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

fn subject(member: &pb::FamilyMember) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&member.id).unwrap_or_default(),
        version: member.version,
        child_ids: member
            .relationships
            .iter()
            .filter_map(|r| Uuid::parse_str(&r.child_id).ok())
            .collect(),
    }
}

/// `AddFamilyMember`. Emits `FamilyMemberAdded`.
///
/// # Errors
/// `NOT_FOUND` for an unknown case, `INVALID_ARGUMENT` for a relationship
/// to a child outside the case, `FAILED_PRECONDITION` for a reused request
/// id; database errors.
pub async fn add_family_member(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewFamilyMember,
) -> Result<Written<pb::AddFamilyMemberResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let d = &new.details;
    lock_case(conn, d.case_id).await?;
    check_children_in_case(conn, d.case_id, d).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO family_members (id, authority_id, case_id, given_names, family_name, birth_date, address_lines, \
                                     address_town, address_postcode, address_confidential, phone, email, \
                                     preferred_language, interpreter_needed, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(d.case_id)
    .bind(&d.given_names)
    .bind(&d.family_name)
    .bind(d.birth_date)
    .bind(&d.address.lines)
    .bind(d.address.town.as_deref())
    .bind(d.address.postcode.as_deref())
    .bind(d.address_confidential)
    .bind(d.phone.as_deref())
    .bind(d.email.as_deref())
    .bind(d.preferred_language.as_deref())
    .bind(d.interpreter_needed)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_relationships(conn, ctx, id, d).await?;
    let member = get_family_member(conn, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&member),
        &pb::FamilyMemberAdded {
            family_member: Some(member.clone()),
        },
    )
    .await?;
    let response = pb::AddFamilyMemberResponse {
        family_member: Some(member),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// `UpdateFamilyMember`. Emits `FamilyMemberUpdated`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `INVALID_ARGUMENT` for a member
/// the update would make invalid; database errors.
pub async fn update_family_member(
    conn: &mut PgConnection,
    ctx: &Ctx,
    update: &FamilyMemberUpdate,
) -> Result<Written<pb::UpdateFamilyMemberResponse>, ApiError> {
    lock_version(
        conn,
        "family_members",
        "family member",
        update.id,
        update.version,
    )
    .await?;
    let current = get_family_member(conn, update.id).await?;
    let d = update.apply(&current, ctx.today)?;
    check_children_in_case(conn, d.case_id, &d).await?;
    sqlx::query(
        "UPDATE family_members SET given_names = $3, family_name = $4, birth_date = $5, address_lines = $6, \
                address_town = $7, address_postcode = $8, address_confidential = $9, phone = $10, email = $11, \
                preferred_language = $12, interpreter_needed = $13, version = version + 1, updated_at = $14 \
         WHERE id = $1 AND version = $2",
    )
    .bind(update.id)
    .bind(update.version)
    .bind(&d.given_names)
    .bind(&d.family_name)
    .bind(d.birth_date)
    .bind(&d.address.lines)
    .bind(d.address.town.as_deref())
    .bind(d.address.postcode.as_deref())
    .bind(d.address_confidential)
    .bind(d.phone.as_deref())
    .bind(d.email.as_deref())
    .bind(d.preferred_language.as_deref())
    .bind(d.interpreter_needed)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_relationships(conn, ctx, update.id, &d).await?;
    let member = get_family_member(conn, update.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&member),
        &pb::FamilyMemberUpdated {
            family_member: Some(member.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdateFamilyMemberResponse {
            family_member: Some(member),
        },
        events,
    ))
}

/// `ListFamilyMembers`: by family name, given names, id.
///
/// # Errors
/// Database errors.
pub async fn list_family_members(
    conn: &mut PgConnection,
    filter: &FamilyMemberFilter,
) -> Result<pb::ListFamilyMembersResponse, ApiError> {
    let mut rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT m.* FROM family_members m \
         WHERE ($1::uuid IS NULL OR m.case_id = $1) \
           AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM family_relationships r \
                                             WHERE r.family_member_id = m.id AND r.child_id = $2)) \
           AND (NOT $3 OR EXISTS (SELECT 1 FROM family_relationships r \
                                   WHERE r.family_member_id = m.id AND r.parental_responsibility)) \
           AND ($4::uuid IS NULL OR (lower(m.family_name), lower(m.given_names), m.id) > \
                (SELECT lower(a.family_name), lower(a.given_names), a.id FROM family_members a WHERE a.id = $4 \
                    AND ($1::uuid IS NULL OR a.case_id = $1) \
                    AND ($2::uuid IS NULL OR EXISTS (SELECT 1 FROM family_relationships r \
                                                      WHERE r.family_member_id = a.id AND r.child_id = $2)))) \
         ORDER BY lower(m.family_name), lower(m.given_names), m.id LIMIT $5",
    )
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.parental_responsibility_only)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    let mut family_members = Vec::with_capacity(rows.len());
    for row in rows {
        family_members.push(load(conn, row).await?);
    }
    Ok(pb::ListFamilyMembersResponse {
        family_members,
        next_page_token,
    })
}
