//! Property tests: whatever arrives in the authorization header, the
//! Authenticator answers with an AuthError and never panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_identity::{Authenticator, IdentityConfig, Mode, Role};
use proptest::prelude::*;
use tempfile::TempDir;

struct Shared {
    _tmp: TempDir,
    auth: Authenticator,
    good: String,
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_900_000_000, 0).unwrap()
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let config = IdentityConfig {
            mode: Mode::Development,
            dev_key_dir: tmp.path().join("dev"),
            ..IdentityConfig::default()
        };
        let auth = Authenticator::from_config(&config).unwrap();
        let dev = DevKey::load_or_create(tmp.path().join("dev")).unwrap();
        let good = dev.mint_at(
            &DevClaims::new("u", "E10000013", [Role::SocialWorker]),
            now(),
        );
        assert!(
            auth.authenticate_bearer(Some(&format!("Bearer {good}")), now())
                .is_ok()
        );
        Shared {
            _tmp: tmp,
            auth,
            good,
        }
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_as_a_bearer_token_give_an_auth_error(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = shared();
        let text = String::from_utf8_lossy(&bytes);
        let value = format!("Bearer {text}");
        prop_assert!(s.auth.authenticate_bearer(Some(&value), now()).is_err());
        prop_assert!(s.auth.authenticate_bearer(Some(&text), now()).is_err());
    }

    #[test]
    fn arbitrary_jws_shaped_tokens_give_an_auth_error(
        header in proptest::collection::vec(any::<u8>(), 0..256),
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        signature in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let s = shared();
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        let value = format!("Bearer {token}");
        prop_assert!(s.auth.authenticate_bearer(Some(&value), now()).is_err());
    }

    #[test]
    fn arbitrary_json_claims_under_a_real_header_give_an_auth_error(
        alg in prop_oneof![
            Just("EdDSA".to_owned()),
            Just("none".to_owned()),
            Just("HS256".to_owned()),
            Just("RS256".to_owned()),
            Just("ES256".to_owned()),
            "[A-Za-z0-9]{0,8}",
        ],
        kid in proptest::option::of("[a-z0-9-]{0,24}"),
        claims in any::<std::collections::BTreeMap<String, i64>>(),
        signature in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let s = shared();
        let header = serde_json::json!({ "alg": alg, "kid": kid });
        let token = format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(serde_json::to_string(&claims).unwrap().as_bytes()),
            b64(&signature)
        );
        let value = format!("Bearer {token}");
        prop_assert!(s.auth.authenticate_bearer(Some(&value), now()).is_err());
    }

    #[test]
    fn any_one_character_change_to_a_valid_token_is_refused(
        index in any::<proptest::sample::Index>(),
        replacement in proptest::char::range('!', '~'),
    ) {
        let s = shared();
        let mut chars: Vec<char> = s.good.chars().collect();
        let i = index.index(chars.len());
        prop_assume!(chars[i] != replacement);
        chars[i] = replacement;
        let token: String = chars.into_iter().collect();
        let value = format!("Bearer {token}");
        prop_assert!(s.auth.authenticate_bearer(Some(&value), now()).is_err());
    }
}
