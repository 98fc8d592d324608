//! The gRPC adapter: `cpc.cases.v1.CasesService` over the store, with
//! authentication, authorisation and audit on every call ([`flow`]).

mod caller;
mod feed;
mod flow;
mod service;

use std::sync::Arc;

use cpc_platform::Mount;
use cpc_platform::outbox::FollowOptions;
use cpc_proto::cases::v1::cases_service_server::CasesServiceServer;
use tonic::service::RoutesBuilder;

use flow::Flow;

/// The cases service's handlers.
#[derive(Clone)]
pub struct CasesApi {
    flow: Flow,
    follow: FollowOptions,
}

impl CasesApi {
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

/// Adds the cases service to the server's routes.
pub fn mount(mount: &Mount<'_>, routes: &mut RoutesBuilder) {
    routes.add_service(
        CasesServiceServer::new(CasesApi::new(mount))
            .max_decoding_message_size(mount.config.limits.max_request_bytes),
    );
}
