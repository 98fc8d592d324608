//! The gRPC adapter: `cpc.scheduling.v1.ConferencesService` over the store,
//! with authentication, authorisation and audit on every call ([`flow`]).

mod flow;
mod requests;
mod service;

use std::sync::Arc;

use cpc_platform::Mount;
use cpc_platform::outbox::FollowOptions;
use cpc_proto::scheduling::v1::conferences_service_server::ConferencesServiceServer;
use tonic::service::RoutesBuilder;

use flow::Flow;

/// The scheduling service's handlers.
#[derive(Clone)]
pub struct ConferencesApi {
    flow: Flow,
    follow: FollowOptions,
}

impl ConferencesApi {
    /// Handlers over `mount`'s pool, access checks and authority profiles.
    pub fn new(mount: &Mount<'_>) -> Self {
        Self {
            flow: Flow {
                pool: mount.pool.clone(),
                access: mount.access.clone(),
                profiles: Arc::new(mount.config.authorities.clone()),
            },
            follow: FollowOptions::default(),
        }
    }
}

/// Adds the scheduling services to the server's routes.
pub fn mount(mount: &Mount<'_>, routes: &mut RoutesBuilder) {
    routes.add_service(
        ConferencesServiceServer::new(ConferencesApi::new(mount))
            .max_decoding_message_size(mount.config.limits.max_request_bytes),
    );
}
