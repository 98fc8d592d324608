//! `cpcctl call` against a real server: the README's worked example.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "test helpers fail the test"
)]

use cpc_identity::Role;
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_platform::testing::{TestDatabase, TestServer};
use cpcd::Selection;

async fn cpcctl(args: Vec<String>) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_cpcctl"))
        .args(args)
        .output()
        .await
        .expect("cpcctl runs")
}

fn call(addr: &str, token: &str, method: &str, data: &str) -> Vec<String> {
    [
        "call", method, "--addr", addr, "--token", token, "--data", data,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[tokio::test]
async fn the_worked_example_creates_a_child_and_names_bad_fields() {
    let db = TestDatabase::create().await;
    let server = TestServer::start(db.config(), Selection::All.components()).await;
    let addr = format!("http://{}", server.addr);
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    let token = key.mint(&DevClaims::new(
        "7d4e1b9a-3c2f-4a8e-9b61-0f5c2d8e4a17",
        "E10000013",
        [Role::SocialWorker],
    ));
    let created = cpcctl(call(
        &addr,
        &token,
        "cpc.cases.v1.CasesService/CreateChild",
        r#"{"requestId": "0b9f6c1e-8d2a-4f7b-9c3e-5a1d2e3f4a5b",
            "child": {"authorityId": "E10000013", "laChildId": "C1001", "upn": "A950000178301",
                      "nhsNumber": "943 476 5919", "givenNames": "Jamie", "familyName": "Smith",
                      "birthDate": {"year": 2019, "month": 3, "day": 10}, "sex": "SEX_MALE",
                      "ethnicityCode": "WBRI", "disabilityCodes": ["NONE"]}}"#,
    ))
    .await;
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let child: serde_json::Value = serde_json::from_slice(&created.stdout).unwrap();
    assert_eq!(child["child"]["nhsNumber"], "9434765919");
    assert_eq!(child["child"]["version"], "1");

    let refused = cpcctl(call(
        &addr,
        &token,
        "cpc.cases.v1.CasesService/CreateChild",
        r#"{"requestId": "x", "child": {"nhsNumber": "123"}}"#,
    ))
    .await;
    assert_eq!(refused.status.code(), Some(1));
    let status: serde_json::Value = serde_json::from_slice(&refused.stderr).unwrap();
    assert_eq!(status["code"], "INVALID_ARGUMENT");
    let fields: Vec<&str> = status["fieldViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert!(
        fields.contains(&"request_id") && fields.contains(&"child.nhs_number"),
        "{fields:?}"
    );

    let unknown = cpcctl(call(&addr, &token, "cpc.cases.v1.CasesService/Nope", "{}")).await;
    assert_eq!(unknown.status.code(), Some(2));
    let stream = cpcctl(
        [
            "call",
            "cpc.cases.v1.CasesService/StreamChanges",
            "--addr",
            &addr,
            "--token",
            &key.mint(&DevClaims::new(
                "2f1c8d3e-0a4b-4c5d-8e6f-7a8b9c0d1e2f",
                "E10000013",
                [Role::TeamManager],
            )),
            "--limit",
            "3",
        ]
        .map(str::to_owned)
        .to_vec(),
    )
    .await;
    assert!(
        stream.status.success(),
        "{}",
        String::from_utf8_lossy(&stream.stderr)
    );
    let types: Vec<String> = String::from_utf8(stream.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["eventType"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        [
            "cpc.cases.v1.CaseCreated",
            "cpc.cases.v1.ChildRegistered",
            "cpc.cases.v1.CaseMemberAdded"
        ]
    );
    server.stop().await;
}
