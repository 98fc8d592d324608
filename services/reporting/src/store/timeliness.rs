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

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use cpc_platform::ApiError;
use cpc_platform::convert::date_to_proto;
use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use cpc_rules::WorkingDayCalendar;
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
    pub calendar: &'static WorkingDayCalendar,
    /// Working days from the s47 start to the ICPC (the DfE measure).
    pub icpc_working_days: u32,
}

/// How an interval is counted.
#[derive(Debug, Clone, Copy)]
enum Unit {
    WorkingDays,
    CalendarDays,
}

#[derive(sqlx::FromRow)]
struct ConferenceRow {
    kind: Option<String>,
    status: String,
    child_ids: Vec<Uuid>,
    held_on: Option<NaiveDate>,
    statutory_due_on: Option<NaiveDate>,
    clock_started_on: Option<NaiveDate>,
}

#[derive(sqlx::FromRow)]
struct MeetingRow {
    sequence_number: i32,
    status: String,
    due_on: NaiveDate,
    held_on: Option<NaiveDate>,
    clock_started_on: Option<NaiveDate>,
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
    // Held in the period, or not held and due by its end.
    let conferences: Vec<ConferenceRow> = sqlx::query_as(
        "SELECT kind, status, child_ids, held_on, statutory_due_on, clock_started_on \
           FROM conferences \
          WHERE kind IS NOT NULL AND statutory_due_on IS NOT NULL \
            AND ((status = 'held' AND held_on BETWEEN $1 AND $2) \
                 OR (status IN ('due', 'booked') AND statutory_due_on <= $2))",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&mut *conn)
    .await?;
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
    let of_kind = |kind: &str, unit: Unit| -> Result<Vec<Occurrence>, ApiError> {
        conferences
            .iter()
            .filter(|c| c.kind.as_deref() == Some(kind))
            .filter_map(|c| {
                let due = c.statutory_due_on?;
                let held = (c.status == "held").then_some(c.held_on).flatten();
                Some(occurrence(
                    req.calendar,
                    unit,
                    due,
                    c.clock_started_on,
                    held,
                ))
            })
            .collect()
    };
    let icpc_dfe = dfe_icpcs(conn, &req, &conferences).await?;
    let first = |first: bool, unit: Unit| -> Result<Vec<Occurrence>, ApiError> {
        meetings
            .iter()
            .filter(|m| (m.sequence_number == 1) == first)
            .map(|m| {
                let held = (m.status == "held").then_some(m.held_on).flatten();
                occurrence(req.calendar, unit, m.due_on, m.clock_started_on, held)
            })
            .collect()
    };
    let taken = |events: Vec<Occurrence>| proto(measure(&events, req.period, req.as_of));
    Ok(pb::TimelinessStatistics {
        authority_id: req.authority.to_owned(),
        period: Some(common::DateRange {
            start_date: Some(date_to_proto(start)),
            end_date: Some(date_to_proto(end)),
        }),
        icpc_within_15_working_days: Some(taken(icpc_dfe)),
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

/// The DfE measure: for each child of each initial conference, the working
/// days from the child's latest section 47 start on or before the
/// conference (or before today, for one not held) to the conference;
/// due `icpc_working_days` after that start. Children without a known
/// start are left out.
async fn dfe_icpcs(
    conn: &mut PgConnection,
    req: &Request<'_>,
    conferences: &[ConferenceRow],
) -> Result<Vec<Occurrence>, ApiError> {
    let initial: Vec<&ConferenceRow> = conferences
        .iter()
        .filter(|c| c.kind.as_deref() == Some("initial"))
        .collect();
    let children: Vec<Uuid> = initial.iter().flat_map(|c| c.child_ids.clone()).collect();
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
    let mut events = Vec::new();
    for c in initial {
        let held = (c.status == "held").then_some(c.held_on).flatten();
        let by = held.unwrap_or(req.as_of);
        let latest = c
            .child_ids
            .iter()
            .filter_map(|child| starts.get(child)?.iter().find(|s| **s <= by));
        for &start in latest {
            let due = req
                .calendar
                .add_working_days(start, req.icpc_working_days)
                .map_err(out_of_range)?;
            events.push(occurrence(
                req.calendar,
                Unit::WorkingDays,
                due,
                Some(start),
                held,
            )?);
        }
    }
    Ok(events)
}

fn occurrence(
    calendar: &WorkingDayCalendar,
    unit: Unit,
    due: NaiveDate,
    clock_started_on: Option<NaiveDate>,
    held: Option<NaiveDate>,
) -> Result<Occurrence, ApiError> {
    let held = match held {
        None => None,
        Some(held) => {
            // A conference without a known clock start (set by hand) counts
            // from its due date's own start: its interval is unknown, so 0.
            let interval = match (clock_started_on, unit) {
                (None, _) => 0,
                (Some(from), Unit::WorkingDays) => i64::from(
                    calendar
                        .working_days_between(from, held)
                        .map_err(out_of_range)?,
                ),
                (Some(from), Unit::CalendarDays) => (held - from).num_days(),
            };
            Some((held, interval))
        }
    };
    Ok(Occurrence {
        due,
        held,
        open: held.is_none(),
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
