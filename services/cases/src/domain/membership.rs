//! Case membership: who works on which family case, in which role, for
//! which children, when.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use uuid::Uuid;

use super::check::{Check, redacted_debug};
use super::journey::parse_ids;
use super::person::{Agency, PersonRef};
use crate::codes::{CaseRole, MembershipEndReason};
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// A membership to grant (`AddCaseMemberRequest`).
#[derive(Clone)]
pub struct NewCaseMember {
    pub key: RequestKey,
    pub case_id: Uuid,
    pub person: PersonRef,
    pub role: CaseRole,
    /// Empty: every child of the case.
    pub child_ids: Vec<Uuid>,
    pub start_date: NaiveDate,
    /// Held for the person's whole agency (which the person then has).
    pub agency_wide: bool,
}

redacted_debug!(NewCaseMember);

impl NewCaseMember {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::AddCaseMemberRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::ADD_CASE_MEMBER, &req.request_id, req);
        let Some(m) = req.membership.as_ref() else {
            check.add("membership", "is required");
            return Err(check.fail());
        };
        let case_id = check.id("membership.case_id", &m.case_id);
        let person = PersonRef::parse(
            &mut check,
            "membership.person",
            m.person.as_ref(),
            Agency::Optional,
        );
        let role = check.required_enum("membership.case_role", m.case_role, CaseRole::from_proto);
        let child_ids = parse_ids(&mut check, "membership.child_ids", &m.child_ids);
        let start_date = check.required_date("membership.start_date", m.start_date.as_ref());
        if m.end_date.is_some_and(|d| d != Default::default()) || m.end_reason != 0 {
            check.add(
                "membership.end_date",
                "must be unset: end a membership with EndCaseMember",
            );
        }
        if m.agency_wide && person.as_ref().is_some_and(|p| p.agency_kind.is_none()) {
            check.add(
                "membership.agency_wide",
                "needs the person's agency (person.agency_kind and person.agency_name)",
            );
        }
        let (Some(key), Some(case_id), Some(person), Some(role), Some(start_date)) =
            (key, case_id, person, role, start_date)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            case_id,
            person,
            role,
            child_ids,
            start_date,
            agency_wide: m.agency_wide,
        })
    }
}

/// The end of a membership (`EndCaseMemberRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberEnding {
    pub id: Uuid,
    pub version: i64,
    pub end_date: NaiveDate,
    pub reason: MembershipEndReason,
}

impl MemberEnding {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::EndCaseMemberRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("membership_id", &req.membership_id);
        let version = check.version("version", req.version);
        let end_date = check.required_date("end_date", req.end_date.as_ref());
        let reason = check.required_enum(
            "end_reason",
            req.end_reason,
            MembershipEndReason::from_proto,
        );
        let (Some(id), Some(end_date), Some(reason)) = (id, end_date, reason) else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            end_date,
            reason,
        })
    }
}

/// Filters of `ListCaseMembers`.
#[derive(Debug, Clone)]
pub struct MemberFilter {
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
    pub role: Option<CaseRole>,
    pub active_only: bool,
    pub page: PageRequest,
}

impl MemberFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListCaseMembersRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let case_id = check.opt_id("case_id", &req.case_id).flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let person_id = check.opt_id("person_id", &req.person_id).flatten();
        if req.case_id.is_empty() && req.person_id.is_empty() {
            check.add("case_id", "is required unless person_id is set");
        }
        let role = check.opt_enum("case_role", req.case_role, CaseRole::from_proto);
        let key = FilterKey::new()
            .with("case_id", &req.case_id)
            .with("child_id", &req.child_id)
            .with("person_id", &req.person_id)
            .with("case_role", req.case_role)
            .with("active_only", req.active_only);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            case_id,
            child_id,
            person_id,
            role,
            active_only: req.active_only,
            page,
        })
    }
}
