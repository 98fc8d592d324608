//! Agency reports in the reporting service, for the conferences scheduling
//! books and holds: written as drafts only their author is shown,
//! submitted (late when after the conference's reports due date), and
//! shared with invitees, members of the case or practitioners of an agency
//! on it, never with a person the chair excluded from attending unless the
//! chair shares it. Reporting learns the conference, its invitees and
//! reports due date from scheduling's feed, the members and exclusions
//! from the cases feed.

use cpc_identity::{Agency, AgencyKind, Role};
use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use prost_types::FieldMask;
use tonic::Code;
use uuid::Uuid;

use crate::bad_request::bad_fields;
use crate::diary::*;
use crate::meetings::{Held, book, clients, invitation, plan_started_excluding, timescales};
use crate::minutes::{first_feed_events, parent_ref, reporting, until_reporting_knows};
use crate::support::*;

/// A police officer who writes a report (a member of the case).
pub(crate) const AUTHOR: u128 = 0xa9_0001;
/// A health visitor on the case, shown a report once it is shared.
const HEALTH: u128 = 0xa9_0002;
/// A school nurse invited to the conference, not on the case.
const NURSE: u128 = 0xa9_0003;
/// A probation officer on the case whom the chair excluded from attending.
const PROBATION: u128 = 0xa9_0004;

fn practitioner(f: &Fixture, id: u128, kind: AgencyKind, name: &str) -> As {
    f.person(
        id,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(Agency {
            kind,
            name: name.into(),
        }),
    )
}

pub(crate) fn author(f: &Fixture) -> As {
    practitioner(f, AUTHOR, AgencyKind::Police, "Constabulary")
}

fn health(f: &Fixture) -> As {
    practitioner(f, HEALTH, AgencyKind::Health, "Community Health")
}

fn someone(id: u128, name: &str, kind: common::AgencyKind, agency: &str) -> common::PersonRef {
    person_ref(id, name, kind, agency)
}

fn health_visitor() -> common::PersonRef {
    someone(
        HEALTH,
        "Hali Visitor",
        common::AgencyKind::Health,
        "Community Health",
    )
}

pub(crate) fn new_report(
    conference: &str,
    child: &str,
    body: &str,
) -> pb::CreateAgencyReportRequest {
    pb::CreateAgencyReportRequest {
        request_id: rid(),
        report: Some(pb::AgencyReport {
            conference_id: conference.into(),
            child_ids: vec![child.into()],
            kind: pb::ReportKind::Agency as i32,
            author: Some(common::PersonRef {
                display_name: "PC Report".into(),
                ..Default::default()
            }),
            content: Some(pb::agency_report::Content::Body(body.into())),
            ..Default::default()
        }),
    }
}

/// Reporting has `people` as current members of `case`.
pub(crate) async fn until_members_known(f: &Fixture, case: &str, people: &[u128]) {
    let ids: Vec<String> = people
        .iter()
        .map(|p| Uuid::from_u128(*p).to_string())
        .collect();
    // Person ids are UUIDs, safe to spell into the query.
    let sql = format!(
        "SELECT count(DISTINCT person_id) = {} FROM case_members \
          WHERE case_id = $1::uuid AND end_date IS NULL AND person_id = ANY ('{{{}}}'::text[])",
        ids.len(),
        ids.join(",")
    );
    until_reporting_knows(f, &sql, &[case]).await;
}

#[tokio::test]
async fn a_report_is_its_authors_until_submitted_and_then_shown_to_whom_it_is_shared_with() {
    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let (child, case) = s47_started(&mut f, "REP0001", date(2025, 6, 4)).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let on = timescales()
        .calendar()
        .add_working_days(uk_today(), 10)
        .unwrap();
    let icpc = book(&mut c, &bs, &icpc, on).await;
    let due = icpc.reports_due_date.unwrap();
    let nurse = someone(
        NURSE,
        "Nia Nurse",
        common::AgencyKind::Education,
        "Hill School",
    );
    c.attendance
        .create_invitation(bs.req(invitation(&icpc.id, nurse.clone())))
        .await
        .unwrap();
    for person in [
        someone(
            AUTHOR,
            "PC Report",
            common::AgencyKind::Police,
            "Constabulary",
        ),
        health_visitor(),
    ] {
        f.grant(&case, person, cases::CaseRole::CoreGroupMember, false)
            .await;
    }
    until_members_known(&f, &case, &[AUTHOR, HEALTH]).await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid AND reports_due_on IS NOT NULL) \
            AND EXISTS (SELECT 1 FROM conference_invitees WHERE conference_id = $1::uuid AND person_id = $2)",
        &[&icpc.id, &nurse.person_id],
    )
    .await;
    let mut client = reporting(&f).await;
    let (police, visitor, manager) = (author(&f), health(&f), f.team_manager());

    // A draft, by the caller: the agency is the one their token names.
    let create = new_report(&icpc.id, &child, "Police involvement since May");
    let draft = client
        .create_agency_report(police.req(create.clone()))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(draft.status, pb::AgencyReportStatus::Draft as i32);
    let written_by = draft.author.clone().unwrap();
    assert_eq!(written_by.person_id, Uuid::from_u128(AUTHOR).to_string());
    assert_eq!(written_by.agency_kind, common::AgencyKind::Police as i32);
    assert_eq!(written_by.agency_name, "Constabulary");
    assert_eq!(draft.due_date, Some(due));
    assert!(!draft.late);
    // The same request again is the same report.
    let again = client
        .create_agency_report(police.req(create))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(again.id, draft.id);

    // Nobody else is shown a draft: not the team manager, not the health
    // visitor on the same case.
    for who in [&manager, &visitor] {
        let hidden = client
            .get_agency_report(who.req(pb::GetAgencyReportRequest {
                report_id: draft.id.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(hidden.code(), Code::NotFound, "{hidden:?}");
        assert!(listed(&mut client, who, &icpc.id).await.is_empty());
    }
    // She may write reports for the case, but not this one.
    let change = client
        .submit_agency_report(visitor.req(pb::SubmitAgencyReportRequest {
            report_id: draft.id.clone(),
            version: draft.version,
        }))
        .await
        .unwrap_err();
    assert_eq!(change.code(), Code::NotFound, "{change:?}");

    // The author edits it; a stale version is refused.
    let edit = |version: i64| pb::UpdateAgencyReportRequest {
        report: Some(pb::AgencyReport {
            id: draft.id.clone(),
            version,
            content: Some(pb::agency_report::Content::Body(
                "Police involvement since April".into(),
            )),
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["body".into()],
        }),
    };
    let edited = client
        .update_agency_report(police.req(edit(draft.version)))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(edited.version, draft.version + 1);
    let stale = client
        .update_agency_report(police.req(edit(draft.version)))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");

    // Submitted before the due date: not late.
    let submitted = client
        .submit_agency_report(police.req(pb::SubmitAgencyReportRequest {
            report_id: draft.id.clone(),
            version: edited.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(submitted.status, pb::AgencyReportStatus::Submitted as i32);
    assert!(submitted.submit_time.is_some());
    assert!(!submitted.late);
    let frozen = client
        .update_agency_report(police.req(edit(submitted.version)))
        .await
        .unwrap_err();
    assert_eq!(frozen.code(), Code::FailedPrecondition, "{frozen:?}");
    // An edit made on the draft as read before the submission is stale:
    // the version is checked before the status, so the caller is told to
    // read the report again (ABORTED), as the proto promises, rather than
    // refused for a submission they have not seen.
    let stale_after_submission = client
        .update_agency_report(police.req(edit(edited.version)))
        .await
        .unwrap_err();
    assert_eq!(
        stale_after_submission.code(),
        Code::Aborted,
        "{stale_after_submission:?}"
    );

    // The local authority reads it now; the health visitor not until it is
    // shared with her.
    assert_eq!(listed(&mut client, &manager, &icpc.id).await.len(), 1);
    assert!(listed(&mut client, &visitor, &icpc.id).await.is_empty());
    let stranger = client
        .share_agency_report(police.req(pb::ShareAgencyReportRequest {
            report_id: submitted.id.clone(),
            version: submitted.version,
            recipients: vec![health_visitor(), parent_ref()],
            method: pb::DeliveryMethod::Portal as i32,
        }))
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::FailedPrecondition, "{stranger:?}");
    assert!(stranger.message().contains("recipients[1]"), "{stranger:?}");
    let shared = client
        .share_agency_report(police.req(pb::ShareAgencyReportRequest {
            report_id: submitted.id.clone(),
            version: submitted.version,
            recipients: vec![health_visitor(), nurse],
            method: pb::DeliveryMethod::Portal as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(shared.shared_with.len(), 2);
    let seen = client
        .get_agency_report(visitor.req(pb::GetAgencyReportRequest {
            report_id: shared.id.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(seen, shared);
    assert_eq!(listed(&mut client, &visitor, &icpc.id).await, vec![shared]);

    // The reporting feed carries the submission and the sharing.
    assert_eq!(
        first_feed_events(&mut client, &manager, 2).await,
        [
            "cpc.reporting.v1.AgencyReportSubmitted",
            "cpc.reporting.v1.AgencyReportShared",
        ]
    );
    f.stop().await;
}

#[tokio::test]
async fn late_reports_are_marked_and_the_excluded_get_them_only_from_the_chair() {
    let (mut f, mut conferences) = start().await;
    let probation = someone(
        PROBATION,
        "Pip Probation",
        common::AgencyKind::Probation,
        "Probation Service",
    );
    let Held {
        child,
        case,
        conference,
        ..
    } = Box::pin(plan_started_excluding(
        &mut f,
        &mut conferences,
        "REP0002",
        vec![cases::Exclusion {
            person: Some(probation.clone()),
            scopes: vec![cases::ExclusionScope::Attendance as i32],
            reason: "A risk to the family at the meeting".into(),
            ..Default::default()
        }],
    ))
    .await;
    for person in [
        someone(
            AUTHOR,
            "PC Report",
            common::AgencyKind::Police,
            "Constabulary",
        ),
        probation.clone(),
    ] {
        f.grant(&case, person, cases::CaseRole::CoreGroupMember, false)
            .await;
    }
    until_members_known(&f, &case, &[AUTHOR, PROBATION]).await;
    until_reporting_knows(
        &f,
        "SELECT (SELECT count(*) FROM attendance_exclusions WHERE conference_id = $1::uuid) = 1",
        &[&conference],
    )
    .await;
    let mut client = reporting(&f).await;
    let police = author(&f);

    // The conference was held: its reports were due before it, so a report
    // submitted now is late.
    let draft = client
        .create_agency_report(police.req(new_report(&conference, &child, "After the event")))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert!(draft.late, "a draft past its due date is late");
    let submitted = client
        .submit_agency_report(police.req(pb::SubmitAgencyReportRequest {
            report_id: draft.id.clone(),
            version: draft.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert!(submitted.late);
    let late = client
        .list_agency_reports(f.team_manager().req(pb::ListAgencyReportsRequest {
            child_id: child.clone(),
            late_only: true,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .reports;
    assert_eq!(late, vec![submitted.clone()]);

    // Excluded from attending: not from the author, only from the chair.
    let to_probation = |version: i64| pb::ShareAgencyReportRequest {
        report_id: submitted.id.clone(),
        version,
        recipients: vec![probation.clone()],
        method: pb::DeliveryMethod::SecureEmail as i32,
    };
    let refused = client
        .share_agency_report(police.req(to_probation(submitted.version)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("excluded"), "{refused:?}");
    // The chair's allocation, as scheduling's feed would bring it.
    let options = db::schema_options(f.db.url(), cpc_reporting::SCHEMA).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    sqlx::query("UPDATE conferences SET chair_id = $2 WHERE id = $1::uuid")
        .bind(&conference)
        .bind(Uuid::from_u128(CHAIR).to_string())
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let shared = client
        .share_agency_report(f.chair().req(to_probation(submitted.version)))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    assert_eq!(shared.shared_with.len(), 1);

    // Bad requests name their fields; a child not in the conference, an
    // unknown report and a list without a scope are refused.
    let mut bad = new_report(&conference, "not-a-uuid", "");
    if let Some(report) = bad.report.as_mut() {
        report.kind = 0;
        report.author = Some(common::PersonRef {
            person_id: Uuid::from_u128(HEALTH).to_string(),
            display_name: "Someone else".into(),
            ..Default::default()
        });
    }
    let status = client
        .create_agency_report(police.req(bad))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&status),
        [
            "report.child_ids[0]",
            "report.kind",
            "report.author.person_id",
            "report.body",
        ]
    );
    let status = client
        .create_agency_report(police.req(new_report(
            &conference,
            &Uuid::new_v4().to_string(),
            "Wrong child",
        )))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["report.child_ids[0]"]);
    let status = client
        .update_agency_report(police.req(pb::UpdateAgencyReportRequest {
            report: Some(pb::AgencyReport {
                id: submitted.id.clone(),
                version: submitted.version,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["child_ids".into(), "document".into(), "body".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["report.child_ids", "update_mask"]);
    let status = client
        .get_agency_report(police.req(pb::GetAgencyReportRequest {
            report_id: Uuid::new_v4().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = client
        .list_agency_reports(police.req(pb::ListAgencyReportsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["conference_id"]);
    f.stop().await;
}

async fn listed(
    client: &mut cpc_proto::reporting::v1::reporting_service_client::ReportingServiceClient<
        tonic::transport::Channel,
    >,
    who: &As,
    conference: &str,
) -> Vec<pb::AgencyReport> {
    client
        .list_agency_reports(who.req(pb::ListAgencyReportsRequest {
            conference_id: conference.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .reports
}

#[tokio::test]
async fn a_service_follows_only_report_submissions() {
    let (f, _) = start().await;
    let mut client = reporting(&f).await;
    let escalation = f.service("cpc-escalation", AUTHORITY, Role::CpcService);
    let asking = |types: &[&str]| pb::StreamChangesRequest {
        authority_id: AUTHORITY.into(),
        event_types: types.iter().map(|t| (*t).to_owned()).collect(),
        ..Default::default()
    };
    // The whole feed, or minutes, are refused: no service needs them.
    for types in [
        &[][..],
        &["cpc.reporting.v1.MinutesDistributed"][..],
        &[
            "cpc.reporting.v1.AgencyReportSubmitted",
            "cpc.reporting.v1.AgencyReportShared",
        ][..],
    ] {
        let refused = client
            .stream_changes(escalation.req(asking(types)))
            .await
            .map(drop)
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{types:?}");
    }
    // Report submissions are what escalation follows.
    client
        .stream_changes(escalation.req(asking(&["cpc.reporting.v1.AgencyReportSubmitted"])))
        .await
        .unwrap();
    // A person asks for what they like (the policies decide the feed).
    client
        .stream_changes(f.team_manager().req(asking(&[])))
        .await
        .unwrap();

    let options = db::schema_options(f.db.url(), cpc_reporting::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let decisions: Vec<(String, String, Vec<String>)> = sqlx::query_as(
        "SELECT role, decision, policy_ids FROM audit_log \
          WHERE action = '/cpc.reporting.v1.ReportingService/StreamChanges' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    // (The served escalation's own follower opens the feed too, allowed.)
    let rule = vec!["reporting:services-follow-submissions-only".to_owned()];
    let refused: Vec<_> = decisions.iter().filter(|d| d.1 == "deny").collect();
    assert_eq!(refused.len(), 3, "{decisions:?}");
    assert!(
        refused
            .iter()
            .all(|(role, _, policies)| role == "cpc_service" && *policies == rule),
        "{decisions:?}"
    );
    let allowed = |role: &str| {
        decisions
            .iter()
            .filter(|d| d.0 == role && d.1 == "allow")
            .count()
    };
    assert!(allowed("cpc_service") >= 1, "{decisions:?}");
    assert_eq!(allowed("team_manager"), 1, "{decisions:?}");
}
