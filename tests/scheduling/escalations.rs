//! The escalation service over gRPC: the authorization matrix of its
//! served rows, and an escalation's whole route from the chair's midway
//! review to the safeguarding partnership and its resolution.
//!
//! Escalation learns each child's case, each plan's child and who is on
//! each case from the cases feed; former members are written into its copy
//! as ended last month, as time would have.

use cpc_identity::Role;
use cpc_proto::cases::v1 as cases;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpc_proto::common::v1 as common;
use cpc_proto::escalation::v1 as pb;
use cpc_proto::escalation::v1::escalation_service_client::EscalationServiceClient;
use cpc_proto::escalation::v1::escalation_service_server::SERVICE_NAME;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Status};
use uuid::Uuid;

use crate::diary::*;
use crate::meetings::{Held, plan_started};
use crate::minutes::until_service_knows;
use crate::minutes_matrix::members_known;
use crate::support::*;

/// Every EscalationService call.
pub(crate) const SERVED: [&str; 7] = [
    "RaiseEscalation",
    "GetEscalation",
    "ListEscalations",
    "AdvanceEscalation",
    "ResolveEscalation",
    "ListDriftFindings",
    "StreamChanges",
];

/// The ids this test's callers have.
const PEOPLE: u128 = 0x8000;

const SERVICE_MANAGER: u128 = 0x3002;
const HEAD_OF_SERVICE: u128 = 0x3003;

pub(crate) async fn escalation(f: &Fixture) -> EscalationServiceClient<Channel> {
    EscalationServiceClient::new(f.server.channel().await)
}

/// Waits until escalation knows `child`'s case.
pub(crate) async fn until_escalation_knows_child(f: &Fixture, child: &str) {
    until_service_knows(
        f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM case_children WHERE child_id = $1::uuid)",
        &[child],
    )
    .await;
}

fn csc_person(id: u128, name: &str) -> common::PersonRef {
    person_ref(
        id,
        name,
        common::AgencyKind::ChildrensSocialCare,
        "County Children's Services",
    )
}

/// The `days`-th working day after today: a response is due on one.
fn in_days(days: u32) -> Option<common::Date> {
    pd_of(working_days().add_working_days(uk_today(), days).unwrap())
}

/// England's working days, the test authority's.
fn working_days() -> &'static cpc_rules::WorkingDayCalendar {
    cpc_rules::timescales::Timescales::new(&cpc_rules::profile::AuthorityProfile::default())
        .unwrap()
        .calendar()
}

/// A valid raising about `child` of `case`, owned by the chair.
pub(crate) fn raising(
    case: &str,
    child: &str,
    stage: pb::EscalationStage,
) -> pb::RaiseEscalationRequest {
    pb::RaiseEscalationRequest {
        request_id: rid(),
        escalation: Some(pb::Escalation {
            case_id: case.into(),
            child_ids: vec![child.into()],
            reason_kind: pb::EscalationReason::DriftAndDelay as i32,
            reason: "Core group has not met since the plan started".into(),
            owner: Some(csc_person(CHAIR, "Chris Chair")),
            response_due_date: in_days(10),
            ..Default::default()
        }),
        initial_stage: stage as i32,
    }
}

struct World {
    case: String,
    child: String,
    at_team_manager: pb::Escalation,
    raiser: As,
}

#[tokio::test]
async fn every_served_escalation_rpc_for_every_role_and_relation() {
    let (mut f, _) = start().await;
    let (child, case) = s47_started(&mut f, "ESC0001", uk_today()).await;
    let on_case = f.add_matrix_members(PEOPLE, &case).await;
    until_escalation_knows_child(&f, &child).await;
    members_known(&f, cpc_escalation::SCHEMA, PEOPLE, &case, &on_case).await;
    let mut client = escalation(&f).await;
    let raiser = f.team_manager();
    let at_team_manager = raise(
        &mut client,
        &raiser,
        raising(&case, &child, pb::EscalationStage::TeamManager),
    )
    .await;
    let world = World {
        case,
        child,
        at_team_manager,
        raiser,
    };
    let matrix = Matrix::load();
    let rows = matrix.served(SERVICE_NAME, &SERVED);
    let run = f
        .run_matrix(&rows, PEOPLE, async |caller, rpc, _| {
            call(&mut client, caller, rpc, &world).await
        })
        .await;
    assert_eq!(distinct_rpcs(&rows), SERVED.len(), "every served RPC");
    assert_eq!(run.calls, rows.len() * ROLE_COLUMNS.len());
    assert_matrix(&f, &run, cpc_escalation::SCHEMA, 150).await;
    f.stop().await;
}

async fn raise(
    client: &mut EscalationServiceClient<Channel>,
    who: &As,
    request: pb::RaiseEscalationRequest,
) -> pb::Escalation {
    client
        .raise_escalation(who.req(request))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap()
}

async fn call(
    c: &mut EscalationServiceClient<Channel>,
    who: &As,
    rpc: &str,
    w: &World,
) -> Result<(), Status> {
    match rpc {
        "RaiseEscalation" => c
            .raise_escalation(who.req(raising(&w.case, &w.child, pb::EscalationStage::Unspecified)))
            .await
            .map(drop),
        "GetEscalation" => c
            .get_escalation(who.req(pb::GetEscalationRequest {
                escalation_id: w.at_team_manager.id.clone(),
            }))
            .await
            .map(drop),
        "ListEscalations" => c
            .list_escalations(who.req(pb::ListEscalationsRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        // Each allowed move changes the escalation: every call moves a
        // fresh one, open at the team manager stage.
        "AdvanceEscalation" => {
            let fresh = raise(
                c,
                &w.raiser,
                raising(&w.case, &w.child, pb::EscalationStage::TeamManager),
            )
            .await;
            c.advance_escalation(who.req(pb::AdvanceEscalationRequest {
                escalation_id: fresh.id,
                version: fresh.version,
                reason: "No response from the team".into(),
                new_owner: Some(csc_person(SERVICE_MANAGER, "Sasha Service")),
                response_due_date: in_days(5),
            }))
            .await
            .map(drop)
        }
        "ResolveEscalation" => {
            let fresh = raise(
                c,
                &w.raiser,
                raising(&w.case, &w.child, pb::EscalationStage::TeamManager),
            )
            .await;
            c.resolve_escalation(who.req(pb::ResolveEscalationRequest {
                escalation_id: fresh.id,
                version: fresh.version,
                outcome_kind: pb::OutcomeKind::ActionsAgreed as i32,
                summary: "Core group dates agreed".into(),
            }))
            .await
            .map(drop)
        }
        "ListDriftFindings" => c
            .list_drift_findings(who.req(pb::ListDriftFindingsRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        "StreamChanges" => c
            .stream_changes(who.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        other => panic!("{other} is not served"),
    }
}

/// The first plan of `case`, as the cases service lists it.
pub(crate) async fn plan_of(f: &Fixture, case: &str) -> cases::ChildProtectionPlan {
    let mut cases_client = CasesServiceClient::new(f.server.channel().await);
    cases_client
        .list_plans(f.social_worker().req(cases::ListPlansRequest {
            case_id: case.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .plans
        .remove(0)
}

fn stage_of(e: &pb::Escalation) -> pb::EscalationStage {
    pb::EscalationStage::try_from(e.stage).unwrap()
}

#[tokio::test]
async fn an_escalation_goes_up_the_route_and_is_resolved() {
    let (mut f, mut conferences) = start().await;
    let Held { child, case, .. } =
        Box::pin(plan_started(&mut f, &mut conferences, "ESC0002")).await;
    let plan = plan_of(&f, &case).await.id;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1::uuid)",
        &[&plan],
    )
    .await;
    until_escalation_knows_child(&f, &child).await;
    let (other_child, _) = s47_started(&mut f, "ESC0003", uk_today()).await;
    until_escalation_knows_child(&f, &other_child).await;
    let mut client = escalation(&f).await;
    let chair = f.chair();
    let team_manager = f.team_manager();
    let service_manager = f.person(
        SERVICE_MANAGER,
        AUTHORITY,
        Role::ServiceManager,
        Some(csc()),
    );
    let head = f.person(HEAD_OF_SERVICE, AUTHORITY, Role::HeadOfService, Some(csc()));

    // Raised by the chair at the midway review, about the plan; the same
    // request again is the same escalation.
    let mut request = raising(&case, &child, pb::EscalationStage::Unspecified);
    request.escalation.as_mut().unwrap().plan_id = plan.clone();
    let raised = raise(&mut client, &chair, request.clone()).await;
    assert_eq!(
        raise(&mut client, &chair, request.clone()).await.id,
        raised.id
    );
    assert_eq!(stage_of(&raised), pb::EscalationStage::ChairMidwayReview);
    assert_eq!(raised.status, pb::EscalationStatus::Open as i32);
    assert_eq!(
        raised.raised_by.as_ref().unwrap().person_id,
        Uuid::from_u128(CHAIR).to_string()
    );
    assert_eq!(raised.plan_id, plan);
    assert!(!raised.response_overdue);
    assert_eq!(raised.stage_history.len(), 1);

    // Bad raisings name their fields.
    let mut stranger = raising(&case, &other_child, pb::EscalationStage::Unspecified);
    let err = client
        .raise_escalation(chair.req(stranger.clone()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["escalation.child_ids[0]"]);
    stranger.escalation = request.escalation.clone();
    let e = stranger.escalation.as_mut().unwrap();
    e.plan_id = Uuid::new_v4().to_string();
    stranger.request_id = rid();
    let err = client
        .raise_escalation(chair.req(stranger.clone()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["escalation.plan_id"]);
    let e = stranger.escalation.as_mut().unwrap();
    e.plan_id = String::new();
    e.drift_finding_ids = vec![Uuid::new_v4().to_string()];
    stranger.request_id = rid();
    let err = client
        .raise_escalation(chair.req(stranger.clone()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["escalation.drift_finding_ids[0]"]);
    let mut careless = raising(&case, &child, pb::EscalationStage::Unspecified);
    let e = careless.escalation.as_mut().unwrap();
    e.reason_kind = pb::EscalationReason::AgencyNotDelivering as i32;
    e.response_due_date = pd_of(uk_today());
    e.reason = String::new();
    let err = client
        .raise_escalation(chair.req(careless))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&err),
        [
            "escalation.reason",
            "escalation.concerned_agency_kind",
            "escalation.concerned_agency_name",
            "escalation.response_due_date",
        ]
    );
    // Due on a day nobody works: the first weekend or bank holiday ahead.
    let idle = (1..=7)
        .filter_map(|d| uk_today().checked_add_days(chrono::Days::new(d)))
        .find(|d| !working_days().is_working_day(*d).unwrap())
        .unwrap();
    let mut weekend = raising(&case, &child, pb::EscalationStage::TeamManager);
    weekend.escalation.as_mut().unwrap().response_due_date = pd_of(idle);
    let err = client
        .raise_escalation(chair.req(weekend))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["escalation.response_due_date"]);
    let details = tonic_types::StatusExt::get_error_details(&err);
    assert_eq!(
        details.bad_request().unwrap().field_violations[0].description,
        "must be a working day, not a weekend or bank holiday"
    );

    // Straight to the partnership only from a senior manager; refused and
    // recorded for the chair.
    let err = client
        .raise_escalation(chair.req(raising(
            &case,
            &child,
            pb::EscalationStage::SafeguardingPartnership,
        )))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");

    // Only the stage's owner role moves it: not the team manager yet.
    let step = |e: &pb::Escalation, owner: common::PersonRef| pb::AdvanceEscalationRequest {
        escalation_id: e.id.clone(),
        version: e.version,
        reason: "No satisfactory response".into(),
        new_owner: Some(owner),
        response_due_date: in_days(7),
    };
    let tm_ref = csc_person(TEAM_MANAGER, "Toni Team");
    let err = client
        .advance_escalation(team_manager.req(step(&raised, tm_ref.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let at_tm = client
        .advance_escalation(chair.req(step(&raised, tm_ref.clone())))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(stage_of(&at_tm), pb::EscalationStage::TeamManager);
    assert_eq!(at_tm.version, raised.version + 1);
    let moved = at_tm.stage_history.last().unwrap();
    assert_eq!(
        moved.from_stage,
        pb::EscalationStage::ChairMidwayReview as i32
    );
    assert_eq!(
        moved.previous_owner.as_ref().unwrap().display_name,
        "Chris Chair"
    );
    assert_eq!(moved.new_owner.as_ref(), Some(&tm_ref));
    // A stale version is refused.
    let err = client
        .advance_escalation(team_manager.req(step(&raised, tm_ref.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");

    let at_sm = client
        .advance_escalation(
            team_manager.req(step(&at_tm, csc_person(SERVICE_MANAGER, "Sasha Service"))),
        )
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    let at_hos = client
        .advance_escalation(
            service_manager.req(step(&at_sm, csc_person(HEAD_OF_SERVICE, "Harper Head"))),
        )
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    let at_partnership = client
        .advance_escalation(head.req(step(
            &at_hos,
            csc_person(0x9001, "Partnership business unit"),
        )))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(
        stage_of(&at_partnership),
        pb::EscalationStage::SafeguardingPartnership
    );
    assert_eq!(at_partnership.stage_history.len(), 5);
    let err = client
        .advance_escalation(head.req(step(&at_partnership, tm_ref.clone())))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");

    // Only the raiser withdraws; the head of service resolves.
    let resolution = |e: &pb::Escalation, kind: pb::OutcomeKind| pb::ResolveEscalationRequest {
        escalation_id: e.id.clone(),
        version: e.version,
        outcome_kind: kind as i32,
        summary: "Review conference brought forward to next week".into(),
    };
    let err = client
        .resolve_escalation(head.req(resolution(&at_partnership, pb::OutcomeKind::Withdrawn)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let resolved = client
        .resolve_escalation(head.req(resolution(
            &at_partnership,
            pb::OutcomeKind::ReviewBroughtForward,
        )))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(resolved.status, pb::EscalationStatus::Resolved as i32);
    let outcome = resolved.outcome.as_ref().unwrap();
    assert_eq!(
        outcome.resolved_by.as_ref().unwrap().person_id,
        Uuid::from_u128(HEAD_OF_SERVICE).to_string()
    );
    let err = client
        .resolve_escalation(head.req(resolution(&resolved, pb::OutcomeKind::ActionsAgreed)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    // Resolving it on the version read before it was resolved is stale:
    // the version is checked before the status, so the caller is told to
    // read it again (ABORTED) rather than refused for a resolution they
    // have not seen.
    let err = client
        .resolve_escalation(head.req(resolution(&at_partnership, pb::OutcomeKind::ActionsAgreed)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");

    // The chair withdraws one they raised.
    let second = raise(
        &mut client,
        &chair,
        raising(&case, &child, pb::EscalationStage::Unspecified),
    )
    .await;
    let withdrawn = client
        .resolve_escalation(chair.req(resolution(&second, pb::OutcomeKind::Withdrawn)))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(withdrawn.status, pb::EscalationStatus::Resolved as i32);

    // Lists: by case for the child's social worker; by status and owner,
    // a page at a time, across the authority for a manager.
    let by_case = client
        .list_escalations(f.social_worker().req(pb::ListEscalationsRequest {
            case_id: case.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_case.escalations.len(), 2);
    let third = raise(
        &mut client,
        &chair,
        raising(&case, &child, pb::EscalationStage::TeamManager),
    )
    .await;
    let open = client
        .list_escalations(team_manager.req(pb::ListEscalationsRequest {
            authority_id: AUTHORITY.into(),
            status: pb::EscalationStatus::Open as i32,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        open.escalations
            .iter()
            .map(|e| e.id.as_str())
            .collect::<Vec<_>>(),
        [third.id.as_str()]
    );
    let first_page = client
        .list_escalations(team_manager.req(pb::ListEscalationsRequest {
            child_id: child.clone(),
            page_size: 2,
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first_page.escalations.len(), 2);
    let second_page = client
        .list_escalations(team_manager.req(pb::ListEscalationsRequest {
            child_id: child.clone(),
            page_size: 2,
            page_token: first_page.next_page_token.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second_page.escalations.len(), 1);
    assert!(second_page.next_page_token.is_empty());
    let owned = client
        .list_escalations(team_manager.req(pb::ListEscalationsRequest {
            owner_person_id: Uuid::from_u128(CHAIR).to_string(),
            response_due_before: in_days(10),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    // The second (withdrawn) and third are the chair's; the first moved on.
    assert_eq!(owned.escalations.len(), 2);
    let err = client
        .list_escalations(team_manager.req(pb::ListEscalationsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["authority_id"]);

    // The chair who raised the third at the team manager stage is not
    // satisfied by the response: they move it up to the service manager
    // themselves (it is the dissatisfied raiser who escalates), though
    // neither stage is a chair's; another chair may not. Then they
    // withdraw it.
    let other_chair = f.person(0xc4a1_0009, AUTHORITY, Role::ConferenceChair, Some(csc()));
    let to_sm = |e: &pb::Escalation| step(e, csc_person(SERVICE_MANAGER, "Sasha Service"));
    let err = client
        .advance_escalation(other_chair.req(to_sm(&third)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied, "{err:?}");
    let third_at_sm = client
        .advance_escalation(chair.req(to_sm(&third)))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(stage_of(&third_at_sm), pb::EscalationStage::ServiceManager);
    let third_withdrawn = client
        .resolve_escalation(chair.req(resolution(&third_at_sm, pb::OutcomeKind::Withdrawn)))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(
        third_withdrawn.status,
        pb::EscalationStatus::Resolved as i32
    );
    let err = client
        .get_escalation(team_manager.req(pb::GetEscalationRequest {
            escalation_id: Uuid::new_v4().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // The feed tells the story in order (the initial conference's drift,
    // found and cleared as it was held late, is left out here).
    let mut feed = client
        .stream_changes(
            team_manager.req(pb::StreamChangesRequest {
                authority_id: AUTHORITY.into(),
                event_types: ["Raised", "Advanced", "Resolved"]
                    .map(|e| format!("cpc.escalation.v1.Escalation{e}"))
                    .to_vec(),
                ..Default::default()
            }),
        )
        .await
        .unwrap()
        .into_inner();
    let mut types = Vec::new();
    while types.len() < 9 {
        let event = feed.next().await.unwrap().unwrap().event.unwrap();
        types.push(
            event
                .event_type
                .trim_start_matches("cpc.escalation.v1.")
                .to_owned(),
        );
    }
    assert_eq!(
        types,
        [
            "EscalationRaised",
            "EscalationAdvanced",
            "EscalationAdvanced",
            "EscalationAdvanced",
            "EscalationAdvanced",
            "EscalationResolved",
            "EscalationRaised",
            "EscalationResolved",
            "EscalationRaised",
        ]
    );
    f.stop().await;
}

#[tokio::test]
async fn a_page_token_around_another_cases_escalation_reads_nothing() {
    let (mut f, _) = start().await;
    let (child, case) = s47_started(&mut f, "ESC0010", uk_today()).await;
    let (other_child, other_case) = s47_started(&mut f, "ESC0011", uk_today()).await;
    until_escalation_knows_child(&f, &child).await;
    until_escalation_knows_child(&f, &other_child).await;
    let mut client = escalation(&f).await;
    let manager = f.team_manager();
    let due_in = |case: &str, child: &str, days| {
        let mut request = raising(case, child, pb::EscalationStage::TeamManager);
        if let Some(e) = request.escalation.as_mut() {
            e.response_due_date = in_days(days);
        }
        request
    };
    raise(&mut client, &manager, due_in(&case, &child, 5)).await;
    raise(&mut client, &manager, due_in(&case, &child, 20)).await;
    // Another case's escalation, whose response is due between the two.
    let hidden = raise(&mut client, &manager, due_in(&other_case, &other_child, 10)).await;

    let page = |token: &str| {
        manager.req(pb::ListEscalationsRequest {
            case_id: case.clone(),
            page_size: 1,
            page_token: token.to_owned(),
            ..Default::default()
        })
    };
    let first = client
        .list_escalations(page(""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first.escalations[0].response_due_date, in_days(5));
    // The same token around the other case's escalation (the filters' hash
    // unchanged) would tell, by where the page starts, when its response
    // is due: the one due in 20 days comes after it.
    let forged = page_token_around(&first.next_page_token, &first.escalations[0].id, &hidden.id);
    let around_hidden = client
        .list_escalations(page(&forged))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        around_hidden.escalations,
        [],
        "nothing after an escalation this list does not show"
    );
    let second = client
        .list_escalations(page(&first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(second.escalations[0].response_due_date, in_days(20));
    f.stop().await;
}
