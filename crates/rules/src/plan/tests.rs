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
    let history = [
        PlanPeriod {
            start: date(2015, 3, 2),
            end: Some(date(2016, 1, 4)),
        },
        PlanPeriod {
            start: date(2018, 6, 1),
            end: Some(date(2019, 2, 1)),
        },
        // This plan itself, and one that starts later, are not counted.
        PlanPeriod {
            start: date(2022, 5, 27),
            end: None,
        },
    ];
    assert_eq!(number_of_previous_plans(&history, date(2022, 5, 27)), Ok(2));
    assert_eq!(number_of_previous_plans(&history, date(2017, 1, 1)), Ok(1));
    assert_eq!(number_of_previous_plans(&[], date(2017, 1, 1)), Ok(0));
    // A plan ending on the day the next starts does not overlap it.
    assert_eq!(number_of_previous_plans(&history, date(2019, 2, 1)), Ok(2));
    assert_eq!(
        number_of_previous_plans(&history, date(2019, 1, 31)),
        Err(RulesError::OverlappingPlans {
            previous_start: date(2018, 6, 1),
            start: date(2019, 1, 31)
        })
    );
    assert_eq!(
        number_of_previous_plans(&history, date(2023, 1, 1)),
        Err(RulesError::OverlappingPlans {
            previous_start: date(2022, 5, 27),
            start: date(2023, 1, 1)
        })
    );
}
