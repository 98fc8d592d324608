//! `cpc.scheduling.v1.CoreGroupsService`: each plan's core group meetings.

use cpc_platform::convert::listed_ids;
use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::core_groups_service_server::CoreGroupsService;
use tonic::{Request, Response, Status};

use super::ConferencesApi;
use super::flow::Target;
use super::requests;
use crate::store::core_groups;

#[tonic::async_trait]
impl CoreGroupsService for ConferencesApi {
    async fn get_core_group_meeting(
        &self,
        request: Request<pb::GetCoreGroupMeetingRequest>,
    ) -> Result<Response<pb::GetCoreGroupMeetingResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let id = requests::id("meeting_id", &request.get_ref().meeting_id)?;
        let meeting = self
            .flow
            .run(&session, Target::CoreGroup(id), move |conn, _| {
                Box::pin(async move { core_groups::load(conn, id).await })
            })
            .await?;
        Ok(Response::new(pb::GetCoreGroupMeetingResponse {
            meeting: Some(meeting),
        }))
    }

    async fn list_core_group_meetings(
        &self,
        request: Request<pb::ListCoreGroupMeetingsRequest>,
    ) -> Result<Response<pb::ListCoreGroupMeetingsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let filter = requests::core_group_list(request.get_ref(), &session.ctx)?;
        // One case's meetings are a record of that case (its members may
        // list them); across the authority, as for conferences.
        let target = filter
            .case_id
            .map_or_else(|| Target::Authority(filter.authority.clone()), Target::Case);
        let response = self
            .flow
            .list(
                &session,
                target,
                move |conn, _| {
                    Box::pin(async move {
                        core_groups::list(
                            conn,
                            filter.case_id,
                            filter.child_id,
                            filter.status,
                            filter.due_before,
                            &filter.page,
                        )
                        .await
                    })
                },
                |page: &pb::ListCoreGroupMeetingsResponse| {
                    listed_ids(page.meetings.iter().flat_map(|m| &m.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn schedule_core_group_meeting(
        &self,
        request: Request<pb::ScheduleCoreGroupMeetingRequest>,
    ) -> Result<Response<pb::ScheduleCoreGroupMeetingResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, slot) = requests::core_group_schedule(request.get_ref(), &session.ctx)?;
        let meeting = self
            .flow
            .run(&session, Target::CoreGroup(id), move |conn, s| {
                Box::pin(
                    async move { core_groups::schedule(conn, &s.ctx, id, version, &slot).await },
                )
            })
            .await?;
        Ok(Response::new(pb::ScheduleCoreGroupMeetingResponse {
            meeting: Some(meeting),
        }))
    }

    async fn record_core_group_held(
        &self,
        request: Request<pb::RecordCoreGroupHeldRequest>,
    ) -> Result<Response<pb::RecordCoreGroupHeldResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, ending) = requests::core_group_held(request.get_ref(), &session.ctx)?;
        let (meeting, next) = self
            .flow
            .run(&session, Target::CoreGroup(id), move |conn, s| {
                Box::pin(async move { core_groups::end(conn, &s.ctx, id, version, &ending).await })
            })
            .await?;
        Ok(Response::new(pb::RecordCoreGroupHeldResponse {
            meeting: Some(meeting),
            next_meeting: Some(next),
        }))
    }

    async fn record_core_group_missed(
        &self,
        request: Request<pb::RecordCoreGroupMissedRequest>,
    ) -> Result<Response<pb::RecordCoreGroupMissedResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, ending) = requests::core_group_missed(request.get_ref())?;
        let (meeting, next) = self
            .flow
            .run(&session, Target::CoreGroup(id), move |conn, s| {
                Box::pin(async move { core_groups::end(conn, &s.ctx, id, version, &ending).await })
            })
            .await?;
        Ok(Response::new(pb::RecordCoreGroupMissedResponse {
            meeting: Some(meeting),
            next_meeting: Some(next),
        }))
    }
}
