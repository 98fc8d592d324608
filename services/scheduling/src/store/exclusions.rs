//! The chair's decisions that a person is not to attend a conference, or
//! only part of it, and what they stop: an exclusion from the whole
//! conference withdraws the person's invitation, and refuses a new one and
//! the person's name in the recorded attendance.
//!
//! The reason for an exclusion is recorded by the chair with the
//! conference outcome in the cases service, for the minutes; scheduling
//! keeps only what the arrangements need, so that those who arrange the
//! meeting (business support) never read why a parent may not come.

use cpc_platform::ApiError;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use prost::Message;
use sqlx::PgConnection;
use uuid::Uuid;

use super::Ctx;
use super::attendance::load_invitation;
use super::booking::current;
use super::conferences::{self, timestamp};

/// What an exclusion covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExclusionScope {
    /// Not to attend at all.
    Whole,
    /// Attends except the named parts.
    Part,
}

impl ExclusionScope {
    fn code(self) -> &'static str {
        match self {
            Self::Whole => "whole_conference",
            Self::Part => "part_of_conference",
        }
    }

    fn to_proto(self) -> pb::AttendanceExclusionScope {
        match self {
            Self::Whole => pb::AttendanceExclusionScope::WholeConference,
            Self::Part => pb::AttendanceExclusionScope::PartOfConference,
        }
    }
}

/// A checked ExcludeFromConferenceRequest.
#[derive(Clone)]
pub struct Exclusion {
    pub conference_id: Uuid,
    pub version: i64,
    pub person: common::PersonRef,
    pub scope: ExclusionScope,
    pub excluded_parts: Option<String>,
}

cpc_platform::redacted_debug!(Exclusion);

/// Records the chair's decision on a due or booked conference, replacing
/// any earlier one for the person, and withdraws (whole) or reinstates
/// (part) the person's invitation in the same transaction.
///
/// # Errors
/// `ABORTED` (stale version); `FAILED_PRECONDITION` for a conference not
/// due or booked, a person already recorded as attending, or an agency
/// professional's invitation.
pub async fn exclude(
    conn: &mut PgConnection,
    ctx: &Ctx,
    exclusion: &Exclusion,
) -> Result<pb::ExcludeFromConferenceResponse, ApiError> {
    let id = exclusion.conference_id;
    let person_id = &exclusion.person.person_id;
    still_to_meet(conn, id, exclusion.version).await?;
    let attending: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM conference_attendance \
                        WHERE conference_id = $1 AND person_id = $2)",
    )
    .bind(id)
    .bind(person_id)
    .fetch_one(&mut *conn)
    .await?;
    if attending {
        return Err(ApiError::FailedPrecondition(
            "the person is in the recorded attendance: record the attendance without them first"
                .to_owned(),
        ));
    }
    let invitation = invitation_of(conn, id, person_id).await?;
    if invitation
        .as_ref()
        .is_some_and(|(_, kind)| kind == "agency_professional")
    {
        // Their invitation asks for a report that reporting is waiting for.
        return Err(ApiError::FailedPrecondition(
            "the person is invited as an agency professional, whose report is requested: \
             agency professionals are not excluded from attending"
                .to_owned(),
        ));
    }
    let decision = pb::AttendanceExclusion {
        person: Some(exclusion.person.clone()),
        scope: exclusion.scope.to_proto() as i32,
        excluded_parts: exclusion.excluded_parts.clone().unwrap_or_default(),
        decided_by: Some(ctx.actor.clone()),
        decide_time: Some(timestamp(ctx.now)),
    };
    sqlx::query(
        "INSERT INTO conference_exclusions \
           (conference_id, authority_id, person_id, scope, exclusion, decided_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (conference_id, person_id) DO UPDATE SET \
           scope = excluded.scope, exclusion = excluded.exclusion, decided_at = excluded.decided_at",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(person_id)
    .bind(exclusion.scope.code())
    .bind(decision.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let withdrawn = exclusion.scope == ExclusionScope::Whole;
    let invitation = match invitation {
        Some((invitation, _)) => Some(reconsider(conn, ctx, invitation, withdrawn).await?),
        None => None,
    };
    let event_type = "cpc.scheduling.v1.ConferenceExclusionRecorded";
    let conference = touched(conn, ctx, id, event_type, |conference| {
        pb::ConferenceExclusionRecorded {
            conference: Some(conference.clone()),
            invitation: invitation.clone(),
        }
    })
    .await?;
    Ok(pb::ExcludeFromConferenceResponse {
        conference: Some(conference),
        invitation,
    })
}

/// Lifts the chair's exclusion of `person_id` from a due or booked
/// conference, reinstating an invitation it withdrew, in one transaction.
///
/// # Errors
/// `ABORTED` (stale version); `FAILED_PRECONDITION` for a conference not
/// due or booked, or a person not excluded from it.
pub async fn lift(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    person_id: &str,
) -> Result<pb::LiftConferenceExclusionResponse, ApiError> {
    still_to_meet(conn, id, version).await?;
    let lifted = sqlx::query(
        "DELETE FROM conference_exclusions WHERE conference_id = $1 AND person_id = $2",
    )
    .bind(id)
    .bind(person_id)
    .execute(&mut *conn)
    .await?;
    if lifted.rows_affected() == 0 {
        return Err(ApiError::FailedPrecondition(
            "the person is not excluded from this conference".to_owned(),
        ));
    }
    let invitation = match invitation_of(conn, id, person_id).await? {
        Some((invitation, _)) => Some(reconsider(conn, ctx, invitation, false).await?),
        None => None,
    };
    let event_type = "cpc.scheduling.v1.ConferenceExclusionLifted";
    let conference = touched(conn, ctx, id, event_type, |conference| {
        pb::ConferenceExclusionLifted {
            conference: Some(conference.clone()),
            invitation: invitation.clone(),
        }
    })
    .await?;
    Ok(pb::LiftConferenceExclusionResponse {
        conference: Some(conference),
        invitation,
    })
}

/// Locks conference `id` at the version read and checks it has still to
/// meet: exclusions are decided, and lifted, for a due or booked one.
async fn still_to_meet(conn: &mut PgConnection, id: Uuid, version: i64) -> Result<(), ApiError> {
    let now = current(conn, id, version).await?;
    if !matches!(now.status.as_str(), "due" | "booked") {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: exclusions are for a due or booked conference",
            now.status
        )));
    }
    Ok(())
}

/// The person's invitation to conference `id` (its id and invitee kind),
/// locked, if they have one.
async fn invitation_of(
    conn: &mut PgConnection,
    id: Uuid,
    person_id: &str,
) -> Result<Option<(Uuid, String)>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT id, invitee_kind FROM invitations \
         WHERE conference_id = $1 AND invitee_person_id = $2 FOR UPDATE",
    )
    .bind(id)
    .bind(person_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// `invitation` withdrawn (`withdrawn`) or reinstated, unless it already
/// is so.
async fn reconsider(
    conn: &mut PgConnection,
    ctx: &Ctx,
    invitation: Uuid,
    withdrawn: bool,
) -> Result<pb::Invitation, ApiError> {
    sqlx::query(
        "UPDATE invitations SET withdrawn_at = CASE WHEN $2 THEN $3 END, \
           version = version + 1, updated_at = $3 \
         WHERE id = $1 AND (withdrawn_at IS NULL) = $2",
    )
    .bind(invitation)
    .bind(withdrawn)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    load_invitation(conn, invitation).await
}

/// Conference `id` after an exclusion changed, with its event.
async fn touched<E: Message>(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    event_type: &'static str,
    event_of: impl FnOnce(&pb::Conference) -> E,
) -> Result<pb::Conference, ApiError> {
    sqlx::query("UPDATE conferences SET version = version + 1, updated_at = $2 WHERE id = $1")
        .bind(id)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    conferences::changed(conn, id, event_type, ctx.now, event_of).await
}

/// Of `person_ids`, the positions of those the chair excluded from the
/// whole conference `id`.
///
/// # Errors
/// Database errors.
pub async fn excluded_from_whole(
    conn: &mut PgConnection,
    id: Uuid,
    person_ids: &[String],
) -> Result<Vec<usize>, ApiError> {
    let excluded: Vec<String> = sqlx::query_scalar(
        "SELECT person_id FROM conference_exclusions \
         WHERE conference_id = $1 AND scope = 'whole_conference' AND person_id = ANY($2)",
    )
    .bind(id)
    .bind(person_ids)
    .fetch_all(&mut *conn)
    .await?;
    Ok(person_ids
        .iter()
        .enumerate()
        .filter(|(_, p)| excluded.contains(p))
        .map(|(i, _)| i)
        .collect())
}
