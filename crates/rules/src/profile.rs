//! Per-authority settings: the local choices DOMAIN.md lists, bounded by the
//! national timescales.
//!
//! DOMAIN.md: "Where local procedures differ, the software makes the rule a
//! per-authority setting with the default named here." Defaults are the ones
//! from the seed documents; [`AuthorityProfile::validate`] refuses settings
//! looser than statute or that make no sense.

use serde::{Deserialize, Serialize};

use crate::calendar::Nation;
use crate::error::{ProfileViolation, RulesError};

/// The national maxima from *Working Together to Safeguard Children*
/// (DOMAIN.md, statutory timescales). A local profile may be stricter, never
/// looser.
pub mod national {
    /// ICPC within 15 working days of the strategy discussion that started
    /// the s47 enquiry.
    pub const ICPC_WORKING_DAYS: u32 = 15;
    /// Transfer-in conference within 15 working days of written notification.
    pub const TRANSFER_IN_WORKING_DAYS: u32 = 15;
    /// First core group within 10 working days of the ICPC.
    pub const FIRST_CORE_GROUP_WORKING_DAYS: u32 = 10;
    /// First review conference within 3 months of the ICPC.
    pub const FIRST_REVIEW_MONTHS: u32 = 3;
    /// Later reviews at most 6 months after the previous one.
    pub const LATER_REVIEW_MONTHS: u32 = 6;
}

/// The loosest working-day value accepted for a purely local setting: 20
/// working days (four weeks), the loosest value seen in DOMAIN.md (Liverpool's
/// review after birth). Larger values are almost certainly a unit mistake
/// (days typed where weeks were meant).
pub const LOCAL_WORKING_DAYS_CEILING: u32 = 20;

/// Full-term gestation in weeks; a pre-birth ICPC "by N weeks gestation" is
/// `40 - N` weeks before the expected date of birth.
pub const FULL_TERM_WEEKS: u32 = 40;

/// When a pre-birth ICPC must be held (DOMAIN.md local settings: "by 28 weeks
/// gestation (Sussex)", "34 weeks (Sefton)", "3 months before due date").
///
/// In configuration: `{ "weeks_gestation": 28 }` or
/// `{ "months_before_due_date": 3 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PreBirthDeadline {
    /// By this many weeks of gestation, taking the expected date of birth as
    /// 40 weeks.
    WeeksGestation(u32),
    /// This many calendar months before the expected date of birth.
    MonthsBeforeDueDate(u32),
}

impl Default for PreBirthDeadline {
    /// 28 weeks gestation (Sussex), the DOMAIN.md default.
    fn default() -> Self {
        Self::WeeksGestation(28)
    }
}

/// One local authority's conference timescales.
///
/// Loaded by the caller from TOML/JSON configuration: every field is optional
/// (missing ones take the DOMAIN.md default) and unknown keys are refused, so
/// a misspelt setting cannot silently fall back to the default. Build a
/// [`Timescales`](crate::timescales::Timescales) from it, which validates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthorityProfile {
    /// Whose bank holidays count (England and Wales for English authorities).
    pub nation: Nation,
    /// ICPC within this many working days of the strategy discussion
    /// (national maximum 15).
    pub icpc_working_days: u32,
    /// Transfer-in conference within this many working days of written
    /// notification of the move (national maximum 15).
    pub transfer_in_working_days: u32,
    /// First core group within this many working days of the ICPC (national
    /// maximum 10).
    pub first_core_group_working_days: u32,
    /// First review within this many months of the ICPC (national maximum 3).
    pub first_review_months: u32,
    /// Later reviews within this many months of the previous review (national
    /// maximum 6).
    pub later_review_months: u32,
    /// Reports shared this many working days before an ICPC (default 2,
    /// Barnsley and Portsmouth; 3 in Sussex and Leeds).
    pub reports_before_icpc_working_days: u32,
    /// Reports shared this many working days before a review (default 2;
    /// 5 in Sussex, Leeds and Devon).
    pub reports_before_rcpc_working_days: u32,
    /// Core groups after the first meet at most this many weeks apart
    /// (default 6, Portsmouth; 4 in Newcastle).
    pub core_group_interval_weeks: u32,
    /// Latest point for a pre-birth ICPC (default 28 weeks gestation, Sussex).
    pub pre_birth_icpc: PreBirthDeadline,
    /// Review within this many working days of the birth of a child on a
    /// pre-birth plan (default 10; 20 in Liverpool).
    pub review_after_birth_working_days: u32,
    /// Plan-duration reviews at these months after the plan started (default
    /// 12, 15, 18, 21); strictly increasing, may be empty.
    pub plan_duration_review_months: Vec<u32>,
    /// An inquorate conference reconvenes within this many working days
    /// (default 10, Swindon procedures).
    pub reconvene_inquorate_working_days: u32,
    /// The authority's DfE local authority number (the children in need
    /// census `LEA`, e.g. 916), 100 to 999. Unset: no census return can be
    /// generated for the authority.
    pub la_number: Option<u16>,
}

impl Default for AuthorityProfile {
    /// The DOMAIN.md defaults: national timescales and the seeds' local values.
    fn default() -> Self {
        Self {
            nation: Nation::EnglandAndWales,
            icpc_working_days: national::ICPC_WORKING_DAYS,
            transfer_in_working_days: national::TRANSFER_IN_WORKING_DAYS,
            first_core_group_working_days: national::FIRST_CORE_GROUP_WORKING_DAYS,
            first_review_months: national::FIRST_REVIEW_MONTHS,
            later_review_months: national::LATER_REVIEW_MONTHS,
            reports_before_icpc_working_days: 2,
            reports_before_rcpc_working_days: 2,
            core_group_interval_weeks: 6,
            pre_birth_icpc: PreBirthDeadline::default(),
            review_after_birth_working_days: 10,
            plan_duration_review_months: vec![12, 15, 18, 21],
            reconvene_inquorate_working_days: 10,
            la_number: None,
        }
    }
}

/// Collects violations so that all of them are reported at once.
#[derive(Default)]
struct Violations(Vec<ProfileViolation>);

impl Violations {
    fn check(&mut self, ok: bool, field: &'static str, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(ProfileViolation {
                field,
                problem: problem(),
            });
        }
    }

    /// `1..=max`, naming `why` the maximum exists.
    fn within(&mut self, field: &'static str, value: u32, max: u32, why: &str) {
        self.check(value >= 1, field, || "must be at least 1".to_owned());
        self.check(value <= max, field, || {
            format!("{value} exceeds {why} of {max}")
        });
    }
}

impl AuthorityProfile {
    /// Refuses a profile that would compute unlawful or meaningless dates,
    /// listing every problem.
    ///
    /// - Zero anywhere: a deadline on the day of the event, or reports due on
    ///   the day of the conference, is not a timescale (negative values are
    ///   already refused when parsing, the fields being unsigned).
    /// - Statutory settings looser than the national maxima in [`national`].
    /// - Local working-day settings above [`LOCAL_WORKING_DAYS_CEILING`];
    ///   ICPC reports due no earlier than the ICPC window opens.
    /// - A core group interval that would let a whole review period pass
    ///   without a core group (the core group reports to each review).
    /// - A pre-birth deadline at or after full term, or more than 9 months
    ///   before it; plan-duration review months not strictly increasing.
    ///
    /// # Errors
    /// `InvalidProfile` with one [`ProfileViolation`] per problem.
    pub fn validate(&self) -> Result<(), RulesError> {
        let mut v = Violations::default();
        let statutory = "the national maximum";
        let local = "the local ceiling";
        v.within(
            "icpc_working_days",
            self.icpc_working_days,
            national::ICPC_WORKING_DAYS,
            statutory,
        );
        v.within(
            "transfer_in_working_days",
            self.transfer_in_working_days,
            national::TRANSFER_IN_WORKING_DAYS,
            statutory,
        );
        v.within(
            "first_core_group_working_days",
            self.first_core_group_working_days,
            national::FIRST_CORE_GROUP_WORKING_DAYS,
            statutory,
        );
        v.within(
            "first_review_months",
            self.first_review_months,
            national::FIRST_REVIEW_MONTHS,
            statutory,
        );
        v.within(
            "later_review_months",
            self.later_review_months,
            national::LATER_REVIEW_MONTHS,
            statutory,
        );
        v.within(
            "reports_before_icpc_working_days",
            self.reports_before_icpc_working_days,
            LOCAL_WORKING_DAYS_CEILING,
            local,
        );
        v.check(
            self.reports_before_icpc_working_days < self.icpc_working_days,
            "reports_before_icpc_working_days",
            || {
                format!(
                    "must be fewer than icpc_working_days ({}): reports cannot be due before the enquiry's window opens",
                    self.icpc_working_days
                )
            },
        );
        v.within(
            "reports_before_rcpc_working_days",
            self.reports_before_rcpc_working_days,
            LOCAL_WORKING_DAYS_CEILING,
            local,
        );
        let max_interval = self.later_review_months * 4;
        v.check(
            self.core_group_interval_weeks >= 1,
            "core_group_interval_weeks",
            || "must be at least 1".to_owned(),
        );
        v.check(
            self.core_group_interval_weeks < max_interval,
            "core_group_interval_weeks",
            || {
                format!(
                    "{} weeks would let a whole review period ({} months) pass without a core group",
                    self.core_group_interval_weeks, self.later_review_months
                )
            },
        );
        match self.pre_birth_icpc {
            PreBirthDeadline::WeeksGestation(weeks) => v.check(
                (1..FULL_TERM_WEEKS).contains(&weeks),
                "pre_birth_icpc",
                || {
                    format!(
                        "weeks_gestation {weeks} must be between 1 and {}",
                        FULL_TERM_WEEKS - 1
                    )
                },
            ),
            PreBirthDeadline::MonthsBeforeDueDate(months) => {
                v.check((1..=9).contains(&months), "pre_birth_icpc", || {
                    format!("months_before_due_date {months} must be between 1 and 9")
                });
            }
        }
        v.within(
            "review_after_birth_working_days",
            self.review_after_birth_working_days,
            LOCAL_WORKING_DAYS_CEILING,
            local,
        );
        let months = &self.plan_duration_review_months;
        v.check(
            months.first().is_none_or(|&first| first >= 1)
                && months.windows(2).all(|pair| pair[0] < pair[1]),
            "plan_duration_review_months",
            || format!("{months:?} must be strictly increasing months of at least 1"),
        );
        v.within(
            "reconvene_inquorate_working_days",
            self.reconvene_inquorate_working_days,
            LOCAL_WORKING_DAYS_CEILING,
            local,
        );
        if let Some(number) = self.la_number {
            v.check((100..=999).contains(&number), "la_number", || {
                format!("{number} is not a three-digit DfE local authority number")
            });
        }
        if v.0.is_empty() {
            Ok(())
        } else {
            Err(RulesError::InvalidProfile { violations: v.0 })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(field: &'static str, problem: &str) -> ProfileViolation {
        ProfileViolation {
            field,
            problem: problem.to_owned(),
        }
    }

    fn violations(profile: &AuthorityProfile) -> Vec<ProfileViolation> {
        match profile.validate() {
            Err(RulesError::InvalidProfile { violations }) => violations,
            other => panic!("expected InvalidProfile, got {other:?}"),
        }
    }

    #[test]
    fn defaults_are_the_domain_defaults_and_valid() {
        let profile = AuthorityProfile::default();
        assert_eq!(profile.validate(), Ok(()));
        assert_eq!(profile.nation, Nation::EnglandAndWales);
        assert_eq!(profile.icpc_working_days, 15);
        assert_eq!(profile.transfer_in_working_days, 15);
        assert_eq!(profile.first_core_group_working_days, 10);
        assert_eq!(profile.first_review_months, 3);
        assert_eq!(profile.later_review_months, 6);
        assert_eq!(profile.reports_before_icpc_working_days, 2);
        assert_eq!(profile.reports_before_rcpc_working_days, 2);
        assert_eq!(profile.core_group_interval_weeks, 6);
        assert_eq!(profile.pre_birth_icpc, PreBirthDeadline::WeeksGestation(28));
        assert_eq!(profile.review_after_birth_working_days, 10);
        assert_eq!(profile.plan_duration_review_months, vec![12, 15, 18, 21]);
        assert_eq!(profile.reconvene_inquorate_working_days, 10);
    }

    #[test]
    fn loads_partial_json_with_defaults_for_the_rest() {
        let profile: AuthorityProfile = serde_json::from_str(
            r#"{"nation": "england-and-wales", "reports_before_rcpc_working_days": 5,
                "core_group_interval_weeks": 4, "pre_birth_icpc": {"months_before_due_date": 3}}"#,
        )
        .unwrap();
        assert_eq!(profile.reports_before_rcpc_working_days, 5);
        assert_eq!(profile.core_group_interval_weeks, 4);
        assert_eq!(
            profile.pre_birth_icpc,
            PreBirthDeadline::MonthsBeforeDueDate(3)
        );
        assert_eq!(profile.icpc_working_days, 15);
        assert_eq!(profile.validate(), Ok(()));
        assert_eq!(
            serde_json::from_str::<AuthorityProfile>("{}").unwrap(),
            AuthorityProfile::default()
        );
    }

    #[test]
    fn unknown_keys_and_negative_values_are_refused_when_parsing() {
        let misspelt = serde_json::from_str::<AuthorityProfile>(r#"{"icpc_workingdays": 10}"#)
            .unwrap_err()
            .to_string();
        assert!(
            misspelt.starts_with("unknown field `icpc_workingdays`"),
            "{misspelt}"
        );
        assert!(serde_json::from_str::<AuthorityProfile>(r#"{"icpc_working_days": -1}"#).is_err());
        assert!(serde_json::from_str::<AuthorityProfile>(r#"{"nation": "wales"}"#).is_err());
        assert!(
            serde_json::from_str::<AuthorityProfile>(r#"{"pre_birth_icpc": {"weeks": 28}}"#)
                .is_err()
        );
    }

    #[test]
    fn statutory_settings_looser_than_national_maxima_are_refused() {
        let profile = AuthorityProfile {
            icpc_working_days: 16,
            transfer_in_working_days: 20,
            first_core_group_working_days: 11,
            first_review_months: 4,
            later_review_months: 7,
            ..AuthorityProfile::default()
        };
        assert_eq!(
            violations(&profile),
            vec![
                violation("icpc_working_days", "16 exceeds the national maximum of 15"),
                violation(
                    "transfer_in_working_days",
                    "20 exceeds the national maximum of 15"
                ),
                violation(
                    "first_core_group_working_days",
                    "11 exceeds the national maximum of 10"
                ),
                violation("first_review_months", "4 exceeds the national maximum of 3"),
                violation("later_review_months", "7 exceeds the national maximum of 6"),
            ]
        );
    }

    #[test]
    fn stricter_statutory_settings_are_accepted() {
        let profile = AuthorityProfile {
            icpc_working_days: 10,
            first_core_group_working_days: 5,
            first_review_months: 2,
            later_review_months: 4,
            ..AuthorityProfile::default()
        };
        assert_eq!(profile.validate(), Ok(()));
    }

    #[test]
    fn zeros_are_refused_with_every_violation_listed() {
        let profile = AuthorityProfile {
            icpc_working_days: 0,
            reports_before_icpc_working_days: 0,
            core_group_interval_weeks: 0,
            reconvene_inquorate_working_days: 0,
            ..AuthorityProfile::default()
        };
        assert_eq!(
            violations(&profile),
            vec![
                violation("icpc_working_days", "must be at least 1"),
                violation("reports_before_icpc_working_days", "must be at least 1"),
                violation(
                    "reports_before_icpc_working_days",
                    "must be fewer than icpc_working_days (0): reports cannot be due before the enquiry's window opens"
                ),
                violation("core_group_interval_weeks", "must be at least 1"),
                violation("reconvene_inquorate_working_days", "must be at least 1"),
            ]
        );
    }

    #[test]
    fn local_nonsense_is_refused() {
        let profile = AuthorityProfile {
            reports_before_icpc_working_days: 15,
            reports_before_rcpc_working_days: 21,
            core_group_interval_weeks: 24,
            pre_birth_icpc: PreBirthDeadline::WeeksGestation(40),
            review_after_birth_working_days: 30,
            plan_duration_review_months: vec![12, 12, 18],
            ..AuthorityProfile::default()
        };
        let err = profile.validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid authority profile: \
             reports_before_icpc_working_days: must be fewer than icpc_working_days (15): reports cannot be due before the enquiry's window opens; \
             reports_before_rcpc_working_days: 21 exceeds the local ceiling of 20; \
             core_group_interval_weeks: 24 weeks would let a whole review period (6 months) pass without a core group; \
             pre_birth_icpc: weeks_gestation 40 must be between 1 and 39; \
             review_after_birth_working_days: 30 exceeds the local ceiling of 20; \
             plan_duration_review_months: [12, 12, 18] must be strictly increasing months of at least 1"
        );
        let months = AuthorityProfile {
            pre_birth_icpc: PreBirthDeadline::MonthsBeforeDueDate(0),
            plan_duration_review_months: vec![0, 3],
            ..AuthorityProfile::default()
        };
        assert_eq!(
            violations(&months),
            vec![
                violation(
                    "pre_birth_icpc",
                    "months_before_due_date 0 must be between 1 and 9"
                ),
                violation(
                    "plan_duration_review_months",
                    "[0, 3] must be strictly increasing months of at least 1"
                ),
            ]
        );
        let no_duration_reviews = AuthorityProfile {
            plan_duration_review_months: vec![],
            ..AuthorityProfile::default()
        };
        assert_eq!(no_duration_reviews.validate(), Ok(()));
    }

    #[test]
    fn a_census_la_number_has_three_digits() {
        for bad in [0, 99, 1000] {
            let profile = AuthorityProfile {
                la_number: Some(bad),
                ..AuthorityProfile::default()
            };
            assert_eq!(
                violations(&profile),
                [violation(
                    "la_number",
                    &format!("{bad} is not a three-digit DfE local authority number")
                )]
            );
        }
        let durham = AuthorityProfile {
            la_number: Some(840),
            ..AuthorityProfile::default()
        };
        assert_eq!(durham.validate(), Ok(()));
    }
}
