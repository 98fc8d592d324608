//! The access matrix (`tests/access-matrix.csv`, the one table the gRPC
//! matrix tests also read): every cell against the bundled policies, and
//! every RPC in the contract covered.
//!
//! `CPC_WRITE_ACCESS_MATRIX=1` writes the policies' answers into the cells
//! instead of comparing, after a deliberate policy change; read the diff.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

#[path = "../../../tests/access_matrix.rs"]
#[allow(dead_code, reason = "shared with the gRPC matrix tests")]
mod access_matrix;
mod common;

use std::collections::BTreeSet;

use access_matrix::{Matrix, ROLE_COLUMNS, Relation, Row, Target};
use cpc_authz::{Authorizer, CaseRelation, Principal, Resource, Role};

/// Replying to an invitation that is not one's own is diary
/// administration: allowed only to those the policies let invite people
/// (and to services). The scheduling service decides it after the policies.
const REPLY: &str = "/cpc.scheduling.v1.AttendanceService/RespondToInvitation";
const RUN_THE_DIARY: &str = "/cpc.scheduling.v1.AttendanceService/CreateInvitation";

fn role(column: &str) -> Role {
    column.parse().unwrap()
}

/// The caller in `relation`: a person of the authority (another one for
/// `other_authority`), signed in just now as the gRPC matrix's tokens are,
/// or a service identity.
fn caller(role: Role, relation: Relation) -> Principal {
    let authority = if relation == Relation::OtherAuthority {
        common::OTHER_AUTHORITY
    } else {
        common::AUTHORITY
    };
    match role {
        Role::Integration | Role::CpcService => Principal::service("svc-caller", authority, [role]),
        Role::AgencyPractitioner => Principal::person(
            "p-caller",
            authority,
            [role],
            Some(common::POLICE.to_owned()),
        )
        .signed_in(0),
        _ => Principal::person(
            "p-caller",
            authority,
            [role],
            Some(common::SOCIAL_CARE.to_owned()),
        )
        .signed_in(0),
    }
}

/// The target of a row, as the table's header describes it. Services are
/// never members of a case, whatever the relation.
fn resource(target: Target, relation: Relation, caller: &Principal) -> Resource {
    match target {
        Target::Authority => return Resource::Authority(common::AUTHORITY.to_owned()),
        Target::OwnAuthority => return Resource::Authority(caller.authority_id.clone()),
        Target::Record => {}
    }
    let me = caller.subject.clone();
    let agency = caller.agency.clone().unwrap_or_default();
    let person = caller.agency.is_some();
    let mut case = CaseRelation {
        case_id: "case-1".to_owned(),
        current_members: vec!["p-other".to_owned()],
        current_member_agencies: vec![common::HEALTH.to_owned()],
        former_members: vec!["p-old".to_owned()],
    };
    let mut excluded = Vec::new();
    match relation {
        Relation::Member if person => case.current_members.push(me),
        Relation::AgencyMember if person => case.current_member_agencies.push(agency),
        Relation::FormerMember if person => case.former_members.push(me),
        Relation::Excluded if person => {
            case.current_members.push(me.clone());
            excluded.push(me);
        }
        _ => {}
    }
    common::record(common::AUTHORITY, case, excluded)
}

/// What the caller gets for `row` in `column`: the policies' answer, with
/// the service rule the table's header names.
fn answer(authz: &Authorizer, row: &Row, column: &str) -> (bool, Vec<String>) {
    let role = role(column);
    let caller = caller(role, row.relation);
    let target = resource(row.target, row.relation, &caller);
    let decision = authz.authorize(&caller, &row.rpc, &target);
    let mut allowed = decision.allowed;
    if allowed && row.rpc == REPLY && !role.is_service_role() {
        let own = Resource::Authority(caller.authority_id.clone());
        allowed = authz.authorize(&caller, RUN_THE_DIARY, &own).allowed;
    }
    (allowed, decision.errors)
}

#[test]
fn every_cell_of_the_access_matrix_is_what_the_policies_decide() {
    let authz = common::authorizer();
    let mut matrix = Matrix::load();
    let write = std::env::var_os("CPC_WRITE_ACCESS_MATRIX").is_some();
    let mut failures = Vec::new();
    let mut cells = 0;
    for row in &mut matrix.rows {
        for (i, column) in ROLE_COLUMNS.iter().enumerate() {
            cells += 1;
            let (allowed, errors) = answer(authz, row, column);
            if allowed && !errors.is_empty() {
                failures.push(format!(
                    "access-matrix.csv:{}: {} {column}: allowed with evaluation errors {errors:?}",
                    row.line, row.rpc
                ));
            }
            if write {
                row.allow[i] = allowed;
            } else if allowed != row.allow[i] {
                failures.push(format!(
                    "access-matrix.csv:{}: {} ({} {}) as {column}: the table says {}, the policies {}",
                    row.line,
                    row.rpc,
                    row.target.as_str(),
                    row.relation,
                    if row.allow[i] { "allow" } else { "deny" },
                    if allowed { "allow" } else { "deny" },
                ));
            }
        }
    }
    if write {
        std::fs::write(access_matrix::path(), matrix.render()).unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(cells > 4000, "the table is whole ({cells} cells)");
}

/// Every RPC in the contract has a row for every relation its target can
/// have, and every row names an RPC of the contract.
#[test]
fn the_access_matrix_covers_every_rpc_and_relation() {
    let authz = common::authorizer();
    let matrix = Matrix::load();
    let rpcs: BTreeSet<String> = authz.rpc_actions().into_iter().collect();
    let mut problems = Vec::new();
    for row in &matrix.rows {
        if !rpcs.contains(&row.rpc) {
            problems.push(format!(
                "access-matrix.csv:{}: {} is not an RPC of the contract",
                row.line, row.rpc
            ));
        }
    }
    for rpc in &rpcs {
        let targets: BTreeSet<Target> = matrix
            .rows
            .iter()
            .filter(|r| &r.rpc == rpc)
            .map(|r| r.target)
            .collect();
        if targets.is_empty() {
            problems.push(format!("{rpc}: no rows"));
        }
        let minutes = authz
            .action_groups(rpc)
            .is_some_and(|groups| groups.iter().any(|g| g.contains("Minutes")));
        for target in targets {
            let mut relations = vec![
                Relation::Member,
                Relation::FormerMember,
                Relation::NonMember,
                Relation::OtherAuthority,
            ];
            if target == Target::Record {
                relations.push(Relation::AgencyMember);
                if minutes {
                    relations.push(Relation::Excluded);
                }
            }
            for relation in relations {
                if matrix.row(rpc, target, relation).is_none() {
                    problems.push(format!("{rpc} {} {relation}: no row", target.as_str()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The table is not all one answer: the policies tell roles and relations
/// apart. A table that said `deny` everywhere would pass the gRPC tests of
/// a service that refused everything.
#[test]
fn the_access_matrix_tells_roles_and_relations_apart() {
    let matrix = Matrix::load();
    let allowed = matrix
        .rows
        .iter()
        .flat_map(|r| r.allow)
        .filter(|a| *a)
        .count();
    let cells = matrix.rows.len() * ROLE_COLUMNS.len();
    assert!(
        allowed > cells / 5 && allowed < cells * 4 / 5,
        "{allowed} of {cells} cells allow"
    );
    // Another authority's records, and the authority as a whole, are
    // refused to every role.
    for row in matrix
        .rows
        .iter()
        .filter(|r| r.relation == Relation::OtherAuthority && r.target != Target::OwnAuthority)
    {
        assert!(
            row.allow.iter().all(|a| !a),
            "access-matrix.csv:{}: another authority is allowed {}",
            row.line,
            row.rpc
        );
    }
}
