//! A region's diary: 10 authorities, 10,000 open plans, 40 chairs.
//!
//! Each plan's start (the ICPC) is a `PlanStarted` event on the cases feed;
//! scheduling derives the first core group and first review from it, then
//! allocates a chair to every review in date order, booking each before the
//! next so that nobody is double-booked. Run with
//! `cargo bench -p cpc-scheduling --bench region`.

#![allow(
    clippy::panic,
    clippy::print_stderr,
    reason = "a benchmark reports on stderr and stops on bad setup"
)]

use std::hint::black_box;

use chrono::{Datelike as _, Duration, NaiveDate, Weekday};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_rules::profile::AuthorityProfile;
use cpc_rules::timescales::Timescales;
use cpc_rules::{Nation, WorkingDayCalendar};
use cpc_scheduling::allocation::{Chair, Request, Slot, WorkingPeriod, Workload, allocate};
use cpc_scheduling::due::{Need, needs};
use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message as _;
use uuid::Uuid;

const AUTHORITIES: u128 = 10;
const PLANS_PER_AUTHORITY: u128 = 1_000;
const CHAIRS_PER_AUTHORITY: u128 = 4;

fn plan_started(authority: u128, plan: u128) -> common::ChangeEvent {
    // ICPCs spread over the working days of the first half of 2026.
    let start = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default()
        + Duration::days(i64::try_from(plan % 180).unwrap_or(0));
    let payload = cases::PlanStarted {
        plan: Some(cases::ChildProtectionPlan {
            id: Uuid::from_u128(authority << 64 | plan).to_string(),
            child_id: Uuid::from_u128(authority << 64 | plan | 1 << 40).to_string(),
            start_date: Some(common::Date {
                year: start.year(),
                month: i32::try_from(start.month()).unwrap_or(1),
                day: i32::try_from(start.day()).unwrap_or(1),
            }),
            ..Default::default()
        }),
    };
    common::ChangeEvent {
        event_type: "cpc.cases.v1.PlanStarted".into(),
        payload: payload.encode_to_vec(),
        ..Default::default()
    }
}

fn chairs(authority: u128) -> Vec<Chair> {
    (0..CHAIRS_PER_AUTHORITY)
        .map(|n| Chair {
            id: Uuid::from_u128(authority << 64 | 0xc4a1 << 8 | n),
            active: true,
            pattern: [
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ]
            .into_iter()
            .map(|weekday| WorkingPeriod {
                weekday,
                start: 9 * 60,
                end: 17 * 60,
            })
            .collect(),
            max_per_day: 4,
            max_per_week: 16,
            max_children: 400,
            leave: Vec::new(),
            conflicts: Vec::new(),
        })
        .collect()
}

/// The reviews each authority must hold: (due date, case, child).
fn reviews(events: &[common::ChangeEvent], timescales: &Timescales) -> Vec<(NaiveDate, Uuid)> {
    let mut due = Vec::with_capacity(events.len());
    for event in events {
        for need in needs(event, timescales).unwrap_or_default() {
            if let Need::Conference {
                due: date,
                child_id,
                ..
            } = need
            {
                due.push((date, Uuid::parse_str(&child_id).unwrap_or_default()));
            }
        }
    }
    due.sort();
    due
}

/// Allocates every review on its due day, in one of four two-hour slots;
/// returns how many found a chair.
fn allocate_all(
    reviews: &[(NaiveDate, Uuid)],
    chairs: &[Chair],
    calendar: &WorkingDayCalendar,
) -> usize {
    let mut workload = Workload::default();
    let mut allocated = 0;
    for (i, (date, child)) in reviews.iter().enumerate() {
        let hour = 9 + 2 * u16::try_from(i % 4).unwrap_or(0);
        let request = Request {
            slot: Slot {
                date: *date,
                start: hour * 60,
                end: (hour + 2) * 60,
            },
            case_id: *child,
            child_ids: vec![*child],
            previous_chairs: Vec::new(),
        };
        let allocation = allocate(&request, chairs, &workload, calendar);
        if let Some(chair) = allocation.chosen {
            workload.book(chair, request.slot);
            workload.add_children(chair, 1);
            allocated += 1;
        }
    }
    allocated
}

fn region(c: &mut Criterion) {
    let timescales =
        Timescales::new(&AuthorityProfile::default()).unwrap_or_else(|e| panic!("{e}"));
    let calendar = WorkingDayCalendar::for_nation(Nation::EnglandAndWales);
    let events: Vec<Vec<common::ChangeEvent>> = (0..AUTHORITIES)
        .map(|a| {
            (0..PLANS_PER_AUTHORITY)
                .map(|p| plan_started(a, p))
                .collect()
        })
        .collect();
    let chairs: Vec<Vec<Chair>> = (0..AUTHORITIES).map(chairs).collect();
    let due: Vec<Vec<(NaiveDate, Uuid)>> = events.iter().map(|e| reviews(e, &timescales)).collect();
    let allocated: usize = due
        .iter()
        .zip(&chairs)
        .map(|(d, c)| allocate_all(d, c, calendar))
        .sum();
    eprintln!(
        "region: {} plans, {} chairs, {} reviews allocated a chair on their due day",
        AUTHORITIES * PLANS_PER_AUTHORITY,
        AUTHORITIES * CHAIRS_PER_AUTHORITY,
        allocated
    );

    let mut group = c.benchmark_group("region");
    group.sample_size(10);
    group.bench_function("due dates from 10,000 PlanStarted events", |b| {
        b.iter(|| {
            events
                .iter()
                .map(|e| reviews(black_box(e), &timescales).len())
                .sum::<usize>()
        });
    });
    group.bench_function("allocate chairs to 10,000 reviews", |b| {
        b.iter(|| {
            due.iter()
                .zip(&chairs)
                .map(|(d, c)| allocate_all(black_box(d), c, calendar))
                .sum::<usize>()
        });
    });
    group.finish();
}

criterion_group!(benches, region);
criterion_main!(benches);
