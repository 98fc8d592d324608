//! The DfE children in need census return (`GenerateCinCensus`).
//!
//! - [`learn`]: what the return is written from, kept from the cases feed;
//! - [`store`]: reading it back for one authority and collection year;
//! - [`assemble`]: which children, episodes, enquiries, plans and reviews
//!   fall in the year, and what each says as at the reference date (pure);
//! - [`xml`]: the census XML (pure);
//! - [`validate`]: the DfE validation rules, run by the published validator
//!   (`csc-validator-be-cin`) as a separate process.
//!
//! Items the record system owns and cases does not (assessments, CIN plan
//! dates) are not in the return; the validation says what that leaves.

pub mod assemble;
pub mod learn;
pub mod store;
pub mod validate;
pub mod xml;

use std::collections::HashMap;

use cpc_platform::ApiError;
use cpc_proto::reporting::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::api::CensusAsked;
use crate::store::{About, Ctx, publish};

/// A return written, not yet validated.
pub(crate) struct Written {
    pub file: String,
    pub file_name: String,
    /// Each child's id here, by LA child id, to name them in the findings.
    pub ids: HashMap<String, Uuid>,
}

/// Writes the authority's return for the year asked, from what reporting
/// keeps (in the caller's transaction, audited as a read of the
/// authority).
///
/// # Errors
/// `FAILED_PRECONDITION` when the authority has no DfE local authority
/// number in this server's settings (`la_number`), which the header needs;
/// database errors.
pub(crate) async fn write(
    conn: &mut PgConnection,
    ctx: &Ctx,
    asked: &CensusAsked,
    la_number: Option<u16>,
) -> Result<Written, ApiError> {
    let Some(la_number) = la_number else {
        return Err(ApiError::FailedPrecondition(format!(
            "authority {} has no DfE local authority number (la_number) in this server's \
             settings, which the census header needs",
            asked.authority
        )));
    };
    let children = assemble::assemble(asked.year, store::kept_for(conn, asked.year).await?);
    let header = xml::Header {
        year: asked.collection_year,
        reference_date: asked.year.reference,
        la_number,
        serial_no: asked.serial_no,
        generated: ctx.now,
    };
    Ok(Written {
        file: xml::render(&header, &children),
        // The name the DfE expects: `916_CIN_2026_001.xml`.
        file_name: format!(
            "{la_number:03}_CIN_{}_{:03}.xml",
            asked.collection_year, asked.serial_no
        ),
        ids: children
            .into_iter()
            .map(|c| (c.child.la_child_id, c.child.id))
            .collect(),
    })
}

/// Tells the feed that a return was generated and what its validation
/// found, not what it holds.
///
/// # Errors
/// `INTERNAL` if the outbox refuses it.
pub(crate) async fn record_generated(
    conn: &mut PgConnection,
    ctx: &Ctx,
    asked: &CensusAsked,
    validation: &pb::CensusValidationSummary,
) -> Result<(), ApiError> {
    let generation = Uuid::new_v4().to_string();
    publish(
        conn,
        ctx,
        About {
            aggregate_type: "CinCensus",
            id: &generation,
            version: 1,
            child_ids: &[],
        },
        "cpc.reporting.v1.CinCensusGenerated",
        &pb::CinCensusGenerated {
            authority_id: asked.authority.clone(),
            collection_year: asked.collection_year,
            reference_date: Some(cpc_platform::convert::date_to_proto(asked.year.reference)),
            child_count: validation.child_count,
            error_count: validation.error_count,
            query_count: validation.query_count,
        },
    )
    .await
}

/// The validator's report as the API gives it: each finding with the
/// child's id here beside its LA child id, errors first, then by LA child
/// id (the order the validator gives them in).
pub(crate) fn summary(
    report: validate::Report,
    our_ids: &HashMap<String, Uuid>,
) -> pb::CensusValidationSummary {
    let count = |severity| {
        let n = report
            .issues
            .iter()
            .filter(|i| i.severity == severity)
            .count();
        i32::try_from(n).unwrap_or(i32::MAX)
    };
    let error_count = count(validate::Severity::Error);
    let query_count = count(validate::Severity::Query);
    let issues = report
        .issues
        .into_iter()
        .map(|issue| pb::CensusIssue {
            child_id: our_ids
                .get(&issue.la_child_id)
                .map(Uuid::to_string)
                .unwrap_or_default(),
            rule_code: issue.rule_code,
            severity: match issue.severity {
                validate::Severity::Error => pb::IssueSeverity::Error,
                validate::Severity::Query => pb::IssueSeverity::Query,
            } as i32,
            la_child_id: issue.la_child_id,
            message: issue.message,
            fields: issue.fields,
        })
        .collect();
    pb::CensusValidationSummary {
        ruleset: report.ruleset,
        child_count: report.child_count,
        error_count,
        query_count,
        issues,
    }
}
