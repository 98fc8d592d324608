//! `StreamChanges`: the cases change feed, from a sequence number on.
//!
//! A consumer resumes after the last sequence it processed and receives
//! every later event of its authority, in commit order, then each new one
//! as it commits. Opening the stream is authorised and recorded like any
//! read of the authority's records.

use cpc_platform::ApiError;
use cpc_platform::outbox::{self, Filter};
use cpc_proto::cases::v1 as pb;

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
    outbox::check_stream_request(
        &mut check,
        req.after_sequence,
        &req.event_types,
        EVENT_PACKAGE,
    );
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
    Ok(Box::pin(outbox::serve(
        events,
        request_id,
        |event| pb::StreamChangesResponse { event: Some(event) },
        api.stopping.clone(),
    )))
}
