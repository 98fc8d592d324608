//! The hash chain: `hash = SHA-256(prev_hash || canonical_encoding(seq, record))`.
//!
//! # Canonical encoding, version 1
//! Fields in this fixed order, each self-delimiting, so the encoding is
//! injective (two different `(seq, record)` pairs never encode alike, e.g.
//! `("ab", "c")` and `("a", "bc")` in adjacent fields differ in their
//! length prefixes):
//!
//! | field | encoding |
//! | --- | --- |
//! | format tag | str `"cpc.audit.v1"` |
//! | seq | i64, 8 bytes big-endian |
//! | occurred_at | i64 microseconds since 1970-01-01T00:00:00Z, 8 bytes big-endian (floor; Postgres keeps microseconds) |
//! | request_id, actor_subject, actor_kind | str |
//! | on_behalf_of | opt str |
//! | role, authority_id | str |
//! | agency | opt str |
//! | case_id | opt uuid |
//! | child_ids | list of uuid |
//! | action | str |
//! | decision | str, `"allow"` or `"deny"` |
//! | policy_ids | list of str |
//! | reason | opt str |
//!
//! where *str* is the UTF-8 byte length as u64 big-endian then the bytes,
//! *uuid* the 16 bytes of the UUID, *opt X* a byte `0` (absent) or `1`
//! followed by X, and *list of X* the count as u64 big-endian then each X.
//!
//! # Version 2: a record that names a record
//! A row with `named_kind` and `named_id` (a refusal for a record not in
//! the caller's authority) is encoded as version 1 with the format tag
//! str `"cpc.audit.v2"`, followed by `named_kind` (str) and `named_id`
//! (str). Rows without them keep the version-1 encoding, so logs written
//! before version 2 verify unchanged. The two tags differ, so no row of one
//! version encodes like a row of the other: clearing or adding a named
//! record changes the hash.
//!
//! # Version 3: a record that names the caller's credential
//! A row with `credential_id` (`token:<jti>` or
//! `certificate:sha256:<hex>`) is encoded as version 1 with the format tag
//! str `"cpc.audit.v3"`, followed by the named record as *opt* (a byte `0`,
//! or `1` then `named_kind` (str) and `named_id` (str)), then
//! `credential_id` (str). Rows without a credential id keep the version-1
//! or version-2 encoding, so logs written before version 3 verify
//! unchanged; clearing, adding or changing a credential id changes the
//! hash.
//!
//! # Version 4: a record that names the policy set that decided
//! A row with `policy_set` (the 64-hex-digit digest of the policy texts) is
//! encoded as version 1 with the format tag str `"cpc.audit.v4"`, followed
//! by the named record as *opt* (as in version 3), the credential id as
//! *opt str*, then `policy_set` (str). Rows without a policy set keep
//! their earlier encoding; clearing, adding or changing the policy set
//! changes the hash.
//!
//! An external verifier needs only these four tables, SHA-256 and the
//! rows.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::record::NewAuditRecord;

/// Tag leading every version-1 encoding; a new format gets a new tag.
pub const ENCODING_TAG: &str = "cpc.audit.v1";

/// Tag leading the version-2 encoding of a record that names a record.
pub const ENCODING_TAG_NAMED: &str = "cpc.audit.v2";

/// Tag leading the version-3 encoding of a record with the caller's
/// credential id.
pub const ENCODING_TAG_CREDENTIAL: &str = "cpc.audit.v3";

/// Tag leading the version-4 encoding of a record with the digest of the
/// policy set that decided.
pub const ENCODING_TAG_POLICY_SET: &str = "cpc.audit.v4";

/// A SHA-256 link of the chain: an entry's `hash` or `prev_hash`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainHash([u8; 32]);

impl ChainHash {
    /// The `prev_hash` of seq 1: 32 zero bytes.
    pub const GENESIS: Self = Self([0; 32]);

    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// `None` unless `bytes` is exactly 32 long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters (how anchors are usually written down).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }

    /// Parses 64 hex digits (either case); `None` otherwise.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let digits = hex.as_bytes();
        if digits.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (hex_value(pair[0])? << 4) | hex_value(pair[1])?;
        }
        Some(Self(out))
    }
}

pub(crate) fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

/// The canonical encoding of `(seq, record)`: version 4 for a record with
/// the policy set that decided, else version 3 for a record with the
/// caller's credential id, else version 2 for a record that names a record,
/// else version 1 (see the module docs).
pub fn canonical_encoding(seq: i64, record: &NewAuditRecord) -> Vec<u8> {
    let mut e = Encoder::default();
    e.str(
        match (&record.policy_set, &record.credential_id, &record.named) {
            (Some(_), _, _) => ENCODING_TAG_POLICY_SET,
            (None, Some(_), _) => ENCODING_TAG_CREDENTIAL,
            (None, None, Some(_)) => ENCODING_TAG_NAMED,
            (None, None, None) => ENCODING_TAG,
        },
    );
    e.i64(seq);
    e.i64(record.occurred_at.timestamp_micros());
    e.str(&record.request_id);
    e.str(&record.actor_subject);
    e.str(&record.actor_kind);
    e.opt_str(record.on_behalf_of.as_deref());
    e.str(&record.role);
    e.str(&record.authority_id);
    e.opt_str(record.agency.as_deref());
    e.opt_uuid(record.case_id.as_ref());
    e.len(record.child_ids.len());
    for id in &record.child_ids {
        e.uuid(id);
    }
    e.str(&record.action);
    e.str(record.decision.as_str());
    e.len(record.policy_ids.len());
    for id in &record.policy_ids {
        e.str(id);
    }
    e.opt_str(record.reason.as_deref());
    if let Some(policy_set) = &record.policy_set {
        // Version 4: the named record and the credential are optional.
        e.present(record.named.is_some());
        if let Some(named) = &record.named {
            e.str(&named.kind);
            e.str(&named.id);
        }
        e.opt_str(record.credential_id.as_deref());
        e.str(policy_set);
        return e.0;
    }
    if record.credential_id.is_some() {
        // Version 3: the named record is optional here, so it is marked.
        e.present(record.named.is_some());
    }
    if let Some(named) = &record.named {
        e.str(&named.kind);
        e.str(&named.id);
    }
    if let Some(credential_id) = &record.credential_id {
        e.str(credential_id);
    }
    e.0
}

/// `SHA-256(prev_hash || canonical_encoding(seq, record))`.
pub fn chain_hash(prev_hash: &ChainHash, seq: i64, record: &NewAuditRecord) -> ChainHash {
    let mut sha = Sha256::new();
    sha.update(prev_hash.as_bytes());
    sha.update(canonical_encoding(seq, record));
    ChainHash(sha.finalize().into())
}

/// The self-delimiting primitives of the encoding; also used for page-token
/// fingerprints.
#[derive(Default)]
pub(crate) struct Encoder(pub(crate) Vec<u8>);

impl Encoder {
    pub(crate) fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn len(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u64).to_be_bytes());
    }

    pub(crate) fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    pub(crate) fn uuid(&mut self, id: &uuid::Uuid) {
        self.0.extend_from_slice(id.as_bytes());
    }

    pub(crate) fn present(&mut self, present: bool) {
        self.0.push(u8::from(present));
    }

    pub(crate) fn opt_str(&mut self, s: Option<&str>) {
        self.present(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }

    pub(crate) fn opt_uuid(&mut self, id: Option<&uuid::Uuid>) {
        self.present(id.is_some());
        if let Some(id) = id {
            self.uuid(id);
        }
    }

    pub(crate) fn opt_i64(&mut self, v: Option<i64>) {
        self.present(v.is_some());
        if let Some(v) = v {
            self.i64(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_junk() {
        let h = ChainHash::from_bytes(std::array::from_fn(|i| u8::try_from(i * 7).unwrap_or(0)));
        assert_eq!(ChainHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(ChainHash::from_hex(&h.to_hex().to_uppercase()), Some(h));
        assert_eq!(ChainHash::from_hex(&h.to_hex()[1..]), None);
        assert_eq!(ChainHash::from_hex(&"g".repeat(64)), None);
        assert_eq!(ChainHash::GENESIS.to_hex(), "0".repeat(64));
        assert_eq!(ChainHash::from_slice(&[0; 31]), None);
    }

    #[test]
    fn sha256_is_the_standard_one() {
        // FIPS 180-2 test vector for "abc", through the same hasher.
        let digest: [u8; 32] = Sha256::digest(b"abc").into();
        assert_eq!(
            ChainHash::from_bytes(digest).to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
