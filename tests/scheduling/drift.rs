//! Drift findings over gRPC: an initial conference held long after its due
//! date is found and cleared as scheduling's feed tells it; a plan action
//! and a core group meeting left undone two months on are found by the
//! sweep; an escalation cites one; holding the next core group meeting
//! and completing the action clear theirs; a plan ended for any reason
//! (by transfer out too) is chased no more, nor is a core group meeting it
//! missed; a sibling's conference held puts nothing right for a child
//! whose own conference was not.

use chrono::{Days, Utc};
use cpc_platform::db;
use cpc_proto::cases::v1 as cases;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpc_proto::escalation::v1 as pb;
use cpc_proto::escalation::v1::escalation_service_client::EscalationServiceClient;
use cpc_proto::scheduling::v1 as scheduling;
use cpc_proto::scheduling::v1::core_groups_service_client::CoreGroupsServiceClient;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::transport::Channel;
use uuid::Uuid;

use crate::core_groups::arrange;
use crate::diary::*;
use crate::escalations::{escalation, plan_of, raising};
use crate::meetings::{Held, last_working_day, plan_started, timescales};
use crate::minutes::until_service_knows;
use crate::support::*;

/// The findings `who` lists with `request` (one page).
async fn findings(
    client: &mut EscalationServiceClient<Channel>,
    who: &As,
    request: pb::ListDriftFindingsRequest,
) -> Vec<pb::DriftFinding> {
    client
        .list_drift_findings(who.req(request))
        .await
        .unwrap()
        .into_inner()
        .findings
}

/// Waits until escalation has cleared the finding on `subject`.
async fn until_cleared(f: &Fixture, subject: &str) {
    until_service_knows(
        f,
        cpc_escalation::SCHEMA,
        "SELECT bool_and(cleared) FROM drift_findings WHERE subject_id = $1::uuid",
        &[subject],
    )
    .await;
}

fn kinds(findings: &[pb::DriftFinding]) -> Vec<(pb::DriftKind, pb::Severity)> {
    findings
        .iter()
        .map(|f| {
            (
                pb::DriftKind::try_from(f.kind).unwrap(),
                pb::Severity::try_from(f.severity).unwrap(),
            )
        })
        .collect()
}

/// Adds an action to `plan` owned by the health trust, due on `due`.
async fn health_action(
    client: &mut CasesServiceClient<Channel>,
    sw: &As,
    plan: &str,
    what: &str,
    due: chrono::NaiveDate,
) -> cases::PlanAction {
    client
        .add_plan_action(sw.req(cases::AddPlanActionRequest {
            request_id: rid(),
            action: Some(cases::PlanAction {
                plan_id: plan.into(),
                description: what.into(),
                owner: Some(health_ref()),
                due_date: pd_of(due),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .action
        .unwrap()
}

/// Records `action` completed on the last working day.
async fn complete(client: &mut CasesServiceClient<Channel>, sw: &As, action: &cases::PlanAction) {
    client
        .update_plan_action_status(sw.req(cases::UpdatePlanActionStatusRequest {
            action_id: action.id.clone(),
            version: action.version,
            status: cases::PlanActionStatus::Completed as i32,
            completion_date: pd_of(last_working_day()),
            ..Default::default()
        }))
        .await
        .unwrap();
}

#[tokio::test]
async fn late_actions_and_missed_meetings_are_found_escalated_and_cleared() {
    let (mut f, mut conferences) = start().await;
    let Held { child, case, .. } =
        Box::pin(plan_started(&mut f, &mut conferences, "DRF0001")).await;
    let plan = plan_of(&f, &case).await.id;
    // Scheduling made the first core group meeting due; escalation knows it.
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM meetings WHERE kind = 'core_group' AND case_id = $1::uuid)",
        &[&case],
    )
    .await;

    // An action due two working days after the plan started: not late yet.
    let calendar = timescales().calendar();
    let due = calendar.add_working_days(last_working_day(), 2).unwrap();
    let mut cases_client = CasesServiceClient::new(f.server.channel().await);
    let sw = f.social_worker();
    let action = health_action(&mut cases_client, &sw, &plan, "Health check", due).await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM plan_actions WHERE id = $1::uuid)",
        &[&action.id],
    )
    .await;
    let mut client = escalation(&f).await;
    let tm = f.team_manager();
    let by_plan = |status: pb::DriftFindingStatus| pb::ListDriftFindingsRequest {
        plan_id: plan.clone(),
        status: status as i32,
        ..Default::default()
    };
    let found = findings(
        &mut client,
        &tm,
        by_plan(pb::DriftFindingStatus::Unspecified),
    )
    .await;
    assert!(found.is_empty(), "{found:?}");

    // Two months on, nothing has moved: the sweep finds the core group
    // meeting long past its due date and the action late.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let config = f.db.config();
    let later = Utc::now().checked_add_days(Days::new(60)).unwrap();
    let assessed = cpc_escalation::sweep::once(&pool, &config, AUTHORITY, later)
        .await
        .unwrap();
    assert!(assessed >= 2, "{assessed}");
    let events = |pool: sqlx::PgPool| async move {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM change_events")
            .fetch_one(&pool)
            .await
            .unwrap()
    };
    let before = events(pool.clone()).await;
    cpc_escalation::sweep::once(&pool, &config, AUTHORITY, later)
        .await
        .unwrap();
    assert_eq!(
        events(pool.clone()).await,
        before,
        "a second sweep changes nothing"
    );
    let found = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            case_id: case.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        kinds(&found),
        [
            (pb::DriftKind::CoreGroupMissed, pb::Severity::Critical),
            (pb::DriftKind::PlanActionOverdue, pb::Severity::High),
        ],
        "most severe first"
    );
    let missed = found[0].clone();
    assert_eq!(missed.subject_type, "CoreGroupMeeting");
    assert_eq!(missed.plan_id, plan);
    let late = found[1].clone();
    let later_day = cpc_rules::civil_time::uk_date(later);
    assert_eq!(
        late.working_days_overdue,
        calendar.working_days_between(due, later_day).unwrap()
    );
    assert_eq!(late.subject_type, "PlanAction");
    assert_eq!(late.subject_id, action.id);
    assert_eq!(late.child_ids, std::slice::from_ref(&child));
    assert_eq!(late.responsible.as_ref(), Some(&health_ref()));
    assert_eq!(late.agency_name, "Community Trust");
    assert_eq!(late.due_date, pd_of(due));
    assert_eq!(late.status, pb::DriftFindingStatus::Open as i32);
    assert!(late.detail.contains("Health check"), "{}", late.detail);
    let critical = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            authority_id: AUTHORITY.into(),
            min_severity: pb::Severity::Critical as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(critical.len(), 1);

    // The chair escalates the missed meeting: the finding is escalated
    // while the escalation is open.
    let mut request = raising(&case, &child, pb::EscalationStage::Unspecified);
    request.escalation.as_mut().unwrap().drift_finding_ids = vec![missed.id.clone()];
    let raised = client
        .raise_escalation(f.chair().req(request))
        .await
        .unwrap()
        .into_inner()
        .escalation
        .unwrap();
    assert_eq!(raised.drift_finding_ids, std::slice::from_ref(&missed.id));
    let escalated = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            child_id: child.clone(),
            status: pb::DriftFindingStatus::Escalated as i32,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0].escalation_id, raised.id);
    // Its response is due in 10 days: the sweep two months on tells the
    // feed it is overdue, once.
    for _ in 0..2 {
        cpc_escalation::sweep::once(&pool, &config, AUTHORITY, later)
            .await
            .unwrap();
    }
    let open = findings(&mut client, &tm, by_plan(pb::DriftFindingStatus::Open)).await;
    assert_eq!(
        open.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        [late.id.as_str()]
    );

    // The meeting is recorded missed (its finding stays, refreshed as of
    // today); the next one is arranged and held, which puts it right.
    let mut core_groups = CoreGroupsServiceClient::new(f.server.channel().await);
    let first = core_groups
        .list_core_group_meetings(sw.req(scheduling::ListCoreGroupMeetingsRequest {
            case_id: case.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .meetings
        .remove(0);
    assert_eq!(first.id, missed.subject_id);
    let next = core_groups
        .record_core_group_missed(sw.req(scheduling::RecordCoreGroupMissedRequest {
            meeting_id: first.id.clone(),
            version: first.version,
            reason: "Social worker off sick; no cover arranged".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .next_meeting
        .unwrap();
    let day = calendar.add_working_days(uk_today(), 2).unwrap();
    let next = arrange(&mut core_groups, &sw, &next, day).await;
    core_groups
        .record_core_group_held(sw.req(scheduling::RecordCoreGroupHeldRequest {
            meeting_id: next.id.clone(),
            version: next.version,
            held_date: pd_of(last_working_day()),
            attendees: vec![worker_ref(), health_ref()],
        }))
        .await
        .unwrap();
    until_cleared(&f, &first.id).await;

    // Completing the action puts it right: its finding clears.
    complete(&mut cases_client, &sw, &action).await;
    until_cleared(&f, &action.id).await;
    let cleared = findings(&mut client, &tm, by_plan(pb::DriftFindingStatus::Cleared)).await;
    assert_eq!(cleared.len(), 2, "the meeting and the action");
    assert!(cleared.iter().all(|c| c.clear_time.is_some()));

    // Bad lists name their fields; a plan escalation does not know is not
    // found; a social worker may not list across the authority.
    let err = client
        .list_drift_findings(tm.req(pb::ListDriftFindingsRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["authority_id"]);
    let err = client
        .list_drift_findings(tm.req(pb::ListDriftFindingsRequest {
            plan_id: Uuid::new_v4().to_string(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    let err = client
        .list_drift_findings(sw.req(pb::ListDriftFindingsRequest {
            authority_id: AUTHORITY.into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // The team manager's list across the authority showed the child's
    // findings: it is in the child's access log, as a read of them is.
    let mut audit = cpc_proto::audit::v1::audit_service_client::AuditServiceClient::new(
        f.server.channel().await,
    );
    let mut managers_lists = async || {
        audit
            .list_access_records(sw.req(crate::access_log::about_child("escalation", &child)))
            .await
            .unwrap()
            .into_inner()
            .records
            .iter()
            .filter(|a| {
                a.rpc_method.ends_with("/ListDriftFindings")
                    && a.person.as_ref().unwrap().person_id
                        == Uuid::from_u128(TEAM_MANAGER).to_string()
            })
            .count()
    };
    let before = managers_lists().await;
    let across = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            authority_id: AUTHORITY.into(),
            status: pb::DriftFindingStatus::Cleared as i32,
            ..Default::default()
        },
    )
    .await;
    assert!(
        across
            .iter()
            .any(|finding| finding.child_ids.contains(&child)),
        "{across:?}"
    );
    assert_eq!(managers_lists().await, before + 1);

    // The feed: the initial conference, long past its due date when it
    // became due, found and cleared once held; then the action and the
    // meeting found by the sweep, the escalation and its response overdue
    // two months on, the meeting refreshed when recorded missed and cleared
    // when the next was held, the action cleared.
    let mut feed = client
        .stream_changes(tm.req(pb::StreamChangesRequest {
            authority_id: AUTHORITY.into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 9 {
        let event = feed.next().await.unwrap().unwrap().event.unwrap();
        let name = event
            .event_type
            .trim_start_matches("cpc.escalation.v1.")
            .to_owned();
        if name == "EscalationResponseOverdue" {
            let told =
                <pb::EscalationResponseOverdue as prost::Message>::decode(event.payload.as_slice())
                    .unwrap();
            let told = told.escalation.unwrap();
            assert!(told.response_overdue);
            // Telling it is a change: a new version, which the event names.
            assert_eq!(told.version, raised.version + 1);
            assert_eq!(event.aggregate_version, told.version);
        }
        let new = (name == "DriftDetected").then(|| {
            <pb::DriftDetected as prost::Message>::decode(event.payload.as_slice())
                .unwrap()
                .new_finding
        });
        seen.push((name, new));
    }
    let expected = [
        ("DriftDetected", Some(true)),
        ("DriftCleared", None),
        ("DriftDetected", Some(true)),
        ("DriftDetected", Some(true)),
        ("EscalationRaised", None),
        ("EscalationResponseOverdue", None),
        ("DriftDetected", Some(false)),
        ("DriftCleared", None),
        ("DriftCleared", None),
    ]
    .map(|(n, b)| (n.to_owned(), b));
    assert_eq!(seen, expected);
    pool.close().await;
    f.stop().await;
}

#[tokio::test]
async fn a_plan_at_its_first_duration_review_is_found_until_it_ends() {
    let (mut f, mut conferences) = start().await;
    let Held { case, .. } = Box::pin(plan_started(&mut f, &mut conferences, "DRF0002")).await;
    let plan = plan_of(&f, &case).await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1::uuid AND start_date IS NOT NULL)",
        &[&plan.id],
    )
    .await;
    // A year and a month on, the plan has passed its 12-month point only.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let year_on = Utc::now().checked_add_days(Days::new(396)).unwrap();
    cpc_escalation::sweep::once(&pool, &f.db.config(), AUTHORITY, year_on)
        .await
        .unwrap();
    let mut client = escalation(&f).await;
    let tm = f.team_manager();
    let request = pb::ListDriftFindingsRequest {
        plan_id: plan.id.clone(),
        kind: pb::DriftKind::PlanDuration as i32,
        ..Default::default()
    };
    let found = findings(&mut client, &tm, request).await;
    assert_eq!(
        kinds(&found),
        [(pb::DriftKind::PlanDuration, pb::Severity::Medium)]
    );
    let started = cpc_platform::convert::date_from_proto(plan.start_date.as_ref())
        .unwrap()
        .unwrap();
    let point = cpc_rules::months::add_months_clamped(started, 12).unwrap();
    assert_eq!(found[0].due_date, pd_of(point));
    assert_eq!(found[0].subject_type, "ChildProtectionPlan");
    assert_eq!(found[0].subject_id, plan.id);

    // The team manager ends the plan (agencies consulted): found no more.
    CasesServiceClient::new(f.server.channel().await)
        .end_plan(tm.req(cases::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: pd_of(uk_today()),
            end_reason: cases::PlanEndReason::Other as i32,
            end_reason_detail: "Family moved abroad; plan closed on legal advice".into(),
            agencies_consulted: vec![police_ref(), health_ref()],
            ..Default::default()
        }))
        .await
        .unwrap();
    until_cleared(&f, &plan.id).await;
    pool.close().await;
    f.stop().await;
}

/// A police officer invited to the conference (another officer writes the
/// police report).
const INVITED_OFFICER: u128 = 0xd7_0001;
/// A health visitor invited to the conference, who writes her own report.
const VISITOR: u128 = 0xd7_0002;

/// The sweep at noon (UTC) on `day`.
async fn sweep_on(f: &Fixture, pool: &sqlx::PgPool, day: chrono::NaiveDate) {
    let noon = day.and_hms_opt(12, 0, 0).unwrap().and_utc();
    cpc_escalation::sweep::once(pool, &f.db.config(), AUTHORITY, noon)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_agency_report_not_submitted_by_its_due_date_is_found_until_it_is() {
    use cpc_identity::{Agency, AgencyKind, Role};
    use cpc_proto::common::v1 as common;
    use cpc_proto::reporting::v1 as reporting;

    use crate::meetings::{book, clients, invitation};
    use crate::minutes::{reporting as reporting_client, until_reporting_knows};
    use crate::reports::{AUTHOR, author, new_report, until_members_known};

    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    let (child, case) = s47_started(&mut f, "DRF0002", uk_today()).await;
    let icpc = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let calendar = timescales().calendar();
    let on = calendar.add_working_days(uk_today(), 10).unwrap();
    let icpc = book(&mut c, &bs, &icpc, on).await;
    let reports_due = cpc_platform::convert::date_from_proto(icpc.reports_due_date.as_ref())
        .unwrap()
        .unwrap();
    assert!(reports_due < on, "{reports_due} {on}");

    // Each agency professional's invitation asks for a report.
    let officer = person_ref(
        INVITED_OFFICER,
        "PC Invited",
        common::AgencyKind::Police,
        "Constabulary",
    );
    let visitor = person_ref(
        VISITOR,
        "Hali Visitor",
        common::AgencyKind::Health,
        "Community Health",
    );
    let mut invited = Vec::new();
    for who in [officer, visitor.clone()] {
        let sent = c
            .attendance
            .create_invitation(bs.req(invitation(&icpc.id, who)))
            .await
            .unwrap()
            .into_inner()
            .invitation
            .unwrap();
        assert!(sent.report_requested);
        invited.push(sent.id);
    }
    let writer = person_ref(
        AUTHOR,
        "PC Report",
        common::AgencyKind::Police,
        "Constabulary",
    );
    for person in [writer, visitor] {
        f.grant(&case, person, cases::CaseRole::CoreGroupMember, false)
            .await;
    }
    until_members_known(&f, &case, &[AUTHOR, VISITOR]).await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid AND reports_due_on IS NOT NULL)",
        &[&icpc.id],
    )
    .await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT (SELECT count(*) = 2 FROM report_requests WHERE conference_id = $1::uuid) \
            AND EXISTS (SELECT 1 FROM meetings WHERE id = $1::uuid AND reports_due_on IS NOT NULL)",
        &[&icpc.id],
    )
    .await;

    // Another officer of the invited officer's force writes and submits the
    // police report, in time.
    let reports = reporting_client(&f).await;
    let submit = |who: As, body: &'static str| {
        let mut reports = reports.clone();
        let (conference, child) = (icpc.id.clone(), child.clone());
        async move {
            let draft = reports
                .create_agency_report(who.req(new_report(&conference, &child, body)))
                .await
                .unwrap()
                .into_inner()
                .report
                .unwrap();
            reports
                .submit_agency_report(who.req(reporting::SubmitAgencyReportRequest {
                    report_id: draft.id.clone(),
                    version: draft.version,
                }))
                .await
                .unwrap();
            draft.conference_id
        }
    };
    submit(author(&f), "Police involvement since May").await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM submitted_reports WHERE conference_id = $1::uuid)",
        &[&icpc.id],
    )
    .await;

    // The day before the conference, the health report has not come: the
    // chair is told to chase it (MEDIUM); the police request is met.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let eve = calendar.add_working_days(uk_today(), 9).unwrap();
    sweep_on(&f, &pool, eve).await;
    let mut client = escalation(&f).await;
    let tm = f.team_manager();
    let by_case = || pb::ListDriftFindingsRequest {
        case_id: case.clone(),
        ..Default::default()
    };
    let found = findings(&mut client, &tm, by_case()).await;
    assert_eq!(
        kinds(&found),
        [(pb::DriftKind::ReportLate, pb::Severity::Medium)]
    );
    let late = &found[0];
    assert_eq!(late.subject_type, "ReportRequest");
    assert_eq!(late.subject_id, invited[1]);
    assert_eq!(late.child_ids, icpc.child_ids);
    assert_eq!(late.due_date, icpc.reports_due_date);
    assert_eq!(
        late.working_days_overdue,
        calendar.working_days_between(reports_due, eve).unwrap()
    );
    assert_eq!(late.agency_kind, common::AgencyKind::Health as i32);
    assert_eq!(late.agency_name, "Community Health");
    assert_eq!(
        late.responsible.as_ref().map(|p| p.person_id.clone()),
        Some(Uuid::from_u128(VISITOR).to_string())
    );
    assert!(
        late.detail.contains("Community Health") && late.detail.contains(&on.to_string()),
        "{}",
        late.detail
    );
    let filtered = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            kind: pb::DriftKind::ReportLate as i32,
            ..by_case()
        },
    )
    .await;
    assert_eq!(filtered.len(), 1, "the kind filter finds it");

    // The conference's day comes without it: HIGH.
    sweep_on(&f, &pool, on).await;
    let found = findings(&mut client, &tm, by_case()).await;
    assert_eq!(
        kinds(&found),
        [(pb::DriftKind::ReportLate, pb::Severity::High)]
    );

    // The health visitor submits it: the finding clears, and stays clear.
    let health = f.person(
        VISITOR,
        AUTHORITY,
        Role::AgencyPractitioner,
        Some(Agency {
            kind: AgencyKind::Health,
            name: "Community Health".into(),
        }),
    );
    submit(health, "Seen at home twice in May").await;
    until_cleared(&f, &invited[1]).await;
    sweep_on(&f, &pool, on).await;
    let current = findings(&mut client, &tm, by_case()).await;
    assert!(current.is_empty(), "{} current", current.len());
    let cleared = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            status: pb::DriftFindingStatus::Cleared as i32,
            ..by_case()
        },
    )
    .await;
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].subject_id, invited[1]);
    pool.close().await;
}

#[tokio::test]
async fn an_agency_with_three_overdue_actions_on_a_case_is_not_delivering() {
    let (mut f, mut conferences) = start().await;
    let Held { child, case, .. } =
        Box::pin(plan_started(&mut f, &mut conferences, "DRF0003")).await;
    let plan = plan_of(&f, &case).await.id;
    let calendar = timescales().calendar();
    let due = calendar.add_working_days(last_working_day(), 2).unwrap();
    let mut cases_client = CasesServiceClient::new(f.server.channel().await);
    let sw = f.social_worker();
    let mut actions = Vec::new();
    for what in ["Health check", "Dental check", "Hearing test"] {
        actions.push(health_action(&mut cases_client, &sw, &plan, what, due).await);
    }
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT count(*) = 3 FROM plan_actions WHERE plan_id = $1::uuid",
        &[&plan],
    )
    .await;

    // Two months on, none done: three findings against the health trust,
    // and so the trust is not delivering on this case.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let later = uk_today().checked_add_days(Days::new(60)).unwrap();
    sweep_on(&f, &pool, later).await;
    let mut client = escalation(&f).await;
    let tm = f.team_manager();
    let agency_findings = |status: pb::DriftFindingStatus| pb::ListDriftFindingsRequest {
        case_id: case.clone(),
        kind: pb::DriftKind::AgencyNotDelivering as i32,
        status: status as i32,
        ..Default::default()
    };
    let found = findings(
        &mut client,
        &tm,
        agency_findings(pb::DriftFindingStatus::Unspecified),
    )
    .await;
    assert_eq!(
        kinds(&found),
        [(pb::DriftKind::AgencyNotDelivering, pb::Severity::High)]
    );
    let trust = &found[0];
    assert_eq!(trust.subject_type, "Agency");
    assert_eq!(trust.agency_kind, health_ref().agency_kind);
    assert_eq!(trust.agency_name, "Community Trust");
    assert_eq!(trust.child_ids, std::slice::from_ref(&child));
    assert_eq!(trust.due_date, pd_of(due));
    assert_eq!(
        trust.working_days_overdue,
        calendar.working_days_between(due, later).unwrap()
    );
    assert!(trust.responsible.is_none());
    assert!(
        trust.detail.starts_with("Community Trust has 3 "),
        "{}",
        trust.detail
    );
    let by_agency = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            case_id: case.clone(),
            agency_kind: health_ref().agency_kind,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(by_agency.len(), 4, "the trust's three actions and itself");

    // One is completed: two are left, which is not "several".
    complete(&mut cases_client, &sw, &actions[0]).await;
    until_cleared(&f, &trust.subject_id).await;
    sweep_on(&f, &pool, later).await;
    let current = findings(
        &mut client,
        &tm,
        agency_findings(pb::DriftFindingStatus::Unspecified),
    )
    .await;
    assert!(current.is_empty(), "{} current", current.len());
    let cleared = findings(
        &mut client,
        &tm,
        agency_findings(pb::DriftFindingStatus::Cleared),
    )
    .await;
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].id, trust.id);
    pool.close().await;
}

#[tokio::test]
async fn a_plan_ended_by_transfer_out_is_no_longer_chased() {
    let (mut f, mut conferences) = start().await;
    let Held { case, .. } = Box::pin(plan_started(&mut f, &mut conferences, "DRF0004")).await;
    let plan = plan_of(&f, &case).await;
    let calendar = timescales().calendar();
    let due = calendar.add_working_days(last_working_day(), 2).unwrap();
    let mut cases_client = CasesServiceClient::new(f.server.channel().await);
    let sw = f.social_worker();
    let action = health_action(&mut cases_client, &sw, &plan.id, "Health check", due).await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1::uuid AND start_date IS NOT NULL) \
            AND EXISTS (SELECT 1 FROM plan_actions WHERE id = $2::uuid)",
        &[&plan.id, &action.id],
    )
    .await;

    // A year and a month on, the plan is at its first duration review and
    // the action is long overdue.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    let year_on = uk_today().checked_add_days(Days::new(396)).unwrap();
    sweep_on(&f, &pool, year_on).await;
    let mut client = escalation(&f).await;
    let tm = f.team_manager();
    let of_kind = |kind: pb::DriftKind| pb::ListDriftFindingsRequest {
        plan_id: plan.id.clone(),
        kind: kind as i32,
        ..Default::default()
    };
    let duration = findings(&mut client, &tm, of_kind(pb::DriftKind::PlanDuration)).await;
    assert_eq!(duration.len(), 1, "{duration:?}");
    assert_eq!(duration[0].subject_id, plan.id);
    let overdue = findings(&mut client, &tm, of_kind(pb::DriftKind::PlanActionOverdue)).await;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0].subject_id, action.id);

    // The child moves to another authority, which holds its transfer-in
    // conference today: the plan ends TRANSFERRED_OUT (not ENDED).
    let pending = cases_client
        .transfer_plan_out(tm.req(cases::TransferPlanOutRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            transfer_out: Some(cases::TransferOut {
                receiving_authority_name: "Leeds City Council".into(),
                notification_date: pd_of(uk_today()),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let ended = cases_client
        .end_plan(tm.req(cases::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: pending.version,
            end_date: pd_of(uk_today()),
            end_reason: cases::PlanEndReason::TransferredOut as i32,
            transfer_in_conference_date: pd_of(uk_today()),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    assert_eq!(ended.status, cases::PlanStatus::TransferredOut as i32);

    // Once escalation has the ended plan, the sweep a year on finds
    // nothing more to chase for a child who has left: its duration review
    // and its action's lateness stay cleared rather than being raised
    // again. (Learning the plan re-assesses both as of today, which clears
    // them whatever escalation made of the ending; only the sweep at the
    // later date shows whether it counts the plan as ended.)
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1::uuid AND version = $2::bigint)",
        &[&plan.id, &ended.version.to_string()],
    )
    .await;
    sweep_on(&f, &pool, year_on).await;
    let current = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            plan_id: plan.id.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        current
            .iter()
            .all(|found| found.subject_id != plan.id && found.subject_id != action.id),
        "{current:?}"
    );
    let cleared = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            plan_id: plan.id.clone(),
            status: pb::DriftFindingStatus::Cleared as i32,
            ..Default::default()
        },
    )
    .await;
    for subject in [&plan.id, &action.id] {
        assert!(
            cleared.iter().any(|c| &c.subject_id == subject),
            "{subject} {cleared:?}"
        );
    }
    pool.close().await;
    f.stop().await;
}

/// Waits until escalation has a finding standing (not cleared) on
/// `subject`.
async fn until_found(f: &Fixture, subject: &str) {
    until_service_knows(
        f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM drift_findings WHERE subject_id = $1::uuid AND NOT cleared)",
        &[subject],
    )
    .await;
}

#[tokio::test]
async fn a_siblings_conference_held_puts_nothing_right_for_the_child() {
    use crate::meetings::{book, clients, quorate_meeting, record_attendance};

    let (mut f, conferences) = start().await;
    let bs = business_support(&f);
    let mut c = clients(&f, conferences).await;
    // Amy's s47 enquiry started in June 2025: her ICPC has long been late.
    // Her brother's enquiry started a fortnight later, from another
    // strategy discussion: his ICPC is his own, due later.
    let (_, case) = s47_started(&mut f, "DRF0005", date(2025, 6, 4)).await;
    let amys = conferences_of(&mut c.conferences, &bs, &case)
        .await
        .remove(0);
    let (ben, _) = s47_about(&mut f, child(&case, "DRF0006", "Ben"), date(2025, 6, 18)).await;
    let mut bens = None;
    for _ in 0..300 {
        bens = conferences_of(&mut c.conferences, &bs, &case)
            .await
            .into_iter()
            .find(|conference| conference.child_ids == [ben.clone()]);
        if bens.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let bens = bens.expect("scheduling never made Ben's ICPC due");
    let due = |c: &scheduling::Conference| {
        cpc_platform::convert::date_from_proto(c.statutory_due_date.as_ref())
            .unwrap()
            .unwrap()
    };
    assert!(due(&bens) > due(&amys), "{} {}", due(&bens), due(&amys));
    until_found(&f, &amys.id).await;

    // Ben's conference is booked and held.
    let on = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let bens = book(&mut c, &bs, &bens, on).await;
    let bens = record_attendance(&mut c, &bs, &bens, quorate_meeting())
        .await
        .conference
        .unwrap();
    c.attendance
        .record_conference_held(bs.req(scheduling::RecordConferenceHeldRequest {
            conference_id: bens.id.clone(),
            version: bens.version,
            held_date: pd_of(last_working_day()),
            ..Default::default()
        }))
        .await
        .unwrap();
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM meetings WHERE id = $1::uuid AND state = 'held')",
        &[&bens.id],
    )
    .await;

    // Amy's has still not been held: her finding stands.
    let mut client = escalation(&f).await;
    let current = findings(
        &mut client,
        &f.team_manager(),
        pb::ListDriftFindingsRequest {
            case_id: case.clone(),
            ..Default::default()
        },
    )
    .await;
    let subjects: Vec<&str> = current.iter().map(|f| f.subject_id.as_str()).collect();
    assert_eq!(subjects, [amys.id.as_str()]);
    assert_eq!(
        kinds(&current),
        [(pb::DriftKind::InitialConferenceLate, pb::Severity::Critical)]
    );
    f.stop().await;
}

#[tokio::test]
async fn a_missed_core_group_is_chased_no_more_once_the_plan_ends() {
    let (mut f, mut conferences) = start().await;
    let Held { case, .. } = Box::pin(plan_started(&mut f, &mut conferences, "DRF0007")).await;
    let plan = plan_of(&f, &case).await;
    until_service_knows(
        &f,
        cpc_escalation::SCHEMA,
        "SELECT EXISTS (SELECT 1 FROM meetings WHERE kind = 'core_group' AND case_id = $1::uuid)",
        &[&case],
    )
    .await;

    // The first core group meeting is recorded missed: found at once.
    let sw = f.social_worker();
    let mut core_groups = CoreGroupsServiceClient::new(f.server.channel().await);
    let first = core_groups
        .list_core_group_meetings(sw.req(scheduling::ListCoreGroupMeetingsRequest {
            case_id: case.clone(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .meetings
        .remove(0);
    let next = core_groups
        .record_core_group_missed(sw.req(scheduling::RecordCoreGroupMissedRequest {
            meeting_id: first.id.clone(),
            version: first.version,
            reason: "Family did not attend; no professionals available".into(),
        }))
        .await
        .unwrap()
        .into_inner()
        .next_meeting
        .unwrap();
    until_found(&f, &first.id).await;

    // The plan ends (the family left the country): scheduling cancels the
    // next meeting, and nothing more is expected of the missed one.
    let tm = f.team_manager();
    CasesServiceClient::new(f.server.channel().await)
        .end_plan(tm.req(cases::EndPlanRequest {
            plan_id: plan.id.clone(),
            version: plan.version,
            end_date: pd_of(uk_today()),
            end_reason: cases::PlanEndReason::LeftUk as i32,
            agencies_consulted: vec![police_ref(), health_ref()],
            ..Default::default()
        }))
        .await
        .unwrap();
    until_cleared(&f, &first.id).await;

    // Two months on, the sweep does not raise it again.
    let options = db::schema_options(f.db.url(), cpc_escalation::SCHEMA).unwrap();
    let pool = sqlx::PgPool::connect_with(options).await.unwrap();
    sweep_on(
        &f,
        &pool,
        uk_today().checked_add_days(Days::new(60)).unwrap(),
    )
    .await;
    let mut client = escalation(&f).await;
    let current = findings(
        &mut client,
        &tm,
        pb::ListDriftFindingsRequest {
            case_id: case.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        current
            .iter()
            .all(|found| found.subject_id != first.id && found.subject_id != next.id),
        "{current:?}"
    );
    pool.close().await;
    f.stop().await;
}
