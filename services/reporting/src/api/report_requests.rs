//! Checking the agency report requests: every bad field is named (by its
//! proto path), none is echoed.

use cpc_platform::ApiError;
use cpc_platform::check::{Check, merge, update_mask};
use cpc_platform::idempotency::RequestKey;
use cpc_platform::paging::{FilterKey, PageRequest};
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use uuid::Uuid;

use super::requests::document;
use crate::store::reports::{
    CREATE_REPORT, NewReport, ReportChanges, ReportFilter, Sharing, kind_code, status_code,
};

/// Longest inline report.
const MAX_BODY_CHARS: usize = 100_000;
/// Most children one report covers (a sibling group).
const MAX_CHILDREN: usize = 20;
/// Most recipients of one sharing: everyone invited, with room to spare.
const MAX_RECIPIENTS: usize = 200;

/// A CreateAgencyReportRequest from `caller`, who is its author (the
/// request's author names them, or no one; their agency is the one their
/// credentials name, when they name one).
pub(crate) fn creation(
    req: &pb::CreateAgencyReportRequest,
    caller: &common::PersonRef,
) -> Result<NewReport, ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, CREATE_REPORT, &req.request_id, req);
    let body = match &req.report {
        None => Err(ApiError::invalid_field("report", "is required")),
        Some(report) => {
            let mut body = Check::new();
            let conference_id = body.id("report.conference_id", &report.conference_id);
            let child_ids = children(&mut body, &report.child_ids);
            let kind = body.required_enum("report.kind", report.kind, |k| {
                pb::ReportKind::try_from(k).ok().and_then(kind_code)
            });
            let author = body.author("report.author", report.author.as_ref(), &caller.person_id);
            let content = content(&mut body, report.content.as_ref());
            body.finish()
                .map(|()| (conference_id, child_ids, kind, author, content))
        }
    };
    match merge(check, key, body)? {
        (key, (Some(conference_id), child_ids, Some(kind), Some(author), content)) => {
            Ok(NewReport {
                key,
                conference_id,
                author: as_written_by(author, caller),
                child_ids,
                kind,
                content,
            })
        }
        _ => Err(ApiError::internal("a checked report lost a field")),
    }
}

/// The author as the report names them: the name they gave, and the agency
/// their credentials vouch for (the one they gave when those name none).
fn as_written_by(author: common::PersonRef, caller: &common::PersonRef) -> common::PersonRef {
    if caller.agency_kind == 0 {
        return author;
    }
    common::PersonRef {
        agency_kind: caller.agency_kind,
        agency_name: caller.agency_name.clone(),
        ..author
    }
}

/// An UpdateAgencyReportRequest: (id, version, changes).
pub(crate) fn update(
    req: &pb::UpdateAgencyReportRequest,
) -> Result<(Uuid, i64, ReportChanges), ApiError> {
    let mut check = Check::new();
    let Some(report) = &req.report else {
        check.add("report", "is required");
        return Err(check.fail());
    };
    let id = check.id("report.id", &report.id);
    let version = check.version("report.version", report.version);
    let fields = update_mask(
        &mut check,
        req.update_mask.as_ref(),
        &["child_ids", "document", "body"],
    );
    let names = |f: &str| fields.contains(&f);
    let mut changes = ReportChanges::default();
    if names("child_ids") {
        changes.child_ids = Some(children(&mut check, &report.child_ids));
    }
    if names("document") && names("body") {
        check.add(
            "update_mask",
            "names both document and body; a report has one content",
        );
    } else if names("document") || names("body") {
        // The named content field is set to what the request holds (empty:
        // cleared); the other one of the pair is cleared with it.
        let wanted = match &report.content {
            Some(pb::agency_report::Content::Document(_)) if names("document") => {
                report.content.as_ref()
            }
            Some(pb::agency_report::Content::Body(body)) if names("body") && !body.is_empty() => {
                report.content.as_ref()
            }
            _ => None,
        };
        changes.content = Some(content(&mut check, wanted));
    }
    check.finish()?;
    Ok((id.unwrap_or_default(), version, changes))
}

/// A ShareAgencyReportRequest: (id, version, sharing).
pub(crate) fn sharing(
    req: &pb::ShareAgencyReportRequest,
) -> Result<(Uuid, i64, Sharing), ApiError> {
    let mut check = Check::new();
    let id = check.id("report_id", &req.report_id);
    let version = check.version("version", req.version);
    let mut recipients = Vec::with_capacity(req.recipients.len());
    if req.recipients.is_empty() {
        check.add("recipients", "needs at least one recipient");
    } else if req.recipients.len() > MAX_RECIPIENTS {
        check.add(
            "recipients",
            format!("must have at most {MAX_RECIPIENTS} entries"),
        );
    } else {
        for (i, person) in req.recipients.iter().enumerate() {
            let field = format!("recipients[{i}]");
            if let Some(person) = check.person(&field, Some(person), false) {
                if recipients
                    .iter()
                    .any(|p: &common::PersonRef| p.person_id == person.person_id)
                {
                    check.add(field, "appears more than once");
                }
                recipients.push(person);
            }
        }
    }
    let method = check.required_enum("method", req.method, |m| {
        pb::DeliveryMethod::try_from(m)
            .ok()
            .filter(|m| *m != pb::DeliveryMethod::Unspecified)
    });
    check.finish()?;
    match (id, method) {
        (Some(id), Some(method)) => Ok((id, version, Sharing { recipients, method })),
        _ => Err(ApiError::internal("a checked sharing lost a field")),
    }
}

/// A ListAgencyReportsRequest.
pub(crate) fn list(req: &pb::ListAgencyReportsRequest) -> Result<ReportFilter, ApiError> {
    let mut check = Check::new();
    let conference_id = check.opt_id("conference_id", &req.conference_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let status = check.opt_enum("status", req.status, |s| {
        pb::AgencyReportStatus::try_from(s)
            .ok()
            .and_then(status_code)
    });
    let agency_kind = check.opt_enum("agency_kind", req.agency_kind, |k| {
        common::AgencyKind::try_from(k).ok().map(|k| k as i32)
    });
    let key = FilterKey::new()
        .with("conference_id", &req.conference_id)
        .with("child_id", &req.child_id)
        .with("status", req.status)
        .with("agency_kind", req.agency_kind)
        .with("late_only", req.late_only);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    if req.conference_id.is_empty() && req.child_id.is_empty() {
        check.add("conference_id", "is required unless child_id is set");
    }
    check.finish()?;
    Ok(ReportFilter {
        conference_id,
        child_id,
        status,
        agency_kind,
        late_only: req.late_only,
        page,
    })
}

/// The children a report covers: at least one, each once.
fn children(check: &mut Check, ids: &[String]) -> Vec<Uuid> {
    let field = "report.child_ids";
    if ids.is_empty() {
        check.add(field, "needs at least one child");
        return Vec::new();
    }
    if ids.len() > MAX_CHILDREN {
        check.add(field, format!("must have at most {MAX_CHILDREN} children"));
        return Vec::new();
    }
    let mut children = Vec::with_capacity(ids.len());
    for (i, text) in ids.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if let Some(child) = check.id(&at, text) {
            if children.contains(&child) {
                check.add(at, "appears more than once");
            }
            children.push(child);
        }
    }
    children
}

fn content(
    check: &mut Check,
    content: Option<&pb::agency_report::Content>,
) -> Option<pb::agency_report::Content> {
    match content {
        Some(pb::agency_report::Content::Document(document)) => {
            self::document(check, "report.document", document);
            Some(pb::agency_report::Content::Document(document.clone()))
        }
        Some(pb::agency_report::Content::Body(body)) => {
            let body = check.text("report.body", body, 1, MAX_BODY_CHARS);
            Some(pb::agency_report::Content::Body(body))
        }
        None => None,
    }
}
