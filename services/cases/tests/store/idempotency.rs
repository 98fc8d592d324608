//! Request ids (AIP-155): a retry returns the first result and changes
//! nothing; a different request under the same id is refused.

use cpc_cases::domain::child::ChildDetails;
use cpc_cases::store;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;

use crate::common::*;
use crate::run;

#[tokio::test]
async fn a_retry_with_the_same_request_id_returns_the_first_result() {
    let h = Harness::new().await;
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(child_msg(None, "C7001")),
    };
    let ctx = crate::common::ctx();
    let (key, child) = ChildDetails::parse_request(&req, ctx.today).unwrap();
    let first = run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &child
    ))
    .unwrap();
    assert!(!first.replayed);
    assert_eq!(first.events.len(), 2);

    let retry_ctx = crate::common::ctx();
    let (key, child) = ChildDetails::parse_request(&req, retry_ctx.today).unwrap();
    let retry = run!(h, retry_ctx, |conn| store::children::create_child(
        conn, &retry_ctx, &key, &child
    ))
    .unwrap();
    assert!(retry.replayed);
    assert!(retry.events.is_empty());
    assert_eq!(retry.response, first.response);

    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children")
        .fetch_one(&h.admin)
        .await
        .unwrap();
    assert_eq!(children, 1);
    assert_eq!(h.event_types().await, ["CaseCreated", "ChildRegistered"]);

    // The same id with a different request.
    let mut other = req.clone();
    other.child.as_mut().unwrap().la_child_id = "C7002".into();
    let (key, child) = ChildDetails::parse_request(&other, ctx.today).unwrap();
    let err = run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &child
    ))
    .unwrap_err();
    match err {
        ApiError::FailedPrecondition(msg) => assert_eq!(
            msg,
            format!(
                "request_id {} was already used for a different CreateChild request, or by another caller; use a new request_id",
                req.request_id
            )
        ),
        other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
    }
    // Another authority may use the same request id for its own request.
    let b = ctx_for(OTHER_AUTHORITY);
    let mut theirs = req.clone();
    theirs.child.as_mut().unwrap().authority_id = OTHER_AUTHORITY.into();
    let (key, child) = ChildDetails::parse_request(&theirs, b.today).unwrap();
    let written = run!(h, b, |conn| store::children::create_child(
        conn, &b, &key, &child
    ))
    .unwrap();
    assert!(!written.replayed);
}

#[tokio::test]
async fn concurrent_retries_create_once() {
    let h = Harness::new().await;
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(child_msg(None, "C7003")),
    };
    let attempts = (0..4).map(|_| {
        let pool = h.pool.clone();
        let req = req.clone();
        tokio::spawn(async move {
            let ctx = crate::common::ctx();
            let (key, child) = ChildDetails::parse_request(&req, ctx.today).unwrap();
            let mut tx = store::begin(&pool, &ctx.authority).await.unwrap();
            let written = store::children::create_child(&mut tx, &ctx, &key, &child)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            written
        })
    });
    let mut results = Vec::new();
    for attempt in attempts.collect::<Vec<_>>() {
        results.push(attempt.await.unwrap());
    }
    assert_eq!(results.iter().filter(|w| !w.replayed).count(), 1);
    assert!(results.windows(2).all(|w| w[0].response == w[1].response));
    let children: i64 = sqlx::query_scalar("SELECT count(*) FROM children")
        .fetch_one(&h.admin)
        .await
        .unwrap();
    assert_eq!(children, 1);
}
