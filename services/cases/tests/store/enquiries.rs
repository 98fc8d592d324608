//! What an initial or pre-birth conference follows: the latest section 47
//! enquiry of the child's open episode, unless it concluded no ICPC is
//! required; and an enquiry an ICPC followed cannot conclude that.

use cpc_cases::codes::ConferenceKind;
use cpc_cases::store;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;

use crate::common::*;
use crate::run;
use crate::steps::*;

fn precondition(err: ApiError) -> String {
    match err {
        ApiError::FailedPrecondition(msg) => msg,
        other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
    }
}

const ICPC_NOT_REQUIRED: &str = "the latest section 47 enquiry in the child's open CIN episode \
     concluded that no initial conference is required (ICPC not required); an initial or \
     pre-birth conference follows a later enquiry";

async fn enquiry_now(h: &Harness, enquiry: &pb::Section47Enquiry) -> pb::Section47Enquiry {
    let ctx = crate::common::ctx();
    let id = uuid(&enquiry.id);
    run!(h, ctx, |conn| store::section47::get_section47_enquiry(
        conn, id
    ))
    .expect("enquiry")
}

/// Starts an enquiry about `child` on the given date, after a strategy
/// discussion that day.
async fn enquiry(h: &Harness, child: &pb::Child, y: i32, m: i32, d: i32) -> pb::Section47Enquiry {
    let discussion = strategy(h, &child.case_id, &[&child.id], y, m, d).await;
    start_s47(h, &child.id, &discussion.id, y, m, d)
        .await
        .expect("started")
        .response
        .enquiry
        .expect("enquiry")
}

#[tokio::test]
async fn an_enquiry_an_icpc_followed_cannot_conclude_no_icpc_was_required() {
    let h = Harness::new().await;
    let child = register(&h, None, "C6701", "Jamie").await;
    open_episode(&h, &child.id, 2025, 6, 2).await;
    let started = enquiry(&h, &child, 2025, 6, 4).await;
    // The ICPC is held while the enquiry is still open.
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap();
    let err = complete_s47_no_icpc(&h, &enquiry_now(&h, &started).await, 2025, 6, 30)
        .await
        .unwrap_err();
    assert_eq!(
        precondition(err),
        "a conference's outcome is already recorded following this section 47 enquiry (its \
         initial_cpc_date is set): it cannot conclude that no ICPC is required"
    );
    // Still in progress; it completes as requiring the ICPC it had.
    let unchanged = enquiry_now(&h, &started).await;
    assert_eq!(unchanged.status, pb::Section47Status::InProgress as i32);
    let completed = complete_s47(&h, &unchanged, 2025, 6, 30).await;
    assert_eq!(completed.initial_cpc_date, pd(2025, 6, 24));
    assert_eq!(completed.outcome, pb::Section47Outcome::IcpcRequired as i32);

    // An enquiry no conference followed may conclude none is needed.
    let child = register(&h, None, "C6702", "Alex").await;
    open_episode(&h, &child.id, 2025, 6, 2).await;
    let started = enquiry(&h, &child, 2025, 6, 4).await;
    let completed = complete_s47_no_icpc(&h, &started, 2025, 6, 20)
        .await
        .unwrap()
        .response
        .enquiry
        .unwrap();
    assert_eq!(
        completed.outcome,
        pb::Section47Outcome::IcpcNotRequired as i32
    );
    assert_eq!(completed.initial_cpc_date, None);
}

#[tokio::test]
async fn no_initial_conference_follows_an_enquiry_that_concluded_none_is_required() {
    let h = Harness::new().await;
    let child = register(&h, None, "C6801", "Jamie").await;
    open_episode(&h, &child.id, 2025, 6, 2).await;
    // An earlier enquiry found an ICPC was needed; before one was held, a
    // later one concluded none is.
    let first = enquiry(&h, &child, 2025, 6, 4).await;
    let first = complete_s47(&h, &first, 2025, 6, 5).await;
    let second = enquiry(&h, &child, 2025, 6, 6).await;
    complete_s47_no_icpc(&h, &second, 2025, 6, 20)
        .await
        .unwrap();
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let err = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap_err();
    assert_eq!(precondition(err), ICPC_NOT_REQUIRED);
    assert_eq!(enquiry_now(&h, &first).await.initial_cpc_date, None);

    // A later enquiry (still in progress) is the one the ICPC follows.
    let third = enquiry(&h, &child, 2025, 6, 25).await;
    let icpc = conference(ConferenceKind::Initial, 2025, 6, 30, &[&child.id]);
    let plan = record(&h, &icpc, &split_icpc(&icpc, &child.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(plan.start_date, pd(2025, 6, 30));
    assert_eq!(
        enquiry_now(&h, &third).await.initial_cpc_date,
        pd(2025, 6, 30)
    );
    assert_eq!(enquiry_now(&h, &first).await.initial_cpc_date, None);
}

#[tokio::test]
async fn a_pre_birth_conference_follows_an_enquiry_as_an_initial_one_does() {
    let h = Harness::new().await;
    let unborn = register_unborn(&h, "C6901", pd(2026, 1, 20)).await;
    open_episode(&h, &unborn.id, 2025, 6, 2).await;
    let pre_birth = conference(ConferenceKind::PreBirth, 2025, 6, 24, &[&unborn.id]);
    let err = record(&h, &pre_birth, &split_icpc(&pre_birth, &unborn.id))
        .await
        .unwrap_err();
    assert_eq!(
        precondition(err),
        "a pre-birth conference follows a section 47 enquiry in the child's open CIN episode; \
         none found"
    );

    // Nor one that concluded none is required.
    let first = enquiry(&h, &unborn, 2025, 6, 4).await;
    complete_s47_no_icpc(&h, &first, 2025, 6, 20).await.unwrap();
    let err = record(&h, &pre_birth, &split_icpc(&pre_birth, &unborn.id))
        .await
        .unwrap_err();
    assert_eq!(precondition(err), ICPC_NOT_REQUIRED);

    // After an enquiry that found one is needed, it starts the plan.
    let second = enquiry(&h, &unborn, 2025, 6, 25).await;
    let second = complete_s47(&h, &second, 2025, 6, 27).await;
    let pre_birth = conference(ConferenceKind::PreBirth, 2025, 6, 30, &[&unborn.id]);
    let plan = record(&h, &pre_birth, &split_icpc(&pre_birth, &unborn.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert!(plan.pre_birth);
    assert_eq!(
        enquiry_now(&h, &second).await.initial_cpc_date,
        pd(2025, 6, 30)
    );
}

#[tokio::test]
async fn a_reconvened_conference_decides_on_a_plan_only_after_an_enquiry_or_a_transfer_in() {
    let h = Harness::new().await;
    let child = register(&h, None, "C6951", "Robin").await;
    open_episode(&h, &child.id, 2025, 6, 2).await;
    // Nothing it meets again in place of: no enquiry, no transfer in.
    let reconvened = conference(ConferenceKind::Reconvened, 2025, 6, 24, &[&child.id]);
    let err = record(&h, &reconvened, &split_icpc(&reconvened, &child.id))
        .await
        .unwrap_err();
    assert_eq!(
        precondition(err),
        cpc_cases::store::outcomes::RECONVENED_WITHOUT_CAUSE
    );

    // After an enquiry, it starts the plan the inquorate ICPC could not.
    let started = enquiry(&h, &child, 2025, 6, 4).await;
    let plan = record(&h, &reconvened, &split_icpc(&reconvened, &child.id))
        .await
        .unwrap()
        .response
        .plan
        .unwrap();
    assert_eq!(plan.start_date, pd(2025, 6, 24));
    assert_eq!(
        enquiry_now(&h, &started).await.initial_cpc_date,
        pd(2025, 6, 24)
    );
}
