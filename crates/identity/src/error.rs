//! Errors: [`AuthError`] for a request that could not be authenticated (safe
//! to return to the caller), and [`IdentityError`] for configuration and key
//! material problems found at start-up or reload (for operators' logs).

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::caller::Caller;
use crate::revocations::RevocationsError;

/// Why a request could not be authenticated.
///
/// Every message is fixed text: none carries token contents, claim values or
/// key ids, so `Display` output may be returned to the caller (as a gRPC
/// `UNAUTHENTICATED` status message). [`AuthError::reason`] gives a stable
/// machine-readable code for `google.rpc.ErrorInfo` and for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` header, or an empty one.
    #[error("no bearer token was presented")]
    MissingToken,
    /// The `authorization` header does not use the `Bearer` scheme.
    #[error("the authorization header must use the Bearer scheme")]
    WrongScheme,
    /// Not a compact JWS (three base64url parts with JSON header and claims),
    /// too long, or uses an unsupported header (`crit`, unexpected `typ`).
    #[error("the bearer token is malformed")]
    Malformed,
    /// The header `alg` is `none`, an HMAC algorithm, anything other than
    /// RS256, ES256 or EdDSA, or not the algorithm of the key it names.
    #[error("the token's signing algorithm is not accepted")]
    DisallowedAlgorithm,
    /// The token names no key id, or one that the issuer has not published.
    #[error("the token's signing key is not recognised")]
    UnknownKeyId,
    /// The signature does not verify with the issuer's key.
    #[error("the token signature is invalid")]
    BadSignature,
    /// The token's `exp` (plus the allowed clock skew) has passed.
    #[error("the token has expired")]
    Expired,
    /// The token's `nbf` or `iat` is in the future (beyond the allowed skew).
    #[error("the token is not yet valid")]
    NotYetValid,
    /// The token is valid for longer (`exp` − `iat`) than its issuer's
    /// `max_token_lifetime`.
    #[error("the token is valid for longer than this service accepts")]
    LifetimeTooLong,
    /// The token's `iss` is not a trusted issuer.
    #[error("the token was not issued by a trusted issuer")]
    WrongIssuer,
    /// The token's `aud` does not include this service.
    #[error("the token is not intended for this service")]
    WrongAudience,
    /// A required claim is missing or a claim is invalid.
    #[error("the token's claims are invalid: {0}")]
    BadClaims(ClaimError),
    /// The mTLS client certificate is not mapped to a service identity.
    #[error("the client certificate is not registered as a service identity")]
    UnknownService,
    /// The call names an authority (`x-cpc-authority`) its credentials may
    /// not act for.
    #[error("the credentials may not act for the authority named in x-cpc-authority")]
    NotActingFor,
    /// The token names an authority (`cpc_authority`) its issuer is not
    /// trusted for (the issuer's `authorities`): one council's identity
    /// provider vouching for another council's staff.
    #[error("the token's issuer is not trusted for the authority it names")]
    AuthorityNotOfIssuer,
    /// The token is not typed as an access token (`typ` `at+jwt`, RFC
    /// 9068), from an issuer configured with `require_access_token_type`:
    /// an ID token, say, with the same issuer and audience.
    #[error("the token is not an access token")]
    NotAccessToken,
    /// The sign-in behind the token is not one the issuer's `acr_values`
    /// or `amr_values` accept (e.g. no second factor).
    #[error("the sign-in did not use the authentication this service requires")]
    InsufficientAuthentication,
    /// The authority ended the person's sessions after this token was
    /// issued (`identity.revocations_file`); a new sign-in is needed.
    #[error("the session has been ended; sign in again")]
    Revoked,
    /// The person signed in (`auth_time`) longer ago than the issuer's
    /// `max_session_age`; refreshing the token does not renew a sign-in.
    #[error("the sign-in is too old; sign in again")]
    SessionTooOld,
    /// The token is bound to a client certificate (`cnf` `x5t#S256`,
    /// RFC 8705) that this connection did not present.
    #[error("the token is bound to a client certificate this connection did not present")]
    CertificateMismatch,
    /// The issuer is configured with `require_certificate_binding` and the
    /// token is not bound to a client certificate.
    #[error("this service accepts only tokens bound to the caller's client certificate")]
    NotCertificateBound,
}

impl AuthError {
    /// A stable, machine-readable code for this error (snake_case), e.g.
    /// `token_expired`, for `google.rpc.ErrorInfo.reason` and metrics labels.
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::WrongScheme => "wrong_scheme",
            AuthError::Malformed => "malformed_token",
            AuthError::DisallowedAlgorithm => "disallowed_algorithm",
            AuthError::UnknownKeyId => "unknown_key_id",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "token_expired",
            AuthError::NotYetValid => "token_not_yet_valid",
            AuthError::LifetimeTooLong => "token_lifetime_too_long",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::BadClaims(_) => "bad_claims",
            AuthError::UnknownService => "unknown_service",
            AuthError::NotActingFor => "not_acting_for",
            AuthError::AuthorityNotOfIssuer => "authority_not_of_issuer",
            AuthError::NotAccessToken => "not_an_access_token",
            AuthError::InsufficientAuthentication => "insufficient_authentication",
            AuthError::Revoked => "session_revoked",
            AuthError::SessionTooOld => "session_too_old",
            AuthError::CertificateMismatch => "certificate_binding_mismatch",
            AuthError::NotCertificateBound => "token_not_certificate_bound",
        }
    }
}

/// A request that could not be authenticated: why, and, when its token
/// verified (a trusted issuer's signature, this service's audience, not
/// expired) and said whose it is but the session behind it may not be used,
/// who that is. That is a security event about a named person (a revoked
/// session still in use, a copied certificate-bound token, a sign-in too
/// old or too weak), which the caller of the authenticator records; a
/// token that did not verify names nobody, as anyone could have written it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    error: AuthError,
    /// Boxed: most refusals name nobody, and the error stays small.
    holder: Option<Box<Caller>>,
}

impl Refusal {
    /// A refusal of the verified token of `holder`.
    #[must_use]
    pub fn of_holder(error: AuthError, holder: Caller) -> Self {
        Self {
            error,
            holder: Some(Box::new(holder)),
        }
    }

    /// Why; safe to return to the caller.
    #[must_use]
    pub fn error(&self) -> AuthError {
        self.error
    }

    /// Whose verified token was refused, if the token verified.
    #[must_use]
    pub fn holder(&self) -> Option<&Caller> {
        self.holder.as_deref()
    }
}

impl From<AuthError> for Refusal {
    fn from(error: AuthError) -> Self {
        Self {
            error,
            holder: None,
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Refusal {}

/// Which claim was missing or invalid. Names the claim, never its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// No `iss` claim, or not a string.
    #[error("missing or invalid iss")]
    Issuer,
    /// No `sub` claim, or not a non-empty string of at most 255 bytes.
    #[error("missing or invalid sub")]
    Subject,
    /// No `exp` claim: tokens without an expiry are refused.
    #[error("missing exp")]
    MissingExpiry,
    /// No `auth_time`, from an issuer configured with `require_auth_time`.
    #[error("missing auth_time")]
    MissingAuthTime,
    /// `exp`, `nbf`, `iat` or `auth_time` is not a NumericDate in range.
    #[error("invalid timestamp")]
    Timestamp,
    /// `aud` is missing or not a string or array of strings.
    #[error("missing or invalid aud")]
    Audience,
    /// `jti` (or `uti`) or `azp` is not a string of 1–255 bytes.
    #[error("invalid jti, uti or azp")]
    TokenIdOrParty,
    /// No `cpc_authority` claim.
    #[error("missing cpc_authority")]
    MissingAuthority,
    /// `cpc_authority` is not 1–32 characters of `A-Z a-z 0-9 - _`.
    #[error("invalid cpc_authority")]
    InvalidAuthority,
    /// No `cpc_roles` claim, or an empty list.
    #[error("missing cpc_roles")]
    MissingRoles,
    /// `cpc_roles` is not an array of strings.
    #[error("invalid cpc_roles")]
    InvalidRoles,
    /// `cpc_roles` names a role that is not in the vocabulary. The token is
    /// refused rather than the role dropped.
    #[error("unknown role in cpc_roles")]
    UnknownRole,
    /// `cpc_agency` is not `{kind, name}` with a known kind and a name of
    /// 1–200 bytes.
    #[error("invalid cpc_agency")]
    InvalidAgency,
    /// `cnf` is not `{"x5t#S256": <SHA-256 thumbprint>}`: not an object,
    /// a malformed thumbprint, or a confirmation method this service
    /// cannot check (such as DPoP's `jkt`).
    #[error("invalid or unsupported cnf")]
    Confirmation,
    /// `acr` is not a string, or `amr` not a list of strings.
    #[error("invalid acr or amr")]
    AuthenticationMethod,
    /// `cpc_roles` names a service role (`cpc_service`, `integration`),
    /// which only service identities hold (by client certificate, or a
    /// development-key token with no other role).
    #[error("a service role is not a role a token may carry")]
    ServiceRole,
}

/// A problem with configuration or key material, found when the
/// [`Authenticator`](crate::Authenticator) is built or reloaded, or when the
/// listener is checked. Messages are for operators and say exactly what to
/// change.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Production mode with no issuers.
    #[error("identity: production mode needs at least one issuer in `identity.issuers`")]
    NoIssuers,
    /// Production mode trusts the development issuer.
    #[error(
        "identity: production mode refuses to trust the development issuer `{issuer}`; remove it from `identity.issuers`"
    )]
    DevIssuerInProduction {
        /// The offending issuer.
        issuer: String,
    },
    /// Production mode with a JWKS file inside the development key directory.
    #[error(
        "identity: production mode refuses jwks_file {jwks_file:?} for issuer `{issuer}` because it lies in the development key directory {dev_key_dir:?}"
    )]
    JwksInDevKeyDir {
        /// The issuer whose jwks_file is wrong.
        issuer: String,
        /// The offending file.
        jwks_file: PathBuf,
        /// The development key directory.
        dev_key_dir: PathBuf,
    },
    /// Production mode with a JWKS that contains the development public key.
    #[error(
        "identity: production mode refuses the JWKS for issuer `{issuer}` from {from} because it contains the development signing key (a key id starting `cpc-dev-`, or the public key of the key in {dev_key_dir:?})"
    )]
    DevKeyTrustedInProduction {
        /// The issuer whose keys are wrong.
        issuer: String,
        /// Where the offending set came from.
        from: JwksSource,
        /// The development key directory.
        dev_key_dir: PathBuf,
    },
    /// An issuer is configured with an empty field or twice.
    #[error("identity: issuer `{issuer}`: {reason}")]
    InvalidIssuer {
        /// The issuer as configured.
        issuer: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The clock-skew leeway is larger than five minutes.
    #[error("identity: leeway {leeway_secs}s is larger than the maximum of 300s")]
    LeewayTooLarge {
        /// The configured leeway.
        leeway_secs: u64,
    },
    /// A service identity is invalid or listed twice.
    #[error("identity: service identity for certificate subject `{certificate_subject}`: {reason}")]
    InvalidServiceIdentity {
        /// The certificate subject as configured.
        certificate_subject: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An entry of `identity.authority_revocations` is invalid.
    #[error("identity: authority_revocations for `{authority}`: {reason}")]
    InvalidAuthorityRevocations {
        /// The authority id as configured.
        authority: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A JWKS could not be read, fetched or parsed.
    #[error("identity: JWKS for issuer `{issuer}` from {from}: {source}")]
    Jwks {
        /// The issuer.
        issuer: String,
        /// Where the set came from.
        from: JwksSource,
        /// Why it was refused.
        #[source]
        source: JwksError,
    },
    /// The revocation file could not be read or was refused.
    #[error("identity: revocations_file {file:?}: {source}")]
    Revocations {
        /// The configured file.
        file: PathBuf,
        /// Why it was refused.
        #[source]
        source: RevocationsError,
    },
    /// [`Authenticator::from_config`](crate::Authenticator::from_config)
    /// was given an issuer whose keys must be fetched.
    #[error(
        "identity: issuer `{issuer}` has a jwks_url, which is fetched by `Authenticator::load`, not `Authenticator::from_config`"
    )]
    JwksUrlNeedsLoad {
        /// The issuer.
        issuer: String,
    },
    /// An issuer's `jwks_ca_file` could not be read or holds no certificate.
    #[error("identity: jwks_ca_file {ca_file:?} for issuer `{issuer}`: {reason}")]
    JwksCaFile {
        /// The issuer.
        issuer: String,
        /// The configured file.
        ca_file: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// The HTTPS client for fetching JWKS URLs could not be built.
    #[error("identity: cannot set up the HTTPS client for jwks_url: {0}")]
    HttpClient(String),
    /// [`Authenticator::set_issuer_keys`](crate::Authenticator::set_issuer_keys)
    /// named an issuer that is not configured.
    #[error("identity: issuer `{0}` is not configured")]
    UnknownIssuer(String),
    /// The development signing key could not be loaded or created.
    #[error("identity: development key: {0}")]
    DevKey(#[from] DevKeyError),
    /// Development mode on a listener that is not loopback.
    #[error(
        "identity: development mode accepts tokens signed by a local key and may only listen on loopback (127.0.0.1 or ::1), not {addr}; set identity.mode = \"production\" or listen on loopback"
    )]
    DevelopmentNotLoopback {
        /// The configured listen address.
        addr: SocketAddr,
    },
    /// Production mode without TLS.
    #[error(
        "identity: production mode requires TLS on the listener ({addr}); bearer tokens must never travel in plaintext"
    )]
    ProductionWithoutTls {
        /// The configured listen address.
        addr: SocketAddr,
    },
}

/// Where an issuer's JWKS came from, as named in errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JwksSource {
    /// `jwks_file`.
    File(PathBuf),
    /// `jwks_url`.
    Url(String),
}

impl fmt::Display for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JwksSource::File(path) => write!(f, "file {path:?}"),
            JwksSource::Url(url) => write!(f, "URL {url}"),
        }
    }
}

/// Why a JWK set was refused.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The URL could not be fetched: no connection, TLS failure, timeout,
    /// or a redirect to a URL that is not allowed.
    #[error("cannot fetch: {0}")]
    Fetch(String),
    /// The server answered with a status other than 2xx.
    #[error("the server answered HTTP {0}")]
    Status(u16),
    /// The file or response body is larger than 1 MiB.
    #[error("larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not an RFC 7517 JWK set (`{"keys": [...]}`).
    #[error("not a JWK set: {0}")]
    Json(#[from] serde_json::Error),
    /// A key carries private or symmetric key material; a published JWKS must
    /// hold public keys only.
    #[error("key {kid:?} contains private or symmetric key material; publish public keys only")]
    SecretMaterial {
        /// The key's id, if any.
        kid: Option<String>,
    },
    /// An RSA key is shorter than 2048 or longer than 4096 bits.
    #[error("RSA key {kid:?} is {bits} bits; 2048 to 4096 bits are accepted")]
    RsaKeySize {
        /// The key's id.
        kid: String,
        /// Its modulus length.
        bits: usize,
    },
    /// The key's parameters do not form a valid public key.
    #[error("key {kid:?} is not a valid {kty} public key")]
    InvalidKey {
        /// The key's id.
        kid: String,
        /// The key type.
        kty: &'static str,
    },
    /// Two usable keys share a key id.
    #[error("key id {kid:?} appears more than once")]
    DuplicateKid {
        /// The repeated id.
        kid: String,
    },
    /// No key in the set can verify RS256, ES256 or EdDSA signatures.
    #[error("no usable signing key (RS256, ES256 or EdDSA with a kid and use \"sig\")")]
    NoUsableKeys,
}

/// Why the development signing key could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum DevKeyError {
    /// A file system operation failed.
    #[error("{path:?}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The key file can be read, or the directory written, by other users.
    #[error(
        "{path:?} has mode {mode:o}, which exposes the development signing key to other users (chmod {wanted:o})"
    )]
    Permissions {
        /// The file or directory.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
        /// The mode to set.
        wanted: u32,
    },
    /// The key file is not a PKCS#8 PEM Ed25519 private key.
    #[error("{path:?} is not a PKCS#8 PEM Ed25519 private key")]
    InvalidKey {
        /// The key file.
        path: PathBuf,
    },
    /// The operating system's random number generator failed.
    #[error("no randomness available: {0}")]
    Random(String),
}
