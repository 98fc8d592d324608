//! Every gRPC call in proto/ has an action in the schema, and the schema has
//! no action for a call that does not exist. A new RPC without policy
//! coverage fails the build here.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use cpc_authz::Role;

/// Full method paths (`/package.Service/Method`) of every `rpc Name(` in the
/// .proto files under proto/.
fn proto_rpcs() -> BTreeSet<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let mut files = Vec::new();
    collect_protos(&root, &mut files);
    assert!(
        !files.is_empty(),
        "no .proto files under {}",
        root.display()
    );
    let mut rpcs = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read proto");
        let mut package = None;
        let mut service = None;
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("package ") {
                package = Some(rest.trim_end_matches(';').trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("service ") {
                service = rest.split_whitespace().next().map(str::to_owned);
            } else if let Some(rest) = line.strip_prefix("rpc ") {
                let name = rest.split('(').next().expect("rpc name").trim();
                let package = package.as_deref().expect("package before rpc");
                let service = service.as_deref().expect("service before rpc");
                rpcs.insert(format!("/{package}.{service}/{name}"));
            }
        }
    }
    rpcs
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read proto dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_protos(&path, out);
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
}

#[test]
fn every_rpc_in_proto_has_an_action_and_every_action_is_an_rpc() {
    let rpcs = proto_rpcs();
    assert!(
        rpcs.len() >= 90,
        "found only {} rpcs: is the parser broken?",
        rpcs.len()
    );
    let actions: BTreeSet<String> = common::authorizer().rpc_actions().into_iter().collect();
    let missing: Vec<_> = rpcs.difference(&actions).collect();
    let stale: Vec<_> = actions.difference(&rpcs).collect();
    assert!(
        missing.is_empty(),
        "RPCs with no action in deploy/policies/cpc.cedarschema (add them to a group):\n{missing:#?}"
    );
    assert!(
        stale.is_empty(),
        "actions in deploy/policies/cpc.cedarschema for RPCs that do not exist:\n{stale:#?}"
    );
}

#[test]
fn every_rpc_is_in_a_group() {
    let authz = common::authorizer();
    for action in authz.rpc_actions() {
        let groups = authz.action_groups(&action).expect("declared");
        assert!(!groups.is_empty(), "{action} is in no action group");
    }
}

/// Calls that read (by their verb) are outside ChangeData; every other call
/// is inside it, so the auditor forbid covers every call that changes data.
#[test]
fn calls_that_change_data_are_in_change_data() {
    const READ_VERBS: [&str; 7] = [
        "Get", "List", "Stream", "Export", "Assess", "Verify", "Read",
    ];
    let authz = common::authorizer();
    for action in authz.rpc_actions() {
        let method = action.rsplit('/').next().expect("method");
        let reads = READ_VERBS.iter().any(|verb| method.starts_with(verb));
        let in_change_data = authz
            .action_groups(&action)
            .expect("declared")
            .contains("ChangeData");
        assert_eq!(
            in_change_data,
            !reads,
            "{action}: {} ChangeData",
            if reads {
                "a read must not be in"
            } else {
                "a call that changes data must be in"
            }
        );
    }
}

/// Every call is permitted to someone: a call nobody may make is a policy
/// gap (or a call that should be removed).
#[test]
fn every_rpc_is_permitted_to_someone() {
    let authz = common::authorizer();
    for action in authz.rpc_actions() {
        let permitted = Role::ALL.into_iter().any(|role| {
            // Signed in just now: some calls ask for a recent sign-in.
            let caller = common::principal(role).signed_in(0);
            ["member", "agency_member", "authority_level"]
                .iter()
                .any(|relation| {
                    authz
                        .authorize(&caller, &action, &common::resource(relation, &caller))
                        .allowed
                })
        });
        assert!(permitted, "no role may call {action}");
    }
}

/// Every call is denied to someone in the caller's own authority: no call is
/// open to every role.
#[test]
fn no_rpc_is_open_to_every_role() {
    let authz = common::authorizer();
    for action in authz.rpc_actions() {
        let open = Role::ALL.into_iter().all(|role| {
            let caller = common::principal(role);
            ["member", "authority_level"].iter().all(|relation| {
                authz
                    .authorize(&caller, &action, &common::resource(relation, &caller))
                    .allowed
            })
        });
        assert!(!open, "every role may call {action}");
    }
}
