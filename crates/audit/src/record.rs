//! What one audit record says, and the rules a new record must meet.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::AuditError;
use crate::hash::ChainHash;

/// Longest identifier accepted, in bytes (subjects, request ids, roles...).
pub const MAX_ID_LEN: usize = 256;
/// Longest `credential_id`, in bytes: `token:` and a token id of at most
/// 255 bytes, or a certificate's 64-digit fingerprint with its prefix.
pub const MAX_CREDENTIAL_ID_LEN: usize = 320;
/// Longest `reason` accepted, in bytes.
pub const MAX_REASON_LEN: usize = 1024;
/// Most children one record may name (a list page touches at most 500).
pub const MAX_CHILD_IDS: usize = 10_000;
/// Most policy ids one record may name.
pub const MAX_POLICY_IDS: usize = 64;

/// The access-control decision (`cpc.audit.v1.AccessDecision`), stored as
/// `'allow'` or `'deny'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    Allow,
    Deny,
}

impl Decision {
    /// The stored (and hashed) form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not `allow` or `deny`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decision")]
pub struct UnknownDecision;

impl FromStr for Decision {
    type Err = UnknownDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "allow" => Ok(Self::Allow),
            "deny" => Ok(Self::Deny),
            _ => Err(UnknownDecision),
        }
    }
}

/// One access decision about one request, as the service hands it to
/// [`crate::append`].
///
/// # No personal data
/// A record holds **identifiers only**: the caller's subject, role and
/// authority, the ids of the case and children concerned, the gRPC method
/// and the deciding policies. Never put a child's (or anyone's) name, date
/// of birth, address or case content in any field, `reason` included: the
/// log is kept for years, is read by auditors with no case access, and can
/// never be corrected or erased, so anything written here is there for good.
/// `reason` is a plain statement about the policy outcome that refers to
/// records by id, e.g. `"no active membership of case 0b4e…"`.
///
/// Text fields must be non-empty, at most [`MAX_ID_LEN`] bytes
/// ([`MAX_REASON_LEN`] for `reason`) and free of control characters (no log
/// injection). `action` is a full gRPC method, `/package.Service/Method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditRecord {
    /// When the decision was made. Stored, hashed and returned at the
    /// microsecond precision Postgres keeps (finer digits are dropped).
    pub occurred_at: DateTime<Utc>,
    /// The request's correlation id (`x-request-id`).
    pub request_id: String,
    /// The authenticated subject (person or integration account id).
    pub actor_subject: String,
    /// What kind of actor the subject is, e.g. `person`, `integration`.
    pub actor_kind: String,
    /// The person an integration or delegate acted for, if any.
    pub on_behalf_of: Option<String>,
    /// The caller's system role, e.g. `social_worker`.
    pub role: String,
    /// The caller's local authority.
    pub authority_id: String,
    /// The caller's agency, for partner-agency callers.
    pub agency: Option<String>,
    /// The family case accessed, if any.
    pub case_id: Option<Uuid>,
    /// The children whose records were accessed (ids only).
    pub child_ids: Vec<Uuid>,
    /// Full gRPC method, e.g. `/cpc.cases.v1.CasesService/GetChild`.
    pub action: String,
    /// Allowed or denied.
    pub decision: Decision,
    /// The policies that decided, e.g. `case-membership-active`.
    pub policy_ids: Vec<String>,
    /// Why, in plain words and ids only.
    pub reason: Option<String>,
    /// The record the call named, when the decision is about that record
    /// being out of the caller's reach (a refusal for a record not in the
    /// caller's authority): kept apart from `reason` so that the authority
    /// holding the record can find the attempt by its id.
    pub named: Option<NamedRecord>,
    /// Which credential the call was made with: `token:<jti>` for a bearer
    /// token whose issuer names it, `certificate:sha256:<hex>` for a
    /// service's client certificate. For tracing a stolen or misused
    /// credential to the calls made with it.
    pub credential_id: Option<String>,
    /// The digest of the policy set that decided (`cpc_authz`'s
    /// `Authorizer::digest`: 64 lower-case hex digits), so that the policy
    /// text behind a decision can be found however often the policies have
    /// changed since; `None` when a service rule in code decided.
    pub policy_set: Option<String>,
}

/// A record named by its kind and id, e.g. `conference` and a UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedRecord {
    /// What kind of record, as the service's `NOT_FOUND` calls it.
    pub kind: String,
    /// Its id, as the call gave it.
    pub id: String,
}

impl NewAuditRecord {
    /// Checks the rules in the type's documentation.
    ///
    /// # Errors
    /// [`AuditError::InvalidRecord`] naming the first field that breaks one
    /// (never its value).
    pub fn validate(&self) -> Result<(), AuditError> {
        check_text("request_id", &self.request_id, MAX_ID_LEN)?;
        check_text("actor_subject", &self.actor_subject, MAX_ID_LEN)?;
        check_text("actor_kind", &self.actor_kind, MAX_ID_LEN)?;
        if let Some(v) = &self.on_behalf_of {
            check_text("on_behalf_of", v, MAX_ID_LEN)?;
        }
        check_text("role", &self.role, MAX_ID_LEN)?;
        check_text("authority_id", &self.authority_id, MAX_ID_LEN)?;
        if let Some(v) = &self.agency {
            check_text("agency", v, MAX_ID_LEN)?;
        }
        if self.child_ids.len() > MAX_CHILD_IDS {
            return Err(invalid("child_ids", "has too many entries"));
        }
        check_method(&self.action)?;
        if self.policy_ids.len() > MAX_POLICY_IDS {
            return Err(invalid("policy_ids", "has too many entries"));
        }
        for id in &self.policy_ids {
            check_text("policy_ids", id, MAX_ID_LEN)?;
        }
        if let Some(v) = &self.reason {
            check_text("reason", v, MAX_REASON_LEN)?;
        }
        if let Some(named) = &self.named {
            check_text("named.kind", &named.kind, MAX_ID_LEN)?;
            check_text("named.id", &named.id, MAX_ID_LEN)?;
        }
        if let Some(v) = &self.credential_id {
            check_text("credential_id", v, MAX_CREDENTIAL_ID_LEN)?;
        }
        if let Some(v) = &self.policy_set
            && !is_policy_digest(v)
        {
            return Err(invalid("policy_set", "is not 64 lower-case hex digits"));
        }
        Ok(())
    }
}

/// A policy set digest: SHA-256 as 64 lower-case hex digits.
pub fn is_policy_digest(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A record as stored: its place in the chain and its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Position in the log: 1, 2, 3... without gaps.
    pub seq: i64,
    /// The record's fields, exactly as stored (and hashed).
    pub record: NewAuditRecord,
    /// The previous entry's `hash`; [`ChainHash::GENESIS`] for seq 1.
    pub prev_hash: ChainHash,
    /// `SHA-256(prev_hash || canonical_encoding(seq, record))`.
    pub hash: ChainHash,
}

fn invalid(field: &'static str, problem: &'static str) -> AuditError {
    AuditError::InvalidRecord { field, problem }
}

fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), AuditError> {
    if value.is_empty() {
        return Err(invalid(field, "is empty"));
    }
    if value.len() > max {
        return Err(invalid(field, "is too long"));
    }
    // Control characters include NUL, which Postgres text cannot store, and
    // CR/LF, which would let a value forge lines in a text log.
    if value.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_method(action: &str) -> Result<(), AuditError> {
    let bad = || {
        invalid(
            "action",
            "is not a full gRPC method (/package.Service/Method)",
        )
    };
    if action.len() > MAX_ID_LEN {
        return Err(invalid("action", "is too long"));
    }
    let rest = action.strip_prefix('/').ok_or_else(bad)?;
    let (service, method) = rest.split_once('/').ok_or_else(bad)?;
    let word = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    if word(service) && word(method) && !method.contains('.') {
        Ok(())
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> NewAuditRecord {
        NewAuditRecord {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap_or_default(),
            request_id: "req-1".into(),
            actor_subject: "user-1".into(),
            actor_kind: "person".into(),
            on_behalf_of: None,
            role: "social_worker".into(),
            authority_id: "la-916".into(),
            agency: None,
            case_id: None,
            child_ids: vec![],
            action: "/cpc.cases.v1.CasesService/GetChild".into(),
            decision: Decision::Allow,
            policy_ids: vec!["case-membership-active".into()],
            reason: None,
            named: None,
            credential_id: None,
            policy_set: None,
        }
    }

    fn field_of(r: &NewAuditRecord) -> Option<&'static str> {
        match r.validate() {
            Err(AuditError::InvalidRecord { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn a_well_formed_record_passes() {
        assert!(record().validate().is_ok());
    }

    #[test]
    fn each_rule_names_its_field() {
        type Mutation = fn(&mut NewAuditRecord);
        let cases: Vec<(Mutation, &str)> = vec![
            (|r| r.request_id.clear(), "request_id"),
            (|r| r.actor_subject = "a\nb".into(), "actor_subject"),
            (|r| r.actor_kind = "x".repeat(MAX_ID_LEN + 1), "actor_kind"),
            (|r| r.on_behalf_of = Some(String::new()), "on_behalf_of"),
            (|r| r.role = "a\0b".into(), "role"),
            (|r| r.authority_id.clear(), "authority_id"),
            (|r| r.agency = Some("\t".into()), "agency"),
            (
                |r| r.child_ids = vec![Uuid::nil(); MAX_CHILD_IDS + 1],
                "child_ids",
            ),
            (|r| r.action = "GetChild".into(), "action"),
            (|r| r.action = "/cpc.cases.v1.CasesService".into(), "action"),
            (|r| r.action = "/svc/Get/Extra".into(), "action"),
            (|r| r.action = "//Get".into(), "action"),
            (|r| r.policy_ids.push(String::new()), "policy_ids"),
            (
                |r| r.policy_ids = vec!["p".into(); MAX_POLICY_IDS + 1],
                "policy_ids",
            ),
            (
                |r| r.reason = Some("x".repeat(MAX_REASON_LEN + 1)),
                "reason",
            ),
        ];
        for (mutate, field) in cases {
            let mut r = record();
            mutate(&mut r);
            assert_eq!(field_of(&r), Some(field));
        }
    }

    #[test]
    fn decisions_round_trip_as_text() {
        for d in [Decision::Allow, Decision::Deny] {
            assert_eq!(d.as_str().parse::<Decision>(), Ok(d));
        }
        assert_eq!("Allow".parse::<Decision>(), Err(UnknownDecision));
    }
}
