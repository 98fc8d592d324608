//! The access matrix: every row of matrix.csv against the bundled policies.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod common;

use std::collections::BTreeSet;

use cpc_authz::Role;

struct Row {
    line: usize,
    action: String,
    role: Role,
    relation: String,
    allow: bool,
}

fn rows() -> Vec<Row> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/matrix.csv");
    let text = std::fs::read_to_string(path).expect("read matrix.csv");
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (_, header) = lines.next().expect("matrix.csv has a header");
    assert_eq!(header.trim(), "action,role,relation,expected");
    lines
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [action, role, relation, expected] = fields[..] else {
                panic!("matrix.csv:{}: expected 4 fields: {line}", i + 1);
            };
            assert!(
                common::RELATIONS.contains(&relation),
                "matrix.csv:{}: unknown relation `{relation}`",
                i + 1
            );
            Row {
                line: i + 1,
                action: action.to_owned(),
                role: role
                    .parse()
                    .unwrap_or_else(|e| panic!("matrix.csv:{}: {e}", i + 1)),
                relation: relation.to_owned(),
                allow: match expected {
                    "allow" => true,
                    "deny" => false,
                    other => panic!(
                        "matrix.csv:{}: expected allow or deny, not `{other}`",
                        i + 1
                    ),
                },
            }
        })
        .collect()
}

#[test]
fn every_row_of_the_matrix_holds() {
    let authz = common::authorizer();
    let rows = rows();
    let mut failures = Vec::new();
    for row in &rows {
        let caller = common::principal(row.role);
        let target = common::resource(&row.relation, &caller);
        let decision = authz.authorize(&caller, &row.action, &target);
        if decision.allowed != row.allow || (row.allow && !decision.errors.is_empty()) {
            failures.push(format!(
                "matrix.csv:{}: {} {} {}: expected {}, got {:?}",
                row.line,
                row.action,
                row.role,
                row.relation,
                if row.allow { "allow" } else { "deny" },
                decision
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
}

/// At least one row for every action group x role x relation (the
/// `excluded` relation only for minutes groups).
#[test]
fn the_matrix_covers_every_group_role_and_relation() {
    let authz = common::authorizer();
    let rows = rows();
    let mut covered = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for action in authz.rpc_actions() {
        groups.extend(authz.action_groups(&action).expect("declared"));
    }
    for row in &rows {
        let in_groups = authz
            .action_groups(&row.action)
            .unwrap_or_else(|| panic!("matrix.csv:{}: unknown action {}", row.line, row.action));
        for group in in_groups {
            covered.insert((group, row.role, row.relation.clone()));
        }
    }
    let mut missing = Vec::new();
    for group in &groups {
        let minutes = group == "Minutes"
            || authz
                .action_groups(group)
                .is_some_and(|g| g.contains("Minutes"));
        for role in Role::ALL {
            for relation in common::RELATIONS {
                if relation == "excluded" && !minutes {
                    continue;
                }
                if !covered.contains(&(group.clone(), role, relation.to_owned())) {
                    missing.push(format!("{group} x {role} x {relation}"));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "matrix.csv has no row for:\n{}",
        missing.join("\n")
    );
}
