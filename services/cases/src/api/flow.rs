//! The path every call takes: identify the caller, open a transaction bound
//! to their authority, find the record and who is on its case, ask the
//! policies, do the work, record the audit entry, commit.
//!
//! The order matters. Identity comes before anything else, so an
//! anonymous caller learns nothing, not even which fields are wrong. The
//! record is looked up inside the transaction, under row-level security,
//! so another authority's id is simply `NOT_FOUND`, recorded in the
//! caller's own authority's log as an attempt on a record it does not hold.
//! The audit entry is the last statement before commit, so the change and
//! its record commit together or not at all; a denial is recorded on its
//! own.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use cpc_authz::{CaseRelation, Record, Resource};
use cpc_platform::ApiError;
use cpc_platform::access::{Access, Call, Subject};
use cpc_platform::outbox::StoredEvent;
use cpc_rules::civil_time::uk_date;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::caller::actor;
use crate::domain::AuthorityId;
use crate::domain::child::OwnCases;
use crate::store::access::{Located, Locator, Members, locate, members};
use crate::store::{self, Ctx};

/// A future borrowing the call's connection and session.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a call's work produced: its response, the events it appended, and
/// the children whose records a list returned (both named in its audit
/// record).
type Worked<T> = (T, Vec<StoredEvent>, Vec<Uuid>);

/// An identified call: the credentials' view ([`Call`]) and the store's
/// ([`Ctx`]).
pub(crate) struct Session {
    pub call: Call,
    pub ctx: Ctx,
}

/// What a call acts on, as the policies see it.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The authority as a whole (creating a case, lists across it).
    Authority(String),
    /// One record and the case it belongs to.
    Record(Locator),
}

/// What authorisation found out about the target: who is on its case
/// today (nobody for an authority-level call).
#[derive(Debug, Clone, Default)]
pub(crate) struct Reach {
    pub members: Members,
}

/// The connection, session and reach a call's work is given.
pub(crate) struct Work<'c> {
    pub conn: &'c mut PgConnection,
    pub session: &'c Session,
    pub reach: &'c Reach,
}

/// The pieces every call needs, shared by the handlers.
#[derive(Clone)]
pub(crate) struct Flow {
    pub pool: PgPool,
    pub access: Access,
    pub profiles:
        std::sync::Arc<std::collections::BTreeMap<String, cpc_rules::profile::AuthorityProfile>>,
}

impl Flow {
    /// Authenticates the request and builds its session.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` without valid credentials, or when they name no
    /// person or authority cpc can attribute a change to.
    pub async fn identify<T>(&self, request: &tonic::Request<T>) -> Result<Session, ApiError> {
        let now = DateTime::<Utc>::from(SystemTime::now());
        let call = self.access.identify(request, now).await?;
        let authority = AuthorityId::parse(call.caller.authority_id()).map_err(|_| {
            ApiError::Unauthenticated(
                "the credentials' authority is not a local authority code".to_owned(),
            )
        })?;
        let actor = actor(&call.caller)?;
        let timescales = cpc_platform::config::timescales(&self.profiles, authority.as_str())?;
        Ok(Session {
            call,
            ctx: Ctx {
                authority,
                actor,
                now,
                today: uk_date(now),
                timescales,
            },
        })
    }

    /// How far a list across the authority reaches for this caller: `None`
    /// when they could read any case of their authority; otherwise their
    /// own cases, and their agency's when the policies let a case their
    /// agency is a member of reach them. Asks the policies (about a case
    /// with no one on it but the caller's agency), records nothing.
    pub fn own_cases(&self, session: &Session) -> Option<OwnCases> {
        let probe = format!(
            "/{}/GetCase",
            cpc_proto::cases::v1::cases_service_server::SERVICE_NAME
        );
        let ctx = &session.ctx;
        let authority = ctx.authority.as_str().to_owned();
        if self.access.allows(
            &session.call,
            &probe,
            &Resource::Authority(authority.clone()),
        ) {
            return None;
        }
        let actor = &ctx.actor;
        let agency = actor
            .agency_kind
            .zip(actor.agency_name.clone())
            .filter(|(kind, name)| {
                let agency_case = Record {
                    authority_id: authority.clone(),
                    case: Some(CaseRelation {
                        case_id: Uuid::nil().to_string(),
                        current_members: Vec::new(),
                        current_member_agencies: kind.agency_key(name).into_iter().collect(),
                        former_members: Vec::new(),
                    }),
                    conference: None,
                    escalation: None,
                };
                self.access
                    .allows(&session.call, &probe, &Resource::Record(agency_case))
            });
        Some(OwnCases {
            person_id: actor.person_id,
            agency,
        })
    }

    /// Authorises and runs a call that changes nothing.
    ///
    /// # Errors
    /// As [`Flow::run`].
    pub async fn read<T, F>(
        &self,
        session: &Session,
        target: Target,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Work<'c>) -> BoxFuture<'c, Result<T, ApiError>> + Send + 'static,
    {
        self.run(session, target, |w| {
            Box::pin(async move { Ok((work(w).await?, Vec::new(), Vec::new())) })
        })
        .await
    }

    /// Authorises and runs a list: as [`Flow::read`], and the audit record
    /// names every child whose records the page returned (`children`), so
    /// a search that showed a child is in that child's access log.
    ///
    /// # Errors
    /// As [`Flow::run`].
    pub async fn list<T, F>(
        &self,
        session: &Session,
        target: Target,
        work: F,
        children: fn(&T) -> Vec<Uuid>,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Work<'c>) -> BoxFuture<'c, Result<T, ApiError>> + Send + 'static,
    {
        self.run(session, target, move |w| {
            Box::pin(async move {
                let page = work(w).await?;
                let listed = children(&page);
                Ok((page, Vec::new(), listed))
            })
        })
        .await
    }

    /// Authorises and runs a change; the events it appended name the
    /// children (and the new case) in its audit record.
    ///
    /// # Errors
    /// As [`Flow::run`].
    pub async fn write<T, F>(
        &self,
        session: &Session,
        target: Target,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Work<'c>) -> BoxFuture<'c, Result<store::Written<T>, ApiError>>
            + Send
            + 'static,
    {
        self.run(session, target, |w| {
            Box::pin(async move {
                let written = work(w).await?;
                Ok((written.response, written.events, Vec::new()))
            })
        })
        .await
    }

    /// Locates the target, authorises, runs `work`, records and commits.
    ///
    /// # Errors
    /// `NOT_FOUND` (recorded) for a record not in the caller's authority;
    /// `PERMISSION_DENIED` (recorded) when the policies refuse; whatever
    /// `work` returns (nothing of it is committed; the access is recorded,
    /// allowed, with the failure's code).
    async fn run<T, F>(&self, session: &Session, target: Target, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(Work<'c>) -> BoxFuture<'c, Result<Worked<T>, ApiError>> + Send + 'static,
    {
        let ctx = &session.ctx;
        let mut tx = store::begin(&self.pool, &ctx.authority).await?;
        let (resource, subject, reach) = match target {
            Target::Authority(authority) => (
                Resource::Authority(authority),
                Subject::default(),
                Reach::default(),
            ),
            Target::Record(locator) => {
                let located = match locate(&mut tx, locator).await {
                    Ok(located) => located,
                    Err(err) => {
                        return Err(self
                            .access
                            .abandon(tx, &self.pool, &session.call, None, err, ctx.now)
                            .await);
                    }
                };
                let members = members(&mut tx, &located, ctx.today).await?;
                let resource = Resource::Record(record(&ctx.authority, &located, &members));
                let subject = Subject {
                    case_id: Some(located.case_id),
                    child_ids: located.child_ids.clone(),
                };
                let reach = Reach { members };
                (resource, subject, reach)
            }
        };
        let mut permit = self
            .access
            .authorize(&self.pool, &session.call, &resource, &subject, ctx.now)
            .await?;
        let worked = work(Work {
            conn: &mut tx,
            session,
            reach: &reach,
        })
        .await;
        let (value, events, listed) = match worked {
            Ok(worked) => worked,
            // Recorded with its failure, allowed; a record named in the
            // request but not in the caller's authority as at `locate`.
            Err(err) => {
                return Err(self
                    .access
                    .abandon(tx, &self.pool, &session.call, Some(permit), err, ctx.now)
                    .await);
            }
        };
        permit.add_children(events.iter().flat_map(|e| e.child_ids.iter().copied()));
        permit.add_children(listed);
        if let Some(case_id) = events
            .iter()
            .find(|e| e.aggregate_type == "Case")
            .and_then(|e| Uuid::parse_str(&e.aggregate_id).ok())
        {
            permit.set_case(case_id);
        }
        permit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }
}

impl Reach {
    /// Whether `person` is a current member of the target's case.
    pub fn is_current_member(&self, person: Uuid) -> bool {
        self.members.current.contains(&person)
    }
}

/// The policy resource for a record of `located`'s case.
fn record(authority: &AuthorityId, located: &Located, members: &Members) -> Record {
    Record {
        authority_id: authority.as_str().to_owned(),
        case: Some(case_relation(located, members)),
        conference: None,
        escalation: None,
    }
}

/// `located`'s case and its members, as the policies see them.
pub(crate) fn case_relation(located: &Located, members: &Members) -> CaseRelation {
    let ids = |people: &[Uuid]| people.iter().map(Uuid::to_string).collect();
    CaseRelation {
        case_id: located.case_id.to_string(),
        current_members: ids(&members.current),
        current_member_agencies: members.agencies.clone(),
        former_members: ids(&members.former),
    }
}
