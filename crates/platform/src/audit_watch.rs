//! Watching the audit logs this process serves, and publishing their heads.
//!
//! A hash chain shows an edited record, but not a log that someone with the
//! database's superuser powers cut short, or rewrote and re-hashed to the
//! end: that needs a head kept where the database's administrators cannot
//! write (`cpc_audit::verify_against_anchor`). So every `audit.watch_interval`
//! each served log is verified from the head last verified
//! (`cpc_audit::verify_since`; the whole log at start-up), and:
//!
//! - a head that moved is logged, at info, as the line `audit head verified`
//!   with `anchor` written as `--verify-audit --anchor` takes it
//!   (`cases=1234:<64 hex digits>`). The log pipeline (another system,
//!   another team) keeps these lines; any of them later catches a deleted
//!   tail or a rewrite up to it.
//! - a broken log is logged as an error, `audit log broken`, at every check
//!   until it is dealt with, naming the record and why (hashes only, never
//!   a record's contents): the alert to raise. The head last verified is
//!   kept, so the error does not go away when the log is re-hashed.
//!
//! The watch writes no audit record of its own: it reads no child's data,
//! and a log that grew at every check would never be still.

use std::time::Duration;

use cpc_audit::{Anchor, AuditError, VerifyReport};
use sqlx::PgPool;

use crate::audit_log::ServiceAnchor;

/// The watch over one service's audit log.
pub struct HeadWatch {
    service: &'static str,
    pool: PgPool,
    /// The head last verified; `None` until the first check, which
    /// verifies the whole log.
    verified: Option<Anchor>,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The log has no records yet.
    Empty,
    /// Intact, and its head has not moved since the last check.
    Unchanged,
    /// Intact to a new head, to publish.
    Moved(ServiceAnchor),
    /// Broken at `at_seq`; `detail` as `--verify-audit` words it.
    Broken { at_seq: i64, detail: String },
}

impl HeadWatch {
    /// A watch over `service`'s log in `pool`'s schema that has verified
    /// nothing yet.
    pub fn new(service: &'static str, pool: PgPool) -> Self {
        Self {
            service,
            pool,
            verified: None,
        }
    }

    /// Verifies what was appended since the last check (the whole log at
    /// the first) and moves the verified head on when it is intact.
    ///
    /// # Errors
    /// When the log cannot be read; the next check tries again from the
    /// same head.
    pub async fn check(&mut self) -> Result<Checked, AuditError> {
        let report = match self.verified {
            None => cpc_audit::verify(&self.pool).await?,
            Some(anchor) => cpc_audit::verify_since(&self.pool, anchor).await?,
        };
        Ok(match report {
            VerifyReport::Ok { head_seq: 0, .. } => Checked::Empty,
            VerifyReport::Ok {
                head_seq,
                head_hash,
                ..
            } => {
                let head = Anchor {
                    seq: head_seq,
                    hash: head_hash,
                };
                if self.verified.replace(head) == Some(head) {
                    Checked::Unchanged
                } else {
                    Checked::Moved(ServiceAnchor {
                        service: self.service.to_owned(),
                        anchor: head,
                    })
                }
            }
            VerifyReport::Broken { at_seq, reason, .. } => Checked::Broken {
                at_seq,
                detail: reason.detail(),
            },
        })
    }

    /// Checks and logs what it found (see the module's documentation).
    pub async fn check_and_log(&mut self) {
        match self.check().await {
            Ok(Checked::Empty | Checked::Unchanged) => {}
            Ok(Checked::Moved(head)) => tracing::info!(
                service = self.service,
                anchor = %head,
                "audit head verified"
            ),
            Ok(Checked::Broken { at_seq, detail }) => {
                tracing::error!(service = self.service, at_seq, detail, "audit log broken");
            }
            Err(err) => tracing::warn!(
                service = self.service,
                error = %err,
                "audit log not checked; trying again at the next check"
            ),
        }
    }
}

/// Checks every log in `watches` now, then every `every`, until aborted.
pub fn spawn(mut watches: Vec<HeadWatch>, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        // A check that overran (a long first verification) is not made up
        // for with a burst of checks.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            for watch in &mut watches {
                watch.check_and_log().await;
            }
        }
    })
}
