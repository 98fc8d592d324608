//! The gRPC adapter: `cpc.scheduling.v1.ConferencesService` and
//! `AttendanceService`, `ChairsService`, `CoreGroupsService` and
//! `CalendarService` over the store,
//! with authentication, authorisation and audit on every call ([`flow`]).

mod attendance;
mod calendar;
mod chairs;
mod core_groups;
mod flow;
mod requests;
mod service;

use std::sync::Arc;

use cpc_platform::Mount;
use cpc_platform::outbox::FeedServer;
use cpc_proto::scheduling::v1::attendance_service_server::AttendanceServiceServer;
use cpc_proto::scheduling::v1::calendar_service_server::CalendarServiceServer;
use cpc_proto::scheduling::v1::chairs_service_server::ChairsServiceServer;
use cpc_proto::scheduling::v1::conferences_service_server::ConferencesServiceServer;
use cpc_proto::scheduling::v1::core_groups_service_server::CoreGroupsServiceServer;
use tonic::service::RoutesBuilder;

use flow::Flow;
pub use flow::locate_child;

/// The scheduling service's handlers.
#[derive(Clone)]
pub struct ConferencesApi {
    flow: Flow,
    feed: FeedServer,
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
            feed: FeedServer::new(
                mount.pool.clone(),
                crate::SCHEMA,
                "cpc.scheduling.v1.",
                mount.stopping.clone(),
            ),
        }
    }
}

/// Adds the scheduling services to the server's routes.
pub fn mount(mount: &Mount<'_>, routes: &mut RoutesBuilder) {
    let api = ConferencesApi::new(mount);
    let max = mount.config.limits.max_request_bytes;
    routes.add_service(ConferencesServiceServer::new(api.clone()).max_decoding_message_size(max));
    routes.add_service(AttendanceServiceServer::new(api.clone()).max_decoding_message_size(max));
    routes.add_service(ChairsServiceServer::new(api.clone()).max_decoding_message_size(max));
    routes.add_service(CoreGroupsServiceServer::new(api.clone()).max_decoding_message_size(max));
    routes.add_service(CalendarServiceServer::new(api).max_decoding_message_size(max));
}
