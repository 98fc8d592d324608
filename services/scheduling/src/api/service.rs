//! `cpc.scheduling.v1.ConferencesService`: each RPC checks its request,
//! names its target for the policies, and runs one store call through
//! [`Flow::run`](super::flow::Flow::run).

use std::pin::Pin;

use cpc_platform::ApiError;
use cpc_platform::convert::listed_ids;
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

#[tonic::async_trait]
impl ConferencesService for ConferencesApi {
    async fn create_conference(
        &self,
        request: Request<pb::CreateConferenceRequest>,
    ) -> Result<Response<pb::CreateConferenceResponse>, Status> {
        let session = self.flow.identify(&request).await?;
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
        let session = self.flow.identify(&request).await?;
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
        let session = self.flow.identify(&request).await?;
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
            .list(
                &session,
                target,
                move |conn, _| Box::pin(async move { Ok(conferences::list(conn, &filter).await?) }),
                |page: &pb::ListConferencesResponse| {
                    listed_ids(page.conferences.iter().flat_map(|c| &c.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn book_conference(
        &self,
        request: Request<pb::BookConferenceRequest>,
    ) -> Result<Response<pb::BookConferenceResponse>, Status> {
        let session = self.flow.identify(&request).await?;
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
        let session = self.flow.identify(&request).await?;
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
        let session = self.flow.identify(&request).await?;
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
        let session = self.flow.identify(&request).await?;
        let req = request.get_ref();
        let feed = self.feed.check(
            &session.ctx.authority,
            req.after_sequence,
            &req.event_types,
            &req.authority_id,
        )?;
        self.flow
            .run(
                &session,
                Target::Authority(feed.authority.clone()),
                |_, _| Box::pin(async { Ok(()) }),
            )
            .await?;
        Ok(Response::new(self.feed.open(
            feed,
            self.flow.access.lease(&session.call),
            |event| pb::StreamChangesResponse { event: Some(event) },
        )))
    }
}
