//! The children in need (CIN) census code sets that this system owns
//! (DOMAIN.md, "Children in need census"): sex, primary need, source of
//! referral, reason for closure, ethnicity and disability.
//!
//! The codes are those of the DfE CIN census specification as implemented by
//! the DfE-rule validator `csc-validator-be-cin` 0.1.13 (PyPI, MIT; the newest
//! release, rule set `cin2025_26`), which lists each set in the rule that
//! refuses anything else:
//!
//! | code set | item | validator rule |
//! |---|---|---|
//! | [`Sex`] | N00783 | 4180 (`cin2024_25`) |
//! | [`PrimaryNeed`] | N00101 | 8650 |
//! | [`ReferralSource`] | N00152 | 8866 |
//! | [`ClosureReason`] | N00103 | 8640 |
//! | [`Ethnicity`] | N00177 | 4220 |
//! | [`Disability`] | N00099 | 8540 |
//!
//! The validator lists codes only, so the labels are the descriptions in the
//! DfE CIN census XML schema (`CIN_schema_2024.xsd`, as published in
//! SocialFinanceDigitalLabs/liia-tools), lower-cased where they are not
//! names; the labels of [`Sex`] follow the validator's rules 4180, 8750 and
//! 2886Q, because the schema still carries the old gender codes.
//!
//! Every set parses exactly its upper-case codes, prints and serialises as
//! the code, and refuses anything else with an [`UnknownCensusCode`] that
//! names the set and its census item.

use std::fmt;

/// Which census code set a code was checked against; named in
/// [`UnknownCensusCode`] so a refusal says which list the value is not in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeSet {
    /// N00783, [`Sex`].
    Sex,
    /// N00101, [`PrimaryNeed`].
    PrimaryNeed,
    /// N00152, [`ReferralSource`].
    ReferralSource,
    /// N00103, [`ClosureReason`].
    ClosureReason,
    /// N00177, [`Ethnicity`].
    Ethnicity,
    /// N00099, [`Disability`].
    Disability,
    /// N00135, [`UpnUnknownReason`](crate::identifiers::UpnUnknownReason).
    UpnUnknownReason,
}

impl CodeSet {
    /// Every code set, in the order of this module's table.
    pub const ALL: [Self; 7] = [
        Self::Sex,
        Self::PrimaryNeed,
        Self::ReferralSource,
        Self::ClosureReason,
        Self::Ethnicity,
        Self::Disability,
        Self::UpnUnknownReason,
    ];

    /// The plain-English name of the set, as used in error messages.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sex => "sex",
            Self::PrimaryNeed => "primary need",
            Self::ReferralSource => "referral source",
            Self::ClosureReason => "reason for closure",
            Self::Ethnicity => "ethnicity",
            Self::Disability => "disability",
            Self::UpnUnknownReason => "UPN unknown reason",
        }
    }

    /// The CIN census data item that carries a code of this set.
    #[must_use]
    pub const fn item(self) -> &'static str {
        match self {
            Self::Sex => "N00783",
            Self::PrimaryNeed => "N00101",
            Self::ReferralSource => "N00152",
            Self::ClosureReason => "N00103",
            Self::Ethnicity => "N00177",
            Self::Disability => "N00099",
            Self::UpnUnknownReason => "N00135",
        }
    }

    /// Every valid code of the set, in census order.
    #[must_use]
    pub const fn codes(self) -> &'static [&'static str] {
        match self {
            Self::Sex => &Sex::CODES,
            Self::PrimaryNeed => &PrimaryNeed::CODES,
            Self::ReferralSource => &ReferralSource::CODES,
            Self::ClosureReason => &ClosureReason::CODES,
            Self::Ethnicity => &Ethnicity::CODES,
            Self::Disability => &Disability::CODES,
            Self::UpnUnknownReason => &crate::identifiers::UpnUnknownReason::CODES,
        }
    }
}

/// Displays the plain-English name of the set.
impl fmt::Display for CodeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value that is not a code of the census code set it was parsed as.
///
/// Its message names the set, its census item and every valid code, so a
/// gRPC adapter can turn it into a field violation as it stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown {set} code {code:?} (CIN census {item}): expected {expected}",
    item = set.item(),
    expected = one_of(set.codes())
)]
pub struct UnknownCensusCode {
    /// The code set the value was checked against.
    pub set: CodeSet,
    /// The text that was given, cut to [`UnknownCensusCode::QUOTED_CHARS`]
    /// characters (marked "…"): codes are short, and a message quoting a
    /// caller's megabyte back at them helps nobody.
    pub code: String,
}

impl UnknownCensusCode {
    /// The most characters of the given text the message quotes.
    pub const QUOTED_CHARS: usize = 12;

    /// `given` is not a code of `set`.
    #[must_use]
    pub fn new(set: CodeSet, given: &str) -> Self {
        let code = match given.char_indices().nth(Self::QUOTED_CHARS) {
            None => given.to_owned(),
            Some((cut, _)) => format!("{}…", &given[..cut]),
        };
        Self { set, code }
    }
}

/// "A, B or C": the codes as a list a person reads.
fn one_of(codes: &[&str]) -> String {
    match codes {
        [] => String::new(),
        [only] => (*only).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Declares a census code set: the enum with a doc comment per code, `ALL`,
/// `code()`, `label()`, and Display/FromStr/serde as the code. Used here and
/// by [`crate::identifiers`], so every set behaves alike.
macro_rules! census_code_set {
    (
        $(#[$meta:meta])*
        pub enum $name:ident in $set:expr;
        $(
            $(#[$vmeta:meta])*
            $variant:ident = $code:literal, $label:literal;
        )+
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $(
                #[doc = concat!("`", $code, "`: ", $label, ".")]
                #[doc = ""]
                $(#[$vmeta])*
                $variant,
            )+
        }

        impl $name {
            /// Every code of the set, in census order.
            pub const ALL: [Self; [$($code),+].len()] = [$(Self::$variant),+];

            /// The codes of [`Self::ALL`], in the same order.
            pub(crate) const CODES: [&'static str; [$($code),+].len()] = [$($code),+];

            /// The census code, which is also how the value is stored and
            /// serialised.
            #[must_use]
            pub const fn code(self) -> &'static str {
                match self {
                    $(Self::$variant => $code,)+
                }
            }

            /// The plain-English description of the code, for people.
            #[must_use]
            pub const fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)+
                }
            }
        }

        /// Displays the census code, the one unambiguous spelling.
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.code())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::census::UnknownCensusCode;

            /// Parses exactly a census code (upper case, as DfE publishes
            /// them).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|value| value.code() == s)
                    .ok_or_else(|| $crate::census::UnknownCensusCode::new($set, s))
            }
        }

        /// Serialises as the census code.
        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        /// Deserialises from the census code, refusing anything else with
        /// the [`UnknownCensusCode`](crate::census::UnknownCensusCode)
        /// message.
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = <::std::string::String as ::serde::Deserialize>::deserialize(deserializer)?;
                code.parse().map_err(<D::Error as ::serde::de::Error>::custom)
            }
        }
    };
}

pub(crate) use census_code_set;

census_code_set! {
    /// A child's sex (N00783), which replaced the numeric gender codes from
    /// the 2024 to 2025 census.
    pub enum Sex in CodeSet::Sex;
    Male = "M", "male";
    Female = "F", "female";
    /// Used when the sex is not recorded, and always for an unborn child
    /// (validator rules 8750 and 2886Q).
    Unknown = "U", "unknown";
}

census_code_set! {
    /// The primary reason a child is assessed to be in need (N00101),
    /// recorded for every referral that leads to further action (rule 8610).
    pub enum PrimaryNeed in CodeSet::PrimaryNeed;
    AbuseOrNeglect = "N1", "abuse or neglect";
    ChildsDisability = "N2", "child's disability";
    ParentalDisabilityOrIllness = "N3", "parental disability or illness";
    FamilyInAcuteStress = "N4", "family in acute stress";
    FamilyDysfunction = "N5", "family dysfunction";
    SociallyUnacceptableBehaviour = "N6", "socially unacceptable behaviour";
    LowIncome = "N7", "low income";
    AbsentParenting = "N8", "absent parenting";
    CasesOtherThanChildrenInNeed = "N9", "cases other than children in need";
    NotStated = "N0", "not stated";
}

census_code_set! {
    /// Who referred the child to children's social care (N00152), required
    /// for every referral since 1 April 2013 (rule 8866).
    pub enum ReferralSource in CodeSet::ReferralSource;
    IndividualFamily = "1A", "individual – family member, relative or carer";
    IndividualAcquaintance = "1B", "individual – acquaintance (including neighbours and child minders)";
    IndividualSelf = "1C", "individual – self";
    IndividualOther = "1D", "individual – other (including strangers)";
    Schools = "2A", "schools";
    EducationServices = "2B", "education services";
    HealthGp = "3A", "health services – general practitioner (GP)";
    HealthVisitor = "3B", "health services – health visitor";
    HealthSchoolNurse = "3C", "health services – school nurse";
    HealthOtherPrimary = "3D", "health services – other primary health services";
    HealthAccidentAndEmergency = "3E", "health services – A&E (accident and emergency department)";
    HealthOther = "3F", "health services – other (for example hospice)";
    Housing = "4", "housing – local authority housing or housing association";
    LaSocialCare = "5A", "LA services – social care for example adults social care services";
    LaOtherInternal = "5B", "LA services – other internal (department other than social care in local authorities, for example, youth offending (excluding housing))";
    LaExternal = "5C", "LA services – external, for example, from another local authority's adults social care services";
    LaEarlyHelp = "5D", "LA services – early help";
    Police = "6", "police";
    OtherLegalAgency = "7", "other legal agency – including courts, probation, immigration, CAFCASS (Children and Family Court Advisory and Support Service) or prison";
    Other = "8", "other – including children's centres, independent agency providers or voluntary organisations";
    Anonymous = "9", "anonymous";
    Unknown = "10", "unknown";
}

census_code_set! {
    /// Why a CIN episode was closed (N00103); present exactly when the
    /// closure date is (rules 8805, 8810).
    pub enum ClosureReason in CodeSet::ClosureReason;
    Adopted = "RC1", "adopted";
    /// The census expects a date of death with it (rule 8585Q).
    Died = "RC2", "died";
    ChildArrangementsOrder = "RC3", "child arrangements order";
    SpecialGuardianshipOrder = "RC4", "special guardianship order";
    TransferredToAnotherLocalAuthority = "RC5", "transferred to services of another local authority";
    TransferredToAdultSocialCare = "RC6", "transferred to adult social care services";
    ServicesCeased = "RC7", "services ceased for any other reason, including child no longer in need";
    /// Expects an assessment on the episode (rule 8825Q).
    ClosedAfterAssessmentNoFurtherAction = "RC8", "case closed after assessment, no further action";
    /// Expects an assessment on the episode (rule 8825Q).
    ClosedAfterAssessmentEarlyHelp = "RC9", "case closed after assessment, referred to early help";
}

census_code_set! {
    /// A child's ethnicity (N00177), mandatory for every child (rule 4220).
    /// Labels keep the capitals of the DfE names.
    pub enum Ethnicity in CodeSet::Ethnicity;
    WhiteBritish = "WBRI", "White British";
    WhiteIrish = "WIRI", "White Irish";
    TravellerOfIrishHeritage = "WIRT", "Traveller of Irish heritage";
    AnyOtherWhite = "WOTH", "Any other White background";
    GypsyRoma = "WROM", "Gypsy/Roma";
    WhiteAndBlackCaribbean = "MWBC", "White and Black Caribbean";
    WhiteAndBlackAfrican = "MWBA", "White and Black African";
    WhiteAndAsian = "MWAS", "White and Asian";
    AnyOtherMixed = "MOTH", "Any other mixed background";
    Indian = "AIND", "Indian";
    Pakistani = "APKN", "Pakistani";
    Bangladeshi = "ABAN", "Bangladeshi";
    AnyOtherAsian = "AOTH", "Any other Asian background";
    Caribbean = "BCRB", "Caribbean";
    African = "BAFR", "African";
    AnyOtherBlack = "BOTH", "Any other black background";
    Chinese = "CHNE", "Chinese";
    AnyOtherEthnicGroup = "OOTH", "Any other ethnic group";
    /// The child or parent declined to say.
    Refused = "REFU", "Refused";
    NotObtained = "NOBT", "Information not yet obtained";
}

census_code_set! {
    /// One of a child's disabilities (N00099); a child may have several, but
    /// not the same code twice (rule 8794) nor `NONE` beside another code
    /// (rule 8790).
    pub enum Disability in CodeSet::Disability;
    NoDisability = "NONE", "no disability";
    Mobility = "MOB", "mobility";
    HandFunction = "HAND", "hand function";
    PersonalCare = "PC", "personal care";
    Incontinence = "INC", "incontinence";
    Communication = "COMM", "communication";
    Learning = "LD", "learning";
    Hearing = "HEAR", "hearing";
    Vision = "VIS", "vision";
    Behaviour = "BEH", "behaviour";
    Consciousness = "CON", "consciousness";
    Autism = "AUT", "autism";
    /// A disability within the Disability Discrimination Act not
    /// covered by another code.
    Other = "DDA", "other";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identifiers::UpnUnknownReason;

    /// Every value of a set parses from, prints as and serialises to its
    /// code, and the codes are distinct.
    fn round_trips<T>(all: &[T], set: CodeSet)
    where
        T: Copy
            + PartialEq
            + fmt::Debug
            + fmt::Display
            + std::str::FromStr<Err = UnknownCensusCode>
            + serde::Serialize
            + serde::de::DeserializeOwned,
    {
        assert_eq!(all.len(), set.codes().len());
        for (value, code) in all.iter().zip(set.codes()) {
            assert_eq!(code.parse::<T>(), Ok(*value));
            assert_eq!(value.to_string(), *code);
            let json = format!("\"{code}\"");
            assert_eq!(serde_json::to_string(value).unwrap(), json);
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), *value);
        }
        let mut codes = set.codes().to_vec();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len(), "duplicate code in {set}");
    }

    #[test]
    fn every_code_round_trips() {
        round_trips(&Sex::ALL, CodeSet::Sex);
        round_trips(&PrimaryNeed::ALL, CodeSet::PrimaryNeed);
        round_trips(&ReferralSource::ALL, CodeSet::ReferralSource);
        round_trips(&ClosureReason::ALL, CodeSet::ClosureReason);
        round_trips(&Ethnicity::ALL, CodeSet::Ethnicity);
        round_trips(&Disability::ALL, CodeSet::Disability);
        round_trips(&UpnUnknownReason::ALL, CodeSet::UpnUnknownReason);
    }

    /// The code lists exactly as `csc-validator-be-cin` 0.1.13 has them
    /// (sorted, so the comparison ignores order).
    #[test]
    fn code_lists_match_the_validator() {
        let sorted = |set: CodeSet| {
            let mut codes = set.codes().to_vec();
            codes.sort_unstable();
            codes
        };
        assert_eq!(sorted(CodeSet::Sex), ["F", "M", "U"]);
        assert_eq!(
            sorted(CodeSet::PrimaryNeed),
            ["N0", "N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
        );
        assert_eq!(
            sorted(CodeSet::ReferralSource),
            [
                "10", "1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "4",
                "5A", "5B", "5C", "5D", "6", "7", "8", "9"
            ]
        );
        assert_eq!(
            sorted(CodeSet::ClosureReason),
            [
                "RC1", "RC2", "RC3", "RC4", "RC5", "RC6", "RC7", "RC8", "RC9"
            ]
        );
        assert_eq!(
            sorted(CodeSet::Ethnicity),
            [
                "ABAN", "AIND", "AOTH", "APKN", "BAFR", "BCRB", "BOTH", "CHNE", "MOTH", "MWAS",
                "MWBA", "MWBC", "NOBT", "OOTH", "REFU", "WBRI", "WIRI", "WIRT", "WOTH", "WROM"
            ]
        );
        assert_eq!(
            sorted(CodeSet::Disability),
            [
                "AUT", "BEH", "COMM", "CON", "DDA", "HAND", "HEAR", "INC", "LD", "MOB", "NONE",
                "PC", "VIS"
            ]
        );
        assert_eq!(
            sorted(CodeSet::UpnUnknownReason),
            ["UN1", "UN2", "UN3", "UN4", "UN5", "UN6", "UN7"]
        );
    }

    #[test]
    fn labels_are_the_dfe_descriptions() {
        assert_eq!(Sex::Unknown.label(), "unknown");
        assert_eq!(PrimaryNeed::AbuseOrNeglect.label(), "abuse or neglect");
        assert_eq!(PrimaryNeed::NotStated.label(), "not stated");
        assert_eq!(ReferralSource::Police.label(), "police");
        assert_eq!(
            ReferralSource::LaEarlyHelp.label(),
            "LA services – early help"
        );
        assert_eq!(ClosureReason::Died.label(), "died");
        assert_eq!(Ethnicity::WhiteBritish.label(), "White British");
        assert_eq!(Disability::NoDisability.label(), "no disability");
        assert_eq!(Disability::Other.code(), "DDA");
    }

    #[test]
    fn unknown_codes_name_the_code_set() {
        fn refused<T>(bad: &str, set: CodeSet)
        where
            T: fmt::Debug + PartialEq + std::str::FromStr<Err = UnknownCensusCode>,
        {
            assert_eq!(
                bad.parse::<T>(),
                Err(UnknownCensusCode {
                    set,
                    code: bad.to_owned()
                })
            );
        }
        for bad in ["", " ", "m", "Male", "X", "M "] {
            refused::<Sex>(bad, CodeSet::Sex);
        }
        for bad in ["n1", "N10", "N", "1"] {
            refused::<PrimaryNeed>(bad, CodeSet::PrimaryNeed);
        }
        for bad in ["1a", "1E", "5E", "0", "11", "01"] {
            refused::<ReferralSource>(bad, CodeSet::ReferralSource);
        }
        for bad in ["RC0", "RC10", "rc1"] {
            refused::<ClosureReason>(bad, CodeSet::ClosureReason);
        }
        for bad in ["wbri", "WBR", "WHIT", "OTHR"] {
            refused::<Ethnicity>(bad, CodeSet::Ethnicity);
        }
        for bad in ["none", "OTH", "AUTI", "DD"] {
            refused::<Disability>(bad, CodeSet::Disability);
        }
        for bad in ["UN0", "UN8", "un1"] {
            refused::<UpnUnknownReason>(bad, CodeSet::UpnUnknownReason);
        }
    }

    #[test]
    fn a_refusal_quotes_at_most_twelve_characters_of_what_was_given() {
        let long = "\u{1F600}".repeat(70_000);
        let err = long.parse::<Disability>().unwrap_err();
        assert_eq!(err.code, format!("{}…", "\u{1F600}".repeat(12)));
        assert!(err.to_string().len() < 300, "{err}");
        let twelve = "ABCDEFGHIJKL";
        assert_eq!(twelve.parse::<Sex>().unwrap_err().code, twelve);
        assert_eq!(
            "ABCDEFGHIJKLM".parse::<Sex>().unwrap_err().code,
            "ABCDEFGHIJKL…"
        );
    }

    #[test]
    fn refusal_messages_name_the_set_item_and_codes() {
        assert_eq!(
            "X".parse::<Sex>().unwrap_err().to_string(),
            "unknown sex code \"X\" (CIN census N00783): expected M, F or U"
        );
        assert_eq!(
            "RC0".parse::<ClosureReason>().unwrap_err().to_string(),
            "unknown reason for closure code \"RC0\" (CIN census N00103): \
             expected RC1, RC2, RC3, RC4, RC5, RC6, RC7, RC8 or RC9"
        );
        let message = "ZZZZ".parse::<Ethnicity>().unwrap_err().to_string();
        assert!(
            message.starts_with(
                "unknown ethnicity code \"ZZZZ\" (CIN census N00177): expected WBRI, WIRI,"
            ),
            "{message}"
        );
        assert!(message.ends_with("REFU or NOBT"), "{message}");
    }

    #[test]
    fn deserialising_an_unknown_code_gives_the_same_message() {
        let err = serde_json::from_str::<Disability>("\"OTH\"").unwrap_err();
        assert!(
            err.to_string().starts_with(
                "unknown disability code \"OTH\" (CIN census N00099): expected NONE, MOB,"
            ),
            "{err}"
        );
        assert!(serde_json::from_str::<Sex>("1").is_err());
    }

    #[test]
    fn one_of_reads_as_a_list() {
        assert_eq!(one_of(&[]), "");
        assert_eq!(one_of(&["A"]), "A");
        assert_eq!(one_of(&["A", "B"]), "A or B");
        assert_eq!(one_of(&["A", "B", "C"]), "A, B or C");
    }
}
