//! Minutes in the reporting service, after the conference scheduling held:
//! drafted, approved by the chair, distributed to the agreed list (partial
//! copies to those who get one), never to a person the chair excluded from
//! them (nor through the reporting feed), and the record of who was told
//! the decision. Reporting learns the conference from scheduling's feed
//! and the exclusions from the outcome on the cases feed.

use std::time::Duration;

use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use cpc_proto::reporting::v1::reporting_service_client::ReportingServiceClient;
use prost_types::FieldMask;
use tokio_stream::StreamExt as _;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::bad_request::bad_fields;
use crate::diary::*;
use crate::meetings::{Held, plan_started_excluding};
use crate::support::*;

/// A parent the chair excluded from receiving the minutes.
const PARENT: u128 = 0xfa_0001;
/// A service manager the chair excluded too (a relative of the family, say).
const RELATED_MANAGER: u128 = 0x5e_0001;

pub(crate) fn excluded_from_minutes(person: common::PersonRef) -> cases::Exclusion {
    cases::Exclusion {
        person: Some(person),
        scopes: vec![cases::ExclusionScope::Minutes as i32],
        reason: "Sharing the minutes would put the child at risk".into(),
        ..Default::default()
    }
}

pub(crate) fn parent_ref() -> common::PersonRef {
    common::PersonRef {
        person_id: Uuid::from_u128(PARENT).to_string(),
        display_name: "Pat Parent".into(),
        ..Default::default()
    }
}

fn entry(person: common::PersonRef, copy: pb::CopyKind) -> pb::DistributionEntry {
    let partial = copy == pb::CopyKind::Partial;
    pb::DistributionEntry {
        recipient: Some(person),
        copy: copy as i32,
        omitted_sections: if partial {
            vec!["Information from health".into()]
        } else {
            Vec::new()
        },
        partial_reason: if partial {
            "Third-party information".into()
        } else {
            String::new()
        },
        method: pb::DeliveryMethod::SecureEmail as i32,
    }
}

fn document(name: &str) -> pb::DocumentRef {
    pb::DocumentRef {
        uri: format!("docstore://minutes/{name}"),
        media_type: "application/pdf".into(),
        size_bytes: 20_480,
        sha256: "ab".repeat(32),
        file_name: format!("{name}.pdf"),
    }
}

pub(crate) async fn reporting(f: &Fixture) -> ReportingServiceClient<Channel> {
    ReportingServiceClient::new(f.server.channel().await)
}

/// Waits until `sql` (one boolean, about the reporting schema, read as the
/// superuser) is true: reporting has learnt what the feeds carry.
pub(crate) async fn until_reporting_knows(f: &Fixture, sql: &str, binds: &[&str]) {
    until_service_knows(f, cpc_reporting::SCHEMA, sql, binds).await;
}

/// Waits until `sql` (with `binds`) is true in service `schema`, which
/// learns from the feeds.
pub(crate) async fn until_service_knows(f: &Fixture, schema: &str, sql: &str, binds: &[&str]) {
    let options = db::schema_options(f.db.url(), schema).unwrap();
    let admin = sqlx::PgPool::connect_with(options).await.unwrap();
    for _ in 0..300 {
        let mut query = sqlx::query_scalar::<_, bool>(sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        if query.fetch_one(&admin).await.unwrap() {
            admin.close().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{schema} never learnt: {sql}");
}

/// The types of the first `n` events on the authority's reporting feed, as
/// `who` reads it.
pub(crate) async fn first_feed_events(
    client: &mut ReportingServiceClient<Channel>,
    who: &As,
    n: usize,
) -> Vec<String> {
    feed_events(client, who, Vec::new(), n)
        .await
        .into_iter()
        .map(|event| event.event_type)
        .collect()
}

/// The first `n` events of `types` (all, if none) on the authority's
/// reporting feed, as `who` reads it.
pub(crate) async fn feed_events(
    client: &mut ReportingServiceClient<Channel>,
    who: &As,
    types: Vec<String>,
    n: usize,
) -> Vec<common::ChangeEvent> {
    let mut feed = client
        .stream_changes(who.req(pb::StreamChangesRequest {
            authority_id: AUTHORITY.into(),
            event_types: types,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let mut events = Vec::new();
    while events.len() < n {
        let event = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
            .event
            .unwrap();
        events.push(event);
    }
    events
}

/// Reporting knows `conference` as held and has its outcome's exclusions.
pub(crate) async fn until_held_with_exclusions(f: &Fixture, conference: &str, excluded: usize) {
    until_reporting_knows(
        f,
        "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid AND status = 'held') \
            AND (SELECT count(*) FROM minutes_exclusions WHERE conference_id = $1::uuid) = $2::int",
        &[conference, &excluded.to_string()],
    )
    .await;
}

#[tokio::test]
async fn minutes_reach_the_agreed_list_and_never_a_person_the_chair_excluded() {
    let (mut f, mut conferences) = start().await;
    let Held {
        child,
        case,
        conference,
        ..
    } = Box::pin(plan_started_excluding(
        &mut f,
        &mut conferences,
        "MIN0001",
        vec![
            excluded_from_minutes(parent_ref()),
            excluded_from_minutes(common::PersonRef {
                person_id: Uuid::from_u128(RELATED_MANAGER).to_string(),
                display_name: "Sol Manager".into(),
                ..Default::default()
            }),
        ],
    ))
    .await;
    until_held_with_exclusions(&f, &conference, 2).await;
    let mut r = reporting(&f).await;
    let chair = f.chair();
    let create = |list: Vec<pb::DistributionEntry>| pb::CreateMinutesRequest {
        request_id: rid(),
        minutes: Some(pb::Minutes {
            conference_id: conference.clone(),
            content: Some(pb::minutes::Content::Body("The conference met.".into())),
            distribution_list: list,
            ..Default::default()
        }),
    };

    // The excluded parent cannot be put on the list, at creation or after.
    let refused = r
        .create_minutes(chair.req(create(vec![
            entry(worker_ref(), pb::CopyKind::Full),
            entry(parent_ref(), pb::CopyKind::Full),
        ])))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(
        refused.message().contains("distribution_list[1]"),
        "{refused:?}"
    );
    let request = create(vec![
        entry(worker_ref(), pb::CopyKind::Full),
        entry(police_ref(), pb::CopyKind::Partial),
    ]);
    let minutes = r
        .create_minutes(chair.req(request.clone()))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(minutes.status, pb::MinutesStatus::Draft as i32);
    assert_eq!(minutes.child_ids, vec![child.clone()]);
    assert_eq!(
        minutes.excluded_person_ids,
        vec![
            Uuid::from_u128(RELATED_MANAGER).to_string(),
            parent_ref().person_id
        ]
    );
    assert_eq!(
        minutes.author.as_ref().unwrap().person_id,
        Uuid::from_u128(CHAIR).to_string()
    );
    // The same request again is the same minutes; another is refused.
    let again = r
        .create_minutes(chair.req(request))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(again.id, minutes.id);
    let second = r
        .create_minutes(chair.req(create(Vec::new())))
        .await
        .unwrap_err();
    assert_eq!(second.code(), Code::AlreadyExists, "{second:?}");

    let with_parent = pb::UpdateMinutesRequest {
        minutes: Some(pb::Minutes {
            id: minutes.id.clone(),
            version: minutes.version,
            distribution_list: vec![entry(parent_ref(), pb::CopyKind::Full)],
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["distribution_list".into()],
        }),
    };
    let refused = r
        .update_minutes(chair.req(with_parent.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");

    // Approval freezes the content; a stale version is refused.
    let stale = r
        .approve_minutes(chair.req(pb::ApproveMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: minutes.version + 1,
        }))
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted, "{stale:?}");
    let approved = r
        .approve_minutes(chair.req(pb::ApproveMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: minutes.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(approved.status, pb::MinutesStatus::Approved as i32);
    assert_eq!(
        approved.approved_by.as_ref().unwrap().person_id,
        Uuid::from_u128(CHAIR).to_string()
    );
    let frozen = r
        .update_minutes(chair.req(pb::UpdateMinutesRequest {
            minutes: Some(pb::Minutes {
                id: minutes.id.clone(),
                version: approved.version,
                content: Some(pb::minutes::Content::Body("Rewritten".into())),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["body".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(frozen.code(), Code::FailedPrecondition, "{frozen:?}");

    // The partial copy must be given; then each entry gets what it should.
    let missing = r
        .distribute_minutes(chair.req(pb::DistributeMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: approved.version,
            partial_copies: Default::default(),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&missing), ["partial_copies"]);
    let police_copy = document("minutes-police");
    let distributed = r
        .distribute_minutes(chair.req(pb::DistributeMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: approved.version,
            partial_copies: [(police_ref().person_id, police_copy.clone())].into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(distributed.status, pb::MinutesStatus::Distributed as i32);
    let sent: Vec<(String, Option<pb::DocumentRef>)> = distributed
        .distribution_records
        .iter()
        .map(|r| (r.recipient.clone().unwrap().person_id, r.document.clone()))
        .collect();
    assert_eq!(
        sent,
        [
            (worker_ref().person_id, None),
            (police_ref().person_id, Some(police_copy.clone())),
        ]
    );
    let nothing_left = r
        .distribute_minutes(chair.req(pb::DistributeMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: distributed.version,
            partial_copies: Default::default(),
        }))
        .await
        .unwrap_err();
    assert_eq!(nothing_left.code(), Code::FailedPrecondition);

    // The police officer, on the case, sees only their partial copy; the
    // social worker sees the whole.
    f.grant(&case, police_ref(), cases::CaseRole::CoreGroupMember, false)
        .await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM case_members WHERE case_id = $1::uuid AND person_id = $2)",
        &[&case, &police_ref().person_id],
    )
    .await;
    let get = |id: &str| pb::GetMinutesRequest {
        minutes_id: id.to_owned(),
    };
    let seen = r
        .get_minutes(f.police_officer().req(get(&minutes.id)))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(
        seen.content,
        Some(pb::minutes::Content::Document(police_copy))
    );
    assert_eq!(seen.distribution_list.len(), 1);
    assert!(seen.excluded_person_ids.is_empty());
    let whole = r
        .get_minutes(f.social_worker().req(get(&minutes.id)))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    assert_eq!(
        whole.content,
        Some(pb::minutes::Content::Body("The conference met.".into()))
    );
    assert_eq!(whole.distribution_list.len(), 2);

    // The parent, who did not attend, is told the decision by phone.
    let tell = |version: i64, child_id: &str, at: chrono::DateTime<chrono::Utc>| {
        pb::RecordDecisionNotificationRequest {
            minutes_id: minutes.id.clone(),
            version,
            recipient: Some(parent_ref()),
            child_id: child_id.to_owned(),
            method: pb::DeliveryMethod::Phone as i32,
            notify_time: Some(ts(at)),
        }
    };
    let now = chrono::Utc::now();
    let future = r
        .record_decision_notification(chair.req(tell(
            distributed.version,
            &child,
            now + chrono::Duration::hours(2),
        )))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&future), ["notify_time"]);
    let stranger = Uuid::new_v4().to_string();
    let other_child = r
        .record_decision_notification(chair.req(tell(distributed.version, &stranger, now)))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&other_child), ["child_id"]);
    let told = r
        .record_decision_notification(chair.req(tell(
            distributed.version,
            &child,
            now - chrono::Duration::hours(1),
        )))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    let notification = &told.decision_notifications[0];
    assert_eq!(notification.child_id, child);
    assert_eq!(
        notification.notified_by.as_ref().unwrap().person_id,
        Uuid::from_u128(CHAIR).to_string()
    );

    // Lists: the child's minutes for the social worker on the case, the
    // authority's for the team manager.
    let listed = r
        .list_minutes(f.social_worker().req(pb::ListMinutesRequest {
            child_id: child.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.minutes.len(), 1);
    let all = r
        .list_minutes(f.team_manager().req(pb::ListMinutesRequest {
            authority_id: AUTHORITY.into(),
            status: pb::MinutesStatus::Distributed as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.minutes.len(), 1);
    assert_eq!(all.minutes[0], told);
    // A manager excluded from these minutes does not find them in the
    // authority's list either.
    let manager = f.person(
        RELATED_MANAGER,
        AUTHORITY,
        cpc_identity::Role::ServiceManager,
        Some(csc()),
    );
    let hidden = r
        .list_minutes(manager.req(pb::ListMinutesRequest {
            authority_id: AUTHORITY.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(hidden.minutes.is_empty());

    // The child's social worker reads who accessed the child's minutes.
    let mut audit = cpc_proto::audit::v1::audit_service_client::AuditServiceClient::new(
        f.server.channel().await,
    );
    let accesses = audit
        .list_access_records(f.social_worker().req(
            cpc_proto::audit::v1::ListAccessRecordsRequest {
                service: "reporting".into(),
                child_id: child.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(
        accesses
            .iter()
            .any(|a| a.rpc_method.ends_with("/GetMinutes")
                && a.person.as_ref().unwrap().person_id == police_ref().person_id),
        "{accesses:?}"
    );
    // The team manager's list across the authority showed the child's
    // minutes, so it is in the child's log; the excluded manager's, which
    // showed nothing, is not.
    let listings: Vec<String> = accesses
        .iter()
        .filter(|a| a.rpc_method.ends_with("/ListMinutes"))
        .map(|a| a.person.as_ref().unwrap().person_id.clone())
        .collect();
    assert!(
        listings.contains(&Uuid::from_u128(TEAM_MANAGER).to_string()),
        "{accesses:?}"
    );
    assert!(
        !listings.contains(&Uuid::from_u128(RELATED_MANAGER).to_string()),
        "{accesses:?}"
    );

    // The feed carries approval, distribution and the notification.
    assert_eq!(
        first_feed_events(&mut r, &f.team_manager(), 3).await,
        [
            "cpc.reporting.v1.MinutesApproved",
            "cpc.reporting.v1.MinutesDistributed",
            "cpc.reporting.v1.DecisionNotified",
        ]
    );
    f.stop().await;
}

/// Another conference chair of the authority, whom the chair of this
/// conference excluded from its minutes.
const EXCLUDED_CHAIR: u128 = 0xc4_0002;
/// A team manager the chair sends a partial copy of the minutes to.
const PARTIAL_MANAGER: u128 = 0x5e_0002;

#[tokio::test]
async fn the_feed_withholds_minutes_from_a_person_excluded_from_them_and_cuts_a_partial_copy() {
    use crate::reports::{AUTHOR, author, new_report, until_members_known};
    use cpc_identity::Role;
    use prost::Message as _;

    let (mut f, mut conferences) = start().await;
    let manager_ref = common::PersonRef {
        person_id: Uuid::from_u128(RELATED_MANAGER).to_string(),
        display_name: "Sol Manager".into(),
        ..Default::default()
    };
    let other_chair_ref = common::PersonRef {
        person_id: Uuid::from_u128(EXCLUDED_CHAIR).to_string(),
        display_name: "Cal Chair".into(),
        ..Default::default()
    };
    let Held {
        child,
        case,
        conference,
        ..
    } = Box::pin(plan_started_excluding(
        &mut f,
        &mut conferences,
        "MIN0003",
        vec![
            excluded_from_minutes(manager_ref),
            excluded_from_minutes(other_chair_ref),
        ],
    ))
    .await;
    until_held_with_exclusions(&f, &conference, 2).await;
    let mut r = reporting(&f).await;
    let chair = f.chair();

    let partial_ref = common::PersonRef {
        person_id: Uuid::from_u128(PARTIAL_MANAGER).to_string(),
        display_name: "Pat Manager".into(),
        ..Default::default()
    };
    let partial_copy = document("minutes-partial");

    // The chair approves and distributes the minutes (a partial copy to one
    // manager) and records who was told the decision: three minutes events
    // on the feed.
    let minutes = r
        .create_minutes(chair.req(pb::CreateMinutesRequest {
            request_id: rid(),
            minutes: Some(pb::Minutes {
                conference_id: conference.clone(),
                content: Some(pb::minutes::Content::Body("The conference met.".into())),
                distribution_list: vec![
                    entry(worker_ref(), pb::CopyKind::Full),
                    entry(partial_ref.clone(), pb::CopyKind::Partial),
                ],
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    let approved = r
        .approve_minutes(chair.req(pb::ApproveMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: minutes.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    let distributed = r
        .distribute_minutes(chair.req(pb::DistributeMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: approved.version,
            partial_copies: [(partial_ref.person_id.clone(), partial_copy.clone())].into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .minutes
        .unwrap();
    r.record_decision_notification(chair.req(pb::RecordDecisionNotificationRequest {
        minutes_id: minutes.id.clone(),
        version: distributed.version,
        recipient: Some(parent_ref()),
        child_id: child.clone(),
        method: pb::DeliveryMethod::Phone as i32,
        notify_time: Some(ts(chrono::Utc::now() - chrono::Duration::hours(1))),
    }))
    .await
    .unwrap();

    // Then a police report is submitted for the same conference: an event
    // that is not about the minutes, after theirs on the feed.
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
    let police = author(&f);
    let draft = r
        .create_agency_report(police.req(new_report(&conference, &child, "Police checks")))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();
    let report = r
        .submit_agency_report(police.req(pb::SubmitAgencyReportRequest {
            report_id: draft.id,
            version: draft.version,
        }))
        .await
        .unwrap()
        .into_inner()
        .report
        .unwrap();

    // A team manager not excluded is sent the minutes, body and all, then
    // the report.
    let seen = feed_events(&mut r, &f.team_manager(), Vec::new(), 4).await;
    let about: Vec<(&str, &str)> = seen
        .iter()
        .map(|e| (e.event_type.as_str(), e.aggregate_id.as_str()))
        .collect();
    assert_eq!(
        about,
        [
            ("cpc.reporting.v1.MinutesApproved", minutes.id.as_str()),
            ("cpc.reporting.v1.MinutesDistributed", minutes.id.as_str()),
            ("cpc.reporting.v1.DecisionNotified", minutes.id.as_str()),
            ("cpc.reporting.v1.AgencyReportSubmitted", report.id.as_str()),
        ]
    );
    let body = pb::MinutesApproved::decode(seen[0].payload.as_slice())
        .unwrap()
        .minutes
        .unwrap()
        .content;
    assert_eq!(
        body,
        Some(pb::minutes::Content::Body("The conference met.".into()))
    );

    // The manager sent a partial copy is sent the minutes' events cut to
    // that copy, as GetMinutes shows them: never the body, the rest of the
    // list or the parent's notification.
    let partial = f.person(PARTIAL_MANAGER, AUTHORITY, Role::TeamManager, Some(csc()));
    let seen = feed_events(&mut r, &partial, Vec::new(), 3).await;
    let types: Vec<&str> = seen.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "cpc.reporting.v1.MinutesApproved",
            "cpc.reporting.v1.MinutesDistributed",
            "cpc.reporting.v1.AgencyReportSubmitted",
        ]
    );
    let approved = pb::MinutesApproved::decode(seen[0].payload.as_slice())
        .unwrap()
        .minutes
        .unwrap();
    assert_eq!(approved.content, None);
    assert_eq!(approved.distribution_list.len(), 1);
    assert!(approved.excluded_person_ids.is_empty());
    let sent = pb::MinutesDistributed::decode(seen[1].payload.as_slice()).unwrap();
    let recipients: Vec<String> = sent
        .records
        .iter()
        .map(|r| r.recipient.clone().unwrap().person_id)
        .collect();
    assert_eq!(recipients, std::slice::from_ref(&partial_ref.person_id));
    let sent = sent.minutes.unwrap();
    assert_eq!(
        sent.content,
        Some(pb::minutes::Content::Document(partial_copy))
    );
    assert_eq!(sent.distribution_records.len(), 1);

    // The service manager and the other chair the chair excluded may
    // stream the authority's feed, but its first event for them is the
    // report: none of the minutes' events (the feed is read as the
    // authority as a whole; the exclusion is applied to each event).
    let excluded = [
        f.person(
            RELATED_MANAGER,
            AUTHORITY,
            Role::ServiceManager,
            Some(csc()),
        ),
        f.person(
            EXCLUDED_CHAIR,
            AUTHORITY,
            Role::ConferenceChair,
            Some(csc()),
        ),
    ];
    for who in &excluded {
        let first = feed_events(&mut r, who, Vec::new(), 1).await;
        assert_eq!(
            (first[0].event_type.as_str(), first[0].aggregate_id.as_str()),
            ("cpc.reporting.v1.AgencyReportSubmitted", report.id.as_str()),
        );
        // Asking for the minutes events by name changes nothing: the
        // stream stays open with nothing to send.
        let mut feed = r
            .stream_changes(who.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                event_types: vec![
                    "cpc.reporting.v1.MinutesApproved".into(),
                    "cpc.reporting.v1.MinutesDistributed".into(),
                    "cpc.reporting.v1.DecisionNotified".into(),
                ],
                ..Default::default()
            }))
            .await
            .unwrap()
            .into_inner();
        let nothing = tokio::time::timeout(Duration::from_secs(3), feed.next()).await;
        assert!(nothing.is_err(), "{nothing:?}");
    }
    f.stop().await;
}

#[tokio::test]
async fn minutes_wait_for_the_meeting_and_bad_requests_name_their_fields() {
    let (mut f, mut conferences) = start().await;
    let bs = business_support(&f);
    let (_, case) = s47_started(&mut f, "MIN0002", uk_today()).await;
    let icpc = conferences_of(&mut conferences, &bs, &case).await.remove(0);
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid)",
        &[&icpc.id],
    )
    .await;
    let mut r = reporting(&f).await;
    let chair = f.chair();
    let create = |conference_id: String| pb::CreateMinutesRequest {
        request_id: rid(),
        minutes: Some(pb::Minutes {
            conference_id,
            ..Default::default()
        }),
    };
    let not_met = r
        .create_minutes(chair.req(create(icpc.id.clone())))
        .await
        .unwrap_err();
    assert_eq!(not_met.code(), Code::FailedPrecondition, "{not_met:?}");
    let unknown = r
        .create_minutes(chair.req(create(Uuid::new_v4().to_string())))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");

    let bad = r
        .create_minutes(chair.req(pb::CreateMinutesRequest {
            request_id: "not-a-uuid".into(),
            minutes: Some(pb::Minutes {
                conference_id: icpc.id.clone(),
                content: Some(pb::minutes::Content::Document(pb::DocumentRef {
                    sha256: "XYZ".into(),
                    ..document("bad")
                })),
                distribution_list: vec![
                    pb::DistributionEntry {
                        copy: pb::CopyKind::Partial as i32,
                        ..entry(worker_ref(), pb::CopyKind::Full)
                    },
                    entry(worker_ref(), pb::CopyKind::Full),
                ],
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        [
            "request_id",
            "minutes.document.sha256",
            "minutes.distribution_list[0].omitted_sections",
            "minutes.distribution_list[0].partial_reason",
            "minutes.distribution_list[1].recipient",
        ]
    );
    let bad_update = r
        .update_minutes(chair.req(pb::UpdateMinutesRequest {
            minutes: Some(pb::Minutes::default()),
            update_mask: Some(FieldMask {
                paths: vec!["document".into(), "body".into(), "status".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad_update),
        [
            "minutes.id",
            "minutes.version",
            "update_mask.paths[2]",
            "update_mask",
        ]
    );
    let both = r
        .list_minutes(chair.req(pb::ListMinutesRequest {
            conference_id: Uuid::new_v4().to_string(),
            child_id: Uuid::new_v4().to_string(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&both), ["child_id"]);
    let census = r
        .generate_cin_census(chair.req(pb::GenerateCinCensusRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&census),
        [
            "authority_id",
            "collection_year",
            "reference_date",
            "serial_no"
        ]
    );
    f.stop().await;
}
