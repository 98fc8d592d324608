//! The gRPC adapter: `cpc.escalation.v1.EscalationService` over the store,
//! with authentication, authorisation and audit on every call ([`flow`]).

mod flow;
mod requests;
mod service;

use std::sync::Arc;

use cpc_platform::Mount;
use cpc_platform::outbox::FeedServer;
use cpc_proto::escalation::v1::escalation_service_server::EscalationServiceServer;
use tonic::service::RoutesBuilder;

use flow::Flow;
pub use flow::locate_child;

/// The escalation service's handlers.
#[derive(Clone)]
pub struct EscalationApi {
    flow: Flow,
    feed: FeedServer,
}

impl EscalationApi {
    /// Handlers over `mount`'s pool and access checks.
    pub fn new(mount: &Mount<'_>) -> Self {
        Self {
            flow: Flow {
                pool: mount.pool.clone(),
                access: mount.access.clone(),
                profiles: Arc::new(mount.config.authorities.clone()),
            },
            feed: FeedServer::new(
                mount.pool.clone(),
                crate::SCHEMA,
                "cpc.escalation.v1.",
                mount.stopping.clone(),
            ),
        }
    }
}

/// Adds the escalation service to the server's routes, and starts the
/// drift sweep, which runs for as long as the server serves.
pub fn mount(mount: &Mount<'_>, routes: &mut RoutesBuilder) {
    tokio::spawn(crate::sweep::run(
        mount.pool.clone(),
        mount.config.clone(),
        mount.stopping.clone(),
    ));
    let max = mount.config.limits.max_request_bytes;
    routes.add_service(
        EscalationServiceServer::new(EscalationApi::new(mount)).max_decoding_message_size(max),
    );
}
