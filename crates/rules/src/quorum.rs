//! Whether a conference is quorate.
//!
//! DOMAIN.md, conference rules: "the social worker (children's social care)
//! plus at least two other professionals from different agencies (police,
//! health, education, early years, probation, housing, other specialist). An
//! inquorate conference makes an interim plan and reconvenes within 10
//! working days."

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// The agency a professional attends for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Agency {
    /// Children's social care: the child's own social worker is counted
    /// separately; any other social care colleague (team manager, student,
    /// the chair) is not "another agency".
    ChildrensSocialCare,
    /// Police.
    Police,
    /// Health (GP, health visitor, midwife, school nurse, paediatrician, …).
    Health,
    /// Education (school, college).
    Education,
    /// Early years settings (nursery, childminder, children's centre).
    EarlyYears,
    /// Probation.
    Probation,
    /// Housing.
    Housing,
    /// Any other specialist service (substance misuse, domestic abuse, adult
    /// mental health, …). Counted as one agency however many specialist
    /// services attend: the conservative reading, so the software never calls
    /// a meeting quorate that a chair might not.
    OtherSpecialist,
}

impl Agency {
    /// The agencies that count towards the "two other agencies" (everything
    /// except children's social care).
    pub const PARTNERS: [Self; 7] = [
        Self::Police,
        Self::Health,
        Self::Education,
        Self::EarlyYears,
        Self::Probation,
        Self::Housing,
        Self::OtherSpecialist,
    ];
}

/// Someone at the conference, as far as quorum is concerned.
///
/// An enum rather than flags so that "a police officer who is the child's
/// social worker" cannot be expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Attendee {
    /// The child's allocated social worker from children's social care.
    ChildsSocialWorker,
    /// A professional attending for an agency.
    Professional(Agency),
    /// A family member, the child, a friend or supporter: essential to the
    /// conference but not counted for quorum.
    FamilyOrSupporter,
}

/// What a conference lacks to be quorate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuorumShortfall {
    /// The child's social worker is not present.
    NoChildsSocialWorker,
    /// Fewer than the required number of distinct partner agencies attend.
    TooFewOtherAgencies {
        /// How many distinct partner agencies are required (2).
        required: usize,
        /// The distinct partner agencies that did attend, in a fixed order.
        present: Vec<Agency>,
    },
}

/// The result of a quorum check, with the reasons if it fails, so the chair
/// can see what to chase before deciding to reconvene.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumAssessment {
    /// Whether the conference may make decisions.
    pub quorate: bool,
    /// Empty when quorate; otherwise every unmet condition.
    pub missing: Vec<QuorumShortfall>,
}

/// Distinct partner agencies needed beside the child's social worker.
pub const REQUIRED_OTHER_AGENCIES: usize = 2;

/// Assesses quorum for the people present.
///
/// Two professionals from the same agency count once; a second social care
/// professional does not count as another agency; family members do not
/// count. Adding an attendee can never make a quorate meeting inquorate.
#[must_use]
pub fn assess_quorum(attendees: &[Attendee]) -> QuorumAssessment {
    let has_social_worker = attendees.contains(&Attendee::ChildsSocialWorker);
    let partners: BTreeSet<Agency> = attendees
        .iter()
        .filter_map(|attendee| match attendee {
            Attendee::Professional(agency) if *agency != Agency::ChildrensSocialCare => {
                Some(*agency)
            }
            _ => None,
        })
        .collect();

    let mut missing = Vec::new();
    if !has_social_worker {
        missing.push(QuorumShortfall::NoChildsSocialWorker);
    }
    if partners.len() < REQUIRED_OTHER_AGENCIES {
        missing.push(QuorumShortfall::TooFewOtherAgencies {
            required: REQUIRED_OTHER_AGENCIES,
            present: partners.into_iter().collect(),
        });
    }
    QuorumAssessment {
        quorate: missing.is_empty(),
        missing,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use Agency::{ChildrensSocialCare, Education, Health, OtherSpecialist, Police};
    use Attendee::{ChildsSocialWorker, FamilyOrSupporter, Professional};

    fn too_few(present: Vec<Agency>) -> QuorumShortfall {
        QuorumShortfall::TooFewOtherAgencies {
            required: 2,
            present,
        }
    }

    #[test]
    fn social_worker_and_two_other_agencies_is_quorate() {
        let assessment = assess_quorum(&[
            ChildsSocialWorker,
            Professional(Police),
            Professional(Health),
        ]);
        assert_eq!(
            assessment,
            QuorumAssessment {
                quorate: true,
                missing: vec![]
            }
        );
    }

    #[test]
    fn two_from_the_same_agency_count_once() {
        let assessment = assess_quorum(&[
            ChildsSocialWorker,
            Professional(Health),
            Professional(Health),
        ]);
        assert!(!assessment.quorate);
        assert_eq!(assessment.missing, vec![too_few(vec![Health])]);
    }

    #[test]
    fn a_second_social_care_professional_is_not_another_agency() {
        let assessment = assess_quorum(&[
            ChildsSocialWorker,
            Professional(ChildrensSocialCare),
            Professional(Education),
        ]);
        assert_eq!(assessment.missing, vec![too_few(vec![Education])]);
    }

    #[test]
    fn family_members_do_not_count() {
        let assessment = assess_quorum(&[
            ChildsSocialWorker,
            FamilyOrSupporter,
            FamilyOrSupporter,
            Professional(OtherSpecialist),
        ]);
        assert_eq!(assessment.missing, vec![too_few(vec![OtherSpecialist])]);
    }

    #[test]
    fn without_the_childs_social_worker_it_is_inquorate_whoever_else_attends() {
        let assessment = assess_quorum(&[
            Professional(ChildrensSocialCare),
            Professional(Police),
            Professional(Health),
            Professional(Education),
        ]);
        assert_eq!(
            assessment,
            QuorumAssessment {
                quorate: false,
                missing: vec![QuorumShortfall::NoChildsSocialWorker]
            }
        );
    }

    #[test]
    fn an_empty_meeting_lists_both_shortfalls() {
        assert_eq!(
            assess_quorum(&[]).missing,
            vec![QuorumShortfall::NoChildsSocialWorker, too_few(vec![])]
        );
    }

    fn attendee() -> impl Strategy<Value = Attendee> {
        prop_oneof![
            Just(ChildsSocialWorker),
            Just(FamilyOrSupporter),
            Just(Professional(ChildrensSocialCare)),
            proptest::sample::select(Agency::PARTNERS.to_vec()).prop_map(Professional),
        ]
    }

    proptest! {
        #[test]
        fn adding_an_attendee_never_makes_a_quorate_meeting_inquorate(
            attendees in proptest::collection::vec(attendee(), 0..10),
            extra in attendee(),
            position in any::<proptest::sample::Index>(),
        ) {
            let before = assess_quorum(&attendees);
            let mut more = attendees.clone();
            more.insert(position.index(attendees.len() + 1), extra);
            let after = assess_quorum(&more);
            prop_assert!(!before.quorate || after.quorate);
            prop_assert!(after.missing.len() <= before.missing.len());
            prop_assert_eq!(after.quorate, after.missing.is_empty());
        }
    }
}
