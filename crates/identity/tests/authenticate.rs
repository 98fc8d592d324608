//! End-to-end behaviour of the Authenticator: each way a token can be wrong
//! gives its exact AuthError.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{AUDIENCE, AUTHORITY, ISSUER, Idp, eventually, good_claims, now, settle};

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use cpc_identity::dev::{DEV_AUDIENCE, DEV_ISSUER, DevClaims, DevKey, JWKS_FILE};
use cpc_identity::{
    Agency, AgencyKind, AuthError, Authenticator, Caller, CallerKind, ClaimError, IdentityConfig,
    IdentityError, IssuerConfig, Mode, Role, ServiceIdentity,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tempfile::TempDir;

const KID: &str = "idp-2030";

fn write_jwks(path: &Path, keys: &[Value]) {
    std::fs::write(path, json!({ "keys": keys }).to_string()).unwrap();
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    claims[key] = value;
    claims
}

fn without(mut claims: Value, key: &str) -> Value {
    claims.as_object_mut().unwrap().remove(key);
    claims
}

struct Fixture {
    tmp: TempDir,
    idp: Idp,
    config: IdentityConfig,
    auth: Authenticator,
}

impl Fixture {
    fn production() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let idp = Idp::new(KID);
        let jwks_file = tmp.path().join("idp-jwks.json");
        write_jwks(&jwks_file, &[idp.jwk()]);
        let config = IdentityConfig {
            mode: Mode::Production,
            issuers: vec![IssuerConfig {
                issuer: ISSUER.into(),
                audience: AUDIENCE.into(),
                jwks_file: Some(jwks_file),
                jwks_url: None,
                jwks_refresh: None,
                jwks_ca_file: None,
                max_token_lifetime: None,
                first_party_clients: vec!["cpc-web".into()],
                acr_values: vec![],
                amr_values: vec![],
                max_session_age: None,
                require_auth_time: false,
                require_certificate_binding: false,
                authorities: Vec::new(),
                require_access_token_type: false,
            }],
            dev_key_dir: tmp.path().join("dev-identity"),
            service_identities: vec![
                ServiceIdentity {
                    certificate_subject: "spiffe://gloucestershire.gov.uk/liquidlogic-lcs".into(),
                    subject: "liquidlogic-lcs".into(),
                    authority_id: AUTHORITY.into(),
                    acts_for: vec![],
                    roles: vec![Role::Integration],
                },
                ServiceIdentity {
                    certificate_subject: "spiffe://region.example/cpc-scheduling".into(),
                    subject: "cpc-scheduling".into(),
                    authority_id: AUTHORITY.into(),
                    acts_for: vec!["E10000014".into()],
                    roles: vec![Role::CpcService],
                },
            ],
            ..IdentityConfig::default()
        };
        let auth = Authenticator::from_config(&config).unwrap();
        Self {
            tmp,
            idp,
            config,
            auth,
        }
    }

    fn check(&self, token: &str) -> Result<Caller, AuthError> {
        self.auth
            .authenticate_bearer(Some(&format!("Bearer {token}")), now())
    }

    fn check_claims(&self, claims: &Value) -> Result<Caller, AuthError> {
        self.check(&self.idp.sign(claims))
    }
}

/// A token assembled by hand, for headers jsonwebtoken will not produce.
fn raw_token(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

#[test]
fn good_token_verifies_to_the_right_caller() {
    let f = Fixture::production();
    let caller = f.check_claims(&good_claims()).unwrap();
    assert_eq!(caller.subject(), "7d0c2b1e-5f3a-4c1e-9a7b-2f4e6d8c0a1b");
    assert_eq!(caller.kind(), CallerKind::Person);
    assert_eq!(caller.authority_id(), AUTHORITY);
    assert_eq!(caller.roles(), &[Role::SocialWorker, Role::TeamManager]);
    assert!(caller.has_role(Role::TeamManager));
    assert!(!caller.has_role(Role::ConferenceChair));
    assert_eq!(
        caller.agency(),
        Some(&Agency {
            kind: AgencyKind::ChildrensSocialCare,
            name: "Gloucestershire County Council".into()
        })
    );
    assert_eq!(caller.on_behalf_of(), Some("police-portal"));
    assert_eq!(caller.issuer(), Some(ISSUER));
    assert_eq!(caller.token_id(), Some("token-1"));
    assert_eq!(
        caller.expires_at(),
        Some(DateTime::from_timestamp(now().timestamp() + 600, 0).unwrap())
    );
}

#[test]
fn azp_of_a_first_party_client_or_the_audience_is_not_a_relay() {
    let f = Fixture::production();
    for azp in [json!("cpc-web"), json!(AUDIENCE), json!(null)] {
        let caller = f.check_claims(&with(good_claims(), "azp", azp)).unwrap();
        assert_eq!(caller.on_behalf_of(), None);
    }
    let caller = f
        .check_claims(&without(without(good_claims(), "azp"), "cpc_agency"))
        .unwrap();
    assert_eq!(caller.on_behalf_of(), None);
    assert_eq!(caller.agency(), None);
    let caller = f.check_claims(&without(good_claims(), "jti")).unwrap();
    assert_eq!(caller.token_id(), None);
    // Microsoft Entra ID names its tokens `uti`; `jti` wins when both are.
    let entra = with(without(good_claims(), "jti"), "uti", json!("AbCd-uti"));
    assert_eq!(f.check_claims(&entra).unwrap().token_id(), Some("AbCd-uti"));
    let both = with(good_claims(), "uti", json!("AbCd-uti"));
    assert_eq!(f.check_claims(&both).unwrap().token_id(), Some("token-1"));
    assert_eq!(
        f.check_claims(&with(without(good_claims(), "jti"), "uti", json!(7))),
        Err(AuthError::BadClaims(ClaimError::TokenIdOrParty))
    );
}

#[test]
fn audience_may_be_a_list() {
    let f = Fixture::production();
    let claims = with(good_claims(), "aud", json!(["account", AUDIENCE]));
    assert!(f.check_claims(&claims).is_ok());
}

#[test]
fn no_header_is_missing_token() {
    let f = Fixture::production();
    assert_eq!(
        f.auth.authenticate_bearer(None, now()),
        Err(AuthError::MissingToken)
    );
    assert_eq!(
        f.auth.authenticate_bearer(Some(""), now()),
        Err(AuthError::MissingToken)
    );
    assert_eq!(
        f.auth.authenticate_bearer(Some("Bearer "), now()),
        Err(AuthError::MissingToken)
    );
}

#[test]
fn basic_credentials_are_the_wrong_scheme() {
    let f = Fixture::production();
    assert_eq!(
        f.auth
            .authenticate_bearer(Some("Basic dXNlcjpwYXNzd29yZA=="), now()),
        Err(AuthError::WrongScheme)
    );
}

#[test]
fn garbage_is_malformed() {
    let f = Fixture::production();
    for token in [
        "garbage",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "a.b.c.d.e",
        "e30.e30.",
        "eyJhbGciOiJFZERTQSJ9..sig",
        "bm90IGpzb24.e30.AAAA",
    ] {
        assert_eq!(f.check(token), Err(AuthError::Malformed), "{token}");
    }
    // A JSON header that is not an object with a string alg.
    let token = raw_token(&json!(["EdDSA"]), &good_claims(), b"x");
    assert_eq!(f.check(&token), Err(AuthError::Malformed));
    // Padded base64 is not base64url as JWS requires.
    let good = f.idp.sign(&good_claims());
    let (header, rest) = good.split_once('.').unwrap();
    assert_eq!(
        f.check(&format!("{header}==.{rest}")),
        Err(AuthError::Malformed)
    );
    // Too long.
    assert_eq!(
        f.check(&"a".repeat(cpc_identity::MAX_TOKEN_BYTES + 1)),
        Err(AuthError::Malformed)
    );
}

#[test]
fn unsupported_header_parameters_are_malformed() {
    let f = Fixture::production();
    let sig = [0u8; 64];
    let crit = json!({ "alg": "EdDSA", "kid": KID, "crit": ["exp"], "exp": 1 });
    assert_eq!(
        f.check(&raw_token(&crit, &good_claims(), &sig)),
        Err(AuthError::Malformed)
    );
    let typ = json!({ "alg": "EdDSA", "kid": KID, "typ": "logout+jwt" });
    assert_eq!(
        f.check(&raw_token(&typ, &good_claims(), &sig)),
        Err(AuthError::Malformed)
    );
    // A claim repeated in the payload is ambiguous.
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "EdDSA", "kid": KID }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"iss":"{ISSUER}","iss":"https://evil"}}"#));
    assert_eq!(
        f.check(&format!("{header}.{payload}.AAAA")),
        Err(AuthError::Malformed)
    );
}

#[test]
fn a_signature_by_another_key_is_a_bad_signature() {
    let f = Fixture::production();
    let impostor = Idp::new(KID);
    assert_eq!(
        f.check(&impostor.sign(&good_claims())),
        Err(AuthError::BadSignature)
    );

    // Changing a claim after signing breaks the signature.
    let good = f.idp.sign(&good_claims());
    let parts: Vec<&str> = good.split('.').collect();
    let forged = URL_SAFE_NO_PAD
        .encode(with(good_claims(), "cpc_roles", json!(["head_of_service"])).to_string());
    assert_eq!(
        f.check(&format!("{}.{}.{}", parts[0], forged, parts[2])),
        Err(AuthError::BadSignature)
    );
    // So does stripping it.
    assert_eq!(
        f.check(&format!("{}.{}.", parts[0], parts[1])),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn expiry_is_checked_with_leeway() {
    let f = Fixture::production();
    let t = now().timestamp();
    let expired = with(good_claims(), "exp", json!(t - 61));
    assert_eq!(f.check_claims(&expired), Err(AuthError::Expired));
    let at_the_edge = with(good_claims(), "exp", json!(t - 60));
    assert_eq!(f.check_claims(&at_the_edge), Err(AuthError::Expired));
    let within_leeway = with(good_claims(), "exp", json!(t - 30));
    assert!(f.check_claims(&within_leeway).is_ok());
}

#[test]
fn tokens_without_expiry_are_refused() {
    let f = Fixture::production();
    assert_eq!(
        f.check_claims(&without(good_claims(), "exp")),
        Err(AuthError::BadClaims(ClaimError::MissingExpiry))
    );
    assert_eq!(
        f.check_claims(&with(good_claims(), "exp", json!("tomorrow"))),
        Err(AuthError::BadClaims(ClaimError::Timestamp))
    );
}

#[test]
fn not_before_and_issued_at_in_the_future_are_not_yet_valid() {
    let f = Fixture::production();
    let t = now().timestamp();
    let nbf = with(good_claims(), "nbf", json!(t + 120));
    assert_eq!(f.check_claims(&nbf), Err(AuthError::NotYetValid));
    let nbf_within_leeway = with(good_claims(), "nbf", json!(t + 30));
    assert!(f.check_claims(&nbf_within_leeway).is_ok());
    let iat = with(good_claims(), "iat", json!(t + 120));
    assert_eq!(f.check_claims(&iat), Err(AuthError::NotYetValid));
}

#[test]
fn a_token_minted_to_last_longer_than_the_issuer_allows_is_refused() {
    let f = Fixture::production();
    let t = now().timestamp();
    let lasting = |issued: i64, expires: i64| {
        with(
            with(good_claims(), "iat", json!(issued)),
            "exp",
            json!(expires),
        )
    };
    let twelve_hours = 12 * 3600;
    // The default limit is 12 hours (ASVS 3.3.2), with the clock leeway.
    assert!(
        f.check_claims(&lasting(t - 10, t - 10 + twelve_hours))
            .is_ok()
    );
    assert!(
        f.check_claims(&lasting(t - 10, t - 10 + twelve_hours + 60))
            .is_ok()
    );
    assert_eq!(
        f.check_claims(&lasting(t - 10, t - 10 + twelve_hours + 61)),
        Err(AuthError::LifetimeTooLong)
    );
    assert_eq!(
        f.check_claims(&lasting(t - 10, t + 30 * 24 * 3600)),
        Err(AuthError::LifetimeTooLong)
    );
    // The lifetime is what the token was minted for, not what is left of it.
    assert_eq!(
        f.check_claims(&lasting(t - 11 * 3600, t + 2 * 3600)),
        Err(AuthError::LifetimeTooLong)
    );
    // Without iat, what is left is measured.
    let no_iat = |expires: i64| with(without(good_claims(), "iat"), "exp", json!(expires));
    assert!(f.check_claims(&no_iat(t + 11 * 3600)).is_ok());
    assert_eq!(
        f.check_claims(&no_iat(t + 13 * 3600)),
        Err(AuthError::LifetimeTooLong)
    );

    // An issuer may be held to its own, shorter, access token lifespan.
    let mut config = f.config.clone();
    config.issuers[0].max_token_lifetime = Some(std::time::Duration::from_secs(3600));
    let auth = Authenticator::from_config(&config).unwrap();
    let check = |claims: &Value| {
        auth.authenticate_bearer(Some(&format!("Bearer {}", f.idp.sign(claims))), now())
    };
    assert!(check(&lasting(t - 10, t + 3500)).is_ok());
    assert_eq!(
        check(&lasting(t - 10, t + 2 * 3600)),
        Err(AuthError::LifetimeTooLong)
    );
    assert_eq!(
        AuthError::LifetimeTooLong.reason(),
        "token_lifetime_too_long"
    );
}

#[test]
fn wrong_issuer() {
    let f = Fixture::production();
    let claims = with(
        good_claims(),
        "iss",
        json!("https://evil.example/realms/cpc"),
    );
    assert_eq!(f.check_claims(&claims), Err(AuthError::WrongIssuer));
    let claims = with(good_claims(), "iss", json!(DEV_ISSUER));
    assert_eq!(f.check_claims(&claims), Err(AuthError::WrongIssuer));
    assert_eq!(
        f.check_claims(&without(good_claims(), "iss")),
        Err(AuthError::BadClaims(ClaimError::Issuer))
    );
}

#[test]
fn wrong_audience() {
    let f = Fixture::production();
    let claims = with(good_claims(), "aud", json!("another-api"));
    assert_eq!(f.check_claims(&claims), Err(AuthError::WrongAudience));
    let claims = with(good_claims(), "aud", json!(["account", "another-api"]));
    assert_eq!(f.check_claims(&claims), Err(AuthError::WrongAudience));
    assert_eq!(
        f.check_claims(&without(good_claims(), "aud")),
        Err(AuthError::BadClaims(ClaimError::Audience))
    );
}

#[test]
fn unknown_or_missing_key_id() {
    let f = Fixture::production();
    let other = Idp::new("rotated-away");
    assert_eq!(
        f.check(&other.sign(&good_claims())),
        Err(AuthError::UnknownKeyId)
    );
    let no_kid = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &good_claims(),
        &f.idp.encoding_key(),
    )
    .unwrap();
    assert_eq!(f.check(&no_kid), Err(AuthError::UnknownKeyId));
}

#[test]
fn alg_none_is_refused() {
    let f = Fixture::production();
    for alg in ["none", "None", "NONE"] {
        let token = raw_token(&json!({ "alg": alg, "kid": KID }), &good_claims(), b"");
        assert_eq!(
            f.check(&token),
            Err(AuthError::DisallowedAlgorithm),
            "{alg}"
        );
    }
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": "none" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(good_claims().to_string());
    assert_eq!(
        f.check(&format!("{header}.{payload}.")),
        Err(AuthError::DisallowedAlgorithm)
    );
}

#[test]
fn hs256_signed_with_the_public_key_is_refused() {
    let f = Fixture::production();
    let jwks_bytes = std::fs::read(f.config.issuers[0].jwks_file.as_ref().unwrap()).unwrap();
    let raw_public = f.idp.signing.verifying_key().to_bytes();
    for secret in [
        jwks_bytes.as_slice(),
        raw_public.as_slice(),
        f.idp.public_x().as_bytes(),
    ] {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.kid = Some(KID.into());
            let token =
                jsonwebtoken::encode(&header, &good_claims(), &EncodingKey::from_secret(secret))
                    .unwrap();
            assert_eq!(f.check(&token), Err(AuthError::DisallowedAlgorithm));
        }
    }
}

#[test]
fn the_header_alg_must_be_the_keys_alg() {
    let f = Fixture::production();
    // An EdDSA key named by a token claiming ES256 or RS256.
    for alg in ["ES256", "RS256"] {
        let token = raw_token(
            &json!({ "alg": alg, "kid": KID }),
            &good_claims(),
            &[0u8; 64],
        );
        assert_eq!(
            f.check(&token),
            Err(AuthError::DisallowedAlgorithm),
            "{alg}"
        );
    }
    // Algorithms outside the allow-list, even asymmetric ones.
    for alg in ["PS256", "RS512", "ES384", "ES256K", "Ed25519"] {
        let token = raw_token(
            &json!({ "alg": alg, "kid": KID }),
            &good_claims(),
            &[0u8; 64],
        );
        assert_eq!(
            f.check(&token),
            Err(AuthError::DisallowedAlgorithm),
            "{alg}"
        );
    }
}

#[test]
fn unknown_role_rejects_the_token() {
    let f = Fixture::production();
    let claims = with(
        good_claims(),
        "cpc_roles",
        json!(["social_worker", "superuser"]),
    );
    assert_eq!(
        f.check_claims(&claims),
        Err(AuthError::BadClaims(ClaimError::UnknownRole))
    );
    let claims = with(good_claims(), "cpc_roles", json!(["unspecified"]));
    assert_eq!(
        f.check_claims(&claims),
        Err(AuthError::BadClaims(ClaimError::UnknownRole))
    );
    let claims = with(good_claims(), "cpc_roles", json!([]));
    assert_eq!(
        f.check_claims(&claims),
        Err(AuthError::BadClaims(ClaimError::MissingRoles))
    );
    assert_eq!(
        f.check_claims(&without(good_claims(), "cpc_roles")),
        Err(AuthError::BadClaims(ClaimError::MissingRoles))
    );
}

#[test]
fn missing_or_invalid_authority() {
    let f = Fixture::production();
    assert_eq!(
        f.check_claims(&without(good_claims(), "cpc_authority")),
        Err(AuthError::BadClaims(ClaimError::MissingAuthority))
    );
    for bad in [
        json!(""),
        json!(13),
        json!("E1000 0013"),
        json!("x".repeat(33)),
    ] {
        assert_eq!(
            f.check_claims(&with(good_claims(), "cpc_authority", bad)),
            Err(AuthError::BadClaims(ClaimError::InvalidAuthority))
        );
    }
}

#[test]
fn other_bad_claims() {
    let f = Fixture::production();
    assert_eq!(
        f.check_claims(&without(good_claims(), "sub")),
        Err(AuthError::BadClaims(ClaimError::Subject))
    );
    assert_eq!(
        f.check_claims(&with(
            good_claims(),
            "cpc_agency",
            json!({ "kind": "army", "name": "x" })
        )),
        Err(AuthError::BadClaims(ClaimError::InvalidAgency))
    );
    assert_eq!(
        f.check_claims(&with(good_claims(), "azp", json!(42))),
        Err(AuthError::BadClaims(ClaimError::TokenIdOrParty))
    );
}

/// Ids are counted in bytes, as the audit record that stores them counts:
/// 255 bytes of two-byte characters pass, one more byte does not.
#[test]
fn ids_are_at_most_255_bytes_whatever_the_characters() {
    let f = Fixture::production();
    let longest = format!("{}a", "é".repeat(127));
    let too_long = "é".repeat(128);
    assert_eq!((longest.len(), too_long.len()), (255, 256));
    for (claim, refused) in [
        ("sub", AuthError::BadClaims(ClaimError::Subject)),
        ("jti", AuthError::BadClaims(ClaimError::TokenIdOrParty)),
        ("azp", AuthError::BadClaims(ClaimError::TokenIdOrParty)),
    ] {
        f.check_claims(&with(good_claims(), claim, json!(longest)))
            .unwrap_or_else(|e| panic!("{claim}: {e}"));
        assert_eq!(
            f.check_claims(&with(good_claims(), claim, json!(too_long))),
            Err(refused),
            "{claim}"
        );
    }
    // An agency's name: 200 bytes, so that `<kind>:<name>` fits too.
    let agency = |name: &str| {
        with(
            good_claims(),
            "cpc_agency",
            json!({"kind": "police", "name": name}),
        )
    };
    f.check_claims(&agency(&"é".repeat(100))).unwrap();
    assert_eq!(
        f.check_claims(&agency(&format!("{}a", "é".repeat(100)))),
        Err(AuthError::BadClaims(ClaimError::InvalidAgency))
    );
}

#[test]
fn error_messages_carry_no_token_contents() {
    let f = Fixture::production();
    let claims = with(good_claims(), "cpc_roles", json!(["secret-role-name"]));
    let token = f.idp.sign(&claims);
    let err = f.check(&token).unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("secret-role-name"), "{shown}");
    assert!(!shown.contains(&token[..20]), "{shown}");
    assert_eq!(err.reason(), "bad_claims");
    let caller = f.check_claims(&good_claims()).unwrap();
    assert!(!format!("{caller:?}").contains(&f.idp.sign(&good_claims())[..20]));
}

#[test]
fn rs256_and_es256_issuers_verify_and_keep_their_algorithms() {
    use p256::pkcs8::EncodePrivateKey as _;
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    let tmp = tempfile::tempdir().unwrap();
    let rsa_key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let rsa_jwk = json!({
        "kty": "RSA", "kid": "rsa-1", "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(rsa_key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(rsa_key.e().to_bytes_be()),
    });
    let rsa_encoding = EncodingKey::from_rsa_der(rsa_key.to_pkcs1_der().unwrap().as_bytes());

    let mut scalar = [0u8; 32];
    getrandom::fill(&mut scalar).unwrap();
    let ec_key = p256::ecdsa::SigningKey::from_slice(&scalar).unwrap();
    let point = ec_key.verifying_key().to_encoded_point(false);
    let ec_jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    });
    let ec_encoding = EncodingKey::from_ec_der(ec_key.to_pkcs8_der().unwrap().as_bytes());

    let jwks_file = tmp.path().join("jwks.json");
    write_jwks(&jwks_file, &[rsa_jwk, ec_jwk]);
    let config = IdentityConfig {
        issuers: vec![IssuerConfig {
            issuer: ISSUER.into(),
            audience: AUDIENCE.into(),
            jwks_file: Some(jwks_file),
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
        dev_key_dir: tmp.path().join("dev"),
        ..IdentityConfig::default()
    };
    let auth = Authenticator::from_config(&config).unwrap();
    let sign = |alg, kid: &str, key: &EncodingKey| {
        let mut header = Header::new(alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, &good_claims(), key).unwrap()
    };
    let check = |token: String| auth.authenticate_bearer(Some(&format!("Bearer {token}")), now());

    assert!(check(sign(Algorithm::RS256, "rsa-1", &rsa_encoding)).is_ok());
    assert!(check(sign(Algorithm::ES256, "ec-1", &ec_encoding)).is_ok());
    // The RSA key only verifies RS256, not PS256 or RS512 with the same key.
    assert_eq!(
        check(sign(Algorithm::PS256, "rsa-1", &rsa_encoding)),
        Err(AuthError::DisallowedAlgorithm)
    );
    assert_eq!(
        check(sign(Algorithm::RS512, "rsa-1", &rsa_encoding)),
        Err(AuthError::DisallowedAlgorithm)
    );
    // A key id from one key with a signature by the other.
    assert_eq!(
        check(sign(Algorithm::ES256, "rsa-1", &ec_encoding)),
        Err(AuthError::DisallowedAlgorithm)
    );
    // HS256 with the RSA modulus as the secret.
    let secret = rsa_key.n().to_bytes_be();
    assert_eq!(
        check(sign(
            Algorithm::HS256,
            "rsa-1",
            &EncodingKey::from_secret(&secret)
        )),
        Err(AuthError::DisallowedAlgorithm)
    );
}

#[tokio::test]
async fn reload_picks_up_rotated_keys_and_keeps_old_ones_on_error() {
    let f = Fixture::production();
    let jwks_file = f.config.issuers[0].jwks_file.clone().unwrap();
    let next = Idp::new("idp-2031");
    write_jwks(&jwks_file, &[next.jwk()]);
    // Not yet reloaded: the new key is unknown.
    assert_eq!(
        f.check(&next.sign(&good_claims())),
        Err(AuthError::UnknownKeyId)
    );
    f.auth.reload().await.unwrap();
    assert!(f.check(&next.sign(&good_claims())).is_ok());
    assert_eq!(f.check_claims(&good_claims()), Err(AuthError::UnknownKeyId));

    std::fs::write(&jwks_file, "{ not json").unwrap();
    let err = f.auth.reload().await.unwrap_err();
    assert!(matches!(err, IdentityError::Jwks { .. }), "{err}");
    assert!(
        f.check(&next.sign(&good_claims())).is_ok(),
        "old keys stay in force"
    );

    // Keys can also be installed directly.
    let third = Idp::new("idp-2032");
    let jwks =
        cpc_identity::Jwks::from_json(json!({ "keys": [third.jwk()] }).to_string().as_bytes())
            .unwrap();
    f.auth.set_issuer_keys(ISSUER, jwks.clone()).unwrap();
    assert!(f.check(&third.sign(&good_claims())).is_ok());
    assert!(matches!(
        f.auth.set_issuer_keys("https://other", jwks),
        Err(IdentityError::UnknownIssuer(_))
    ));
}

#[tokio::test]
async fn a_key_published_in_the_file_is_trusted_without_a_restart() {
    let f = Fixture::production();
    let auth = std::sync::Arc::new(Authenticator::load(&f.config).await.unwrap());
    let _refresh = auth.spawn_key_refresh();
    let check = |token: &str, at: DateTime<Utc>| {
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), at)
            .map(|_| ())
    };
    let jwks_file = f.config.issuers[0].jwks_file.clone().unwrap();

    // The provider's next key is published next to the current one (a
    // Secret update). The first token naming it is refused and sets off an
    // early read of the file; its retry verifies.
    let next = Idp::new("idp-2031");
    write_jwks(&jwks_file, &[f.idp.jwk(), next.jwk()]);
    let token = next.sign(&good_claims());
    assert_eq!(check(&token, now()), Err(AuthError::UnknownKeyId));
    eventually("the published key to verify", || {
        check(&token, now()).is_ok()
    })
    .await;
    assert_eq!(check(&f.idp.sign(&good_claims()), now()), Ok(()));

    // A file that cannot be read leaves the keys in force...
    std::fs::write(&jwks_file, "{ not json").unwrap();
    let later = now() + chrono::TimeDelta::seconds(61);
    let unknown = Idp::new("idp-2099").sign(&good_claims());
    assert_eq!(check(&unknown, later), Err(AuthError::UnknownKeyId));
    settle().await;
    assert_eq!(check(&token, later), Ok(()));
    assert_eq!(check(&f.idp.sign(&good_claims()), later), Ok(()));
    // ...and the refresh carries on: the next good file is read.
    let third = Idp::new("idp-2032");
    write_jwks(&jwks_file, &[next.jwk(), third.jwk()]);
    let last = later + chrono::TimeDelta::seconds(61);
    let token = third.sign(&good_claims());
    assert_eq!(check(&token, last), Err(AuthError::UnknownKeyId));
    eventually("the next key to verify", || check(&token, last).is_ok()).await;
    assert_eq!(
        check(&f.idp.sign(&good_claims()), last),
        Err(AuthError::UnknownKeyId),
        "a key removed from the file stops verifying"
    );
}

#[test]
fn authenticate_headers_reads_the_authorization_header() {
    let f = Fixture::production();
    let mut headers = http::HeaderMap::new();
    assert_eq!(
        f.auth.authenticate_headers(&headers, None, now()),
        Err(AuthError::MissingToken.into())
    );
    let value = format!("Bearer {}", f.idp.sign(&good_claims()));
    headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
    assert!(f.auth.authenticate_headers(&headers, None, now()).is_ok());
    headers.append(http::header::AUTHORIZATION, value.parse().unwrap());
    assert_eq!(
        f.auth.authenticate_headers(&headers, None, now()),
        Err(AuthError::Malformed.into())
    );
}

#[test]
fn service_identities_map_known_certificates_only() {
    let f = Fixture::production();
    let caller = f
        .auth
        .authenticate_service("spiffe://gloucestershire.gov.uk/liquidlogic-lcs", None)
        .unwrap();
    assert_eq!(caller.kind(), CallerKind::Service);
    assert_eq!(caller.subject(), "liquidlogic-lcs");
    assert_eq!(caller.authority_id(), AUTHORITY);
    assert_eq!(caller.roles(), &[Role::Integration]);
    assert_eq!(caller.issuer(), None);
    assert_eq!(caller.expires_at(), None);
    for unknown in [
        "spiffe://evil.example/liquidlogic-lcs",
        "SPIFFE://gloucestershire.gov.uk/liquidlogic-lcs",
        "",
    ] {
        assert_eq!(
            f.auth.authenticate_service(unknown, None),
            Err(AuthError::UnknownService.into())
        );
    }
    // An integration acts for its own authority only, named or not.
    let lcs = "spiffe://gloucestershire.gov.uk/liquidlogic-lcs";
    assert!(f.auth.authenticate_service(lcs, Some(AUTHORITY)).is_ok());
    let refusal = f
        .auth
        .authenticate_service(lcs, Some("E10000014"))
        .unwrap_err();
    assert_eq!(refusal.error(), AuthError::NotActingFor);
    // The certificate verified: the attempt names the integration, at home.
    let holder = refusal.holder().unwrap();
    assert_eq!(
        (holder.subject(), holder.authority_id()),
        ("liquidlogic-lcs", AUTHORITY)
    );
}

#[test]
fn a_cpc_service_acts_for_one_listed_authority_per_call() {
    let f = Fixture::production();
    let scheduling = "spiffe://region.example/cpc-scheduling";
    let own = f.auth.authenticate_service(scheduling, None).unwrap();
    assert_eq!(own.authority_id(), AUTHORITY);
    let other = f
        .auth
        .authenticate_service(scheduling, Some("E10000014"))
        .unwrap();
    assert_eq!(other.authority_id(), "E10000014");
    assert_eq!(other.roles(), &[Role::CpcService]);
    assert_eq!(
        f.auth
            .authenticate_service(scheduling, Some("E10000099"))
            .map_err(|refusal| refusal.error()),
        Err(AuthError::NotActingFor)
    );
}

fn development(dev_dir: PathBuf) -> IdentityConfig {
    IdentityConfig {
        mode: Mode::Development,
        dev_key_dir: dev_dir,
        ..IdentityConfig::default()
    }
}

#[test]
fn only_the_development_key_mints_service_tokens() {
    let f = Fixture::production();
    // An identity provider cannot make anyone a service.
    for roles in [
        json!(["cpc_service"]),
        json!(["social_worker", "cpc_service"]),
        json!(["integration"]),
        json!(["auditor", "integration"]),
    ] {
        assert_eq!(
            f.check_claims(&with(good_claims(), "cpc_roles", roles)),
            Err(AuthError::BadClaims(ClaimError::ServiceRole))
        );
    }
    // The development key can, alone, and the caller is a service.
    let auth = Authenticator::from_config(&development(f.tmp.path().join("dev-identity"))).unwrap();
    let dev = auth.dev_key().unwrap();
    let token = dev.mint_at(
        &DevClaims::new("cpc-scheduling", AUTHORITY, [Role::CpcService]),
        now(),
    );
    let caller = auth
        .authenticate_bearer(Some(&format!("Bearer {token}")), now())
        .unwrap();
    assert_eq!(caller.kind(), CallerKind::Service);
    assert_eq!(caller.roles(), &[Role::CpcService]);
    // A record-system integration, in development mode (no certificates).
    let token = dev.mint_at(
        &DevClaims::new("liquidlogic", AUTHORITY, [Role::Integration]),
        now(),
    );
    let caller = auth
        .authenticate_bearer(Some(&format!("Bearer {token}")), now())
        .unwrap();
    assert_eq!(caller.kind(), CallerKind::Service);
    assert_eq!(caller.roles(), &[Role::Integration]);
    let token = dev.mint_at(
        &DevClaims::new(
            "cpc-scheduling",
            AUTHORITY,
            [Role::CpcService, Role::Auditor],
        ),
        now(),
    );
    assert_eq!(
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), now()),
        Err(AuthError::BadClaims(ClaimError::ServiceRole))
    );
}

#[test]
fn development_mode_trusts_the_dev_key_and_configured_issuers() {
    let f = Fixture::production();
    let mut config = development(f.tmp.path().join("dev-identity"));
    config.issuers = f.config.issuers.clone();
    let auth = Authenticator::from_config(&config).unwrap();
    let dev = auth.dev_key().unwrap();
    let mut claims = DevClaims::new("dev-user", AUTHORITY, [Role::ConferenceChair]);
    claims.agency = Some(Agency {
        kind: AgencyKind::Police,
        name: "Gloucestershire Constabulary".into(),
    });
    claims.on_behalf_of = Some("police-portal".into());
    let token = dev.mint_at(&claims, now());
    let caller = auth
        .authenticate_bearer(Some(&format!("Bearer {token}")), now())
        .unwrap();
    assert_eq!(caller.subject(), "dev-user");
    assert_eq!(caller.issuer(), Some(DEV_ISSUER));
    assert_eq!(caller.roles(), &[Role::ConferenceChair]);
    assert_eq!(caller.agency().unwrap().kind, AgencyKind::Police);
    assert_eq!(caller.on_behalf_of(), Some("police-portal"));
    assert!(caller.token_id().is_some());

    // The configured issuer still works.
    let token = f.idp.sign(&good_claims());
    assert!(
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), now())
            .is_ok()
    );

    // A dev token expires like any other.
    let later = now() + chrono::Duration::seconds(3600 + 60);
    let token = dev.mint_at(&claims, now());
    assert_eq!(
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), later),
        Err(AuthError::Expired)
    );

    // The production authenticator never trusts it.
    let token = dev.mint_at(&claims, now());
    assert_eq!(f.check(&token), Err(AuthError::WrongIssuer));

    // Production mode has no dev key; minting with the wall clock works.
    assert!(f.auth.dev_key().is_none());
    let token = dev.mint(&DevClaims::new("u", AUTHORITY, [Role::Auditor]));
    assert!(
        auth.authenticate_bearer(
            Some(&format!("Bearer {token}")),
            DateTime::<Utc>::from(std::time::SystemTime::now())
        )
        .is_ok()
    );
    assert_eq!(DEV_AUDIENCE, "cpc");
}

#[test]
fn dev_key_is_created_once_then_reused_with_private_files() {
    use std::os::unix::fs::PermissionsExt;

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(".local/dev-identity");
    let first = DevKey::load_or_create(&dir).unwrap();
    let second = DevKey::load_or_create(&dir).unwrap();
    assert_eq!(first.public_key(), second.public_key());
    assert_eq!(first.jwks_json(), second.jwks_json());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    for entry in std::fs::read_dir(&dir).unwrap() {
        assert_eq!(mode(&entry.unwrap().path()), 0o600);
    }
    // A token minted by the first load verifies under the second.
    let auth = Authenticator::from_config(&development(dir)).unwrap();
    let token = first.mint_at(&DevClaims::new("u", AUTHORITY, [Role::SocialWorker]), now());
    assert!(
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), now())
            .is_ok()
    );
}

#[test]
fn production_refuses_the_dev_issuer() {
    let mut config = Fixture::production().config;
    config.issuers[0].issuer = DEV_ISSUER.into();
    let err = Authenticator::from_config(&config).unwrap_err();
    assert!(matches!(err, IdentityError::DevIssuerInProduction { .. }));
    assert_eq!(
        err.to_string(),
        "identity: production mode refuses to trust the development issuer `cpc-dev`; remove it from `identity.issuers`"
    );
}

#[test]
fn production_refuses_the_dev_jwks_wherever_it_is() {
    let f = Fixture::production();
    let dev_dir = f.config.dev_key_dir.clone();
    let dev = DevKey::load_or_create(&dev_dir).unwrap();

    // Pointing at the dev key directory's jwks.json.
    let mut config = f.config.clone();
    config.issuers[0].jwks_file = Some(dev_dir.join(JWKS_FILE));
    let err = Authenticator::from_config(&config).unwrap_err();
    assert!(
        matches!(err, IdentityError::JwksInDevKeyDir { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("lies in the development key directory"),
        "{err}"
    );

    // A copy elsewhere, found by its key id.
    let copy = f.tmp.path().join("copied-jwks.json");
    std::fs::write(&copy, dev.jwks_json()).unwrap();
    let mut config = f.config.clone();
    config.issuers[0].jwks_file = Some(copy.clone());
    let err = Authenticator::from_config(&config).unwrap_err();
    assert!(
        matches!(err, IdentityError::DevKeyTrustedInProduction { .. }),
        "{err}"
    );

    // A copy with the key id renamed, found by the key itself.
    let renamed = dev.jwks_json().replace(dev.kid(), "innocent-looking");
    std::fs::write(&copy, renamed).unwrap();
    let err = Authenticator::from_config(&config).unwrap_err();
    assert!(
        matches!(err, IdentityError::DevKeyTrustedInProduction { .. }),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("contains the development signing key"),
        "{err}"
    );

    // And through set_issuer_keys.
    let jwks = cpc_identity::Jwks::from_json(dev.jwks_json().as_bytes()).unwrap();
    assert!(matches!(
        f.auth.set_issuer_keys(ISSUER, jwks),
        Err(IdentityError::DevKeyTrustedInProduction { .. })
    ));
}

#[test]
fn production_never_creates_a_dev_key() {
    let f = Fixture::production();
    assert!(!f.config.dev_key_dir.exists());
}

#[test]
fn development_mode_on_all_interfaces_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let config = development(tmp.path().join("dev"));
    let err = config
        .validate_for("0.0.0.0:50051".parse().unwrap(), false)
        .unwrap_err();
    assert!(matches!(err, IdentityError::DevelopmentNotLoopback { .. }));
    assert!(
        config
            .validate_for("127.0.0.1:50051".parse().unwrap(), false)
            .is_ok()
    );
    let production = IdentityConfig {
        mode: Mode::Production,
        ..config
    };
    assert!(matches!(
        production.validate_for("127.0.0.1:50051".parse().unwrap(), false),
        Err(IdentityError::ProductionWithoutTls { .. })
    ));
}

#[test]
fn leeway_comes_from_config() {
    let f = Fixture::production();
    let mut config = f.config.clone();
    config.leeway = Duration::ZERO;
    let auth = Authenticator::from_config(&config).unwrap();
    let claims = with(good_claims(), "exp", json!(now().timestamp() - 1));
    let token = f.idp.sign(&claims);
    assert_eq!(
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), now()),
        Err(AuthError::Expired)
    );
    assert!(f.check(&token).is_ok());
}

fn write_revocations(path: &Path, entries: &[(&str, &str, DateTime<Utc>)]) {
    let revoked: Vec<Value> = entries
        .iter()
        .map(|(issuer, subject, before)| {
            json!({"issuer": issuer, "subject": subject, "issued_before": before.to_rfc3339()})
        })
        .collect();
    std::fs::write(path, json!({ "revoked": revoked }).to_string()).unwrap();
}

/// A production authenticator whose config names a revocation file, with
/// `entries` in it.
fn revoking(entries: &[(&str, &str, DateTime<Utc>)]) -> (Fixture, PathBuf) {
    let mut f = Fixture::production();
    let file = f.tmp.path().join("revocations.json");
    write_revocations(&file, entries);
    f.config.revocations_file = Some(file.clone());
    f.auth = Authenticator::from_config(&f.config).unwrap();
    (f, file)
}

const SUBJECT: &str = "7d0c2b1e-5f3a-4c1e-9a7b-2f4e6d8c0a1b";

#[test]
fn a_revoked_persons_earlier_tokens_are_refused_and_a_new_sign_in_is_not() {
    let t = now().timestamp();
    let (f, _) = revoking(&[(ISSUER, SUBJECT, DateTime::from_timestamp(t - 5, 0).unwrap())]);
    // good_claims() was issued at t - 10: before the revocation.
    assert_eq!(f.check_claims(&good_claims()), Err(AuthError::Revoked));
    assert_eq!(AuthError::Revoked.reason(), "session_revoked");
    assert_eq!(
        f.check_claims(&without(good_claims(), "iat")),
        Err(AuthError::Revoked),
        "a token without iat cannot show it came after"
    );
    // Signed in again at the revocation time or after: accepted.
    for iat in [t - 5, t] {
        let caller = f
            .check_claims(&with(good_claims(), "iat", json!(iat)))
            .unwrap();
        assert_eq!(caller.issued_at().map(|at| at.timestamp()), Some(iat));
    }
    // Someone else, and the same subject from another issuer, untouched.
    f.check_claims(&with(good_claims(), "sub", json!("someone-else")))
        .unwrap();
    let (f, _) = revoking(&[(
        "https://other.example",
        SUBJECT,
        DateTime::from_timestamp(t, 0).unwrap(),
    )]);
    f.check_claims(&good_claims()).unwrap();
}

/// A refusal names the token's holder only when the token verified and
/// said whose it is, and then only when the session behind it may not be
/// used; a token anyone could have written names nobody.
#[test]
fn a_refusal_names_the_holder_only_when_the_token_verified() {
    let t = now().timestamp();
    let (mut f, _) = revoking(&[(ISSUER, SUBJECT, DateTime::from_timestamp(t - 5, 0).unwrap())]);
    f.config.issuers[0].acr_values = vec!["gold".to_owned()];
    f.config.issuers[0].max_session_age = Some(std::time::Duration::from_secs(3600));
    f.auth = Authenticator::from_config(&f.config).unwrap();
    let refuse = |claims: &Value| {
        f.auth
            .authenticate_headers(&bearer_headers(&f.idp.sign(claims)), None, now())
            .unwrap_err()
    };
    let gold = with(good_claims(), "acr", json!("gold"));
    let signed_in = |at: i64| with(with(gold.clone(), "iat", json!(t)), "auth_time", json!(at));
    for (claims, error) in [
        (gold.clone(), AuthError::Revoked),
        (signed_in(t - 7200), AuthError::SessionTooOld),
        (
            with(signed_in(t), "acr", json!("bronze")),
            AuthError::InsufficientAuthentication,
        ),
        (
            with(signed_in(t), "exp", json!(t + 13 * 3600)),
            AuthError::LifetimeTooLong,
        ),
    ] {
        let refusal = refuse(&claims);
        assert_eq!(refusal.error(), error);
        let holder = refusal.holder().expect("a verified token names its holder");
        assert_eq!(
            (holder.subject(), holder.authority_id(), holder.token_id()),
            (SUBJECT, AUTHORITY, Some("token-1")),
            "{error:?}"
        );
    }
    for (claims, error) in [
        (
            with(signed_in(t), "exp", json!(t - 120)),
            AuthError::Expired,
        ),
        (
            with(signed_in(t), "aud", json!("another-service")),
            AuthError::WrongAudience,
        ),
        (
            without(signed_in(t), "cpc_authority"),
            AuthError::BadClaims(ClaimError::MissingAuthority),
        ),
    ] {
        let refusal = refuse(&claims);
        assert_eq!((refusal.error(), refusal.holder()), (error, None));
    }
    let token = f.idp.sign(&signed_in(t));
    let last = if token.ends_with('x') { 'y' } else { 'x' };
    let forged = format!("{}{last}", &token[..token.len() - 1]);
    let refusal = f
        .auth
        .authenticate_headers(&bearer_headers(&forged), None, now())
        .unwrap_err();
    assert_eq!(refusal.holder(), None);
    // And the token itself is accepted.
    f.auth
        .authenticate_headers(&bearer_headers(&token), None, now())
        .unwrap();
}

#[test]
fn a_revocation_file_that_cannot_be_read_stops_the_start() {
    let mut f = Fixture::production();
    let file = f.tmp.path().join("missing.json");
    f.config.revocations_file = Some(file.clone());
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(
        matches!(&err, IdentityError::Revocations { file: named, .. } if *named == file),
        "{err}"
    );
    std::fs::write(
        &file,
        r#"{"revoked": [{"issuer": "", "subject": "s", "issued_before": "2026-12-06T00:00:00Z"}]}"#,
    )
    .unwrap();
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(
        err.to_string()
            .contains("entry 0 (counting from 0): issuer must not be empty"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn revocations_are_read_again_while_serving_and_a_broken_file_keeps_them() {
    let t = now().timestamp();
    let (f, file) = revoking(&[]);
    let auth = std::sync::Arc::new(Authenticator::load(&f.config).await.unwrap());
    let _refresh = auth.spawn_key_refresh();
    let token = f.idp.sign(&good_claims());
    let check = |auth: &Authenticator| {
        auth.authenticate_bearer(Some(&format!("Bearer {token}")), now())
            .map(|_| ())
    };
    assert_eq!(check(&auth), Ok(()));

    // The security team revokes the person: refused within one refresh.
    write_revocations(
        &file,
        &[(ISSUER, SUBJECT, DateTime::from_timestamp(t, 0).unwrap())],
    );
    assert_eq!(check(&auth), Ok(()), "not read before the next refresh");
    tokio::time::sleep(cpc_identity::REVOCATIONS_REFRESH + Duration::from_secs(1)).await;
    assert_eq!(check(&auth), Err(AuthError::Revoked));

    // A broken edit never lets them back in.
    std::fs::write(&file, "{ not json").unwrap();
    tokio::time::sleep(cpc_identity::REVOCATIONS_REFRESH).await;
    assert_eq!(check(&auth), Err(AuthError::Revoked));
    let err = auth.reload_revocations().unwrap_err();
    assert!(matches!(err, IdentityError::Revocations { .. }), "{err}");
    assert_eq!(check(&auth), Err(AuthError::Revoked));

    // Lifted (the entry removed): accepted again at the next refresh.
    write_revocations(&file, &[]);
    tokio::time::sleep(cpc_identity::REVOCATIONS_REFRESH).await;
    assert_eq!(check(&auth), Ok(()));
}

/// A production authenticator whose issuer accepts only the given `acr`
/// and `amr` values.
#[test]
fn an_issuer_vouches_only_for_the_authorities_it_is_trusted_for() {
    let mut f = Fixture::production();
    f.config.issuers[0].authorities = vec![AUTHORITY.into(), "E10000014".into()];
    f.auth = Authenticator::from_config(&f.config).unwrap();
    assert_eq!(
        f.check_claims(&good_claims()).unwrap().authority_id(),
        AUTHORITY
    );
    let neighbour = with(good_claims(), "cpc_authority", json!("E10000014"));
    assert_eq!(
        f.check_claims(&neighbour).unwrap().authority_id(),
        "E10000014"
    );
    // Another council's staff, vouched for by this council's provider: the
    // token is genuine, and names nobody this issuer may speak for.
    let elsewhere = f
        .idp
        .sign(&with(good_claims(), "cpc_authority", json!("E08000035")));
    let refusal = f
        .auth
        .authenticate_headers(&bearer_headers(&elsewhere), None, now())
        .unwrap_err();
    assert_eq!(refusal.error(), AuthError::AuthorityNotOfIssuer);
    assert!(refusal.holder().is_none());
    assert_eq!(refusal.error().reason(), "authority_not_of_issuer");

    // An id that is not an authority id does not load.
    f.config.issuers[0].authorities = vec!["E1000 0013".into()];
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(
        err.to_string()
            .contains("authorities must be authority ids"),
        "{err}"
    );
}

#[test]
fn an_issuer_may_require_its_tokens_to_be_typed_as_access_tokens() {
    let mut f = Fixture::production();
    let typed = |typ: Option<&str>| {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(KID.into());
        header.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&header, &good_claims(), &f.idp.encoding_key()).unwrap()
    };
    let (jwt, access, media, none) = (
        typed(Some("JWT")),
        typed(Some("at+jwt")),
        typed(Some("application/at+jwt")),
        typed(None),
    );
    // By default an ID-token-shaped `JWT` is accepted, as Keycloak and
    // Entra ID type their access tokens so.
    for token in [&jwt, &access, &media, &none] {
        assert!(f.check(token).is_ok());
    }
    f.config.issuers[0].require_access_token_type = true;
    f.auth = Authenticator::from_config(&f.config).unwrap();
    for token in [&access, &media] {
        assert!(f.check(token).is_ok());
    }
    for token in [&jwt, &none] {
        assert_eq!(f.check(token), Err(AuthError::NotAccessToken));
    }
}

fn requiring(acr_values: &[&str], amr_values: &[&str]) -> Fixture {
    let mut f = Fixture::production();
    f.config.issuers[0].acr_values = acr_values.iter().map(|v| (*v).to_owned()).collect();
    f.config.issuers[0].amr_values = amr_values.iter().map(|v| (*v).to_owned()).collect();
    f.auth = Authenticator::from_config(&f.config).unwrap();
    f
}

#[test]
fn an_issuer_may_require_a_multi_factor_sign_in_by_acr() {
    let f = requiring(&["gold", "urn:council:mfa"], &[]);
    for acr in ["gold", "urn:council:mfa"] {
        f.check_claims(&with(good_claims(), "acr", json!(acr)))
            .unwrap();
    }
    for claims in [
        with(good_claims(), "acr", json!("1")),
        with(good_claims(), "acr", json!("GOLD")),
        without(good_claims(), "acr"),
        with(good_claims(), "acr", Value::Null),
    ] {
        assert_eq!(
            f.check_claims(&claims),
            Err(AuthError::InsufficientAuthentication)
        );
    }
    assert_eq!(
        AuthError::InsufficientAuthentication.reason(),
        "insufficient_authentication"
    );
    assert_eq!(
        f.check_claims(&with(good_claims(), "acr", json!(2))),
        Err(AuthError::BadClaims(ClaimError::AuthenticationMethod))
    );
    // Without acr_values, acr is not read at all.
    Fixture::production()
        .check_claims(&with(good_claims(), "acr", json!(2)))
        .unwrap();
}

#[test]
fn an_issuer_may_require_one_of_its_amr_values() {
    let f = requiring(&[], &["mfa", "hwk"]);
    for amr in [json!(["pwd", "mfa"]), json!(["hwk"])] {
        f.check_claims(&with(good_claims(), "amr", amr)).unwrap();
    }
    for claims in [
        with(good_claims(), "amr", json!(["pwd"])),
        with(good_claims(), "amr", json!([])),
        without(good_claims(), "amr"),
    ] {
        assert_eq!(
            f.check_claims(&claims),
            Err(AuthError::InsufficientAuthentication)
        );
    }
    for bad in [json!("mfa"), json!(["mfa", 1]), json!([["mfa"]])] {
        assert_eq!(
            f.check_claims(&with(good_claims(), "amr", bad)),
            Err(AuthError::BadClaims(ClaimError::AuthenticationMethod))
        );
    }
    // Both: each must hold.
    let both = requiring(&["gold"], &["mfa"]);
    let strong = with(
        with(good_claims(), "acr", json!("gold")),
        "amr",
        json!(["mfa"]),
    );
    both.check_claims(&strong).unwrap();
    assert_eq!(
        both.check_claims(&with(strong.clone(), "amr", json!(["pwd"]))),
        Err(AuthError::InsufficientAuthentication)
    );
    assert_eq!(
        both.check_claims(&with(strong, "acr", json!("silver"))),
        Err(AuthError::InsufficientAuthentication)
    );
}

#[test]
fn acr_and_amr_values_are_checked_when_loaded() {
    let mut f = Fixture::production();
    f.config.issuers[0].amr_values = vec![String::new()];
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(
        err.to_string()
            .contains("acr_values and amr_values must be 1 to 255 bytes"),
        "{err}"
    );
    f.config.issuers[0].amr_values = vec![];
    f.config.issuers[0].acr_values = (0..17).map(|i| format!("level-{i}")).collect();
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(err.to_string().contains("at most 16 values"), "{err}");
}

/// A JSON value an `acr` or `amr` claim might hold: the accepted values,
/// near misses, numbers, lists of either, objects, null.
fn claim_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let word = prop_oneof![
        Just("gold".to_owned()),
        Just("mfa".to_owned()),
        Just("pwd".to_owned()),
        Just("Gold".to_owned()),
        "[a-z]{0,4}",
    ];
    prop_oneof![
        word.clone().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(Value::Null),
        proptest::collection::vec(
            prop_oneof![
                word.clone().prop_map(Value::from),
                any::<i64>().prop_map(Value::from)
            ],
            0..4
        )
        .prop_map(Value::from),
        word.prop_map(|w| json!({ "value": w })),
    ]
}

proptest::proptest! {
    /// Whatever `acr` and `amr` hold, a token is accepted exactly when its
    /// `acr` is an accepted string and its `amr` a list of strings naming
    /// an accepted method; anything else is refused with one of the two
    /// documented errors.
    #[test]
    fn any_acr_and_amr_are_accepted_exactly_when_they_show_the_required_sign_in(
        acr in proptest::option::of(claim_value()),
        amr in proptest::option::of(claim_value()),
    ) {
        static REQUIRING: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        let f = REQUIRING.get_or_init(|| requiring(&["gold"], &["mfa"]));
        let mut claims = good_claims();
        if let Some(acr) = &acr {
            claims["acr"] = acr.clone();
        }
        if let Some(amr) = &amr {
            claims["amr"] = amr.clone();
        }
        let strong = acr.as_ref().is_some_and(|v| v == "gold")
            && amr.as_ref().and_then(Value::as_array).is_some_and(|methods| {
                methods.iter().all(Value::is_string) && methods.iter().any(|m| m == "mfa")
            });
        match f.check_claims(&claims) {
            Ok(_) => proptest::prop_assert!(strong, "{acr:?} {amr:?}"),
            Err(err) => {
                proptest::prop_assert!(!strong, "{acr:?} {amr:?}: {err}");
                proptest::prop_assert!(
                    matches!(
                        err,
                        AuthError::InsufficientAuthentication
                            | AuthError::BadClaims(ClaimError::AuthenticationMethod)
                    ),
                    "{err}"
                );
            }
        }
    }
}

/// A production authenticator whose issuer holds sessions to
/// `max_session_age`, and requires `auth_time` when `require` is set.
fn holding_sessions_to(max_session_age: Option<Duration>, require: bool) -> Fixture {
    let mut f = Fixture::production();
    f.config.issuers[0].max_session_age = max_session_age;
    f.config.issuers[0].require_auth_time = require;
    f.auth = Authenticator::from_config(&f.config).unwrap();
    f
}

/// `good_claims()` from a sign-in `ago` seconds before `now()`.
fn signed_in(ago: i64) -> Value {
    with(good_claims(), "auth_time", json!(now().timestamp() - ago))
}

#[test]
fn a_token_from_a_sign_in_older_than_max_session_age_is_refused_however_fresh() {
    // Leeway is 60 s (the default).
    let f = holding_sessions_to(Some(Duration::from_secs(3600)), false);
    for ago in [10, 3600, 3660] {
        let caller = f.check_claims(&signed_in(ago)).unwrap();
        assert_eq!(
            caller.signed_in_at().map(|at| at.timestamp()),
            Some(now().timestamp() - ago)
        );
        assert_eq!(caller.session_began(), caller.signed_in_at());
    }
    // good_claims() was issued 10 s ago: a refreshed token of an old sign-in.
    assert_eq!(
        f.check_claims(&signed_in(3661)),
        Err(AuthError::SessionTooOld)
    );
    assert_eq!(AuthError::SessionTooOld.reason(), "session_too_old");
    // A sign-in in the future, beyond the leeway.
    f.check_claims(&signed_in(-60)).unwrap();
    assert_eq!(f.check_claims(&signed_in(-61)), Err(AuthError::NotYetValid));
    for bad in [json!("1900000000"), json!(1e300), json!([1])] {
        assert_eq!(
            f.check_claims(&with(good_claims(), "auth_time", bad)),
            Err(AuthError::BadClaims(ClaimError::Timestamp))
        );
    }
    // Without auth_time, and not required: only iat speaks for the session.
    let caller = f.check_claims(&good_claims()).unwrap();
    assert_eq!(caller.signed_in_at(), None);
    assert_eq!(caller.session_began(), caller.issued_at());
    f.check_claims(&with(good_claims(), "auth_time", Value::Null))
        .unwrap();

    // The default is 12 hours.
    let f = Fixture::production();
    f.check_claims(&signed_in(12 * 3600 + 60)).unwrap();
    assert_eq!(
        f.check_claims(&signed_in(12 * 3600 + 61)),
        Err(AuthError::SessionTooOld)
    );
}

#[test]
fn an_issuer_may_require_auth_time() {
    let f = holding_sessions_to(None, true);
    f.check_claims(&signed_in(10)).unwrap();
    for claims in [good_claims(), with(good_claims(), "auth_time", Value::Null)] {
        assert_eq!(
            f.check_claims(&claims),
            Err(AuthError::BadClaims(ClaimError::MissingAuthTime))
        );
    }
    assert_eq!(
        AuthError::BadClaims(ClaimError::MissingAuthTime).to_string(),
        "the token's claims are invalid: missing auth_time"
    );
}

#[test]
fn max_session_age_is_between_a_minute_and_twelve_hours() {
    for (secs, ok) in [
        (59, false),
        (60, true),
        (12 * 3600, true),
        (12 * 3600 + 1, false),
    ] {
        let mut f = Fixture::production();
        f.config.issuers[0].max_session_age = Some(Duration::from_secs(secs));
        match Authenticator::from_config(&f.config) {
            Ok(_) => assert!(ok, "{secs}s"),
            Err(err) => {
                assert!(!ok, "{secs}s: {err}");
                assert!(
                    err.to_string()
                        .contains("max_session_age must be between 1 minute and 12 hours"),
                    "{err}"
                );
            }
        }
    }
}

#[test]
fn revoking_a_person_refuses_tokens_refreshed_after_it_from_an_earlier_sign_in() {
    let t = now().timestamp();
    let (f, _) = revoking(&[(
        ISSUER,
        SUBJECT,
        DateTime::from_timestamp(t - 60, 0).unwrap(),
    )]);
    // Issued 10 s ago, after the revocation, by refreshing a session that
    // began before it.
    assert_eq!(f.check_claims(&signed_in(120)), Err(AuthError::Revoked));
    // Signed in again after the revocation: accepted.
    f.check_claims(&signed_in(30)).unwrap();
    f.check_claims(&signed_in(60)).unwrap();
}

proptest::proptest! {
    /// For any sign-in time and session limit, a token is accepted exactly
    /// when the sign-in is neither further in the future nor further in the
    /// past than the limit allows, give or take the leeway.
    #[test]
    fn any_auth_time_is_accepted_exactly_within_the_session_age(
        max_age_secs in 60u64..=12 * 3600,
        ago in -200i64..=12 * 3600 + 200,
    ) {
        let f = holding_sessions_to(Some(Duration::from_secs(max_age_secs)), true);
        let max_age = i64::try_from(max_age_secs).unwrap();
        let expected = if ago < -60 {
            Err(AuthError::NotYetValid)
        } else if ago > max_age + 60 {
            Err(AuthError::SessionTooOld)
        } else {
            Ok(now().timestamp() - ago)
        };
        let got = f
            .check_claims(&signed_in(ago))
            .map(|caller| caller.signed_in_at().unwrap().timestamp());
        proptest::prop_assert_eq!(got, expected, "max age {}s, signed in {}s ago", max_age_secs, ago);
    }
}

/// A portal's client certificate, as DER, and the `x5t#S256` a token bound
/// to it carries.
fn portal_certificate(name: &str) -> (Vec<u8>, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let der = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .der()
        .to_vec();
    let thumbprint = cpc_identity::certificate_thumbprint(&der);
    (der, thumbprint)
}

fn bearer_headers(token: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    headers
}

#[test]
fn a_token_bound_to_a_certificate_is_accepted_only_with_that_certificate() {
    let f = Fixture::production();
    let (portal, thumbprint) = portal_certificate("portal.example");
    let (other, _) = portal_certificate("elsewhere.example");
    let bound = f.idp.sign(&with(
        good_claims(),
        "cnf",
        json!({ "x5t#S256": thumbprint }),
    ));
    let headers = bearer_headers(&bound);
    f.auth
        .authenticate_headers(&headers, Some(&portal), now())
        .unwrap();
    // Copied out of the portal and replayed: from a connection with another
    // certificate, or none.
    for presented in [Some(other.as_slice()), None] {
        let refusal = f
            .auth
            .authenticate_headers(&headers, presented, now())
            .unwrap_err();
        assert_eq!(refusal.error(), AuthError::CertificateMismatch);
        // Whose token was copied, for the audit log.
        assert_eq!(refusal.holder().map(Caller::subject), Some(SUBJECT));
    }
    assert_eq!(f.check(&bound), Err(AuthError::CertificateMismatch));
    assert_eq!(
        AuthError::CertificateMismatch.reason(),
        "certificate_binding_mismatch"
    );
    // An unbound token is a bearer token, whatever the connection presents.
    let unbound = bearer_headers(&f.idp.sign(&good_claims()));
    f.auth
        .authenticate_headers(&unbound, Some(&portal), now())
        .unwrap();
    // A DPoP-bound token needs a proof this service does not check.
    assert_eq!(
        f.check_claims(&with(
            good_claims(),
            "cnf",
            json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" })
        )),
        Err(AuthError::BadClaims(ClaimError::Confirmation))
    );
}

#[test]
fn an_issuer_may_accept_only_certificate_bound_tokens() {
    let mut f = Fixture::production();
    f.config.issuers[0].require_certificate_binding = true;
    f.auth = Authenticator::from_config(&f.config).unwrap();
    let (portal, thumbprint) = portal_certificate("portal.example");
    let unbound = bearer_headers(&f.idp.sign(&good_claims()));
    for presented in [Some(portal.as_slice()), None] {
        assert_eq!(
            f.auth
                .authenticate_headers(&unbound, presented, now())
                .map_err(|refusal| refusal.error()),
            Err(AuthError::NotCertificateBound)
        );
    }
    let bound = bearer_headers(&f.idp.sign(&with(
        good_claims(),
        "cnf",
        json!({ "x5t#S256": thumbprint }),
    )));
    f.auth
        .authenticate_headers(&bound, Some(&portal), now())
        .unwrap();
    let config: IdentityConfig = serde_json::from_value(json!({
        "issuers": [{
            "issuer": ISSUER,
            "audience": AUDIENCE,
            "jwks_file": "/etc/cpc/idp/jwks.json",
            "require_certificate_binding": true,
            "require_auth_time": true,
            "max_session_age": "8h"
        }]
    }))
    .unwrap();
    assert!(config.issuers[0].require_certificate_binding);
    assert!(config.issuers[0].require_auth_time);
    assert_eq!(
        config.issuers[0].max_session_age,
        Some(Duration::from_secs(8 * 3600))
    );
}

const OTHER_AUTHORITY: &str = "E10000014";

/// A production authenticator with a revocation file for each of two
/// authorities (empty), and the two files.
fn revoking_per_authority() -> (Fixture, PathBuf, PathBuf) {
    let mut f = Fixture::production();
    let ours = f.tmp.path().join(format!("{AUTHORITY}.json"));
    let theirs = f.tmp.path().join(format!("{OTHER_AUTHORITY}.json"));
    write_revocations(&ours, &[]);
    write_revocations(&theirs, &[]);
    f.config.authority_revocations = [
        (AUTHORITY.to_owned(), ours.clone()),
        (OTHER_AUTHORITY.to_owned(), theirs.clone()),
    ]
    .into();
    f.auth = Authenticator::from_config(&f.config).unwrap();
    (f, ours, theirs)
}

#[test]
fn an_authoritys_revocations_end_only_its_own_sessions() {
    let t = now().timestamp();
    let (f, _, theirs) = revoking_per_authority();
    // The other authority's security team lists a subject that also signs
    // in to ours (one regional identity provider): only their tokens that
    // name the other authority are refused.
    write_revocations(
        &theirs,
        &[(ISSUER, SUBJECT, DateTime::from_timestamp(t, 0).unwrap())],
    );
    f.auth.reload_revocations().unwrap();
    let as_other = with(good_claims(), "cpc_authority", json!(OTHER_AUTHORITY));
    assert_eq!(f.check_claims(&as_other), Err(AuthError::Revoked));
    f.check_claims(&good_claims()).unwrap();
    // A deployment-wide list still covers every authority.
    let wide = f.tmp.path().join("revocations.json");
    write_revocations(
        &wide,
        &[(ISSUER, SUBJECT, DateTime::from_timestamp(t, 0).unwrap())],
    );
    let mut config = f.config.clone();
    config.revocations_file = Some(wide);
    let auth = Authenticator::from_config(&config).unwrap();
    for claims in [good_claims(), as_other] {
        assert_eq!(
            auth.authenticate_bearer(Some(&format!("Bearer {}", f.idp.sign(&claims))), now()),
            Err(AuthError::Revoked)
        );
    }
}

#[test]
fn one_authoritys_broken_list_keeps_its_own_and_holds_up_no_other() {
    let t = now().timestamp();
    let (f, ours, theirs) = revoking_per_authority();
    let before = DateTime::from_timestamp(t, 0).unwrap();
    write_revocations(&ours, &[(ISSUER, SUBJECT, before)]);
    f.auth.reload_revocations().unwrap();
    assert_eq!(f.check_claims(&good_claims()), Err(AuthError::Revoked));

    // Our list is broken by an edit; theirs gains an entry at the same time.
    std::fs::write(&ours, "{ not json").unwrap();
    write_revocations(&theirs, &[(ISSUER, SUBJECT, before)]);
    let err = f.auth.reload_revocations().unwrap_err();
    assert!(
        matches!(&err, IdentityError::Revocations { file, .. } if *file == ours),
        "{err}"
    );
    assert_eq!(
        f.check_claims(&good_claims()),
        Err(AuthError::Revoked),
        "our previous list stays in force"
    );
    assert_eq!(
        f.check_claims(&with(
            good_claims(),
            "cpc_authority",
            json!(OTHER_AUTHORITY)
        )),
        Err(AuthError::Revoked),
        "their new list is read all the same"
    );
    // At start-up, a broken list stops the process, naming the file.
    let err = Authenticator::from_config(&f.config).unwrap_err();
    assert!(
        matches!(&err, IdentityError::Revocations { file, .. } if *file == ours),
        "{err}"
    );
}

#[test]
fn authority_revocations_are_keyed_by_valid_authority_ids() {
    let mut f = Fixture::production();
    for (authority, file, reason) in [
        (
            "E1 0000013",
            "/etc/cpc/revocations/x.json",
            "an authority id is",
        ),
        (AUTHORITY, "", "the file must not be empty"),
    ] {
        f.config.authority_revocations = [(authority.to_owned(), PathBuf::from(file))].into();
        let err = Authenticator::from_config(&f.config).unwrap_err();
        assert!(
            matches!(&err, IdentityError::InvalidAuthorityRevocations { .. })
                && err.to_string().contains(reason),
            "{err}"
        );
    }
    let config: IdentityConfig = serde_json::from_value(json!({
        "mode": "development",
        "authority_revocations": { "E10000013": "/etc/cpc/revocations/E10000013.json" }
    }))
    .unwrap();
    assert_eq!(
        config.authority_revocations[AUTHORITY],
        PathBuf::from("/etc/cpc/revocations/E10000013.json")
    );
}

thread_local! {
    /// What this thread has logged since it began capturing, if it is.
    static CAPTURED: std::cell::RefCell<Option<Vec<u8>>> = const { std::cell::RefCell::new(None) };
}

/// Writes a log line to the capture of the thread that logged it.
struct ThisThread;

impl std::io::Write for ThisThread {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        CAPTURED.with_borrow_mut(|captured| {
            if let Some(captured) = captured {
                captured.extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What `f` logs at warning level and above, as plain text.
///
/// One subscriber for the whole test binary, writing each thread's lines
/// to that thread's capture: with a subscriber set only for a while on one
/// thread (`with_default`), tracing works out a call site's interest from
/// whichever thread hits it first, so another test logging the same
/// warning at that moment could leave it unlogged here.
fn warnings_while(f: impl FnOnce()) -> String {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(|| ThisThread)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        tracing::callsite::rebuild_interest_cache();
    });
    CAPTURED.set(Some(Vec::new()));
    f();
    String::from_utf8(CAPTURED.take().unwrap_or_default()).unwrap()
}

#[test]
fn a_replayed_or_revoked_token_is_logged_with_whose_it_was_and_never_the_token() {
    let t = now().timestamp();
    let (f, _) = revoking(&[(ISSUER, SUBJECT, DateTime::from_timestamp(t, 0).unwrap())]);
    let revoked = f.idp.sign(&good_claims());
    let (portal, thumbprint) = portal_certificate("portal.example");
    let bound = f.idp.sign(&with(
        with(good_claims(), "cnf", json!({ "x5t#S256": thumbprint })),
        "sub",
        json!("someone-else"),
    ));
    for (token, error, subject, event) in [
        (
            &revoked,
            AuthError::Revoked,
            SUBJECT,
            "a revoked session was used",
        ),
        (
            &bound,
            AuthError::CertificateMismatch,
            "someone-else",
            "a token bound to a client certificate was presented without it",
        ),
    ] {
        let logged = warnings_while(|| assert_eq!(f.check(token), Err(error)));
        assert!(logged.contains(event), "{logged}");
        assert!(logged.contains(subject), "{logged}");
        assert!(logged.contains(ISSUER), "{logged}");
        for part in token.split('.') {
            assert!(!logged.contains(part), "{logged}");
        }
    }
    // With its certificate, the bound token is no event at all.
    let logged = warnings_while(|| {
        f.auth
            .authenticate_headers(&bearer_headers(&bound), Some(&portal), now())
            .unwrap();
    });
    assert_eq!(logged, "");
}
