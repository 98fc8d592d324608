//! Hostile input to every served scheduling, reporting and escalation RPC:
//! arbitrary bytes, damaged copies of a valid request and well-formed
//! requests with hostile contents, sent by an authenticated caller who may
//! make the calls; only documented codes come back and the server keeps
//! serving.

use cpc_proto::scheduling::v1 as pb;
use prost::Message as _;

use crate::diary::*;
use crate::support::AUTHORITY;
use crate::wire::assault;

#[test]
fn arbitrary_and_damaged_requests_get_documented_answers() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (f, channel, who, valid, known) = runtime.block_on(async {
        let (mut f, mut conferences) = start().await;
        let who = business_support(&f);
        let (child_id, case) = s47_started(&mut f, "HOS0001", uk_today()).await;
        let icpc = conferences_of(&mut conferences, &who, &case)
            .await
            .remove(0);
        // A valid request to damage: a booking of a real conference.
        let (start, end) = slot_on(
            cpc_platform::convert::date_from_proto(icpc.statutory_due_date.as_ref())
                .unwrap()
                .unwrap(),
        );
        let valid = pb::BookConferenceRequest {
            conference_id: icpc.id.clone(),
            version: icpc.version,
            start_time: Some(start),
            end_time: Some(end),
            venue: Some(venue()),
            ..Default::default()
        }
        .encode_to_vec();
        let channel = f.server.channel().await;
        // Real ids, so hostile requests reach past "not found".
        let known = vec![
            icpc.id.clone(),
            case.clone(),
            child_id,
            AUTHORITY.to_owned(),
        ];
        (f, channel, who, valid, known)
    });
    let mut tried = 0;
    for service in [
        "ConferencesService",
        "AttendanceService",
        "ChairsService",
        "CoreGroupsService",
        "CalendarService",
    ] {
        tried += assault(
            &runtime,
            &channel,
            &who,
            "cpc.scheduling.v1",
            service,
            &valid,
            &known,
        );
    }
    assert_eq!(tried, 29, "every served scheduling method");
    still_serving(&runtime, channel, f);
}

/// The same for the reporting service's served calls, as a conference
/// chair (who may make every minutes call) on the minutes of a held
/// conference.
#[test]
fn arbitrary_and_damaged_minutes_requests_get_documented_answers() {
    use cpc_proto::reporting::v1 as reporting;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (f, channel, who, valid, known) = runtime.block_on(async {
        let (mut f, mut conferences) = start().await;
        let held = Box::pin(crate::meetings::plan_started(
            &mut f,
            &mut conferences,
            "HOS0002",
        ))
        .await;
        crate::minutes::until_held_with_exclusions(&f, &held.conference, 0).await;
        let who = f.chair();
        let minutes = crate::minutes::reporting(&f)
            .await
            .create_minutes(who.req(reporting::CreateMinutesRequest {
                request_id: crate::support::rid(),
                minutes: Some(reporting::Minutes {
                    conference_id: held.conference.clone(),
                    content: Some(reporting::minutes::Content::Body("Minutes".into())),
                    ..Default::default()
                }),
            }))
            .await
            .unwrap()
            .into_inner()
            .minutes
            .unwrap();
        // A valid request to damage: approving the minutes.
        let valid = reporting::ApproveMinutesRequest {
            minutes_id: minutes.id.clone(),
            version: minutes.version,
        }
        .encode_to_vec();
        let channel = f.server.channel().await;
        let known = vec![
            minutes.id,
            held.conference,
            held.case,
            held.child,
            AUTHORITY.to_owned(),
        ];
        (f, channel, who, valid, known)
    });
    let tried = crate::wire::assault(
        &runtime,
        &channel,
        &who,
        "cpc.reporting.v1",
        "ReportingService",
        &valid,
        &known,
    );
    assert_eq!(
        tried,
        crate::minutes_matrix::SERVED.len(),
        "every served reporting method"
    );
    still_serving(&runtime, channel, f);
}

/// The same for the escalation service's served calls, as a head of
/// service (who may make every escalation call) on an escalation open at
/// the safeguarding partnership.
#[test]
fn arbitrary_and_damaged_escalation_requests_get_documented_answers() {
    use cpc_proto::escalation::v1 as escalation;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (f, channel, who, valid, known) = runtime.block_on(async {
        let (mut f, _) = start().await;
        let (child, case) = s47_started(&mut f, "HOS0003", uk_today()).await;
        crate::escalations::until_escalation_knows_child(&f, &child).await;
        let who = f.person(
            0x3003,
            AUTHORITY,
            cpc_identity::Role::HeadOfService,
            Some(crate::support::csc()),
        );
        let raised = crate::escalations::escalation(&f)
            .await
            .raise_escalation(who.req(crate::escalations::raising(
                &case,
                &child,
                escalation::EscalationStage::SafeguardingPartnership,
            )))
            .await
            .unwrap()
            .into_inner()
            .escalation
            .unwrap();
        // A valid request to damage: resolving the escalation.
        let valid = escalation::ResolveEscalationRequest {
            escalation_id: raised.id.clone(),
            version: raised.version,
            outcome_kind: escalation::OutcomeKind::ActionsAgreed as i32,
            summary: "Agreed".into(),
        }
        .encode_to_vec();
        let channel = f.server.channel().await;
        let known = vec![raised.id, case, child, AUTHORITY.to_owned()];
        (f, channel, who, valid, known)
    });
    let tried = crate::wire::assault(
        &runtime,
        &channel,
        &who,
        "cpc.escalation.v1",
        "EscalationService",
        &valid,
        &known,
    );
    assert_eq!(
        tried,
        crate::escalations::SERVED.len(),
        "every served escalation method"
    );
    still_serving(&runtime, channel, f);
}

/// The server still answers health checks after the assault; then it stops.
fn still_serving(
    runtime: &tokio::runtime::Runtime,
    channel: tonic::transport::Channel,
    f: crate::support::Fixture,
) {
    runtime.block_on(async {
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .unwrap();
        f.stop().await;
    });
}
