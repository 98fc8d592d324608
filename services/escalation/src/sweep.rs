//! Assessing drift as days pass: an action due yesterday is late today
//! though nothing about it changed. Every [`EVERY`], and once at start, each
//! configured authority's subjects that may have aged are assessed again
//! ([`crate::store::drift::aged`]), and escalations whose response became
//! overdue are told on the feed ([`once`] says how it splits the work into
//! transactions). Every replica runs the loop; one of them sweeps each
//! authority in an interval ([`claim`]).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::shutdown::Stopping;
use cpc_platform::{ApiError, Config, db};
use cpc_rules::civil_time::uk_date;
use sqlx::PgPool;

use crate::store::drift::{self, Assessor, SubjectRef};
use crate::store::escalations;

/// How often findings are brought up to date.
pub const EVERY: Duration = Duration::from_secs(15 * 60);

/// Subjects assessed in one transaction.
pub const BATCH: usize = 100;

/// Sweeps every configured authority, then again every [`EVERY`], until
/// the server stops. A failed sweep is logged and tried again next time.
pub async fn run(pool: PgPool, config: Config, stopping: Stopping) {
    loop {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        for authority in config.authorities.keys() {
            match claim(&pool, authority).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::debug!(authority, "drift sweep begun lately by another replica");
                    continue;
                }
                Err(err) => {
                    tracing::warn!(authority, error = %err, "drift sweep could not be claimed; trying again at the next");
                    continue;
                }
            }
            match once(&pool, &config, authority, now).await {
                Ok(assessed) => tracing::debug!(authority, assessed, "drift sweep done"),
                Err(err) => tracing::warn!(
                    authority,
                    error = %err,
                    "drift sweep failed; trying again at the next"
                ),
            }
        }
        tokio::select! {
            () = stopping.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
    }
}

/// How much sooner than [`EVERY`] after the last sweep of an authority
/// another may begin: a replica's own interval runs from the end of its
/// last sweep, so without it a replica would skip every other one of its
/// own turns.
const CLAIM_SLACK: Duration = Duration::from_secs(60);

/// Claims the sweep of `authority` for this replica: true, and the time
/// kept, unless a sweep of it was begun (by any replica) within the last
/// [`EVERY`] less [`CLAIM_SLACK`]. Two replicas claiming at once queue on
/// the authority's row, and the second finds the first's claim. A replica
/// that stops mid-sweep leaves the authority to the next interval, as a
/// failed sweep does.
///
/// # Errors
/// Database errors.
pub async fn claim(pool: &PgPool, authority: &str) -> Result<bool, ApiError> {
    let mut tx = db::begin_for_authority(pool, authority).await?;
    let claimed = sqlx::query(
        "INSERT INTO drift_sweeps (authority_id, begun_at) VALUES ($1, clock_timestamp()) \
         ON CONFLICT (authority_id) DO UPDATE SET begun_at = excluded.begun_at \
         WHERE drift_sweeps.begun_at <= clock_timestamp() - make_interval(secs => $2)",
    )
    .bind(authority)
    .bind(EVERY.saturating_sub(CLAIM_SLACK).as_secs_f64())
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(claimed)
}

/// Sweeps `authority` as at `now`; returns how many subjects were assessed.
/// Subjects are assessed [`BATCH`] to a transaction: an event takes the
/// feed's lock until commit, so a sweep in one transaction would hold up
/// escalation's API writes for all of it, and one transaction a subject
/// costs a round trip of its own each time.
///
/// A batch that fails (a deadlock with a feed's follower, a subject that
/// cannot be assessed) is logged and its subjects tried again one to a
/// transaction, so that one subject that always fails holds up neither the
/// rest of its batch nor the batches after it; escalations whose response
/// became overdue are told whatever became of the subjects.
///
/// # Errors
/// Database errors listing the subjects or telling the overdue
/// escalations; an authority profile the configuration should have
/// refused.
pub async fn once(
    pool: &PgPool,
    config: &Config,
    authority: &str,
    now: DateTime<Utc>,
) -> Result<usize, ApiError> {
    let at = assessor(config, authority, now)?;
    let assessed = assess_aged(pool, &at).await;
    let mut tx = db::begin_for_authority(pool, authority).await?;
    escalations::tell_overdue(&mut tx, authority, now, at.today).await?;
    tx.commit().await?;
    assessed
}

/// Assesses every subject that may have aged; returns how many were
/// assessed without error.
async fn assess_aged(pool: &PgPool, at: &Assessor) -> Result<usize, ApiError> {
    let authority = at.authority.as_str();
    let mut tx = db::begin_for_authority(pool, authority).await?;
    let subjects = drift::aged(&mut tx, at).await?;
    tx.commit().await?;
    let mut assessed = 0;
    for (batch, subjects) in subjects.chunks(BATCH).enumerate() {
        // Ids and the error's kind only: an error may quote a child's data.
        match assess_batch(pool, at, subjects).await {
            Ok(()) => {
                assessed += subjects.len();
                continue;
            }
            Err(err) => tracing::warn!(
                authority,
                batch,
                subjects = subjects.len(),
                error = err.code_name(),
                "drift sweep batch failed; assessing its subjects one at a time"
            ),
        }
        for subject in subjects {
            match assess_batch(pool, at, std::slice::from_ref(subject)).await {
                Ok(()) => assessed += 1,
                Err(err) => tracing::warn!(
                    authority,
                    subject = ?subject,
                    error = err.code_name(),
                    "drift sweep could not assess a subject; trying again at the next"
                ),
            }
        }
    }
    Ok(assessed)
}

/// Assesses `subjects` in one transaction.
async fn assess_batch(
    pool: &PgPool,
    at: &Assessor,
    subjects: &[SubjectRef],
) -> Result<(), ApiError> {
    let mut tx = db::begin_for_authority(pool, &at.authority).await?;
    drift::assess_all(&mut tx, at, subjects).await?;
    tx.commit().await?;
    Ok(())
}

/// Assessing drift at `now`, for `authority`, on its calendar.
///
/// # Errors
/// An authority profile the configuration should have refused.
pub fn assessor(
    config: &Config,
    authority: &str,
    now: DateTime<Utc>,
) -> Result<Assessor, ApiError> {
    let timescales = config.timescales(authority)?;
    let today: NaiveDate = uk_date(now);
    Ok(Assessor {
        authority: authority.to_owned(),
        now,
        today,
        calendar: timescales.calendar(),
        review_months: config
            .authority_profile(authority)
            .plan_duration_review_months,
    })
}
