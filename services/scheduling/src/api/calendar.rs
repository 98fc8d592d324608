//! `cpc.scheduling.v1.CalendarService`: a chair's or a case's meetings as
//! an iCalendar file. A chair's diary is the authority's (read at
//! authority level); a case's is a record of that case.

use cpc_proto::scheduling::v1 as pb;
use cpc_proto::scheduling::v1::calendar_service_server::CalendarService;
use tonic::{Request, Response, Status};

use super::ConferencesApi;
use super::flow::Target;
use super::requests;
use crate::ical;
use crate::store::calendar::{self, Owner};
use crate::store::chairs;

#[tonic::async_trait]
impl CalendarService for ConferencesApi {
    async fn export_i_calendar(
        &self,
        request: Request<pb::ExportICalendarRequest>,
    ) -> Result<Response<pb::ExportICalendarResponse>, Status> {
        let session = self.flow.identify(&request).await?;
        let (owner, first, last) = requests::calendar_export(request.get_ref())?;
        let include_core_groups = request.get_ref().include_core_groups;
        let (target, name, file) = match owner {
            Owner::Chair(_) => (
                Target::Authority(session.ctx.authority.clone()),
                "Child protection conferences (chair)",
                format!("cpc-chair-{first}.ics"),
            ),
            Owner::Case(id) => (
                Target::Case(id),
                "Child protection meetings (case)",
                format!("cpc-case-{first}.ics"),
            ),
        };
        let meetings = self
            .flow
            .run(&session, target, move |conn, _| {
                Box::pin(async move {
                    if let Owner::Chair(id) = owner {
                        // An unknown chair is NOT_FOUND, not an empty diary.
                        chairs::get(conn, id).await?;
                    }
                    calendar::meetings(conn, owner, first, last, include_core_groups).await
                })
            })
            .await?;
        let text = ical::calendar(name, &meetings, session.ctx.now);
        Ok(Response::new(pb::ExportICalendarResponse {
            calendar: text.into_bytes(),
            content_type: "text/calendar; charset=utf-8".to_owned(),
            file_name: file,
        }))
    }
}
