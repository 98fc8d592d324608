//! Categories of harm, as recorded on a child protection plan.
//!
//! DOMAIN.md: "Sexual, physical, emotional, neglect (each child on a plan must
//! have one; the initial and latest category are both recorded). CIN census
//! codes: SAB, PHY, EMO, NEG, and MUL (multiple; not recommended)."

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::RulesError;

/// The category of harm under which a child is made subject to a plan; the
/// census items N00113 (initial) and N00114 (latest) carry its code.
///
/// Serialised as the census code, which is also how it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CategoryOfHarm {
    /// Sexual abuse (`SAB`).
    #[serde(rename = "SAB")]
    Sexual,
    /// Physical abuse (`PHY`).
    #[serde(rename = "PHY")]
    Physical,
    /// Emotional abuse (`EMO`).
    #[serde(rename = "EMO")]
    Emotional,
    /// Neglect (`NEG`).
    #[serde(rename = "NEG")]
    Neglect,
    /// Multiple categories (`MUL`); valid in the census but "not recommended":
    /// conferences should name the primary category instead.
    #[serde(rename = "MUL")]
    Multiple,
}

impl CategoryOfHarm {
    /// Every category, in census order.
    pub const ALL: [Self; 5] = [
        Self::Sexual,
        Self::Physical,
        Self::Emotional,
        Self::Neglect,
        Self::Multiple,
    ];

    /// The CIN census code.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Sexual => "SAB",
            Self::Physical => "PHY",
            Self::Emotional => "EMO",
            Self::Neglect => "NEG",
            Self::Multiple => "MUL",
        }
    }

    /// The plain-English name used in minutes and letters to families.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Sexual => "sexual abuse",
            Self::Physical => "physical abuse",
            Self::Emotional => "emotional abuse",
            Self::Neglect => "neglect",
            Self::Multiple => "multiple",
        }
    }
}

/// Displays the census code, the one unambiguous spelling.
impl fmt::Display for CategoryOfHarm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for CategoryOfHarm {
    type Err = RulesError;

    /// Parses exactly a census code (upper case, as DfE publishes them).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|category| category.code() == s)
            .ok_or_else(|| RulesError::UnknownCategoryCode { code: s.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_and_print() {
        for (code, category) in [
            ("SAB", CategoryOfHarm::Sexual),
            ("PHY", CategoryOfHarm::Physical),
            ("EMO", CategoryOfHarm::Emotional),
            ("NEG", CategoryOfHarm::Neglect),
            ("MUL", CategoryOfHarm::Multiple),
        ] {
            assert_eq!(code.parse::<CategoryOfHarm>(), Ok(category));
            assert_eq!(category.code(), code);
            assert_eq!(category.to_string(), code);
            assert_eq!(
                serde_json::to_string(&category).unwrap(),
                format!("\"{code}\"")
            );
            assert_eq!(
                serde_json::from_str::<CategoryOfHarm>(&format!("\"{code}\"")).unwrap(),
                category
            );
        }
        assert_eq!(CategoryOfHarm::Neglect.label(), "neglect");
    }

    #[test]
    fn unknown_codes_are_refused_exactly() {
        for bad in ["neg", "Neglect", "SA", "", "MULT"] {
            assert_eq!(
                bad.parse::<CategoryOfHarm>(),
                Err(RulesError::UnknownCategoryCode {
                    code: bad.to_owned()
                })
            );
        }
        assert_eq!(
            "XYZ".parse::<CategoryOfHarm>().unwrap_err().to_string(),
            "unknown category of harm code \"XYZ\": expected SAB, PHY, EMO, NEG or MUL"
        );
    }
}
