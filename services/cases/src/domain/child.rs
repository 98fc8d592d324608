//! Family cases and children, parsed from the API.

use chrono::{Datelike as _, NaiveDate};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::census::{Disability, Ethnicity, Sex};
use cpc_rules::identifiers::{LaChildId, NhsNumber, Upn, UpnUnknownReason};
use uuid::Uuid;

use super::check::{Check, merge, redacted_debug};
use super::common::{AuthorityId, ExternalReference, update_mask};
use crate::codes;
use crate::convert::date_from_proto;
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};
use cpc_proto::common::v1::Date;

/// A new family case (`CreateCaseRequest.case`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    pub authority_id: AuthorityId,
    pub display_name: String,
    pub external_references: Vec<ExternalReference>,
}

impl NewCase {
    /// Parses a `CreateCaseRequest`: its request id and case.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse_request(req: &pb::CreateCaseRequest) -> Result<(RequestKey, Self), ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::CREATE_CASE, &req.request_id, req);
        merge(check, key, Self::parse(req.case.as_ref()))
    }

    /// Parses the case of a create request; fields are named `case.*`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(case: Option<&pb::Case>) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let Some(case) = case else {
            check.add("case", "is required");
            return Err(check.fail());
        };
        let authority_id = check.check("case.authority_id", AuthorityId::parse(&case.authority_id));
        let display_name = check.text("case.display_name", &case.display_name, 1, 200);
        let external_references = ExternalReference::parse_list(
            &mut check,
            "case.external_references",
            &case.external_references,
        );
        let Some(authority_id) = authority_id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            authority_id,
            display_name,
            external_references,
        })
    }
}

/// A correction of a case's label or references (`UpdateCaseRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseUpdate {
    pub id: Uuid,
    pub version: i64,
    pub display_name: Option<String>,
    pub external_references: Option<Vec<ExternalReference>>,
}

impl CaseUpdate {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::UpdateCaseRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(
            &mut check,
            req.update_mask.as_ref(),
            &["display_name", "external_references"],
        );
        let Some(case) = req.case.as_ref() else {
            check.add("case", "is required");
            return Err(check.fail());
        };
        let id = check.id("case.id", &case.id);
        let version = check.version("case.version", case.version);
        let display_name = fields
            .contains(&"display_name")
            .then(|| check.text("case.display_name", &case.display_name, 1, 200));
        let external_references = fields.contains(&"external_references").then(|| {
            ExternalReference::parse_list(
                &mut check,
                "case.external_references",
                &case.external_references,
            )
        });
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            display_name,
            external_references,
        })
    }
}

/// Every editable detail of a child, validated together (so create and
/// update apply the same rules).
#[derive(Clone, PartialEq, Eq)]
pub struct ChildDetails {
    pub authority_id: AuthorityId,
    /// The sibling group; `None` on create opens a new case.
    pub case_id: Option<Uuid>,
    pub la_child_id: LaChildId,
    pub upn: Option<Upn>,
    pub upn_unknown_reason: Option<UpnUnknownReason>,
    pub former_upn: Option<Upn>,
    pub nhs_number: Option<NhsNumber>,
    pub given_names: String,
    pub family_name: String,
    pub preferred_name: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub expected_birth_date: Option<NaiveDate>,
    pub death_date: Option<NaiveDate>,
    pub sex: Sex,
    pub ethnicity: Option<Ethnicity>,
    pub disabilities: Vec<Disability>,
    pub first_language: Option<String>,
    pub external_references: Vec<ExternalReference>,
}

redacted_debug!(ChildDetails);

/// Age in completed years on `on`.
#[must_use]
pub fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    let mut age = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        age -= 1;
    }
    age
}

/// Compulsory school age, approximated as whole years 5 to 15 on `today`.
fn is_school_age(birth: NaiveDate, today: NaiveDate) -> bool {
    (5..16).contains(&age_on(birth, today))
}

impl ChildDetails {
    /// Parses a `CreateChildRequest`: its request id and child.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse_request(
        req: &pb::CreateChildRequest,
        today: NaiveDate,
    ) -> Result<(RequestKey, Self), ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::CREATE_CHILD, &req.request_id, req);
        merge(check, key, Self::parse(req.child.as_ref(), today))
    }

    /// Parses a child message; fields are named `child.*`. `today` bounds
    /// the dates that may not be in the future.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(child: Option<&pb::Child>, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let Some(c) = child else {
            check.add("child", "is required");
            return Err(check.fail());
        };
        let authority_id = check.check("child.authority_id", AuthorityId::parse(&c.authority_id));
        let case_id = check.opt_id("child.case_id", &c.case_id);
        let la_child_id = if c.la_child_id.is_empty() {
            check.add("child.la_child_id", "is required");
            None
        } else {
            check.check("child.la_child_id", LaChildId::parse(&c.la_child_id))
        };
        let upn = (!c.upn.is_empty())
            .then(|| check.check("child.upn", Upn::parse(&c.upn)))
            .flatten();
        let upn_unknown_reason = check.opt_enum(
            "child.upn_unknown_reason",
            c.upn_unknown_reason,
            codes::upn_unknown_from_proto,
        );
        let former_upn = (!c.former_upn.is_empty())
            .then(|| check.check("child.former_upn", Upn::parse(&c.former_upn)))
            .flatten();
        let nhs_number = (!c.nhs_number.is_empty())
            .then(|| check.check("child.nhs_number", NhsNumber::parse(&c.nhs_number)))
            .flatten();
        let given_names = check.text("child.given_names", &c.given_names, 1, 100);
        let family_name = check.text("child.family_name", &c.family_name, 1, 100);
        let preferred_name = check.opt_text("child.preferred_name", &c.preferred_name, 100);
        let birth_date = check.date("child.birth_date", c.birth_date.as_ref());
        let expected_birth_date =
            check.date("child.expected_birth_date", c.expected_birth_date.as_ref());
        let death_date = check.date("child.death_date", c.death_date.as_ref());
        let sex = check.required_enum("child.sex", c.sex, codes::sex_from_proto);
        let ethnicity = (!c.ethnicity_code.is_empty())
            .then(|| {
                check.check(
                    "child.ethnicity_code",
                    c.ethnicity_code.parse::<Ethnicity>(),
                )
            })
            .flatten();
        let mut disabilities = Vec::with_capacity(c.disability_codes.len());
        for (i, code) in c.disability_codes.iter().enumerate() {
            let field = format!("child.disability_codes[{i}]");
            if let Some(d) = check.check(&field, code.parse::<Disability>()) {
                if disabilities.contains(&d) {
                    check.add(field, "appears more than once");
                }
                disabilities.push(d);
            }
        }
        if disabilities.contains(&Disability::NoDisability) && disabilities.len() > 1 {
            check.add(
                "child.disability_codes",
                "NONE may not be combined with other codes",
            );
        }
        let first_language = check.opt_text("child.first_language", &c.first_language, 60);
        let external_references = ExternalReference::parse_list(
            &mut check,
            "child.external_references",
            &c.external_references,
        );

        // Rules between fields.
        if c.upn_unknown_reason != 0 && !c.upn.is_empty() {
            check.add("child.upn_unknown_reason", "must be unset when upn is set");
        }
        check.not_future("child.birth_date", birth_date, today);
        check.not_future("child.death_date", death_date, today);
        check.order(birth_date, "child.death_date", death_date, "birth_date");
        // Unborn: birth_date unset (not merely invalid).
        let unborn = matches!(date_from_proto(c.birth_date.as_ref()), Ok(None));
        match (birth_date, unborn) {
            (_, true) => {
                if expected_birth_date.is_none()
                    && c.expected_birth_date
                        .as_ref()
                        .is_none_or(|d| *d == Date::default())
                {
                    check.add(
                        "child.expected_birth_date",
                        "is required when birth_date is unset (unborn child)",
                    );
                }
                if death_date.is_some() {
                    check.add("child.death_date", "needs birth_date");
                }
                if sex.is_some_and(|s| s != Sex::Unknown) {
                    check.add("child.sex", "must be SEX_UNKNOWN for an unborn child");
                }
            }
            (Some(birth), _) if death_date.is_none() && is_school_age(birth, today) => {
                if upn.is_none() && c.upn.is_empty() && upn_unknown_reason.is_none() {
                    check.add(
                        "child.upn",
                        "a child of school age needs a upn or a upn_unknown_reason",
                    );
                }
                if upn_unknown_reason == Some(UpnUnknownReason::Un1) {
                    check.add(
                        "child.upn_unknown_reason",
                        "UN1 (not of school age) is invalid for a child of school age",
                    );
                }
            }
            _ => {}
        }

        let (Some(authority_id), Some(case_id), Some(la_child_id), Some(sex)) =
            (authority_id, case_id, la_child_id, sex)
        else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            authority_id,
            case_id,
            la_child_id,
            upn,
            upn_unknown_reason,
            former_upn,
            nhs_number,
            given_names,
            family_name,
            preferred_name,
            birth_date,
            expected_birth_date,
            death_date,
            sex,
            ethnicity,
            disabilities,
            first_language,
            external_references,
        })
    }

    /// Whether the child is not yet born.
    #[must_use]
    pub fn is_unborn(&self) -> bool {
        self.birth_date.is_none()
    }
}

/// The fields `UpdateChild` may change.
pub const CHILD_UPDATABLE: &[&str] = &[
    "case_id",
    "la_child_id",
    "upn",
    "upn_unknown_reason",
    "former_upn",
    "nhs_number",
    "given_names",
    "family_name",
    "preferred_name",
    "birth_date",
    "expected_birth_date",
    "death_date",
    "sex",
    "ethnicity_code",
    "disability_codes",
    "first_language",
    "external_references",
];

/// An update of a child (`UpdateChildRequest`): the masked fields of
/// `source` replace the stored ones, then the whole child is validated
/// again by [`ChildUpdate::apply`].
#[derive(Clone)]
pub struct ChildUpdate {
    pub id: Uuid,
    pub version: i64,
    pub fields: Vec<&'static str>,
    source: pb::Child,
}

redacted_debug!(ChildUpdate);

impl ChildUpdate {
    /// # Errors
    /// `INVALID_ARGUMENT` for a missing id or version or a bad mask.
    pub fn parse(req: &pb::UpdateChildRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(&mut check, req.update_mask.as_ref(), CHILD_UPDATABLE);
        let Some(child) = req.child.as_ref() else {
            check.add("child", "is required");
            return Err(check.fail());
        };
        let id = check.id("child.id", &child.id);
        let version = check.version("child.version", child.version);
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            fields,
            source: child.clone(),
        })
    }

    /// The child after the update, validated as a whole, and the fields
    /// whose value changed.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field of the result.
    pub fn apply(
        &self,
        current: &pb::Child,
        today: NaiveDate,
    ) -> Result<(ChildDetails, Vec<String>), ApiError> {
        let mut merged = current.clone();
        let s = &self.source;
        for field in &self.fields {
            match *field {
                "case_id" => merged.case_id.clone_from(&s.case_id),
                "la_child_id" => merged.la_child_id.clone_from(&s.la_child_id),
                "upn" => merged.upn.clone_from(&s.upn),
                "upn_unknown_reason" => merged.upn_unknown_reason = s.upn_unknown_reason,
                "former_upn" => merged.former_upn.clone_from(&s.former_upn),
                "nhs_number" => merged.nhs_number.clone_from(&s.nhs_number),
                "given_names" => merged.given_names.clone_from(&s.given_names),
                "family_name" => merged.family_name.clone_from(&s.family_name),
                "preferred_name" => merged.preferred_name.clone_from(&s.preferred_name),
                "birth_date" => merged.birth_date = s.birth_date,
                "expected_birth_date" => merged.expected_birth_date = s.expected_birth_date,
                "death_date" => merged.death_date = s.death_date,
                "sex" => merged.sex = s.sex,
                "ethnicity_code" => merged.ethnicity_code.clone_from(&s.ethnicity_code),
                "disability_codes" => merged.disability_codes.clone_from(&s.disability_codes),
                "first_language" => merged.first_language.clone_from(&s.first_language),
                "external_references" => merged
                    .external_references
                    .clone_from(&s.external_references),
                _ => {}
            }
        }
        if merged.case_id.is_empty() {
            // A child always belongs to a case; clearing it is not a move.
            merged.case_id.clone_from(&current.case_id);
        }
        let details = ChildDetails::parse(Some(&merged), today)?;
        let normalised = |c: &pb::Child| {
            // Compare what would be stored, not how it was spelled.
            ChildDetails::parse(Some(c), today).ok()
        };
        let before = normalised(current);
        let changed = self
            .fields
            .iter()
            .filter(|field| {
                before
                    .as_ref()
                    .is_none_or(|b| field_differs(b, &details, field))
            })
            .map(|field| (*field).to_owned())
            .collect();
        Ok((details, changed))
    }
}

fn field_differs(a: &ChildDetails, b: &ChildDetails, field: &str) -> bool {
    match field {
        "case_id" => a.case_id != b.case_id,
        "la_child_id" => a.la_child_id != b.la_child_id,
        "upn" => a.upn != b.upn,
        "upn_unknown_reason" => a.upn_unknown_reason != b.upn_unknown_reason,
        "former_upn" => a.former_upn != b.former_upn,
        "nhs_number" => a.nhs_number != b.nhs_number,
        "given_names" => a.given_names != b.given_names,
        "family_name" => a.family_name != b.family_name,
        "preferred_name" => a.preferred_name != b.preferred_name,
        "birth_date" => a.birth_date != b.birth_date,
        "expected_birth_date" => a.expected_birth_date != b.expected_birth_date,
        "death_date" => a.death_date != b.death_date,
        "sex" => a.sex != b.sex,
        "ethnicity_code" => a.ethnicity != b.ethnicity,
        "disability_codes" => a.disabilities != b.disabilities,
        "first_language" => a.first_language != b.first_language,
        "external_references" => a.external_references != b.external_references,
        _ => true,
    }
}

/// Filters of `ListChildren`.
#[derive(Clone)]
pub struct ChildFilter {
    pub case_id: Option<Uuid>,
    pub la_child_id: Option<LaChildId>,
    pub nhs_number: Option<NhsNumber>,
    pub family_name_prefix: Option<String>,
    pub has_active_plan: Option<bool>,
    pub category: Option<CategoryOfHarm>,
    pub lead_social_worker_id: Option<Uuid>,
    pub unborn_only: bool,
    pub page: PageRequest,
    /// Only children of the caller's own cases: set by the service for
    /// callers who may list only their own cases, never from the request.
    pub member: Option<OwnCases>,
}

redacted_debug!(ChildFilter);

impl ChildFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListChildrenRequest) -> Result<(AuthorityId, Self), ApiError> {
        let mut check = Check::new();
        let authority_id = check.check("authority_id", AuthorityId::parse(&req.authority_id));
        let case_id = check.opt_id("case_id", &req.case_id).flatten();
        let la_child_id = (!req.la_child_id.is_empty())
            .then(|| check.check("la_child_id", LaChildId::parse(&req.la_child_id)))
            .flatten();
        let nhs_number = (!req.nhs_number.is_empty())
            .then(|| check.check("nhs_number", NhsNumber::parse(&req.nhs_number)))
            .flatten();
        let family_name_prefix = (!req.family_name_prefix.is_empty())
            .then(|| check.text("family_name_prefix", &req.family_name_prefix, 2, 100));
        let category = check.opt_enum("category", req.category, codes::category_from_proto);
        let lead_social_worker_id = check
            .opt_id("lead_social_worker_id", &req.lead_social_worker_id)
            .flatten();
        let key = FilterKey::new()
            .with("authority_id", &req.authority_id)
            .with("case_id", &req.case_id)
            .with("la_child_id", &req.la_child_id)
            .with("nhs_number", &req.nhs_number)
            .with("family_name_prefix", &req.family_name_prefix)
            .with("has_active_plan", req.has_active_plan)
            .with("category", req.category)
            .with("lead_social_worker_id", &req.lead_social_worker_id)
            .with("unborn_only", req.unborn_only);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        let Some(authority_id) = authority_id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok((
            authority_id,
            Self {
                case_id,
                la_child_id,
                nhs_number,
                family_name_prefix,
                has_active_plan: req.has_active_plan,
                category,
                lead_social_worker_id,
                unborn_only: req.unborn_only,
                page,
                member: None,
            },
        ))
    }
}

/// Filters of `ListCases`.
#[derive(Debug, Clone)]
pub struct CaseFilter {
    pub status: Option<pb::CaseStatus>,
    pub lead_social_worker_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub page: PageRequest,
    /// Only the caller's own cases: set by the service for callers who may
    /// list only their own cases, never from the request.
    pub member: Option<OwnCases>,
}

/// Whose cases a list across the authority returns, for a caller who may
/// list only their own: those the person is a current member of, and, when
/// the policies let an agency's membership reach its practitioners, those
/// their agency is a current member of (unless the person's own membership
/// has ended: the policies refuse them then).
#[derive(Clone)]
pub struct OwnCases {
    pub person_id: Uuid,
    /// The caller's agency, kind and name, when it reaches their cases.
    pub agency: Option<(codes::AgencyKind, String)>,
}

redacted_debug!(OwnCases);

impl OwnCases {
    /// The bound parameters: person, agency kind, agency name.
    #[must_use]
    pub fn params(
        member: Option<&Self>,
    ) -> (Option<Uuid>, Option<codes::AgencyKind>, Option<&str>) {
        let person = member.map(|m| m.person_id);
        let agency = member.and_then(|m| m.agency.as_ref());
        (
            person,
            agency.map(|(kind, _)| *kind),
            agency.map(|(_, name)| name.as_str()),
        )
    }
}

impl OwnCases {
    /// The SQL condition that a case (`case`, an SQL expression) is one of
    /// the caller's own on `today` (an SQL expression), given the
    /// parameters `$p`, `$p+1`, `$p+2` bound from [`OwnCases::params`];
    /// `covers` further restricts the membership `m` (e.g. to those
    /// covering one child), or is empty.
    #[must_use]
    pub fn condition(case: &str, today: &str, p: usize, covers: &str) -> String {
        let (person, kind, name) = (p, p + 1, p + 2);
        format!(
            "(${person}::uuid IS NULL OR EXISTS (SELECT 1 FROM case_memberships m \
               WHERE m.case_id = {case} {covers} \
                 AND m.start_date <= {today} AND (m.end_date IS NULL OR m.end_date >= {today}) \
                 AND (m.person_id = ${person} \
                      OR (m.agency_wide AND m.agency_kind = ${kind}::text AND m.agency_name = ${name}::text \
                          AND NOT EXISTS (SELECT 1 FROM case_memberships f \
                                           WHERE f.case_id = {case} AND f.person_id = ${person} \
                                             AND f.end_date < {today})))))"
        )
    }
}

impl CaseFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListCasesRequest) -> Result<(AuthorityId, Self), ApiError> {
        let mut check = Check::new();
        let authority_id = check.check("authority_id", AuthorityId::parse(&req.authority_id));
        let status = check.opt_enum("status", req.status, |v| {
            pb::CaseStatus::try_from(v)
                .ok()
                .filter(|s| *s != pb::CaseStatus::Unspecified)
        });
        let lead_social_worker_id = check
            .opt_id("lead_social_worker_id", &req.lead_social_worker_id)
            .flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        let key = FilterKey::new()
            .with("authority_id", &req.authority_id)
            .with("status", req.status)
            .with("lead_social_worker_id", &req.lead_social_worker_id)
            .with("child_id", &req.child_id);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        let Some(authority_id) = authority_id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok((
            authority_id,
            Self {
                status,
                lead_social_worker_id,
                child_id,
                page,
                member: None,
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 11, 25).unwrap()
    }

    fn date(year: i32, month: i32, day: i32) -> Option<Date> {
        Some(Date { year, month, day })
    }

    fn child() -> pb::Child {
        pb::Child {
            authority_id: "E10000013".into(),
            la_child_id: "C1234".into(),
            given_names: "Sam".into(),
            family_name: "Smith".into(),
            birth_date: date(2021, 3, 4),
            sex: pb::Sex::Female as i32,
            nhs_number: "943 476 5919".into(),
            ..Default::default()
        }
    }

    fn fields(err: ApiError) -> Vec<(String, String)> {
        match err {
            ApiError::InvalidArgument(v) => v
                .violations()
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other}"),
        }
    }

    #[test]
    fn a_valid_child_parses_with_normalised_identifiers() {
        let details = ChildDetails::parse(Some(&child()), today()).unwrap();
        assert_eq!(details.nhs_number.as_ref().unwrap().as_str(), "9434765919");
        assert_eq!(details.case_id, None);
        assert!(!details.is_unborn());
    }

    #[test]
    fn every_bad_field_is_named() {
        let mut c = child();
        c.nhs_number = "9434765918".into();
        c.upn = "A95000017830X".into();
        c.la_child_id = "has space".into();
        c.death_date = date(2020, 1, 1);
        c.disability_codes = vec!["NONE".into(), "MOB".into(), "XYZ".into()];
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "child.la_child_id",
                "child.upn",
                "child.nhs_number",
                "child.disability_codes[2]",
                "child.disability_codes",
                "child.death_date",
            ]
        );
        assert_eq!(got[2].1, "NHS number: check digit is 8, expected 9");
        assert_eq!(got[5].1, "must be on or after birth_date");
        // No description echoes the values given.
        for (_, description) in &got {
            assert!(!description.contains("9434765918") && !description.contains("has space"));
        }
    }

    #[test]
    fn an_unborn_child_needs_an_expected_date_and_unknown_sex() {
        let mut c = child();
        c.birth_date = None;
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        assert_eq!(
            got,
            [
                (
                    "child.expected_birth_date".to_owned(),
                    "is required when birth_date is unset (unborn child)".to_owned()
                ),
                (
                    "child.sex".to_owned(),
                    "must be SEX_UNKNOWN for an unborn child".to_owned()
                ),
            ]
        );
        c.expected_birth_date = date(2026, 2, 1);
        c.sex = pb::Sex::Unknown as i32;
        assert!(ChildDetails::parse(Some(&c), today()).unwrap().is_unborn());
    }

    #[test]
    fn school_age_children_need_a_upn_or_a_reason() {
        let mut c = child();
        c.birth_date = date(2015, 1, 1);
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        assert_eq!(got[0].0, "child.upn");
        c.upn_unknown_reason = pb::UpnUnknownReason::Un1 as i32;
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        assert_eq!(got[0].0, "child.upn_unknown_reason");
        c.upn_unknown_reason = 0;
        c.upn = "A950000178301".into();
        assert!(ChildDetails::parse(Some(&c), today()).is_ok());
        c.upn_unknown_reason = pb::UpnUnknownReason::Un2 as i32;
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        assert_eq!(
            got,
            [(
                "child.upn_unknown_reason".to_owned(),
                "must be unset when upn is set".to_owned()
            )]
        );
    }

    #[test]
    fn future_dates_are_refused() {
        let mut c = child();
        c.birth_date = date(2026, 1, 1);
        let got = fields(ChildDetails::parse(Some(&c), today()).unwrap_err());
        assert_eq!(
            got,
            [(
                "child.birth_date".to_owned(),
                "must not be in the future".to_owned()
            )]
        );
    }

    #[test]
    fn updates_apply_masked_fields_and_report_real_changes() {
        let current = child();
        let req = pb::UpdateChildRequest {
            child: Some(pb::Child {
                id: Uuid::new_v4().to_string(),
                version: 3,
                nhs_number: "9434765919".into(),
                family_name: "Jones".into(),
                given_names: "ignored: not in the mask".into(),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["nhs_number".into(), "family_name".into()],
            }),
        };
        let update = ChildUpdate::parse(&req).unwrap();
        let (details, changed) = update.apply(&current, today()).unwrap();
        assert_eq!(details.family_name, "Jones");
        assert_eq!(details.given_names, "Sam");
        assert_eq!(changed, ["family_name"]);

        let bad = pb::UpdateChildRequest {
            child: Some(pb::Child::default()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["authority_id".into()],
            }),
        };
        let got = fields(ChildUpdate::parse(&bad).unwrap_err());
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["update_mask.paths[0]", "child.id", "child.version"]);
    }
}
