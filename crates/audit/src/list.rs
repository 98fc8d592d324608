//! Who accessed what (`cpc.audit.v1.AuditService/ListAccessRecords`).

use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::AuditError;
use crate::hash::{Encoder, hex_value};
use crate::record::{AuditEntry, Decision, is_policy_digest};
use crate::row;

/// Page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// Largest page returned, whatever is asked for.
pub const MAX_PAGE_SIZE: u32 = 500;

/// A search of the log, newest entry first. Every filter that is set must
/// match; none set lists the whole log. Maps field for field onto
/// `ListAccessRecordsRequest` (empty strings and 0 read as `None`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// Only entries of this authority.
    pub authority_id: Option<String>,
    /// With `authority_id` and `child_id`: also other authorities' entries
    /// naming the child that were refused under this rule (the rule a
    /// service records when a call names a record outside its caller's
    /// authority), so the authority that holds the child sees who elsewhere
    /// tried to reach it. Set it only for a child that authority holds.
    pub refused_elsewhere_under: Option<String>,
    /// With `refused_elsewhere_under`: also such refusals that named one of
    /// these records (`NewAuditRecord::named`), the child's other records
    /// (a case, a plan, a conference) in the service's schema, which only
    /// the authority holding them can tell are the child's.
    pub refused_elsewhere_naming: Vec<String>,
    /// Only entries naming this child among `child_ids`.
    pub child_id: Option<Uuid>,
    /// Only entries about this family case.
    pub case_id: Option<Uuid>,
    /// Only entries where this subject acted, as themselves
    /// (`actor_subject`) or as the person acted for (`on_behalf_of`).
    pub person_id: Option<String>,
    /// Only entries of calls made with this credential
    /// (`NewAuditRecord::credential_id`): tracing a stolen one.
    pub credential_id: Option<String>,
    /// Only entries of decisions made by this policy set
    /// (`NewAuditRecord::policy_set`): every call a policy text later found
    /// wrong allowed or refused.
    pub policy_set: Option<String>,
    /// Only entries decided by this policy or rule (among
    /// `NewAuditRecord::policy_ids`), e.g. every refused credential
    /// (`cpc:credential-refused`). With [`Decision::Deny`] an index serves
    /// it; otherwise the newest-first walk filters as it goes.
    pub policy_id: Option<String>,
    /// Only entries with this decision.
    pub decision: Option<Decision>,
    /// Only entries with `occurred_at >= from`.
    pub from: Option<DateTime<Utc>>,
    /// Only entries with `occurred_at < to`.
    pub to: Option<DateTime<Utc>>,
    /// Entries per page: 0 means [`DEFAULT_PAGE_SIZE`], and more than
    /// [`MAX_PAGE_SIZE`] means [`MAX_PAGE_SIZE`].
    pub page_size: u32,
    /// [`AccessPage::next_page_token`] of the previous page of the same
    /// query (filters unchanged; page size may change).
    pub page_token: Option<String>,
}

impl AccessQuery {
    /// The page size actually used.
    pub fn effective_page_size(&self) -> u32 {
        match self.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        }
    }

    /// What a page token is bound to: every filter, not the page size or
    /// position. A token presented with other filters is refused.
    fn fingerprint(&self) -> [u8; 8] {
        let mut e = Encoder::default();
        e.str("cpc.audit.list.v4");
        e.opt_str(self.authority_id.as_deref());
        e.opt_str(self.refused_elsewhere_under.as_deref());
        e.len(self.refused_elsewhere_naming.len());
        for id in &self.refused_elsewhere_naming {
            e.str(id);
        }
        e.opt_uuid(self.child_id.as_ref());
        e.opt_uuid(self.case_id.as_ref());
        e.opt_str(self.person_id.as_deref());
        e.opt_str(self.credential_id.as_deref());
        e.opt_str(self.policy_set.as_deref());
        e.opt_str(self.policy_id.as_deref());
        e.opt_str(self.decision.map(Decision::as_str));
        e.opt_i64(self.from.map(|t| t.timestamp_micros()));
        e.opt_i64(self.to.map(|t| t.timestamp_micros()));
        let digest = Sha256::digest(&e.0);
        let mut fp = [0u8; 8];
        fp.copy_from_slice(&digest[..8]);
        fp
    }
}

/// One page of entries, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPage {
    pub entries: Vec<AuditEntry>,
    /// Token for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// Lists entries matching `query`, newest first, a page at a time.
///
/// Pages are keyed on `seq` (the token encodes the last seq returned), so
/// entries appended while paging never shift or repeat what follows.
///
/// # Errors
/// [`AuditError::InvalidQuery`] for an empty text filter or `from >= to`;
/// [`AuditError::InvalidPageToken`] for a token not issued for this
/// query's filters; [`AuditError::Unreadable`]; [`AuditError::Database`].
pub async fn list_access(pool: &PgPool, query: &AccessQuery) -> Result<AccessPage, AuditError> {
    if query.authority_id.as_deref() == Some("") {
        return Err(AuditError::InvalidQuery("authority_id is empty"));
    }
    if query.person_id.as_deref() == Some("") {
        return Err(AuditError::InvalidQuery("person_id is empty"));
    }
    if query.credential_id.as_deref() == Some("") {
        return Err(AuditError::InvalidQuery("credential_id is empty"));
    }
    if query.policy_id.as_deref() == Some("") {
        return Err(AuditError::InvalidQuery("policy_id is empty"));
    }
    if query
        .policy_set
        .as_deref()
        .is_some_and(|digest| !is_policy_digest(digest))
    {
        return Err(AuditError::InvalidQuery(
            "policy_set is not 64 lower-case hex digits",
        ));
    }
    let elsewhere = query.refused_elsewhere_under.is_some();
    if (elsewhere && (query.authority_id.is_none() || query.child_id.is_none()))
        || (!elsewhere && !query.refused_elsewhere_naming.is_empty())
    {
        // Never a sweep of every authority's refusals: only about one child.
        return Err(AuditError::InvalidQuery(
            "refusals elsewhere are listed for one child of one authority",
        ));
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && from >= to
    {
        return Err(AuditError::InvalidQuery("time range ends before it starts"));
    }
    let fingerprint = query.fingerprint();
    let before = match &query.page_token {
        None => None,
        Some(token) => Some(decode_token(token, fingerprint)?),
    };
    let page_size = query.effective_page_size();

    let mut sql = QueryBuilder::<Postgres>::new("SELECT ");
    sql.push(row::COLUMNS).push(" FROM audit_log WHERE TRUE");
    match (
        &query.authority_id,
        &query.refused_elsewhere_under,
        query.child_id,
    ) {
        (Some(authority), Some(rule), Some(child)) => {
            // The authority's own entries about the child, and refusals
            // elsewhere that named the child or one of its records.
            sql.push(" AND ((authority_id = ")
                .push_bind(authority)
                .push(" AND child_ids @> ")
                .push_bind(vec![child])
                .push(") OR (decision = 'deny' AND policy_ids @> ")
                .push_bind(vec![rule.clone()])
                .push(" AND (child_ids @> ")
                .push_bind(vec![child])
                .push(" OR named_id = ANY(")
                .push_bind(&query.refused_elsewhere_naming)
                .push("))))");
        }
        (authority, _, child) => {
            if let Some(authority) = authority {
                sql.push(" AND authority_id = ").push_bind(authority);
            }
            if let Some(child) = child {
                // `@>` on a one-element array, so the GIN index applies.
                sql.push(" AND child_ids @> ").push_bind(vec![child]);
            }
        }
    }
    if let Some(case) = query.case_id {
        sql.push(" AND case_id = ").push_bind(case);
    }
    if let Some(person) = &query.person_id {
        sql.push(" AND (actor_subject = ")
            .push_bind(person)
            .push(" OR on_behalf_of = ")
            .push_bind(person)
            .push(")");
    }
    if let Some(credential) = &query.credential_id {
        sql.push(" AND credential_id = ").push_bind(credential);
    }
    if let Some(policy_set) = &query.policy_set {
        // No index: a policy set decides a stretch of consecutive records,
        // so the newest-first walk down `seq` meets its records together.
        sql.push(" AND policy_set = ").push_bind(policy_set);
    }
    if let Some(policy) = &query.policy_id {
        sql.push(" AND policy_ids @> ")
            .push_bind(vec![policy.clone()]);
    }
    if let Some(decision) = query.decision {
        // A literal (one of two fixed words), not a parameter: the planner
        // then sees that a denial query may use the index of denials'
        // policies (migration 9) in every plan, generic ones included.
        sql.push(format_args!(" AND decision = '{}'", decision.as_str()));
    }
    if let Some(from) = query.from {
        sql.push(" AND occurred_at >= ").push_bind(from);
    }
    if let Some(to) = query.to {
        sql.push(" AND occurred_at < ").push_bind(to);
    }
    if let Some(before) = before {
        sql.push(" AND seq < ").push_bind(before);
    }
    // One extra row says whether another page follows.
    sql.push(" ORDER BY seq DESC LIMIT ")
        .push_bind(i64::from(page_size) + 1);

    let rows = sql.build().fetch_all(pool).await?;
    let mut entries = rows
        .iter()
        .map(|r| {
            row::decode(r).map_err(|detail| AuditError::Unreadable {
                seq: sqlx::Row::try_get(r, "seq").unwrap_or(0),
                detail,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let page_len = usize::try_from(page_size).unwrap_or(usize::MAX);
    let more = entries.len() > page_len;
    entries.truncate(page_len);
    let next_page_token = match entries.last() {
        Some(last) if more => Some(encode_token(last.seq, fingerprint)),
        _ => None,
    };
    Ok(AccessPage {
        entries,
        next_page_token,
    })
}

const TOKEN_VERSION: u8 = 1;
const TOKEN_BYTES: usize = 1 + 8 + 8;

/// Hex of: version byte, last seq (i64 big-endian), query fingerprint.
fn encode_token(last_seq: i64, fingerprint: [u8; 8]) -> String {
    let mut bytes = Vec::with_capacity(TOKEN_BYTES);
    bytes.push(TOKEN_VERSION);
    bytes.extend_from_slice(&last_seq.to_be_bytes());
    bytes.extend_from_slice(&fingerprint);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The seq the next page starts below, if `token` is one we issued for a
/// query with this fingerprint.
fn decode_token(token: &str, fingerprint: [u8; 8]) -> Result<i64, AuditError> {
    let digits = token.as_bytes();
    if digits.len() != TOKEN_BYTES * 2 {
        return Err(AuditError::InvalidPageToken);
    }
    let mut bytes = [0u8; TOKEN_BYTES];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        // Lower case only: exactly the form we issue.
        if pair.iter().any(u8::is_ascii_uppercase) {
            return Err(AuditError::InvalidPageToken);
        }
        let hi = hex_value(pair[0]).ok_or(AuditError::InvalidPageToken)?;
        let lo = hex_value(pair[1]).ok_or(AuditError::InvalidPageToken)?;
        *byte = (hi << 4) | lo;
    }
    let (version, rest) = bytes.split_at(1);
    let (seq, fp) = rest.split_at(8);
    let seq = i64::from_be_bytes(seq.try_into().map_err(|_| AuditError::InvalidPageToken)?);
    if version != [TOKEN_VERSION] || fp != fingerprint || seq < 2 {
        return Err(AuditError::InvalidPageToken);
    }
    Ok(seq)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query() -> AccessQuery {
        AccessQuery {
            child_id: Some(Uuid::from_u128(7)),
            ..AccessQuery::default()
        }
    }

    #[test]
    fn page_size_defaults_and_clamps() {
        let size = |page_size| {
            AccessQuery {
                page_size,
                ..AccessQuery::default()
            }
            .effective_page_size()
        };
        assert_eq!(size(0), 50);
        assert_eq!(size(1), 1);
        assert_eq!(size(500), 500);
        assert_eq!(size(501), 500);
        assert_eq!(size(u32::MAX), 500);
    }

    #[test]
    fn tokens_round_trip() {
        let fp = query().fingerprint();
        for seq in [2, 51, i64::MAX] {
            assert_eq!(decode_token(&encode_token(seq, fp), fp).ok(), Some(seq));
        }
    }

    #[test]
    fn tokens_are_bound_to_the_filters() {
        let token = encode_token(100, query().fingerprint());
        let other = AccessQuery {
            child_id: Some(Uuid::from_u128(8)),
            ..AccessQuery::default()
        };
        assert!(matches!(
            decode_token(&token, other.fingerprint()),
            Err(AuditError::InvalidPageToken)
        ));
        // Nor from the same filters with a policy set.
        let by_policies = AccessQuery {
            policy_set: Some("0".repeat(64)),
            ..query()
        };
        assert!(matches!(
            decode_token(&token, by_policies.fingerprint()),
            Err(AuditError::InvalidPageToken)
        ));
        // Page size and position are not part of the binding.
        let resized = AccessQuery {
            page_size: 7,
            page_token: Some("x".into()),
            ..query()
        };
        assert_eq!(decode_token(&token, resized.fingerprint()).ok(), Some(100));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let fp = query().fingerprint();
        let good = encode_token(100, fp);
        let mut bad = vec![
            String::new(),
            "zz".repeat(TOKEN_BYTES),
            good[2..].to_owned(),
            format!("{good}00"),
            good.to_uppercase(),
            encode_token(1, fp),
            encode_token(0, fp),
            encode_token(-5, fp),
            format!("02{}", &good[2..]),
        ];
        // Any single flipped digit breaks either the version, the seq
        // range or the fingerprint, or decodes to a different position.
        let mut flipped = good.as_bytes().to_vec();
        flipped[30] = if flipped[30] == b'0' { b'1' } else { b'0' };
        bad.push(String::from_utf8(flipped).unwrap_or_default());
        for token in bad {
            assert!(
                matches!(decode_token(&token, fp), Err(AuditError::InvalidPageToken)),
                "{token:?}"
            );
        }
    }
}
