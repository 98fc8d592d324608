//! Plan actions: what, who (person and agency), by when, and status.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use uuid::Uuid;

use super::check::{Check, merge, redacted_debug};
use super::common::update_mask;
use super::person::{Agency, PersonRef};
use crate::codes::{AgencyKind, PlanActionStatus};
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// A new action on an active plan (`AddPlanActionRequest`).
#[derive(Clone)]
pub struct NewPlanAction {
    pub key: RequestKey,
    pub plan_id: Uuid,
    pub description: String,
    pub owner: PersonRef,
    pub due_date: NaiveDate,
}

redacted_debug!(NewPlanAction);

impl NewPlanAction {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::AddPlanActionRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::ADD_PLAN_ACTION, &req.request_id, req);
        let body = (|| {
            let mut check = Check::new();
            let Some(a) = req.action.as_ref() else {
                check.add("action", "is required");
                return Err(check.fail());
            };
            let plan_id = check.id("action.plan_id", &a.plan_id);
            let description = check.text("action.description", &a.description, 1, 2000);
            let owner = PersonRef::parse(
                &mut check,
                "action.owner",
                a.owner.as_ref(),
                Agency::Required,
            );
            let due_date = check.required_date("action.due_date", a.due_date.as_ref());
            let (Some(plan_id), Some(owner), Some(due_date)) = (plan_id, owner, due_date) else {
                return Err(check.fail());
            };
            check.finish()?;
            Ok((plan_id, description, owner, due_date))
        })();
        let (key, (plan_id, description, owner, due_date)) = merge(check, key, body)?;
        Ok(Self {
            key,
            plan_id,
            description,
            owner,
            due_date,
        })
    }
}

/// A change of an action's description, owner or due date.
#[derive(Clone)]
pub struct ActionUpdate {
    pub id: Uuid,
    pub version: i64,
    pub description: Option<String>,
    pub owner: Option<PersonRef>,
    pub due_date: Option<NaiveDate>,
}

redacted_debug!(ActionUpdate);

impl ActionUpdate {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::UpdatePlanActionRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(
            &mut check,
            req.update_mask.as_ref(),
            &["description", "owner", "due_date"],
        );
        let Some(a) = req.action.as_ref() else {
            check.add("action", "is required");
            return Err(check.fail());
        };
        let id = check.id("action.id", &a.id);
        let version = check.version("action.version", a.version);
        let description = fields
            .contains(&"description")
            .then(|| check.text("action.description", &a.description, 1, 2000));
        let owner = if fields.contains(&"owner") {
            PersonRef::parse(
                &mut check,
                "action.owner",
                a.owner.as_ref(),
                Agency::Required,
            )
        } else {
            None
        };
        let due_date = if fields.contains(&"due_date") {
            check.required_date("action.due_date", a.due_date.as_ref())
        } else {
            None
        };
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            description,
            owner,
            due_date,
        })
    }
}

/// A change of an action's status (`UpdatePlanActionStatusRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionStatusChange {
    pub id: Uuid,
    pub version: i64,
    pub status: PlanActionStatus,
    pub reason: Option<String>,
    pub completion_date: Option<NaiveDate>,
}

impl ActionStatusChange {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(
        req: &pb::UpdatePlanActionStatusRequest,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("action_id", &req.action_id);
        let version = check.version("version", req.version);
        let status = check.required_enum("status", req.status, PlanActionStatus::from_proto);
        let reason = check.opt_text("reason", &req.reason, 2000);
        if matches!(
            status,
            Some(PlanActionStatus::NotAchieved | PlanActionStatus::Withdrawn)
        ) && reason.is_none()
        {
            check.add("reason", "is required for NOT_ACHIEVED and WITHDRAWN");
        }
        let completion_date = check.date("completion_date", req.completion_date.as_ref());
        check.not_future("completion_date", completion_date, today);
        match (
            status,
            completion_date.is_some()
                || req.completion_date.is_some_and(|d| d != Default::default()),
        ) {
            (Some(PlanActionStatus::Completed), false) => {
                check.add("completion_date", "is required for COMPLETED");
            }
            (Some(s), true) if s != PlanActionStatus::Completed => {
                check.add("completion_date", "is set only for COMPLETED");
            }
            _ => {}
        }
        let (Some(id), Some(status)) = (id, status) else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            status,
            reason,
            completion_date,
        })
    }
}

/// Filters of `ListPlanActions`.
#[derive(Debug, Clone)]
pub struct ActionFilter {
    pub plan_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<PlanActionStatus>,
    pub owner_person_id: Option<Uuid>,
    pub owner_agency_kind: Option<AgencyKind>,
    pub due_before: Option<NaiveDate>,
    pub overdue_only: bool,
    pub page: PageRequest,
}

impl ActionFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListPlanActionsRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let plan_id = check.opt_id("plan_id", &req.plan_id).flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let owner_person_id = check
            .opt_id("owner_person_id", &req.owner_person_id)
            .flatten();
        if req.plan_id.is_empty() && req.child_id.is_empty() && req.owner_person_id.is_empty() {
            check.add(
                "plan_id",
                "is required unless child_id or owner_person_id is set",
            );
        }
        let status = check.opt_enum("status", req.status, PlanActionStatus::from_proto);
        let owner_agency_kind = check.opt_enum(
            "owner_agency_kind",
            req.owner_agency_kind,
            AgencyKind::from_proto,
        );
        let due_before = check.date("due_before", req.due_before.as_ref());
        let key = FilterKey::new()
            .with("plan_id", &req.plan_id)
            .with("child_id", &req.child_id)
            .with("status", req.status)
            .with("owner_person_id", &req.owner_person_id)
            .with("owner_agency_kind", req.owner_agency_kind)
            .with("due_before", req.due_before)
            .with("overdue_only", req.overdue_only);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            plan_id,
            child_id,
            status,
            owner_person_id,
            owner_agency_kind,
            due_before,
            overdue_only: req.overdue_only,
            page,
        })
    }
}
