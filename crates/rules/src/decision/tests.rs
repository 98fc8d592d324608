use proptest::prelude::*;

use super::*;
use CategoryOfHarm::{Emotional, Multiple, Neglect, Physical};

fn view(recommends_plan: bool, category: Option<CategoryOfHarm>) -> ProfessionalView {
    ProfessionalView {
        recommends_plan,
        safety_scale: SafetyScale::new(3).unwrap(),
        category,
    }
}

fn chair(
    needs_plan: Option<bool>,
    primary_category: Option<CategoryOfHarm>,
    rationale: &str,
) -> ChairInput {
    ChairInput {
        needs_plan,
        primary_category,
        rationale: rationale.to_owned(),
    }
}

#[test]
fn safety_scale_accepts_0_to_10_only() {
    assert_eq!(SafetyScale::new(0).map(SafetyScale::value), Ok(0));
    assert_eq!(SafetyScale::new(10).map(SafetyScale::value), Ok(10));
    assert_eq!(
        SafetyScale::new(11),
        Err(RulesError::ScaleOutOfRange { value: 11 })
    );
    assert_eq!(
        SafetyScale::new(-1),
        Err(RulesError::ScaleOutOfRange { value: -1 })
    );
    assert_eq!(
        SafetyScale::new(256),
        Err(RulesError::ScaleOutOfRange { value: 256 })
    );
    assert_eq!(
        SafetyScale::new(-1).unwrap_err().to_string(),
        "safety scale -1 is outside 0..=10"
    );
    assert!(serde_json::from_str::<SafetyScale>("11").is_err());
    assert_eq!(serde_json::from_str::<SafetyScale>("7").unwrap().value(), 7);
}

#[test]
fn majority_means_strictly_more_than_half() {
    let yes = view(true, None);
    let no = view(false, None);
    assert_eq!(strict_majority(&[yes, yes, no]), Some(true));
    assert_eq!(strict_majority(&[yes, yes, yes, no]), Some(true));
    assert_eq!(strict_majority(&[yes, yes, no, no]), None);
    assert_eq!(strict_majority(&[yes, no]), None);
    assert_eq!(strict_majority(&[no]), Some(false));
    assert_eq!(strict_majority(&[yes, no, no]), Some(false));
}

#[test]
fn a_clear_majority_with_an_agreed_category_decides_without_the_chair() {
    let views = [
        view(true, Some(Neglect)),
        view(true, Some(Neglect)),
        view(false, None),
    ];
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: true,
            plan_basis: Basis::Professionals,
            category: Some(CategoryDecision {
                category: Neglect,
                basis: Basis::Professionals
            }),
            chair_rationale: None,
        }))
    );
}

#[test]
fn a_majority_against_a_plan_records_no_category() {
    let views = [
        view(false, None),
        view(false, Some(Emotional)),
        view(true, Some(Physical)),
    ];
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: false,
            plan_basis: Basis::Professionals,
            category: None,
            chair_rationale: None,
        }))
    );
}

#[test]
fn a_split_needs_the_chair_and_then_a_rationale() {
    let views = [view(true, Some(Neglect)), view(false, None)];
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: true,
            decide_category: false
        }))
    );
    assert_eq!(
        resolve(&views, Some(&chair(Some(true), None, "  \n"))),
        Err(RulesError::BlankRationale)
    );
    assert_eq!(
        resolve(
            &views,
            Some(&chair(Some(true), None, "father's return home"))
        ),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: true,
            plan_basis: Basis::Chair,
            category: Some(CategoryDecision {
                category: Neglect,
                basis: Basis::Professionals
            }),
            chair_rationale: Some("father's return home".to_owned()),
        }))
    );
    assert_eq!(
        resolve(&views, Some(&chair(Some(false), None, "support under CIN"))),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: false,
            plan_basis: Basis::Chair,
            category: None,
            chair_rationale: Some("support under CIN".to_owned()),
        }))
    );
    // A rationale alone does not decide.
    assert_eq!(
        resolve(&views, Some(&chair(None, None, "thinking"))),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: true,
            decide_category: false
        }))
    );
}

#[test]
fn a_disagreed_category_needs_the_chairs_primary_category() {
    let views = [
        view(true, Some(Neglect)),
        view(true, Some(Emotional)),
        view(true, None),
    ];
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: false,
            decide_category: true
        }))
    );
    assert_eq!(
        resolve(&views, Some(&chair(None, Some(Emotional), ""))),
        Err(RulesError::BlankRationale)
    );
    assert_eq!(
        resolve(
            &views,
            Some(&chair(None, Some(Emotional), "primary concern"))
        ),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: true,
            plan_basis: Basis::Professionals,
            category: Some(CategoryDecision {
                category: Emotional,
                basis: Basis::Chair
            }),
            chair_rationale: Some("primary concern".to_owned()),
        }))
    );
    // Nobody gave a category: the chair must name one.
    assert_eq!(
        resolve(&[view(true, None)], None),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: false,
            decide_category: true
        }))
    );
}

#[test]
fn the_chair_names_a_primary_category_not_multiple() {
    let disagreed = [view(true, Some(Neglect)), view(true, Some(Emotional))];
    assert_eq!(
        resolve(&disagreed, Some(&chair(None, Some(Multiple), "both"))),
        Err(RulesError::ChairCategoryNotPrimary)
    );
    // Nor when nobody gave a category, nor while the plan is still split.
    assert_eq!(
        resolve(
            &[view(true, None)],
            Some(&chair(None, Some(Multiple), "both"))
        ),
        Err(RulesError::ChairCategoryNotPrimary)
    );
    assert_eq!(
        resolve(
            &[
                view(true, Some(Neglect)),
                view(true, Some(Emotional)),
                view(false, None),
                view(false, None)
            ],
            Some(&chair(Some(true), Some(Multiple), "both"))
        ),
        Err(RulesError::ChairCategoryNotPrimary)
    );
    // Professionals who agree on MUL are not overruled.
    let agreed = [view(true, Some(Multiple)), view(true, Some(Multiple))];
    assert_eq!(
        resolve(&agreed, None),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: true,
            plan_basis: Basis::Professionals,
            category: Some(CategoryDecision {
                category: Multiple,
                basis: Basis::Professionals
            }),
            chair_rationale: None,
        }))
    );
    // With no plan, no category is recorded, and the chair's is ignored.
    assert!(matches!(
        resolve(
            &[view(false, None), view(false, None)],
            Some(&chair(None, Some(Multiple), "both"))
        ),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: false,
            ..
        }))
    ));
}

#[test]
fn a_split_with_disagreed_categories_asks_for_both() {
    let views = [
        view(true, Some(Neglect)),
        view(true, Some(Physical)),
        view(false, None),
        view(false, None),
    ];
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: true,
            decide_category: true
        }))
    );
    assert_eq!(
        resolve(&views, Some(&chair(Some(true), None, "r"))),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: false,
            decide_category: true
        }))
    );
    assert_eq!(
        resolve(&views, Some(&chair(Some(false), None, "r"))),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: false,
            plan_basis: Basis::Chair,
            category: None,
            chair_rationale: Some("r".to_owned()),
        }))
    );
}

#[test]
fn a_category_from_someone_against_a_plan_does_not_count() {
    // Everyone for a plan names neglect; the one against it names physical
    // abuse. The category is agreed.
    let views = [
        view(true, Some(Neglect)),
        view(true, Some(Neglect)),
        view(false, Some(Physical)),
    ];
    assert_eq!(agreed_category(&views), Some(Neglect));
    assert_eq!(
        resolve(&views, None),
        Ok(Resolution::Decided(ConferenceDecision {
            needs_plan: true,
            plan_basis: Basis::Professionals,
            category: Some(CategoryDecision {
                category: Neglect,
                basis: Basis::Professionals
            }),
            chair_rationale: None,
        }))
    );
    // Split on the plan: the chair decides it, and the category of those
    // for a plan stands.
    let split = [view(true, Some(Neglect)), view(false, Some(Physical))];
    assert_eq!(
        resolve(&split, None),
        Ok(Resolution::NeedsChair(ChairNeeded {
            decide_plan: true,
            decide_category: false
        }))
    );
    assert_eq!(agreed_category(&[view(false, Some(Physical))]), None);
}

#[test]
fn the_chair_cannot_overrule_what_professionals_settled() {
    let views = [
        view(true, Some(Neglect)),
        view(true, Some(Neglect)),
        view(false, None),
    ];
    assert_eq!(
        resolve(&views, Some(&chair(Some(false), None, "disagree"))),
        Err(RulesError::ChairContradictsMajority {
            majority_recommends_plan: true
        })
    );
    assert_eq!(
        resolve(&views, Some(&chair(None, Some(Physical), "disagree"))),
        Err(RulesError::ChairContradictsAgreedCategory {
            agreed: Neglect,
            chair: Physical
        })
    );
    assert_eq!(
        resolve(&views, Some(&chair(Some(false), None, "x")))
            .unwrap_err()
            .to_string(),
        "a strict majority of professionals recommends a plan; the chair decides only when views are split"
    );
    // Agreeing with the majority is harmless and no rationale is needed.
    assert_eq!(
        resolve(&views, Some(&chair(Some(true), Some(Neglect), ""))),
        resolve(&views, None)
    );
}

#[test]
fn no_views_is_an_error() {
    assert_eq!(resolve(&[], None), Err(RulesError::NoViews));
}

fn arb_category() -> impl Strategy<Value = Option<CategoryOfHarm>> {
    proptest::option::of(proptest::sample::select(CategoryOfHarm::ALL.to_vec()))
}

fn arb_view() -> impl Strategy<Value = ProfessionalView> {
    (any::<bool>(), 0i64..=10, arb_category()).prop_map(|(recommends_plan, scale, category)| {
        ProfessionalView {
            recommends_plan,
            safety_scale: SafetyScale::new(scale).unwrap(),
            category,
        }
    })
}

fn arb_chair() -> impl Strategy<Value = Option<ChairInput>> {
    proptest::option::of(
        (
            proptest::option::of(any::<bool>()),
            arb_category(),
            proptest::sample::select(vec!["", " ", "rationale"]),
        )
            .prop_map(|(needs_plan, primary_category, rationale)| {
                chair(needs_plan, primary_category, rationale)
            }),
    )
}

proptest! {
    #[test]
    fn resolution_never_contradicts_a_strict_majority(
        views in proptest::collection::vec(arb_view(), 1..12),
        chair in arb_chair(),
    ) {
        let majority = strict_majority(&views);
        let result = resolve(&views, chair.as_ref());
        match (&result, majority) {
            (Ok(Resolution::Decided(decision)), Some(majority)) => {
                prop_assert_eq!(decision.needs_plan, majority);
                prop_assert_eq!(decision.plan_basis, Basis::Professionals);
            }
            (Ok(Resolution::NeedsChair(needed)), Some(_)) => prop_assert!(!needed.decide_plan),
            (Ok(Resolution::Decided(decision)), None) => {
                prop_assert_eq!(decision.plan_basis, Basis::Chair);
                prop_assert!(decision.chair_rationale.as_deref().is_some_and(|r| !r.trim().is_empty()));
            }
            (Ok(Resolution::NeedsChair(needed)), None) => {
                // Still the plan, unless the chair has decided it and only
                // the category is outstanding.
                let chair_decided_plan = chair.as_ref().and_then(|c| c.needs_plan).is_some();
                prop_assert_eq!(needed.decide_plan, !chair_decided_plan);
                prop_assert!(needed.decide_plan || needed.decide_category);
            }
            (Err(_), _) => {}
        }
        if let Ok(Resolution::Decided(decision)) = &result {
            // Every child on a plan has a category; none without.
            prop_assert_eq!(decision.category.is_some(), decision.needs_plan);
            // A category the chair decided is a primary one.
            if let Some(category) = &decision.category {
                prop_assert!(category.basis == Basis::Professionals || category.category != CategoryOfHarm::Multiple);
            }
        }
        if chair.is_none() && majority.is_none() {
            let asks_for_plan = matches!(result, Ok(Resolution::NeedsChair(needed)) if needed.decide_plan);
            prop_assert!(asks_for_plan);
        }
    }
}
