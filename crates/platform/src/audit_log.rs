//! The audit log every service keeps in its own schema (`cpc-audit`), seen
//! from the platform: its tables are migrated with each service, and its
//! chains are verified on demand (`cpcd <services> --verify-audit`).

use std::fmt;
use std::str::FromStr;

use cpc_audit::{Anchor, ChainHash, VerifyReport};

use crate::config::Config;
use crate::db::{self, DbError};
use crate::serve::Component;

/// Why a verification could not run (a broken chain is a result, not this).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot read the audit log of {service}")]
    Audit {
        service: &'static str,
        #[source]
        source: cpc_audit::AuditError,
    },
    /// An anchor names a service that is not being verified, or a service
    /// twice: it would be silently unchecked, or checked against one of two.
    #[error("anchor for {0}: not one of the services verified, or given twice")]
    Anchor(String),
}

/// A verified head of one service's audit log, kept where the database's
/// administrators cannot write, written as `cpcd --verify-audit` prints it:
/// `cases=1234:<64 hex digits>`. Verifying against it catches what the
/// chain alone cannot: a deleted tail, or a log rewritten and re-hashed up
/// to the head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAnchor {
    pub service: String,
    pub anchor: Anchor,
}

/// As `--verify-audit` prints a head and `--anchor` takes it.
impl fmt::Display for ServiceAnchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}={}:{}",
            self.service,
            self.anchor.seq,
            self.anchor.hash.to_hex()
        )
    }
}

impl FromStr for ServiceAnchor {
    type Err = String;

    fn from_str(given: &str) -> Result<Self, Self::Err> {
        const FORM: &str = "write an anchor as SERVICE=SEQ:HASH, as --verify-audit prints the head";
        let (service, head) = given.split_once('=').ok_or(FORM)?;
        let (seq, hash) = head.split_once(':').ok_or(FORM)?;
        let seq: i64 = seq.parse().map_err(|_| FORM)?;
        if service.is_empty() {
            return Err(FORM.to_owned());
        }
        if seq < 1 {
            return Err("an anchor names a record, 1 or more: an empty log has none".to_owned());
        }
        let hash = ChainHash::from_hex(hash).ok_or("an anchor's hash is 64 hex digits")?;
        Ok(Self {
            service: service.to_owned(),
            anchor: Anchor { seq, hash },
        })
    }
}

/// Verifies the hash chain of each component's audit log, in order, each
/// against its anchor when one is given.
///
/// # Errors
/// When a schema cannot be reached or read, or an anchor names a service
/// not among `components` (or one twice).
pub async fn verify_chains(
    config: &Config,
    components: &[Component],
    anchors: &[ServiceAnchor],
) -> Result<Vec<(&'static str, VerifyReport)>, VerifyError> {
    for (i, given) in anchors.iter().enumerate() {
        let known = components.iter().any(|c| c.name == given.service);
        let repeated = anchors[..i].iter().any(|a| a.service == given.service);
        if !known || repeated {
            return Err(VerifyError::Anchor(given.service.clone()));
        }
    }
    let mut reports = Vec::with_capacity(components.len());
    for component in components {
        let pool = db::pool(&config.database_url, component.schema, &config.database)?;
        let anchor = anchors.iter().find(|a| a.service == component.name);
        let report = match anchor {
            Some(given) => {
                cpc_audit::verify_against_anchor(&pool, given.anchor.seq, given.anchor.hash).await
            }
            None => cpc_audit::verify(&pool).await,
        }
        .map_err(|source| VerifyError::Audit {
            service: component.name,
            source,
        });
        pool.close().await;
        reports.push((component.name, report?));
    }
    Ok(reports)
}

/// One line per service, for operators and scripts. An intact log's head is
/// printed as the anchor to keep (`--anchor` takes it as it is).
pub fn describe(service: &str, report: &VerifyReport) -> String {
    match report {
        VerifyReport::Ok {
            records: 0,
            head_seq: 0,
            ..
        } => format!("{service}: intact, 0 records"),
        VerifyReport::Ok {
            records,
            head_seq,
            head_hash,
        } => {
            let head = ServiceAnchor {
                service: service.to_owned(),
                anchor: Anchor {
                    seq: *head_seq,
                    hash: *head_hash,
                },
            };
            format!("{service}: intact, {records} records, head {head}")
        }
        VerifyReport::Broken {
            at_seq,
            reason,
            verified,
        } => format!(
            "{service}: BROKEN at record {at_seq} after {verified} verified: {}",
            reason.detail()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";

    #[test]
    fn an_anchor_is_read_as_verify_audit_prints_it() {
        let anchor: ServiceAnchor = format!("cases=1234:{HASH}").parse().unwrap();
        assert_eq!(anchor.service, "cases");
        assert_eq!(anchor.anchor.seq, 1234);
        assert_eq!(anchor.anchor.hash.to_hex(), HASH.to_lowercase());

        let report = VerifyReport::Ok {
            records: 1234,
            head_seq: 1234,
            head_hash: anchor.anchor.hash,
        };
        let line = describe("cases", &report);
        let printed = line.rsplit(' ').next().unwrap();
        assert_eq!(printed.parse::<ServiceAnchor>().unwrap(), anchor);
    }

    #[test]
    fn a_malformed_anchor_is_refused_saying_why() {
        for (given, why) in [
            ("cases", "SERVICE=SEQ:HASH"),
            ("cases=1234", "SERVICE=SEQ:HASH"),
            (&format!("=1:{HASH}")[..], "SERVICE=SEQ:HASH"),
            (&format!("cases=x:{HASH}")[..], "SERVICE=SEQ:HASH"),
            (&format!("cases=0:{HASH}")[..], "1 or more"),
            (&format!("cases=-5:{HASH}")[..], "1 or more"),
            ("cases=3:abc", "64 hex digits"),
            (&format!("cases=3:{}", "g".repeat(64))[..], "64 hex digits"),
        ] {
            let err = given.parse::<ServiceAnchor>().unwrap_err();
            assert!(err.contains(why), "{given}: {err}");
        }
    }
}
