//! Following the cases change feed ([`cpc_platform::feeds`]): each event is
//! applied here, in scheduling's own transaction, with the feed position.
//!
//! What scheduling learns: which case each child belongs to (plan events
//! name only the child) and whether they have died (nothing is made due
//! for a child who has), which plans each child is on and whether a
//! pre-birth conference started them (`ChildBorn` names no plan), when
//! each strategy discussion that started an enquiry was held (a pre-birth
//! conference is recounted from it when the expected date of birth is
//! revised), who is on each case (for the policies' questions about a
//! conference, and to release a chair who comes to work on a case from
//! its conferences), and what the child needs next on the statutory clock
//! ([`crate::due`], applied by [`crate::store::needs`]).

use chrono::{DateTime, Utc};
use cpc_platform::feeds::{BoxFuture, Follow, Source, bad_event, decode_event, plan_ended};
use cpc_platform::{ApiError, Config};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1::ChangeEvent;
use cpc_rules::timescales::Timescales;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::due;
use cpc_platform::case_members as members;

use crate::store::{chairs, needs};

/// The cases feed, as scheduling follows it.
pub const CASES_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases",
    // Every event type: the clock reads most of them.
    events: &[],
    apply: apply_cases_event,
};

/// The cases feed again, for the memberships alone, keeping a place of its
/// own from the feed's beginning: a membership learnt before the copies
/// kept roles gets its role ([`members::learn_role`]), so a chair who
/// already worked on a case is kept from chairing its conferences.
pub const MEMBER_ROLES_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases.member_roles",
    events: &[&[
        "cpc.cases.v1.CaseMemberAdded",
        "cpc.cases.v1.CaseMemberEnded",
    ]],
    apply: apply_member_role,
};

/// The cases feed again, for the children's records alone, keeping a place
/// of its own from the feed's beginning: a death applied before scheduling
/// kept deaths (migration `20261215100001`) is learnt, so nothing is made
/// due for that child again ([`needs::learn_death`]).
pub const CHILD_DEATHS_FEED: Follow = Follow {
    source: Source::Cases,
    position: "cases.child_deaths",
    events: &[CHILD_EVENTS],
    apply: apply_child_death,
};

/// The events that carry a child's record (as field 1).
const CHILD_EVENTS: &[&str] = &[
    "cpc.cases.v1.ChildRegistered",
    "cpc.cases.v1.ChildUpdated",
    "cpc.cases.v1.ChildBorn",
    "cpc.cases.v1.ChildDied",
];

fn apply_child_death<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let child = child_of(event)?;
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        needs::learn_death(conn, uuid(&child.id, "child.id")?, death(&child), now)
            .await
            .map_err(ApiError::internal)
    })
}

fn apply_member_role<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        // Both carry the membership as field 1.
        let membership = decode_event::<cases::CaseMemberAdded>(event)?
            .membership
            .ok_or_else(|| missing(event, "membership"))?;
        // The main follow rechecks a chair on every membership event it
        // reads; here only a role learnt late can show work it missed.
        if members::learn_role(conn, &membership).await? {
            let now = DateTime::<Utc>::from(std::time::SystemTime::now());
            recheck_member(conn, &membership, now).await?;
        }
        Ok(())
    })
}

fn apply_cases_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let authority = event.authority_id.as_str();
        let timescales = config.timescales(authority)?;
        let mut wanted = due::needs(event, &timescales).map_err(ApiError::internal)?;
        match event.event_type.as_str() {
            kind if CHILD_EVENTS.contains(&kind) => {
                let child = child_of(event)?;
                let facts = needs::ChildFacts {
                    child_id: uuid(&child.id, "child.id")?,
                    case_id: uuid(&child.case_id, "child.case_id")?,
                    birth_date: date(child.birth_date.as_ref()),
                    expected_birth_date: date(child.expected_birth_date.as_ref()),
                    death: death(&child),
                };
                needs::learn_child_case(conn, authority, &facts, now)
                    .await
                    .map_err(ApiError::internal)?;
                // Moved to a case their chair works on, the child's booked
                // conferences need another chair.
                for chair in chairs::allocated_for_child(conn, facts.child_id, now).await? {
                    chairs::recheck(conn, chair, now).await?;
                }
            }
            // Each payload carries the plan as field 1. Learnt before the
            // plan's needs are applied, so its end is known to them.
            "cpc.cases.v1.PlanStarted"
            | "cpc.cases.v1.PlanUpdated"
            | "cpc.cases.v1.PlanTransferOutNotified"
            | "cpc.cases.v1.PlanEnded" => {
                let plan = decode_event::<cases::PlanStarted>(event)?
                    .plan
                    .ok_or_else(|| missing(event, "plan"))?;
                let facts = needs::PlanFacts {
                    plan_id: uuid(&plan.id, "plan.id")?,
                    child_id: uuid(&plan.child_id, "plan.child_id")?,
                    pre_birth: plan.pre_birth,
                    in_force: !plan_ended(&plan),
                };
                needs::learn_plan(conn, authority, &facts, now)
                    .await
                    .map_err(ApiError::internal)?;
                // A pre-birth conference held before the birth may have its
                // outcome (and so the plan) recorded after it: `ChildBorn`
                // then found no pre-birth plan, and the review after the
                // birth is due from the plan's start.
                if event.event_type == "cpc.cases.v1.PlanStarted"
                    && facts.pre_birth
                    && facts.in_force
                    && let Some((case, born)) = needs::birth(conn, facts.child_id)
                        .await
                        .map_err(ApiError::internal)?
                {
                    wanted.push(
                        due::post_birth_review(
                            case.to_string(),
                            plan.child_id.clone(),
                            born,
                            false,
                            &timescales,
                        )
                        .map_err(ApiError::internal)?,
                    );
                }
            }
            "cpc.cases.v1.Section47Started" => {
                let started = decode_event::<cases::Section47Started>(event)?;
                let enquiry = started.enquiry.ok_or_else(|| missing(event, "enquiry"))?;
                if let Some(held) = date(started.strategy_discussion_date.as_ref()) {
                    let discussion = uuid(
                        &enquiry.strategy_discussion_id,
                        "enquiry.strategy_discussion_id",
                    )?;
                    needs::learn_discussion(conn, authority, discussion, held, now)
                        .await
                        .map_err(ApiError::internal)?;
                }
            }
            "cpc.cases.v1.CaseMemberAdded" | "cpc.cases.v1.CaseMemberEnded" => {
                let membership = decode_event::<cases::CaseMemberAdded>(event)?
                    .membership
                    .ok_or_else(|| missing(event, "membership"))?;
                members::record(conn, authority, &membership, now).await?;
                recheck_member(conn, &membership, now).await?;
            }
            _ => {}
        }
        for need in wanted {
            let need = unborn(conn, need, &timescales).await?;
            needs::apply(conn, authority, &need, now)
                .await
                .map_err(ApiError::internal)?;
        }
        Ok(())
    })
}

/// A chair who now works on a case ([`members::OPERATIONAL_ROLES`]) is no
/// longer independent of it: the case's booked conferences allocated to
/// them are released, for someone to allocate again.
async fn recheck_member(
    conn: &mut PgConnection,
    membership: &cases::CaseMembership,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    // Chairs are named by their person id; one that is no UUID names no
    // chair.
    match membership
        .person
        .as_ref()
        .and_then(|p| Uuid::parse_str(&p.person_id).ok())
    {
        Some(person) => chairs::recheck(conn, person, now).await,
        None => Ok(()),
    }
}

/// An initial conference for an unborn child is a pre-birth conference;
/// a revised expected date of birth recounts the child's pre-birth
/// conference still to be held.
async fn unborn(
    conn: &mut PgConnection,
    need: due::Need,
    timescales: &Timescales,
) -> Result<due::Need, ApiError> {
    if let due::Need::ExpectedBirthRevised {
        child_id,
        expected_birth,
    } = &need
    {
        return revised(conn, need.clone(), (child_id, *expected_birth), timescales).await;
    }
    let due::Need::Conference {
        kind: cpc_proto::common::v1::ConferenceKind::Initial,
        child_id,
        ..
    } = &need
    else {
        return Ok(need);
    };
    let child = uuid(child_id, "enquiry.child_id")?;
    match needs::expected_birth(conn, child)
        .await
        .map_err(ApiError::internal)?
    {
        Some(expected) => due::pre_birth(need, expected, timescales).map_err(ApiError::internal),
        None => Ok(need),
    }
}

/// [`due::Need::ExpectedBirthRevised`] counted from the strategy discussion
/// the child's pre-birth conference still to be held was counted from;
/// `need` as it is when there is no such conference, or when the date of
/// its discussion is not known (a conference counted before scheduling
/// kept discussions' dates: the deadline after the discussion cannot be
/// weighed against the new gestation deadline, so the due date is left as
/// it was rather than guessed).
async fn revised(
    conn: &mut PgConnection,
    need: due::Need,
    (child_id, expected_birth): (&str, chrono::NaiveDate),
    timescales: &Timescales,
) -> Result<due::Need, ApiError> {
    let child = uuid(child_id, "child.id")?;
    match needs::pre_birth_discussion(conn, child)
        .await
        .map_err(ApiError::internal)?
    {
        Some((discussion, Some(held))) => due::pre_birth_recount(
            child_id.to_owned(),
            expected_birth,
            discussion,
            held,
            timescales,
        )
        .map_err(ApiError::internal),
        Some((_, None)) => {
            tracing::warn!(
                "a revised expected date of birth leaves a pre-birth conference as it was: \
                 when the strategy discussion it counts from was held is not known"
            );
            Ok(need)
        }
        None => Ok(need),
    }
}

/// The child's record a child event carries.
fn child_of(event: &ChangeEvent) -> Result<cases::Child, ApiError> {
    decode_event::<cases::ChildRegistered>(event)?
        .child
        .ok_or_else(|| missing(event, "child"))
}

/// The child's death as their record says it.
fn death(child: &cases::Child) -> needs::Death {
    needs::Death {
        date: date(child.death_date.as_ref()),
        version: child.version,
    }
}

/// A date the feed carries; one cases could not have written reads as
/// unknown.
fn date(d: Option<&cpc_proto::common::v1::Date>) -> Option<chrono::NaiveDate> {
    cpc_platform::convert::date_from_proto(d).ok().flatten()
}

fn missing(event: &ChangeEvent, field: &str) -> ApiError {
    bad_event(event, &format!("has no {field}"))
}

fn uuid(text: &str, field: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(text).map_err(|_| ApiError::internal(format!("{field} is not a UUID")))
}
