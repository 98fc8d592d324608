//! Following scheduling's change feed ([`cpc_platform::feeds`]): cases
//! keeps its own copy of which conferences were held (`held_conferences`),
//! because a conference outcome may only be recorded for a conference that
//! was, and that fact is scheduling's.

use chrono::{DateTime, Utc};
use cpc_platform::feeds::{BoxFuture, Follow, Source, bad_event, decode_event};
use cpc_platform::{ApiError, Config};
use cpc_proto::common::v1::ChangeEvent;
use cpc_proto::scheduling::v1 as scheduling;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::codes::ConferenceKind;
use crate::convert::date_from_proto;
use crate::domain::outcome::HeldConference;
use crate::domain::person::Agency;
use crate::domain::{AuthorityId, Check, PersonRef};
use crate::store::conferences::record_held_conference;

const CONFERENCE_HELD: &str = "cpc.scheduling.v1.ConferenceHeld";

/// Scheduling's feed, as cases follows it: only held conferences.
pub const SCHEDULING_FEED: Follow = Follow {
    source: Source::Scheduling,
    position: "scheduling",
    events: &[&[CONFERENCE_HELD]],
    apply: apply_scheduling_event,
};

fn apply_scheduling_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if event.event_type != CONFERENCE_HELD {
            return Ok(());
        }
        let conference = decode_event::<scheduling::ConferenceHeld>(event)?
            .conference
            .ok_or_else(|| bad_event(event, "has no conference"))?;
        let held = held_conference(&conference).ok_or_else(|| bad_event(event, "is incomplete"))?;
        let authority = AuthorityId::parse(&event.authority_id)
            .map_err(|_| bad_event(event, "names no local authority"))?;
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        record_held_conference(conn, &authority, &held, event.sequence, now).await?;
        Ok(())
    })
}

/// The held conference as cases keeps it: the chair is the attendee who
/// chaired it (scheduling refuses to record a conference held without one).
fn held_conference(conference: &scheduling::Conference) -> Option<HeldConference> {
    let chair = conference
        .attendance
        .iter()
        .find(|a| a.role == scheduling::AttendeeRole::Chair as i32)?;
    let mut check = Check::new();
    let chair = PersonRef::parse(&mut check, "chair", chair.person.as_ref(), Agency::Optional)?;
    Some(HeldConference {
        id: Uuid::parse_str(&conference.id).ok()?,
        kind: ConferenceKind::from_proto(conference.kind)?,
        date: date_from_proto(conference.held_date.as_ref()).ok()??,
        chair,
        child_ids: conference
            .child_ids
            .iter()
            .map(|c| Uuid::parse_str(c).ok())
            .collect::<Option<_>>()?,
    })
}
