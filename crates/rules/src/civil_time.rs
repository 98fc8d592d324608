//! The date in the United Kingdom at an instant.
//!
//! Statutory days are counted in UK civil time, not UTC: a strategy
//! discussion recorded at 00:30 BST on 1 April happened on 1 April, although
//! it is still 31 March in UTC. All four nations keep the same clock, so one
//! rule serves. It is the Summer Time Order 2002 (and the EU directive it
//! follows): British Summer Time, UTC+1, runs from 01:00 UTC on the last
//! Sunday of March to 01:00 UTC on the last Sunday of October; GMT (UTC+0)
//! the rest of the year. Computed, not looked up, so it needs no time-zone
//! database.

use chrono::{DateTime, Datelike as _, Duration, NaiveDate, NaiveDateTime, Utc};

/// The UK civil date at `instant`.
#[must_use]
pub fn uk_date(instant: DateTime<Utc>) -> NaiveDate {
    uk_local(instant).date()
}

/// The UK civil date and time at `instant` (what a clock in the room
/// shows): working patterns and meeting times are local.
#[must_use]
pub fn uk_local(instant: DateTime<Utc>) -> NaiveDateTime {
    let offset = if is_summer_time(instant) {
        Duration::hours(1)
    } else {
        Duration::zero()
    };
    (instant + offset).naive_utc()
}

/// Whether British Summer Time is in force at `instant`.
#[must_use]
pub fn is_summer_time(instant: DateTime<Utc>) -> bool {
    let year = instant.year();
    let starts = last_sunday(year, 3).and_hms_opt(1, 0, 0);
    let ends = last_sunday(year, 10).and_hms_opt(1, 0, 0);
    match (starts, ends) {
        (Some(starts), Some(ends)) => {
            let at = instant.naive_utc();
            at >= starts && at < ends
        }
        _ => false,
    }
}

/// The last Sunday of `month` (March and October both have 31 days).
fn last_sunday(year: i32, month: u32) -> NaiveDate {
    let last = NaiveDate::from_ymd_opt(year, month, 31).unwrap_or(NaiveDate::MIN);
    let back = last.weekday().num_days_from_sunday();
    last - Duration::days(i64::from(back))
}

/// Kept beside the rule so a reader sees the boundary cases in one place.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone as _, Weekday};
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .single()
            .expect("instant")
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn clocks_change_at_one_in_the_morning_utc_on_the_last_sundays() {
        // 2026: BST from Sunday 29 March to Sunday 25 October.
        assert!(!is_summer_time(at(2026, 3, 29, 0, 59)));
        assert!(is_summer_time(at(2026, 3, 29, 1, 0)));
        assert!(is_summer_time(at(2026, 10, 25, 0, 59)));
        assert!(!is_summer_time(at(2026, 10, 25, 1, 0)));
        // 2024 (leap year): 31 March and 27 October.
        assert!(is_summer_time(at(2024, 3, 31, 1, 0)));
        assert!(!is_summer_time(at(2024, 10, 27, 1, 0)));
    }

    #[test]
    fn local_time_is_utc_in_winter_and_an_hour_ahead_in_summer() {
        assert_eq!(
            uk_local(at(2026, 1, 15, 9, 30)),
            date(2026, 1, 15).and_hms_opt(9, 30, 0).unwrap()
        );
        assert_eq!(
            uk_local(at(2026, 7, 15, 9, 30)),
            date(2026, 7, 15).and_hms_opt(10, 30, 0).unwrap()
        );
    }

    #[test]
    fn the_uk_date_runs_an_hour_ahead_of_utc_in_summer() {
        assert_eq!(uk_date(at(2026, 3, 31, 23, 30)), date(2026, 4, 1));
        assert_eq!(uk_date(at(2026, 12, 31, 23, 30)), date(2026, 12, 31));
        assert_eq!(uk_date(at(2026, 6, 30, 23, 0)), date(2026, 7, 1));
        assert_eq!(uk_date(at(2026, 6, 30, 22, 59)), date(2026, 6, 30));
    }

    proptest! {
        #[test]
        fn the_uk_date_is_the_utc_date_or_the_next(secs in 946_684_800_i64..4_102_444_800_i64) {
            let instant = DateTime::<Utc>::from_timestamp(secs, 0).expect("in range");
            let utc = instant.date_naive();
            let uk = uk_date(instant);
            prop_assert!(uk == utc || uk == utc.succ_opt().expect("next day"));
            // Only in summer, and only in the last hour of the UTC day.
            if uk != utc {
                prop_assert!(is_summer_time(instant));
                prop_assert_eq!(instant.time().format("%H").to_string(), "23");
            }
        }

        #[test]
        fn summer_time_starts_and_ends_on_sundays(year in 1997_i32..2100) {
            for month in [3, 10] {
                let sunday = last_sunday(year, month);
                prop_assert_eq!(sunday.weekday(), Weekday::Sun);
                prop_assert!(sunday.day() >= 25);
            }
        }
    }
}
