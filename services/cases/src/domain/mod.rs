//! The cases domain, parsed from the API ("parse, don't validate").
//!
//! Each request type of the API has a parser here that turns the raw
//! protobuf message into a domain value, collecting every bad field into
//! one `INVALID_ARGUMENT` whose violations are named by proto path
//! (`child.nhs_number`, `outcome.professional_views[1].safety_scale`). What
//! a parser cannot know without the database (that a referenced record
//! exists, that a plan is active) the store checks.
//!
//! Parsed values holding personal data print as `<redacted>` in `Debug`,
//! and no error description repeats a value that was given.

pub mod action;
pub mod check;
pub mod child;
pub mod common;
pub mod family;
pub mod journey;
pub mod membership;
pub mod outcome;
pub mod person;
pub mod plan;

pub use check::Check;
pub use common::AuthorityId;
pub use person::PersonRef;
