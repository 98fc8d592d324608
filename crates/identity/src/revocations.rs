//! [`Revocations`]: people whose sessions an authority has ended before
//! their tokens expire.
//!
//! A bearer token stays valid until its `exp`, up to the issuer's
//! `max_token_lifetime` (at most 12 hours). Disabling an account at the
//! identity provider stops new tokens, not the ones already issued, so a
//! member of staff who is suspended, leaves in a hurry or loses a device
//! would otherwise keep their access for hours. The revocation file lists,
//! per issuer and subject, a time: every token of that person from a
//! session begun before it is refused, and a token from a later sign-in is
//! accepted again. A session begins at the token's `auth_time` when it has
//! one (so a token renewed by a refresh token after the time, from a sign-in
//! before it, is refused too), or else at its `iat`; a token with neither
//! cannot show it came later, and is refused.
//!
//! The file is JSON, kept by the council's security team next to the
//! policies (a ConfigMap in Kubernetes), and read again every
//! [`REVOCATIONS_REFRESH`]:
//!
//! ```json
//! {"revoked": [
//!   {"issuer": "https://login.example.gov.uk/realms/cpc",
//!    "subject": "5b1f0e2c-2a1d-4c6e-9d3a-0f4b8a7c6e21",
//!    "issued_before": "2026-12-06T20:15:00Z"}
//! ]}
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::config::valid_subject;

/// How often the revocation file is read again while serving: a revoked
/// person's next call after this is refused (plus, in Kubernetes, the time
/// the kubelet takes to update a mounted ConfigMap, about a minute).
pub const REVOCATIONS_REFRESH: Duration = Duration::from_secs(30);

/// The largest revocation file read: far more than any authority's staff,
/// and a bound on what a mistaken file can cost at every refresh.
pub const MAX_REVOCATIONS_BYTES: usize = 4 * 1024 * 1024;

/// The sessions revoked, by issuer and subject. Built from a file with
/// [`Revocations::load`] or from JSON with [`Revocations::from_json`];
/// empty by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// issuer → subject → tokens issued before this are refused. Nested,
    /// so a call is looked up by `&str` without allocating.
    issued_before: HashMap<String, HashMap<String, DateTime<Utc>>>,
}

/// Why a revocation file was refused. Names the entry by position, never
/// by the subject it holds.
#[derive(Debug, thiserror::Error)]
pub enum RevocationsError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file is larger than [`MAX_REVOCATIONS_BYTES`].
    #[error("larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// Not `{"revoked": [{"issuer", "subject", "issued_before"}...]}`, or a
    /// time without a UTC offset.
    #[error("not a revocation list: {0}")]
    Json(#[from] serde_json::Error),
    /// An entry's issuer is empty or its subject is not a valid subject.
    #[error("entry {index} (counting from 0): {reason}")]
    InvalidEntry {
        /// The entry's position in `revoked`.
        index: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    revoked: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    issuer: String,
    subject: String,
    issued_before: DateTime<Utc>,
}

impl Revocations {
    /// Reads and parses a revocation file.
    ///
    /// # Errors
    /// The file cannot be read, is too large or is not a valid list.
    pub fn load(path: &Path) -> Result<Self, RevocationsError> {
        Self::from_json(&crate::bounded::read_file(path, MAX_REVOCATIONS_BYTES)?)
    }

    /// Parses a revocation list. A person listed twice under one issuer is
    /// revoked up to the later time: revoking again never shortens an
    /// earlier revocation.
    ///
    /// # Errors
    /// Too large, not a valid list, or an entry with an empty issuer or an
    /// invalid subject.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RevocationsError> {
        if bytes.len() > MAX_REVOCATIONS_BYTES {
            return Err(RevocationsError::TooLarge {
                max: MAX_REVOCATIONS_BYTES,
            });
        }
        let file: File = serde_json::from_slice(bytes)?;
        let mut issued_before: HashMap<String, HashMap<String, DateTime<Utc>>> = HashMap::new();
        for (index, entry) in file.revoked.into_iter().enumerate() {
            let invalid = |reason| RevocationsError::InvalidEntry { index, reason };
            if entry.issuer.trim().is_empty() {
                return Err(invalid("issuer must not be empty"));
            }
            if !valid_subject(&entry.subject) {
                return Err(invalid(
                    "subject must be 1 to 255 bytes without control characters",
                ));
            }
            issued_before
                .entry(entry.issuer)
                .or_default()
                .entry(entry.subject)
                .and_modify(|time: &mut DateTime<Utc>| *time = (*time).max(entry.issued_before))
                .or_insert(entry.issued_before);
        }
        Ok(Self { issued_before })
    }

    /// The number of people revoked (issuer and subject pairs).
    #[must_use]
    pub fn len(&self) -> usize {
        self.issued_before.values().map(HashMap::len).sum()
    }

    /// Whether nobody is revoked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.issued_before.is_empty()
    }

    /// Whether a token of `subject` from `issuer`, from a session begun at
    /// `session_began` (its `auth_time`, or else its `iat`, in seconds), is
    /// revoked. A token without either cannot show it came after the
    /// revocation, so it is revoked too.
    #[must_use]
    pub fn revokes(&self, issuer: &str, subject: &str, session_began: Option<i64>) -> bool {
        let Some(before) = self
            .issued_before
            .get(issuer)
            .and_then(|subjects| subjects.get(subject))
        else {
            return false;
        };
        session_began.is_none_or(|began| began < before.timestamp())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(json: &serde_json::Value) -> Result<Revocations, RevocationsError> {
        Revocations::from_json(json.to_string().as_bytes())
    }

    fn at(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339).unwrap().timestamp()
    }

    #[test]
    fn tokens_issued_before_the_time_are_revoked_and_later_ones_are_not() {
        let revocations = list(&serde_json::json!({"revoked": [
            {"issuer": "https://idp.example", "subject": "sw-1", "issued_before": "2026-12-06T20:15:00Z"}
        ]}))
        .unwrap();
        assert_eq!(revocations.len(), 1);
        let revoked = |iat| revocations.revokes("https://idp.example", "sw-1", iat);
        assert!(revoked(Some(at("2026-12-06T20:14:59Z"))));
        assert!(revoked(Some(at("2026-01-01T00:00:00Z"))));
        assert!(revoked(None), "no iat: cannot show it came after");
        assert!(!revoked(Some(at("2026-12-06T20:15:00Z"))));
        assert!(!revoked(Some(at("2026-12-06T21:00:00Z"))));
        // Another person, or the same subject at another issuer, is untouched.
        assert!(!revocations.revokes("https://idp.example", "sw-2", None));
        assert!(!revocations.revokes("https://other.example", "sw-1", None));
    }

    #[test]
    fn times_need_an_offset_and_are_compared_in_utc() {
        let revocations = list(&serde_json::json!({"revoked": [
            {"issuer": "i", "subject": "s", "issued_before": "2026-07-01T09:00:00+01:00"}
        ]}))
        .unwrap();
        assert!(revocations.revokes("i", "s", Some(at("2026-07-01T07:59:59Z"))));
        assert!(!revocations.revokes("i", "s", Some(at("2026-07-01T08:00:00Z"))));
        let err = list(&serde_json::json!({"revoked": [
            {"issuer": "i", "subject": "s", "issued_before": "2026-07-01T09:00:00"}
        ]}))
        .unwrap_err();
        assert!(matches!(err, RevocationsError::Json(_)), "{err}");
    }

    #[test]
    fn a_person_listed_twice_is_revoked_up_to_the_later_time() {
        for order in [[0, 1], [1, 0]] {
            let times = ["2026-12-01T00:00:00Z", "2026-12-06T00:00:00Z"];
            let entries: Vec<_> = order
                .iter()
                .map(|&i| serde_json::json!({"issuer": "i", "subject": "s", "issued_before": times[i]}))
                .collect();
            let revocations = list(&serde_json::json!({ "revoked": entries })).unwrap();
            assert_eq!(revocations.len(), 1);
            assert!(revocations.revokes("i", "s", Some(at("2026-12-05T00:00:00Z"))));
            assert!(!revocations.revokes("i", "s", Some(at("2026-12-06T00:00:00Z"))));
        }
    }

    #[test]
    fn malformed_lists_are_refused_without_repeating_a_subject() {
        for (json, expected) in [
            (serde_json::json!({}), "missing field `revoked`"),
            (
                serde_json::json!({"revoked": [], "extra": 1}),
                "unknown field `extra`",
            ),
            (
                serde_json::json!({"revoked": [{"issuer": "i", "subject": "s"}]}),
                "missing field `issued_before`",
            ),
            (
                serde_json::json!({"revoked": [{"issuer": "i", "subject": "s", "issued_before": "2026-12-06T00:00:00Z", "reason": "x"}]}),
                "unknown field `reason`",
            ),
            (
                serde_json::json!({"revoked": [{"issuer": " ", "subject": "s", "issued_before": "2026-12-06T00:00:00Z"}]}),
                "entry 0 (counting from 0): issuer must not be empty",
            ),
            (
                serde_json::json!({"revoked": [
                    {"issuer": "i", "subject": "s", "issued_before": "2026-12-06T00:00:00Z"},
                    {"issuer": "i", "subject": "sw\u{7}secret", "issued_before": "2026-12-06T00:00:00Z"}
                ]}),
                "entry 1 (counting from 0): subject must be",
            ),
        ] {
            let err = list(&json).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
        let too_large = vec![b' '; MAX_REVOCATIONS_BYTES + 1];
        assert!(matches!(
            Revocations::from_json(&too_large),
            Err(RevocationsError::TooLarge { .. })
        ));
        assert!(
            list(&serde_json::json!({"revoked": []}))
                .unwrap()
                .is_empty()
        );
    }
}
