//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf`
//! claim holds the SHA-256 thumbprint of a client certificate
//! (`x5t#S256`) is accepted only on a connection that presented that
//! certificate. A portal's token copied out of its logs or memory is then
//! of no use without the portal's private key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::error::{AuthError, ClaimError};

/// The `x5t#S256` thumbprint of a DER certificate: its SHA-256 digest,
/// base64url without padding, as an identity provider writes it into
/// `cnf` when it binds a token to the client's certificate.
#[must_use]
pub fn certificate_thumbprint(certificate_der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(certificate_der))
}

/// Checks the token's `cnf` against the client certificate the connection
/// presented (DER), if any.
///
/// - No `cnf`: accepted, unless the issuer requires bound tokens.
/// - `cnf` with `x5t#S256` alone: the presented certificate's thumbprint
///   must be that one.
/// - Any other `cnf` (a DPoP `jkt`, a raw key): a proof this service
///   cannot check, so refused rather than taken as a bearer token.
pub(crate) fn check_binding(
    cnf: Option<&Value>,
    presented: Option<&[u8]>,
    required: bool,
) -> Result<(), AuthError> {
    let Some(cnf) = cnf.filter(|v| !v.is_null()) else {
        return if required {
            Err(AuthError::NotCertificateBound)
        } else {
            Ok(())
        };
    };
    let invalid = AuthError::BadClaims(ClaimError::Confirmation);
    let Value::Object(members) = cnf else {
        return Err(invalid);
    };
    let (Some(Value::String(thumbprint)), 1) = (members.get("x5t#S256"), members.len()) else {
        return Err(invalid);
    };
    let expected = URL_SAFE_NO_PAD
        .decode(thumbprint)
        .ok()
        .filter(|digest| digest.len() == 32)
        .ok_or(invalid)?;
    match presented {
        Some(certificate) if Sha256::digest(certificate).as_slice() == expected.as_slice() => {
            Ok(())
        }
        _ => Err(AuthError::CertificateMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CERT: &[u8] = b"a DER certificate, as far as hashing is concerned";

    #[test]
    fn a_bound_token_needs_its_certificate() {
        let cnf = json!({ "x5t#S256": certificate_thumbprint(CERT) });
        assert_eq!(check_binding(Some(&cnf), Some(CERT), false), Ok(()));
        assert_eq!(check_binding(Some(&cnf), Some(CERT), true), Ok(()));
        assert_eq!(
            check_binding(Some(&cnf), Some(b"another certificate"), false),
            Err(AuthError::CertificateMismatch)
        );
        assert_eq!(
            check_binding(Some(&cnf), None, false),
            Err(AuthError::CertificateMismatch)
        );
    }

    #[test]
    fn an_unbound_token_is_accepted_unless_binding_is_required() {
        for cnf in [None, Some(&Value::Null)] {
            assert_eq!(check_binding(cnf, None, false), Ok(()));
            assert_eq!(check_binding(cnf, Some(CERT), false), Ok(()));
            assert_eq!(
                check_binding(cnf, Some(CERT), true),
                Err(AuthError::NotCertificateBound)
            );
        }
    }

    #[test]
    fn a_confirmation_this_service_cannot_check_is_refused() {
        let thumbprint = certificate_thumbprint(CERT);
        for cnf in [
            json!("x5t#S256"),
            json!([thumbprint]),
            json!({}),
            json!({ "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
            json!({ "x5t#S256": thumbprint, "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
            json!({ "x5t#S256": 7 }),
            json!({ "x5t#S256": "not base64!" }),
            json!({ "x5t#S256": URL_SAFE_NO_PAD.encode([0u8; 20]) }),
            json!({ "x5t#S256": format!("{thumbprint}=") }),
        ] {
            assert_eq!(
                check_binding(Some(&cnf), Some(CERT), false),
                Err(AuthError::BadClaims(ClaimError::Confirmation)),
                "{cnf}"
            );
        }
    }
}
