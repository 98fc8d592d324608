//! The scheduling store. Every function runs in a transaction the caller
//! opened with `cpc_platform::db::begin_for_authority` (row-level security
//! bound to one authority) and does not commit it.

pub mod conferences;
pub mod members;
pub mod needs;
