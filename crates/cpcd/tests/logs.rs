//! The logs hold no child's personal data: the real `cpcd` binary, logging
//! JSON at debug level to stderr, is taken through a family's records
//! (created, read, listed, changed, refused, malformed, duplicated) over
//! gRPC, and its whole log is searched for every name, identifier, date of
//! birth and address it was given.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test"
)]

mod binary;

use cpc_identity::dev::{DevClaims, DevKey};
use cpc_identity::{Agency, AgencyKind, Role};
use cpc_platform::testing::TestDatabase;
use cpc_proto::cases::v1 as pb;
use cpc_proto::cases::v1::cases_service_client::CasesServiceClient;
use cpc_proto::common::v1 as common;
use tokio::io::AsyncReadExt as _;
use tonic::{Code, Request};

const AUTHORITY: &str = "E10000013";

/// What the family's records hold that must never be logged, in the forms
/// a careless log line would print them (lower case: the search ignores
/// case).
const PERSONAL: &[&str] = &[
    "zephyrine",
    "quillfeather",
    "marigold",
    "larkspur mews",
    "tewkesbury",
    "gl20 5xy",
    "07700 900123",
    "447700900123",
    "marigold.q@example.org",
    "a950000178301",
    "943 476 5919",
    "9434765919",
    "2018-11-23",
    "year: 2018",
    "\"year\":2018",
];

fn child(case_id: &str, la_child_id: &str, upn: &str) -> pb::Child {
    pb::Child {
        authority_id: AUTHORITY.into(),
        case_id: case_id.into(),
        la_child_id: la_child_id.into(),
        upn: upn.into(),
        nhs_number: "943 476 5919".into(),
        given_names: "Zephyrine".into(),
        family_name: "Quillfeather".into(),
        preferred_name: "Zephy".into(),
        birth_date: Some(common::Date {
            year: 2018,
            month: 11,
            day: 23,
        }),
        sex: pb::Sex::Female as i32,
        ethnicity_code: "WBRI".into(),
        disability_codes: vec!["NONE".into()],
        ..Default::default()
    }
}

fn rid() -> String {
    uuid::Uuid::new_v4().to_string()
}

struct Caller {
    token: String,
}

impl Caller {
    fn req<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        request
    }
}

#[tokio::test]
async fn a_childs_personal_data_never_reaches_the_logs() {
    let db = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let addr = binary::free_addr();
    let config = dir.path().join("cpc.toml");
    std::fs::write(&config, binary::config_toml(&db, &addr, "debug", "")).unwrap();
    let key = DevKey::load_or_create(db.dev_key_dir()).unwrap();
    let mut server = binary::spawn(&config);
    let mut stderr = server.stderr.take().unwrap();
    let log = tokio::spawn(async move {
        let mut log = String::new();
        stderr.read_to_string(&mut log).await.unwrap();
        log
    });
    let mut cases = CasesServiceClient::new(binary::connect(&addr, &mut server).await);

    let worker = Caller {
        token: key.mint(&DevClaims::new(
            "7d4e1b9a-3c2f-4a8e-9b61-0f5c2d8e4a17",
            AUTHORITY,
            [Role::SocialWorker],
        )),
    };
    let mut outsider_claims = DevClaims::new(
        "0b7c2e51-9d4f-4c3a-8e6b-2f1a5d9c7e30",
        AUTHORITY,
        [Role::AgencyPractitioner],
    );
    outsider_claims.agency = Some(Agency {
        kind: AgencyKind::Police,
        name: "Gloucestershire Constabulary".into(),
    });
    let outsider = Caller {
        token: key.mint(&outsider_claims),
    };

    // The family's case and child, read, listed and changed.
    let case = cases
        .create_case(worker.req(pb::CreateCaseRequest {
            request_id: rid(),
            r#case: Some(pb::Case {
                authority_id: AUTHORITY.into(),
                display_name: "Quillfeather family".into(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .r#case
        .unwrap();
    let created = cases
        .create_child(worker.req(pb::CreateChildRequest {
            request_id: rid(),
            child: Some(child(&case.id, "QF100", "A950000178301")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    cases
        .get_child(worker.req(pb::GetChildRequest {
            child_id: created.id.clone(),
        }))
        .await
        .unwrap();
    let listed = cases
        .list_children(worker.req(pb::ListChildrenRequest {
            authority_id: AUTHORITY.into(),
            family_name_prefix: "Quill".into(),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.children.len(), 1);
    let mut renamed = created.clone();
    renamed.preferred_name = "Zephyrine Q".into();
    cases
        .update_child(worker.req(pb::UpdateChildRequest {
            child: Some(renamed),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["preferred_name".into()],
            }),
        }))
        .await
        .unwrap();
    cases
        .add_family_member(worker.req(pb::AddFamilyMemberRequest {
            request_id: rid(),
            family_member: Some(pb::FamilyMember {
                case_id: case.id.clone(),
                given_names: "Marigold".into(),
                family_name: "Quillfeather".into(),
                birth_date: Some(common::Date {
                    year: 1990,
                    month: 4,
                    day: 2,
                }),
                relationships: vec![pb::ChildRelationship {
                    child_id: created.id.clone(),
                    relationship: pb::Relationship::Mother as i32,
                    parental_responsibility: true,
                    lives_with_child: true,
                    ..Default::default()
                }],
                address: Some(common::PostalAddress {
                    lines: vec!["17 Larkspur Mews".into()],
                    town: "Tewkesbury".into(),
                    postcode: "GL20 5XY".into(),
                }),
                address_confidential: true,
                phone: "+447700900123".into(),
                email: "marigold.q@example.org".into(),
                ..Default::default()
            }),
        }))
        .await
        .unwrap();

    // Refused, malformed and duplicated requests carrying the same data.
    let refusals = [
        cases
            .get_child(outsider.req(pb::GetChildRequest {
                child_id: created.id.clone(),
            }))
            .await
            .map(drop),
        cases
            .list_children(outsider.req(pb::ListChildrenRequest {
                authority_id: AUTHORITY.into(),
                family_name_prefix: "Quillfeather".into(),
                nhs_number: "9434765919".into(),
                ..Default::default()
            }))
            .await
            .map(drop),
        cases
            .create_child(worker.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child(&case.id, "QF101", "ZEPHYRINE QUILLFEATHER")),
            }))
            .await
            .map(drop),
        cases
            .create_child(worker.req(pb::CreateChildRequest {
                request_id: rid(),
                child: Some(child(&case.id, "QF100", "A950000178301")),
            }))
            .await
            .map(drop),
        cases
            .get_child(Request::new(pb::GetChildRequest {
                child_id: "Zephyrine Quillfeather".into(),
            }))
            .await
            .map(drop),
    ];
    let codes: Vec<Code> = refusals
        .iter()
        .map(|r| r.as_ref().err().map_or(Code::Ok, tonic::Status::code))
        .collect();
    assert_eq!(
        codes,
        [
            Code::PermissionDenied,
            Code::Ok,
            Code::InvalidArgument,
            Code::AlreadyExists,
            Code::Unauthenticated
        ],
        "{codes:?}"
    );

    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let log = log.await.unwrap();

    // The log is there, at debug level, and names what happened by id.
    let lines = log.lines().count();
    for expected in [
        "\"level\":\"DEBUG\"",
        "CreateChild",
        "AddFamilyMember",
        "call denied",
        "unauthenticated call",
    ] {
        assert!(
            log.contains(expected),
            "the log ({lines} lines) does not mention {expected:?}"
        );
    }
    // A call without an x-request-id has one id, in its span and in what
    // it records (the refusal's log line carries the audit record's id).
    let denials: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "call denied")
        .collect();
    assert!(!denials.is_empty(), "no call denied in the log");
    for denial in &denials {
        let recorded = denial["fields"]["request_id"].as_str();
        assert!(recorded.is_some_and(|id| !id.is_empty()), "{denial}");
        assert_eq!(recorded, denial["span"]["request_id"].as_str(), "{denial}");
    }

    let lower = log.to_lowercase();
    let leaks: Vec<(&str, &str)> = PERSONAL
        .iter()
        .filter_map(|personal| {
            lower
                .lines()
                .find(|line| line.contains(personal))
                .map(|line| (*personal, line))
        })
        .collect();
    assert!(
        leaks.is_empty(),
        "{} of {lines} log lines hold personal data: {leaks:#?}",
        leaks.len()
    );
}
