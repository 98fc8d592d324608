//! Section 47 enquiries: `StartSection47Enquiry`,
//! `CompleteSection47Enquiry`, `GetSection47Enquiry`,
//! `ListSection47Enquiries`.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use super::children::child_row;
use super::episodes::open_episode;
use super::strategy::discussion_row;
use super::{Ctx, Written, db, lock_version};
use crate::codes::{Section47Outcome, StrategyOutcome};
use crate::convert::{date_to_proto, opt_date_to_proto, timestamp_to_proto};
use crate::domain::journey::{NewSection47, Section47Completion, Section47Filter};
use crate::events::{Subject, emit};
use crate::idempotency;

/// An enquiry with its derived DateOfInitialCPC (the ICPC whose outcome
/// was recorded against it).
const SELECT_ENQUIRY: &str = "\
SELECT s.*, (SELECT min(o.conference_date) FROM conference_outcomes o WHERE o.section47_id = s.id) AS initial_cpc_date
  FROM section47_enquiries s";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct EnquiryRow {
    pub id: Uuid,
    pub child_id: Uuid,
    pub cin_episode_id: Uuid,
    pub strategy_discussion_id: Uuid,
    pub start_date: NaiveDate,
    pub completion_date: Option<NaiveDate>,
    pub outcome: Option<Section47Outcome>,
    pub icpc_not_required_reason: Option<String>,
    pub initial_cpc_target_date: NaiveDate,
    pub initial_cpc_date: Option<NaiveDate>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl EnquiryRow {
    fn into_proto(self) -> pb::Section47Enquiry {
        pb::Section47Enquiry {
            id: self.id.to_string(),
            version: self.version,
            child_id: self.child_id.to_string(),
            cin_episode_id: self.cin_episode_id.to_string(),
            strategy_discussion_id: self.strategy_discussion_id.to_string(),
            start_date: Some(date_to_proto(self.start_date)),
            status: if self.completion_date.is_some() {
                pb::Section47Status::Completed
            } else {
                pb::Section47Status::InProgress
            } as i32,
            completion_date: opt_date_to_proto(self.completion_date),
            outcome: self.outcome.map_or(0, Section47Outcome::to_i32),
            icpc_not_required_reason: self.icpc_not_required_reason.unwrap_or_default(),
            initial_cpc_target_date: Some(date_to_proto(self.initial_cpc_target_date)),
            initial_cpc_date: opt_date_to_proto(self.initial_cpc_date),
            create_time: Some(timestamp_to_proto(self.created_at)),
            update_time: Some(timestamp_to_proto(self.updated_at)),
        }
    }
}

/// `GetSection47Enquiry`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn get_section47_enquiry(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::Section47Enquiry, ApiError> {
    let row: EnquiryRow = sqlx::query_as(&format!("{SELECT_ENQUIRY} WHERE s.id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("section 47 enquiry", id.to_string()))?;
    Ok(row.into_proto())
}

/// The latest enquiry of a child's open episode, which an initial or
/// pre-birth conference follows.
pub(crate) struct LatestEnquiry {
    pub id: Uuid,
    pub start_date: NaiveDate,
    pub outcome: Option<Section47Outcome>,
}

impl LatestEnquiry {
    /// Whether it concluded that no initial conference is needed: then no
    /// conference follows it until a later enquiry finds one is.
    pub(crate) fn icpc_not_required(&self) -> bool {
        self.outcome == Some(Section47Outcome::IcpcNotRequired)
    }
}

/// The latest enquiry of the episode (in progress or completed), share
/// locked so that it cannot be completed as "ICPC not required" under an
/// outcome recorded against it ([`complete_section47_enquiry`] locks it
/// for update, then looks for one).
///
/// An earlier enquiry is never the one a conference follows: a later
/// enquiry that concluded "ICPC not required" is the latest word on
/// whether one is needed.
pub(crate) async fn enquiry_for_icpc(
    conn: &mut PgConnection,
    cin_episode_id: Uuid,
) -> Result<Option<LatestEnquiry>, ApiError> {
    let row: Option<(Uuid, NaiveDate, Option<Section47Outcome>)> = sqlx::query_as(
        "SELECT id, start_date, outcome FROM section47_enquiries \
         WHERE cin_episode_id = $1 \
         ORDER BY start_date DESC, id DESC LIMIT 1 FOR SHARE",
    )
    .bind(cin_episode_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id, start_date, outcome)| LatestEnquiry {
        id,
        start_date,
        outcome,
    }))
}

/// Why `CompleteSection47Enquiry` refuses "ICPC not required" for an
/// enquiry a conference's outcome already follows.
pub const ICPC_ALREADY_HELD: &str = "a conference's outcome is already recorded following this \
     section 47 enquiry (its initial_cpc_date is set): it cannot conclude that no ICPC is required";

/// Whether a conference outcome is recorded against the enquiry (which
/// makes its DateOfInitialCPC).
async fn icpc_recorded(conn: &mut PgConnection, enquiry_id: Uuid) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_outcomes WHERE section47_id = $1)",
    )
    .bind(enquiry_id)
    .fetch_one(&mut *conn)
    .await?)
}

fn subject(enquiry: &pb::Section47Enquiry) -> Subject {
    Subject {
        aggregate_id: Uuid::parse_str(&enquiry.id).unwrap_or_default(),
        version: enquiry.version,
        child_ids: Uuid::parse_str(&enquiry.child_id).into_iter().collect(),
    }
}

/// `StartSection47Enquiry`: computes InitialCPCtarget (15 working days after
/// the strategy discussion on the authority's calendar). Emits
/// `Section47Started`.
///
/// # Errors
/// `NOT_FOUND` (child, discussion), `FAILED_PRECONDITION` when the child has
/// no open episode or an enquiry in progress, died before the start date,
/// or the discussion did not decide to start an enquiry about this child,
/// `INVALID_ARGUMENT` for a start before the discussion or the referral;
/// database errors.
pub async fn start_section47_enquiry(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewSection47,
) -> Result<Written<pb::StartSection47EnquiryResponse>, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(Written::replay(response));
    }
    let child = child_row(conn, new.child_id, true).await?;
    child.living_on(new.start_date, crate::domain::plan::DIED_BEFORE_ENQUIRY)?;
    let discussion = discussion_row(conn, new.strategy_discussion_id).await?;
    if discussion.outcome != StrategyOutcome::StartSection47 {
        return Err(ApiError::FailedPrecondition(
            "the strategy discussion did not decide to start a section 47 enquiry".to_owned(),
        ));
    }
    let discussed: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM strategy_discussion_children WHERE strategy_discussion_id = $1 AND child_id = $2)",
    )
    .bind(new.strategy_discussion_id)
    .bind(new.child_id)
    .fetch_one(&mut *conn)
    .await?;
    if !discussed {
        return Err(ApiError::FailedPrecondition(
            "the strategy discussion was not about this child".to_owned(),
        ));
    }
    // Locked, so that the episode cannot close under the enquiry.
    let Some(episode) = open_episode(conn, new.child_id, true).await? else {
        return Err(ApiError::FailedPrecondition(
            "the child has no open CIN episode".to_owned(),
        ));
    };
    let in_progress: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM section47_enquiries WHERE child_id = $1 AND completion_date IS NULL)",
    )
    .bind(new.child_id)
    .fetch_one(&mut *conn)
    .await?;
    if in_progress {
        return Err(ApiError::FailedPrecondition(
            "the child already has a section 47 enquiry in progress".to_owned(),
        ));
    }
    if new.start_date < discussion.discussion_date {
        return Err(ApiError::invalid_field(
            "start_date",
            "must be on or after the strategy discussion date",
        ));
    }
    if new.start_date < episode.referral_date {
        return Err(ApiError::invalid_field(
            "start_date",
            "must be on or after the CIN episode's referral date",
        ));
    }
    let target = ctx
        .timescales
        .icpc_due(discussion.discussion_date)
        .map_err(|err| ApiError::invalid_field("strategy_discussion_id", err.to_string()))?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO section47_enquiries (id, authority_id, child_id, cin_episode_id, strategy_discussion_id, \
                                          strategy_discussion_date, start_date, initial_cpc_target_date, \
                                          created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
    )
    .bind(id)
    .bind(ctx.authority.as_str())
    .bind(new.child_id)
    .bind(episode.id)
    .bind(new.strategy_discussion_id)
    .bind(discussion.discussion_date)
    .bind(new.start_date)
    .bind(target)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let enquiry = get_section47_enquiry(conn, id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&enquiry),
        &pb::Section47Started {
            enquiry: Some(enquiry.clone()),
            strategy_discussion_date: Some(date_to_proto(discussion.discussion_date)),
            case_id: child.case_id.to_string(),
        },
    )
    .await?;
    let response = pb::StartSection47EnquiryResponse {
        enquiry: Some(enquiry),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(Written::new(response, events))
}

/// `CompleteSection47Enquiry`. Emits `Section47Completed`.
///
/// # Errors
/// `NOT_FOUND`, `ABORTED` (stale version), `FAILED_PRECONDITION` when
/// already completed or, for "ICPC not required", when a conference's
/// outcome is already recorded following the enquiry; `INVALID_ARGUMENT`
/// for a completion before the start; database errors.
pub async fn complete_section47_enquiry(
    conn: &mut PgConnection,
    ctx: &Ctx,
    completion: &Section47Completion,
) -> Result<Written<pb::CompleteSection47EnquiryResponse>, ApiError> {
    lock_version(
        conn,
        "section47_enquiries",
        "section 47 enquiry",
        completion.id,
        completion.version,
    )
    .await?;
    let (start_date, completed): (NaiveDate, Option<NaiveDate>) =
        sqlx::query_as("SELECT start_date, completion_date FROM section47_enquiries WHERE id = $1")
            .bind(completion.id)
            .fetch_one(&mut *conn)
            .await?;
    if completed.is_some() {
        return Err(ApiError::FailedPrecondition(
            "the section 47 enquiry is already completed".to_owned(),
        ));
    }
    if completion.completion_date < start_date {
        return Err(ApiError::invalid_field(
            "completion_date",
            "must be on or after the enquiry's start date",
        ));
    }
    // The census would report ICPCnotRequired beside the DateOfInitialCPC
    // that outcome makes.
    if completion.outcome == Section47Outcome::IcpcNotRequired
        && icpc_recorded(conn, completion.id).await?
    {
        return Err(ApiError::FailedPrecondition(ICPC_ALREADY_HELD.to_owned()));
    }
    sqlx::query(
        "UPDATE section47_enquiries SET completion_date = $3, outcome = $4, icpc_not_required_reason = $5, \
                version = version + 1, updated_at = $6 \
         WHERE id = $1 AND version = $2",
    )
    .bind(completion.id)
    .bind(completion.version)
    .bind(completion.completion_date)
    .bind(completion.outcome)
    .bind(completion.icpc_not_required_reason.as_deref())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(db)?;
    let enquiry = get_section47_enquiry(conn, completion.id).await?;
    let mut events = Vec::new();
    emit(
        conn,
        ctx,
        &mut events,
        subject(&enquiry),
        &pb::Section47Completed {
            enquiry: Some(enquiry.clone()),
        },
    )
    .await?;
    Ok(Written::new(
        pb::CompleteSection47EnquiryResponse {
            enquiry: Some(enquiry),
        },
        events,
    ))
}

/// `ListSection47Enquiries`: newest start first.
///
/// # Errors
/// Database errors.
pub async fn list_section47_enquiries(
    conn: &mut PgConnection,
    filter: &Section47Filter,
) -> Result<pb::ListSection47EnquiriesResponse, ApiError> {
    let mut rows: Vec<EnquiryRow> = sqlx::query_as(&format!(
        "{SELECT_ENQUIRY} \
         WHERE ($1::text IS NULL OR s.authority_id = $1) \
           AND ($2::uuid IS NULL OR s.child_id = $2) \
           AND ($3::bool IS NULL OR (s.completion_date IS NULL) = $3) \
           AND ($4::text IS NULL OR s.outcome = $4) \
           AND ($5::date IS NULL OR s.start_date >= $5) \
           AND ($6::date IS NULL OR s.start_date <= $6) \
           AND ($7::uuid IS NULL OR (s.start_date, s.id) < \
                (SELECT start_date, id FROM section47_enquiries a WHERE a.id = $7 \
                    AND ($2::uuid IS NULL OR a.child_id = $2))) \
         ORDER BY s.start_date DESC, s.id DESC LIMIT $8"
    ))
    .bind(filter.authority_id.as_ref().map(|a| a.as_str().to_owned()))
    .bind(filter.child_id)
    .bind(filter.in_progress)
    .bind(filter.outcome)
    .bind(filter.start_dates.start)
    .bind(filter.start_dates.end)
    .bind(filter.page.after)
    .bind(filter.page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = filter.page.finish(&mut rows, |r| r.id);
    Ok(pb::ListSection47EnquiriesResponse {
        enquiries: rows.into_iter().map(EnquiryRow::into_proto).collect(),
        next_page_token,
    })
}
