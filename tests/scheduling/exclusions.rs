//! The chair's exclusions from attending: a parent excluded from the whole
//! conference loses the invitation (withdrawn in the same change, on the
//! feed for whoever sent it), cannot be invited again, cannot reply, and is
//! refused in the recorded attendance; a later decision to exclude them from
//! part of it reinstates the invitation and lets them attend, and the chair
//! may lift the exclusion altogether. Reporting
//! learns the decision from scheduling's feed, so agency reports reach the
//! excluded parent only from the chair. Only the chair decides; each
//! decision is audited and attributed to them.

use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as reporting_pb;
use cpc_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use cpc_proto::scheduling::v1 as pb;
use tonic::Code;
use tonic::transport::Channel;

use crate::bad_request::bad_fields;
use crate::diary::*;
use crate::meetings::{
    Clients, book, clients, inquorate_meeting, inquorate_on, invitation, last_working_day,
    quorate_meeting, record_attendance, timescales,
};
use crate::minutes::{parent_ref, reporting, until_reporting_knows};
use crate::reports::{AUTHOR, author, new_report, until_members_known};
use crate::support::*;

/// Reporting holds `n` of the chair's exclusions from attending the whole
/// conference (from scheduling's feed).
async fn until_reporting_holds(f: &Fixture, conference: &str, n: usize) {
    until_reporting_knows(
        f,
        &format!("SELECT count(*) = {n} FROM scheduled_exclusions WHERE conference_id = $1::uuid"),
        &[conference],
    )
    .await;
}

/// A police report on the conference, submitted, as the author.
async fn submitted_report(
    f: &Fixture,
    client: &mut ReportingServiceClient<Channel>,
    conference: &str,
    child: &str,
) -> reporting_pb::AgencyReport {
    let police = author(f);
    let draft = client
        .create_agency_report(police.req(new_report(conference, child, "Police checks")))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    client
        .submit_agency_report(police.req(reporting_pb::SubmitAgencyReportRequest {
            report_id: draft.id,
            version: draft.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

fn to_parent(report: &reporting_pb::AgencyReport) -> reporting_pb::ShareAgencyReportRequest {
    reporting_pb::ShareAgencyReportRequest {
        report_id: report.id.clone(),
        version: report.version,
        recipients: vec![parent_ref()],
        method: reporting_pb::DeliveryMethod::SecureEmail as i32,
    }
}

/// The parent's invitation to `conference`, by letter.
fn parents_invitation(conference: &str) -> pb::CreateInvitationRequest {
    let mut request = invitation(conference, parent_ref());
    if let Some(invitation) = request.invitation.as_mut() {
        invitation.invitee_kind = pb::InviteeKind::FamilyMember as i32;
        invitation.method = pb::InvitationMethod::Letter as i32;
    }
    request
}

const WHOLE: pb::AttendanceExclusionScope = pb::AttendanceExclusionScope::WholeConference;
const PART: pb::AttendanceExclusionScope = pb::AttendanceExclusionScope::PartOfConference;

/// `who` excludes `person` from `conference` (`scope`, `parts`), on the
/// version of it given.
async fn exclude(
    c: &mut Clients,
    who: &As,
    conference: &pb::Conference,
    person: common::PersonRef,
    scope: pb::AttendanceExclusionScope,
    parts: &str,
) -> Result<pb::ExcludeFromConferenceResponse, tonic::Status> {
    c.attendance
        .exclude_from_conference(who.req(pb::ExcludeFromConferenceRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            person: Some(person),
            scope: scope as i32,
            excluded_parts: parts.into(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test]
async fn a_parent_excluded_by_the_chair_is_uninvited_and_kept_out_of_the_attendance() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let chair = f.chair();
    let mut c = clients(&f, conferences).await;
    let (child, case) = s47_started(&mut f, "EXC0001", uk_today()).await;
    // A police officer on the case writes a report for the conference.
    f.grant(
        &case,
        person_ref(
            AUTHOR,
            "PC Report",
            common::AgencyKind::Police,
            "Constabulary",
        ),
        cases::CaseRole::CoreGroupMember,
        false,
    )
    .await;
    until_members_known(&f, &case, &[AUTHOR]).await;
    let mut reports = reporting(&f).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let due = timescales().icpc_due(uk_today()).unwrap();
    let icpc = book(&mut c, &bs, &icpc, due).await;

    // Business support invites the parent and the police.
    let parents = c
        .attendance
        .create_invitation(bs.req(parents_invitation(&icpc.id)))
        .await
        .unwrap()
        .into_inner()
        .invitation
        .unwrap();
    c.attendance
        .create_invitation(bs.req(invitation(&icpc.id, police_ref())))
        .await
        .unwrap();

    // Bad input names each field, without a change.
    let bad = c
        .attendance
        .exclude_from_conference(chair.req(pb::ExcludeFromConferenceRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["conference_id", "version", "person", "scope"]
    );
    let no_parts = exclude(&mut c, &chair, &icpc, parent_ref(), PART, "")
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&no_parts), ["excluded_parts"]);
    let parts_of_whole = exclude(
        &mut c,
        &chair,
        &icpc,
        parent_ref(),
        WHOLE,
        "Police disclosure",
    )
    .await
    .unwrap_err();
    assert_eq!(bad_fields(&parts_of_whole), ["excluded_parts"]);

    // Only the chair decides.
    let not_theirs = exclude(&mut c, &bs, &icpc, parent_ref(), WHOLE, "")
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    // An agency professional's invitation asks for a report: not excluded.
    let professional = exclude(&mut c, &chair, &icpc, police_ref(), WHOLE, "")
        .await
        .unwrap_err();
    assert_eq!(professional.code(), Code::FailedPrecondition);

    // The chair excludes the parent from the whole conference: the
    // invitation is withdrawn in the same change.
    let excluded = exclude(&mut c, &chair, &icpc, parent_ref(), WHOLE, "")
        .await
        .unwrap();
    let conference = excluded.conference.unwrap();
    assert_eq!(conference.version, icpc.version + 1);
    assert_eq!(conference.exclusions.len(), 1);
    let decision = &conference.exclusions[0];
    assert_eq!(decision.person, Some(parent_ref()));
    assert_eq!(
        decision.scope,
        pb::AttendanceExclusionScope::WholeConference as i32
    );
    assert_eq!(
        decision.decided_by.as_ref().unwrap().person_id,
        uuid::Uuid::from_u128(CHAIR).to_string()
    );
    let withdrawn = excluded.invitation.unwrap();
    assert_eq!(withdrawn.id, parents.id);
    assert_eq!(withdrawn.version, parents.version + 1);
    assert!(withdrawn.withdraw_time.is_some());

    // Reporting learns it from scheduling's feed: the author may not send
    // the parent the report; only the chair could.
    until_reporting_holds(&f, &icpc.id, 1).await;
    let report = submitted_report(&f, &mut reports, &icpc.id, &child).await;
    let unshared = reports
        .share_agency_report(author(&f).req(to_parent(&report)))
        .await
        .unwrap_err();
    assert_eq!(unshared.code(), Code::FailedPrecondition, "{unshared:?}");
    assert!(unshared.message().contains("excluded"), "{unshared:?}");

    // The decision was made on the version read: a stale one is refused.
    let stale = exclude(&mut c, &chair, &icpc, parent_ref(), WHOLE, "")
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);

    // The withdrawn invitation takes no reply, and the parent is not
    // invited again.
    let reply = c
        .attendance
        .respond_to_invitation(bs.req(pb::RespondToInvitationRequest {
            invitation_id: withdrawn.id.clone(),
            version: withdrawn.version,
            reply: pb::InvitationReply::AttendingInPerson as i32,
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(reply.code(), Code::FailedPrecondition);
    let again = c
        .attendance
        .create_invitation(bs.req(parents_invitation(&icpc.id)))
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);

    // Attendance naming the parent is refused, naming where they are, and
    // nothing is recorded.
    let mut meeting = quorate_meeting();
    meeting.push(crate::meetings::attendee(
        parent_ref(),
        pb::AttendeeRole::FamilyMember,
    ));
    let refused = c
        .attendance
        .record_attendance(bs.req(pb::RecordAttendanceRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            attendees: meeting.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("attendees[4]"), "{refused:?}");
    assert!(!refused.message().contains("Pat"), "no name in errors");
    let unchanged = c
        .conferences
        .get_conference(bs.req(pb::GetConferenceRequest {
            conference_id: conference.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert!(unchanged.attendance.is_empty());
    assert_eq!(unchanged.version, conference.version);

    // The chair decides instead that the parent leaves for one part: the
    // invitation is reinstated and the parent attends.
    let partial = exclude(
        &mut c,
        &chair,
        &conference,
        parent_ref(),
        PART,
        "Police disclosure",
    )
    .await
    .unwrap();
    let conference = partial.conference.unwrap();
    assert_eq!(
        conference.exclusions.len(),
        1,
        "the later decision replaces"
    );
    assert_eq!(
        conference.exclusions[0].scope,
        pb::AttendanceExclusionScope::PartOfConference as i32
    );
    assert_eq!(conference.exclusions[0].excluded_parts, "Police disclosure");
    let reinstated = partial.invitation.unwrap();
    assert!(reinstated.withdraw_time.is_none());
    // Attending again, the parent may be sent the report.
    until_reporting_holds(&f, &icpc.id, 0).await;
    reports
        .share_agency_report(author(&f).req(to_parent(&report)))
        .await
        .unwrap();
    let recorded = c
        .attendance
        .record_attendance(bs.req(pb::RecordAttendanceRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            attendees: meeting,
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(recorded.quorum.unwrap().quorate);
    // Once recorded as attending, the parent cannot be excluded after the
    // event.
    let after = exclude(
        &mut c,
        &chair,
        recorded.conference.as_ref().unwrap(),
        parent_ref(),
        WHOLE,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(after.code(), Code::FailedPrecondition);

    // The chair lifts the partial exclusion: the parent may stay for all of
    // it. Only the chair may, and only an exclusion that is there.
    let booked = recorded.conference.unwrap();
    let lifting = |conference: &pb::Conference| pb::LiftConferenceExclusionRequest {
        conference_id: conference.id.clone(),
        version: conference.version,
        person_id: parent_ref().person_id,
    };
    let bad = c
        .attendance
        .lift_conference_exclusion(chair.req(pb::LiftConferenceExclusionRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&bad), ["conference_id", "version", "person_id"]);
    let not_theirs = c
        .attendance
        .lift_conference_exclusion(bs.req(lifting(&booked)))
        .await
        .unwrap_err();
    assert_eq!(not_theirs.code(), Code::PermissionDenied);
    let lifted = c
        .attendance
        .lift_conference_exclusion(chair.req(lifting(&booked)))
        .await
        .unwrap()
        .into_inner();
    let conference = lifted.conference.unwrap();
    assert!(conference.exclusions.is_empty());
    assert_eq!(conference.version, booked.version + 1);
    assert!(lifted.invitation.unwrap().withdraw_time.is_none());
    let gone = c
        .attendance
        .lift_conference_exclusion(chair.req(lifting(&conference)))
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::FailedPrecondition);

    // Once the conference is held, it is too late to exclude anyone.
    let held = c
        .attendance
        .record_conference_held(bs.req(pb::RecordConferenceHeldRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            held_date: pd_of(last_working_day()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    let grandparent = person_ref(
        0xfa_0002,
        "Gus Grandparent",
        common::AgencyKind::Unspecified,
        "",
    );
    let late = exclude(&mut c, &chair, &held, grandparent, WHOLE, "")
        .await
        .unwrap_err();
    assert_eq!(late.code(), Code::FailedPrecondition);
    assert!(late.message().contains("is held"), "{late:?}");

    // Each decision is on scheduling's feed with the invitation, for
    // whoever sent it to tell the parent.
    let mut feed = c
        .conferences
        .stream_changes(bs.req(pb::StreamChangesRequest {
            event_types: vec![
                "cpc.scheduling.v1.ConferenceExclusionRecorded".into(),
                "cpc.scheduling.v1.ConferenceExclusionLifted".into(),
            ],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    for (kind, withdrawn) in [
        ("ConferenceExclusionRecorded", true),
        ("ConferenceExclusionRecorded", false),
        ("ConferenceExclusionLifted", false),
    ] {
        let event = feed.message().await.unwrap().unwrap().event.unwrap();
        assert_eq!(event.event_type, format!("cpc.scheduling.v1.{kind}"));
        // Both carry the conference and the invitation, as fields 1 and 2.
        let told =
            <pb::ConferenceExclusionRecorded as prost::Message>::decode(event.payload.as_slice())
                .unwrap();
        assert_eq!(told.invitation.unwrap().withdraw_time.is_some(), withdrawn);
    }

    // Every call that reached the policies is audited under the caller:
    // business support's refused, the chair's allowed, those that then
    // failed with their code (and nothing else of them kept).
    let options = db::schema_options(f.db.url(), "scheduling").unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let decisions: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT role, decision, reason FROM audit_log \
         WHERE action LIKE '/cpc.scheduling.v1.AttendanceService/%Exclu%' \
         ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let failed = |code: &str| Some(format!("allowed; then failed with {code}, nothing changed"));
    let chair =
        |reason: Option<String>| ("conference_chair".to_owned(), "allow".to_owned(), reason);
    let bs_refused = decisions
        .iter()
        .filter(|(role, decision, _)| role == "business_support" && decision == "deny")
        .count();
    assert_eq!(bs_refused, 2, "{decisions:?}");
    let chairs: Vec<_> = decisions
        .into_iter()
        .filter(|(role, _, _)| role == "conference_chair")
        .collect();
    assert_eq!(
        chairs,
        [
            chair(failed("FAILED_PRECONDITION")), // the police officer
            chair(None),                          // the whole conference
            chair(failed("ABORTED")),             // a stale version
            chair(None),                          // part of it
            chair(failed("FAILED_PRECONDITION")), // after attending
            chair(None),                          // lifted
            chair(failed("FAILED_PRECONDITION")), // lifted again
            chair(failed("FAILED_PRECONDITION")), // once held
        ]
    );
    f.stop().await;
}

/// Once a chair is allocated, keeping a person out of the conference is
/// that chair's decision alone: another chair of the authority is refused,
/// and the refusal is recorded under the policy that decided it.
#[tokio::test]
async fn once_a_chair_is_allocated_only_they_decide_exclusions() {
    use cpc_proto::scheduling::v1::chairs_service_client::ChairsServiceClient;

    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let (_, case) = s47_started(&mut f, "EXC0002", uk_today()).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let due = timescales().icpc_due(uk_today()).unwrap();
    let icpc = book(&mut c, &bs, &icpc, due).await;
    let other_chair = f.person(
        CHAIR + 1,
        AUTHORITY,
        cpc_identity::Role::ConferenceChair,
        Some(csc()),
    );

    // Before a chair is allocated, any chair of the authority may decide.
    let decided = exclude(&mut c, &other_chair, &icpc, parent_ref(), WHOLE, "")
        .await
        .unwrap();
    let icpc = decided.conference.unwrap();

    let mut chairs = ChairsServiceClient::new(f.server.channel().await);
    crate::chairs::create(&mut chairs, &bs, crate::chairs::chair(CHAIR, "Chris Chair")).await;
    let allocated = chairs
        .allocate_chair(bs.req(pb::AllocateChairRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        allocated.allocation.unwrap().chair_id,
        uuid::Uuid::from_u128(CHAIR).to_string()
    );
    let icpc = allocated.conference.unwrap();

    // Now the other chair can neither change the decision nor lift it.
    let refused = exclude(
        &mut c,
        &other_chair,
        &icpc,
        parent_ref(),
        PART,
        "Police disclosure",
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let lift = |who: &As, version| {
        who.req(pb::LiftConferenceExclusionRequest {
            conference_id: icpc.id.clone(),
            version,
            person_id: parent_ref().person_id,
        })
    };
    let refused = c
        .attendance
        .lift_conference_exclusion(lift(&other_chair, icpc.version))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);

    // The allocated chair may.
    let decided = exclude(
        &mut c,
        &f.chair(),
        &icpc,
        parent_ref(),
        PART,
        "Police disclosure",
    )
    .await
    .unwrap();
    let version = decided.conference.unwrap().version;
    c.attendance
        .lift_conference_exclusion(lift(&f.chair(), version))
        .await
        .unwrap();

    let options = db::schema_options(f.db.url(), cpc_scheduling::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let decisions: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT actor_subject, decision, policy_ids FROM audit_log \
          WHERE action LIKE '/cpc.scheduling.v1.AttendanceService/%Exclu%' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    let person = |id: u128| uuid::Uuid::from_u128(id).to_string();
    let rule = vec!["allocated-chair-decides-exclusions".to_owned()];
    let summary: Vec<(String, &str, bool)> = decisions
        .iter()
        .map(|(who, decision, policies)| (who.clone(), decision.as_str(), *policies == rule))
        .collect();
    assert_eq!(
        summary,
        [
            (person(CHAIR + 1), "allow", false),
            (person(CHAIR + 1), "deny", true),
            (person(CHAIR + 1), "deny", true),
            (person(CHAIR), "allow", false),
            (person(CHAIR), "allow", false),
        ]
    );
}

#[tokio::test]
async fn the_chairs_exclusions_hold_for_the_conference_reconvened() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let chair = f.chair();
    let mut c = clients(&f, conferences).await;
    let (_, case) = s47_started(&mut f, "EXC0003", uk_today()).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, later).await;
    let icpc = exclude(&mut c, &chair, &icpc, parent_ref(), WHOLE, "")
        .await
        .unwrap()
        .conference
        .unwrap();
    let met = record_attendance(&mut c, &bs, &icpc, inquorate_meeting())
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

    // The same decision, by the same chair, at the same time.
    assert_eq!(reconvened.exclusions, met.exclusions);
    assert_eq!(reconvened.exclusions.len(), 1);
    // So the parent is not invited to the reconvened conference, and
    // reporting holds them excluded from it too.
    let refused = c
        .attendance
        .create_invitation(bs.req(parents_invitation(&reconvened.id)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    until_reporting_holds(&f, &reconvened.id, 1).await;
    f.stop().await;
}
