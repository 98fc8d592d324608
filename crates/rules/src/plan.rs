//! The child protection plan lifecycle.
//!
//! DOMAIN.md, the journey of one child: the conference decides whether the
//! child needs a plan; "the plan ends when a review decides the child is no
//! longer at risk of significant harm, or on transfer (after the receiving
//! authority's transfer-in conference), the child turning 18, leaving the UK
//! permanently, becoming looked after (some procedures), or death. For
//! non-risk reasons a manager may end it without a conference after
//! consulting the agencies."

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::RulesError;

/// Why a plan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// A review conference decided the child is no longer at risk of
    /// significant harm. Only a review conference may decide this.
    NoLongerAtRisk,
    /// The child moved and the receiving authority held its transfer-in
    /// conference; the plan ends here only then, so the child is never
    /// without protection in between.
    TransferredOut,
    /// The child turned 18.
    TurnedEighteen,
    /// The child left the UK permanently.
    LeftUkPermanently,
    /// The child became looked after (where local procedures end the plan).
    BecameLookedAfter,
    /// The child died.
    Died,
}

impl EndReason {
    /// Whether this is a reason other than risk, for which a manager may end
    /// the plan without a conference (after consulting the agencies).
    #[must_use]
    pub const fn is_non_risk(self) -> bool {
        !matches!(self, Self::NoLongerAtRisk | Self::TransferredOut)
    }
}

/// Who ends the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    /// A review child protection conference of this authority.
    ReviewConference,
    /// A manager, without a conference, after consulting the agencies.
    Manager,
    /// The receiving authority's transfer-in conference.
    ReceivingAuthorityTransferInConference,
}

/// Where a plan is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanState {
    /// An initial (or pre-birth, or transfer-in) conference is to decide
    /// whether the child needs a plan.
    Proposed,
    /// The conference decided no plan is needed. Final.
    NotNeeded,
    /// The child is subject to the plan.
    Active,
    /// The plan has ended. Final.
    Ended(EndReason),
}

/// Something that happens to a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanEvent {
    /// The conference decided the child needs a plan.
    Start,
    /// The conference decided the child does not need a plan.
    Decline,
    /// A review conference decided the plan continues.
    ReviewContinue,
    /// The plan ends, for a reason, decided by someone.
    End {
        /// Why.
        reason: EndReason,
        /// Who decided.
        by: EndedBy,
    },
}

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The plan's start has already been decided.
    AlreadyDecided,
    /// Reviews and endings apply only to an active plan.
    NotActive,
    /// "No longer at risk" needs a review conference decision.
    RiskNeedsReviewConference,
    /// A transfer out ends the plan only at the receiving authority's
    /// transfer-in conference.
    TransferNeedsReceivingConference,
    /// The receiving authority's conference ends a plan only by transfer.
    ReceivingConferenceOnlyTransfers,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AlreadyDecided => "whether there is a plan has already been decided",
            Self::NotActive => "the plan is not active",
            Self::RiskNeedsReviewConference => {
                "only a review conference can decide the child is no longer at risk"
            }
            Self::TransferNeedsReceivingConference => {
                "a transfer ends the plan only at the receiving authority's transfer-in conference"
            }
            Self::ReceivingConferenceOnlyTransfers => {
                "the receiving authority's conference can end this plan only by transfer"
            }
        })
    }
}

/// A refused plan event, naming the state, the event and the rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot apply {event:?} to a plan in state {from:?}: {why}")]
pub struct IllegalTransition {
    /// The state the plan was in (unchanged).
    pub from: PlanState,
    /// The refused event.
    pub event: PlanEvent,
    /// The rule it breaks.
    pub why: Refusal,
}

/// Applies `event` to a plan in `state`.
///
/// The error is the narrow [`IllegalTransition`] (it converts into
/// [`RulesError`] with `?`), since nothing else can go wrong here.
///
/// # Errors
/// `IllegalTransition` for anything DOMAIN.md does not allow: starting twice,
/// reviewing or ending a plan that is not active, ending for risk without a
/// review conference, ending by transfer before the receiving authority's
/// transfer-in conference.
pub fn transition(state: PlanState, event: PlanEvent) -> Result<PlanState, IllegalTransition> {
    let refuse = |why| {
        Err(IllegalTransition {
            from: state,
            event,
            why,
        })
    };
    match (state, event) {
        (PlanState::Proposed, PlanEvent::Start) => Ok(PlanState::Active),
        (PlanState::Proposed, PlanEvent::Decline) => Ok(PlanState::NotNeeded),
        (_, PlanEvent::Start | PlanEvent::Decline) => refuse(Refusal::AlreadyDecided),
        (PlanState::Active, PlanEvent::ReviewContinue) => Ok(PlanState::Active),
        (PlanState::Active, PlanEvent::End { reason, by }) => match (reason, by) {
            (EndReason::NoLongerAtRisk, EndedBy::ReviewConference)
            | (EndReason::TransferredOut, EndedBy::ReceivingAuthorityTransferInConference) => {
                Ok(PlanState::Ended(reason))
            }
            (EndReason::NoLongerAtRisk, _) => refuse(Refusal::RiskNeedsReviewConference),
            (EndReason::TransferredOut, _) => refuse(Refusal::TransferNeedsReceivingConference),
            (_, EndedBy::ReceivingAuthorityTransferInConference) => {
                refuse(Refusal::ReceivingConferenceOnlyTransfers)
            }
            (_, EndedBy::ReviewConference | EndedBy::Manager) => Ok(PlanState::Ended(reason)),
        },
        (_, PlanEvent::ReviewContinue | PlanEvent::End { .. }) => refuse(Refusal::NotActive),
    }
}

/// A past or current plan of one child, for counting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPeriod {
    /// `CPPstartDate` (N00105).
    pub start: NaiveDate,
    /// `CPPendDate` (N00115); `None` while open.
    pub end: Option<NaiveDate>,
}

/// The census `NumberOfPreviousCPP` (N00106) for a new plan starting on
/// `start`: how many plans the child had before it, given `history`, every
/// other plan of the child (not the new one).
///
/// # Errors
/// `OverlappingPlans` if any of them is still open or ends on or after
/// `start`: a child has one plan at a time, and DfE validation 8940 counts
/// a plan starting on the day another ended as overlapping it (no plan's
/// start may fall within another's start to end, both days included). A
/// plan starting after `start` overlaps the new plan, which is open.
pub fn number_of_previous_plans(
    history: &[PlanPeriod],
    start: NaiveDate,
) -> Result<u32, RulesError> {
    let mut count: u32 = 0;
    for plan in history {
        if plan.end.is_none_or(|end| end >= start) {
            return Err(RulesError::OverlappingPlans {
                previous_start: plan.start,
                start,
            });
        }
        count += 1;
    }
    Ok(count)
}

#[cfg(test)]
mod tests;
