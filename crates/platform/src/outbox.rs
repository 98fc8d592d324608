//! The change feed: a transactional outbox per service.
//!
//! A service writes each domain event in the same transaction as the change
//! it describes ([`append`]), so an event exists if and only if its change
//! committed. Consumers read the feed in sequence order ([`read_after`],
//! [`follow`]) and resume after the last sequence they processed: because
//! sequences are assigned gaplessly in commit order, a consumer that was
//! down catches up and misses nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_core::Stream;
use sqlx::postgres::PgListener;
use sqlx::{Connection as _, PgConnection, PgPool};
use uuid::Uuid;

use crate::access::{Deliveries, Lease};

/// First key of the two-key advisory lock that serialises appends ("cpco");
/// the second is the `change_events` table's oid, so each schema's feed has
/// its own lock. Taken before the audit chain's lock, never after it, so
/// the two cannot deadlock.
const FEED_LOCK_CLASS: i32 = 0x6370_636f;

/// The Postgres notification channel a schema's feed announces commits on.
fn channel(schema: &str) -> String {
    format!("cpc_changes_{schema}")
}

/// An event to record with a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// What changed: `child`, `plan`, `conference`...
    pub aggregate_type: &'static str,
    pub aggregate_id: String,
    /// The aggregate's version after the change.
    pub aggregate_version: i64,
    /// Full protobuf name of `payload`'s message, e.g. `cpc.cases.v1.PlanStarted`.
    pub event_type: &'static str,
    /// Whose data this is; consumers filter by it and authorisation checks it.
    pub authority_id: String,
    pub child_ids: Vec<Uuid>,
    /// The protobuf-encoded event message.
    pub payload: Vec<u8>,
}

/// An event as stored, with its place in the feed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    pub sequence: i64,
    pub event_id: Uuid,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub aggregate_version: i64,
    pub event_type: String,
    pub authority_id: String,
    pub child_ids: Vec<Uuid>,
    pub payload: Vec<u8>,
    pub occurred_at: DateTime<Utc>,
}

/// Which events a consumer wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these event types; empty means all.
    pub event_types: Vec<String>,
    /// Only this authority's events.
    pub authority_id: Option<String>,
}

/// Why the feed could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("change events must be appended inside a transaction")]
    NotInTransaction,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("the delivery could not be recorded: {0}")]
    Audit(#[from] cpc_audit::AuditError),
}

/// The record an event is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// `Minutes`, `Escalation`, `DriftFinding`...
    pub aggregate_type: &'static str,
    pub id: &'a str,
    /// The record's version after the change.
    pub version: i64,
    /// The children it concerns (ids that do not parse are left out).
    pub child_ids: &'a [String],
}

/// Appends `payload`, an `event_type` message about `about`, to
/// `authority`'s feed, in the caller's transaction (see [`append`]).
///
/// # Errors
/// `INTERNAL` if the outbox refuses it.
pub async fn publish(
    conn: &mut PgConnection,
    authority: &str,
    about: About<'_>,
    event_type: &'static str,
    payload: &impl prost::Message,
    now: DateTime<Utc>,
) -> Result<(), crate::ApiError> {
    let event = NewEvent {
        aggregate_type: about.aggregate_type,
        aggregate_id: about.id.to_owned(),
        aggregate_version: about.version,
        event_type,
        authority_id: authority.to_owned(),
        child_ids: about
            .child_ids
            .iter()
            .filter_map(|c| Uuid::parse_str(c).ok())
            .collect(),
        payload: payload.encode_to_vec(),
    };
    append(conn, &event, now)
        .await
        .map_err(crate::ApiError::internal)?;
    Ok(())
}

/// Appends `event` to the feed of the schema `conn` is bound to.
///
/// Call it on the transaction that makes the change, after the change and
/// before the audit record (see `cpc_audit::append`), then commit promptly:
/// the feed's lock is held from here to the end of the transaction, which
/// is what makes sequence order equal commit order.
///
/// # Errors
/// [`OutboxError::NotInTransaction`] when `conn` has no open transaction.
pub async fn append(
    conn: &mut PgConnection,
    event: &NewEvent,
    occurred_at: DateTime<Utc>,
) -> Result<StoredEvent, OutboxError> {
    if !conn.is_in_transaction() {
        return Err(OutboxError::NotInTransaction);
    }
    // Lock first, in its own statement: a READ COMMITTED statement that
    // starts after the lock is granted sees the head committed before it.
    sqlx::query("SELECT pg_advisory_xact_lock($1, 'change_events'::regclass::oid::int4)")
        .bind(FEED_LOCK_CLASS)
        .execute(&mut *conn)
        .await?;
    let stored: StoredEvent = sqlx::query_as(
        "INSERT INTO change_events (sequence, event_id, aggregate_type, aggregate_id, aggregate_version, \
                                    event_type, authority_id, child_ids, payload, occurred_at) \
         SELECT coalesce(max(sequence), 0) + 1, $1, $2, $3, $4, $5, $6, $7, $8, date_trunc('microseconds', $9::timestamptz) \
         FROM change_events \
         RETURNING *",
    )
    .bind(Uuid::now_v7())
    .bind(event.aggregate_type)
    .bind(&event.aggregate_id)
    .bind(event.aggregate_version)
    .bind(event.event_type)
    .bind(&event.authority_id)
    .bind(&event.child_ids)
    .bind(&event.payload)
    .bind(occurred_at)
    .fetch_one(&mut *conn)
    .await?;
    // Delivered at commit, and not at all on rollback. The channel is
    // `channel(schema)`, spelled in SQL because only the connection knows
    // its schema here.
    sqlx::query("SELECT pg_notify('cpc_changes_' || current_schema(), $1)")
        .bind(stored.sequence.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(stored)
}

/// Up to `limit` events after `after`, in sequence order.
///
/// # Errors
/// Database errors.
pub async fn read_after(
    pool: &PgPool,
    after: i64,
    filter: &Filter,
    limit: i64,
) -> Result<Vec<StoredEvent>, OutboxError> {
    let events = sqlx::query_as(
        "SELECT * FROM change_events \
         WHERE sequence > $1 \
           AND (cardinality($2::text[]) = 0 OR event_type = ANY($2)) \
           AND ($3::text IS NULL OR authority_id = $3) \
         ORDER BY sequence LIMIT $4",
    )
    .bind(after)
    .bind(&filter.event_types)
    .bind(filter.authority_id.as_deref())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(events)
}

/// How a follower pages through the feed and how long it waits when idle.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    pub batch: i64,
    /// Re-read even without a notification, in case one was missed (for
    /// example while the listener reconnected).
    pub poll_interval: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        Self {
            batch: 500,
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// Every event after `after` matching `filter`, then each new one as it
/// commits, for as long as the stream is polled. `schema` is the schema the
/// pool is bound to (it names the notification channel).
///
/// # Errors
/// The stream yields a database error and ends.
pub fn follow(
    pool: PgPool,
    schema: &'static str,
    after: i64,
    filter: Filter,
    options: FollowOptions,
    mut deliveries: Option<Deliveries>,
) -> impl Stream<Item = Result<StoredEvent, OutboxError>> + Send + 'static {
    async_stream::try_stream! {
        let mut listener = PgListener::connect_with(&pool).await?;
        listener.listen(&channel(schema)).await?;
        let mut last = after;
        loop {
            // Listen before reading, so a commit between the read and the
            // wait still wakes us.
            let events = read_after(&pool, last, &filter, options.batch).await?;
            let full_batch = i64::try_from(events.len()).unwrap_or(i64::MAX) >= options.batch;
            // Recorded before any of the batch goes out: a failure ends the
            // stream with nothing delivered that was not recorded.
            if let Some(deliveries) = deliveries.as_mut() {
                deliveries
                    .record(events.iter().flat_map(|e| e.child_ids.iter().copied()))
                    .await?;
            }
            for event in events {
                last = event.sequence;
                yield event;
            }
            if !full_batch {
                // Either a notification or the poll interval wakes us;
                // a listener error is retried by the next read.
                let _ = tokio::time::timeout(options.poll_interval, listener.try_recv()).await;
            }
        }
    }
}

/// A service's change feed as its `StreamChanges` serves it: where the
/// feed is kept, the package its event types are named in, how it is read,
/// and the server's signal to stop.
#[derive(Clone)]
pub struct FeedServer {
    pool: PgPool,
    schema: &'static str,
    /// `cpc.cases.v1.`: event types are this package's message names.
    package: &'static str,
    options: FollowOptions,
    stopping: crate::shutdown::Stopping,
}

/// A checked `StreamChanges` request, to authorise before it is opened.
#[derive(Debug, Clone)]
pub struct FeedRequest {
    /// The authority whose feed is asked for (the caller's own when the
    /// request names none): the policies decide on it, and another
    /// authority's is refused like any of its records.
    pub authority: String,
    after_sequence: i64,
    event_types: Vec<String>,
}

impl FeedServer {
    /// The feed of `schema` (the pool's), read in the default batches.
    #[must_use]
    pub fn new(
        pool: PgPool,
        schema: &'static str,
        package: &'static str,
        stopping: crate::shutdown::Stopping,
    ) -> Self {
        Self {
            pool,
            schema,
            package,
            options: FollowOptions::default(),
            stopping,
        }
    }

    /// Checks a request's fields (`after_sequence`, `event_types`,
    /// `authority_id`) from a caller of `caller_authority`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming each bad field.
    pub fn check(
        &self,
        caller_authority: &str,
        after_sequence: i64,
        event_types: &[String],
        authority_id: &str,
    ) -> Result<FeedRequest, crate::ApiError> {
        let mut check = crate::check::Check::new();
        check_stream_request(&mut check, after_sequence, event_types, self.package);
        check.finish()?;
        Ok(FeedRequest {
            authority: if authority_id.is_empty() {
                caller_authority.to_owned()
            } else {
                authority_id.to_owned()
            },
            after_sequence,
            event_types: event_types.to_vec(),
        })
    }

    /// The stream of an authorised `request`: its events, each wrapped in
    /// the service's response by `wrap` ([`follow`] and [`serve`]).
    pub fn open<R: Send + 'static>(
        &self,
        request: FeedRequest,
        mut lease: Lease,
        wrap: fn(cpc_proto::common::v1::ChangeEvent) -> R,
    ) -> std::pin::Pin<Box<dyn Stream<Item = Result<R, tonic::Status>> + Send + 'static>> {
        let filter = Filter {
            event_types: request.event_types,
            authority_id: Some(request.authority),
        };
        let events = follow(
            self.pool.clone(),
            self.schema,
            request.after_sequence,
            filter,
            self.options,
            lease.take_deliveries(),
        );
        Box::pin(serve(events, lease, wrap, self.stopping.clone()))
    }
}

/// Checks a `StreamChanges` request: `after_sequence` not negative, each of
/// `event_types` a message of `package` (e.g. `cpc.cases.v1.`) by name.
fn check_stream_request(
    check: &mut crate::check::Check,
    after_sequence: i64,
    event_types: &[String],
    package: &str,
) {
    if after_sequence < 0 {
        check.add("after_sequence", "must not be negative");
    }
    for (i, event_type) in event_types.iter().enumerate() {
        let name = event_type.strip_prefix(package).unwrap_or_default();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            check.add(
                format!("event_types[{i}]"),
                format!("must be a {package} event type, e.g. {package}<EventName>"),
            );
        }
    }
}

/// The `google.rpc.ErrorInfo` reason on the `UNAVAILABLE` that ends a feed
/// stream because the server is stopping: the follower resumes elsewhere,
/// and need not raise an alarm over it.
pub const SERVER_STOPPING: &str = "SERVER_STOPPING";

/// The status that ends a feed stream when the server begins to stop.
#[must_use]
pub fn server_stopping() -> tonic::Status {
    use tonic_types::{ErrorDetails, StatusExt as _};
    tonic::Status::with_error_details(
        tonic::Code::Unavailable,
        "the server is stopping; resume after the last sequence received",
        ErrorDetails::with_error_info(SERVER_STOPPING, "cpc", std::collections::HashMap::new()),
    )
}

/// Whether `status` is [`server_stopping`]'s.
#[must_use]
pub fn is_server_stopping(status: &tonic::Status) -> bool {
    use tonic_types::StatusExt as _;
    status.code() == tonic::Code::Unavailable
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == SERVER_STOPPING)
}

/// How often a stream checks that its caller's session has not been ended
/// (expiry is exact: the stream ends at the token's `exp`).
pub const LEASE_RECHECK: Duration = Duration::from_secs(10);

/// [`follow`] as a server stream: each event wrapped in the service's
/// response by `wrap`. A read failure is logged under the call's request
/// id and ends the stream with `UNAVAILABLE`, and so does the server
/// beginning to stop (`stopping`); either way the client resumes after the
/// last sequence it received, from another replica or once this one is
/// back. The stream ends with `UNAUTHENTICATED` when its caller's token
/// expires or session is ended (`lease`, checked every [`LEASE_RECHECK`]);
/// the client resumes with a new credential.
pub fn serve<R: Send + 'static>(
    events: impl Stream<Item = Result<StoredEvent, OutboxError>> + Send + 'static,
    lease: Lease,
    wrap: fn(cpc_proto::common::v1::ChangeEvent) -> R,
    stopping: crate::shutdown::Stopping,
) -> impl Stream<Item = Result<R, tonic::Status>> + Send + 'static {
    use tokio_stream::StreamExt as _;
    let expiry = lease.expires_at().map(|at| {
        let left = (at - Utc::now()).to_std().unwrap_or_default();
        tokio::time::Instant::now() + left
    });
    async_stream::stream! {
        tokio::pin!(events);
        let expired = async move {
            match expiry {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expired);
        let mut recheck = tokio::time::interval(LEASE_RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let event = tokio::select! {
                // A stop wins over an event ready at the same moment: the
                // client gets it from wherever it resumes.
                biased;
                () = stopping.cancelled() => {
                    yield Err(server_stopping());
                    break;
                }
                () = &mut expired => {
                    yield Err(lease.ended(&cpc_identity::AuthError::Expired));
                    break;
                }
                _ = recheck.tick() => match lease.check(Utc::now()) {
                    Ok(()) => continue,
                    Err(ended) => {
                        yield Err(ended);
                        break;
                    }
                },
                event = events.next() => event,
            };
            match event {
                Some(Ok(event)) => yield Ok(wrap(event.into())),
                Some(Err(err)) => {
                    tracing::error!(request_id = %lease.request_id(), error = %err, "change feed read failed");
                    yield Err(tonic::Status::unavailable(
                        "the change feed could not be read; resume after the last sequence received",
                    ));
                    break;
                }
                None => break,
            }
        }
    }
}

impl From<StoredEvent> for cpc_proto::common::v1::ChangeEvent {
    fn from(event: StoredEvent) -> Self {
        Self {
            sequence: event.sequence,
            event_id: event.event_id.to_string(),
            aggregate_type: event.aggregate_type,
            aggregate_id: event.aggregate_id,
            event_type: event.event_type,
            authority_id: event.authority_id,
            child_ids: event.child_ids.iter().map(Uuid::to_string).collect(),
            occur_time: Some(prost_types::Timestamp {
                seconds: event.occurred_at.timestamp(),
                nanos: i32::try_from(event.occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
            }),
            payload: event.payload,
            aggregate_version: event.aggregate_version,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use tonic::{Code, Status};
    use tonic_types::{ErrorDetails, StatusExt as _};

    use super::*;

    #[test]
    fn only_the_stopping_status_reads_as_stopping() {
        assert!(is_server_stopping(&server_stopping()));
        let with_info = |code: Code, reason: &str| {
            Status::with_error_details(
                code,
                "x",
                ErrorDetails::with_error_info(reason, "cpc", HashMap::new()),
            )
        };
        for other in [
            // A read failure is worth a warning.
            Status::unavailable("the change feed could not be read"),
            with_info(Code::Unavailable, "OTHER"),
            with_info(Code::Internal, SERVER_STOPPING),
        ] {
            assert!(!is_server_stopping(&other), "{other:?}");
        }
    }
}
