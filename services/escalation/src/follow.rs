//! Following the cases change feed ([`cpc_platform::feeds`]): each event is
//! applied here, in escalation's own transaction, with the feed position.
//!
//! What escalation learns: who is on each case (for the policies), each
//! child's case (an escalation's children must all be of its case) and
//! each child protection plan's child (an escalation's plan must be one of
//! its children's). Nothing else of the child is kept: the feed's child
//! carries names and dates of birth, and escalation needs none of them.

use chrono::{DateTime, Utc};
use cpc_platform::case_members;
use cpc_platform::feeds::{BoxFuture, Follow, Source, bad_event, decode_event};
use cpc_platform::{ApiError, Config};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1::ChangeEvent;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::cases::{self as cases_copy, Kept, Learnt};

const MEMBER_ADDED: &str = "cpc.cases.v1.CaseMemberAdded";
const MEMBER_ENDED: &str = "cpc.cases.v1.CaseMemberEnded";
/// The events whose field 1 is the child after the change.
const CHILD_EVENTS: [&str; 3] = [
    "cpc.cases.v1.ChildRegistered",
    "cpc.cases.v1.ChildUpdated",
    "cpc.cases.v1.ChildBorn",
];
/// The events whose field 1 is the plan after the change.
const PLAN_EVENTS: [&str; 3] = [
    "cpc.cases.v1.PlanStarted",
    "cpc.cases.v1.PlanUpdated",
    "cpc.cases.v1.PlanEnded",
];

/// The cases feed, as escalation follows it.
pub const CASES_FEED: Follow = Follow {
    source: Source::Cases,
    events: &[&[MEMBER_ADDED, MEMBER_ENDED], &CHILD_EVENTS, &PLAN_EVENTS],
    apply: apply_cases_event,
};

fn apply_cases_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        let authority = event.authority_id.as_str();
        let kind = event.event_type.as_str();
        let uuid =
            |text: &str| Uuid::parse_str(text).map_err(|_| bad_event(event, "is incomplete"));
        if kind == MEMBER_ADDED || kind == MEMBER_ENDED {
            // Both carry the membership as field 1.
            let membership = decode_event::<cases::CaseMemberAdded>(event)?
                .membership
                .ok_or_else(|| bad_event(event, "has no membership"))?;
            return case_members::record(conn, authority, &membership, now).await;
        }
        // Child events carry the child as field 1, plan events the plan.
        let learnt = if CHILD_EVENTS.contains(&kind) {
            let child = decode_event::<cases::ChildRegistered>(event)?
                .child
                .ok_or_else(|| bad_event(event, "has no child"))?;
            (Kept::Child, child.id, child.case_id, child.version)
        } else if PLAN_EVENTS.contains(&kind) {
            let plan = decode_event::<cases::PlanStarted>(event)?
                .plan
                .ok_or_else(|| bad_event(event, "has no plan"))?;
            (Kept::Plan, plan.id, plan.child_id, plan.version)
        } else {
            return Ok(());
        };
        let (what, id, parent, version) = learnt;
        let learnt = Learnt {
            kept: what,
            id: uuid(&id)?,
            parent: uuid(&parent)?,
            version: version.max(1),
        };
        cases_copy::learn(conn, authority, &learnt, now).await
    })
}
