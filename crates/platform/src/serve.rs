//! Serving one or more services on one listener, each with its own pool and
//! schema, always with `grpc.health.v1` and server reflection (both
//! `grpc.reflection.v1` and `v1alpha`, which older clients still speak).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use cpc_authz::{Authorizer, SharedAuthorizer};
use cpc_identity::Authenticator;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::service::RoutesBuilder;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::access::{Access, RefusalLogs, RpcPath};
use crate::audit_api::{AuditApi, AuditLog};
use crate::audit_watch::HeadWatch;
use crate::config::Config;
use crate::db::{self, DbError};
use crate::error::ApiError;
use crate::rate_limit::CallerLimits;
use crate::tls::ReloadingTls;
use cpc_proto::audit::v1::audit_service_server::{
    AuditServiceServer, SERVICE_NAME as AUDIT_SERVICE,
};

/// One cpc service as the platform sees it.
pub struct Component {
    /// Short name used in logs and on the `cpcd` command line (`cases`).
    pub name: &'static str,
    /// Fully-qualified names of the gRPC services it serves
    /// (`cpc.cases.v1.CasesService`), reported by health and advertised by
    /// reflection.
    pub grpc_services: &'static [&'static str],
    /// The Postgres schema the service owns; no other service reads it.
    pub schema: &'static str,
    /// Migrations embedded in the service's crate.
    pub migrator: &'static Migrator,
    /// Adds the service's RPC implementations.
    pub mount: fn(&Mount<'_>, &mut RoutesBuilder),
    /// Tables of the schema whose rows, once written, the service's query
    /// role may not change or delete (histories); the audit log and change
    /// feed are always so.
    pub append_only: &'static [&'static str],
    /// Finds a child's case and its current members in the component's
    /// schema, so that the audit service can ask the policies about that
    /// child's record (a social worker reading who accessed their child).
    /// `None`: the component keeps no children.
    pub locate_child: Option<LocateChild>,
    /// Other services' change feeds this component follows
    /// ([`crate::feeds`]).
    pub follows: &'static [crate::feeds::Follow],
    /// Method paths that may run to `limits.slow_call_timeout` rather than
    /// `limits.request_timeout` ([`crate::deadline`]).
    pub slow_calls: &'static [&'static str],
}

/// See [`Component::locate_child`]: `(pool, authority, child, today)` →
/// the child as the component knows it, `None` when the authority has no
/// such child.
pub type LocateChild = for<'a> fn(
    &'a PgPool,
    &'a str,
    uuid::Uuid,
    chrono::NaiveDate,
) -> Pin<
    Box<dyn Future<Output = Result<Option<LocatedChild>, ApiError>> + Send + 'a>,
>;

/// A child of an authority, as one component's schema knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedChild {
    /// The child's case and its members, for the policies.
    pub relation: cpc_authz::CaseRelation,
    /// The ids of the child's records in the schema that a call may name
    /// (its case, plans, conferences...). Another authority's caller who
    /// named one was refused in their own authority's log, which cannot
    /// tell whose record it was; these ids let the child's authority find
    /// the attempt.
    pub record_ids: Vec<String>,
}

impl LocatedChild {
    /// The child's relation and the ids of its records.
    pub fn new(relation: cpc_authz::CaseRelation, records: &[uuid::Uuid]) -> Self {
        Self {
            relation,
            record_ids: records.iter().map(uuid::Uuid::to_string).collect(),
        }
    }
}

/// What a component is given when it mounts its RPCs.
pub struct Mount<'a> {
    /// A pool whose `search_path` is the component's own schema.
    pub pool: PgPool,
    pub config: &'a Config,
    /// Who is calling, whether they may, and the audit record of it.
    pub access: Access,
    /// Cancelled when the server begins to stop; streams end on it.
    pub stopping: crate::shutdown::Stopping,
}

/// Why the server could not start or keep serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("identity: {0}")]
    Identity(#[from] cpc_identity::IdentityError),
    #[error("access policies: {0}")]
    Policies(#[from] cpc_authz::AuthzError),
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("listener: {0}")]
    Listener(#[from] std::io::Error),
    #[error("transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("change feeds: {0}")]
    Feeds(#[from] crate::feeds::FeedError),
}

/// Components whose storage is ready: schema present and migrated.
pub struct Server {
    config: Config,
    /// Also in `access`; kept here to start its key refresh when serving.
    authenticator: Arc<Authenticator>,
    /// Also in `access`; kept here to read the policies again when serving.
    authorizer: Arc<SharedAuthorizer>,
    access: Access,
    tls: Option<Arc<ReloadingTls>>,
    components: Vec<(Component, PgPool)>,
}

impl Server {
    /// Migrates every component's schema and opens its pool.
    pub async fn prepare(config: Config, components: Vec<Component>) -> Result<Self, ServeError> {
        // Plaintext only in development mode on loopback; production
        // refuses to serve without TLS.
        config
            .identity
            .validate_for(config.listen_addr, config.tls.is_some())?;
        // Likewise the records themselves on their way to Postgres.
        if config.identity.mode == cpc_identity::Mode::Production {
            db::require_verified_tls(&config.database_url)?;
        }
        let tls = config.tls.as_ref().map(ReloadingTls::load).transpose()?;
        // Every issuer's keys are read or fetched before anything is served.
        let authenticator = Arc::new(Authenticator::load(&config.identity).await?);
        let authorizer = Authorizer::load(&config.policy_dir)?;
        // Every audit record of a decision names this digest; the log line
        // ties it to the deployment (cpcctl policies digest <dir> gives a
        // folder's).
        tracing::info!(
            policy_set = authorizer.digest(),
            policies = authorizer.policy_ids().len(),
            "policies loaded"
        );
        let mut ready = Vec::with_capacity(components.len());
        for component in components {
            db::migrate(
                &config.database_url,
                component.schema,
                &migrators(&component),
                component.append_only,
            )
            .await?;
            let pool = db::pool(&config.database_url, component.schema, &config.database)?;
            tracing::info!(
                service = component.name,
                schema = component.schema,
                "storage ready"
            );
            ready.push((component, pool));
        }
        // Calls are counted in the first component's schema, shared by
        // every replica serving it (`crate::rate_limit`).
        let mut limits = CallerLimits::new(
            config.limits.calls_per_minute_per_caller,
            config.limits.burst_per_caller,
        );
        if let Some((_, pool)) = ready.first() {
            limits = limits.shared(pool.clone());
        }
        // A refused session is recorded in the log of the service called.
        let logs = ready
            .iter()
            .flat_map(|(c, pool)| c.grpc_services.iter().map(|name| (*name, pool.clone())))
            .collect();
        let authorizer = Arc::new(SharedAuthorizer::new(authorizer));
        let access = Access::new(
            Arc::clone(&authenticator),
            Arc::clone(&authorizer),
            Arc::new(limits),
            RefusalLogs::new(logs),
        );
        Ok(Self {
            config,
            authenticator,
            authorizer,
            access,
            tls,
            components: ready,
        })
    }

    /// Serves until `shutdown` resolves, then reports NOT_SERVING, stops
    /// accepting, and lets in-flight calls finish within the configured grace.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        let stopping = crate::shutdown::Stopping::new();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health);
        let mut advertised = vec!["grpc.health.v1.Health"];
        for (component, pool) in &self.components {
            advertised.extend(component.grpc_services);
            let ctx = Mount {
                pool: pool.clone(),
                config: &self.config,
                access: self.access.clone(),
                stopping: stopping.clone(),
            };
            (component.mount)(&ctx, &mut routes);
        }
        // Every process answers for the audit logs of the services it runs.
        let logs = self
            .components
            .iter()
            .map(|(c, pool)| AuditLog {
                service: c.name,
                pool: pool.clone(),
                locate_child: c.locate_child,
            })
            .collect();
        routes.add_service(
            AuditServiceServer::new(AuditApi::new(self.access.clone(), logs))
                .max_decoding_message_size(self.config.limits.max_request_bytes),
        );
        advertised.push(AUDIT_SERVICE);
        if self.config.reflection {
            let reflection = reflection_builder(&advertised, "grpc.reflection.v1.ServerReflection");
            let reflection_alpha =
                reflection_builder(&advertised, "grpc.reflection.v1alpha.ServerReflection");
            routes.add_service(reflection.build_v1()?);
            routes.add_service(reflection_alpha.build_v1alpha()?);
        }

        let names: Vec<&'static str> = self
            .components
            .iter()
            .flat_map(|(c, _)| c.grpc_services.iter().copied())
            .chain([AUDIT_SERVICE])
            .collect();
        set_status(&reporter, &names, ServingStatus::Serving).await;
        let addr = listener.local_addr()?;
        tracing::info!(?addr, services = ?names, "serving");
        // Following other services' feeds starts once this listener is up
        // (a feed may be served by this very process).
        let consumers: Vec<_> = self
            .components
            .iter()
            .filter(|(c, _)| !c.follows.is_empty())
            .map(|(c, pool)| (c.name, c.follows, pool.clone()))
            .collect();
        let served: Vec<&'static str> = self.components.iter().map(|(c, _)| c.name).collect();
        let followers = crate::feeds::start(
            &Arc::new(self.config.clone()),
            &consumers,
            &served,
            addr,
            self.access.dev_key(),
        )?;

        // The followers are clients of feeds (this process's own among
        // them): they stop as soon as stopping begins, so their streams do
        // not hold the drain open. One stopped mid-event rolls back and
        // resumes there next time.
        let followers = {
            let stopping = stopping.clone();
            tokio::spawn(async move {
                stopping.cancelled().await;
                for follower in followers {
                    follower.abort();
                }
            })
        };

        let (stopping_tx, stopping_rx) = tokio::sync::oneshot::channel::<()>();
        let on_shutdown = {
            let reporter = reporter.clone();
            let names = names.clone();
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                // Load balancers stop routing here before the listener closes.
                set_status(&reporter, &names, ServingStatus::NotServing).await;
                // Feed streams end (UNAVAILABLE: resume elsewhere) and the
                // followers stop; unary calls in flight finish.
                stopping.cancel();
                let _ = stopping_tx.send(());
            }
        };

        let limits = &self.config.limits;
        let slow_calls = self
            .components
            .iter()
            .flat_map(|(c, _)| c.slow_calls.iter().copied())
            .collect();
        let deadlines = crate::deadline::CallDeadlineLayer::new(
            limits.request_timeout,
            limits.slow_call_timeout,
            slow_calls,
        );
        let server = tonic::transport::Server::builder()
            .max_concurrent_streams(limits.max_concurrent_streams)
            .max_connection_age(limits.max_connection_age)
            .http2_max_pending_accept_reset_streams(Some(limits.max_concurrent_streams as usize))
            .trace_fn(request_span)
            .layer(deadlines)
            .layer(tower::util::MapRequestLayer::new(with_rpc_path))
            .add_routes(routes.routes());
        let server: Pin<Box<dyn Future<Output = Result<(), tonic::transport::Error>> + Send>> =
            match &self.tls {
                Some(tls) => Box::pin(server.serve_with_incoming_shutdown(
                    crate::tls::incoming(listener, Arc::clone(tls)),
                    on_shutdown,
                )),
                None => {
                    Box::pin(server.serve_with_incoming_shutdown(
                        TcpListenerStream::new(listener),
                        on_shutdown,
                    ))
                }
            };
        // Certificates are re-read while serving, and no longer after.
        let reload = self.tls.as_ref().map(ReloadingTls::watch);
        // So are issuers' keys from a jwks_url (rotation at the provider).
        let key_refresh = self.authenticator.spawn_key_refresh();
        // Each served audit log is verified as it grows, and its head
        // published in the logs (`crate::audit_watch`).
        let audit_watch = crate::audit_watch::spawn(
            self.components
                .iter()
                .map(|(c, pool)| HeadWatch::new(c.name, pool.clone()))
                .collect(),
            self.config.audit.watch_interval,
        );
        // And the access policies, so an edit needs no rollout.
        let policy_watch = crate::policy_watch::spawn(
            Arc::clone(&self.authorizer),
            self.config.policy_reload_interval,
        );
        tokio::pin!(server);
        let grace = self.config.shutdown_grace;
        let grace_expired = async move {
            if stopping_rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        };
        // The background tasks are stopped however serving ended, so a
        // failed transport does not leave them running behind the error.
        let served = tokio::select! {
            result = &mut server => result,
            () = grace_expired => {
                tracing::warn!(grace = ?grace, "in-flight calls still running after the grace period; stopping anyway");
                Ok(())
            }
        };
        if let Some(reload) = reload {
            reload.abort();
        }
        // A check in progress only reads; it need not finish.
        audit_watch.abort();
        policy_watch.abort();
        drop(key_refresh);
        // Also when serving ended without a shutdown (a failed transport).
        stopping.cancel();
        let _ = followers.await;
        for (_, pool) in &self.components {
            pool.close().await;
        }
        served?;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Records the request's method path where handlers can read it.
fn with_rpc_path<B>(mut request: http::Request<B>) -> http::Request<B> {
    let path = RpcPath(request.uri().path().to_owned());
    request.extensions_mut().insert(path);
    request
}

/// Everything a component's schema holds: the audit log, the change feed,
/// then the component's own tables.
pub fn migrators(component: &Component) -> [&'static Migrator; 3] {
    [&cpc_audit::MIGRATOR, &crate::MIGRATOR, component.migrator]
}

/// Reflection over every cpc package, advertising only what this process serves.
fn reflection_builder(
    served: &[&'static str],
    itself: &'static str,
) -> tonic_reflection::server::Builder<'static> {
    served.iter().chain([&itself]).fold(
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(cpc_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET),
        |builder, name| builder.with_service_name(*name),
    )
}

async fn set_status(reporter: &HealthReporter, names: &[&'static str], status: ServingStatus) {
    // The empty name is the server as a whole, which standard probes ask about.
    reporter.set_service_status("", status).await;
    for name in names {
        reporter.set_service_status(*name, status).await;
    }
}

/// One span per call, joined to the caller's trace. The request id ties
/// logs, traces and audit together.
fn request_span(request: &http::Request<()>) -> tracing::Span {
    // The caller's id when it gave one; otherwise the id the call is given
    // once it is identified (`Access::call`), so the span and the audit
    // record never carry two different ids for one call.
    let span = tracing::info_span!(
        "grpc",
        rpc.method = %request.uri().path(),
        request_id = tracing::field::Empty,
    );
    if let Some(id) = crate::access::callers_request_id(request.headers()) {
        span.record("request_id", id);
    }
    crate::telemetry::link_remote_parent(&span, request.headers());
    span
}
