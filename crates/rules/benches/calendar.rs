//! Calendar query costs: the hot path of every deadline the services compute.
//!
//! Run with `cargo bench -p cpc-rules --bench calendar`.

use std::hint::black_box;

use chrono::NaiveDate;
use cpc_rules::months::add_months_clamped;
use cpc_rules::{Nation, WorkingDayCalendar};
use criterion::{Criterion, criterion_group, criterion_main};

fn date(year: i32, month: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap_or_default()
}

fn calendar(c: &mut Criterion) {
    let calendar = WorkingDayCalendar::for_nation(Nation::EnglandAndWales);
    let strategy_discussion = date(2022, 5, 27);
    let year_start = date(2024, 1, 1);
    let year_end = date(2024, 12, 31);

    c.bench_function("is_working_day", |b| {
        b.iter(|| calendar.is_working_day(black_box(strategy_discussion)));
    });
    c.bench_function("add_working_days(15)", |b| {
        b.iter(|| calendar.add_working_days(black_box(strategy_discussion), black_box(15)));
    });
    c.bench_function("working_days_between over a year", |b| {
        b.iter(|| calendar.working_days_between(black_box(year_start), black_box(year_end)));
    });
    c.bench_function("add_months_clamped(31 Aug + 6)", |b| {
        b.iter(|| add_months_clamped(black_box(date(2023, 8, 31)), black_box(6)));
    });
}

criterion_group!(benches, calendar);
criterion_main!(benches);
