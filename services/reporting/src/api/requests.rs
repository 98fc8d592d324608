//! Checking ReportingService requests: every bad field is named (by its
//! proto path), none is echoed.

use std::collections::BTreeMap;

use cpc_platform::ApiError;
use cpc_platform::check::{Check, merge, update_mask};
pub(crate) use cpc_platform::check::{id_and_version as versioned, required_id as id};
use cpc_platform::idempotency::RequestKey;
use cpc_platform::paging::{FilterKey, PageRequest};
use cpc_proto::reporting::v1 as pb;
use uuid::Uuid;

use crate::store::Ctx;
use crate::store::minutes::{
    CREATE_MINUTES, Changes, MinutesFilter, NewMinutes, Notification, status_code,
};

/// Largest document the store accepts (50 MiB).
pub(super) const MAX_DOCUMENT_BYTES: i64 = 52_428_800;
/// Longest inline minutes.
const MAX_BODY_CHARS: usize = 200_000;
/// Longest distribution list: everyone invited, with room to spare.
const MAX_RECIPIENTS: usize = 200;

/// A CreateMinutesRequest.
pub(crate) fn creation(req: &pb::CreateMinutesRequest) -> Result<NewMinutes, ApiError> {
    let mut check = Check::new();
    let key = RequestKey::parse(&mut check, CREATE_MINUTES, &req.request_id, req);
    let body = match &req.minutes {
        None => Err(ApiError::invalid_field("minutes", "is required")),
        Some(minutes) => {
            let mut body = Check::new();
            let conference_id = body.id("minutes.conference_id", &minutes.conference_id);
            let content = content(&mut body, minutes.content.as_ref());
            let distribution = distribution(&mut body, &minutes.distribution_list);
            body.finish()
                .map(|()| (conference_id.unwrap_or_default(), content, distribution))
        }
    };
    let (key, (conference_id, content, distribution)) = merge(check, key, body)?;
    Ok(NewMinutes {
        key,
        conference_id,
        content,
        distribution,
    })
}

/// An UpdateMinutesRequest: (id, version, changes).
pub(crate) fn update(req: &pb::UpdateMinutesRequest) -> Result<(Uuid, i64, Changes), ApiError> {
    let mut check = Check::new();
    let Some(minutes) = &req.minutes else {
        check.add("minutes", "is required");
        return Err(check.fail());
    };
    let id = check.id("minutes.id", &minutes.id);
    let version = check.version("minutes.version", minutes.version);
    let fields = update_mask(
        &mut check,
        req.update_mask.as_ref(),
        &["document", "body", "distribution_list"],
    );
    let mut changes = Changes::default();
    let names = |f: &str| fields.contains(&f);
    if names("document") && names("body") {
        check.add(
            "update_mask",
            "names both document and body; the minutes have one content",
        );
    } else if names("document") || names("body") {
        // The named content field is set to what the request holds (empty:
        // cleared); the other one of the pair is cleared with it.
        let wanted = match &minutes.content {
            Some(pb::minutes::Content::Document(_)) if names("document") => {
                minutes.content.as_ref()
            }
            Some(pb::minutes::Content::Body(body)) if names("body") && !body.is_empty() => {
                minutes.content.as_ref()
            }
            _ => None,
        };
        changes.content = Some(content(&mut check, wanted));
    }
    if names("distribution_list") {
        changes.distribution = Some(distribution(&mut check, &minutes.distribution_list));
    }
    check.finish()?;
    Ok((id.unwrap_or_default(), version, changes))
}

/// A DistributeMinutesRequest: (id, version, partial copies by person id).
pub(crate) fn distribution_request(
    req: &pb::DistributeMinutesRequest,
) -> Result<(Uuid, i64, BTreeMap<String, pb::DocumentRef>), ApiError> {
    let mut check = Check::new();
    let id = check.id("minutes_id", &req.minutes_id);
    let version = check.version("version", req.version);
    let mut copies = BTreeMap::new();
    for (person, document) in &req.partial_copies {
        // Map keys are person ids; a bad one is named by the map alone so
        // that the key is never echoed.
        if Uuid::parse_str(person).is_err() || person.len() != 36 {
            check.add("partial_copies", "keys must be recipients' person ids");
            continue;
        }
        self::document(&mut check, "partial_copies[]", document);
        copies.insert(person.clone(), document.clone());
    }
    check.finish()?;
    Ok((id.unwrap_or_default(), version, copies))
}

/// A RecordDecisionNotificationRequest: (id, version, notification).
pub(crate) fn notification(
    req: &pb::RecordDecisionNotificationRequest,
    ctx: &Ctx,
) -> Result<(Uuid, i64, Notification), ApiError> {
    let mut check = Check::new();
    let id = check.id("minutes_id", &req.minutes_id);
    let version = check.version("version", req.version);
    let recipient = check.person("recipient", req.recipient.as_ref(), false);
    let child_id = check.id("child_id", &req.child_id);
    let method = check.required_enum("method", req.method, |m| {
        pb::DeliveryMethod::try_from(m).ok()
    });
    let notify_time = check.timestamp("notify_time", req.notify_time.as_ref());
    if notify_time.is_some_and(|t| t > ctx.now) {
        check.add("notify_time", "must not be in the future");
    }
    check.finish()?;
    match (id, recipient, child_id, method, notify_time) {
        (Some(id), Some(recipient), Some(child_id), Some(method), Some(notify_time)) => Ok((
            id,
            version,
            Notification {
                recipient,
                child_id,
                method,
                notify_time,
            },
        )),
        _ => Err(ApiError::internal("a checked notification lost a field")),
    }
}

/// A ListMinutesRequest: (authority named, filter).
pub(crate) fn list(
    req: &pb::ListMinutesRequest,
    ctx: &Ctx,
) -> Result<(String, MinutesFilter), ApiError> {
    let mut check = Check::new();
    let conference_id = check.opt_id("conference_id", &req.conference_id).flatten();
    let child_id = check.opt_id("child_id", &req.child_id).flatten();
    let status = check.opt_enum("status", req.status, |s| {
        pb::MinutesStatus::try_from(s).ok().and_then(status_code)
    });
    let key = FilterKey::new()
        .with("authority_id", &req.authority_id)
        .with("conference_id", &req.conference_id)
        .with("child_id", &req.child_id)
        .with("status", req.status);
    let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
    if conference_id.is_some() && child_id.is_some() {
        check.add("child_id", "cannot be combined with conference_id");
    }
    check.finish()?;
    let authority = if req.authority_id.is_empty() {
        ctx.authority.clone()
    } else {
        req.authority_id.clone()
    };
    Ok((
        authority,
        MinutesFilter {
            conference_id,
            child_id,
            status,
            page,
        },
    ))
}

fn content(
    check: &mut Check,
    content: Option<&pb::minutes::Content>,
) -> Option<pb::minutes::Content> {
    match content {
        Some(pb::minutes::Content::Document(document)) => {
            self::document(check, "minutes.document", document);
            Some(pb::minutes::Content::Document(document.clone()))
        }
        Some(pb::minutes::Content::Body(body)) => {
            let body = check.text("minutes.body", body, 1, MAX_BODY_CHARS);
            Some(pb::minutes::Content::Body(body))
        }
        None => None,
    }
}

/// A reference to a stored document, as documents.proto bounds it.
pub(super) fn document(check: &mut Check, field: &str, document: &pb::DocumentRef) {
    check.text(&format!("{field}.uri"), &document.uri, 1, 2000);
    check.text(&format!("{field}.media_type"), &document.media_type, 1, 255);
    check.text(&format!("{field}.file_name"), &document.file_name, 1, 255);
    if !(1..=MAX_DOCUMENT_BYTES).contains(&document.size_bytes) {
        check.add(format!("{field}.size_bytes"), "must be 1-52428800");
    }
    let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
    if document.sha256.len() != 64 || !document.sha256.chars().all(hex) {
        check.add(
            format!("{field}.sha256"),
            "must be 64 lowercase hex characters",
        );
    }
}

fn distribution(check: &mut Check, list: &[pb::DistributionEntry]) -> Vec<pb::DistributionEntry> {
    let field = "minutes.distribution_list";
    if list.len() > MAX_RECIPIENTS {
        check.add(field, format!("must have at most {MAX_RECIPIENTS} entries"));
        return Vec::new();
    }
    let mut seen: Vec<&str> = Vec::with_capacity(list.len());
    let mut checked = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let recipient = check.person(&format!("{at}.recipient"), entry.recipient.as_ref(), false);
        if let Some(person) = entry.recipient.as_ref().map(|p| p.person_id.as_str()) {
            if seen.contains(&person) {
                check.add(format!("{at}.recipient"), "appears more than once");
            }
            seen.push(person);
        }
        let copy = check.required_enum(&format!("{at}.copy"), entry.copy, |c| {
            pb::CopyKind::try_from(c)
                .ok()
                .filter(|c| *c != pb::CopyKind::Unspecified)
        });
        check.required_enum(&format!("{at}.method"), entry.method, |m| {
            pb::DeliveryMethod::try_from(m)
                .ok()
                .filter(|m| *m != pb::DeliveryMethod::Unspecified)
        });
        let sections = check.texts(
            &format!("{at}.omitted_sections"),
            &entry.omitted_sections,
            200,
        );
        let reason = check.opt_text(&format!("{at}.partial_reason"), &entry.partial_reason, 1000);
        match copy {
            Some(pb::CopyKind::Partial) => {
                if sections.is_empty() {
                    check.add(
                        format!("{at}.omitted_sections"),
                        "needs at least one section for a partial copy",
                    );
                }
                if reason.is_none() {
                    check.add(
                        format!("{at}.partial_reason"),
                        "is required for a partial copy",
                    );
                }
            }
            Some(_) if !sections.is_empty() || reason.is_some() => check.add(
                format!("{at}.copy"),
                "must be COPY_KIND_PARTIAL when sections are omitted",
            ),
            _ => {}
        }
        checked.push(pb::DistributionEntry {
            recipient,
            copy: entry.copy,
            omitted_sections: sections,
            partial_reason: reason.unwrap_or_default(),
            method: entry.method,
        });
    }
    checked
}

/// A GetTimelinessStatisticsRequest: (authority named, period).
pub(crate) fn statistics(
    req: &pb::GetTimelinessStatisticsRequest,
) -> Result<(String, cpc_rules::timeliness::Period), ApiError> {
    let mut check = Check::new();
    if req.authority_id.is_empty() {
        check.add("authority_id", "is required");
    }
    let range = req.period.as_ref();
    let start = check.required_date(
        "period.start_date",
        range.and_then(|p| p.start_date.as_ref()),
    );
    let end = check.required_date("period.end_date", range.and_then(|p| p.end_date.as_ref()));
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            check.add("period.end_date", "must not be before start_date");
        } else if start
            .checked_add_months(chrono::Months::new(60))
            .is_none_or(|limit| end > limit)
        {
            check.add("period", "must be at most 5 years");
        }
    }
    check.finish()?;
    match (start, end) {
        (Some(start), Some(end)) => Ok((
            req.authority_id.clone(),
            cpc_rules::timeliness::Period { start, end },
        )),
        _ => Err(ApiError::internal("a checked period lost a date")),
    }
}

/// A GenerateCinCensusRequest, checked.
#[derive(Debug, Clone)]
pub(crate) struct CensusAsked {
    pub authority: String,
    pub collection_year: i32,
    pub year: crate::census::assemble::Year,
    pub serial_no: u16,
}

/// A GenerateCinCensusRequest: the authority, a collection year the DfE
/// could collect (2013 to 2100), its reference date (in the year it names,
/// normally 31 March) and a serial number of 1 to 999.
pub(crate) fn census(req: &pb::GenerateCinCensusRequest) -> Result<CensusAsked, ApiError> {
    use chrono::Datelike as _;
    let mut check = Check::new();
    if req.authority_id.is_empty() {
        check.add("authority_id", "is required");
    }
    if !(2013..=2100).contains(&req.collection_year) {
        check.add("collection_year", "must be a year from 2013 to 2100");
    }
    let reference = check.required_date("reference_date", req.reference_date.as_ref());
    if let Some(reference) = reference
        && (2013..=2100).contains(&req.collection_year)
        && reference.year() != req.collection_year
    {
        check.add("reference_date", "must fall in the collection year");
    }
    let serial_no = u16::try_from(req.serial_no)
        .ok()
        .filter(|n| (1..=999).contains(n));
    if serial_no.is_none() {
        check.add("serial_no", "must be from 1 to 999");
    }
    check.finish()?;
    match (
        reference.and_then(crate::census::assemble::Year::ending),
        serial_no,
    ) {
        (Some(year), Some(serial_no)) => Ok(CensusAsked {
            authority: req.authority_id.clone(),
            collection_year: req.collection_year,
            year,
            serial_no,
        }),
        _ => Err(ApiError::internal("a checked census request lost its year")),
    }
}
