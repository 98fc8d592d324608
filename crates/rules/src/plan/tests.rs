use super::*;
use EndReason::{
    BecameLookedAfter, Died, LeftUkPermanently, NoLongerAtRisk, TransferredOut, TurnedEighteen,
};
use EndedBy::{Manager, ReceivingAuthorityTransferInConference, ReviewConference};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn refused(
    from: PlanState,
    event: PlanEvent,
    why: Refusal,
) -> Result<PlanState, IllegalTransition> {
    Err(IllegalTransition { from, event, why })
}

fn end(reason: EndReason, by: EndedBy) -> PlanEvent {
    PlanEvent::End { reason, by }
}

#[test]
fn a_plan_starts_continues_and_ends_at_review() {
    let active = transition(PlanState::Proposed, PlanEvent::Start).unwrap();
    assert_eq!(active, PlanState::Active);
    assert_eq!(
        transition(active, PlanEvent::ReviewContinue),
        Ok(PlanState::Active)
    );
    assert_eq!(
        transition(active, end(NoLongerAtRisk, ReviewConference)),
        Ok(PlanState::Ended(NoLongerAtRisk))
    );
    assert_eq!(
        transition(PlanState::Proposed, PlanEvent::Decline),
        Ok(PlanState::NotNeeded)
    );
}

#[test]
fn no_longer_at_risk_needs_a_review_conference() {
    let event = end(NoLongerAtRisk, Manager);
    assert_eq!(
        transition(PlanState::Active, event),
        refused(PlanState::Active, event, Refusal::RiskNeedsReviewConference)
    );
    let as_rules_error = RulesError::from(transition(PlanState::Active, event).unwrap_err());
    assert_eq!(
        as_rules_error.to_string(),
        "cannot apply End { reason: NoLongerAtRisk, by: Manager } to a plan in state Active: \
         only a review conference can decide the child is no longer at risk"
    );
}

#[test]
fn transfer_out_ends_only_at_the_receiving_authoritys_conference() {
    for by in [Manager, ReviewConference] {
        let event = end(TransferredOut, by);
        assert_eq!(
            transition(PlanState::Active, event),
            refused(
                PlanState::Active,
                event,
                Refusal::TransferNeedsReceivingConference
            )
        );
    }
    assert_eq!(
        transition(
            PlanState::Active,
            end(TransferredOut, ReceivingAuthorityTransferInConference)
        ),
        Ok(PlanState::Ended(TransferredOut))
    );
    let event = end(Died, ReceivingAuthorityTransferInConference);
    assert_eq!(
        transition(PlanState::Active, event),
        refused(
            PlanState::Active,
            event,
            Refusal::ReceivingConferenceOnlyTransfers
        )
    );
}

#[test]
fn non_risk_reasons_may_be_ended_by_a_manager_or_a_review() {
    for reason in [TurnedEighteen, LeftUkPermanently, BecameLookedAfter, Died] {
        assert!(reason.is_non_risk());
        for by in [Manager, ReviewConference] {
            assert_eq!(
                transition(PlanState::Active, end(reason, by)),
                Ok(PlanState::Ended(reason))
            );
        }
    }
    assert!(!NoLongerAtRisk.is_non_risk());
    assert!(!TransferredOut.is_non_risk());
}

#[test]
fn final_and_undecided_states_refuse_reviews_and_endings() {
    for state in [
        PlanState::Proposed,
        PlanState::NotNeeded,
        PlanState::Ended(Died),
    ] {
        for event in [PlanEvent::ReviewContinue, end(TurnedEighteen, Manager)] {
            assert_eq!(
                transition(state, event),
                refused(state, event, Refusal::NotActive)
            );
        }
    }
    for state in [
        PlanState::Active,
        PlanState::NotNeeded,
        PlanState::Ended(NoLongerAtRisk),
    ] {
        for event in [PlanEvent::Start, PlanEvent::Decline] {
            assert_eq!(
                transition(state, event),
                refused(state, event, Refusal::AlreadyDecided)
            );
        }
    }
}

#[test]
fn previous_plans_are_counted_for_the_census() {
    let ended = [
        PlanPeriod {
            start: date(2015, 3, 2),
            end: Some(date(2016, 1, 4)),
        },
        PlanPeriod {
            start: date(2018, 6, 1),
            end: Some(date(2019, 2, 1)),
        },
    ];
    assert_eq!(number_of_previous_plans(&ended, date(2022, 5, 27)), Ok(2));
    assert_eq!(number_of_previous_plans(&ended, date(2019, 2, 2)), Ok(2));
    assert_eq!(number_of_previous_plans(&[], date(2017, 1, 1)), Ok(0));
    let overlap = |previous_start, start| {
        Err(RulesError::OverlappingPlans {
            previous_start,
            start,
        })
    };
    // Validation 8940 includes both days: a plan may not start on the day
    // the last one ended, nor on a day another plan was running.
    assert_eq!(
        number_of_previous_plans(&ended, date(2019, 2, 1)),
        overlap(date(2018, 6, 1), date(2019, 2, 1))
    );
    assert_eq!(
        number_of_previous_plans(&ended, date(2019, 1, 31)),
        overlap(date(2018, 6, 1), date(2019, 1, 31))
    );
    // A plan starting later overlaps the new one, which is open.
    assert_eq!(
        number_of_previous_plans(&ended, date(2017, 1, 1)),
        overlap(date(2018, 6, 1), date(2017, 1, 1))
    );
    // An open plan overlaps whatever its start; a plan ended and started
    // on one day overlaps a new plan starting that day.
    let open = [PlanPeriod {
        start: date(2022, 5, 27),
        end: None,
    }];
    assert_eq!(
        number_of_previous_plans(&open, date(2023, 1, 1)),
        overlap(date(2022, 5, 27), date(2023, 1, 1))
    );
    assert_eq!(
        number_of_previous_plans(&open, date(2022, 5, 27)),
        overlap(date(2022, 5, 27), date(2022, 5, 27))
    );
    let one_day = [PlanPeriod {
        start: date(2022, 5, 27),
        end: Some(date(2022, 5, 27)),
    }];
    assert_eq!(
        number_of_previous_plans(&one_day, date(2022, 5, 27)),
        overlap(date(2022, 5, 27), date(2022, 5, 27))
    );
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Days within a few years, so plans often meet and overlap.
    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0u64..1_500).prop_map(|d| date(2020, 1, 1) + chrono::Days::new(d))
    }

    fn any_plan() -> impl Strategy<Value = PlanPeriod> {
        (any_day(), proptest::option::of(0u64..400)).prop_map(|(start, length)| PlanPeriod {
            start,
            end: length.map(|days| start + chrono::Days::new(days)),
        })
    }

    /// DfE validation 8940 in its own words: no plan's start falls within
    /// another plan's start to end (both included; an open plan runs on).
    fn starts_within(a: &PlanPeriod, b: &PlanPeriod) -> bool {
        a.start >= b.start && b.end.is_none_or(|end| a.start <= end)
    }

    proptest! {
        #[test]
        fn a_new_plan_is_counted_exactly_when_validation_8940_passes(
            history in proptest::collection::vec(any_plan(), 0..6),
            start in any_day(),
        ) {
            let new = PlanPeriod { start, end: None };
            let passes = history
                .iter()
                .all(|old| !starts_within(&new, old) && !starts_within(old, &new));
            match number_of_previous_plans(&history, start) {
                Ok(count) => {
                    prop_assert!(passes);
                    prop_assert_eq!(count as usize, history.len());
                }
                Err(RulesError::OverlappingPlans { previous_start, start: at }) => {
                    prop_assert!(!passes);
                    prop_assert_eq!(at, start);
                    prop_assert!(history.iter().any(|old| old.start == previous_start
                        && (starts_within(&new, old) || starts_within(old, &new))));
                }
                Err(other) => prop_assert!(false, "unexpected {other:?}"),
            }
        }
    }
}
