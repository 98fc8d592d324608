//! Working-day calendars: which days count when a deadline is "N working
//! days after" an event.
//!
//! DOMAIN.md: "*N working days after D* is the Nth working day strictly after
//! D. Working days are Monday to Friday less the bank holidays of the
//! authority's nation; substitute days and one-off holidays count."
//!
//! Each nation's calendar is a table over every date of 2000-01-01..=2100-12-31,
//! built once on first use: the bank holidays (published gov.uk data for the
//! years it covers, rules elsewhere), a prefix count of working days and the
//! list of working days. Every query is then O(1) (a title lookup is a binary
//! search over ~900 holidays).

mod govuk;
mod nation;
mod rules;

use std::borrow::Cow;
use std::fmt;
use std::ops::RangeInclusive;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, Weekday};

pub use self::nation::Nation;
use crate::error::RulesError;

/// First date the calendars know. Earlier bank holidays are not needed: no
/// open case has a statutory deadline before 2000.
pub const FIRST_SUPPORTED_DATE: NaiveDate = ymd(2000, 1, 1);
/// Last date the calendars know. Holidays after the published years are
/// computed by rule; 2100 is far beyond any plan open today.
pub const LAST_SUPPORTED_DATE: NaiveDate = ymd(2100, 12, 31);

/// `FIRST_SUPPORTED_DATE.num_days_from_ce()`, as a literal because that method
/// is not `const` (a test checks the value).
const FIRST_DAY_FROM_CE: i32 = 730_120;
/// Days in 2000-01-01..=2100-12-31: 101 years of 365 days plus 25 leap days
/// (2000 is a leap year, 2100 is not). Fits in `u16`, and so does the number
/// of working days, which keeps each table under 80 KB.
const DAYS: u16 = 36_890;

/// Builds a date in a `const` context.
const fn ymd(year: i32, month: u32, day: u32) -> NaiveDate {
    match NaiveDate::from_ymd_opt(year, month, day) {
        Some(date) => date,
        // Only reached by a wrong literal above, and then at compile time:
        // const evaluation turns this into a build error, never a runtime panic.
        #[allow(clippy::panic, reason = "evaluated at compile time only")]
        None => panic!("invalid date literal"),
    }
}

/// One-off bank holidays announced after the shipped copy of gov.uk's
/// `bank-holidays.json` was taken, added on top of it (DOMAIN.md: "one-offs
/// added when announced"). When the data file is refreshed and includes one,
/// it is simply found twice and counted once.
///
/// - Scotland, Mon 15 June 2026: appointed by Royal Proclamation of
///   3 February 2026 for Scotland's first match at the FIFA World Cup; listed
///   in the live gov.uk feed and in the `holidays` package our oracle uses.
const ANNOUNCED_AFTER_DATA: &[(Nation, NaiveDate, &str)] = &[(
    Nation::Scotland,
    ymd(2026, 6, 15),
    "Scotland’s participation in the FIFA World Cup",
)];

/// A bank holiday: its date and the title gov.uk gives it (e.g. "Boxing Day"
/// on the substitute Tuesday 28 December 2021), for display in schedules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankHoliday {
    date: NaiveDate,
    title: Cow<'static, str>,
}

impl BankHoliday {
    /// The day off (the substitute day if the holiday fell on a weekend).
    #[must_use]
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The gov.uk title, e.g. "Christmas Day".
    #[must_use]
    pub fn title(&self) -> &str {
        &self.title
    }
}

/// The working days of one nation over 2000-01-01..=2100-12-31.
///
/// Obtain one with [`WorkingDayCalendar::for_nation`]; the tables are built
/// once per process and shared.
pub struct WorkingDayCalendar {
    nation: Nation,
    published_years: RangeInclusive<i32>,
    /// Sorted by date.
    holidays: Vec<BankHoliday>,
    /// `working_before[i]` = working days among the first `i` supported dates;
    /// length `DAYS + 1`. Day `i` is a working day iff the count rises after it.
    working_before: Vec<u16>,
    /// Day indices of the working days in order, so "the k-th working day" is
    /// one lookup.
    working_days: Vec<u16>,
}

/// Summarises instead of printing ~75,000 table entries.
impl fmt::Debug for WorkingDayCalendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkingDayCalendar")
            .field("nation", &self.nation)
            .field("published_years", &self.published_years)
            .field("holidays", &self.holidays.len())
            .field("working_days", &self.working_days.len())
            .finish()
    }
}

static ENGLAND_AND_WALES: LazyLock<WorkingDayCalendar> =
    LazyLock::new(|| WorkingDayCalendar::build_or_panic(Nation::EnglandAndWales));
static SCOTLAND: LazyLock<WorkingDayCalendar> =
    LazyLock::new(|| WorkingDayCalendar::build_or_panic(Nation::Scotland));
static NORTHERN_IRELAND: LazyLock<WorkingDayCalendar> =
    LazyLock::new(|| WorkingDayCalendar::build_or_panic(Nation::NorthernIreland));

impl WorkingDayCalendar {
    /// The shared calendar of `nation`, built on first use (about 0.6 ms in a
    /// release build) and kept for the life of the process.
    #[must_use]
    pub fn for_nation(nation: Nation) -> &'static Self {
        match nation {
            Nation::EnglandAndWales => &ENGLAND_AND_WALES,
            Nation::Scotland => &SCOTLAND,
            Nation::NorthernIreland => &NORTHERN_IRELAND,
        }
    }

    #[allow(
        clippy::expect_used,
        reason = "the inputs are the embedded file and fixed rules; \
                  tests::every_nation_builds_from_the_embedded_data proves they build, so this cannot fail at run time"
    )]
    fn build_or_panic(nation: Nation) -> Self {
        Self::build(nation).expect("embedded bank holiday data and rules build a calendar")
    }

    /// Builds the tables: published holidays for the published years, rules
    /// (with the 2000–2011 one-offs) for every other year.
    fn build(nation: Nation) -> Result<Self, RulesError> {
        let published = govuk::published(nation)?;
        let first = published.iter().map(|h| h.date.year()).min();
        let last = published.iter().map(|h| h.date.year()).max();
        let (Some(first), Some(last)) = (first, last) else {
            return Err(RulesError::CalendarUnavailable {
                reason: format!("bank-holidays.json has no events for {nation}"),
            });
        };
        let published_years = first..=last;

        let mut holidays: Vec<BankHoliday> = published
            .into_iter()
            .filter(|h| is_supported(h.date))
            .collect();
        for year in FIRST_SUPPORTED_DATE.year()..=LAST_SUPPORTED_DATE.year() {
            if published_years.contains(&year) {
                continue;
            }
            let by_rule = rules::with_historical_one_offs(nation, year).ok_or_else(|| {
                RulesError::CalendarUnavailable {
                    reason: format!("the {nation} holidays of {year} cannot be computed"),
                }
            })?;
            holidays.extend(by_rule);
        }
        for &(_, date, title) in ANNOUNCED_AFTER_DATA.iter().filter(|(n, ..)| *n == nation) {
            if !holidays.iter().any(|h| h.date == date) {
                holidays.push(BankHoliday {
                    date,
                    title: Cow::Borrowed(title),
                });
            }
        }
        holidays.sort_by_key(|h| h.date);

        let mut working_before = Vec::with_capacity(usize::from(DAYS) + 1);
        let mut working_days = Vec::new();
        let mut count: u16 = 0;
        working_before.push(count);
        for (index, date) in (0..DAYS).zip(FIRST_SUPPORTED_DATE.iter_days()) {
            let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
            let holiday = holidays.binary_search_by_key(&date, |h| h.date).is_ok();
            if !weekend && !holiday {
                working_days.push(index);
                count += 1;
            }
            working_before.push(count);
        }

        Ok(Self {
            nation,
            published_years,
            holidays,
            working_before,
            working_days,
        })
    }

    /// The nation this calendar is for.
    #[must_use]
    pub fn nation(&self) -> Nation {
        self.nation
    }

    /// The years taken from the published gov.uk data (2012–2028 in the
    /// shipped file); all other years are computed by rule.
    #[must_use]
    pub fn published_years(&self) -> RangeInclusive<i32> {
        self.published_years.clone()
    }

    /// The bank holidays falling in `year`, in date order (empty outside
    /// 2000–2100).
    #[must_use]
    pub fn holidays_in_year(&self, year: i32) -> &[BankHoliday] {
        let start = self.holidays.partition_point(|h| h.date.year() < year);
        let end = self.holidays.partition_point(|h| h.date.year() <= year);
        &self.holidays[start..end]
    }

    /// Index of `date` in the tables, or `OutOfRange` if it is not supported.
    fn index(date: NaiveDate) -> Result<usize, RulesError> {
        usize::try_from(date.num_days_from_ce() - FIRST_DAY_FROM_CE)
            .ok()
            .filter(|&index| index < usize::from(DAYS))
            .ok_or_else(|| RulesError::given(date))
    }

    /// The date of the `ordinal`-th working day (0-based), if it is supported.
    fn working_day(&self, ordinal: usize, from: NaiveDate) -> Result<NaiveDate, RulesError> {
        self.working_days
            .get(ordinal)
            .and_then(|&index| {
                NaiveDate::from_num_days_from_ce_opt(FIRST_DAY_FROM_CE + i32::from(index))
            })
            .ok_or_else(|| RulesError::computed_from(from))
    }

    /// Working days strictly before day `index` (index < DAYS).
    fn before(&self, index: usize) -> usize {
        usize::from(self.working_before[index])
    }

    /// Working days on or before day `index` (index < DAYS).
    fn up_to(&self, index: usize) -> usize {
        usize::from(self.working_before[index + 1])
    }

    /// Whether `date` is a working day: a weekday that is not a bank holiday
    /// of this nation.
    ///
    /// # Errors
    /// `OutOfRange` if `date` is outside 2000–2100, where holidays are unknown.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, RulesError> {
        let index = Self::index(date)?;
        Ok(self.up_to(index) > self.before(index))
    }

    /// The title of the bank holiday on `date`, if it is one (substitute days
    /// carry the title of the holiday they replace).
    ///
    /// Returns a `Result`, not a bare `Option`, so that "not a holiday" is
    /// never confused with "unknown year".
    ///
    /// # Errors
    /// `OutOfRange` if `date` is outside 2000–2100.
    pub fn is_bank_holiday(&self, date: NaiveDate) -> Result<Option<&str>, RulesError> {
        Self::index(date)?;
        Ok(self
            .holidays
            .binary_search_by_key(&date, |h| h.date)
            .ok()
            .map(|found| self.holidays[found].title()))
    }

    /// The `n`-th working day strictly after `date` (DOMAIN.md: "N working
    /// days after D"); `date` itself need not be a working day.
    ///
    /// `n = 0` returns `date` unchanged: the smallest `e >= date` with
    /// `working_days_between(date, e) == n`, which for `n >= 1` is exactly the
    /// statutory definition. Statutory callers always pass `n >= 1`
    /// ([`AuthorityProfile::validate`](crate::profile::AuthorityProfile::validate)
    /// refuses zero).
    ///
    /// # Errors
    /// `OutOfRange` if `date` or the result is outside 2000–2100.
    pub fn add_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, RulesError> {
        let index = Self::index(date)?;
        if n == 0 {
            return Ok(date);
        }
        let n = usize::try_from(n).map_err(|_| RulesError::computed_from(date))?;
        self.working_day(self.up_to(index) + n - 1, date)
    }

    /// The `n`-th working day strictly before `date` (e.g. reports shared
    /// "2 working days before" a conference). `n = 0` returns `date`, as for
    /// [`add_working_days`](Self::add_working_days).
    ///
    /// # Errors
    /// `OutOfRange` if `date` or the result is outside 2000–2100.
    pub fn sub_working_days(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, RulesError> {
        let index = Self::index(date)?;
        if n == 0 {
            return Ok(date);
        }
        let n = usize::try_from(n).map_err(|_| RulesError::computed_from(date))?;
        let ordinal = self
            .before(index)
            .checked_sub(n)
            .ok_or_else(|| RulesError::computed_from(date))?;
        self.working_day(ordinal, date)
    }

    /// Working days in `(from, to]`: after `from`, up to and including `to`.
    /// This is how DfE counts ICPC timeliness from `S47ActualStartDate` to
    /// `DateOfInitialCPC` (DOMAIN.md), and the inverse of
    /// [`add_working_days`](Self::add_working_days). Negative when `to` is
    /// before `from` (minus the working days in `(to, from]`).
    ///
    /// # Errors
    /// `OutOfRange` if either date is outside 2000–2100.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i32, RulesError> {
        let from = i32::from(self.working_before[Self::index(from)? + 1]);
        let to = i32::from(self.working_before[Self::index(to)? + 1]);
        Ok(to - from)
    }

    /// `date` if it is a working day, else the last working day before it:
    /// the day by which a calendar-month deadline falling on a weekend or
    /// holiday must in practice be met.
    ///
    /// # Errors
    /// `OutOfRange` if `date` or the result is outside 2000–2100.
    pub fn last_working_day_on_or_before(&self, date: NaiveDate) -> Result<NaiveDate, RulesError> {
        if self.is_working_day(date)? {
            Ok(date)
        } else {
            self.sub_working_days(date, 1)
        }
    }

    /// `date` if it is a working day, else the first working day after it
    /// (e.g. the earliest day a meeting can be booked).
    ///
    /// # Errors
    /// `OutOfRange` if `date` or the result is outside 2000–2100.
    pub fn next_working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, RulesError> {
        if self.is_working_day(date)? {
            Ok(date)
        } else {
            self.add_working_days(date, 1)
        }
    }
}

/// Whether `date` is inside 2000-01-01..=2100-12-31.
pub(crate) fn is_supported(date: NaiveDate) -> bool {
    (FIRST_SUPPORTED_DATE..=LAST_SUPPORTED_DATE).contains(&date)
}

/// `OutOfRange` unless `date` is supported, for modules that do calendar
/// arithmetic without the tables.
pub(crate) fn check_supported(date: NaiveDate) -> Result<(), RulesError> {
    if is_supported(date) {
        Ok(())
    } else {
        Err(RulesError::given(date))
    }
}

#[cfg(test)]
mod tests;
