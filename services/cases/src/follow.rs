//! Following scheduling's change feed ([`cpc_platform::feeds`]): cases
//! keeps its own copy of which conferences were held (`held_conferences`),
//! because a conference outcome may only be recorded for a conference that
//! was, and that fact is scheduling's.

use chrono::{DateTime, Utc};
use cpc_platform::feeds::{BoxFuture, EventStream, Follow, event_stream};
use cpc_platform::{ApiError, Config};
use cpc_proto::common::v1::ChangeEvent;
use cpc_proto::scheduling::v1 as scheduling;
use cpc_proto::scheduling::v1::conferences_service_client::ConferencesServiceClient;
use prost::Message as _;
use sqlx::PgConnection;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
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
    source: "scheduling",
    open: open_scheduling_feed,
    apply: apply_scheduling_event,
};

fn open_scheduling_feed(
    channel: Channel,
    metadata: MetadataMap,
    authority_id: String,
    after_sequence: i64,
) -> BoxFuture<'static, Result<EventStream, tonic::Status>> {
    Box::pin(async move {
        let request = tonic::Request::from_parts(
            metadata,
            tonic::Extensions::default(),
            scheduling::StreamChangesRequest {
                after_sequence,
                event_types: vec![CONFERENCE_HELD.to_owned()],
                authority_id,
            },
        );
        let responses = ConferencesServiceClient::new(channel)
            .stream_changes(request)
            .await?
            .into_inner();
        Ok(event_stream(responses, |r| r.event))
    })
}

fn apply_scheduling_event<'a>(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    _config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>> {
    Box::pin(async move {
        if event.event_type != CONFERENCE_HELD {
            return Ok(());
        }
        let conference = scheduling::ConferenceHeld::decode(event.payload.as_slice())
            .ok()
            .and_then(|held| held.conference)
            .ok_or_else(|| bad(event, "does not decode"))?;
        let held = held_conference(&conference).ok_or_else(|| bad(event, "is incomplete"))?;
        let authority = AuthorityId::parse(&event.authority_id)
            .map_err(|_| bad(event, "names no local authority"))?;
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

// The reason never carries the payload: events hold children's data.
fn bad(event: &ChangeEvent, what: &str) -> ApiError {
    ApiError::internal(format!(
        "scheduling event {} ({}) {what}",
        event.sequence, event.event_type
    ))
}
