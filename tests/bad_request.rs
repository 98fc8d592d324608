//! Reading an `INVALID_ARGUMENT` as a caller does: the fields it names.

use tonic_types::StatusExt as _;

/// The field paths of an `INVALID_ARGUMENT`'s `google.rpc.BadRequest`.
pub fn bad_fields(status: &tonic::Status) -> Vec<String> {
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad = details.bad_request().expect("BadRequest details");
    bad.field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}
