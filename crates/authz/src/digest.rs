//! The policy set's digest: which text of the policies decided a call.
//!
//! Policies change (the information governance team edits them and a
//! rollout puts the edit in force), and an audit record kept for years must
//! say which text decided, not just which policy id. The digest is
//! SHA-256, lower-case hex, over:
//!
//! | field | encoding |
//! | --- | --- |
//! | format tag | str `"cpc.policies.v1"` |
//! | the schema | str (its text) |
//! | the policy files | the count as u64 big-endian, then for each file in byte order of its name: str (name), str (text) |
//!
//! where *str* is the UTF-8 byte length as u64 big-endian then the bytes.
//! So the digest of a folder in version control can be recomputed
//! (`cpcctl policies digest <dir>`) and matched with the records.

use sha2::{Digest as _, Sha256};

/// Tag leading the digest's input; a new format gets a new tag.
pub const POLICY_DIGEST_TAG: &str = "cpc.policies.v1";

/// The digest of a schema text and `(file name, text)` policy files, in any
/// order.
pub fn policy_set_digest<'a>(
    schema: &str,
    policies: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> String {
    let mut files: Vec<(&str, &str)> = policies.into_iter().collect();
    files.sort_unstable();
    let mut sha = Sha256::new();
    put(&mut sha, POLICY_DIGEST_TAG);
    put(&mut sha, schema);
    sha.update((files.len() as u64).to_be_bytes());
    for (name, text) in files {
        put(&mut sha, name);
        put(&mut sha, text);
    }
    sha.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// One *str*: the byte length, then the bytes.
fn put(sha: &mut Sha256, s: &str) {
    sha.update((s.len() as u64).to_be_bytes());
    sha.update(s.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_is_frozen_and_independent_of_file_order() {
        let digest = policy_set_digest("schema", [("b.cedar", "two"), ("a.cedar", "one")]);
        assert_eq!(
            digest,
            policy_set_digest("schema", [("a.cedar", "one"), ("b.cedar", "two")])
        );
        // Recomputed outside Rust (Python's hashlib over the same bytes).
        assert_eq!(digest, FROZEN);
    }

    #[test]
    fn any_change_to_a_text_or_name_changes_the_digest() {
        let base = policy_set_digest("schema", [("a.cedar", "one"), ("b.cedar", "two")]);
        for other in [
            policy_set_digest("schema ", [("a.cedar", "one"), ("b.cedar", "two")]),
            policy_set_digest("schema", [("a.cedar", "one"), ("b.cedar", "two ")]),
            policy_set_digest("schema", [("a.cedar", "one"), ("c.cedar", "two")]),
            policy_set_digest("schema", [("a.cedar", "one")]),
            // Moving text across a boundary.
            policy_set_digest("schema", [("a.cedar", "on"), ("b.cedar", "etwo")]),
            policy_set_digest("schem", [("aa.cedar", "one"), ("b.cedar", "two")]),
        ] {
            assert_ne!(base, other);
        }
    }

    const FROZEN: &str = "c6d743d88e7f8297fad7b43da39d47966ff8781ef5688e7089d2f739d825f179";
}
