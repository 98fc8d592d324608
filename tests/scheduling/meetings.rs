//! Invitations, replies and quorum; holding a conference, which the cases
//! service learns from scheduling's feed (so the chair can record the
//! outcome) and which, through the plan it starts, schedules the first
//! review; an inquorate conference reconvening, and a second inquorate
//! conference in a row refused.

use std::time::Duration;

use chrono::NaiveDate;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::attendance_service_client::AttendanceServiceClient;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use tonic::Code;
use tonic::transport::Channel;

use crate::diary::*;
use crate::minutes::until_service_knows;
use crate::support::*;

pub(crate) fn timescales() -> Timescales {
    Timescales::new(&AuthorityProfile::default()).unwrap()
}

/// The day a meeting that has just happened was held: the last working day
/// up to today (a test may run at a weekend).
pub(crate) fn last_working_day() -> NaiveDate {
    timescales()
        .calendar()
        .last_working_day_on_or_before(uk_today())
        .unwrap()
}

pub(crate) fn attendee(person: common::PersonRef, role: pb::AttendeeRole) -> pb::Attendee {
    pb::Attendee {
        person: Some(person),
        role: role as i32,
        mode: pb::AttendanceMode::InPerson as i32,
        ..Default::default()
    }
}

pub(crate) fn chair_ref() -> common::PersonRef {
    person_ref(
        CHAIR,
        "Chris Chair",
        common::AgencyKind::ChildrensSocialCare,
        "Safeguarding Unit",
    )
}

/// The chair, the social worker and the police: one partner agency short.
pub(crate) fn inquorate_meeting() -> Vec<pb::Attendee> {
    vec![
        attendee(chair_ref(), pb::AttendeeRole::Chair),
        attendee(worker_ref(), pb::AttendeeRole::SocialWorker),
        attendee(police_ref(), pb::AttendeeRole::AgencyProfessional),
    ]
}

/// The same with health: quorate.
pub(crate) fn quorate_meeting() -> Vec<pb::Attendee> {
    let mut meeting = inquorate_meeting();
    meeting.push(attendee(health_ref(), pb::AttendeeRole::AgencyProfessional));
    meeting
}

/// `conference` met inquorate `on`, with an interim plan.
pub(crate) fn inquorate_on(
    conference: &pb::Conference,
    on: NaiveDate,
) -> pb::RecordInquorateRequest {
    pb::RecordInquorateRequest {
        conference_id: conference.id.clone(),
        version: conference.version,
        meeting_date: pd_of(on),
        interim_plan_summary: "Daily visits until the conference reconvenes".into(),
    }
}

pub(crate) struct Clients {
    pub(crate) conferences: ConferencesServiceClient<Channel>,
    pub(crate) attendance: AttendanceServiceClient<Channel>,
}

pub(crate) async fn clients(
    f: &Fixture,
    conferences: ConferencesServiceClient<Channel>,
) -> Clients {
    Clients {
        conferences,
        attendance: AttendanceServiceClient::new(f.server.channel().await),
    }
}

/// Books `conference` on `on` (with a reason if that is past its deadline).
pub(crate) async fn book(
    c: &mut Clients,
    who: &As,
    conference: &pb::Conference,
    on: NaiveDate,
) -> pb::Conference {
    let (start, end) = slot_on(on);
    c.conferences
        .book_conference(who.req(pb::BookConferenceRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            past_deadline_reason: "Recorded after the event for this test".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap()
}

pub(crate) async fn record_attendance(
    c: &mut Clients,
    who: &As,
    conference: &pb::Conference,
    attendees: Vec<pb::Attendee>,
) -> pb::RecordAttendanceResponse {
    c.attendance
        .record_attendance(who.req(pb::RecordAttendanceRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            attendees,
        }))
        .await
        .unwrap()
        .into_inner()
}

pub(crate) fn invitation(conference: &str, who: common::PersonRef) -> pb::CreateInvitationRequest {
    pb::CreateInvitationRequest {
        request_id: rid(),
        invitation: Some(pb::Invitation {
            conference_id: conference.into(),
            invitee_kind: pb::InviteeKind::AgencyProfessional as i32,
            invitee: Some(who),
            method: pb::InvitationMethod::SecureEmail as i32,
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn replies_forecast_quorum_and_only_the_invitee_answers_for_themselves() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let (_, case) = s47_started(&mut f, "MTG0001", uk_today()).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let due = timescales().icpc_due(uk_today()).unwrap();
    let icpc = book(&mut c, &bs, &icpc, due).await;
    assert!(!icpc.booked_past_deadline);

    let mut invited = Vec::new();
    for who in [worker_ref(), police_ref(), health_ref()] {
        let sent = c
            .attendance
            .create_invitation(bs.req(invitation(&icpc.id, who)))
            .await
            .unwrap()
            .into_inner()
            .invitation
            .unwrap();
        assert_eq!(sent.reply, pb::InvitationReply::Awaiting as i32);
        assert!(sent.report_requested);
        // Reports are due before the booked date, on the authority's
        // setting (working days before an initial conference).
        let reports = timescales()
            .reports_due(due, cpc_rules::timescales::ConferenceKind::Initial)
            .unwrap();
        assert_eq!(sent.reports_due_date, pd_of(reports));
        invited.push(sent);
    }
    // One invitation per person.
    let twice = c
        .attendance
        .create_invitation(bs.req(invitation(&icpc.id, health_ref())))
        .await
        .unwrap_err();
    assert_eq!(twice.code(), Code::AlreadyExists);

    // The social worker accepts her own invitation; she may not answer the
    // police officer's.
    let sw = f.social_worker();
    let reply = |inv: &pb::Invitation, reply: pb::InvitationReply| pb::RespondToInvitationRequest {
        invitation_id: inv.id.clone(),
        version: inv.version,
        reply: reply as i32,
        ..Default::default()
    };
    c.attendance
        .respond_to_invitation(sw.req(reply(&invited[0], pb::InvitationReply::AttendingInPerson)))
        .await
        .unwrap();
    let not_hers = c
        .attendance
        .respond_to_invitation(sw.req(reply(&invited[1], pb::InvitationReply::Declined)))
        .await
        .unwrap_err();
    assert_eq!(not_hers.code(), Code::PermissionDenied);
    // Business support records the others' replies: police send apologies
    // without a substitute, health will attend.
    c.attendance
        .respond_to_invitation(bs.req(pb::RespondToInvitationRequest {
            apology_reason: "Court commitment".into(),
            ..reply(&invited[1], pb::InvitationReply::Apology)
        }))
        .await
        .unwrap();
    c.attendance
        .respond_to_invitation(bs.req(reply(&invited[2], pb::InvitationReply::AttendingVirtually)))
        .await
        .unwrap();
    // The forecast warns: one more agency is needed.
    let forecast = c
        .attendance
        .assess_quorum(bs.req(pb::AssessQuorumRequest {
            conference_id: icpc.id.clone(),
            basis: 0,
        }))
        .await
        .unwrap()
        .into_inner()
        .quorum
        .unwrap();
    assert_eq!(forecast.basis, pb::QuorumBasis::InvitationResponses as i32);
    assert!(!forecast.quorate);
    assert!(forecast.social_worker_present);
    assert_eq!(forecast.other_agencies_needed, 1);
    assert_eq!(
        forecast.missing_requirements,
        [pb::QuorumRequirement::TwoOtherAgencies as i32]
    );
    // A well-briefed substitute from the police makes it quorate.
    let police_apology = c
        .attendance
        .list_invitations(bs.req(pb::ListInvitationsRequest {
            conference_id: icpc.id.clone(),
            reply: pb::InvitationReply::Apology as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .invitations
        .remove(0);
    let substitute = person_ref(
        0x5010,
        "DC Jones",
        common::AgencyKind::Police,
        "Constabulary",
    );
    c.attendance
        .respond_to_invitation(bs.req(pb::RespondToInvitationRequest {
            apology_reason: "Court commitment".into(),
            substitute: Some(substitute),
            ..reply(&police_apology, pb::InvitationReply::Apology)
        }))
        .await
        .unwrap();
    let forecast = c
        .attendance
        .assess_quorum(bs.req(pb::AssessQuorumRequest {
            conference_id: icpc.id.clone(),
            basis: pb::QuorumBasis::InvitationResponses as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .quorum
        .unwrap();
    assert!(forecast.quorate, "{forecast:?}");
    f.stop().await;
}

/// What holding an ICPC led to.
pub(crate) struct Held {
    pub child: String,
    pub case: String,
    pub held_on: NaiveDate,
    /// The conference held.
    pub conference: String,
}

/// An s47 for a new child, its ICPC booked, attended (quorate) and held,
/// and the chair's outcome starting a plan, recorded once the cases
/// service has learnt from scheduling's feed that the conference was held.
pub(crate) async fn plan_started(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
    la_child_id: &str,
) -> Held {
    Box::pin(plan_started_excluding(
        f,
        conferences,
        la_child_id,
        Vec::new(),
    ))
    .await
}

/// As [`plan_started`], with the chair's `exclusions` in the outcome.
pub(crate) async fn plan_started_excluding(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
    la_child_id: &str,
    exclusions: Vec<cases::Exclusion>,
) -> Held {
    Box::pin(plan_started_after(
        f,
        conferences,
        la_child_id,
        exclusions,
        false,
    ))
    .await
}

/// As [`plan_started`], the ICPC meeting inquorate the working day before
/// and the plan started by the conference that reconvened it.
pub(crate) async fn plan_started_reconvened(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
    la_child_id: &str,
) -> Held {
    Box::pin(plan_started_after(
        f,
        conferences,
        la_child_id,
        Vec::new(),
        true,
    ))
    .await
}

async fn plan_started_after(
    f: &mut Fixture,
    conferences: &mut ConferencesServiceClient<Channel>,
    la_child_id: &str,
    exclusions: Vec<cases::Exclusion>,
    inquorate_first: bool,
) -> Held {
    let bs = business_support(f);
    let mut c = clients(f, conferences.clone()).await;
    let (child, case) = s47_started(f, la_child_id, date(2025, 6, 4)).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, later).await;
    let held_on = last_working_day();
    let icpc = if inquorate_first {
        let met = record_attendance(&mut c, &bs, &icpc, inquorate_meeting())
            .await
            .conference
            .unwrap();
        let met_on = timescales()
            .calendar()
            .last_working_day_on_or_before(held_on.pred_opt().unwrap())
            .unwrap();
        let reconvened = c
            .attendance
            .record_inquorate(bs.req(inquorate_on(&met, met_on)))
            .await
            .unwrap()
            .into_inner()
            .reconvened_conference
            .unwrap();
        book(&mut c, &bs, &reconvened, later).await
    } else {
        icpc
    };
    let recorded = record_attendance(&mut c, &bs, &icpc, quorate_meeting()).await;
    assert!(recorded.quorum.unwrap().quorate);
    let icpc = recorded.conference.unwrap();
    let held = c
        .attendance
        .record_conference_held(bs.req(pb::RecordConferenceHeldRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            held_date: pd_of(held_on),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(held.status, pb::ConferenceStatus::Held as i32);
    assert_eq!(held.held_date, pd_of(held_on));

    // The cases service learns from scheduling's feed that it was held;
    // until then the chair's outcome is refused as not held.
    let chair = f.chair();
    let outcome = cases::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(cases::ConferenceOutcome {
            childs_voice: Some(cases::ChildVoiceContribution {
                attended: true,
                methods: vec![cases::ViewsMethod::InPerson as i32],
                ..Default::default()
            }),
            exclusions,
            ..plan_decided(&held.id, &child)
        }),
    };
    let plan = outcome_once_held(f, &chair, &outcome)
        .await
        .expect("a plan");
    assert_eq!(plan.start_date, pd_of(held_on));
    Held {
        child,
        case,
        held_on,
        conference: held.id,
    }
}

#[tokio::test]
async fn holding_the_icpc_lets_the_chair_record_the_plan_and_schedules_the_first_review() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let Held {
        child,
        case,
        held_on,
        ..
    } = Box::pin(plan_started(&mut f, &mut conferences, "MTG0002")).await;

    // The plan, on the cases feed, gives scheduling the first review: 3
    // months after the ICPC, on the last working day on or before.
    let first_review = timescales().first_review_due(held_on).unwrap();
    let review = review_of(&mut conferences, &bs, &case).await;
    assert_eq!(
        review.statutory_due_date,
        pd_of(first_review.latest_working_day)
    );
    assert_eq!(review.child_ids, vec![child]);
    f.stop().await;
}

/// The first review of `case`, once scheduling has made it due.
async fn review_of(
    conferences: &mut ConferencesServiceClient<Channel>,
    bs: &As,
    case: &str,
) -> pb::Conference {
    for _ in 0..300 {
        let found = conferences
            .list_conferences(bs.req(pb::ListConferencesRequest {
                case_id: case.into(),
                kind: common::ConferenceKind::Review as i32,
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner()
            .conferences;
        if let Some(found) = found.into_iter().next() {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("scheduling never made the first review due");
}

#[tokio::test]
async fn a_review_that_meets_inquorate_reconvenes_as_a_review() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let Held { case, .. } = Box::pin(plan_started(&mut f, &mut conferences, "MTG0004")).await;
    let review = review_of(&mut conferences, &bs, &case).await;
    let mut c = clients(&f, conferences).await;
    let due = cpc_platform::convert::date_from_proto(review.statutory_due_date.as_ref())
        .unwrap()
        .unwrap();
    let review = book(&mut c, &bs, &review, due).await;
    let met = record_attendance(&mut c, &bs, &review, inquorate_meeting())
        .await
        .conference
        .unwrap();
    let reconvened = c
        .attendance
        .record_inquorate(bs.req(inquorate_on(&met, last_working_day())))
        .await
        .unwrap()
        .into_inner()
        .reconvened_conference
        .unwrap();
    assert_eq!(reconvened.kind, common::ConferenceKind::Reconvened as i32);
    // Escalation watches it as the review it stands in for (a late one is
    // REVIEW_CONFERENCE_LATE, not an initial conference late).
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM meetings \
                        WHERE id = $1::uuid AND kind = 'review_conference')",
        &[&reconvened.id],
    )
    .await;
    f.stop().await;
}

#[tokio::test]
async fn an_inquorate_conference_reconvenes_and_a_second_in_a_row_is_refused() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let (_, case) = s47_started(&mut f, "MTG0003", date(2025, 6, 4)).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, later).await;

    // Held is refused before attendance, and for inquorate attendance.
    let held_on = last_working_day();
    let hold = |conference: &pb::Conference| pb::RecordConferenceHeldRequest {
        conference_id: conference.id.clone(),
        version: conference.version,
        held_date: pd_of(held_on),
        ..Default::default()
    };
    let early = c
        .attendance
        .record_conference_held(bs.req(hold(&icpc)))
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition);
    let recorded = record_attendance(&mut c, &bs, &icpc, inquorate_meeting()).await;
    let quorum = recorded.quorum.unwrap();
    assert!(!quorum.quorate);
    assert_eq!(quorum.other_agencies_needed, 1);
    let icpc = recorded.conference.unwrap();
    let refused = c
        .attendance
        .record_conference_held(bs.req(hold(&icpc)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // Inquorate: an interim plan, and a reconvened conference due within
    // 10 working days of the meeting.
    let inquorate = |conference: &pb::Conference| inquorate_on(conference, held_on);
    let response = c
        .attendance
        .record_inquorate(bs.req(inquorate(&icpc)))
        .await
        .unwrap()
        .into_inner();
    let met = response.conference.unwrap();
    assert_eq!(met.status, pb::ConferenceStatus::Inquorate as i32);
    let reconvened = response.reconvened_conference.unwrap();
    assert_eq!(reconvened.kind, common::ConferenceKind::Reconvened as i32);
    assert_eq!(reconvened.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(reconvened.previous_conference_id, met.id);
    let reconvene_by = timescales().reconvene_due(held_on).unwrap();
    assert_eq!(reconvened.statutory_due_date, pd_of(reconvene_by));
    let record = met.inquorate.unwrap();
    assert_eq!(record.reconvened_conference_id, reconvened.id);
    assert_eq!(
        record.missing_requirements,
        [pb::QuorumRequirement::TwoOtherAgencies as i32]
    );

    // The reconvened conference is inquorate too: refused.
    let reconvened = book(&mut c, &bs, &reconvened, reconvene_by).await;
    let reconvened = record_attendance(&mut c, &bs, &reconvened, inquorate_meeting())
        .await
        .conference
        .unwrap();
    let second = c
        .attendance
        .record_inquorate(bs.req(inquorate(&reconvened)))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::FailedPrecondition, "{second:?}");
    // With health there it is quorate and held.
    let reconvened = record_attendance(&mut c, &bs, &reconvened, quorate_meeting())
        .await
        .conference
        .unwrap();
    let held = c
        .attendance
        .record_conference_held(bs.req(hold(&reconvened)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(held.status, pb::ConferenceStatus::Held as i32);
    f.stop().await;
}

#[tokio::test]
async fn a_conference_held_after_its_deadline_needs_a_reason_and_is_flagged() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let tomorrow = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let held_on = last_working_day();

    // Booked in time (no reason is kept) ...
    let (_, case) = s47_started(&mut f, "MTG0011", uk_today()).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let icpc = book(&mut c, &bs, &icpc, tomorrow).await;
    assert!(!icpc.booked_past_deadline);
    let icpc = record_attendance(&mut c, &bs, &icpc, quorate_meeting())
        .await
        .conference
        .unwrap();
    // ... weeks ago, on its due date, the working day before it met: the
    // test cannot wait for the days to pass, so it puts the booking and
    // the deadline there.
    let due = timescales()
        .calendar()
        .last_working_day_on_or_before(held_on.pred_opt().unwrap())
        .unwrap();
    let (start, end) = slot_on(due);
    let options = cpc_platform::db::schema_options(f.db.url(), cpc_scheduling::SCHEMA).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    let at = |t: prost_types::Timestamp| chrono::DateTime::from_timestamp(t.seconds, 0).unwrap();
    let id = uuid::Uuid::parse_str(&icpc.id).unwrap();
    sqlx::query(
        "UPDATE conferences SET statutory_due_date = $2, start_time = $3, end_time = $4 \
         WHERE id = $1",
    )
    .bind(id)
    .bind(due)
    .bind(at(start))
    .bind(at(end))
    .execute(&admin)
    .await
    .unwrap();
    sqlx::query("UPDATE conference_children SET due_date = $2 WHERE conference_id = $1")
        .bind(id)
        .bind(due)
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let hold = |conference: &pb::Conference, on: NaiveDate, reason: &str| {
        pb::RecordConferenceHeldRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            held_date: pd_of(on),
            past_deadline_reason: reason.into(),
        }
    };
    // Held the day after its deadline, with no reason anywhere: refused,
    // naming the held date (as a booking past the deadline would be),
    // rather than recorded as in time.
    let refused = c
        .attendance
        .record_conference_held(bs.req(hold(&icpc, held_on, "")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("held_date"), "{refused:?}");
    // A reason is only for a conference held late.
    let refused = c
        .attendance
        .record_conference_held(bs.req(hold(&icpc, due, "Snow")))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&refused), ["past_deadline_reason"]);
    // With the reason, recorded after the event: held late, and flagged.
    let held = c
        .attendance
        .record_conference_held(bs.req(hold(&icpc, held_on, "Snow closed the venue")))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert!(held.booked_past_deadline);
    assert_eq!(held.past_deadline_reason, "Snow closed the venue");

    // Booked past its deadline with a reason: held past it, and flagged.
    let (_, case) = s47_started(&mut f, "MTG0012", date(2025, 6, 4)).await;
    let late = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let late = book(&mut c, &bs, &late, tomorrow).await;
    assert!(late.booked_past_deadline);
    let late = record_attendance(&mut c, &bs, &late, quorate_meeting())
        .await
        .conference
        .unwrap();
    let held = c
        .attendance
        .record_conference_held(bs.req(hold(&late, held_on, "")))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert!(held.booked_past_deadline);
    assert_eq!(
        held.past_deadline_reason,
        "Recorded after the event for this test"
    );
    f.stop().await;
}

/// A unanimous decision at conference `conference_id` that `child_id`
/// needs a plan under neglect, with its core group, danger statement,
/// safety goal and contingency.
pub fn plan_decided(conference_id: &str, child_id: &str) -> cases::ConferenceOutcome {
    cases::ConferenceOutcome {
        conference_id: conference_id.into(),
        child_id: child_id.into(),
        professional_views: vec![
            view(worker_ref(), 3, true),
            view(police_ref(), 3, true),
            view(health_ref(), 4, true),
        ],
        decision: cases::ConferenceDecision::StartPlan as i32,
        initial_category: common::CategoryOfHarm::Neglect as i32,
        latest_category: common::CategoryOfHarm::Neglect as i32,
        lead_social_worker: Some(worker_ref()),
        lead_statutory_body: cases::LeadStatutoryBody::LocalAuthority as i32,
        core_group_members: vec![worker_ref(), police_ref(), health_ref()],
        danger_statements: vec!["The child may be left alone".into()],
        safety_goals: vec!["The child is supervised every day".into()],
        contingency_plan: "Legal planning meeting if nothing improves".into(),
        ..Default::default()
    }
}

/// Records `outcome` as the chair, retrying while cases has not yet learnt
/// from scheduling's feed that the conference was held; the plan it
/// started, if it started one.
pub async fn outcome_once_held(
    f: &mut Fixture,
    chair: &As,
    outcome: &cases::RecordConferenceOutcomeRequest,
) -> Option<cases::ChildProtectionPlan> {
    // Up to 30 s, as the other waits on the feeds: a loaded machine
    // running the suite in parallel can take more than 10.
    for _ in 0..300 {
        match f
            .client
            .record_conference_outcome(chair.req(outcome.clone()))
            .await
        {
            Ok(response) => return response.into_inner().plan,
            Err(status) if status.code() == Code::FailedPrecondition => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    panic!("cases never learnt that the conference was held");
}
