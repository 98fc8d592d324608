//! Escalation's copies of the cases service's facts (from its feed): each
//! child's case and each plan's child.

use chrono::{DateTime, Utc};
use cpc_platform::ApiError;
use cpc_platform::case_members::ChildCaseTable;
use sqlx::PgConnection;
use uuid::Uuid;

/// What escalation keeps a copy of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// A child, and its case.
    Child,
    /// A plan, and its child.
    Plan,
}

/// A child and its case, or a plan and its child, as the feed last
/// described it.
pub struct Learnt {
    pub kept: Kept,
    pub id: Uuid,
    /// The child's case; the plan's child.
    pub parent: Uuid,
    /// The cases service's version: an older copy never overwrites a newer.
    pub version: i64,
    /// A plan that ended (always false for a child).
    pub ended: bool,
    /// When a plan started (none for a child).
    pub started: Option<chrono::NaiveDate>,
}

/// Records a child's case or a plan's child.
///
/// # Errors
/// Database errors.
pub async fn learn(
    conn: &mut PgConnection,
    authority: &str,
    learnt: &Learnt,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let sql = match learnt.kept {
        Kept::Child => {
            "INSERT INTO case_children (child_id, authority_id, case_id, version, updated_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (child_id) DO UPDATE SET case_id = excluded.case_id, \
               version = excluded.version, updated_at = excluded.updated_at \
             WHERE case_children.version < excluded.version"
        }
        Kept::Plan => {
            "INSERT INTO plans (id, authority_id, child_id, version, updated_at, ended, \
                                start_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET child_id = excluded.child_id, \
               version = excluded.version, updated_at = excluded.updated_at, \
               ended = excluded.ended, start_date = excluded.start_date \
             WHERE plans.version < excluded.version"
        }
    };
    let mut query = sqlx::query(sql)
        .bind(learnt.id)
        .bind(authority)
        .bind(learnt.parent)
        .bind(learnt.version)
        .bind(now);
    if learnt.kept == Kept::Plan {
        query = query.bind(learnt.ended).bind(learnt.started);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The children of case `id`, which the authority has (a case escalation
/// knows of has a child).
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn children_of_case(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let children: Vec<Uuid> = sqlx::query_scalar(
        "SELECT child_id FROM case_children WHERE case_id = $1 ORDER BY child_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    if children.is_empty() {
        Err(ApiError::not_found("case", id.to_string()))
    } else {
        Ok(children)
    }
}

/// Where escalation keeps the case each child is on now (learnt from the
/// cases feed): the members of that case read the child's escalations and
/// findings.
pub const CHILD_CASES: ChildCaseTable = ChildCaseTable("case_children");

/// The case of child `id`.
///
/// # Errors
/// `NOT_FOUND`; database errors.
pub async fn case_of_child(conn: &mut PgConnection, id: Uuid) -> Result<Uuid, ApiError> {
    sqlx::query_scalar("SELECT case_id FROM case_children WHERE child_id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| ApiError::not_found(cpc_platform::access::CHILD_RESOURCE, id.to_string()))
}

/// The ids of every record a call to escalation may name that is about
/// `child`: the child, its case, its plans, and the escalations and drift
/// findings about it. Read in the caller's authority only.
///
/// # Errors
/// Database errors.
pub async fn child_records(conn: &mut PgConnection, child: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let ids = sqlx::query_scalar(
        "SELECT child_id FROM case_children WHERE child_id = $1 \
         UNION ALL SELECT case_id FROM case_children WHERE child_id = $1 \
         UNION ALL SELECT id FROM plans WHERE child_id = $1 \
         UNION ALL SELECT escalation_id FROM escalation_children WHERE child_id = $1 \
         UNION ALL SELECT finding_id FROM drift_finding_children WHERE child_id = $1",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}

/// The first of `children` not of `case_id`, by position.
///
/// # Errors
/// Database errors.
pub async fn first_stranger(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
) -> Result<Option<usize>, ApiError> {
    let ours: Vec<Uuid> = sqlx::query_scalar(
        "SELECT child_id FROM case_children WHERE case_id = $1 AND child_id = ANY ($2)",
    )
    .bind(case_id)
    .bind(children)
    .fetch_all(&mut *conn)
    .await?;
    Ok(children.iter().position(|c| !ours.contains(c)))
}

/// Whether plan `id` is the plan of one of `children`.
///
/// # Errors
/// Database errors.
pub async fn plan_of_any(
    conn: &mut PgConnection,
    id: Uuid,
    children: &[Uuid],
) -> Result<bool, ApiError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM plans WHERE id = $1 AND child_id = ANY ($2))",
    )
    .bind(id)
    .bind(children)
    .fetch_one(&mut *conn)
    .await?)
}
