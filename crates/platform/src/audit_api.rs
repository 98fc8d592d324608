//! `cpc.audit.v1.AuditService`: who accessed a child's record, and whether
//! a service's audit chain is intact. Served by every `cpcd` process for
//! the logs of the services it runs. Reading the audit log is itself an
//! access, so it is authorised and audited like any other call.

use chrono::{DateTime, Utc};
use cpc_audit::{
    AccessQuery, Anchor, AuditEntry, AuditError, BreakReason, ChainHash, Decision, VerifyRange,
    VerifyReport,
};
use cpc_authz::{Record, Resource};
use cpc_proto::audit::v1 as pb;
use cpc_proto::common::v1::PersonRef;
use cpc_rules::civil_time::uk_date;
use sqlx::PgPool;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use crate::access::{Access, NOT_IN_AUTHORITY, Subject};
use crate::error::{ApiError, FieldViolations};
use crate::serve::LocateChild;

/// One service's audit log.
pub struct AuditLog {
    pub service: &'static str,
    pub pool: PgPool,
    /// How to find a child's case and members in that service's schema.
    pub locate_child: Option<LocateChild>,
}

/// The audit logs this process serves, by service name.
pub struct AuditApi {
    access: Access,
    logs: Vec<AuditLog>,
}

impl AuditApi {
    pub fn new(access: Access, logs: Vec<AuditLog>) -> Self {
        Self { access, logs }
    }

    /// The log `service` names; an empty name is the only log, when there is one.
    fn log(&self, service: &str) -> Result<&AuditLog, ApiError> {
        let found = match (service, self.logs.as_slice()) {
            ("", [only]) => Some(only),
            (name, logs) => logs.iter().find(|l| l.service == name),
        };
        found.ok_or_else(|| {
            let served: Vec<&str> = self.logs.iter().map(|l| l.service).collect();
            ApiError::invalid_field(
                "service",
                format!(
                    "name one of the services served here: {}",
                    served.join(", ")
                ),
            )
        })
    }
}

fn now() -> DateTime<Utc> {
    DateTime::<Utc>::from(std::time::SystemTime::now())
}

#[tonic::async_trait]
impl pb::audit_service_server::AuditService for AuditApi {
    async fn list_access_records(
        &self,
        request: Request<pb::ListAccessRecordsRequest>,
    ) -> Result<Response<pb::ListAccessRecordsResponse>, Status> {
        let now = now();
        let call = self.access.identify(&request, now).await?;
        let req = request.into_inner();
        let log = self.log(&req.service)?;
        let (service, pool) = (log.service, &log.pool);
        let authority = if req.authority_id.is_empty() {
            call.caller.authority_id().to_owned()
        } else {
            req.authority_id.clone()
        };
        let mut query = list_query(&req, authority.clone())?;
        let mut subject = Subject {
            case_id: query.case_id,
            child_ids: query.child_id.into_iter().collect(),
        };
        // About one child the service keeps: ask about that child's record,
        // so the child's own social worker may read who accessed it. Only
        // in the caller's own authority: another authority's child is not
        // looked up at all (its case and members are that authority's),
        // and the boundary refuses the call, naming the child asked about.
        let own_authority = authority == call.caller.authority_id();
        let case = match (query.child_id, log.locate_child) {
            (Some(child), Some(locate)) if own_authority => {
                locate(pool, &authority, child, uk_date(now)).await?
            }
            _ => None,
        };
        let resource = match case {
            Some(child) => {
                // The authority holds the child: attempts on it or on its
                // records from other authorities, refused as not found
                // there, are its business.
                query.refused_elsewhere_under = Some(NOT_IN_AUTHORITY.to_owned());
                query.refused_elsewhere_naming = child.record_ids;
                subject.case_id = Uuid::parse_str(&child.relation.case_id).ok();
                Resource::Record(Record {
                    authority_id: authority,
                    case: Some(child.relation),
                    ..Record::default()
                })
            }
            None => Resource::Authority(authority),
        };
        let permit = self
            .access
            .authorize(pool, &call, &resource, &subject, now)
            .await?;
        let page = cpc_audit::list_access(pool, &query)
            .await
            .map_err(audit_error)?;
        let mut tx = cpc_audit::begin(pool).await.map_err(ApiError::from)?;
        permit.record(&mut tx).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Response::new(pb::ListAccessRecordsResponse {
            records: page
                .entries
                .iter()
                .map(|e| access_record(service, e))
                .collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn verify_audit_chain(
        &self,
        request: Request<pb::VerifyAuditChainRequest>,
    ) -> Result<Response<pb::VerifyAuditChainResponse>, Status> {
        let now = now();
        let call = self.access.identify(&request, now).await?;
        let req = request.into_inner();
        let pool = &self.log(&req.service)?.pool;
        let check = verification(&req)?;
        let resource = Resource::Authority(call.caller.authority_id().to_owned());
        let permit = self
            .access
            .authorize(pool, &call, &resource, &Subject::default(), now)
            .await?;
        let (report, first) = match check {
            Verification::Range(range) => (
                cpc_audit::verify_range(pool, range).await,
                range.from.unwrap_or(1),
            ),
            Verification::Anchored(anchor) => (
                cpc_audit::verify_against_anchor(pool, anchor.seq, anchor.hash).await,
                1,
            ),
        };
        let report = report.map_err(audit_error)?;
        let mut tx = cpc_audit::begin(pool).await.map_err(ApiError::from)?;
        permit.record(&mut tx).await?;
        tx.commit().await.map_err(ApiError::from)?;
        Ok(Response::new(verify_response(&report, first, now)))
    }
}

fn list_query(
    req: &pb::ListAccessRecordsRequest,
    authority: String,
) -> Result<AccessQuery, ApiError> {
    let mut bad = FieldViolations::default();
    let uuid = |bad: &mut FieldViolations, field: &str, text: &str| {
        if text.is_empty() {
            None
        } else {
            bad.check(field, Uuid::parse_str(text).map_err(|_| "must be a UUID"))
        }
    };
    let child_id = uuid(&mut bad, "child_id", &req.child_id);
    let case_id = uuid(&mut bad, "case_id", &req.case_id);
    // An id matched as given, within the longest the log holds.
    let id = |bad: &mut FieldViolations, field: &str, text: &str, longest: usize| match text {
        "" => None,
        long if long.len() > longest => {
            bad.add(field, format!("is longer than {longest} bytes"));
            None
        }
        id => Some(id.to_owned()),
    };
    let credential_id = id(
        &mut bad,
        "credential_id",
        &req.credential_id,
        cpc_audit::MAX_CREDENTIAL_ID_LEN,
    );
    let policy_set = match req.policy_set.as_str() {
        "" => None,
        digest if cpc_audit::is_policy_digest(digest) => Some(digest.to_owned()),
        _ => {
            bad.add("policy_set", "must be 64 lower-case hex digits");
            None
        }
    };
    let policy_id = id(&mut bad, "policy_id", &req.policy_id, cpc_audit::MAX_ID_LEN);
    let decision = match pb::AccessDecision::try_from(req.decision) {
        Ok(pb::AccessDecision::Unspecified) => None,
        Ok(pb::AccessDecision::Allow) => Some(Decision::Allow),
        Ok(pb::AccessDecision::Deny) => Some(Decision::Deny),
        Err(_) => {
            bad.add("decision", "unknown decision");
            None
        }
    };
    let page_size = bad.check(
        "page_size",
        u32::try_from(req.page_size).map_err(|_| "must not be negative"),
    );
    let (from, to) = match &req.time_range {
        Some(range) => (
            timestamp(&mut bad, "time_range.start_time", range.start_time.as_ref()),
            timestamp(&mut bad, "time_range.end_time", range.end_time.as_ref()),
        ),
        None => (None, None),
    };
    if let (Some(from), Some(to)) = (from, to)
        && to < from
    {
        bad.add("time_range.end_time", "is before start_time");
    }
    bad.into_result()?;
    Ok(AccessQuery {
        authority_id: Some(authority),
        child_id,
        case_id,
        person_id: (!req.person_id.is_empty()).then(|| req.person_id.clone()),
        credential_id,
        policy_set,
        policy_id,
        decision,
        from,
        to,
        page_size: page_size.unwrap_or_default(),
        page_token: (!req.page_token.is_empty()).then(|| req.page_token.clone()),
        // Set by the caller once the child is known to be the authority's.
        refused_elsewhere_under: None,
        refused_elsewhere_naming: Vec::new(),
    })
}

fn timestamp(
    bad: &mut FieldViolations,
    field: &str,
    ts: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    let ts = ts?;
    let nanos = u32::try_from(ts.nanos).ok();
    let parsed = nanos.and_then(|n| DateTime::from_timestamp(ts.seconds, n));
    if parsed.is_none() {
        bad.add(field, "is not a valid timestamp");
    }
    parsed
}

/// What a `VerifyAuditChain` request asks to be checked.
enum Verification {
    /// A range of the log (the whole log when open at both ends).
    Range(VerifyRange),
    /// The whole log, against a head kept from an earlier verification.
    Anchored(Anchor),
}

fn verification(req: &pb::VerifyAuditChainRequest) -> Result<Verification, ApiError> {
    let mut bad = FieldViolations::default();
    if req.from_sequence < 0 {
        bad.add("from_sequence", "must not be negative");
    }
    if req.to_sequence < 0 {
        bad.add("to_sequence", "must not be negative");
    }
    if req.to_sequence > 0 && req.to_sequence < req.from_sequence {
        bad.add("to_sequence", "is before from_sequence");
    }
    let anchored = req.anchor_sequence != 0 || !req.anchor_hash.is_empty();
    let anchor = if anchored {
        if req.from_sequence != 0 || req.to_sequence != 0 {
            bad.add(
                "anchor_sequence",
                "verifies the whole log: give no from_sequence or to_sequence with it",
            );
        }
        let seq = bad.check(
            "anchor_sequence",
            if req.anchor_sequence >= 1 {
                Ok(req.anchor_sequence)
            } else {
                Err("must be at least 1 with anchor_hash")
            },
        );
        let hash = bad.check(
            "anchor_hash",
            ChainHash::from_slice(&req.anchor_hash)
                .ok_or("must be the 32-byte head_hash of an earlier verification"),
        );
        seq.zip(hash).map(|(seq, hash)| Anchor { seq, hash })
    } else {
        None
    };
    bad.into_result()?;
    Ok(match anchor {
        Some(anchor) => Verification::Anchored(anchor),
        None => Verification::Range(VerifyRange {
            from: (req.from_sequence > 0).then_some(req.from_sequence),
            to: (req.to_sequence > 0).then_some(req.to_sequence),
        }),
    })
}

fn audit_error(err: AuditError) -> ApiError {
    match err {
        AuditError::InvalidPageToken => {
            ApiError::invalid_field("page_token", "is not a token from this query")
        }
        AuditError::InvalidQuery(why) => ApiError::invalid_field("request", why),
        AuditError::Database(db) => ApiError::from(db),
        other => ApiError::internal(other),
    }
}

fn access_record(service: &str, entry: &AuditEntry) -> pb::AccessRecord {
    let r = &entry.record;
    let (agency_kind, agency_name) = match r.agency.as_deref().and_then(|a| a.split_once(':')) {
        Some((kind, name)) => (
            kind.parse::<cpc_identity::AgencyKind>()
                .map_or(0, cpc_identity::AgencyKind::code),
            name.to_owned(),
        ),
        None => (0, String::new()),
    };
    let first_role = r.role.split('+').next().unwrap_or_default();
    pb::AccessRecord {
        sequence: entry.seq,
        id: format!("{service}/{}", entry.seq),
        service_name: service.to_owned(),
        person: Some(PersonRef {
            person_id: r.actor_subject.clone(),
            display_name: String::new(),
            agency_kind,
            agency_name,
        }),
        on_behalf_of: r.on_behalf_of.as_ref().map(|client| PersonRef {
            person_id: client.clone(),
            ..PersonRef::default()
        }),
        role: first_role
            .parse::<cpc_identity::Role>()
            .map_or(0, cpc_identity::Role::code),
        authority_id: r.authority_id.clone(),
        rpc_method: r.action.clone(),
        action: access_action(&r.action) as i32,
        decision: match r.decision {
            Decision::Allow => pb::AccessDecision::Allow,
            Decision::Deny => pb::AccessDecision::Deny,
        } as i32,
        policy_id: r.policy_ids.join(","),
        reason: r.reason.clone().unwrap_or_default(),
        request_id: r.request_id.clone(),
        trace_id: String::new(),
        resource_type: r.named.as_ref().map(|n| n.kind.clone()).unwrap_or_default(),
        resource_id: r.named.as_ref().map(|n| n.id.clone()).unwrap_or_default(),
        child_ids: r.child_ids.iter().map(Uuid::to_string).collect(),
        case_ids: r.case_id.iter().map(Uuid::to_string).collect(),
        occur_time: Some(prost_types::Timestamp {
            seconds: r.occurred_at.timestamp(),
            nanos: i32::try_from(r.occurred_at.timestamp_subsec_nanos()).unwrap_or(0),
        }),
        previous_hash: entry.prev_hash.as_bytes().to_vec(),
        record_hash: entry.hash.as_bytes().to_vec(),
        credential_id: r.credential_id.clone().unwrap_or_default(),
        policy_set: r.policy_set.clone().unwrap_or_default(),
    }
}

/// What kind of access a method is, read from its verb.
fn access_action(method: &str) -> pb::AccessAction {
    let name = method.rsplit('/').next().unwrap_or_default();
    let verb_is = |verbs: &[&str]| verbs.iter().any(|v| name.starts_with(v));
    if verb_is(&["Get", "Verify", "Assess"]) {
        pb::AccessAction::Read
    } else if verb_is(&["List"]) {
        pb::AccessAction::List
    } else if verb_is(&["Stream"]) {
        pb::AccessAction::Stream
    } else if verb_is(&["Export", "Generate"]) {
        pb::AccessAction::Export
    } else if verb_is(&["Create", "Add", "Open", "Raise", "Start", "Record"]) {
        pb::AccessAction::Create
    } else {
        pb::AccessAction::Update
    }
}

fn verify_response(
    report: &VerifyReport,
    first: i64,
    now: DateTime<Utc>,
) -> pb::VerifyAuditChainResponse {
    let verify_time = Some(prost_types::Timestamp {
        seconds: now.timestamp(),
        nanos: 0,
    });
    match report {
        VerifyReport::Ok {
            records,
            head_seq,
            head_hash,
        } => pb::VerifyAuditChainResponse {
            status: pb::ChainStatus::Intact as i32,
            verified_count: i64::try_from(*records).unwrap_or(i64::MAX),
            first_sequence: first,
            last_sequence: *head_seq,
            head_hash: head_hash.as_bytes().to_vec(),
            verify_time,
            ..pb::VerifyAuditChainResponse::default()
        },
        VerifyReport::Broken {
            at_seq,
            reason,
            verified,
        } => pb::VerifyAuditChainResponse {
            status: pb::ChainStatus::Broken as i32,
            verified_count: i64::try_from(*verified).unwrap_or(i64::MAX),
            first_sequence: first,
            last_sequence: at_seq - 1,
            first_broken_sequence: *at_seq,
            break_reason: break_reason(reason) as i32,
            detail: reason.detail(),
            verify_time,
            ..pb::VerifyAuditChainResponse::default()
        },
    }
}

fn break_reason(reason: &BreakReason) -> pb::BreakReason {
    match reason {
        BreakReason::MissingRecord { .. } => pb::BreakReason::SequenceGap,
        BreakReason::HashMismatch { .. } | BreakReason::AnchorMismatch { .. } => {
            pb::BreakReason::RecordHashMismatch
        }
        BreakReason::PrevHashMismatch { .. } => pb::BreakReason::PreviousHashMismatch,
        BreakReason::Unreadable { .. } => pb::BreakReason::RecordUnreadable,
    }
}
