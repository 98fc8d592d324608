//! Verifying one compact-JWS access token against the trusted issuers.
//!
//! Order of checks: shape and size → header (`alg` allow-list, no `crit`,
//! `typ`) → `iss` selects the issuer → `kid` selects the key → the header
//! `alg` must be the key's pinned algorithm → signature → `aud` → `exp`,
//! `nbf`, `iat` → who: subject, token id, cpc claims → the session: lifetime
//! (`exp` − `iat`), `auth_time`, `acr`, `amr`, `cnf` (the client
//! certificate the token is bound to). Nothing in a claim is trusted before
//! the signature verifies except `iss`, which only chooses the key set. A
//! session refused names the token's holder ([`Refusal`]); nothing before
//! it does.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

use crate::binding::check_binding;
use crate::caller::{Caller, CallerKind};
use crate::config::{valid_authority_id, valid_subject};
use crate::dev::DEV_ISSUER;
use crate::error::{AuthError, ClaimError, Refusal};
use crate::jwks::Jwks;
use crate::role::{Agency, Role};

/// The longest bearer token accepted, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The most roles a token may carry.
const MAX_ROLES: usize = 32;

/// One trusted issuer and its current keys.
#[derive(Debug, Clone)]
pub(crate) struct TrustedIssuer {
    pub(crate) audience: String,
    pub(crate) first_party_clients: HashSet<String>,
    /// The longest `exp` − `iat` accepted, in seconds.
    pub(crate) max_lifetime_secs: i64,
    /// The longest now − `auth_time` accepted, in seconds.
    pub(crate) max_session_age_secs: i64,
    /// Whether a token without `auth_time` is refused.
    pub(crate) require_auth_time: bool,
    /// Whether a token not bound to a client certificate is refused.
    pub(crate) require_certificate_binding: bool,
    /// `acr` must be one of these, when any are given.
    pub(crate) acr_values: HashSet<String>,
    /// `amr` must name one of these, when any are given.
    pub(crate) amr_values: HashSet<String>,
    /// `cpc_authority` must be one of these, when any are given.
    pub(crate) authorities: HashSet<String>,
    /// Whether a token not typed `at+jwt` is refused.
    pub(crate) require_access_token_type: bool,
    pub(crate) jwks: Arc<Jwks>,
}

/// Every trusted issuer, by exact `iss`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Trust {
    pub(crate) issuers: HashMap<String, TrustedIssuer>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<IgnoredAny>,
}

/// The registered and cpc claims. Unknown claims are ignored; a repeated
/// known claim makes the token malformed (serde refuses duplicate fields).
#[derive(Deserialize)]
struct Claims {
    iss: Option<Value>,
    sub: Option<Value>,
    aud: Option<Value>,
    exp: Option<Value>,
    nbf: Option<Value>,
    iat: Option<Value>,
    /// When the person signed in (OpenID Connect Core §2).
    auth_time: Option<Value>,
    /// The key the caller must prove it holds (RFC 7800), here a client
    /// certificate's thumbprint (RFC 8705).
    cnf: Option<Value>,
    jti: Option<Value>,
    /// Microsoft Entra ID's token id, in tokens without `jti`.
    uti: Option<Value>,
    azp: Option<Value>,
    acr: Option<Value>,
    amr: Option<Value>,
    cpc_authority: Option<Value>,
    cpc_roles: Option<Value>,
    cpc_agency: Option<Value>,
}

/// Verifies `token` (the part after `Bearer `) at time `now`, on a
/// connection that presented the client certificate `presented` (DER), if
/// any. `unknown_key` is told the issuer when a trusted issuer's token names
/// a key id that is not in its set (it may have rotated keys since the set
/// was loaded).
pub(crate) fn verify(
    token: &str,
    trust: &Trust,
    leeway_secs: i64,
    now: DateTime<Utc>,
    presented: Option<&[u8]>,
    unknown_key: impl FnOnce(&str),
) -> Result<Caller, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::Malformed.into());
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed.into());
    };

    let header: Header = decode_json(header_b64)?;
    if header.crit.is_some() {
        return Err(AuthError::Malformed.into());
    }
    if let Some(typ) = &header.typ
        && !["jwt", "at+jwt", "application/at+jwt"]
            .iter()
            .any(|t| typ.eq_ignore_ascii_case(t))
    {
        return Err(AuthError::Malformed.into());
    }
    let alg = match header.alg.as_str() {
        "RS256" => Algorithm::RS256,
        "ES256" => Algorithm::ES256,
        "EdDSA" => Algorithm::EdDSA,
        // `none`, HS*, and everything else.
        _ => return Err(AuthError::DisallowedAlgorithm.into()),
    };

    let claims: Claims = decode_json(payload_b64)?;
    let Some(Value::String(iss)) = &claims.iss else {
        return Err(AuthError::BadClaims(ClaimError::Issuer).into());
    };
    let issuer = trust.issuers.get(iss).ok_or(AuthError::WrongIssuer)?;
    if issuer.require_access_token_type
        && !header.typ.as_deref().is_some_and(|typ| {
            ["at+jwt", "application/at+jwt"]
                .iter()
                .any(|t| typ.eq_ignore_ascii_case(t))
        })
    {
        return Err(AuthError::NotAccessToken.into());
    }
    let kid = header.kid.as_deref().ok_or(AuthError::UnknownKeyId)?;
    let Some(key) = issuer.jwks.find(kid) else {
        unknown_key(iss);
        return Err(AuthError::UnknownKeyId.into());
    };
    // Algorithm confusion: the key decides the algorithm, not the token.
    if key.alg != alg {
        return Err(AuthError::DisallowedAlgorithm.into());
    }
    let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
    match jsonwebtoken::crypto::verify(signature_b64, signing_input.as_bytes(), &key.key, key.alg) {
        Ok(true) => {}
        Ok(false) | Err(_) => return Err(AuthError::BadSignature.into()),
    }

    check_audience(claims.aud.as_ref(), &issuer.audience)?;

    let now_s = now.timestamp();
    let exp = match &claims.exp {
        None | Some(Value::Null) => {
            return Err(AuthError::BadClaims(ClaimError::MissingExpiry).into());
        }
        Some(v) => numeric_date(v)?,
    };
    let expires_at = timestamp(exp);
    if now_s >= exp.saturating_add(leeway_secs) {
        return Err(AuthError::Expired.into());
    }
    if let Some(nbf) = optional(claims.nbf.as_ref())
        && now_s < numeric_date(nbf)?.saturating_sub(leeway_secs)
    {
        return Err(AuthError::NotYetValid.into());
    }
    let issued_at = optional(claims.iat.as_ref())
        .map(numeric_date)
        .transpose()?;
    if issued_at.is_some_and(|iat| iat > now_s.saturating_add(leeway_secs)) {
        return Err(AuthError::NotYetValid.into());
    }
    let subject = match &claims.sub {
        Some(Value::String(sub)) if valid_subject(sub) => sub.clone(),
        _ => return Err(AuthError::BadClaims(ClaimError::Subject).into()),
    };
    let token_id = match optional_short_string(claims.jti.as_ref())? {
        Some(jti) => Some(jti),
        None => optional_short_string(claims.uti.as_ref())?,
    };
    let azp = optional_short_string(claims.azp.as_ref())?;
    let authority_id = match optional(claims.cpc_authority.as_ref()) {
        None => return Err(AuthError::BadClaims(ClaimError::MissingAuthority).into()),
        Some(Value::String(a)) if valid_authority_id(a) => a.clone(),
        Some(_) => return Err(AuthError::BadClaims(ClaimError::InvalidAuthority).into()),
    };
    if !issuer.authorities.is_empty() && !issuer.authorities.contains(&authority_id) {
        return Err(AuthError::AuthorityNotOfIssuer.into());
    }
    let roles = parse_roles(claims.cpc_roles.as_ref())?;
    let agency = match optional(claims.cpc_agency.as_ref()) {
        None => None,
        Some(v) => Some(parse_agency(v)?),
    };

    let on_behalf_of = azp.filter(|azp| {
        *azp != issuer.audience && *azp != subject && !issuer.first_party_clients.contains(azp)
    });

    // Service roles (cpc's own services, record-system integrations) belong
    // to service identities, which prove themselves with client
    // certificates. Only the development key may mint one as a token (there
    // are no certificates in development mode), with no other role; an
    // identity provider's token claiming one is refused, so no person can
    // pass for a service.
    let kind = if roles.iter().any(|r| r.is_service_role()) {
        if iss != DEV_ISSUER || roles.len() != 1 {
            return Err(AuthError::BadClaims(ClaimError::ServiceRole).into());
        }
        CallerKind::Service
    } else {
        CallerKind::Person
    };
    let mut caller = Caller::new(subject, kind, authority_id, roles).with_token(
        iss.clone(),
        token_id,
        issued_at.map(timestamp),
        expires_at,
    );
    if let Some(agency) = agency {
        caller = caller.with_agency(agency);
    }
    if let Some(client) = on_behalf_of {
        caller = caller.with_on_behalf_of(client);
    }

    // The token is genuine and says whose it is; what is left is whether
    // the session behind it may be used here. A refusal from here on names
    // the holder, for the security team (`Refusal`).
    let session = Session {
        expires: exp,
        issued_at,
        auth_time: claims.auth_time.as_ref(),
        acr: claims.acr.as_ref(),
        amr: claims.amr.as_ref(),
        cnf: claims.cnf.as_ref(),
    };
    match check_session(issuer, &session, leeway_secs, now_s, presented, &caller) {
        Ok(signed_in_at) => Ok(caller.with_sign_in(signed_in_at.map(timestamp))),
        Err(error) => Err(Refusal::of_holder(error, caller)),
    }
}

/// The claims of a verified token that say how its session may be used.
struct Session<'a> {
    expires: i64,
    issued_at: Option<i64>,
    auth_time: Option<&'a Value>,
    acr: Option<&'a Value>,
    amr: Option<&'a Value>,
    cnf: Option<&'a Value>,
}

/// Whether the session behind `holder`'s verified token may be used on
/// this connection: the token's lifetime, the sign-in's age and strength,
/// and the client certificate it is bound to. Returns the sign-in time.
fn check_session(
    issuer: &TrustedIssuer,
    session: &Session<'_>,
    leeway_secs: i64,
    now_s: i64,
    presented: Option<&[u8]>,
    holder: &Caller,
) -> Result<Option<i64>, AuthError> {
    // A token minted to last longer than the issuer's limit is refused even
    // while fresh: it would outlive the sign-in it came from. Without `iat`
    // what is left of it is measured.
    if session
        .expires
        .saturating_sub(session.issued_at.unwrap_or(now_s))
        > issuer.max_lifetime_secs.saturating_add(leeway_secs)
    {
        return Err(AuthError::LifetimeTooLong);
    }
    let signed_in_at = check_session_age(issuer, session.auth_time, leeway_secs, now_s)?;
    check_authentication(issuer, session.acr, session.amr)?;
    check_binding(session.cnf, presented, issuer.require_certificate_binding).inspect_err(
        |err| {
            // A security event: a signed, current token that belongs on a
            // portal's connections was presented elsewhere, most likely
            // copied out of the portal. Whose it was (a member of staff's
            // id, not a child's) is what the security team needs to end
            // the session.
            if *err == AuthError::CertificateMismatch {
                tracing::warn!(
                    issuer = holder.issuer().unwrap_or_default(),
                    subject = holder.subject(),
                    "identity: a token bound to a client certificate was presented without it"
                );
            }
        },
    )?;
    Ok(signed_in_at)
}

/// The session behind the token may still be used: its `auth_time`, when it
/// has one, is not in the future and no longer ago than the issuer's
/// `max_session_age`; without one, the issuer does not require it. Returns
/// the sign-in time.
fn check_session_age(
    issuer: &TrustedIssuer,
    auth_time: Option<&Value>,
    leeway_secs: i64,
    now_s: i64,
) -> Result<Option<i64>, AuthError> {
    let Some(auth_time) = optional(auth_time).map(numeric_date).transpose()? else {
        if issuer.require_auth_time {
            return Err(AuthError::BadClaims(ClaimError::MissingAuthTime));
        }
        return Ok(None);
    };
    if auth_time > now_s.saturating_add(leeway_secs) {
        return Err(AuthError::NotYetValid);
    }
    if now_s.saturating_sub(auth_time) > issuer.max_session_age_secs.saturating_add(leeway_secs) {
        return Err(AuthError::SessionTooOld);
    }
    Ok(Some(auth_time))
}

/// A NumericDate as a time. [`numeric_date`] has already kept it within
/// the range a `DateTime` holds.
fn timestamp(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Decodes one base64url (unpadded, canonical) part holding a JSON object.
fn decode_json<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| AuthError::Malformed)
}

/// A claim that is absent or JSON `null` counts as absent.
fn optional(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !v.is_null())
}

fn check_audience(aud: Option<&Value>, expected: &str) -> Result<(), AuthError> {
    let matches = match optional(aud) {
        Some(Value::String(aud)) => aud == expected,
        Some(Value::Array(auds)) if !auds.is_empty() => {
            let mut found = false;
            for aud in auds {
                match aud {
                    Value::String(aud) => found |= aud == expected,
                    _ => return Err(AuthError::BadClaims(ClaimError::Audience)),
                }
            }
            found
        }
        _ => return Err(AuthError::BadClaims(ClaimError::Audience)),
    };
    if matches {
        Ok(())
    } else {
        Err(AuthError::WrongAudience)
    }
}

/// An RFC 7519 NumericDate: seconds since the epoch, integer or not, within
/// the range chrono can represent.
fn numeric_date(value: &Value) -> Result<i64, AuthError> {
    let bad = AuthError::BadClaims(ClaimError::Timestamp);
    let Value::Number(n) = value else {
        return Err(bad);
    };
    let secs = if let Some(i) = n.as_i64() {
        i
    } else {
        match n.as_f64() {
            // 1e12 s is ~31,700 years: well inside i64 and chrono's range
            // check below.
            Some(f) if f.is_finite() && f.abs() < 1e12 => {
                #[expect(clippy::cast_possible_truncation, reason = "range checked above")]
                let floored = f.floor() as i64;
                floored
            }
            _ => return Err(bad),
        }
    };
    DateTime::from_timestamp(secs, 0).map(|_| secs).ok_or(bad)
}

/// The issuer's `acr_values` and `amr_values`, if it has any: how the
/// person signed in must be one the authority accepts (multi-factor, say).
/// Claims not checked are not read, so a provider's unusual `acr` does not
/// refuse tokens where nobody asked about it.
fn check_authentication(
    issuer: &TrustedIssuer,
    acr: Option<&Value>,
    amr: Option<&Value>,
) -> Result<(), AuthError> {
    if issuer.acr_values.is_empty() && issuer.amr_values.is_empty() {
        return Ok(());
    }
    let acr = match optional(acr) {
        None => None,
        Some(Value::String(acr)) => Some(acr.as_str()),
        Some(_) => return Err(AuthError::BadClaims(ClaimError::AuthenticationMethod)),
    };
    let amr: Vec<&str> = match optional(amr) {
        None => Vec::new(),
        Some(Value::Array(items)) if items.len() <= MAX_ROLES => items
            .iter()
            .map(|item| item.as_str())
            .collect::<Option<_>>()
            .ok_or(AuthError::BadClaims(ClaimError::AuthenticationMethod))?,
        Some(_) => return Err(AuthError::BadClaims(ClaimError::AuthenticationMethod)),
    };
    let acr_ok =
        issuer.acr_values.is_empty() || acr.is_some_and(|acr| issuer.acr_values.contains(acr));
    let amr_ok = issuer.amr_values.is_empty() || amr.iter().any(|m| issuer.amr_values.contains(*m));
    if acr_ok && amr_ok {
        Ok(())
    } else {
        Err(AuthError::InsufficientAuthentication)
    }
}

fn optional_short_string(value: Option<&Value>) -> Result<Option<String>, AuthError> {
    match optional(value) {
        None => Ok(None),
        Some(Value::String(s)) if valid_subject(s) => Ok(Some(s.clone())),
        Some(_) => Err(AuthError::BadClaims(ClaimError::TokenIdOrParty)),
    }
}

fn parse_roles(value: Option<&Value>) -> Result<Vec<Role>, AuthError> {
    let items = match optional(value) {
        None => return Err(AuthError::BadClaims(ClaimError::MissingRoles)),
        Some(Value::Array(items)) if items.len() <= MAX_ROLES => items,
        Some(_) => return Err(AuthError::BadClaims(ClaimError::InvalidRoles)),
    };
    if items.is_empty() {
        return Err(AuthError::BadClaims(ClaimError::MissingRoles));
    }
    items
        .iter()
        .map(|item| match item {
            Value::String(name) => name
                .parse::<Role>()
                .map_err(|_| AuthError::BadClaims(ClaimError::UnknownRole)),
            _ => Err(AuthError::BadClaims(ClaimError::InvalidRoles)),
        })
        .collect()
}

fn parse_agency(value: &Value) -> Result<Agency, AuthError> {
    let bad = AuthError::BadClaims(ClaimError::InvalidAgency);
    let agency = Agency::deserialize(value).map_err(|_| bad)?;
    // Bytes, as the audit record counts them: `<kind>:<name>` fits its
    // 256-byte field.
    let len = agency.name.len();
    if len == 0 || len > 200 || agency.name.chars().any(char::is_control) {
        return Err(bad);
    }
    Ok(agency)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates_accept_integers_and_fractions_only() {
        assert_eq!(
            numeric_date(&serde_json::json!(1_700_000_000)),
            Ok(1_700_000_000)
        );
        assert_eq!(
            numeric_date(&serde_json::json!(1_700_000_000.9)),
            Ok(1_700_000_000)
        );
        let bad = Err(AuthError::BadClaims(ClaimError::Timestamp));
        assert_eq!(numeric_date(&serde_json::json!("1700000000")), bad);
        assert_eq!(numeric_date(&serde_json::json!(1e300)), bad);
        assert_eq!(numeric_date(&serde_json::json!(i64::MAX)), bad);
        assert_eq!(numeric_date(&serde_json::json!(u64::MAX)), bad);
    }

    #[test]
    fn audience_may_be_a_string_or_a_list() {
        assert_eq!(
            check_audience(Some(&serde_json::json!("cpc")), "cpc"),
            Ok(())
        );
        assert_eq!(
            check_audience(Some(&serde_json::json!(["x", "cpc"])), "cpc"),
            Ok(())
        );
        assert_eq!(
            check_audience(Some(&serde_json::json!(["x"])), "cpc"),
            Err(AuthError::WrongAudience)
        );
        assert_eq!(
            check_audience(Some(&serde_json::json!(["cpc", 1])), "cpc"),
            Err(AuthError::BadClaims(ClaimError::Audience))
        );
        assert_eq!(
            check_audience(None, "cpc"),
            Err(AuthError::BadClaims(ClaimError::Audience))
        );
        assert_eq!(
            check_audience(Some(&serde_json::json!([])), "cpc"),
            Err(AuthError::BadClaims(ClaimError::Audience))
        );
    }

    #[test]
    fn roles_are_all_known_or_the_token_is_refused() {
        assert_eq!(
            parse_roles(Some(&serde_json::json!(["social_worker", "team_manager"]))),
            Ok(vec![Role::SocialWorker, Role::TeamManager])
        );
        assert_eq!(
            parse_roles(Some(&serde_json::json!(["social_worker", "admin"]))),
            Err(AuthError::BadClaims(ClaimError::UnknownRole))
        );
        assert_eq!(
            parse_roles(Some(&serde_json::json!("social_worker"))),
            Err(AuthError::BadClaims(ClaimError::InvalidRoles))
        );
        assert_eq!(
            parse_roles(Some(&serde_json::json!([]))),
            Err(AuthError::BadClaims(ClaimError::MissingRoles))
        );
        assert_eq!(
            parse_roles(None),
            Err(AuthError::BadClaims(ClaimError::MissingRoles))
        );
    }

    #[test]
    fn agency_needs_a_known_kind_and_a_name() {
        let ok = parse_agency(
            &serde_json::json!({"kind": "police", "name": "Gloucestershire Constabulary"}),
        );
        assert_eq!(ok.unwrap().kind, crate::role::AgencyKind::Police);
        for bad in [
            serde_json::json!({"kind": "unspecified", "name": "x"}),
            serde_json::json!({"kind": "police", "name": ""}),
            serde_json::json!({"kind": "police"}),
            serde_json::json!({"kind": "police", "name": "x", "extra": 1}),
            serde_json::json!("police"),
        ] {
            assert_eq!(
                parse_agency(&bad),
                Err(AuthError::BadClaims(ClaimError::InvalidAgency))
            );
        }
    }
}
