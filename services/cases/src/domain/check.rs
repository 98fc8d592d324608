//! Request checking, shared by every service (`cpc_platform::check`), and
//! the redacting `Debug` (`cpc_platform::redacted_debug!`).

pub use cpc_platform::check::{Check, merge};

pub(crate) use cpc_platform::redacted_debug;
