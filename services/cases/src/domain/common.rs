//! Pieces shared by several resources: external references, update masks,
//! the authority id and page requests.

use cpc_proto::cases::v1 as pb;
use serde::{Deserialize, Serialize};

use super::check::Check;
pub use cpc_platform::check::update_mask;

/// An authority (tenant) id, e.g. a DfE LA code or ONS code such as
/// `E10000013`: 1–64 letters, digits, `-` or `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AuthorityId(String);

impl AuthorityId {
    /// Parses an authority id.
    ///
    /// # Errors
    /// A description of what is wrong.
    pub fn parse(text: &str) -> Result<Self, &'static str> {
        if text.is_empty() || text.len() > 64 {
            return Err("must be 1-64 characters");
        }
        if !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("must be letters, digits, '-' or '_'");
        }
        Ok(Self(text.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for AuthorityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A matching record in the authority's case management system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalReference {
    pub system: String,
    pub id: String,
}

impl ExternalReference {
    /// Parses a list at `field`; each system/id pair at most once.
    pub fn parse_list(check: &mut Check, field: &str, refs: &[pb::ExternalReference]) -> Vec<Self> {
        let mut parsed: Vec<Self> = Vec::with_capacity(refs.len());
        for (i, r) in refs.iter().enumerate() {
            let system = check.text(&format!("{field}[{i}].system"), &r.system, 1, 40);
            let id = check.text(&format!("{field}[{i}].id"), &r.id, 1, 100);
            let reference = Self { system, id };
            if parsed.contains(&reference) {
                check.add(format!("{field}[{i}]"), "appears more than once");
            }
            parsed.push(reference);
        }
        parsed
    }

    #[must_use]
    pub fn to_proto(&self) -> pb::ExternalReference {
        pb::ExternalReference {
            system: self.system.clone(),
            id: self.id.clone(),
        }
    }

    /// The stored JSON of a list.
    #[must_use]
    pub fn list_to_json(refs: &[Self]) -> serde_json::Value {
        serde_json::to_value(refs).unwrap_or_else(|_| serde_json::Value::Array(Vec::new()))
    }

    /// The API messages of a stored JSON list (an unreadable list reads as
    /// empty; the column's check constraint keeps it an array).
    #[must_use]
    pub fn list_from_json(json: &serde_json::Value) -> Vec<pb::ExternalReference> {
        serde_json::from_value::<Vec<Self>>(json.clone())
            .unwrap_or_default()
            .iter()
            .map(Self::to_proto)
            .collect()
    }
}
