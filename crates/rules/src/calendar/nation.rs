//! The UK nations whose bank holidays differ.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::RulesError;

/// A bank-holiday jurisdiction, named by the gov.uk `bank-holidays.json`
/// division keys (DOMAIN.md, statutory timescales).
///
/// Working days are "Monday to Friday less the bank holidays of the
/// authority's nation"; English authorities use [`Nation::EnglandAndWales`].
/// Scotland and Northern Ireland are kept because cross-border transfers and
/// placements need their calendars too.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Nation {
    /// England and Wales (gov.uk key `england-and-wales`); the default because
    /// cpc serves English local authorities.
    #[default]
    EnglandAndWales,
    /// Scotland (gov.uk key `scotland`).
    Scotland,
    /// Northern Ireland (gov.uk key `northern-ireland`).
    NorthernIreland,
}

impl Nation {
    /// Every nation, for iterating in tests and start-up warm-up.
    pub const ALL: [Self; 3] = [Self::EnglandAndWales, Self::Scotland, Self::NorthernIreland];

    /// The gov.uk division key, which is also the configuration spelling.
    #[must_use]
    pub const fn key(self) -> &'static str {
        match self {
            Self::EnglandAndWales => "england-and-wales",
            Self::Scotland => "scotland",
            Self::NorthernIreland => "northern-ireland",
        }
    }
}

impl fmt::Display for Nation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

impl FromStr for Nation {
    type Err = RulesError;

    /// Parses exactly the gov.uk keys; anything else is refused rather than
    /// guessed, because the wrong calendar silently moves statutory deadlines.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|nation| nation.key() == s)
            .ok_or_else(|| RulesError::UnknownNation {
                value: s.to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_from_str_display_and_serde() {
        for nation in Nation::ALL {
            assert_eq!(nation.to_string().parse::<Nation>(), Ok(nation));
            let json = serde_json::to_string(&nation).unwrap();
            assert_eq!(json, format!("\"{}\"", nation.key()));
            assert_eq!(serde_json::from_str::<Nation>(&json).unwrap(), nation);
        }
        assert_eq!(Nation::EnglandAndWales.to_string(), "england-and-wales");
        assert_eq!(Nation::Scotland.to_string(), "scotland");
        assert_eq!(Nation::NorthernIreland.to_string(), "northern-ireland");
    }

    #[test]
    fn unknown_or_differently_spelt_keys_are_refused() {
        for bad in ["England-and-Wales", "england_and_wales", "wales", ""] {
            assert_eq!(
                bad.parse::<Nation>(),
                Err(RulesError::UnknownNation {
                    value: bad.to_owned()
                })
            );
        }
        assert_eq!(
            "ENGLAND".parse::<Nation>().unwrap_err().to_string(),
            "unknown nation \"ENGLAND\": expected england-and-wales, scotland or northern-ireland"
        );
        assert!(serde_json::from_str::<Nation>("\"wales\"").is_err());
    }
}
