//! cpc-authz: what a caller may do.
//!
//! Decisions are made by the [Cedar](https://www.cedarpolicy.com) engine
//! (`cedar-policy` 4.x, embedded) over the policies shipped in
//! `deploy/policies/`: one `.cedarschema` file that declares who, what and
//! which actions exist, and `.cedar` files that say who may do what, written
//! and commented for a council's information governance team.
//!
//! - **Deny by default.** Anything no policy permits is refused, with the
//!   policy id [`DEFAULT_DENY`].
//! - **Validated at load.** Every policy is checked against the schema
//!   (strict mode); a policy that does not validate refuses to load, with
//!   file, line and policy id. Each policy needs a unique `@id("...")`,
//!   which decisions and audit records use to name it.
//! - **One action per gRPC call**, named by its full method path
//!   (`Action::"/cpc.cases.v1.CasesService/GetChild"`), in action groups
//!   (`ReadCase`, `WriteCase`, `Schedule`, `ReadMinutes`, ...) that the
//!   policies grant. A test fails the build when a call in `proto/` has no
//!   action.
//! - **Roles are entity parents**: a caller entity (`Person` or `Service`) is
//!   *in* `Role::"team_manager"` for each role it holds, so policies say
//!   `principal in Role::"team_manager"`; the role names are an enumeration
//!   in the schema, so a misspelt role fails validation. Authority and agency
//!   are attributes (`principal.authority`, `principal.agency`).
//! - **Relationships are resource attributes**: the service fills in who is
//!   currently on the case, who used to be, which agencies are members,
//!   who is excluded from a conference's minutes and an escalation's stage
//!   ([`Record`]) before it asks.
//! - **Fails closed**: invalid requests and evaluation errors deny, and a
//!   built-in guard denies any cross-authority allow even if the
//!   `authority-boundary` policy were removed.
//! - **Hot reload**: an [`Authorizer`] is immutable; [`SharedAuthorizer`]
//!   holds the one in force and [`SharedAuthorizer::reload`] swaps in the
//!   folder's current policies only if they load and validate.
//!
//! # What the calling service does
//!
//! 1. Build the [`Principal`] from the verified credentials only.
//! 2. Build the [`Resource`] from its own records, at the time of the
//!    request: [`Resource::Authority`] for a list or create call not scoped
//!    to a case, otherwise a [`Record`] with the case's current and former
//!    members and member agencies, the conference's minutes exclusions and
//!    the escalation's stage, as they apply. A record it cannot place in a
//!    case gets `case: None`, which only authority-wide roles pass.
//! 3. Call [`Authorizer::authorize`] with the full method path, refuse with
//!    `PERMISSION_DENIED` unless [`Decision::allowed`], and write
//!    [`Decision::policy_ids`] into the audit record either way.
//! 4. Where a policy leaves row filtering to it (group `ListOwnCases`; the
//!    agency report sharing rule), filter rows accordingly.
//!
//! ```
//! use cpc_authz::{Authorizer, CaseRelation, Principal, Record, Resource, Role};
//! # fn main() -> Result<(), cpc_authz::AuthzError> {
//! let authz = Authorizer::load(&cpc_authz::bundled_policy_dir())?;
//! let caller = Principal::person("p-1", "la-1", [Role::SocialWorker], None);
//! let child = Resource::Record(Record {
//!     authority_id: "la-1".into(),
//!     case: Some(CaseRelation {
//!         case_id: "case-9".into(),
//!         current_members: vec!["p-1".into()],
//!         ..CaseRelation::default()
//!     }),
//!     ..Record::default()
//! });
//! let decision = authz.authorize(&caller, "/cpc.cases.v1.CasesService/GetChild", &child);
//! assert!(decision.allowed);
//! assert_eq!(decision.policy_ids, ["social-worker-case-member"]);
//! # Ok(()) }
//! ```

mod digest;
mod engine;
mod entities;
mod error;
mod model;
mod reload;

use std::path::PathBuf;

pub use digest::{POLICY_DIGEST_TAG, policy_set_digest};
pub use engine::Authorizer;
pub use error::AuthzError;
pub use model::{
    CaseRelation, ConferenceRelation, Decision, EscalationRelation, EscalationStage, Principal,
    PrincipalKind, Record, Resource, Role,
};
pub use reload::SharedAuthorizer;

/// The policy id of a denial no policy decided: nothing permitted the
/// request (or the request itself was invalid; see [`Decision::errors`]).
pub const DEFAULT_DENY: &str = "default-deny";

/// The policy id of a denial because evaluating some policy failed: a
/// policy that errors might have been a forbid, so the engine fails closed.
pub const FAIL_CLOSED: &str = "fail-closed";

/// The policy id of a denial by the engine's built-in authority guard: the
/// policies allowed a caller a resource of another authority (only possible
/// if the `authority-boundary` forbid were removed or broken).
pub const AUTHORITY_GUARD: &str = "authority-boundary-guard";

/// The `deploy/policies` folder of this source tree, for tests and local
/// runs. Deployments point the services at their own copy.
pub fn bundled_policy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/policies")
}
