//! Conference outcomes: `RecordConferenceOutcome`, `GetConferenceOutcome`,
//! `ListConferenceOutcomes`.
//!
//! Recording an outcome is where the plan lifecycle moves: a plan decision
//! starts a plan (`Proposed → Active`, counting the child's earlier plans
//! for NumberOfPreviousCPP), a review continues or ends it, and a "no plan"
//! decision declines it, each through `cpc_rules::plan::transition`. The
//! decision itself was checked against `cpc_rules::decision::resolve` when
//! the request was parsed.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::RulesError;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::plan::{self, EndReason, EndedBy, PlanEvent, PlanPeriod, PlanState};
use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::{ActionInsert, action_subject, get_plan_action, insert_action};
use super::children::child_row;
use super::episodes::open_episode;
use super::plans::{
    emit_ended, get_plan, latest_review, open_plan, plan_subject, reviewed_later, write_core_group,
    write_end,
};
use super::section47::{LatestEnquiry, enquiry_for_icpc};
use super::{Ctx, Written, db};
use crate::codes::{
    self, AgencyKind, ConferenceDecision, ConferenceKind, ExclusionScope, LeadStatutoryBody,
    PlanEndReason, PlanStatus, Recommendation, TransferInStatus, ViewsMethod,
};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::PersonRef;
use crate::domain::check::redacted_debug;
use crate::domain::child::age_on;
use crate::domain::outcome::{
    HeldConference, NewConferenceOutcome, OutcomeCorrection, OutcomeFilter,
};
use crate::domain::plan::plan_barred;
use crate::events::{Subject, emit};
use crate::idempotency;

/// A child's voice at one conference, as stored.
#[derive(sqlx::FromRow)]
pub(crate) struct VoiceRow {
    conference_id: Uuid,
    conference_date: NaiveDate,
    attended: bool,
    attended_part_only: bool,
    advocate: Option<serde_json::Value>,
    views_submitted: bool,
    methods: Vec<ViewsMethod>,
    summary: Option<String>,
    not_participating_reason: Option<String>,
}

redacted_debug!(VoiceRow);

fn person(json: Option<serde_json::Value>) -> Option<cpc_proto::common::v1::PersonRef> {
    json.and_then(|j| serde_json::from_value::<PersonRef>(j).ok())
        .map(|p| p.to_proto())
}

fn category(code: Option<&str>) -> i32 {
    code.and_then(|c| c.parse::<CategoryOfHarm>().ok())
        .map_or(0, |c| codes::category_to_proto(c) as i32)
}

impl VoiceRow {
    pub(crate) fn into_proto(self) -> pb::ChildVoiceContribution {
        pb::ChildVoiceContribution {
            conference_id: self.conference_id.to_string(),
            conference_date: Some(date_to_proto(self.conference_date)),
            attended: self.attended,
            attended_part_only: self.attended_part_only,
            advocate: person(self.advocate),
            views_submitted: self.views_submitted,
            methods: self.methods.iter().map(|m| m.to_i32()).collect(),
            summary: self.summary.unwrap_or_default(),
            not_participating_reason: self.not_participating_reason.unwrap_or_default(),
        }
    }
}

const VOICE_COLUMNS: &str = "conference_id, conference_date, attended, attended_part_only, advocate, \
                             views_submitted, methods, summary, not_participating_reason";

/// The child's voice at each conference of a plan, oldest first.
pub(crate) async fn voices_for_plan(
    conn: &mut PgConnection,
    plan_id: Uuid,
) -> Result<Vec<VoiceRow>, ApiError> {
    Ok(sqlx::query_as(&format!(
        "SELECT {VOICE_COLUMNS} FROM child_voice_contributions WHERE plan_id = $1 ORDER BY conference_date, outcome_id"
    ))
    .bind(plan_id)
    .fetch_all(&mut *conn)
    .await?)
}

#[derive(sqlx::FromRow)]
struct OutcomeRow {
    id: Uuid,
    authority_id: String,
    conference_id: Uuid,
    child_id: Uuid,
    conference_kind: ConferenceKind,
    conference_date: NaiveDate,
    chair: serde_json::Value,
    decision: ConferenceDecision,
    decided_by_chair: bool,
    chair_rationale: Option<String>,
    initial_category: Option<String>,
    latest_category: Option<String>,
    category_decided_by_chair: bool,
    category_rationale: Option<String>,
    lead_social_worker: Option<serde_json::Value>,
    lead_statutory_body: Option<LeadStatutoryBody>,
    core_group_members: serde_json::Value,
    danger_statements: Vec<String>,
    safety_goals: Vec<String>,
    contingency_plan: Option<String>,
    bottom_lines: Vec<String>,
    outline_actions: serde_json::Value,
    next_review_date: Option<NaiveDate>,
    first_core_group_date: Option<NaiveDate>,
    plan_id: Option<Uuid>,
    recorded_by: serde_json::Value,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ViewRow {
    person_id: Uuid,
    display_name: String,
    agency_kind: AgencyKind,
    agency_name: String,
    safety_scale: i16,
    recommendation: Recommendation,
    recommended_category: Option<String>,
    comment: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ExclusionRow {
    person: serde_json::Value,
    scopes: Vec<ExclusionScope>,
    excluded_parts: Option<String>,
    reason: String,
    decided_by: Option<serde_json::Value>,
    decision_date: Option<NaiveDate>,
}

redacted_debug!(OutcomeRow, ViewRow, ExclusionRow);

/// An outline action as stored on the outcome.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredOutlineAction {
    description: String,
    owner: PersonRef,
    due_date: NaiveDate,
}

async fn assemble(
    conn: &mut PgConnection,
    row: OutcomeRow,
) -> Result<pb::ConferenceOutcome, ApiError> {
    let views: Vec<ViewRow> = sqlx::query_as(
        "SELECT person_id, display_name, agency_kind, agency_name, safety_scale, recommendation, \
                recommended_category, comment \
         FROM professional_views WHERE outcome_id = $1 ORDER BY ordinal",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    let exclusions: Vec<ExclusionRow> = sqlx::query_as(
        "SELECT person, scopes, excluded_parts, reason, decided_by, decision_date \
         FROM conference_exclusions WHERE outcome_id = $1 ORDER BY ordinal",
    )
    .bind(row.id)
    .fetch_all(&mut *conn)
    .await?;
    let voice: Option<VoiceRow> = sqlx::query_as(&format!(
        "SELECT {VOICE_COLUMNS} FROM child_voice_contributions WHERE outcome_id = $1"
    ))
    .bind(row.id)
    .fetch_optional(&mut *conn)
    .await?;
    let outline: Vec<StoredOutlineAction> =
        serde_json::from_value(row.outline_actions).unwrap_or_default();
    Ok(pb::ConferenceOutcome {
        id: row.id.to_string(),
        version: row.version,
        conference_id: row.conference_id.to_string(),
        child_id: row.child_id.to_string(),
        authority_id: row.authority_id,
        conference_kind: row.conference_kind.to_i32(),
        conference_date: Some(date_to_proto(row.conference_date)),
        chair: person(Some(row.chair)),
        professional_views: views
            .into_iter()
            .map(|v| pb::ProfessionalView {
                professional: Some(
                    PersonRef {
                        person_id: v.person_id,
                        display_name: v.display_name,
                        agency_kind: Some(v.agency_kind),
                        agency_name: Some(v.agency_name),
                    }
                    .to_proto(),
                ),
                safety_scale: i32::from(v.safety_scale),
                recommendation: v.recommendation.to_i32(),
                recommended_category: category(v.recommended_category.as_deref()),
                comment: v.comment.unwrap_or_default(),
            })
            .collect(),
        decision: row.decision.to_i32(),
        decided_by_chair: row.decided_by_chair,
        chair_rationale: row.chair_rationale.unwrap_or_default(),
        initial_category: category(row.initial_category.as_deref()),
        latest_category: category(row.latest_category.as_deref()),
        category_decided_by_chair: row.category_decided_by_chair,
        category_rationale: row.category_rationale.unwrap_or_default(),
        lead_social_worker: person(row.lead_social_worker),
        lead_statutory_body: row.lead_statutory_body.map_or(0, LeadStatutoryBody::to_i32),
        core_group_members: serde_json::from_value::<Vec<PersonRef>>(row.core_group_members)
            .unwrap_or_default()
            .iter()
            .map(PersonRef::to_proto)
            .collect(),
        exclusions: exclusions
            .into_iter()
            .map(|e| pb::Exclusion {
                person: person(Some(e.person)),
                scopes: e.scopes.iter().map(|s| s.to_i32()).collect(),
                excluded_parts: e.excluded_parts.unwrap_or_default(),
                reason: e.reason,
                decided_by: person(e.decided_by),
                decision_date: opt_date_to_proto(e.decision_date),
            })
            .collect(),
        childs_voice: voice.map(VoiceRow::into_proto),
        danger_statements: row.danger_statements,
        safety_goals: row.safety_goals,
        contingency_plan: row.contingency_plan.unwrap_or_default(),
        bottom_lines: row.bottom_lines,
        outline_actions: outline
            .into_iter()
            .map(|a| pb::OutlineAction {
                description: a.description,
                owner: Some(a.owner.to_proto()),
                due_date: Some(date_to_proto(a.due_date)),
            })
            .collect(),
        next_review_date: opt_date_to_proto(row.next_review_date),
        first_core_group_date: opt_date_to_proto(row.first_core_group_date),
        plan_id: row.plan_id.map(|id| id.to_string()).unwrap_or_default(),
        recorded_by: person(Some(row.recorded_by)),
        create_time: Some(timestamp_to_proto(row.created_at)),
        update_time: Some(timestamp_to_proto(row.updated_at)),
    })
}

/// `GetConferenceOutcome`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_conference_outcome(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::ConferenceOutcome, ApiError> {
    let row: OutcomeRow = sqlx::query_as("SELECT * FROM conference_outcomes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("conference outcome", id.to_string()))?;
    assemble(conn, row).await
}

/// Children over four are expected to take part in some way: without
/// attendance or submitted views, the reason is required.
fn check_voice(birth_date: Option<NaiveDate>, new: &NewConferenceOutcome) -> Result<(), ApiError> {
    let conference = &new.conference;
    if let Some(birth) = birth_date
        && birth <= conference.date
        && age_on(birth, conference.date) >= 4
    {
        let voice = new.childs_voice.as_ref();
        let took_part = voice.is_some_and(|v| v.attended || v.views_submitted);
        if !took_part
            && voice
                .and_then(|v| v.not_participating_reason.as_ref())
                .is_none()
        {
            return Err(ApiError::invalid_field(
                "outcome.childs_voice.not_participating_reason",
                "is required: the child is over four and neither attended nor submitted views",
            ));
        }
    }
    Ok(())
}

/// What recording the outcome did to the child's plan.
enum PlanChange {
    None,
    Started(Uuid),
    Continued(Uuid, Vec<String>),
    Ended(Uuid),
}

fn precondition(msg: &str) -> ApiError {
    ApiError::FailedPrecondition(msg.to_owned())
}

/// Why an initial or pre-birth conference (`kind`) has no enquiry to
/// follow, given the latest enquiry of the child's open episode.
fn no_enquiry_for_icpc(kind: ConferenceKind, latest: Option<&LatestEnquiry>) -> ApiError {
    if latest.is_some_and(LatestEnquiry::icpc_not_required) {
        return precondition(ICPC_NOT_REQUIRED);
    }
    precondition(if kind == ConferenceKind::PreBirth {
        "a pre-birth conference follows a section 47 enquiry in the child's open CIN episode; none found"
    } else {
        "an initial conference follows a section 47 enquiry in the child's open CIN episode; none found"
    })
}

/// Why an initial or pre-birth conference's outcome is refused after an
/// enquiry that concluded none is needed.
pub const ICPC_NOT_REQUIRED: &str = "the latest section 47 enquiry in the child's open CIN \
     episode concluded that no initial conference is required (ICPC not required); an initial \
     or pre-birth conference follows a later enquiry";

/// Why a reconvened conference's decision on a plan is refused when the
/// child has neither an enquiry nor a transfer in to decide on.
pub const RECONVENED_WITHOUT_CAUSE: &str = "a reconvened conference decides on a plan in place \
     of an inquorate initial, pre-birth or transfer-in conference; the child has no section 47 \
     enquiry in the open CIN episode calling for one, and no transfer in awaiting its conference";

/// `RecordConferenceOutcome`. Emits `ConferenceOutcomeRecorded`, then
/// `PlanStarted`, `PlanUpdated` or `PlanEnded` for the plan it moved, then
/// `PlanActionAdded` for each outline action.
///
/// # Errors
/// `NOT_FOUND` (child); `ALREADY_EXISTS` for a second outcome of the child
/// at the conference; `FAILED_PRECONDITION` for a decision the child's state
/// does not allow (starting a plan while one is open, continuing or ending
/// without an open plan, starting or continuing one for a child who died on
/// or before the conference or is 18 or over on its date, a review held
/// before the plan's latest review, no open CIN episode, no enquiry before
/// an initial or pre-birth conference or a latest enquiry that concluded
/// no ICPC is required, no transfer-in awaiting a transfer-in conference,
/// neither of these before a reconvened one deciding on a new plan,
/// overlapping plans) or a reused request id; `INVALID_ARGUMENT` when the
/// child's voice is missing its non-participation reason; database errors.
pub async fn record_conference_outcome(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewConferenceOutcome,
) -> Result<Written<pb::RecordConferenceOutcomeResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let conference = &new.conference;
    let child = child_row(conn, new.child_id, true).await?;
    let recorded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_outcomes WHERE conference_id = $1 AND child_id = $2)",
    )
    .bind(conference.id)
    .bind(new.child_id)
    .fetch_one(&mut *conn)
    .await?;
    if recorded {
        return Err(ApiError::AlreadyExists {
            resource: "conference outcome",
            id: "for this child at this conference".to_owned(),
        });
    }
    check_voice(child.birth_date, new)?;
    if new.decision.keeps_plan()
        && let Some(why) = plan_barred(child.birth_date, child.death_date, conference.date)
    {
        return Err(precondition(why));
    }

    // Locked (after the child, as every writer into an episode does) so
    // that the episode cannot close under the plan or outcome written here.
    let episode = open_episode(conn, new.child_id, true).await?;
    let open = open_plan(conn, new.child_id).await?;
    let awaiting_transfer: Option<(Uuid, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT id, previous_plan_start_date FROM transfers_in \
         WHERE child_id = $1 AND status = 'awaiting_conference' FOR UPDATE",
    )
    .bind(new.child_id)
    .fetch_optional(&mut *conn)
    .await?;
    let latest_enquiry = match &episode {
        Some(e)
            if matches!(
                conference.kind,
                ConferenceKind::Initial | ConferenceKind::PreBirth | ConferenceKind::Reconvened
            ) =>
        {
            enquiry_for_icpc(conn, e.id).await?
        }
        _ => None,
    };
    let enquiry = latest_enquiry
        .as_ref()
        .filter(|e| !e.icpc_not_required())
        .map(|e| (e.id, e.start_date));
    let transfer_in = awaiting_transfer.filter(|_| {
        matches!(
            conference.kind,
            ConferenceKind::TransferIn | ConferenceKind::Reconvened
        )
    });
    let mut plan_initial_category: Option<String> = None;

    let change = match new.decision {
        ConferenceDecision::StartPlan | ConferenceDecision::NoPlan => {
            let event = if new.decision == ConferenceDecision::StartPlan {
                PlanEvent::Start
            } else {
                PlanEvent::Decline
            };
            // A child with an open plan has had this decided already.
            match &open {
                Some(row) => {
                    row.transition(event)?;
                }
                None => {
                    plan::transition(PlanState::Proposed, event)
                        .map_err(|refused| ApiError::FailedPrecondition(refused.to_string()))?;
                }
            }
            match conference.kind {
                ConferenceKind::PreBirth
                    if child
                        .birth_date
                        .is_some_and(|birth| birth <= conference.date) =>
                {
                    return Err(precondition(
                        "a pre-birth conference is for a child not yet born",
                    ));
                }
                // The pre-birth conference is the initial conference of an
                // unborn child: it too follows an enquiry (DOMAIN.md, the
                // journey of one child, step 3).
                ConferenceKind::Initial | ConferenceKind::PreBirth if enquiry.is_none() => {
                    return Err(no_enquiry_for_icpc(
                        conference.kind,
                        latest_enquiry.as_ref(),
                    ));
                }
                ConferenceKind::TransferIn if transfer_in.is_none() => {
                    return Err(precondition(
                        "no transfer-in of this child is awaiting its conference",
                    ));
                }
                // Meeting again in place of an inquorate initial, pre-birth
                // or transfer-in conference, it decides as they would: after
                // an enquiry, or for a transfer in awaiting its conference.
                ConferenceKind::Reconvened if enquiry.is_none() && transfer_in.is_none() => {
                    return Err(precondition(RECONVENED_WITHOUT_CAUSE));
                }
                _ => {}
            }
            if let Some((_, s47_start)) = enquiry
                && conference.date < s47_start
            {
                return Err(precondition(
                    "the conference was held before the section 47 enquiry started",
                ));
            }
            if new.decision == ConferenceDecision::StartPlan {
                let Some(episode) = &episode else {
                    return Err(precondition(
                        "the child has no open CIN episode; a plan belongs to one",
                    ));
                };
                if conference.date < episode.referral_date {
                    return Err(precondition(
                        "the conference was held before the child's referral",
                    ));
                }
                let id = start_plan(conn, ctx, new, episode.id, transfer_in).await?;
                PlanChange::Started(id)
            } else {
                PlanChange::None
            }
        }
        ConferenceDecision::ContinuePlan | ConferenceDecision::EndPlan => {
            let Some(row) = &open else {
                // Not active: the rules name the refusal.
                let refused = plan::transition(
                    PlanState::Proposed,
                    if new.decision == ConferenceDecision::ContinuePlan {
                        PlanEvent::ReviewContinue
                    } else {
                        PlanEvent::End {
                            reason: EndReason::NoLongerAtRisk,
                            by: EndedBy::ReviewConference,
                        }
                    },
                );
                return Err(match refused {
                    Err(refused) => ApiError::FailedPrecondition(refused.to_string()),
                    Ok(_) => precondition("the child has no open plan to review"),
                });
            };
            if conference.date < row.start_date {
                return Err(precondition(
                    "the review conference was held before the plan started",
                ));
            }
            // Reviews are recorded in the order they were held: an earlier
            // one recorded late would end the plan before a review it
            // lists, or move its next review back.
            if let Some(latest) = latest_review(conn, row.id).await?
                && conference.date < latest
            {
                return Err(reviewed_later(latest));
            }
            plan_initial_category = Some(row.initial_category.clone());
            if new.decision == ConferenceDecision::ContinuePlan {
                row.transition(PlanEvent::ReviewContinue)?;
                let changed = continue_plan(conn, ctx, new, row.id).await?;
                PlanChange::Continued(row.id, changed)
            } else {
                row.transition(PlanEvent::End {
                    reason: EndReason::NoLongerAtRisk,
                    by: EndedBy::ReviewConference,
                })?;
                write_end(
                    conn,
                    ctx,
                    row,
                    PlanStatus::Ended,
                    conference.date,
                    PlanEndReason::NoLongerAtRisk,
                    None,
                    Some(conference.id),
                    &[],
                    &conference.chair,
                    None,
                )
                .await?;
                PlanChange::Ended(row.id)
            }
        }
    };
    let plan_id = match &change {
        PlanChange::None => None,
        PlanChange::Started(id) | PlanChange::Continued(id, _) | PlanChange::Ended(id) => Some(*id),
    };

    if let Some((transfer_id, _)) = transfer_in
        && matches!(
            new.decision,
            ConferenceDecision::StartPlan | ConferenceDecision::NoPlan
        )
    {
        let status = if new.decision == ConferenceDecision::StartPlan {
            TransferInStatus::PlanStarted
        } else {
            TransferInStatus::NoPlan
        };
        sqlx::query(
            "UPDATE transfers_in SET status = $2, conference_id = $3, version = version + 1, updated_at = $4 \
             WHERE id = $1",
        )
        .bind(transfer_id)
        .bind(status)
        .bind(conference.id)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }

    let outcome_id = insert_outcome(
        conn,
        ctx,
        new,
        plan_id,
        enquiry.map(|(id, _)| id),
        transfer_in.map(|(id, _)| id),
        plan_initial_category.as_deref(),
    )
    .await?;

    let mut action_ids = Vec::new();
    if let Some(plan_id) = plan_id.filter(|_| new.decision.keeps_plan()) {
        let plan_start: NaiveDate =
            sqlx::query_scalar("SELECT start_date FROM plans WHERE id = $1")
                .bind(plan_id)
                .fetch_one(&mut *conn)
                .await?;
        for (i, a) in new.outline_actions.iter().enumerate() {
            let id = insert_action(
                conn,
                ctx,
                &ActionInsert {
                    plan_id,
                    child_id: new.child_id,
                    plan_start_date: plan_start,
                    description: &a.description,
                    owner: &a.owner,
                    due_date: a.due_date,
                    agreed_at_conference_id: Some(conference.id),
                },
            )
            .await
            .map_err(|err| match err {
                ApiError::InvalidArgument(_) => ApiError::invalid_field(
                    format!("outcome.outline_actions[{i}].due_date"),
                    "must be on or after the plan's start date",
                ),
                other => other,
            })?;
            action_ids.push(id);
        }
    }

    // Events, once everything they show is written.
    let mut events = Vec::new();
    let outcome = get_conference_outcome(conn, outcome_id).await?;
    emit(
        conn,
        ctx,
        &mut events,
        Subject {
            aggregate_id: outcome_id,
            version: outcome.version,
            child_ids: vec![new.child_id],
        },
        &pb::ConferenceOutcomeRecorded {
            outcome: Some(outcome.clone()),
            correction: false,
        },
    )
    .await?;
    let plan = match change {
        PlanChange::None => None,
        PlanChange::Started(id) => {
            let plan = get_plan(conn, id).await?;
            emit(
                conn,
                ctx,
                &mut events,
                plan_subject(&plan),
                &pb::PlanStarted {
                    plan: Some(plan.clone()),
                },
            )
            .await?;
            Some(plan)
        }
        PlanChange::Continued(id, changed_fields) => {
            let plan = get_plan(conn, id).await?;
            emit(
                conn,
                ctx,
                &mut events,
                plan_subject(&plan),
                &pb::PlanUpdated {
                    plan: Some(plan.clone()),
                    changed_fields,
                },
            )
            .await?;
            Some(plan)
        }
        PlanChange::Ended(id) => Some(emit_ended(conn, ctx, &mut events, id).await?),
    };
    let mut actions = Vec::with_capacity(action_ids.len());
    for id in action_ids {
        let action = get_plan_action(conn, id, ctx.today).await?;
        emit(
            conn,
            ctx,
            &mut events,
            action_subject(&action),
            &pb::PlanActionAdded {
                action: Some(action.clone()),
            },
        )
        .await?;
        actions.push(action);
    }
    let response = pb::RecordConferenceOutcomeResponse {
        outcome: Some(outcome),
        plan,
        actions,
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// Starts the plan a conference decided on; returns its id.
async fn start_plan(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewConferenceOutcome,
    cin_episode_id: Uuid,
    transfer_in: Option<(Uuid, Option<NaiveDate>)>,
) -> Result<Uuid, ApiError> {
    let conference = &new.conference;
    let history: Vec<(NaiveDate, Option<NaiveDate>)> =
        sqlx::query_as("SELECT start_date, end_date FROM plans WHERE child_id = $1")
            .bind(new.child_id)
            .fetch_all(&mut *conn)
            .await?;
    let periods: Vec<PlanPeriod> = history
        .into_iter()
        .map(|(start, end)| PlanPeriod { start, end })
        .collect();
    let here =
        plan::number_of_previous_plans(&periods, conference.date).map_err(|err| match err {
            RulesError::OverlappingPlans { .. } => precondition(
                "an earlier plan of the child overlaps the conference date (rules 8935, 8940)",
            ),
            other => ApiError::internal(other),
        })?;
    // A child transferring in was on the sending authority's plan.
    let elsewhere = u32::from(transfer_in.is_some());
    let previous_plan_count = i32::try_from(here + elsewhere).unwrap_or(i32::MAX);
    let next_review_due = ctx
        .timescales
        .first_review_due(conference.date)
        .map_err(ApiError::internal)?
        .due;
    let (Some(initial), Some(latest), Some(lead), Some(body)) = (
        new.initial_category,
        new.latest_category,
        new.lead_social_worker.as_ref(),
        new.lead_statutory_body,
    ) else {
        return Err(ApiError::internal(
            "a parsed plan decision lacks its plan details",
        ));
    };
    // A plan started before the child is born is a pre-birth plan (its
    // birth makes a post-birth review due), whether the pre-birth
    // conference decided it or, after that met inquorate, its reconvening.
    let unborn: bool = sqlx::query_scalar("SELECT birth_date IS NULL FROM children WHERE id = $1")
        .bind(new.child_id)
        .fetch_one(&mut *conn)
        .await?;
    let pre_birth = conference.kind == ConferenceKind::PreBirth || unborn;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO plans (id, authority_id, child_id, cin_episode_id, status, start_date, initial_category, \
                            latest_category, previous_plan_count, danger_statements, safety_goals, contingency_plan, \
                            bottom_lines, lead_social_worker, lead_statutory_body, start_conference_id, \
                            next_review_due_date, pre_birth, transfer_in_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(new.child_id)
    .bind(cin_episode_id)
    .bind(conference.date)
    .bind(initial.code())
    .bind(latest.code())
    .bind(previous_plan_count)
    .bind(&new.danger_statements)
    .bind(&new.safety_goals)
    .bind(new.contingency_plan.as_deref())
    .bind(&new.bottom_lines)
    .bind(lead.to_json())
    .bind(body)
    .bind(conference.id)
    .bind(next_review_due)
    .bind(pre_birth)
    .bind(transfer_in.map(|(id, _)| id))
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_core_group(conn, ctx, id, &new.core_group).await?;
    Ok(id)
}

/// Applies a review's "continue" to the plan; returns the changed fields.
async fn continue_plan(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewConferenceOutcome,
    plan_id: Uuid,
) -> Result<Vec<String>, ApiError> {
    let conference = &new.conference;
    let next_review_due = ctx
        .timescales
        .next_review_due(conference.date)
        .map_err(ApiError::internal)?
        .due;
    let (Some(latest), Some(lead), Some(body)) = (
        new.latest_category,
        new.lead_social_worker.as_ref(),
        new.lead_statutory_body,
    ) else {
        return Err(ApiError::internal(
            "a parsed plan decision lacks its plan details",
        ));
    };
    let keep_or = |agreed: &Vec<String>| (!agreed.is_empty()).then(|| agreed.clone());
    sqlx::query(
        "UPDATE plans SET latest_category = $2, lead_social_worker = $3, lead_statutory_body = $4, \
                contingency_plan = $5, danger_statements = coalesce($6, danger_statements), \
                safety_goals = coalesce($7, safety_goals), bottom_lines = coalesce($8, bottom_lines), \
                next_review_due_date = $9, version = version + 1, updated_at = $10 \
         WHERE id = $1",
    )
    .bind(plan_id)
    .bind(latest.code())
    .bind(lead.to_json())
    .bind(body)
    .bind(new.contingency_plan.as_deref())
    .bind(keep_or(&new.danger_statements))
    .bind(keep_or(&new.safety_goals))
    .bind(keep_or(&new.bottom_lines))
    .bind(next_review_due)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_core_group(conn, ctx, plan_id, &new.core_group).await?;
    let mut changed: Vec<String> = [
        "latest_category",
        "lead_social_worker",
        "lead_statutory_body",
        "core_group_members",
        "contingency_plan",
        "review_dates",
        "next_review_due_date",
        "childs_voice",
    ]
    .map(str::to_owned)
    .to_vec();
    for (field, agreed) in [
        ("danger_statements", &new.danger_statements),
        ("safety_goals", &new.safety_goals),
        ("bottom_lines", &new.bottom_lines),
    ] {
        if !agreed.is_empty() {
            changed.push(field.to_owned());
        }
    }
    Ok(changed)
}

async fn insert_outcome(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewConferenceOutcome,
    plan_id: Option<Uuid>,
    section47_id: Option<Uuid>,
    transfer_in_id: Option<Uuid>,
    plan_initial_category: Option<&str>,
) -> Result<Uuid, ApiError> {
    let conference = &new.conference;
    let id = Uuid::now_v7();
    let initial_category = new
        .initial_category
        .map(|c| c.code().to_owned())
        .or_else(|| plan_initial_category.map(str::to_owned));
    let outline: Vec<StoredOutlineAction> = new
        .outline_actions
        .iter()
        .map(|a| StoredOutlineAction {
            description: a.description.clone(),
            owner: a.owner.clone(),
            due_date: a.due_date,
        })
        .collect();
    sqlx::query(
        "INSERT INTO conference_outcomes (id, authority_id, conference_id, child_id, conference_kind, conference_date, \
                chair, decision, decided_by_chair, chair_rationale, initial_category, latest_category, \
                category_decided_by_chair, category_rationale, lead_social_worker, lead_statutory_body, \
                core_group_members, danger_statements, safety_goals, contingency_plan, bottom_lines, outline_actions, \
                next_review_date, first_core_group_date, plan_id, section47_id, transfer_in_id, recorded_by, \
                created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, \
                 $23, $24, $25, $26, $27, $28, $29, $29)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(conference.id)
    .bind(new.child_id)
    .bind(conference.kind)
    .bind(conference.date)
    .bind(conference.chair.to_json())
    .bind(new.decision)
    .bind(new.decided_by_chair)
    .bind(new.chair_rationale.as_deref())
    .bind(initial_category)
    .bind(new.latest_category.map(|c| c.code()))
    .bind(new.category_decided_by_chair)
    .bind(new.category_rationale.as_deref())
    .bind(new.lead_social_worker.as_ref().map(PersonRef::to_json))
    .bind(new.lead_statutory_body)
    .bind(serde_json::to_value(&new.core_group).unwrap_or_else(|_| serde_json::json!([])))
    .bind(&new.danger_statements)
    .bind(&new.safety_goals)
    .bind(new.contingency_plan.as_deref())
    .bind(&new.bottom_lines)
    .bind(serde_json::to_value(&outline).unwrap_or_else(|_| serde_json::json!([])))
    .bind(new.next_review_date)
    .bind(new.first_core_group_date)
    .bind(plan_id)
    .bind(section47_id)
    .bind(transfer_in_id)
    .bind(ctx.actor.to_json())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_parts(conn, ctx, id, new, plan_id).await?;
    Ok(id)
}

/// Writes (or rewrites) an outcome's views, exclusions and child's voice.
async fn write_parts(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    new: &NewConferenceOutcome,
    plan_id: Option<Uuid>,
) -> Result<(), ApiError> {
    let conference = &new.conference;
    for table in [
        "professional_views",
        "conference_exclusions",
        "child_voice_contributions",
    ] {
        sqlx::query(&format!("DELETE FROM {table} WHERE outcome_id = $1"))
            .bind(id)
            .execute(&mut *conn)
            .await?;
    }
    for (ordinal, v) in new.views.iter().enumerate() {
        sqlx::query(
            "INSERT INTO professional_views (outcome_id, ordinal, authority_id, person_id, display_name, agency_kind, \
                                             agency_name, safety_scale, recommendation, recommended_category, comment) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(i16::try_from(ordinal).unwrap_or(i16::MAX))
        .bind(ctx.authority.as_str())
        .bind(v.professional.person_id)
        .bind(&v.professional.display_name)
        .bind(v.professional.agency_kind)
        .bind(v.professional.agency_name.as_deref())
        .bind(i16::from(v.safety_scale.value()))
        .bind(v.recommendation)
        .bind(v.recommended_category.map(|c| c.code()))
        .bind(v.comment.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    for (ordinal, e) in new.exclusions.iter().enumerate() {
        sqlx::query(
            "INSERT INTO conference_exclusions (outcome_id, ordinal, authority_id, person, scopes, excluded_parts, \
                                                reason, decided_by, decision_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(i16::try_from(ordinal).unwrap_or(i16::MAX))
        .bind(ctx.authority.as_str())
        .bind(e.person.to_json())
        .bind(&e.scopes)
        .bind(e.excluded_parts.as_deref())
        .bind(&e.reason)
        .bind(e.decided_by.as_ref().map(PersonRef::to_json))
        .bind(e.decision_date)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    if let Some(v) = &new.childs_voice {
        sqlx::query(
            "INSERT INTO child_voice_contributions (outcome_id, authority_id, child_id, plan_id, conference_id, \
                    conference_date, attended, attended_part_only, advocate, views_submitted, methods, summary, \
                    not_participating_reason) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(id)
        .bind(ctx.authority.as_str())
        .bind(new.child_id)
        .bind(plan_id)
        .bind(conference.id)
        .bind(conference.date)
        .bind(v.attended)
        .bind(v.attended_part_only)
        .bind(v.advocate.as_ref().map(PersonRef::to_json))
        .bind(v.views_submitted)
        .bind(&v.methods)
        .bind(v.summary.as_deref())
        .bind(v.not_participating_reason.as_deref())
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    }
    Ok(())
}

/// `UpdateConferenceOutcome`: corrects the record of what the conference
/// said (views, rationales, exclusions, the child's voice, the agreed plan
/// text and dates), re-validated as when recorded. The plan itself is not
/// changed: between conferences that is `UpdatePlan`. Emits
/// `ConferenceOutcomeRecorded` with `correction` set.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `INVALID_ARGUMENT` for a
/// correction that no longer resolves to the recorded decision or breaks a
/// field rule; database errors.
pub async fn update_conference_outcome(
    conn: &mut PgConnection,
    ctx: &Ctx,
    correction: &OutcomeCorrection,
) -> Result<Written<pb::UpdateConferenceOutcomeResponse>, ApiError> {
    super::lock_version(
        conn,
        "conference_outcomes",
        "conference outcome",
        correction.id,
        correction.version,
    )
    .await?;
    let row: OutcomeRow = sqlx::query_as("SELECT * FROM conference_outcomes WHERE id = $1")
        .bind(correction.id)
        .fetch_one(&mut *conn)
        .await?;
    let conference = HeldConference {
        id: row.conference_id,
        kind: row.conference_kind,
        date: row.conference_date,
        chair: serde_json::from_value(row.chair.clone()).map_err(ApiError::internal)?,
        child_ids: vec![row.child_id],
    };
    let (child_id, plan_id) = (row.child_id, row.plan_id);
    let current = assemble(conn, row).await?;
    let new = correction.apply(&current, &conference, &ctx.timescales)?;
    let child = child_row(conn, child_id, false).await?;
    check_voice(child.birth_date, &new)?;
    sqlx::query(
        "UPDATE conference_outcomes SET chair_rationale = $3, category_rationale = $4, danger_statements = $5, \
                safety_goals = $6, contingency_plan = $7, bottom_lines = $8, next_review_date = $9, \
                first_core_group_date = $10, version = version + 1, updated_at = $11 \
         WHERE id = $1 AND version = $2",
    )
    .bind(correction.id)
    .bind(correction.version)
    .bind(new.chair_rationale.as_deref())
    .bind(new.category_rationale.as_deref())
    .bind(&new.danger_statements)
    .bind(&new.safety_goals)
    .bind(new.contingency_plan.as_deref())
    .bind(&new.bottom_lines)
    .bind(new.next_review_date)
    .bind(new.first_core_group_date)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    write_parts(conn, ctx, correction.id, &new, plan_id).await?;
    let outcome = get_conference_outcome(conn, correction.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        Subject {
            aggregate_id: correction.id,
            version: outcome.version,
            child_ids: vec![child_id],
        },
        &pb::ConferenceOutcomeRecorded {
            outcome: Some(outcome.clone()),
            correction: true,
        },
    )
    .await?;
    Ok(Written::new(
        pb::UpdateConferenceOutcomeResponse {
            outcome: Some(outcome),
        },
        events,
    ))
}

/// `ListConferenceOutcomes`: newest conference first.
///
/// # Errors
/// Database errors.
pub async fn list_conference_outcomes(
    conn: &mut PgConnection,
    filter: &OutcomeFilter,
) -> Result<pb::ListConferenceOutcomesResponse, ApiError> {
    let mut rows: Vec<OutcomeRow> = sqlx::query_as(
        "SELECT o.* FROM conference_outcomes o \
         WHERE ($1::uuid IS NULL OR o.conference_id = $1) \
           AND ($2::uuid IS NULL OR o.child_id = $2) \
           AND ($3::text IS NULL OR o.decision = $3) \
           AND ($4::uuid IS NULL OR (o.conference_date, o.id) < \
                (SELECT conference_date, id FROM conference_outcomes a WHERE a.id = $4 \
                    AND ($1::uuid IS NULL OR a.conference_id = $1) \
                    AND ($2::uuid IS NULL OR a.child_id = $2))) \
         ORDER BY o.conference_date DESC, o.id DESC LIMIT $5",
    )
    .bind(filter.conference_id)
    .bind(filter.child_id)
    .bind(filter.decision)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    let mut outcomes = Vec::with_capacity(rows.len());
    for row in rows {
        outcomes.push(assemble(conn, row).await?);
    }
    Ok(pb::ListConferenceOutcomesResponse {
        outcomes,
        next_page_token,
    })
}
