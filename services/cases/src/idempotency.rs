//! Request ids (AIP-155), as every service honours them
//! (`cpc_platform::idempotency`), and the names of the cases service's
//! create calls they are kept under.

pub use cpc_platform::idempotency::{RequestKey, remember, replay};

/// The RPC names used as the method part of keys.
pub mod methods {
    pub const CREATE_CASE: &str = "CreateCase";
    pub const CREATE_CHILD: &str = "CreateChild";
    pub const ADD_FAMILY_MEMBER: &str = "AddFamilyMember";
    pub const OPEN_CIN_EPISODE: &str = "OpenCinEpisode";
    pub const RECORD_STRATEGY_DISCUSSION: &str = "RecordStrategyDiscussion";
    pub const START_SECTION47_ENQUIRY: &str = "StartSection47Enquiry";
    pub const RECORD_CONFERENCE_OUTCOME: &str = "RecordConferenceOutcome";
    pub const RECORD_TRANSFER_IN: &str = "RecordTransferIn";
    pub const ADD_PLAN_ACTION: &str = "AddPlanAction";
    pub const ADD_CASE_MEMBER: &str = "AddCaseMember";
}
