//! Applying what the cases feed says a child needs ([`crate::due::Need`])
//! to the diary: create the conference, let a sibling join it, recompute a
//! due date when the facts change, cancel what a plan's end or a child's
//! death makes moot, make a post-birth review due when a child on a
//! pre-birth plan is born.

use chrono::{DateTime, NaiveDate, Utc};
use cpc_proto::common::v1 as common;
use cpc_proto::scheduling::v1 as pb;
use cpc_rules::civil_time::uk_date;
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{booking, conferences, core_groups};
use crate::due::{Basis, DueEvent, Need};

/// What applying a need did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// A new conference, due.
    Created(Uuid),
    /// The child joined a sibling's open conference (same kind and case,
    /// counted from the same event or due the same day).
    Joined(Uuid),
    /// The child's open conference of that kind had its due date or basis
    /// changed.
    Recomputed(Uuid),
    /// The child's open conference already says this.
    Unchanged(Uuid),
    /// The plan's next core group meeting (this one) is due.
    CoreGroupDue(Uuid),
    /// The child left these open reviews (post-birth reviews, and those
    /// reconvening a review that met inquorate, included); those they were
    /// the last child of were cancelled.
    LeftReviews(Vec<Uuid>),
    /// The child left these open initial (or pre-birth) conferences, which
    /// their enquiry found unnecessary; those they were the last child of
    /// were cancelled.
    LeftInitial(Vec<Uuid>),
    /// The child's case is not known yet (no `ChildRegistered` seen).
    CaseUnknown,
    /// The child was born on no plan in force that a pre-birth conference
    /// started: no post-birth review is needed.
    NotOnPreBirthPlan,
    /// The birth date was corrected, and no post-birth review of the
    /// child is still to be held: nothing to recount.
    NoOpenReview,
    /// The expected date of birth was revised, and no pre-birth conference
    /// of the child is still to be held (or, for one counted before
    /// scheduling kept strategy discussions' dates, when its discussion was
    /// is not known): nothing recounted.
    NoOpenPreBirth,
    /// The child died: they left these open conferences, of any kind (and
    /// their core group meetings not yet held); those they were the last
    /// child of were cancelled.
    LeftAll(Vec<Uuid>),
    /// The child has died: nothing is made due for them. An enquiry dated
    /// before the death can be recorded after it, and a plan's clock can
    /// run on in its events until the plan's end is applied.
    ChildHasDied,
}

/// Why a need could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum NeedsError {
    #[error("a conference need without a kind")]
    UnspecifiedKind,
    #[error("{field} is not a UUID")]
    BadId { field: &'static str },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("cannot append to the change feed: {0}")]
    Feed(String),
}

fn id(field: &'static str, text: &str) -> Result<Uuid, NeedsError> {
    Uuid::parse_str(text).map_err(|_| NeedsError::BadId { field })
}

/// What the cases feed says about a child: their case, their birth (or
/// expected birth, while unborn) and their death.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ChildFacts {
    pub child_id: Uuid,
    pub case_id: Uuid,
    pub birth_date: Option<NaiveDate>,
    pub expected_birth_date: Option<NaiveDate>,
    pub death: Death,
}

/// A child's date of death (`None`: living) as a version of their record
/// says it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Death {
    pub date: Option<NaiveDate>,
    /// `Child.version` of the record read.
    pub version: i64,
}

cpc_platform::redacted_debug!(ChildFacts);

/// Records what the feed says about a child (from `ChildRegistered`,
/// `ChildUpdated`, `ChildBorn` and `ChildDied`). The death is kept only
/// from a version of the child at least as new as the one it was last
/// learnt from ([`learn_death`] replays deaths alongside).
///
/// # Errors
/// Database errors.
pub async fn learn_child_case(
    conn: &mut PgConnection,
    authority: &str,
    facts: &ChildFacts,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    sqlx::query(
        "INSERT INTO child_cases (child_id, authority_id, case_id, updated_at, birth_date, expected_birth_date, \
                                  death_date, death_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         ON CONFLICT (child_id) DO UPDATE SET case_id = excluded.case_id, updated_at = excluded.updated_at, \
           birth_date = excluded.birth_date, expected_birth_date = excluded.expected_birth_date, \
           death_date = CASE WHEN excluded.death_version >= child_cases.death_version \
                             THEN excluded.death_date ELSE child_cases.death_date END, \
           death_version = greatest(excluded.death_version, child_cases.death_version)",
    )
    .bind(facts.child_id)
    .bind(authority)
    .bind(facts.case_id)
    .bind(now)
    .bind(facts.birth_date)
    .bind(facts.expected_birth_date)
    .bind(facts.death.date)
    .bind(facts.death.version)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the death of a child already known, as `death` says it, unless
/// a newer version of the child was learnt: the replay of deaths applied
/// before scheduling kept them (migration `20261215100001`). A child not
/// known yet is learnt whole by [`learn_child_case`] when the main follow
/// reaches them.
///
/// # Errors
/// Database errors.
pub async fn learn_death(
    conn: &mut PgConnection,
    child: Uuid,
    death: Death,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    sqlx::query(
        "UPDATE child_cases SET death_date = $2, death_version = $3, updated_at = $4 \
         WHERE child_id = $1 AND death_version <= $3",
    )
    .bind(child)
    .bind(death.date)
    .bind(death.version)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the feed has said that `child` died.
///
/// # Errors
/// Database errors.
pub async fn has_died(conn: &mut PgConnection, child: Uuid) -> Result<bool, NeedsError> {
    let died: Option<bool> =
        sqlx::query_scalar("SELECT death_date IS NOT NULL FROM child_cases WHERE child_id = $1")
            .bind(child)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(died.unwrap_or(false))
}

/// What the cases feed says about a plan (from `PlanStarted`,
/// `PlanUpdated`, `PlanTransferOutNotified` and `PlanEnded`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanFacts {
    pub plan_id: Uuid,
    pub child_id: Uuid,
    /// Started at a pre-birth conference (`ChildProtectionPlan.pre_birth`).
    pub pre_birth: bool,
    /// In force: active, or awaiting the receiving authority's transfer-in
    /// conference.
    pub in_force: bool,
}

/// Records what the feed says about a plan: the birth of a child on a
/// pre-birth plan in force needs a post-birth review
/// ([`Need::PostBirthReview`]), and `ChildBorn` does not name the plan.
///
/// # Errors
/// Database errors.
pub async fn learn_plan(
    conn: &mut PgConnection,
    authority: &str,
    facts: &PlanFacts,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    sqlx::query(
        "INSERT INTO child_plans (plan_id, authority_id, child_id, pre_birth, in_force, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (plan_id) DO UPDATE SET child_id = excluded.child_id, \
           pre_birth = excluded.pre_birth, in_force = excluded.in_force, updated_at = excluded.updated_at",
    )
    .bind(facts.plan_id)
    .bind(authority)
    .bind(facts.child_id)
    .bind(facts.pre_birth)
    .bind(facts.in_force)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The expected date of birth of `child` while unborn; `None` once born
/// or when not known.
///
/// # Errors
/// Database errors.
pub async fn expected_birth(
    conn: &mut PgConnection,
    child: Uuid,
) -> Result<Option<NaiveDate>, NeedsError> {
    let row: Option<(Option<NaiveDate>, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT birth_date, expected_birth_date FROM child_cases WHERE child_id = $1",
    )
    .bind(child)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some((None, expected)) => expected,
        _ => None,
    })
}

/// The case of `child` and their date of birth, once born and known.
///
/// # Errors
/// Database errors.
pub async fn birth(
    conn: &mut PgConnection,
    child: Uuid,
) -> Result<Option<(Uuid, NaiveDate)>, NeedsError> {
    let row: Option<(Uuid, Option<NaiveDate>)> =
        sqlx::query_as("SELECT case_id, birth_date FROM child_cases WHERE child_id = $1")
            .bind(child)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(row.and_then(|(case, born)| Some((case, born?))))
}

/// Records when the strategy discussion `id` that started a section 47
/// enquiry was held (`Section47Started`): a pre-birth conference counted
/// from the expected date of birth keeps only the discussion's id, and its
/// recount from a revised expected date needs the date
/// ([`pre_birth_discussion`]).
///
/// # Errors
/// Database errors.
pub async fn learn_discussion(
    conn: &mut PgConnection,
    authority: &str,
    id: Uuid,
    held_on: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    sqlx::query(
        "INSERT INTO strategy_discussions (id, authority_id, held_on, updated_at) \
         VALUES ($1, $2, $3, $4) \
         ON CONFLICT (id) DO UPDATE SET held_on = excluded.held_on, updated_at = excluded.updated_at",
    )
    .bind(id)
    .bind(authority)
    .bind(held_on)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The strategy discussion the pre-birth conference of `child` still to be
/// held was counted from: its id, and when it was held if scheduling knows
/// (learnt from `Section47Started`, or kept in the child's basis when the
/// deadline after the discussion governed). `None` when the child has no
/// pre-birth conference still to be held.
///
/// # Errors
/// Database errors.
pub async fn pre_birth_discussion(
    conn: &mut PgConnection,
    child: Uuid,
) -> Result<Option<(String, Option<NaiveDate>)>, NeedsError> {
    // The conference `recount_own` recounts.
    let row: Option<(Json<Basis>, Option<NaiveDate>)> = sqlx::query_as(
        "SELECT cc.basis, d.held_on FROM conferences c \
         JOIN conference_children cc ON cc.conference_id = c.id AND cc.child_id = $1 \
         LEFT JOIN strategy_discussions d ON d.id::text = cc.basis->>'source_id' \
         WHERE c.kind = 'pre_birth' AND c.status IN ('due', 'booked') \
         ORDER BY c.created_at LIMIT 1",
    )
    .bind(child)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(basis, held_on)| {
        let Json(basis) = basis;
        let held_on =
            held_on.or((basis.event == DueEvent::StrategyDiscussion).then_some(basis.event_date));
        (basis.source_id, held_on)
    }))
}

/// Applies `need` in `authority`.
///
/// # Errors
/// An id in the event that is not a UUID; database errors.
pub async fn apply(
    conn: &mut PgConnection,
    authority: &str,
    need: &Need,
    now: DateTime<Utc>,
) -> Result<Applied, NeedsError> {
    if let Some(child) = makes_due_for(need)
        && has_died(conn, id("child_id", child)?).await?
    {
        return Ok(Applied::ChildHasDied);
    }
    match need {
        Need::Conference {
            kind,
            case_id,
            child_id,
            due,
            basis,
        } => {
            let child = id("child_id", child_id)?;
            let case = match case_id {
                Some(case) => Some(id("case_id", case)?),
                None => conferences::case_of_child(conn, child).await?,
            };
            let Some(case) = case else {
                return Ok(Applied::CaseUnknown);
            };
            let conference = Wanted {
                kind: kind_code(*kind)?,
                case,
                child,
                due: *due,
                basis,
            };
            conference_needed(conn, authority, &conference, now).await
        }
        Need::CoreGroup {
            plan_id,
            child_id,
            due,
            basis,
        } => {
            let plan = id("plan_id", plan_id)?;
            let child = id("child_id", child_id)?;
            let Some(case) = conferences::case_of_child(conn, child).await? else {
                return Ok(Applied::CaseUnknown);
            };
            let meeting =
                core_groups::plan_needs(conn, authority, (case, child, plan), *due, basis, now)
                    .await
                    .map_err(|err| NeedsError::Feed(err.to_string()))?;
            Ok(Applied::CoreGroupDue(meeting))
        }
        Need::PostBirthReview {
            case_id,
            child_id,
            due,
            corrected,
            basis,
        } => {
            let wanted = Wanted {
                kind: kind_code(common::ConferenceKind::PostBirthReview)?,
                case: id("case_id", case_id)?,
                child: id("child_id", child_id)?,
                due: *due,
                basis,
            };
            if *corrected {
                return Ok(recount_own(conn, &wanted.own(), now)
                    .await?
                    .unwrap_or(Applied::NoOpenReview));
            }
            post_birth_review(conn, authority, &wanted, now).await
        }
        Need::NothingFurther { child_id, plan_id } => {
            let child = id("child_id", child_id)?;
            let plan = id("plan_id", plan_id)?;
            nothing_further(conn, child, plan, now).await
        }
        Need::IcpcNotRequired {
            child_id,
            source_id,
        } => {
            let child = id("child_id", child_id)?;
            let left = leave(
                conn,
                child,
                &Leaving {
                    kinds: &["initial", "pre_birth"],
                    // A reconvened conference counts from the one that met
                    // inquorate, not from the discussion.
                    reconvening: &[],
                    source_id: Some(source_id),
                    reason: "The section 47 enquiry of every child it was for found no initial \
                             conference needed.",
                },
                now,
            )
            .await?;
            Ok(Applied::LeftInitial(left))
        }
        Need::Died { child_id } => {
            let child = id("child_id", child_id)?;
            died(conn, child, now).await
        }
        // Not resolved by the consumer: no pre-birth conference of the
        // child is still to be held (or its discussion's date is unknown).
        Need::ExpectedBirthRevised { .. } => Ok(Applied::NoOpenPreBirth),
        Need::PreBirthRecount {
            child_id,
            due,
            basis,
        } => {
            let own = Own {
                kind: kind_code(common::ConferenceKind::PreBirth)?,
                child: id("child_id", child_id)?,
                due: *due,
                basis,
            };
            Ok(recount_own(conn, &own, now)
                .await?
                .unwrap_or(Applied::NoOpenPreBirth))
        }
    }
}

/// The child `need` would make a conference or core group meeting due for
/// (or recount one of), if any.
fn makes_due_for(need: &Need) -> Option<&str> {
    match need {
        Need::Conference { child_id, .. }
        | Need::CoreGroup { child_id, .. }
        | Need::PostBirthReview { child_id, .. }
        | Need::PreBirthRecount { child_id, .. } => Some(child_id),
        Need::NothingFurther { .. }
        | Need::IcpcNotRequired { .. }
        | Need::Died { .. }
        | Need::ExpectedBirthRevised { .. } => None,
    }
}

/// A conference a child needs.
struct Wanted<'a> {
    kind: &'static str,
    case: Uuid,
    child: Uuid,
    due: NaiveDate,
    basis: &'a Basis,
}

impl<'a> Wanted<'a> {
    fn own(&self) -> Own<'a> {
        Own {
            kind: self.kind,
            child: self.child,
            due: self.due,
            basis: self.basis,
        }
    }
}

/// A child's deadline for their own open conference of a kind (whose case
/// is already the conference's).
struct Own<'a> {
    kind: &'static str,
    child: Uuid,
    due: NaiveDate,
    basis: &'a Basis,
}

/// The child's own open conference of the wanted kind, with the child's
/// deadline (and with it the conference's) recomputed; `None` when the
/// child has none.
async fn recount_own(
    conn: &mut PgConnection,
    wanted: &Own<'_>,
    now: DateTime<Utc>,
) -> Result<Option<Applied>, NeedsError> {
    let own: Option<(Uuid, NaiveDate, Json<Basis>)> = sqlx::query_as(
        "SELECT c.id, cc.due_date, cc.basis FROM conferences c \
         JOIN conference_children cc ON cc.conference_id = c.id AND cc.child_id = $1 \
         WHERE c.kind = $2 AND c.status IN ('due', 'booked') \
         ORDER BY c.created_at LIMIT 1 FOR UPDATE OF c",
    )
    .bind(wanted.child)
    .bind(wanted.kind)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((conference, due, basis)) = own else {
        return Ok(None);
    };
    if due == wanted.due && basis.0 == *wanted.basis {
        return Ok(Some(Applied::Unchanged(conference)));
    }
    sqlx::query(
        "UPDATE conference_children SET due_date = $3, basis = $4 \
         WHERE conference_id = $1 AND child_id = $2",
    )
    .bind(conference)
    .bind(wanted.child)
    .bind(wanted.due)
    .bind(Json(wanted.basis))
    .execute(&mut *conn)
    .await?;
    refresh_due(conn, conference, now).await?;
    announce(conn, conference, Announce::Recomputed, now).await?;
    Ok(Some(Applied::Recomputed(conference)))
}

async fn conference_needed(
    conn: &mut PgConnection,
    authority: &str,
    wanted: &Wanted<'_>,
    now: DateTime<Utc>,
) -> Result<Applied, NeedsError> {
    if let Some(applied) = recount_own(conn, &wanted.own(), now).await? {
        return Ok(applied);
    }
    // A sibling's open conference counted from the same event, or due the
    // same day: siblings are conferenced together, by the earlier deadline.
    let sibling: Option<(Uuid, NaiveDate)> = sqlx::query_as(
        "SELECT id, statutory_due_date FROM conferences \
         WHERE case_id = $1 AND kind = $2 AND status IN ('due', 'booked') \
           AND (basis->>'source_id' = $3 OR statutory_due_date = $4) \
         ORDER BY created_at LIMIT 1 FOR UPDATE",
    )
    .bind(wanted.case)
    .bind(wanted.kind)
    .bind(&wanted.basis.source_id)
    .bind(wanted.due)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((conference, _)) = sibling {
        add_child(conn, authority, conference, wanted).await?;
        refresh_due(conn, conference, now).await?;
        announce(conn, conference, Announce::Recomputed, now).await?;
        return Ok(Applied::Joined(conference));
    }
    let conference = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO conferences (id, authority_id, kind, case_id, status, statutory_due_date, basis, \
                                  created_at, updated_at) \
         VALUES ($1, $2, $3, $4, 'due', $5, $6, $7, $7)",
    )
    .bind(conference)
    .bind(authority)
    .bind(wanted.kind)
    .bind(wanted.case)
    .bind(wanted.due)
    .bind(Json(wanted.basis))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    add_child(conn, authority, conference, wanted).await?;
    announce(conn, conference, Announce::Due, now).await?;
    Ok(Applied::Created(conference))
}

/// The post-birth review `wanted` for a child just born, when they are on
/// a pre-birth plan in force. As any other conference need: a sibling born
/// the same day on their own pre-birth plan (twins) joins it; the same
/// birth delivered again finds the child's open one unchanged. One the
/// child already had that is no longer open (held, met inquorate,
/// cancelled by hand) is not made due again: a child is born once.
async fn post_birth_review(
    conn: &mut PgConnection,
    authority: &str,
    wanted: &Wanted<'_>,
    now: DateTime<Utc>,
) -> Result<Applied, NeedsError> {
    let on_pre_birth_plan: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM child_plans WHERE child_id = $1 AND pre_birth AND in_force)",
    )
    .bind(wanted.child)
    .fetch_one(&mut *conn)
    .await?;
    if !on_pre_birth_plan {
        return Ok(Applied::NotOnPreBirthPlan);
    }
    let past: Option<Uuid> = sqlx::query_scalar(
        "SELECT c.id FROM conferences c \
         JOIN conference_children cc ON cc.conference_id = c.id AND cc.child_id = $1 \
         WHERE c.kind = $2 AND c.status NOT IN ('due', 'booked') \
         ORDER BY c.created_at LIMIT 1",
    )
    .bind(wanted.child)
    .bind(wanted.kind)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(conference) = past {
        return Ok(Applied::Unchanged(conference));
    }
    conference_needed(conn, authority, wanted, now).await
}

/// Makes the conference due by the earliest of its children's deadlines
/// (with that child's basis), after its children or their deadlines
/// changed; bumps its version.
///
/// A booked conference is flagged `booked_past_deadline` by whether its
/// booked date is now after the due date, as a booking is: a sibling
/// joining or a corrected date can put a booking made in time past the
/// deadline. No one gave a reason for that, so none is recorded: holding
/// it late asks for one (`RecordConferenceHeld`), as moving it late does.
/// A booking the change puts back in time keeps no reason, as one booked
/// in time keeps none.
async fn refresh_due(
    conn: &mut PgConnection,
    conference: Uuid,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    let booked: Option<(NaiveDate, String, Option<DateTime<Utc>>, bool)> = sqlx::query_as(
        "UPDATE conferences c SET statutory_due_date = first.due_date, basis = first.basis, \
                version = version + 1, updated_at = $2 \
         FROM (SELECT due_date, basis FROM conference_children WHERE conference_id = $1 \
               ORDER BY due_date, child_id LIMIT 1) AS first \
         WHERE c.id = $1 \
         RETURNING c.statutory_due_date, c.status, c.start_time, c.booked_past_deadline",
    )
    .bind(conference)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    let Some((due, status, Some(start), flagged)) = booked else {
        return Ok(());
    };
    let past = uk_date(start) > due;
    if status == "booked" && past != flagged {
        sqlx::query(
            "UPDATE conferences SET booked_past_deadline = $2, \
                    past_deadline_reason = CASE WHEN $2 THEN past_deadline_reason END \
             WHERE id = $1",
        )
        .bind(conference)
        .bind(past)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn add_child(
    conn: &mut PgConnection,
    authority: &str,
    conference: Uuid,
    wanted: &Wanted<'_>,
) -> Result<(), NeedsError> {
    sqlx::query(
        "INSERT INTO conference_children (conference_id, child_id, authority_id, due_date, basis) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(conference)
    .bind(wanted.child)
    .bind(authority)
    .bind(wanted.due)
    .bind(Json(wanted.basis))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The child's plan ended: they leave their open reviews, post-birth
/// reviews included, and a conference reconvening either after it met
/// inquorate (a review they were the last child of is cancelled); their
/// plan's core groups are no longer due. DOMAIN.md: a plan's end leaves
/// nothing further to hold for the child.
async fn nothing_further(
    conn: &mut PgConnection,
    child: Uuid,
    plan: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, NeedsError> {
    const REVIEWS: &[&str] = &["review", "post_birth_review"];
    let reviews = leave(
        conn,
        child,
        &Leaving {
            kinds: REVIEWS,
            reconvening: REVIEWS,
            source_id: None,
            reason: "The plans of every child it was for have ended.",
        },
        now,
    )
    .await?;
    core_groups::child_left(conn, child, &[plan], now)
        .await
        .map_err(|err| NeedsError::Feed(err.to_string()))?;
    Ok(Applied::LeftReviews(reviews))
}

/// The child died: they leave every conference still to be held, whatever
/// its kind, and every core group meeting not yet held, with each of their
/// plans (cases ends the plan next, with a `PlanEnded` that then finds
/// nothing left).
async fn died(
    conn: &mut PgConnection,
    child: Uuid,
    now: DateTime<Utc>,
) -> Result<Applied, NeedsError> {
    const EVERY_KIND: &[&str] = &[
        "initial",
        "pre_birth",
        "transfer_in",
        "review",
        "post_birth_review",
        "reconvened",
    ];
    let left = leave(
        conn,
        child,
        &Leaving {
            kinds: EVERY_KIND,
            reconvening: &[],
            source_id: None,
            reason: "The last child it was for has died.",
        },
        now,
    )
    .await?;
    let plans: Vec<Uuid> =
        sqlx::query_scalar("SELECT plan_id FROM child_plans WHERE child_id = $1 ORDER BY plan_id")
            .bind(child)
            .fetch_all(&mut *conn)
            .await?;
    core_groups::child_left(conn, child, &plans, now)
        .await
        .map_err(|err| NeedsError::Feed(err.to_string()))?;
    Ok(Applied::LeftAll(left))
}

/// Which of a child's open conferences they leave, and why one they were
/// the last child of is cancelled.
struct Leaving<'a> {
    /// Stored kind codes.
    kinds: &'a [&'static str],
    /// Also reconvened conferences that reconvene one of these kinds (the
    /// kind of the conference that met inquorate).
    reconvening: &'a [&'static str],
    /// Only the conference the child's deadline was counted from this
    /// record for (their strategy discussion), when given.
    source_id: Option<&'a str>,
    /// The cancellation reason.
    reason: &'static str,
}

/// Takes `child` off their open (due or booked) conferences that
/// `leaving` names: each is due by its remaining children's earliest
/// deadline; one the child was the last for is cancelled instead, keeping
/// its children (as one cancelled by hand does: the feed's followers
/// refuse a conference for nobody, and it says whom it was for). Either
/// change goes on the feed, so reporting and escalation stop counting it
/// for the child. Returns the conferences left.
async fn leave(
    conn: &mut PgConnection,
    child: Uuid,
    leaving: &Leaving<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, NeedsError> {
    let open: Vec<(Uuid, i64)> = sqlx::query_as(&format!(
        "SELECT c.id, (SELECT count(*) FROM conference_children o WHERE o.conference_id = c.id) \
         FROM conferences c JOIN conference_children cc ON cc.conference_id = c.id \
         WHERE cc.child_id = $1 AND c.status IN ('due', 'booked') \
           AND (c.kind = ANY ($2) OR (c.kind = 'reconvened' AND {} = ANY ($4))) \
           AND ($3::text IS NULL OR cc.basis->>'source_id' = $3) \
         ORDER BY c.id FOR UPDATE OF c",
        booking::RECONVENES,
    ))
    .bind(child)
    .bind(leaving.kinds)
    .bind(leaving.source_id)
    .bind(leaving.reconvening)
    .fetch_all(&mut *conn)
    .await?;
    for (conference, children) in &open {
        if *children > 1 {
            sqlx::query(
                "DELETE FROM conference_children WHERE conference_id = $1 AND child_id = $2",
            )
            .bind(conference)
            .bind(child)
            .execute(&mut *conn)
            .await?;
            refresh_due(conn, *conference, now).await?;
        } else {
            sqlx::query(
                "UPDATE conferences SET status = 'cancelled', cancellation_reason = $2, \
                        version = version + 1, updated_at = $3 \
                 WHERE id = $1",
            )
            .bind(conference)
            .bind(leaving.reason)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
        announce(conn, *conference, Announce::LeftOrCancelled, now).await?;
    }
    Ok(open.into_iter().map(|(conference, _)| conference).collect())
}

/// Which event a change of a conference is.
enum Announce {
    Due,
    Recomputed,
    /// A child left: cancelled if none is left, else recomputed.
    LeftOrCancelled,
}

/// Appends the conference's change to the scheduling feed.
async fn announce(
    conn: &mut PgConnection,
    id: Uuid,
    change: Announce,
    now: DateTime<Utc>,
) -> Result<(), NeedsError> {
    let conference = conferences::load(conn, id).await?;
    let cancelled = conference.status == pb::ConferenceStatus::Cancelled as i32;
    match change {
        Announce::Due => {
            let event = pb::ConferenceDue {
                conference: Some(conference.clone()),
            };
            conferences::emit(
                conn,
                "cpc.scheduling.v1.ConferenceDue",
                &conference,
                &event,
                now,
            )
            .await
        }
        Announce::LeftOrCancelled if cancelled => {
            let event = pb::ConferenceCancelled {
                conference: Some(conference.clone()),
            };
            conferences::emit(
                conn,
                "cpc.scheduling.v1.ConferenceCancelled",
                &conference,
                &event,
                now,
            )
            .await
        }
        Announce::Recomputed | Announce::LeftOrCancelled => {
            let event = pb::ConferenceRecomputed {
                conference: Some(conference.clone()),
            };
            conferences::emit(
                conn,
                "cpc.scheduling.v1.ConferenceRecomputed",
                &conference,
                &event,
                now,
            )
            .await
        }
    }
}

/// The stored code of a conference kind.
fn kind_code(kind: common::ConferenceKind) -> Result<&'static str, NeedsError> {
    Ok(match kind {
        common::ConferenceKind::Initial => "initial",
        common::ConferenceKind::Review => "review",
        common::ConferenceKind::TransferIn => "transfer_in",
        common::ConferenceKind::PreBirth => "pre_birth",
        common::ConferenceKind::Reconvened => "reconvened",
        common::ConferenceKind::PostBirthReview => "post_birth_review",
        common::ConferenceKind::Unspecified => return Err(NeedsError::UnspecifiedKind),
    })
}
