//! `cpc.scheduling.v1.ChairsService`: chair records, workloads, and
//! allocating a chair to a conference. Chair records are the authority's
//! (they name cases a chair is conflicted on), so every call is authorised
//! at authority level, except allocation, which is a change to one
//! conference.

use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::chairs_service_server::ChairsService;
use tonic::{Request, Response, Status};

use super::ConferencesApi;
use super::flow::Target;
use super::requests;
use crate::store::chairs;

#[tonic::async_trait]
impl ChairsService for ConferencesApi {
    async fn create_chair(
        &self,
        request: Request<pb::CreateChairRequest>,
    ) -> Result<Response<pb::CreateChairResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (authority, key, chair) = requests::new_chair(request.get_ref())?;
        let response = self
            .flow
            .run(&session, Target::Authority(authority), move |conn, s| {
                Box::pin(async move { chairs::create(conn, &s.ctx, &key, &chair).await })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_chair(
        &self,
        request: Request<pb::GetChairRequest>,
    ) -> Result<Response<pb::GetChairResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let id = requests::id("chair_id", &request.get_ref().chair_id)?;
        let own = Target::Authority(session.ctx.authority.clone());
        let chair = self
            .flow
            .run(&session, own, move |conn, _| {
                Box::pin(async move { chairs::get(conn, id).await })
            })
            .await?;
        Ok(Response::new(pb::GetChairResponse { chair: Some(chair) }))
    }

    async fn list_chairs(
        &self,
        request: Request<pb::ListChairsRequest>,
    ) -> Result<Response<pb::ListChairsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (authority, active_only, available_on, page) =
            requests::chair_list(request.get_ref(), &session.ctx)?;
        let response = self
            .flow
            .run(&session, Target::Authority(authority), move |conn, s| {
                Box::pin(async move {
                    chairs::list(conn, &s.ctx, active_only, available_on, &page).await
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn update_chair(
        &self,
        request: Request<pb::UpdateChairRequest>,
    ) -> Result<Response<pb::UpdateChairResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, changes, fields) = requests::chair_update(request.get_ref())?;
        let own = Target::Authority(session.ctx.authority.clone());
        let chair = self
            .flow
            .run(&session, own, move |conn, s| {
                Box::pin(async move {
                    chairs::update(conn, &s.ctx, id, version, &changes, &fields).await
                })
            })
            .await?;
        Ok(Response::new(pb::UpdateChairResponse {
            chair: Some(chair),
        }))
    }

    async fn get_chair_workload(
        &self,
        request: Request<pb::GetChairWorkloadRequest>,
    ) -> Result<Response<pb::GetChairWorkloadResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, first, last) = requests::chair_workload(request.get_ref())?;
        let own = Target::Authority(session.ctx.authority.clone());
        let workload = self
            .flow
            .run(&session, own, move |conn, s| {
                Box::pin(async move {
                    let chair = chairs::get(conn, id).await?;
                    chairs::chair_workload(conn, &s.ctx, &chair, first, last).await
                })
            })
            .await?;
        Ok(Response::new(pb::GetChairWorkloadResponse {
            workload: Some(workload),
        }))
    }

    async fn list_chair_workloads(
        &self,
        request: Request<pb::ListChairWorkloadsRequest>,
    ) -> Result<Response<pb::ListChairWorkloadsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (authority, first, last, page) =
            requests::chair_workloads(request.get_ref(), &session.ctx)?;
        let response = self
            .flow
            .run(&session, Target::Authority(authority), move |conn, s| {
                Box::pin(async move { chairs::workloads(conn, &s.ctx, first, last, &page).await })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn allocate_chair(
        &self,
        request: Request<pb::AllocateChairRequest>,
    ) -> Result<Response<pb::AllocateChairResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let allocation = requests::allocation(request.get_ref())?;
        let target = Target::Conference(allocation.conference_id);
        let response = self
            .flow
            .run(&session, target, move |conn, s| {
                Box::pin(async move { chairs::allocate(conn, &s.ctx, &allocation).await })
            })
            .await?;
        Ok(Response::new(response))
    }
}
