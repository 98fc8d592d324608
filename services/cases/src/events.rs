//! The cases change feed: each event message of `cpc.cases.v1` (events.proto)
//! with its full protobuf name and aggregate type, and the one function the
//! store uses to append it to the outbox in the current transaction.

use cpc_platform::ApiError;
use cpc_platform::outbox::{self, NewEvent, OutboxError, StoredEvent};
use cpc_proto::cases::v1 as pb;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::store::Ctx;

/// An event message of the cases feed.
pub trait CasesEvent: prost::Message {
    /// Full protobuf name, e.g. `cpc.cases.v1.ChildRegistered`.
    const EVENT_TYPE: &'static str;
    /// The kind of aggregate that changed, e.g. `Child`.
    const AGGREGATE_TYPE: &'static str;
}

macro_rules! events {
    ($($message:ident => $aggregate:literal,)+) => {
        $(
            impl CasesEvent for pb::$message {
                const EVENT_TYPE: &'static str = concat!("cpc.cases.v1.", stringify!($message));
                const AGGREGATE_TYPE: &'static str = $aggregate;
            }
        )+
    };
}

events! {
    CaseCreated => "Case",
    CaseUpdated => "Case",
    ChildRegistered => "Child",
    ChildUpdated => "Child",
    ChildBorn => "Child",
    ChildDied => "Child",
    FamilyMemberAdded => "FamilyMember",
    FamilyMemberUpdated => "FamilyMember",
    CinEpisodeOpened => "CinEpisode",
    CinEpisodeClosed => "CinEpisode",
    StrategyDiscussionRecorded => "StrategyDiscussion",
    Section47Started => "Section47Enquiry",
    Section47Completed => "Section47Enquiry",
    ConferenceOutcomeRecorded => "ConferenceOutcome",
    PlanStarted => "ChildProtectionPlan",
    PlanUpdated => "ChildProtectionPlan",
    PlanEnded => "ChildProtectionPlan",
    PlanTransferOutNotified => "ChildProtectionPlan",
    TransferInRecorded => "TransferIn",
    PlanActionAdded => "PlanAction",
    PlanActionUpdated => "PlanAction",
    PlanActionStatusChanged => "PlanAction",
    CaseMemberAdded => "CaseMembership",
    CaseMemberEnded => "CaseMembership",
}

/// Which aggregate an event is about.
#[derive(Debug, Clone)]
pub struct Subject {
    pub aggregate_id: Uuid,
    /// The aggregate's version after the change.
    pub version: i64,
    /// The children the change concerns (consumers authorise on these).
    pub child_ids: Vec<Uuid>,
}

/// Appends `event` to the feed in the caller's transaction and records the
/// stored event in `events` (the hook the gRPC layer reads after the store
/// call, before its audit append and commit).
///
/// # Errors
/// Database errors; appending outside a transaction is a bug (internal).
pub async fn emit<E: CasesEvent>(
    conn: &mut PgConnection,
    ctx: &Ctx,
    events: &mut Vec<StoredEvent>,
    subject: Subject,
    event: &E,
) -> Result<(), ApiError> {
    let new = NewEvent {
        aggregate_type: E::AGGREGATE_TYPE,
        aggregate_id: subject.aggregate_id.to_string(),
        aggregate_version: subject.version,
        event_type: E::EVENT_TYPE,
        authority_id: ctx.authority.as_str().to_owned(),
        child_ids: subject.child_ids,
        payload: event.encode_to_vec(),
    };
    let stored = outbox::append(conn, &new, ctx.now)
        .await
        .map_err(|err| match err {
            OutboxError::Database(db) => ApiError::from(db),
            other @ (OutboxError::NotInTransaction | OutboxError::Audit(_)) => {
                ApiError::internal(other)
            }
        })?;
    events.push(stored);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_are_full_protobuf_names() {
        assert_eq!(
            pb::ChildRegistered::EVENT_TYPE,
            "cpc.cases.v1.ChildRegistered"
        );
        assert_eq!(pb::PlanStarted::AGGREGATE_TYPE, "ChildProtectionPlan");
        assert_eq!(
            pb::Section47Started::EVENT_TYPE,
            "cpc.cases.v1.Section47Started"
        );
    }
}
