//! Verifying the chain (`cpc.audit.v1.AuditService/VerifyAuditChain`).

use sqlx::{PgPool, Row as _};

use crate::AuditError;
use crate::hash::{ChainHash, chain_hash};
use crate::row;

/// Rows read per round trip; verification holds at most one page in memory.
const PAGE: i64 = 1000;

/// Which entries to verify: `VerifyAuditChainRequest` with 0 read as `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyRange {
    /// First seq to verify; `None` is 1. Its link to `from - 1` is checked
    /// against that entry's stored hash.
    pub from: Option<i64>,
    /// Last seq to verify; `None` is the head when verification starts.
    /// Entries up to `to` are expected to exist: a shorter log is reported
    /// as [`BreakReason::MissingRecord`].
    pub to: Option<i64>,
}

/// A head of the chain recorded outside the database (a signed email, a
/// ticket, another system's log...), against which truncation of the tail
/// can be detected: see [`verify_against_anchor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: ChainHash,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyReport {
    /// Every entry in the range is present, linked and correctly hashed.
    Ok {
        /// Entries verified (`verified_count`).
        records: u64,
        /// Seq of the last entry verified; 0 for an empty log.
        head_seq: i64,
        /// `hash` of that entry ([`ChainHash::GENESIS`] for an empty log):
        /// record it elsewhere, with `head_seq`, as an [`Anchor`].
        head_hash: ChainHash,
    },
    /// The first break found; nothing after it was examined.
    Broken {
        /// The seq where the chain breaks (`first_broken_sequence`).
        at_seq: i64,
        reason: BreakReason,
        /// Entries verified before the break.
        verified: u64,
    },
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok { .. })
    }

    /// The verified head's hash; `None` when the chain is broken.
    pub fn head_hash(&self) -> Option<ChainHash> {
        match self {
            Self::Ok { head_hash, .. } => Some(*head_hash),
            Self::Broken { .. } => None,
        }
    }

    /// The verified head as an [`Anchor`] to keep outside the database;
    /// `None` when the chain is broken.
    pub fn anchor(&self) -> Option<Anchor> {
        match self {
            Self::Ok {
                head_seq,
                head_hash,
                ..
            } => Some(Anchor {
                seq: *head_seq,
                hash: *head_hash,
            }),
            Self::Broken { .. } => None,
        }
    }
}

/// Why the chain is broken (`cpc.audit.v1.BreakReason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakReason {
    /// No entry with this seq (deleted): `BREAK_REASON_SEQUENCE_GAP`.
    MissingRecord { expected_seq: i64 },
    /// The entry's content does not hash to its stored `hash` (altered):
    /// `BREAK_REASON_RECORD_HASH_MISMATCH`.
    HashMismatch {
        stored: ChainHash,
        computed: ChainHash,
    },
    /// The entry's `prev_hash` is not the previous entry's `hash` (entries
    /// removed, inserted, reordered or re-hashed):
    /// `BREAK_REASON_PREVIOUS_HASH_MISMATCH`.
    PrevHashMismatch {
        stored: ChainHash,
        expected: ChainHash,
    },
    /// The row cannot be decoded (constraints removed and the row mangled):
    /// `BREAK_REASON_RECORD_UNREADABLE`.
    Unreadable { detail: String },
    /// The chain is internally consistent but the entry at the anchor's seq
    /// is not the anchored one: the log was rewritten and re-hashed from
    /// some point up to the anchor. Maps to
    /// `BREAK_REASON_RECORD_HASH_MISMATCH`.
    AnchorMismatch {
        anchored: ChainHash,
        found: ChainHash,
    },
}

impl BreakReason {
    /// Plain-words detail for `VerifyAuditChainResponse.detail` (hashes in
    /// hex; never record contents).
    pub fn detail(&self) -> String {
        match self {
            Self::MissingRecord { expected_seq } => format!("record {expected_seq} is missing"),
            Self::HashMismatch { stored, computed } => {
                format!("stored hash {stored}, content hashes to {computed}")
            }
            Self::PrevHashMismatch { stored, expected } => {
                format!("stored previous hash {stored}, previous record's hash is {expected}")
            }
            Self::Unreadable { detail } => detail.clone(),
            Self::AnchorMismatch { anchored, found } => {
                format!("anchored hash {anchored}, stored hash {found}")
            }
        }
    }
}

/// Verifies the whole log, from seq 1 to the head when it starts.
///
/// Rows are read in seq order a page at a time, never all at once. A log
/// whose *last* entries were deleted still verifies (as a shorter chain):
/// only an externally kept head can reveal that, see
/// [`verify_against_anchor`].
///
/// # Errors
/// [`AuditError::Database`] only; a damaged chain is a [`VerifyReport`].
pub async fn verify(pool: &PgPool) -> Result<VerifyReport, AuditError> {
    verify_range(pool, VerifyRange::default()).await
}

/// Verifies the entries in `range` (see [`VerifyRange`]).
///
/// # Errors
/// [`AuditError::InvalidQuery`] when `from < 1` or `to < from`;
/// [`AuditError::Database`].
pub async fn verify_range(pool: &PgPool, range: VerifyRange) -> Result<VerifyReport, AuditError> {
    let from = range.from.unwrap_or(1);
    if from < 1 {
        return Err(AuditError::InvalidQuery("verify range starts before 1"));
    }
    if range.to.is_some_and(|to| to < from) {
        return Err(AuditError::InvalidQuery(
            "verify range ends before it starts",
        ));
    }
    run(pool, from, range.to, None).await
}

/// Verifies the whole log and checks that the entry at `seq` still has the
/// `hash` recorded outside the database when it was the head.
///
/// # Truncating the tail
/// Each entry commits to its predecessor, never to its successors, so a
/// tamperer able to delete rows (bypassing the append-only trigger as a
/// superuser or table owner) who deletes the **last** entries leaves a
/// shorter chain that is internally perfect: [`verify`] cannot tell. What
/// reveals it is a head recorded elsewhere. Operators should periodically
/// take [`VerifyReport::anchor`] (seq and hash) and keep it outside this
/// database; this function then reports [`BreakReason::MissingRecord`] if
/// the log no longer reaches `seq`, and [`BreakReason::AnchorMismatch`] if
/// entries up to `seq` were rewritten and re-hashed. Entries after `seq`
/// are verified as usual.
///
/// # Errors
/// [`AuditError::InvalidQuery`] when `seq < 1`; [`AuditError::Database`].
pub async fn verify_against_anchor(
    pool: &PgPool,
    seq: i64,
    hash: ChainHash,
) -> Result<VerifyReport, AuditError> {
    if seq < 1 {
        return Err(AuditError::InvalidQuery("anchor seq must be at least 1"));
    }
    let head = head_seq(pool).await?;
    run(pool, 1, Some(head.max(seq)), Some(Anchor { seq, hash })).await
}

/// Verifies only what was appended since `anchor`, a head this log had
/// when it was last verified: the entry at `anchor.seq` must still hash to
/// `anchor.hash`, and every entry after it must extend the chain. Costs the
/// new entries, not the whole log, so a watcher can run it every few
/// minutes (`cpc_platform::audit_watch`).
///
/// What it catches since that verification: a deleted tail or a log
/// rewritten and re-hashed up to the anchor ([`BreakReason::MissingRecord`],
/// [`BreakReason::AnchorMismatch`]), and any edit after it. An edit *before*
/// the anchor that leaves the anchored entry alone needs [`verify`] or
/// [`verify_against_anchor`], which read the whole log. The report counts
/// the anchored entry among those verified.
///
/// # Errors
/// [`AuditError::InvalidQuery`] when `anchor.seq < 1`;
/// [`AuditError::Database`].
pub async fn verify_since(pool: &PgPool, anchor: Anchor) -> Result<VerifyReport, AuditError> {
    if anchor.seq < 1 {
        return Err(AuditError::InvalidQuery("anchor seq must be at least 1"));
    }
    let head = head_seq(pool).await?;
    run(pool, anchor.seq, Some(head.max(anchor.seq)), Some(anchor)).await
}

async fn head_seq(pool: &PgPool) -> Result<i64, AuditError> {
    Ok(
        sqlx::query_scalar("SELECT coalesce(max(seq), 0)::int8 FROM audit_log")
            .fetch_one(pool)
            .await?,
    )
}

async fn run(
    pool: &PgPool,
    from: i64,
    to: Option<i64>,
    anchor: Option<Anchor>,
) -> Result<VerifyReport, AuditError> {
    let to = match to {
        Some(to) => to,
        None => head_seq(pool).await?,
    };
    let broken = |at_seq, reason, verified| {
        Ok(VerifyReport::Broken {
            at_seq,
            reason,
            verified,
        })
    };

    // The link into the range: genesis, or the stored hash of `from - 1`.
    let mut prev = ChainHash::GENESIS;
    if from > 1 {
        let stored: Option<Vec<u8>> =
            sqlx::query_scalar("SELECT hash FROM audit_log WHERE seq = $1")
                .bind(from - 1)
                .fetch_optional(pool)
                .await?;
        let Some(stored) = stored else {
            let reason = BreakReason::MissingRecord {
                expected_seq: from - 1,
            };
            return broken(from - 1, reason, 0);
        };
        let Some(stored) = ChainHash::from_slice(&stored) else {
            let detail = "column hash: not 32 bytes".to_owned();
            return broken(from - 1, BreakReason::Unreadable { detail }, 0);
        };
        prev = stored;
    }

    let query = format!(
        "SELECT {} FROM audit_log WHERE seq >= $1 AND seq <= $2 ORDER BY seq LIMIT $3",
        row::COLUMNS
    );
    let mut next = from;
    let mut verified: u64 = 0;
    while next <= to {
        let rows = sqlx::query(&query)
            .bind(next)
            .bind(to)
            .bind(PAGE)
            .fetch_all(pool)
            .await?;
        if rows.is_empty() {
            let reason = BreakReason::MissingRecord { expected_seq: next };
            return broken(next, reason, verified);
        }
        for r in &rows {
            // `seq` is the primary key, so always readable; the gap check
            // comes before decoding so that a gap is reported as one.
            let seq: i64 = r.try_get("seq")?;
            if seq != next {
                let reason = BreakReason::MissingRecord { expected_seq: next };
                return broken(next, reason, verified);
            }
            let entry = match row::decode(r) {
                Ok(entry) => entry,
                Err(detail) => return broken(next, BreakReason::Unreadable { detail }, verified),
            };
            if entry.prev_hash != prev {
                let reason = BreakReason::PrevHashMismatch {
                    stored: entry.prev_hash,
                    expected: prev,
                };
                return broken(next, reason, verified);
            }
            let computed = chain_hash(&entry.prev_hash, entry.seq, &entry.record);
            if computed != entry.hash {
                let reason = BreakReason::HashMismatch {
                    stored: entry.hash,
                    computed,
                };
                return broken(next, reason, verified);
            }
            if let Some(anchor) = anchor.filter(|a| a.seq == entry.seq && a.hash != entry.hash) {
                let reason = BreakReason::AnchorMismatch {
                    anchored: anchor.hash,
                    found: entry.hash,
                };
                return broken(next, reason, verified);
            }
            prev = entry.hash;
            verified += 1;
            next += 1;
        }
    }
    Ok(VerifyReport::Ok {
        records: verified,
        head_seq: to.max(from - 1),
        head_hash: prev,
    })
}
