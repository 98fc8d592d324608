//! Row-level security: one authority never sees another's rows, even by id.

use cpc_cases::domain::child::ChildFilter;
use cpc_cases::store;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use sqlx::Row as _;

use crate::common::*;
use crate::run;
use crate::steps::*;

#[tokio::test]
async fn authority_b_cannot_read_authority_a_child_even_with_its_id() {
    let h = Harness::new().await;
    let (child, plan) = child_on_plan(&h, "C6001").await;
    let child_id = uuid(&child.id);
    let plan_id = uuid(&plan.id);

    // Authority A sees its child.
    let a = ctx_for(AUTHORITY);
    let seen = run!(h, a, |conn| store::children::get_child(conn, child_id)).unwrap();
    assert_eq!(seen.id, child.id);

    // Authority B, with the id in hand, sees nothing: NOT_FOUND, as if absent.
    let b = ctx_for(OTHER_AUTHORITY);
    let err = run!(h, b, |conn| store::children::get_child(conn, child_id)).unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::NotFound {
                resource: "child",
                ..
            }
        ),
        "{err:?}"
    );
    let err = run!(h, b, |conn| store::plans::get_plan(conn, plan_id)).unwrap_err();
    assert!(
        matches!(
            err,
            ApiError::NotFound {
                resource: "plan",
                ..
            }
        ),
        "{err:?}"
    );

    // Nor by listing, nor by a raw query that names authority A explicitly.
    let (_, filter) = ChildFilter::parse(&pb::ListChildrenRequest {
        authority_id: AUTHORITY.into(),
        ..Default::default()
    })
    .unwrap();
    let authority = b.authority.clone();
    let listed = run!(h, b, |conn| store::children::list_children(
        conn, &authority, &filter, b.today
    ))
    .unwrap();
    assert!(listed.children.is_empty());
    let mut tx = store::begin(&h.pool, &b.authority).await.unwrap();
    let raw = sqlx::query("SELECT count(*) AS n FROM children WHERE authority_id = $1 OR id = $2")
        .bind(AUTHORITY)
        .bind(child_id)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(raw.get::<i64, _>("n"), 0);
    for table in [
        "plans",
        "cin_episodes",
        "conference_outcomes",
        "plan_actions",
        "idempotency",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        assert_eq!(n, 0, "{table} leaks across authorities");
    }
    // B cannot write rows claiming to be A's either.
    let err = sqlx::query(
        "INSERT INTO cases (id, authority_id, display_name, created_at, updated_at) \
         VALUES (gen_random_uuid(), $1, 'x', now(), now())",
    )
    .bind(AUTHORITY)
    .execute(&mut *tx)
    .await
    .unwrap_err();
    assert_eq!(
        err.as_database_error().unwrap().code().as_deref(),
        Some("42501")
    );
    drop(tx);

    // Outside a transaction bound to an authority, nothing is visible.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM children")
        .fetch_one(&h.pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    // (The superuser bypasses RLS: the row is there.)
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM children")
        .fetch_one(&h.admin)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn every_table_has_forced_row_level_security() {
    let h = Harness::new().await;
    let rows: Vec<(String, bool, bool, i64)> = sqlx::query_as(
        "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, \
                (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'cases' AND c.relkind = 'r' \
           AND c.relname NOT IN ('change_events', '_sqlx_migrations', 'caller_rates') \
         ORDER BY c.relname",
    )
    .fetch_all(&h.admin)
    .await
    .unwrap();
    // Every table but the change feed, the migrations' own and the calls
    // counted per caller (a caller's key and a time, counted before any
    // authority's transaction begins), the platform's feed positions
    // included.
    assert_eq!(rows.len(), 23);
    for (table, enabled, forced, policies) in rows {
        assert!(
            enabled && forced && policies == 1,
            "{table}: rls {enabled}, forced {forced}, policies {policies}"
        );
    }
    // And the role the store runs as is not one RLS exempts.
    let (superuser, bypass): (bool, bool) =
        sqlx::query_as("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")
            .fetch_one(&h.pool)
            .await
            .unwrap();
    assert!(!superuser && !bypass);
}
