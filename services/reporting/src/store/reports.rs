//! Agency reports: written for a conference by an agency, the social worker
//! or an advocate; submitted (late if after the conference's reports due
//! date); shared with invitees and members of the case.
//!
//! Who is shown a report is one rule, the schema's `report_visible`: its
//! author always; nobody else while it is a draft; once submitted, the
//! local authority's readers and whoever it was shared with. A report a
//! reader may not be shown is `NOT_FOUND` to them, for reading and for
//! changing alike. The chair's exclusions from attending are read at each
//! sharing: an excluded person receives a report only from the chair.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_identity::{AgencyKind, agency_key};
use cpc_platform::idempotency::{self, RequestKey};
use cpc_platform::paging::PageRequest;
use cpc_platform::{ApiError, case_members};
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::conferences::{self, Excluded};
use super::{About, Ctx, decode, publish};

/// The method name request ids are kept under.
pub const CREATE_REPORT: &str = "CreateAgencyReport";

/// Who is asking, as the visibility rule sees them.
#[derive(Debug, Clone)]
pub struct Reader {
    pub person: String,
    /// A local authority reader (social worker, manager, chair): shown
    /// every submitted report of a conference the policies let them read.
    /// Anyone else (an agency practitioner) is shown only what they wrote
    /// or what was shared with them.
    pub reads_every_submitted: bool,
}

/// A checked new report.
#[derive(Clone)]
pub struct NewReport {
    pub key: RequestKey,
    pub conference_id: Uuid,
    /// The caller, as the report names them.
    pub author: common::PersonRef,
    pub child_ids: Vec<Uuid>,
    pub kind: &'static str,
    pub content: Option<pb::agency_report::Content>,
}

cpc_platform::redacted_debug!(NewReport);

/// A checked update: each field is `Some` when the mask names it.
#[derive(Clone, Default)]
pub struct ReportChanges {
    pub child_ids: Option<Vec<Uuid>>,
    /// The new content (`None` inside: cleared).
    pub content: Option<Option<pb::agency_report::Content>>,
}

cpc_platform::redacted_debug!(ReportChanges);

/// A checked sharing.
#[derive(Clone)]
pub struct Sharing {
    pub recipients: Vec<common::PersonRef>,
    pub method: pb::DeliveryMethod,
}

cpc_platform::redacted_debug!(Sharing);

/// A checked list query.
#[derive(Debug, Clone)]
pub struct ReportFilter {
    pub conference_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<&'static str>,
    pub agency_kind: Option<i32>,
    pub late_only: bool,
    pub page: PageRequest,
}

/// `ReportKind` as stored.
#[must_use]
pub fn kind_code(kind: pb::ReportKind) -> Option<&'static str> {
    match kind {
        pb::ReportKind::Unspecified => None,
        pb::ReportKind::SocialWorker => Some("social_worker"),
        pb::ReportKind::Agency => Some("agency"),
        pb::ReportKind::Advocacy => Some("advocacy"),
    }
}

fn kind_of(code: &str) -> pb::ReportKind {
    match code {
        "social_worker" => pb::ReportKind::SocialWorker,
        "advocacy" => pb::ReportKind::Advocacy,
        _ => pb::ReportKind::Agency,
    }
}

/// `AgencyReportStatus` as stored.
#[must_use]
pub fn status_code(status: pb::AgencyReportStatus) -> Option<&'static str> {
    match status {
        pb::AgencyReportStatus::Unspecified => None,
        pb::AgencyReportStatus::Draft => Some("draft"),
        pb::AgencyReportStatus::Submitted => Some("submitted"),
        pb::AgencyReportStatus::Withdrawn => Some("withdrawn"),
    }
}

fn status_of(code: &str) -> pb::AgencyReportStatus {
    match code {
        "submitted" => pb::AgencyReportStatus::Submitted,
        "withdrawn" => pb::AgencyReportStatus::Withdrawn,
        _ => pb::AgencyReportStatus::Draft,
    }
}

/// Creates a draft report by the caller for a conference not cancelled.
///
/// # Errors
/// `NOT_FOUND` for an unknown conference; `FAILED_PRECONDITION` if it was
/// cancelled; `INVALID_ARGUMENT` naming a child not in the conference;
/// database errors.
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewReport,
) -> Result<pb::CreateAgencyReportResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(response);
    }
    let conference = conferences::load(conn, new.conference_id).await?;
    if conference.status == "cancelled" {
        return Err(ApiError::FailedPrecondition(
            "the conference was cancelled; it takes no reports".to_owned(),
        ));
    }
    refuse_strangers(&conference, &new.child_ids, "report.child_ids")?;
    let id = Uuid::now_v7();
    let (document, body) = columns(new.content.as_ref());
    sqlx::query(
        "INSERT INTO agency_reports (id, authority_id, conference_id, child_ids, kind, author, \
                                     author_id, agency_kind, status, document, body, \
                                     created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'draft', $9, $10, $11, $11)",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(conference.id)
    .bind(&new.child_ids)
    .bind(new.kind)
    .bind(new.author.encode_to_vec())
    .bind(&new.author.person_id)
    .bind(new.author.agency_kind)
    .bind(document)
    .bind(body)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let response = pb::CreateAgencyReportResponse {
        report: Some(load_one(conn, id, ctx.today).await?),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(response)
}

/// Report `id`, if `reader` may be shown it.
///
/// # Errors
/// `NOT_FOUND` (also for a report `reader` is not shown); database errors.
pub async fn load(
    conn: &mut PgConnection,
    id: Uuid,
    reader: &Reader,
    today: NaiveDate,
) -> Result<pb::AgencyReport, ApiError> {
    let visible: Option<bool> = sqlx::query_scalar(
        "SELECT report_visible(r, $2, $3) FROM agency_reports r WHERE r.id = $1",
    )
    .bind(id)
    .bind(&reader.person)
    .bind(reader.reads_every_submitted)
    .fetch_optional(&mut *conn)
    .await?;
    if visible != Some(true) {
        return Err(not_found(id));
    }
    load_one(conn, id, today).await
}

/// Changes a draft's children or content; only its author is shown a
/// draft, so only its author changes it.
///
/// # Errors
/// `NOT_FOUND`; `FAILED_PRECONDITION` unless draft; `ABORTED` for a stale
/// version; `INVALID_ARGUMENT` naming a child not in the conference.
pub async fn update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    reader: &Reader,
    id: Uuid,
    version: i64,
    changes: &ReportChanges,
) -> Result<pb::AgencyReport, ApiError> {
    let current = lock(conn, id, version, reader, "draft").await?;
    if let Some(children) = &changes.child_ids {
        let conference = conferences::load(conn, current.conference_id).await?;
        refuse_strangers(&conference, children, "report.child_ids")?;
        sqlx::query("UPDATE agency_reports SET child_ids = $2 WHERE id = $1")
            .bind(id)
            .bind(children)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(content) = &changes.content {
        let (document, body) = columns(content.as_ref());
        sqlx::query("UPDATE agency_reports SET document = $2, body = $3 WHERE id = $1")
            .bind(id)
            .bind(document)
            .bind(body)
            .execute(&mut *conn)
            .await?;
    }
    bump(conn, id, ctx.now).await?;
    load_one(conn, id, ctx.today).await
}

/// Submits a draft with content, late if today is after the conference's
/// reports due date.
///
/// # Errors
/// `NOT_FOUND`; `FAILED_PRECONDITION` unless a draft with content;
/// `ABORTED` for a stale version.
pub async fn submit(
    conn: &mut PgConnection,
    ctx: &Ctx,
    reader: &Reader,
    id: Uuid,
    version: i64,
) -> Result<pb::AgencyReport, ApiError> {
    let current = lock(conn, id, version, reader, "draft").await?;
    if !current.has_content {
        return Err(ApiError::FailedPrecondition(
            "a report needs its content (a document or a body) before submission".to_owned(),
        ));
    }
    let due = conferences::load(conn, current.conference_id)
        .await?
        .reports_due_on;
    sqlx::query(
        "UPDATE agency_reports SET status = 'submitted', submitted_at = $2, due_on = $3, late = $4 \
          WHERE id = $1",
    )
    .bind(id)
    .bind(ctx.now)
    .bind(due)
    .bind(is_late(due, ctx.today))
    .execute(&mut *conn)
    .await?;
    bump(conn, id, ctx.now).await?;
    let report = load_one(conn, id, ctx.today).await?;
    let payload = pb::AgencyReportSubmitted {
        report: Some(report.clone()),
    };
    publish(
        conn,
        ctx,
        about(&report),
        "cpc.reporting.v1.AgencyReportSubmitted",
        &payload,
    )
    .await?;
    Ok(report)
}

/// Shares a submitted report with invitees of its conference, members of
/// its case, or practitioners of an agency that is a member; a person the
/// chair excluded from attending receives it only from the conference's
/// chair.
///
/// # Errors
/// `NOT_FOUND`; `FAILED_PRECONDITION` unless submitted, or naming a
/// recipient who may not receive it; `ABORTED` for a stale version.
pub async fn share(
    conn: &mut PgConnection,
    ctx: &Ctx,
    reader: &Reader,
    id: Uuid,
    version: i64,
    sharing: &Sharing,
) -> Result<pb::AgencyReport, ApiError> {
    let current = lock(conn, id, version, reader, "submitted").await?;
    let conference = conferences::load(conn, current.conference_id).await?;
    let people: Vec<String> = sharing
        .recipients
        .iter()
        .map(|p| p.person_id.clone())
        .collect();
    // The members for each child's case now, as access is decided.
    let now_on = case_members::current_cases(
        conn,
        conferences::CHILD_CASES,
        conference.case_id,
        &conference.child_ids,
    )
    .await?;
    let members =
        case_members::relation_of_children(conn, conference.case_id, &now_on, ctx.today).await?;
    let invited = conferences::invitees_among(conn, conference.id, &people).await?;
    let barred = conferences::excluded(conn, conference.id, Excluded::FromAttending).await?;
    let by_chair = conference.chair_id.as_deref() == Some(reader.person.as_str());
    for (i, recipient) in sharing.recipients.iter().enumerate() {
        let person = &recipient.person_id;
        let of_member_agency = AgencyKind::from_code(recipient.agency_kind)
            .map(|kind| agency_key(kind, &recipient.agency_name))
            .is_some_and(|agency| members.current_member_agencies.contains(&agency));
        if !invited.contains(person)
            && !members.current_members.contains(person)
            && !of_member_agency
        {
            return Err(ApiError::FailedPrecondition(format!(
                "recipients[{i}] is not invited to the conference, nor on the case, nor of an \
                 agency on the case"
            )));
        }
        if barred.contains(person) && !by_chair {
            return Err(ApiError::FailedPrecondition(format!(
                "recipients[{i}] was excluded from attending; only the conference's chair may \
                 share a report with them"
            )));
        }
    }
    let first: i32 = sqlx::query_scalar(
        "SELECT coalesce(max(position) + 1, 0) FROM agency_report_shares WHERE report_id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let mut shares = Vec::with_capacity(sharing.recipients.len());
    for (position, recipient) in (first..).zip(&sharing.recipients) {
        let share = pb::ReportShare {
            recipient: Some(recipient.clone()),
            method: sharing.method as i32,
            share_time: Some(cpc_platform::convert::timestamp_to_proto(ctx.now)),
        };
        sqlx::query(
            "INSERT INTO agency_report_shares (report_id, position, authority_id, person_id, \
                                               share, shared_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(position)
        .bind(&ctx.authority)
        .bind(&recipient.person_id)
        .bind(share.encode_to_vec())
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
        shares.push(share);
    }
    bump(conn, id, ctx.now).await?;
    let report = load_one(conn, id, ctx.today).await?;
    let payload = pb::AgencyReportShared {
        report: Some(report.clone()),
        shares,
    };
    publish(
        conn,
        ctx,
        about(&report),
        "cpc.reporting.v1.AgencyReportShared",
        &payload,
    )
    .await?;
    Ok(report)
}

/// The conference report `id` was written for.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn conference_of(conn: &mut PgConnection, id: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("SELECT conference_id FROM agency_reports WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| not_found(id))
}

/// A page of the reports `reader` is shown, by submission time (drafts
/// last).
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    filter: &ReportFilter,
    reader: &Reader,
    today: NaiveDate,
) -> Result<pb::ListAgencyReportsResponse, ApiError> {
    // A page token's row must be one this list shows the reader: else a
    // token made up around another report's id would show, by where the
    // page starts, when that report was submitted.
    let after: Option<(Option<DateTime<Utc>>, Uuid)> = match filter.page.after {
        Some(after) => {
            let Some(anchor) = sqlx::query_as(
                "SELECT r.submitted_at, r.id FROM agency_reports r \
                  WHERE r.id = $1 AND report_visible(r, $2, $3) \
                    AND ($4::uuid IS NULL OR r.conference_id = $4) \
                    AND ($5::uuid IS NULL OR r.child_ids @> ARRAY[$5]::uuid[])",
            )
            .bind(after)
            .bind(&reader.person)
            .bind(reader.reads_every_submitted)
            .bind(filter.conference_id)
            .bind(filter.child_id)
            .fetch_optional(&mut *conn)
            .await?
            else {
                return Ok(pb::ListAgencyReportsResponse::default());
            };
            Some(anchor)
        }
        None => None,
    };
    let (after_submitted, after_id) = after.unzip();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT r.id FROM agency_reports r JOIN conferences c ON c.id = r.conference_id \
          WHERE report_visible(r, $1, $2) \
            AND ($3::uuid IS NULL OR r.conference_id = $3) \
            AND ($4::uuid IS NULL OR r.child_ids @> ARRAY[$4]::uuid[]) \
            AND ($5::text IS NULL OR r.status = $5) \
            AND ($6::int IS NULL OR r.agency_kind = $6) \
            AND (NOT $7 OR CASE WHEN r.submitted_at IS NOT NULL THEN r.late \
                                ELSE c.reports_due_on < $8 END) \
            AND ($10::uuid IS NULL \
                 OR (coalesce(r.submitted_at, 'infinity'::timestamptz), r.id) \
                    > (coalesce($9::timestamptz, 'infinity'::timestamptz), $10)) \
          ORDER BY coalesce(r.submitted_at, 'infinity'::timestamptz), r.id \
          LIMIT $11",
    )
    .bind(&reader.person)
    .bind(reader.reads_every_submitted)
    .bind(filter.conference_id)
    .bind(filter.child_id)
    .bind(filter.status)
    .bind(filter.agency_kind)
    .bind(filter.late_only)
    .bind(today)
    .bind(after_submitted.flatten())
    .bind(after_id)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let mut reports = load_many(conn, &ids, today).await?;
    let next_page_token = filter
        .page
        .finish(&mut reports, |r| Uuid::parse_str(&r.id).unwrap_or_default());
    Ok(pb::ListAgencyReportsResponse {
        reports,
        next_page_token,
    })
}

/// Late: submitted after the due date, or still a draft past it.
fn is_late(due: Option<NaiveDate>, on: NaiveDate) -> bool {
    due.is_some_and(|due| on > due)
}

/// `INVALID_ARGUMENT` naming the first of `children` (at `field`) that the
/// conference is not for.
fn refuse_strangers(
    conference: &conferences::Conference,
    children: &[Uuid],
    field: &str,
) -> Result<(), ApiError> {
    match children
        .iter()
        .position(|c| !conference.child_ids.contains(c))
    {
        Some(i) => Err(ApiError::invalid_field(
            format!("{field}[{i}]"),
            "is not a child of the conference",
        )),
        None => Ok(()),
    }
}

fn not_found(id: Uuid) -> ApiError {
    ApiError::not_found("agency report", id.to_string())
}

#[derive(sqlx::FromRow)]
struct Current {
    conference_id: Uuid,
    status: String,
    has_content: bool,
    version: i64,
    visible: bool,
}

/// Locks report `id` for a change that needs it `status` at `version`.
/// A report `reader` is not shown is `NOT_FOUND`, before anything else is
/// said about it.
async fn lock(
    conn: &mut PgConnection,
    id: Uuid,
    version: i64,
    reader: &Reader,
    status: &str,
) -> Result<Current, ApiError> {
    let current: Current = sqlx::query_as(
        "SELECT conference_id, status, \
                (document IS NOT NULL OR body IS NOT NULL) AS has_content, version, \
                report_visible(r, $2, $3) AS visible \
           FROM agency_reports r WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .bind(&reader.person)
    .bind(reader.reads_every_submitted)
    .fetch_optional(&mut *conn)
    .await?
    .filter(|c: &Current| c.visible)
    .ok_or_else(|| not_found(id))?;
    // The version first: a caller who read the report before someone else
    // changed it (submitted it, say) is told to read it again (ABORTED),
    // not refused for a state they have not seen.
    if current.version != version {
        return Err(ApiError::Aborted(format!(
            "the report is at version {}, not {version}; read it again",
            current.version
        )));
    }
    if current.status != status {
        return Err(ApiError::FailedPrecondition(format!(
            "the report is {}; this needs it {status}",
            current.status
        )));
    }
    Ok(current)
}

async fn bump(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE agency_reports SET version = version + 1, updated_at = greatest(updated_at, $2) \
          WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn columns(content: Option<&pb::agency_report::Content>) -> (Option<Vec<u8>>, Option<String>) {
    match content {
        Some(pb::agency_report::Content::Document(document)) => {
            (Some(document.encode_to_vec()), None)
        }
        Some(pb::agency_report::Content::Body(body)) => (None, Some(body.clone())),
        None => (None, None),
    }
}

fn about(report: &pb::AgencyReport) -> About<'_> {
    About {
        aggregate_type: "AgencyReport",
        id: &report.id,
        version: report.version,
        child_ids: &report.child_ids,
    }
}

async fn load_one(
    conn: &mut PgConnection,
    id: Uuid,
    today: NaiveDate,
) -> Result<pb::AgencyReport, ApiError> {
    load_many(conn, &[id], today)
        .await?
        .pop()
        .ok_or_else(|| not_found(id))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    authority_id: String,
    conference_id: Uuid,
    child_ids: Vec<Uuid>,
    kind: String,
    author: Vec<u8>,
    status: String,
    document: Option<Vec<u8>>,
    body: Option<String>,
    submitted_at: Option<DateTime<Utc>>,
    due_on: Option<NaiveDate>,
    late: bool,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The conference's reports due date as it stands.
    reports_due_on: Option<NaiveDate>,
}

/// Reports `ids`, in that order (unknown ids left out), in two queries
/// however many there are.
async fn load_many(
    conn: &mut PgConnection,
    ids: &[Uuid],
    today: NaiveDate,
) -> Result<Vec<pb::AgencyReport>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.id, r.authority_id, r.conference_id, r.child_ids, r.kind, r.author, r.status, \
                r.document, r.body, r.submitted_at, r.due_on, r.late, r.version, r.created_at, \
                r.updated_at, c.reports_due_on \
           FROM agency_reports r JOIN conferences c ON c.id = r.conference_id \
          WHERE r.id = ANY ($1)",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut shared: HashMap<Uuid, Vec<pb::ReportShare>> = HashMap::new();
    for (id, bytes) in sqlx::query_as::<_, (Uuid, Vec<u8>)>(
        "SELECT report_id, share FROM agency_report_shares WHERE report_id = ANY ($1) \
          ORDER BY report_id, position",
    )
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?
    {
        shared.entry(id).or_default().push(decode(&bytes)?);
    }
    let mut by_id: HashMap<Uuid, pb::AgencyReport> = HashMap::with_capacity(rows.len());
    for row in rows {
        let content = match (row.document, row.body) {
            (Some(document), _) => Some(pb::agency_report::Content::Document(decode(&document)?)),
            (None, Some(body)) => Some(pb::agency_report::Content::Body(body)),
            (None, None) => None,
        };
        // A submitted report keeps the date and lateness it was submitted
        // against; a draft is judged against today.
        let (due, late) = match row.submitted_at {
            Some(_) => (row.due_on, row.late),
            None => (row.reports_due_on, is_late(row.reports_due_on, today)),
        };
        let report = pb::AgencyReport {
            id: row.id.to_string(),
            version: row.version,
            conference_id: row.conference_id.to_string(),
            authority_id: row.authority_id,
            child_ids: row.child_ids.iter().map(Uuid::to_string).collect(),
            kind: kind_of(&row.kind) as i32,
            author: Some(decode(&row.author)?),
            status: status_of(&row.status) as i32,
            due_date: cpc_platform::convert::opt_date_to_proto(due),
            submit_time: row
                .submitted_at
                .map(cpc_platform::convert::timestamp_to_proto),
            late,
            content,
            shared_with: shared.remove(&row.id).unwrap_or_default(),
            create_time: Some(cpc_platform::convert::timestamp_to_proto(row.created_at)),
            update_time: Some(cpc_platform::convert::timestamp_to_proto(row.updated_at)),
        };
        by_id.insert(row.id, report);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}
