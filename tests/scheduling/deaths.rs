//! A death recorded in cases stops scheduling's clock for the child: an
//! enquiry dated before the death but recorded after it makes no
//! conference due for them, while their sibling's is.

use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;

use crate::diary::*;
use crate::support::*;

#[tokio::test]
async fn an_enquiry_recorded_after_a_childs_death_makes_a_conference_due_for_their_sibling_alone() {
    let (mut f, mut scheduling) = start().await;
    let bs = business_support(&f);
    let sw = f.social_worker();
    let create = |template: cases::Child| cases::CreateChildRequest {
        request_id: rid(),
        child: Some(template),
    };
    let amy = f
        .client
        .create_child(sw.req(create(child("", "DTH0001", "Amy"))))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    let ben = f
        .client
        .create_child(sw.req(create(child(&amy.case_id, "DTH0002", "Ben"))))
        .await
        .unwrap()
        .into_inner()
        .child
        .unwrap();
    for id in [&amy.id, &ben.id] {
        f.client
            .open_cin_episode(sw.req(referral(id)))
            .await
            .unwrap();
    }
    // A strategy discussion on Wednesday 4 June 2025 decides on enquiries
    // about both children.
    let held = date(2025, 6, 4);
    let discussion = s47_discussion(&mut f, &amy.case_id, &[&amy.id, &ben.id], held).await;
    // Amy dies the next day; her death is recorded first.
    f.client
        .update_child(sw.req(cases::UpdateChildRequest {
            child: Some(cases::Child {
                death_date: pd(2025, 6, 5),
                ..amy.clone()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["death_date".into()],
            }),
        }))
        .await
        .unwrap();
    // Both enquiries began on the day of the discussion, before her death,
    // so cases records both.
    for id in [&amy.id, &ben.id] {
        f.client
            .start_section47_enquiry(sw.req(cases::StartSection47EnquiryRequest {
                request_id: rid(),
                child_id: id.clone(),
                strategy_discussion_id: discussion.clone(),
                start_date: pd_of(held),
            }))
            .await
            .unwrap();
    }
    // Scheduling applies the feed in order: once Ben's conference is due,
    // Amy's enquiry has been applied too, and made nothing due for her.
    let found = conferences_of(&mut scheduling, &bs, &amy.case_id).await;
    let [icpc] = &found[..] else {
        panic!("one initial conference: {found:?}")
    };
    assert_eq!(icpc.kind, common::ConferenceKind::Initial as i32);
    assert_eq!(icpc.status, pb::ConferenceStatus::Due as i32);
    assert_eq!(icpc.child_ids, [ben.id]);
    // 15 working days after the discussion.
    assert_eq!(icpc.statutory_due_date, pd(2025, 6, 25));
    f.stop().await;
}
