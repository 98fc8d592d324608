//! Every call that touches a child's data goes through here: who is calling
//! (identity), whether they may (the Cedar policies), and the audit record
//! that says so, allowed or denied.
//!
//! A handler calls [`Access::identify`] first, builds the policy resource
//! from what it loaded (authority, case membership, conference exclusions),
//! then calls [`Access::authorize`]. A denial is recorded at once, in a
//! transaction of its own, and becomes `PERMISSION_DENIED`. An allowance is
//! a [`Permit`] the handler must record in its own transaction, as the last
//! statement before commit, so the change and its audit record commit
//! together or not at all.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use cpc_audit::{Decision as AuditDecision, NewAuditRecord};
use cpc_authz::{Principal, Resource, SharedAuthorizer};
use cpc_identity::{AuthError, Authenticator, Caller, CallerKind, Refusal};
use sha2::{Digest as _, Sha256};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::error::ApiError;
use crate::rate_limit::{CallerLimits, LimitError};
use crate::tls::certificate_subject;

/// The request header in which a service identity that may act for several
/// authorities names the one it acts for on this call.
pub const ACTING_FOR_HEADER: &str = "x-cpc-authority";

/// The checks every service shares, built once per process.
#[derive(Clone)]
pub struct Access {
    authenticator: Arc<Authenticator>,
    authorizer: Arc<SharedAuthorizer>,
    limits: Arc<CallerLimits>,
    logs: Arc<RefusalLogs>,
}

/// Where a refused credential is recorded ([`Access::identify`]): the audit
/// log of the service the call was for, by gRPC service name
/// (`cpc.cases.v1.CasesService`); a call to any other service the process
/// serves (`cpc.audit.v1.AuditService`) in the first one's.
pub struct RefusalLogs {
    by_service: Vec<(&'static str, PgPool)>,
}

impl RefusalLogs {
    /// The logs of the services `(gRPC service name, pool)` of a process.
    pub fn new(by_service: Vec<(&'static str, PgPool)>) -> Self {
        Self { by_service }
    }

    /// The log a refused call to `method` (`/package.Service/Method`) is
    /// recorded in; `None` when the process serves no log.
    fn for_method(&self, method: &str) -> Option<&PgPool> {
        let service = method.trim_start_matches('/').split('/').next();
        self.by_service
            .iter()
            .find(|(name, _)| Some(*name) == service)
            .or(self.by_service.first())
            .map(|(_, pool)| pool)
    }
}

/// An authenticated call: who, which RPC, and the id that ties its logs,
/// trace and audit record together.
#[derive(Debug, Clone)]
pub struct Call {
    pub caller: Caller,
    /// Full gRPC method path, `/cpc.cases.v1.CasesService/GetChild`.
    pub method: String,
    pub request_id: String,
    /// Which credential the call was made with, for its audit record:
    /// `token:<id>` for a bearer token whose issuer names it, or
    /// `certificate:sha256:<hex>` for a service's client certificate.
    pub credential_id: Option<String>,
    /// How long ago, in whole minutes, the caller signed in (the token's
    /// `auth_time`) when the call was identified, for policies that ask for
    /// a recent sign-in; `None` when the token does not say.
    pub signed_in_minutes_ago: Option<i64>,
}

/// The full method path of the call (`/cpc.cases.v1.CasesService/GetChild`),
/// put in each request's extensions by the server (the generated server
/// code does not carry it), so policies and audit name the exact RPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcPath(pub String);

/// What an audit record says the call was about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub case_id: Option<Uuid>,
    pub child_ids: Vec<Uuid>,
}

/// Permission to go ahead, which must be recorded before the handler's
/// transaction commits.
#[must_use = "an allowed call must record its audit entry before commit"]
#[derive(Debug)]
pub struct Permit {
    record: NewAuditRecord,
}

impl Access {
    pub fn new(
        authenticator: Arc<Authenticator>,
        authorizer: Arc<SharedAuthorizer>,
        limits: Arc<CallerLimits>,
        logs: RefusalLogs,
    ) -> Self {
        Self {
            authenticator,
            authorizer,
            limits,
            logs: Arc::new(logs),
        }
    }

    /// The development key, in development mode only: cpc's own services
    /// identify to each other with tokens from it (`crate::feeds`).
    pub fn dev_key(&self) -> Option<Arc<cpc_identity::dev::DevKey>> {
        self.authenticator.dev_key_shared()
    }

    /// Authenticates `request` from its bearer token, or else its client
    /// certificate.
    ///
    /// A verified credential refused names its holder: a token whose
    /// session may not be used (ended, too old, too weak a sign-in, bound
    /// to another connection), or a token or service certificate naming an
    /// authority in `x-cpc-authority` it may not act for. The refusal is
    /// recorded in the audit log of the service called, under
    /// [`CREDENTIAL_REFUSED`], and counted against the holder's rate limit
    /// (past it, only logged), so the security team finds every attempt
    /// with, say, a stolen token, and a flood of them cannot hold up the
    /// log.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` with the reason (never the token's contents);
    /// `RESOURCE_EXHAUSTED` when the caller is over their rate limit;
    /// `INTERNAL` when a refused credential could not be recorded (the call
    /// is still refused).
    pub async fn identify<T>(
        &self,
        request: &tonic::Request<T>,
        now: DateTime<Utc>,
    ) -> Result<Call, ApiError> {
        let method = request
            .extensions()
            .get::<RpcPath>()
            .map(|path| path.0.clone())
            .ok_or_else(|| ApiError::internal("a gRPC request without its method path"))?;
        // Borrowed, not copied: this runs on every call.
        let headers: &http::HeaderMap = request.metadata().as_ref();
        // A bearer token names the caller (a person, perhaps through a
        // portal, whose certificate the token may be bound to); without
        // one, a verified client certificate names a service (mutual TLS).
        // An unmapped certificate is refused.
        let certificates = request.peer_certs();
        let leaf = certificates.as_deref().and_then(|certs| certs.first());
        let bearer = headers.contains_key(http::header::AUTHORIZATION);
        let service = leaf
            .filter(|_| !bearer)
            .and_then(|leaf| certificate_subject(leaf));
        // The authority a multi-authority service acts for on this call; a
        // token carries its own, which the header may repeat but not change.
        let acting_for = headers
            .get(ACTING_FOR_HEADER)
            .map(|v| v.to_str().unwrap_or(""));
        // The certificate's fingerprint, as `openssl x509 -fingerprint
        // -sha256` prints it (without the colons), names it in a CA's
        // records; a token is named by its issuer's id for it.
        let credential_id = |caller: &Caller| match leaf.filter(|_| service.is_some()) {
            Some(leaf) => Some(format!(
                "certificate:sha256:{}",
                Sha256::digest(leaf)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            )),
            None => caller.token_id().map(|id| format!("token:{id}")),
        };
        let authenticated = match &service {
            Some(subject) => self.authenticator.authenticate_service(subject, acting_for),
            None => self
                .authenticator
                .authenticate_headers(headers, leaf.map(AsRef::as_ref), now)
                .and_then(|caller| match acting_for {
                    Some(authority) if authority != caller.authority_id() => {
                        Err(Refusal::of_holder(AuthError::NotActingFor, caller))
                    }
                    _ => Ok(caller),
                }),
        };
        let caller = match authenticated {
            Ok(caller) => caller,
            Err(refusal) => {
                tracing::warn!(rpc.method = %method, reason = refusal.error().reason(), "unauthenticated call");
                if let Some(holder) = refusal.holder() {
                    let call = Call {
                        credential_id: credential_id(holder),
                        signed_in_minutes_ago: minutes_since_sign_in(holder, now),
                        caller: holder.clone(),
                        method,
                        request_id: request_id(headers),
                    };
                    self.record_refused_credential(&call, refusal.error(), now)
                        .await?;
                }
                return Err(ApiError::Unauthenticated(refusal.to_string()));
            }
        };
        self.limits
            .check(&limit_key(&caller))
            .await
            .map_err(|err| match err {
                LimitError::Over(retry_after) => {
                    tracing::warn!(rpc.method = %method, "caller over the rate limit");
                    ApiError::RateLimited { retry_after }
                }
                LimitError::Store(err) => ApiError::from(err),
            })?;
        Ok(Call {
            credential_id: credential_id(&caller),
            signed_in_minutes_ago: minutes_since_sign_in(&caller, now),
            caller,
            method,
            request_id: request_id(headers),
        })
    }

    /// Records `call`, refused for `error` although its credential
    /// verified, in the audit log of the service called, unless its holder's
    /// refusals are over the rate limit.
    ///
    /// Refusals are counted apart from the holder's calls: a revoked or
    /// copied token replayed by someone else must not use up the quota of
    /// the person it names (a chair in a conference, say), only its own.
    async fn record_refused_credential(
        &self,
        call: &Call,
        error: AuthError,
        now: DateTime<Utc>,
    ) -> Result<(), ApiError> {
        let refusals = format!("refused:{}", limit_key(&call.caller));
        match self.limits.check(&refusals).await {
            Ok(()) => {}
            // Logged above; the log need not hold every one of a flood.
            Err(LimitError::Over(_)) => return Ok(()),
            Err(LimitError::Store(err)) => return Err(ApiError::from(err)),
        }
        let Some(pool) = self.logs.for_method(&call.method) else {
            return Ok(());
        };
        let decision = cpc_authz::Decision::refused_by_rule(CREDENTIAL_REFUSED);
        let mut record = audit_record(call, &Subject::default(), &decision, now);
        record.reason = Some(format!("credential refused: {}", error.reason()));
        cpc_audit::append_standalone(pool, &record)
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// How long `call`, a stream that outlives its identification, may go
    /// on: until its token expires or its session is ended ([`Lease`]);
    /// and, for a caller other than cpc's own services, the record of the
    /// children whose events it delivers ([`Deliveries`]).
    pub fn lease(&self, call: &Call) -> Lease {
        Lease {
            authenticator: Arc::clone(&self.authenticator),
            caller: call.caller.clone(),
            method: call.method.clone(),
            request_id: call.request_id.clone(),
            deliveries: self.deliveries(call),
        }
    }

    /// [`Deliveries`] for `call`'s change feed stream of the caller's
    /// authority, under the decision that opened it (the policies are asked
    /// again, as the opening asked them: the feed is the authority's).
    /// `None` for cpc's own services following each other's feeds (their
    /// copies are not a person's or another system's access: the records
    /// they keep are read, and recorded, through their own APIs), and when
    /// the process serves no log.
    fn deliveries(&self, call: &Call) -> Option<Deliveries> {
        if call.caller.has_any_role(&[cpc_identity::Role::CpcService]) {
            return None;
        }
        let pool = self.logs.for_method(&call.method)?.clone();
        let resource = Resource::Authority(call.caller.authority_id().to_owned());
        let decision = self
            .authorizer
            .authorize(&principal(call), &call.method, &resource);
        decision.allowed.then(|| Deliveries {
            pool,
            record: audit_record(call, &Subject::default(), &decision, Utc::now()),
            recorded: std::collections::HashSet::new(),
        })
    }

    /// Whether the policies would allow `call`'s caller to make `action` on
    /// `resource`, without recording anything: for deciding how far an
    /// already authorised call reaches (a list across the authority, or
    /// only the caller's own cases), never for letting a call through.
    pub fn allows(&self, call: &Call, action: &str, resource: &Resource) -> bool {
        self.authorizer
            .authorize(&principal(call), action, resource)
            .allowed
    }

    /// Asks the policies whether `call` may act on `resource`.
    ///
    /// # Errors
    /// `PERMISSION_DENIED` after recording the denial in `pool`'s audit log;
    /// `INTERNAL` if the denial could not be recorded (the call is still
    /// refused).
    pub async fn authorize(
        &self,
        pool: &PgPool,
        call: &Call,
        resource: &Resource,
        subject: &Subject,
        now: DateTime<Utc>,
    ) -> Result<Permit, ApiError> {
        let decision = self
            .authorizer
            .authorize(&principal(call), &call.method, resource);
        let record = audit_record(call, subject, &decision, now);
        if decision.allowed {
            return Ok(Permit { record });
        }
        cpc_audit::append_standalone(pool, &record)
            .await
            .map_err(ApiError::internal)?;
        tracing::info!(
            rpc.method = %call.method,
            request_id = %call.request_id,
            policies = ?decision.policy_ids,
            "call denied"
        );
        // The policies' own words when a refusing policy gives them (sign
        // in again), else the same words for every refusal.
        Err(ApiError::PermissionDenied(decision.advice.unwrap_or_else(
            || {
                "the caller's role and relationship to this record do not allow this call"
                    .to_owned()
            },
        )))
    }
}

impl Access {
    /// Refuses a call the policies allowed but a service rule forbids (a
    /// person replies only to their own invitation): the denial is recorded
    /// like a policy's, under `rule`, with `reason`.
    ///
    /// # Errors
    /// None: the result is the error to return (`PERMISSION_DENIED`, or
    /// `INTERNAL` if the denial could not be recorded).
    pub async fn refuse(
        &self,
        pool: &PgPool,
        call: &Call,
        subject: &Subject,
        rule: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> ApiError {
        let decision = cpc_authz::Decision::refused_by_rule(rule);
        let mut record = audit_record(call, subject, &decision, now);
        record.reason = Some(reason.to_owned());
        if let Err(err) = cpc_audit::append_standalone(pool, &record).await {
            return ApiError::internal(err);
        }
        tracing::info!(rpc.method = %call.method, request_id = %call.request_id, rule, "call refused");
        ApiError::PermissionDenied(reason.to_owned())
    }
}

/// The call's request id: the caller's `x-request-id`, else one made here
/// and written into the call's span, so the call's log lines and its audit
/// record carry the same id.
fn request_id(headers: &http::HeaderMap) -> String {
    match callers_request_id(headers) {
        Some(id) => id.to_owned(),
        None => {
            let id = Uuid::now_v7().to_string();
            tracing::Span::current().record("request_id", id.as_str());
            id
        }
    }
}

/// Whose calls a rate limit counts.
fn limit_key(caller: &Caller) -> String {
    format!(
        "{}/{:?}/{}",
        caller.authority_id(),
        caller.kind(),
        caller.subject()
    )
}

/// The caller's `x-request-id`, when it can be recorded as given: 1–128
/// visible ASCII characters. Otherwise the call gets an id of its own.
pub fn callers_request_id(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
}

/// The rule recorded as deciding when a verified credential is refused
/// (`cpc_identity::Refusal`, see [`Access::identify`]); the record's reason
/// gives the `AuthError::reason` code, e.g. `credential refused:
/// session_revoked`.
pub const CREDENTIAL_REFUSED: &str = "cpc:credential-refused";

/// The rule recorded as deciding when a call names a record its caller's
/// authority does not hold: another authority's record, or none at all.
pub const NOT_IN_AUTHORITY: &str = "cpc:record-not-in-callers-authority";

/// The resource a `NOT_FOUND` names when a call names a child by its id
/// (`ApiError::not_found(CHILD_RESOURCE, id)`).
pub const CHILD_RESOURCE: &str = "child";

impl Access {
    /// Abandons a call that failed after its transaction began: rolls the
    /// transaction back and records what the attempt was.
    ///
    /// When a record it names was not found, the refusal. Under row-level
    /// security another authority's record is not found, so a
    /// cross-authority attempt is recorded here, in the caller's own
    /// authority's log, with the id asked for (the caller's own input; no
    /// other authority's data is read or written). A child's id is recorded
    /// as the child the record concerns, and every id as the record named
    /// (`NewAuditRecord::named`), so the authority that holds the child, or
    /// the child's record of that id, finds the attempt when it asks who
    /// accessed that child (`AccessQuery::refused_elsewhere_under`).
    ///
    /// Otherwise, when the policies had allowed the call (`permit`), the
    /// access, allowed, with the failure's code only: an allowed attempt
    /// read enough of the record to fail. Any other error (before a
    /// decision) passes through unrecorded. Either record is written in a
    /// transaction of its own.
    ///
    /// # Errors
    /// None: the result is the error to return (`err` itself, or `INTERNAL`
    /// if the rollback or the record failed).
    pub async fn abandon(
        &self,
        tx: Transaction<'_, Postgres>,
        pool: &PgPool,
        call: &Call,
        permit: Option<Permit>,
        err: ApiError,
        now: DateTime<Utc>,
    ) -> ApiError {
        if let Err(rollback) = tx.rollback().await {
            return ApiError::from(rollback);
        }
        let record = match (&err, permit) {
            (ApiError::NotFound { resource, id }, _) => {
                let decision = cpc_authz::Decision::refused_by_rule(NOT_IN_AUTHORITY);
                let subject = Subject {
                    case_id: None,
                    child_ids: match (*resource, Uuid::parse_str(id)) {
                        (CHILD_RESOURCE, Ok(child)) => vec![child],
                        _ => Vec::new(),
                    },
                };
                let mut record = audit_record(call, &subject, &decision, now);
                record.reason = Some(format!("no {resource} {id} in the caller's authority"));
                record.named = Some(cpc_audit::NamedRecord {
                    kind: (*resource).to_owned(),
                    id: id.clone(),
                });
                record
            }
            (_, Some(permit)) => {
                let mut record = permit.record;
                record.reason = Some(format!(
                    "allowed; then failed with {}, nothing changed",
                    err.code_name()
                ));
                record
            }
            (_, None) => return err,
        };
        if let Err(audit) = cpc_audit::append_standalone(pool, &record).await {
            return ApiError::internal(audit);
        }
        if matches!(err, ApiError::NotFound { .. }) {
            tracing::info!(
                rpc.method = %call.method,
                request_id = %call.request_id,
                "call named a record not in the caller's authority"
            );
        }
        err
    }
}

/// The `google.rpc.ErrorInfo` reason on the `UNAUTHENTICATED` that ends a
/// stream whose credential expired or whose session was ended: the client
/// resumes after the last sequence it received, with a new credential.
pub const CREDENTIAL_ENDED: &str = "CREDENTIAL_ENDED";

/// A stream's hold on its caller's credential ([`Access::lease`]). A stream
/// is identified and authorised once, when it opens; without a lease it
/// would run on for as long as the connection lasts, past the token's
/// expiry and a revocation of the session.
#[derive(Clone)]
pub struct Lease {
    authenticator: Arc<Authenticator>,
    caller: Caller,
    method: String,
    request_id: String,
    deliveries: Option<Deliveries>,
}

/// The audit record of what a change feed stream delivered: before each
/// batch of events goes out, one record (the stream's call, allowed as it
/// was opened) naming the children of the batch the stream has not named
/// yet. Opening the stream is a read of the authority as a whole and names
/// no child; without this, "who has seen this child's records" would miss
/// every event about the child a person or a record system was sent.
#[derive(Clone)]
pub struct Deliveries {
    pool: PgPool,
    record: NewAuditRecord,
    /// Children named so far, so a long stream names each once.
    recorded: std::collections::HashSet<Uuid>,
}

/// How many children a stream remembers having named; past it, it starts
/// again (naming a child twice is harmless; an unbounded set is not).
const REMEMBERED_CHILDREN: usize = 10_000;

impl Deliveries {
    /// Records the children of `children` not yet named by this stream,
    /// before the events naming them are delivered.
    ///
    /// # Errors
    /// The audit log could not be written: deliver nothing.
    pub async fn record(
        &mut self,
        children: impl IntoIterator<Item = Uuid>,
    ) -> Result<(), cpc_audit::AuditError> {
        let new: std::collections::BTreeSet<Uuid> = children
            .into_iter()
            .filter(|c| !self.recorded.contains(c))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        if self.recorded.len() + new.len() > REMEMBERED_CHILDREN {
            self.recorded.clear();
        }
        self.record.child_ids = new.iter().copied().collect();
        self.record.occurred_at = Utc::now();
        cpc_audit::append_standalone(&self.pool, &self.record).await?;
        self.recorded.extend(new);
        Ok(())
    }
}

impl Lease {
    /// The stream's [`Deliveries`], for the reader of its events to keep.
    pub fn take_deliveries(&mut self) -> Option<Deliveries> {
        self.deliveries.take()
    }

    /// When the credential expires (`None` for a service's certificate).
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.caller.expires_at()
    }

    /// The request id of the call holding the lease.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Whether the stream may go on at `now`.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` with reason [`CREDENTIAL_ENDED`], to end the stream
    /// with.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), tonic::Status> {
        self.authenticator
            .still_valid(&self.caller, now)
            .map_err(|err| self.ended(&err))
    }

    /// The status ending the stream for `err`.
    pub fn ended(&self, err: &AuthError) -> tonic::Status {
        use tonic_types::{ErrorDetails, StatusExt as _};
        tracing::info!(
            rpc.method = %self.method,
            request_id = %self.request_id,
            reason = err.reason(),
            "stream ended: its credential is no longer valid"
        );
        tonic::Status::with_error_details(
            tonic::Code::Unauthenticated,
            format!("{err}; resume after the last sequence received with a new credential"),
            ErrorDetails::with_error_info(
                CREDENTIAL_ENDED,
                "cpc",
                std::collections::HashMap::from([("reason".to_owned(), err.reason().to_owned())]),
            ),
        )
    }
}

/// Whether `status` ended a stream because its credential did
/// ([`Lease::check`]).
#[must_use]
pub fn is_credential_ended(status: &tonic::Status) -> bool {
    use tonic_types::StatusExt as _;
    status.code() == tonic::Code::Unauthenticated
        && status
            .get_error_details()
            .error_info()
            .is_some_and(|info| info.reason == CREDENTIAL_ENDED)
}

impl Permit {
    /// Adds the children a write turned out to concern (a child just
    /// registered, the siblings an event names) to the audit record.
    pub fn add_children(&mut self, child_ids: impl IntoIterator<Item = Uuid>) {
        for id in child_ids {
            if !self.record.child_ids.contains(&id) {
                self.record.child_ids.push(id);
            }
        }
    }

    /// Names the case the call concerned, when only the write revealed it.
    pub fn set_case(&mut self, case_id: Uuid) {
        self.record.case_id.get_or_insert(case_id);
    }

    /// Appends the allow record on the handler's transaction: call it last,
    /// immediately before commit (see `cpc_audit::append`).
    ///
    /// # Errors
    /// `INTERNAL`: roll the transaction back.
    pub async fn record(self, tx: &mut PgConnection) -> Result<(), ApiError> {
        cpc_audit::append(tx, &self.record)
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// The policies that allowed the call.
    pub fn policy_ids(&self) -> &[String] {
        &self.record.policy_ids
    }
}

/// Whole minutes from `caller`'s sign-in to `now`; a sign-in the clock
/// puts in the future (within the token leeway) is just now.
fn minutes_since_sign_in(caller: &Caller, now: DateTime<Utc>) -> Option<i64> {
    caller
        .signed_in_at()
        .map(|at| (now - at).num_minutes().max(0))
}

/// The caller as the policies see it.
fn principal(call: &Call) -> Principal {
    let caller = &call.caller;
    let roles = caller.roles().iter().copied();
    match caller.kind() {
        CallerKind::Person => {
            let person = Principal::person(
                caller.subject(),
                caller.authority_id(),
                roles,
                caller.agency().map(cpc_identity::Agency::key),
            );
            match call.signed_in_minutes_ago {
                Some(minutes) => person.signed_in(minutes),
                None => person,
            }
        }
        CallerKind::Service => Principal::service(caller.subject(), caller.authority_id(), roles),
    }
}

fn audit_record(
    call: &Call,
    subject: &Subject,
    decision: &cpc_authz::Decision,
    now: DateTime<Utc>,
) -> NewAuditRecord {
    let caller = &call.caller;
    let roles: Vec<&str> = caller.roles().iter().map(|r| r.as_str()).collect();
    NewAuditRecord {
        occurred_at: now,
        request_id: call.request_id.clone(),
        actor_subject: caller.subject().to_owned(),
        actor_kind: match caller.kind() {
            CallerKind::Person => "person",
            CallerKind::Service => "service",
        }
        .to_owned(),
        on_behalf_of: caller.on_behalf_of().map(str::to_owned),
        role: roles.join("+"),
        authority_id: caller.authority_id().to_owned(),
        agency: caller
            .agency()
            .map(|a| format!("{}:{}", a.kind.as_str(), a.name)),
        case_id: subject.case_id,
        child_ids: subject.child_ids.clone(),
        action: call.method.clone(),
        decision: if decision.allowed {
            AuditDecision::Allow
        } else {
            AuditDecision::Deny
        },
        policy_ids: decision.policy_ids.clone(),
        reason: (!decision.errors.is_empty()).then(|| decision.errors.join("; ")),
        named: None,
        credential_id: call.credential_id.clone(),
        policy_set: decision.policy_set.clone(),
    }
}

/// The caller as history rows record them: their id, and agency.
pub fn actor(caller: &Caller) -> cpc_proto::common::v1::PersonRef {
    let agency = caller.agency();
    cpc_proto::common::v1::PersonRef {
        person_id: caller.subject().to_owned(),
        // Tokens carry no display name; the subject is what the identity
        // provider can resolve to one.
        display_name: caller.subject().chars().take(200).collect(),
        agency_kind: agency.map_or(0, |a| a.kind.code()),
        agency_name: agency.map(|a| a.name.clone()).unwrap_or_default(),
    }
}
