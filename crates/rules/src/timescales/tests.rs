use super::*;
use chrono::Datelike;

use crate::calendar::Nation;
use crate::error::{ProfileViolation, RangeSubject};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn default_timescales() -> Timescales {
    Timescales::new(&AuthorityProfile::default()).unwrap()
}

fn deadline(due: NaiveDate, latest_working_day: NaiveDate) -> CalendarDeadline {
    CalendarDeadline {
        due,
        latest_working_day,
    }
}

#[test]
fn an_invalid_profile_cannot_build_timescales() {
    let profile = AuthorityProfile {
        icpc_working_days: 20,
        ..AuthorityProfile::default()
    };
    assert_eq!(
        Timescales::new(&profile).unwrap_err(),
        RulesError::InvalidProfile {
            violations: vec![ProfileViolation {
                field: "icpc_working_days",
                problem: "20 exceeds the national maximum of 15".to_owned(),
            }]
        }
    );
}

#[test]
fn icpc_due_counts_through_bank_holidays() {
    let t = default_timescales();
    // Friday before the Platinum Jubilee: 2 and 3 June 2022 do not count.
    assert_eq!(t.icpc_due(date(2022, 5, 27)), Ok(date(2022, 6, 21)));
    // Across the State Funeral (19 Sep 2022).
    assert_eq!(t.icpc_due(date(2022, 9, 9)), Ok(date(2022, 10, 3)));
    // Across Christmas substitutes 27/28 Dec 2021 and New Year 3 Jan 2022.
    assert_eq!(t.icpc_due(date(2021, 12, 17)), Ok(date(2022, 1, 12)));
    // Across 1 May, the coronation (8 May) of 2023.
    assert_eq!(t.icpc_due(date(2023, 4, 28)), Ok(date(2023, 5, 23)));
    // Across VE day (8 May 2020); 4 May 2020 was a working day.
    assert_eq!(t.icpc_due(date(2020, 4, 24)), Ok(date(2020, 5, 18)));
    // A strategy discussion on a Saturday: counting starts on Monday.
    assert_eq!(t.icpc_due(date(2022, 6, 4)), Ok(date(2022, 6, 24)));
    // Across 2027's Christmas substitutes and 3 Jan 2028 (published data).
    assert_eq!(t.icpc_due(date(2027, 12, 20)), Ok(date(2028, 1, 13)));
    // The same pattern in a year computed by rule (25 Dec 2032 is a Saturday).
    assert_eq!(t.icpc_due(date(2032, 12, 17)), Ok(date(2033, 1, 12)));
}

#[test]
fn a_stricter_authority_and_another_nation_change_the_answer() {
    let stricter = Timescales::new(&AuthorityProfile {
        icpc_working_days: 10,
        ..AuthorityProfile::default()
    })
    .unwrap();
    assert_eq!(stricter.icpc_due(date(2022, 5, 27)), Ok(date(2022, 6, 14)));
    // Scotland has no Easter Monday: 15 working days from Maundy Thursday 2024.
    let scotland = Timescales::new(&AuthorityProfile {
        nation: Nation::Scotland,
        ..AuthorityProfile::default()
    })
    .unwrap();
    assert_eq!(
        default_timescales().icpc_due(date(2024, 3, 28)),
        Ok(date(2024, 4, 22))
    );
    assert_eq!(scotland.icpc_due(date(2024, 3, 28)), Ok(date(2024, 4, 19)));
}

#[test]
fn transfer_in_and_first_core_group() {
    let t = default_timescales();
    assert_eq!(
        t.transfer_in_conference_due(date(2022, 5, 27)),
        Ok(date(2022, 6, 21))
    );
    assert_eq!(
        t.first_core_group_due(date(2022, 5, 27)),
        Ok(date(2022, 6, 14))
    );
    assert_eq!(
        t.first_core_group_due(date(2021, 12, 17)),
        Ok(date(2022, 1, 5))
    );
}

#[test]
fn reviews_are_calendar_months_with_the_latest_working_day() {
    let t = default_timescales();
    // 31 Aug + 3 months = 30 Nov (a Wednesday in 2022).
    assert_eq!(
        t.first_review_due(date(2022, 8, 31)),
        Ok(deadline(date(2022, 11, 30), date(2022, 11, 30)))
    );
    // 31 Aug 2023 + 6 months = 29 Feb 2024 (Thursday).
    assert_eq!(
        t.next_review_due(date(2023, 8, 31)),
        Ok(deadline(date(2024, 2, 29), date(2024, 2, 29)))
    );
    // 31 Aug 2022 + 6 months = 28 Feb 2023.
    assert_eq!(
        t.next_review_due(date(2022, 8, 31)),
        Ok(deadline(date(2023, 2, 28), date(2023, 2, 28)))
    );
    // 29 Sep 2022 + 3 months = Thu 29 Dec 2022, a working day.
    assert_eq!(
        t.first_review_due(date(2022, 9, 29)),
        Ok(deadline(date(2022, 12, 29), date(2022, 12, 29)))
    );
    // 27 Sep 2021 + 3 months = Mon 27 Dec 2021, a substitute holiday; the
    // weekend and Friday 24th before it: latest working day Fri 24 Dec.
    assert_eq!(
        t.first_review_due(date(2021, 9, 27)),
        Ok(deadline(date(2021, 12, 27), date(2021, 12, 24)))
    );
    // 3 Dec 2022 + 6 months = Sat 3 June 2023 → Fri 2 June.
    assert_eq!(
        t.next_review_due(date(2022, 12, 3)),
        Ok(deadline(date(2023, 6, 3), date(2023, 6, 2)))
    );
}

#[test]
fn reports_are_due_working_days_strictly_before_the_conference() {
    let t = default_timescales();
    // ICPC Monday 6 June 2022: 2 working days before skips the jubilee.
    assert_eq!(
        t.reports_due(date(2022, 6, 6), ConferenceKind::Initial),
        Ok(date(2022, 5, 31))
    );
    assert_eq!(
        t.reports_due(date(2022, 6, 6), ConferenceKind::PreBirth),
        Ok(date(2022, 5, 31))
    );
    assert_eq!(
        t.reports_due(date(2022, 6, 6), ConferenceKind::TransferIn),
        Ok(date(2022, 5, 31))
    );
    assert_eq!(
        t.reports_due(date(2023, 1, 4), ConferenceKind::Review),
        Ok(date(2022, 12, 30))
    );
    let leeds_style = Timescales::new(&AuthorityProfile {
        reports_before_icpc_working_days: 3,
        reports_before_rcpc_working_days: 5,
        ..AuthorityProfile::default()
    })
    .unwrap();
    assert_eq!(
        leeds_style.reports_due(date(2023, 5, 9), ConferenceKind::Review),
        Ok(date(2023, 4, 28))
    );
    assert_eq!(
        leeds_style.reports_due(date(2022, 6, 6), ConferenceKind::Initial),
        Ok(date(2022, 5, 30))
    );
}

#[test]
fn pre_birth_icpc_by_gestation_or_months_before() {
    let t = default_timescales();
    // EDD Fri 30 Aug 2024; 28 weeks gestation = 12 weeks earlier, Fri 7 June.
    assert_eq!(
        t.pre_birth_icpc_due(date(2024, 8, 30)),
        Ok(deadline(date(2024, 6, 7), date(2024, 6, 7)))
    );
    // EDD Mon 5 Sep 2022 - 12 weeks = Mon 13 Jun 2022.
    assert_eq!(
        t.pre_birth_icpc_due(date(2022, 9, 5)),
        Ok(deadline(date(2022, 6, 13), date(2022, 6, 13)))
    );
    // EDD Sun 25 Aug 2024 → Sun 2 Jun → Fri 31 May.
    assert_eq!(
        t.pre_birth_icpc_due(date(2024, 8, 25)),
        Ok(deadline(date(2024, 6, 2), date(2024, 5, 31)))
    );
    let sefton = Timescales::new(&AuthorityProfile {
        pre_birth_icpc: PreBirthDeadline::WeeksGestation(34),
        ..AuthorityProfile::default()
    })
    .unwrap();
    assert_eq!(
        sefton.pre_birth_icpc_due(date(2024, 8, 30)),
        Ok(deadline(date(2024, 7, 19), date(2024, 7, 19)))
    );
    let months = Timescales::new(&AuthorityProfile {
        pre_birth_icpc: PreBirthDeadline::MonthsBeforeDueDate(3),
        ..AuthorityProfile::default()
    })
    .unwrap();
    // 31 May 2024 - 3 months = 29 Feb 2024 (clamped).
    assert_eq!(
        months.pre_birth_icpc_due(date(2024, 5, 31)),
        Ok(deadline(date(2024, 2, 29), date(2024, 2, 29)))
    );
    // EDD early in 2000: the deadline would be before the supported range.
    assert_eq!(
        t.pre_birth_icpc_due(date(2000, 2, 1)),
        Err(RulesError::OutOfRange {
            subject: RangeSubject::ComputedFrom(date(2000, 2, 1))
        })
    );
    assert_eq!(
        t.pre_birth_icpc_due(date(2101, 2, 1)),
        Err(RulesError::OutOfRange {
            subject: RangeSubject::Given(date(2101, 2, 1))
        })
    );
}

#[test]
fn review_after_birth_core_groups_and_reconvening() {
    let t = default_timescales();
    assert_eq!(
        t.review_after_birth_due(date(2022, 5, 27)),
        Ok(date(2022, 6, 14))
    );
    // Core group 6 weeks later: Tue 19 Jul 2022 + 42 days = Tue 30 Aug.
    assert_eq!(
        t.next_core_group_due(date(2022, 7, 19)),
        Ok(deadline(date(2022, 8, 30), date(2022, 8, 30)))
    );
    // Mon 18 Jul 2022 + 6 weeks = Mon 29 Aug, the summer bank holiday → Fri 26.
    assert_eq!(
        t.next_core_group_due(date(2022, 7, 18)),
        Ok(deadline(date(2022, 8, 29), date(2022, 8, 26)))
    );
    assert_eq!(t.reconvene_due(date(2022, 9, 9)), Ok(date(2022, 9, 26)));
    assert_eq!(
        t.next_core_group_due(date(2100, 12, 1)),
        Err(RulesError::OutOfRange {
            subject: RangeSubject::ComputedFrom(date(2100, 12, 1))
        })
    );
}

#[test]
fn plan_duration_reviews_at_12_15_18_21_months() {
    let t = default_timescales();
    assert_eq!(
        t.plan_duration_reviews(date(2022, 5, 31)),
        Ok(vec![
            // Wed 31 May 2023.
            deadline(date(2023, 5, 31), date(2023, 5, 31)),
            // 31 Aug 2023 (Thu).
            deadline(date(2023, 8, 31), date(2023, 8, 31)),
            // 30 Nov 2023 (clamped, Thu).
            deadline(date(2023, 11, 30), date(2023, 11, 30)),
            // 29 Feb 2024 (clamped, leap year, Thu).
            deadline(date(2024, 2, 29), date(2024, 2, 29)),
        ])
    );
    let none = Timescales::new(&AuthorityProfile {
        plan_duration_review_months: vec![],
        ..AuthorityProfile::default()
    })
    .unwrap();
    assert_eq!(none.plan_duration_reviews(date(2022, 5, 31)), Ok(vec![]));
}

#[test]
fn icpc_timeliness_is_working_days_after_the_s47_start() {
    let t = default_timescales();
    assert_eq!(
        t.icpc_timeliness_working_days(date(2022, 5, 27), date(2022, 6, 21)),
        Ok(15)
    );
    assert_eq!(
        t.icpc_timeliness_working_days(date(2022, 5, 27), date(2022, 6, 22)),
        Ok(16)
    );
    assert_eq!(
        t.icpc_timeliness_working_days(date(2022, 5, 27), date(2022, 5, 27)),
        Ok(0)
    );
    assert_eq!(
        t.icpc_timeliness_working_days(date(2022, 6, 1), date(2022, 6, 6)),
        Ok(1)
    );
    assert_eq!(
        t.icpc_timeliness_working_days(date(2022, 6, 6), date(2022, 6, 1)),
        Ok(-1)
    );
    // Agrees with icpc_due for every start date in a year.
    let mut start = date(2022, 1, 1);
    while start.year() == 2022 {
        let due = t.icpc_due(start).unwrap();
        assert_eq!(
            t.icpc_timeliness_working_days(start, due),
            Ok(15),
            "{start}"
        );
        start = start.succ_opt().unwrap();
    }
}
