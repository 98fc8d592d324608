//! `cpc.reporting.v1.ReportingService`: each RPC checks its request, names
//! its target for the policies, and runs one store call through
//! [`Flow::run`](super::flow::Flow::run).
//!
//! Every call is served: agency reports, minutes, the census return,
//! timeliness statistics and the change feed.

use std::pin::Pin;

use cpc_identity::CallerKind;
use cpc_platform::convert::listed_ids;
use cpc_proto::reporting::v1 as pb;
use cpc_proto::reporting::v1::reporting_service_server::ReportingService;
use sqlx::PgPool;
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::ReportingApi;
use super::flow::Target;
use super::{report_requests, requests};
use crate::census;
use crate::store::{minutes, reports, timeliness};
use cpc_platform::{ApiError, db};

/// The change feed as the server streams it.
type ChangeStream =
    Pin<Box<dyn Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl ReportingService for ReportingApi {
    async fn create_agency_report(
        &self,
        request: Request<pb::CreateAgencyReportRequest>,
    ) -> Result<Response<pb::CreateAgencyReportResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let new = report_requests::creation(request.get_ref(), &session.ctx.actor)?;
        let response = self
            .flow
            .run(
                &session,
                Target::Conference(new.conference_id),
                move |conn, s| Box::pin(async move { reports::create(conn, &s.ctx, &new).await }),
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn get_agency_report(
        &self,
        request: Request<pb::GetAgencyReportRequest>,
    ) -> Result<Response<pb::GetAgencyReportResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let id = requests::id("report_id", &request.get_ref().report_id)?;
        let report = self
            .flow
            .run(&session, Target::Report(id), move |conn, s| {
                Box::pin(async move { reports::load(conn, id, &s.reader(), s.ctx.today).await })
            })
            .await?;
        Ok(Response::new(pb::GetAgencyReportResponse {
            report: Some(report),
        }))
    }

    async fn list_agency_reports(
        &self,
        request: Request<pb::ListAgencyReportsRequest>,
    ) -> Result<Response<pb::ListAgencyReportsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let filter = report_requests::list(request.get_ref())?;
        // A conference's or a child's reports are a record of the case:
        // its members may list them, and are shown those the visibility
        // rule lets them see.
        let target = match (filter.conference_id, filter.child_id) {
            (Some(conference), _) => Target::Conference(conference),
            (None, Some(child)) => Target::Child(child),
            (None, None) => return Err(ApiError::internal("a checked list lost its scope").into()),
        };
        let response = self
            .flow
            .run(&session, target, move |conn, s| {
                Box::pin(
                    async move { reports::list(conn, &filter, &s.reader(), s.ctx.today).await },
                )
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn update_agency_report(
        &self,
        request: Request<pb::UpdateAgencyReportRequest>,
    ) -> Result<Response<pb::UpdateAgencyReportResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, changes) = report_requests::update(request.get_ref())?;
        let report = self
            .flow
            .run(&session, Target::Report(id), move |conn, s| {
                Box::pin(async move {
                    reports::update(conn, &s.ctx, &s.reader(), id, version, &changes).await
                })
            })
            .await?;
        Ok(Response::new(pb::UpdateAgencyReportResponse {
            report: Some(report),
        }))
    }

    async fn submit_agency_report(
        &self,
        request: Request<pb::SubmitAgencyReportRequest>,
    ) -> Result<Response<pb::SubmitAgencyReportResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let req = request.get_ref();
        let (id, version) = requests::versioned("report_id", &req.report_id, req.version)?;
        let report = self
            .flow
            .run(&session, Target::Report(id), move |conn, s| {
                Box::pin(
                    async move { reports::submit(conn, &s.ctx, &s.reader(), id, version).await },
                )
            })
            .await?;
        Ok(Response::new(pb::SubmitAgencyReportResponse {
            report: Some(report),
        }))
    }

    async fn share_agency_report(
        &self,
        request: Request<pb::ShareAgencyReportRequest>,
    ) -> Result<Response<pb::ShareAgencyReportResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, sharing) = report_requests::sharing(request.get_ref())?;
        let report = self
            .flow
            .run(&session, Target::Report(id), move |conn, s| {
                Box::pin(async move {
                    reports::share(conn, &s.ctx, &s.reader(), id, version, &sharing).await
                })
            })
            .await?;
        Ok(Response::new(pb::ShareAgencyReportResponse {
            report: Some(report),
        }))
    }

    async fn create_minutes(
        &self,
        request: Request<pb::CreateMinutesRequest>,
    ) -> Result<Response<pb::CreateMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let new = requests::creation(request.get_ref())?;
        let response = self
            .flow
            .run(
                &session,
                Target::Conference(new.conference_id),
                move |conn, s| Box::pin(async move { minutes::create(conn, &s.ctx, &new).await }),
            )
            .await?;
        Ok(Response::new(response))
    }

    async fn get_minutes(
        &self,
        request: Request<pb::GetMinutesRequest>,
    ) -> Result<Response<pb::GetMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let id = requests::id("minutes_id", &request.get_ref().minutes_id)?;
        let found = self
            .flow
            .run(&session, Target::Minutes(id), move |conn, _| {
                Box::pin(async move { minutes::load(conn, id).await })
            })
            .await?;
        Ok(Response::new(pb::GetMinutesResponse {
            minutes: Some(minutes::as_seen_by(found, session.call.caller.subject())),
        }))
    }

    async fn list_minutes(
        &self,
        request: Request<pb::ListMinutesRequest>,
    ) -> Result<Response<pb::ListMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (authority, filter) = requests::list(request.get_ref(), &session.ctx)?;
        // One conference's or one child's minutes are a record of the case
        // (its members may list them); across the authority they are for
        // those the policies let read it as a whole. Either way, minutes
        // of a conference the caller was excluded from are left out.
        let target = match (filter.conference_id, filter.child_id) {
            (Some(conference), _) => Target::Conference(conference),
            (None, Some(child)) => Target::Child(child),
            (None, None) => Target::Authority(&authority),
        };
        let person = session.call.caller.subject().to_owned();
        let mut response = self
            .flow
            .list(
                &session,
                target,
                move |conn, _| {
                    Box::pin(async move { minutes::list(conn, &filter, Some(&person)).await })
                },
                |page: &pb::ListMinutesResponse| {
                    listed_ids(page.minutes.iter().flat_map(|m| &m.child_ids))
                },
            )
            .await?;
        let caller = session.call.caller.subject();
        response.minutes = response
            .minutes
            .into_iter()
            .map(|m| minutes::as_seen_by(m, caller))
            .collect();
        Ok(Response::new(response))
    }

    async fn update_minutes(
        &self,
        request: Request<pb::UpdateMinutesRequest>,
    ) -> Result<Response<pb::UpdateMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, changes) = requests::update(request.get_ref())?;
        let updated = self
            .flow
            .run(&session, Target::Minutes(id), move |conn, s| {
                Box::pin(async move { minutes::update(conn, &s.ctx, id, version, &changes).await })
            })
            .await?;
        Ok(Response::new(pb::UpdateMinutesResponse {
            minutes: Some(updated),
        }))
    }

    async fn approve_minutes(
        &self,
        request: Request<pb::ApproveMinutesRequest>,
    ) -> Result<Response<pb::ApproveMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let req = request.get_ref();
        let (id, version) = requests::versioned("minutes_id", &req.minutes_id, req.version)?;
        let approved = self
            .flow
            .run(&session, Target::Minutes(id), move |conn, s| {
                Box::pin(async move { minutes::approve(conn, &s.ctx, id, version).await })
            })
            .await?;
        Ok(Response::new(pb::ApproveMinutesResponse {
            minutes: Some(approved),
        }))
    }

    async fn distribute_minutes(
        &self,
        request: Request<pb::DistributeMinutesRequest>,
    ) -> Result<Response<pb::DistributeMinutesResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, copies) = requests::distribution_request(request.get_ref())?;
        let distributed = self
            .flow
            .run(&session, Target::Minutes(id), move |conn, s| {
                Box::pin(
                    async move { minutes::distribute(conn, &s.ctx, id, version, &copies).await },
                )
            })
            .await?;
        Ok(Response::new(pb::DistributeMinutesResponse {
            minutes: Some(distributed),
        }))
    }

    async fn record_decision_notification(
        &self,
        request: Request<pb::RecordDecisionNotificationRequest>,
    ) -> Result<Response<pb::RecordDecisionNotificationResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (id, version, told) = requests::notification(request.get_ref(), &session.ctx)?;
        let recorded = self
            .flow
            .run(&session, Target::Minutes(id), move |conn, s| {
                Box::pin(async move { minutes::notify(conn, &s.ctx, id, version, &told).await })
            })
            .await?;
        Ok(Response::new(pb::RecordDecisionNotificationResponse {
            minutes: Some(recorded),
        }))
    }

    /// Reads what reporting keeps for the authority's year and writes the
    /// return, in a transaction audited as a read of the authority; has the
    /// DfE rules run over it outside any transaction (seconds a thousand
    /// children); then tells the feed it was generated
    /// (`CinCensusGenerated`). The file itself is not kept.
    async fn generate_cin_census(
        &self,
        request: Request<pb::GenerateCinCensusRequest>,
    ) -> Result<Response<pb::GenerateCinCensusResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let asked = requests::census(request.get_ref())?;
        let la_number = self
            .profiles
            .get(&asked.authority)
            .and_then(|profile| profile.la_number);
        let to_write = asked.clone();
        let written = self
            .flow
            .run(
                &session,
                Target::Authority(&asked.authority),
                move |conn, s| {
                    Box::pin(async move { census::write(conn, &s.ctx, &to_write, la_number).await })
                },
            )
            .await?;
        let report =
            census::validate::validate(&self.census, asked.collection_year, &written.file).await?;
        let validation = census::summary(report, &written.ids);
        let mut tx = db::begin_for_authority(&self.flow.pool, &session.ctx.authority)
            .await
            .map_err(ApiError::from)?;
        census::record_generated(&mut tx, &session.ctx, &asked, &validation).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Response::new(pb::GenerateCinCensusResponse {
            file_name: written.file_name,
            xml: written.file.into_bytes(),
            validation: Some(validation),
            generate_time: Some(cpc_platform::convert::timestamp_to_proto(session.ctx.now)),
        }))
    }

    async fn get_timeliness_statistics(
        &self,
        request: Request<pb::GetTimelinessStatisticsRequest>,
    ) -> Result<Response<pb::GetTimelinessStatisticsResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (authority, period) = requests::statistics(request.get_ref())?;
        let timescales = cpc_platform::config::timescales(&self.profiles, &authority)?;
        let named = authority.clone();
        let statistics = self
            .flow
            .run(&session, Target::Authority(&named), move |conn, s| {
                Box::pin(async move {
                    let asked = timeliness::Request {
                        authority: &authority,
                        period,
                        as_of: s.ctx.today,
                        calendar: timescales.calendar(),
                    };
                    timeliness::statistics(conn, asked, s.ctx.now).await
                })
            })
            .await?;
        Ok(Response::new(pb::GetTimelinessStatisticsResponse {
            statistics: Some(statistics),
        }))
    }

    type StreamChangesStream = ChangeStream;

    /// The reporting feed of one authority, from a sequence number on;
    /// opening it is authorised and recorded like a read of the authority.
    /// A person is not sent the events of minutes the chair excluded them
    /// from, and is sent those of minutes they are to have a partial copy
    /// of cut to that copy ([`MinutesReader::only_what_they_may_see`]), as
    /// `GetMinutes` and `ListMinutes` would show them the minutes.
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
            .check_service_follows(&session, &req.event_types)
            .await?;
        self.flow
            .run(&session, Target::Authority(&feed.authority), |_, _| {
                Box::pin(async { Ok(()) })
            })
            .await?;
        let authority = feed.authority.clone();
        let request_id = session.call.request_id.clone();
        let events = self
            .feed
            .open(feed, self.flow.access.lease(&session.call), |event| {
                pb::StreamChangesResponse { event: Some(event) }
            });
        // A service is asked for report submissions only
        // (`check_service_follows`) and is never excluded from minutes; a
        // person may be, and the policies read the feed as the authority
        // as a whole, so the minutes exclusions are applied here.
        if session.call.caller.kind() == CallerKind::Service {
            return Ok(Response::new(events));
        }
        let reader = MinutesReader {
            pool: self.flow.pool.clone(),
            authority,
            person: session.call.caller.subject().to_owned(),
            request_id,
        };
        Ok(Response::new(reader.only_what_they_may_see(events)))
    }
}

/// A person reading the reporting feed, as the minutes exclusions see
/// them.
#[derive(Clone)]
struct MinutesReader {
    pool: PgPool,
    /// The authority whose feed it is (the transaction's row-level
    /// security is bound to it).
    authority: String,
    /// The person, as the exclusions name them (the token's subject).
    person: String,
    request_id: String,
}

impl MinutesReader {
    /// `events` as the person may have them: those about minutes the chair
    /// excluded them from (their bodies, distribution records and decision
    /// notifications) left out, and those about minutes they are to have a
    /// partial copy of cut to that copy ([`minutes::partial_event`]). It is
    /// decided event by event as each is delivered, so an exclusion
    /// recorded after the stream was opened (or after the event was
    /// published) still holds the minutes back. Other events pass as they
    /// are. A failed check ends the stream, as a failed read does: nothing
    /// is delivered that was not checked.
    fn only_what_they_may_see(self, events: ChangeStream) -> ChangeStream {
        let checked = events.then(move |item| {
            let reader = self.clone();
            async move {
                let response = match item {
                    Ok(response) => response,
                    Err(status) => return Some(Err(status)),
                };
                match reader.deliverable(response).await {
                    Ok(response) => response.map(Ok),
                    Err(err) => {
                        tracing::error!(
                            request_id = %reader.request_id,
                            error = %err,
                            "minutes exclusions could not be read for the change feed",
                        );
                        Some(Err(Status::unavailable(
                            "the change feed could not be read; resume after the last sequence \
                             received",
                        )))
                    }
                }
            }
        });
        Box::pin(checked.filter_map(|item| item))
    }

    /// `response` as the person may receive it: anything not about
    /// minutes as it is; an event about minutes as [`minutes::delivery_to`]
    /// says (`None`: withheld).
    async fn deliverable(
        &self,
        response: pb::StreamChangesResponse,
    ) -> Result<Option<pb::StreamChangesResponse>, ApiError> {
        let event = match response.event {
            Some(event) if event.aggregate_type == minutes::AGGREGATE_TYPE => event,
            _ => return Ok(Some(response)),
        };
        // Minutes ids are written by this service; one that does not parse
        // is withheld rather than guessed at.
        let Ok(id) = Uuid::parse_str(&event.aggregate_id) else {
            return Ok(None);
        };
        let mut tx = db::begin_for_authority(&self.pool, &self.authority).await?;
        let delivery = minutes::delivery_to(&mut tx, id, &self.person).await?;
        tx.rollback().await?;
        let sequence = event.sequence;
        let event = match delivery {
            minutes::Delivery::Whole => Some(event),
            minutes::Delivery::PartialCopy => minutes::partial_event(event, &self.person),
            minutes::Delivery::Withheld => None,
        };
        if event.is_none() {
            tracing::debug!(
                request_id = %self.request_id,
                sequence,
                ?delivery,
                "minutes event withheld from a person not to receive it",
            );
        }
        Ok(event.map(|event| pb::StreamChangesResponse { event: Some(event) }))
    }
}
