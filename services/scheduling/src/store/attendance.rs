//! Invitations and replies, attendance, quorum, and the end of a
//! conference: held (quorate), or inquorate with an interim plan and a
//! reconvened conference.
//!
//! Quorum is the rules crate's ([`cpc_rules::quorum`]): the child's social
//! worker and at least two other agencies. Before the meeting it is
//! forecast from the replies (a warning, not a bar); at the meeting it is
//! assessed from the recorded attendance, and only a quorate conference
//! can be recorded as held. An inquorate conference reconvenes within the
//! authority's working days (10 by default); a reconvened conference that
//! is inquorate again is refused, for the chair to escalate.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::idempotency::{self, RequestKey};
use cpc_platform::paging::PageRequest;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::quorum::{self, Agency, Attendee, QuorumShortfall};
use prost::Message;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::Ctx;
use super::booking::current;
use super::conferences::{self, date, timestamp};
use super::exclusions::excluded_from_whole;
use crate::due::{Basis, DueEvent, Unit};

/// The method name request ids are kept under.
pub const CREATE_INVITATION: &str = "CreateInvitation";

/// A checked invitation.
#[derive(Clone)]
pub struct NewInvitation {
    pub key: RequestKey,
    pub conference_id: Uuid,
    pub invitee_kind: &'static str,
    pub invitee: common::PersonRef,
    pub child_id: Option<Uuid>,
    pub method: &'static str,
    pub interpreter_language: Option<String>,
    pub accessibility_needs: Option<String>,
}

cpc_platform::redacted_debug!(NewInvitation);

/// A checked reply.
#[derive(Clone)]
pub struct Reply {
    pub reply: &'static str,
    pub apology_reason: Option<String>,
    pub substitute: Option<common::PersonRef>,
}

cpc_platform::redacted_debug!(Reply);

/// A checked record of a conference held.
#[derive(Clone)]
pub struct Held {
    pub date: NaiveDate,
    /// Why it was held after its statutory due date, when it was.
    pub past_deadline_reason: Option<String>,
}

cpc_platform::redacted_debug!(Held);

/// A checked inquorate record.
#[derive(Clone)]
pub struct Inquorate {
    pub meeting_date: NaiveDate,
    pub interim_plan_summary: String,
}

cpc_platform::redacted_debug!(Inquorate);

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: Uuid,
    version: i64,
    conference_id: Uuid,
    invitee_kind: String,
    invitee: Vec<u8>,
    child_id: Option<Uuid>,
    method: String,
    reply: String,
    reply_at: Option<DateTime<Utc>>,
    apology_reason: Option<String>,
    substitute: Option<Vec<u8>>,
    report_requested: bool,
    interpreter_language: Option<String>,
    accessibility_needs: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    withdrawn_at: Option<DateTime<Utc>>,
    reports_due_date: Option<NaiveDate>,
}

const SELECT_INVITATION: &str = "SELECT i.*, c.reports_due_date FROM invitations i \
     JOIN conferences c ON c.id = i.conference_id";

impl InvitationRow {
    fn into_proto(self) -> pb::Invitation {
        pb::Invitation {
            id: self.id.to_string(),
            version: self.version,
            conference_id: self.conference_id.to_string(),
            invitee_kind: code_to_proto(INVITEE_KINDS, &self.invitee_kind),
            invitee: common::PersonRef::decode(self.invitee.as_slice()).ok(),
            child_id: self.child_id.map(|c| c.to_string()).unwrap_or_default(),
            method: code_to_proto(METHODS, &self.method),
            sent_time: Some(timestamp(self.created_at)),
            reply: code_to_proto(REPLIES, &self.reply),
            reply_time: self.reply_at.map(timestamp),
            apology_reason: self.apology_reason.unwrap_or_default(),
            substitute: self
                .substitute
                .and_then(|s| common::PersonRef::decode(s.as_slice()).ok()),
            report_requested: self.report_requested,
            reports_due_date: self.reports_due_date.map(date),
            interpreter_language: self.interpreter_language.unwrap_or_default(),
            accessibility_needs: self.accessibility_needs.unwrap_or_default(),
            create_time: Some(timestamp(self.created_at)),
            update_time: Some(timestamp(self.updated_at)),
            withdraw_time: self.withdrawn_at.map(timestamp),
        }
    }
}

/// Stored codes and their API numbers.
type Codes = &'static [(&'static str, i32)];

pub const INVITEE_KINDS: Codes = &[
    ("family_member", pb::InviteeKind::FamilyMember as i32),
    ("child", pb::InviteeKind::Child as i32),
    ("advocate", pb::InviteeKind::Advocate as i32),
    (
        "agency_professional",
        pb::InviteeKind::AgencyProfessional as i32,
    ),
    ("supporter", pb::InviteeKind::Supporter as i32),
    ("interpreter", pb::InviteeKind::Interpreter as i32),
];

pub const METHODS: Codes = &[
    ("secure_email", pb::InvitationMethod::SecureEmail as i32),
    ("email", pb::InvitationMethod::Email as i32),
    ("letter", pb::InvitationMethod::Letter as i32),
    ("phone", pb::InvitationMethod::Phone as i32),
    ("in_person", pb::InvitationMethod::InPerson as i32),
    ("portal", pb::InvitationMethod::Portal as i32),
];

pub const REPLIES: Codes = &[
    ("awaiting", pb::InvitationReply::Awaiting as i32),
    (
        "attending_in_person",
        pb::InvitationReply::AttendingInPerson as i32,
    ),
    (
        "attending_virtually",
        pb::InvitationReply::AttendingVirtually as i32,
    ),
    ("apology", pb::InvitationReply::Apology as i32),
    ("declined", pb::InvitationReply::Declined as i32),
];

/// The stored code of API number `value` in `codes`.
#[must_use]
pub fn code_of(codes: Codes, value: i32) -> Option<&'static str> {
    codes.iter().find(|(_, v)| *v == value).map(|(c, _)| *c)
}

fn code_to_proto(codes: Codes, code: &str) -> i32 {
    codes
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(0, |(_, v)| *v)
}

/// The conference an invitation belongs to; `NOT_FOUND` when the caller's
/// authority has no such invitation.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn conference_of(conn: &mut PgConnection, invitation: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("SELECT conference_id FROM invitations WHERE id = $1")
        .bind(invitation)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found("invitation", invitation.to_string()))
}

/// The person id an invitation is for.
///
/// # Errors
/// Database errors.
pub async fn invitee_of(conn: &mut PgConnection, invitation: Uuid) -> Result<String, ApiError> {
    Ok(
        sqlx::query_scalar("SELECT invitee_person_id FROM invitations WHERE id = $1")
            .bind(invitation)
            .fetch_one(&mut *conn)
            .await?,
    )
}

pub(crate) async fn load_invitation(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::Invitation, ApiError> {
    let row: InvitationRow = sqlx::query_as(&format!("{SELECT_INVITATION} WHERE i.id = $1"))
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.into_proto())
}

async fn emit_invitation<E: Message>(
    conn: &mut PgConnection,
    event_type: &'static str,
    invitation: &pb::Invitation,
    payload: &E,
    child_ids: Vec<Uuid>,
    authority: &str,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let event = cpc_platform::outbox::NewEvent {
        aggregate_type: "Invitation",
        aggregate_id: invitation.id.clone(),
        aggregate_version: invitation.version,
        event_type,
        authority_id: authority.to_owned(),
        child_ids,
        payload: payload.encode_to_vec(),
    };
    cpc_platform::outbox::append(conn, &event, now)
        .await
        .map_err(ApiError::internal)?;
    Ok(())
}

/// Invites a person to a conference; a retry with the same request id
/// returns the first response.
///
/// # Errors
/// `FAILED_PRECONDITION` for a conference held, inquorate or cancelled, or
/// a child not in it; `ALREADY_EXISTS` when the person is already invited.
pub async fn invite(
    conn: &mut PgConnection,
    ctx: &Ctx,
    new: &NewInvitation,
) -> Result<pb::CreateInvitationResponse, ApiError> {
    if let Some(response) = idempotency::replay(conn, ctx, &new.key).await? {
        return Ok(response);
    }
    let (status, children): (String, Vec<Uuid>) = sqlx::query_as(
        "SELECT c.status, ARRAY(SELECT child_id FROM conference_children cc \
                                WHERE cc.conference_id = c.id) \
         FROM conferences c WHERE c.id = $1 FOR UPDATE",
    )
    .bind(new.conference_id)
    .fetch_one(&mut *conn)
    .await?;
    if !matches!(status.as_str(), "due" | "booked") {
        return Err(ApiError::FailedPrecondition(format!(
            "the conference is {status}: invitations are for due or booked conferences"
        )));
    }
    if new.child_id.is_some_and(|child| !children.contains(&child)) {
        return Err(ApiError::FailedPrecondition(
            "invitation.child_id is not a child of this conference".to_owned(),
        ));
    }
    if !excluded_from_whole(
        conn,
        new.conference_id,
        std::slice::from_ref(&new.invitee.person_id),
    )
    .await?
    .is_empty()
    {
        return Err(ApiError::FailedPrecondition(
            "the chair excluded invitation.invitee from the whole conference".to_owned(),
        ));
    }
    let id = Uuid::now_v7();
    let inserted = sqlx::query(
        "INSERT INTO invitations (id, authority_id, conference_id, invitee_kind, invitee_person_id, \
           invitee, child_id, method, report_requested, interpreter_language, accessibility_needs, \
           created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) \
         ON CONFLICT (conference_id, invitee_person_id) DO NOTHING",
    )
    .bind(id)
    .bind(&ctx.authority)
    .bind(new.conference_id)
    .bind(new.invitee_kind)
    .bind(&new.invitee.person_id)
    .bind(new.invitee.encode_to_vec())
    .bind(new.child_id)
    .bind(new.method)
    // Every agency professional is asked for a written report.
    .bind(new.invitee_kind == "agency_professional")
    .bind(&new.interpreter_language)
    .bind(&new.accessibility_needs)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 0 {
        return Err(ApiError::AlreadyExists {
            resource: "invitation",
            id: format!("for this person to conference {}", new.conference_id),
        });
    }
    let invitation = load_invitation(conn, id).await?;
    let event = pb::InvitationSent {
        invitation: Some(invitation.clone()),
    };
    emit_invitation(
        conn,
        "cpc.scheduling.v1.InvitationSent",
        &invitation,
        &event,
        children,
        &ctx.authority,
        ctx.now,
    )
    .await?;
    let response = pb::CreateInvitationResponse {
        invitation: Some(invitation),
    };
    idempotency::remember(conn, ctx, &new.key, &response).await?;
    Ok(response)
}

/// A conference's invitations, in the order sent.
///
/// # Errors
/// Database errors.
pub async fn list_invitations(
    conn: &mut PgConnection,
    conference: Uuid,
    reply: Option<&'static str>,
    invitee_kind: Option<&'static str>,
    page: &PageRequest,
) -> Result<pb::ListInvitationsResponse, ApiError> {
    let mut rows: Vec<InvitationRow> = sqlx::query_as(&format!(
        "{SELECT_INVITATION} WHERE i.conference_id = $1 \
           AND ($2::text IS NULL OR i.reply = $2) \
           AND ($3::text IS NULL OR i.invitee_kind = $3) \
           AND ($4::uuid IS NULL OR (i.created_at, i.id) > \
                (SELECT a.created_at, a.id FROM invitations a WHERE a.id = $4 AND a.conference_id = $1)) \
         ORDER BY i.created_at, i.id LIMIT $5"
    ))
    .bind(conference)
    .bind(reply)
    .bind(invitee_kind)
    .bind(page.after)
    .bind(page.fetch_limit())
    .fetch_all(&mut *conn)
    .await?;
    let next_page_token = page.finish(&mut rows, |r| r.id);
    Ok(pb::ListInvitationsResponse {
        invitations: rows.into_iter().map(InvitationRow::into_proto).collect(),
        next_page_token,
    })
}

/// Records an invitee's reply.
///
/// # Errors
/// `ABORTED` (stale version); `FAILED_PRECONDITION` once the conference is
/// over; `INVALID_ARGUMENT` for a substitute from another agency.
pub async fn respond(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    reply: &Reply,
) -> Result<pb::Invitation, ApiError> {
    let (current_version, status, invitee, children, withdrawn): (
        i64,
        String,
        Vec<u8>,
        Vec<Uuid>,
        bool,
    ) = sqlx::query_as(
        "SELECT i.version, c.status, i.invitee, ARRAY(SELECT child_id FROM conference_children cc \
                                               WHERE cc.conference_id = c.id), \
                    i.withdrawn_at IS NOT NULL \
             FROM invitations i JOIN conferences c ON c.id = i.conference_id \
             WHERE i.id = $1 FOR UPDATE OF i",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if current_version != version {
        return Err(ApiError::Aborted(format!(
            "invitation {id} is at version {current_version}, not {version}: read it again"
        )));
    }
    if !matches!(status.as_str(), "due" | "booked") {
        return Err(ApiError::FailedPrecondition(format!(
            "the conference is {status}: replies are for due or booked conferences"
        )));
    }
    if withdrawn {
        return Err(ApiError::FailedPrecondition(
            "the invitation was withdrawn: the chair excluded the invitee from the conference"
                .to_owned(),
        ));
    }
    let invitee = common::PersonRef::decode(invitee.as_slice()).map_err(ApiError::internal)?;
    if let Some(substitute) = &reply.substitute
        && (substitute.agency_kind != invitee.agency_kind
            || substitute.agency_name != invitee.agency_name)
    {
        return Err(ApiError::invalid_field(
            "substitute",
            "must be from the invitee's own agency",
        ));
    }
    sqlx::query(
        "UPDATE invitations SET reply = $2, reply_at = $3, apology_reason = $4, substitute = $5, \
           version = version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(reply.reply)
    .bind(ctx.now)
    .bind(&reply.apology_reason)
    .bind(reply.substitute.as_ref().map(Message::encode_to_vec))
    .execute(&mut *conn)
    .await?;
    let invitation = load_invitation(conn, id).await?;
    let event = pb::InvitationReplied {
        invitation: Some(invitation.clone()),
    };
    emit_invitation(
        conn,
        "cpc.scheduling.v1.InvitationReplied",
        &invitation,
        &event,
        children,
        &ctx.authority,
        ctx.now,
    )
    .await?;
    Ok(invitation)
}

/// The agency an API agency kind counts as for quorum; `None` when unset.
fn quorum_agency(kind: i32) -> Option<Agency> {
    use common::AgencyKind as K;
    Some(match K::try_from(kind).ok()? {
        K::ChildrensSocialCare | K::Nspcc => Agency::ChildrensSocialCare,
        K::Police => Agency::Police,
        K::Health => Agency::Health,
        K::Education => Agency::Education,
        K::EarlyYears => Agency::EarlyYears,
        K::Probation => Agency::Probation,
        K::Housing => Agency::Housing,
        K::OtherSpecialist | K::AdultSocialCare | K::YouthJustice | K::VoluntarySector => {
            Agency::OtherSpecialist
        }
        K::Unspecified => return None,
    })
}

fn agency_to_proto(agency: Agency) -> i32 {
    (match agency {
        Agency::ChildrensSocialCare => common::AgencyKind::ChildrensSocialCare,
        Agency::Police => common::AgencyKind::Police,
        Agency::Health => common::AgencyKind::Health,
        Agency::Education => common::AgencyKind::Education,
        Agency::EarlyYears => common::AgencyKind::EarlyYears,
        Agency::Probation => common::AgencyKind::Probation,
        Agency::Housing => common::AgencyKind::Housing,
        Agency::OtherSpecialist => common::AgencyKind::OtherSpecialist,
    }) as i32
}

/// Someone at the meeting, as quorum counts them.
fn as_attendee(role: i32, person: Option<&common::PersonRef>) -> Attendee {
    match pb::AttendeeRole::try_from(role) {
        Ok(pb::AttendeeRole::SocialWorker) => Attendee::ChildsSocialWorker,
        Ok(pb::AttendeeRole::AgencyProfessional) => person
            .and_then(|p| quorum_agency(p.agency_kind))
            .map_or(Attendee::FamilyOrSupporter, Attendee::Professional),
        _ => Attendee::FamilyOrSupporter,
    }
}

/// The rules crate's assessment of `attendees`, as the API shows it.
fn assessment(
    attendees: &[Attendee],
    basis: pb::QuorumBasis,
    now: DateTime<Utc>,
) -> pb::QuorumAssessment {
    let assessed = quorum::assess_quorum(attendees);
    let mut result = pb::QuorumAssessment {
        quorate: assessed.quorate,
        social_worker_present: attendees.contains(&Attendee::ChildsSocialWorker),
        basis: basis as i32,
        assess_time: Some(timestamp(now)),
        ..Default::default()
    };
    let mut present: Vec<Agency> = attendees
        .iter()
        .filter_map(|a| match a {
            Attendee::Professional(agency) if *agency != Agency::ChildrensSocialCare => {
                Some(*agency)
            }
            _ => None,
        })
        .collect();
    present.sort_unstable();
    present.dedup();
    result.other_agencies_present = present.iter().map(|a| agency_to_proto(*a)).collect();
    for missing in &assessed.missing {
        match missing {
            QuorumShortfall::NoChildsSocialWorker => result
                .missing_requirements
                .push(pb::QuorumRequirement::SocialWorker as i32),
            QuorumShortfall::TooFewOtherAgencies { required, present } => {
                result
                    .missing_requirements
                    .push(pb::QuorumRequirement::TwoOtherAgencies as i32);
                result.other_agencies_needed =
                    i32::try_from(required.saturating_sub(present.len())).unwrap_or(2);
            }
        }
    }
    result
}

/// Replaces a BOOKED conference's attendance and assesses quorum from it.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` unless booked.
pub async fn record_attendance(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    attendees: &[pb::Attendee],
) -> Result<pb::RecordAttendanceResponse, ApiError> {
    let now = current(conn, id, version).await?;
    if now.status != "booked" {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: attendance is recorded for a booked conference",
            now.status
        )));
    }
    let person_ids: Vec<String> = attendees
        .iter()
        .map(|a| {
            a.person
                .as_ref()
                .map(|p| p.person_id.clone())
                .unwrap_or_default()
        })
        .collect();
    if let Some(first) = excluded_from_whole(conn, id, &person_ids).await?.first() {
        return Err(ApiError::FailedPrecondition(format!(
            "the chair excluded attendees[{first}] from the whole conference"
        )));
    }
    sqlx::query("DELETE FROM conference_attendance WHERE conference_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, attendee) in attendees.iter().enumerate() {
        let person = attendee.person.as_ref().map(|p| p.person_id.clone());
        sqlx::query(
            "INSERT INTO conference_attendance (conference_id, authority_id, position, person_id, attendee) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(&ctx.authority)
        .bind(i32::try_from(position).unwrap_or(i32::MAX))
        .bind(person)
        .bind(attendee.encode_to_vec())
        .execute(&mut *conn)
        .await?;
    }
    let counted: Vec<Attendee> = attendees
        .iter()
        .map(|a| as_attendee(a.role, a.person.as_ref()))
        .collect();
    let quorum = assessment(&counted, pb::QuorumBasis::Attendance, ctx.now);
    sqlx::query(
        "UPDATE conferences SET quorum = $2, version = version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(quorum.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.AttendanceRecorded",
        ctx.now,
        |conference| pb::AttendanceRecorded {
            conference: Some(conference.clone()),
        },
    )
    .await?;
    Ok(pb::RecordAttendanceResponse {
        conference: Some(conference),
        quorum: Some(quorum),
    })
}

/// Quorum from recorded attendance, or forecast from the replies (an
/// apology with a named substitute counts the substitute).
///
/// # Errors
/// `FAILED_PRECONDITION` when attendance is asked for but not recorded.
pub async fn assess(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    basis: pb::QuorumBasis,
) -> Result<pb::QuorumAssessment, ApiError> {
    let attendance: Vec<Vec<u8>> = sqlx::query_scalar(
        "SELECT attendee FROM conference_attendance WHERE conference_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let basis = match basis {
        pb::QuorumBasis::Unspecified if attendance.is_empty() => {
            pb::QuorumBasis::InvitationResponses
        }
        pb::QuorumBasis::Unspecified => pb::QuorumBasis::Attendance,
        chosen => chosen,
    };
    let counted: Vec<Attendee> = if basis == pb::QuorumBasis::Attendance {
        if attendance.is_empty() {
            return Err(ApiError::FailedPrecondition(
                "no attendance is recorded for this conference yet".to_owned(),
            ));
        }
        attendance
            .iter()
            .filter_map(|a| pb::Attendee::decode(a.as_slice()).ok())
            .map(|a| as_attendee(a.role, a.person.as_ref()))
            .collect()
    } else {
        let replies: Vec<ReplyRow> = sqlx::query_as(
            "SELECT invitee_kind, reply, invitee, substitute FROM invitations \
             WHERE conference_id = $1 AND withdrawn_at IS NULL",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?;
        replies
            .iter()
            .filter_map(|(kind, reply, invitee, substitute)| {
                let coming = match reply.as_str() {
                    "attending_in_person" | "attending_virtually" => Some(invitee),
                    "apology" => substitute.as_ref(),
                    _ => None,
                }?;
                let person = common::PersonRef::decode(coming.as_slice()).ok()?;
                Some(forecast_attendee(kind, &person))
            })
            .collect()
    };
    Ok(assessment(&counted, basis, ctx.now))
}

/// (invitee kind, reply, invitee, substitute) of one invitation.
type ReplyRow = (String, String, Vec<u8>, Option<Vec<u8>>);

/// An invitee as the forecast counts them: a children's social care
/// professional is taken to be the child's social worker (invitations do
/// not say which professional is).
fn forecast_attendee(kind: &str, person: &common::PersonRef) -> Attendee {
    match (kind, quorum_agency(person.agency_kind)) {
        ("agency_professional", Some(Agency::ChildrensSocialCare)) => Attendee::ChildsSocialWorker,
        ("agency_professional", Some(agency)) => Attendee::Professional(agency),
        _ => Attendee::FamilyOrSupporter,
    }
}

/// The saved quorum of a booked conference, required before it ends.
async fn recorded_quorum(
    conn: &mut PgConnection,
    id: Uuid,
) -> Result<pb::QuorumAssessment, ApiError> {
    let quorum: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT quorum FROM conferences WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    let quorum = quorum.ok_or_else(|| {
        ApiError::FailedPrecondition("record who attended (RecordAttendance) first".to_owned())
    })?;
    pb::QuorumAssessment::decode(quorum.as_slice()).map_err(ApiError::internal)
}

/// Whether a conference due by `due` and held on `held` was held past its
/// deadline, and the reason recorded for it. It may be, as it may be booked
/// past it, but never without a reason: `given` in the request, else the
/// booking's (`booked`, given when it was booked or moved past the
/// deadline). A conference held in time keeps none.
///
/// # Errors
/// `FAILED_PRECONDITION` for a held date after `due` with no reason;
/// `INVALID_ARGUMENT` for a reason given with a held date in time.
fn held_past_deadline(
    held: NaiveDate,
    due: NaiveDate,
    given: Option<&str>,
    booked: Option<&str>,
) -> Result<Option<String>, ApiError> {
    if held <= due {
        return match given {
            Some(_) => Err(ApiError::invalid_field(
                "past_deadline_reason",
                format!("only for a conference held after its statutory due date {due}"),
            )),
            None => Ok(None),
        };
    }
    match given.or(booked) {
        Some(reason) => Ok(Some(reason.to_owned())),
        None => Err(ApiError::FailedPrecondition(format!(
            "held_date {held} is after the statutory due date {due}: give past_deadline_reason"
        ))),
    }
}

/// The recorded attendance names the chair (role CHAIR), who the cases
/// service records the conference's decisions under; when a chair was
/// allocated to the conference, it is that chair. Someone else recorded
/// as chair (a social worker on the case, another chair standing in
/// without the allocation being changed) would put the decisions under a
/// person the allocation never checked for independence from the case.
async fn chaired_by_its_chair(conn: &mut PgConnection, id: Uuid) -> Result<(), ApiError> {
    let attendance: Vec<Vec<u8>> =
        sqlx::query_scalar("SELECT attendee FROM conference_attendance WHERE conference_id = $1")
            .bind(id)
            .fetch_all(&mut *conn)
            .await?;
    let chairs: Vec<String> = attendance
        .iter()
        .filter_map(|a| pb::Attendee::decode(a.as_slice()).ok())
        .filter(|a| a.role == pb::AttendeeRole::Chair as i32)
        .map(|a| a.person.map(|p| p.person_id).unwrap_or_default())
        .collect();
    if chairs.is_empty() {
        return Err(ApiError::FailedPrecondition(
            "the recorded attendance names no chair (role CHAIR)".to_owned(),
        ));
    }
    let allocated: Option<Uuid> =
        sqlx::query_scalar("SELECT chair_id FROM conferences WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
    if let Some(allocated) = allocated
        && !chairs.iter().any(|c| *c == allocated.to_string())
    {
        return Err(ApiError::FailedPrecondition(format!(
            "the recorded attendance names as chair someone other than the conference's \
             allocated chair ({allocated}): record the attendance with the chair who chaired \
             it, after allocating them if the chair changed"
        )));
    }
    Ok(())
}

/// Records that a BOOKED conference with quorate attendance was held. The
/// held date, not the booked one, is what the timescales measure: the
/// past-deadline flag is set from it, and a held date after the deadline
/// needs the booking's past-deadline reason.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` unless booked with quorate attendance,
/// or when held after the deadline without a past-deadline reason.
pub async fn record_held(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    record: &Held,
) -> Result<pb::Conference, ApiError> {
    let held = record.date;
    let now = current(conn, id, version).await?;
    if now.status != "booked" {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: only a booked conference can be held",
            now.status
        )));
    }
    if !recorded_quorum(conn, id).await?.quorate {
        return Err(ApiError::FailedPrecondition(
            "the recorded attendance is not quorate: record the conference as inquorate".to_owned(),
        ));
    }
    chaired_by_its_chair(conn, id).await?;
    // Booked late but held in time: the reason no longer applies (as a
    // booking in time keeps none).
    let reason = held_past_deadline(
        held,
        now.statutory_due_date,
        record.past_deadline_reason.as_deref(),
        now.past_deadline_reason.as_deref(),
    )?;
    sqlx::query(
        "UPDATE conferences SET status = 'held', held_date = $2, \
           booked_past_deadline = $4::text IS NOT NULL, past_deadline_reason = $4, \
           version = version + 1, updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(held)
    .bind(ctx.now)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceHeld",
        ctx.now,
        |conference| pb::ConferenceHeld {
            conference: Some(conference.clone()),
        },
    )
    .await?;
    Ok(conference)
}

/// Records that a BOOKED conference met inquorate, with the interim plan,
/// and creates the reconvened conference, with the chair's exclusions from
/// the one that met.
///
/// # Errors
/// `ABORTED`; `FAILED_PRECONDITION` unless booked with inquorate
/// attendance, or when it already reconvenes an inquorate conference.
pub async fn record_inquorate(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
    version: i64,
    inquorate: &Inquorate,
) -> Result<pb::RecordInquorateResponse, ApiError> {
    let now = current(conn, id, version).await?;
    if now.status != "booked" {
        return Err(ApiError::FailedPrecondition(format!(
            "conference {id} is {}: only a booked conference can be recorded inquorate",
            now.status
        )));
    }
    let quorum = recorded_quorum(conn, id).await?;
    if quorum.quorate {
        return Err(ApiError::FailedPrecondition(
            "the recorded attendance is quorate: record the conference as held".to_owned(),
        ));
    }
    let (case_id, previous, children): (Uuid, Option<String>, Vec<Uuid>) = sqlx::query_as(
        "SELECT c.case_id, p.status, ARRAY(SELECT child_id FROM conference_children cc \
                                           WHERE cc.conference_id = c.id ORDER BY child_id) \
         FROM conferences c LEFT JOIN conferences p ON p.id = c.previous_conference_id \
         WHERE c.id = $1",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    if now.kind == "reconvened" && previous.as_deref() == Some("inquorate") {
        return Err(ApiError::FailedPrecondition(
            "this conference reconvenes one that was inquorate; a second inquorate conference in a \
             row is not allowed: the chair escalates to the service manager"
                .to_owned(),
        ));
    }
    let due = ctx
        .timescales
        .reconvene_due(inquorate.meeting_date)
        .map_err(|err| ApiError::invalid_field("meeting_date", err.to_string()))?;
    let days = ctx.timescales.profile().reconvene_inquorate_working_days;
    let basis = Basis {
        event: DueEvent::InquorateConference,
        event_date: inquorate.meeting_date,
        source_id: id.to_string(),
        amount: days,
        unit: Unit::WorkingDays,
        nation: ctx.timescales.profile().nation,
        explanation: format!(
            "{days} working days after the inquorate conference on {}",
            inquorate.meeting_date
        ),
    };
    let reconvened = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conferences (id, authority_id, kind, case_id, status, statutory_due_date, basis, \
           previous_conference_id, created_at, updated_at) \
         VALUES ($1, $2, 'reconvened', $3, 'due', $4, $5, $6, $7, $7)",
    )
    .bind(reconvened)
    .bind(&ctx.authority)
    .bind(case_id)
    .bind(due)
    .bind(Json(&basis))
    .bind(id)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    for child in &children {
        sqlx::query(
            "INSERT INTO conference_children (conference_id, child_id, authority_id, due_date, basis) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(reconvened)
        .bind(child)
        .bind(&ctx.authority)
        .bind(due)
        .bind(Json(&basis))
        .execute(&mut *conn)
        .await?;
    }
    // The chair's exclusions hold for the conference reconvened: it meets
    // for the same decision, and a parent kept out for others' safety is
    // not let back in because too few agencies came. Each keeps who decided
    // it and when; the chair may lift one on the reconvened conference.
    sqlx::query(
        "INSERT INTO conference_exclusions \
           (conference_id, authority_id, person_id, scope, exclusion, decided_at) \
         SELECT $1, authority_id, person_id, scope, exclusion, decided_at \
           FROM conference_exclusions WHERE conference_id = $2",
    )
    .bind(reconvened)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    let record = pb::InquorateRecord {
        meeting_date: Some(date(inquorate.meeting_date)),
        interim_plan_summary: inquorate.interim_plan_summary.clone(),
        missing_requirements: quorum.missing_requirements.clone(),
        reconvened_conference_id: reconvened.to_string(),
        reconvene_due_date: Some(date(due)),
        recorded_by: Some(ctx.actor.clone()),
        record_time: Some(timestamp(ctx.now)),
    };
    sqlx::query(
        "UPDATE conferences SET status = 'inquorate', held_date = $2, inquorate = $3, \
           version = version + 1, updated_at = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(inquorate.meeting_date)
    .bind(record.encode_to_vec())
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    // The reconvened conference is due first, then this one inquorate.
    let next = conferences::changed(
        conn,
        reconvened,
        "cpc.scheduling.v1.ConferenceDue",
        ctx.now,
        |next| pb::ConferenceDue {
            conference: Some(next.clone()),
        },
    )
    .await?;
    let conference = conferences::changed(
        conn,
        id,
        "cpc.scheduling.v1.ConferenceInquorate",
        ctx.now,
        |conference| pb::ConferenceInquorate {
            conference: Some(conference.clone()),
            reconvened: Some(next.clone()),
        },
    )
    .await?;
    Ok(pb::RecordInquorateResponse {
        conference: Some(conference),
        reconvened_conference: Some(next),
    })
}

#[cfg(test)]
mod tests;
