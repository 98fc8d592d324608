//! The change feed as a consumer sees it: stop reading, miss changes,
//! resume from the last sequence, receive exactly what was missed.

use std::time::Duration;

use cpc_proto::cases::v1 as pb;
use tokio_stream::StreamExt as _;
use tonic::Code;

use crate::journey::register;
use crate::support::*;

/// The authority's feed from its start, as `who` opens it.
async fn whole_feed(f: &mut Fixture, who: &As) -> tonic::Streaming<pb::StreamChangesResponse> {
    f.client
        .stream_changes(who.req(pb::StreamChangesRequest::default()))
        .await
        .unwrap()
        .into_inner()
}

async fn next_events(
    stream: &mut tonic::Streaming<pb::StreamChangesResponse>,
    n: usize,
) -> Vec<cpc_proto::common::v1::ChangeEvent> {
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        let message = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("an event within 10 s")
            .expect("the stream stays open")
            .expect("no error");
        events.push(message.event.unwrap());
    }
    events
}

#[tokio::test]
async fn a_consumer_resumes_and_receives_exactly_what_it_missed() {
    let mut f = Fixture::start().await;
    let manager = f.team_manager();
    register(&mut f, "C3001").await; // CaseCreated, ChildRegistered, CaseMemberAdded

    let mut stream = whole_feed(&mut f, &manager).await;
    let seen = next_events(&mut stream, 3).await;
    let types: Vec<&str> = seen.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "cpc.cases.v1.CaseCreated",
            "cpc.cases.v1.ChildRegistered",
            "cpc.cases.v1.CaseMemberAdded"
        ]
    );
    let last = seen.last().unwrap().sequence;
    // The consumer goes away.
    drop(stream);

    // Changes while it is away: a second family, a sibling.
    let other = register(&mut f, "C3002").await;
    let sw = f.social_worker();
    f.client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(child(&other.case_id, "C3003", "Lily")),
        }))
        .await
        .unwrap();

    // It resumes after the last sequence it processed.
    let mut resumed = f
        .client
        .stream_changes(manager.req(pb::StreamChangesRequest {
            after_sequence: last,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let missed = next_events(&mut resumed, 5).await;
    let sequences: Vec<i64> = missed.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (last + 1..=last + 5).collect::<Vec<_>>());
    let types: Vec<&str> = missed.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "cpc.cases.v1.CaseCreated",
            "cpc.cases.v1.ChildRegistered",
            "cpc.cases.v1.CaseMemberAdded",
            "cpc.cases.v1.ChildRegistered",
            "cpc.cases.v1.CaseUpdated",
        ]
    );
    // Nothing more until something changes; then it arrives live.
    let quiet = tokio::time::timeout(Duration::from_millis(300), resumed.next()).await;
    assert!(quiet.is_err(), "no event without a change");
    register(&mut f, "C3004").await;
    let live = next_events(&mut resumed, 1).await;
    assert_eq!(live[0].sequence, last + 6);

    // Payloads decode as the named message.
    use prost::Message as _;
    let registered = pb::ChildRegistered::decode(missed[3].payload.as_slice()).unwrap();
    assert_eq!(registered.child.unwrap().la_child_id, "C3003");
    f.stop().await;
}

#[tokio::test]
async fn the_feed_is_for_the_callers_authority_and_checked() {
    let mut f = Fixture::start().await;
    let manager = f.team_manager();
    let err = f
        .client
        .stream_changes(manager.req(pb::StreamChangesRequest {
            authority_id: OTHER_AUTHORITY.into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = f
        .client
        .stream_changes(manager.req(pb::StreamChangesRequest {
            after_sequence: -1,
            event_types: vec!["PlanStarted".into()],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&err);
    fields.sort();
    assert_eq!(fields, ["after_sequence", "event_types[0]"]);
    // A social worker reads records of their cases, not the authority's feed.
    let sw = f.social_worker();
    let err = f
        .client
        .stream_changes(sw.req(pb::StreamChangesRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    f.stop().await;
}

#[tokio::test]
async fn stopping_ends_open_feeds_rather_than_waiting_out_the_grace_period() {
    // A grace period far longer than the test waits: only ending the
    // streams (this client's, and the process's own followers') lets the
    // server stop in time.
    let mut f = Fixture::start_with(|config| {
        config.shutdown_grace = Duration::from_secs(600);
    })
    .await;
    let manager = f.team_manager();
    register(&mut f, "C3101").await;
    let mut stream = whole_feed(&mut f, &manager).await;
    next_events(&mut stream, 3).await;

    tokio::time::timeout(Duration::from_secs(60), f.stop())
        .await
        .expect("the server stopped without waiting out its grace period");
    // The client is told to resume elsewhere, after the last sequence it has.
    let end = stream.next().await.expect("a closing status");
    let status = end.expect_err("the feed ends with a status");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    // Marked as a stop (ErrorInfo SERVER_STOPPING), so followers resume
    // without raising an alarm.
    assert!(
        cpc_platform::outbox::is_server_stopping(&status),
        "{status:?}"
    );
}

#[tokio::test]
async fn a_feed_ends_when_the_token_it_was_opened_with_expires() {
    let mut f = Fixture::start().await;
    register(&mut f, "C3102").await;
    let ttl = Duration::from_secs(3);
    let manager = f.team_manager_until(ttl);
    let opened = std::time::Instant::now();
    let mut stream = whole_feed(&mut f, &manager).await;
    next_events(&mut stream, 3).await;
    // Nothing more is written: the next item is the end, at the expiry.
    let end = tokio::time::timeout(Duration::from_secs(20), stream.next())
        .await
        .expect("the feed ended within 20 s")
        .expect("a closing status");
    let status = end.expect_err("the feed ends with a status");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // Marked (ErrorInfo CREDENTIAL_ENDED), so a follower resumes with a new
    // credential rather than raising an alarm.
    assert!(
        cpc_platform::access::is_credential_ended(&status),
        "{status:?}"
    );
    assert!(
        opened.elapsed() >= ttl - Duration::from_secs(1),
        "not before the expiry"
    );
    // A new token resumes it.
    let fresh = f.team_manager();
    let mut resumed = whole_feed(&mut f, &fresh).await;
    next_events(&mut resumed, 3).await;
    f.stop().await;
}

#[tokio::test]
async fn a_feed_names_in_the_audit_log_each_child_whose_events_it_delivered() {
    use cpc_identity::Role;
    use cpc_proto::audit::v1 as audit;
    use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;

    let mut f = Fixture::start().await;
    let manager = f.team_manager();
    let first = register(&mut f, "C3101").await;
    let second = register(&mut f, "C3102").await;
    let auditor = f.person(AUDITOR, AUTHORITY, Role::Auditor, None);
    let mut audit_client = AuditServiceClient::new(f.server.channel().await);
    let streamed = async |audit_client: &mut AuditServiceClient<tonic::transport::Channel>,
                          child: &str| {
        audit_client
            .list_access_records(auditor.req(crate::access_log::about_child("cases", child)))
            .await
            .unwrap()
            .into_inner()
            .records
            .into_iter()
            .filter(|r| r.rpc_method.ends_with("/StreamChanges"))
            .map(|r| {
                assert_eq!(r.decision, audit::AccessDecision::Allow as i32);
                r.person.unwrap().person_id
            })
            .collect::<Vec<_>>()
    };
    assert!(streamed(&mut audit_client, &first.id).await.is_empty());

    // The manager reads both families' events: by the time they arrive,
    // each child is named in a record of the stream, once.
    let mut stream = whole_feed(&mut f, &manager).await;
    next_events(&mut stream, 6).await;
    let manager_id = uuid::Uuid::from_u128(TEAM_MANAGER).to_string();
    for child in [&first.id, &second.id] {
        assert_eq!(
            streamed(&mut audit_client, child).await,
            std::slice::from_ref(&manager_id)
        );
    }
    // A third child, live: named as their event goes out; the first, named
    // already by this stream, is not named again.
    let third = register(&mut f, "C3103").await;
    next_events(&mut stream, 3).await;
    assert_eq!(
        streamed(&mut audit_client, &third.id).await,
        std::slice::from_ref(&manager_id)
    );
    assert_eq!(streamed(&mut audit_client, &first.id).await, [manager_id]);
    f.stop().await;
}
