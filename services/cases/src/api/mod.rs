//! The gRPC adapter: `cpc.cases.v1.CasesService` over the store, with
//! authentication, authorisation and audit on every call ([`flow`]).

mod caller;
mod feed;
mod flow;
mod service;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::NaiveDate;
use cpc_platform::{ApiError, LocatedChild};
use sqlx::PgPool;
use uuid::Uuid;

use crate::domain::AuthorityId;
use crate::store::{self, access::Locator};

use cpc_platform::Mount;
use cpc_platform::outbox::FeedServer;
use cpc_proto::cases::v1::cases_service_server::CasesServiceServer;
use tonic::service::RoutesBuilder;

use flow::Flow;

/// The cases service's handlers.
#[derive(Clone)]
pub struct CasesApi {
    flow: Flow,
    feed: FeedServer,
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
            feed: FeedServer::new(
                mount.pool.clone(),
                crate::SCHEMA,
                "cpc.cases.v1.",
                mount.stopping.clone(),
            ),
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

/// The case, current members and records of `child` in `authority`, for
/// the audit service's policy question about that child's record and its
/// search for attempts on it from elsewhere
/// (`cpc_platform::Component::locate_child`). `None` when the authority
/// has no such child.
///
/// # Errors
/// Database errors.
pub fn locate_child<'a>(
    pool: &'a PgPool,
    authority: &'a str,
    child: Uuid,
    today: NaiveDate,
) -> Pin<Box<dyn Future<Output = Result<Option<LocatedChild>, ApiError>> + Send + 'a>> {
    Box::pin(async move {
        let Ok(authority) = AuthorityId::parse(authority) else {
            return Ok(None);
        };
        let mut tx = store::begin(pool, &authority).await?;
        let located = match store::access::locate(&mut tx, Locator::Child(child)).await {
            Ok(located) => located,
            Err(ApiError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        let members = store::access::members(&mut tx, &located, today).await?;
        let records = store::access::child_records(&mut tx, child).await?;
        tx.rollback().await?;
        Ok(Some(LocatedChild::new(
            flow::case_relation(&located, &members),
            &records,
        )))
    })
}
