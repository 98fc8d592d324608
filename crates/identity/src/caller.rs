//! [`Caller`]: who is calling, after verification.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::role::{Agency, Role};

/// Whether the caller is a person or a system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// A person, authenticated by a bearer token from a trusted issuer.
    Person,
    /// A record-system integration, authenticated by its mTLS client
    /// certificate and mapped through `identity.service_identities`.
    Service,
}

/// Who is calling, after verification.
///
/// Built by the [`Authenticator`](crate::Authenticator) (or, in tests of
/// other crates, with [`Caller::new`] and the `with_*` methods). It holds no
/// credential: the raw token is never stored, so `Debug` and `Serialize` are
/// safe for logs and audit records (which must still carry no child's data —
/// a caller's identity is not a child's data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Caller {
    subject: String,
    kind: CallerKind,
    authority_id: String,
    roles: Vec<Role>,
    agency: Option<Agency>,
    on_behalf_of: Option<String>,
    issuer: Option<String>,
    token_id: Option<String>,
    issued_at: Option<DateTime<Utc>>,
    signed_in_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// A caller with the given identity and roles and no agency, relay,
    /// issuer, token id or expiry. Roles are sorted and de-duplicated.
    #[must_use]
    pub fn new(
        subject: impl Into<String>,
        kind: CallerKind,
        authority_id: impl Into<String>,
        roles: impl IntoIterator<Item = Role>,
    ) -> Self {
        let mut roles: Vec<Role> = roles.into_iter().collect();
        roles.sort_unstable();
        roles.dedup();
        Self {
            subject: subject.into(),
            kind,
            authority_id: authority_id.into(),
            roles,
            agency: None,
            on_behalf_of: None,
            issuer: None,
            token_id: None,
            issued_at: None,
            signed_in_at: None,
            expires_at: None,
        }
    }

    /// Sets the caller's agency.
    #[must_use]
    pub fn with_agency(mut self, agency: Agency) -> Self {
        self.agency = Some(agency);
        self
    }

    /// Sets the portal or integration that relayed the caller's token.
    #[must_use]
    pub fn with_on_behalf_of(mut self, client: impl Into<String>) -> Self {
        self.on_behalf_of = Some(client.into());
        self
    }

    /// Sets the token's issuer, id (`jti`, if it had one), issue time
    /// (`iat`, if it had one) and expiry.
    #[must_use]
    pub fn with_token(
        mut self,
        issuer: impl Into<String>,
        token_id: Option<String>,
        issued_at: Option<DateTime<Utc>>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        self.issuer = Some(issuer.into());
        self.token_id = token_id;
        self.issued_at = issued_at;
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets when the person signed in (`auth_time`, if the token had one).
    #[must_use]
    pub fn with_sign_in(mut self, signed_in_at: Option<DateTime<Utc>>) -> Self {
        self.signed_in_at = signed_in_at;
        self
    }

    /// The person id (`sub`) or service id.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Person or service.
    #[must_use]
    pub fn kind(&self) -> CallerKind {
        self.kind
    }

    /// The tenant: the local authority the caller acts for, e.g. `E10000013`.
    #[must_use]
    pub fn authority_id(&self) -> &str {
        &self.authority_id
    }

    /// The caller's roles, sorted, without duplicates; never empty for a
    /// caller built by the [`Authenticator`](crate::Authenticator).
    #[must_use]
    pub fn roles(&self) -> &[Role] {
        &self.roles
    }

    /// Whether the caller holds `role`.
    #[must_use]
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller holds any of `roles`.
    #[must_use]
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has_role(*r))
    }

    /// The caller's agency, from the `cpc_agency` claim.
    #[must_use]
    pub fn agency(&self) -> Option<&Agency> {
        self.agency.as_ref()
    }

    /// The portal or integration client that relayed the end user's token
    /// (the `azp` claim when it is not one of cpc's own clients): ASVS 8.3.3,
    /// portals pass the end user's identity, and the audit trail records
    /// both.
    #[must_use]
    pub fn on_behalf_of(&self) -> Option<&str> {
        self.on_behalf_of.as_deref()
    }

    /// The token's issuer (`iss`); `None` for a service identity.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The token id (`jti`, or Microsoft Entra ID's `uti` in a token without
    /// one), when the issuer sets one.
    #[must_use]
    pub fn token_id(&self) -> Option<&str> {
        self.token_id.as_deref()
    }

    /// When the token was issued (`iat`), when the issuer says; `None` for
    /// a service identity.
    #[must_use]
    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        self.issued_at
    }

    /// When the person signed in (`auth_time`), when the issuer says;
    /// `None` for a service identity.
    #[must_use]
    pub fn signed_in_at(&self) -> Option<DateTime<Utc>> {
        self.signed_in_at
    }

    /// When the session behind the token began: the sign-in (`auth_time`)
    /// when the issuer says, or else the token's issue (`iat`). A token
    /// renewed by a refresh token is issued later than its sign-in, and
    /// belongs to the same session.
    #[must_use]
    pub fn session_began(&self) -> Option<DateTime<Utc>> {
        self.signed_in_at.or(self.issued_at)
    }

    /// When the token expires (`exp`); `None` for a service identity.
    #[must_use]
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.expires_at
    }
}
