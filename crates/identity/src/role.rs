//! The national vocabularies carried in credentials: system roles and agency
//! kinds. These mirror `cpc.common.v1.Role` and `cpc.common.v1.AgencyKind`
//! (without the `UNSPECIFIED` members: an unspecified value is never a valid
//! credential). `code()` is the proto enum number, so the platform can convert
//! without this crate depending on the generated code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A user's system role (`cpc.common.v1.Role`). Serialised, parsed and
/// displayed as the snake_case name, e.g. `social_worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Local authority social worker.
    SocialWorker,
    /// Team manager supervising social workers.
    TeamManager,
    /// Independent child protection conference chair.
    ConferenceChair,
    /// Service manager (including the safeguarding and reviewing unit manager).
    ServiceManager,
    /// Head of service: the last internal escalation stage.
    HeadOfService,
    /// Business support: conference administration, invitations, minutes.
    BusinessSupport,
    /// Partner agency practitioner using a portal.
    AgencyPractitioner,
    /// Read-only access to audit records and statistics.
    Auditor,
    /// A record system integration acting on behalf of a named person.
    Integration,
    /// One of cpc's own services following another's change feed. Only a
    /// service identity holds it (a verified client certificate, or in
    /// development mode a token from the development key).
    CpcService,
}

impl Role {
    /// Every role, in proto declaration order.
    pub const ALL: [Role; 10] = [
        Role::SocialWorker,
        Role::TeamManager,
        Role::ConferenceChair,
        Role::ServiceManager,
        Role::BusinessSupport,
        Role::AgencyPractitioner,
        Role::Auditor,
        Role::Integration,
        Role::HeadOfService,
        Role::CpcService,
    ];

    /// The snake_case name used in tokens and configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::SocialWorker => "social_worker",
            Role::TeamManager => "team_manager",
            Role::ConferenceChair => "conference_chair",
            Role::ServiceManager => "service_manager",
            Role::HeadOfService => "head_of_service",
            Role::BusinessSupport => "business_support",
            Role::AgencyPractitioner => "agency_practitioner",
            Role::Auditor => "auditor",
            Role::Integration => "integration",
            Role::CpcService => "cpc_service",
        }
    }

    /// Whether only a service identity may hold the role: record-system
    /// integrations and cpc's own services, never a person.
    #[must_use]
    pub const fn is_service_role(self) -> bool {
        matches!(self, Role::Integration | Role::CpcService)
    }

    /// The `cpc.common.v1.Role` enum number.
    #[must_use]
    pub const fn code(self) -> i32 {
        match self {
            Role::SocialWorker => 1,
            Role::TeamManager => 2,
            Role::ConferenceChair => 3,
            Role::ServiceManager => 4,
            Role::BusinessSupport => 5,
            Role::AgencyPractitioner => 6,
            Role::Auditor => 7,
            Role::Integration => 8,
            Role::HeadOfService => 9,
            Role::CpcService => 10,
        }
    }

    /// The role for a `cpc.common.v1.Role` number; `None` for
    /// `ROLE_UNSPECIFIED` and unknown numbers.
    #[must_use]
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role or agency name that is not in the vocabulary. Carries no input, so
/// it is safe to show to a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a recognised {0}")]
pub struct UnknownName(&'static str);

impl FromStr for Role {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or(UnknownName("role"))
    }
}

/// The kind of agency a professional works for (`cpc.common.v1.AgencyKind`).
/// Serialised, parsed and displayed as the snake_case name, e.g. `police`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    /// Local authority children's social care.
    ChildrensSocialCare,
    /// Police.
    Police,
    /// Health: GP, health visitor, school nurse, midwifery, hospital, CAMHS.
    Health,
    /// Education: schools and colleges.
    Education,
    /// Early years: nurseries and childminders.
    EarlyYears,
    /// Probation service.
    Probation,
    /// Housing provider or housing department.
    Housing,
    /// Other specialist service.
    OtherSpecialist,
    /// NSPCC, which may be the lead statutory body.
    Nspcc,
    /// Adult social care.
    AdultSocialCare,
    /// Youth justice service.
    YouthJustice,
    /// Voluntary or community sector organisation not listed above.
    VoluntarySector,
}

impl AgencyKind {
    /// Every agency kind, in proto declaration order.
    pub const ALL: [AgencyKind; 12] = [
        AgencyKind::ChildrensSocialCare,
        AgencyKind::Police,
        AgencyKind::Health,
        AgencyKind::Education,
        AgencyKind::EarlyYears,
        AgencyKind::Probation,
        AgencyKind::Housing,
        AgencyKind::OtherSpecialist,
        AgencyKind::Nspcc,
        AgencyKind::AdultSocialCare,
        AgencyKind::YouthJustice,
        AgencyKind::VoluntarySector,
    ];

    /// The snake_case name used in tokens and configuration.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AgencyKind::ChildrensSocialCare => "childrens_social_care",
            AgencyKind::Police => "police",
            AgencyKind::Health => "health",
            AgencyKind::Education => "education",
            AgencyKind::EarlyYears => "early_years",
            AgencyKind::Probation => "probation",
            AgencyKind::Housing => "housing",
            AgencyKind::OtherSpecialist => "other_specialist",
            AgencyKind::Nspcc => "nspcc",
            AgencyKind::AdultSocialCare => "adult_social_care",
            AgencyKind::YouthJustice => "youth_justice",
            AgencyKind::VoluntarySector => "voluntary_sector",
        }
    }

    /// The `cpc.common.v1.AgencyKind` enum number.
    #[must_use]
    pub const fn code(self) -> i32 {
        match self {
            AgencyKind::ChildrensSocialCare => 1,
            AgencyKind::Police => 2,
            AgencyKind::Health => 3,
            AgencyKind::Education => 4,
            AgencyKind::EarlyYears => 5,
            AgencyKind::Probation => 6,
            AgencyKind::Housing => 7,
            AgencyKind::OtherSpecialist => 8,
            AgencyKind::Nspcc => 9,
            AgencyKind::AdultSocialCare => 10,
            AgencyKind::YouthJustice => 11,
            AgencyKind::VoluntarySector => 12,
        }
    }

    /// The kind for a `cpc.common.v1.AgencyKind` number; `None` for
    /// `AGENCY_KIND_UNSPECIFIED` and unknown numbers.
    #[must_use]
    pub fn from_code(code: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for AgencyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgencyKind {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or(UnknownName("agency kind"))
    }
}

/// The agency a professional works for, from the `cpc_agency` claim.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// The kind of agency.
    pub kind: AgencyKind,
    /// The employing agency's name, e.g. "Gloucestershire Constabulary"
    /// (1–200 bytes).
    pub name: String,
}

impl Agency {
    /// The agency as access decisions name it, `<kind>:<name>` (e.g.
    /// `police:Gloucestershire Constabulary`): the kind is part of it
    /// because one body can be two agencies (a county council's education
    /// and adult social care). A case membership held for a whole agency
    /// names the agency the same way.
    #[must_use]
    pub fn key(&self) -> String {
        agency_key(self.kind, &self.name)
    }
}

/// The agency of `kind` called `name`, as [`Agency::key`] names it.
#[must_use]
pub fn agency_key(kind: AgencyKind, name: &str) -> String {
    format!("{}:{name}", kind.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_round_trip_through_serde_and_from_str() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(Role::from_code(role.code()), Some(role));
        }
        assert_eq!(Role::from_code(0), None);
        assert_eq!("unspecified".parse::<Role>(), Err(UnknownName("role")));
        assert_eq!("SocialWorker".parse::<Role>(), Err(UnknownName("role")));
    }

    #[test]
    fn role_codes_match_the_proto() {
        assert_eq!(Role::SocialWorker.code(), 1);
        assert_eq!(Role::Integration.code(), 8);
        assert_eq!(Role::HeadOfService.code(), 9);
        let mut codes: Vec<i32> = Role::ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        assert_eq!(codes, (1..=10).collect::<Vec<_>>());
    }

    #[test]
    fn agency_kinds_round_trip() {
        for kind in AgencyKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(kind.as_str().parse::<AgencyKind>().unwrap(), kind);
            assert_eq!(AgencyKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(
            AgencyKind::ChildrensSocialCare.as_str(),
            "childrens_social_care"
        );
        assert_eq!(AgencyKind::from_code(0), None);
    }
}
