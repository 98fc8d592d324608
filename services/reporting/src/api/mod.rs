//! The gRPC adapter: `cpc.reporting.v1.ReportingService` over the store,
//! with authentication, authorisation and audit on every call ([`flow`]).

mod flow;
mod report_requests;
mod requests;
mod service;

use std::collections::BTreeMap;
use std::sync::Arc;

use cpc_platform::Mount;
use cpc_platform::outbox::FeedServer;
use cpc_proto::reporting::v1::reporting_service_server::ReportingServiceServer;
use cpc_rules::profile::AuthorityProfile;
use tonic::service::RoutesBuilder;

use flow::Flow;
pub use flow::locate_child;
pub(crate) use requests::CensusAsked;

/// The reporting service's handlers.
#[derive(Clone)]
pub struct ReportingApi {
    flow: Flow,
    feed: FeedServer,
    /// Each authority's settings (its nation's calendar, its timescales).
    profiles: Arc<BTreeMap<String, AuthorityProfile>>,
    /// How census returns are validated.
    census: Arc<cpc_platform::config::CensusConfig>,
}

impl ReportingApi {
    /// Handlers over `mount`'s pool and access checks.
    pub fn new(mount: &Mount<'_>) -> Self {
        Self {
            flow: Flow {
                pool: mount.pool.clone(),
                access: mount.access.clone(),
            },
            feed: FeedServer::new(
                mount.pool.clone(),
                crate::SCHEMA,
                "cpc.reporting.v1.",
                mount.stopping.clone(),
            ),
            profiles: Arc::new(mount.config.authorities.clone()),
            census: Arc::new(mount.config.census.clone()),
        }
    }
}

/// Adds the reporting service to the server's routes.
pub fn mount(mount: &Mount<'_>, routes: &mut RoutesBuilder) {
    let max = mount.config.limits.max_request_bytes;
    routes.add_service(
        ReportingServiceServer::new(ReportingApi::new(mount)).max_decoding_message_size(max),
    );
}
