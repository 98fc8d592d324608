//! Collecting every bad field of a request, named by its proto path.
//!
//! Each parser reads a raw field and returns the parsed value, or records a
//! violation and returns `None` (or an empty value), so that one pass finds
//! every problem. Descriptions say what is wrong, never echo the value: a
//! request carries names, dates of birth and NHS numbers.

use crate::{ApiError, FieldViolations};
use chrono::{DateTime, NaiveDate, Utc};
use cpc_proto::common::v1 as common;
use uuid::Uuid;

use crate::convert::date_from_proto;
use crate::idempotency::RequestKey;

/// The bad fields found so far.
#[derive(Debug, Default)]
pub struct Check {
    violations: FieldViolations,
}

impl Check {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a bad field.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.violations.add(field, description);
    }

    /// Records `err` against `field` and returns the value if it was good.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        self.violations.check(field, result)
    }

    /// Whether nothing was recorded yet.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }

    /// `Ok(())` when no field was bad, else `INVALID_ARGUMENT` naming each.
    ///
    /// # Errors
    /// [`ApiError::InvalidArgument`] with every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        self.violations.into_result()
    }

    /// The error to return when a parsed value is missing: the recorded
    /// violations (a missing value always has one).
    #[must_use]
    pub fn fail(mut self) -> ApiError {
        if self.violations.is_empty() {
            self.violations.add("request", "is invalid");
        }
        ApiError::InvalidArgument(self.violations)
    }

    /// A required id (UUID text).
    pub fn id(&mut self, field: &str, text: &str) -> Option<Uuid> {
        if text.is_empty() {
            self.add(field, "is required");
            return None;
        }
        self.check(field, parse_uuid(text))
    }

    /// An optional id: empty means unset.
    pub fn opt_id(&mut self, field: &str, text: &str) -> Option<Option<Uuid>> {
        if text.is_empty() {
            return Some(None);
        }
        self.check(field, parse_uuid(text)).map(Some)
    }

    /// A required text of `min..=max` characters (surrounding whitespace is
    /// removed first). Returns an empty string when bad.
    pub fn text(&mut self, field: &str, text: &str, min: usize, max: usize) -> String {
        let trimmed = text.trim();
        let chars = trimmed.chars().count();
        if chars == 0 && min > 0 {
            self.add(field, "is required");
        } else if chars < min || chars > max {
            self.add(field, format!("must be {min}-{max} characters"));
        }
        self.storable(field, trimmed);
        trimmed.to_owned()
    }

    /// An optional text of at most `max` characters: empty means unset.
    pub fn opt_text(&mut self, field: &str, text: &str, max: usize) -> Option<String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.chars().count() > max {
            self.add(field, format!("must be at most {max} characters"));
        }
        self.storable(field, trimmed);
        Some(trimmed.to_owned())
    }

    /// Postgres stores no NUL character in text or JSON: refused here, by
    /// field, rather than failing the write as `INTERNAL`.
    fn storable(&mut self, field: &str, text: &str) {
        if text.contains('\0') {
            self.add(field, "must not contain a NUL character");
        }
    }

    /// A list of texts, each `1..=max` characters.
    pub fn texts(&mut self, field: &str, texts: &[String], max: usize) -> Vec<String> {
        texts
            .iter()
            .enumerate()
            .map(|(i, text)| self.text(&format!("{field}[{i}]"), text, 1, max))
            .collect()
    }

    /// An optional date; `None` when bad (recorded) or unset.
    pub fn date(&mut self, field: &str, date: Option<&common::Date>) -> Option<NaiveDate> {
        self.check(field, date_from_proto(date)).flatten()
    }

    /// A required date.
    pub fn required_date(&mut self, field: &str, date: Option<&common::Date>) -> Option<NaiveDate> {
        match date_from_proto(date) {
            Ok(Some(date)) => Some(date),
            Ok(None) => {
                self.add(field, "is required");
                None
            }
            Err(err) => {
                self.add(field, err.to_string());
                None
            }
        }
    }

    /// Records `field` if `date` is after `today`.
    pub fn not_future(&mut self, field: &str, date: Option<NaiveDate>, today: NaiveDate) {
        if date.is_some_and(|date| date > today) {
            self.add(field, "must not be in the future");
        }
    }

    /// Records `later_field` if both dates are set and `later` is before
    /// `earlier`.
    pub fn order(
        &mut self,
        earlier: Option<NaiveDate>,
        later_field: &str,
        later: Option<NaiveDate>,
        rule: &str,
    ) {
        if let (Some(earlier), Some(later)) = (earlier, later)
            && later < earlier
        {
            self.add(later_field, format!("must be on or after {rule}"));
        }
    }

    /// A required API enum value mapped by `from_proto`.
    pub fn required_enum<T>(
        &mut self,
        field: &str,
        value: i32,
        from_proto: impl FnOnce(i32) -> Option<T>,
    ) -> Option<T> {
        let parsed = from_proto(value);
        if parsed.is_none() {
            self.add(
                field,
                if value == 0 {
                    "is required"
                } else {
                    "is not a known value"
                },
            );
        }
        parsed
    }

    /// An optional API enum value: 0 means unset.
    pub fn opt_enum<T>(
        &mut self,
        field: &str,
        value: i32,
        from_proto: impl FnOnce(i32) -> Option<T>,
    ) -> Option<T> {
        if value == 0 {
            return None;
        }
        let parsed = from_proto(value);
        if parsed.is_none() {
            self.add(field, "is not a known value");
        }
        parsed
    }

    /// A required timestamp that is a valid instant.
    pub fn timestamp(
        &mut self,
        field: &str,
        value: Option<&prost_types::Timestamp>,
    ) -> Option<DateTime<Utc>> {
        let Some(value) = value else {
            self.add(field, "is required");
            return None;
        };
        let parsed = u32::try_from(value.nanos)
            .ok()
            .and_then(|nanos| DateTime::from_timestamp(value.seconds, nanos));
        if parsed.is_none() {
            self.add(field, "is not a valid timestamp");
        }
        parsed
    }

    /// A person named in a request (an invitee, an attendee, a recipient):
    /// id (a UUID) and name required;
    /// with `agency_required`, their agency too.
    pub fn person(
        &mut self,
        field: &str,
        person: Option<&common::PersonRef>,
        agency_required: bool,
    ) -> Option<common::PersonRef> {
        let Some(person) = person else {
            self.add(field, "is required");
            return None;
        };
        // Person ids are cpc's: the identity provider's for professionals, the
        // cases record's for family members and children.
        let person_id = self
            .id(&format!("{field}.person_id"), &person.person_id)
            .map(|id| id.to_string())
            .unwrap_or_default();
        Some(self.named(field, person, person_id, agency_required))
    }

    /// The caller as the author of what they write: `person_id` empty (the
    /// caller, whoever they are) or the caller's own `caller_id`; name and
    /// agency as [`Check::person`] has them.
    pub fn author(
        &mut self,
        field: &str,
        person: Option<&common::PersonRef>,
        caller_id: &str,
    ) -> Option<common::PersonRef> {
        let Some(person) = person else {
            self.add(field, "is required");
            return None;
        };
        if !person.person_id.is_empty() && person.person_id != caller_id {
            self.add(
                format!("{field}.person_id"),
                "must be empty or the caller's own: the caller is the author",
            );
        }
        Some(self.named(field, person, caller_id.to_owned(), false))
    }

    fn named(
        &mut self,
        field: &str,
        person: &common::PersonRef,
        person_id: String,
        agency_required: bool,
    ) -> common::PersonRef {
        let display_name = self.text(
            &format!("{field}.display_name"),
            &person.display_name,
            1,
            200,
        );
        let agency_kind = self.opt_enum(&format!("{field}.agency_kind"), person.agency_kind, |k| {
            common::AgencyKind::try_from(k).ok()
        });
        let agency_name = self.opt_text(&format!("{field}.agency_name"), &person.agency_name, 200);
        if agency_required && agency_kind.is_none() {
            self.add(
                format!("{field}.agency_kind"),
                "is required for a professional",
            );
        }
        if agency_kind.is_some() != agency_name.is_some() {
            self.add(
                format!("{field}.agency_name"),
                "is required with agency_kind, and only with it",
            );
        }
        common::PersonRef {
            person_id,
            display_name,
            agency_kind: person.agency_kind,
            agency_name: agency_name.unwrap_or_default(),
        }
    }

    /// A version read by the caller (optimistic concurrency): at least 1.
    pub fn version(&mut self, field: &str, version: i64) -> i64 {
        if version < 1 {
            self.add(field, "is required: send the version you read");
        }
        version
    }
}

/// The required id `text` at `field`, a request's only field to check.
///
/// # Errors
/// `INVALID_ARGUMENT` naming `field`.
pub fn required_id(field: &str, text: &str) -> Result<Uuid, ApiError> {
    let mut check = Check::new();
    check.id(field, text).ok_or_else(|| check.fail())
}

/// A record's id at `field` and the version the caller read (`version`):
/// what a state change of one record names.
///
/// # Errors
/// `INVALID_ARGUMENT` naming each bad field.
pub fn id_and_version(field: &str, text: &str, version: i64) -> Result<(Uuid, i64), ApiError> {
    let mut check = Check::new();
    let id = check.id(field, text);
    let version = check.version("version", version);
    check.finish()?;
    Ok((id.unwrap_or_default(), version))
}

/// Combines a request key's check with a parsed body's result so that both
/// sets of violations are reported together.
pub fn merge<T>(
    mut check: Check,
    key: Option<RequestKey>,
    body: Result<T, ApiError>,
) -> Result<(RequestKey, T), ApiError> {
    let body = match body {
        Ok(body) => Some(body),
        Err(ApiError::InvalidArgument(violations)) => {
            for v in violations.violations() {
                check.add(v.field.clone(), v.description.clone());
            }
            None
        }
        Err(other) => return Err(other),
    };
    match (key, body) {
        (Some(key), Some(body)) if check.is_clean() => Ok((key, body)),
        _ => Err(check.fail()),
    }
}

/// The paths of an update mask, each one of `allowed`. Empty masks are
/// refused: this API updates exactly the fields it is told to.
pub fn update_mask(
    check: &mut Check,
    mask: Option<&prost_types::FieldMask>,
    allowed: &[&'static str],
) -> Vec<&'static str> {
    let paths = mask.map(|m| m.paths.as_slice()).unwrap_or_default();
    if paths.is_empty() {
        check.add("update_mask", "must name at least one field to update");
        return Vec::new();
    }
    let mut fields = Vec::with_capacity(paths.len());
    for (i, path) in paths.iter().enumerate() {
        match allowed.iter().find(|a| **a == path.as_str()) {
            Some(field) if !fields.contains(field) => fields.push(*field),
            Some(_) => check.add(format!("update_mask.paths[{i}]"), "appears more than once"),
            None => check.add(
                format!("update_mask.paths[{i}]"),
                format!(
                    "is not an updatable field; expected one of {}",
                    allowed.join(", ")
                ),
            ),
        }
    }
    fields
}

fn parse_uuid(text: &str) -> Result<Uuid, &'static str> {
    // Only the hyphenated 36-character form the API documents.
    if text.len() != 36 {
        return Err("must be a UUID in 8-4-4-4-12 hex form");
    }
    Uuid::parse_str(text).map_err(|_| "must be a UUID in 8-4-4-4-12 hex form")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bad_field_is_named_without_its_value() {
        let mut check = Check::new();
        assert_eq!(check.id("a.id", ""), None);
        assert_eq!(check.id("a.other_id", "not-a-uuid"), None);
        assert_eq!(check.text("a.name", "  ", 1, 10), "");
        assert_eq!(check.text("a.long", "abcdef", 1, 3), "abcdef");
        assert_eq!(check.opt_text("a.opt", "", 3), None);
        let bad_date = common::Date {
            year: 2023,
            month: 2,
            day: 30,
        };
        assert_eq!(check.date("a.date", Some(&bad_date)), None);
        let err = check.finish().unwrap_err();
        let ApiError::InvalidArgument(v) = err else {
            panic!("{err}")
        };
        let fields: Vec<_> = v
            .violations()
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("a.id", "is required"),
                ("a.other_id", "must be a UUID in 8-4-4-4-12 hex form"),
                ("a.name", "is required"),
                ("a.long", "must be 1-3 characters"),
                (
                    "a.date",
                    "must be a calendar date with year 1900-9999, month 1-12 and a day of that month"
                ),
            ]
        );
    }

    #[test]
    fn a_nul_character_is_refused_in_any_text() {
        // Postgres stores none in text or JSON; the write would fail
        // INTERNAL (found by the hostile-message property test).
        let mut check = Check::new();
        check.text("a.id", "\0", 1, 100);
        check.opt_text("a.note", "x\0y", 100);
        check.texts("a.goals", &["fine".to_owned(), "\0".to_owned()], 10);
        check.text("a.clean", "tab\tand\nnewline", 1, 100);
        let err = check.finish().unwrap_err();
        let ApiError::InvalidArgument(v) = err else {
            panic!("{err}")
        };
        let fields: Vec<_> = v
            .violations()
            .iter()
            .map(|v| (v.field.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("a.id", "must not contain a NUL character"),
                ("a.note", "must not contain a NUL character"),
                ("a.goals[1]", "must not contain a NUL character"),
            ]
        );
    }
}
