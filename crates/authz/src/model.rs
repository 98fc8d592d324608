//! What a request is about: the caller ([`Principal`]), the target
//! ([`Resource`]) and the answer ([`Decision`]).
//!
//! These are plain data. The calling service fills them from the verified
//! credentials (never from request fields) and from its own tables (case
//! membership, minutes exclusions, escalation stage) before it asks.

/// A system role, as in `cpc.common.v1.Role`: the same type the identity
/// crate reads from a verified token, so a caller's roles reach the
/// policies without translation.
///
/// In the policies a role is an entity, `Role::"team_manager"`, and the
/// caller is *in* each of its roles (the roles are the caller entity's
/// parents), so policies read `principal in Role::"team_manager"`. The schema
/// declares the role names as an enumeration, so a misspelt role in a policy
/// fails validation at load.
pub use cpc_identity::Role;

/// Whether the caller is a person or a service identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// A person signed in (entity type `Person`).
    Person,
    /// A service identity, e.g. a record-system integration (entity type
    /// `Service`). Services have no agency.
    Service,
}

/// The caller, from verified credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Stable subject id (a person id, or the service's client id).
    pub subject: String,
    /// Person or service.
    pub kind: PrincipalKind,
    /// The authority the caller acts for.
    pub authority_id: String,
    /// The caller's roles; a caller with none is denied everything.
    pub roles: Vec<Role>,
    /// The agency a person works for (partner agencies; the authority's own
    /// children's social care for its staff), as `<kind>:<name>`
    /// (`cpc_identity::Agency::key`). Ignored for services.
    pub agency: Option<String>,
    /// How long ago, in whole minutes, a person signed in (the token's
    /// `auth_time`), for policies that want a recent sign-in; `None` when
    /// the token does not say. Ignored for services.
    pub signed_in_minutes_ago: Option<i64>,
}

impl Principal {
    /// A person with the given roles.
    pub fn person(
        subject: impl Into<String>,
        authority_id: impl Into<String>,
        roles: impl IntoIterator<Item = Role>,
        agency: Option<String>,
    ) -> Self {
        Self {
            subject: subject.into(),
            kind: PrincipalKind::Person,
            authority_id: authority_id.into(),
            roles: roles.into_iter().collect(),
            agency,
            signed_in_minutes_ago: None,
        }
    }

    /// The same person, signed in `minutes` ago.
    #[must_use]
    pub fn signed_in(mut self, minutes: i64) -> Self {
        self.signed_in_minutes_ago = Some(minutes);
        self
    }

    /// A service identity with the given roles.
    pub fn service(
        subject: impl Into<String>,
        authority_id: impl Into<String>,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        Self {
            subject: subject.into(),
            kind: PrincipalKind::Service,
            authority_id: authority_id.into(),
            roles: roles.into_iter().collect(),
            agency: None,
            signed_in_minutes_ago: None,
        }
    }
}

/// Who is on a family case at the moment of the request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseRelation {
    /// The case id.
    pub case_id: String,
    /// Person ids whose membership is current today.
    pub current_members: Vec<String>,
    /// Agencies (`<kind>:<name>`, as [`Principal::agency`]) that are current
    /// members of the case as a whole: every practitioner of the agency is
    /// a member.
    pub current_member_agencies: Vec<String>,
    /// Person ids whose membership has ended.
    pub former_members: Vec<String>,
}

/// A conference and the people excluded from receiving its minutes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConferenceRelation {
    /// The conference id.
    pub conference_id: String,
    /// Person ids the chair excluded from receiving the minutes.
    pub minutes_excluded: Vec<String>,
    /// The person id of the conference's allocated chair, where the
    /// service knows it (scheduling); `None` before one is allocated.
    pub chair: Option<String>,
}

/// A stage of the escalation route (`cpc.escalation.v1.EscalationStage`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EscalationStage {
    /// The chair's midway review.
    ChairMidwayReview,
    /// The social worker's team manager.
    TeamManager,
    /// The service manager.
    ServiceManager,
    /// The head of service.
    HeadOfService,
    /// External escalation through the safeguarding partnership.
    SafeguardingPartnership,
}

impl EscalationStage {
    /// Every stage, in route order.
    pub const ALL: [EscalationStage; 5] = [
        EscalationStage::ChairMidwayReview,
        EscalationStage::TeamManager,
        EscalationStage::ServiceManager,
        EscalationStage::HeadOfService,
        EscalationStage::SafeguardingPartnership,
    ];

    /// The stage's name in the policies (`EscalationStage::"<name>"`).
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationStage::ChairMidwayReview => "chair_midway_review",
            EscalationStage::TeamManager => "team_manager",
            EscalationStage::ServiceManager => "service_manager",
            EscalationStage::HeadOfService => "head_of_service",
            EscalationStage::SafeguardingPartnership => "safeguarding_partnership",
        }
    }
}

/// An escalation at its current stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRelation {
    /// The escalation id.
    pub escalation_id: String,
    /// Its current stage.
    pub stage: EscalationStage,
    /// The person who raised it (who may move it up the route, resolve or
    /// withdraw it whatever its stage), when a person did.
    pub raised_by: Option<String>,
}

/// One record of an authority and what it belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// The authority that owns the record.
    pub authority_id: String,
    /// The family case the record belongs to, if any (a child, a plan, a
    /// conference of the case, a report, minutes, an escalation...).
    pub case: Option<CaseRelation>,
    /// The conference the record belongs to, if any (the conference itself,
    /// its invitations, reports and minutes).
    pub conference: Option<ConferenceRelation>,
    /// The escalation, for escalation calls.
    pub escalation: Option<EscalationRelation>,
}

/// The target of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per call, built and moved, never kept in bulk: boxing the record buys nothing"
)]
pub enum Resource {
    /// The authority as a whole (entity type `AuthorityLevel`): lists across
    /// the authority, creating a new case, chairs, statistics, returns, the
    /// audit log.
    Authority(String),
    /// One record (entity type `Record`).
    Record(Record),
}

impl Resource {
    /// The authority that owns the target.
    pub fn authority_id(&self) -> &str {
        match self {
            Resource::Authority(id) => id,
            Resource::Record(record) => &record.authority_id,
        }
    }
}

/// The answer, with the policies that decided it (stored in the audit
/// record).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Decision {
    /// Whether the call may go ahead.
    pub allowed: bool,
    /// The `@id`s of the policies that decided: the permits that allowed, or
    /// the forbids that denied; [`DEFAULT_DENY`](crate::DEFAULT_DENY) when no
    /// policy permitted, or another reserved id when a built-in safeguard
    /// denied. Sorted.
    pub policy_ids: Vec<String>,
    /// Why evaluation went wrong, if it did (an invalid request, an
    /// evaluation error). Any error denies.
    pub errors: Vec<String>,
    /// The digest of the policy set that decided
    /// ([`Authorizer::digest`](crate::Authorizer::digest)); `None` for a
    /// decision made by a service rule in code rather than by the policies.
    pub policy_set: Option<String>,
    /// What to tell a refused caller, when a `forbid` that decided carries
    /// an `@advice` annotation (such as "sign in again"); the policies'
    /// authors write it, and it names nothing of the request.
    pub advice: Option<String>,
}

impl Decision {
    /// A refusal by a service rule in code rather than by the policies
    /// (so it names no policy set), recorded under the rule's id.
    pub fn refused_by_rule(rule: &str) -> Self {
        Self::deny(rule, Vec::new())
    }

    pub(crate) fn deny(policy_id: &str, errors: Vec<String>) -> Self {
        Self {
            allowed: false,
            policy_ids: vec![policy_id.to_owned()],
            errors,
            policy_set: None,
            advice: None,
        }
    }
}
