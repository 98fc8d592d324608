//! The authorization matrix over the reporting service's served RPCs
//! (agency reports, minutes, the census return, timeliness statistics and
//! the change feed):
//! every such row of `tests/access-matrix.csv` — every RPC × every role ×
//! {current member of the case, agency member, former member, not a
//! member, another authority, excluded from the minutes} — called over
//! gRPC with a valid
//! request on real minutes of a held conference, and on a real report for
//! it (written and submitted by the agency practitioner on the case, and
//! shared with every current member), and the answer compared with the
//! table's cell. Every refusal must be in reporting's audit log.
//!
//! Reporting learns the conference from scheduling's feed, the members and
//! the exclusions from the cases feed; former members are written into
//! reporting's copy as ended last month, as time would have.

use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use cpc_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use prost_types::FieldMask;
use tonic::Status;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::diary::*;
use crate::meetings::{Held, plan_started_excluding};
use crate::minutes::{
    excluded_from_minutes, parent_ref, reporting, until_held_with_exclusions, until_service_knows,
};
use crate::support::*;

/// The ReportingService calls: every one is served.
pub(crate) const SERVED: [&str; 16] = [
    "CreateAgencyReport",
    "GetAgencyReport",
    "ListAgencyReports",
    "UpdateAgencyReport",
    "SubmitAgencyReport",
    "ShareAgencyReport",
    "CreateMinutes",
    "GetMinutes",
    "ListMinutes",
    "UpdateMinutes",
    "ApproveMinutes",
    "DistributeMinutes",
    "RecordDecisionNotification",
    "GenerateCinCensus",
    "GetTimelinessStatistics",
    "StreamChanges",
];

/// The ids this test's callers have.
const PEOPLE: u128 = 0x7000;

struct World {
    conference: String,
    child: String,
    minutes: pb::Minutes,
    report: pb::AgencyReport,
}

pub(crate) fn people() -> impl Iterator<Item = (usize, cpc_identity::Role)> {
    matrix_roles().filter(|(_, r)| !r.is_service_role())
}

fn excluded_person(i: usize) -> common::PersonRef {
    common::PersonRef {
        person_id: Uuid::from_u128(matrix_person(PEOPLE, i, Relation::Excluded)).to_string(),
        display_name: format!("excluded {i}"),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_served_reporting_rpc_for_every_role_and_relation() {
    let (mut f, mut conferences) = start().await;
    let exclusions = people()
        .map(|(i, _)| excluded_from_minutes(excluded_person(i)))
        .chain([excluded_from_minutes(parent_ref())])
        .collect();
    let Held {
        child,
        case,
        conference,
        ..
    } = Box::pin(plan_started_excluding(
        &mut f,
        &mut conferences,
        "MAT0002",
        exclusions,
    ))
    .await;
    let excluded = people().count() + 1;
    until_held_with_exclusions(&f, &conference, excluded).await;
    add_members(&mut f, &case).await;
    let mut client = reporting(&f).await;
    let minutes = client
        .create_minutes(f.chair().req(pb::CreateMinutesRequest {
            request_id: rid(),
            minutes: Some(pb::Minutes {
                conference_id: conference.clone(),
                content: Some(pb::minutes::Content::Body("Matrix minutes".into())),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    let report = shared_report(&f, &mut client, &conference, &child).await;
    let world = World {
        conference,
        child,
        minutes,
        report,
    };
    let matrix = Matrix::load();
    let rows = matrix.served("cpc.reporting.v1.ReportingService", &SERVED);
    let run = f
        .run_matrix(&rows, PEOPLE, async |caller, rpc, _| {
            call(&mut client, caller, rpc, &world).await
        })
        .await;
    assert_eq!(distinct_rpcs(&rows), SERVED.len(), "every served RPC");
    assert_eq!(run.calls, rows.len() * ROLE_COLUMNS.len());
    assert_matrix(&f, &run, cpc_reporting::SCHEMA, 300).await;
    f.stop().await;
}

/// A report by the agency practitioner who is a member of the case,
/// submitted and shared with every current member and every caller of an
/// agency on the case: every caller the policies let read it is shown it.
async fn shared_report(
    f: &Fixture,
    client: &mut ReportingServiceClient<Channel>,
    conference: &str,
    child: &str,
) -> pb::AgencyReport {
    let (i, role) = people()
        .find(|(_, r)| *r == cpc_identity::Role::AgencyPractitioner)
        .unwrap();
    let author = f.matrix_caller(PEOPLE, i, role, Relation::Member);
    let draft = client
        .create_agency_report(author.req(pb::CreateAgencyReportRequest {
            request_id: rid(),
            report: Some(report_for(conference, child)),
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let submitted = client
        .submit_agency_report(author.req(pb::SubmitAgencyReportRequest {
            report_id: draft.id.clone(),
            version: draft.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    // Every member, and every practitioner of an agency on the case.
    let recipients = people()
        .flat_map(|(i, role)| {
            let agency = matrix_agency(i, role, Relation::AgencyMember);
            [
                common::PersonRef {
                    person_id: Uuid::from_u128(matrix_person(PEOPLE, i, Relation::Member))
                        .to_string(),
                    display_name: format!("{} member", role.as_str()),
                    ..Default::default()
                },
                common::PersonRef {
                    person_id: Uuid::from_u128(matrix_person(PEOPLE, i, Relation::AgencyMember))
                        .to_string(),
                    display_name: format!("{} of a member agency", role.as_str()),
                    agency_kind: agency.kind.code(),
                    agency_name: agency.name,
                },
            ]
        })
        .collect();
    client
        .share_agency_report(author.req(pb::ShareAgencyReportRequest {
            report_id: submitted.id.clone(),
            version: submitted.version,
            recipients,
            method: pb::DeliveryMethod::Portal as i32,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap()
}

/// A new report on `child` for `conference`, by whoever sends it.
fn report_for(conference: &str, child: &str) -> pb::AgencyReport {
    pb::AgencyReport {
        conference_id: conference.into(),
        child_ids: vec![child.into()],
        kind: pb::ReportKind::Agency as i32,
        author: Some(common::PersonRef {
            display_name: "Matrix author".into(),
            ..Default::default()
        }),
        content: Some(pb::agency_report::Content::Body("Matrix report".into())),
        ..Default::default()
    }
}

/// Current members (and the excluded, who are current members too)
/// through the cases API; former members written into reporting's copy.
async fn add_members(f: &mut Fixture, case: &str) {
    let mut on_case = f.add_matrix_members(PEOPLE, case).await;
    for (i, _) in people() {
        let person = excluded_person(i);
        on_case.push(person.person_id.clone());
        f.grant(case, person, cases::CaseRole::CoreGroupMember, false)
            .await;
    }
    members_known(f, cpc_reporting::SCHEMA, PEOPLE, case, &on_case).await;
}

/// Writes each role's former member of `case` into service `schema`'s copy
/// of the members (ended last month, as time would have), and waits until
/// that copy has every person of `on_case` as a current member.
pub(crate) async fn members_known(
    f: &Fixture,
    schema: &str,
    base: u128,
    case: &str,
    on_case: &[String],
) {
    let options = db::schema_options(f.db.url(), schema).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    for (i, _) in people() {
        sqlx::query(
            "INSERT INTO case_members (membership_id, authority_id, case_id, person_id, start_date, \
                                       end_date, version, updated_at) \
             VALUES ($1, $2, $3::uuid, $4, current_date - 90, current_date - 30, 1, now())",
        )
        .bind(Uuid::new_v4())
        .bind(AUTHORITY)
        .bind(case)
        .bind(Uuid::from_u128(matrix_person(base, i, Relation::FormerMember)).to_string())
        .execute(&admin)
        .await
        .unwrap();
    }
    admin.close().await;
    // Person ids are UUIDs, safe to spell into the query.
    let expected = on_case.len().to_string();
    let sql = format!(
        "SELECT count(DISTINCT person_id) = $2::bigint FROM case_members \
          WHERE case_id = $1::uuid AND end_date IS NULL AND person_id = ANY ('{{{}}}'::text[])",
        on_case.join(",")
    );
    until_service_knows(f, schema, &sql, &[case, &expected]).await;
}

async fn call(
    c: &mut ReportingServiceClient<Channel>,
    who: &As,
    rpc: &str,
    w: &World,
) -> Result<(), Status> {
    let id = || w.minutes.id.clone();
    let version = w.minutes.version;
    let report_id = || w.report.id.clone();
    match rpc {
        "CreateAgencyReport" => c
            .create_agency_report(who.req(pb::CreateAgencyReportRequest {
                request_id: rid(),
                report: Some(report_for(&w.conference, &w.child)),
            }))
            .await
            .map(drop),
        "GetAgencyReport" => c
            .get_agency_report(who.req(pb::GetAgencyReportRequest {
                report_id: report_id(),
            }))
            .await
            .map(drop),
        "ListAgencyReports" => c
            .list_agency_reports(who.req(pb::ListAgencyReportsRequest {
                conference_id: w.conference.clone(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateAgencyReport" => c
            .update_agency_report(who.req(pb::UpdateAgencyReportRequest {
                report: Some(pb::AgencyReport {
                    id: report_id(),
                    version: w.report.version,
                    content: Some(pb::agency_report::Content::Body("Matrix edit".into())),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["body".into()],
                }),
            }))
            .await
            .map(drop),
        "SubmitAgencyReport" => c
            .submit_agency_report(who.req(pb::SubmitAgencyReportRequest {
                report_id: report_id(),
                version: w.report.version,
            }))
            .await
            .map(drop),
        "ShareAgencyReport" => c
            .share_agency_report(who.req(pb::ShareAgencyReportRequest {
                report_id: report_id(),
                version: w.report.version,
                recipients: vec![parent_ref()],
                method: pb::DeliveryMethod::Post as i32,
            }))
            .await
            .map(drop),
        "CreateMinutes" => c
            .create_minutes(who.req(pb::CreateMinutesRequest {
                request_id: rid(),
                minutes: Some(pb::Minutes {
                    conference_id: w.conference.clone(),
                    ..Default::default()
                }),
            }))
            .await
            .map(drop),
        "GetMinutes" => c
            .get_minutes(who.req(pb::GetMinutesRequest { minutes_id: id() }))
            .await
            .map(drop),
        "ListMinutes" => c
            .list_minutes(who.req(pb::ListMinutesRequest {
                conference_id: w.conference.clone(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "UpdateMinutes" => c
            .update_minutes(who.req(pb::UpdateMinutesRequest {
                minutes: Some(pb::Minutes {
                    id: id(),
                    version,
                    content: Some(pb::minutes::Content::Body("Matrix edit".into())),
                    ..Default::default()
                }),
                update_mask: Some(FieldMask {
                    paths: vec!["body".into()],
                }),
            }))
            .await
            .map(drop),
        "ApproveMinutes" => c
            .approve_minutes(who.req(pb::ApproveMinutesRequest {
                minutes_id: id(),
                version,
            }))
            .await
            .map(drop),
        "DistributeMinutes" => c
            .distribute_minutes(who.req(pb::DistributeMinutesRequest {
                minutes_id: id(),
                version,
                partial_copies: Default::default(),
            }))
            .await
            .map(drop),
        "RecordDecisionNotification" => c
            .record_decision_notification(who.req(pb::RecordDecisionNotificationRequest {
                minutes_id: id(),
                version,
                recipient: Some(parent_ref()),
                child_id: w.child.clone(),
                method: pb::DeliveryMethod::Post as i32,
                notify_time: Some(ts(chrono::Utc::now())),
            }))
            .await
            .map(drop),
        "GenerateCinCensus" => c
            .generate_cin_census(who.req(crate::census::asked(2026)))
            .await
            .map(drop),
        "GetTimelinessStatistics" => c
            .get_timeliness_statistics(who.req(pb::GetTimelinessStatisticsRequest {
                authority_id: AUTHORITY.into(),
                period: Some(common::DateRange {
                    start_date: pd(2025, 4, 1),
                    end_date: pd(2026, 3, 31),
                }),
            }))
            .await
            .map(drop),
        // What cpc's own services may ask for (a service asking for more is
        // refused: reports::a_service_follows_only_report_submissions).
        "StreamChanges" => c
            .stream_changes(who.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                event_types: vec!["cpc.reporting.v1.AgencyReportSubmitted".into()],
                ..Default::default()
            }))
            .await
            .map(drop),
        other => panic!("{other} is not served"),
    }
}
