//! Loading, validation and the rules that must win: deny by default, the
//! authority boundary, minutes exclusion, former members, escalation stage
//! owners, failing closed, hot reload.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod common;

use std::path::PathBuf;

use cpc_authz::{
    AUTHORITY_GUARD, Authorizer, AuthzError, CaseRelation, DEFAULT_DENY, EscalationRelation,
    EscalationStage, FAIL_CLOSED, Principal, Record, Resource, Role, SharedAuthorizer,
    bundled_policy_dir,
};

const GET_CHILD: &str = "/cpc.cases.v1.CasesService/GetChild";
const END_PLAN: &str = "/cpc.cases.v1.CasesService/EndPlan";
const GET_MINUTES: &str = "/cpc.reporting.v1.ReportingService/GetMinutes";
const ADVANCE: &str = "/cpc.escalation.v1.EscalationService/AdvanceEscalation";

fn schema() -> String {
    std::fs::read_to_string(bundled_policy_dir().join("cpc.cedarschema")).expect("read schema")
}

fn policy_text(file: &str) -> String {
    std::fs::read_to_string(bundled_policy_dir().join(file)).expect("read policy")
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

// --- Loading and validation -------------------------------------------------

#[test]
fn bundled_policies_load_with_an_id_for_every_policy() {
    let authz = common::authorizer();
    let ids: Vec<String> = authz.policy_ids().into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "agency-practitioner-case-member",
            "agency-practitioner-list-own-cases",
            "allocated-chair-decides-exclusions",
            "auditor-never-changes-data",
            "auditor-read-audit",
            "authority-boundary",
            "business-support-scheduling",
            "chair-authority-wide",
            "cpc-services-follow-feeds",
            "escalation-raiser",
            "escalation-stage-owner",
            "former-member-agency-practitioner",
            "integration-record-system",
            "managers-authority-wide",
            "minutes-exclusion",
            "recent-sign-in-for-returns",
            "senior-managers-authority-wide",
            "social-worker-authority-level",
            "social-worker-case-member",
            "social-worker-child-access-log",
        ]
    );
    assert_eq!(authz.dir(), Some(bundled_policy_dir().as_path()));
}

#[test]
fn a_policy_using_an_unknown_attribute_refuses_to_load() {
    let bad = "// typo: `agencey`\n@id(\"police-see-everything\")\npermit (principal is Person, action, resource)\nwhen { principal.agencey == Agency::\"police\" };\n";
    let err = Authorizer::from_sources(&schema(), &[("90-bad.cedar", bad)]).unwrap_err();
    let AuthzError::Validation { errors } = &err else {
        panic!("expected a validation error, got {err}");
    };
    assert_eq!(
        errors,
        &ids(&[
            "error: 90-bad.cedar:4:8: for policy `police-see-everything`, attribute `agencey` on entity type `Person` not found (help: did you mean `agency`?)"
        ])
    );
}

#[test]
fn an_unknown_role_or_action_group_refuses_to_load() {
    let bad = "@id(\"typos\")\npermit (principal in Role::\"tem_manager\", action in Action::\"ReadCase\", resource);\n";
    let err = Authorizer::from_sources(&schema(), &[("bad.cedar", bad)]).unwrap_err();
    assert!(
        err.to_string().contains(
            "bad.cedar:2:22: for policy `typos`: entity `Role::\"tem_manager\"` is of an enumerated entity type"
        ),
        "{err}"
    );
    let bad = "@id(\"typos\")\npermit (principal, action in Action::\"ReadCasee\", resource);\n";
    let err = Authorizer::from_sources(&schema(), &[("bad.cedar", bad)]).unwrap_err();
    assert!(
        err.to_string()
            .contains("for policy `typos`, unrecognized action `Action::\"ReadCasee\"` (help: did you mean `Action::\"ReadCase\"`?)"),
        "{err}"
    );
}

#[test]
fn a_policy_that_can_never_apply_refuses_to_load() {
    let bad = "@id(\"never\")\npermit (principal, action, resource is AuthorityLevel) when { resource has case };\n";
    let err = Authorizer::from_sources(&schema(), &[("never.cedar", bad)]).unwrap_err();
    assert!(
        err.to_string()
            .contains("warning: never.cedar:1:1: for policy `never`, policy is impossible"),
        "{err}"
    );
}

#[test]
fn a_syntax_error_names_file_line_and_column() {
    let bad = "@id(\"broken\")\npermit (principal, action, resource)\nwhen { 1 + };\n";
    let err = Authorizer::from_sources(&schema(), &[("broken.cedar", bad)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy file broken.cedar does not parse:\nbroken.cedar:3:12: unexpected token `}`"
    );
}

#[test]
fn every_policy_needs_a_unique_kebab_case_id() {
    let no_id = "permit (principal, action, resource);";
    let err = Authorizer::from_sources(&schema(), &[("a.cedar", no_id)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.cedar: the policy starting `permit (principal, action, resource);` has no @id(\"...\") annotation; every policy needs one, so decisions and audit records can name it"
    );

    let one = "@id(\"same\") permit (principal in Role::\"auditor\", action in Action::\"ReadAudit\", resource);";
    let err =
        Authorizer::from_sources(&schema(), &[("a.cedar", one), ("b.cedar", one)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "policy id `same` is used twice: in a.cedar and in b.cedar"
    );

    let shouting =
        "@id(\"Team_Manager\") permit (principal, action in Action::\"ReadAudit\", resource);";
    let err = Authorizer::from_sources(&schema(), &[("a.cedar", shouting)]).unwrap_err();
    assert!(err.to_string().contains("must be kebab-case"), "{err}");

    let reserved =
        "@id(\"default-deny\") permit (principal, action in Action::\"ReadAudit\", resource);";
    let err = Authorizer::from_sources(&schema(), &[("a.cedar", reserved)]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "a.cedar: policy id `default-deny` is reserved for the engine's own decisions"
    );
}

#[test]
fn templates_and_empty_policy_sets_are_refused() {
    let template =
        "@id(\"t\") permit (principal == ?principal, action in Action::\"ReadAudit\", resource);";
    let err = Authorizer::from_sources(&schema(), &[("t.cedar", template)]).unwrap_err();
    assert!(
        err.to_string().contains("templates are not supported"),
        "{err}"
    );

    let err = Authorizer::from_sources(&schema(), &[("empty.cedar", "// nothing\n")]).unwrap_err();
    assert!(matches!(err, AuthzError::NoPolicies { .. }), "{err}");
}

#[test]
fn a_broken_schema_refuses_to_load() {
    let policy = "@id(\"x\") permit (principal, action, resource);";
    let err = Authorizer::from_sources(
        "entity Person { authority: Authorty };",
        &[("x.cedar", policy)],
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with("schema schema.cedarschema is invalid:\nschema.cedarschema:1:28: failed to resolve type: Authorty"),
        "{err}"
    );
}

#[test]
fn a_folder_needs_exactly_one_schema() {
    let dir = TempDir::new("no-schema");
    std::fs::write(
        dir.0.join("a.cedar"),
        "@id(\"x\") permit (principal, action, resource);",
    )
    .unwrap();
    let err = Authorizer::load(&dir.0).unwrap_err();
    assert!(matches!(err, AuthzError::MissingSchema { .. }), "{err}");

    std::fs::write(dir.0.join("one.cedarschema"), schema()).unwrap();
    std::fs::write(dir.0.join("two.cedarschema"), schema()).unwrap();
    let err = Authorizer::load(&dir.0).unwrap_err();
    assert!(matches!(err, AuthzError::MultipleSchemas { .. }), "{err}");

    let err = Authorizer::load(&dir.0.join("missing")).unwrap_err();
    assert!(matches!(err, AuthzError::Io { .. }), "{err}");
}

// --- Deny by default --------------------------------------------------------

#[test]
fn deny_by_default_for_an_action_no_policy_permits() {
    // The real schema with only the social worker policies: nothing permits
    // EndPlan, so even a team manager is denied, by no policy.
    let authz = Authorizer::from_sources(
        &schema(),
        &[(
            "10-social-workers.cedar",
            &policy_text("10-social-workers.cedar"),
        )],
    )
    .unwrap();
    let manager = common::principal(Role::TeamManager);
    let decision = authz.authorize(&manager, END_PLAN, &common::resource("member", &manager));
    assert!(!decision.allowed);
    assert_eq!(decision.policy_ids, ids(&[DEFAULT_DENY]));
    assert!(decision.errors.is_empty());
}

#[test]
fn deny_by_default_for_a_role_no_policy_mentions() {
    let support = common::principal(Role::BusinessSupport);
    let decision =
        common::authorizer().authorize(&support, GET_CHILD, &common::resource("member", &support));
    assert!(!decision.allowed);
    assert_eq!(decision.policy_ids, ids(&[DEFAULT_DENY]));
}

#[test]
fn a_caller_with_no_roles_is_denied() {
    let nobody = Principal::person("p-caller", common::AUTHORITY, [], None);
    let decision =
        common::authorizer().authorize(&nobody, GET_CHILD, &common::resource("member", &nobody));
    assert_eq!(decision.policy_ids, ids(&[DEFAULT_DENY]));
    assert!(!decision.allowed);
}

#[test]
fn unknown_actions_groups_and_empty_ids_are_denied_with_a_reason() {
    let authz = common::authorizer();
    let manager = common::principal(Role::HeadOfService);
    let target = common::resource("member", &manager);
    for action in [
        "/cpc.cases.v1.CasesService/DeleteChild",
        "ReadCase",
        "",
        "GetChild",
    ] {
        let decision = authz.authorize(&manager, action, &target);
        assert!(!decision.allowed, "{action}");
        assert_eq!(decision.policy_ids, ids(&[DEFAULT_DENY]), "{action}");
        assert!(
            decision.errors[0].starts_with("invalid request"),
            "{action}: {decision:?}"
        );
    }

    let mut anonymous = manager.clone();
    anonymous.subject.clear();
    let decision = authz.authorize(&anonymous, GET_CHILD, &target);
    assert_eq!(
        decision,
        cpc_authz::Decision {
            allowed: false,
            policy_ids: ids(&[DEFAULT_DENY]),
            errors: ids(&["the caller has no subject id"]),
            policy_set: Some(authz.digest().to_owned()),
            advice: None,
        }
    );

    let mut stateless = manager;
    stateless.authority_id.clear();
    let decision = authz.authorize(&stateless, GET_CHILD, &Resource::Authority(String::new()));
    assert_eq!(
        decision.errors,
        ids(&["the caller has no authority", "the target has no authority"])
    );
    assert!(!decision.allowed);
}

// --- Forbids win ------------------------------------------------------------

#[test]
fn the_authority_boundary_beats_every_permit() {
    let authz = common::authorizer();
    for role in Role::ALL {
        let caller = common::principal(role);
        for target in [
            common::resource("other_authority", &caller),
            Resource::Authority(common::OTHER_AUTHORITY.to_owned()),
        ] {
            for action in authz.rpc_actions() {
                let decision = authz.authorize(&caller, &action, &target);
                assert!(!decision.allowed, "{role} {action}");
                assert!(
                    decision
                        .policy_ids
                        .contains(&"authority-boundary".to_owned()),
                    "{role} {action}: {decision:?}"
                );
            }
        }
    }
    // A head of service who would be permitted at home is refused, by the
    // boundary, in another authority.
    let head = common::principal(Role::HeadOfService);
    let home = authz.authorize(&head, GET_CHILD, &common::resource("member", &head));
    assert_eq!(home.policy_ids, ids(&["managers-authority-wide"]));
    let away = authz.authorize(
        &head,
        GET_CHILD,
        &common::resource("other_authority", &head),
    );
    assert_eq!(away.policy_ids, ids(&["authority-boundary"]));
}

#[test]
fn the_built_in_guard_holds_the_boundary_without_the_policy() {
    // Policies with a permit for everything and no boundary forbid.
    let open = "@id(\"open\") permit (principal, action, resource);";
    let authz = Authorizer::from_sources(&schema(), &[("open.cedar", open)]).unwrap();
    let caller = common::principal(Role::SocialWorker);
    let home = authz.authorize(&caller, GET_CHILD, &common::resource("non_member", &caller));
    assert!(home.allowed);
    let away = authz.authorize(
        &caller,
        GET_CHILD,
        &common::resource("other_authority", &caller),
    );
    assert!(!away.allowed);
    assert_eq!(away.policy_ids, ids(&[AUTHORITY_GUARD]));
    assert_eq!(away.errors.len(), 1);
}

#[test]
fn minutes_exclusion_beats_every_permit() {
    let authz = common::authorizer();
    let minutes_calls: Vec<String> = authz
        .rpc_actions()
        .into_iter()
        .filter(|a| {
            authz
                .action_groups(a)
                .is_some_and(|g| g.contains("Minutes"))
        })
        .collect();
    assert_eq!(minutes_calls.len(), 8, "{minutes_calls:?}");
    for role in Role::ALL {
        let caller = common::principal(role);
        let excluded = common::resource("excluded", &caller);
        for action in &minutes_calls {
            assert!(
                !authz.authorize(&caller, action, &excluded).allowed,
                "{role} {action}"
            );
        }
    }
    // The chair may read the minutes of a conference, unless excluded from
    // that conference's minutes; the exclusion names the deciding policy.
    let chair = common::principal(Role::ConferenceChair);
    let allowed = authz.authorize(&chair, GET_MINUTES, &common::resource("member", &chair));
    assert_eq!(allowed.policy_ids, ids(&["chair-authority-wide"]));
    let excluded = authz.authorize(&chair, GET_MINUTES, &common::resource("excluded", &chair));
    assert!(!excluded.allowed);
    assert_eq!(excluded.policy_ids, ids(&["minutes-exclusion"]));
    // ... and the exclusion is about minutes only.
    assert!(
        authz
            .authorize(&chair, GET_CHILD, &common::resource("excluded", &chair))
            .allowed
    );
}

#[test]
fn once_a_chair_is_allocated_only_they_decide_who_is_excluded_from_attending() {
    const EXCLUDE: &str = "/cpc.scheduling.v1.AttendanceService/ExcludeFromConference";
    const LIFT: &str = "/cpc.scheduling.v1.AttendanceService/LiftConferenceExclusion";
    let authz = common::authorizer();
    let chair = common::principal(Role::ConferenceChair);
    let chaired_by = |person: Option<&str>| {
        let mut resource = common::resource("member", &chair);
        if let Resource::Record(record) = &mut resource {
            record.conference.as_mut().unwrap().chair = person.map(str::to_owned);
        }
        resource
    };
    for action in [EXCLUDE, LIFT] {
        // Before a chair is allocated, any chair of the authority; once one
        // is, that chair alone.
        let unallocated = authz.authorize(&chair, action, &chaired_by(None));
        assert!(unallocated.allowed, "{action}");
        assert!(
            authz
                .authorize(&chair, action, &chaired_by(Some("p-caller")))
                .allowed
        );
        let other = authz.authorize(&chair, action, &chaired_by(Some("p-other-chair")));
        assert!(!other.allowed, "{action}");
        assert_eq!(
            other.policy_ids,
            ids(&["allocated-chair-decides-exclusions"])
        );
    }
    // The rest of the chair's work on the conference is not theirs alone.
    assert!(
        authz
            .authorize(
                &chair,
                "/cpc.scheduling.v1.AttendanceService/RecordAttendance",
                &chaired_by(Some("p-other-chair"))
            )
            .allowed
    );
}

#[test]
fn a_former_member_is_refused_even_while_their_agency_is_a_member() {
    let authz = common::authorizer();
    let officer = common::principal(Role::AgencyPractitioner);
    let via_agency = authz.authorize(
        &officer,
        GET_CHILD,
        &common::resource("agency_member", &officer),
    );
    assert_eq!(
        via_agency.policy_ids,
        ids(&["agency-practitioner-case-member"])
    );
    let former = authz.authorize(
        &officer,
        GET_CHILD,
        &common::resource("former_member", &officer),
    );
    assert!(!former.allowed);
    assert_eq!(
        former.policy_ids,
        ids(&["former-member-agency-practitioner"])
    );
}

#[test]
fn auditors_never_change_data_even_with_another_role() {
    let authz = common::authorizer();
    let both = Principal::person(
        "p-caller",
        common::AUTHORITY,
        [Role::Auditor, Role::ServiceManager],
        None,
    );
    let target = common::resource("member", &both);
    assert!(authz.authorize(&both, GET_CHILD, &target).allowed);
    let decision = authz.authorize(&both, END_PLAN, &target);
    assert!(!decision.allowed);
    assert_eq!(decision.policy_ids, ids(&["auditor-never-changes-data"]));
}

#[test]
fn the_census_return_needs_a_sign_in_within_the_last_15_minutes() {
    let authz = common::authorizer();
    let census = "/cpc.reporting.v1.ReportingService/GenerateCinCensus";
    let authority = Resource::Authority(common::AUTHORITY.to_owned());
    let manager = Principal::person("p-caller", common::AUTHORITY, [Role::ServiceManager], None);
    for minutes in [0, 15] {
        let fresh = manager.clone().signed_in(minutes);
        let decision = authz.authorize(&fresh, census, &authority);
        assert!(decision.allowed, "{minutes}: {decision:?}");
        assert_eq!(decision.advice, None);
    }
    // Too long ago, or not said: refused, telling the caller what to do.
    for stale in [manager.clone().signed_in(16), manager.clone()] {
        let decision = authz.authorize(&stale, census, &authority);
        assert!(!decision.allowed);
        assert_eq!(decision.policy_ids, ids(&["recent-sign-in-for-returns"]));
        assert_eq!(
            decision.advice.as_deref(),
            Some("this call needs a sign-in within the last 15 minutes; sign in again and retry")
        );
    }
    // Other calls do not ask, and a refusal by a forbid without advice has none.
    let stale = manager.signed_in(600);
    let target = common::resource("member", &stale);
    assert!(authz.authorize(&stale, GET_CHILD, &target).allowed);
    let auditor = Principal::person("p-caller", common::AUTHORITY, [Role::Auditor], None);
    let decision = authz.authorize(&auditor, END_PLAN, &common::resource("member", &auditor));
    assert_eq!(
        (decision.policy_ids, decision.advice),
        (ids(&["auditor-never-changes-data"]), None)
    );
}

#[test]
fn only_a_service_gets_the_integration_policy() {
    let authz = common::authorizer();
    let create = "/cpc.cases.v1.CasesService/CreateCase";
    let target = Resource::Authority(common::AUTHORITY.to_owned());
    let service = common::principal(Role::Integration);
    assert_eq!(
        authz.authorize(&service, create, &target).policy_ids,
        ids(&["integration-record-system"])
    );
    let person = Principal::person("p-caller", common::AUTHORITY, [Role::Integration], None);
    assert!(!authz.authorize(&person, create, &target).allowed);
    // A service holding a staff role gets nothing from it.
    let sneaky = Principal::service("svc", common::AUTHORITY, [Role::HeadOfService]);
    assert!(
        !authz
            .authorize(&sneaky, GET_CHILD, &common::resource("member", &sneaky))
            .allowed
    );
}

#[test]
fn each_escalation_stage_is_progressed_by_its_owner_role() {
    let authz = common::authorizer();
    let owner = |stage| match stage {
        EscalationStage::ChairMidwayReview => Role::ConferenceChair,
        EscalationStage::TeamManager => Role::TeamManager,
        EscalationStage::ServiceManager => Role::ServiceManager,
        EscalationStage::HeadOfService | EscalationStage::SafeguardingPartnership => {
            Role::HeadOfService
        }
    };
    for stage in EscalationStage::ALL {
        let target = Resource::Record(Record {
            authority_id: common::AUTHORITY.to_owned(),
            case: Some(CaseRelation::default()),
            conference: None,
            escalation: Some(EscalationRelation {
                escalation_id: "esc-1".to_owned(),
                stage,
                raised_by: None,
            }),
        });
        for role in Role::ALL {
            let decision = authz.authorize(&common::principal(role), ADVANCE, &target);
            assert_eq!(
                decision.allowed,
                role == owner(stage),
                "{} by {role}",
                stage.as_str()
            );
            if decision.allowed {
                assert_eq!(decision.policy_ids, ids(&["escalation-stage-owner"]));
            }
        }
    }
}

#[test]
fn whoever_raised_an_escalation_progresses_it_at_any_stage_while_they_may_raise_one() {
    let authz = common::authorizer();
    // Principals are "p-caller" (common::principal).
    let raised_by = |raiser: &str, stage| {
        Resource::Record(Record {
            authority_id: common::AUTHORITY.to_owned(),
            case: Some(CaseRelation::default()),
            conference: None,
            escalation: Some(EscalationRelation {
                escalation_id: "esc-1".to_owned(),
                stage,
                raised_by: Some(raiser.to_owned()),
            }),
        })
    };
    let chair = common::principal(Role::ConferenceChair);
    for stage in EscalationStage::ALL {
        let theirs = authz.authorize(&chair, ADVANCE, &raised_by("p-caller", stage));
        assert!(theirs.allowed, "{}", stage.as_str());
        if stage != EscalationStage::ChairMidwayReview {
            assert_eq!(theirs.policy_ids, ids(&["escalation-raiser"]));
        }
    }
    // Another's escalation at a stage not the chair's: no.
    let others = raised_by("p-other", EscalationStage::ServiceManager);
    assert!(!authz.authorize(&chair, ADVANCE, &others).allowed);
    // A raiser who no longer holds a role that may raise one: no.
    let moved_on = common::principal(Role::SocialWorker);
    let theirs = raised_by("p-caller", EscalationStage::ServiceManager);
    assert!(!authz.authorize(&moved_on, ADVANCE, &theirs).allowed);
}

#[test]
fn evaluation_errors_fail_closed() {
    // The forbid overflows when evaluated, so Cedar skips it and the permit
    // alone would allow: the engine denies instead.
    let policies = "@id(\"open\") permit (principal, action, resource);\n\
        @id(\"overflowing-forbid\") forbid (principal, action, resource) when { 9223372036854775807 + 1 > 0 };";
    let authz = Authorizer::from_sources(&schema(), &[("p.cedar", policies)]).unwrap();
    let caller = common::principal(Role::SocialWorker);
    let decision = authz.authorize(&caller, GET_CHILD, &common::resource("member", &caller));
    assert!(!decision.allowed);
    assert_eq!(decision.policy_ids, ids(&[FAIL_CLOSED]));
    assert!(
        decision.errors[0].contains("overflowing-forbid"),
        "{decision:?}"
    );
}

// --- Hot reload -------------------------------------------------------------

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("cpc-authz-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn reload_swaps_in_valid_policies_and_keeps_the_old_ones_on_error() {
    let dir = TempDir::new("reload");
    for entry in std::fs::read_dir(bundled_policy_dir()).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.0.join(path.file_name().unwrap())).unwrap();
    }
    let shared = SharedAuthorizer::new(Authorizer::load(&dir.0).unwrap());
    let support = common::principal(Role::BusinessSupport);
    let target = common::resource("member", &support);
    assert!(!shared.authorize(&support, GET_CHILD, &target).allowed);

    // A broken edit: refused, the old policies stay in force.
    let file = dir.0.join("30-business-support.cedar");
    let good = std::fs::read_to_string(&file).unwrap();
    std::fs::write(
        &file,
        good.replace("Action::\"Schedule\"", "Action::\"Shedule\""),
    )
    .unwrap();
    let err = shared.reload().unwrap_err();
    assert!(
        err.to_string()
            .contains("unrecognized action `Action::\"Shedule\"`"),
        "{err}"
    );
    let booking = "/cpc.scheduling.v1.ConferencesService/BookConference";
    assert!(shared.authorize(&support, booking, &target).allowed);

    // A valid edit: business support may now read cases.
    std::fs::write(
        &file,
        good.replace(
            "[Action::\"ReadSchedule\", Action::\"Schedule\"]",
            "[Action::\"ReadSchedule\", Action::\"Schedule\", Action::\"ReadCase\"]",
        ),
    )
    .unwrap();
    let ids = shared.reload().unwrap();
    assert!(ids.contains(&"business-support-scheduling".to_owned()));
    assert!(shared.authorize(&support, GET_CHILD, &target).allowed);

    // An authorizer built from texts has no folder to reload.
    let inline = Authorizer::from_sources(
        &schema(),
        &[(
            "p.cedar",
            "@id(\"p\") permit (principal, action, resource);",
        )],
    )
    .unwrap();
    assert!(matches!(inline.reload(), Err(AuthzError::NotReloadable)));
}

// --- Which text decided -------------------------------------------------------

/// The bundled schema with these `(file name, text)` policies.
fn from_files(files: &[(String, String)]) -> Authorizer {
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    Authorizer::from_sources(&schema(), &files).unwrap()
}

#[test]
fn every_decision_names_the_digest_of_the_texts_that_made_it() {
    let dir = bundled_policy_dir();
    let authz = Authorizer::load(&dir).unwrap();
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "cedar"))
        .map(|path| {
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    let expected = cpc_authz::policy_set_digest(
        &schema(),
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
    );
    assert_eq!(authz.digest(), expected);
    assert_eq!(authz.digest().len(), 64);
    // The same texts from anywhere give the same digest.
    let inline = from_files(&files);
    assert_eq!(inline.digest(), expected);

    // Allowed or denied, by a policy or by default, the decision names it.
    let manager = Principal::person("tm-1", common::AUTHORITY, [Role::TeamManager], None);
    let mut decided = Vec::new();
    for authority in [common::AUTHORITY, common::OTHER_AUTHORITY] {
        let decision = authz.authorize(
            &manager,
            "/cpc.cases.v1.CasesService/ListCases",
            &Resource::Authority(authority.to_owned()),
        );
        assert_eq!(decision.policy_set.as_deref(), Some(expected.as_str()));
        decided.push(decision.allowed);
    }
    assert_eq!(decided, [true, false]);

    // An edit to one policy's text is another set.
    let mut edited = files.clone();
    edited[0]
        .1
        .push_str("\n// reviewed by the information governance board\n");
    let edited = from_files(&edited);
    assert_ne!(edited.digest(), expected);
}
