//! Lists: keyset pages, opaque tokens bound to their filters, filters.

use cpc_cases::codes::ConferenceKind;
use cpc_cases::domain::action::ActionFilter;
use cpc_cases::domain::child::ChildFilter;
use cpc_cases::domain::membership::{MemberEnding, MemberFilter, NewCaseMember};
use cpc_cases::domain::plan::PlanFilter;
use cpc_cases::store;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;

use crate::common::*;
use crate::run;
use crate::steps::*;

#[tokio::test]
async fn children_page_by_name_with_tokens_bound_to_the_filters() {
    let h = Harness::new().await;
    let first = register(&h, None, "C8001", "Zoe").await;
    for (i, name) in ["Adam", "Maya", "Ben", "Lily"].iter().enumerate() {
        register(&h, Some(&first.case_id), &format!("C800{}", i + 2), name).await;
    }
    let ctx = crate::common::ctx();
    let request = |token: &str| pb::ListChildrenRequest {
        authority_id: AUTHORITY.into(),
        case_id: first.case_id.clone(),
        page_size: 2,
        page_token: token.into(),
        ..Default::default()
    };
    let mut names = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let (authority, filter) = ChildFilter::parse(&request(&token)).unwrap();
        let page = run!(h, ctx, |conn| store::children::list_children(
            conn, &authority, &filter, ctx.today
        ))
        .unwrap();
        names.extend(page.children.iter().map(|c| c.given_names.clone()));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(names, ["Adam", "Ben", "Lily", "Maya", "Zoe"]);
    assert_eq!(pages, 3);

    // A token replayed with other filters is refused, naming page_token.
    let (authority, filter) = ChildFilter::parse(&request("")).unwrap();
    let page = run!(h, ctx, |conn| store::children::list_children(
        conn, &authority, &filter, ctx.today
    ))
    .unwrap();
    let mut changed = request(&page.next_page_token);
    changed.unborn_only = true;
    let err = ChildFilter::parse(&changed).unwrap_err();
    assert_eq!(fields(err), ["page_token"]);

    // Filters: NHS number, family name prefix, active plan.
    let (authority, filter) = ChildFilter::parse(&pb::ListChildrenRequest {
        authority_id: AUTHORITY.into(),
        family_name_prefix: "smi".into(),
        has_active_plan: Some(true),
        ..Default::default()
    })
    .unwrap();
    let page = run!(h, ctx, |conn| store::children::list_children(
        conn, &authority, &filter, ctx.today
    ))
    .unwrap();
    assert!(page.children.is_empty());
}

#[tokio::test]
async fn plans_and_actions_filter_by_status_category_lead_and_due_date() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C8101").await;
    let ctx = crate::common::ctx();
    let plans = |req: pb::ListPlansRequest| PlanFilter::parse(&req).unwrap();
    let active_neglect = plans(pb::ListPlansRequest {
        authority_id: AUTHORITY.into(),
        status: pb::PlanStatus::Active as i32,
        category: common::CategoryOfHarm::Neglect as i32,
        lead_social_worker_id: social_worker().person_id,
        next_review_due_before: pd(2025, 9, 30),
        ..Default::default()
    });
    let found = run!(h, ctx, |conn| store::plans::list_plans(
        conn,
        &active_neglect
    ))
    .unwrap();
    assert_eq!(
        found
            .plans
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        [plan.id.as_str()]
    );
    let sexual = plans(pb::ListPlansRequest {
        child_id: child.id.clone(),
        category: common::CategoryOfHarm::Sexual as i32,
        ..Default::default()
    });
    assert!(
        run!(h, ctx, |conn| store::plans::list_plans(conn, &sexual))
            .unwrap()
            .plans
            .is_empty()
    );

    let actions = |req: pb::ListPlanActionsRequest| ActionFilter::parse(&req).unwrap();
    let by_plan = actions(pb::ListPlanActionsRequest {
        plan_id: plan.id.clone(),
        ..Default::default()
    });
    let listed = run!(h, ctx, |conn| store::actions::list_plan_actions(
        conn, &by_plan, ctx.today
    ))
    .unwrap();
    let due: Vec<_> = listed.actions.iter().map(|a| a.due_date).collect();
    assert_eq!(
        due,
        [pd(2025, 7, 15), pd(2025, 7, 31)],
        "earliest due first"
    );
    let due_before = actions(pb::ListPlanActionsRequest {
        child_id: child.id.clone(),
        due_before: pd(2025, 7, 20),
        overdue_only: true,
        ..Default::default()
    });
    let listed = run!(h, ctx, |conn| store::actions::list_plan_actions(
        conn,
        &due_before,
        ctx.today
    ))
    .unwrap();
    assert_eq!(listed.actions.len(), 1);
    let health_owned = actions(pb::ListPlanActionsRequest {
        owner_person_id: health().person_id,
        owner_agency_kind: common::AgencyKind::Health as i32,
        ..Default::default()
    });
    let listed = run!(h, ctx, |conn| store::actions::list_plan_actions(
        conn,
        &health_owned,
        ctx.today
    ))
    .unwrap();
    assert_eq!(listed.actions.len(), 1);
    assert_eq!(
        listed.actions[0].description,
        "Health check for both children"
    );
}

#[tokio::test]
async fn memberships_are_explicit_dated_and_scoped_to_children() {
    let h = Harness::new().await;
    let child = register(&h, None, "C8201", "Jamie").await;
    let sibling = register(&h, Some(&child.case_id), "C8202", "Robin").await;
    let ctx = crate::common::ctx();
    let grant = |person: common::PersonRef, role: pb::CaseRole, child_ids: Vec<String>| {
        NewCaseMember::parse(&pb::AddCaseMemberRequest {
            request_id: rid(),
            membership: Some(pb::CaseMembership {
                case_id: child.case_id.clone(),
                person: Some(person),
                case_role: role as i32,
                child_ids,
                start_date: pd(2025, 11, 25),
                ..Default::default()
            }),
        })
        .unwrap()
    };
    let teacher = grant(
        school(),
        pb::CaseRole::AgencyPractitioner,
        vec![sibling.id.clone()],
    );
    let teacher = run!(h, ctx, |conn| store::membership::add_case_member(
        conn, &ctx, &teacher
    ))
    .unwrap()
    .response
    .membership
    .unwrap();
    let worker = grant(social_worker(), pb::CaseRole::SocialWorker, vec![]);
    let written = run!(h, ctx, |conn| store::membership::add_case_member(
        conn, &ctx, &worker
    ))
    .unwrap();
    // The event names every child the membership covers.
    assert_eq!(written.events[0].child_ids.len(), 2);

    // Who may see which child.
    let school_id = uuid(&school().person_id);
    let worker_id = uuid(&social_worker().person_id);
    let (child_id, sibling_id) = (uuid(&child.id), uuid(&sibling.id));
    let today = ctx.today;
    let tomorrow = date(2025, 11, 26);
    let hr = &h;
    // What authorisation asks: is the person a current member of the
    // child's case, for that child?
    let covering = |person, child, today| async move {
        let ctx = crate::common::ctx();
        let members = run!(hr, ctx, |conn| async {
            let located = store::access::locate(conn, store::access::Locator::Child(child)).await?;
            store::access::members(conn, &located, today).await
        })
        .unwrap();
        usize::from(members.current.contains(&person))
    };
    assert_eq!(covering(school_id, sibling_id, today).await, 1);
    assert_eq!(covering(school_id, child_id, today).await, 0);
    assert_eq!(covering(worker_id, child_id, today).await, 1);

    // Ended memberships stop counting after their end date.
    let end = MemberEnding::parse(&pb::EndCaseMemberRequest {
        membership_id: teacher.id.clone(),
        version: teacher.version,
        end_date: pd(2025, 11, 25),
        end_reason: pb::MembershipEndReason::InvolvementEnded as i32,
    })
    .unwrap();
    run!(h, ctx, |conn| store::membership::end_case_member(
        conn, &ctx, &end
    ))
    .unwrap();
    // The end date is the last day of access.
    assert_eq!(covering(school_id, sibling_id, today).await, 1);
    assert_eq!(covering(school_id, sibling_id, tomorrow).await, 0);

    // Listing: current first; the child filter includes case-wide members.
    let filter = MemberFilter::parse(&pb::ListCaseMembersRequest {
        case_id: child.case_id.clone(),
        child_id: sibling.id.clone(),
        ..Default::default()
    })
    .unwrap();
    let listed = run!(h, ctx, |conn| store::membership::list_case_members(
        conn, &filter, tomorrow
    ))
    .unwrap();
    let roles: Vec<(i32, bool)> = listed
        .memberships
        .iter()
        .map(|m| (m.case_role, m.active))
        .collect();
    assert_eq!(
        roles,
        [
            (pb::CaseRole::SocialWorker as i32, true),
            (pb::CaseRole::AgencyPractitioner as i32, false)
        ]
    );
    let active = MemberFilter::parse(&pb::ListCaseMembersRequest {
        person_id: school().person_id,
        active_only: true,
        ..Default::default()
    })
    .unwrap();
    let listed = run!(h, ctx, |conn| store::membership::list_case_members(
        conn, &active, tomorrow
    ))
    .unwrap();
    assert!(listed.memberships.is_empty());
    let _ = ConferenceKind::Initial;
}
