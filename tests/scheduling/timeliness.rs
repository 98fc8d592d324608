//! Timeliness statistics in the reporting service, from the conferences
//! scheduling holds and the section 47 enquiries cases starts: an ICPC
//! held long after its strategy discussion is late on both ICPC measures,
//! with its interval in working days; another child's ICPC never held is
//! overdue; an ICPC that met inquorate counts once, as its reconvened
//! conference; bad periods name their fields.

use cpc_proto::common::v1 as common;
use cpc_proto::reporting::v1 as pb;
use tonic::Code;

use crate::bad_request::bad_fields;
use crate::diary::*;
use crate::meetings::{Held, last_working_day, plan_started, plan_started_reconvened, timescales};
use crate::minutes::{reporting, until_reporting_knows};
use crate::support::*;

fn asked(start: chrono::NaiveDate, end: chrono::NaiveDate) -> pb::GetTimelinessStatisticsRequest {
    pb::GetTimelinessStatisticsRequest {
        authority_id: AUTHORITY.into(),
        period: Some(common::DateRange {
            start_date: pd_of(start),
            end_date: pd_of(end),
        }),
    }
}

#[tokio::test]
async fn late_and_overdue_conferences_are_counted_over_the_period() {
    let (mut f, mut conferences) = start().await;
    let strategy = date(2025, 6, 4);
    let Held { conference, .. } = Box::pin(plan_started(&mut f, &mut conferences, "TIM0001")).await;
    // Another child's s47 from the same day; its ICPC (due 25 June 2025)
    // is never held.
    s47_started(&mut f, "TIM0002", strategy).await;
    until_reporting_knows(
        &f,
        "SELECT (SELECT count(*) FROM conferences WHERE kind = 'initial') = 2 \
            AND (SELECT count(*) FROM s47_enquiries) = 2 \
            AND EXISTS (SELECT 1 FROM conferences WHERE id = $1::uuid AND status = 'held')",
        &[&conference],
    )
    .await;
    let mut client = reporting(&f).await;
    let today = uk_today();
    let statistics = client
        .get_timeliness_statistics(f.team_manager().req(asked(date(2025, 1, 1), today)))
        .await
        .unwrap()
        .into_inner()
        .statistics
        .unwrap();
    let held_after = timescales()
        .calendar()
        .working_days_between(strategy, last_working_day())
        .unwrap();
    for measure in [
        statistics.icpc_within_15_working_days_of_strategy.unwrap(),
        statistics.icpc_within_15_working_days.unwrap(),
    ] {
        assert_eq!(
            (
                measure.eligible_count,
                measure.on_time_count,
                measure.late_count,
                measure.overdue_open_count
            ),
            (1, 0, 1, 1),
            "{measure:?}"
        );
        assert!((measure.median_interval - f64::from(held_after)).abs() < f64::EPSILON);
        assert!(measure.on_time_percent.abs() < f64::EPSILON);
    }
    // The first core group is due 10 working days after the ICPC: not yet
    // overdue, and nothing else has happened.
    for measure in [
        statistics.first_core_groups_on_time.unwrap(),
        statistics.reviews_on_time.unwrap(),
        statistics.transfer_in_on_time.unwrap(),
    ] {
        assert_eq!(measure, pb::TimelinessMeasure::default());
    }
    // A period before any of it: nothing.
    let before = client
        .get_timeliness_statistics(
            f.team_manager()
                .req(asked(date(2024, 1, 1), date(2024, 12, 31))),
        )
        .await
        .unwrap()
        .into_inner()
        .statistics
        .unwrap();
    assert_eq!(
        before.icpc_within_15_working_days_of_strategy,
        Some(pb::TimelinessMeasure::default())
    );

    // Bad periods name their fields; a social worker may not ask.
    let status = client
        .get_timeliness_statistics(f.team_manager().req(pb::GetTimelinessStatisticsRequest {
            authority_id: String::new(),
            period: Some(common::DateRange {
                start_date: pd_of(date(2025, 1, 1)),
                end_date: None,
            }),
        }))
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["authority_id", "period.end_date"]);
    let status = client
        .get_timeliness_statistics(
            f.team_manager()
                .req(asked(date(2020, 1, 1), date(2025, 1, 2))),
        )
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["period"]);
    let status = client
        .get_timeliness_statistics(
            f.team_manager()
                .req(asked(date(2025, 1, 2), date(2025, 1, 1))),
        )
        .await
        .unwrap_err();
    assert_eq!(bad_fields(&status), ["period.end_date"]);
    let status = client
        .get_timeliness_statistics(f.social_worker().req(asked(date(2025, 1, 1), today)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    f.stop().await;
}

#[tokio::test]
async fn an_icpc_that_met_inquorate_counts_once_as_its_reconvened_conference() {
    let (mut f, mut conferences) = start().await;
    // The s47 and strategy discussion on 4 June 2025; the ICPC met
    // inquorate the working day before its reconvened conference was
    // held, today: both long after the ICPC was due.
    let strategy = date(2025, 6, 4);
    let Held {
        conference,
        held_on,
        ..
    } = Box::pin(plan_started_reconvened(&mut f, &mut conferences, "TIM0003")).await;
    until_reporting_knows(
        &f,
        "SELECT EXISTS (SELECT 1 FROM conferences r \
                          JOIN conferences p ON p.id = r.previous_conference_id \
                         WHERE r.id = $1::uuid AND r.status = 'held' \
                           AND p.status = 'inquorate') \
            AND (SELECT count(*) FROM s47_enquiries) = 1",
        &[&conference],
    )
    .await;
    let statistics = reporting(&f)
        .await
        .get_timeliness_statistics(f.team_manager().req(asked(date(2025, 1, 1), uk_today())))
        .await
        .unwrap()
        .into_inner()
        .statistics
        .unwrap();
    let held_after = timescales()
        .calendar()
        .working_days_between(strategy, held_on)
        .unwrap();
    // One ICPC, held late, timed from the strategy discussion (not from
    // the inquorate meeting); the inquorate meeting is neither held nor
    // overdue.
    for measure in [
        statistics.icpc_within_15_working_days_of_strategy.unwrap(),
        statistics.icpc_within_15_working_days.unwrap(),
    ] {
        assert_eq!(
            (
                measure.eligible_count,
                measure.on_time_count,
                measure.late_count,
                measure.overdue_open_count
            ),
            (1, 0, 1, 0),
            "{measure:?}"
        );
        assert!(
            (measure.median_interval - f64::from(held_after)).abs() < f64::EPSILON,
            "{measure:?}"
        );
    }
    assert_eq!(
        statistics.reviews_on_time,
        Some(pb::TimelinessMeasure::default())
    );
    f.stop().await;
}
