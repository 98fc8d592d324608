//! The children in need census return over gRPC: written by reporting from
//! what the cases feed carried (a child's identifiers, episode, section 47
//! enquiry, initial or transfer-in conference and plan), validated by the
//! DfE's published rules (`csc-validator-be-cin`, run as
//! `scripts/cin-validate`), and refused when it cannot be made right.

use chrono::{Datelike as _, NaiveDate};
use cpc_identity::Role;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use cpc_proto::scheduling::v1 as scheduling;
use tonic::Code;

use crate::diary::*;
use crate::meetings::{
    Held, book, clients, last_working_day, outcome_once_held, plan_decided, plan_started,
    plan_started_reconvened, quorate_meeting, record_attendance, timescales,
};
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

/// The errors the validation found, by rule and LA child id.
fn errors_of(validation: &pb::CensusValidationSummary) -> Vec<(&str, &str)> {
    validation
        .issues
        .iter()
        .filter(|i| i.severity == pb::IssueSeverity::Error as i32)
        .map(|i| (i.rule_code.as_str(), i.la_child_id.as_str()))
        .collect()
}

/// A child who moves in on another authority's plan: the plan here starts
/// at the transfer-in conference, which follows no section 47 enquiry, and
/// the return gives that conference's date in the episode's `CINdetails`,
/// where the DfE rules look for the plan's start (2885).
#[tokio::test]
async fn a_plan_started_at_a_transfer_in_conference_starts_on_the_episodes_initial_conference() {
    let (mut f, conferences) = start().await;
    let manager = service_manager(&f);
    let bs = business_support(&f);
    let sw = f.social_worker();
    let mut c = clients(&f, conferences).await;
    let moved_in = f
        .client
        .create_child(sw.req(cases::CreateChildRequest {
            request_id: rid(),
            child: Some(child("", "CEN0005", "Sam")),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    f.client
        .open_cin_episode(sw.req(referral(&moved_in.id)))
        .await
        .unwrap();
    let held_on = last_working_day();
    f.client
        .record_transfer_in(sw.req(cases::RecordTransferInRequest {
            request_id: rid(),
            transfer_in: Some(cases::TransferIn {
                child_id: moved_in.id.clone(),
                sending_authority_name: "Bristol".into(),
                sending_authority_code: "801".into(),
                notification_date: pd_of(held_on - chrono::Duration::days(7)),
                previous_plan_start_date: pd(2025, 1, 14),
                previous_category: common::CategoryOfHarm::Neglect as i32,
                ..Default::default()
            }),
        }))
        .await
        .unwrap();

    // Scheduling makes the transfer-in conference due from the cases feed;
    // it is booked, met quorate and held, and the chair's outcome starts
    // the plan.
    let conference = conferences_of_kind(
        &mut c.conferences,
        &bs,
        &moved_in.case_id,
        common::ConferenceKind::TransferIn,
    )
    .await
    .remove(0);
    let later = timescales()
        .calendar()
        .add_working_days(uk_today(), 1)
        .unwrap();
    let conference = book(&mut c, &bs, &conference, later).await;
    let conference = record_attendance(&mut c, &bs, &conference, quorate_meeting())
        .await
        .conference
        .unwrap();
    let held = c
        .attendance
        .record_conference_held(bs.req(scheduling::RecordConferenceHeldRequest {
            conference_id: conference.id.clone(),
            version: conference.version,
            held_date: pd_of(held_on),
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    let chair = f.chair();
    let outcome = cases::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(cases::ConferenceOutcome {
            childs_voice: Some(cases::ChildVoiceContribution {
                attended: true,
                methods: vec![cases::ViewsMethod::InPerson as i32],
                ..Default::default()
            }),
            ..plan_decided(&held.id, &moved_in.id)
        }),
    };
    let plan = outcome_once_held(&mut f, &chair, &outcome)
        .await
        .expect("a plan");
    assert_eq!(plan.start_date, pd_of(held_on));
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM child_protection_plans WHERE child_id = $1::uuid) \
            AND EXISTS (SELECT 1 FROM initial_conferences \
                        WHERE child_id = $1::uuid AND transfer_in)",
        &[&moved_in.id],
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
    // In CINdetails, where the CIN schema puts it (before ReferralNFA),
    // and nowhere else: the child had no section 47 enquiry here.
    let at = |item: &str| {
        xml.find(item)
            .unwrap_or_else(|| panic!("{item} missing: {xml}"))
    };
    assert!(
        at(&format!("<DateOfInitialCPC>{held}</DateOfInitialCPC>")) < at("<ReferralNFA>"),
        "{xml}"
    );
    assert!(at(&format!("<CPPstartDate>{held}</CPPstartDate>")) > at("<ReferralNFA>"));
    assert_eq!(xml.matches("<DateOfInitialCPC>").count(), 1, "{xml}");
    assert!(!xml.contains("<Section47>"), "{xml}");
    // Only the test UPN's local authority number (1530, as above): the
    // plan starts on an initial conference (2885), counted as one (2883),
    // recorded at one level only (2884).
    let validation = generated.validation.unwrap();
    assert_eq!(errors_of(&validation), [("1530", "CEN0005")]);
    f.stop().await;
}

/// A child expected on 15 April 2026, referred before the birth and born on
/// 10 April: cases keeps both dates, and the return for the year to 31
/// March 2026 gives the child as that day, unborn: the expected date alone
/// (8525, 8520) and sex `U` (8750).
#[tokio::test]
async fn a_child_born_after_the_reference_date_is_returned_unborn() {
    let (mut f, _) = start().await;
    let manager = service_manager(&f);
    let sw = f.social_worker();
    let unborn = f
        .client
        .create_child(sw.req(cases::CreateChildRequest {
            request_id: rid(),
            child: Some(cases::Child {
                birth_date: None,
                expected_birth_date: pd(2026, 4, 15),
                sex: cases::Sex::Unknown as i32,
                upn: String::new(),
                nhs_number: String::new(),
                ..child("", "CEN0006", "Baby")
            }),
        }))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    f.client
        .open_cin_episode(sw.req(cases::OpenCinEpisodeRequest {
            referral_date: pd(2026, 1, 5),
            ..referral(&unborn.id)
        }))
        .await
        .unwrap();
    let born = cases::Child {
        birth_date: pd(2026, 4, 10),
        sex: cases::Sex::Female as i32,
        ..unborn
    };
    f.client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(born.clone()),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["birth_date".into(), "sex".into()],
            }),
        }))
        .await
        .unwrap();
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM census_children \
                        WHERE id = $1::uuid AND birth_on IS NOT NULL \
                          AND expected_birth_on IS NOT NULL) \
            AND EXISTS (SELECT 1 FROM cin_episodes WHERE child_id = $1::uuid)",
        &[&born.id],
    )
    .await;

    let generated = reporting(&f)
        .await
        .generate_cin_census(manager.req(asked(2026)))
        .await
        .unwrap()
        .into_inner();
    let xml = String::from_utf8(generated.xml).unwrap();
    assert!(
        xml.contains("<ExpectedPersonBirthDate>2026-04-15</ExpectedPersonBirthDate>"),
        "{xml}"
    );
    assert!(xml.contains("<Sex>U</Sex>"), "{xml}");
    assert!(!xml.contains("<PersonBirthDate>"), "{xml}");
    let validation = generated.validation.unwrap();
    assert_eq!(validation.child_count, 1);
    let rules: Vec<&str> = validation
        .issues
        .iter()
        .map(|i| i.rule_code.as_str())
        .collect();
    for rule in ["8525Q", "8520", "8750"] {
        assert!(!rules.contains(&rule), "{rule} in {rules:?}");
    }
    let errors = errors_of(&validation);
    assert!(errors.is_empty(), "{errors:?}");
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
