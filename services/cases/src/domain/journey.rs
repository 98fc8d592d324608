//! The early journey: CIN episodes, strategy discussions and section 47
//! enquiries.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use cpc_rules::census::{ClosureReason, PrimaryNeed, ReferralSource};
use uuid::Uuid;

use super::check::Check;
use super::common::AuthorityId;
use super::person::{Agency, PersonRef};
use crate::codes::{self, AgencyKind, Section47Outcome, StrategyOutcome};
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// An inclusive date range filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DateRange {
    pub start: Option<NaiveDate>,
    pub end: Option<NaiveDate>,
}

impl DateRange {
    /// Parses an optional range at `field`.
    pub fn parse(check: &mut Check, field: &str, range: Option<&common::DateRange>) -> Self {
        let Some(range) = range else {
            return Self::default();
        };
        let start = check.date(&format!("{field}.start_date"), range.start_date.as_ref());
        let end = check.date(&format!("{field}.end_date"), range.end_date.as_ref());
        check.order(start, &format!("{field}.end_date"), end, "start_date");
        Self { start, end }
    }
}

/// A referral opening a CIN episode (`OpenCinEpisodeRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCinEpisode {
    pub key: RequestKey,
    pub child_id: Uuid,
    pub referral_date: NaiveDate,
    pub referral_source: ReferralSource,
    pub primary_need: Option<PrimaryNeed>,
    pub referral_nfa: bool,
}

impl NewCinEpisode {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::OpenCinEpisodeRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::OPEN_CIN_EPISODE, &req.request_id, req);
        let child_id = check.id("child_id", &req.child_id);
        let referral_date = check.required_date("referral_date", req.referral_date.as_ref());
        check.not_future("referral_date", referral_date, today);
        let referral_source = if req.referral_source_code.is_empty() {
            check.add("referral_source_code", "is required");
            None
        } else {
            check.check(
                "referral_source_code",
                req.referral_source_code.parse::<ReferralSource>(),
            )
        };
        let primary_need = if req.referral_nfa {
            check.opt_enum(
                "primary_need",
                req.primary_need,
                codes::primary_need_from_proto,
            )
        } else {
            check.required_enum(
                "primary_need",
                req.primary_need,
                codes::primary_need_from_proto,
            )
        };
        let (Some(key), Some(child_id), Some(referral_date), Some(referral_source)) =
            (key, child_id, referral_date, referral_source)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            child_id,
            referral_date,
            referral_source,
            primary_need,
            referral_nfa: req.referral_nfa,
        })
    }
}

/// The closure of a CIN episode (`CloseCinEpisodeRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CinClosure {
    pub id: Uuid,
    pub version: i64,
    pub closure_date: NaiveDate,
    pub closure_reason: ClosureReason,
}

impl CinClosure {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::CloseCinEpisodeRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("cin_episode_id", &req.cin_episode_id);
        let version = check.version("version", req.version);
        let closure_date = check.required_date("closure_date", req.closure_date.as_ref());
        check.not_future("closure_date", closure_date, today);
        let closure_reason = check.required_enum(
            "closure_reason",
            req.closure_reason,
            codes::closure_reason_from_proto,
        );
        let (Some(id), Some(closure_date), Some(closure_reason)) =
            (id, closure_date, closure_reason)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            closure_date,
            closure_reason,
        })
    }
}

/// Filters of `ListCinEpisodes`.
#[derive(Debug, Clone)]
pub struct CinEpisodeFilter {
    pub authority_id: Option<AuthorityId>,
    pub child_id: Option<Uuid>,
    pub open: Option<bool>,
    pub referral_dates: DateRange,
    pub page: PageRequest,
}

impl CinEpisodeFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListCinEpisodesRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let authority_id = if req.authority_id.is_empty() && req.child_id.is_empty() {
            check.add("authority_id", "is required unless child_id is set");
            None
        } else if req.authority_id.is_empty() {
            None
        } else {
            check.check("authority_id", AuthorityId::parse(&req.authority_id))
        };
        let open = check.opt_enum(
            "status",
            req.status,
            |v| match pb::CinEpisodeStatus::try_from(v).ok()? {
                pb::CinEpisodeStatus::Open => Some(true),
                pb::CinEpisodeStatus::Closed => Some(false),
                pb::CinEpisodeStatus::Unspecified => None,
            },
        );
        let referral_dates =
            DateRange::parse(&mut check, "referral_dates", req.referral_dates.as_ref());
        let key = FilterKey::new()
            .with("authority_id", &req.authority_id)
            .with("child_id", &req.child_id)
            .with("status", req.status)
            .with("referral_dates", req.referral_dates);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            authority_id,
            child_id,
            open,
            referral_dates,
            page,
        })
    }
}

/// A strategy discussion to record (`RecordStrategyDiscussionRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewStrategyDiscussion {
    pub key: RequestKey,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    pub discussion_date: NaiveDate,
    pub attendees: Vec<PersonRef>,
    pub outcome: StrategyOutcome,
    pub rationale: Option<String>,
}

impl NewStrategyDiscussion {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(
        req: &pb::RecordStrategyDiscussionRequest,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(
            &mut check,
            methods::RECORD_STRATEGY_DISCUSSION,
            &req.request_id,
            req,
        );
        let case_id = check.id("case_id", &req.case_id);
        let child_ids = parse_ids(&mut check, "child_ids", &req.child_ids);
        if req.child_ids.is_empty() {
            check.add("child_ids", "at least one child is required");
        }
        let discussion_date = check.required_date("discussion_date", req.discussion_date.as_ref());
        check.not_future("discussion_date", discussion_date, today);
        let attendees =
            PersonRef::parse_list(&mut check, "attendees", &req.attendees, Agency::Required);
        if !attendees
            .iter()
            .any(|a| a.agency_kind == Some(AgencyKind::ChildrensSocialCare))
        {
            check.add("attendees", "must include children's social care");
        }
        let outcome = check.required_enum("outcome", req.outcome, StrategyOutcome::from_proto);
        let rationale = check.opt_text("rationale", &req.rationale, 4000);
        let (Some(key), Some(case_id), Some(discussion_date), Some(outcome)) =
            (key, case_id, discussion_date, outcome)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            case_id,
            child_ids,
            discussion_date,
            attendees,
            outcome,
            rationale,
        })
    }
}

/// Parses a list of ids at `field[i]`, refusing repeats.
pub(crate) fn parse_ids(check: &mut Check, field: &str, ids: &[String]) -> Vec<Uuid> {
    let mut parsed: Vec<Uuid> = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let item = format!("{field}[{i}]");
        if let Some(id) = check.id(&item, id) {
            if parsed.contains(&id) {
                check.add(item, "appears more than once");
            }
            parsed.push(id);
        }
    }
    parsed
}

/// Filters of `ListStrategyDiscussions`.
#[derive(Debug, Clone)]
pub struct StrategyDiscussionFilter {
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub outcome: Option<StrategyOutcome>,
    pub page: PageRequest,
}

impl StrategyDiscussionFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListStrategyDiscussionsRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let case_id = check.opt_id("case_id", &req.case_id).flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        if req.case_id.is_empty() && req.child_id.is_empty() {
            check.add("case_id", "is required unless child_id is set");
        }
        let outcome = check.opt_enum("outcome", req.outcome, StrategyOutcome::from_proto);
        let key = FilterKey::new()
            .with("case_id", &req.case_id)
            .with("child_id", &req.child_id)
            .with("outcome", req.outcome);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            case_id,
            child_id,
            outcome,
            page,
        })
    }
}

/// The start of a section 47 enquiry (`StartSection47EnquiryRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSection47 {
    pub key: RequestKey,
    pub child_id: Uuid,
    pub strategy_discussion_id: Uuid,
    pub start_date: NaiveDate,
}

impl NewSection47 {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(
        req: &pb::StartSection47EnquiryRequest,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(
            &mut check,
            methods::START_SECTION47_ENQUIRY,
            &req.request_id,
            req,
        );
        let child_id = check.id("child_id", &req.child_id);
        let strategy_discussion_id =
            check.id("strategy_discussion_id", &req.strategy_discussion_id);
        let start_date = check.required_date("start_date", req.start_date.as_ref());
        check.not_future("start_date", start_date, today);
        let (Some(key), Some(child_id), Some(strategy_discussion_id), Some(start_date)) =
            (key, child_id, strategy_discussion_id, start_date)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            child_id,
            strategy_discussion_id,
            start_date,
        })
    }
}

/// The completion of a section 47 enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section47Completion {
    pub id: Uuid,
    pub version: i64,
    pub completion_date: NaiveDate,
    pub outcome: Section47Outcome,
    pub icpc_not_required_reason: Option<String>,
}

impl Section47Completion {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(
        req: &pb::CompleteSection47EnquiryRequest,
        today: NaiveDate,
    ) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let id = check.id("enquiry_id", &req.enquiry_id);
        let version = check.version("version", req.version);
        let completion_date = check.required_date("completion_date", req.completion_date.as_ref());
        check.not_future("completion_date", completion_date, today);
        let outcome = check.required_enum("outcome", req.outcome, Section47Outcome::from_proto);
        let reason = check.opt_text(
            "icpc_not_required_reason",
            &req.icpc_not_required_reason,
            2000,
        );
        match (outcome, &reason) {
            (Some(Section47Outcome::IcpcNotRequired), None) => {
                check.add(
                    "icpc_not_required_reason",
                    "is required when no ICPC is needed",
                );
            }
            (Some(Section47Outcome::IcpcRequired), Some(_)) => {
                check.add(
                    "icpc_not_required_reason",
                    "must be unset when an ICPC is required",
                );
            }
            _ => {}
        }
        let (Some(id), Some(completion_date), Some(outcome)) = (id, completion_date, outcome)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            completion_date,
            outcome,
            icpc_not_required_reason: reason,
        })
    }
}

/// Filters of `ListSection47Enquiries`.
#[derive(Debug, Clone)]
pub struct Section47Filter {
    pub authority_id: Option<AuthorityId>,
    pub child_id: Option<Uuid>,
    pub in_progress: Option<bool>,
    pub outcome: Option<Section47Outcome>,
    pub start_dates: DateRange,
    pub page: PageRequest,
}

impl Section47Filter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListSection47EnquiriesRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let authority_id = if req.authority_id.is_empty() {
            if req.child_id.is_empty() {
                check.add("authority_id", "is required unless child_id is set");
            }
            None
        } else {
            check.check("authority_id", AuthorityId::parse(&req.authority_id))
        };
        let in_progress =
            check.opt_enum(
                "status",
                req.status,
                |v| match pb::Section47Status::try_from(v).ok()? {
                    pb::Section47Status::InProgress => Some(true),
                    pb::Section47Status::Completed => Some(false),
                    pb::Section47Status::Unspecified => None,
                },
            );
        let outcome = check.opt_enum("outcome", req.outcome, Section47Outcome::from_proto);
        let start_dates = DateRange::parse(&mut check, "start_dates", req.start_dates.as_ref());
        let key = FilterKey::new()
            .with("authority_id", &req.authority_id)
            .with("child_id", &req.child_id)
            .with("status", req.status)
            .with("outcome", req.outcome)
            .with("start_dates", req.start_dates);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            authority_id,
            child_id,
            in_progress,
            outcome,
            start_dates,
            page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 25).unwrap()
    }

    #[test]
    fn a_referral_needs_a_primary_need_unless_nfa() {
        let req = pb::OpenCinEpisodeRequest {
            request_id: Uuid::new_v4().to_string(),
            child_id: Uuid::new_v4().to_string(),
            referral_date: Some(common::Date {
                year: 2025,
                month: 11,
                day: 26,
            }),
            referral_source_code: "6".into(),
            primary_need: 0,
            referral_nfa: false,
        };
        let ApiError::InvalidArgument(v) = NewCinEpisode::parse(&req, today()).unwrap_err() else {
            panic!()
        };
        let fields: Vec<&str> = v.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["referral_date", "primary_need"]);
        let nfa = pb::OpenCinEpisodeRequest {
            referral_nfa: true,
            referral_date: Some(common::Date {
                year: 2025,
                month: 11,
                day: 1,
            }),
            ..req
        };
        assert!(
            NewCinEpisode::parse(&nfa, today())
                .unwrap()
                .primary_need
                .is_none()
        );
    }

    #[test]
    fn a_not_required_outcome_needs_its_reason() {
        let req = pb::CompleteSection47EnquiryRequest {
            enquiry_id: Uuid::new_v4().to_string(),
            version: 1,
            completion_date: Some(common::Date {
                year: 2025,
                month: 11,
                day: 1,
            }),
            outcome: pb::Section47Outcome::IcpcNotRequired as i32,
            icpc_not_required_reason: String::new(),
        };
        let err = Section47Completion::parse(&req, today())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid argument: invalid fields: icpc_not_required_reason"
        );
    }
}
