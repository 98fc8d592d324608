//! Child protection plans between conferences: content updates, endings,
//! transfers out and in.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::plan::{EndReason, EndedBy};
use uuid::Uuid;

use super::check::{Check, redacted_debug};
use super::child::age_on;
use super::common::{AuthorityId, update_mask};
use super::journey::DateRange;
use super::person::{Agency, PersonRef};
use crate::codes::{self, LeadStatutoryBody, PlanEndReason, PlanStatus};
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// The fields `UpdatePlan` may change.
pub const PLAN_UPDATABLE: &[&str] = &[
    "danger_statements",
    "safety_goals",
    "contingency_plan",
    "bottom_lines",
    "lead_social_worker",
    "lead_statutory_body",
    "core_group_members",
    "previous_plan_count",
];

/// A change of a plan's content, lead or core group between conferences.
/// `None` leaves a field as it is.
#[derive(Clone, Default)]
pub struct PlanUpdate {
    pub id: Uuid,
    pub version: i64,
    pub fields: Vec<&'static str>,
    pub danger_statements: Option<Vec<String>>,
    pub safety_goals: Option<Vec<String>>,
    pub contingency_plan: Option<String>,
    pub bottom_lines: Option<Vec<String>>,
    pub lead_social_worker: Option<PersonRef>,
    pub lead_statutory_body: Option<LeadStatutoryBody>,
    pub core_group_members: Option<Vec<PersonRef>>,
    pub previous_plan_count: Option<i32>,
}

redacted_debug!(PlanUpdate);

impl PlanUpdate {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::UpdatePlanRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(&mut check, req.update_mask.as_ref(), PLAN_UPDATABLE);
        let Some(p) = req.plan.as_ref() else {
            check.add("plan", "is required");
            return Err(check.fail());
        };
        let id = check.id("plan.id", &p.id);
        let version = check.version("plan.version", p.version);
        let has = |f: &str| fields.contains(&f);
        let danger_statements = has("danger_statements")
            .then(|| check.texts("plan.danger_statements", &p.danger_statements, 2000));
        let safety_goals =
            has("safety_goals").then(|| check.texts("plan.safety_goals", &p.safety_goals, 2000));
        // Every plan starts with the contingency plan its conference agreed
        // (each outcome that keeps a plan requires one), and only an open
        // plan is updated: it may be rewritten, never removed.
        let contingency_plan = if has("contingency_plan") {
            let text = check.opt_text("plan.contingency_plan", &p.contingency_plan, 4000);
            if text.is_none() {
                check.add(
                    "plan.contingency_plan",
                    "is required: an open plan keeps a contingency plan",
                );
            }
            text
        } else {
            None
        };
        let bottom_lines =
            has("bottom_lines").then(|| check.texts("plan.bottom_lines", &p.bottom_lines, 1000));
        let lead_social_worker = if has("lead_social_worker") {
            PersonRef::parse(
                &mut check,
                "plan.lead_social_worker",
                p.lead_social_worker.as_ref(),
                Agency::Required,
            )
        } else {
            None
        };
        let lead_statutory_body = if has("lead_statutory_body") {
            check.required_enum(
                "plan.lead_statutory_body",
                p.lead_statutory_body,
                LeadStatutoryBody::from_proto,
            )
        } else {
            None
        };
        let core_group_members = has("core_group_members").then(|| {
            PersonRef::parse_list(
                &mut check,
                "plan.core_group_members",
                &p.core_group_members,
                Agency::Optional,
            )
        });
        let previous_plan_count = has("previous_plan_count").then_some(p.previous_plan_count);
        if previous_plan_count.is_some_and(|n| n < 0) {
            check.add("plan.previous_plan_count", "must not be negative");
        }
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            fields,
            danger_statements,
            safety_goals,
            contingency_plan,
            bottom_lines,
            lead_social_worker,
            lead_statutory_body,
            core_group_members,
            previous_plan_count,
        })
    }
}

/// Why `EndPlan` refuses `NO_LONGER_AT_RISK`.
pub const RISK_ENDS_BY_OUTCOME: &str = "PLAN_END_REASON_NO_LONGER_AT_RISK is recorded with the review \
     conference's outcome (RecordConferenceOutcome, decision END_PLAN), which ends the plan";

/// How a plan ends (`EndPlanRequest`).
#[derive(Clone)]
pub struct PlanEnding {
    pub id: Uuid,
    pub version: i64,
    pub end_date: NaiveDate,
    pub reason: PlanEndReason,
    pub reason_detail: Option<String>,
    pub conference_id: Option<Uuid>,
    pub agencies_consulted: Vec<PersonRef>,
    pub transfer_in_conference_date: Option<NaiveDate>,
}

redacted_debug!(PlanEnding);

impl PlanEnding {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::EndPlanRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("plan_id", &req.plan_id);
        let version = check.version("version", req.version);
        let end_date = check.required_date("end_date", req.end_date.as_ref());
        check.not_future("end_date", end_date, today);
        let reason = check.required_enum("end_reason", req.end_reason, PlanEndReason::from_proto);
        let reason_detail = check.opt_text("end_reason_detail", &req.end_reason_detail, 2000);
        if reason == Some(PlanEndReason::Other) && reason_detail.is_none() {
            check.add("end_reason_detail", "is required for PLAN_END_REASON_OTHER");
        }
        // Only a review conference decides the child is no longer at risk,
        // and recording that decision (RecordConferenceOutcome, END_PLAN)
        // is what ends the plan for it: by the time an EndPlan could name
        // the conference, the plan it ended is closed, so any conference
        // quoted here ended some other plan.
        let at_risk_ended_here = reason == Some(PlanEndReason::NoLongerAtRisk);
        if at_risk_ended_here {
            check.add("end_reason", RISK_ENDS_BY_OUTCOME);
        }
        let conference_id = check.opt_id("conference_id", &req.conference_id).flatten();
        let agencies_consulted = PersonRef::parse_list(
            &mut check,
            "agencies_consulted",
            &req.agencies_consulted,
            Agency::Required,
        );
        // Whether the conference_id names a held review of this child is
        // for the store to check (`store::plans::end_plan`).
        let by_manager = req.conference_id.is_empty()
            && reason != Some(PlanEndReason::TransferredOut)
            && !at_risk_ended_here;
        if by_manager && reason.is_some() && agencies_consulted.is_empty() {
            check.add(
                "agencies_consulted",
                "at least one agency must be consulted when a manager ends the plan without a conference",
            );
        }
        let transfer_in_conference_date = check.date(
            "transfer_in_conference_date",
            req.transfer_in_conference_date.as_ref(),
        );
        match (reason, transfer_in_conference_date) {
            (Some(PlanEndReason::TransferredOut), None) => {
                check.add(
                    "transfer_in_conference_date",
                    "is required for PLAN_END_REASON_TRANSFERRED_OUT",
                );
            }
            (Some(PlanEndReason::TransferredOut), Some(date)) if Some(date) != end_date => {
                check.add("transfer_in_conference_date", "must equal end_date");
            }
            (Some(r), Some(_)) if r != PlanEndReason::TransferredOut => {
                check.add(
                    "transfer_in_conference_date",
                    "is set only for PLAN_END_REASON_TRANSFERRED_OUT",
                );
            }
            _ => {}
        }
        let (Some(id), Some(end_date), Some(reason)) = (id, end_date, reason) else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            end_date,
            reason,
            reason_detail,
            conference_id,
            agencies_consulted,
            transfer_in_conference_date,
        })
    }

    /// The rules' view of this ending: the reason (none for `OTHER`, which
    /// the rules crate does not name) and who decided it.
    #[must_use]
    pub fn rules(&self) -> (Option<EndReason>, EndedBy) {
        let by = match (self.reason, self.conference_id) {
            (PlanEndReason::TransferredOut, _) => EndedBy::ReceivingAuthorityTransferInConference,
            (_, Some(_)) => EndedBy::ReviewConference,
            (_, None) => EndedBy::Manager,
        };
        (rules_end_reason(self.reason), by)
    }
}

/// Why a conference on `on` may not start or continue a plan for a child
/// born on `birth` (unknown or unborn: `None`) who died on `death`, if it
/// may not. A plan protects a living child, and ends when the child turns
/// 18 (DOMAIN.md, the journey of one child, step 6).
#[must_use]
pub fn plan_barred(
    birth: Option<NaiveDate>,
    death: Option<NaiveDate>,
    on: NaiveDate,
) -> Option<&'static str> {
    if death.is_some_and(|died| died <= on) {
        return Some(
            "the child died on or before the conference date: a plan cannot be started or continued",
        );
    }
    if birth.is_some_and(|born| born <= on && age_on(born, on) >= 18) {
        return Some(
            "the child is 18 or over on the conference date: a plan cannot be started or continued",
        );
    }
    None
}

/// Why `StartSection47Enquiry` refuses a start after the child's recorded
/// death: an enquiry leads to a conference about protecting a living
/// child, which scheduling would count due with nobody to attend it (a
/// death is reviewed otherwise).
pub const DIED_BEFORE_ENQUIRY: &str =
    "the child died before the start date: a section 47 enquiry cannot be started";

/// Why `RecordTransferIn` refuses a notification after the child's recorded
/// death, as [`DIED_BEFORE_ENQUIRY`] for its transfer-in conference.
pub const DIED_BEFORE_TRANSFER_IN: &str =
    "the child died before the notification date: no transfer-in conference is owed";

/// Why `EndPlan` refuses `TURNED_18` for a child with no birth date.
pub const TURNED_18_UNBORN: &str = "PLAN_END_REASON_TURNED_18: the child's record has no birth \
     date, so it does not show them 18 on end_date";

/// Why `EndPlan` refuses `TURNED_18` dated before the 18th birthday.
pub const TURNED_18_TOO_YOUNG: &str = "PLAN_END_REASON_TURNED_18: the child's record shows them \
     under 18 on end_date; the plan ends for this reason on their 18th birthday";

/// Why `EndPlan` refuses `TURNED_18` dated after the 18th birthday: the plan
/// ended that day, whenever the ending is recorded, and a later date would
/// stretch the plan (and the census's plan length) past it.
pub const TURNED_18_AFTER_BIRTHDAY: &str = "PLAN_END_REASON_TURNED_18: end_date is after the \
     child's 18th birthday as their record shows it; the plan ends for this reason on that birthday";

/// Why `EndPlan` refuses `DIED` for a born child.
pub const DIED_BY_RECORDING_DEATH: &str = "PLAN_END_REASON_DIED: record the child's death \
     (UpdateChild, death_date), which ends the open plan with reason DIED";

/// Why an `EndPlan` for `reason` on `end` contradicts the record of a child
/// born on `birth` (unborn: `None`), if it does: the reason is a fact about
/// the child, and the plan must not say what the child's record does not.
///
/// A born child's death is recorded on the child, which ends the plan
/// (`store::plans::end_open_plan_on_death`), so `DIED` here would leave a
/// plan ended by a death the child's record (and the census, which reads
/// `PersonDeathDate` from it) does not show. An unborn child's death cannot
/// be recorded on the child (a death date needs a birth date), so a
/// pre-birth plan still ends here with `DIED` when the pregnancy ends in a
/// loss.
#[must_use]
pub fn ending_contradicts_child(
    reason: PlanEndReason,
    birth: Option<NaiveDate>,
    end: NaiveDate,
) -> Option<&'static str> {
    match (reason, birth) {
        (PlanEndReason::Turned18, None) => Some(TURNED_18_UNBORN),
        (PlanEndReason::Turned18, Some(born)) if age_on(born, end) < 18 => {
            Some(TURNED_18_TOO_YOUNG)
        }
        (PlanEndReason::Turned18, Some(born))
            if end.pred_opt().is_some_and(|eve| age_on(born, eve) >= 18) =>
        {
            Some(TURNED_18_AFTER_BIRTHDAY)
        }
        (PlanEndReason::Died, Some(_)) => Some(DIED_BY_RECORDING_DEATH),
        _ => None,
    }
}

/// The rules crate's end reason for an API reason; `None` for `OTHER`.
#[must_use]
pub fn rules_end_reason(reason: PlanEndReason) -> Option<EndReason> {
    match reason {
        PlanEndReason::NoLongerAtRisk => Some(EndReason::NoLongerAtRisk),
        PlanEndReason::TransferredOut => Some(EndReason::TransferredOut),
        PlanEndReason::Turned18 => Some(EndReason::TurnedEighteen),
        PlanEndReason::LeftUk => Some(EndReason::LeftUkPermanently),
        PlanEndReason::BecameLookedAfter => Some(EndReason::BecameLookedAfter),
        PlanEndReason::Died => Some(EndReason::Died),
        PlanEndReason::Other => None,
    }
}

/// Notice that a child on a plan moved to another authority.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutNotice {
    pub id: Uuid,
    pub version: i64,
    pub receiving_authority_name: String,
    pub receiving_authority_code: Option<String>,
    pub receiving_authority_id: Option<AuthorityId>,
    pub notification_date: NaiveDate,
}

fn la_code(check: &mut Check, field: &str, code: &str) -> Option<String> {
    if code.is_empty() {
        return None;
    }
    if code.len() != 3 || !code.chars().all(|c| c.is_ascii_digit()) {
        check.add(field, "must be a three-digit DfE LA code");
    }
    Some(code.to_owned())
}

impl TransferOutNotice {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::TransferPlanOutRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("plan_id", &req.plan_id);
        let version = check.version("version", req.version);
        let Some(t) = req.transfer_out.as_ref() else {
            check.add("transfer_out", "is required");
            return Err(check.fail());
        };
        let receiving_authority_name = check.text(
            "transfer_out.receiving_authority_name",
            &t.receiving_authority_name,
            1,
            200,
        );
        let receiving_authority_code = la_code(
            &mut check,
            "transfer_out.receiving_authority_code",
            &t.receiving_authority_code,
        );
        let receiving_authority_id = (!t.receiving_authority_id.is_empty())
            .then(|| {
                check.check(
                    "transfer_out.receiving_authority_id",
                    AuthorityId::parse(&t.receiving_authority_id),
                )
            })
            .flatten();
        let notification_date = check.required_date(
            "transfer_out.notification_date",
            t.notification_date.as_ref(),
        );
        check.not_future("transfer_out.notification_date", notification_date, today);
        if t.transfer_in_conference_date.is_some() {
            check.add(
                "transfer_out.transfer_in_conference_date",
                "is set by EndPlan, not here",
            );
        }
        let (Some(id), Some(notification_date)) = (id, notification_date) else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            receiving_authority_name,
            receiving_authority_code,
            receiving_authority_id,
            notification_date,
        })
    }
}

/// Notice that a child on another authority's plan moved in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTransferIn {
    pub key: RequestKey,
    pub child_id: Uuid,
    pub sending_authority_name: String,
    pub sending_authority_code: Option<String>,
    pub notification_date: NaiveDate,
    pub previous_plan_start_date: Option<NaiveDate>,
    pub previous_category: Option<CategoryOfHarm>,
}

impl NewTransferIn {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::RecordTransferInRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(
            &mut check,
            methods::RECORD_TRANSFER_IN,
            &req.request_id,
            req,
        );
        let Some(t) = req.transfer_in.as_ref() else {
            check.add("transfer_in", "is required");
            return Err(check.fail());
        };
        let child_id = check.id("transfer_in.child_id", &t.child_id);
        let sending_authority_name = check.text(
            "transfer_in.sending_authority_name",
            &t.sending_authority_name,
            1,
            200,
        );
        let sending_authority_code = la_code(
            &mut check,
            "transfer_in.sending_authority_code",
            &t.sending_authority_code,
        );
        let notification_date = check.required_date(
            "transfer_in.notification_date",
            t.notification_date.as_ref(),
        );
        check.not_future("transfer_in.notification_date", notification_date, today);
        let previous_plan_start_date = check.date(
            "transfer_in.previous_plan_start_date",
            t.previous_plan_start_date.as_ref(),
        );
        if let (Some(start), Some(notified)) = (previous_plan_start_date, notification_date)
            && start > notified
        {
            check.add(
                "transfer_in.previous_plan_start_date",
                "must be on or before notification_date",
            );
        }
        let previous_category = check.opt_enum(
            "transfer_in.previous_category",
            t.previous_category,
            codes::category_from_proto,
        );
        let (Some(key), Some(child_id), Some(notification_date)) =
            (key, child_id, notification_date)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            child_id,
            sending_authority_name,
            sending_authority_code,
            notification_date,
            previous_plan_start_date,
            previous_category,
        })
    }
}

/// Filters of `ListPlans`.
#[derive(Debug, Clone)]
pub struct PlanFilter {
    pub authority_id: Option<AuthorityId>,
    pub child_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub status: Option<PlanStatus>,
    pub category: Option<CategoryOfHarm>,
    pub lead_social_worker_id: Option<Uuid>,
    pub next_review_due_before: Option<NaiveDate>,
    pub start_dates: DateRange,
    pub page: PageRequest,
}

impl PlanFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListPlansRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let case_id = check.opt_id("case_id", &req.case_id).flatten();
        let authority_id = if req.authority_id.is_empty() {
            if req.child_id.is_empty() && req.case_id.is_empty() {
                check.add(
                    "authority_id",
                    "is required unless child_id or case_id is set",
                );
            }
            None
        } else {
            check.check("authority_id", AuthorityId::parse(&req.authority_id))
        };
        let status = check.opt_enum("status", req.status, PlanStatus::from_proto);
        let category = check.opt_enum("category", req.category, codes::category_from_proto);
        let lead_social_worker_id = check
            .opt_id("lead_social_worker_id", &req.lead_social_worker_id)
            .flatten();
        let next_review_due_before = check.date(
            "next_review_due_before",
            req.next_review_due_before.as_ref(),
        );
        let start_dates = DateRange::parse(&mut check, "start_dates", req.start_dates.as_ref());
        let key = FilterKey::new()
            .with("authority_id", &req.authority_id)
            .with("child_id", &req.child_id)
            .with("case_id", &req.case_id)
            .with("status", req.status)
            .with("category", req.category)
            .with("lead_social_worker_id", &req.lead_social_worker_id)
            .with("next_review_due_before", req.next_review_due_before)
            .with("start_dates", req.start_dates);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            authority_id,
            child_id,
            case_id,
            status,
            category,
            lead_social_worker_id,
            next_review_due_before,
            start_dates,
            page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpc_proto::common::v1::Date;

    #[test]
    fn ending_for_risk_is_the_reviews_outcome_and_manager_endings_need_consultation() {
        let today = NaiveDate::from_ymd_opt(2025, 11, 25).unwrap();
        let base = pb::EndPlanRequest {
            plan_id: Uuid::new_v4().to_string(),
            version: 2,
            end_date: Some(Date {
                year: 2025,
                month: 11,
                day: 20,
            }),
            end_reason: pb::PlanEndReason::NoLongerAtRisk as i32,
            ..Default::default()
        };
        let err = PlanEnding::parse(&base, today).unwrap_err().to_string();
        assert_eq!(err, "invalid argument: invalid fields: end_reason");
        // Naming a conference does not make EndPlan the route: recording the
        // review's outcome ends the plan for this reason.
        let quoted = pb::EndPlanRequest {
            conference_id: Uuid::new_v4().to_string(),
            ..base.clone()
        };
        let err = PlanEnding::parse(&quoted, today).unwrap_err().to_string();
        assert_eq!(err, "invalid argument: invalid fields: end_reason");

        let left = pb::EndPlanRequest {
            end_reason: pb::PlanEndReason::LeftUk as i32,
            agencies_consulted: vec![cpc_proto::common::v1::PersonRef {
                person_id: Uuid::new_v4().to_string(),
                display_name: "Police contact".into(),
                agency_kind: cpc_proto::common::v1::AgencyKind::Police as i32,
                agency_name: "Constabulary".into(),
            }],
            ..base
        };
        let ending = PlanEnding::parse(&left, today).unwrap();
        assert_eq!(
            ending.rules(),
            (Some(EndReason::LeftUkPermanently), EndedBy::Manager)
        );
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn no_plan_for_a_child_who_has_died_or_turned_18() {
        let on = d(2025, 9, 1);
        assert_eq!(plan_barred(Some(d(2015, 1, 1)), None, on), None);
        // Unborn (pre-birth) or birth date unknown: nothing to count from.
        assert_eq!(plan_barred(None, None, on), None);
        assert_eq!(plan_barred(Some(d(2025, 12, 1)), None, on), None);
        // Died on or before the conference.
        for died in [d(2025, 9, 1), d(2025, 3, 1)] {
            assert_eq!(
                plan_barred(Some(d(2015, 1, 1)), Some(died), on),
                Some(
                    "the child died on or before the conference date: a plan cannot be started or continued"
                )
            );
        }
        // Died after it: the conference still decided for a living child.
        assert_eq!(
            plan_barred(Some(d(2015, 1, 1)), Some(d(2025, 9, 2)), on),
            None
        );
        // 18 on the conference day itself, and the day before.
        let eighteen =
            "the child is 18 or over on the conference date: a plan cannot be started or continued";
        assert_eq!(plan_barred(Some(d(2007, 9, 1)), None, on), Some(eighteen));
        assert_eq!(plan_barred(Some(d(2007, 9, 2)), None, on), None);
        assert_eq!(plan_barred(Some(d(1990, 1, 1)), None, on), Some(eighteen));
    }

    #[test]
    fn an_ending_for_turning_18_or_a_death_agrees_with_the_childs_record() {
        let end = d(2025, 9, 1);
        // 18 on the end date itself.
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Turned18, Some(d(2007, 9, 1)), end),
            None
        );
        // 18 before it: the plan ended on the birthday.
        for born in [d(2007, 8, 31), d(2001, 2, 3)] {
            assert_eq!(
                ending_contradicts_child(PlanEndReason::Turned18, Some(born), end),
                Some(TURNED_18_AFTER_BIRTHDAY)
            );
        }
        // The day before the 18th birthday; a leap-day child is 18 on
        // 1 March in a common year, as `age_on` counts.
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Turned18, Some(d(2007, 9, 2)), end),
            Some(TURNED_18_TOO_YOUNG)
        );
        assert_eq!(
            ending_contradicts_child(
                PlanEndReason::Turned18,
                Some(d(2004, 2, 29)),
                d(2022, 2, 28)
            ),
            Some(TURNED_18_TOO_YOUNG)
        );
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Turned18, Some(d(2004, 2, 29)), d(2022, 3, 1)),
            None
        );
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Turned18, Some(d(2004, 2, 29)), d(2022, 3, 2)),
            Some(TURNED_18_AFTER_BIRTHDAY)
        );
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Turned18, None, end),
            Some(TURNED_18_UNBORN)
        );
        // A born child's death is recorded on the child; an unborn child's
        // cannot be, so its pre-birth plan ends here.
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Died, Some(d(2015, 1, 1)), end),
            Some(DIED_BY_RECORDING_DEATH)
        );
        assert_eq!(
            ending_contradicts_child(PlanEndReason::Died, None, end),
            None
        );
        // Other reasons are not about the child's record.
        assert_eq!(
            ending_contradicts_child(PlanEndReason::LeftUk, Some(d(2015, 1, 1)), end),
            None
        );
    }

    fn update(mask: &[&str], contingency_plan: &str) -> pb::UpdatePlanRequest {
        pb::UpdatePlanRequest {
            plan: Some(pb::ChildProtectionPlan {
                id: Uuid::new_v4().to_string(),
                version: 3,
                contingency_plan: contingency_plan.into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: mask.iter().map(|p| (*p).to_owned()).collect(),
            }),
        }
    }

    #[test]
    fn an_update_rewrites_the_contingency_plan_but_never_removes_it() {
        let parsed = PlanUpdate::parse(&update(&["contingency_plan"], " Legal meeting ")).unwrap();
        assert_eq!(parsed.contingency_plan.as_deref(), Some("Legal meeting"));
        for empty in ["", "   "] {
            let err = PlanUpdate::parse(&update(&["contingency_plan"], empty)).unwrap_err();
            assert_eq!(
                err.to_string(),
                "invalid argument: invalid fields: plan.contingency_plan"
            );
        }
        // Not in the mask: the empty value is not read.
        let parsed = PlanUpdate::parse(&update(&["safety_goals"], "")).unwrap();
        assert_eq!(parsed.contingency_plan, None);
    }
}
