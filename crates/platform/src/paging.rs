//! Keyset pagination with opaque page tokens.
//!
//! A token names the last row of the previous page by id only (never by
//! its sort key, which may be a name or a date of birth) plus a short hash
//! of the request's filters, so a token cannot be replayed against a
//! different query ("the other request fields must be unchanged"). Queries
//! compare their sort key with the sort key of that row, read back under
//! the same row-level security and only if the list would show it to the
//! caller (its case, child, conference or plan filter, and the caller's
//! own limits, applied to that row too): the hash is no secret, so a token
//! can be made up around any id, and the page it starts would otherwise
//! tell where a record the caller may not see sorts (a name, a date). A
//! token whose row the list does not show reads an empty page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::check::Check;

/// Page size when the request says 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page; larger requests are served this many.
pub const MAX_PAGE_SIZE: i64 = 500;

const TOKEN_VERSION: &str = "p1";

/// Which page of a list to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Rows per page, 1..=500.
    pub size: i64,
    /// The last row of the previous page.
    pub after: Option<Uuid>,
    filters: String,
}

impl PageRequest {
    /// Parses `page_size` and `page_token`; `filters` is a canonical text of
    /// every other field of the request (see [`FilterKey`]).
    pub fn parse(check: &mut Check, page_size: i32, page_token: &str, filters: &FilterKey) -> Self {
        let size = match page_size {
            0 => DEFAULT_PAGE_SIZE,
            n if n < 0 => {
                check.add("page_size", "must not be negative");
                DEFAULT_PAGE_SIZE
            }
            n => i64::from(n).min(MAX_PAGE_SIZE),
        };
        let filters = filters.digest();
        let after = if page_token.is_empty() {
            None
        } else {
            match decode(page_token) {
                Some((after, hash)) if hash == filters => Some(after),
                Some(_) => {
                    check.add(
                        "page_token",
                        "belongs to a request with different filters; send the same filters or no token",
                    );
                    None
                }
                None => {
                    check.add("page_token", "is not a token this service issued");
                    None
                }
            }
        };
        Self {
            size,
            after,
            filters,
        }
    }

    /// The first page of an unfiltered list of `size` rows (for internal use
    /// and tests).
    #[must_use]
    pub fn first(size: i64) -> Self {
        Self {
            size: size.clamp(1, MAX_PAGE_SIZE),
            after: None,
            filters: FilterKey::new().digest(),
        }
    }

    /// Rows to fetch: one more than the page, to learn whether there is a
    /// next page.
    #[must_use]
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and returns the next page token
    /// (empty when this is the last page).
    pub fn finish<T>(&self, rows: &mut Vec<T>, id: impl Fn(&T) -> Uuid) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|last| encode(id(last), &self.filters))
            .unwrap_or_default()
    }
}

/// A canonical text of a list request's filters, hashed into its tokens.
#[derive(Debug, Clone, Default)]
pub struct FilterKey(String);

impl FilterKey {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one filter, by name and value.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl FilterValue) -> Self {
        self.0.push_str(name);
        self.0.push('=');
        value.write(&mut self.0);
        self.0.push(';');
        self
    }

    fn digest(&self) -> String {
        let hash = Sha256::digest(self.0.as_bytes());
        hash.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// A filter's value as the key spells it. Messages are spelt by their
/// encoding, not their `Debug`: a cpc message's `Debug` names its type only
/// (it may carry personal data), so two different date ranges would be the
/// same filter. Only a hash of the key leaves the process.
pub trait FilterValue {
    fn write(self, out: &mut String);
}

impl FilterValue for &str {
    fn write(self, out: &mut String) {
        out.push_str(&format!("{self:?}"));
    }
}

impl FilterValue for &String {
    fn write(self, out: &mut String) {
        self.as_str().write(out);
    }
}

impl FilterValue for i32 {
    fn write(self, out: &mut String) {
        out.push_str(&self.to_string());
    }
}

impl FilterValue for bool {
    fn write(self, out: &mut String) {
        out.push_str(if self { "true" } else { "false" });
    }
}

/// A message field (prost makes every one an `Option`).
impl<M: prost::Message> FilterValue for Option<M> {
    fn write(self, out: &mut String) {
        match self {
            None => out.push('-'),
            Some(message) => {
                for byte in message.encode_to_vec() {
                    out.push_str(&format!("{byte:02x}"));
                }
            }
        }
    }
}

fn encode(after: Uuid, filters: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{TOKEN_VERSION}:{after}:{filters}"))
}

fn decode(token: &str) -> Option<(Uuid, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split(':');
    let (Some(TOKEN_VERSION), Some(id), Some(hash), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let id = Uuid::parse_str(id).ok()?;
    (hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit())).then(|| (id, hash.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_default_and_cap() {
        let key = FilterKey::new();
        let mut check = Check::new();
        assert_eq!(PageRequest::parse(&mut check, 0, "", &key).size, 50);
        assert_eq!(PageRequest::parse(&mut check, 7, "", &key).size, 7);
        assert_eq!(PageRequest::parse(&mut check, 10_000, "", &key).size, 500);
        assert!(check.is_clean());
        PageRequest::parse(&mut check, -1, "", &key);
        assert!(!check.is_clean());
    }

    #[test]
    fn message_filters_are_told_apart_by_their_contents() {
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        let key = |value: Option<prost_types::Timestamp>| {
            FilterKey::new().with("due_before", value).digest()
        };
        assert_ne!(key(at(1)), key(at(2)));
        assert_ne!(key(at(0)), key(None));
        assert_eq!(key(at(1)), key(at(1)));
    }

    #[test]
    fn tokens_round_trip_only_with_the_same_filters() {
        let key = FilterKey::new().with("status", 1);
        let page = PageRequest::parse(&mut Check::new(), 2, "", &key);
        let ids = [Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4()];
        let mut rows = ids.to_vec();
        let token = page.finish(&mut rows, |id| *id);
        assert_eq!(rows, ids[..2]);
        assert!(!token.is_empty());

        let mut check = Check::new();
        let next = PageRequest::parse(&mut check, 2, &token, &key);
        assert!(check.is_clean());
        assert_eq!(next.after, Some(ids[1]));

        let mut check = Check::new();
        PageRequest::parse(&mut check, 2, &token, &FilterKey::new().with("status", 2));
        let err = check.finish().unwrap_err().to_string();
        assert_eq!(err, "invalid argument: invalid fields: page_token");

        for forged in [
            "garbage",
            "cDE6eHh4",
            &URL_SAFE_NO_PAD.encode("p1:not-a-uuid:0011223344556677"),
        ] {
            let mut check = Check::new();
            PageRequest::parse(&mut check, 2, forged, &key);
            assert!(!check.is_clean(), "{forged}");
        }

        let mut last = vec![ids[0]];
        assert_eq!(page.finish(&mut last, |id| *id), "");
    }
}
