//! `cpc.escalation.v1.EscalationService`: each RPC checks its request,
//! names its target for the policies, and runs one store call through
//! [`Flow::run`](super::flow::Flow::run).
//!
//! Drift findings are the service's own (from the feeds, [`crate::store::drift`]):
//! clients list them and cite them in escalations, never write them.

use std::pin::Pin;

use cpc_platform::check::required_id;
use cpc_platform::convert::listed_ids;
use cpc_proto::escalation::v1 as pb;
use cpc_proto::escalation::v1::escalation_service_server::EscalationService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::EscalationApi;
use super::flow::{Rule, Session, Target, list_target, opening_rule};
use super::requests;
use crate::store::{drift, escalations};

/// The change feed as the server streams it.
type ChangeStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl EscalationService for EscalationApi {
    async fn raise_escalation(
        &self,
        request: Request<pb::RaiseEscalationRequest>,
    ) -> Result<Response<pb::RaiseEscalationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let new = requests::raising(request.get_ref(), &session.ctx)?;
        let children = new.child_ids.clone();
        let rule = opening_rule(new.stage);
        let response = self
            .flow
            .run(
                &session,
                Target::Case(new.case_id, &children),
                rule,
                move |conn, s| {
                    Box::pin(async move { escalations::raise(conn, &s.ctx, &new).await })
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn get_escalation(
        &self,
        request: Request<pb::GetEscalationRequest>,
    ) -> Result<Response<pb::GetEscalationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let id = required_id("escalation_id", &request.get_ref().escalation_id)?;
        let escalation = self
            .flow
            .run(
                &session,
                Target::Escalation(id),
                Rule::None,
                move |conn, s| {
                    Box::pin(async move { escalations::load(conn, id, s.ctx.today).await })
                },
            )
            .await?;
        Ok(Response::new(pb::GetEscalationResponse {
            escalation: Some(escalation),
        }))
    }

    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let req = request.get_ref();
        let filter = requests::list(req)?;
        let authority = named_authority(&req.authority_id, &session);
        let target = list_target(&authority, &session, filter.case_id, filter.child_id, None);
        let response = self
            .flow
            .list(
                &session,
                target,
                move |conn, s| {
                    Box::pin(async move { escalations::list(conn, &filter, s.ctx.today).await })
                },
                |page: &pb::ListEscalationsResponse| {
                    listed_ids(page.escalations.iter().flat_map(|e| &e.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn advance_escalation(
        &self,
        request: Request<pb::AdvanceEscalationRequest>,
    ) -> Result<Response<pb::AdvanceEscalationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, step) = requests::advancing(request.get_ref(), &session.ctx)?;
        let escalation = self
            .flow
            .run(
                &session,
                Target::Escalation(id),
                Rule::None,
                move |conn, s| {
                    Box::pin(
                        async move { escalations::advance(conn, &s.ctx, id, version, &step).await },
                    )
                },
            )
            .await?;
        Ok(Response::new(pb::AdvanceEscalationResponse {
            escalation: Some(escalation),
        }))
    }

    async fn resolve_escalation(
        &self,
        request: Request<pb::ResolveEscalationRequest>,
    ) -> Result<Response<pb::ResolveEscalationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, resolution) = requests::resolving(request.get_ref())?;
        let rule = if resolution.kind == pb::OutcomeKind::Withdrawn {
            Rule::WithdrawnByRaiser
        } else {
            Rule::None
        };
        let escalation = self
            .flow
            .run(&session, Target::Escalation(id), rule, move |conn, s| {
                Box::pin(async move {
                    escalations::resolve(conn, &s.ctx, id, version, &resolution).await
                })
            })
            .await?;
        Ok(Response::new(pb::ResolveEscalationResponse {
            escalation: Some(escalation),
        }))
    }

    async fn list_drift_findings(
        &self,
        request: Request<pb::ListDriftFindingsRequest>,
    ) -> Result<Response<pb::ListDriftFindingsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let req = request.get_ref();
        let filter = requests::findings(req)?;
        let authority = named_authority(&req.authority_id, &session);
        let target = list_target(
            &authority,
            &session,
            filter.case_id,
            filter.child_id,
            filter.plan_id,
        );
        let response = self
            .flow
            .list(
                &session,
                target,
                move |conn, _| Box::pin(async move { drift::list(conn, &filter).await }),
                |page: &pb::ListDriftFindingsResponse| {
                    listed_ids(page.findings.iter().flat_map(|f| &f.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    type StreamChangesStream = ChangeStream;

    /// The escalation feed of one authority, from a sequence number on;
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
                Target::Authority(&feed.authority),
                Rule::None,
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

/// The authority a list names: the caller's when it names none.
fn named_authority(named: &str, session: &Session) -> String {
    if named.is_empty() {
        session.ctx.authority.clone()
    } else {
        named.to_owned()
    }
}
