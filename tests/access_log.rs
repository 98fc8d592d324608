//! Requests for the access log (`cpc.audit.v1.AuditService`), shared by the
//! test binaries that read it.

use cpc_proto::audit::v1::ListAccessRecordsRequest;

/// The first page (up to 100 records) of `service`'s access records about
/// one child: what a subject access request or the child's social worker
/// reads.
pub fn about_child(service: &str, child_id: &str) -> ListAccessRecordsRequest {
    ListAccessRecordsRequest {
        service: service.to_owned(),
        child_id: child_id.to_owned(),
        page_size: 100,
        ..Default::default()
    }
}
