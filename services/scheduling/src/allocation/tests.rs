use chrono::{Datelike as _, NaiveDate, Weekday};
use cpc_rules::{Nation, WorkingDayCalendar};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn calendar() -> &'static WorkingDayCalendar {
    WorkingDayCalendar::for_nation(Nation::EnglandAndWales)
}

const WEEKDAYS: [Weekday; 5] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
];

fn chair(n: u128) -> Chair {
    Chair {
        id: Uuid::from_u128(n),
        active: true,
        pattern: WEEKDAYS
            .iter()
            .map(|&weekday| WorkingPeriod {
                weekday,
                start: 9 * 60,
                end: 17 * 60,
            })
            .collect(),
        max_per_day: 2,
        max_per_week: 6,
        max_children: 30,
        leave: Vec::new(),
        conflicts: Vec::new(),
    }
}

/// Wednesday 2 December 2026, 10:00–12:00.
fn request() -> Request {
    Request {
        slot: Slot {
            date: date(2026, 12, 2),
            start: 10 * 60,
            end: 12 * 60,
        },
        case_id: Uuid::from_u128(0xca5e),
        child_ids: vec![Uuid::from_u128(0xc1), Uuid::from_u128(0xc2)],
        previous_chairs: Vec::new(),
    }
}

fn reasons(allocation: &Allocation, chair: u128) -> Vec<Ineligible> {
    allocation
        .candidates
        .iter()
        .find(|c| c.chair_id == Uuid::from_u128(chair))
        .expect("considered")
        .ineligible
        .clone()
}

#[test]
fn continuity_comes_first_then_the_lightest_caseload() {
    let chairs = [chair(1), chair(2), chair(3)];
    let mut workload = Workload::default();
    workload.set_caseload(Uuid::from_u128(1), 20);
    workload.set_caseload(Uuid::from_u128(2), 5);
    workload.set_caseload(Uuid::from_u128(3), 12);
    let allocation = allocate(&request(), &chairs, &workload, calendar());
    assert_eq!(allocation.chosen, Some(Uuid::from_u128(2)));

    let mut review = request();
    review.previous_chairs = vec![Uuid::from_u128(1)];
    let allocation = allocate(&review, &chairs, &workload, calendar());
    assert_eq!(allocation.chosen, Some(Uuid::from_u128(1)));
    let ranks: Vec<u32> = allocation.candidates.iter().map(|c| c.rank).collect();
    assert_eq!(ranks, [1, 2, 3]);
}

#[test]
fn each_reason_a_chair_cannot_take_a_conference() {
    let mut on_leave = chair(1);
    on_leave.leave = vec![Leave {
        first: date(2026, 11, 30),
        last: date(2026, 12, 4),
    }];
    let mut part_time = chair(2);
    part_time.pattern.retain(|p| p.weekday != Weekday::Wed);
    let booked = chair(3);
    let mut full_week = chair(4);
    full_week.max_per_week = 1;
    let mut full_caseload = chair(5);
    full_caseload.max_children = 21;
    let mut conflicted = chair(6);
    conflicted.conflicts = vec![Conflict {
        case_id: Uuid::from_u128(0xca5e),
        child_ids: vec![Uuid::from_u128(0xc2)],
    }];
    let mut inactive = chair(7);
    inactive.active = false;
    let chairs = [
        on_leave,
        part_time,
        booked,
        full_week,
        full_caseload,
        conflicted,
        inactive,
    ];
    let mut workload = Workload::default();
    workload.book(
        Uuid::from_u128(3),
        Slot {
            date: date(2026, 12, 2),
            start: 11 * 60,
            end: 13 * 60,
        },
    );
    workload.book(
        Uuid::from_u128(4),
        Slot {
            date: date(2026, 11, 30),
            start: 9 * 60,
            end: 10 * 60,
        },
    );
    workload.set_caseload(Uuid::from_u128(5), 20);
    let allocation = allocate(&request(), &chairs, &workload, calendar());
    assert_eq!(allocation.chosen, None);
    assert_eq!(reasons(&allocation, 1), [Ineligible::OnLeave]);
    assert_eq!(reasons(&allocation, 2), [Ineligible::NotWorking]);
    assert_eq!(reasons(&allocation, 3), [Ineligible::DoubleBooked]);
    assert_eq!(reasons(&allocation, 4), [Ineligible::WeekFull]);
    assert_eq!(reasons(&allocation, 5), [Ineligible::CaseloadFull]);
    assert_eq!(reasons(&allocation, 6), [Ineligible::Conflict]);
    assert_eq!(reasons(&allocation, 7), [Ineligible::Inactive]);
    assert!(allocation.candidates.iter().all(|c| c.rank == 0));
}

#[test]
fn nobody_chairs_on_a_bank_holiday_or_outside_their_hours() {
    let chairs = [chair(1)];
    let workload = Workload::default();
    let mut christmas = request();
    christmas.slot.date = date(2026, 12, 25);
    let allocation = allocate(&christmas, &chairs, &workload, calendar());
    assert_eq!(reasons(&allocation, 1), [Ineligible::NotWorking]);
    let mut evening = request();
    evening.slot.start = 16 * 60;
    evening.slot.end = 18 * 60;
    let allocation = allocate(&evening, &chairs, &workload, calendar());
    assert_eq!(reasons(&allocation, 1), [Ineligible::NotWorking]);
}

#[test]
fn a_conflict_on_another_child_of_the_case_does_not_bar_the_chair() {
    let mut conflicted = chair(1);
    conflicted.conflicts = vec![Conflict {
        case_id: Uuid::from_u128(0xca5e),
        child_ids: vec![Uuid::from_u128(0xc9)],
    }];
    let allocation = allocate(&request(), &[conflicted], &Workload::default(), calendar());
    assert_eq!(allocation.chosen, Some(Uuid::from_u128(1)));
}

fn arb_chair(n: u128) -> impl Strategy<Value = Chair> {
    (
        any::<bool>(),
        prop::collection::vec((0_usize..5, 7_u16..12, 13_u16..19), 1..6),
        1_u32..4,
        1_u32..10,
        1_u32..40,
        prop::collection::vec((0_i64..60, 0_i64..10), 0..3),
        any::<bool>(),
    )
        .prop_map(
            move |(active, periods, per_day, per_week, max_children, leave, conflicted)| {
                let start = date(2026, 11, 2);
                Chair {
                    id: Uuid::from_u128(n),
                    // Mostly active, so allocations happen.
                    active: active || n.is_multiple_of(2),
                    pattern: periods
                        .into_iter()
                        .map(|(day, from, to)| WorkingPeriod {
                            weekday: WEEKDAYS[day],
                            start: from * 60,
                            end: to * 60,
                        })
                        .collect(),
                    max_per_day: per_day,
                    max_per_week: per_week,
                    max_children,
                    leave: leave
                        .into_iter()
                        .map(|(from, len)| Leave {
                            first: start + chrono::Duration::days(from),
                            last: start + chrono::Duration::days(from + len),
                        })
                        .collect(),
                    conflicts: if conflicted {
                        vec![Conflict {
                            case_id: Uuid::from_u128(0xca5e_0000 + n % 4),
                            child_ids: Vec::new(),
                        }]
                    } else {
                        Vec::new()
                    },
                }
            },
        )
}

fn arb_request() -> impl Strategy<Value = Request> {
    (
        0_i64..70,
        8_u16..17,
        1_u16..3,
        0_u128..8,
        1_usize..4,
        prop::option::of(0_u128..6),
    )
        .prop_map(|(day, hour, hours, case, children, previous)| Request {
            slot: Slot {
                date: date(2026, 11, 2) + chrono::Duration::days(day),
                start: hour * 60,
                end: (hour + hours) * 60,
            },
            case_id: Uuid::from_u128(0xca5e_0000 + case),
            child_ids: (0..children)
                .map(|c| Uuid::from_u128(case * 16 + c as u128))
                .collect(),
            previous_chairs: previous.map(Uuid::from_u128).into_iter().collect(),
        })
}

fn chairs() -> impl Strategy<Value = Vec<Chair>> {
    (
        arb_chair(0),
        arb_chair(1),
        arb_chair(2),
        arb_chair(3),
        arb_chair(4),
        arb_chair(5),
    )
        .prop_map(|(a, b, c, d, e, f)| vec![a, b, c, d, e, f])
}

proptest! {
    /// A whole diary allocated one conference at a time: no chair is ever
    /// double-booked, on leave, outside their hours or a working day, over
    /// a limit, or conflicted; and a conference goes unallocated only when
    /// every chair is ineligible.
    #[test]
    fn a_diary_never_breaks_a_chairs_limits(
        chairs in chairs(),
        requests in prop::collection::vec(arb_request(), 1..80),
    ) {
        let calendar = calendar();
        let mut workload = Workload::default();
        let mut booked: Vec<(Uuid, Slot)> = Vec::new();
        for request in &requests {
            let allocation = allocate(request, &chairs, &workload, calendar);
            let Some(id) = allocation.chosen else {
                prop_assert!(allocation.candidates.iter().all(|c| !c.ineligible.is_empty()));
                continue;
            };
            let chair = chairs.iter().find(|c| c.id == id).expect("a known chair");
            let slot = request.slot;
            prop_assert!(chair.active);
            prop_assert!(calendar.is_working_day(slot.date).unwrap_or(false));
            prop_assert!(chair.pattern.iter().any(|p| p.weekday == slot.date.weekday()
                && p.start <= slot.start && slot.end <= p.end));
            prop_assert!(!chair.leave.iter().any(|l| l.first <= slot.date && slot.date <= l.last));
            prop_assert!(!chair.conflicts.iter().any(|c| c.case_id == request.case_id));
            prop_assert!(!booked.iter().any(|(c, s)| *c == id && s.overlaps(&slot)));
            let day = booked.iter().filter(|(c, s)| *c == id && s.date == slot.date).count();
            let week = booked
                .iter()
                .filter(|(c, s)| *c == id && s.date.iso_week() == slot.date.iso_week())
                .count();
            prop_assert!(day < chair.max_per_day as usize);
            prop_assert!(week < chair.max_per_week as usize);
            let chosen = allocation.candidates.iter().find(|c| c.chair_id == id).expect("candidate");
            prop_assert_eq!(chosen.rank, 1);
            // Continuity wins whenever a previous chair was eligible.
            if allocation.candidates.iter().any(|c| c.chaired_before && c.ineligible.is_empty()) {
                prop_assert!(chosen.chaired_before);
            }
            if !chosen.chaired_before {
                workload.add_children(id, u32::try_from(request.child_ids.len()).unwrap_or(0));
            }
            prop_assert!(workload.caseload(id) <= chair.max_children);
            workload.book(id, slot);
            booked.push((id, slot));
        }
    }
}
