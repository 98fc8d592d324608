//! Property tests of the revocation list, which people edit by hand: any
//! bytes give a list or an error, never a panic, and a listed person's
//! token is refused exactly when it was issued before their time.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::DateTime;
use cpc_identity::Revocations;
use proptest::prelude::*;
use serde_json::json;

/// Seconds from 1970 to 2100, the range tokens' times are in.
const TIMES: std::ops::Range<i64> = 0..4_102_444_800;

proptest! {
    #[test]
    fn any_bytes_give_a_list_or_an_error(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Revocations::from_json(&bytes);
    }

    #[test]
    fn any_json_shaped_entries_give_a_list_or_an_error(
        issuer in ".{0,40}",
        subject in ".{0,300}",
        time in ".{0,40}",
    ) {
        let file = json!({"revoked": [{"issuer": issuer, "subject": subject, "issued_before": time}]});
        let _ = Revocations::from_json(file.to_string().as_bytes());
    }

    #[test]
    fn a_listed_persons_token_is_revoked_exactly_when_issued_before_their_times(
        times in prop::collection::vec(TIMES, 1..4),
        issued_at in prop::option::of(TIMES),
    ) {
        let entries: Vec<_> = times
            .iter()
            .map(|t| json!({
                "issuer": "https://idp.example",
                "subject": "sw-1",
                "issued_before": DateTime::from_timestamp(*t, 0).unwrap().to_rfc3339(),
            }))
            .collect();
        let list = Revocations::from_json(json!({ "revoked": entries }).to_string().as_bytes()).unwrap();
        prop_assert_eq!(list.len(), 1);
        // Listed more than once: the latest time holds.
        let latest = times.iter().copied().max().unwrap();
        prop_assert_eq!(
            list.revokes("https://idp.example", "sw-1", issued_at),
            issued_at.is_none_or(|iat| iat < latest)
        );
        prop_assert!(!list.revokes("https://idp.example", "sw-2", issued_at));
    }
}
