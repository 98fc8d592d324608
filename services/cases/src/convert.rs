//! Conversions between the API's dates and timestamps and chrono's, shared
//! by every service (`cpc_platform::convert`).

pub use cpc_platform::convert::*;
