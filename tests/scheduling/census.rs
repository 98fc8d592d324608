//! The children in need census return over gRPC: written by reporting from
//! what the cases feed carried (a child's identifiers, episode, section 47
//! enquiry, initial conference and plan), validated by the DfE's published
//! rules (`csc-validator-be-cin`, run as `scripts/cin-validate`), and
//! refused when it cannot be made right.

use chrono::{Datelike as _, NaiveDate};
use cpc_identity::Role;
use cpc_proto::reporting::v1 as pb;
use tonic::Code;

use crate::diary::*;
use crate::meetings::{Held, plan_started, plan_started_reconvened};
use crate::minutes::{feed_events, reporting, until_reporting_knows};
use crate::support::*;

const SERVICE_MANAGER: u128 = 0xce_0001;

/// A service manager of the authority: one of those who make the return.
fn service_manager(f: &Fixture) -> As {
    f.person(
        SERVICE_MANAGER,
        AUTHORITY,
        Role::ServiceManager,
        Some(csc()),
    )
}

/// The census year a date falls in: the one whose 31 March is on or after it.
fn collection_year_of(date: NaiveDate) -> i32 {
    if date.month() >= 4 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// The authority's return for `year`, the first of it.
pub(crate) fn asked(year: i32) -> pb::GenerateCinCensusRequest {
    pb::GenerateCinCensusRequest {
        authority_id: AUTHORITY.into(),
        collection_year: year,
        reference_date: pd(year, 3, 31),
        serial_no: 1,
    }
}

#[tokio::test]
async fn a_return_is_written_from_the_cases_feed_and_validated_by_the_dfe_rules() {
    let (mut f, mut conferences) = start().await;
    let manager = service_manager(&f);
    // On a plan: referral, s47, initial conference and plan (the
    // statutory journey, as the other tests make it).
    let Held {
        child: on_plan,
        held_on,
        ..
    } = Box::pin(plan_started(&mut f, &mut conferences, "CEN0001")).await;
    // A toddler referred only, whom cases was never told the ethnicity of.
    let sw = f.social_worker();
    let referred = f
        .client
        .create_child(sw.req(cpc_proto::cases::v1::CreateChildRequest {
            request_id: rid(),
            child: Some(cpc_proto::cases::v1::Child {
                upn: String::new(),
                birth_date: pd(2024, 1, 15),
                upn_unknown_reason: cpc_proto::cases::v1::UpnUnknownReason::Un1 as i32,
                ethnicity_code: String::new(),
                ..child("", "CEN0002", "Alex")
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    f.client
        .open_cin_episode(sw.req(referral(&referred.id)))
        .await
        .unwrap();
    until_reporting_knows(&f, "SELECT count(*) = 2 FROM cin_episodes", &[]).await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM child_protection_plans WHERE child_id = $1::uuid)",
        &[&on_plan],
    )
    .await;

    let year = collection_year_of(held_on);
    let mut client = reporting(&f).await;
    let generated = client
        .generate_cin_census(manager.req(asked(year)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(generated.file_name, format!("916_CIN_{year}_001.xml"));
    let xml = String::from_utf8(generated.xml).unwrap();
    let held = held_on.format("%Y-%m-%d").to_string();
    for item in [
        "<LEA>916</LEA>".to_owned(),
        format!("<ReferenceDate>{year}-03-31</ReferenceDate>"),
        "<LAchildID>CEN0001</LAchildID>".to_owned(),
        "<LAchildID>CEN0002</LAchildID>".to_owned(),
        "<UPNunknown>UN1</UPNunknown>".to_owned(),
        "<CINreferralDate>2025-06-02</CINreferralDate>".to_owned(),
        "<PrimaryNeedCode>N1</PrimaryNeedCode>".to_owned(),
        "<S47ActualStartDate>2025-06-04</S47ActualStartDate>".to_owned(),
        format!("<DateOfInitialCPC>{held}</DateOfInitialCPC>"),
        format!("<CPPstartDate>{held}</CPPstartDate>"),
        "<InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>".to_owned(),
        "<NumberOfPreviousCPP>0</NumberOfPreviousCPP>".to_owned(),
    ] {
        assert!(xml.contains(&item), "{item} missing from the return");
    }
    // The census carries no names: neither do the files cpc writes.
    for name in ["Sam", "Alex", "Smith"] {
        assert!(!xml.contains(name), "a name is in the return");
    }

    let validation = generated.validation.unwrap();
    assert_eq!(
        validation.ruleset,
        format!("cin{}_{:02}", year - 1, year % 100)
    );
    assert_eq!(validation.child_count, 2);
    let errors: Vec<(&str, &str, &str)> = validation
        .issues
        .iter()
        .filter(|i| i.severity == pb::IssueSeverity::Error as i32)
        .map(|i| {
            (
                i.rule_code.as_str(),
                i.la_child_id.as_str(),
                i.child_id.as_str(),
            )
        })
        .collect();
    // Two errors, each named by the child's LA id and its id here: the
    // test children's UPN has a valid check letter but 950, no local
    // authority's number, in characters 2-4 (1530; cases checks only the
    // letter), and the ethnicity cases never had (4220).
    assert_eq!(
        errors,
        [
            ("1530", "CEN0001", on_plan.as_str()),
            ("4220", "CEN0002", referred.id.as_str())
        ]
    );
    assert_eq!(validation.error_count, 2);
    assert_eq!(
        usize::try_from(validation.query_count).unwrap(),
        validation.issues.len() - 2,
        "the rest are queries"
    );

    // The feed says a return was generated, not what it held.
    let generated_type = "cpc.reporting.v1.CinCensusGenerated".to_owned();
    let event = feed_events(&mut client, &manager, vec![generated_type], 1)
        .await
        .remove(0);
    let told = prost::Message::decode(event.payload.as_slice())
        .map(|m: pb::CinCensusGenerated| (m.collection_year, m.child_count, m.error_count))
        .unwrap();
    assert_eq!(told, (year, 2, 2));
    assert!(event.child_ids.is_empty());

    // A year before any of it: an empty return, still valid XML.
    let empty = client
        .generate_cin_census(manager.req(asked(2024)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.validation.unwrap().child_count, 0);
    f.stop().await;
}

#[tokio::test]
async fn an_initial_conference_reconvened_after_an_inquorate_meeting_is_the_childs_initial_conference()
 {
    let (mut f, mut conferences) = start().await;
    let manager = service_manager(&f);
    // The ICPC met inquorate the working day before; the reconvened
    // conference was held and started the plan.
    let Held {
        child,
        held_on,
        conference,
        ..
    } = Box::pin(plan_started_reconvened(&mut f, &mut conferences, "CEN0003")).await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM child_protection_plans WHERE child_id = $1::uuid) \
            AND EXISTS (SELECT 1 FROM conferences \
                        WHERE id = $2::uuid AND previous_conference_id IS NOT NULL)",
        &[&child, &conference],
    )
    .await;
    let year = collection_year_of(held_on);
    let generated = reporting(&f)
        .await
        .generate_cin_census(manager.req(asked(year)))
        .await
        .unwrap()
        .into_inner();
    let xml = String::from_utf8(generated.xml).unwrap();
    let held = held_on.format("%Y-%m-%d").to_string();
    assert!(
        xml.contains(&format!("<DateOfInitialCPC>{held}</DateOfInitialCPC>")),
        "the reconvened conference's date is the initial conference's"
    );
    assert_eq!(xml.matches("<DateOfInitialCPC>").count(), 1);
    f.stop().await;
}

#[tokio::test]
async fn a_return_that_cannot_be_made_right_is_refused() {
    let (f, _) = start().await;
    let manager = service_manager(&f);
    let mut client = reporting(&f).await;
    let bad = client
        .generate_cin_census(manager.req(pb::GenerateCinCensusRequest {
            collection_year: 2012,
            reference_date: pd(2026, 2, 30),
            serial_no: 1000,
            ..asked(2026)
        }))
        .await
        .unwrap_err();
    assert_eq!(
        bad_fields(&bad),
        ["collection_year", "reference_date", "serial_no"]
    );
    let wrong_year = client
        .generate_cin_census(manager.req(pb::GenerateCinCensusRequest {
            reference_date: pd(2025, 3, 31),
            ..asked(2026)
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&wrong_year), ["reference_date"]);
    // The validator has no rules for 2040: nothing is generated unvalidated.
    let no_rules = client
        .generate_cin_census(manager.req(asked(2040)))
        .await
        .unwrap_err();
    assert_eq!(no_rules.code(), Code::FailedPrecondition);
    assert!(
        no_rules.message().contains("cin2039_40"),
        "{}",
        no_rules.message()
    );
    f.stop().await;

    // An authority whose DfE number the server was not given.
    let f = Fixture::start().await;
    let manager = service_manager(&f);
    let mut client = reporting(&f).await;
    let unnumbered = client
        .generate_cin_census(manager.req(asked(2026)))
        .await
        .unwrap_err();
    assert_eq!(unnumbered.code(), Code::FailedPrecondition);
    assert!(
        unnumbered.message().contains("la_number"),
        "{}",
        unnumbered.message()
    );
    f.stop().await;
}

/// The return takes every child in need of the authority out of cpc at
/// once: it needs a sign-in within the last 15 minutes (policy
/// `recent-sign-in-for-returns`), and the refusal says so and is recorded.
#[tokio::test]
async fn the_return_needs_a_sign_in_within_the_last_15_minutes() {
    use cpc_proto::audit::v1 as audit;

    let (f, _) = start().await;
    let mut client = reporting(&f).await;
    let signed_in = |minutes_ago: i64| {
        f.person_signed_in(
            SERVICE_MANAGER,
            AUTHORITY,
            Role::ServiceManager,
            Some(csc()),
            chrono::Utc::now() - chrono::TimeDelta::minutes(minutes_ago),
        )
    };
    let stale = signed_in(30);
    let err = client
        .generate_cin_census(stale.req(asked(2026)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
    assert_eq!(
        err.message(),
        "this call needs a sign-in within the last 15 minutes; sign in again and retry"
    );
    let mut log = audit::audit_service_client::AuditServiceClient::new(f.server.channel().await);
    let refused = audit::ListAccessRecordsRequest {
        service: "reporting".into(),
        authority_id: AUTHORITY.into(),
        policy_id: "recent-sign-in-for-returns".into(),
        decision: audit::AccessDecision::Deny as i32,
        ..Default::default()
    };
    let records = log
        .list_access_records(signed_in(0).req(refused))
        .await
        .unwrap()
        .into_inner()
        .records;
    assert_eq!(records.len(), 1, "{records:?}");
    assert!(records[0].rpc_method.ends_with("/GenerateCinCensus"));

    // Signed in again: the same manager's return is made.
    client
        .generate_cin_census(signed_in(1).req(asked(2026)))
        .await
        .unwrap();
    f.stop().await;
}
