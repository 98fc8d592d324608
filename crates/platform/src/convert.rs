//! Conversions between the API's dates, timestamps and ids and Rust's.

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use cpc_proto::common::v1 as common;
use uuid::Uuid;

/// Why an API `Date` is not a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDate;

impl std::fmt::Display for InvalidDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "must be a calendar date with year 1900-9999, month 1-12 and a day of that month",
        )
    }
}

/// The date an API `Date` names: `Ok(None)` when unset (absent or all
/// zero), an error when set but not a real date in 1900–9999.
///
/// # Errors
/// [`InvalidDate`] for an impossible date.
pub fn date_from_proto(date: Option<&common::Date>) -> Result<Option<NaiveDate>, InvalidDate> {
    let Some(date) = date else { return Ok(None) };
    if date.year == 0 && date.month == 0 && date.day == 0 {
        return Ok(None);
    }
    if !(1900..=9999).contains(&date.year) {
        return Err(InvalidDate);
    }
    let (Ok(month), Ok(day)) = (u32::try_from(date.month), u32::try_from(date.day)) else {
        return Err(InvalidDate);
    };
    NaiveDate::from_ymd_opt(date.year, month, day)
        .map(Some)
        .ok_or(InvalidDate)
}

/// The API `Date` of a date.
#[must_use]
pub fn date_to_proto(date: NaiveDate) -> common::Date {
    common::Date {
        year: date.year(),
        month: i32::try_from(date.month()).unwrap_or_default(),
        day: i32::try_from(date.day()).unwrap_or_default(),
    }
}

/// The API `Date` of an optional date (unset stays unset).
#[must_use]
pub fn opt_date_to_proto(date: Option<NaiveDate>) -> Option<common::Date> {
    date.map(date_to_proto)
}

/// The API `Timestamp` of an instant.
#[must_use]
pub fn timestamp_to_proto(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

/// The ids a page of a list returned, as the API writes them (UUID text),
/// for the list's audit record (`Permit::add_children`). A malformed one,
/// which the services never write, is skipped rather than failing a page
/// already read.
pub fn listed_ids<'a>(texts: impl IntoIterator<Item = &'a String>) -> Vec<Uuid> {
    texts
        .into_iter()
        .filter_map(|text| Uuid::parse_str(text).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(year: i32, month: i32, day: i32) -> common::Date {
        common::Date { year, month, day }
    }

    #[test]
    fn dates_convert_both_ways_and_refuse_impossible_ones() {
        let date = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(date_from_proto(Some(&date_to_proto(date))), Ok(Some(date)));
        assert_eq!(date_from_proto(None), Ok(None));
        assert_eq!(date_from_proto(Some(&d(0, 0, 0))), Ok(None));
        for bad in [
            d(2023, 2, 29),
            d(1899, 12, 31),
            d(2024, 13, 1),
            d(2024, 0, 1),
            d(2024, 1, -1),
        ] {
            assert_eq!(date_from_proto(Some(&bad)), Err(InvalidDate), "{bad:?}");
        }
    }
}
