//! The canonical encoding is injective and frozen.

#![allow(
    clippy::expect_used,
    clippy::panic,
    reason = "test code fails the test"
)]

use chrono::DateTime;
use cpc_audit::{
    ChainHash, Decision, ENCODING_TAG, ENCODING_TAG_CREDENTIAL, ENCODING_TAG_NAMED,
    ENCODING_TAG_POLICY_SET, NamedRecord, NewAuditRecord, canonical_encoding, chain_hash,
};
use proptest::prelude::*;
use uuid::Uuid;

/// Short strings over a tiny alphabet, so that different field splits of
/// the same characters (`("ab","c")` vs `("a","bc")`) come up constantly.
fn text() -> impl Strategy<Value = String> {
    "[ab]{0,3}"
}

fn opt_text() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text())
}

fn uuid() -> impl Strategy<Value = Uuid> {
    (0u128..3).prop_map(Uuid::from_u128)
}

fn record() -> impl Strategy<Value = (i64, NewAuditRecord)> {
    (
        (
            0i64..3,
            -1i64..2,
            text(),
            text(),
            text(),
            opt_text(),
            text(),
            proptest::option::of((text(), text())),
            opt_text(),
        ),
        (
            text(),
            opt_text(),
            proptest::option::of(uuid()),
            proptest::collection::vec(uuid(), 0..3),
            text(),
            any::<bool>(),
            proptest::collection::vec(text(), 0..3),
            opt_text(),
            opt_text(),
        ),
    )
        .prop_map(
            |(
                (
                    seq,
                    micros,
                    request_id,
                    actor_subject,
                    actor_kind,
                    on_behalf_of,
                    role,
                    named,
                    credential_id,
                ),
                (
                    authority_id,
                    agency,
                    case_id,
                    child_ids,
                    action,
                    allow,
                    policy_ids,
                    reason,
                    policy_set,
                ),
            )| {
                let record = NewAuditRecord {
                    occurred_at: DateTime::from_timestamp_micros(micros).expect("in range"),
                    request_id,
                    actor_subject,
                    actor_kind,
                    on_behalf_of,
                    role,
                    authority_id,
                    agency,
                    case_id,
                    child_ids,
                    action,
                    decision: if allow {
                        Decision::Allow
                    } else {
                        Decision::Deny
                    },
                    policy_ids,
                    reason,
                    named: named.map(|(kind, id)| NamedRecord { kind, id }),
                    credential_id,
                    policy_set,
                };
                (seq, record)
            },
        )
}

/// Every text field's value, in encoding order, for building boundary
/// shifts. Lists contribute their elements.
fn texts(r: &NewAuditRecord) -> Vec<String> {
    let mut v = vec![
        r.request_id.clone(),
        r.actor_subject.clone(),
        r.actor_kind.clone(),
        r.on_behalf_of.clone().unwrap_or_default(),
        r.role.clone(),
        r.authority_id.clone(),
        r.agency.clone().unwrap_or_default(),
        r.action.clone(),
    ];
    v.extend(r.policy_ids.iter().cloned());
    v.push(r.reason.clone().unwrap_or_default());
    if let Some(named) = &r.named {
        v.push(named.kind.clone());
        v.push(named.id.clone());
    }
    if let Some(credential_id) = &r.credential_id {
        v.push(credential_id.clone());
    }
    if let Some(policy_set) = &r.policy_set {
        v.push(policy_set.clone());
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn different_records_never_encode_alike(a in record(), b in record()) {
        prop_assume!(a != b);
        prop_assert_ne!(canonical_encoding(a.0, &a.1), canonical_encoding(b.0, &b.1));
    }

    /// Moving characters across a boundary between two adjacent text fields
    /// keeps their concatenation but must change the encoding.
    #[test]
    fn shifting_a_field_boundary_changes_the_encoding(
        (seq, base) in record(),
        field in 0usize..9,
        (joined, split_a, offset) in "[ab]{1,6}".prop_flat_map(|j| {
            let n = j.len();
            (Just(j), 0..=n, 1..=n)
        }),
    ) {
        // Two different split points of `joined`.
        let split_b = (split_a + offset) % (joined.len() + 1);
        let with = |split: usize| {
            let mut r = base.clone();
            let (left, right) = joined.split_at(split);
            let (left, right) = (left.to_owned(), right.to_owned());
            match field {
                0 => { r.request_id = left; r.actor_subject = right; }
                1 => { r.actor_subject = left; r.actor_kind = right; }
                2 => { r.role = left; r.authority_id = right; }
                3 => { r.actor_kind = left; r.on_behalf_of = Some(right); }
                4 => { r.policy_ids = vec![left, right]; }
                5 => { r.policy_ids = vec![left]; r.reason = Some(right); }
                6 => {
                    r.reason = Some(left);
                    r.named = Some(NamedRecord { kind: right, id: "x".into() });
                }
                7 => { r.named = Some(NamedRecord { kind: left, id: right }); }
                _ => { r.credential_id = Some(left); r.policy_set = Some(right); }
            }
            r
        };
        let (a, b) = (with(split_a), with(split_b));
        prop_assert_eq!(texts(&a).concat(), texts(&b).concat());
        prop_assert_ne!(canonical_encoding(seq, &a), canonical_encoding(seq, &b));
    }
}

#[test]
fn the_classic_boundary_pair_differs() {
    let base = NewAuditRecord {
        occurred_at: DateTime::from_timestamp_micros(0).expect("epoch"),
        request_id: "ab".into(),
        actor_subject: "c".into(),
        actor_kind: "person".into(),
        on_behalf_of: None,
        role: "r".into(),
        authority_id: "la".into(),
        agency: None,
        case_id: None,
        child_ids: vec![],
        action: "/a.B/C".into(),
        decision: Decision::Allow,
        policy_ids: vec![],
        reason: None,
        named: None,
        credential_id: None,
        policy_set: None,
    };
    let shifted = NewAuditRecord {
        request_id: "a".into(),
        actor_subject: "bc".into(),
        ..base.clone()
    };
    assert_ne!(
        canonical_encoding(1, &base),
        canonical_encoding(1, &shifted)
    );
    // None and Some("") differ; an empty list and a list of one "" differ.
    let empty_reason = NewAuditRecord {
        reason: Some(String::new()),
        ..base.clone()
    };
    assert_ne!(
        canonical_encoding(1, &base),
        canonical_encoding(1, &empty_reason)
    );
    let empty_policy = NewAuditRecord {
        policy_ids: vec![String::new()],
        ..base.clone()
    };
    assert_ne!(
        canonical_encoding(1, &base),
        canonical_encoding(1, &empty_policy)
    );
}

fn frozen_record() -> NewAuditRecord {
    NewAuditRecord {
        occurred_at: DateTime::from_timestamp_micros(1_740_819_600_123_456).expect("valid"),
        request_id: "req-1".into(),
        actor_subject: "user-1".into(),
        actor_kind: "person".into(),
        on_behalf_of: Some("user-2".into()),
        role: "social_worker".into(),
        authority_id: "la-916".into(),
        agency: None,
        case_id: Some(Uuid::from_u128(0x10)),
        child_ids: vec![Uuid::from_u128(0xA), Uuid::from_u128(0xB)],
        action: "/cpc.cases.v1.CasesService/GetChild".into(),
        decision: Decision::Deny,
        policy_ids: vec!["case-membership-active".into()],
        reason: Some("no active membership".into()),
        named: None,
        credential_id: None,
        policy_set: None,
    }
}

/// A *str* of the encoding: the byte length, then the bytes.
fn str_(s: &str) -> Vec<u8> {
    let mut out = (s.len() as u64).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

/// The frozen record's version-1 fields, after its tag.
fn v1_fields() -> Vec<u8> {
    canonical_encoding(7, &frozen_record())[str_(ENCODING_TAG).len()..].to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The v1 format is frozen: a change here would make every stored chain
/// fail verification. A new format needs a new tag, not an edit.
#[test]
fn the_v1_encoding_and_hash_are_frozen() {
    let record = frozen_record();
    assert_eq!(hex(&canonical_encoding(7, &record)), FROZEN_ENCODING);
    assert_eq!(
        chain_hash(&ChainHash::GENESIS, 7, &record).to_hex(),
        FROZEN_HASH
    );
}

/// Version 2 is exactly what the module documents: the v1 fields under the
/// v2 tag, then the named record's kind and id as strings. Frozen too.
#[test]
fn the_v2_encoding_is_v1_retagged_with_the_named_record_and_frozen() {
    let record = NewAuditRecord {
        named: Some(NamedRecord {
            kind: "conference".into(),
            id: "0b4e".into(),
        }),
        ..frozen_record()
    };
    let mut expected = str_(ENCODING_TAG_NAMED);
    expected.extend(v1_fields());
    expected.extend(str_("conference"));
    expected.extend(str_("0b4e"));
    assert_eq!(hex(&canonical_encoding(7, &record)), hex(&expected));
    assert_eq!(
        chain_hash(&ChainHash::GENESIS, 7, &record).to_hex(),
        FROZEN_HASH_V2
    );
}

/// Version 3 is exactly what the module documents: the v1 fields under the
/// v3 tag, then the named record as an option, then the credential id.
/// Frozen.
#[test]
fn the_v3_encoding_is_v1_retagged_with_an_optional_named_record_and_the_credential_id() {
    let v1_fields = v1_fields();
    let with_credential = NewAuditRecord {
        credential_id: Some("token:jti-1".into()),
        ..frozen_record()
    };
    let mut expected = str_(ENCODING_TAG_CREDENTIAL);
    expected.extend_from_slice(&v1_fields);
    expected.push(0);
    expected.extend(str_("token:jti-1"));
    assert_eq!(
        hex(&canonical_encoding(7, &with_credential)),
        hex(&expected)
    );

    let named_with_credential = NewAuditRecord {
        named: Some(NamedRecord {
            kind: "conference".into(),
            id: "0b4e".into(),
        }),
        ..with_credential.clone()
    };
    let mut expected = str_(ENCODING_TAG_CREDENTIAL);
    expected.extend_from_slice(&v1_fields);
    expected.push(1);
    expected.extend(str_("conference"));
    expected.extend(str_("0b4e"));
    expected.extend(str_("token:jti-1"));
    assert_eq!(
        hex(&canonical_encoding(7, &named_with_credential)),
        hex(&expected)
    );
    assert_eq!(
        chain_hash(&ChainHash::GENESIS, 7, &with_credential).to_hex(),
        FROZEN_HASH_V3
    );
}

/// Version 4 is exactly what the module documents: the v1 fields under
/// the v4 tag, the named record and the credential id as options, then the
/// policy set's digest. Frozen.
#[test]
fn the_v4_encoding_is_v1_retagged_with_optional_named_record_and_credential_then_the_policy_set() {
    let v1_fields = v1_fields();
    let digest = "c6d743d88e7f8297fad7b43da39d47966ff8781ef5688e7089d2f739d825f179";
    let decided = NewAuditRecord {
        policy_set: Some(digest.into()),
        ..frozen_record()
    };
    let mut expected = str_(ENCODING_TAG_POLICY_SET);
    expected.extend_from_slice(&v1_fields);
    expected.push(0);
    expected.push(0);
    expected.extend(str_(digest));
    assert_eq!(hex(&canonical_encoding(7, &decided)), hex(&expected));
    assert_eq!(
        chain_hash(&ChainHash::GENESIS, 7, &decided).to_hex(),
        FROZEN_HASH_V4
    );

    let everything = NewAuditRecord {
        named: Some(NamedRecord {
            kind: "conference".into(),
            id: "0b4e".into(),
        }),
        credential_id: Some("token:jti-1".into()),
        ..decided
    };
    let mut expected = str_(ENCODING_TAG_POLICY_SET);
    expected.extend_from_slice(&v1_fields);
    expected.push(1);
    expected.extend(str_("conference"));
    expected.extend(str_("0b4e"));
    expected.push(1);
    expected.extend(str_("token:jti-1"));
    expected.extend(str_(digest));
    assert_eq!(hex(&canonical_encoding(7, &everything)), hex(&expected));
    assert_eq!(
        chain_hash(&ChainHash::GENESIS, 7, &everything).to_hex(),
        FROZEN_HASH_V4_FULL
    );
}

const FROZEN_ENCODING: &str = "000000000000000c6370632e61756469742e7631000000000000000700062f4425e2264000000000000000057265712d310000000000000006757365722d310000000000000006706572736f6e010000000000000006757365722d32000000000000000d736f6369616c5f776f726b657200000000000000066c612d39313600010000000000000000000000000000001000000000000000020000000000000000000000000000000a0000000000000000000000000000000b00000000000000232f6370632e63617365732e76312e4361736573536572766963652f4765744368696c64000000000000000464656e7900000000000000010000000000000016636173652d6d656d626572736869702d6163746976650100000000000000146e6f20616374697665206d656d62657273686970";
const FROZEN_HASH: &str = "455f86b062fe8663008844b088ebe22f1b6b09f85c69cbefdd0f3987ab5cd8d7";
const FROZEN_HASH_V2: &str = "ea39e788f80655a2c7cf64f26ce0b2c1891d30e60b53208637608a5c42b48c4f";
const FROZEN_HASH_V3: &str = "7e4c0a73ce3196f0f99a7114b8887efe8f4c566a9590948f5af87123a2f24a0c";
const FROZEN_HASH_V4: &str = "9ccf349e6a2ec8e5cad8ededdb44875a3bcc78ebb2a013f36d3eb2758bebe185";
const FROZEN_HASH_V4_FULL: &str =
    "1198c30e1355601b8376c9bffe4c2b19f626f9f41932aeebb1f17dfbce5b6ab1";
