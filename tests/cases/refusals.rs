//! Every refusal a caller can meet, with the status code and detail they
//! can act on.

use cpc_proto::audit::v1 as audit;
use cpc_proto::audit::v1::audit_service_client::AuditServiceClient;
use cpc_proto::cases::v1 as pb;
use tonic::Code;
use tonic_types::StatusExt as _;
use uuid::Uuid;

use crate::journey::register;
use crate::support::*;

#[tokio::test]
async fn bad_input_names_every_bad_field() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let mut bad = child("", "C2001", "Jamie");
    bad.nhs_number = "943 476 5918".into(); // check digit wrong
    bad.upn = "A95000017830X".into();
    bad.birth_date = pd(2019, 2, 30);
    let err = f
        .client
        .create_child(sw.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(bad),
        }))
        .await
        .unwrap_err();
    let mut fields = bad_fields(&err);
    fields.sort();
    assert_eq!(
        fields,
        ["child.birth_date", "child.nhs_number", "child.upn"]
    );

    // Date order: a referral closed before it opened.
    let child = register(&mut f, "C2002").await;
    let episode = f
        .client
        .open_cin_episode(sw.req(referral(&child.id)))
        .await
        .unwrap()
        .into_inner()
        .cin_episode
        .unwrap();
    let err = f
        .client
        .close_cin_episode(sw.req(pb::CloseCinEpisodeRequest {
            cin_episode_id: episode.id.clone(),
            version: episode.version,
            closure_date: pd(2025, 5, 1),
            closure_reason: pb::ClosureReason::Rc7ServicesCeased as i32,
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["closure_date"], "{err:?}");

    // A malformed id is a bad field too, not a lookup.
    let err = f
        .client
        .get_child(sw.req(pb::GetChildRequest {
            child_id: "not-a-uuid".into(),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["child_id"]);

    // A NUL character, which Postgres cannot store, is a bad field rather
    // than an INTERNAL failure of the write (the hostile-message property
    // test found it in a case's external reference).
    let err = f
        .client
        .create_case(sw.req(pb::CreateCaseRequest {
            request_id: rid(),
            r#case: Some(pb::Case {
                authority_id: AUTHORITY.into(),
                display_name: "Smith family".into(),
                external_references: vec![pb::ExternalReference {
                    system: "LCS".into(),
                    id: "\0".into(),
                }],
                ..Default::default()
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&err), ["case.external_references[0].id"]);
    f.stop().await;
}

#[tokio::test]
async fn unknown_ids_stale_versions_and_illegal_transitions() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let manager = f.team_manager();
    let err = f
        .client
        .get_child(manager.req(pb::GetChildRequest {
            child_id: Uuid::new_v4().to_string(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let child = register(&mut f, "C2101").await;
    let mut first = child.clone();
    first.given_names = "Jamie-Lee".into();
    let updated = f
        .client
        .update_child(sw.req(pb::UpdateChildRequest {
            child: Some(first),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    assert_eq!(updated.version, child.version + 1);
    // A second writer still holding the first version is refused.
    let mut stale = child.clone();
    stale.given_names = "James".into();
    let err = f
        .client
        .update_child(sw.req(pb::UpdateChildRequest {
            child: Some(stale),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["given_names".into()],
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted, "{err:?}");

    // Completing an enquiry twice is an illegal transition.
    let enquiry = crate::journey::up_to_icpc(&mut f, &child).await;
    let err = f
        .client
        .complete_section47_enquiry(sw.req(pb::CompleteSection47EnquiryRequest {
            enquiry_id: enquiry.id.clone(),
            version: enquiry.version,
            completion_date: pd(2025, 6, 21),
            outcome: pb::Section47Outcome::IcpcRequired as i32,
            icpc_not_required_reason: String::new(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    f.stop().await;
}

#[tokio::test]
async fn a_retried_create_returns_the_first_result() {
    let mut f = Fixture::start().await;
    let sw = f.social_worker();
    let request = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(child("", "C2201", "Jamie")),
    };
    let first = f
        .client
        .create_child(sw.req(request.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = f
        .client
        .create_child(sw.req(request.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(first, again);
    assert_eq!(f.children_listed(&sw).await.len(), 1);

    // The same request from another caller is refused, not answered with
    // the first caller's child (and the case they were made a member of).
    let colleague = f.person(
        OTHER_WORKER,
        AUTHORITY,
        cpc_identity::Role::SocialWorker,
        Some(csc()),
    );
    let err = f
        .client
        .create_child(colleague.req(request.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    assert!(err.message().contains("another caller"), "{err:?}");
    assert!(f.children_listed(&colleague).await.is_empty());

    // The same request id with a different request is refused.
    let mut changed = request;
    changed.child.as_mut().unwrap().given_names = "Other".into();
    let err = f.client.create_child(sw.req(changed)).await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    f.stop().await;
}

#[tokio::test]
async fn no_credentials_and_other_authorities() {
    let mut f = Fixture::start().await;
    let child = register(&mut f, "C2301").await;
    let err = f
        .client
        .get_child(pb::GetChildRequest {
            child_id: child.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    // A person's token may repeat its own authority in x-cpc-authority (the
    // header multi-authority services name theirs in), never another.
    let sw = f.social_worker();
    let acting_for = |authority: &str| {
        let mut request = sw.req(pb::GetChildRequest {
            child_id: child.id.clone(),
        });
        request
            .metadata_mut()
            .insert("x-cpc-authority", authority.parse().unwrap());
        request
    };
    f.client.get_child(acting_for(AUTHORITY)).await.unwrap();
    let err = f
        .client
        .get_child(acting_for(OTHER_AUTHORITY))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);

    // Another authority's manager: the child does not exist for them.
    let elsewhere = f.person(
        TEAM_MANAGER,
        OTHER_AUTHORITY,
        cpc_identity::Role::TeamManager,
        Some(csc()),
    );
    let err = f
        .client
        .get_child(elsewhere.req(pb::GetChildRequest {
            child_id: child.id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    // Nor the child's case by its id, nor a case no authority holds.
    let stranger_case = Uuid::new_v4().to_string();
    for case_id in [&child.case_id, &stranger_case] {
        let err = f
            .client
            .get_case(elsewhere.req(pb::GetCaseRequest {
                case_id: case_id.clone(),
            }))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::NotFound);
    }
    // Nor can they list this authority's children.
    let err = f
        .client
        .list_children(elsewhere.req(authority_children()))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);

    // Both attempts are in the log of the caller's own authority, the first
    // naming the id asked for; the record's own authority sees neither (its
    // log holds nothing of another authority's callers).
    let mut audit_client = AuditServiceClient::new(f.server.channel().await);
    let records = |authority: &str, id: u128| {
        let auditor = f.person(id, authority, cpc_identity::Role::Auditor, Some(csc()));
        auditor.req(audit::ListAccessRecordsRequest {
            service: "cases".into(),
            authority_id: authority.into(),
            person_id: Uuid::from_u128(TEAM_MANAGER).to_string(),
            page_size: 100,
            ..Default::default()
        })
    };
    let theirs = audit_client
        .list_access_records(records(OTHER_AUTHORITY, AUDITOR))
        .await
        .unwrap()
        .into_inner()
        .records;
    let attempts: Vec<(String, String, String)> = theirs
        .iter()
        .filter(|r| r.decision == audit::AccessDecision::Deny as i32)
        .map(|r| {
            (
                r.rpc_method.rsplit('/').next().unwrap().to_owned(),
                r.policy_id.clone(),
                r.reason.clone(),
            )
        })
        .collect();
    assert_eq!(attempts.len(), 4, "{attempts:?}");
    // Newest first.
    let methods: Vec<&str> = attempts.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(methods, ["ListChildren", "GetCase", "GetCase", "GetChild"]);
    assert_eq!(attempts[3].1, "cpc:record-not-in-callers-authority");
    // The policies' refusals name the policy set that decided; the rule in
    // code that a record not in the caller's authority is not found names
    // none.
    let bundled = cpc_authz::Authorizer::load(&cpc_authz::bundled_policy_dir()).unwrap();
    for r in theirs
        .iter()
        .filter(|r| r.decision == audit::AccessDecision::Deny as i32)
    {
        let by_rule = r.policy_id == "cpc:record-not-in-callers-authority";
        assert_eq!(
            r.policy_set,
            if by_rule { "" } else { bundled.digest() },
            "{}",
            r.policy_id
        );
    }
    assert!(attempts[3].2.contains(&child.id), "{:?}", attempts[3].2);
    // Each refusal for a record not found names it, kind and id.
    let named: Vec<(&str, &str)> = theirs
        .iter()
        .filter(|r| !r.resource_id.is_empty())
        .map(|r| (r.resource_type.as_str(), r.resource_id.as_str()))
        .collect();
    assert_eq!(
        named,
        [
            ("case", stranger_case.as_str()),
            ("case", child.case_id.as_str()),
            ("child", child.id.as_str()),
        ]
    );
    let ours = audit_client
        .list_access_records(records(AUTHORITY, AUDITOR + 1))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert!(
        ours.iter().all(|r| r.authority_id == AUTHORITY
            && !r.reason.contains(&child.id)
            && !r.reason.contains(&child.case_id)),
        "{ours:?}"
    );

    // Asked about the child itself, the authority holding it sees the
    // attempts on it and on its case by id (the refused calls could not
    // tell whose the ids were; the authority holding them can), and not the
    // attempt on a case it does not hold, for its auditor and for the
    // child's social worker alike.
    let about_child = |who: &As| who.req(crate::access_log::about_child("cases", &child.id));
    let auditor = f.person(
        AUDITOR + 1,
        AUTHORITY,
        cpc_identity::Role::Auditor,
        Some(csc()),
    );
    for who in [&auditor, &f.social_worker()] {
        let seen = audit_client
            .list_access_records(about_child(who))
            .await
            .unwrap()
            .into_inner()
            .records;
        let foreign: Vec<_> = seen
            .iter()
            .filter(|r| r.authority_id != AUTHORITY)
            .map(|r| {
                (
                    r.authority_id.as_str(),
                    r.rpc_method.rsplit('/').next().unwrap(),
                    r.policy_id.as_str(),
                    r.resource_id.as_str(),
                )
            })
            .collect();
        let refused = "cpc:record-not-in-callers-authority";
        assert_eq!(
            foreign,
            [
                (OTHER_AUTHORITY, "GetCase", refused, child.case_id.as_str()),
                (OTHER_AUTHORITY, "GetChild", refused, child.id.as_str()),
            ],
            "{seen:?}"
        );
    }

    // Asking for this authority's access records about its child is refused
    // at the boundary without this authority's records of the child (its
    // case, its members) being read: the refusal, in the caller's own log,
    // names the child asked about and no case.
    let err = audit_client
        .list_access_records(elsewhere.req(audit::ListAccessRecordsRequest {
            authority_id: AUTHORITY.into(),
            ..crate::access_log::about_child("cases", &child.id)
        }))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    let refusal = audit_client
        .list_access_records(records(OTHER_AUTHORITY, AUDITOR))
        .await
        .unwrap()
        .into_inner()
        .records
        .into_iter()
        .find(|r| r.rpc_method.ends_with("/ListAccessRecords"))
        .expect("the refusal is recorded");
    assert_eq!(refusal.decision, audit::AccessDecision::Deny as i32);
    assert_eq!(refusal.child_ids, std::slice::from_ref(&child.id));
    assert_eq!(refusal.case_ids, Vec::<String>::new());
    f.stop().await;
}

#[tokio::test]
async fn a_caller_over_the_rate_limit_is_told_when_to_retry() {
    let mut f = Fixture::start_with(|config| {
        config.limits.calls_per_minute_per_caller = std::num::NonZeroU32::new(60).unwrap();
        config.limits.burst_per_caller = std::num::NonZeroU32::new(5).unwrap();
    })
    .await;
    let child = register(&mut f, "C2401").await;
    let manager = f.team_manager();
    let get = |who: &As| {
        who.req(pb::GetChildRequest {
            child_id: child.id.clone(),
        })
    };
    for _ in 0..5 {
        f.client.get_child(get(&manager)).await.unwrap();
    }
    let err = f.client.get_child(get(&manager)).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let retry = err
        .get_error_details()
        .retry_info()
        .expect("RetryInfo")
        .retry_delay;
    let retry = retry.expect("a delay");
    assert!(retry > std::time::Duration::ZERO && retry <= std::time::Duration::from_secs(1));
    // Others are not held up by one caller's flood.
    let sw = f.social_worker();
    f.client.get_child(get(&sw)).await.unwrap();
    f.stop().await;
}
