//! Reads what may be in a census year for the authority the transaction is
//! bound to (row-level security): the episodes open on any day of the year
//! and, for their children, everything else [`assemble`](super::assemble)
//! chooses from. Five queries, whatever the number of children.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use sqlx::PgConnection;
use uuid::Uuid;

use super::assemble::{Child, Enquiry, Episode, Kept, Plan, Year};

/// What is kept for the children in need at some time in `year`.
///
/// # Errors
/// Database errors.
pub async fn kept_for(conn: &mut PgConnection, year: Year) -> Result<Kept, ApiError> {
    let episodes: Vec<Episode> = sqlx::query_as(
        "SELECT id, child_id, referral_on, referral_source, primary_need, closure_on, \
           closure_reason, referral_nfa \
         FROM cin_episodes \
         WHERE referral_on <= $2 AND (closure_on IS NULL OR closure_on >= $1)",
    )
    .bind(year.start)
    .bind(year.reference)
    .fetch_all(&mut *conn)
    .await?;
    let mut child_ids: Vec<Uuid> = episodes.iter().map(|e| e.child_id).collect();
    child_ids.sort_unstable();
    child_ids.dedup();
    let children: Vec<Child> = sqlx::query_as(
        "SELECT id, la_child_id, upn, former_upn, upn_unknown, birth_on, expected_birth_on, sex, \
           death_on, ethnicity, disabilities \
         FROM census_children WHERE id = ANY ($1)",
    )
    .bind(&child_ids)
    .fetch_all(&mut *conn)
    .await?;
    let enquiries: Vec<Enquiry> = sqlx::query_as(
        "SELECT child_id, cin_episode_id, start_on, icpc_target_on, icpc_not_required \
         FROM s47_enquiries WHERE child_id = ANY ($1) AND start_on <= $2",
    )
    .bind(&child_ids)
    .bind(year.reference)
    .fetch_all(&mut *conn)
    .await?;
    let conferences: Vec<(Uuid, NaiveDate, bool)> = sqlx::query_as(
        // A reconvened conference counts as what it reconvened (an
        // inquorate conference): an initial or pre-birth conference, or a
        // transfer-in one.
        "SELECT ic.child_id, ic.held_on, ic.transfer_in OR coalesce(p.kind = 'transfer_in', false) \
         FROM initial_conferences ic \
           LEFT JOIN conferences r ON ic.reconvened AND r.id = ic.conference_id \
           LEFT JOIN conferences p ON p.id = r.previous_conference_id \
         WHERE ic.child_id = ANY ($1) AND ic.held_on <= $2 \
           AND (NOT ic.reconvened OR p.kind IN ('initial', 'pre_birth', 'transfer_in'))",
    )
    .bind(&child_ids)
    .bind(year.reference)
    .fetch_all(&mut *conn)
    .await?;
    let (transfers_in, initial): (Vec<_>, Vec<_>) = conferences
        .into_iter()
        .partition(|(_, _, transfer_in)| *transfer_in);
    let held = |of: Vec<(Uuid, NaiveDate, bool)>| -> Vec<(Uuid, NaiveDate)> {
        of.into_iter().map(|(child, on, _)| (child, on)).collect()
    };
    let plans: Vec<Plan> = sqlx::query_as(
        "SELECT child_id, cin_episode_id, start_on, end_on, initial_category, latest_category, \
           previous_plans, review_dates \
         FROM child_protection_plans \
         WHERE child_id = ANY ($1) AND start_on <= $3 AND (end_on IS NULL OR end_on >= $2)",
    )
    .bind(&child_ids)
    .bind(year.start)
    .bind(year.reference)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Kept {
        children,
        episodes,
        enquiries,
        initial_conferences: held(initial),
        transfer_in_conferences: held(transfers_in),
        plans,
    })
}
