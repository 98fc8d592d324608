//! `cpc.scheduling.v1.AttendanceService`: invitations, replies,
//! attendance, quorum, and whether a conference was held or inquorate.

use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::attendance_service_server::AttendanceService;
use tonic::{Request, Response, Status};

use super::ConferencesApi;
use super::flow::Target;
use super::requests;
use crate::store::{attendance, exclusions};

#[tonic::async_trait]
impl AttendanceService for ConferencesApi {
    async fn create_invitation(
        &self,
        request: Request<pb::CreateInvitationRequest>,
    ) -> Result<Response<pb::CreateInvitationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let new = requests::invitation(request.get_ref())?;
        let response = self
            .flow
            .run(
                &session,
                Target::Conference(new.conference_id),
                move |conn, s| {
                    Box::pin(async move { attendance::invite(conn, &s.ctx, &new).await })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let filter = requests::invitations(request.get_ref())?;
        let response = self
            .flow
            .run(
                &session,
                Target::Conference(filter.conference_id),
                move |conn, _| {
                    Box::pin(async move {
                        attendance::list_invitations(
                            conn,
                            filter.conference_id,
                            filter.reply,
                            filter.invitee_kind,
                            &filter.page,
                        )
                        .await
                    })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn respond_to_invitation(
        &self,
        request: Request<pb::RespondToInvitationRequest>,
    ) -> Result<Response<pb::RespondToInvitationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, reply) = requests::reply(request.get_ref())?;
        let invitation = self
            .flow
            .run(&session, Target::Reply(id), move |conn, s| {
                Box::pin(
                    async move { attendance::respond(conn, &s.ctx, id, version, &reply).await },
                )
            })
            .await?;
        Ok(Response::new(pb::RespondToInvitationResponse {
            invitation: Some(invitation),
        }))
    }

    async fn exclude_from_conference(
        &self,
        request: Request<pb::ExcludeFromConferenceRequest>,
    ) -> Result<Response<pb::ExcludeFromConferenceResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let exclusion = requests::exclusion(request.get_ref())?;
        let response = self
            .flow
            .run(
                &session,
                Target::Conference(exclusion.conference_id),
                move |conn, s| {
                    Box::pin(async move { exclusions::exclude(conn, &s.ctx, &exclusion).await })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn lift_conference_exclusion(
        &self,
        request: Request<pb::LiftConferenceExclusionRequest>,
    ) -> Result<Response<pb::LiftConferenceExclusionResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, person_id) = requests::lifting(request.get_ref())?;
        let response = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(
                    async move { exclusions::lift(conn, &s.ctx, id, version, &person_id).await },
                )
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn record_attendance(
        &self,
        request: Request<pb::RecordAttendanceRequest>,
    ) -> Result<Response<pb::RecordAttendanceResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, attendees) = requests::attendance(request.get_ref())?;
        let response = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(async move {
                    attendance::record_attendance(conn, &s.ctx, id, version, &attendees).await
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn assess_quorum(
        &self,
        request: Request<pb::AssessQuorumRequest>,
    ) -> Result<Response<pb::AssessQuorumResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, basis) = requests::quorum(request.get_ref())?;
        let quorum = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(async move { attendance::assess(conn, &s.ctx, id, basis).await })
            })
            .await?;
        Ok(Response::new(pb::AssessQuorumResponse {
            quorum: Some(quorum),
        }))
    }

    async fn record_conference_held(
        &self,
        request: Request<pb::RecordConferenceHeldRequest>,
    ) -> Result<Response<pb::RecordConferenceHeldResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, held) = requests::held(request.get_ref(), &session.ctx)?;
        let conference = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(
                    async move { attendance::record_held(conn, &s.ctx, id, version, &held).await },
                )
            })
            .await?;
        Ok(Response::new(pb::RecordConferenceHeldResponse {
            conference: Some(conference),
        }))
    }

    async fn record_inquorate(
        &self,
        request: Request<pb::RecordInquorateRequest>,
    ) -> Result<Response<pb::RecordInquorateResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, record) = requests::inquorate(request.get_ref(), &session.ctx)?;
        let response = self
            .flow
            .run(&session, Target::Conference(id), move |conn, s| {
                Box::pin(async move {
                    attendance::record_inquorate(conn, &s.ctx, id, version, &record).await
                })
            })
            .await?;
        Ok(Response::new(response))
    }
}
