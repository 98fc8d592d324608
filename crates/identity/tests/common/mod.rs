//! A stand-in identity provider for the identity tests: issuer, audience,
//! a fixed clock and Ed25519 signing keys published as JWKs.

#![allow(dead_code, reason = "each test binary uses part of it")]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const ISSUER: &str = "https://idp.test/realms/cpc";
pub const AUDIENCE: &str = "cpc-api";
pub const AUTHORITY: &str = "E10000013";

/// The tests' clock: tokens are minted and checked at this instant.
pub fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

/// One Ed25519 signing key of the stand-in identity provider.
pub struct Idp {
    pub signing: SigningKey,
    pub kid: String,
}

impl Idp {
    pub fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        Self {
            signing: SigningKey::from_bytes(&seed),
            kid: kid.to_owned(),
        }
    }

    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes())
    }

    pub fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "x": self.public_x(), "kid": self.kid, "alg": "EdDSA", "use": "sig" })
    }

    pub fn encoding_key(&self) -> EncodingKey {
        EncodingKey::from_ed_der(self.signing.to_pkcs8_der().unwrap().as_bytes())
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).unwrap()
    }
}

/// The claims of a valid token from the provider at [`now`].
pub fn good_claims() -> Value {
    let t = now().timestamp();
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "7d0c2b1e-5f3a-4c1e-9a7b-2f4e6d8c0a1b",
        "iat": t - 10,
        "nbf": t - 10,
        "exp": t + 600,
        "jti": "token-1",
        "azp": "police-portal",
        "cpc_authority": AUTHORITY,
        "cpc_roles": ["team_manager", "social_worker"],
        "cpc_agency": { "kind": "childrens_social_care", "name": "Gloucestershire County Council" }
    })
}

/// Waits for `done` to hold; the deadline is only reached when a test fails.
pub async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// Long enough for a refresh that should not change anything to have
/// happened (a loopback fetch or a local file read).
pub async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}
