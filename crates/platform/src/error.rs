//! The one mapping from what went wrong to what the caller is told.
//!
//! Callers get a gRPC code and, for bad input, a `google.rpc.BadRequest`
//! naming every bad field. Internal causes are logged with the request's
//! span and never returned: the caller sees "internal error" only.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

/// An error a cpc RPC returns. Each service converts its own error enum
/// into this, and this alone becomes a `tonic::Status`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid argument: {0}")]
    InvalidArgument(FieldViolations),
    #[error("{resource} {id} not found")]
    NotFound { resource: &'static str, id: String },
    #[error("{resource} {id} already exists")]
    AlreadyExists { resource: &'static str, id: String },
    /// A concurrent change won: the caller read a stale version and must re-read.
    #[error("aborted: {0}")]
    Aborted(String),
    /// The request is well-formed but the record's state does not allow it.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// The caller is over their rate limit.
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited { retry_after: std::time::Duration },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Anything the caller cannot act on. The cause is logged, not returned.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    pub fn internal(err: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(err.into())
    }

    /// The gRPC code the caller gets, by name (e.g. `FAILED_PRECONDITION`):
    /// what an audit record says of a failure, never its message.
    #[must_use]
    pub fn code_name(&self) -> &'static str {
        match self {
            Self::InvalidArgument(_) => "INVALID_ARGUMENT",
            Self::NotFound { .. } => "NOT_FOUND",
            Self::AlreadyExists { .. } => "ALREADY_EXISTS",
            Self::Aborted(_) => "ABORTED",
            Self::FailedPrecondition(_) => "FAILED_PRECONDITION",
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::ResourceExhausted(_) | Self::RateLimited { .. } => "RESOURCE_EXHAUSTED",
            Self::Unavailable(_) => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }

    pub fn not_found(resource: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            resource,
            id: id.into(),
        }
    }

    /// One bad field, for the common case of a single check.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut violations = FieldViolations::default();
        violations.add(field, description);
        Self::InvalidArgument(violations)
    }
}

/// Classifies a database error by SQLSTATE, in this one place.
///
/// Constraint violations are the caller's doing (a duplicate, a reference to
/// something absent); serialization failures and deadlocks mean "retry"; a
/// pool timeout or lost connection means "try later". The rest is internal.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::RowNotFound => Self::NotFound {
                resource: "record",
                id: String::new(),
            },
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(error = %err, "database unavailable");
                Self::Unavailable("the database is unavailable; retry later".to_owned())
            }
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("23505") => Self::AlreadyExists {
                    resource: "record",
                    id: db.constraint().unwrap_or_default().to_owned(),
                },
                Some("23503") => {
                    Self::FailedPrecondition("a referenced record does not exist".to_owned())
                }
                Some("23514" | "23P01") => Self::FailedPrecondition(
                    "the change breaks a rule the record must keep".to_owned(),
                ),
                Some("40001" | "40P01") => {
                    Self::Aborted("a concurrent change conflicted; retry".to_owned())
                }
                Some("57014") => {
                    Self::Unavailable("the database cancelled the statement".to_owned())
                }
                _ => Self::internal(err),
            },
            _ => Self::internal(err),
        }
    }
}

impl From<ApiError> for Status {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::InvalidArgument(violations) => {
                let mut details = ErrorDetails::new();
                for v in violations.0.iter().take(MAX_VIOLATIONS) {
                    details.add_bad_request_violation(
                        bounded(&v.field, MAX_FIELD_BYTES),
                        bounded(&v.description, MAX_DESCRIPTION_BYTES),
                    );
                }
                Status::with_error_details(Code::InvalidArgument, violations.summary(), details)
            }
            ApiError::NotFound { .. } => Status::not_found(err.to_string()),
            ApiError::AlreadyExists { .. } => Status::already_exists(err.to_string()),
            ApiError::Aborted(msg) => Status::aborted(msg),
            ApiError::FailedPrecondition(msg) => Status::failed_precondition(msg),
            ApiError::Unauthenticated(msg) => Status::unauthenticated(msg),
            ApiError::PermissionDenied(msg) => Status::permission_denied(msg),
            ApiError::ResourceExhausted(msg) => Status::resource_exhausted(msg),
            ApiError::RateLimited { retry_after } => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(retry_after));
                Status::with_error_details(
                    Code::ResourceExhausted,
                    format!("too many calls; retry after {} ms", retry_after.as_millis()),
                    details,
                )
            }
            ApiError::Unavailable(msg) => Status::unavailable(msg),
            ApiError::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// One invalid field, named by its path in the request (`child.nhs_number`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Every bad field of a request, collected so the caller can fix all of
/// them at once rather than one per round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldViolations(Vec<FieldViolation>);

impl FieldViolations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Records the error of `result` against `field`, returning the value if it was good.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.add(field, err.to_string());
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn violations(&self) -> &[FieldViolation] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded, else the `InvalidArgument` error.
    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument(self))
        }
    }

    /// "invalid fields: a, b" naming at most [`MAX_VIOLATIONS`] of them.
    fn summary(&self) -> String {
        let fields: Vec<String> = self
            .0
            .iter()
            .take(MAX_VIOLATIONS)
            .map(|v| bounded(&v.field, MAX_FIELD_BYTES))
            .collect();
        let more = self.0.len().saturating_sub(MAX_VIOLATIONS);
        if more == 0 {
            format!("invalid fields: {}", fields.join(", "))
        } else {
            format!("invalid fields: {}, and {more} more", fields.join(", "))
        }
    }
}

// A status travels in HTTP/2 trailers (the details base64-encoded), which
// clients cap (16 KiB is common, and an oversized block costs the whole
// connection), so however many elements of a request are bad, or however
// long a value a validator quotes, the answer stays well within that: at
// most this many violations, each field path and description cut to these
// many bytes.
const MAX_VIOLATIONS: usize = 15;
const MAX_FIELD_BYTES: usize = 100;
const MAX_DESCRIPTION_BYTES: usize = 300;

/// `text` cut to at most `max` bytes on a character boundary, marked with
/// "…" where it was cut.
fn bounded(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let cut = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    format!("{}…", &text[..cut])
}

impl std::fmt::Display for FieldViolations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_request_names_every_field() {
        let mut v = FieldViolations::default();
        assert_eq!(
            v.check::<u8, _>("child.nhs_number", Err("check digit mismatch")),
            None
        );
        assert_eq!(v.check::<u8, &str>("child.upn", Ok(3)), Some(3));
        v.add("child.birth_date", "after death date");
        let status = Status::from(v.into_result().expect_err("two violations"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid fields: child.nhs_number, child.birth_date"
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| (f.field.as_str(), f.description.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("child.nhs_number", "check digit mismatch"),
                ("child.birth_date", "after death date")
            ]
        );
    }

    #[test]
    fn an_answer_stays_small_however_much_is_wrong() {
        let mut violations = FieldViolations::default();
        for i in 0..1_000 {
            violations.add(
                format!("child.disability_codes[{i}]{}", ".x".repeat(100)),
                format!("unknown code {:?}", "\u{1F600}".repeat(1_000)),
            );
        }
        let status = Status::from(ApiError::InvalidArgument(violations));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status.message().ends_with(", and 985 more"),
            "{}",
            status.message()
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("BadRequest detail");
        assert_eq!(bad.field_violations.len(), MAX_VIOLATIONS);
        for v in &bad.field_violations {
            assert!(
                v.field.len() <= MAX_FIELD_BYTES + '…'.len_utf8(),
                "{}",
                v.field
            );
            assert!(v.description.ends_with('…'), "{}", v.description);
            assert!(v.description.len() <= MAX_DESCRIPTION_BYTES + '…'.len_utf8());
        }
        // The trailers, details base64-encoded, within 16 KiB with room to
        // spare.
        let trailers = status.message().len() + status.details().len() * 4 / 3;
        assert!(trailers < 12 * 1024, "{trailers} bytes");
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abcd", 3), "abc…");
        assert_eq!(bounded("\u{e9}\u{1F600}", 5), "\u{e9}…");
        assert_eq!(bounded("\u{e9}\u{1F600}", 6), "\u{e9}\u{1F600}");
    }

    #[test]
    fn empty_violations_are_ok() {
        assert!(FieldViolations::default().into_result().is_ok());
    }

    #[test]
    fn internal_cause_is_not_returned() {
        let status = Status::from(ApiError::internal(
            "relation \"children\" has secret columns",
        ));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn codes_per_kind() {
        let cases = [
            (ApiError::not_found("child", "c1"), Code::NotFound),
            (ApiError::Aborted("stale".into()), Code::Aborted),
            (
                ApiError::FailedPrecondition("x".into()),
                Code::FailedPrecondition,
            ),
            (ApiError::Unauthenticated("x".into()), Code::Unauthenticated),
            (
                ApiError::PermissionDenied("x".into()),
                Code::PermissionDenied,
            ),
            (
                ApiError::ResourceExhausted("x".into()),
                Code::ResourceExhausted,
            ),
            (ApiError::Unavailable("x".into()), Code::Unavailable),
        ];
        for (err, code) in cases {
            assert_eq!(Status::from(err).code(), code);
        }
        assert_eq!(
            Status::from(ApiError::from(sqlx::Error::PoolTimedOut)).code(),
            Code::Unavailable
        );
    }
}
