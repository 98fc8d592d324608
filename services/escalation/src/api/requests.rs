//! Checking EscalationService requests: every bad field is named (by its
//! proto path), none is echoed.

use chrono::{Days, NaiveDate};
use cpc_authz::EscalationStage as Stage;
use cpc_platform::ApiError;
use cpc_platform::check::{Check, merge};
use cpc_platform::idempotency::RequestKey;
use cpc_platform::paging::{FilterKey, PageRequest};
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as pb;
use uuid::Uuid;

use crate::store::Ctx;
use crate::store::drift::{self, FindingFilter, StatusFilter};
use crate::store::escalations::{
    EscalationFilter, Move, NewEscalation, RAISE, Resolution, reason_code, stage_of, status_code,
};

/// Longest concern or resolution summary.
const MAX_REASON_CHARS: usize = 4000;
/// Longest reason for moving an escalation on.
const MAX_MOVE_REASON_CHARS: usize = 2000;
/// Most children one escalation concerns (a sibling group).
const MAX_CHILDREN: usize = 20;
/// Most findings one escalation cites.
const MAX_FINDINGS: usize = 100;
/// The furthest a response may be due: a year, so that a mistyped year is
/// caught rather than parking an escalation for a decade.
const MAX_RESPONSE_DAYS: u64 = 366;

/// A RaiseEscalationRequest checked on `ctx`'s day: the escalation, and the
/// stage it opens at.
pub(crate) fn raising(
    req: &pb::RaiseEscalationRequest,
    ctx: &Ctx,
) -> Result<NewEscalation, ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, RAISE, &req.request_id, req);
    let stage = check
        .opt_enum("initial_stage", req.initial_stage, |s| {
            pb::EscalationStage::try_from(s).ok().and_then(stage_of)
        })
        .unwrap_or(Stage::ChairMidwayReview);
    let body = match &req.escalation {
        None => Err(ApiError::invalid_field("escalation", "is required")),
        Some(e) => {
            let mut body = Check::new();
            let case_id = body.id("escalation.case_id", &e.case_id);
            let child_ids = ids(
                &mut body,
                "escalation.child_ids",
                &e.child_ids,
                MAX_CHILDREN,
            );
            if e.child_ids.is_empty() {
                body.add("escalation.child_ids", "needs at least one child");
            }
            let plan_id = body.opt_id("escalation.plan_id", &e.plan_id).flatten();
            let reason_kind = body.required_enum("escalation.reason_kind", e.reason_kind, |k| {
                pb::EscalationReason::try_from(k).ok().and_then(reason_code)
            });
            let reason = body.text("escalation.reason", &e.reason, 1, MAX_REASON_CHARS);
            let (agency_kind, agency_name) = concerned_agency(&mut body, e, reason_kind);
            let drift_finding_ids = ids(
                &mut body,
                "escalation.drift_finding_ids",
                &e.drift_finding_ids,
                MAX_FINDINGS,
            );
            let owner = body.person("escalation.owner", e.owner.as_ref(), false);
            let due = response_due(
                &mut body,
                "escalation.response_due_date",
                e.response_due_date.as_ref(),
                ctx,
            );
            body.finish().map(|()| NewEscalationBody {
                case_id,
                child_ids,
                plan_id,
                reason_kind,
                reason,
                agency_kind,
                agency_name,
                drift_finding_ids,
                owner,
                due,
            })
        }
    };
    match merge(check, key, body)? {
        (
            key,
            NewEscalationBody {
                case_id: Some(case_id),
                reason_kind: Some(reason_kind),
                owner: Some(owner),
                due: Some(response_due_on),
                child_ids,
                plan_id,
                reason,
                agency_kind,
                agency_name,
                drift_finding_ids,
            },
        ) => Ok(NewEscalation {
            key,
            case_id,
            child_ids,
            plan_id,
            reason_kind,
            reason,
            concerned_agency_kind: agency_kind,
            concerned_agency_name: agency_name,
            drift_finding_ids,
            stage,
            owner,
            response_due_on,
        }),
        _ => Err(ApiError::internal("a checked escalation lost a field")),
    }
}

/// The parts of a new escalation, each `None` when bad.
struct NewEscalationBody {
    case_id: Option<Uuid>,
    child_ids: Vec<Uuid>,
    plan_id: Option<Uuid>,
    reason_kind: Option<&'static str>,
    reason: String,
    agency_kind: i32,
    agency_name: String,
    drift_finding_ids: Vec<Uuid>,
    owner: Option<common::PersonRef>,
    due: Option<NaiveDate>,
}

/// The agency concerned: required for AGENCY_NOT_DELIVERING; a name only
/// with a kind.
fn concerned_agency(
    check: &mut Check,
    e: &pb::Escalation,
    reason_kind: Option<&str>,
) -> (i32, String) {
    let kind = check.opt_enum(
        "escalation.concerned_agency_kind",
        e.concerned_agency_kind,
        |k| common::AgencyKind::try_from(k).ok(),
    );
    let name = check.opt_text(
        "escalation.concerned_agency_name",
        &e.concerned_agency_name,
        200,
    );
    if reason_kind == Some("agency_not_delivering") {
        if kind.is_none() {
            check.add(
                "escalation.concerned_agency_kind",
                "is required for AGENCY_NOT_DELIVERING",
            );
        }
        if name.is_none() {
            check.add(
                "escalation.concerned_agency_name",
                "is required for AGENCY_NOT_DELIVERING",
            );
        }
    } else if kind.is_some() != name.is_some() {
        check.add(
            "escalation.concerned_agency_name",
            "is required with concerned_agency_kind, and only with it",
        );
    }
    (kind.map_or(0, |k| k as i32), name.unwrap_or_default())
}

/// An AdvanceEscalationRequest checked on `ctx`'s day: (id, version, move).
pub(crate) fn advancing(
    req: &pb::AdvanceEscalationRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Move), ApiError> {
    let mut check = Check::new();
    let id = check.id("escalation_id", &req.escalation_id);
    let version = check.version("version", req.version);
    let reason = check.text("reason", &req.reason, 1, MAX_MOVE_REASON_CHARS);
    let new_owner = check.person("new_owner", req.new_owner.as_ref(), false);
    let due = response_due(
        &mut check,
        "response_due_date",
        req.response_due_date.as_ref(),
        ctx,
    );
    check.finish()?;
    match (id, new_owner, due) {
        (Some(id), Some(new_owner), Some(response_due_on)) => Ok((
            id,
            version,
            Move {
                reason,
                new_owner,
                response_due_on,
            },
        )),
        _ => Err(ApiError::internal("a checked move lost a field")),
    }
}

/// A ResolveEscalationRequest: (id, version, resolution).
pub(crate) fn resolving(
    req: &pb::ResolveEscalationRequest,
) -> Result<(Uuid, i64, Resolution), ApiError> {
    let mut check = Check::new();
    let id = check.id("escalation_id", &req.escalation_id);
    let version = check.version("version", req.version);
    let kind = check.required_enum("outcome_kind", req.outcome_kind, |k| {
        pb::OutcomeKind::try_from(k)
            .ok()
            .filter(|k| *k != pb::OutcomeKind::Unspecified)
    });
    let summary = check.text("summary", &req.summary, 1, MAX_REASON_CHARS);
    check.finish()?;
    match (id, kind) {
        (Some(id), Some(kind)) => Ok((id, version, Resolution { kind, summary })),
        _ => Err(ApiError::internal("a checked resolution lost a field")),
    }
}

/// A ListEscalationsRequest.
pub(crate) fn list(req: &pb::ListEscalationsRequest) -> Result<EscalationFilter, ApiError> {
    let mut check = Check::new();
    let status = check.opt_enum("status", req.status, |s| {
        pb::EscalationStatus::try_from(s).ok().and_then(status_code)
    });
    let stage = check.opt_enum("stage", req.stage, |s| {
        pb::EscalationStage::try_from(s).ok().and_then(stage_of)
    });
    let reason_kind = check.opt_enum("reason_kind", req.reason_kind, |k| {
        pb::EscalationReason::try_from(k).ok().and_then(reason_code)
    });
    let owner_id = check
        .opt_id("owner_person_id", &req.owner_person_id)
        .flatten();
    let raised_by_id = check
        .opt_id("raised_by_person_id", &req.raised_by_person_id)
        .flatten();
    let case_id = check.opt_id("case_id", &req.case_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let concerned_agency_kind =
        check.opt_enum("concerned_agency_kind", req.concerned_agency_kind, |k| {
            common::AgencyKind::try_from(k).ok().map(|k| k as i32)
        });
    let response_due_before = check.date("response_due_before", req.response_due_before.as_ref());
    if req.authority_id.is_empty()
        && req.case_id.is_empty()
        && req.child_id.is_empty()
        && req.owner_person_id.is_empty()
    {
        check.add(
            "authority_id",
            "is required unless case_id, child_id or owner_person_id is set",
        );
    }
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("status", req.status)
        .with("stage", req.stage)
        .with("reason_kind", req.reason_kind)
        .with("owner_person_id", &req.owner_person_id)
        .with("raised_by_person_id", &req.raised_by_person_id)
        .with("case_id", &req.case_id)
        .with("child_id", &req.child_id)
        .with("concerned_agency_kind", req.concerned_agency_kind)
        .with("response_due_before", req.response_due_before);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    check.finish()?;
    Ok(EscalationFilter {
        status,
        stage,
        reason_kind,
        owner_id: owner_id.map(|p| p.to_string()),
        raised_by_id: raised_by_id.map(|p| p.to_string()),
        case_id,
        child_id,
        concerned_agency_kind,
        response_due_before,
        page,
    })
}

/// Ids at `field`, each valid and once, at most `max` of them.
fn ids(check: &mut Check, field: &str, texts: &[String], max: usize) -> Vec<Uuid> {
    if texts.len() > max {
        check.add(field, format!("must have at most {max} entries"));
        return Vec::new();
    }
    let mut ids = Vec::with_capacity(texts.len());
    for (i, text) in texts.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(id) = check.id(&at, text) {
            if ids.contains(&id) {
                check.add(at, "appears more than once");
            }
            ids.push(id);
        }
    }
    ids
}

/// A response due date: required, after today, within a year, and a
/// working day of the authority (escalation protocols give responses in
/// working days; one due on a Saturday would be overdue before anyone
/// could answer it).
fn response_due(
    check: &mut Check,
    field: &str,
    date: Option<&common::Date>,
    ctx: &Ctx,
) -> Option<NaiveDate> {
    let due = check.required_date(field, date)?;
    let latest = ctx.today.checked_add_days(Days::new(MAX_RESPONSE_DAYS))?;
    if due <= ctx.today {
        check.add(field, "must be after today");
    } else if due > latest {
        check.add(field, format!("must be within {MAX_RESPONSE_DAYS} days"));
    } else if !ctx.calendar.is_working_day(due).unwrap_or(true) {
        // Within a year of today, the calendar always knows the day.
        check.add(
            field,
            "must be a working day, not a weekend or bank holiday",
        );
    }
    Some(due)
}

/// A ListDriftFindingsRequest.
pub(crate) fn findings(req: &pb::ListDriftFindingsRequest) -> Result<FindingFilter, ApiError> {
    let mut check = Check::new();
    let case_id = check.opt_id("case_id", &req.case_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let plan_id = check.opt_id("plan_id", &req.plan_id).flatten();
    let kind = check.opt_enum("kind", req.kind, |k| {
        pb::DriftKind::try_from(k).ok().and_then(drift::kind_code)
    });
    let min_severity = check.opt_enum("min_severity", req.min_severity, |s| {
        pb::Severity::try_from(s)
            .ok()
            .filter(|s| *s != pb::Severity::Unspecified)
            .and_then(|s| i16::try_from(s as i32).ok())
    });
    let status = check
        .opt_enum(
            "status",
            req.status,
            |s| match pb::DriftFindingStatus::try_from(s).ok()? {
                pb::DriftFindingStatus::Unspecified => None,
                pb::DriftFindingStatus::Open => Some(StatusFilter::Open),
                pb::DriftFindingStatus::Escalated => Some(StatusFilter::Escalated),
                pb::DriftFindingStatus::Cleared => Some(StatusFilter::Cleared),
            },
        )
        .unwrap_or(StatusFilter::Current);
    let agency_kind = check.opt_enum("agency_kind", req.agency_kind, |k| {
        common::AgencyKind::try_from(k).ok().map(|k| k as i32)
    });
    let due_before = check.date("due_before", req.due_before.as_ref());
    if req.authority_id.is_empty()
        && req.case_id.is_empty()
        && req.child_id.is_empty()
        && req.plan_id.is_empty()
    {
        check.add(
            "authority_id",
            "is required unless case_id, child_id or plan_id is set",
        );
    }
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("case_id", &req.case_id)
        .with("child_id", &req.child_id)
        .with("plan_id", &req.plan_id)
        .with("kind", req.kind)
        .with("min_severity", req.min_severity)
        .with("status", req.status)
        .with("agency_kind", req.agency_kind)
        .with("due_before", req.due_before);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    check.finish()?;
    Ok(FindingFilter {
        case_id,
        child_id,
        plan_id,
        kind,
        min_severity,
        status,
        agency_kind,
        due_before,
        page,
    })
}
