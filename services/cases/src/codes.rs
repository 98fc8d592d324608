//! The closed vocabularies of the cases API as Rust enums, each with its
//! stored code (the text in the database) and its protobuf counterpart.
//!
//! Census code sets (sex, primary need, referral source, closure reason,
//! ethnicity, disability, UPN unknown reason) and the category of harm come
//! from `cpc_rules`; this module only maps them to and from the API enums.
//! The `UNSPECIFIED` value of an API enum never maps to a domain value: it is
//! "not set", and parsing decides whether that is allowed.

use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;

// Shared with reporting, which writes the same codes into the census.
pub use cpc_platform::census_codes::{
    category_from_proto, category_to_proto, closure_reason_from_proto, closure_reason_to_proto,
    primary_need_from_proto, primary_need_to_proto, sex_from_proto, sex_to_proto,
    upn_unknown_from_proto, upn_unknown_to_proto,
};

/// Declares a domain enum stored as text and mapped one-to-one onto the
/// variants of the same names of an API enum.
macro_rules! api_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident : $proto:ty {
            $($variant:ident = $code:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("Stored as `", $code, "`.")]
                $variant,
            )+
        }

        impl $name {
            /// Every value, in API order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The stored code.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The value with this stored code.
            #[must_use]
            pub fn from_code(code: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|value| value.code() == code)
            }

            /// The API enum value.
            #[must_use]
            pub const fn to_proto(self) -> $proto {
                match self {
                    $(Self::$variant => <$proto>::$variant,)+
                }
            }

            /// The API value as carried on the wire (`i32`).
            #[must_use]
            pub const fn to_i32(self) -> i32 {
                self.to_proto() as i32
            }

            /// The domain value of a wire value; `None` for unspecified or
            /// unknown numbers.
            #[must_use]
            pub fn from_proto(value: i32) -> Option<Self> {
                let proto = <$proto>::try_from(value).ok()?;
                Self::ALL.iter().copied().find(|v| v.to_proto() == proto)
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <String as ::serde::Deserialize>::deserialize(deserializer)?;
                Self::from_code(&code).ok_or_else(|| {
                    <D::Error as ::serde::de::Error>::custom(format!(
                        "unknown {} code {code:?}",
                        stringify!($name)
                    ))
                })
            }
        }

        impl sqlx::Type<sqlx::Postgres> for $name {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }

            fn compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::Type<sqlx::Postgres>>::compatible(ty)
            }
        }

        impl sqlx::postgres::PgHasArrayType for $name {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }

            fn array_compatible(ty: &sqlx::postgres::PgTypeInfo) -> bool {
                <&str as sqlx::postgres::PgHasArrayType>::array_compatible(ty)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Postgres> for $name {
            fn decode(
                value: sqlx::postgres::PgValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let code = <&str as sqlx::Decode<sqlx::Postgres>>::decode(value)?;
                Self::from_code(code)
                    .ok_or_else(|| format!("unknown {} code {code:?}", stringify!($name)).into())
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode_by_ref(&self.code(), buf)
            }
        }
    };
}

api_codes! {
    /// The kind of agency a professional works for.
    pub enum AgencyKind: common::AgencyKind {
        ChildrensSocialCare = "childrens_social_care",
        Police = "police",
        Health = "health",
        Education = "education",
        EarlyYears = "early_years",
        Probation = "probation",
        Housing = "housing",
        OtherSpecialist = "other_specialist",
        Nspcc = "nspcc",
        AdultSocialCare = "adult_social_care",
        YouthJustice = "youth_justice",
        VoluntarySector = "voluntary_sector",
    }
}

impl AgencyKind {
    /// The agency of this kind called `name` as access decisions name it
    /// (`cpc_identity::Agency::key`); the identity crate's kinds are the
    /// same enum numbers (tested below), so this is `None` only if they
    /// ever part.
    #[must_use]
    pub fn agency_key(self, name: &str) -> Option<String> {
        cpc_identity::AgencyKind::from_code(self.to_i32())
            .map(|kind| cpc_identity::agency_key(kind, name))
    }
}

api_codes! {
    /// The kind of a child protection conference (from scheduling).
    pub enum ConferenceKind: common::ConferenceKind {
        Initial = "initial",
        Review = "review",
        TransferIn = "transfer_in",
        PreBirth = "pre_birth",
        Reconvened = "reconvened",
        PostBirthReview = "post_birth_review",
    }
}

api_codes! {
    /// How a family member is related to a child.
    pub enum Relationship: pb::Relationship {
        Mother = "mother",
        Father = "father",
        StepParent = "step_parent",
        ParentPartner = "parent_partner",
        Sibling = "sibling",
        Grandparent = "grandparent",
        OtherRelative = "other_relative",
        Guardian = "guardian",
        FamilyFriend = "family_friend",
        Other = "other",
    }
}

api_codes! {
    /// What a strategy discussion decided.
    pub enum StrategyOutcome: pb::StrategyOutcome {
        StartSection47 = "start_section_47",
        NoFurtherAction = "no_further_action",
        ChildInNeedAssessment = "child_in_need_assessment",
        FurtherDiscussion = "further_discussion",
    }
}

api_codes! {
    /// What a completed section 47 enquiry concluded.
    pub enum Section47Outcome: pb::Section47Outcome {
        IcpcRequired = "icpc_required",
        IcpcNotRequired = "icpc_not_required",
    }
}

api_codes! {
    /// A conference's resolved decision for one child.
    pub enum ConferenceDecision: pb::ConferenceDecision {
        StartPlan = "start_plan",
        NoPlan = "no_plan",
        ContinuePlan = "continue_plan",
        EndPlan = "end_plan",
    }
}

api_codes! {
    /// A professional's recommendation.
    pub enum Recommendation: pb::Recommendation {
        Plan = "plan",
        NoPlan = "no_plan",
    }
}

api_codes! {
    /// What an exclusion covers.
    pub enum ExclusionScope: pb::ExclusionScope {
        Attendance = "attendance",
        PartOfMeeting = "part_of_meeting",
        Minutes = "minutes",
    }
}

api_codes! {
    /// The statutory body leading a plan.
    pub enum LeadStatutoryBody: pb::LeadStatutoryBody {
        LocalAuthority = "local_authority",
        Nspcc = "nspcc",
    }
}

api_codes! {
    /// How a child gave their views.
    pub enum ViewsMethod: pb::ViewsMethod {
        InPerson = "in_person",
        Advocate = "advocate",
        Written = "written",
        App = "app",
        AudioVideo = "audio_video",
        DirectWork = "direct_work",
        ChildrensMeeting = "childrens_meeting",
        SocialWorker = "social_worker",
    }
}

api_codes! {
    /// Where a plan is in its life, as stored and served.
    pub enum PlanStatus: pb::PlanStatus {
        Active = "active",
        TransferOutPending = "transfer_out_pending",
        Ended = "ended",
        TransferredOut = "transferred_out",
    }
}

api_codes! {
    /// Why a plan ended. `Other` has no counterpart in
    /// `cpc_rules::plan::EndReason`; see `domain::plan`.
    pub enum PlanEndReason: pb::PlanEndReason {
        NoLongerAtRisk = "no_longer_at_risk",
        TransferredOut = "transferred_out",
        Turned18 = "turned_18",
        LeftUk = "left_uk",
        BecameLookedAfter = "became_looked_after",
        Died = "died",
        Other = "other",
    }
}

api_codes! {
    /// Status of a plan action.
    pub enum PlanActionStatus: pb::PlanActionStatus {
        NotStarted = "not_started",
        InProgress = "in_progress",
        Completed = "completed",
        NotAchieved = "not_achieved",
        Withdrawn = "withdrawn",
    }
}

api_codes! {
    /// Progress of a transfer-in.
    pub enum TransferInStatus: pb::TransferInStatus {
        AwaitingConference = "awaiting_conference",
        PlanStarted = "plan_started",
        NoPlan = "no_plan",
        Withdrawn = "withdrawn",
    }
}

api_codes! {
    /// A person's role in a family case.
    pub enum CaseRole: pb::CaseRole {
        LeadSocialWorker = "lead_social_worker",
        SocialWorker = "social_worker",
        TeamManager = "team_manager",
        ConferenceChair = "conference_chair",
        CoreGroupMember = "core_group_member",
        AgencyPractitioner = "agency_practitioner",
        BusinessSupport = "business_support",
        Advocate = "advocate",
        ManagerOversight = "manager_oversight",
    }
}

api_codes! {
    /// Why a case membership ended.
    pub enum MembershipEndReason: pb::MembershipEndReason {
        InvolvementEnded = "involvement_ended",
        Reallocated = "reallocated",
        LeftPost = "left_post",
        GrantedInError = "granted_in_error",
        ConflictOfInterest = "conflict_of_interest",
    }
}

impl PlanActionStatus {
    /// Completed and withdrawn actions never change status again.
    #[must_use]
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Withdrawn)
    }
}

impl PlanStatus {
    /// Whether the child is still subject to the plan.
    #[must_use]
    pub const fn is_open(self) -> bool {
        matches!(self, Self::Active | Self::TransferOutPending)
    }
}

impl ConferenceKind {
    /// Kinds whose decision is whether to start a plan (a reconvened
    /// conference may replace either kind).
    #[must_use]
    pub const fn may_start_plan(self) -> bool {
        matches!(
            self,
            Self::Initial | Self::PreBirth | Self::TransferIn | Self::Reconvened
        )
    }

    /// Kinds whose decision is whether to continue a plan.
    #[must_use]
    pub const fn may_review_plan(self) -> bool {
        matches!(
            self,
            Self::Review | Self::PostBirthReview | Self::Reconvened
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_codes_round_trip_and_refuse_unspecified() {
        for kind in AgencyKind::ALL {
            assert_eq!(AgencyKind::from_code(kind.code()), Some(*kind));
            assert_eq!(AgencyKind::from_proto(kind.to_i32()), Some(*kind));
        }
        for reason in PlanEndReason::ALL {
            assert_eq!(PlanEndReason::from_proto(reason.to_i32()), Some(*reason));
        }
        assert_eq!(AgencyKind::from_proto(0), None);
        // Agency-wide memberships name agencies as identity tokens do.
        for kind in AgencyKind::ALL {
            let identity = cpc_identity::AgencyKind::from_code(kind.to_i32()).unwrap();
            assert_eq!(identity.as_str(), kind.code());
            let agency = cpc_identity::Agency {
                kind: identity,
                name: "Gloucestershire Constabulary".into(),
            };
            assert_eq!(kind.agency_key(&agency.name), Some(agency.key()));
        }
        assert_eq!(AgencyKind::from_proto(999), None);
        assert_eq!(PlanEndReason::from_code("bogus"), None);
    }

    #[test]
    fn census_mappings_cover_every_api_value() {
        for value in 1..=10 {
            let need = primary_need_from_proto(value).unwrap();
            assert_eq!(primary_need_to_proto(need) as i32, value);
        }
        for value in 1..=9 {
            let reason = closure_reason_from_proto(value).unwrap();
            assert_eq!(closure_reason_to_proto(reason) as i32, value);
        }
        for value in 1..=7 {
            let reason = upn_unknown_from_proto(value).unwrap();
            assert_eq!(upn_unknown_to_proto(reason) as i32, value);
        }
        for value in 1..=5 {
            let category = category_from_proto(value).unwrap();
            assert_eq!(category_to_proto(category) as i32, value);
        }
        assert_eq!(primary_need_from_proto(0), None);
        assert_eq!(sex_from_proto(0), None);
        assert_eq!(sex_to_proto(sex_from_proto(3).unwrap()), pb::Sex::Unknown);
    }
}
