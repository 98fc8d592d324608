//! [`IdentityConfig`]: which issuers to trust, the development key, and the
//! service identities of record-system integrations.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::dev::DEV_ISSUER;
use crate::error::IdentityError;
use crate::role::Role;

/// The largest clock-skew leeway accepted.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// How often a `jwks_file` is read or a `jwks_url` fetched again when
/// `jwks_refresh` is not set.
pub const DEFAULT_JWKS_REFRESH: Duration = Duration::from_secs(10 * 60);
/// The shortest `jwks_refresh`: more often only loads the identity provider.
pub const MIN_JWKS_REFRESH: Duration = Duration::from_secs(60);
/// The longest `jwks_refresh`: a removed (compromised) key must stop being
/// trusted within a day even if nothing else prompts a fetch.
pub const MAX_JWKS_REFRESH: Duration = Duration::from_secs(24 * 60 * 60);

/// The longest a token may be valid for (`exp` − `iat`), unless an issuer's
/// `max_token_lifetime` says less: 12 hours, the absolute session lifetime
/// of OWASP ASVS 4.0 §3.3.2 at level 3, after which a person must sign in
/// again. A token from a misconfigured or compromised issuer that is valid
/// for weeks is refused however well it is signed.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// The shortest `max_token_lifetime` an issuer may be given.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);

/// The longest since a person signed in (`auth_time`) that their tokens are
/// accepted, unless an issuer's `max_session_age` says less: 12 hours, the
/// same absolute session lifetime. `max_token_lifetime` bounds one token;
/// this bounds the session, which refresh tokens would otherwise renew
/// without the person ever signing in again.
pub const MAX_SESSION_AGE: Duration = Duration::from_secs(12 * 60 * 60);
/// The shortest `max_session_age` an issuer may be given.
pub const MIN_SESSION_AGE: Duration = Duration::from_secs(60);

/// The most `acr_values` or `amr_values` an issuer may be given.
pub const MAX_AUTHENTICATION_VALUES: usize = 16;

/// Whether the development signing key is trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Only the configured issuers are trusted; TLS is required; the
    /// development key is refused wherever it appears. The default.
    #[default]
    Production,
    /// The development key (issuer `cpc-dev`, audience `cpc`) is trusted as
    /// well as any configured issuers; loopback listeners only.
    Development,
}

/// The `identity` section of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IdentityConfig {
    /// Production (default) or development.
    pub mode: Mode,
    /// The OpenID Connect providers whose access tokens are accepted.
    pub issuers: Vec<IssuerConfig>,
    /// Allowed clock skew when checking `exp`, `nbf` and `iat`
    /// (humantime, e.g. `"60s"`; default 60 seconds, at most 5 minutes).
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Where the development signing key lives (default
    /// `.local/dev-identity`). Used to create the key in development mode
    /// and to refuse it in production mode.
    pub dev_key_dir: PathBuf,
    /// mTLS client certificates of record-system integrations, mapped to
    /// service callers.
    pub service_identities: Vec<ServiceIdentity>,
    /// People whose sessions the authority has ended: a JSON file
    /// ([`Revocations`](crate::Revocations)) read at start-up and every
    /// [`REVOCATIONS_REFRESH`](crate::REVOCATIONS_REFRESH) while serving;
    /// their tokens from a session begun before the listed time are
    /// refused. None: no session is revoked before its token expires.
    pub revocations_file: Option<PathBuf>,
    /// Each authority's own revocation file, by authority id, in the same
    /// form and read as often as `revocations_file`. Its entries end only
    /// sessions whose tokens name that authority (`cpc_authority`), so in
    /// a regional deployment each authority's security team keeps its own
    /// list (a ConfigMap of its own, which only it may edit), can end no
    /// other authority's sessions, and a broken edit of one list holds up
    /// no other.
    pub authority_revocations: BTreeMap<String, PathBuf>,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            mode: Mode::Production,
            issuers: Vec::new(),
            leeway: Duration::from_secs(60),
            dev_key_dir: PathBuf::from(".local/dev-identity"),
            service_identities: Vec::new(),
            revocations_file: None,
            authority_revocations: BTreeMap::new(),
        }
    }
}

/// One trusted token issuer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerConfig {
    /// The exact `iss` value, e.g. `https://login.example.gov.uk/realms/cpc`.
    pub issuer: String,
    /// The `aud` value this service requires, e.g. `cpc`.
    pub audience: String,
    /// The issuer's JSON Web Key Set (RFC 7517) as a file (e.g. a mounted
    /// Secret), read at start-up and every `jwks_refresh` while serving, so
    /// a key published in the file is trusted without a restart. Exactly one
    /// of `jwks_file` and `jwks_url` is set.
    #[serde(default)]
    pub jwks_file: Option<PathBuf>,
    /// Where the issuer publishes its JSON Web Key Set (its `jwks_uri`),
    /// fetched at start-up and every `jwks_refresh` while serving. Must be
    /// `https://`; `http://` is accepted only to a loopback IP address
    /// (`127.0.0.1`, `[::1]`: a sidecar on the same host), since keys fetched
    /// in plaintext over a network could be swapped in transit. No user
    /// name or password in the URL (it appears in logs). Exactly one of
    /// `jwks_file` and `jwks_url` is set.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How often `jwks_file` is read or `jwks_url` fetched again (humantime,
    /// e.g. `"10m"`; default 10 minutes, 1 minute to 24 hours), and sooner
    /// when a token names a key id not yet seen.
    #[serde(default, with = "humantime_serde::option")]
    pub jwks_refresh: Option<Duration>,
    /// A PEM file of the CA certificates that sign the identity provider's
    /// TLS certificate, for an identity provider behind a council's private
    /// CA. When set, only these roots are trusted for `jwks_url` and its
    /// redirects, not the public web roots, so a certificate from any other
    /// CA is refused. Read at start-up. Only with an `https://` `jwks_url`.
    #[serde(default)]
    pub jwks_ca_file: Option<PathBuf>,
    /// The longest validity (`exp` − `iat`, or `exp` − now without `iat`)
    /// accepted in this issuer's tokens (humantime, e.g. `"1h"`; default and
    /// at most 12 hours, at least 1 minute). Set it to the provider's access
    /// token lifespan so that a token minted for longer is refused.
    #[serde(default, with = "humantime_serde::option")]
    pub max_token_lifetime: Option<Duration>,
    /// Client ids of cpc's own front ends at this issuer. A token whose `azp`
    /// is one of these (or the audience, or the subject itself) was not
    /// relayed, so [`Caller::on_behalf_of`](crate::Caller::on_behalf_of) is
    /// `None`; any other `azp` is recorded as the relaying portal.
    #[serde(default)]
    pub first_party_clients: Vec<String>,
    /// Authentication context classes (`acr`) accepted from this issuer: a
    /// token whose `acr` is not one of them is refused, so the provider's
    /// multi-factor level can be required (Keycloak names its levels; many
    /// providers use a URN). Empty (default): `acr` is not checked.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// Authentication methods (`amr`, RFC 8176) of which a token must name
    /// at least one, e.g. `["mfa"]` (Microsoft Entra ID, Okta). Empty
    /// (default): `amr` is not checked.
    #[serde(default)]
    pub amr_values: Vec<String>,
    /// The longest since the person signed in (the token's `auth_time`)
    /// that their tokens are accepted (humantime, e.g. `"8h"`; default and
    /// at most 12 hours, at least 1 minute). A token renewed by a refresh
    /// token has a new `iat` but keeps the sign-in's `auth_time`, so this,
    /// not `max_token_lifetime`, ends a session kept alive by refreshing.
    /// Checked whenever a token carries `auth_time`.
    #[serde(default, with = "humantime_serde::option")]
    pub max_session_age: Option<Duration>,
    /// Refuse this issuer's tokens that carry no `auth_time`, so that every
    /// session is held to `max_session_age` (Keycloak and Okta access
    /// tokens carry it; for Microsoft Entra ID, add it as an optional
    /// claim). Default false.
    #[serde(default)]
    pub require_auth_time: bool,
    /// Refuse this issuer's tokens unless they are bound to the client
    /// certificate the caller presents (`cnf` `x5t#S256`, RFC 8705), for an
    /// issuer whose only clients are portals calling with mutual TLS. A
    /// bound token is held to its certificate whatever this says. Default
    /// false.
    #[serde(default)]
    pub require_certificate_binding: bool,
    /// The authorities (`cpc_authority`) this issuer's tokens may name, for
    /// a regional deployment where each council runs its own identity
    /// provider: a token naming any other authority is refused, so one
    /// council's provider (or an administrator of it) cannot give anyone
    /// access to another council's children. Empty (default): any
    /// authority, for a deployment with one identity provider.
    #[serde(default)]
    pub authorities: Vec<String>,
    /// Refuse this issuer's tokens unless typed as access tokens (header
    /// `typ` `at+jwt`, RFC 9068), so that an ID token issued to a portal
    /// whose client id is the audience cannot be replayed as an access
    /// token. For providers that type their access tokens so (not Keycloak
    /// or Entra ID, whose access tokens say `JWT`). Default false.
    #[serde(default)]
    pub require_access_token_type: bool,
}

/// A record-system integration's client certificate, mapped to a service
/// caller.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceIdentity {
    /// The verified mTLS client certificate's subject CN or SAN URI, matched
    /// exactly, e.g. `spiffe://gloucestershire.gov.uk/liquidlogic-lcs`.
    pub certificate_subject: String,
    /// The service id the caller gets, e.g. `liquidlogic-lcs`.
    pub subject: String,
    /// The local authority the integration belongs to.
    pub authority_id: String,
    /// Further authorities the service may act for, one per call, named in
    /// the call's `x-cpc-authority` header: cpc's own services in a
    /// regional deployment follow each authority's change feed this way.
    /// A call acts for exactly one authority, so the authority boundary
    /// still holds for every call.
    #[serde(default)]
    pub acts_for: Vec<String>,
    /// The service's roles (usually `integration`; `cpc_service` for cpc's
    /// own services).
    pub roles: Vec<Role>,
}

/// Where a validated issuer's keys come from.
#[derive(Debug, Clone)]
pub(crate) enum KeySource<'a> {
    /// A JWKS file, read at start-up and every `refresh` while serving.
    File { path: &'a Path, refresh: Duration },
    /// A JWKS URL, fetched at start-up and every `refresh` while serving,
    /// trusting only the roots in `ca_file` when one is given.
    Url {
        url: Url,
        refresh: Duration,
        ca_file: Option<&'a Path>,
    },
}

impl IssuerConfig {
    /// The issuer's key source: exactly one of `jwks_file` and `jwks_url`,
    /// the URL safe to fetch from, and `jwks_refresh` in range.
    pub(crate) fn key_source(&self) -> Result<KeySource<'_>, &'static str> {
        match (&self.jwks_file, &self.jwks_url) {
            (Some(_), Some(_)) => Err("set either jwks_file or jwks_url, not both"),
            (None, None) => Err("set jwks_file or jwks_url (the issuer's JWKS)"),
            (Some(file), None) => {
                if file.as_os_str().is_empty() {
                    return Err("jwks_file must not be empty");
                }
                if self.jwks_ca_file.is_some() {
                    return Err("jwks_ca_file applies only to jwks_url");
                }
                Ok(KeySource::File {
                    path: file,
                    refresh: self.refresh()?,
                })
            }
            (None, Some(url)) => {
                let url = parse_jwks_url(url)?;
                let refresh = self.refresh()?;
                let ca_file = self.jwks_ca_file.as_deref();
                if let Some(ca_file) = ca_file {
                    if ca_file.as_os_str().is_empty() {
                        return Err("jwks_ca_file must not be empty");
                    }
                    // Plain HTTP to loopback has no certificate to check: a
                    // CA file there would be a mistake that changes nothing.
                    if url.scheme() != "https" {
                        return Err("jwks_ca_file applies only to an https:// jwks_url");
                    }
                }
                Ok(KeySource::Url {
                    url,
                    refresh,
                    ca_file,
                })
            }
        }
    }

    /// `acr_values` and `amr_values`: at most [`MAX_AUTHENTICATION_VALUES`]
    /// each, every one non-empty.
    pub(crate) fn check_authentication_values(&self) -> Result<(), &'static str> {
        for values in [&self.acr_values, &self.amr_values] {
            if values.len() > MAX_AUTHENTICATION_VALUES {
                return Err("acr_values and amr_values take at most 16 values each");
            }
            if values.iter().any(|v| !valid_subject(v)) {
                return Err(
                    "acr_values and amr_values must be 1 to 255 bytes without control characters",
                );
            }
        }
        Ok(())
    }

    /// Whether a token from this issuer must show how its sign-in was made.
    #[must_use]
    pub fn requires_authentication_strength(&self) -> bool {
        !self.acr_values.is_empty() || !self.amr_values.is_empty()
    }

    /// `max_token_lifetime`, or the default, within its bounds.
    pub(crate) fn max_token_lifetime(&self) -> Result<Duration, &'static str> {
        within(
            self.max_token_lifetime.unwrap_or(MAX_TOKEN_LIFETIME),
            MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME,
            "max_token_lifetime must be between 1 minute and 12 hours",
        )
    }

    /// `max_session_age`, or the default, within its bounds.
    pub(crate) fn max_session_age(&self) -> Result<Duration, &'static str> {
        within(
            self.max_session_age.unwrap_or(MAX_SESSION_AGE),
            MIN_SESSION_AGE..=MAX_SESSION_AGE,
            "max_session_age must be between 1 minute and 12 hours",
        )
    }

    /// `jwks_refresh`, or the default, within its bounds.
    fn refresh(&self) -> Result<Duration, &'static str> {
        within(
            self.jwks_refresh.unwrap_or(DEFAULT_JWKS_REFRESH),
            MIN_JWKS_REFRESH..=MAX_JWKS_REFRESH,
            "jwks_refresh must be between 1 minute and 24 hours",
        )
    }
}

/// `value` if it lies in `bounds`, else `out_of_bounds`.
fn within(
    value: Duration,
    bounds: std::ops::RangeInclusive<Duration>,
    out_of_bounds: &'static str,
) -> Result<Duration, &'static str> {
    if bounds.contains(&value) {
        Ok(value)
    } else {
        Err(out_of_bounds)
    }
}

fn parse_jwks_url(url: &str) -> Result<Url, &'static str> {
    let url = Url::parse(url).map_err(|_| "jwks_url is not a valid absolute URL")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("jwks_url must not contain a user name or password");
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback_url(&url) => Ok(url),
        "http" => Err(
            "jwks_url must use https:// (http:// is accepted only to a loopback IP address such as 127.0.0.1 or [::1])",
        ),
        _ => Err("jwks_url must be an https:// URL"),
    }
}

/// Whether keys may be fetched from `url`: `https://`, or `http://` to a
/// loopback IP address. Also applied to every redirect.
pub(crate) fn jwks_url_allowed(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_url(url))
}

/// Whether `url`'s host is a loopback IP literal. A name such as
/// `localhost` does not count: what it resolves to is up to the resolver.
pub(crate) fn is_loopback_url(url: &Url) -> bool {
    url.host_str()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|host| host.parse::<IpAddr>().ok())
        .is_some_and(is_loopback)
}

impl ServiceIdentity {
    /// Whether the service may act for `authority_id`.
    #[must_use]
    pub fn may_act_for(&self, authority_id: &str) -> bool {
        self.authority_id == authority_id || self.acts_for.iter().any(|a| a == authority_id)
    }
}

impl IdentityConfig {
    /// Checks the listener against the mode: development mode only on a
    /// loopback address (plaintext is allowed only there), production mode
    /// only with TLS.
    ///
    /// # Errors
    /// [`IdentityError::DevelopmentNotLoopback`] or
    /// [`IdentityError::ProductionWithoutTls`].
    pub fn validate_for(
        &self,
        listen_addr: SocketAddr,
        tls_enabled: bool,
    ) -> Result<(), IdentityError> {
        match self.mode {
            Mode::Development if !is_loopback(listen_addr.ip()) => {
                Err(IdentityError::DevelopmentNotLoopback { addr: listen_addr })
            }
            Mode::Production if !tls_enabled => {
                Err(IdentityError::ProductionWithoutTls { addr: listen_addr })
            }
            Mode::Development | Mode::Production => Ok(()),
        }
    }

    /// Checks the configuration without reading any file or fetching any
    /// URL: leeway, issuers (exactly one of `jwks_file` and `jwks_url`, the
    /// URL's scheme, `jwks_refresh`), service identities, and (in
    /// production) that the development issuer and key directory are not
    /// used. [`Authenticator::load`] and [`Authenticator::from_config`] call
    /// this, then also compare every loaded key with the development key.
    ///
    /// [`Authenticator::load`]: crate::Authenticator::load
    /// [`Authenticator::from_config`]: crate::Authenticator::from_config
    ///
    /// # Errors
    /// The first problem found.
    pub fn validate(&self) -> Result<(), IdentityError> {
        if self.leeway > MAX_LEEWAY {
            return Err(IdentityError::LeewayTooLarge {
                leeway_secs: self.leeway.as_secs(),
            });
        }
        if self.mode == Mode::Production && self.issuers.is_empty() {
            return Err(IdentityError::NoIssuers);
        }
        let mut seen = HashSet::new();
        for issuer in &self.issuers {
            let invalid = |reason| IdentityError::InvalidIssuer {
                issuer: issuer.issuer.clone(),
                reason,
            };
            if issuer.issuer.trim() == DEV_ISSUER {
                return Err(match self.mode {
                    Mode::Production => IdentityError::DevIssuerInProduction {
                        issuer: issuer.issuer.clone(),
                    },
                    Mode::Development => invalid(
                        "this issuer is reserved for the built-in development key, which development mode trusts without configuration",
                    ),
                });
            }
            if issuer.issuer.is_empty() {
                return Err(invalid("issuer must not be empty"));
            }
            if issuer.audience.is_empty() {
                return Err(invalid("audience must not be empty"));
            }
            let source = issuer.key_source().map_err(invalid)?;
            issuer.max_token_lifetime().map_err(invalid)?;
            issuer.max_session_age().map_err(invalid)?;
            issuer.check_authentication_values().map_err(invalid)?;
            if !issuer.authorities.iter().all(|a| valid_authority_id(a)) {
                return Err(invalid(
                    "authorities must be authority ids of 1 to 32 characters of A-Z a-z 0-9 - _",
                ));
            }
            if !seen.insert(issuer.issuer.as_str()) {
                return Err(invalid("configured more than once"));
            }
            if let KeySource::File {
                path: jwks_file, ..
            } = source
                && self.mode == Mode::Production
                && is_within(jwks_file, &self.dev_key_dir)
            {
                return Err(IdentityError::JwksInDevKeyDir {
                    issuer: issuer.issuer.clone(),
                    jwks_file: jwks_file.to_owned(),
                    dev_key_dir: self.dev_key_dir.clone(),
                });
            }
        }
        for (authority, file) in &self.authority_revocations {
            let invalid = |reason| IdentityError::InvalidAuthorityRevocations {
                authority: authority.clone(),
                reason,
            };
            if !valid_authority_id(authority) {
                return Err(invalid(
                    "an authority id is 1-32 characters of A-Z a-z 0-9 - _",
                ));
            }
            if file.as_os_str().is_empty() {
                return Err(invalid("the file must not be empty"));
            }
        }
        let mut seen = HashSet::new();
        for service in &self.service_identities {
            let invalid = |reason| IdentityError::InvalidServiceIdentity {
                certificate_subject: service.certificate_subject.clone(),
                reason,
            };
            if service.certificate_subject.is_empty() {
                return Err(invalid("certificate_subject must not be empty"));
            }
            if !valid_subject(&service.subject) {
                return Err(invalid("subject must be 1-255 bytes"));
            }
            if !std::iter::once(&service.authority_id)
                .chain(&service.acts_for)
                .all(|a| valid_authority_id(a))
            {
                return Err(invalid(
                    "authority_id and acts_for must be 1-32 characters of A-Z a-z 0-9 - _",
                ));
            }
            if service.roles.is_empty() {
                return Err(invalid("roles must not be empty"));
            }
            if !seen.insert(service.certificate_subject.as_str()) {
                return Err(invalid("configured more than once"));
            }
        }
        Ok(())
    }
}

/// Whether `ip` is a loopback address, including IPv4-mapped IPv6
/// (`::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// A subject or service id: 1–255 bytes of UTF-8, no control characters.
/// Counted in bytes, not characters: these ids go into every audit record,
/// whose fields hold at most 256 bytes, so an id that passed here but not
/// there would make every call of its caller fail.
pub(crate) fn valid_subject(s: &str) -> bool {
    !s.is_empty() && s.len() <= 255 && !s.chars().any(char::is_control)
}

/// A local authority id (e.g. the ONS code `E10000013`): 1–32 characters of
/// `A-Z a-z 0-9 - _`.
pub(crate) fn valid_authority_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `path` is `dir` or lies inside it, comparing both the lexically
/// normalised absolute paths and, where the files exist, the canonical ones
/// (so symlinks into the directory are caught too).
pub(crate) fn is_within(path: &Path, dir: &Path) -> bool {
    if let (Some(p), Some(d)) = (lexical_absolute(path), lexical_absolute(dir))
        && p.starts_with(&d)
    {
        return true;
    }
    if let (Ok(p), Ok(d)) = (path.canonicalize(), dir.canonicalize()) {
        return p.starts_with(d);
    }
    false
}

fn lexical_absolute(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn production() -> IdentityConfig {
        IdentityConfig {
            issuers: vec![IssuerConfig {
                issuer: "https://idp.example".into(),
                audience: "cpc".into(),
                jwks_file: Some("/etc/cpc/idp-jwks.json".into()),
                jwks_url: None,
                jwks_refresh: None,
                jwks_ca_file: None,
                max_token_lifetime: None,
                first_party_clients: vec![],
                acr_values: vec![],
                amr_values: vec![],
                max_session_age: None,
                require_auth_time: false,
                require_certificate_binding: false,
                authorities: Vec::new(),
                require_access_token_type: false,
            }],
            ..IdentityConfig::default()
        }
    }

    #[test]
    fn defaults_are_production_with_sixty_seconds_leeway() {
        let config: IdentityConfig = serde_json::from_str("{}").unwrap();
        assert_eq!(config, IdentityConfig::default());
        assert_eq!(config.mode, Mode::Production);
        assert_eq!(config.leeway, Duration::from_secs(60));
        assert_eq!(config.dev_key_dir, PathBuf::from(".local/dev-identity"));
    }

    #[test]
    fn deserialises_humantime_and_roles_and_refuses_unknown_fields() {
        let config: IdentityConfig = serde_json::from_value(serde_json::json!({
            "mode": "development",
            "leeway": "30s",
            "service_identities": [{
                "certificate_subject": "spiffe://gloucestershire.gov.uk/lcs",
                "subject": "liquidlogic-lcs",
                "authority_id": "E10000013",
                "roles": ["integration"]
            }]
        }))
        .unwrap();
        assert_eq!(config.mode, Mode::Development);
        assert_eq!(config.leeway, Duration::from_secs(30));
        assert_eq!(config.service_identities[0].roles, vec![Role::Integration]);

        let err =
            serde_json::from_str::<IdentityConfig>(r#"{"modes": "development"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `modes`"), "{err}");
        let err = serde_json::from_value::<IdentityConfig>(serde_json::json!({
            "service_identities": [{
                "certificate_subject": "x", "subject": "y", "authority_id": "E1", "roles": ["superuser"]
            }]
        }))
        .unwrap_err();
        assert!(
            err.to_string().contains("unknown variant `superuser`"),
            "{err}"
        );
    }

    #[test]
    fn development_mode_only_on_loopback() {
        let config = IdentityConfig {
            mode: Mode::Development,
            ..IdentityConfig::default()
        };
        let err = config
            .validate_for("0.0.0.0:50051".parse().unwrap(), false)
            .unwrap_err();
        assert!(matches!(err, IdentityError::DevelopmentNotLoopback { .. }));
        assert!(err.to_string().contains("only listen on loopback"), "{err}");
        let err = config
            .validate_for("[::]:50051".parse().unwrap(), true)
            .unwrap_err();
        assert!(matches!(err, IdentityError::DevelopmentNotLoopback { .. }));
        let err = config
            .validate_for("192.168.1.10:50051".parse().unwrap(), true)
            .unwrap_err();
        assert!(matches!(err, IdentityError::DevelopmentNotLoopback { .. }));
        config
            .validate_for("127.0.0.1:50051".parse().unwrap(), false)
            .unwrap();
        config
            .validate_for("[::1]:50051".parse().unwrap(), false)
            .unwrap();
        config
            .validate_for("[::ffff:127.0.0.1]:50051".parse().unwrap(), false)
            .unwrap();
    }

    #[test]
    fn production_mode_requires_tls_even_on_loopback() {
        let config = production();
        let err = config
            .validate_for("127.0.0.1:50051".parse().unwrap(), false)
            .unwrap_err();
        assert!(matches!(err, IdentityError::ProductionWithoutTls { .. }));
        config
            .validate_for("0.0.0.0:50051".parse().unwrap(), true)
            .unwrap();
    }

    #[test]
    fn production_refuses_the_dev_issuer_and_the_dev_key_dir() {
        let mut config = production();
        config.issuers[0].issuer = "cpc-dev".into();
        let err = config.validate().unwrap_err();
        assert!(
            matches!(err, IdentityError::DevIssuerInProduction { ref issuer } if issuer == "cpc-dev")
        );
        assert!(
            err.to_string()
                .contains("refuses to trust the development issuer `cpc-dev`")
        );

        let mut config = production();
        config.issuers[0].jwks_file = Some(".local/dev-identity/jwks.json".into());
        let err = config.validate().unwrap_err();
        assert!(
            matches!(err, IdentityError::JwksInDevKeyDir { .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("lies in the development key directory")
        );

        let mut config = production();
        config.issuers[0].jwks_file = Some("./.local/x/../dev-identity/jwks.json".into());
        assert!(matches!(
            config.validate(),
            Err(IdentityError::JwksInDevKeyDir { .. })
        ));

        production().validate().unwrap();
    }

    #[test]
    fn production_needs_an_issuer_and_sane_leeway() {
        let config = IdentityConfig::default();
        assert!(matches!(config.validate(), Err(IdentityError::NoIssuers)));
        let mut config = production();
        config.leeway = Duration::from_secs(301);
        assert!(matches!(
            config.validate(),
            Err(IdentityError::LeewayTooLarge { leeway_secs: 301 })
        ));
    }

    #[test]
    fn duplicate_issuers_and_bad_service_identities_are_refused() {
        let mut config = production();
        config.issuers.push(config.issuers[0].clone());
        assert!(matches!(
            config.validate(),
            Err(IdentityError::InvalidIssuer {
                reason: "configured more than once",
                ..
            })
        ));

        let service = ServiceIdentity {
            certificate_subject: "CN=lcs".into(),
            subject: "lcs".into(),
            authority_id: "E10000013".into(),
            acts_for: vec![],
            roles: vec![Role::Integration],
        };
        let mut config = production();
        config.service_identities = vec![service.clone(), service.clone()];
        assert!(matches!(
            config.validate(),
            Err(IdentityError::InvalidServiceIdentity {
                reason: "configured more than once",
                ..
            })
        ));
        config.service_identities = vec![ServiceIdentity {
            roles: vec![],
            ..service.clone()
        }];
        assert!(matches!(
            config.validate(),
            Err(IdentityError::InvalidServiceIdentity {
                reason: "roles must not be empty",
                ..
            })
        ));
        config.service_identities = vec![ServiceIdentity {
            authority_id: "E1 0000013".into(),
            ..service.clone()
        }];
        assert!(matches!(
            config.validate(),
            Err(IdentityError::InvalidServiceIdentity { .. })
        ));
        config.service_identities = vec![ServiceIdentity {
            acts_for: vec!["E10000014".into(), "E1 0000015".into()],
            ..service
        }];
        assert!(matches!(
            config.validate(),
            Err(IdentityError::InvalidServiceIdentity { .. })
        ));
    }

    fn url_issuer(url: &str) -> IdentityConfig {
        let mut config = production();
        config.issuers[0].jwks_file = None;
        config.issuers[0].jwks_url = Some(url.into());
        config
    }

    fn issuer_reason(config: &IdentityConfig) -> &'static str {
        match config.validate() {
            Err(IdentityError::InvalidIssuer { reason, .. }) => reason,
            other => panic!("expected InvalidIssuer, got {other:?}"),
        }
    }

    #[test]
    fn exactly_one_of_jwks_file_and_jwks_url() {
        let mut both = url_issuer("https://idp.example/jwks");
        both.issuers[0].jwks_file = Some("/etc/cpc/idp-jwks.json".into());
        assert_eq!(
            issuer_reason(&both),
            "set either jwks_file or jwks_url, not both"
        );
        let mut neither = production();
        neither.issuers[0].jwks_file = None;
        assert_eq!(
            issuer_reason(&neither),
            "set jwks_file or jwks_url (the issuer's JWKS)"
        );
        let mut empty = production();
        empty.issuers[0].jwks_file = Some(PathBuf::new());
        assert_eq!(issuer_reason(&empty), "jwks_file must not be empty");
        url_issuer("https://idp.example/jwks").validate().unwrap();
    }

    #[test]
    fn jwks_url_is_https_or_plain_http_to_a_loopback_address() {
        for ok in [
            "https://idp.example/realms/cpc/protocol/openid-connect/certs",
            "https://203.0.113.7:8443/jwks",
            "http://127.0.0.1:8080/jwks",
            "http://127.8.9.10/jwks",
            "http://[::1]:8080/jwks",
        ] {
            url_issuer(ok)
                .validate()
                .unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, reason) in [
            ("http://idp.example/jwks", "jwks_url must use https://"),
            ("http://10.0.0.1/jwks", "jwks_url must use https://"),
            // A name is resolved later, and may not stay on this host.
            ("http://localhost:8080/jwks", "jwks_url must use https://"),
            ("ftp://idp.example/jwks", "jwks_url must be an https:// URL"),
            (
                "file:///etc/cpc/jwks.json",
                "jwks_url must be an https:// URL",
            ),
            ("/etc/cpc/jwks.json", "jwks_url is not a valid absolute URL"),
            (
                "https://user:secret@idp.example/jwks",
                "must not contain a user name",
            ),
        ] {
            let reason_given = issuer_reason(&url_issuer(bad));
            assert!(reason_given.contains(reason), "{bad}: {reason_given}");
        }
        let err = url_issuer("http://idp.example/jwks")
            .validate()
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("identity: issuer `https://idp.example`: jwks_url must use https://"),
            "{err}"
        );
    }

    #[test]
    fn jwks_refresh_defaults_to_ten_minutes_within_a_minute_and_a_day() {
        let config = url_issuer("https://idp.example/jwks");
        assert!(matches!(
            config.issuers[0].key_source(),
            Ok(KeySource::Url { refresh, .. }) if refresh == Duration::from_secs(600)
        ));
        for (refresh, ok) in [
            (59, false),
            (60, true),
            (24 * 3600, true),
            (24 * 3600 + 1, false),
        ] {
            let mut config = url_issuer("https://idp.example/jwks");
            config.issuers[0].jwks_refresh = Some(Duration::from_secs(refresh));
            assert_eq!(config.validate().is_ok(), ok, "{refresh}s");
        }
        let mut file = production();
        assert!(matches!(
            file.issuers[0].key_source(),
            Ok(KeySource::File { refresh, .. }) if refresh == Duration::from_secs(600)
        ));
        file.issuers[0].jwks_refresh = Some(Duration::from_secs(59));
        assert_eq!(
            issuer_reason(&file),
            "jwks_refresh must be between 1 minute and 24 hours"
        );
    }

    #[test]
    fn max_token_lifetime_defaults_to_twelve_hours_within_a_minute_and_twelve_hours() {
        let config = production();
        assert_eq!(
            config.issuers[0].max_token_lifetime(),
            Ok(Duration::from_secs(12 * 3600))
        );
        for (lifetime, ok) in [
            (59, false),
            (60, true),
            (3600, true),
            (12 * 3600, true),
            (12 * 3600 + 1, false),
        ] {
            let mut config = production();
            config.issuers[0].max_token_lifetime = Some(Duration::from_secs(lifetime));
            assert_eq!(config.validate().is_ok(), ok, "{lifetime}s");
            if !ok {
                assert_eq!(
                    issuer_reason(&config),
                    "max_token_lifetime must be between 1 minute and 12 hours"
                );
            }
        }
    }

    #[test]
    fn deserialises_jwks_url_and_humantime_refresh() {
        let config: IdentityConfig = serde_json::from_value(serde_json::json!({
            "issuers": [{
                "issuer": "https://idp.example",
                "audience": "cpc",
                "jwks_url": "https://idp.example/jwks",
                "jwks_refresh": "15m",
                "max_token_lifetime": "1h"
            }]
        }))
        .unwrap();
        let issuer = &config.issuers[0];
        assert_eq!(issuer.jwks_file, None);
        assert_eq!(issuer.jwks_url.as_deref(), Some("https://idp.example/jwks"));
        assert_eq!(issuer.jwks_refresh, Some(Duration::from_secs(15 * 60)));
        assert_eq!(issuer.max_token_lifetime, Some(Duration::from_secs(3600)));
        config.validate().unwrap();
    }
}
