//! `cpc.cases.v1.CasesService`: each RPC parses its request, names its
//! target for the policies, and hands the store call to [`Flow`].

use std::pin::Pin;

use cpc_identity::CallerKind;
use cpc_platform::ApiError;
use cpc_platform::convert::listed_ids;
use cpc_platform::outbox::StoredEvent;
use cpc_proto::cases::v1 as pb;
use cpc_proto::cases::v1::cases_service_server::CasesService;
use sqlx::PgConnection;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::flow::{Session, Target, Work};
use super::{CasesApi, feed};
use crate::codes::AgencyKind;
use crate::domain::Check;
use crate::domain::action::{ActionFilter, ActionStatusChange, ActionUpdate, NewPlanAction};
use crate::domain::child::{
    CaseFilter, CaseUpdate, ChildDetails, ChildFilter, ChildUpdate, NewCase,
};
use crate::domain::family::{FamilyMemberFilter, FamilyMemberUpdate, NewFamilyMember};
use crate::domain::journey::{
    CinClosure, CinEpisodeFilter, NewCinEpisode, NewSection47, NewStrategyDiscussion,
    Section47Completion, Section47Filter, StrategyDiscussionFilter,
};
use crate::domain::membership::{MemberEnding, MemberFilter, NewCaseMember};
use crate::domain::outcome::{NewConferenceOutcome, OutcomeCorrection, OutcomeFilter};
use crate::domain::plan::{NewTransferIn, PlanEnding, PlanFilter, PlanUpdate, TransferOutNotice};
use crate::store::access::Locator;
use crate::store::{self, Written};

/// The shape of most writes: identify the caller, parse the request, name
/// the record it acts on, and run one store call through [`Flow::write`]
/// (authorised, audited, committed).
///
/// [`Flow::write`]: super::flow::Flow::write
macro_rules! write_call {
    ($api:expr, $request:expr, |$req:ident, $today:pat_param| $parse:expr, |$parsed:ident| $target:expr, $store:path) => {{
        let session = $api.flow.identify(&$request).await?;
        let $parsed = {
            let $req = $request.get_ref();
            let $today = session.ctx.today;
            $parse?
        };
        let target = $target;
        let response = $api
            .flow
            .write(&session, target, move |w| {
                Box::pin(async move { $store(w.conn, &w.session.ctx, &$parsed).await })
            })
            .await?;
        Ok(Response::new(response))
    }};
}

/// The shape of reads by id: identify the caller, parse the id field, and
/// read the record it names through [`Flow::read`] (authorised, audited).
///
/// [`Flow::read`]: super::flow::Flow::read
macro_rules! get_call {
    ($api:expr, $request:expr, $field:ident, $locator:path, |$w:ident, $id:ident| $work:expr) => {{
        let session = $api.flow.identify(&$request).await?;
        let $id = parse_id(stringify!($field), &$request.get_ref().$field)?;
        $api.flow
            .read(&session, Target::Record($locator($id)), move |$w| {
                Box::pin(async move { $work.await })
            })
            .await?
    }};
}

/// The required id `text` at `field`.
fn parse_id(field: &str, text: &str) -> Result<Uuid, ApiError> {
    let mut check = Check::new();
    match check.id(field, text) {
        Some(id) => Ok(id),
        None => Err(check.fail()),
    }
}

/// The most specific record a list names, else the authority.
fn list_target(child: Option<Uuid>, case: Option<Uuid>, authority: String) -> Target {
    match (child, case) {
        (Some(child), _) => Target::Record(Locator::Child(child)),
        (None, Some(case)) => Target::Record(Locator::Case(case)),
        (None, None) => Target::Authority(authority),
    }
}

/// After a person opens a new case, makes them a member of it (see
/// `store::membership::add_creator`); services and retries add nothing.
async fn creator_joins(
    conn: &mut PgConnection,
    session: &Session,
    case_id: &str,
    written: &mut Written<impl Sized>,
) -> Result<(), ApiError> {
    if written.replayed || session.call.caller.kind() != CallerKind::Person {
        return Ok(());
    }
    let case_id = Uuid::parse_str(case_id).map_err(ApiError::internal)?;
    let events: Vec<StoredEvent> =
        store::membership::add_creator(conn, &session.ctx, case_id).await?;
    written.events.extend(events);
    Ok(())
}

/// Withholds a confidential address from anyone but a children's social
/// care member of the case (as `GetFamilyMemberResponse` documents).
fn withhold_address(member: &mut pb::FamilyMember, w: &Work<'_>) {
    let actor = &w.session.ctx.actor;
    let may_see = w.reach.is_current_member(actor.person_id)
        && actor.agency_kind == Some(AgencyKind::ChildrensSocialCare);
    if member.address_confidential && !may_see {
        member.address = None;
    }
}

pub(crate) type ChangeStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send>>;

#[tonic::async_trait]
impl CasesService for CasesApi {
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let (key, case) = NewCase::parse_request(request.get_ref())?;
        let target = Target::Authority(case.authority_id.as_str().to_owned());
        let response = self
            .flow
            .write(&s, target, move |w| {
                Box::pin(async move {
                    let mut written =
                        store::cases::create_case(w.conn, &w.session.ctx, &key, &case).await?;
                    let id = written
                        .response
                        .r#case
                        .as_ref()
                        .map(|c| c.id.clone())
                        .unwrap_or_default();
                    creator_joins(w.conn, w.session, &id, &mut written).await?;
                    Ok(written)
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_case(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let case = get_call!(self, request, case_id, Locator::Case, |w, id| {
            store::cases::get_case(w.conn, &w.session.ctx, id)
        });
        Ok(Response::new(pb::GetCaseResponse { r#case: Some(case) }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let (authority, mut filter) = CaseFilter::parse(request.get_ref())?;
        filter.member = self.flow.own_cases(&s);
        let target = Target::Authority(authority.as_str().to_owned());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::cases::list_cases(w.conn, &w.session.ctx, &authority, &filter).await
                    })
                },
                |page: &pb::ListCasesResponse| {
                    listed_ids(page.cases.iter().flat_map(|c| &c.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| CaseUpdate::parse(req),
            |update| Target::Record(Locator::Case(update.id)),
            store::cases::update_case
        )
    }

    async fn create_child(
        &self,
        request: Request<pb::CreateChildRequest>,
    ) -> Result<Response<pb::CreateChildResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let (key, child) = ChildDetails::parse_request(request.get_ref(), s.ctx.today)?;
        let target = match child.case_id {
            Some(case_id) => Target::Record(Locator::Case(case_id)),
            None => Target::Authority(child.authority_id.as_str().to_owned()),
        };
        let response = self
            .flow
            .write(&s, target, move |w| {
                Box::pin(async move {
                    let mut written =
                        store::children::create_child(w.conn, &w.session.ctx, &key, &child).await?;
                    if child.case_id.is_none() {
                        let case_id = written
                            .response
                            .child
                            .as_ref()
                            .map(|c| c.case_id.clone())
                            .unwrap_or_default();
                        creator_joins(w.conn, w.session, &case_id, &mut written).await?;
                    }
                    Ok(written)
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_child(
        &self,
        request: Request<pb::GetChildRequest>,
    ) -> Result<Response<pb::GetChildResponse>, Status> {
        let child = get_call!(self, request, child_id, Locator::Child, |w, id| {
            store::children::get_child(w.conn, id)
        });
        Ok(Response::new(pb::GetChildResponse { child: Some(child) }))
    }

    async fn list_children(
        &self,
        request: Request<pb::ListChildrenRequest>,
    ) -> Result<Response<pb::ListChildrenResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let (authority, mut filter) = ChildFilter::parse(request.get_ref())?;
        filter.member = self.flow.own_cases(&s);
        let target = Target::Authority(authority.as_str().to_owned());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::children::list_children(
                            w.conn,
                            &authority,
                            &filter,
                            w.session.ctx.today,
                        )
                        .await
                    })
                },
                |page: &pb::ListChildrenResponse| listed_ids(page.children.iter().map(|c| &c.id)),
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_child(
        &self,
        request: Request<pb::UpdateChildRequest>,
    ) -> Result<Response<pb::UpdateChildResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| ChildUpdate::parse(req),
            |update| Target::Record(Locator::Child(update.id)),
            store::children::update_child
        )
    }

    async fn add_family_member(
        &self,
        request: Request<pb::AddFamilyMemberRequest>,
    ) -> Result<Response<pb::AddFamilyMemberResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| NewFamilyMember::parse(req, today),
            |new| Target::Record(Locator::Case(new.details.case_id)),
            store::family::add_family_member
        )
    }

    async fn get_family_member(
        &self,
        request: Request<pb::GetFamilyMemberRequest>,
    ) -> Result<Response<pb::GetFamilyMemberResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let id = parse_id("family_member_id", &request.get_ref().family_member_id)?;
        let member = self
            .flow
            .read(&s, Target::Record(Locator::FamilyMember(id)), move |w| {
                Box::pin(async move {
                    let mut member = store::family::get_family_member(w.conn, id).await?;
                    withhold_address(&mut member, &w);
                    Ok(member)
                })
            })
            .await?;
        Ok(Response::new(pb::GetFamilyMemberResponse {
            family_member: Some(member),
        }))
    }

    async fn list_family_members(
        &self,
        request: Request<pb::ListFamilyMembersRequest>,
    ) -> Result<Response<pb::ListFamilyMembersResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = FamilyMemberFilter::parse(request.get_ref())?;
        let target = list_target(filter.child_id, filter.case_id, s.ctx.authority.to_string());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        let mut page = store::family::list_family_members(w.conn, &filter).await?;
                        for member in &mut page.family_members {
                            withhold_address(member, &w);
                        }
                        Ok(page)
                    })
                },
                |page: &pb::ListFamilyMembersResponse| {
                    listed_ids(
                        page.family_members
                            .iter()
                            .flat_map(|m| m.relationships.iter().map(|r| &r.child_id)),
                    )
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_family_member(
        &self,
        request: Request<pb::UpdateFamilyMemberRequest>,
    ) -> Result<Response<pb::UpdateFamilyMemberResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| FamilyMemberUpdate::parse(req),
            |update| Target::Record(Locator::FamilyMember(update.id)),
            store::family::update_family_member
        )
    }

    async fn open_cin_episode(
        &self,
        request: Request<pb::OpenCinEpisodeRequest>,
    ) -> Result<Response<pb::OpenCinEpisodeResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| NewCinEpisode::parse(req, today),
            |new| Target::Record(Locator::Child(new.child_id)),
            store::episodes::open_cin_episode
        )
    }

    async fn close_cin_episode(
        &self,
        request: Request<pb::CloseCinEpisodeRequest>,
    ) -> Result<Response<pb::CloseCinEpisodeResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| CinClosure::parse(req, today),
            |closure| Target::Record(Locator::CinEpisode(closure.id)),
            store::episodes::close_cin_episode
        )
    }

    async fn get_cin_episode(
        &self,
        request: Request<pb::GetCinEpisodeRequest>,
    ) -> Result<Response<pb::GetCinEpisodeResponse>, Status> {
        let episode = get_call!(
            self,
            request,
            cin_episode_id,
            Locator::CinEpisode,
            |w, id| store::episodes::get_cin_episode(w.conn, id)
        );
        Ok(Response::new(pb::GetCinEpisodeResponse {
            cin_episode: Some(episode),
        }))
    }

    async fn list_cin_episodes(
        &self,
        request: Request<pb::ListCinEpisodesRequest>,
    ) -> Result<Response<pb::ListCinEpisodesResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = CinEpisodeFilter::parse(request.get_ref())?;
        let authority = filter
            .authority_id
            .as_ref()
            .unwrap_or(&s.ctx.authority)
            .to_string();
        let target = list_target(filter.child_id, None, authority);
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(
                        async move { store::episodes::list_cin_episodes(w.conn, &filter).await },
                    )
                },
                |page: &pb::ListCinEpisodesResponse| {
                    listed_ids(page.cin_episodes.iter().map(|e| &e.child_id))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn record_strategy_discussion(
        &self,
        request: Request<pb::RecordStrategyDiscussionRequest>,
    ) -> Result<Response<pb::RecordStrategyDiscussionResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| NewStrategyDiscussion::parse(req, today),
            |new| Target::Record(Locator::Case(new.case_id)),
            store::strategy::record_strategy_discussion
        )
    }

    async fn get_strategy_discussion(
        &self,
        request: Request<pb::GetStrategyDiscussionRequest>,
    ) -> Result<Response<pb::GetStrategyDiscussionResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let id = parse_id(
            "strategy_discussion_id",
            &request.get_ref().strategy_discussion_id,
        )?;
        let discussion = self
            .flow
            .read(
                &s,
                Target::Record(Locator::StrategyDiscussion(id)),
                move |w| Box::pin(store::strategy::get_strategy_discussion(w.conn, id)),
            )
            .await?;
        Ok(Response::new(pb::GetStrategyDiscussionResponse {
            strategy_discussion: Some(discussion),
        }))
    }

    async fn list_strategy_discussions(
        &self,
        request: Request<pb::ListStrategyDiscussionsRequest>,
    ) -> Result<Response<pb::ListStrategyDiscussionsResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = StrategyDiscussionFilter::parse(request.get_ref())?;
        let target = list_target(filter.child_id, filter.case_id, s.ctx.authority.to_string());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::strategy::list_strategy_discussions(w.conn, &filter).await
                    })
                },
                |page: &pb::ListStrategyDiscussionsResponse| {
                    listed_ids(page.strategy_discussions.iter().flat_map(|d| &d.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn start_section47_enquiry(
        &self,
        request: Request<pb::StartSection47EnquiryRequest>,
    ) -> Result<Response<pb::StartSection47EnquiryResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| NewSection47::parse(req, today),
            |new| Target::Record(Locator::Child(new.child_id)),
            store::section47::start_section47_enquiry
        )
    }

    async fn complete_section47_enquiry(
        &self,
        request: Request<pb::CompleteSection47EnquiryRequest>,
    ) -> Result<Response<pb::CompleteSection47EnquiryResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| Section47Completion::parse(req, today),
            |completion| Target::Record(Locator::Section47Enquiry(completion.id)),
            store::section47::complete_section47_enquiry
        )
    }

    async fn get_section47_enquiry(
        &self,
        request: Request<pb::GetSection47EnquiryRequest>,
    ) -> Result<Response<pb::GetSection47EnquiryResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let id = parse_id("enquiry_id", &request.get_ref().enquiry_id)?;
        let enquiry = self
            .flow
            .read(
                &s,
                Target::Record(Locator::Section47Enquiry(id)),
                move |w| Box::pin(store::section47::get_section47_enquiry(w.conn, id)),
            )
            .await?;
        Ok(Response::new(pb::GetSection47EnquiryResponse {
            enquiry: Some(enquiry),
        }))
    }

    async fn list_section47_enquiries(
        &self,
        request: Request<pb::ListSection47EnquiriesRequest>,
    ) -> Result<Response<pb::ListSection47EnquiriesResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = Section47Filter::parse(request.get_ref())?;
        let authority = filter
            .authority_id
            .as_ref()
            .unwrap_or(&s.ctx.authority)
            .to_string();
        let target = list_target(filter.child_id, None, authority);
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::section47::list_section47_enquiries(w.conn, &filter).await
                    })
                },
                |page: &pb::ListSection47EnquiriesResponse| {
                    listed_ids(page.enquiries.iter().map(|e| &e.child_id))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn record_conference_outcome(
        &self,
        request: Request<pb::RecordConferenceOutcomeRequest>,
    ) -> Result<Response<pb::RecordConferenceOutcomeResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let (conference_id, child_id) = outcome_ids(request.get_ref())?;
        let req = request.into_inner();
        let response = self
            .flow
            .write(&s, Target::Record(Locator::Child(child_id)), move |w| {
                Box::pin(async move {
                    let held = store::conferences::held_conference(w.conn, conference_id).await?;
                    let new = NewConferenceOutcome::parse(&req, &held, &w.session.ctx.timescales)?;
                    store::outcomes::record_conference_outcome(w.conn, &w.session.ctx, &new).await
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn get_conference_outcome(
        &self,
        request: Request<pb::GetConferenceOutcomeRequest>,
    ) -> Result<Response<pb::GetConferenceOutcomeResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let id = parse_id("outcome_id", &request.get_ref().outcome_id)?;
        let outcome = self
            .flow
            .read(
                &s,
                Target::Record(Locator::ConferenceOutcome(id)),
                move |w| Box::pin(store::outcomes::get_conference_outcome(w.conn, id)),
            )
            .await?;
        Ok(Response::new(pb::GetConferenceOutcomeResponse {
            outcome: Some(outcome),
        }))
    }

    async fn list_conference_outcomes(
        &self,
        request: Request<pb::ListConferenceOutcomesRequest>,
    ) -> Result<Response<pb::ListConferenceOutcomesResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = OutcomeFilter::parse(request.get_ref())?;
        let target = list_target(filter.child_id, None, s.ctx.authority.to_string());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::outcomes::list_conference_outcomes(w.conn, &filter).await
                    })
                },
                |page: &pb::ListConferenceOutcomesResponse| {
                    listed_ids(page.outcomes.iter().map(|o| &o.child_id))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_conference_outcome(
        &self,
        request: Request<pb::UpdateConferenceOutcomeRequest>,
    ) -> Result<Response<pb::UpdateConferenceOutcomeResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| OutcomeCorrection::parse(req),
            |correction| Target::Record(Locator::ConferenceOutcome(correction.id)),
            store::outcomes::update_conference_outcome
        )
    }

    async fn get_plan(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        let plan = get_call!(self, request, plan_id, Locator::Plan, |w, id| {
            store::plans::get_plan(w.conn, id)
        });
        Ok(Response::new(pb::GetPlanResponse { plan: Some(plan) }))
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = PlanFilter::parse(request.get_ref())?;
        let authority = filter
            .authority_id
            .as_ref()
            .unwrap_or(&s.ctx.authority)
            .to_string();
        let target = list_target(filter.child_id, filter.case_id, authority);
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| Box::pin(async move { store::plans::list_plans(w.conn, &filter).await }),
                |page: &pb::ListPlansResponse| listed_ids(page.plans.iter().map(|p| &p.child_id)),
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_plan(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> Result<Response<pb::UpdatePlanResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| PlanUpdate::parse(req),
            |update| Target::Record(Locator::Plan(update.id)),
            store::plans::update_plan
        )
    }

    async fn end_plan(
        &self,
        request: Request<pb::EndPlanRequest>,
    ) -> Result<Response<pb::EndPlanResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| PlanEnding::parse(req, today),
            |ending| Target::Record(Locator::Plan(ending.id)),
            store::plans::end_plan
        )
    }

    async fn transfer_plan_out(
        &self,
        request: Request<pb::TransferPlanOutRequest>,
    ) -> Result<Response<pb::TransferPlanOutResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| TransferOutNotice::parse(req, today),
            |notice| Target::Record(Locator::Plan(notice.id)),
            store::plans::transfer_plan_out
        )
    }

    async fn record_transfer_in(
        &self,
        request: Request<pb::RecordTransferInRequest>,
    ) -> Result<Response<pb::RecordTransferInResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| NewTransferIn::parse(req, today),
            |new| Target::Record(Locator::Child(new.child_id)),
            store::transfers::record_transfer_in
        )
    }

    async fn get_transfer_in(
        &self,
        request: Request<pb::GetTransferInRequest>,
    ) -> Result<Response<pb::GetTransferInResponse>, Status> {
        let transfer_in = get_call!(
            self,
            request,
            transfer_in_id,
            Locator::TransferIn,
            |w, id| store::transfers::get_transfer_in(w.conn, id)
        );
        Ok(Response::new(pb::GetTransferInResponse {
            transfer_in: Some(transfer_in),
        }))
    }

    async fn add_plan_action(
        &self,
        request: Request<pb::AddPlanActionRequest>,
    ) -> Result<Response<pb::AddPlanActionResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| NewPlanAction::parse(req),
            |new| Target::Record(Locator::Plan(new.plan_id)),
            store::actions::add_plan_action
        )
    }

    async fn get_plan_action(
        &self,
        request: Request<pb::GetPlanActionRequest>,
    ) -> Result<Response<pb::GetPlanActionResponse>, Status> {
        let action = get_call!(self, request, action_id, Locator::PlanAction, |w, id| {
            store::actions::get_plan_action(w.conn, id, w.session.ctx.today)
        });
        Ok(Response::new(pb::GetPlanActionResponse {
            action: Some(action),
        }))
    }

    async fn list_plan_actions(
        &self,
        request: Request<pb::ListPlanActionsRequest>,
    ) -> Result<Response<pb::ListPlanActionsResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = ActionFilter::parse(request.get_ref())?;
        let target = match (filter.plan_id, filter.child_id) {
            (Some(plan), _) => Target::Record(Locator::Plan(plan)),
            (None, child) => list_target(child, None, s.ctx.authority.to_string()),
        };
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::actions::list_plan_actions(w.conn, &filter, w.session.ctx.today)
                            .await
                    })
                },
                |page: &pb::ListPlanActionsResponse| {
                    listed_ids(page.actions.iter().map(|a| &a.child_id))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn update_plan_action(
        &self,
        request: Request<pb::UpdatePlanActionRequest>,
    ) -> Result<Response<pb::UpdatePlanActionResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| ActionUpdate::parse(req),
            |update| Target::Record(Locator::PlanAction(update.id)),
            store::actions::update_plan_action
        )
    }

    async fn update_plan_action_status(
        &self,
        request: Request<pb::UpdatePlanActionStatusRequest>,
    ) -> Result<Response<pb::UpdatePlanActionStatusResponse>, Status> {
        write_call!(
            self,
            request,
            |req, today| ActionStatusChange::parse(req, today),
            |change| Target::Record(Locator::PlanAction(change.id)),
            store::actions::update_plan_action_status
        )
    }

    async fn add_case_member(
        &self,
        request: Request<pb::AddCaseMemberRequest>,
    ) -> Result<Response<pb::AddCaseMemberResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| NewCaseMember::parse(req),
            |new| Target::Record(Locator::Case(new.case_id)),
            store::membership::add_case_member
        )
    }

    async fn end_case_member(
        &self,
        request: Request<pb::EndCaseMemberRequest>,
    ) -> Result<Response<pb::EndCaseMemberResponse>, Status> {
        write_call!(
            self,
            request,
            |req, _| MemberEnding::parse(req),
            |ending| Target::Record(Locator::Membership(ending.id)),
            store::membership::end_case_member
        )
    }

    async fn list_case_members(
        &self,
        request: Request<pb::ListCaseMembersRequest>,
    ) -> Result<Response<pb::ListCaseMembersResponse>, Status> {
        let s = self.flow.identify(&request).await?;
        let filter = MemberFilter::parse(request.get_ref())?;
        let target = list_target(filter.child_id, filter.case_id, s.ctx.authority.to_string());
        let response = self
            .flow
            .list(
                &s,
                target,
                move |w| {
                    Box::pin(async move {
                        store::membership::list_case_members(w.conn, &filter, w.session.ctx.today)
                            .await
                    })
                },
                // Memberships limited to some children name them; one of
                // the whole case is a record of the case the request names.
                |page: &pb::ListCaseMembersResponse| {
                    listed_ids(page.memberships.iter().flat_map(|m| &m.child_ids))
                },
            )
            .await?;
        Ok(Response::new(response))
    }

    type StreamChangesStream = ChangeStream;

    async fn stream_changes(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Self::StreamChangesStream>, Status> {
        let s = self.flow.identify(&request).await?;
        let stream = feed::open(self, &s, request.get_ref()).await?;
        Ok(Response::new(stream))
    }
}

/// The conference and child an outcome is for: checked before the held
/// conference is looked up (the rest of the request is parsed against it).
fn outcome_ids(req: &pb::RecordConferenceOutcomeRequest) -> Result<(Uuid, Uuid), ApiError> {
    let mut check = Check::new();
    let Some(outcome) = req.outcome.as_ref() else {
        check.add("outcome", "is required");
        return Err(check.fail());
    };
    let conference = check.id("outcome.conference_id", &outcome.conference_id);
    let child = check.id("outcome.child_id", &outcome.child_id);
    match (conference, child) {
        (Some(conference), Some(child)) => Ok((conference, child)),
        _ => Err(check.fail()),
    }
}
