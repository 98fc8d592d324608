//! `StreamChanges`: the cases change feed, from a sequence number on.
//!
//! A consumer resumes after the last sequence it processed and receives
//! every later event of its authority, in commit order, then each new one
//! as it commits. Opening the stream is authorised and recorded like any
//! read of the authority's records.

use cpc_platform::ApiError;
use cpc_platform::outbox::{self, Filter};
use cpc_proto::cases::v1 as pb;
use tokio_stream::StreamExt as _;
use tonic::Status;

use super::CasesApi;
use super::flow::{Session, Target};
use crate::domain::Check;

/// Event types carry the package of the payload message.
const EVENT_PACKAGE: &str = "cpc.cases.v1.";

/// Checks the request, authorises the caller for the authority, and opens
/// the stream.
///
/// # Errors
/// `INVALID_ARGUMENT` naming each bad field, `PERMISSION_DENIED` (recorded).
pub(crate) async fn open(
    api: &CasesApi,
    session: &Session,
    req: &pb::StreamChangesRequest,
) -> Result<super::service::ChangeStream, ApiError> {
    let mut check = Check::new();
    if req.after_sequence < 0 {
        check.add("after_sequence", "must not be negative");
    }
    for (i, event_type) in req.event_types.iter().enumerate() {
        let name = event_type.strip_prefix(EVENT_PACKAGE).unwrap_or_default();
        if name.is_empty() || name.len() > 100 || !name.chars().all(|c| c.is_ascii_alphanumeric()) {
            check.add(
                format!("event_types[{i}]"),
                "must be a cpc.cases.v1 event type, e.g. cpc.cases.v1.PlanStarted",
            );
        }
    }
    check.finish()?;
    let authority = if req.authority_id.is_empty() {
        session.ctx.authority.to_string()
    } else {
        req.authority_id.clone()
    };
    // The policies decide on the authority named; another authority's feed
    // is refused (and the refusal recorded) like any of its records.
    api.flow
        .read(session, Target::Authority(authority.clone()), |_| {
            Box::pin(async { Ok(()) })
        })
        .await?;
    let filter = Filter {
        event_types: req.event_types.clone(),
        authority_id: Some(authority),
    };
    let events = outbox::follow(
        api.flow.pool.clone(),
        crate::SCHEMA,
        req.after_sequence,
        filter,
        api.follow,
    );
    let request_id = session.call.request_id.clone();
    Ok(Box::pin(events.map(move |event| match event {
        Ok(event) => Ok(pb::StreamChangesResponse {
            event: Some(event.into()),
        }),
        Err(err) => {
            tracing::error!(%request_id, error = %err, "change feed read failed");
            Err(Status::unavailable(
                "the change feed could not be read; resume after the last sequence received",
            ))
        }
    })))
}
