//! Escalations: raised about a child's plan, owned at each stage of the
//! route by a named person who must respond by a date, moved on stage by
//! stage with a reason, and resolved with an outcome.
//!
//! Every stage change, the opening included, is appended to
//! `escalation_stage_changes` and never changed: the history is what a
//! safeguarding partnership asks for when a case reaches it.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_authz::EscalationStage as Stage;
use cpc_platform::ApiError;
use cpc_platform::case_members::RecordChildren;
use cpc_platform::convert::{date_to_proto, timestamp_to_proto};
use cpc_platform::idempotency::{self, RequestKey};
use cpc_platform::outbox::{self, About};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Ctx, cases, decode, drift};

/// The method name request ids are kept under.
pub const RAISE: &str = "RaiseEscalation";

/// A checked new escalation.
#[derive(Clone)]
pub struct NewEscalation {
    pub key: RequestKey,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    pub plan_id: Option<Uuid>,
    pub reason_kind: &'static str,
    pub reason: String,
    pub concerned_agency_kind: i32,
    pub concerned_agency_name: String,
    /// Findings cited, each of the case.
    pub drift_finding_ids: Vec<Uuid>,
    pub stage: Stage,
    pub owner: common::PersonRef,
    pub response_due_on: NaiveDate,
}

cpc_platform::redacted_debug!(NewEscalation);

/// A checked move to the next stage.
#[derive(Clone)]
pub struct Move {
    pub reason: String,
    pub new_owner: common::PersonRef,
    pub response_due_on: NaiveDate,
}

cpc_platform::redacted_debug!(Move);

/// A checked resolution.
#[derive(Clone)]
pub struct Resolution {
    pub kind: pb::OutcomeKind,
    pub summary: String,
}

cpc_platform::redacted_debug!(Resolution);

/// A checked list query.
#[derive(Debug, Clone)]
pub struct EscalationFilter {
    pub status: Option<&'static str>,
    pub stage: Option<Stage>,
    pub reason_kind: Option<&'static str>,
    pub owner_id: Option<String>,
    pub raised_by_id: Option<String>,
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub concerned_agency_kind: Option<i32>,
    pub response_due_before: Option<NaiveDate>,
    pub page: PageRequest,
}

/// What the policies and the service rules need to know of an escalation
/// before a call on it.
#[derive(Debug, Clone)]
pub struct Located {
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    pub stage: Stage,
    pub raised_by_id: String,
}

/// `EscalationStage` as the policies name it.
#[must_use]
pub fn stage_of(stage: pb::EscalationStage) -> Option<Stage> {
    match stage {
        pb::EscalationStage::Unspecified => None,
        pb::EscalationStage::ChairMidwayReview => Some(Stage::ChairMidwayReview),
        pb::EscalationStage::TeamManager => Some(Stage::TeamManager),
        pb::EscalationStage::ServiceManager => Some(Stage::ServiceManager),
        pb::EscalationStage::HeadOfService => Some(Stage::HeadOfService),
        pb::EscalationStage::SafeguardingPartnership => Some(Stage::SafeguardingPartnership),
    }
}

fn stage_to_proto(stage: Stage) -> pb::EscalationStage {
    match stage {
        Stage::ChairMidwayReview => pb::EscalationStage::ChairMidwayReview,
        Stage::TeamManager => pb::EscalationStage::TeamManager,
        Stage::ServiceManager => pb::EscalationStage::ServiceManager,
        Stage::HeadOfService => pb::EscalationStage::HeadOfService,
        Stage::SafeguardingPartnership => pb::EscalationStage::SafeguardingPartnership,
    }
}

fn stage_from_code(code: &str) -> Result<Stage, ApiError> {
    Stage::ALL
        .into_iter()
        .find(|s| s.as_str() == code)
        .ok_or_else(|| ApiError::internal("a stored escalation stage is unknown"))
}

/// The stage after `stage` on the route; none after the partnership.
#[must_use]
pub fn next_stage(stage: Stage) -> Option<Stage> {
    let at = Stage::ALL.iter().position(|s| *s == stage)?;
    Stage::ALL.get(at + 1).copied()
}

/// `EscalationReason` as stored.
#[must_use]
pub fn reason_code(reason: pb::EscalationReason) -> Option<&'static str> {
    match reason {
        pb::EscalationReason::Unspecified => None,
        pb::EscalationReason::DriftAndDelay => Some("drift_and_delay"),
        pb::EscalationReason::ProcessNotFollowed => Some("process_not_followed"),
        pb::EscalationReason::AgencyNotDelivering => Some("agency_not_delivering"),
        pb::EscalationReason::SafeguardingConcern => Some("safeguarding_concern"),
    }
}

fn reason_of(code: &str) -> pb::EscalationReason {
    match code {
        "drift_and_delay" => pb::EscalationReason::DriftAndDelay,
        "process_not_followed" => pb::EscalationReason::ProcessNotFollowed,
        "agency_not_delivering" => pb::EscalationReason::AgencyNotDelivering,
        "safeguarding_concern" => pb::EscalationReason::SafeguardingConcern,
        _ => pb::EscalationReason::Unspecified,
    }
}

/// `EscalationStatus` as stored.
#[must_use]
pub fn status_code(status: pb::EscalationStatus) -> Option<&'static str> {
    match status {
        pb::EscalationStatus::Unspecified => None,
        pb::EscalationStatus::Open => Some("open"),
        pb::EscalationStatus::Resolved => Some("resolved"),
    }
}

/// Raises an escalation about children of a case the caller may raise one
/// on; the opening is the first entry of its history.
///
/// # Errors
/// `INVALID_ARGUMENT` naming a child not of the case, a plan not of its
/// children, or a drift finding not of the case; database errors.
pub async fn raise(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewEscalation,
) -> Result<pb::RaiseEscalationResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(response);
    }
    if let Some(i) = cases::first_stranger(conn, new.case_id, &new.child_ids).await? {
        return Err(ApiError::invalid_field(
            format!("escalation.child_ids[{i}]"),
            "is not a child of the case",
        ));
    }
    if let Some(plan) = new.plan_id
        && !cases::plan_of_any(conn, plan, &new.child_ids).await?
    {
        return Err(ApiError::invalid_field(
            "escalation.plan_id",
            "is not a plan of the escalation's children",
        ));
    }
    if let Some(i) = drift::first_stranger(conn, new.case_id, &new.drift_finding_ids).await? {
        return Err(ApiError::invalid_field(
            format!("escalation.drift_finding_ids[{i}]"),
            "is not a drift finding of the case",
        ));
    }
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO escalations (id, authority_id, case_id, child_ids, plan_id, raised_by, \
                                  raised_by_id, reason_kind, reason, concerned_agency_kind, \
                                  concerned_agency_name, stage, owner, owner_id, \
                                  response_due_on, status, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'open', \
                 $16, $16)",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(new.case_id)
    .bind(&new.child_ids)
    .bind(new.plan_id)
    .bind(ctx.actor.encode_to_vec())
    .bind(&ctx.actor.person_id)
    .bind(new.reason_kind)
    .bind(&new.reason)
    .bind(new.concerned_agency_kind)
    .bind(&new.concerned_agency_name)
    .bind(new.stage.as_str())
    .bind(new.owner.encode_to_vec())
    .bind(&new.owner.person_id)
    .bind(new.response_due_on)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let opening = pb::StageChange {
        from_stage: pb::EscalationStage::Unspecified as i32,
        to_stage: stage_to_proto(new.stage) as i32,
        reason: new.reason.clone(),
        previous_owner: None,
        new_owner: Some(new.owner.clone()),
        response_due_date: Some(date_to_proto(new.response_due_on)),
        changed_by: Some(ctx.actor.clone()),
        change_time: Some(timestamp_to_proto(ctx.now)),
    };
    append_change(conn, ctx, id, &opening).await?;
    drift::cite(conn, &ctx.authority, id, &new.drift_finding_ids).await?;
    let escalation = load(conn, id, ctx.today).await?;
    let payload = pb::EscalationRaised {
        escalation: Some(escalation.clone()),
    };
    publish(
        conn,
        (&ctx.authority, ctx.now),
        &escalation,
        "cpc.escalation.v1.EscalationRaised",
        &payload,
    )
    .await?;
    let response = pb::RaiseEscalationResponse {
        escalation: Some(escalation),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(response)
}

/// Moves an open escalation to the next stage, with a new owner and due
/// date.
///
/// # Errors
/// `NOT_FOUND`; `FAILED_PRECONDITION` when resolved or at the last stage;
/// `ABORTED` for a stale version; database errors.
pub async fn advance(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    step: &Move,
) -> Result<pb::Escalation, ApiError> {
    let current = lock(conn, id, version).await?;
    let Some(next) = next_stage(current.stage) else {
        return Err(ApiError::FailedPrecondition(
            "the escalation is at the safeguarding partnership, the last stage; resolve it"
                .to_owned(),
        ));
    };
    sqlx::query(
        "UPDATE escalations SET stage = $2, owner = $3, owner_id = $4, response_due_on = $5 \
          WHERE id = $1",
    )
    .bind(id)
    .bind(next.as_str())
    .bind(step.new_owner.encode_to_vec())
    .bind(&step.new_owner.person_id)
    .bind(step.response_due_on)
    .execute(&mut *conn)
    .await?;
    let change = pb::StageChange {
        from_stage: stage_to_proto(current.stage) as i32,
        to_stage: stage_to_proto(next) as i32,
        reason: step.reason.clone(),
        previous_owner: Some(decode(&current.owner)?),
        new_owner: Some(step.new_owner.clone()),
        response_due_date: Some(date_to_proto(step.response_due_on)),
        changed_by: Some(ctx.actor.clone()),
        change_time: Some(timestamp_to_proto(ctx.now)),
    };
    append_change(conn, ctx, id, &change).await?;
    bump(conn, id, ctx.now).await?;
    let escalation = load(conn, id, ctx.today).await?;
    let payload = pb::EscalationAdvanced {
        escalation: Some(escalation.clone()),
        change: Some(change),
    };
    publish(
        conn,
        (&ctx.authority, ctx.now),
        &escalation,
        "cpc.escalation.v1.EscalationAdvanced",
        &payload,
    )
    .await?;
    Ok(escalation)
}

/// Resolves an open escalation with an outcome; a withdrawal only by the
/// person who raised it (the flow refuses anyone else before this runs).
///
/// # Errors
/// `NOT_FOUND`; `FAILED_PRECONDITION` when already resolved; `ABORTED`
/// for a stale version; database errors.
pub async fn resolve(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    resolution: &Resolution,
) -> Result<pb::Escalation, ApiError> {
    lock(conn, id, version).await?;
    let outcome = pb::EscalationOutcome {
        kind: resolution.kind as i32,
        summary: resolution.summary.clone(),
        resolved_by: Some(ctx.actor.clone()),
        resolve_time: Some(timestamp_to_proto(ctx.now)),
    };
    sqlx::query("UPDATE escalations SET status = 'resolved', outcome = $2 WHERE id = $1")
        .bind(id)
        .bind(outcome.encode_to_vec())
        .execute(&mut *conn)
        .await?;
    bump(conn, id, ctx.now).await?;
    let escalation = load(conn, id, ctx.today).await?;
    let payload = pb::EscalationResolved {
        escalation: Some(escalation.clone()),
    };
    publish(
        conn,
        (&ctx.authority, ctx.now),
        &escalation,
        "cpc.escalation.v1.EscalationResolved",
        &payload,
    )
    .await?;
    Ok(escalation)
}

/// The case, children, stage and raiser of escalation `id`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn locate(conn: &mut PgConnection, id: Uuid) -> Result<Located, ApiError> {
    let row: Option<(Uuid, Vec<Uuid>, String, String)> = sqlx::query_as(
        "SELECT case_id, child_ids, stage, raised_by_id FROM escalations WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let (case_id, child_ids, stage, raised_by_id) = row.ok_or_else(|| not_found(id))?;
    Ok(Located {
        case_id,
        child_ids,
        stage: stage_from_code(&stage)?,
        raised_by_id,
    })
}

/// Escalation `id`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> Result<pb::Escalation, ApiError> {
    load_many(conn, &[id], today)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

/// Where an escalation's children are kept, one row a child, by the
/// database from `child_ids` (migration `20261215100001`): a case's
/// escalations and a child's are found through it.
pub const ESCALATION_CHILDREN: RecordChildren = RecordChildren {
    records: "escalations",
    table: "escalation_children",
    record: "escalation_id",
};

/// A page of escalations, earliest response due first.
///
/// A case filter lists the escalations about a child on that case now
/// (the cases feed's [`super::cases::CHILD_CASES`], a child not learnt
/// being on the escalation's own case), not those raised in it: an
/// escalation keeps its case when a child moves, and listing the old case
/// would show the old case's members one only about the moved child,
/// whom they no longer see, while the new case's list would miss it (each
/// is about at least one child).
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    filter: &EscalationFilter,
    today: NaiveDate,
) -> Result<pb::ListEscalationsResponse, ApiError> {
    // A case is narrowed first by what the indexes find (the escalation's
    // own case, or one about a child now on the case), then keeps those
    // with a child whose case now is the one listed.
    let case_clause = |case: &str| {
        ESCALATION_CHILDREN.case_filter(super::cases::CHILD_CASES, filter.case_id, "e", case)
    };
    let child_clause = |child: &str| ESCALATION_CHILDREN.child_filter(filter.child_id, "e", child);
    // A page token's row must be one this list shows: else a token made up
    // around another case's escalation would show, by where the page
    // starts, when its response is due.
    let after: Option<(NaiveDate, Uuid)> = match filter.page.after {
        Some(after) => {
            let Some(anchor) = sqlx::query_as(&format!(
                "SELECT e.response_due_on, e.id FROM escalations e \
                  WHERE e.id = $1 AND {on_case} AND {of_child}",
                on_case = case_clause("$2"),
                of_child = child_clause("$3"),
            ))
            .bind(after)
            .bind(filter.case_id)
            .bind(filter.child_id)
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(pb::ListEscalationsResponse::default());
            };
            Some(anchor)
        }
        None => None,
    };
    let (after_due, after_id) = after.unzip();
    let ids: Vec<Uuid> = sqlx::query_scalar(&format!(
        "SELECT e.id FROM escalations e \
          WHERE ($1::text IS NULL OR status = $1) \
            AND ($2::text IS NULL OR stage = $2) \
            AND ($3::text IS NULL OR reason_kind = $3) \
            AND ($4::text IS NULL OR owner_id = $4) \
            AND ($5::text IS NULL OR raised_by_id = $5) \
            AND {on_case} \
            AND {of_child} \
            AND ($8::int IS NULL OR concerned_agency_kind = $8) \
            AND ($9::date IS NULL OR response_due_on <= $9) \
            AND ($11::uuid IS NULL OR (response_due_on, id) > ($10, $11)) \
          ORDER BY response_due_on, id \
          LIMIT $12",
        on_case = case_clause("$6"),
        of_child = child_clause("$7"),
    ))
    .bind(filter.status)
    .bind(filter.stage.map(Stage::as_str))
    .bind(filter.reason_kind)
    .bind(&filter.owner_id)
    .bind(&filter.raised_by_id)
    .bind(filter.case_id)
    .bind(filter.child_id)
    .bind(filter.concerned_agency_kind)
    .bind(filter.response_due_before)
    .bind(after_due)
    .bind(after_id)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let mut escalations = load_many(conn, &ids, today).await?;
    let next_page_token = filter.page.finish(&mut escalations, |e| {
        Uuid::parse_str(&e.id).unwrap_or_default()
    });
    Ok(pb::ListEscalationsResponse {
        escalations,
        next_page_token,
    })
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found("escalation", id.to_string())
}

#[derive(sqlx::FromRow)]
struct Current {
    stage: String,
    status: String,
    owner: Vec<u8>,
    version: i64,
}

/// What a change needs of an open escalation at `version`.
struct Open {
    stage: Stage,
    owner: Vec<u8>,
}

/// Locks escalation `id` for a change that needs it open at `version`.
async fn lock(conn: &mut PgConnection, id: Uuid, version: i64) -> Result<Open, ApiError> {
    let current: Current = sqlx::query_as(
        "SELECT stage, status, owner, version FROM escalations WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| not_found(id))?;
    // The version first: a caller who read the escalation before someone
    // else resolved it is told to read it again (ABORTED), not refused for
    // a state they have not seen.
    if current.version != version {
        return Err(ApiError::Aborted(format!(
            "the escalation is at version {}, not {version}; read it again",
            current.version
        )));
    }
    if current.status != "open" {
        return Err(ApiError::FailedPrecondition(
            "the escalation is resolved; raise a new one".to_owned(),
        ));
    }
    Ok(Open {
        stage: stage_from_code(&current.stage)?,
        owner: current.owner,
    })
}

async fn bump(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE escalations SET version = version + 1, updated_at = greatest(updated_at, $2) \
          WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn append_change(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    change: &pb::StageChange,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO escalation_stage_changes (escalation_id, position, authority_id, change, \
                                               changed_at) \
         SELECT $1, coalesce(max(position) + 1, 0), $2, $3, $4 \
           FROM escalation_stage_changes WHERE escalation_id = $1",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(change.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Appends `payload` (an `event_type` message) about `escalation` to the
/// escalation feed of `authority`, in the caller's transaction.
async fn publish(
    conn: &mut PgConnection,
    (authority, now): (&str, DateTime<Utc>),
    escalation: &pb::Escalation,
    event_type: &'static str,
    payload: &impl Message,
) -> Result<(), ApiError> {
    let about = About {
        aggregate_type: "Escalation",
        id: &escalation.id,
        version: escalation.version,
        child_ids: &escalation.child_ids,
    };
    outbox::publish(conn, authority, about, event_type, payload, now).await
}

/// Tells the feed of each open escalation whose response is overdue on
/// `today`, once for each due date it is given. Returns how many were told.
/// Telling is a change of the escalation, a new version: the event's
/// version is the resource's after it, and a copy kept by version (as
/// escalation keeps scheduling's) takes an event only at a newer one.
///
/// # Errors
/// Database errors.
pub async fn tell_overdue(
    conn: &mut PgConnection,
    authority: &str,
    now: DateTime<Utc>,
    today: NaiveDate,
) -> Result<usize, ApiError> {
    let overdue: Vec<Uuid> = sqlx::query_scalar(
        "UPDATE escalations SET overdue_told_for = response_due_on, version = version + 1, \
                updated_at = greatest(updated_at, $2) \
          WHERE status = 'open' AND response_due_on < $1 \
            AND overdue_told_for IS DISTINCT FROM response_due_on \
          RETURNING id",
    )
    .bind(today)
    .bind(now)
    .fetch_all(&mut *conn)
    .await?;
    for escalation in load_many(conn, &overdue, today).await? {
        let payload = pb::EscalationResponseOverdue {
            escalation: Some(escalation.clone()),
        };
        publish(
            conn,
            (authority, now),
            &escalation,
            "cpc.escalation.v1.EscalationResponseOverdue",
            &payload,
        )
        .await?;
    }
    Ok(overdue.len())
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    authority_id: String,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    plan_id: Option<Uuid>,
    raised_by: Vec<u8>,
    reason_kind: String,
    reason: String,
    concerned_agency_kind: i32,
    concerned_agency_name: String,
    stage: String,
    owner: Vec<u8>,
    response_due_on: NaiveDate,
    status: String,
    outcome: Option<Vec<u8>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Escalations `ids`, in that order (unknown ids left out), in three
/// queries however many there are.
async fn load_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
    today: NaiveDate,
) -> Result<Vec<pb::Escalation>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, authority_id, case_id, child_ids, plan_id, raised_by, reason_kind, reason, \
                concerned_agency_kind, concerned_agency_name, stage, owner, response_due_on, \
                status, outcome, version, created_at, updated_at \
           FROM escalations WHERE id = ANY ($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut history: HashMap<Uuid, Vec<pb::StageChange>> = HashMap::new();
    for (id, bytes) in sqlx::query_as::<_, (Uuid, Vec<u8>)>(
        "SELECT escalation_id, change FROM escalation_stage_changes \
          WHERE escalation_id = ANY ($1) ORDER BY escalation_id, position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?
    {
        history.entry(id).or_default().push(decode(&bytes)?);
    }
    let mut cited = drift::cited_by(conn, ids).await?;
    let mut by_id: HashMap<Uuid, pb::Escalation> = HashMap::with_capacity(rows.len());
    for row in rows {
        let open = row.status == "open";
        let escalation = pb::Escalation {
            id: row.id.to_string(),
            version: row.version,
            authority_id: row.authority_id,
            case_id: row.case_id.to_string(),
            child_ids: row.child_ids.iter().map(Uuid::to_string).collect(),
            plan_id: row.plan_id.map(|p| p.to_string()).unwrap_or_default(),
            raised_by: Some(decode(&row.raised_by)?),
            reason_kind: reason_of(&row.reason_kind) as i32,
            reason: row.reason,
            concerned_agency_kind: row.concerned_agency_kind,
            concerned_agency_name: row.concerned_agency_name,
            drift_finding_ids: cited.remove(&row.id).unwrap_or_default(),
            stage: stage_to_proto(stage_from_code(&row.stage)?) as i32,
            owner: Some(decode(&row.owner)?),
            response_due_date: Some(date_to_proto(row.response_due_on)),
            response_overdue: open && today > row.response_due_on,
            status: if open {
                pb::EscalationStatus::Open
            } else {
                pb::EscalationStatus::Resolved
            } as i32,
            outcome: row.outcome.as_deref().map(decode).transpose()?,
            stage_history: history.remove(&row.id).unwrap_or_default(),
            create_time: Some(timestamp_to_proto(row.created_at)),
            update_time: Some(timestamp_to_proto(row.updated_at)),
        };
        by_id.insert(row.id, escalation);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
