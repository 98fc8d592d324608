//! No diary entry without its access record: while scheduling's audit log
//! cannot be written, no conference is read, listed, booked, refused
//! quietly or found missing quietly. Each such call answers INTERNAL
//! (saying nothing of why) and no change is kept.

use cpc_platform::testing::{AuditOutage, assert_refused_for_want_of_audit as refused};
use cpc_proto::scheduling::v1 as pb;
use uuid::Uuid;

use crate::diary::*;

#[tokio::test]
async fn nothing_happens_in_the_diary_while_its_access_record_cannot_be_written() {
    let (mut f, mut conferences) = start().await;
    let who = business_support(&f);
    let outsider = f.police_officer();
    let (_, case) = s47_started(&mut f, "OUT0001", uk_today()).await;
    let icpc = conferences_of(&mut conferences, &who, &case)
        .await
        .remove(0);
    let recorded = AuditOutage::records(&f.db, "scheduling").await;

    let outage = AuditOutage::begin(&f.db, "scheduling").await;
    let get = |id: &str| pb::GetConferenceRequest {
        conference_id: id.to_owned(),
    };
    refused(
        "a read",
        conferences.get_conference(who.req(get(&icpc.id))).await,
    );
    refused(
        "a list",
        conferences
            .list_conferences(who.req(pb::ListConferencesRequest {
                case_id: case.clone(),
                ..Default::default()
            }))
            .await,
    );
    let (start_time, end_time) = slot_on(
        cpc_platform::convert::date_from_proto(icpc.statutory_due_date.as_ref())
            .unwrap()
            .unwrap(),
    );
    refused(
        "a booking",
        conferences
            .book_conference(who.req(pb::BookConferenceRequest {
                conference_id: icpc.id.clone(),
                version: icpc.version,
                start_time: Some(start_time),
                end_time: Some(end_time),
                venue: Some(venue()),
                ..Default::default()
            }))
            .await,
    );
    refused(
        "a refusal",
        conferences
            .get_conference(outsider.req(get(&icpc.id)))
            .await,
    );
    refused(
        "a record not found",
        conferences
            .get_conference(who.req(get(&Uuid::new_v4().to_string())))
            .await,
    );
    outage.end().await;

    assert_eq!(AuditOutage::records(&f.db, "scheduling").await, recorded);
    let after = conferences
        .get_conference(who.req(get(&icpc.id)))
        .await
        .unwrap()
        .into_inner()
        .conference
        .unwrap();
    assert_eq!(
        (after.version, after.status, after.start_time),
        (icpc.version, icpc.status, None),
        "the booking was not kept"
    );
    f.stop().await;
}
