//! What the census is written from, kept from the cases feed: each child's
//! census identifiers, children in need episodes, section 47 enquiries,
//! initial and transfer-in conferences and child protection plans
//! (migrations `20261208100001_census.sql` and
//! `20261209100001_transfer_in_conferences.sql`). Each row is the latest
//! version cases published: an older copy never overwrites a newer one, so
//! replaying the feed changes nothing.
//!
//! A census item cases left unset is kept NULL, never refused: a gap in
//! one child's record must not stop the feed for every other case. The
//! return's validation names the child and the missing item instead.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::census_codes::{
    category_from_proto, closure_reason_from_proto, primary_need_from_proto, sex_from_proto,
    upn_unknown_from_proto,
};
use cpc_platform::convert::date_from_proto;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use sqlx::PgConnection;
use uuid::Uuid;

/// An event that names no valid id or lacks the date that places it: the
/// feed stops at it (with its sequence number) rather than lose it.
fn incomplete() -> ApiError {
    ApiError::internal("the event is incomplete")
}

fn id(text: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| incomplete())
}

fn optional_id(text: &str) -> Option<Uuid> {
    Uuid::parse_str(text).ok()
}

/// A date cases sent; an unreadable one is kept as unknown.
fn date(value: Option<&common::Date>) -> Option<NaiveDate> {
    date_from_proto(value).ok().flatten()
}

fn text(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// A child registered, updated, born or died.
pub async fn child(
    conn: &mut PgConnection,
    authority: &str,
    child: &cases::Child,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let Ok(child_id) = id(&child.id) else {
        return Err(incomplete());
    };
    let Some(la_child_id) = text(&child.la_child_id) else {
        return Err(incomplete());
    };
    let disabilities: Vec<&str> = child
        .disability_codes
        .iter()
        .filter_map(|c| text(c))
        .collect();
    sqlx::query(
        "INSERT INTO census_children (id, authority_id, la_child_id, upn, upn_unknown, former_upn, \
           birth_on, expected_birth_on, death_on, sex, ethnicity, disabilities, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
         ON CONFLICT (id) DO UPDATE SET la_child_id = excluded.la_child_id, upn = excluded.upn, \
           upn_unknown = excluded.upn_unknown, former_upn = excluded.former_upn, \
           birth_on = excluded.birth_on, expected_birth_on = excluded.expected_birth_on, \
           death_on = excluded.death_on, sex = excluded.sex, ethnicity = excluded.ethnicity, \
           disabilities = excluded.disabilities, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE census_children.version < excluded.version",
    )
    .bind(child_id)
    .bind(authority)
    .bind(la_child_id)
    .bind(text(&child.upn))
    .bind(upn_unknown_from_proto(child.upn_unknown_reason).map(|r| r.code()))
    .bind(text(&child.former_upn))
    .bind(date(child.birth_date.as_ref()))
    .bind(date(child.expected_birth_date.as_ref()))
    .bind(date(child.death_date.as_ref()))
    .bind(sex_from_proto(child.sex).map(|s| s.code()))
    .bind(text(&child.ethnicity_code))
    .bind(&disabilities)
    .bind(child.version.max(1))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A children in need episode opened or closed.
pub async fn episode(
    conn: &mut PgConnection,
    authority: &str,
    episode: &cases::CinEpisode,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (Ok(episode_id), Ok(child_id), Some(referral_on)) = (
        id(&episode.id),
        id(&episode.child_id),
        date(episode.referral_date.as_ref()),
    ) else {
        return Err(incomplete());
    };
    sqlx::query(
        "INSERT INTO cin_episodes (id, authority_id, child_id, referral_on, referral_source, \
           primary_need, referral_nfa, closure_on, closure_reason, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (id) DO UPDATE SET referral_on = excluded.referral_on, \
           referral_source = excluded.referral_source, primary_need = excluded.primary_need, \
           referral_nfa = excluded.referral_nfa, closure_on = excluded.closure_on, \
           closure_reason = excluded.closure_reason, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE cin_episodes.version < excluded.version",
    )
    .bind(episode_id)
    .bind(authority)
    .bind(child_id)
    .bind(referral_on)
    .bind(text(&episode.referral_source_code))
    .bind(primary_need_from_proto(episode.primary_need).map(|n| n.code()))
    .bind(episode.referral_nfa)
    .bind(date(episode.closure_date.as_ref()))
    .bind(closure_reason_from_proto(episode.closure_reason).map(|r| r.code()))
    .bind(episode.version.max(1))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A section 47 enquiry started or completed. Its start date is also what
/// the timeliness statistics measure the ICPC from.
pub async fn enquiry(
    conn: &mut PgConnection,
    authority: &str,
    enquiry: &cases::Section47Enquiry,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (Ok(enquiry_id), Ok(child_id), Some(start_on)) = (
        id(&enquiry.id),
        id(&enquiry.child_id),
        date(enquiry.start_date.as_ref()),
    ) else {
        return Err(incomplete());
    };
    let icpc_not_required = enquiry.outcome == cases::Section47Outcome::IcpcNotRequired as i32;
    sqlx::query(
        "INSERT INTO s47_enquiries (id, authority_id, child_id, start_on, cin_episode_id, \
           icpc_target_on, icpc_not_required, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (id) DO UPDATE SET start_on = excluded.start_on, \
           cin_episode_id = excluded.cin_episode_id, icpc_target_on = excluded.icpc_target_on, \
           icpc_not_required = excluded.icpc_not_required, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE s47_enquiries.version < excluded.version",
    )
    .bind(enquiry_id)
    .bind(authority)
    .bind(child_id)
    .bind(start_on)
    .bind(optional_id(&enquiry.cin_episode_id))
    .bind(date(enquiry.initial_cpc_target_date.as_ref()))
    .bind(icpc_not_required)
    .bind(enquiry.version.max(1))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An outcome recorded for a child at a conference: kept when the
/// conference was an initial or pre-birth one (DateOfInitialCPC of the
/// section 47 enquiry it followed) or a transfer-in one (DateOfInitialCPC
/// of the episode, for the plan it started: it follows no enquiry here).
pub async fn outcome(
    conn: &mut PgConnection,
    authority: &str,
    outcome: &cases::ConferenceOutcome,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    use common::ConferenceKind as K;
    // A reconvened conference may be either (see the census read).
    let (reconvened, transfer_in) = match K::try_from(outcome.conference_kind) {
        Ok(K::Initial | K::PreBirth) => (false, false),
        Ok(K::TransferIn) => (false, true),
        Ok(K::Reconvened) => (true, false),
        _ => return Ok(()),
    };
    let (Ok(outcome_id), Ok(child_id), Ok(conference_id), Some(held_on)) = (
        id(&outcome.id),
        id(&outcome.child_id),
        id(&outcome.conference_id),
        date(outcome.conference_date.as_ref()),
    ) else {
        return Err(incomplete());
    };
    sqlx::query(
        "INSERT INTO initial_conferences (outcome_id, authority_id, child_id, held_on, version, \
           updated_at, conference_id, reconvened, transfer_in) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (outcome_id) DO UPDATE SET held_on = excluded.held_on, \
           version = excluded.version, updated_at = excluded.updated_at, \
           conference_id = excluded.conference_id, reconvened = excluded.reconvened, \
           transfer_in = excluded.transfer_in \
         WHERE initial_conferences.version < excluded.version",
    )
    .bind(outcome_id)
    .bind(authority)
    .bind(child_id)
    .bind(held_on)
    .bind(outcome.version.max(1))
    .bind(now)
    .bind(conference_id)
    .bind(reconvened)
    .bind(transfer_in)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A child protection plan started, changed or ended.
pub async fn plan(
    conn: &mut PgConnection,
    authority: &str,
    plan: &cases::ChildProtectionPlan,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let (Ok(plan_id), Ok(child_id), Some(start_on)) = (
        id(&plan.id),
        id(&plan.child_id),
        date(plan.start_date.as_ref()),
    ) else {
        return Err(incomplete());
    };
    let mut review_dates: Vec<NaiveDate> = plan
        .review_dates
        .iter()
        .filter_map(|d| date(Some(d)))
        .collect();
    review_dates.sort_unstable();
    review_dates.dedup();
    sqlx::query(
        "INSERT INTO child_protection_plans (id, authority_id, child_id, cin_episode_id, start_on, \
           end_on, initial_category, latest_category, previous_plans, review_dates, version, \
           updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (id) DO UPDATE SET cin_episode_id = excluded.cin_episode_id, \
           start_on = excluded.start_on, end_on = excluded.end_on, \
           initial_category = excluded.initial_category, \
           latest_category = excluded.latest_category, previous_plans = excluded.previous_plans, \
           review_dates = excluded.review_dates, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE child_protection_plans.version < excluded.version",
    )
    .bind(plan_id)
    .bind(authority)
    .bind(child_id)
    .bind(optional_id(&plan.cin_episode_id))
    .bind(start_on)
    .bind(date(plan.end_date.as_ref()))
    .bind(category_from_proto(plan.initial_category).map(|c| c.code()))
    .bind(category_from_proto(plan.latest_category).map(|c| c.code()))
    .bind(plan.previous_plan_count.max(0))
    .bind(&review_dates)
    .bind(plan.version.max(1))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
