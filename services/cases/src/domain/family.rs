//! Family members and their relationships to the children of a case.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use uuid::Uuid;

use super::check::{Check, merge, redacted_debug};
use super::common::update_mask;
use crate::codes::Relationship;
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// One relationship of a family member to a child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildRelationship {
    pub child_id: Uuid,
    pub relationship: Relationship,
    pub detail: Option<String>,
    pub parental_responsibility: bool,
    pub lives_with_child: bool,
}

/// A UK postal address.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub lines: Vec<String>,
    pub town: Option<String>,
    pub postcode: Option<String>,
}

redacted_debug!(Address);

/// Every editable detail of a family member, validated together.
#[derive(Clone, PartialEq, Eq)]
pub struct FamilyMemberDetails {
    pub case_id: Uuid,
    pub given_names: String,
    pub family_name: String,
    pub birth_date: Option<NaiveDate>,
    pub relationships: Vec<ChildRelationship>,
    pub address: Address,
    pub address_confidential: bool,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub preferred_language: Option<String>,
    pub interpreter_needed: bool,
}

redacted_debug!(FamilyMemberDetails);

/// Whether `postcode` is a UK postcode in normalised form ("GL1 2TG"):
/// an outward code of 2–4 characters starting with a letter, a space, and
/// an inward code of a digit and two letters.
#[must_use]
pub fn is_uk_postcode(postcode: &str) -> bool {
    let Some((outward, inward)) = postcode.split_once(' ') else {
        return false;
    };
    let outward_ok = (2..=4).contains(&outward.len())
        && outward.starts_with(|c: char| c.is_ascii_uppercase())
        && outward.chars().any(|c| c.is_ascii_digit())
        && outward
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
    let inward: Vec<char> = inward.chars().collect();
    outward_ok
        && matches!(inward.as_slice(), [d, a, b] if d.is_ascii_digit() && a.is_ascii_uppercase() && b.is_ascii_uppercase())
}

fn is_e164(phone: &str) -> bool {
    let digits = phone.strip_prefix('+').unwrap_or("");
    (7..=15).contains(&digits.len())
        && digits.chars().all(|c| c.is_ascii_digit())
        && !digits.starts_with('0')
}

impl FamilyMemberDetails {
    /// Parses a family member message; fields are named `family_member.*`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(member: Option<&pb::FamilyMember>, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let Some(m) = member else {
            check.add("family_member", "is required");
            return Err(check.fail());
        };
        let case_id = check.id("family_member.case_id", &m.case_id);
        let given_names = check.text("family_member.given_names", &m.given_names, 1, 100);
        let family_name = check.text("family_member.family_name", &m.family_name, 1, 100);
        let birth_date = check.date("family_member.birth_date", m.birth_date.as_ref());
        check.not_future("family_member.birth_date", birth_date, today);
        if m.relationships.is_empty() {
            check.add(
                "family_member.relationships",
                "at least one relationship to a child is required",
            );
        }
        let mut relationships: Vec<ChildRelationship> = Vec::with_capacity(m.relationships.len());
        for (i, r) in m.relationships.iter().enumerate() {
            let field = format!("family_member.relationships[{i}]");
            let child_id = check.id(&format!("{field}.child_id"), &r.child_id);
            let relationship = check.required_enum(
                &format!("{field}.relationship"),
                r.relationship,
                Relationship::from_proto,
            );
            let detail = check.opt_text(
                &format!("{field}.relationship_detail"),
                &r.relationship_detail,
                200,
            );
            if relationship == Some(Relationship::Other) && detail.is_none() {
                check.add(
                    format!("{field}.relationship_detail"),
                    "is required for RELATIONSHIP_OTHER",
                );
            }
            if let (Some(child_id), Some(relationship)) = (child_id, relationship) {
                if relationships.iter().any(|r| r.child_id == child_id) {
                    check.add(
                        format!("{field}.child_id"),
                        "has more than one relationship",
                    );
                }
                relationships.push(ChildRelationship {
                    child_id,
                    relationship,
                    detail,
                    parental_responsibility: r.parental_responsibility,
                    lives_with_child: r.lives_with_child,
                });
            }
        }
        let address = parse_address(&mut check, m.address.as_ref());
        let phone = check.opt_text("family_member.phone", &m.phone, 16);
        if phone.as_deref().is_some_and(|p| !is_e164(p)) {
            check.add(
                "family_member.phone",
                "must be in E.164 form, e.g. +447700900123",
            );
        }
        let email = check.opt_text("family_member.email", &m.email, 254);
        if email.as_deref().is_some_and(|e| {
            let (local, domain) = e.split_once('@').unwrap_or_default();
            local.is_empty() || domain.is_empty() || e.chars().any(char::is_whitespace)
        }) {
            check.add("family_member.email", "must be an email address");
        }
        let preferred_language = check.opt_text(
            "family_member.preferred_language",
            &m.preferred_language,
            60,
        );
        let Some(case_id) = case_id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            case_id,
            given_names,
            family_name,
            birth_date,
            relationships,
            address,
            address_confidential: m.address_confidential,
            phone,
            email,
            preferred_language,
            interpreter_needed: m.interpreter_needed,
        })
    }
}

fn parse_address(check: &mut Check, address: Option<&common::PostalAddress>) -> Address {
    let Some(a) = address.filter(|a| **a != common::PostalAddress::default()) else {
        return Address::default();
    };
    if a.lines.is_empty() || a.lines.len() > 4 {
        check.add("family_member.address.lines", "must have 1-4 lines");
    }
    let lines = check.texts("family_member.address.lines", &a.lines, 100);
    let town = check.opt_text("family_member.address.town", &a.town, 60);
    let postcode = check.opt_text("family_member.address.postcode", &a.postcode, 8);
    if postcode.as_deref().is_some_and(|p| !is_uk_postcode(p)) {
        check.add(
            "family_member.address.postcode",
            "must be a UK postcode in normalised form, e.g. GL1 2TG",
        );
    }
    Address {
        lines,
        town,
        postcode,
    }
}

/// A new family member (`AddFamilyMemberRequest`).
#[derive(Debug, Clone)]
pub struct NewFamilyMember {
    pub key: RequestKey,
    pub details: FamilyMemberDetails,
}

impl NewFamilyMember {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::AddFamilyMemberRequest, today: NaiveDate) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(&mut check, methods::ADD_FAMILY_MEMBER, &req.request_id, req);
        let details = FamilyMemberDetails::parse(req.family_member.as_ref(), today);
        merge(check, key, details).map(|(key, details)| Self { key, details })
    }
}

/// The fields `UpdateFamilyMember` may change.
pub const FAMILY_MEMBER_UPDATABLE: &[&str] = &[
    "given_names",
    "family_name",
    "birth_date",
    "relationships",
    "address",
    "address_confidential",
    "phone",
    "email",
    "preferred_language",
    "interpreter_needed",
];

/// An update of a family member: the masked fields replace the stored ones
/// and the whole member is validated again.
#[derive(Clone)]
pub struct FamilyMemberUpdate {
    pub id: Uuid,
    pub version: i64,
    pub fields: Vec<&'static str>,
    source: pb::FamilyMember,
}

redacted_debug!(FamilyMemberUpdate);

impl FamilyMemberUpdate {
    /// # Errors
    /// `INVALID_ARGUMENT` for a missing id or version or a bad mask.
    pub fn parse(req: &pb::UpdateFamilyMemberRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(
            &mut check,
            req.update_mask.as_ref(),
            FAMILY_MEMBER_UPDATABLE,
        );
        let Some(member) = req.family_member.as_ref() else {
            check.add("family_member", "is required");
            return Err(check.fail());
        };
        let id = check.id("family_member.id", &member.id);
        let version = check.version("family_member.version", member.version);
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            fields,
            source: member.clone(),
        })
    }

    /// The member after the update, validated as a whole.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field of the result.
    pub fn apply(
        &self,
        current: &pb::FamilyMember,
        today: NaiveDate,
    ) -> Result<FamilyMemberDetails, ApiError> {
        let mut merged = current.clone();
        let s = &self.source;
        for field in &self.fields {
            match *field {
                "given_names" => merged.given_names.clone_from(&s.given_names),
                "family_name" => merged.family_name.clone_from(&s.family_name),
                "birth_date" => merged.birth_date = s.birth_date,
                "relationships" => merged.relationships.clone_from(&s.relationships),
                "address" => merged.address.clone_from(&s.address),
                "address_confidential" => merged.address_confidential = s.address_confidential,
                "phone" => merged.phone.clone_from(&s.phone),
                "email" => merged.email.clone_from(&s.email),
                "preferred_language" => merged.preferred_language.clone_from(&s.preferred_language),
                "interpreter_needed" => merged.interpreter_needed = s.interpreter_needed,
                _ => {}
            }
        }
        FamilyMemberDetails::parse(Some(&merged), today)
    }
}

/// Filters of `ListFamilyMembers`.
#[derive(Debug, Clone)]
pub struct FamilyMemberFilter {
    pub case_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub parental_responsibility_only: bool,
    pub page: PageRequest,
}

impl FamilyMemberFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListFamilyMembersRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let case_id = check.opt_id("case_id", &req.case_id).flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        if req.case_id.is_empty() && req.child_id.is_empty() {
            check.add("case_id", "is required unless child_id is set");
        }
        let key = FilterKey::new()
            .with("case_id", &req.case_id)
            .with("child_id", &req.child_id)
            .with(
                "parental_responsibility_only",
                req.parental_responsibility_only,
            );
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            case_id,
            child_id,
            parental_responsibility_only: req.parental_responsibility_only,
            page,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postcodes_and_phones() {
        for good in ["GL1 2TG", "SW1A 1AA", "M1 1AE", "B33 8TH"] {
            assert!(is_uk_postcode(good), "{good}");
        }
        for bad in ["GL12TG", "gl1 2tg", "GL1 2T", "1GL 2TG", "GLXX 2TG"] {
            assert!(!is_uk_postcode(bad), "{bad}");
        }
        assert!(is_e164("+447700900123"));
        assert!(!is_e164("07700900123"));
    }

    #[test]
    fn a_member_needs_a_relationship_and_detail_for_other() {
        let today = NaiveDate::from_ymd_opt(2025, 11, 25).unwrap();
        let child = Uuid::new_v4().to_string();
        let member = pb::FamilyMember {
            case_id: Uuid::new_v4().to_string(),
            given_names: "Alex".into(),
            family_name: "Smith".into(),
            relationships: vec![
                pb::ChildRelationship {
                    child_id: child.clone(),
                    relationship: pb::Relationship::Other as i32,
                    ..Default::default()
                },
                pb::ChildRelationship {
                    child_id: child,
                    relationship: pb::Relationship::Father as i32,
                    ..Default::default()
                },
            ],
            phone: "01234".into(),
            ..Default::default()
        };
        let ApiError::InvalidArgument(v) =
            FamilyMemberDetails::parse(Some(&member), today).unwrap_err()
        else {
            panic!()
        };
        let fields: Vec<&str> = v.violations().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "family_member.relationships[0].relationship_detail",
                "family_member.relationships[1].child_id",
                "family_member.phone",
            ]
        );
    }
}
