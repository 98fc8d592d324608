//! Timeliness statistics: how many conferences and core groups held in a
//! period were held by their statutory due date, from reporting's copies of
//! scheduling's conferences and core group meetings and the cases feed's
//! section 47 enquiries. The counting is the rules crate's
//! ([`cpc_rules::timeliness`]); this module reads the facts and measures
//! each event's interval in the measure's unit.
//!
//! A conference counts as held only when scheduling recorded it held (an
//! inquorate meeting is not a conference held: its reconvened conference
//! is); one still due or booked is open; a cancelled or inquorate one is
//! neither. A core group meeting missed or cancelled is not open.
//!
//! A reconvened conference stands in for the inquorate conference it
//! reconvened, as the census takes it for the child's initial conference:
//! it counts as a conference of that one's kind, due when that one was and
//! timed from that one's clock start. An ICPC that met inquorate on time
//! and reconvened late is late; counted under its own reconvening
//! deadline, or not at all, it would flatter the figures.
//!
//! An event whose clock start is not known (a due date set by hand) is
//! still on time or late against its due date, but its interval is not
//! known: it is left out of the median interval rather than counted as 0.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::convert::date_to_proto;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use cpc_rules::WorkingDayCalendar;
use cpc_rules::profile::national;
use cpc_rules::timeliness::{Measure, Occurrence, Period, measure};
use sqlx::PgConnection;
use uuid::Uuid;

/// A core group meeting as reporting keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreGroupMeeting {
    pub id: Uuid,
    pub case_id: Uuid,
    /// 1 for the first after the ICPC.
    pub sequence_number: i32,
    /// `due`, `scheduled`, `held`, `missed` or `cancelled`.
    pub status: String,
    pub due_on: NaiveDate,
    pub held_on: Option<NaiveDate>,
    /// The date its clock counts from (the ICPC, or the previous meeting).
    pub clock_started_on: Option<NaiveDate>,
    pub version: i64,
}

/// Stores `meeting` as scheduling last described it; an older copy never
/// overwrites a newer one.
///
/// # Errors
/// Database errors.
pub async fn learn_meeting(
    conn: &mut PgConnection,
    authority: &str,
    meeting: &CoreGroupMeeting,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO core_group_meetings (id, authority_id, case_id, sequence_number, status, \
                                          due_on, held_on, clock_started_on, version, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET \
           status = excluded.status, due_on = excluded.due_on, held_on = excluded.held_on, \
           clock_started_on = excluded.clock_started_on, version = excluded.version, \
           updated_at = excluded.updated_at \
         WHERE core_group_meetings.version < excluded.version",
    )
    .bind(meeting.id)
    .bind(authority)
    .bind(meeting.case_id)
    .bind(meeting.sequence_number.max(1))
    .bind(&meeting.status)
    .bind(meeting.due_on)
    .bind(meeting.held_on)
    .bind(meeting.clock_started_on)
    .bind(meeting.version)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the statistics are asked for.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub authority: &'a str,
    pub period: Period,
    /// Today: what is overdue is judged on it.
    pub as_of: NaiveDate,
    /// The authority's working days. (Not its ICPC timescale: the DfE
    /// measure is national, 15 working days from the s47 start whatever the
    /// local setting, or figures from different authorities would not
    /// compare; the Working Together measure judges each ICPC by the due
    /// date scheduling gave it.)
    pub calendar: &'static WorkingDayCalendar,
}

/// How an interval is counted.
#[derive(Debug, Clone, Copy)]
enum Unit {
    WorkingDays,
    CalendarDays,
}

/// A conference as reporting keeps it and, for a reconvened one, the
/// conference it reconvened (when reporting has it).
#[derive(Debug, Clone, Default, sqlx::FromRow)]
struct ConferenceRow {
    kind: Option<String>,
    status: String,
    child_ids: Vec<Uuid>,
    held_on: Option<NaiveDate>,
    statutory_due_on: Option<NaiveDate>,
    clock_started_on: Option<NaiveDate>,
    previous_kind: Option<String>,
    previous_status: Option<String>,
    previous_due_on: Option<NaiveDate>,
    previous_clock_started_on: Option<NaiveDate>,
}

/// A conference as the measures count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counted<'a> {
    /// The kind it counts as: a reconvened conference counts as the kind
    /// of the one it reconvened.
    kind: &'a str,
    child_ids: &'a [Uuid],
    due: NaiveDate,
    clock_started_on: Option<NaiveDate>,
    held: Option<NaiveDate>,
}

impl ConferenceRow {
    /// How the conference counts; `None` when it counts in no measure (no
    /// kind or due date, or a reconvened conference whose inquorate
    /// conference reporting does not know as inquorate yet: the two
    /// arrive on the feed one after the other, and until then the other
    /// one is still counted as open).
    fn counted(&self) -> Option<Counted<'_>> {
        let (kind, due, clock_started_on) = if self.kind.as_deref() == Some("reconvened") {
            if self.previous_status.as_deref() != Some("inquorate") {
                return None;
            }
            (
                self.previous_kind.as_deref()?,
                self.previous_due_on?,
                self.previous_clock_started_on,
            )
        } else {
            (
                self.kind.as_deref()?,
                self.statutory_due_on?,
                self.clock_started_on,
            )
        };
        Some(Counted {
            kind,
            child_ids: &self.child_ids,
            due,
            clock_started_on,
            held: (self.status == "held").then_some(self.held_on).flatten(),
        })
    }
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    sequence_number: i32,
    status: String,
    due_on: NaiveDate,
    held_on: Option<NaiveDate>,
    clock_started_on: Option<NaiveDate>,
}

/// One event as a measure counts it, and whether its interval is known
/// (its clock start is): only known intervals make the median.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Event {
    occurrence: Occurrence,
    interval_known: bool,
}

/// The authority's timeliness statistics over the period.
///
/// # Errors
/// `FAILED_PRECONDITION` when a date is outside the calendar's years;
/// database errors.
pub async fn statistics(
    conn: &mut PgConnection,
    req: Request<'_>,
    now: DateTime<Utc>,
) -> Result<pb::TimelinessStatistics, ApiError> {
    let Period { start, end } = req.period;
    // Held in the period, or not held and due by its end; a reconvened
    // conference is due when the one it reconvened was (the measures
    // check the dates again, on the conference as counted).
    let rows: Vec<ConferenceRow> = sqlx::query_as(
        "SELECT c.kind, c.status, c.child_ids, c.held_on, c.statutory_due_on, \
                c.clock_started_on, p.kind AS previous_kind, p.status AS previous_status, \
                p.statutory_due_on AS previous_due_on, \
                p.clock_started_on AS previous_clock_started_on \
           FROM conferences c \
           LEFT JOIN conferences p ON c.kind = 'reconvened' AND p.id = c.previous_conference_id \
          WHERE c.kind IS NOT NULL \
            AND ((c.status = 'held' AND c.held_on BETWEEN $1 AND $2) \
                 OR (c.status IN ('due', 'booked') \
                     AND (c.statutory_due_on <= $2 OR p.statutory_due_on <= $2)))",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let conferences: Vec<Counted<'_>> = rows.iter().filter_map(ConferenceRow::counted).collect();
    let meetings: Vec<MeetingRow> = sqlx::query_as(
        "SELECT sequence_number, status, due_on, held_on, clock_started_on \
           FROM core_group_meetings \
          WHERE (status = 'held' AND held_on BETWEEN $1 AND $2) \
             OR (status IN ('due', 'scheduled') AND due_on <= $2)",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
    let of_kind = |kind: &str, unit: Unit| of_kind(req.calendar, &conferences, kind, unit);
    let icpc_dfe = dfe_icpcs(conn, &req, &conferences).await?;
    let first = |first: bool, unit: Unit| -> Result<Vec<Event>, ApiError> {
        meetings
            .iter()
            .filter(|m| (m.sequence_number == 1) == first)
            .map(|m| {
                let held = (m.status == "held").then_some(m.held_on).flatten();
                event(req.calendar, unit, m.due_on, m.clock_started_on, held)
            })
            .collect()
    };
    let taken = |events: Vec<Event>| proto(measured(&events, req.period, req.as_of));
    Ok(pb::TimelinessStatistics {
        authority_id: req.authority.to_owned(),
        period: Some(common::DateRange {
            start_date: Some(date_to_proto(start)),
            end_date: Some(date_to_proto(end)),
        }),
        icpc_within_15_working_days: Some(taken(icpc_dfe)),
        // Pre-birth ICPCs are due by a point in the pregnancy, not 15
        // working days after the strategy discussion: they are in the DfE
        // measure only.
        icpc_within_15_working_days_of_strategy: Some(taken(of_kind(
            "initial",
            Unit::WorkingDays,
        )?)),
        transfer_in_on_time: Some(taken(of_kind("transfer_in", Unit::WorkingDays)?)),
        reviews_on_time: Some(taken(of_kind("review", Unit::CalendarDays)?)),
        first_core_groups_on_time: Some(taken(first(true, Unit::WorkingDays)?)),
        core_groups_on_time: Some(taken(first(false, Unit::CalendarDays)?)),
        compute_time: Some(cpc_platform::convert::timestamp_to_proto(now)),
    })
}

/// The events of the conferences that count as `kind`, measured in `unit`
/// from each one's clock start.
fn of_kind(
    calendar: &WorkingDayCalendar,
    conferences: &[Counted<'_>],
    kind: &str,
    unit: Unit,
) -> Result<Vec<Event>, ApiError> {
    conferences
        .iter()
        .filter(|c| c.kind == kind)
        .map(|c| event(calendar, unit, c.due, c.clock_started_on, c.held))
        .collect()
}

/// `events` measured over `period` as on `as_of`, the median interval
/// taken over those whose interval is known only (0 when none is).
fn measured(events: &[Event], period: Period, as_of: NaiveDate) -> Measure {
    let all: Vec<Occurrence> = events.iter().map(|e| e.occurrence).collect();
    let known: Vec<Occurrence> = events
        .iter()
        .filter(|e| e.interval_known)
        .map(|e| e.occurrence)
        .collect();
    Measure {
        median_interval: measure(&known, period, as_of).median_interval,
        ..measure(&all, period, as_of)
    }
}

/// The DfE measure (s47 start to `DateOfInitialCPC`): for each child of
/// each initial or pre-birth conference (the census's initial
/// conferences), the working days from the child's latest section 47
/// start on or before the conference (or before today, for one not held)
/// to the conference; due 15 working days after that start, the national
/// timescale whatever the authority's own. Children without a known start
/// are left out.
async fn dfe_icpcs(
    conn: &mut PgConnection,
    req: &Request<'_>,
    conferences: &[Counted<'_>],
) -> Result<Vec<Event>, ApiError> {
    let initial: Vec<&Counted<'_>> = conferences.iter().filter(|c| is_initial(c)).collect();
    let children: Vec<Uuid> = initial
        .iter()
        .flat_map(|c| c.child_ids.iter().copied())
        .collect();
    // Every start of those children in one query, latest first.
    let mut starts: HashMap<Uuid, Vec<NaiveDate>> = HashMap::new();
    for (child, start) in sqlx::query_as::<_, (Uuid, NaiveDate)>(
        "SELECT child_id, start_on FROM s47_enquiries WHERE child_id = ANY ($1) \
          ORDER BY child_id, start_on DESC",
    )
    .bind(&children)
    .fetch_all(&mut *conn)
    .await?
    {
        starts.entry(child).or_default().push(start);
    }
    dfe_events(req.calendar, req.as_of, &initial, &starts)
}

/// Whether `conference` is a child's initial conference for the census
/// (`DateOfInitialCPC`): an initial or a pre-birth conference.
fn is_initial(conference: &Counted<'_>) -> bool {
    matches!(conference.kind, "initial" | "pre_birth")
}

/// [`dfe_icpcs`] once the children's s47 starts are read: `starts` holds
/// each child's, latest first.
fn dfe_events(
    calendar: &WorkingDayCalendar,
    as_of: NaiveDate,
    initial: &[&Counted<'_>],
    starts: &HashMap<Uuid, Vec<NaiveDate>>,
) -> Result<Vec<Event>, ApiError> {
    let mut events = Vec::new();
    for c in initial {
        let by = c.held.unwrap_or(as_of);
        let latest = c
            .child_ids
            .iter()
            .filter_map(|child| starts.get(child)?.iter().find(|s| **s <= by));
        for &start in latest {
            let due = calendar
                .add_working_days(start, national::ICPC_WORKING_DAYS)
                .map_err(out_of_range)?;
            events.push(event(
                calendar,
                Unit::WorkingDays,
                due,
                Some(start),
                c.held,
            )?);
        }
    }
    Ok(events)
}

fn event(
    calendar: &WorkingDayCalendar,
    unit: Unit,
    due: NaiveDate,
    clock_started_on: Option<NaiveDate>,
    held: Option<NaiveDate>,
) -> Result<Event, ApiError> {
    // Without a known clock start (a due date set by hand) the interval is
    // unknown: 0 stands in, and `interval_known` keeps it out of the median.
    let interval = match (held, clock_started_on, unit) {
        (None, _, _) | (_, None, _) => 0,
        (Some(held), Some(from), Unit::WorkingDays) => i64::from(
            calendar
                .working_days_between(from, held)
                .map_err(out_of_range)?,
        ),
        (Some(held), Some(from), Unit::CalendarDays) => (held - from).num_days(),
    };
    Ok(Event {
        occurrence: Occurrence {
            due,
            held: held.map(|held| (held, interval)),
            open: held.is_none(),
        },
        interval_known: clock_started_on.is_some(),
    })
}

fn proto(m: Measure) -> pb::TimelinessMeasure {
    let count = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
    pb::TimelinessMeasure {
        eligible_count: count(m.eligible),
        on_time_count: count(m.on_time),
        late_count: count(m.late),
        overdue_open_count: count(m.overdue_open),
        on_time_percent: m.on_time_percent,
        median_interval: m.median_interval,
    }
}

#[allow(clippy::needless_pass_by_value)] // the shape map_err hands over
fn out_of_range(err: cpc_rules::RulesError) -> ApiError {
    ApiError::FailedPrecondition(format!("a date is outside the working-day calendar: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn calendar() -> &'static WorkingDayCalendar {
        WorkingDayCalendar::for_nation(cpc_rules::Nation::EnglandAndWales)
    }

    fn period_2025() -> Period {
        Period {
            start: day(2025, 1, 1),
            end: day(2025, 12, 31),
        }
    }

    const CHILD: Uuid = Uuid::from_u128(1);

    /// The s47 (and its strategy discussion) on Monday 2 June 2025, so the
    /// ICPC is due on 23 June; it met inquorate on 20 June and reconvened
    /// on 1 July (21 working days).
    fn reconvened_icpc(status: &str, held_on: Option<NaiveDate>) -> ConferenceRow {
        ConferenceRow {
            kind: Some("reconvened".to_owned()),
            status: status.to_owned(),
            child_ids: vec![CHILD],
            held_on,
            // Its own deadline: 10 working days after the inquorate meeting.
            statutory_due_on: Some(day(2025, 7, 4)),
            clock_started_on: Some(day(2025, 6, 20)),
            previous_kind: Some("initial".to_owned()),
            previous_status: Some("inquorate".to_owned()),
            previous_due_on: Some(day(2025, 6, 23)),
            previous_clock_started_on: Some(day(2025, 6, 2)),
        }
    }

    fn counts(m: &Measure) -> (u32, u32, u32, u32) {
        (m.eligible, m.on_time, m.late, m.overdue_open)
    }

    fn starts() -> HashMap<Uuid, Vec<NaiveDate>> {
        HashMap::from([(CHILD, vec![day(2025, 6, 2)])])
    }

    #[test]
    fn a_reconvened_icpc_counts_as_the_icpc_it_reconvened_late() {
        let row = reconvened_icpc("held", Some(day(2025, 7, 1)));
        let counted = row.counted().unwrap();
        assert_eq!(
            counted,
            Counted {
                kind: "initial",
                child_ids: &[CHILD],
                due: day(2025, 6, 23),
                clock_started_on: Some(day(2025, 6, 2)),
                held: Some(day(2025, 7, 1)),
            }
        );
        let as_of = day(2025, 8, 1);
        let strategy = of_kind(calendar(), &[counted], "initial", Unit::WorkingDays).unwrap();
        let dfe = dfe_events(calendar(), as_of, &[&counted], &starts()).unwrap();
        for events in [strategy, dfe] {
            let m = measured(&events, period_2025(), as_of);
            assert_eq!(counts(&m), (1, 0, 1, 0), "{m:?}");
            assert!((m.median_interval - 21.0).abs() < f64::EPSILON, "{m:?}");
        }
    }

    #[test]
    fn a_reconvened_icpc_not_yet_held_is_overdue_from_the_icpcs_due_date() {
        // Its own deadline (4 July) is not past on 1 July; the ICPC's is.
        let row = reconvened_icpc("booked", None);
        let counted = row.counted().unwrap();
        let as_of = day(2025, 7, 1);
        let period = Period {
            start: day(2025, 6, 1),
            end: day(2025, 6, 30),
        };
        let strategy = of_kind(calendar(), &[counted], "initial", Unit::WorkingDays).unwrap();
        let dfe = dfe_events(calendar(), as_of, &[&counted], &starts()).unwrap();
        for events in [strategy, dfe] {
            let m = measured(&events, period, as_of);
            assert_eq!(counts(&m), (0, 0, 0, 1), "{m:?}");
        }
    }

    #[test]
    fn a_reconvened_conference_counts_only_for_an_inquorate_one_reporting_knows() {
        let held = Some(day(2025, 7, 1));
        // The inquorate conference not yet known, or not yet known as
        // inquorate (it is still counted as open itself).
        for previous_status in [None, Some("booked")] {
            let row = ConferenceRow {
                previous_status: previous_status.map(str::to_owned),
                ..reconvened_icpc("held", held)
            };
            assert_eq!(row.counted(), None);
        }
        let unknown = ConferenceRow {
            previous_kind: None,
            previous_status: None,
            previous_due_on: None,
            previous_clock_started_on: None,
            ..reconvened_icpc("held", held)
        };
        assert_eq!(unknown.counted(), None);
    }

    #[test]
    fn a_reconvened_review_counts_as_the_review_it_reconvened() {
        // A first review due 30 September 2025 (ICPC 30 June), inquorate
        // on 29 September, reconvened on 10 October: late, 102 days.
        let row = ConferenceRow {
            kind: Some("reconvened".to_owned()),
            status: "held".to_owned(),
            child_ids: vec![CHILD],
            held_on: Some(day(2025, 10, 10)),
            statutory_due_on: Some(day(2025, 10, 13)),
            clock_started_on: Some(day(2025, 9, 29)),
            previous_kind: Some("review".to_owned()),
            previous_status: Some("inquorate".to_owned()),
            previous_due_on: Some(day(2025, 9, 30)),
            previous_clock_started_on: Some(day(2025, 6, 30)),
        };
        let counted = row.counted().unwrap();
        assert_eq!(counted.kind, "review");
        let events = of_kind(calendar(), &[counted], "review", Unit::CalendarDays).unwrap();
        let m = measured(&events, period_2025(), day(2025, 12, 1));
        assert_eq!(counts(&m), (1, 0, 1, 0), "{m:?}");
        assert!((m.median_interval - 102.0).abs() < f64::EPSILON, "{m:?}");
        // Nor is it an ICPC.
        assert!(!is_initial(&counted));
    }

    #[test]
    fn a_pre_birth_icpc_is_in_the_dfe_measure_only() {
        // Due by 28 weeks' gestation, its clock the expected birth.
        let row = ConferenceRow {
            kind: Some("pre_birth".to_owned()),
            status: "held".to_owned(),
            child_ids: vec![CHILD],
            held_on: Some(day(2025, 6, 20)),
            statutory_due_on: Some(day(2025, 9, 1)),
            clock_started_on: Some(day(2025, 11, 17)),
            ..ConferenceRow::default()
        };
        let counted = row.counted().unwrap();
        assert!(is_initial(&counted));
        let as_of = day(2025, 8, 1);
        let dfe = dfe_events(calendar(), as_of, &[&counted], &starts()).unwrap();
        let m = measured(&dfe, period_2025(), as_of);
        // 2 to 20 June: 14 working days, on time.
        assert_eq!(counts(&m), (1, 1, 0, 0), "{m:?}");
        assert!((m.median_interval - 14.0).abs() < f64::EPSILON, "{m:?}");
        let strategy = of_kind(calendar(), &[counted], "initial", Unit::WorkingDays).unwrap();
        assert!(strategy.is_empty());
    }

    #[test]
    fn the_dfe_measure_allows_the_national_15_working_days() {
        // The 15th working day after 2 June 2025 is 23 June: on time that
        // day, late the next, whatever the authority's own (stricter)
        // ICPC timescale.
        let as_of = day(2025, 8, 1);
        let held_on = |held: NaiveDate| ConferenceRow {
            kind: Some("initial".to_owned()),
            status: "held".to_owned(),
            child_ids: vec![CHILD],
            held_on: Some(held),
            statutory_due_on: Some(day(2025, 6, 16)),
            clock_started_on: Some(day(2025, 6, 2)),
            ..ConferenceRow::default()
        };
        let on_time = held_on(day(2025, 6, 23));
        let late = held_on(day(2025, 6, 24));
        let conferences = [on_time.counted().unwrap(), late.counted().unwrap()];
        let initial: Vec<&Counted<'_>> = conferences.iter().collect();
        let events = dfe_events(calendar(), as_of, &initial, &starts()).unwrap();
        assert!(events.iter().all(|e| e.occurrence.due == day(2025, 6, 23)));
        let m = measured(&events, period_2025(), as_of);
        assert_eq!(counts(&m), (2, 1, 1, 0), "{m:?}");
    }

    #[test]
    fn an_unknown_clock_start_is_on_time_or_late_but_not_in_the_median() {
        let known = event(
            calendar(),
            Unit::WorkingDays,
            day(2025, 6, 23),
            Some(day(2025, 6, 2)),
            Some(day(2025, 6, 30)),
        )
        .unwrap();
        let unknown = |held| {
            event(
                calendar(),
                Unit::CalendarDays,
                day(2025, 6, 23),
                None,
                Some(held),
            )
            .unwrap()
        };
        let as_of = day(2025, 8, 1);
        // 20 working days, and two set by hand, one of them on time: the
        // median is 20, not 0.
        let events = [known, unknown(day(2025, 6, 20)), unknown(day(2025, 7, 1))];
        let m = measured(&events, period_2025(), as_of);
        assert_eq!(counts(&m), (3, 1, 2, 0), "{m:?}");
        assert!((m.median_interval - 20.0).abs() < f64::EPSILON, "{m:?}");
        // With none known there is no median.
        let m = measured(&events[1..], period_2025(), as_of);
        assert_eq!(counts(&m), (2, 1, 1, 0), "{m:?}");
        assert!(m.median_interval.abs() < f64::EPSILON, "{m:?}");
    }
}
