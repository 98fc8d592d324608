//! The one error type of the rules crate.
//!
//! Every refusal names exactly what was wrong so that callers (the services'
//! gRPC adapters) can turn it into a field violation without guessing.

use std::fmt;

use chrono::NaiveDate;

use crate::categories::CategoryOfHarm;
use crate::plan::IllegalTransition;

/// Everything the rules can refuse.
///
/// Kept as one enum (STYLE.md: one `thiserror` enum per crate) so services map
/// it to `tonic::Status` in one place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// A date outside the supported calendar 2000-01-01..=2100-12-31 was given,
    /// or a computed date would fall outside it. Bank holidays are only known
    /// (published or computed by rule) inside that range, so a working-day
    /// answer outside it would be a guess.
    #[error("{subject} is outside the supported calendar 2000-01-01..=2100-12-31")]
    OutOfRange {
        /// The date concerned and whether it was given or computed from.
        subject: RangeSubject,
    },

    /// A nation key other than the gov.uk division keys
    /// `england-and-wales`, `scotland`, `northern-ireland`.
    #[error("unknown nation {value:?}: expected england-and-wales, scotland or northern-ireland")]
    UnknownNation {
        /// The text that was given.
        value: String,
    },

    /// A category code other than the CIN census codes SAB, PHY, EMO, NEG, MUL.
    #[error("unknown category of harm code {code:?}: expected SAB, PHY, EMO, NEG or MUL")]
    UnknownCategoryCode {
        /// The text that was given.
        code: String,
    },

    /// A working-day calendar could not be built: the embedded gov.uk file
    /// does not parse, or a rule produced an impossible date. Tests build
    /// every nation's calendar from the shipped file, so this only appears if
    /// the file is replaced by a broken one.
    #[error("the working-day calendar cannot be built: {reason}")]
    CalendarUnavailable {
        /// What went wrong.
        reason: String,
    },

    /// An authority profile breaks national maxima or common sense; every
    /// violation is listed so a configuration can be fixed in one pass.
    #[error("invalid authority profile: {}", join(violations))]
    InvalidProfile {
        /// One entry per offending setting.
        violations: Vec<ProfileViolation>,
    },

    /// A safety scale outside 0–10 (DOMAIN.md, conference decision).
    #[error("safety scale {value} is outside 0..=10")]
    ScaleOutOfRange {
        /// The value that was given.
        value: i64,
    },

    /// A conference decision was asked for without any professional view.
    #[error("a conference decision needs at least one professional view")]
    NoViews,

    /// The chair decided something but gave no rationale; DOMAIN.md requires
    /// the chair to record one.
    #[error("the chair's decision needs a non-blank rationale")]
    BlankRationale,

    /// The chair tried to overrule a strict majority of professionals on
    /// whether a plan is needed; the chair decides only a split (DOMAIN.md).
    #[error(
        "a strict majority of professionals {} a plan; the chair decides only when views are split",
        if *majority_recommends_plan { "recommends" } else { "does not recommend" }
    )]
    ChairContradictsMajority {
        /// What the majority recommended.
        majority_recommends_plan: bool,
    },

    /// The chair named a primary category different from the one every
    /// professional agreed on; the chair decides only a disagreement.
    #[error("professionals agreed on category {agreed}; the chair chose {chair}")]
    ChairContradictsAgreedCategory {
        /// The category the professionals agreed.
        agreed: CategoryOfHarm,
        /// The category the chair named.
        chair: CategoryOfHarm,
    },

    /// The chair, deciding a category the professionals did not agree,
    /// named `MUL`: the chair decides the *primary* category (DOMAIN.md,
    /// "Decision"), and multiple is "not recommended" in the census.
    #[error("the chair decides the primary category: SAB, PHY, EMO or NEG, not MUL")]
    ChairCategoryNotPrimary,

    /// A plan lifecycle event that is not allowed in the plan's state.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),

    /// An earlier plan was still open (or ended after) the start of a new one;
    /// a child has one plan at a time (DfE CIN validation 8935, 8940).
    #[error("a previous plan starting {previous_start} overlaps the plan starting {start}")]
    OverlappingPlans {
        /// Start of the earlier plan.
        previous_start: NaiveDate,
        /// Start of the plan being counted for.
        start: NaiveDate,
    },
}

/// Which date left the supported range, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSubject {
    /// The caller gave this date.
    Given(NaiveDate),
    /// Counting or adding from this (valid) date would leave the range.
    ComputedFrom(NaiveDate),
}

impl fmt::Display for RangeSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Given(date) => write!(f, "date {date}"),
            Self::ComputedFrom(date) => write!(f, "the date computed from {date}"),
        }
    }
}

/// One setting of an [`AuthorityProfile`](crate::profile::AuthorityProfile)
/// that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileViolation {
    /// The configuration key, as written in the profile file.
    pub field: &'static str,
    /// Why the value is refused.
    pub problem: String,
}

impl fmt::Display for ProfileViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.problem)
    }
}

fn join(violations: &[ProfileViolation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl RulesError {
    /// Shorthand for an input date outside the supported range.
    pub(crate) fn given(date: NaiveDate) -> Self {
        Self::OutOfRange {
            subject: RangeSubject::Given(date),
        }
    }

    /// Shorthand for a result that would leave the supported range.
    pub(crate) fn computed_from(date: NaiveDate) -> Self {
        Self::OutOfRange {
            subject: RangeSubject::ComputedFrom(date),
        }
    }
}
