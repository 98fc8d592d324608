//! Who is calling.
//!
//! - People call with an OAuth 2.0 / OIDC access token (a JWT) from a
//!   trusted issuer: [`Authenticator::authenticate_bearer`] verifies it and
//!   returns a [`Caller`] with the person's local authority, roles and
//!   agency, and the portal that relayed the token, if any.
//! - Record-system integrations call with an mTLS client certificate:
//!   [`Authenticator::authenticate_service`] maps its subject to a service
//!   [`Caller`] through the configured [`ServiceIdentity`] list.
//! - In [`Mode::Development`], a local Ed25519 key ([`dev::DevKey`]) mints
//!   and verifies tokens, so nothing else is needed on a laptop. Production
//!   refuses that key wherever it appears, and
//!   [`IdentityConfig::validate_for`] refuses development mode off loopback
//!   and production mode without TLS.
//!
//! An issuer's JWKS is a file (`jwks_file`) or its identity provider's URL
//! (`jwks_url`). [`Authenticator::load`] reads and fetches them all before
//! serving; [`Authenticator::spawn_key_refresh`] reads each file and fetches
//! each URL again every `jwks_refresh`, and early (at most once a minute)
//! when a token names a key id the issuer has not published, so rotated keys
//! are picked up without a restart. A failed read or fetch keeps the
//! previous keys.
//!
//! A person's sessions can be ended before their tokens expire:
//! `identity.revocations_file` lists, per issuer and subject, a time before
//! which their tokens are refused ([`AuthError::Revoked`]); it is read again
//! every [`REVOCATIONS_REFRESH`], and a file that cannot be read keeps the
//! previous list.
//!
//! Tokens must be signed with RS256, ES256 or EdDSA by a key in the issuer's
//! JWKS, and the key's own algorithm is the only one accepted for it (no
//! `none`, no HMAC, no algorithm confusion). Tokens without `exp`, with an
//! unknown role or without `cpc_authority` are refused. [`AuthError`]
//! messages are fixed text, safe to return to the caller; raw tokens are
//! never stored, logged or printed. A credential that verified but is
//! refused (a session ended, too old or too weak, a token bound to another
//! connection, an authority it may not act for) comes back as a
//! [`Refusal`] naming its holder, for the server's audit log.
//!
//! The crate is a leaf: it depends on no other cpc crate, and takes
//! `http::HeaderMap` rather than tonic types.

mod authenticator;
mod bearer;
mod binding;
mod bounded;
mod caller;
mod config;
pub mod dev;
mod error;
mod fetch;
mod jwks;
mod revocations;
mod role;
mod token;

pub use authenticator::{Authenticator, EARLY_REFRESH_INTERVAL, KeyRefresh};
pub use bearer::{authorization_header, bearer_token};
pub use binding::certificate_thumbprint;
pub use caller::{Caller, CallerKind};
pub use config::{
    DEFAULT_JWKS_REFRESH, IdentityConfig, IssuerConfig, MAX_JWKS_REFRESH, MAX_LEEWAY,
    MAX_SESSION_AGE, MAX_TOKEN_LIFETIME, MIN_JWKS_REFRESH, MIN_SESSION_AGE, MIN_TOKEN_LIFETIME,
    Mode, ServiceIdentity,
};
pub use error::{
    AuthError, ClaimError, DevKeyError, IdentityError, JwksError, JwksSource, Refusal,
};
pub use jwks::{Jwks, MAX_JWKS_BYTES};
pub use revocations::{MAX_REVOCATIONS_BYTES, REVOCATIONS_REFRESH, Revocations, RevocationsError};
pub use role::{Agency, AgencyKind, Role, UnknownName, agency_key};
pub use token::MAX_TOKEN_BYTES;
