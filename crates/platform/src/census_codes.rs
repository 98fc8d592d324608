//! The census code sets and the category of harm, between the API enums
//! and `cpc_rules`' domain enums (whose `code()` is what is stored and what
//! the census carries): one mapping, used by cases for what it records and
//! by reporting for what it writes into the census return. The
//! `UNSPECIFIED` value of an API enum never maps to a domain value: it is
//! "not set", and the caller decides whether that is allowed.

use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::census::{ClosureReason, PrimaryNeed, Sex};
use cpc_rules::identifiers::UpnUnknownReason;

/// Category of harm from the API (`None` for unspecified).
#[must_use]
pub fn category_from_proto(value: i32) -> Option<CategoryOfHarm> {
    match common::CategoryOfHarm::try_from(value).ok()? {
        common::CategoryOfHarm::Unspecified => None,
        common::CategoryOfHarm::Sexual => Some(CategoryOfHarm::Sexual),
        common::CategoryOfHarm::Physical => Some(CategoryOfHarm::Physical),
        common::CategoryOfHarm::Emotional => Some(CategoryOfHarm::Emotional),
        common::CategoryOfHarm::Neglect => Some(CategoryOfHarm::Neglect),
        common::CategoryOfHarm::Multiple => Some(CategoryOfHarm::Multiple),
    }
}

/// Category of harm for the API.
#[must_use]
pub fn category_to_proto(category: CategoryOfHarm) -> common::CategoryOfHarm {
    match category {
        CategoryOfHarm::Sexual => common::CategoryOfHarm::Sexual,
        CategoryOfHarm::Physical => common::CategoryOfHarm::Physical,
        CategoryOfHarm::Emotional => common::CategoryOfHarm::Emotional,
        CategoryOfHarm::Neglect => common::CategoryOfHarm::Neglect,
        CategoryOfHarm::Multiple => common::CategoryOfHarm::Multiple,
    }
}

/// Sex (N00783) from the API (`None` for unspecified).
#[must_use]
pub fn sex_from_proto(value: i32) -> Option<Sex> {
    match pb::Sex::try_from(value).ok()? {
        pb::Sex::Unspecified => None,
        pb::Sex::Male => Some(Sex::Male),
        pb::Sex::Female => Some(Sex::Female),
        pb::Sex::Unknown => Some(Sex::Unknown),
    }
}

/// Sex for the API.
#[must_use]
pub fn sex_to_proto(sex: Sex) -> pb::Sex {
    match sex {
        Sex::Male => pb::Sex::Male,
        Sex::Female => pb::Sex::Female,
        Sex::Unknown => pb::Sex::Unknown,
    }
}

/// UPN unknown reason (N00135) from the API (`None` for unspecified).
#[must_use]
pub fn upn_unknown_from_proto(value: i32) -> Option<UpnUnknownReason> {
    match pb::UpnUnknownReason::try_from(value).ok()? {
        pb::UpnUnknownReason::Unspecified => None,
        pb::UpnUnknownReason::Un1 => Some(UpnUnknownReason::Un1),
        pb::UpnUnknownReason::Un2 => Some(UpnUnknownReason::Un2),
        pb::UpnUnknownReason::Un3 => Some(UpnUnknownReason::Un3),
        pb::UpnUnknownReason::Un4 => Some(UpnUnknownReason::Un4),
        pb::UpnUnknownReason::Un5 => Some(UpnUnknownReason::Un5),
        pb::UpnUnknownReason::Un6 => Some(UpnUnknownReason::Un6),
        pb::UpnUnknownReason::Un7 => Some(UpnUnknownReason::Un7),
    }
}

/// UPN unknown reason for the API.
#[must_use]
pub fn upn_unknown_to_proto(reason: UpnUnknownReason) -> pb::UpnUnknownReason {
    match reason {
        UpnUnknownReason::Un1 => pb::UpnUnknownReason::Un1,
        UpnUnknownReason::Un2 => pb::UpnUnknownReason::Un2,
        UpnUnknownReason::Un3 => pb::UpnUnknownReason::Un3,
        UpnUnknownReason::Un4 => pb::UpnUnknownReason::Un4,
        UpnUnknownReason::Un5 => pb::UpnUnknownReason::Un5,
        UpnUnknownReason::Un6 => pb::UpnUnknownReason::Un6,
        UpnUnknownReason::Un7 => pb::UpnUnknownReason::Un7,
    }
}

/// Primary need (N00101) from the API (`None` for unspecified).
#[must_use]
pub fn primary_need_from_proto(value: i32) -> Option<PrimaryNeed> {
    use pb::PrimaryNeed as P;
    match P::try_from(value).ok()? {
        P::Unspecified => None,
        P::N0NotStated => Some(PrimaryNeed::NotStated),
        P::N1AbuseOrNeglect => Some(PrimaryNeed::AbuseOrNeglect),
        P::N2ChildDisabilityOrIllness => Some(PrimaryNeed::ChildsDisability),
        P::N3ParentalDisabilityOrIllness => Some(PrimaryNeed::ParentalDisabilityOrIllness),
        P::N4FamilyInAcuteStress => Some(PrimaryNeed::FamilyInAcuteStress),
        P::N5FamilyDysfunction => Some(PrimaryNeed::FamilyDysfunction),
        P::N6SociallyUnacceptableBehaviour => Some(PrimaryNeed::SociallyUnacceptableBehaviour),
        P::N7LowIncome => Some(PrimaryNeed::LowIncome),
        P::N8AbsentParenting => Some(PrimaryNeed::AbsentParenting),
        P::N9NotInNeed => Some(PrimaryNeed::CasesOtherThanChildrenInNeed),
    }
}

/// Primary need for the API.
#[must_use]
pub fn primary_need_to_proto(need: PrimaryNeed) -> pb::PrimaryNeed {
    use pb::PrimaryNeed as P;
    match need {
        PrimaryNeed::NotStated => P::N0NotStated,
        PrimaryNeed::AbuseOrNeglect => P::N1AbuseOrNeglect,
        PrimaryNeed::ChildsDisability => P::N2ChildDisabilityOrIllness,
        PrimaryNeed::ParentalDisabilityOrIllness => P::N3ParentalDisabilityOrIllness,
        PrimaryNeed::FamilyInAcuteStress => P::N4FamilyInAcuteStress,
        PrimaryNeed::FamilyDysfunction => P::N5FamilyDysfunction,
        PrimaryNeed::SociallyUnacceptableBehaviour => P::N6SociallyUnacceptableBehaviour,
        PrimaryNeed::LowIncome => P::N7LowIncome,
        PrimaryNeed::AbsentParenting => P::N8AbsentParenting,
        PrimaryNeed::CasesOtherThanChildrenInNeed => P::N9NotInNeed,
    }
}

/// Reason for closure (N00103) from the API (`None` for unspecified).
#[must_use]
pub fn closure_reason_from_proto(value: i32) -> Option<ClosureReason> {
    use pb::ClosureReason as C;
    match C::try_from(value).ok()? {
        C::Unspecified => None,
        C::Rc1Adopted => Some(ClosureReason::Adopted),
        C::Rc2Died => Some(ClosureReason::Died),
        C::Rc3ChildArrangementsOrder => Some(ClosureReason::ChildArrangementsOrder),
        C::Rc4SpecialGuardianshipOrder => Some(ClosureReason::SpecialGuardianshipOrder),
        C::Rc5TransferredToAnotherLa => Some(ClosureReason::TransferredToAnotherLocalAuthority),
        C::Rc6TransferredToAdultServices => Some(ClosureReason::TransferredToAdultSocialCare),
        C::Rc7ServicesCeased => Some(ClosureReason::ServicesCeased),
        C::Rc8ClosedAfterAssessmentNfa => Some(ClosureReason::ClosedAfterAssessmentNoFurtherAction),
        C::Rc9ClosedAfterAssessmentEarlyHelp => Some(ClosureReason::ClosedAfterAssessmentEarlyHelp),
    }
}

/// Reason for closure for the API.
#[must_use]
pub fn closure_reason_to_proto(reason: ClosureReason) -> pb::ClosureReason {
    use pb::ClosureReason as C;
    match reason {
        ClosureReason::Adopted => C::Rc1Adopted,
        ClosureReason::Died => C::Rc2Died,
        ClosureReason::ChildArrangementsOrder => C::Rc3ChildArrangementsOrder,
        ClosureReason::SpecialGuardianshipOrder => C::Rc4SpecialGuardianshipOrder,
        ClosureReason::TransferredToAnotherLocalAuthority => C::Rc5TransferredToAnotherLa,
        ClosureReason::TransferredToAdultSocialCare => C::Rc6TransferredToAdultServices,
        ClosureReason::ServicesCeased => C::Rc7ServicesCeased,
        ClosureReason::ClosedAfterAssessmentNoFurtherAction => C::Rc8ClosedAfterAssessmentNfa,
        ClosureReason::ClosedAfterAssessmentEarlyHelp => C::Rc9ClosedAfterAssessmentEarlyHelp,
    }
}
