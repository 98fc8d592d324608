//! `cpc.escalation.v1.EscalationService`: each RPC checks its request,
//! names its target for the policies, and runs one store call through
//! [`Flow::run`](super::flow::Flow::run).
//!
//! Escalations and the change feed are served. Drift detection is not
//! built yet: ListDriftFindings answers `UNIMPLEMENTED` before reading
//! anything, exactly as an unserved service would.

use std::pin::Pin;

use cpc_platform::check::required_id;
use cpc_proto::escalation::v1 as pb;
use cpc_proto::escalation::v1::escalation_service_server::EscalationService;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::EscalationApi;
use super::flow::{Rule, Target, opening_rule};
use super::requests;
use crate::store::escalations;

/// The change feed as the server streams it.
type ChangeStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl EscalationService for EscalationApi {
    async fn raise_escalation(
        &self,
        request: Request<pb::RaiseEscalationRequest>,
    ) -> Result<Response<pb::RaiseEscalationResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let new = requests::raising(request.get_ref(), session.ctx.today)?;
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
        let session = self.flow.identify(&request)?;
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
        let session = self.flow.identify(&request)?;
        let req = request.get_ref();
        let filter = requests::list(req)?;
        // Another authority named is asked about as such (and refused); a
        // case's or a child's escalations are a record of the case (its
        // members may list them); anything else is the caller's authority
        // as a whole.
        let authority = if req.authority_id.is_empty() {
            session.ctx.authority.clone()
        } else {
            req.authority_id.clone()
        };
        let target = match (filter.case_id, filter.child_id) {
            _ if authority != session.ctx.authority => Target::Authority(&authority),
            (Some(case), _) => Target::Case(case, &[]),
            (None, Some(child)) => Target::Child(child),
            (None, None) => Target::Authority(&authority),
        };
        let response = self
            .flow
            .run(&session, target, Rule::None, move |conn, s| {
                Box::pin(async move { escalations::list(conn, &filter, s.ctx.today).await })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn advance_escalation(
        &self,
        request: Request<pb::AdvanceEscalationRequest>,
    ) -> Result<Response<pb::AdvanceEscalationResponse>, Status> {
        let session = self.flow.identify(&request)?;
        let (id, version, step) = requests::advancing(request.get_ref(), session.ctx.today)?;
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
        let session = self.flow.identify(&request)?;
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
        _: Request<pb::ListDriftFindingsRequest>,
    ) -> Result<Response<pb::ListDriftFindingsResponse>, Status> {
        Err(Status::unimplemented(
            "drift findings are not served by this version of cpc; see README.md",
        ))
    }

    type StreamChangesStream = ChangeStream;

    /// The escalation feed of one authority, from a sequence number on;
    /// opening it is authorised and recorded like a read of the authority.
    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Self::StreamChangesStream>, Status> {
        let session = self.flow.identify(&request)?;
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
            session.call.request_id.clone(),
            |event| pb::StreamChangesResponse { event: Some(event) },
        )))
    }
}
