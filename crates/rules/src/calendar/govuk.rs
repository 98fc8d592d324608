//! The gov.uk bank holiday list, embedded at compile time.
//!
//! DOMAIN.md: gov.uk publishes `bank-holidays.json` with divisions
//! `england-and-wales`, `scotland`, `northern-ireland`, each holding
//! `events: [{title, date, notes, bunting}]`. It is the authority for the
//! years it covers (it carries the one-off holidays), so the calendar prefers
//! it over the rules for those years.

use std::borrow::Cow;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{BankHoliday, Nation};
use crate::error::RulesError;

/// The file as published by gov.uk (copied from `shared/data`).
const RAW: &str = include_str!("../../data/bank-holidays.json");

#[derive(Deserialize)]
struct Published<'a> {
    #[serde(rename = "england-and-wales", borrow)]
    england_and_wales: Division<'a>,
    #[serde(borrow)]
    scotland: Division<'a>,
    #[serde(rename = "northern-ireland", borrow)]
    northern_ireland: Division<'a>,
}

/// One division. Unknown fields are tolerated: gov.uk may add some, and
/// `notes`/`bunting` do not affect working days.
#[derive(Deserialize)]
struct Division<'a> {
    #[serde(borrow)]
    division: Cow<'a, str>,
    #[serde(borrow)]
    events: Vec<Event<'a>>,
}

#[derive(Deserialize)]
struct Event<'a> {
    date: NaiveDate,
    #[serde(borrow)]
    title: Cow<'a, str>,
}

/// The published bank holidays of one nation, in file order.
pub(super) fn published(nation: Nation) -> Result<Vec<BankHoliday>, RulesError> {
    let all: Published<'static> =
        serde_json::from_str(RAW).map_err(|error| RulesError::CalendarUnavailable {
            reason: format!("bank-holidays.json does not parse: {error}"),
        })?;
    let division = match nation {
        Nation::EnglandAndWales => all.england_and_wales,
        Nation::Scotland => all.scotland,
        Nation::NorthernIreland => all.northern_ireland,
    };
    if division.division != nation.key() {
        return Err(RulesError::CalendarUnavailable {
            reason: format!(
                "bank-holidays.json division {:?} is filed under {:?}",
                division.division,
                nation.key()
            ),
        });
    }
    Ok(division
        .events
        .into_iter()
        .map(|event| BankHoliday {
            date: event.date,
            title: event.title,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use chrono::Datelike;

    use super::*;

    #[test]
    fn the_embedded_file_parses_for_every_nation_and_covers_2012_to_2028() {
        for nation in Nation::ALL {
            let events = published(nation).unwrap();
            let first = events.iter().map(|h| h.date.year()).min().unwrap();
            let last = events.iter().map(|h| h.date.year()).max().unwrap();
            assert_eq!((first, last), (2012, 2028), "{nation}");
        }
        assert_eq!(published(Nation::EnglandAndWales).unwrap().len(), 140);
        assert_eq!(published(Nation::Scotland).unwrap().len(), 157);
        assert_eq!(published(Nation::NorthernIreland).unwrap().len(), 174);
    }

    #[test]
    fn titles_are_borrowed_from_the_embedded_file_not_copied() {
        let events = published(Nation::EnglandAndWales).unwrap();
        assert!(events.iter().all(|h| matches!(h.title, Cow::Borrowed(_))));
    }
}
