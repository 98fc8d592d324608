//! Calendar-month arithmetic for review deadlines.
//!
//! DOMAIN.md: "*N months after D* is the same day N months later, clamped to
//! the month's last day (31 Aug + 3 months = 30 Nov; 31 Aug + 6 months =
//! 28/29 Feb)". Used for the first review (3 months after the ICPC), later
//! reviews (6 months) and plan-duration reviews.

use chrono::{Months, NaiveDate};

use crate::calendar::{check_supported, is_supported};
use crate::error::RulesError;

/// The same day `months` calendar months after `date`, clamped to the last
/// day of the target month.
///
/// # Errors
/// `OutOfRange` if `date` or the result is outside 2000-01-01..=2100-12-31,
/// the range in which the working-day calendars can then place it.
pub fn add_months_clamped(date: NaiveDate, months: u32) -> Result<NaiveDate, RulesError> {
    check_supported(date)?;
    // chrono clamps to the month's last day, which is exactly the rule.
    date.checked_add_months(Months::new(months))
        .filter(|&result| is_supported(result))
        .ok_or_else(|| RulesError::computed_from(date))
}

/// The same day `months` calendar months before `date`, clamped to the last
/// day of the target month (e.g. a pre-birth ICPC "3 months before the due
/// date").
///
/// # Errors
/// `OutOfRange` if `date` or the result is outside 2000-01-01..=2100-12-31.
pub fn sub_months_clamped(date: NaiveDate, months: u32) -> Result<NaiveDate, RulesError> {
    check_supported(date)?;
    date.checked_sub_months(Months::new(months))
        .filter(|&result| is_supported(result))
        .ok_or_else(|| RulesError::computed_from(date))
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;
    use proptest::prelude::*;

    use super::*;
    use crate::error::RangeSubject;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn month_ends_clamp() {
        assert_eq!(
            add_months_clamped(date(2024, 1, 31), 1),
            Ok(date(2024, 2, 29))
        );
        assert_eq!(
            add_months_clamped(date(2023, 1, 31), 1),
            Ok(date(2023, 2, 28))
        );
        assert_eq!(
            add_months_clamped(date(2023, 8, 31), 6),
            Ok(date(2024, 2, 29))
        );
        assert_eq!(
            add_months_clamped(date(2022, 8, 31), 6),
            Ok(date(2023, 2, 28))
        );
        assert_eq!(
            add_months_clamped(date(2022, 8, 31), 3),
            Ok(date(2022, 11, 30))
        );
        assert_eq!(
            add_months_clamped(date(2022, 5, 31), 1),
            Ok(date(2022, 6, 30))
        );
        assert_eq!(
            add_months_clamped(date(2022, 8, 15), 3),
            Ok(date(2022, 11, 15))
        );
        assert_eq!(
            add_months_clamped(date(2022, 11, 30), 3),
            Ok(date(2023, 2, 28))
        );
        assert_eq!(
            add_months_clamped(date(2022, 3, 31), 0),
            Ok(date(2022, 3, 31))
        );
        assert_eq!(
            sub_months_clamped(date(2023, 5, 31), 3),
            Ok(date(2023, 2, 28))
        );
        assert_eq!(
            sub_months_clamped(date(2024, 5, 31), 3),
            Ok(date(2024, 2, 29))
        );
    }

    #[test]
    fn leap_years_2000_is_and_2100_is_not() {
        assert_eq!(
            add_months_clamped(date(2000, 1, 31), 1),
            Ok(date(2000, 2, 29))
        );
        assert_eq!(
            add_months_clamped(date(2100, 1, 31), 1),
            Ok(date(2100, 2, 28))
        );
        assert_eq!(
            add_months_clamped(date(2099, 8, 31), 6),
            Ok(date(2100, 2, 28))
        );
        assert_eq!(
            add_months_clamped(date(2096, 2, 29), 12),
            Ok(date(2097, 2, 28))
        );
    }

    #[test]
    fn leaving_the_supported_range_is_an_exact_error() {
        assert_eq!(
            add_months_clamped(date(2100, 12, 1), 1),
            Err(RulesError::OutOfRange {
                subject: RangeSubject::ComputedFrom(date(2100, 12, 1))
            })
        );
        assert_eq!(
            sub_months_clamped(date(2000, 1, 31), 1),
            Err(RulesError::OutOfRange {
                subject: RangeSubject::ComputedFrom(date(2000, 1, 31))
            })
        );
        let err = add_months_clamped(date(1999, 12, 31), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "date 1999-12-31 is outside the supported calendar 2000-01-01..=2100-12-31"
        );
    }

    fn supported_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..36_890).prop_map(|offset| {
            date(2000, 1, 1)
                .checked_add_days(chrono::Days::new(offset))
                .unwrap()
        })
    }

    proptest! {
        #[test]
        fn adding_months_keeps_the_day_unless_clamped_and_lands_in_the_right_month(
            start in supported_date(),
            months in 0u32..=120,
        ) {
            if let Ok(result) = add_months_clamped(start, months) {
                let month_index = |d: NaiveDate| d.year() * 12 + i32::try_from(d.month0()).unwrap();
                prop_assert_eq!(month_index(result) - month_index(start), i32::try_from(months).unwrap());
                let next_month = result.checked_add_months(Months::new(1)).unwrap();
                let last_day = next_month.with_day(1).unwrap().pred_opt().unwrap().day();
                prop_assert_eq!(result.day(), start.day().min(last_day));
            } else {
                prop_assert!(start.year() * 12 + i32::try_from(start.month0()).unwrap()
                    + i32::try_from(months).unwrap() > 2100 * 12 + 11);
            }
        }
    }
}
