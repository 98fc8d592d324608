//! Resolving a conference's decision from the professionals' views.
//!
//! DOMAIN.md, conference rules: "each professional gives a view and a 0–10
//! safety scale. If the decision is split or no majority forms, the chair
//! decides whether the child needs a plan and records a rationale; if the
//! category is not agreed, the chair decides the primary category."
//!
//! **Majority** means strictly more than half of the views given: 3 of 5 or
//! 3 of 4 is a majority, 2 of 4 is a split. A strict majority binds; the chair
//! cannot overrule it (an attempt is an error, not silently ignored).

use serde::{Deserialize, Serialize};

use crate::categories::CategoryOfHarm;
use crate::error::RulesError;

/// A professional's 0–10 safety scale (0: certain harm, 10: safe enough to
/// close), as given in the decision part of the agenda.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u8")]
pub struct SafetyScale(u8);

impl SafetyScale {
    /// Accepts 0..=10 only.
    ///
    /// # Errors
    /// `ScaleOutOfRange` with the value given.
    pub fn new(value: i64) -> Result<Self, RulesError> {
        u8::try_from(value)
            .ok()
            .filter(|scale| *scale <= 10)
            .map(Self)
            .ok_or(RulesError::ScaleOutOfRange { value })
    }

    /// The scale value, 0..=10.
    #[must_use]
    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<i64> for SafetyScale {
    type Error = RulesError;

    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<SafetyScale> for u8 {
    fn from(scale: SafetyScale) -> Self {
        scale.0
    }
}

/// One professional's view at the decision point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfessionalView {
    /// Whether they think the child needs a child protection plan.
    pub recommends_plan: bool,
    /// Their safety scale.
    pub safety_scale: SafetyScale,
    /// The category of harm they would record, if they gave one.
    pub category: Option<CategoryOfHarm>,
}

/// What the chair decided, when asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChairInput {
    /// The chair's decision on a plan; used only when the views are split.
    pub needs_plan: Option<bool>,
    /// The chair's primary category; used only when the views do not agree.
    pub primary_category: Option<CategoryOfHarm>,
    /// Why; required (non-blank) whenever the chair's decision is used.
    pub rationale: String,
}

/// Who settled a part of the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A strict majority (plan) or unanimity of those who gave one (category).
    Professionals,
    /// The chair, because the professionals were split or did not agree.
    Chair,
}

/// The category recorded with a plan and who settled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryDecision {
    /// The (initial or latest) category of harm.
    pub category: CategoryOfHarm,
    /// Whether the professionals agreed it or the chair chose it.
    pub basis: Basis,
}

/// A complete conference decision, ready for the minutes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConferenceDecision {
    /// Whether the child needs (or continues to need) a plan.
    pub needs_plan: bool,
    /// Who settled `needs_plan`.
    pub plan_basis: Basis,
    /// The category, present exactly when `needs_plan` (every child on a plan
    /// has one, DOMAIN.md categories of harm).
    pub category: Option<CategoryDecision>,
    /// The chair's rationale, present exactly when the chair decided anything.
    pub chair_rationale: Option<String>,
}

/// What the chair must still decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChairNeeded {
    /// The views are split: the chair decides whether a plan is needed.
    pub decide_plan: bool,
    /// The categories given do not agree (or none was given): the chair names
    /// the primary category if there is to be a plan.
    pub decide_category: bool,
}

/// The outcome of [`resolve`]: a decision, or what to ask the chair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Everything is settled.
    Decided(ConferenceDecision),
    /// The chair must decide first; call again with their input.
    NeedsChair(ChairNeeded),
}

/// The plan decision of a strict majority, if one formed.
#[must_use]
pub fn strict_majority(views: &[ProfessionalView]) -> Option<bool> {
    let yes = views.iter().filter(|view| view.recommends_plan).count();
    let no = views.len() - yes;
    if yes * 2 > views.len() {
        Some(true)
    } else if no * 2 > views.len() {
        Some(false)
    } else {
        None
    }
}

/// The category every view that recommends a plan and gave one agrees on;
/// `None` if they differ or nobody gave one. A category named by someone
/// against a plan does not count: the category is agreed by those who
/// think the child needs the plan it goes with.
#[must_use]
pub fn agreed_category(views: &[ProfessionalView]) -> Option<CategoryOfHarm> {
    let mut given = views
        .iter()
        .filter(|view| view.recommends_plan)
        .filter_map(|view| view.category);
    let first = given.next()?;
    given.all(|category| category == first).then_some(first)
}

/// Resolves the decision from the views and, when needed, the chair's input.
///
/// Plan: a strict majority decides; otherwise the chair's `needs_plan`. With
/// a plan, the category is the one all views recommending a plan that gave
/// a category agree on;
/// otherwise the chair's `primary_category`. Without a plan no category is
/// recorded (a chair category is then ignored). If the chair is needed and
/// has not (fully) decided, the result is [`Resolution::NeedsChair`].
///
/// # Errors
/// - `NoViews` for an empty list;
/// - `BlankRationale` if the chair's input is needed but its rationale is
///   blank;
/// - `ChairContradictsMajority` / `ChairContradictsAgreedCategory` if the
///   chair's input contradicts what the professionals settled;
/// - `ChairCategoryNotPrimary` if the chair, deciding the category, names
///   `MUL` rather than the primary category.
pub fn resolve(
    views: &[ProfessionalView],
    chair: Option<&ChairInput>,
) -> Result<Resolution, RulesError> {
    if views.is_empty() {
        return Err(RulesError::NoViews);
    }
    let majority = strict_majority(views);
    let agreed = agreed_category(views);
    let chair_plan = chair.and_then(|c| c.needs_plan);
    let chair_category = chair.and_then(|c| c.primary_category);

    if let (Some(majority), Some(chair_plan)) = (majority, chair_plan)
        && chair_plan != majority
    {
        return Err(RulesError::ChairContradictsMajority {
            majority_recommends_plan: majority,
        });
    }
    let plan = majority
        .map(|needs_plan| (needs_plan, Basis::Professionals))
        .or_else(|| chair_plan.map(|needs_plan| (needs_plan, Basis::Chair)));

    // A category matters unless it is settled that there will be no plan.
    let category_matters = plan.is_none_or(|(needs_plan, _)| needs_plan);
    if category_matters
        && let (Some(agreed), Some(chair)) = (agreed, chair_category)
        && agreed != chair
    {
        return Err(RulesError::ChairContradictsAgreedCategory { agreed, chair });
    }
    // Deciding a disagreement, the chair names the primary category; the
    // professionals may still agree on MUL between themselves.
    if category_matters && agreed.is_none() && chair_category == Some(CategoryOfHarm::Multiple) {
        return Err(RulesError::ChairCategoryNotPrimary);
    }
    let category = agreed
        .map(|category| CategoryDecision {
            category,
            basis: Basis::Professionals,
        })
        .or_else(|| {
            chair_category.map(|category| CategoryDecision {
                category,
                basis: Basis::Chair,
            })
        });

    // The chair is involved exactly when the professionals left something
    // open; then whatever the chair says needs a reason.
    let chair_involved = plan.is_none_or(|(_, basis)| basis == Basis::Chair)
        || (category_matters && agreed.is_none());
    if chair_involved && chair.is_some_and(|c| c.rationale.trim().is_empty()) {
        return Err(RulesError::BlankRationale);
    }
    let (needs_plan, plan_basis) = match plan {
        Some(plan) if !category_matters || category.is_some() => plan,
        _ => {
            return Ok(Resolution::NeedsChair(ChairNeeded {
                decide_plan: plan.is_none(),
                decide_category: category_matters && category.is_none(),
            }));
        }
    };
    let category = category.filter(|_| needs_plan);
    let chair_rationale = chair
        .filter(|_| chair_involved)
        .map(|chair| chair.rationale.clone());
    Ok(Resolution::Decided(ConferenceDecision {
        needs_plan,
        plan_basis,
        category,
        chair_rationale,
    }))
}

#[cfg(test)]
mod tests;
