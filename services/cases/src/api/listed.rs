//! The children a list's page concerns, for its audit record.
//!
//! A list names no child in its request (or names one, and returns records
//! of that child only), yet returns records of many. "Who has accessed this
//! child's record" (subject access requests, CP-IS-style notification to the
//! child's social worker) must find a page of search results that showed the
//! child, so every list names in its audit record the children whose records
//! it returned.

use cpc_platform::convert::listed_ids as ids;
use cpc_proto::cases::v1 as pb;
use uuid::Uuid;

/// A list response, and the children whose records it returned.
pub trait Listed {
    /// The ids of the children the page's records concern (repeats allowed).
    fn children(&self) -> Vec<Uuid>;
}

impl Listed for pb::ListCasesResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.cases.iter().flat_map(|c| &c.child_ids))
    }
}

impl Listed for pb::ListChildrenResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.children.iter().map(|c| &c.id))
    }
}

impl Listed for pb::ListFamilyMembersResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self
            .family_members
            .iter()
            .flat_map(|m| m.relationships.iter().map(|r| &r.child_id)))
    }
}

impl Listed for pb::ListCinEpisodesResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.cin_episodes.iter().map(|e| &e.child_id))
    }
}

impl Listed for pb::ListStrategyDiscussionsResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.strategy_discussions.iter().flat_map(|d| &d.child_ids))
    }
}

impl Listed for pb::ListSection47EnquiriesResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.enquiries.iter().map(|e| &e.child_id))
    }
}

impl Listed for pb::ListConferenceOutcomesResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.outcomes.iter().map(|o| &o.child_id))
    }
}

impl Listed for pb::ListPlansResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.plans.iter().map(|p| &p.child_id))
    }
}

impl Listed for pb::ListPlanActionsResponse {
    fn children(&self) -> Vec<Uuid> {
        ids(self.actions.iter().map(|a| &a.child_id))
    }
}

impl Listed for pb::ListCaseMembersResponse {
    /// Memberships limited to some children name them; a membership of
    /// the whole case is a record of the case, named by the request.
    fn children(&self) -> Vec<Uuid> {
        ids(self.memberships.iter().flat_map(|m| &m.child_ids))
    }
}
