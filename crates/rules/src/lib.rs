//! The rules of child protection conferences in English local authorities,
//! as pure functions: no I/O, no async, no clock (today is always a
//! parameter).
//!
//! Source of truth: `shared/DOMAIN.md` (statutory guidance *Working Together
//! to Safeguard Children* and the seed local procedures). Each module says
//! which part it implements:
//!
//! - [`calendar`]: working days per UK nation, 2000–2100;
//! - [`months`]: "N months after" with month-end clamping;
//! - [`profile`]: per-authority settings and their national limits;
//! - [`timescales`]: every deadline of a child's journey;
//! - [`categories`]: categories of harm and their census codes;
//! - [`census`]: the other CIN census code sets this system owns;
//! - [`identifiers`]: NHS number, UPN and LA child ID, checked on entry;
//! - [`quorum`]: whether a conference is quorate;
//! - [`decision`]: resolving the conference's decision;
//! - [`plan`]: the child protection plan lifecycle;
//! - [`timeliness`]: how timely statutory events were over a period;
//! - [`error`]: the rules' error type (input parsing in [`identifiers`] and
//!   [`census`] has its own, which never echoes personal data).
//!
//! ```
//! use chrono::NaiveDate;
//! use cpc_rules::profile::AuthorityProfile;
//! use cpc_rules::timescales::Timescales;
//!
//! let timescales = Timescales::new(&AuthorityProfile::default())?;
//! let strategy_discussion = NaiveDate::from_ymd_opt(2022, 5, 27).unwrap_or_default();
//! // 15 working days, not counting the Platinum Jubilee holidays of 2 and 3 June.
//! assert_eq!(
//!     timescales.icpc_due(strategy_discussion)?,
//!     NaiveDate::from_ymd_opt(2022, 6, 21).unwrap_or_default()
//! );
//! # Ok::<(), cpc_rules::RulesError>(())
//! ```

pub mod calendar;
pub mod categories;
pub mod census;
pub mod civil_time;
pub mod decision;
pub mod drift;
pub mod error;
pub mod identifiers;
pub mod months;
pub mod plan;
pub mod profile;
pub mod quorum;
pub mod timeliness;
pub mod timescales;

pub use calendar::{Nation, WorkingDayCalendar};
pub use error::RulesError;
pub use identifiers::{IdentifierError, LaChildId, NhsNumber, Upn};
