use chrono::Days;
use proptest::prelude::*;

use super::*;
use crate::error::RangeSubject;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ew() -> &'static WorkingDayCalendar {
    WorkingDayCalendar::for_nation(Nation::EnglandAndWales)
}

fn scotland() -> &'static WorkingDayCalendar {
    WorkingDayCalendar::for_nation(Nation::Scotland)
}

fn ni() -> &'static WorkingDayCalendar {
    WorkingDayCalendar::for_nation(Nation::NorthernIreland)
}

/// Asserts each date is a bank holiday with that title (and so not a working
/// day), or, with `None`, a weekday that is an ordinary working day.
fn check(calendar: &WorkingDayCalendar, cases: &[(NaiveDate, Option<&str>)]) {
    for &(day, title) in cases {
        assert_eq!(
            calendar.is_bank_holiday(day),
            Ok(title),
            "{} {day}",
            calendar.nation()
        );
        assert_eq!(
            calendar.is_working_day(day),
            Ok(title.is_none()),
            "{} {day}",
            calendar.nation()
        );
    }
}

#[test]
fn table_constants_match_chrono() {
    assert_eq!(FIRST_SUPPORTED_DATE.num_days_from_ce(), FIRST_DAY_FROM_CE);
    assert_eq!(
        (LAST_SUPPORTED_DATE - FIRST_SUPPORTED_DATE).num_days() + 1,
        i64::from(DAYS)
    );
}

#[test]
fn every_nation_builds_from_the_embedded_data() {
    for nation in Nation::ALL {
        let calendar = WorkingDayCalendar::build(nation).unwrap();
        assert_eq!(calendar.nation(), nation);
        assert_eq!(calendar.published_years(), 2012..=2028);
        assert_eq!(calendar.working_before.len(), usize::from(DAYS) + 1);
        assert_eq!(
            format!("{calendar:?}"),
            format!(
                "WorkingDayCalendar {{ nation: {nation:?}, published_years: 2012..=2028, holidays: {}, working_days: {} }}",
                calendar.holidays.len(),
                calendar.working_days.len()
            )
        );
        assert!(std::ptr::eq(
            WorkingDayCalendar::for_nation(nation),
            WorkingDayCalendar::for_nation(nation)
        ));
    }
}

#[test]
fn leap_years_2000_is_and_2100_is_not() {
    // 29 Feb 2000 was a Tuesday and a working day; 2100 has no 29 February.
    assert_eq!(ew().is_working_day(date(2000, 2, 29)), Ok(true));
    assert_eq!(NaiveDate::from_ymd_opt(2100, 2, 29), None);
    assert_eq!(
        ew().add_working_days(date(2100, 2, 26), 1),
        Ok(date(2100, 3, 1))
    );
    assert_eq!(
        ew().add_working_days(date(2000, 2, 28), 1),
        Ok(date(2000, 2, 29))
    );
}

#[test]
fn christmas_and_boxing_day_substitutes() {
    check(
        ew(),
        &[
            // Christmas on Saturday, Boxing Day on Sunday: Mon 27 + Tue 28.
            (date(2004, 12, 27), Some("Christmas Day")),
            (date(2004, 12, 28), Some("Boxing Day")),
            (date(2010, 12, 27), Some("Christmas Day")),
            (date(2010, 12, 28), Some("Boxing Day")),
            (date(2021, 12, 27), Some("Christmas Day")),
            (date(2021, 12, 28), Some("Boxing Day")),
            (date(2027, 12, 27), Some("Christmas Day")),
            (date(2027, 12, 28), Some("Boxing Day")),
            (date(2032, 12, 27), Some("Christmas Day")),
            (date(2032, 12, 28), Some("Boxing Day")),
            // Christmas on Sunday: Boxing Day Mon 26, Christmas substitute Tue 27.
            (date(2005, 12, 26), Some("Boxing Day")),
            (date(2005, 12, 27), Some("Christmas Day")),
            (date(2016, 12, 26), Some("Boxing Day")),
            (date(2016, 12, 27), Some("Christmas Day")),
            (date(2022, 12, 27), Some("Christmas Day")),
            (date(2033, 12, 26), Some("Boxing Day")),
            (date(2033, 12, 27), Some("Christmas Day")),
            // Boxing Day on Saturday: substitute Mon 28.
            (date(2015, 12, 28), Some("Boxing Day")),
            (date(2020, 12, 28), Some("Boxing Day")),
            (date(2026, 12, 28), Some("Boxing Day")),
            (date(2037, 12, 28), Some("Boxing Day")),
            // The days after the substitutes are ordinary.
            (date(2010, 12, 29), None),
            (date(2016, 12, 28), None),
            (date(2015, 12, 29), None),
        ],
    );
    // The weekend days themselves are not listed: the holiday moved.
    assert_eq!(ew().is_bank_holiday(date(2021, 12, 25)), Ok(None));
    assert_eq!(ew().is_working_day(date(2021, 12, 25)), Ok(false));
}

#[test]
fn new_year_substitutes() {
    check(
        ew(),
        &[
            // New Year's Day on Saturday: Monday 3rd.
            (date(2000, 1, 3), Some("New Year’s Day")),
            (date(2005, 1, 3), Some("New Year’s Day")),
            (date(2011, 1, 3), Some("New Year’s Day")),
            (date(2022, 1, 3), Some("New Year’s Day")),
            (date(2033, 1, 3), Some("New Year’s Day")),
            // On Sunday: Monday 2nd.
            (date(2006, 1, 2), Some("New Year’s Day")),
            (date(2012, 1, 2), Some("New Year’s Day")),
            (date(2017, 1, 2), Some("New Year’s Day")),
            (date(2023, 1, 2), Some("New Year’s Day")),
            (date(2028, 1, 3), Some("New Year’s Day")),
            (date(2034, 1, 2), Some("New Year’s Day")),
            (date(2022, 1, 4), None),
            (date(2034, 1, 3), None),
        ],
    );
}

#[test]
fn one_off_holidays_and_moved_holidays() {
    check(
        ew(),
        &[
            // 2002 Golden Jubilee: spring holiday moved from 27 May.
            (date(2002, 5, 27), None),
            (date(2002, 6, 3), Some("Spring bank holiday")),
            (date(2002, 6, 4), Some("Queen’s Golden Jubilee")),
            (date(2011, 4, 29), Some("Royal wedding")),
            (date(2012, 5, 28), None),
            (date(2012, 6, 4), Some("Spring bank holiday")),
            (date(2012, 6, 5), Some("Queen’s Diamond Jubilee")),
            // VE day: early May moved from Monday 4 May to Friday 8 May.
            (date(2020, 5, 4), None),
            (date(2020, 5, 8), Some("Early May bank holiday (VE day)")),
            // Platinum Jubilee: spring holiday moved from Monday 30 May.
            (date(2022, 5, 30), None),
            (date(2022, 6, 2), Some("Spring bank holiday")),
            (date(2022, 6, 3), Some("Platinum Jubilee bank holiday")),
            (
                date(2022, 9, 19),
                Some("Bank Holiday for the State Funeral of Queen Elizabeth II"),
            ),
            (
                date(2023, 5, 8),
                Some("Bank holiday for the coronation of King Charles III"),
            ),
            (date(2023, 5, 1), Some("Early May bank holiday")),
            (date(2023, 5, 29), Some("Spring bank holiday")),
        ],
    );
    for nation in Nation::ALL {
        let calendar = WorkingDayCalendar::for_nation(nation);
        for one_off in [
            date(2002, 6, 4),
            date(2011, 4, 29),
            date(2020, 5, 8),
            date(2022, 6, 3),
            date(2022, 9, 19),
            date(2023, 5, 8),
        ] {
            assert_eq!(
                calendar.is_working_day(one_off),
                Ok(false),
                "{nation} {one_off}"
            );
        }
    }
}

#[test]
fn easter_around_weekends_and_month_ends() {
    check(
        ew(),
        &[
            (date(2000, 4, 21), Some("Good Friday")),
            (date(2000, 4, 24), Some("Easter Monday")),
            (date(2008, 3, 21), Some("Good Friday")),
            (date(2008, 3, 24), Some("Easter Monday")),
            (date(2013, 3, 29), Some("Good Friday")),
            (date(2013, 4, 1), Some("Easter Monday")),
            (date(2024, 3, 29), Some("Good Friday")),
            (date(2024, 4, 1), Some("Easter Monday")),
            (date(2038, 4, 23), Some("Good Friday")),
            (date(2038, 4, 26), Some("Easter Monday")),
            (date(2100, 3, 26), Some("Good Friday")),
            (date(2100, 3, 29), Some("Easter Monday")),
            (date(2038, 5, 3), Some("Early May bank holiday")),
            (date(2038, 5, 31), Some("Spring bank holiday")),
            (date(2038, 8, 30), Some("Summer bank holiday")),
        ],
    );
    // 2011: Easter Monday 25 April and the royal wedding on Friday 29 April
    // leave three working days that week.
    assert_eq!(
        ew().working_days_between(date(2011, 4, 24), date(2011, 4, 29)),
        Ok(3)
    );
}

#[test]
fn scotland_second_january_st_andrews_day_and_its_own_holidays() {
    check(
        scotland(),
        &[
            // 1 Jan Friday, 2 Jan Saturday → Monday 4th.
            (date(2010, 1, 4), Some("2nd January")),
            (date(2016, 1, 4), Some("2nd January")),
            (date(2021, 1, 4), Some("2nd January")),
            (date(2038, 1, 4), Some("2nd January")),
            // 1 Jan Saturday, 2 Jan Sunday → Monday 3rd and Tuesday 4th.
            (date(2000, 1, 3), Some("New Year’s Day")),
            (date(2000, 1, 4), Some("2nd January")),
            (date(2011, 1, 3), Some("New Year’s Day")),
            (date(2011, 1, 4), Some("2nd January")),
            (date(2022, 1, 3), Some("New Year’s Day")),
            (date(2022, 1, 4), Some("2nd January")),
            (date(2033, 1, 3), Some("New Year’s Day")),
            (date(2033, 1, 4), Some("2nd January")),
            // 1 Jan Sunday → 2nd January on Monday, New Year substitute Tuesday.
            (date(2012, 1, 2), Some("2nd January")),
            (date(2012, 1, 3), Some("New Year’s Day")),
            (date(2034, 1, 2), Some("2nd January")),
            (date(2034, 1, 3), Some("New Year’s Day")),
            // St Andrew's Day (from 2007), substitute Monday.
            (date(2006, 11, 30), None),
            (date(2007, 11, 30), Some("St Andrew’s Day")),
            (date(2008, 12, 1), Some("St Andrew’s Day")),
            (date(2013, 12, 2), Some("St Andrew’s Day")),
            (date(2014, 12, 1), Some("St Andrew’s Day")),
            (date(2024, 12, 2), Some("St Andrew’s Day")),
            (date(2025, 12, 1), Some("St Andrew’s Day")),
            (date(2030, 12, 2), Some("St Andrew’s Day")),
            (date(2031, 12, 1), Some("St Andrew’s Day")),
            // No Easter Monday; summer holiday on the first Monday of August.
            (date(2024, 4, 1), None),
            (date(2038, 4, 26), None),
            (date(2024, 8, 5), Some("Summer bank holiday")),
            (date(2024, 8, 26), None),
            (date(2038, 8, 2), Some("Summer bank holiday")),
            (date(2038, 8, 30), None),
        ],
    );
}

#[test]
fn one_offs_announced_after_the_shipped_data_count() {
    check(
        scotland(),
        &[(
            date(2026, 6, 15),
            Some("Scotland’s participation in the FIFA World Cup"),
        )],
    );
    check(ew(), &[(date(2026, 6, 15), None)]);
    check(ni(), &[(date(2026, 6, 15), None)]);
    // From Fri 22 May 2026 (spring holiday Mon 25 May everywhere) the 15th
    // working day is Mon 15 June, except in Scotland, where that is a holiday.
    assert_eq!(
        scotland().add_working_days(date(2026, 5, 22), 15),
        Ok(date(2026, 6, 16))
    );
    assert_eq!(
        ew().add_working_days(date(2026, 5, 22), 15),
        Ok(date(2026, 6, 15))
    );
}

#[test]
fn northern_ireland_st_patricks_day_and_the_boyne() {
    check(
        ni(),
        &[
            (date(2002, 3, 18), Some("St Patrick’s Day")),
            (date(2007, 3, 19), Some("St Patrick’s Day")),
            (date(2008, 3, 17), Some("St Patrick’s Day")),
            (date(2012, 3, 19), Some("St Patrick’s Day")),
            (date(2013, 3, 18), Some("St Patrick’s Day")),
            (date(2024, 3, 18), Some("St Patrick’s Day")),
            (date(2029, 3, 19), Some("St Patrick’s Day")),
            (date(2030, 3, 18), Some("St Patrick’s Day")),
            (
                date(2008, 7, 14),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (
                date(2009, 7, 13),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (
                date(2014, 7, 14),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (
                date(2015, 7, 13),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (
                date(2026, 7, 13),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (
                date(2031, 7, 14),
                Some("Battle of the Boyne (Orangemen’s Day)"),
            ),
            (date(2038, 4, 26), Some("Easter Monday")),
            (date(2038, 8, 30), Some("Summer bank holiday")),
        ],
    );
    assert_eq!(ew().is_working_day(date(2024, 3, 18)), Ok(true));
}

#[test]
fn every_year_has_the_regular_holidays_plus_one_offs_and_none_at_weekends() {
    // Exhaustive over the whole range rather than sampled.
    for nation in Nation::ALL {
        let calendar = WorkingDayCalendar::for_nation(nation);
        for year in 2000..=2100 {
            let holidays = calendar.holidays_in_year(year);
            let regular = match nation {
                Nation::EnglandAndWales => 8,
                Nation::Scotland if year < 2007 => 8,
                Nation::Scotland => 9,
                Nation::NorthernIreland => 10,
            };
            // Extra days: 2002 and 2012 jubilees, 2011 royal wedding,
            // 2022 jubilee and state funeral, 2023 coronation. 2020's VE day
            // moved a holiday, so that year has the regular number. 2026 adds
            // Scotland's World Cup day, announced after the shipped data.
            let extra = match (nation, year) {
                (_, 2002 | 2011 | 2012 | 2023) | (Nation::Scotland, 2026) => 1,
                (_, 2022) => 2,
                _ => 0,
            };
            assert_eq!(holidays.len(), regular + extra, "{nation} {year}");
            for holiday in holidays {
                assert_eq!(holiday.date().year(), year);
                assert!(
                    !matches!(holiday.date().weekday(), Weekday::Sat | Weekday::Sun),
                    "{nation} {} {} is at a weekend",
                    holiday.date(),
                    holiday.title()
                );
            }
        }
    }
}

fn given<T>(day: NaiveDate) -> Result<T, RulesError> {
    Err(RulesError::OutOfRange {
        subject: RangeSubject::Given(day),
    })
}

fn computed<T>(day: NaiveDate) -> Result<T, RulesError> {
    Err(RulesError::OutOfRange {
        subject: RangeSubject::ComputedFrom(day),
    })
}

#[test]
fn queries_outside_the_supported_range_are_exact_errors() {
    assert_eq!(
        ew().is_working_day(date(1999, 12, 31)),
        given(date(1999, 12, 31))
    );
    assert_eq!(
        ew().is_bank_holiday(date(2101, 1, 1)),
        given(date(2101, 1, 1))
    );
    assert_eq!(
        ew().add_working_days(date(2101, 1, 1), 0),
        given(date(2101, 1, 1))
    );
    assert_eq!(
        ew().working_days_between(date(2000, 1, 1), date(2101, 1, 3)),
        given(date(2101, 1, 3))
    );
    // 2100-12-31 is a Friday, the last working day known.
    assert_eq!(
        ew().add_working_days(date(2100, 12, 30), 1),
        Ok(date(2100, 12, 31))
    );
    assert_eq!(
        ew().add_working_days(date(2100, 12, 30), 2),
        computed(date(2100, 12, 30))
    );
    assert_eq!(
        ew().next_working_day_on_or_after(date(2100, 12, 31)),
        Ok(date(2100, 12, 31))
    );
    // 2000 starts with a weekend and the New Year substitute on the 3rd.
    assert_eq!(
        ew().sub_working_days(date(2000, 1, 4), 1),
        computed(date(2000, 1, 4))
    );
    assert_eq!(
        ew().last_working_day_on_or_before(date(2000, 1, 3)),
        computed(date(2000, 1, 3))
    );
    assert_eq!(
        ew().sub_working_days(date(2000, 1, 5), 1),
        Ok(date(2000, 1, 4))
    );
    assert_eq!(
        ew().add_working_days(date(2100, 12, 30), 2)
            .unwrap_err()
            .to_string(),
        "the date computed from 2100-12-30 is outside the supported calendar 2000-01-01..=2100-12-31"
    );
    assert_eq!(
        ew().add_working_days(date(2000, 1, 1), u32::MAX),
        computed(date(2000, 1, 1))
    );
    assert_eq!(
        ew().sub_working_days(date(2100, 1, 1), u32::MAX),
        computed(date(2100, 1, 1))
    );
}

#[test]
fn working_day_arithmetic_examples() {
    let cal = ew();
    // n = 0 is the date itself, even a non-working one.
    assert_eq!(
        cal.add_working_days(date(2022, 6, 4), 0),
        Ok(date(2022, 6, 4))
    );
    assert_eq!(
        cal.sub_working_days(date(2022, 6, 4), 0),
        Ok(date(2022, 6, 4))
    );
    // Strictly after: from Friday, the first working day is Monday.
    assert_eq!(
        cal.add_working_days(date(2024, 5, 3), 1),
        Ok(date(2024, 5, 7))
    );
    assert_eq!(
        cal.sub_working_days(date(2022, 6, 6), 2),
        Ok(date(2022, 5, 31))
    );
    assert_eq!(
        cal.sub_working_days(date(2023, 1, 4), 2),
        Ok(date(2022, 12, 30))
    );
    assert_eq!(
        cal.sub_working_days(date(2023, 5, 9), 5),
        Ok(date(2023, 4, 28))
    );
    assert_eq!(
        cal.working_days_between(date(2024, 1, 1), date(2024, 12, 31)),
        Ok(254)
    );
    assert_eq!(
        cal.working_days_between(date(2023, 12, 31), date(2024, 12, 31)),
        Ok(254)
    );
    assert_eq!(
        cal.working_days_between(date(2024, 12, 31), date(2024, 1, 1)),
        Ok(-254)
    );
    assert_eq!(
        cal.working_days_between(date(2022, 6, 1), date(2022, 6, 6)),
        Ok(1)
    );
    assert_eq!(
        cal.last_working_day_on_or_before(date(2022, 6, 5)),
        Ok(date(2022, 6, 1))
    );
    assert_eq!(
        cal.next_working_day_on_or_after(date(2022, 6, 2)),
        Ok(date(2022, 6, 6))
    );
    assert_eq!(
        cal.next_working_day_on_or_after(date(2022, 6, 6)),
        Ok(date(2022, 6, 6))
    );
}

fn supported_date() -> impl Strategy<Value = NaiveDate> {
    (0..u64::from(DAYS)).prop_map(|offset| {
        FIRST_SUPPORTED_DATE
            .checked_add_days(Days::new(offset))
            .unwrap()
    })
}

fn nation() -> impl Strategy<Value = Nation> {
    proptest::sample::select(Nation::ALL.to_vec())
}

/// A slow, obviously right reference: step day by day.
fn naive_add(calendar: &WorkingDayCalendar, mut day: NaiveDate, mut n: u32) -> Option<NaiveDate> {
    while n > 0 {
        day = day.succ_opt()?;
        if calendar.is_working_day(day).ok()? {
            n -= 1;
        }
    }
    Some(day)
}

proptest! {
    #[test]
    fn add_lands_on_a_working_day_n_working_days_later(
        nation in nation(), start in supported_date(), n in 1u32..400,
    ) {
        let cal = WorkingDayCalendar::for_nation(nation);
        match cal.add_working_days(start, n) {
            Ok(result) => {
                prop_assert!(result > start);
                prop_assert_eq!(cal.is_working_day(result), Ok(true));
                prop_assert_eq!(cal.working_days_between(start, result), Ok(i32::try_from(n).unwrap()));
                prop_assert_eq!(Some(result), naive_add(cal, start, n));
            }
            Err(error) => {
                prop_assert_eq!(error, RulesError::computed_from(start));
                prop_assert!(start.year() >= 2099);
            }
        }
    }

    #[test]
    fn sub_undoes_add(nation in nation(), start in supported_date(), n in 1u32..400) {
        let cal = WorkingDayCalendar::for_nation(nation);
        if let Ok(later) = cal.add_working_days(start, n) {
            // Back n working days from `later` is the last working day on or
            // before `start`, which is `start` itself when it is a working day.
            let back = cal.sub_working_days(later, n);
            if cal.is_working_day(start) == Ok(true) {
                prop_assert_eq!(back, Ok(start));
            } else if let Ok(back) = back {
                prop_assert_eq!(Ok(back), cal.last_working_day_on_or_before(start));
            }
        }
        if let Ok(earlier) = cal.sub_working_days(start, n) {
            prop_assert!(earlier < start);
            prop_assert_eq!(cal.is_working_day(earlier), Ok(true));
            prop_assert_eq!(cal.add_working_days(earlier, n), cal.next_working_day_on_or_after(start));
        }
    }

    #[test]
    fn between_is_additive_and_antisymmetric(
        nation in nation(), a in supported_date(), b in supported_date(), c in supported_date(),
    ) {
        let cal = WorkingDayCalendar::for_nation(nation);
        let ab = cal.working_days_between(a, b).unwrap();
        let bc = cal.working_days_between(b, c).unwrap();
        prop_assert_eq!(cal.working_days_between(a, c).unwrap(), ab + bc);
        prop_assert_eq!(cal.working_days_between(b, a).unwrap(), -ab);
    }
}
