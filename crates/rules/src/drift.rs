//! Drift and delay in a child protection plan (DOMAIN.md, "Drift, delay and
//! escalation"): whether one thing the plan depends on (a conference, a
//! core group meeting, an action) is late on a given day, and how serious
//! that is.
//!
//! Severity follows the escalation procedures' reading of a finding:
//! - a statutory timescale missed (a conference or core group meeting not
//!   held by its due date) is HIGH, the point at which the chair should
//!   consider escalating, and CRITICAL once it is more than
//!   [`PROLONGED_WORKING_DAYS`] late;
//! - a conference booked for after its due date, which is not yet past, is
//!   MEDIUM: it will be late unless it is moved;
//! - a plan action past its due date is LOW for its first
//!   [`ACTION_SLIPPAGE_WORKING_DAYS`], MEDIUM up to
//!   [`PROLONGED_WORKING_DAYS`], HIGH after;
//! - a plan that reached its first plan-duration review point (12 months by
//!   default) is MEDIUM, its second HIGH, any later CRITICAL: long plans are
//!   looked at again in case of drift ([`assess_duration`]);
//! - an agency's report not submitted by its due date is MEDIUM (the chair
//!   or social worker chases it: the family has less time to read it), and
//!   HIGH once the conference's day comes without it;
//! - an agency with [`AGENCY_NOT_DELIVERING_AT`] or more such findings
//!   standing against it on one case (actions it owns overdue, its reports
//!   not submitted) is not delivering what it committed to: HIGH, and
//!   CRITICAL at twice as many ([`assess_agency`]).
//!
//! Days overdue are working days after the due date, up to and including
//! today, in the authority's calendar.

use chrono::NaiveDate;

use crate::calendar::WorkingDayCalendar;
use crate::error::RulesError;

/// Working days an action may slip before it needs attention.
pub const ACTION_SLIPPAGE_WORKING_DAYS: i32 = 5;
/// Working days after which lateness is prolonged.
pub const PROLONGED_WORKING_DAYS: i32 = 10;
/// Findings standing against one agency on one case at which it is found
/// not delivering ("several overdue actions or late reports").
pub const AGENCY_NOT_DELIVERING_AT: usize = 3;

/// How serious a finding is, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

/// What kind of thing is late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    PlanActionOverdue,
    CoreGroupMissed,
    ReviewLate,
    InitialConferenceLate,
    PlanDuration,
    ReportLate,
    AgencyNotDelivering,
}

/// Where a conference or core group meeting stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meeting {
    /// Expected, not booked (or a core group meeting not yet scheduled).
    Due,
    /// Booked for this date.
    Booked(NaiveDate),
    /// Held (on time or not: the cause is put right).
    Held,
    /// Recorded as missed (core group meetings).
    Missed,
    /// Cancelled: nothing is expected any more.
    Cancelled,
}

/// One thing a plan depends on, as drift detection sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A conference: an initial (or transfer-in, pre-birth) one, or a
    /// review.
    Conference {
        initial: bool,
        due: NaiveDate,
        state: Meeting,
    },
    /// A core group meeting.
    CoreGroup { due: NaiveDate, state: Meeting },
    /// A plan action: `done` when completed, not achieved or withdrawn, or
    /// when its plan ended.
    Action { due: NaiveDate, done: bool },
    /// An agency's report for a conference: due on the conference's reports
    /// due date; `conference` is where the conference stands (once held or
    /// cancelled the report is no longer awaited).
    Report {
        due: NaiveDate,
        submitted: bool,
        conference: Meeting,
    },
}

/// A subject found late.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub kind: Kind,
    pub severity: Severity,
    /// The date that was (or will be) missed.
    pub due: NaiveDate,
    /// Working days after `due`, up to and including today (0 for a
    /// conference booked late whose due date has not passed).
    pub working_days_overdue: i32,
}

/// Whether `subject` is late on `today`, and how seriously.
///
/// # Errors
/// `OutOfRange` for dates outside the calendar's 2000–2100.
pub fn assess(
    subject: Subject,
    today: NaiveDate,
    calendar: &WorkingDayCalendar,
) -> Result<Option<Finding>, RulesError> {
    let (kind, due, late_by) = match subject {
        Subject::Conference {
            initial,
            due,
            state,
        } => {
            let kind = if initial {
                Kind::InitialConferenceLate
            } else {
                Kind::ReviewLate
            };
            match state {
                Meeting::Held | Meeting::Cancelled => return Ok(None),
                Meeting::Booked(on) if today <= due && on > due => {
                    return Ok(Some(Finding {
                        kind,
                        severity: Severity::Medium,
                        due,
                        working_days_overdue: 0,
                    }));
                }
                Meeting::Due | Meeting::Booked(_) | Meeting::Missed => (kind, due, today > due),
            }
        }
        Subject::CoreGroup { due, state } => match state {
            Meeting::Held | Meeting::Cancelled => return Ok(None),
            Meeting::Missed => (Kind::CoreGroupMissed, due, true),
            Meeting::Due | Meeting::Booked(_) => (Kind::CoreGroupMissed, due, today > due),
        },
        Subject::Action { due, done } => (Kind::PlanActionOverdue, due, !done && today > due),
        Subject::Report {
            due,
            submitted,
            conference,
        } => match conference {
            Meeting::Held | Meeting::Cancelled => return Ok(None),
            _ => (Kind::ReportLate, due, !submitted && today > due),
        },
    };
    if !late_by {
        return Ok(None);
    }
    let overdue = calendar.working_days_between(due, today)?.max(0);
    let severity = match kind {
        Kind::PlanActionOverdue if overdue <= ACTION_SLIPPAGE_WORKING_DAYS => Severity::Low,
        Kind::PlanActionOverdue if overdue <= PROLONGED_WORKING_DAYS => Severity::Medium,
        Kind::PlanActionOverdue => Severity::High,
        Kind::ReportLate => match subject {
            Subject::Report {
                conference: Meeting::Booked(on),
                ..
            } if today >= on => Severity::High,
            _ => Severity::Medium,
        },
        _ if overdue > PROLONGED_WORKING_DAYS => Severity::Critical,
        _ => Severity::High,
    };
    Ok(Some(Finding {
        kind,
        severity,
        due,
        working_days_overdue: overdue,
    }))
}

/// Whether a plan that started on `started` has reached a plan-duration
/// review point on `today`: `months` after the start (the authority's
/// `plan_duration_review_months`, in order). `due` is the latest point
/// reached. An ended plan has none.
///
/// # Errors
/// `OutOfRange` for dates outside the calendar's 2000–2100.
pub fn assess_duration(
    started: NaiveDate,
    ended: bool,
    months: &[u32],
    today: NaiveDate,
    calendar: &WorkingDayCalendar,
) -> Result<Option<Finding>, RulesError> {
    if ended {
        return Ok(None);
    }
    let mut reached = Vec::with_capacity(months.len());
    for &m in months {
        // A point past the calendar's last year cannot have been reached
        // (nor can any later one): `today` is within the calendar.
        let Ok(point) = crate::months::add_months_clamped(started, m) else {
            break;
        };
        if point <= today {
            reached.push(point);
        }
    }
    let Some(&due) = reached.last() else {
        return Ok(None);
    };
    let severity = match reached.len() {
        1 => Severity::Medium,
        2 => Severity::High,
        _ => Severity::Critical,
    };
    Ok(Some(Finding {
        kind: Kind::PlanDuration,
        severity,
        due,
        working_days_overdue: calendar.working_days_between(due, today)?.max(0),
    }))
}

/// Whether one agency is not delivering on one case, given the findings
/// standing against it there (`late`: any kind; only overdue actions and
/// reports not submitted count). `due` is the earliest of their dates and
/// the days overdue the most of theirs.
#[must_use]
pub fn assess_agency(late: &[Finding]) -> Option<Finding> {
    let counted: Vec<&Finding> = late
        .iter()
        .filter(|f| matches!(f.kind, Kind::PlanActionOverdue | Kind::ReportLate))
        .collect();
    if counted.len() < AGENCY_NOT_DELIVERING_AT {
        return None;
    }
    let severity = if counted.len() >= 2 * AGENCY_NOT_DELIVERING_AT {
        Severity::Critical
    } else {
        Severity::High
    };
    Some(Finding {
        kind: Kind::AgencyNotDelivering,
        severity,
        due: counted.iter().map(|f| f.due).min()?,
        working_days_overdue: counted.iter().map(|f| f.working_days_overdue).max()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Nation;
    use proptest::prelude::*;

    fn ew() -> &'static WorkingDayCalendar {
        WorkingDayCalendar::for_nation(Nation::EnglandAndWales)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn an_action_slips_then_needs_attention_then_is_high() {
        // Due Friday 20 December 2024; Christmas and Boxing Day are bank
        // holidays.
        let due = date(2024, 12, 20);
        let action = Subject::Action { due, done: false };
        let on = |today| assess(action, today, ew()).unwrap();
        assert_eq!(on(due), None, "not late on its due date");
        let first = on(date(2024, 12, 23)).unwrap();
        assert_eq!(
            (first.severity, first.working_days_overdue),
            (Severity::Low, 1)
        );
        // 23, 24, 27, 30, 31 Dec: five working days; New Year's Day is a
        // bank holiday too.
        assert_eq!(on(date(2024, 12, 31)).unwrap().severity, Severity::Low);
        assert_eq!(on(date(2025, 1, 2)).unwrap().severity, Severity::Medium);
        let late = on(date(2025, 1, 10)).unwrap();
        assert_eq!(
            (late.severity, late.working_days_overdue),
            (Severity::High, 12)
        );
        let done = Subject::Action { due, done: true };
        assert_eq!(assess(done, date(2025, 1, 10), ew()).unwrap(), None);
    }

    #[test]
    fn a_conference_booked_late_warns_before_it_is_late() {
        let due = date(2024, 2, 29);
        let review = |state| Subject::Conference {
            initial: false,
            due,
            state,
        };
        let booked_late = review(Meeting::Booked(date(2024, 3, 4)));
        let warned = assess(booked_late, date(2024, 2, 20), ew())
            .unwrap()
            .unwrap();
        assert_eq!(
            (warned.kind, warned.severity, warned.working_days_overdue),
            (Kind::ReviewLate, Severity::Medium, 0)
        );
        let past = assess(booked_late, date(2024, 3, 1), ew())
            .unwrap()
            .unwrap();
        assert_eq!(
            (past.severity, past.working_days_overdue),
            (Severity::High, 1)
        );
        let booked_in_time = review(Meeting::Booked(date(2024, 2, 28)));
        assert_eq!(
            assess(booked_in_time, date(2024, 2, 20), ew()).unwrap(),
            None
        );
        let prolonged = assess(review(Meeting::Due), date(2024, 3, 15), ew())
            .unwrap()
            .unwrap();
        assert_eq!(prolonged.severity, Severity::Critical);
        assert_eq!(
            assess(review(Meeting::Held), date(2024, 3, 15), ew()).unwrap(),
            None
        );
    }

    #[test]
    fn a_missed_core_group_is_late_on_the_day() {
        let due = date(2025, 5, 30);
        let missed = Subject::CoreGroup {
            due,
            state: Meeting::Missed,
        };
        let finding = assess(missed, due, ew()).unwrap().unwrap();
        assert_eq!(
            (finding.kind, finding.severity, finding.working_days_overdue),
            (Kind::CoreGroupMissed, Severity::High, 0)
        );
        let cancelled = Subject::CoreGroup {
            due,
            state: Meeting::Cancelled,
        };
        assert_eq!(assess(cancelled, date(2025, 7, 1), ew()).unwrap(), None);
    }

    #[test]
    fn a_late_report_is_chased_then_high_on_the_conference_day() {
        // Reports due Friday 23 May 2025 for a conference booked for
        // Wednesday 28 May; Monday 26 May is the spring bank holiday.
        let due = date(2025, 5, 23);
        let report = |submitted, conference| Subject::Report {
            due,
            submitted,
            conference,
        };
        let awaited = report(false, Meeting::Booked(date(2025, 5, 28)));
        let on = |today| assess(awaited, today, ew()).unwrap();
        assert_eq!(on(due), None, "not late on its due date");
        let holiday = on(date(2025, 5, 26)).unwrap();
        assert_eq!(
            (holiday.kind, holiday.severity, holiday.working_days_overdue),
            (Kind::ReportLate, Severity::Medium, 0)
        );
        let tuesday = on(date(2025, 5, 27)).unwrap();
        assert_eq!(
            (tuesday.severity, tuesday.working_days_overdue),
            (Severity::Medium, 1)
        );
        let conference_day = on(date(2025, 5, 28)).unwrap();
        assert_eq!(
            (conference_day.severity, conference_day.working_days_overdue),
            (Severity::High, 2)
        );
        // Not yet booked: chased, never more (the conference's own lateness
        // is its finding).
        let unbooked = assess(report(false, Meeting::Due), date(2025, 6, 30), ew());
        assert_eq!(unbooked.unwrap().unwrap().severity, Severity::Medium);
        let settled = [
            report(true, Meeting::Booked(date(2025, 5, 28))),
            report(false, Meeting::Held),
            report(false, Meeting::Cancelled),
        ];
        for subject in settled {
            assert_eq!(assess(subject, date(2025, 5, 28), ew()).unwrap(), None);
        }
    }

    fn late(kind: Kind, due: NaiveDate, working_days_overdue: i32) -> Finding {
        Finding {
            kind,
            severity: Severity::Low,
            due,
            working_days_overdue,
        }
    }

    #[test]
    fn an_agency_with_three_late_things_on_a_case_is_not_delivering() {
        let action = |d, days| late(Kind::PlanActionOverdue, date(2025, 3, d), days);
        let report = late(Kind::ReportLate, date(2025, 3, 3), 4);
        assert_eq!(assess_agency(&[action(10, 1), report]), None);
        // A missed meeting is not the agency's.
        let meeting = late(Kind::CoreGroupMissed, date(2025, 2, 1), 30);
        assert_eq!(assess_agency(&[action(10, 1), report, meeting]), None);
        let three = [action(10, 1), report, action(5, 6)];
        assert_eq!(
            assess_agency(&three),
            Some(Finding {
                kind: Kind::AgencyNotDelivering,
                severity: Severity::High,
                due: date(2025, 3, 3),
                working_days_overdue: 6,
            })
        );
        let six: Vec<Finding> = three.iter().chain(three.iter()).copied().collect();
        assert_eq!(assess_agency(&six).unwrap().severity, Severity::Critical);
    }

    #[test]
    fn a_long_plan_is_looked_at_again_at_each_point() {
        // Started on a leap day: 12 months on is 28 February.
        let started = date(2024, 2, 29);
        let months = [12, 15, 18, 21];
        let on = |today| assess_duration(started, false, &months, today, ew()).unwrap();
        assert_eq!(on(date(2025, 2, 27)), None);
        let first = on(date(2025, 2, 28)).unwrap();
        assert_eq!(
            (
                first.kind,
                first.severity,
                first.due,
                first.working_days_overdue
            ),
            (Kind::PlanDuration, Severity::Medium, date(2025, 2, 28), 0)
        );
        assert_eq!(on(date(2025, 5, 29)).unwrap().severity, Severity::High);
        assert_eq!(on(date(2025, 11, 29)).unwrap().severity, Severity::Critical);
        assert_eq!(
            assess_duration(started, true, &months, date(2026, 1, 1), ew()).unwrap(),
            None
        );
        assert_eq!(
            assess_duration(started, false, &[], date(2026, 1, 1), ew()).unwrap(),
            None
        );
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..36_000).prop_map(|d| date(2001, 1, 1) + chrono::Days::new(d))
    }

    fn any_meeting() -> impl Strategy<Value = Meeting> {
        prop_oneof![
            Just(Meeting::Due),
            any_date().prop_map(Meeting::Booked),
            Just(Meeting::Held),
            Just(Meeting::Missed),
            Just(Meeting::Cancelled),
        ]
    }

    fn any_subject() -> impl Strategy<Value = Subject> {
        prop_oneof![
            (any::<bool>(), any_date(), any_meeting()).prop_map(|(initial, due, state)| {
                Subject::Conference {
                    initial,
                    due,
                    state,
                }
            }),
            (any_date(), any_meeting()).prop_map(|(due, state)| Subject::CoreGroup { due, state }),
            (any_date(), any::<bool>()).prop_map(|(due, done)| Subject::Action { due, done }),
            (any_date(), any::<bool>(), any_meeting()).prop_map(|(due, submitted, conference)| {
                Subject::Report {
                    due,
                    submitted,
                    conference,
                }
            }),
        ]
    }

    fn any_finding() -> impl Strategy<Value = Finding> {
        let kinds = prop_oneof![
            Just(Kind::PlanActionOverdue),
            Just(Kind::ReportLate),
            Just(Kind::CoreGroupMissed),
            Just(Kind::ReviewLate),
        ];
        (kinds, any_date(), 0i32..200).prop_map(|(kind, due, days)| late(kind, due, days))
    }

    proptest! {
        /// One more late thing never makes an agency look better; below
        /// the threshold of its own actions and reports there is no
        /// finding; the finding's date and days are its worst thing's.
        #[test]
        fn an_agency_only_looks_worse_with_more(
            late in proptest::collection::vec(any_finding(), 0..12),
            more in any_finding(),
        ) {
            let own = |f: &&Finding| matches!(f.kind, Kind::PlanActionOverdue | Kind::ReportLate);
            let now = assess_agency(&late);
            prop_assert_eq!(now.is_some(), late.iter().filter(own).count() >= AGENCY_NOT_DELIVERING_AT);
            let mut with_more = late.clone();
            with_more.push(more);
            let after = assess_agency(&with_more);
            if let Some(now) = now {
                let after = after.expect("still not delivering");
                prop_assert!(after.severity >= now.severity);
                prop_assert!(after.due <= now.due);
                prop_assert!(after.working_days_overdue >= now.working_days_overdue);
                prop_assert_eq!(Some(now.due), late.iter().filter(own).map(|f| f.due).min());
            }
        }
    }

    proptest! {
        /// A plan's duration finding only grows more serious as days pass,
        /// and is due on a point it reached.
        #[test]
        fn duration_only_grows(started in any_date(), today in any_date(), later in 0u64..400) {
            let months = [12, 15, 18, 21];
            let then = today + chrono::Days::new(later);
            let now = assess_duration(started, false, &months, today, ew()).unwrap();
            let after = assess_duration(started, false, &months, then, ew()).unwrap();
            if let Some(now) = now {
                let after = after.expect("a long plan stays long");
                prop_assert!(after.severity >= now.severity);
                prop_assert!(now.due <= today && now.due > started);
            }
        }
    }

    proptest! {
        /// Findings only grow more serious as days pass; nothing held,
        /// cancelled or done is ever late; the days overdue are the
        /// calendar's count.
        #[test]
        fn lateness_only_grows(subject in any_subject(), today in any_date(), later in 0u64..400) {
            let then = today + chrono::Days::new(later);
            let now = assess(subject, today, ew()).unwrap();
            let after = assess(subject, then, ew()).unwrap();
            if let Some(now) = now {
                let after = after.expect("a late subject stays late");
                prop_assert!(after.severity >= now.severity);
                prop_assert!(after.working_days_overdue >= now.working_days_overdue);
                prop_assert!(now.working_days_overdue >= 0);
                if now.working_days_overdue > 0 {
                    prop_assert_eq!(
                        now.working_days_overdue,
                        ew().working_days_between(now.due, today).unwrap()
                    );
                }
            }
            let settled = matches!(
                subject,
                Subject::Conference { state: Meeting::Held | Meeting::Cancelled, .. }
                    | Subject::CoreGroup { state: Meeting::Held | Meeting::Cancelled, .. }
                    | Subject::Action { done: true, .. }
                    | Subject::Report { submitted: true, .. }
                    | Subject::Report { conference: Meeting::Held | Meeting::Cancelled, .. }
            );
            if settled {
                prop_assert_eq!(now, None);
            }
        }
    }
}
