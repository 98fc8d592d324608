//! [`Jwks`]: an issuer's published verification keys (RFC 7517), parsed and
//! checked once, each pinned to the one algorithm it may verify.
//!
//! Only public RS256 (2048–4096 bit), ES256 (P-256) and EdDSA (Ed25519) keys
//! with a `kid` are kept. Keys for other algorithms or for encryption are
//! skipped (IdPs publish those too); a set that carries private or symmetric
//! key material is refused outright, since it means a secret was published
//! or the wrong file was configured.

use std::fmt;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::error::JwksError;

/// The largest JWKS file read.
pub const MAX_JWKS_BYTES: usize = 1024 * 1024;

/// One verification key, pinned to its algorithm.
#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
    material: KeyMaterial,
}

/// The public key bytes, for comparing key sets (the development key must
/// never be trusted in production).
#[derive(Clone, PartialEq, Eq)]
enum KeyMaterial {
    Rsa,
    P256,
    Ed25519([u8; 32]),
}

/// An issuer's verification keys. Cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct Jwks {
    keys: Vec<VerificationKey>,
}

impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| (k.kid.as_str(), k.alg)))
            .finish()
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<RawJwk>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: String,
    kid: Option<String>,
    #[serde(rename = "use")]
    public_key_use: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
    n: Option<String>,
    e: Option<String>,
    // Private or symmetric parameters: their presence refuses the set.
    d: Option<IgnoredAny>,
    p: Option<IgnoredAny>,
    q: Option<IgnoredAny>,
    dp: Option<IgnoredAny>,
    dq: Option<IgnoredAny>,
    qi: Option<IgnoredAny>,
    oth: Option<IgnoredAny>,
    k: Option<IgnoredAny>,
}

impl RawJwk {
    fn has_secret_material(&self) -> bool {
        self.kty == "oct"
            || self.d.is_some()
            || self.p.is_some()
            || self.q.is_some()
            || self.dp.is_some()
            || self.dq.is_some()
            || self.qi.is_some()
            || self.oth.is_some()
            || self.k.is_some()
    }
}

impl Jwks {
    /// Parses an RFC 7517 JWK set (`{"keys": [...]}`).
    ///
    /// # Errors
    /// Not a JWK set, secret material present, an invalid or wrong-sized
    /// key, a repeated `kid`, or no usable key at all.
    pub fn from_json(json: &[u8]) -> Result<Self, JwksError> {
        if json.len() > MAX_JWKS_BYTES {
            return Err(JwksError::TooLarge {
                max: MAX_JWKS_BYTES,
            });
        }
        let raw: RawSet = serde_json::from_slice(json)?;
        let mut keys: Vec<VerificationKey> = Vec::with_capacity(raw.keys.len());
        for jwk in raw.keys {
            if jwk.has_secret_material() {
                return Err(JwksError::SecretMaterial { kid: jwk.kid });
            }
            let Some(key) = usable_key(&jwk)? else {
                tracing::warn!(
                    kid = jwk.kid.as_deref().unwrap_or(""),
                    kty = %jwk.kty,
                    alg = jwk.alg.as_deref().unwrap_or(""),
                    "skipping JWKS key: not an RS256, ES256 or EdDSA signing key with a kid"
                );
                continue;
            };
            if keys.iter().any(|k| k.kid == key.kid) {
                return Err(JwksError::DuplicateKid { kid: key.kid });
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(JwksError::NoUsableKeys);
        }
        Ok(Self { keys })
    }

    /// Reads and parses a JWKS file (at most 1 MiB).
    ///
    /// # Errors
    /// As [`Jwks::from_json`], or the file cannot be read.
    pub fn load(path: &Path) -> Result<Self, JwksError> {
        Self::from_json(&crate::bounded::read_file(path, MAX_JWKS_BYTES)?)
    }

    /// The number of usable keys (never zero).
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a set with no usable key is refused when parsed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key ids, in file order.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    pub(crate) fn find(&self, kid: &str) -> Option<&VerificationKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Whether the set holds this Ed25519 public key (under any kid).
    pub(crate) fn contains_ed25519(&self, public: &[u8; 32]) -> bool {
        self.keys
            .iter()
            .any(|k| k.material == KeyMaterial::Ed25519(*public))
    }

    /// A one-key set for an Ed25519 public key already known to be valid.
    pub(crate) fn from_ed25519(kid: String, public: [u8; 32]) -> Self {
        Self {
            keys: vec![VerificationKey {
                kid,
                alg: Algorithm::EdDSA,
                key: DecodingKey::from_ed_der(&public),
                material: KeyMaterial::Ed25519(public),
            }],
        }
    }
}

/// The verification key for `jwk`, `Ok(None)` if it is not a usable signing
/// key, or an error if it claims to be one but is invalid.
fn usable_key(jwk: &RawJwk) -> Result<Option<VerificationKey>, JwksError> {
    let Some(kid) = jwk.kid.clone().filter(|k| !k.is_empty()) else {
        return Ok(None);
    };
    if jwk.public_key_use.as_deref().is_some_and(|u| u != "sig") {
        return Ok(None);
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Ok(None);
    }
    let alg = jwk.alg.as_deref();
    let crv = jwk.crv.as_deref();
    let (alg, key, material, kty) = match (jwk.kty.as_str(), alg, crv) {
        ("RSA", None | Some("RS256"), _) => {
            let (n, e) = (b64(jwk.n.as_deref()), b64(jwk.e.as_deref()));
            let (Some(n), Some(e)) = (n, e) else {
                return Err(invalid(kid, "RSA"));
            };
            let n = strip_leading_zeros(&n);
            let e = strip_leading_zeros(&e);
            let bits = bit_length(n);
            if !(2048..=4096).contains(&bits) {
                return Err(JwksError::RsaKeySize { kid, bits });
            }
            let e_odd = e.last().is_some_and(|b| b & 1 == 1);
            if e.is_empty() || e.len() > 8 || !e_odd || (e.len() == 1 && e[0] < 3) {
                return Err(invalid(kid, "RSA"));
            }
            let key = DecodingKey::from_rsa_raw_components(n, e);
            (Algorithm::RS256, key, KeyMaterial::Rsa, "RSA")
        }
        ("EC", None | Some("ES256"), Some("P-256")) => {
            let (x, y) = (b64(jwk.x.as_deref()), b64(jwk.y.as_deref()));
            let (Some(x), Some(y)) = (x, y) else {
                return Err(invalid(kid, "EC P-256"));
            };
            if x.len() != 32 || y.len() != 32 {
                return Err(invalid(kid, "EC P-256"));
            }
            let mut point = Vec::with_capacity(65);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            let key = DecodingKey::from_ec_der(&point);
            (Algorithm::ES256, key, KeyMaterial::P256, "EC P-256")
        }
        ("OKP", None | Some("EdDSA" | "Ed25519"), Some("Ed25519")) => {
            let public: Option<[u8; 32]> =
                b64(jwk.x.as_deref()).and_then(|x| <[u8; 32]>::try_from(x.as_slice()).ok());
            let Some(public) = public else {
                return Err(invalid(kid, "Ed25519"));
            };
            match ed25519_dalek::VerifyingKey::from_bytes(&public) {
                Ok(vk) if !vk.is_weak() => {}
                _ => return Err(invalid(kid, "Ed25519")),
            }
            let key = DecodingKey::from_ed_der(&public);
            (
                Algorithm::EdDSA,
                key,
                KeyMaterial::Ed25519(public),
                "Ed25519",
            )
        }
        _ => return Ok(None),
    };
    // The crypto backend builds its verifier from the key on each call; make
    // sure it accepts this one now rather than on the first request.
    if jsonwebtoken::crypto::verify("AAAA", b"probe", &key, alg).is_err() {
        return Err(invalid(kid, kty));
    }
    Ok(Some(VerificationKey {
        kid,
        alg,
        key,
        material,
    }))
}

fn invalid(kid: String, kty: &'static str) -> JwksError {
    JwksError::InvalidKey { kid, kty }
}

fn b64(value: Option<&str>) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(value?).ok()
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

fn bit_length(big_endian: &[u8]) -> usize {
    match big_endian.first() {
        None => 0,
        Some(first) => (big_endian.len() - 1) * 8 + (8 - first.leading_zeros() as usize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn set(keys: &serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap()
    }

    #[test]
    fn parses_an_ed25519_key_and_pins_eddsa() {
        let jwks = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "k1", "use": "sig" }
        ])))
        .unwrap();
        assert_eq!(jwks.len(), 1);
        assert_eq!(jwks.find("k1").unwrap().alg, Algorithm::EdDSA);
        assert_eq!(jwks.key_ids().collect::<Vec<_>>(), vec!["k1"]);
    }

    #[test]
    fn refuses_symmetric_and_private_keys() {
        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "oct", "k": "c2VjcmV0", "kid": "hmac" }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::SecretMaterial { kid: Some(ref k) } if k == "hmac"));
        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "d": ED_X, "kid": "k1" }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::SecretMaterial { .. }));
    }

    #[test]
    fn skips_unusable_keys_but_needs_at_least_one() {
        let jwks = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X },
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "enc", "use": "enc" },
            { "kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "ps", "alg": "PS256" },
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "ok" }
        ])))
        .unwrap();
        assert_eq!(jwks.key_ids().collect::<Vec<_>>(), vec!["ok"]);
        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::NoUsableKeys));
        assert!(matches!(Jwks::from_json(b"[]"), Err(JwksError::Json(_))));
    }

    #[test]
    fn refuses_short_rsa_keys_bad_points_and_duplicate_kids() {
        let n = URL_SAFE_NO_PAD.encode([0xC5u8; 128]); // 1024 bits
        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "RSA", "n": n, "e": "AQAB", "kid": "small" }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::RsaKeySize { bits: 1024, .. }));

        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": "short" }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::InvalidKey { kty: "Ed25519", .. }));

        let zeros = URL_SAFE_NO_PAD.encode([0u8; 32]);
        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "EC", "crv": "P-256", "x": zeros, "y": zeros, "kid": "not-on-curve" }
        ])))
        .unwrap_err();
        assert!(matches!(
            err,
            JwksError::InvalidKey {
                kty: "EC P-256",
                ..
            }
        ));

        let err = Jwks::from_json(&set(&serde_json::json!([
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "same" },
            { "kty": "OKP", "crv": "Ed25519", "x": ED_X, "kid": "same" }
        ])))
        .unwrap_err();
        assert!(matches!(err, JwksError::DuplicateKid { .. }));
    }

    #[test]
    fn bit_length_counts_from_the_top_bit() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(strip_leading_zeros(&[0, 0, 1]), &[1]);
    }
}
