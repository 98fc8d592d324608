//! The audit log every service keeps in its own schema (`cpc-audit`), seen
//! from the platform: its tables are migrated with each service, and its
//! chains are verified on demand (`cpcd <services> --verify-audit`).

use cpc_audit::VerifyReport;

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
}

/// Verifies the hash chain of each component's audit log, in order.
///
/// # Errors
/// When a schema cannot be reached or read.
pub async fn verify_chains(
    config: &Config,
    components: &[Component],
) -> Result<Vec<(&'static str, VerifyReport)>, VerifyError> {
    let mut reports = Vec::with_capacity(components.len());
    for component in components {
        let pool = db::pool(&config.database_url, component.schema, &config.database)?;
        let report = cpc_audit::verify(&pool)
            .await
            .map_err(|source| VerifyError::Audit {
                service: component.name,
                source,
            });
        pool.close().await;
        reports.push((component.name, report?));
    }
    Ok(reports)
}

/// One line per service, for operators and scripts.
pub fn describe(service: &str, report: &VerifyReport) -> String {
    match report {
        VerifyReport::Ok {
            records,
            head_seq,
            head_hash,
        } => format!(
            "{service}: intact, {records} records, head {head_seq} {}",
            head_hash.to_hex()
        ),
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
