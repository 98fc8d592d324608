//! No generated message prints its contents (build.rs): a message formatted
//! with `{:?}`, as a `tracing` field or inside an error, names its type only.

use cpc_proto::common::v1::{AgencyKind, ConferenceKind, PersonRef};
use cpc_proto::reporting::v1::{AgencyReport, agency_report};

const NAME: &str = "Kayleigh Ann Marsh";

fn person() -> PersonRef {
    PersonRef {
        person_id: "0193a0de-0000-7000-8000-000000000001".into(),
        display_name: NAME.into(),
        agency_kind: AgencyKind::Police.into(),
        agency_name: "Gloucestershire Constabulary".into(),
    }
}

#[test]
fn a_message_names_its_type_only() {
    assert_eq!(format!("{:?}", person()), "PersonRef { <redacted> }");
    assert_eq!(
        format!("{:#?}", Some(person())),
        "Some(\n    PersonRef { <redacted> },\n)"
    );
}

#[test]
fn a_message_holding_others_and_its_oneof_print_nothing_of_them() {
    let body = format!("{NAME} told the school nurse about the bruises.");
    let report = AgencyReport {
        author: Some(person()),
        content: Some(agency_report::Content::Body(body)),
        ..AgencyReport::default()
    };
    let printed = format!("{report:?} {:?}", report.content);
    assert_eq!(
        printed,
        "AgencyReport { <redacted> } Some(Content { <redacted> })"
    );
    assert!(!printed.contains("Kayleigh") && !printed.contains("bruises"));
}

#[test]
fn enums_still_print_their_names() {
    // Codes, never personal data: kept readable for errors and tests.
    assert_eq!(format!("{:?}", ConferenceKind::Initial), "Initial");
}
