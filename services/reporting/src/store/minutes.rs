//! Conference minutes: drafted, approved by a chair, distributed to an
//! agreed list that never names anyone the chair excluded from receiving
//! them, and the record of who was told the decision.
//!
//! The exclusions are read again at every change of the list and at every
//! distribution, so an exclusion the cases feed brings after the list was
//! agreed still stops the minutes reaching that person.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use cpc_platform::ApiError;
use cpc_platform::idempotency::{self, RequestKey};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{About, Ctx, conferences, decode, publish};

/// The method name request ids are kept under.
pub const CREATE_MINUTES: &str = "CreateMinutes";

/// The aggregate type of every event the feed carries about minutes
/// (`MinutesApproved`, `MinutesDistributed`, `DecisionNotified`).
pub const AGGREGATE_TYPE: &str = "Minutes";

const APPROVED: &str = "cpc.reporting.v1.MinutesApproved";
const DISTRIBUTED: &str = "cpc.reporting.v1.MinutesDistributed";
const DECISION_NOTIFIED: &str = "cpc.reporting.v1.DecisionNotified";

/// Checked new minutes.
#[derive(Clone)]
pub struct NewMinutes {
    pub key: RequestKey,
    pub conference_id: Uuid,
    pub content: Option<pb::minutes::Content>,
    pub distribution: Vec<pb::DistributionEntry>,
}

cpc_platform::redacted_debug!(NewMinutes);

/// A checked update: each field is `Some` when the mask names it.
#[derive(Clone, Default)]
pub struct Changes {
    /// The new content (`None` inside: cleared).
    pub content: Option<Option<pb::minutes::Content>>,
    pub distribution: Option<Vec<pb::DistributionEntry>>,
}

cpc_platform::redacted_debug!(Changes);

/// A checked decision notification (who told them is the caller).
#[derive(Clone)]
pub struct Notification {
    pub recipient: common::PersonRef,
    pub child_id: Uuid,
    pub method: pb::DeliveryMethod,
    pub notify_time: DateTime<Utc>,
}

cpc_platform::redacted_debug!(Notification);

/// A checked list query.
#[derive(Debug, Clone)]
pub struct MinutesFilter {
    pub conference_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub status: Option<&'static str>,
    pub page: PageRequest,
}

/// `MinutesStatus` as stored.
#[must_use]
pub fn status_code(status: pb::MinutesStatus) -> Option<&'static str> {
    match status {
        pb::MinutesStatus::Unspecified => None,
        pb::MinutesStatus::Draft => Some("draft"),
        pb::MinutesStatus::Approved => Some("approved"),
        pb::MinutesStatus::Distributed => Some("distributed"),
    }
}

fn status_of(code: &str) -> pb::MinutesStatus {
    match code {
        "approved" => pb::MinutesStatus::Approved,
        "distributed" => pb::MinutesStatus::Distributed,
        _ => pb::MinutesStatus::Draft,
    }
}

/// Creates draft minutes for a held or inquorate conference.
///
/// # Errors
/// `NOT_FOUND` for an unknown conference; `FAILED_PRECONDITION` if it has
/// not met, or the list names an excluded person; `ALREADY_EXISTS` if it
/// has minutes; database errors.
pub async fn create(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewMinutes,
) -> Result<pb::CreateMinutesResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(response);
    }
    let conference = conferences::load(conn, new.conference_id).await?;
    if !conference.met() {
        return Err(ApiError::FailedPrecondition(
            "minutes are written for a conference recorded as held or inquorate".to_owned(),
        ));
    }
    let existing: Option<Uuid> =
        sqlx::query_scalar("SELECT id FROM minutes WHERE conference_id = $1")
            .bind(conference.id)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(existing) = existing {
        return Err(ApiError::AlreadyExists {
            resource: "minutes",
            id: existing.to_string(),
        });
    }
    refuse_excluded(conn, conference.id, &new.distribution).await?;
    let id = Uuid::now_v7();
    let (document, body) = columns(new.content.as_ref());
    sqlx::query(
        "INSERT INTO minutes (id, authority_id, conference_id, status, document, body, author, \
                              created_at, updated_at) \
         VALUES ($1, $2, $3, 'draft', $4, $5, $6, $7, $7)",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(conference.id)
    .bind(document)
    .bind(body)
    .bind(ctx.actor.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    write_distribution(conn, &ctx.authority, id, &new.distribution).await?;
    let response = pb::CreateMinutesResponse {
        minutes: Some(load(conn, id).await?),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(response)
}

/// Changes draft content or the distribution list (draft or approved).
///
/// # Errors
/// `NOT_FOUND`; `ABORTED` for a stale version; `FAILED_PRECONDITION` when
/// the status forbids the change or the list names an excluded person.
pub async fn update(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    changes: &Changes,
) -> Result<pb::Minutes, ApiError> {
    let current = lock(conn, id, version).await?;
    if let Some(content) = &changes.content {
        if current.status != "draft" {
            return Err(ApiError::FailedPrecondition(
                "the content of approved minutes is frozen".to_owned(),
            ));
        }
        let (document, body) = columns(content.as_ref());
        sqlx::query("UPDATE minutes SET document = $2, body = $3 WHERE id = $1")
            .bind(id)
            .bind(document)
            .bind(body)
            .execute(&mut *conn)
            .await?;
    }
    if let Some(list) = &changes.distribution {
        if current.status == "distributed" {
            return Err(ApiError::FailedPrecondition(
                "distributed minutes keep the list they were sent to".to_owned(),
            ));
        }
        refuse_excluded(conn, current.conference_id, list).await?;
        sqlx::query("DELETE FROM minutes_distribution WHERE minutes_id = $1")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        write_distribution(conn, &ctx.authority, id, list).await?;
    }
    bump(conn, id, ctx.now).await?;
    load(conn, id).await
}

/// Approves draft minutes with content, as the calling chair.
///
/// # Errors
/// `NOT_FOUND`; `ABORTED` for a stale version; `FAILED_PRECONDITION`
/// unless draft with content.
pub async fn approve(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
) -> Result<pb::Minutes, ApiError> {
    let current = lock(conn, id, version).await?;
    if current.status != "draft" {
        return Err(ApiError::FailedPrecondition(
            "only draft minutes can be approved".to_owned(),
        ));
    }
    if current.document.is_none() && current.body.is_none() {
        return Err(ApiError::FailedPrecondition(
            "minutes need their content (a document or a body) before approval".to_owned(),
        ));
    }
    sqlx::query(
        "UPDATE minutes SET status = 'approved', approved_by = $2, approved_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(ctx.actor.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    bump(conn, id, ctx.now).await?;
    let minutes = load(conn, id).await?;
    publish(
        conn,
        ctx,
        about(&minutes),
        APPROVED,
        &pb::MinutesApproved {
            minutes: Some(minutes.clone()),
        },
    )
    .await?;
    Ok(minutes)
}

/// Sends approved minutes to every entry of the list not yet sent them,
/// and records each delivery.
///
/// # Errors
/// `NOT_FOUND`; `ABORTED` for a stale version; `FAILED_PRECONDITION`
/// unless approved (or distributed, with entries added since), or when an
/// entry names a person now excluded; `INVALID_ARGUMENT` when a partial
/// copy is missing or not wanted.
pub async fn distribute(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    partial_copies: &BTreeMap<String, pb::DocumentRef>,
) -> Result<pb::Minutes, ApiError> {
    let current = lock(conn, id, version).await?;
    if current.status == "draft" {
        return Err(ApiError::FailedPrecondition(
            "minutes are distributed once the chair has approved them".to_owned(),
        ));
    }
    let before = load(conn, id).await?;
    refuse_excluded(conn, current.conference_id, &before.distribution_list).await?;
    let sent: Vec<&str> = before
        .distribution_records
        .iter()
        .filter_map(|r| r.recipient.as_ref().map(|p| p.person_id.as_str()))
        .collect();
    let due: Vec<(usize, &pb::DistributionEntry)> = before
        .distribution_list
        .iter()
        .enumerate()
        .filter(|(_, e)| !sent.contains(&person_of(e)))
        .collect();
    if due.is_empty() {
        return Err(ApiError::FailedPrecondition(
            "everyone on the distribution list has been sent these minutes".to_owned(),
        ));
    }
    let full_copy = match &before.content {
        Some(pb::minutes::Content::Document(document)) => Some(document.clone()),
        _ => None,
    };
    let mut missing = cpc_platform::check::Check::new();
    let mut records = Vec::with_capacity(due.len());
    for (position, entry) in &due {
        let partial = entry.copy == pb::CopyKind::Partial as i32;
        let document = if partial {
            let copy = partial_copies.get(person_of(entry)).cloned();
            if copy.is_none() {
                missing.add(
                    "partial_copies",
                    format!("needs the partial copy for distribution_list[{position}]"),
                );
            }
            copy
        } else {
            full_copy.clone()
        };
        records.push(pb::DistributionRecord {
            recipient: entry.recipient.clone(),
            copy: entry.copy,
            method: entry.method,
            document,
            send_time: Some(cpc_platform::convert::timestamp_to_proto(ctx.now)),
        });
    }
    // Keys are distinct recipients, so this alone also bounds their number.
    if partial_copies.keys().any(|p| !due_partial(&due, p)) {
        missing.add(
            "partial_copies",
            "names a recipient who is not due a partial copy of these minutes",
        );
    }
    missing.finish()?;
    let first = i32::try_from(sent.len()).map_err(ApiError::internal)?;
    for (offset, record) in records.iter().enumerate() {
        let person = record
            .recipient
            .as_ref()
            .map(|p| p.person_id.clone())
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO minutes_deliveries (minutes_id, position, authority_id, person_id, record, sent_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(first + i32::try_from(offset).map_err(ApiError::internal)?)
        .bind(&ctx.authority)
        .bind(person)
        .bind(record.encode_to_vec())
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query("UPDATE minutes SET status = 'distributed' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    bump(conn, id, ctx.now).await?;
    let minutes = load(conn, id).await?;
    publish(
        conn,
        ctx,
        about(&minutes),
        DISTRIBUTED,
        &pb::MinutesDistributed {
            minutes: Some(minutes.clone()),
            records,
        },
    )
    .await?;
    Ok(minutes)
}

fn due_partial(due: &[(usize, &pb::DistributionEntry)], person: &str) -> bool {
    due.iter()
        .any(|(_, e)| e.copy == pb::CopyKind::Partial as i32 && person_of(e) == person)
}

/// Records that a non-attending child or family member was told the
/// decision about `notification.child_id`.
///
/// # Errors
/// `NOT_FOUND`; `ABORTED` for a stale version; `INVALID_ARGUMENT` when the
/// child was not in the conference.
pub async fn notify(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    notification: &Notification,
) -> Result<pb::Minutes, ApiError> {
    let current = lock(conn, id, version).await?;
    let conference = conferences::load(conn, current.conference_id).await?;
    if !conference.child_ids.contains(&notification.child_id) {
        return Err(ApiError::invalid_field(
            "child_id",
            "is not a child of this conference",
        ));
    }
    let record = pb::DecisionNotification {
        recipient: Some(notification.recipient.clone()),
        child_id: notification.child_id.to_string(),
        method: notification.method as i32,
        notified_by: Some(ctx.actor.clone()),
        notify_time: Some(cpc_platform::convert::timestamp_to_proto(
            notification.notify_time,
        )),
    };
    sqlx::query(
        "INSERT INTO decision_notifications (minutes_id, position, authority_id, child_id, notification, recorded_at) \
         SELECT $1, count(*), $2, $3, $4, $5 FROM decision_notifications WHERE minutes_id = $1",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(notification.child_id)
    .bind(record.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    bump(conn, id, ctx.now).await?;
    let minutes = load(conn, id).await?;
    publish(
        conn,
        ctx,
        about(&minutes),
        DECISION_NOTIFIED,
        &pb::DecisionNotified {
            minutes_id: id.to_string(),
            notification: Some(record),
        },
    )
    .await?;
    Ok(minutes)
}

/// How the feed may deliver an event about minutes to a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Not at all: the minutes are unknown (in the transaction's
    /// authority) or the chair excluded the person from receiving them.
    Withheld,
    /// As it was published.
    Whole,
    /// Cut to what a recipient of a partial copy may see
    /// ([`partial_event`]).
    PartialCopy,
}

/// How the feed may deliver an event about minutes `id` to `person`. The
/// exclusions and the distribution list are read as they stand at
/// delivery, not as they were when the event was published: an exclusion
/// the cases feed brings later still holds the event back, and a person
/// put on the list for a partial copy never sees an earlier event whole.
///
/// # Errors
/// Database errors.
pub async fn delivery_to(
    conn: &mut PgConnection,
    id: Uuid,
    person: &str,
) -> Result<Delivery, ApiError> {
    let row: Option<(bool, Option<Vec<u8>>)> = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM minutes_exclusions x \
                         WHERE x.conference_id = m.conference_id AND x.person_id = $2), \
                (SELECT d.entry FROM minutes_distribution d \
                  WHERE d.minutes_id = m.id AND d.person_id = $2) \
           FROM minutes m WHERE m.id = $1",
    )
    .bind(id)
    .bind(person)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((excluded, entry)) = row else {
        return Ok(Delivery::Withheld);
    };
    if excluded {
        return Ok(Delivery::Withheld);
    }
    let entry = entry
        .map(|bytes| decode::<pb::DistributionEntry>(&bytes))
        .transpose()?;
    Ok(match entry {
        Some(entry) if entry.copy == pb::CopyKind::Partial as i32 => Delivery::PartialCopy,
        _ => Delivery::Whole,
    })
}

/// The conference minutes `id` are of.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn conference_of(conn: &mut PgConnection, id: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("SELECT conference_id FROM minutes WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("minutes", id.to_string()))
}

/// Minutes `id`, whole.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<pb::Minutes, ApiError> {
    load_many(conn, &[id])
        .await?
        .pop()
        .ok_or_else(|| ApiError::not_found("minutes", id.to_string()))
}

/// A page of minutes, newest conference first, leaving out those of
/// conferences `hidden_from` was excluded from (when set).
///
/// # Errors
/// Database errors.
pub async fn list(
    conn: &mut PgConnection,
    filter: &MinutesFilter,
    hidden_from: Option<&str>,
) -> Result<pb::ListMinutesResponse, ApiError> {
    // A page token's row must be minutes this list shows: else a token made
    // up around other minutes' id would show, by where the page starts,
    // when their conference was held.
    let after: Option<(Option<chrono::NaiveDate>, Uuid)> = match filter.page.after {
        Some(after) => {
            let Some(anchor) = sqlx::query_as(
                "SELECT c.held_on, m.id FROM minutes m JOIN conferences c ON c.id = m.conference_id \
                  WHERE m.id = $1 \
                    AND ($2::uuid IS NULL OR m.conference_id = $2) \
                    AND ($3::uuid IS NULL OR c.child_ids @> ARRAY[$3]::uuid[]) \
                    AND ($4::text IS NULL OR NOT EXISTS ( \
                          SELECT 1 FROM minutes_exclusions x \
                           WHERE x.conference_id = m.conference_id AND x.person_id = $4))",
            )
            .bind(after)
            .bind(filter.conference_id)
            .bind(filter.child_id)
            .bind(hidden_from)
            .fetch_optional(&mut *conn)
            .await? else {
                return Ok(pb::ListMinutesResponse::default());
            };
            Some(anchor)
        }
        None => None,
    };
    let (after_held, after_id) = after.unzip();
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT m.id FROM minutes m JOIN conferences c ON c.id = m.conference_id \
          WHERE ($1::uuid IS NULL OR m.conference_id = $1) \
            AND ($2::uuid IS NULL OR c.child_ids @> ARRAY[$2]::uuid[]) \
            AND ($3::text IS NULL OR m.status = $3) \
            AND ($4::text IS NULL OR NOT EXISTS ( \
                  SELECT 1 FROM minutes_exclusions x \
                   WHERE x.conference_id = m.conference_id AND x.person_id = $4)) \
            AND ($6::uuid IS NULL \
                 OR (coalesce(c.held_on, '-infinity'::date), m.id) \
                    < (coalesce($5::date, '-infinity'::date), $6)) \
          ORDER BY coalesce(c.held_on, '-infinity'::date) DESC, m.id DESC \
          LIMIT $7",
    )
    .bind(filter.conference_id)
    .bind(filter.child_id)
    .bind(filter.status)
    .bind(hidden_from)
    .bind(after_held.flatten())
    .bind(after_id)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let mut minutes = load_many(conn, &ids).await?;
    let next_page_token = filter
        .page
        .finish(&mut minutes, |m| Uuid::parse_str(&m.id).unwrap_or_default());
    Ok(pb::ListMinutesResponse {
        minutes,
        next_page_token,
    })
}

/// What `person` may see of `minutes`: a recipient of a partial copy sees
/// only that copy ([`partial_copy`]); anyone else sees the whole.
#[must_use]
pub fn as_seen_by(minutes: pb::Minutes, person: &str) -> pb::Minutes {
    let partial = minutes
        .distribution_list
        .iter()
        .any(|e| person_of(e) == person && e.copy == pb::CopyKind::Partial as i32);
    if partial {
        partial_copy(minutes, person)
    } else {
        minutes
    }
}

/// `minutes` as a recipient of a partial copy sees them: that copy (its
/// document, once sent) in place of the content, and only their own
/// entries, records and notifications.
fn partial_copy(mut minutes: pb::Minutes, person: &str) -> pb::Minutes {
    minutes
        .distribution_list
        .retain(|e| theirs(e.recipient.as_ref(), person));
    minutes
        .distribution_records
        .retain(|r| theirs(r.recipient.as_ref(), person));
    minutes
        .decision_notifications
        .retain(|n| theirs(n.recipient.as_ref(), person));
    minutes.excluded_person_ids.clear();
    minutes.content = minutes
        .distribution_records
        .last()
        .and_then(|r| r.document.clone())
        .map(pb::minutes::Content::Document);
    minutes
}

/// A feed event about minutes, as a recipient of a partial copy may have
/// it ([`Delivery::PartialCopy`]): the minutes in it cut to their copy,
/// its distribution records to their own; a decision notification only
/// when it was to them. `None` when nothing of it is theirs, or for a
/// payload that does not decode (withheld rather than guessed at).
#[must_use]
pub fn partial_event(mut event: common::ChangeEvent, person: &str) -> Option<common::ChangeEvent> {
    let cut = |m: Option<pb::Minutes>| m.map(|m| partial_copy(m, person));
    event.payload = match event.event_type.as_str() {
        APPROVED => {
            let mut approved = pb::MinutesApproved::decode(event.payload.as_slice()).ok()?;
            approved.minutes = cut(approved.minutes);
            approved.encode_to_vec()
        }
        DISTRIBUTED => {
            let mut distributed = pb::MinutesDistributed::decode(event.payload.as_slice()).ok()?;
            distributed.minutes = cut(distributed.minutes);
            distributed
                .records
                .retain(|r| theirs(r.recipient.as_ref(), person));
            distributed.encode_to_vec()
        }
        DECISION_NOTIFIED => {
            let notified = pb::DecisionNotified::decode(event.payload.as_slice()).ok()?;
            let notification = notified.notification.as_ref()?;
            if !theirs(notification.recipient.as_ref(), person) {
                return None;
            }
            return Some(event);
        }
        _ => return None,
    };
    Some(event)
}

fn theirs(recipient: Option<&common::PersonRef>, person: &str) -> bool {
    recipient.is_some_and(|p| p.person_id == person)
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    authority_id: String,
    conference_id: Uuid,
    status: String,
    document: Option<Vec<u8>>,
    body: Option<String>,
    author: Vec<u8>,
    approved_by: Option<Vec<u8>>,
    approved_at: Option<DateTime<Utc>>,
    version: i64,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// Minutes `ids`, in that order (unknown ids left out), read in a fixed
/// number of queries however many there are.
async fn load_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<pb::Minutes>, ApiError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Row> = sqlx::query_as("SELECT * FROM minutes WHERE id = ANY ($1)")
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
    let conferences: Vec<Uuid> = rows.iter().map(|r| r.conference_id).collect();
    let children: HashMap<Uuid, Vec<Uuid>> = sqlx::query_as::<_, (Uuid, Vec<Uuid>)>(
        "SELECT id, child_ids FROM conferences WHERE id = ANY ($1)",
    )
    .bind(&conferences)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .collect();
    let mut excluded: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (conference, person) in sqlx::query_as::<_, (Uuid, String)>(
        "SELECT DISTINCT conference_id, person_id FROM minutes_exclusions \
          WHERE conference_id = ANY ($1) ORDER BY conference_id, person_id",
    )
    .bind(&conferences)
    .fetch_all(&mut *conn)
    .await?
    {
        excluded.entry(conference).or_default().push(person);
    }
    let list =
        children_of::<pb::DistributionEntry>(conn, "minutes_distribution", "entry", ids).await?;
    let sent =
        children_of::<pb::DistributionRecord>(conn, "minutes_deliveries", "record", ids).await?;
    let told = children_of::<pb::DecisionNotification>(
        conn,
        "decision_notifications",
        "notification",
        ids,
    )
    .await?;
    let mut by_id: HashMap<Uuid, pb::Minutes> = HashMap::with_capacity(rows.len());
    for row in rows {
        let content = match (row.document, row.body) {
            (Some(document), _) => Some(pb::minutes::Content::Document(decode(&document)?)),
            (None, Some(body)) => Some(pb::minutes::Content::Body(body)),
            (None, None) => None,
        };
        let minutes = pb::Minutes {
            id: row.id.to_string(),
            version: row.version,
            conference_id: row.conference_id.to_string(),
            authority_id: row.authority_id,
            child_ids: children
                .get(&row.conference_id)
                .map(|c| c.iter().map(Uuid::to_string).collect())
                .unwrap_or_default(),
            status: status_of(&row.status) as i32,
            content,
            author: Some(decode(&row.author)?),
            approved_by: row.approved_by.as_deref().map(decode).transpose()?,
            approve_time: row
                .approved_at
                .map(cpc_platform::convert::timestamp_to_proto),
            distribution_list: list.get(&row.id).cloned().unwrap_or_default(),
            excluded_person_ids: excluded.remove(&row.conference_id).unwrap_or_default(),
            distribution_records: sent.get(&row.id).cloned().unwrap_or_default(),
            decision_notifications: told.get(&row.id).cloned().unwrap_or_default(),
            create_time: Some(cpc_platform::convert::timestamp_to_proto(row.created_at)),
            update_time: Some(cpc_platform::convert::timestamp_to_proto(row.updated_at)),
        };
        by_id.insert(row.id, minutes);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The messages kept in `table`'s `column`, by minutes id, in position
/// order. `table` and `column` are this module's constants, never input.
async fn children_of<M: Message + Default>(
    conn: &mut PgConnection,
    table: &'static str,
    column: &'static str,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<M>>, ApiError> {
    let rows: Vec<(Uuid, Vec<u8>)> = sqlx::query_as(&format!(
        "SELECT minutes_id, {column} FROM {table} WHERE minutes_id = ANY ($1) \
         ORDER BY minutes_id, position"
    ))
    .bind(ids)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_minutes: HashMap<Uuid, Vec<M>> = HashMap::new();
    for (id, bytes) in rows {
        by_minutes.entry(id).or_default().push(decode(&bytes)?);
    }
    Ok(by_minutes)
}

#[derive(sqlx::FromRow)]
struct Current {
    conference_id: Uuid,
    status: String,
    document: Option<Vec<u8>>,
    body: Option<String>,
    version: i64,
}

/// Locks minutes `id` at `version` for a change.
async fn lock(conn: &mut PgConnection, id: Uuid, version: i64) -> Result<Current, ApiError> {
    let current: Current = sqlx::query_as(
        "SELECT conference_id, status, document, body, version FROM minutes WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| ApiError::not_found("minutes", id.to_string()))?;
    if current.version != version {
        return Err(ApiError::Aborted(format!(
            "the minutes are at version {}, not {version}; read them again",
            current.version
        )));
    }
    Ok(current)
}

async fn bump(conn: &mut PgConnection, id: Uuid, now: DateTime<Utc>) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE minutes SET version = version + 1, updated_at = greatest(updated_at, $2) WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `FAILED_PRECONDITION` naming the first entry of `list` whose recipient
/// the chair excluded from `conference`'s minutes.
async fn refuse_excluded(
    conn: &mut PgConnection,
    conference: Uuid,
    list: &[pb::DistributionEntry],
) -> Result<(), ApiError> {
    let excluded =
        conferences::excluded(conn, conference, conferences::Excluded::FromMinutes).await?;
    match list
        .iter()
        .position(|e| excluded.iter().any(|x| x == person_of(e)))
    {
        Some(i) => Err(ApiError::FailedPrecondition(format!(
            "distribution_list[{i}] names a person excluded from receiving these minutes"
        ))),
        None => Ok(()),
    }
}

async fn write_distribution(
    conn: &mut PgConnection,
    authority: &str,
    id: Uuid,
    list: &[pb::DistributionEntry],
) -> Result<(), ApiError> {
    for (position, entry) in list.iter().enumerate() {
        sqlx::query(
            "INSERT INTO minutes_distribution (minutes_id, position, authority_id, person_id, entry) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(i32::try_from(position).map_err(ApiError::internal)?)
        .bind(authority)
        .bind(person_of(entry))
        .bind(entry.encode_to_vec())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn person_of(entry: &pb::DistributionEntry) -> &str {
    entry
        .recipient
        .as_ref()
        .map_or("", |p| p.person_id.as_str())
}

fn columns(content: Option<&pb::minutes::Content>) -> (Option<Vec<u8>>, Option<String>) {
    match content {
        Some(pb::minutes::Content::Document(document)) => (Some(document.encode_to_vec()), None),
        Some(pb::minutes::Content::Body(body)) => (None, Some(body.clone())),
        None => (None, None),
    }
}

fn about(minutes: &pb::Minutes) -> About<'_> {
    About {
        aggregate_type: AGGREGATE_TYPE,
        id: &minutes.id,
        version: minutes.version,
        child_ids: &minutes.child_ids,
    }
}
