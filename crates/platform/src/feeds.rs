//! Following another cpc service's change feed: scheduling turns the cases
//! feed into due conferences; cases learns from scheduling's which
//! conferences were held.
//!
//! A consumer is real gRPC to the other service's `StreamChanges`, as any
//! client would call it, so it works the same whether the services share a
//! process or run apart. It follows one stream per authority the
//! deployment serves (the `[authorities]` table): each call acts for one
//! authority, so the authority boundary decides it like any other.
//!
//! Each event is applied in a transaction of the consumer's own schema,
//! bound to the event's authority, together with the new position
//! (`feed_positions`, platform migration 4). A crash or a broken
//! connection loses nothing and repeats nothing: the consumer resumes after
//! the last event it committed. An event that cannot be applied stops its
//! authority's stream, loudly and with backoff, rather than being skipped:
//! a skipped event could be a missed statutory deadline.
//!
//! Credentials: in development mode, a token from the development key for
//! the `cpc_service` role (there is no client certificate); otherwise the
//! process's certificate (`[tls]` cert and key), mapped to a `cpc_service`
//! identity in `identity.service_identities`, naming the authority in
//! `x-cpc-authority`.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cpc_identity::Role;
use cpc_identity::dev::{DevClaims, DevKey};
use cpc_proto::common::v1::ChangeEvent;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use tokio_stream::{Stream, StreamExt as _};
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use crate::access::ACTING_FOR_HEADER;
use crate::config::Config;
use crate::db;
use crate::error::ApiError;

/// A future borrowing the consumer's connection.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The events of one feed, as the source's generated client yields them.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<ChangeEvent, tonic::Status>> + Send>>;

/// The events of a source's `StreamChanges` response stream; `event_of`
/// takes the event out of one response (every service's response carries
/// one).
fn event_stream<R: Send + 'static>(
    responses: tonic::Streaming<R>,
    event_of: fn(R) -> Option<ChangeEvent>,
) -> EventStream {
    Box::pin(responses.map(move |item| {
        item.and_then(|response| {
            event_of(response).ok_or_else(|| tonic::Status::data_loss("a change without its event"))
        })
    }))
}

/// `message` with `metadata` (the credentials) on it.
fn with_credentials<M>(metadata: MetadataMap, message: M) -> tonic::Request<M> {
    tonic::Request::from_parts(metadata, tonic::Extensions::default(), message)
}

/// Scheduling's events whose field 1 is the conference after the change
/// (ConferenceInquorate also names, as field 2, the conference that
/// reconvenes it; the exclusion events, as field 2, the person's
/// invitation).
pub const CONFERENCE_EVENTS: [&str; 11] = [
    "cpc.scheduling.v1.ConferenceDue",
    "cpc.scheduling.v1.ConferenceBooked",
    "cpc.scheduling.v1.ConferenceRecomputed",
    "cpc.scheduling.v1.ConferenceMoved",
    "cpc.scheduling.v1.ConferenceCancelled",
    "cpc.scheduling.v1.ChairAllocated",
    "cpc.scheduling.v1.AttendanceRecorded",
    "cpc.scheduling.v1.ConferenceHeld",
    "cpc.scheduling.v1.ConferenceInquorate",
    "cpc.scheduling.v1.ConferenceExclusionRecorded",
    "cpc.scheduling.v1.ConferenceExclusionLifted",
];

/// Scheduling's core group events; field 1 of each is the meeting after
/// the change.
pub const CORE_GROUP_EVENTS: [&str; 5] = [
    "cpc.scheduling.v1.CoreGroupMeetingDue",
    "cpc.scheduling.v1.CoreGroupMeetingScheduled",
    "cpc.scheduling.v1.CoreGroupMeetingHeld",
    "cpc.scheduling.v1.CoreGroupMissed",
    "cpc.scheduling.v1.CoreGroupMeetingCancelled",
];

/// The cases events whose field 1 is the child after the change.
pub const CHILD_EVENTS: [&str; 4] = [
    "cpc.cases.v1.ChildRegistered",
    "cpc.cases.v1.ChildUpdated",
    "cpc.cases.v1.ChildBorn",
    "cpc.cases.v1.ChildDied",
];

/// The cases events whose field 1 is the child protection plan after the
/// change.
pub const PLAN_EVENTS: [&str; 4] = [
    "cpc.cases.v1.PlanStarted",
    "cpc.cases.v1.PlanUpdated",
    "cpc.cases.v1.PlanEnded",
    "cpc.cases.v1.PlanTransferOutNotified",
];

/// A service whose change feed another follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cases,
    Scheduling,
    Reporting,
}

impl Source {
    /// The service's short name: the key of its position and of its
    /// address in `[feeds.urls]`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Source::Cases => "cases",
            Source::Scheduling => "scheduling",
            Source::Reporting => "reporting",
        }
    }

    /// Opens the feed for `authority_id` after `after_sequence`, with
    /// `metadata` (the credentials) on the request, only `event_types`
    /// (none: every type).
    async fn open(
        self,
        channel: Channel,
        metadata: MetadataMap,
        authority_id: String,
        after_sequence: i64,
        event_types: Vec<String>,
    ) -> Result<EventStream, tonic::Status> {
        use cpc_proto::cases::v1 as cases;
        use cpc_proto::reporting::v1 as reporting;
        use cpc_proto::scheduling::v1 as scheduling;
        // Each service's StreamChanges takes the same three fields and
        // answers the same stream; only the generated types differ.
        macro_rules! stream_changes {
            ($package:ident, $client:ty) => {{
                let request = with_credentials(
                    metadata,
                    $package::StreamChangesRequest {
                        after_sequence,
                        event_types,
                        authority_id,
                    },
                );
                let responses = <$client>::new(channel)
                    .stream_changes(request)
                    .await?
                    .into_inner();
                event_stream(responses, |r| r.event)
            }};
        }
        Ok(match self {
            Source::Cases => {
                stream_changes!(
                    cases,
                    cases::cases_service_client::CasesServiceClient<Channel>
                )
            }
            Source::Scheduling => stream_changes!(
                scheduling,
                scheduling::conferences_service_client::ConferencesServiceClient<Channel>
            ),
            Source::Reporting => stream_changes!(
                reporting,
                reporting::reporting_service_client::ReportingServiceClient<Channel>
            ),
        })
    }
}

/// The payload of a followed `event`, as `M`.
///
/// # Errors
/// `INTERNAL` (see [`bad_event`]) when it does not decode.
pub fn decode_event<M: prost::Message + Default>(event: &ChangeEvent) -> Result<M, ApiError> {
    M::decode(event.payload.as_slice()).map_err(|_| bad_event(event, "does not decode"))
}

/// Whether a plan the cases feed describes has ended, whatever the reason:
/// ENDED, or TRANSFERRED_OUT once the receiving authority held its
/// transfer-in conference (the child has left; nothing more is expected of
/// this authority's plan), or any plan with an end date.
/// TRANSFER_OUT_PENDING is still in force until that conference, so it has
/// not ended. Scheduling (post-birth reviews) and escalation (drift) ask it.
#[must_use]
pub fn plan_ended(plan: &cpc_proto::cases::v1::ChildProtectionPlan) -> bool {
    use cpc_proto::cases::v1::PlanStatus as S;
    let terminal = matches!(S::try_from(plan.status), Ok(S::Ended | S::TransferredOut));
    terminal || plan.end_date.is_some()
}

/// `INTERNAL`: a followed `event` is `what` (incomplete, ...). The reason
/// names the event, never its payload: events hold children's data.
#[must_use]
pub fn bad_event(event: &ChangeEvent, what: &str) -> ApiError {
    ApiError::internal(format!(
        "event {} ({}) {what}",
        event.sequence, event.event_type
    ))
}

/// Applies one event inside the consumer's transaction (bound to the
/// event's authority). An error rolls the event back; it is tried again.
pub type ApplyEvent = for<'a> fn(
    conn: &'a mut PgConnection,
    event: &'a ChangeEvent,
    config: &'a Config,
) -> BoxFuture<'a, Result<(), ApiError>>;

/// A feed a component follows.
#[derive(Clone, Copy)]
pub struct Follow {
    /// The followed service.
    pub source: Source,
    /// The key of this follow's place in the feed (`feed_positions`): the
    /// source's name, or, for a second follow of the same source, a key of
    /// its own, so that each keeps its own place.
    pub position: &'static str,
    /// The event types read, in groups as the consumer names them (none:
    /// every type).
    pub events: &'static [&'static [&'static str]],
    pub apply: ApplyEvent,
}

/// `[feeds]`: where the followed services are, when not in this process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct FeedsConfig {
    /// Address of each followed service not served by this process, by
    /// short name, e.g. `cases = "https://cpc-cases.cpc.svc:50051"`.
    pub urls: BTreeMap<String, String>,
    /// PEM CA certificates that sign the followed services' server
    /// certificates (required with `[tls]`).
    pub ca_file: Option<PathBuf>,
    /// The name the followed services' certificates are issued for, when
    /// it is not the URL's host (e.g. calling this process on loopback).
    pub server_name: Option<String>,
}

/// Why following could not start.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error(
        "{consumer} follows the {feed} change feed, which this process does not serve: set feeds.urls.{feed}"
    )]
    NoAddress {
        consumer: &'static str,
        feed: &'static str,
    },
    #[error("feeds.urls.{feed} is not a valid URL: {reason}")]
    BadUrl { feed: String, reason: String },
    #[error("feeds.ca_file is required to follow change feeds over TLS")]
    NoCa,
    #[error("cannot read {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("in production, following change feeds needs [tls] (a client certificate)")]
    NoCredentials,
    #[error("{consumer} has two follows keeping their place as {position}")]
    SharedPosition {
        consumer: &'static str,
        position: &'static str,
    },
}

/// One follower: a consumer component following a source for one authority.
struct Follower {
    consumer: &'static str,
    follow: Follow,
    authority: String,
    endpoint: Endpoint,
    pool: PgPool,
    config: Arc<Config>,
    credentials: Credentials,
}

#[derive(Clone)]
enum Credentials {
    /// Development mode: a fresh token from the development key per stream.
    DevKey(Arc<DevKey>),
    /// The process's client certificate; the call names its authority.
    Certificate,
}

/// Starts every follower of every component: one task per followed feed
/// and served authority. `served` names the components this process
/// serves (a feed among them is followed on `own_addr`).
///
/// # Errors
/// A followed feed with no address, a bad URL, missing TLS material.
pub fn start(
    config: &Arc<Config>,
    consumers: &[(&'static str, &'static [Follow], PgPool)],
    served: &[&'static str],
    own_addr: SocketAddr,
    dev_key: Option<Arc<DevKey>>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, FeedError> {
    let credentials = match (dev_key, &config.tls) {
        (Some(key), _) => Credentials::DevKey(key),
        (None, Some(_)) => Credentials::Certificate,
        (None, None) => return Err(FeedError::NoCredentials),
    };
    if config.authorities.is_empty() {
        if !consumers.is_empty() {
            tracing::warn!(
                "no authorities configured ([authorities]): following no change feed, so no \
                 conference becomes due from the cases record"
            );
        }
        return Ok(Vec::new());
    }
    // Every endpoint is checked before any follower starts, so a bad one
    // leaves no task running behind the error.
    let mut followers = Vec::new();
    for (consumer, follows, pool) in consumers {
        own_places(consumer, follows)?;
        for follow in *follows {
            let endpoint = endpoint(config, consumer, follow.source.name(), served, own_addr)?;
            for authority in config.authorities.keys() {
                followers.push(Follower {
                    consumer,
                    follow: *follow,
                    authority: authority.clone(),
                    endpoint: endpoint.clone(),
                    pool: pool.clone(),
                    config: Arc::clone(config),
                    credentials: credentials.clone(),
                });
            }
        }
    }
    Ok(followers
        .into_iter()
        .map(|follower| tokio::spawn(follower.run()))
        .collect())
}

/// Each of a consumer's follows keeps its own place: two sharing one would
/// each skip what the other had read.
fn own_places(consumer: &'static str, follows: &[Follow]) -> Result<(), FeedError> {
    let mut positions = std::collections::BTreeSet::new();
    match follows.iter().find(|f| !positions.insert(f.position)) {
        Some(follow) => Err(FeedError::SharedPosition {
            consumer,
            position: follow.position,
        }),
        None => Ok(()),
    }
}

fn endpoint(
    config: &Config,
    consumer: &'static str,
    source: &'static str,
    served: &[&'static str],
    own_addr: SocketAddr,
) -> Result<Endpoint, FeedError> {
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let url = match config.feeds.urls.get(source) {
        Some(url) => url.clone(),
        None if served.contains(&source) => {
            let ip = if own_addr.ip().is_unspecified() {
                std::net::Ipv4Addr::LOCALHOST.into()
            } else {
                own_addr.ip()
            };
            format!("{scheme}://{}", SocketAddr::new(ip, own_addr.port()))
        }
        None => {
            return Err(FeedError::NoAddress {
                consumer,
                feed: source,
            });
        }
    };
    let bad_url = |reason: String| FeedError::BadUrl {
        feed: source.to_owned(),
        reason,
    };
    let mut endpoint = Endpoint::from_shared(url).map_err(|e| bad_url(e.to_string()))?;
    endpoint = endpoint
        .connect_timeout(Duration::from_secs(10))
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if let Some(tls) = &config.tls {
        let read = |path: &PathBuf| {
            std::fs::read(path).map_err(|e| FeedError::File {
                path: path.clone(),
                reason: e.to_string(),
            })
        };
        let ca = config.feeds.ca_file.as_ref().ok_or(FeedError::NoCa)?;
        let mut client = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(ca)?))
            .identity(Identity::from_pem(
                read(&tls.cert_file)?,
                read(&tls.key_file)?,
            ));
        if let Some(name) = &config.feeds.server_name {
            client = client.domain_name(name.clone());
        }
        endpoint = endpoint
            .tls_config(client)
            .map_err(|e| bad_url(e.to_string()))?;
    }
    Ok(endpoint)
}

/// Longest wait between attempts after failures.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

impl Follower {
    async fn run(self) {
        let mut backoff = Duration::from_millis(250);
        loop {
            match self.follow_once().await {
                Ok(applied) if applied > 0 => backoff = Duration::from_millis(250),
                Ok(_) => {}
                // A rollout of the source: expected, and resumed from
                // another replica or the restarted one.
                Err(FollowError::Stream(status)) if crate::outbox::is_server_stopping(&status) => {
                    tracing::info!(
                        consumer = self.consumer,
                        source = self.follow.source.name(),
                        position = self.follow.position,
                        authority = %self.authority,
                        retry_in = ?backoff,
                        "change feed source is stopping; resuming"
                    );
                }
                // The token it was opened with expired (development
                // credentials): resumed with a new one.
                Err(FollowError::Stream(status)) if crate::access::is_credential_ended(&status) => {
                    tracing::info!(
                        consumer = self.consumer,
                        source = self.follow.source.name(),
                        position = self.follow.position,
                        authority = %self.authority,
                        retry_in = ?backoff,
                        "change feed credential ended; resuming with a new one"
                    );
                }
                Err(err) => tracing::warn!(
                    consumer = self.consumer,
                    source = self.follow.source.name(),
                        position = self.follow.position,
                    authority = %self.authority,
                    error = %err,
                    retry_in = ?backoff,
                    "change feed interrupted"
                ),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// Opens the stream after the stored position and applies events until
    /// it ends or fails; returns how many were applied.
    async fn follow_once(&self) -> Result<u64, FollowError> {
        let after = self.position().await?;
        let channel = self.endpoint.connect().await?;
        let metadata = self.metadata()?;
        let types = self.follow.events.iter().flat_map(|group| group.iter());
        let mut events = self
            .follow
            .source
            .open(
                channel,
                metadata,
                self.authority.clone(),
                after,
                types.map(|t| (*t).to_owned()).collect(),
            )
            .await?;
        let mut applied = 0;
        while let Some(event) = events.next().await {
            let event = event?;
            self.apply(&event).await?;
            applied += 1;
        }
        Ok(applied)
    }

    async fn position(&self) -> Result<i64, FollowError> {
        let mut tx = db::begin_for_authority(&self.pool, &self.authority).await?;
        let position: Option<i64> = sqlx::query_scalar(
            "SELECT last_sequence FROM feed_positions WHERE source = $1 AND authority_id = $2",
        )
        .bind(self.follow.position)
        .bind(&self.authority)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(position.unwrap_or(0))
    }

    /// Applies `event` and moves the position past it, in one transaction.
    async fn apply(&self, event: &ChangeEvent) -> Result<(), FollowError> {
        if event.authority_id != self.authority {
            // The source filters by authority; anything else is a bug there,
            // and applying it here would cross the boundary.
            return Err(FollowError::WrongAuthority {
                sequence: event.sequence,
            });
        }
        let mut tx = db::begin_for_authority(&self.pool, &self.authority).await?;
        (self.follow.apply)(&mut tx, event, &self.config)
            .await
            .map_err(|err| FollowError::Apply {
                sequence: event.sequence,
                event_type: event.event_type.clone(),
                reason: err.to_string(),
            })?;
        let now = DateTime::<Utc>::from(std::time::SystemTime::now());
        // Only forward: a replayed older event must not move it back.
        let moved = sqlx::query(
            "INSERT INTO feed_positions (source, authority_id, last_sequence, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (source, authority_id) DO UPDATE \
             SET last_sequence = excluded.last_sequence, updated_at = excluded.updated_at \
             WHERE feed_positions.last_sequence < excluded.last_sequence",
        )
        .bind(self.follow.position)
        .bind(&self.authority)
        .bind(event.sequence)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if moved.rows_affected() == 0 {
            // Already applied (the stream repeated it): drop this copy.
            tx.rollback().await?;
            return Ok(());
        }
        tx.commit().await?;
        Ok(())
    }

    fn metadata(&self) -> Result<MetadataMap, FollowError> {
        let mut metadata = MetadataMap::new();
        let authority = MetadataValue::try_from(self.authority.as_str())
            .map_err(|_| FollowError::Credentials)?;
        match &self.credentials {
            Credentials::DevKey(key) => {
                let claims = DevClaims::new(
                    format!("cpc-{}", self.consumer),
                    self.authority.clone(),
                    [Role::CpcService],
                );
                let bearer = MetadataValue::try_from(format!("Bearer {}", key.mint(&claims)))
                    .map_err(|_| FollowError::Credentials)?;
                metadata.insert("authorization", bearer);
            }
            Credentials::Certificate => {
                metadata.insert(ACTING_FOR_HEADER, authority);
            }
        }
        Ok(metadata)
    }
}

/// Why a stream stopped; logged, then the follower tries again.
#[derive(Debug, thiserror::Error)]
enum FollowError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("connect: {0}")]
    Connect(#[from] tonic::transport::Error),
    #[error("stream: {code:?} {message}", code = .0.code(), message = .0.message())]
    Stream(#[from] tonic::Status),
    #[error("cannot build the call's credentials")]
    Credentials,
    #[error("event {sequence} belongs to another authority")]
    WrongAuthority { sequence: i64 },
    // The reason never carries the payload: events hold children's data.
    #[error("event {sequence} ({event_type}) could not be applied: {reason}")]
    Apply {
        sequence: i64,
        event_type: String,
        reason: String,
    },
}

#[cfg(test)]
mod plan_tests {
    use cpc_proto::cases::v1 as cases;
    use cpc_proto::common::v1 as common;

    use super::plan_ended;

    fn plan(
        status: cases::PlanStatus,
        end_date: Option<common::Date>,
    ) -> cases::ChildProtectionPlan {
        cases::ChildProtectionPlan {
            status: status as i32,
            end_date,
            ..Default::default()
        }
    }

    fn day() -> Option<common::Date> {
        Some(common::Date {
            year: 2026,
            month: 3,
            day: 2,
        })
    }

    #[test]
    fn a_plan_ended_for_any_reason_is_ended() {
        use cases::PlanStatus as S;
        // A plan ended by the receiving authority's transfer-in conference
        // is as ended as one a review conference ended: its actions and
        // duration reviews are no longer this authority's to chase.
        assert!(plan_ended(&plan(S::TransferredOut, day())));
        assert!(plan_ended(&plan(S::TransferredOut, None)));
        assert!(plan_ended(&plan(S::Ended, day())));
        // An end date is an ending whatever status came with it.
        assert!(plan_ended(&plan(S::Unspecified, day())));
    }

    #[test]
    fn a_plan_in_force_is_not_ended() {
        use cases::PlanStatus as S;
        assert!(!plan_ended(&plan(S::Active, None)));
        // Moving away, the plan stays in force until the transfer-in
        // conference.
        assert!(!plan_ended(&plan(S::TransferOutPending, None)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own() -> SocketAddr {
        SocketAddr::from(([0, 0, 0, 0], 50051))
    }

    #[test]
    fn a_feed_served_here_is_followed_on_loopback() {
        let endpoint =
            endpoint(&Config::default(), "scheduling", "cases", &["cases"], own()).unwrap();
        assert_eq!(endpoint.uri().to_string(), "http://127.0.0.1:50051/");
    }

    #[test]
    fn a_feed_served_elsewhere_needs_its_address() {
        let err = endpoint(
            &Config::default(),
            "scheduling",
            "cases",
            &["scheduling"],
            own(),
        )
        .unwrap_err();
        assert!(
            matches!(err, FeedError::NoAddress { feed: "cases", .. }),
            "{err}"
        );
        assert!(err.to_string().contains("feeds.urls.cases"));

        let mut config = Config::default();
        config
            .feeds
            .urls
            .insert("cases".to_owned(), "not a url".to_owned());
        let err = endpoint(&config, "scheduling", "cases", &["scheduling"], own()).unwrap_err();
        assert!(matches!(err, FeedError::BadUrl { .. }), "{err}");

        config
            .feeds
            .urls
            .insert("cases".to_owned(), "https://cpc-cases:50051".to_owned());
        let endpoint = endpoint(&config, "scheduling", "cases", &["scheduling"], own()).unwrap();
        assert_eq!(endpoint.uri().host(), Some("cpc-cases"));
    }

    #[test]
    fn following_over_tls_needs_the_peers_ca() {
        let mut config = Config {
            tls: Some(crate::tls::TlsConfig {
                cert_file: "server.pem".into(),
                key_file: "server.key".into(),
                client_ca_file: None,
                client_crl_file: None,
                reload_interval: Duration::from_secs(60),
                handshake_timeout: Duration::from_secs(10),
            }),
            ..Config::default()
        };
        let err = endpoint(&config, "scheduling", "cases", &["cases"], own()).unwrap_err();
        assert!(matches!(err, FeedError::NoCa), "{err}");
        config.feeds.ca_file = Some("no-such-ca.pem".into());
        let err = endpoint(&config, "scheduling", "cases", &["cases"], own()).unwrap_err();
        assert!(matches!(err, FeedError::File { .. }), "{err}");
    }

    #[test]
    fn two_follows_of_a_consumer_may_not_keep_one_place() {
        fn ignore<'a>(
            _: &'a mut PgConnection,
            _: &'a ChangeEvent,
            _: &'a Config,
        ) -> BoxFuture<'a, Result<(), ApiError>> {
            Box::pin(async { Ok(()) })
        }
        let follow = |position| Follow {
            source: Source::Cases,
            position,
            events: &[],
            apply: ignore,
        };
        assert!(own_places("reporting", &[follow("cases"), follow("cases.children")]).is_ok());
        let err = own_places("reporting", &[follow("cases"), follow("cases")]).unwrap_err();
        assert!(
            matches!(
                err,
                FeedError::SharedPosition {
                    position: "cases",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn production_without_tls_has_no_credentials_to_follow_with() {
        let err = start(&Arc::new(Config::default()), &[], &[], own(), None).unwrap_err();
        assert!(matches!(err, FeedError::NoCredentials), "{err}");
    }
}
