//! `StreamChanges`: the cases change feed, from a sequence number on.
//!
//! A consumer resumes after the last sequence it processed and receives
//! every later event of its authority, in commit order, then each new one
//! as it commits. Opening the stream is authorised and recorded like any
//! read of the authority's records.

use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;

use super::CasesApi;
use super::flow::{Session, Target};

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
    let feed = api.feed.check(
        session.ctx.authority.as_str(),
        req.after_sequence,
        &req.event_types,
        &req.authority_id,
    )?;
    // The policies decide on the authority named; another authority's feed
    // is refused (and the refusal recorded) like any of its records.
    api.flow
        .read(session, Target::Authority(feed.authority.clone()), |_| {
            Box::pin(async { Ok(()) })
        })
        .await?;
    Ok(api
        .feed
        .open(feed, api.flow.access.lease(&session.call), |event| {
            pb::StreamChangesResponse { event: Some(event) }
        }))
}
