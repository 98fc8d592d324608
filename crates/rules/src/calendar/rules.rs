//! Bank holidays computed by rule, for the years gov.uk has not published.
//!
//! DOMAIN.md: "later years must be computed by rule (Easter computus,
//! first/last Mondays, substitute days) and one-offs added when announced".
//! The same rules also fill 2000–2011, before the published file starts, with
//! the one-offs of those years added from [`HISTORICAL_ONE_OFFS`].

use std::borrow::Cow;

use chrono::{Datelike, NaiveDate, Weekday};

use super::{BankHoliday, Nation};

const NEW_YEARS_DAY: &str = "New Year’s Day";
const SECOND_JANUARY: &str = "2nd January";
const ST_PATRICKS_DAY: &str = "St Patrick’s Day";
const GOOD_FRIDAY: &str = "Good Friday";
const EASTER_MONDAY: &str = "Easter Monday";
const EARLY_MAY: &str = "Early May bank holiday";
const SPRING: &str = "Spring bank holiday";
const BATTLE_OF_THE_BOYNE: &str = "Battle of the Boyne (Orangemen’s Day)";
const SUMMER: &str = "Summer bank holiday";
const ST_ANDREWS_DAY: &str = "St Andrew’s Day";
const CHRISTMAS_DAY: &str = "Christmas Day";
const BOXING_DAY: &str = "Boxing Day";

/// St Andrew's Day has been a Scottish bank holiday since the St Andrew's Day
/// Bank Holiday (Scotland) Act 2007; before that year it was not one.
const FIRST_ST_ANDREWS_BANK_HOLIDAY: i32 = 2007;

/// A one-off change announced for a year before the published gov.uk data.
struct OneOff {
    /// The holiday it falls on.
    date: (i32, u32, u32),
    /// The usual holiday it replaces (moved), if any.
    replaces: Option<(i32, u32, u32)>,
    title: &'static str,
}

/// UK-wide one-offs of 2000–2011 (the published file starts in 2012).
///
/// - 2002: the spring bank holiday moved from Mon 27 May to Mon 3 June and
///   Tue 4 June was added for the Queen's Golden Jubilee.
/// - 2011: Fri 29 April for the royal wedding.
///
/// The Millennium holiday (1999-12-31) is before the supported range; 2000's
/// New Year was an ordinary Saturday-to-Monday substitute (3 January, and
/// 4 January in Scotland) which the rules produce.
const HISTORICAL_ONE_OFFS: &[OneOff] = &[
    OneOff {
        date: (2002, 6, 3),
        replaces: Some((2002, 5, 27)),
        title: SPRING,
    },
    OneOff {
        date: (2002, 6, 4),
        replaces: None,
        title: "Queen’s Golden Jubilee",
    },
    OneOff {
        date: (2011, 4, 29),
        replaces: None,
        title: "Royal wedding",
    },
];

/// Easter Sunday in the Gregorian calendar (anonymous Gregorian computus,
/// Meeus/Jones/Butcher). `None` only for years before 1 AD.
pub(super) fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn holiday(date: NaiveDate, title: &'static str) -> BankHoliday {
    BankHoliday {
        date,
        title: Cow::Borrowed(title),
    }
}

fn last_monday(year: i32, month: u32) -> Option<NaiveDate> {
    (1..=5)
        .rev()
        .find_map(|n| NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, n))
}

/// The regular bank holidays of `nation` in `year`, with substitute days,
/// sorted by date. No one-offs: compare with [`with_historical_one_offs`].
///
/// Substitutes: a fixed-date holiday on a weekend moves to the next weekday
/// that is not already a holiday, taking fixed holidays in date order. That
/// one rule gives every published case: Christmas on Saturday → Mon 27 and
/// Boxing Day Tue 28; Christmas on Sunday → Boxing Day Mon 26 and Christmas
/// Tue 27; Scotland's 1 January on Sunday → 2 January Mon 2 and New Year
/// Tue 3; St Andrew's, St Patrick's and the Boyne on a weekend → Monday.
pub(super) fn regular_holidays(nation: Nation, year: i32) -> Option<Vec<BankHoliday>> {
    let easter = easter_sunday(year)?;
    let mut holidays = vec![
        holiday(easter.pred_opt()?.pred_opt()?, GOOD_FRIDAY),
        holiday(
            NaiveDate::from_weekday_of_month_opt(year, 5, Weekday::Mon, 1)?,
            EARLY_MAY,
        ),
        holiday(last_monday(year, 5)?, SPRING),
    ];
    if nation == Nation::Scotland {
        holidays.push(holiday(
            NaiveDate::from_weekday_of_month_opt(year, 8, Weekday::Mon, 1)?,
            SUMMER,
        ));
    } else {
        holidays.push(holiday(easter.succ_opt()?, EASTER_MONDAY));
        holidays.push(holiday(last_monday(year, 8)?, SUMMER));
    }

    let mut fixed: Vec<(u32, u32, &'static str)> = vec![(1, 1, NEW_YEARS_DAY)];
    match nation {
        Nation::EnglandAndWales => {}
        Nation::Scotland => {
            fixed.push((1, 2, SECOND_JANUARY));
            if year >= FIRST_ST_ANDREWS_BANK_HOLIDAY {
                fixed.push((11, 30, ST_ANDREWS_DAY));
            }
        }
        Nation::NorthernIreland => {
            fixed.push((3, 17, ST_PATRICKS_DAY));
            fixed.push((7, 12, BATTLE_OF_THE_BOYNE));
        }
    }
    fixed.push((12, 25, CHRISTMAS_DAY));
    fixed.push((12, 26, BOXING_DAY));

    let mut on_weekend = Vec::new();
    for (month, day, title) in fixed {
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        if is_weekend(date) {
            on_weekend.push((date, title));
        } else {
            holidays.push(holiday(date, title));
        }
    }
    for (date, title) in on_weekend {
        let mut substitute = date;
        while is_weekend(substitute) || holidays.iter().any(|h| h.date == substitute) {
            substitute = substitute.succ_opt()?;
        }
        holidays.push(holiday(substitute, title));
    }
    holidays.sort_by_key(|h| h.date);
    Some(holidays)
}

/// [`regular_holidays`] plus the announced one-offs of 2000–2011, for years
/// the published data does not cover.
pub(super) fn with_historical_one_offs(nation: Nation, year: i32) -> Option<Vec<BankHoliday>> {
    let mut holidays = regular_holidays(nation, year)?;
    for one_off in HISTORICAL_ONE_OFFS.iter().filter(|o| o.date.0 == year) {
        if let Some((y, m, d)) = one_off.replaces {
            let replaced = NaiveDate::from_ymd_opt(y, m, d)?;
            holidays.retain(|h| h.date != replaced);
        }
        let (y, m, d) = one_off.date;
        holidays.push(holiday(NaiveDate::from_ymd_opt(y, m, d)?, one_off.title));
    }
    holidays.sort_by_key(|h| h.date);
    Some(holidays)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::calendar::govuk;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn easter_sunday_matches_known_dates() {
        for (year, month, day) in [
            (2000, 4, 23),
            (2002, 3, 31),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2038, 4, 25),
            (2049, 4, 18),
            (2100, 3, 28),
        ] {
            assert_eq!(easter_sunday(year), Some(date(year, month, day)), "{year}");
        }
    }

    /// The announced one-offs inside the published years, by nation-independent
    /// date: (year, dates only in the data, dates only in the rules).
    /// - 2012: spring holiday moved 28 May → 4 June, Diamond Jubilee 5 June;
    /// - 2020: early May moved 4 May → 8 May (VE day);
    /// - 2022: spring moved 30 May → 2 June, Platinum Jubilee 3 June,
    ///   State Funeral of Queen Elizabeth II 19 September;
    /// - 2023: coronation of King Charles III 8 May.
    fn announced_one_offs(year: i32) -> (Vec<NaiveDate>, Vec<NaiveDate>) {
        match year {
            2012 => (
                vec![date(2012, 6, 4), date(2012, 6, 5)],
                vec![date(2012, 5, 28)],
            ),
            2020 => (vec![date(2020, 5, 8)], vec![date(2020, 5, 4)]),
            2022 => (
                vec![date(2022, 6, 2), date(2022, 6, 3), date(2022, 9, 19)],
                vec![date(2022, 5, 30)],
            ),
            2023 => (vec![date(2023, 5, 8)], vec![]),
            _ => (vec![], vec![]),
        }
    }

    #[test]
    fn rules_reproduce_the_published_data_except_the_announced_one_offs() {
        for nation in Nation::ALL {
            let published = govuk::published(nation).unwrap();
            for year in 2012..=2028 {
                let data: Vec<&BankHoliday> =
                    published.iter().filter(|h| h.date.year() == year).collect();
                let rules = regular_holidays(nation, year).unwrap();
                let data_dates: BTreeSet<NaiveDate> = data.iter().map(|h| h.date).collect();
                let rule_dates: BTreeSet<NaiveDate> = rules.iter().map(|h| h.date).collect();
                let only_data: Vec<_> = data_dates.difference(&rule_dates).copied().collect();
                let only_rules: Vec<_> = rule_dates.difference(&data_dates).copied().collect();
                assert_eq!(
                    (only_data, only_rules),
                    announced_one_offs(year),
                    "{nation} {year}"
                );
                // Titles agree too, except that gov.uk itself is inconsistent
                // about which of Scotland's 2 and 3 January 2023 is the
                // substitute (2012 and 2017 name them the other way round).
                for rule in &rules {
                    if let Some(published) = data.iter().find(|h| h.date == rule.date)
                        && !(nation == Nation::Scotland && year == 2023 && rule.date.month() == 1)
                    {
                        assert_eq!(published.title, rule.title, "{nation} {}", rule.date);
                    }
                }
            }
        }
    }

    #[test]
    fn historical_one_offs_move_and_add_the_right_days() {
        for nation in Nation::ALL {
            let y2002 = with_historical_one_offs(nation, 2002).unwrap();
            let find = |d| y2002.iter().find(|h| h.date == d).map(|h| h.title.as_ref());
            assert_eq!(find(date(2002, 5, 27)), None);
            assert_eq!(find(date(2002, 6, 3)), Some(SPRING));
            assert_eq!(find(date(2002, 6, 4)), Some("Queen’s Golden Jubilee"));
            let y2011 = with_historical_one_offs(nation, 2011).unwrap();
            assert!(y2011.iter().any(|h| h.date == date(2011, 4, 29)));
            assert_eq!(
                with_historical_one_offs(nation, 2013),
                regular_holidays(nation, 2013)
            );
        }
    }

    #[test]
    fn st_andrews_day_is_a_holiday_only_from_2007() {
        let has = |year| {
            regular_holidays(Nation::Scotland, year)
                .unwrap()
                .iter()
                .any(|h| h.title == ST_ANDREWS_DAY)
        };
        assert!(!has(2006));
        assert!(has(2007));
    }
}
