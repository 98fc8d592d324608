//! `cpc.scheduling.v1.ConferencesService`: each RPC checks its request,
//! names its target for the policies, and runs one store call through
//! [`Flow::run`](super::flow::Flow::run).

use std::pin::Pin;

use cpc_platform::ApiError;
use cpc_platform::check::Check;
use cpc_platform::outbox::{self, Filter};
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::conferences_service_server::ConferencesService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::ConferencesApi;
use super::flow::Target;
use super::requests;
use crate::store::{booking, conferences};

/// The change feed as the server streams it.
pub(crate) type ChangeStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send + 'static>>;

/// Event types carry the package of the payload message.
const EVENT_PACKAGE: &str = "cpc.scheduling.v1.";

#[tonic::async_trait]
impl ConferencesService for ConferencesApi {
    async fn create_conference(
        &self,
        request: Request<pb::CreateConferenceRequest>,
    ) -> Result<Response<pb::CreateConferenceResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (authority, new) = requests::creation(request.get_ref(), &session.ctx)?;
        let response = self
            .flow
            .run(&session, Target::Authority(authority), move |conn, s| {
                Box::pin(async move { booking::create(conn, &s.ctx, &new).await })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_conference(
        &self,
        request: Request<pb::GetConferenceRequest>,
    ) -> Result<Response<pb::GetConferenceResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let id = requests::id("conference_id", &request.get_ref().conference_id)?;
        let conference = self
            .flow
            .run(&session, Target::Conference(id), move |conn, _| {
                Box::pin(async move {
                    conferences::load(conn, id)
                        .await
                        .map_err(ApiError::internal)
                })
            })
            .await?;
        Ok(Response::new(pb::GetConferenceResponse {
            conference: Some(conference),
        }))
    }

    async fn list_conferences(
        &self,
        request: Request<pb::ListConferencesRequest>,
    ) -> Result<Response<pb::ListConferencesResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (authority, filter) = requests::list(request.get_ref(), &session.ctx)?;
        // One case's conferences are a record of that case (its members may
        // list them); the diary across an authority is for those the
        // policies let read it as a whole (business support, chairs,
        // managers). Another authority is refused and recorded.
        let target = filter
            .case_id
            .map_or(Target::Authority(authority), Target::Case);
        let response = self
            .flow
            .run(&session, target, move |conn, _| {
                Box::pin(async move { Ok(conferences::list(conn, &filter).await?) })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn book_conference(
        &self,
        request: Request<pb::BookConferenceRequest>,
    ) -> Result<Response<pb::BookConferenceResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (id, version, slot) = requests::booking(request.get_ref(), &session.ctx)?;
        let conference = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(async move { booking::book(conn, &s.ctx, id, version, &slot).await })
            })
            .await?;
        Ok(Response::new(pb::BookConferenceResponse {
            conference: Some(conference),
        }))
    }

    async fn move_conference(
        &self,
        request: Request<pb::MoveConferenceRequest>,
    ) -> Result<Response<pb::MoveConferenceResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (id, version, change) = requests::moving(request.get_ref(), &session.ctx)?;
        let conference = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(
                    async move { booking::move_booking(conn, &s.ctx, id, version, &change).await },
                )
            })
            .await?;
        Ok(Response::new(pb::MoveConferenceResponse {
            conference: Some(conference),
        }))
    }

    async fn cancel_conference(
        &self,
        request: Request<pb::CancelConferenceRequest>,
    ) -> Result<Response<pb::CancelConferenceResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (id, version, reason) = requests::cancellation(request.get_ref())?;
        let conference = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(async move { booking::cancel(conn, &s.ctx, id, version, &reason).await })
            })
            .await?;
        Ok(Response::new(pb::CancelConferenceResponse {
            conference: Some(conference),
        }))
    }

    type StreamChangesStream = ChangeStream;

    /// The scheduling feed of one authority, from a sequence number on;
    /// opening it is authorised and recorded like a read of the authority.
    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Self::StreamChangesStream>, Status> {
        let session = self.flow.identify(&request)?;
        let req = request.get_ref();
        let mut check = Check::new();
        outbox::check_stream_request(
            &mut check,
            req.after_sequence,
            &req.event_types,
            EVENT_PACKAGE,
        );
        check.finish()?;
        let authority = if req.authority_id.is_empty() {
            session.ctx.authority.clone()
        } else {
            req.authority_id.clone()
        };
        self.flow
            .run(&session, Target::Authority(authority.clone()), |_, _| {
                Box::pin(async { Ok(()) })
            })
            .await?;
        let filter = Filter {
            event_types: req.event_types.clone(),
            authority_id: Some(authority),
        };
        let events = outbox::follow(
            self.flow.pool.clone(),
            crate::SCHEMA,
            req.after_sequence,
            filter,
            self.follow,
        );
        let request_id = session.call.request_id.clone();
        Ok(Response::new(Box::pin(outbox::serve(
            events,
            request_id,
            |event| pb::StreamChangesResponse { event: Some(event) },
            self.stopping.clone(),
        ))))
    }
}
