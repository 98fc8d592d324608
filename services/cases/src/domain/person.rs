//! A reference to a person on a record: professionals (with their agency),
//! family members and children (without).

use cpc_proto::common::v1 as common;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::check::{Check, redacted_debug};
use crate::codes::AgencyKind;

/// A parsed `cpc.common.v1.PersonRef`. Stored as JSON where a record only
/// shows it, and as columns where it is queried (attendees, core group,
/// members, action owners).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRef {
    pub person_id: Uuid,
    pub display_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_kind: Option<AgencyKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency_name: Option<String>,
}

redacted_debug!(PersonRef);

/// Whether a person reference must name an agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agency {
    /// Professionals: agency kind and name required.
    Required,
    /// Anyone: agency optional, but a kind needs a name.
    Optional,
}

impl PersonRef {
    /// Parses a required person reference at `field`.
    pub fn parse(
        check: &mut Check,
        field: &str,
        person: Option<&common::PersonRef>,
        agency: Agency,
    ) -> Option<Self> {
        let Some(person) = person else {
            check.add(field, "is required");
            return None;
        };
        let person_id = check.id(&format!("{field}.person_id"), &person.person_id);
        let display_name = check.text(
            &format!("{field}.display_name"),
            &person.display_name,
            1,
            200,
        );
        let kind_field = format!("{field}.agency_kind");
        let agency_kind = match agency {
            Agency::Required => {
                check.required_enum(&kind_field, person.agency_kind, AgencyKind::from_proto)
            }
            Agency::Optional => {
                check.opt_enum(&kind_field, person.agency_kind, AgencyKind::from_proto)
            }
        };
        let name_field = format!("{field}.agency_name");
        let agency_name = check.opt_text(&name_field, &person.agency_name, 200);
        if person.agency_kind != 0 && agency_name.is_none() {
            check.add(name_field, "is required with agency_kind");
        } else if person.agency_kind == 0 && agency_name.is_some() && agency == Agency::Optional {
            check.add(kind_field, "is required with agency_name");
        }
        Some(Self {
            person_id: person_id?,
            display_name,
            agency_kind,
            agency_name,
        })
    }

    /// Parses an optional person reference (absent or all-empty means none).
    pub fn parse_opt(
        check: &mut Check,
        field: &str,
        person: Option<&common::PersonRef>,
        agency: Agency,
    ) -> Option<Self> {
        match person {
            Some(p) if *p != common::PersonRef::default() => {
                Self::parse(check, field, Some(p), agency)
            }
            _ => None,
        }
    }

    /// Parses a list, each at `field[i]`; a person may appear only once.
    pub fn parse_list(
        check: &mut Check,
        field: &str,
        people: &[common::PersonRef],
        agency: Agency,
    ) -> Vec<Self> {
        let mut parsed: Vec<Self> = Vec::with_capacity(people.len());
        for (i, person) in people.iter().enumerate() {
            let item = format!("{field}[{i}]");
            if let Some(person) = Self::parse(check, &item, Some(person), agency) {
                if parsed.iter().any(|p| p.person_id == person.person_id) {
                    check.add(format!("{item}.person_id"), "appears more than once");
                }
                parsed.push(person);
            }
        }
        parsed
    }

    /// The API message.
    #[must_use]
    pub fn to_proto(&self) -> common::PersonRef {
        common::PersonRef {
            person_id: self.person_id.to_string(),
            display_name: self.display_name.clone(),
            agency_kind: self.agency_kind.map_or(0, AgencyKind::to_i32),
            agency_name: self.agency_name.clone().unwrap_or_default(),
        }
    }

    /// The stored JSON.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// A person stored as columns (`person_id`, `display_name`, `agency_kind`,
/// `agency_name`), as read back.
#[derive(Clone, sqlx::FromRow)]
pub struct PersonColumns {
    pub person_id: Uuid,
    pub display_name: String,
    pub agency_kind: Option<AgencyKind>,
    pub agency_name: Option<String>,
}

redacted_debug!(PersonColumns);

impl From<PersonColumns> for PersonRef {
    fn from(p: PersonColumns) -> Self {
        Self {
            person_id: p.person_id,
            display_name: p.display_name,
            agency_kind: p.agency_kind,
            agency_name: p.agency_name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn professionals_need_an_agency() {
        let mut check = Check::new();
        let person = common::PersonRef {
            person_id: "7d0e1c52-5b0e-4d53-9a43-2f0d4e2f8a11".into(),
            display_name: "A Worker".into(),
            agency_kind: 0,
            agency_name: String::new(),
        };
        assert!(PersonRef::parse(&mut check, "p", Some(&person), Agency::Required).is_some());
        let err = check.finish().unwrap_err().to_string();
        assert_eq!(err, "invalid argument: invalid fields: p.agency_kind");
    }

    #[test]
    fn json_round_trips_without_empty_agency() {
        let person = PersonRef {
            person_id: Uuid::nil(),
            display_name: "Mum".into(),
            agency_kind: None,
            agency_name: None,
        };
        let json = person.to_json();
        assert_eq!(
            json,
            serde_json::json!({"person_id": Uuid::nil(), "display_name": "Mum"})
        );
        assert!(serde_json::from_value::<PersonRef>(json).unwrap() == person);
        assert_eq!(format!("{person:?}"), "PersonRef { <redacted> }");
    }
}
