//! Chairs (working pattern, capacity, leave, conflicts), their workload,
//! and allocating one to a booked conference by the rules of
//! [`crate::allocation`], with the reasons kept on the conference.

use std::collections::HashMap;

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, Timelike as _, Utc, Weekday};
use cpc_platform::ApiError;
use cpc_platform::case_members::OPERATIONAL_ROLES;
use cpc_platform::idempotency::{self, RequestKey};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::civil_time::uk_local;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Ctx;
use super::booking::current;
use super::conferences::{self, date, timestamp};
use crate::allocation::{self, Ineligible, Workload};

/// The method name request ids are kept under.
pub const CREATE_CHAIR: &str = "CreateChair";

/// The fields UpdateChair may change.
pub const UPDATABLE: &[&str] = &[
    "person",
    "active",
    "working_pattern",
    "max_conferences_per_day",
    "max_conferences_per_week",
    "max_children",
    "leave",
    "conflicts",
];

#[derive(sqlx::FromRow)]
struct ChairRow {
    version: i64,
    chair: Vec<u8>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl ChairRow {
    fn into_proto(self) -> Result<pb::Chair, ApiError> {
        let mut chair = pb::Chair::decode(self.chair.as_slice()).map_err(ApiError::internal)?;
        chair.version = self.version;
        chair.create_time = Some(timestamp(self.created_at));
        chair.update_time = Some(timestamp(self.updated_at));
        Ok(chair)
    }
}

/// Chair `id` of the caller's authority.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<pb::Chair, ApiError> {
    let row: ChairRow =
        sqlx::query_as("SELECT version, chair, created_at, updated_at FROM chairs WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| ApiError::not_found("chair", id.to_string()))?;
    row.into_proto()
}

/// Chair `id`, its row locked until the transaction ends.
///
/// # Errors
/// `NOT_FOUND`; database errors.
async fn lock(conn: &mut PgConnection, id: Uuid) -> Result<pb::Chair, ApiError> {
    lock_if_chair(conn, id)
        .await?
        .ok_or_else(|| ApiError::not_found("chair", id.to_string()))
}

/// Chair `id`, if there is one, its row locked until the transaction ends.
async fn lock_if_chair(conn: &mut PgConnection, id: Uuid) -> Result<Option<pb::Chair>, ApiError> {
    let row: Option<ChairRow> = sqlx::query_as(
        "SELECT version, chair, created_at, updated_at FROM chairs WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(ChairRow::into_proto).transpose()
}

fn stale(id: Uuid, version: i64) -> ApiError {
    ApiError::Aborted(format!(
        "chair {id} is no longer at version {version}: read it again"
    ))
}

/// Every chair of the authority, by name.
async fn all(conn: &mut PgConnection) -> Result<Vec<pb::Chair>, ApiError> {
    let rows: Vec<ChairRow> = sqlx::query_as(
        "SELECT version, chair, created_at, updated_at FROM chairs \
         ORDER BY lower(display_name), id",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter().map(ChairRow::into_proto).collect()
}

async fn emit(
    conn: &mut PgConnection,
    ctx: &Ctx,
    chair: &pb::Chair,
    created: bool,
) -> Result<(), ApiError> {
    let event = cpc_platform::outbox::NewEvent {
        aggregate_type: "Chair",
        aggregate_id: chair.id.clone(),
        aggregate_version: chair.version,
        event_type: "cpc.scheduling.v1.ChairChanged",
        authority_id: ctx.authority.clone(),
        child_ids: Vec::new(),
        payload: pb::ChairChanged {
            chair: Some(chair.clone()),
            created,
        }
        .encode_to_vec(),
    };
    cpc_platform::outbox::append(conn, &event, ctx.now)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Creates a chair record; a retry with the same request id returns the
/// first response.
///
/// # Errors
/// `ALREADY_EXISTS` when the person already has a chair record.
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    key: &RequestKey,
    chair: &pb::Chair,
) -> Result<pb::CreateChairResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, key).await? {
        return Ok(response);
    }
    let id = Uuid::parse_str(&chair.id).map_err(ApiError::internal)?;
    let stored = stored(chair);
    let inserted = sqlx::query(
        "INSERT INTO chairs (id, authority_id, display_name, active, chair, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (authority_id, id) DO NOTHING",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(display_name(chair))
    .bind(chair.active)
    .bind(stored.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::AlreadyExists {
            resource: "chair",
            id: id.to_string(),
        });
    }
    let created = get(conn, id).await?;
    emit(conn, ctx, &created, true).await?;
    let response = pb::CreateChairResponse {
        chair: Some(created),
    };
    idempotency::remember(conn, ctx, key, &response).await?;
    Ok(response)
}

/// The chair as stored: the definition only (version and times are
/// columns).
fn stored(chair: &pb::Chair) -> pb::Chair {
    pb::Chair {
        version: 0,
        create_time: None,
        update_time: None,
        ..chair.clone()
    }
}

fn display_name(chair: &pb::Chair) -> String {
    chair
        .person
        .as_ref()
        .map(|p| p.display_name.clone())
        .unwrap_or_default()
}

/// Changes `fields` of chair `id` to `changes`' values. Booked conferences
/// from today on that the chair can no longer take (inactive, on leave,
/// conflicted) lose their allocation, for someone to allocate again.
///
/// # Errors
/// `NOT_FOUND`; `ABORTED` for a stale version.
pub async fn update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    changes: &pb::Chair,
    fields: &[&str],
) -> Result<pb::Chair, ApiError> {
    // Locked until the transaction ends: a concurrent update at the same
    // version waits here, then reads the new version and is refused.
    let mut chair = lock(conn, id).await?;
    if chair.version != version {
        return Err(stale(id, version));
    }
    for field in fields {
        match *field {
            "person" => chair.person.clone_from(&changes.person),
            "active" => chair.active = changes.active,
            "working_pattern" => chair.working_pattern.clone_from(&changes.working_pattern),
            "max_conferences_per_day" => {
                chair.max_conferences_per_day = changes.max_conferences_per_day;
            }
            "max_conferences_per_week" => {
                chair.max_conferences_per_week = changes.max_conferences_per_week;
            }
            "max_children" => chair.max_children = changes.max_children,
            "leave" => chair.leave.clone_from(&changes.leave),
            "conflicts" => chair.conflicts.clone_from(&changes.conflicts),
            _ => {}
        }
    }
    let written = sqlx::query(
        "UPDATE chairs SET display_name = $2, active = $3, chair = $4, version = version + 1, \
           updated_at = $5 WHERE id = $1 AND version = $6",
    )
    .bind(id)
    .bind(display_name(&chair))
    .bind(chair.active)
    .bind(stored(&chair).encode_to_vec())
    .bind(ctx.now)
    .bind(version)
    .execute(&mut *conn)
    .await?;
    // The row is locked, so this holds; the predicate keeps the write
    // conditional on the version the caller read all the same.
    if written.rows_affected() == 0 {
        return Err(stale(id, version));
    }
    release_conferences(conn, ctx.now, id, &chair).await?;
    let updated = get(conn, id).await?;
    emit(conn, ctx, &updated, false).await?;
    Ok(updated)
}

/// Clears the allocation of booked conferences from today on that `chair`
/// can no longer take: inactive, on leave that day, or conflicted on the
/// case, by a recorded conflict or by working on it ([`working_on_case`]).
/// The caller holds the chair's row lock, taken before the conferences'.
async fn release_conferences(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    id: Uuid,
    chair: &pb::Chair,
) -> Result<(), ApiError> {
    let rules = as_rules(chair)?;
    let booked: Vec<(Uuid, Uuid, DateTime<Utc>, Vec<Uuid>)> = sqlx::query_as(
        "SELECT c.id, c.case_id, c.start_time, ARRAY(SELECT child_id FROM conference_children cc \
                                                      WHERE cc.conference_id = c.id) \
         FROM conferences c \
         WHERE c.chair_id = $1 AND c.status = 'booked' AND c.start_time >= $2 \
         FOR UPDATE OF c",
    )
    .bind(id)
    .bind(now - Duration::hours(24))
    .fetch_all(&mut *conn)
    .await?;
    for (conference, case_id, start, children) in booked {
        let day = uk_local(start).date();
        let on_leave = rules.leave.iter().any(|l| l.first <= day && day <= l.last);
        let conflicted = rules.conflicts.iter().any(|c| {
            c.case_id == case_id
                && (c.child_ids.is_empty() || c.child_ids.iter().any(|k| children.contains(k)))
        });
        let releases = !rules.active
            || on_leave
            || conflicted
            || working_on_case(conn, case_id, &children, day)
                .await?
                .contains(&id.to_string());
        if releases {
            sqlx::query(
                "UPDATE conferences SET chair_id = NULL, chair_allocation = NULL, \
                   version = version + 1, updated_at = $2 WHERE id = $1",
            )
            .bind(conference)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            // The allocation changed, to none: reporting (which lets the
            // chair of a conference see its reports) and the other
            // followers learn the chair no longer has it.
            conferences::changed(
                conn,
                conference,
                "cpc.scheduling.v1.ChairAllocated",
                now,
                |conference| pb::ChairAllocated {
                    conference: Some(conference.clone()),
                    allocation: None,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// After scheduling learnt something that may leave chair `id` no longer
/// independent of a case (a membership of theirs changed, or a child of
/// their conference moved to another case): booked conferences they can
/// no longer take lose their allocation, as [`update`] releases them. A
/// chair made a case's team manager after being allocated its conference
/// would otherwise chair it. An id that names no chair is left alone.
///
/// # Errors
/// Database errors.
pub async fn recheck(
    conn: &mut PgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    match lock_if_chair(conn, id).await? {
        Some(chair) => release_conferences(conn, now, id, &chair).await,
        None => Ok(()),
    }
}

/// The chairs allocated booked conferences about `child` from today on.
///
/// # Errors
/// Database errors.
pub async fn allocated_for_child(
    conn: &mut PgConnection,
    child: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT c.chair_id FROM conferences c \
           JOIN conference_children cc ON cc.conference_id = c.id \
          WHERE cc.child_id = $1 AND c.chair_id IS NOT NULL AND c.status = 'booked' \
            AND c.start_time >= $2 \
          ORDER BY c.chair_id",
    )
    .bind(child)
    .bind(now - Duration::hours(24))
    .fetch_all(&mut *conn)
    .await?)
}

/// The authority's chairs, by name: only active ones, or only those working
/// and not on leave on a date, when asked.
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    ctx: &Ctx,
    active_only: bool,
    available_on: Option<NaiveDate>,
    page: &PageRequest,
) -> Result<pb::ListChairsResponse, ApiError> {
    let calendar = ctx.timescales.calendar();
    let working_day = available_on.map(|d| calendar.is_working_day(d).unwrap_or(false));
    let mut chairs = Vec::new();
    for chair in all(conn).await? {
        if active_only && !chair.active {
            continue;
        }
        if let (Some(day), Some(working_day)) = (available_on, working_day) {
            let rules = as_rules(&chair)?;
            let works = working_day && rules.pattern.iter().any(|p| p.weekday == day.weekday());
            let away = rules.leave.iter().any(|l| l.first <= day && day <= l.last);
            if !works || away {
                continue;
            }
        }
        chairs.push(chair);
    }
    // Keyset paging over the sorted list: the token names the last chair.
    let start = match page.after {
        None => 0,
        Some(after) => chairs
            .iter()
            .position(|c| c.id == after.to_string())
            .map_or(chairs.len(), |p| p + 1),
    };
    let take = usize::try_from(page.fetch_limit()).unwrap_or(usize::MAX);
    let mut chairs: Vec<pb::Chair> = chairs.into_iter().skip(start).take(take).collect();
    // Ids were checked when the chairs were written.
    let next_page_token = page.finish(&mut chairs, |c| Uuid::parse_str(&c.id).unwrap_or_default());
    Ok(pb::ListChairsResponse {
        chairs,
        next_page_token,
    })
}

/// The allocation rules' view of a chair.
///
/// # Errors
/// A stored chair that does not parse (it was checked when written).
pub fn as_rules(chair: &pb::Chair) -> Result<allocation::Chair, ApiError> {
    let bad = || ApiError::internal("a stored chair does not parse");
    let pattern = chair
        .working_pattern
        .iter()
        .map(|p| {
            Some(allocation::WorkingPeriod {
                weekday: weekday(p.weekday)?,
                start: u16::try_from(p.start_minute).ok()?,
                end: u16::try_from(p.end_minute).ok()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    let leave = chair
        .leave
        .iter()
        .map(|l| {
            let dates = l.dates.as_ref()?;
            Some(allocation::Leave {
                first: proto_date(dates.start_date.as_ref())?,
                last: proto_date(dates.end_date.as_ref())?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    let conflicts = chair
        .conflicts
        .iter()
        .map(|c| {
            Some(allocation::Conflict {
                case_id: Uuid::parse_str(&c.case_id).ok()?,
                child_ids: c
                    .child_ids
                    .iter()
                    .map(|k| Uuid::parse_str(k).ok())
                    .collect::<Option<_>>()?,
            })
        })
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    Ok(allocation::Chair {
        id: Uuid::parse_str(&chair.id).map_err(|_| bad())?,
        active: chair.active,
        pattern,
        max_per_day: u32::try_from(chair.max_conferences_per_day).unwrap_or(0),
        max_per_week: u32::try_from(chair.max_conferences_per_week).unwrap_or(0),
        max_children: u32::try_from(chair.max_children).unwrap_or(0),
        leave,
        conflicts,
    })
}

fn proto_date(d: Option<&common::Date>) -> Option<NaiveDate> {
    cpc_platform::convert::date_from_proto(d).ok().flatten()
}

/// The chrono weekday of an API weekday.
#[must_use]
pub fn weekday(value: i32) -> Option<Weekday> {
    Some(match pb::Weekday::try_from(value).ok()? {
        pb::Weekday::Monday => Weekday::Mon,
        pb::Weekday::Tuesday => Weekday::Tue,
        pb::Weekday::Wednesday => Weekday::Wed,
        pb::Weekday::Thursday => Weekday::Thu,
        pb::Weekday::Friday => Weekday::Fri,
        pb::Weekday::Saturday => Weekday::Sat,
        pb::Weekday::Sunday => Weekday::Sun,
        pb::Weekday::Unspecified => return None,
    })
}

/// A booked time as allocation sees it: UK local date and minutes.
fn slot(start: DateTime<Utc>, end: DateTime<Utc>) -> allocation::Slot {
    let (start, end) = (uk_local(start), uk_local(end));
    let minutes = |t: chrono::NaiveDateTime| {
        let m = t.hour() * 60 + t.minute();
        u16::try_from(m).unwrap_or(u16::MAX)
    };
    // A booking ends on its start day (checked when booked).
    let end_minutes = if end.date() == start.date() {
        minutes(end)
    } else {
        1440
    };
    allocation::Slot {
        date: start.date(),
        start: minutes(start),
        end: end_minutes,
    }
}

/// Every chair's bookings (other than `except`) and caseload.
async fn workload(conn: &mut PgConnection, except: Option<Uuid>) -> Result<Workload, ApiError> {
    let mut workload = Workload::default();
    let bookings: Vec<(Uuid, DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT chair_id, start_time, end_time FROM conferences \
         WHERE chair_id IS NOT NULL AND start_time IS NOT NULL AND status IN ('booked', 'held') \
           AND ($1::uuid IS NULL OR id <> $1)",
    )
    .bind(except)
    .fetch_all(&mut *conn)
    .await?;
    for (chair, start, end) in bookings {
        workload.book(chair, slot(start, end));
    }
    for (chair, children) in caseloads(conn).await? {
        workload.set_caseload(chair, children);
    }
    Ok(workload)
}

/// Children on a plan (a core group meeting is open for them) whose latest chaired
/// conference each chair chaired.
async fn caseloads(conn: &mut PgConnection) -> Result<HashMap<Uuid, u32>, ApiError> {
    let rows: Vec<(Uuid, i64)> = sqlx::query_as(
        "SELECT chair_id, count(*) FROM ( \
           SELECT DISTINCT ON (cc.child_id) cc.child_id, c.chair_id \
             FROM conference_children cc JOIN conferences c ON c.id = cc.conference_id \
            WHERE c.chair_id IS NOT NULL AND c.status <> 'cancelled' \
            ORDER BY cc.child_id, c.start_time DESC NULLS LAST, c.created_at DESC) latest \
         WHERE EXISTS (SELECT 1 FROM core_group_meetings g \
                        WHERE g.child_ids @> ARRAY[latest.child_id] AND g.status IN ('due', 'scheduled')) \
         GROUP BY chair_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(chair, n)| (chair, u32::try_from(n).unwrap_or(u32::MAX)))
        .collect())
}

/// Locks every chair of the authority until the transaction ends. The
/// chairs' workloads are counted, then one is booked: two allocations (or
/// an allocation and a move keeping its chair, [`release_if_unavailable`])
/// counting at once could both find the same chair free and double-book
/// it. Each locks the authority's chairs first, before the conference (in
/// id order, as UpdateChair locks its one chair before the conferences it
/// releases), so they count one after the other.
///
/// # Errors
/// Database errors.
pub(crate) async fn lock_all(conn: &mut PgConnection) -> Result<(), ApiError> {
    sqlx::query("SELECT id FROM chairs ORDER BY id FOR UPDATE")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A checked AllocateChair request.
#[derive(Clone)]
pub struct AllocationRequest {
    pub conference_id: Uuid,
    pub version: i64,
    /// A named chair and why the rules were overridden.
    pub named: Option<(Uuid, String)>,
    pub dry_run: bool,
}

cpc_platform::redacted_debug!(AllocationRequest);

/// Allocates a chair to a BOOKED conference by the rules (or a named,
/// eligible chair), and explains why.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` unless booked, when no chair (or the
/// named chair) is eligible.
pub async fn allocate(
    conn: &mut PgConnection,
    ctx: &Ctx,
    request: &AllocationRequest,
) -> Result<pb::AllocateChairResponse, ApiError> {
    let id = request.conference_id;
    if !request.dry_run {
        lock_all(conn).await?;
    }
    let now = current(conn, id, request.version).await?;
    if now.status != "booked" {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: book it first (a chair is allocated for a time)",
            now.status
        )));
    }
    let outcome = assess(conn, ctx, id).await?;
    let candidates: Vec<pb::ChairCandidate> = outcome.candidates.iter().map(candidate).collect();
    let (chosen, manual_reason) = match &request.named {
        Some((named, reason)) => {
            let Some(candidate) = outcome.candidates.iter().find(|c| c.chair_id == *named) else {
                return Err(ApiError::FailedPrecondition(format!(
                    "{named} is not a chair of this authority"
                )));
            };
            if !candidate.ineligible.is_empty() {
                return Err(ApiError::FailedPrecondition(format!(
                    "chair {named} cannot take this conference: {}",
                    reasons(&candidate.ineligible)
                )));
            }
            (*named, Some(reason.clone()))
        }
        None => match outcome.chosen {
            Some(chosen) => (chosen, None),
            None => {
                let summary: Vec<String> = outcome
                    .candidates
                    .iter()
                    .map(|c| format!("{}: {}", c.chair_id, reasons(&c.ineligible)))
                    .collect();
                return Err(ApiError::FailedPrecondition(format!(
                    "no chair is eligible at the booked time ({})",
                    if summary.is_empty() {
                        "the authority has no chairs".to_owned()
                    } else {
                        summary.join("; ")
                    }
                )));
            }
        },
    };
    let chosen_candidate = outcome.candidates.iter().find(|c| c.chair_id == chosen);
    let allocation = pb::ChairAllocation {
        chair_id: chosen.to_string(),
        reasons: explain(chosen_candidate, manual_reason.as_deref(), &outcome),
        candidates,
        manual: manual_reason.is_some(),
        manual_reason: manual_reason.unwrap_or_default(),
        allocated_by: Some(ctx.actor.clone()),
        allocate_time: Some(timestamp(ctx.now)),
    };
    if request.dry_run {
        let conference = conferences::load(conn, id)
            .await
            .map_err(ApiError::internal)?;
        return Ok(pb::AllocateChairResponse {
            conference: Some(conference),
            allocation: Some(allocation),
        });
    }
    sqlx::query(
        "UPDATE conferences SET chair_id = $2, chair_allocation = $3, version = version + 1, \
           updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(chosen)
    .bind(allocation.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ChairAllocated",
        ctx.now,
        |conference| pb::ChairAllocated {
            conference: Some(conference.clone()),
            allocation: Some(allocation.clone()),
        },
    )
    .await?;
    Ok(pb::AllocateChairResponse {
        conference: Some(conference),
        allocation: Some(allocation),
    })
}

/// Every chair of the authority assessed for booked conference `id`.
async fn assess(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<allocation::Allocation, ApiError> {
    let (case_id, children, start, end): (Uuid, Vec<Uuid>, DateTime<Utc>, DateTime<Utc>) =
        sqlx::query_as(
            "SELECT c.case_id, ARRAY(SELECT child_id FROM conference_children cc \
                                     WHERE cc.conference_id = c.id ORDER BY child_id), \
                    c.start_time, c.end_time FROM conferences c WHERE c.id = $1",
        )
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let previous_chairs: Vec<Uuid> = sqlx::query_scalar(
        "SELECT chair_id FROM ( \
           SELECT c.chair_id, max(coalesce(c.held_date, (c.start_time AT TIME ZONE 'UTC')::date)) AS last \
             FROM conferences c JOIN conference_children cc ON cc.conference_id = c.id \
            WHERE cc.child_id = ANY ($1) AND c.id <> $2 AND c.chair_id IS NOT NULL \
              AND c.status IN ('booked', 'held', 'inquorate') \
            GROUP BY c.chair_id) p ORDER BY last DESC, chair_id",
    )
    .bind(&children)
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let slot = slot(start, end);
    let working_on_case = working_on_case(conn, case_id, &children, slot.date).await?;
    let mut chairs = all(conn)
        .await?
        .iter()
        .map(as_rules)
        .collect::<Result<Vec<_>, _>>()?;
    // A chair who works on the case is not independent of it: conflicted
    // on it, as a recorded conflict would make them.
    for chair in &mut chairs {
        if working_on_case.contains(&chair.id.to_string()) {
            chair.conflicts.push(allocation::Conflict {
                case_id,
                child_ids: Vec::new(),
            });
        }
    }
    let workload = workload(conn, Some(id)).await?;
    let rules_request = allocation::Request {
        slot,
        case_id,
        child_ids: children,
        previous_chairs,
    };
    let outcome = allocation::allocate(
        &rules_request,
        &chairs,
        &workload,
        ctx.timescales.calendar(),
    );
    Ok(outcome)
}

/// Who works on the case of a conference about `children` (made in
/// `case_id`) on `day`: the people whose membership of that case, or of a
/// child's case now, as its social worker, lead social worker or team
/// manager ([`OPERATIONAL_ROLES`]) is current that day and covers one of
/// the children. Working Together asks that the chair be independent of
/// operational and line management responsibility for the case.
async fn working_on_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
    day: NaiveDate,
) -> Result<Vec<String>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT m.person_id FROM case_members m \
          WHERE (m.case_id = $1 \
                 OR m.case_id IN (SELECT k.case_id FROM child_cases k WHERE k.child_id = ANY ($2))) \
            AND m.case_role = ANY ($3) \
            AND m.start_date <= $4 AND (m.end_date IS NULL OR m.end_date >= $4) \
            AND (cardinality(m.child_ids) = 0 OR m.child_ids && $2)",
    )
    .bind(case_id)
    .bind(children)
    .bind(OPERATIONAL_ROLES.as_slice())
    .bind(day)
    .fetch_all(&mut *conn)
    .await?)
}

/// After a booked conference moved: if its chair cannot take the new time,
/// the allocation is cleared (it shows among the unallocated). The caller
/// holds the chairs' lock ([`lock_all`]), taken before the conference's.
///
/// # Errors
/// Database errors.
pub async fn release_if_unavailable(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<(), ApiError> {
    let chair: Option<Uuid> = sqlx::query_scalar("SELECT chair_id FROM conferences WHERE id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let Some(chair) = chair else {
        return Ok(());
    };
    let outcome = assess(conn, ctx, id).await?;
    let available = outcome
        .candidates
        .iter()
        .any(|c| c.chair_id == chair && c.ineligible.is_empty());
    if !available {
        sqlx::query(
            "UPDATE conferences SET chair_id = NULL, chair_allocation = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn candidate(c: &allocation::Candidate) -> pb::ChairCandidate {
    pb::ChairCandidate {
        chair_id: c.chair_id.to_string(),
        eligible: c.ineligible.is_empty(),
        ineligibility_reasons: c
            .ineligible
            .iter()
            .map(|r| ineligibility(*r) as i32)
            .collect(),
        caseload: i32::try_from(c.caseload).unwrap_or(i32::MAX),
        chaired_before: c.chaired_before,
        rank: i32::try_from(c.rank).unwrap_or(i32::MAX),
    }
}

fn ineligibility(reason: Ineligible) -> pb::IneligibilityReason {
    match reason {
        Ineligible::Inactive => pb::IneligibilityReason::Inactive,
        Ineligible::OnLeave => pb::IneligibilityReason::OnLeave,
        Ineligible::NotWorking => pb::IneligibilityReason::NotWorking,
        Ineligible::DoubleBooked => pb::IneligibilityReason::DoubleBooked,
        Ineligible::DayFull => pb::IneligibilityReason::DayFull,
        Ineligible::WeekFull => pb::IneligibilityReason::WeekFull,
        Ineligible::CaseloadFull => pb::IneligibilityReason::CaseloadFull,
        Ineligible::Conflict => pb::IneligibilityReason::Conflict,
    }
}

fn reasons(ineligible: &[Ineligible]) -> String {
    let names: Vec<&str> = ineligible
        .iter()
        .map(|r| match r {
            Ineligible::Inactive => "inactive",
            Ineligible::OnLeave => "on leave",
            Ineligible::NotWorking => "not working then",
            Ineligible::DoubleBooked => "already booked then",
            Ineligible::DayFull => "day full",
            Ineligible::WeekFull => "week full",
            Ineligible::CaseloadFull => "caseload full",
            Ineligible::Conflict => "conflicted on the case, or works on it",
        })
        .collect();
    names.join(", ")
}

/// Why the chosen chair, in the API's factors.
fn explain(
    chosen: Option<&allocation::Candidate>,
    manual_reason: Option<&str>,
    outcome: &allocation::Allocation,
) -> Vec<pb::AllocationReason> {
    let reason = |factor: pb::AllocationFactor, detail: String| pb::AllocationReason {
        factor: factor as i32,
        detail,
    };
    let mut reasons = Vec::new();
    if let Some(why) = manual_reason {
        reasons.push(reason(pb::AllocationFactor::ManualChoice, why.to_owned()));
    }
    let Some(chosen) = chosen else {
        return reasons;
    };
    if chosen.chaired_before {
        reasons.push(reason(
            pb::AllocationFactor::Continuity,
            "chaired a previous conference for these children".to_owned(),
        ));
    }
    let eligible = outcome
        .candidates
        .iter()
        .filter(|c| c.ineligible.is_empty())
        .count();
    reasons.push(reason(
        pb::AllocationFactor::Availability,
        "works at the booked time and is neither on leave nor booked".to_owned(),
    ));
    reasons.push(reason(
        pb::AllocationFactor::Capacity,
        "has day and week capacity left".to_owned(),
    ));
    reasons.push(reason(
        pb::AllocationFactor::NoConflict,
        "has no recorded conflict with the case".to_owned(),
    ));
    reasons.push(reason(
        pb::AllocationFactor::Caseload,
        format!(
            "caseload {} children; ranked {} of {eligible} eligible chairs",
            chosen.caseload, chosen.rank
        ),
    ));
    reasons
}

/// One chair's workload over `first..=last`.
///
/// # Errors
/// Database errors.
pub async fn chair_workload(
    conn: &mut PgConnection,
    ctx: &Ctx,
    chair: &pb::Chair,
    first: NaiveDate,
    last: NaiveDate,
) -> Result<pb::ChairWorkload, ApiError> {
    let caseloads = caseloads(conn).await?;
    workload_of(conn, ctx, chair, (first, last), &caseloads).await
}

/// `chair`'s workload over `period`, given every chair's caseload.
async fn workload_of(
    conn: &mut PgConnection,
    ctx: &Ctx,
    chair: &pb::Chair,
    (first, last): (NaiveDate, NaiveDate),
    caseloads: &HashMap<Uuid, u32>,
) -> Result<pb::ChairWorkload, ApiError> {
    let rules = as_rules(chair)?;
    let rows: Vec<(DateTime<Utc>, String, bool)> = sqlx::query_as(
        "SELECT start_time, status, booked_past_deadline FROM conferences \
         WHERE chair_id = $1 AND start_time IS NOT NULL AND status <> 'cancelled'",
    )
    .bind(rules.id)
    .fetch_all(&mut *conn)
    .await?;
    let in_period: Vec<(NaiveDate, &str, bool)> = rows
        .iter()
        .map(|(start, status, past)| (uk_local(*start).date(), status.as_str(), *past))
        .filter(|(day, _, _)| first <= *day && *day <= last)
        .collect();
    let count = |pred: &dyn Fn(&(NaiveDate, &str, bool)) -> bool| {
        i32::try_from(in_period.iter().filter(|c| pred(c)).count()).unwrap_or(i32::MAX)
    };
    let caseload = caseloads.get(&rules.id).copied().unwrap_or(0);
    let calendar = ctx.timescales.calendar();
    let mut days = Vec::new();
    let mut day = first;
    while day <= last {
        let on_leave = rules.leave.iter().any(|l| l.first <= day && day <= l.last);
        let working = !on_leave
            && calendar.is_working_day(day).unwrap_or(false)
            && rules.pattern.iter().any(|p| p.weekday == day.weekday());
        let booked = u32::try_from(in_period.iter().filter(|c| c.0 == day).count()).unwrap_or(0);
        days.push(pb::DailyLoad {
            date: Some(date(day)),
            working,
            on_leave,
            conferences: i32::try_from(booked).unwrap_or(i32::MAX),
            // Core group meetings are not allocated to chairs yet.
            core_group_meetings: 0,
            remaining_capacity: if working {
                i32::try_from(rules.max_per_day.saturating_sub(booked)).unwrap_or(0)
            } else {
                0
            },
        });
        match day.succ_opt() {
            Some(next) => day = next,
            None => break,
        }
    }
    Ok(pb::ChairWorkload {
        chair_id: chair.id.clone(),
        chair: chair.person.clone(),
        period: Some(common::DateRange {
            start_date: Some(date(first)),
            end_date: Some(date(last)),
        }),
        conferences_booked: count(&|c| c.1 == "booked"),
        conferences_held: count(&|c| c.1 == "held"),
        conferences_past_deadline: count(&|c| c.2),
        children_overseen: i32::try_from(caseload).unwrap_or(i32::MAX),
        max_children: chair.max_children,
        days,
    })
}

/// Every active chair's workload (by name) over `first..=last`.
///
/// # Errors
/// Database errors.
pub async fn workloads(
    conn: &mut PgConnection,
    ctx: &Ctx,
    first: NaiveDate,
    last: NaiveDate,
    page: &PageRequest,
) -> Result<pb::ListChairWorkloadsResponse, ApiError> {
    let listed = list(conn, ctx, true, None, page).await?;
    // One caseload query for the page, not one per chair.
    let caseloads = caseloads(conn).await?;
    let mut workloads = Vec::with_capacity(listed.chairs.len());
    for chair in &listed.chairs {
        workloads.push(workload_of(conn, ctx, chair, (first, last), &caseloads).await?);
    }
    Ok(pb::ListChairWorkloadsResponse {
        workloads,
        next_page_token: listed.next_page_token,
    })
}
