//! Timeliness measures for statutory events (DOMAIN.md, "Timescales"): of
//! the conferences or core groups held in a period, how many were held by
//! their due date, how long they took, and how many due by the period's end
//! are still not held.
//!
//! The caller measures each event's interval in the measure's unit
//! (working days for ICPCs, transfer-in conferences and first core groups;
//! calendar days for reviews and later core groups) and says whether an
//! unheld event is still open (due or booked, not cancelled or missed).

use chrono::NaiveDate;

/// One statutory event, as a measure counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// The latest date it could be held on time.
    pub due: NaiveDate,
    /// When it was held, with the interval from the event its clock starts
    /// at, in the measure's unit.
    pub held: Option<(NaiveDate, i64)>,
    /// Whether an unheld event is still expected (not cancelled or missed).
    pub open: bool,
}

/// An inclusive period of days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    fn contains(&self, date: NaiveDate) -> bool {
        (self.start..=self.end).contains(&date)
    }
}

/// How timely one kind of event was over a period.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Measure {
    /// Held in the period.
    pub eligible: u32,
    /// Of those, held by their due date.
    pub on_time: u32,
    /// Of those, held after it.
    pub late: u32,
    /// Open, due by the end of the period, and already past due on
    /// `as_of` (the day the measure is taken).
    pub overdue_open: u32,
    /// `on_time / eligible × 100`; 0 when nothing was eligible.
    pub on_time_percent: f64,
    /// Median interval of the eligible events; 0 when none.
    pub median_interval: f64,
}

/// Measures `events` over `period`, as on `as_of`.
#[must_use]
pub fn measure(events: &[Occurrence], period: Period, as_of: NaiveDate) -> Measure {
    let mut intervals = Vec::new();
    let mut m = Measure::default();
    for event in events {
        match event.held {
            Some((held, interval)) if period.contains(held) => {
                m.eligible += 1;
                if held <= event.due {
                    m.on_time += 1;
                } else {
                    m.late += 1;
                }
                intervals.push(interval);
            }
            Some(_) => {}
            None if event.open && event.due <= period.end && event.due < as_of => {
                m.overdue_open += 1;
            }
            None => {}
        }
    }
    if m.eligible > 0 {
        m.on_time_percent = f64::from(m.on_time) * 100.0 / f64::from(m.eligible);
        m.median_interval = median(&mut intervals);
    }
    m
}

/// The median of a non-empty list (the mean of the middle two for an even
/// count).
fn median(values: &mut [i64]) -> f64 {
    values.sort_unstable();
    let mid = values.len() / 2;
    // Intervals are days within a few years: far inside f64's exact range.
    #[allow(clippy::cast_precision_loss)]
    let at = |i: usize| values[i] as f64;
    if values.len().is_multiple_of(2) {
        f64::midpoint(at(mid - 1), at(mid))
    } else {
        at(mid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(n: i64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default()
            + chrono::Days::new(n.unsigned_abs())
    }

    #[test]
    fn counts_on_time_late_and_overdue_in_the_period() {
        let period = Period {
            start: day(10),
            end: day(40),
        };
        let events = [
            // Held on its due date: on time.
            Occurrence {
                due: day(15),
                held: Some((day(15), 15)),
                open: false,
            },
            // Held a day late.
            Occurrence {
                due: day(20),
                held: Some((day(21), 16)),
                open: false,
            },
            // Held before the period: not counted.
            Occurrence {
                due: day(5),
                held: Some((day(5), 4)),
                open: false,
            },
            // Not held, due in the period and past: overdue.
            Occurrence {
                due: day(30),
                held: None,
                open: true,
            },
            // Not held, due in the period but not yet past on day 35.
            Occurrence {
                due: day(36),
                held: None,
                open: true,
            },
            // Cancelled: never overdue.
            Occurrence {
                due: day(12),
                held: None,
                open: false,
            },
        ];
        let m = measure(&events, period, day(35));
        assert_eq!(
            (m.eligible, m.on_time, m.late, m.overdue_open),
            (2, 1, 1, 1)
        );
        assert!((m.on_time_percent - 50.0).abs() < f64::EPSILON);
        assert!((m.median_interval - 15.5).abs() < f64::EPSILON);
        assert_eq!(measure(&[], period, day(35)), Measure::default());
    }

    fn occurrence() -> impl Strategy<Value = Occurrence> {
        (
            0_i64..400,
            proptest::option::of((0_i64..400, 0_i64..200)),
            any::<bool>(),
        )
            .prop_map(|(due, held, open)| Occurrence {
                due: day(due),
                held: held.map(|(h, i)| (day(h), i)),
                open,
            })
    }

    proptest! {
        #[test]
        fn a_measure_adds_up(
            events in proptest::collection::vec(occurrence(), 0..40),
            start in 0_i64..400,
            length in 0_i64..400,
            as_of in 0_i64..800,
        ) {
            let period = Period { start: day(start), end: day(start + length) };
            let m = measure(&events, period, day(as_of));
            let held_in = events
                .iter()
                .filter(|e| e.held.is_some_and(|(h, _)| period.contains(h)))
                .collect::<Vec<_>>();
            prop_assert_eq!(m.eligible as usize, held_in.len());
            prop_assert_eq!(m.on_time + m.late, m.eligible);
            prop_assert!((0.0..=100.0).contains(&m.on_time_percent));
            let intervals = held_in.iter().filter_map(|e| e.held.map(|(_, i)| i));
            if let (Some(lo), Some(hi)) = (intervals.clone().min(), intervals.max()) {
                #[allow(clippy::cast_precision_loss)]
                let (lo, hi) = (lo as f64, hi as f64);
                prop_assert!(lo <= m.median_interval && m.median_interval <= hi);
            } else {
                prop_assert_eq!(m.median_interval, 0.0);
            }
            // Overdue events are open, unheld and past due within the period.
            let overdue = events
                .iter()
                .filter(|e| e.held.is_none() && e.open && e.due <= period.end && e.due < day(as_of))
                .count();
            prop_assert_eq!(m.overdue_open as usize, overdue);
        }
    }
}
