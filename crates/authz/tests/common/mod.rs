//! Shared fixtures: the bundled policies, a caller per role and a target per
//! relation: `member`, `agency_member`, `former_member`, `non_member`,
//! `other_authority`, `authority_level` (the authority as a whole) and
//! `excluded` (a member excluded from the conference's minutes).

#![allow(dead_code)]

use std::sync::OnceLock;

use cpc_authz::{
    Authorizer, CaseRelation, ConferenceRelation, EscalationRelation, EscalationStage, Principal,
    Record, Resource, Role, bundled_policy_dir,
};

pub const AUTHORITY: &str = "la-gloucestershire";
pub const OTHER_AUTHORITY: &str = "la-leeds";
pub const POLICE: &str = "agency-gloucestershire-constabulary";
pub const SOCIAL_CARE: &str = "agency-gloucestershire-csc";
pub const HEALTH: &str = "agency-gloucestershire-nhs";

/// The bundled policies, loaded once per test binary.
pub fn authorizer() -> &'static Authorizer {
    static AUTHZ: OnceLock<Authorizer> = OnceLock::new();
    AUTHZ.get_or_init(|| match Authorizer::load(&bundled_policy_dir()) {
        Ok(authz) => authz,
        Err(e) => panic!("the bundled policies do not load:\n{e}"),
    })
}

/// A caller holding one role: a service identity for `integration`, a
/// person otherwise (police for agency practitioners, children's social
/// care for local authority staff).
pub fn principal(role: Role) -> Principal {
    match role {
        Role::Integration => Principal::service("svc-liquidlogic", AUTHORITY, [role]),
        Role::CpcService => Principal::service("cpc-scheduling", AUTHORITY, [role]),
        Role::AgencyPractitioner => {
            Principal::person("p-caller", AUTHORITY, [role], Some(POLICE.to_owned()))
        }
        _ => Principal::person("p-caller", AUTHORITY, [role], Some(SOCIAL_CARE.to_owned())),
    }
}

/// A record of a case and conference, with an escalation at `stage`.
pub fn record(authority: &str, case: CaseRelation, excluded: Vec<String>) -> Resource {
    Resource::Record(Record {
        authority_id: authority.to_owned(),
        case: Some(case),
        conference: Some(ConferenceRelation {
            conference_id: "conf-1".to_owned(),
            minutes_excluded: excluded,
            chair: None,
        }),
        escalation: Some(EscalationRelation {
            escalation_id: "esc-1".to_owned(),
            stage: EscalationStage::TeamManager,
            raised_by: None,
        }),
    })
}

fn case(members: &[&str], agencies: &[&str], former: &[&str]) -> CaseRelation {
    let owned = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect();
    CaseRelation {
        case_id: "case-1".to_owned(),
        current_members: owned(members),
        current_member_agencies: owned(agencies),
        former_members: owned(former),
    }
}

/// The target standing in `relation` to `caller`.
pub fn resource(relation: &str, caller: &Principal) -> Resource {
    let me = caller.subject.as_str();
    let my_agency = caller.agency.as_deref().unwrap_or("agency-none");
    match relation {
        "member" => record(
            AUTHORITY,
            case(&[me, "p-other"], &[HEALTH], &["p-old"]),
            vec![],
        ),
        "agency_member" => record(
            AUTHORITY,
            case(&["p-other"], &[my_agency, HEALTH], &[]),
            vec![],
        ),
        "former_member" => record(AUTHORITY, case(&["p-other"], &[my_agency], &[me]), vec![]),
        "non_member" => record(AUTHORITY, case(&["p-other"], &[HEALTH], &["p-old"]), vec![]),
        "other_authority" => record(
            OTHER_AUTHORITY,
            case(&[me, "p-other"], &[my_agency], &[]),
            vec![],
        ),
        "authority_level" => Resource::Authority(AUTHORITY.to_owned()),
        "excluded" => record(
            AUTHORITY,
            case(&[me, "p-other"], &[HEALTH], &[]),
            vec![me.to_owned()],
        ),
        other => panic!("unknown relation `{other}`"),
    }
}
