//! Child protection plans: `GetPlan`, `ListPlans`, `UpdatePlan`, `EndPlan`,
//! `TransferPlanOut`, and the plan changes a conference outcome or a
//! recorded death makes.
//!
//! Every lifecycle change goes through `cpc_rules::plan::transition`; the
//! stored status is the rules' state plus the transfer-out notice
//! (`TRANSFER_OUT_PENDING` is the rules' `Active`: the plan stays in force
//! until the receiving authority's conference).

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::outbox::StoredEvent;
use cpc_proto::cases::v1 as pb;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::plan::{self, EndReason, EndedBy, PlanEvent, PlanState};
use sqlx::PgConnection;
use uuid::Uuid;

use super::children::child_row;
use super::outcomes::{VoiceRow, voices_for_plan};
use super::{Ctx, Written, db, lock_version};
use crate::codes::{self, ConferenceKind, LeadStatutoryBody, PlanEndReason, PlanStatus};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::PersonRef;
use crate::domain::check::{Check, redacted_debug};
use crate::domain::outcome::check_lead;
use crate::domain::person::PersonColumns;
use crate::domain::plan::{
    PlanEnding, PlanFilter, PlanUpdate, RISK_ENDS_BY_OUTCOME, TransferOutNotice,
    ending_contradicts_child, rules_end_reason,
};
use crate::events::{Subject, emit};

#[derive(sqlx::FromRow)]
pub(crate) struct PlanRow {
    pub id: Uuid,
    pub authority_id: String,
    pub child_id: Uuid,
    pub cin_episode_id: Uuid,
    pub status: PlanStatus,
    pub start_date: NaiveDate,
    pub end_date: Option<NaiveDate>,
    pub end_reason: Option<PlanEndReason>,
    pub end_reason_detail: Option<String>,
    pub initial_category: String,
    pub latest_category: String,
    pub previous_plan_count: i32,
    pub danger_statements: Vec<String>,
    pub safety_goals: Vec<String>,
    pub contingency_plan: Option<String>,
    pub bottom_lines: Vec<String>,
    pub lead_social_worker: serde_json::Value,
    pub lead_statutory_body: LeadStatutoryBody,
    pub start_conference_id: Option<Uuid>,
    pub end_conference_id: Option<Uuid>,
    pub next_review_due_date: Option<NaiveDate>,
    pub pre_birth: bool,
    pub transfer_out_receiving_authority_name: Option<String>,
    pub transfer_out_receiving_authority_code: Option<String>,
    pub transfer_out_receiving_authority_id: Option<String>,
    pub transfer_out_notification_date: Option<NaiveDate>,
    pub transfer_out_conference_date: Option<NaiveDate>,
    pub transfer_in_id: Option<Uuid>,
    pub agencies_consulted: serde_json::Value,
    pub ended_by: Option<serde_json::Value>,
    pub cp_is_shared_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

redacted_debug!(PlanRow);

fn category(code: &str) -> i32 {
    code.parse::<CategoryOfHarm>()
        .map_or(0, |c| codes::category_to_proto(c) as i32)
}

fn person(json: &serde_json::Value) -> Option<cpc_proto::common::v1::PersonRef> {
    serde_json::from_value::<PersonRef>(json.clone())
        .ok()
        .map(|p| p.to_proto())
}

impl PlanRow {
    /// The plan's lifecycle state for the rules, or `None` when it ended
    /// for a reason the rules crate does not name (`OTHER`), which is as
    /// final as any ending.
    pub(crate) fn state(&self) -> Option<PlanState> {
        if self.status.is_open() {
            Some(PlanState::Active)
        } else {
            self.end_reason
                .and_then(rules_end_reason)
                .map(PlanState::Ended)
        }
    }

    /// Applies `event` through the rules' state machine.
    ///
    /// # Errors
    /// `FAILED_PRECONDITION` naming the state, the event and the rule.
    pub(crate) fn transition(&self, event: PlanEvent) -> Result<PlanState, ApiError> {
        let Some(state) = self.state() else {
            return Err(ApiError::FailedPrecondition(format!(
                "cannot apply {event:?} to a plan that has ended: the plan is not active"
            )));
        };
        plan::transition(state, event)
            .map_err(|refused| ApiError::FailedPrecondition(refused.to_string()))
    }

    pub(crate) fn lead(&self) -> Option<PersonRef> {
        serde_json::from_value(self.lead_social_worker.clone()).ok()
    }

    fn into_proto(
        self,
        core_group: &[PersonRef],
        voices: Vec<VoiceRow>,
        review_dates: Vec<NaiveDate>,
    ) -> pb::ChildProtectionPlan {
        let transfer_out = self
            .transfer_out_receiving_authority_name
            .clone()
            .map(|name| pb::TransferOut {
                receiving_authority_name: name,
                receiving_authority_code: self
                    .transfer_out_receiving_authority_code
                    .clone()
                    .unwrap_or_default(),
                receiving_authority_id: self
                    .transfer_out_receiving_authority_id
                    .clone()
                    .unwrap_or_default(),
                notification_date: opt_date_to_proto(self.transfer_out_notification_date),
                transfer_in_conference_date: opt_date_to_proto(self.transfer_out_conference_date),
            });
        pb::ChildProtectionPlan {
            id: self.id.to_string(),
            version: self.version,
            child_id: self.child_id.to_string(),
            authority_id: self.authority_id,
            cin_episode_id: self.cin_episode_id.to_string(),
            status: self.status.to_i32(),
            start_date: Some(date_to_proto(self.start_date)),
            end_date: opt_date_to_proto(self.end_date),
            end_reason: self.end_reason.map_or(0, PlanEndReason::to_i32),
            end_reason_detail: self.end_reason_detail.unwrap_or_default(),
            initial_category: category(&self.initial_category),
            latest_category: category(&self.latest_category),
            previous_plan_count: self.previous_plan_count,
            danger_statements: self.danger_statements,
            safety_goals: self.safety_goals,
            contingency_plan: self.contingency_plan.unwrap_or_default(),
            bottom_lines: self.bottom_lines,
            childs_voice: voices.into_iter().map(VoiceRow::into_proto).collect(),
            lead_social_worker: person(&self.lead_social_worker),
            lead_statutory_body: self.lead_statutory_body.to_i32(),
            core_group_members: core_group.iter().map(PersonRef::to_proto).collect(),
            start_conference_id: self
                .start_conference_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            end_conference_id: self
                .end_conference_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            review_dates: review_dates.into_iter().map(date_to_proto).collect(),
            next_review_due_date: opt_date_to_proto(self.next_review_due_date),
            pre_birth: self.pre_birth,
            transfer_out,
            transfer_in_id: self
                .transfer_in_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            agencies_consulted: serde_json::from_value::<Vec<PersonRef>>(self.agencies_consulted)
                .unwrap_or_default()
                .iter()
                .map(PersonRef::to_proto)
                .collect(),
            ended_by: self.ended_by.as_ref().and_then(person),
            cp_is_shared_time: self.cp_is_shared_at.map(timestamp_to_proto),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// The stored plan row (locked when `lock`).
pub(crate) async fn plan_row(
    conn: &mut PgConnection,
    id: Uuid,
    lock: bool,
) -> Result<PlanRow, ApiError> {
    let sql = if lock {
        "SELECT * FROM plans WHERE id = $1 FOR UPDATE"
    } else {
        "SELECT * FROM plans WHERE id = $1"
    };
    sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("plan", id.to_string()))
}

/// The child's open plan, locked, if any.
pub(crate) async fn open_plan(
    conn: &mut PgConnection,
    child_id: Uuid,
) -> Result<Option<PlanRow>, ApiError> {
    Ok(
        sqlx::query_as("SELECT * FROM plans WHERE child_id = $1 AND end_date IS NULL FOR UPDATE")
            .bind(child_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

async fn assemble(
    conn: &mut PgConnection,
    row: PlanRow,
) -> Result<pb::ChildProtectionPlan, ApiError> {
    let core_group = core_group(conn, row.id).await?;
    let voices = voices_for_plan(conn, row.id).await?;
    let review_dates: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT conference_date FROM conference_outcomes \
         WHERE plan_id = $1 AND decision IN ('continue_plan', 'end_plan') ORDER BY conference_date",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(row.into_proto(&core_group, voices, review_dates))
}

/// `GetPlan`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_plan(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::ChildProtectionPlan, ApiError> {
    let row = plan_row(conn, id, false).await?;
    assemble(conn, row).await
}

async fn core_group(conn: &mut PgConnection, plan_id: Uuid) -> Result<Vec<PersonRef>, ApiError> {
    let rows: Vec<PersonColumns> = sqlx::query_as(
        "SELECT person_id, display_name, agency_kind, agency_name FROM plan_core_group_members \
         WHERE plan_id = $1 ORDER BY ordinal",
    )
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.into_iter().map(PersonRef::from).collect())
}

/// Replaces a plan's core group.
pub(crate) async fn write_core_group(
    conn: &mut PgConnection,
    ctx: &Ctx,
    plan_id: Uuid,
    members: &[PersonRef],
) -> Result<(), ApiError> {
    sqlx::query("DELETE FROM plan_core_group_members WHERE plan_id = $1")
        .bind(plan_id)
        .execute(&mut *conn)
        .await?;
    for (ordinal, m) in members.iter().enumerate() {
        sqlx::query(
            "INSERT INTO plan_core_group_members (plan_id, ordinal, authority_id, person_id, display_name, \
                                                  agency_kind, agency_name) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(plan_id)
        .bind(i16::try_from(ordinal).unwrap_or(i16::MAX))
        .bind(ctx.authority.as_str())
        .bind(m.person_id)
        .bind(&m.display_name)
        .bind(m.agency_kind)
        .bind(m.agency_name.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

pub(crate) fn plan_subject(plan: &pb::ChildProtectionPlan) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&plan.id).unwrap_or_default(),
        version: plan.version,
        child_ids: Uuid::parse_str(&plan.child_id).into_iter().collect(),
    }
}

/// The date of the plan's latest review conference (an outcome that
/// continued or ended it), if it has had one.
pub(crate) async fn latest_review(
    conn: &mut PgConnection,
    plan_id: Uuid,
) -> Result<Option<NaiveDate>, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT max(conference_date) FROM conference_outcomes \
         WHERE plan_id = $1 AND decision IN ('continue_plan', 'end_plan')",
    )
    .bind(plan_id)
    .fetch_one(&mut *conn)
    .await?)
}

/// The refusal of a change dated before the plan's latest review: the plan
/// stands as that review left it.
pub(crate) fn reviewed_later(latest: NaiveDate) -> ApiError {
    ApiError::FailedPrecondition(format!(
        "the plan's latest review conference was held on {latest}: nothing dated before it can \
         change or end the plan"
    ))
}

/// Ends a plan row (already checked by the rules). The caller emits
/// `PlanEnded` once everything the event shows is written.
#[allow(clippy::too_many_arguments, reason = "the columns of one ending")]
pub(crate) async fn write_end(
    conn: &mut PgConnection,
    ctx: &Ctx,
    row: &PlanRow,
    status: PlanStatus,
    end_date: NaiveDate,
    reason: PlanEndReason,
    detail: Option<&str>,
    conference_id: Option<Uuid>,
    agencies_consulted: &[PersonRef],
    ended_by: &PersonRef,
    transfer_in_conference_date: Option<NaiveDate>,
) -> Result<(), ApiError> {
    if end_date < row.start_date {
        return Err(ApiError::invalid_field(
            "end_date",
            "must be on or after the plan's start date (rule 8925)",
        ));
    }
    // A plan ended before a review it lists would report a review after its
    // end (rule 8841 counts reviews within the plan).
    if let Some(latest) = latest_review(conn, row.id).await?
        && end_date < latest
    {
        return Err(reviewed_later(latest));
    }
    let done = sqlx::query(
        "UPDATE plans SET status = $3, end_date = $4, end_reason = $5, end_reason_detail = $6, \
                end_conference_id = $7, agencies_consulted = $8, ended_by = $9, \
                transfer_out_conference_date = coalesce($10, transfer_out_conference_date), \
                version = version + 1, updated_at = $11 \
         WHERE id = $1 AND version = $2",
    )
    .bind(row.id)
    .bind(row.version)
    .bind(status)
    .bind(end_date)
    .bind(reason)
    .bind(detail)
    .bind(conference_id)
    .bind(serde_json::to_value(agencies_consulted).unwrap_or_else(|_| serde_json::json!([])))
    .bind(ended_by.to_json())
    .bind(transfer_in_conference_date)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if done.rows_affected() == 0 {
        return Err(super::missing_or_stale(conn, "plans", "plan", row.id, row.version).await);
    }
    Ok(())
}

/// Emits `PlanEnded` for plan `id` as it now stands.
pub(crate) async fn emit_ended(
    conn: &mut PgConnection,
    ctx: &Ctx,
    events: &mut Vec<StoredEvent>,
    id: Uuid,
) -> Result<pb::ChildProtectionPlan, ApiError> {
    let plan = get_plan(conn, id).await?;
    emit(
        conn,
        ctx,
        events,
        plan_subject(&plan),
        &pb::PlanEnded {
            plan: Some(plan.clone()),
        },
    )
    .await?;
    Ok(plan)
}

/// The conference an `EndPlan` for a reason other than risk or transfer
/// says decided the ending. Naming one stands in for consulting the
/// agencies (`EndedBy::ReviewConference`), so it must be a review of this
/// child that scheduling reports held during the plan, the ending dated on
/// its day, and one whose recorded outcome (if any) did not decide
/// otherwise.
///
/// # Errors
/// `FAILED_PRECONDITION` for a conference not recorded as held or whose
/// outcome for the child is recorded; `INVALID_ARGUMENT` naming
/// `conference_id` (not a review, not about the child, before the plan)
/// and `end_date` (not the conference's date).
async fn check_ending_conference(
    conn: &mut PgConnection,
    row: &PlanRow,
    ending: &PlanEnding,
    conference_id: Uuid,
) -> Result<(), ApiError> {
    let held: Option<(ConferenceKind, NaiveDate, bool)> = sqlx::query_as(
        "SELECT conference_kind, held_on, $2 = ANY (child_ids) FROM held_conferences WHERE id = $1",
    )
    .bind(conference_id)
    .bind(row.child_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((kind, held_on, about_child)) = held else {
        return Err(ApiError::FailedPrecondition(format!(
            "conference_id: conference {conference_id} is not recorded as held; a manager ending \
             the plan without a conference leaves conference_id empty and names the \
             agencies_consulted"
        )));
    };
    let mut check = Check::new();
    if !about_child {
        check.add(
            "conference_id",
            "is not a conference about this plan's child",
        );
    }
    if !kind.may_review_plan() {
        check.add("conference_id", "is not a review conference");
    }
    if held_on < row.start_date {
        check.add("conference_id", "was held before the plan started");
    }
    if ending.end_date != held_on {
        check.add(
            "end_date",
            "must be the date of the conference that ended the plan (conference_id)",
        );
    }
    check.finish()?;
    // A recorded outcome is what the conference decided for the child, and
    // no outcome ends a plan for a reason other than risk.
    let recorded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_outcomes WHERE conference_id = $1 AND child_id = $2)",
    )
    .bind(conference_id)
    .bind(row.child_id)
    .fetch_one(&mut *conn)
    .await?;
    if recorded {
        return Err(ApiError::FailedPrecondition(format!(
            "conference_id: conference {conference_id} already has an outcome recorded for this \
             child, and that outcome did not end the plan for this reason"
        )));
    }
    Ok(())
}

/// Refuses an ending whose reason the child's record does not show:
/// `TURNED_18` on another day than the 18th birthday (or with no birth
/// date), `DIED` for a born child, whose death is recorded on the child
/// ([`ending_contradicts_child`]).
///
/// The child is read, not locked: writers lock a child before its plan
/// (`super::episodes::open_episode`), and the plan is locked already.
///
/// # Errors
/// `FAILED_PRECONDITION` saying why; database errors.
async fn check_ending_against_child(
    conn: &mut PgConnection,
    row: &PlanRow,
    ending: &PlanEnding,
) -> Result<(), ApiError> {
    let child = child_row(conn, row.child_id, false).await?;
    match ending_contradicts_child(ending.reason, child.birth_date, ending.end_date) {
        Some(why) => Err(ApiError::FailedPrecondition(why.to_owned())),
        None => Ok(()),
    }
}

/// `EndPlan`. Emits `PlanEnded`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` for an
/// ending the lifecycle does not allow (already ended; transferred out
/// before the transfer was notified; dated before the plan's latest
/// review) or a `conference_id` that is not recorded as held or whose
/// outcome for the child is recorded, or a reason the child's record does
/// not show (`TURNED_18` on another day than the 18th birthday, or with no
/// birth date; `DIED` for a born child, whose death `UpdateChild` records
/// and which ends the plan), `INVALID_ARGUMENT` for `NO_LONGER_AT_RISK`
/// (recorded with the review's outcome), dates before
/// the plan's start or the transfer notice, or a `conference_id` that is
/// not a review of the child during the plan on `end_date`; database
/// errors.
pub async fn end_plan(
    conn: &mut PgConnection,
    ctx: &Ctx,
    ending: &PlanEnding,
) -> Result<Written<pb::EndPlanResponse>, ApiError> {
    if ending.reason == PlanEndReason::NoLongerAtRisk {
        return Err(ApiError::invalid_field("end_reason", RISK_ENDS_BY_OUTCOME));
    }
    lock_version(conn, "plans", "plan", ending.id, ending.version).await?;
    let row = plan_row(conn, ending.id, false).await?;
    let (reason, by) = ending.rules();
    match reason {
        Some(reason) => {
            row.transition(PlanEvent::End { reason, by })?;
        }
        None if !row.status.is_open() => {
            return Err(ApiError::FailedPrecondition(
                "cannot end a plan that has already ended: the plan is not active".to_owned(),
            ));
        }
        None => {}
    }
    if ending.reason == PlanEndReason::TransferredOut {
        if row.status != PlanStatus::TransferOutPending {
            return Err(ApiError::FailedPrecondition(
                "a plan ends by transfer only after TransferPlanOut (status TRANSFER_OUT_PENDING)"
                    .to_owned(),
            ));
        }
        if row
            .transfer_out_notification_date
            .is_some_and(|notified| ending.end_date < notified)
        {
            return Err(ApiError::invalid_field(
                "transfer_in_conference_date",
                "must be on or after the transfer notification date",
            ));
        }
    }
    if ending.reason != PlanEndReason::TransferredOut
        && let Some(conference_id) = ending.conference_id
    {
        check_ending_conference(conn, &row, ending, conference_id).await?;
    }
    check_ending_against_child(conn, &row, ending).await?;
    let status = if ending.reason == PlanEndReason::TransferredOut {
        PlanStatus::TransferredOut
    } else {
        PlanStatus::Ended
    };
    let mut events = Vec::new();
    write_end(
        conn,
        ctx,
        &row,
        status,
        ending.end_date,
        ending.reason,
        ending.reason_detail.as_deref(),
        ending.conference_id,
        &ending.agencies_consulted,
        &ctx.actor,
        ending.transfer_in_conference_date,
    )
    .await?;
    let plan = emit_ended(conn, ctx, &mut events, row.id).await?;
    Ok(Written::new(
        pb::EndPlanResponse { plan: Some(plan) },
        events,
    ))
}

/// Ends the child's open plan, if any, because the child died on `death`
/// (called by `UpdateChild`); returns the ended plan's id. The caller
/// emits `PlanEnded` ([`emit_ended`]) once all its writes are done.
pub(crate) async fn end_open_plan_on_death(
    conn: &mut PgConnection,
    ctx: &Ctx,
    child_id: Uuid,
    death: NaiveDate,
) -> Result<Option<Uuid>, ApiError> {
    let Some(row) = open_plan(conn, child_id).await? else {
        return Ok(None);
    };
    row.transition(PlanEvent::End {
        reason: EndReason::Died,
        by: EndedBy::Manager,
    })?;
    if death < row.start_date {
        return Err(ApiError::invalid_field(
            "child.death_date",
            "is before the start of the child's open plan; correct the plan first",
        ));
    }
    if latest_review(conn, row.id)
        .await?
        .is_some_and(|latest| death < latest)
    {
        return Err(ApiError::invalid_field(
            "child.death_date",
            "is before the latest review of the child's open plan; correct the plan first",
        ));
    }
    write_end(
        conn,
        ctx,
        &row,
        PlanStatus::Ended,
        death,
        PlanEndReason::Died,
        None,
        None,
        &[],
        &ctx.actor,
        None,
    )
    .await?;
    Ok(Some(row.id))
}

/// `TransferPlanOut`. Emits `PlanTransferOutNotified`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` unless the
/// plan is ACTIVE, `INVALID_ARGUMENT` for a notice before the plan's start;
/// database errors.
pub async fn transfer_plan_out(
    conn: &mut PgConnection,
    ctx: &Ctx,
    notice: &TransferOutNotice,
) -> Result<Written<pb::TransferPlanOutResponse>, ApiError> {
    lock_version(conn, "plans", "plan", notice.id, notice.version).await?;
    let row = plan_row(conn, notice.id, false).await?;
    if row.status != PlanStatus::Active {
        return Err(ApiError::FailedPrecondition(
            "only an ACTIVE plan can be transferred out".to_owned(),
        ));
    }
    if notice.notification_date < row.start_date {
        return Err(ApiError::invalid_field(
            "transfer_out.notification_date",
            "must be on or after the plan's start date",
        ));
    }
    sqlx::query(
        "UPDATE plans SET status = 'transfer_out_pending', transfer_out_receiving_authority_name = $3, \
                transfer_out_receiving_authority_code = $4, transfer_out_receiving_authority_id = $5, \
                transfer_out_notification_date = $6, version = version + 1, updated_at = $7 \
         WHERE id = $1 AND version = $2",
    )
    .bind(notice.id)
    .bind(notice.version)
    .bind(&notice.receiving_authority_name)
    .bind(notice.receiving_authority_code.as_deref())
    .bind(notice.receiving_authority_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(notice.notification_date)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let plan = get_plan(conn, notice.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        plan_subject(&plan),
        &pb::PlanTransferOutNotified {
            plan: Some(plan.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::TransferPlanOutResponse { plan: Some(plan) },
        events,
    ))
}

/// How many plans before `plan` cpc itself knows of: the child's plans
/// recorded here that started earlier, and the sending authority's plan
/// when it started from a transfer in, as counted when it started. A
/// correction of `previous_plan_count` (plans held elsewhere) adds to
/// these; it cannot drop them from the census's NumberOfPreviousCPP.
async fn previous_plans_known(conn: &mut PgConnection, plan: &PlanRow) -> Result<i64, ApiError> {
    let here: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM plans WHERE child_id = $1 AND start_date < $2 AND id <> $3",
    )
    .bind(plan.child_id)
    .bind(plan.start_date)
    .bind(plan.id)
    .fetch_one(&mut *conn)
    .await
    .map_err(db)?;
    Ok(here + i64::from(plan.transfer_in_id.is_some()))
}

/// `UpdatePlan`: content, lead and core group between conferences (the
/// categories change only through conference outcomes). Emits `PlanUpdated`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` for a plan
/// that has ended, `INVALID_ARGUMENT` for a lead who is not of the lead
/// statutory body or not in the core group, or a `previous_plan_count`
/// below the plans cpc holds from before this one (and, when parsed, for
/// an empty contingency plan); database errors.
pub async fn update_plan(
    conn: &mut PgConnection,
    ctx: &Ctx,
    update: &PlanUpdate,
) -> Result<Written<pb::UpdatePlanResponse>, ApiError> {
    lock_version(conn, "plans", "plan", update.id, update.version).await?;
    let row = plan_row(conn, update.id, false).await?;
    if !row.status.is_open() {
        return Err(ApiError::FailedPrecondition(
            "the plan has ended and can no longer be updated".to_owned(),
        ));
    }
    let lead = update.lead_social_worker.clone().or_else(|| row.lead());
    let body = update
        .lead_statutory_body
        .unwrap_or(row.lead_statutory_body);
    let members = match &update.core_group_members {
        Some(members) => members.clone(),
        None => core_group(conn, row.id).await?,
    };
    let mut check = Check::new();
    check_lead(&mut check, "plan", lead.as_ref(), Some(body), &members);
    if let Some(count) = update.previous_plan_count {
        let known = previous_plans_known(conn, &row).await?;
        if i64::from(count) < known {
            check.add(
                "plan.previous_plan_count",
                format!(
                    "must be at least {known}, the plans before this one that cpc holds \
                     (a transfer in counts the sending authority's)"
                ),
            );
        }
    }
    check.finish()?;
    sqlx::query(
        "UPDATE plans SET danger_statements = coalesce($3, danger_statements), \
                safety_goals = coalesce($4, safety_goals), \
                contingency_plan = coalesce($5, contingency_plan), \
                bottom_lines = coalesce($6, bottom_lines), \
                lead_social_worker = coalesce($7, lead_social_worker), \
                lead_statutory_body = coalesce($8, lead_statutory_body), \
                previous_plan_count = coalesce($9, previous_plan_count), \
                version = version + 1, updated_at = $10 \
         WHERE id = $1 AND version = $2",
    )
    .bind(update.id)
    .bind(update.version)
    .bind(update.danger_statements.as_ref())
    .bind(update.safety_goals.as_ref())
    .bind(update.contingency_plan.as_deref())
    .bind(update.bottom_lines.as_ref())
    .bind(update.lead_social_worker.as_ref().map(PersonRef::to_json))
    .bind(update.lead_statutory_body)
    .bind(update.previous_plan_count)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    if let Some(members) = &update.core_group_members {
        write_core_group(conn, ctx, update.id, members).await?;
    }
    let plan = get_plan(conn, update.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        plan_subject(&plan),
        &pb::PlanUpdated {
            plan: Some(plan.clone()),
            changed_fields: update.fields.iter().map(|f| (*f).to_owned()).collect(),
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdatePlanResponse { plan: Some(plan) },
        events,
    ))
}

/// `ListPlans`: newest start first.
///
/// # Errors
/// Database errors.
pub async fn list_plans(
    conn: &mut PgConnection,
    filter: &PlanFilter,
) -> Result<pb::ListPlansResponse, ApiError> {
    let mut rows: Vec<PlanRow> = sqlx::query_as(
        "SELECT p.* FROM plans p \
         WHERE ($1::text IS NULL OR p.authority_id = $1) \
           AND ($2::uuid IS NULL OR p.child_id = $2) \
           AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM children ch WHERE ch.id = p.child_id AND ch.case_id = $3)) \
           AND ($4::text IS NULL OR p.status = $4) \
           AND ($5::text IS NULL OR p.latest_category = $5) \
           AND ($6::uuid IS NULL OR p.lead_social_worker_id = $6) \
           AND ($7::date IS NULL OR p.next_review_due_date <= $7) \
           AND ($8::date IS NULL OR p.start_date >= $8) \
           AND ($9::date IS NULL OR p.start_date <= $9) \
           AND ($10::uuid IS NULL OR (p.start_date, p.id) < \
                (SELECT a.start_date, a.id FROM plans a WHERE a.id = $10 \
                    AND ($2::uuid IS NULL OR a.child_id = $2) \
                    AND ($3::uuid IS NULL OR EXISTS (SELECT 1 FROM children ch WHERE ch.id = a.child_id AND ch.case_id = $3)))) \
         ORDER BY p.start_date DESC, p.id DESC LIMIT $11",
    )
    .bind(filter.authority_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(filter.child_id)
    .bind(filter.case_id)
    .bind(filter.status)
    .bind(filter.category.map(|c| c.code()))
    .bind(filter.lead_social_worker_id)
    .bind(filter.next_review_due_before)
    .bind(filter.start_dates.start)
    .bind(filter.start_dates.end)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    let mut plans = Vec::with_capacity(rows.len());
    for row in rows {
        plans.push(assemble(conn, row).await?);
    }
    Ok(pb::ListPlansResponse {
        plans,
        next_page_token,
    })
}
