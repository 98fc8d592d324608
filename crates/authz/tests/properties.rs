//! Properties over arbitrary callers, calls and targets: `authorize` never
//! panics, its answer is well formed, and a caller of one authority is never
//! allowed anything of another.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod common;

use cpc_authz::{
    AUTHORITY_GUARD, CaseRelation, ConferenceRelation, DEFAULT_DENY, EscalationRelation,
    EscalationStage, FAIL_CLOSED, Principal, PrincipalKind, Record, Resource, Role,
};
use proptest::prelude::*;
use proptest::sample::select;

fn authority() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["la-a", "la-b"]).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn person_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["p-1", "p-2", "p-3"]).prop_map(str::to_owned),
        1 => ".{0,16}",
    ]
}

fn agency_id() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => select(vec!["ag-police", "ag-health"]).prop_map(str::to_owned),
        1 => ".{0,16}",
    ]
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        person_id(),
        prop_oneof![Just(PrincipalKind::Person), Just(PrincipalKind::Service)],
        authority(),
        prop::collection::vec(select(Role::ALL.to_vec()), 0..4),
        prop::option::of(agency_id()),
        // Any sign-in age, the hostile ones (negative, huge) included.
        prop::option::of(any::<i64>()),
    )
        .prop_map(
            |(subject, kind, authority_id, roles, agency, signed_in_minutes_ago)| Principal {
                subject,
                kind,
                authority_id,
                roles,
                agency,
                signed_in_minutes_ago,
            },
        )
}

fn case() -> impl Strategy<Value = CaseRelation> {
    (
        ".{0,8}",
        prop::collection::vec(person_id(), 0..4),
        prop::collection::vec(agency_id(), 0..3),
        prop::collection::vec(person_id(), 0..3),
    )
        .prop_map(
            |(case_id, current_members, current_member_agencies, former_members)| CaseRelation {
                case_id,
                current_members,
                current_member_agencies,
                former_members,
            },
        )
}

fn resource() -> impl Strategy<Value = Resource> {
    let record = (
        authority(),
        prop::option::of(case()),
        prop::option::of((
            ".{0,8}",
            prop::collection::vec(person_id(), 0..3),
            prop::option::of(person_id()),
        )),
        prop::option::of((".{0,8}", select(EscalationStage::ALL.to_vec()))),
    )
        .prop_map(|(authority_id, case, conference, escalation)| {
            Resource::Record(Record {
                authority_id,
                case,
                conference: conference.map(|(conference_id, minutes_excluded, chair)| {
                    ConferenceRelation {
                        conference_id,
                        minutes_excluded,
                        chair,
                    }
                }),
                escalation: escalation.map(|(escalation_id, stage)| EscalationRelation {
                    escalation_id,
                    stage,
                    raised_by: None,
                }),
            })
        });
    prop_oneof![1 => authority().prop_map(Resource::Authority), 3 => record]
}

fn action() -> impl Strategy<Value = String> {
    let rpcs = common::authorizer().rpc_actions();
    prop_oneof![
        8 => select(rpcs),
        1 => select(vec!["ReadCase", "ChangeData", "Minutes", "Action"]).prop_map(str::to_owned),
        1 => ".{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn authorize_never_panics_and_answers_in_shape(
        principal in principal(),
        action in action(),
        resource in resource(),
    ) {
        let decision = common::authorizer().authorize(&principal, &action, &resource);
        prop_assert!(!decision.policy_ids.is_empty(), "{decision:?}");
        if decision.allowed {
            prop_assert!(decision.errors.is_empty(), "{decision:?}");
            for reserved in [DEFAULT_DENY, FAIL_CLOSED, AUTHORITY_GUARD] {
                prop_assert!(!decision.policy_ids.iter().any(|id| id == reserved), "{decision:?}");
            }
        }
    }

    #[test]
    fn another_authority_is_always_denied(
        principal in principal(),
        action in action(),
        resource in resource(),
    ) {
        prop_assume!(principal.authority_id != resource.authority_id());
        let decision = common::authorizer().authorize(&principal, &action, &resource);
        prop_assert!(!decision.allowed, "{principal:?} {action} {resource:?} -> {decision:?}");
    }

    /// The same request moved to another authority is denied, whatever it
    /// was at home.
    #[test]
    fn moving_the_target_to_another_authority_denies(
        principal in principal(),
        action in action(),
        resource in resource(),
        other in "la-[c-z]{1,3}",
    ) {
        prop_assume!(principal.authority_id != other);
        let moved = match resource {
            Resource::Authority(_) => Resource::Authority(other),
            Resource::Record(record) => Resource::Record(Record { authority_id: other, ..record }),
        };
        let decision = common::authorizer().authorize(&principal, &action, &moved);
        prop_assert!(!decision.allowed, "{decision:?}");
    }
}
