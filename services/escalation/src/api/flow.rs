//! The path every escalation call takes, as in the other services:
//! identify the caller, open a transaction bound to their authority,
//! locate the case (and the escalation's stage) from escalation's copies,
//! ask the policies and the service's own rules, do the work, append the
//! audit record, commit. Another authority's escalation is simply
//! `NOT_FOUND` (row-level security); a refusal, and a record not found,
//! are recorded on their own.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use cpc_authz::{CaseRelation, EscalationRelation, EscalationStage, Record, Resource};
use cpc_identity::Role;
use cpc_platform::access::{Access, Call, Subject, actor};
use cpc_platform::case_members;
use cpc_platform::{ApiError, LocatedChild, db};
use cpc_rules::civil_time::uk_date;
use cpc_rules::profile::AuthorityProfile;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::store::{Ctx, cases, drift, escalations};

/// A future borrowing the call's connection and session.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An identified call.
pub(crate) struct Session {
    pub call: Call,
    pub ctx: Ctx,
}

/// What a call acts on, as the policies see it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// The authority as a whole (lists across it, the change feed).
    Authority(&'a str),
    /// A case, for the children named: raising an escalation about them.
    Case(Uuid, &'a [Uuid]),
    /// A case as a whole: listing its escalations or findings (covered only
    /// by a membership for every child of the case).
    WholeCase(Uuid),
    /// A child's escalations or findings: a record of the child's case.
    Child(Uuid),
    /// A plan's findings: a record of the plan's child's case.
    Plan(Uuid),
    /// One escalation: a record of its case, at its current stage.
    Escalation(Uuid),
}

/// The service's own rules, asked after the policies allowed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// Nothing beyond the policies.
    None,
    /// Opening an escalation at the safeguarding partnership is for a
    /// service manager or head of service (RaiseEscalationRequest).
    PartnershipOpenedBySeniorManagers,
    /// Only the person who raised an escalation withdraws it.
    WithdrawnByRaiser,
}

const SENIOR_MANAGERS: [Role; 2] = [Role::ServiceManager, Role::HeadOfService];

/// The pieces every call needs.
#[derive(Clone)]
pub(crate) struct Flow {
    pub pool: PgPool,
    pub access: Access,
    pub profiles: Arc<BTreeMap<String, AuthorityProfile>>,
}

impl Flow {
    /// Authenticates the request and builds its session.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` without valid credentials; `RESOURCE_EXHAUSTED`
    /// over the caller's rate limit.
    pub async fn identify<T>(&self, request: &tonic::Request<T>) -> Result<Session, ApiError> {
        let now = DateTime::<Utc>::from(SystemTime::now());
        let call = self.access.identify(request, now).await?;
        let authority = call.caller.authority_id().to_owned();
        let timescales = cpc_platform::config::timescales(&self.profiles, &authority)?;
        Ok(Session {
            ctx: Ctx {
                actor: actor(&call.caller),
                authority,
                now,
                today: uk_date(now),
                calendar: timescales.calendar(),
            },
            call,
        })
    }

    /// Locates the target, authorises (policies, then `rule`), runs
    /// `work`, records and commits.
    ///
    /// # Errors
    /// `NOT_FOUND` (recorded) for a record not in the caller's authority;
    /// `PERMISSION_DENIED` (recorded) when the policies or `rule` refuse;
    /// whatever `work` returns (nothing of it is committed; the access is recorded,
    /// allowed, with the failure's code).
    pub async fn run<T, F>(
        &self,
        session: &Session,
        target: Target<'_>,
        rule: Rule,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        self.run_naming(session, target, rule, work, |_| Vec::new())
            .await
    }

    /// Authorises and runs a list, as [`Flow::run`]; its audit record names
    /// every child whose records the page returned (`children`), so a list
    /// that showed a child is in that child's access log.
    ///
    /// # Errors
    /// As [`Flow::run`].
    pub async fn list<T, F>(
        &self,
        session: &Session,
        target: Target<'_>,
        work: F,
        children: fn(&T) -> Vec<Uuid>,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        self.run_naming(session, target, Rule::None, work, children)
            .await
    }

    async fn run_naming<T, F>(
        &self,
        session: &Session,
        target: Target<'_>,
        rule: Rule,
        work: F,
        children: fn(&T) -> Vec<Uuid>,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        let ctx = &session.ctx;
        let mut tx = db::begin_for_authority(&self.pool, &ctx.authority).await?;
        let located = match locate(&mut tx, ctx, target).await {
            Ok(located) => located,
            Err(err) => {
                return Err(self
                    .access
                    .abandon(tx, &self.pool, &session.call, None, err, ctx.now)
                    .await);
            }
        };
        let mut permit = self
            .access
            .authorize(
                &self.pool,
                &session.call,
                &located.resource,
                &located.subject,
                ctx.now,
            )
            .await?;
        if let Some((rule_id, reason)) = broken(rule, session, located.raised_by.as_deref()) {
            drop(permit);
            tx.rollback().await?;
            return Err(self
                .access
                .refuse(
                    &self.pool,
                    &session.call,
                    &located.subject,
                    rule_id,
                    reason,
                    ctx.now,
                )
                .await);
        }
        let value = match work(&mut tx, session).await {
            Ok(value) => value,
            Err(err) => {
                return Err(self
                    .access
                    .abandon(tx, &self.pool, &session.call, Some(permit), err, ctx.now)
                    .await);
            }
        };
        permit.add_children(children(&value));
        permit.record(&mut tx).await?;
        tx.commit().await?;
        Ok(value)
    }
}

/// The rule `rule` breaks for this call, as (rule id, reason), if any.
fn broken(
    rule: Rule,
    session: &Session,
    raised_by: Option<&str>,
) -> Option<(&'static str, &'static str)> {
    let caller = &session.call.caller;
    match rule {
        Rule::None => None,
        Rule::PartnershipOpenedBySeniorManagers if !caller.has_any_role(&SENIOR_MANAGERS) => {
            Some((
                "escalation:partnership-opened-by-senior-managers",
                "only a service manager or head of service opens an escalation at the safeguarding \
             partnership",
            ))
        }
        Rule::WithdrawnByRaiser if raised_by != Some(caller.subject()) => Some((
            "escalation:withdrawn-by-raiser",
            "only the person who raised an escalation withdraws it",
        )),
        Rule::PartnershipOpenedBySeniorManagers | Rule::WithdrawnByRaiser => None,
    }
}

/// The target as the policies see it, what its audit record is about, and
/// who raised the escalation (for an escalation target).
struct Located {
    resource: Resource,
    subject: Subject,
    raised_by: Option<String>,
}

async fn locate(
    conn: &mut PgConnection,
    ctx: &Ctx,
    target: Target<'_>,
) -> Result<Located, ApiError> {
    match target {
        Target::Authority(authority) => Ok(Located {
            resource: Resource::Authority(authority.to_owned()),
            subject: Subject::default(),
            raised_by: None,
        }),
        Target::Case(case_id, children) => {
            cases::children_of_case(conn, case_id).await?;
            case_record(conn, ctx, case_id, children.to_vec(), None).await
        }
        Target::WholeCase(case_id) => {
            let children = cases::children_of_case(conn, case_id).await?;
            let case =
                case_members::relation_to_whole_case(conn, case_id, &children, ctx.today).await?;
            Ok(located(ctx, case_id, case, children, None))
        }
        Target::Child(child) => {
            let case_id = cases::case_of_child(conn, child).await?;
            case_record(conn, ctx, case_id, vec![child], None).await
        }
        Target::Plan(plan) => {
            let (case_id, child) = drift::case_of_plan(conn, plan).await?;
            case_record(conn, ctx, case_id, vec![child], None).await
        }
        Target::Escalation(id) => {
            let found = escalations::locate(conn, id).await?;
            let relation = EscalationRelation {
                escalation_id: id.to_string(),
                stage: found.stage,
                raised_by: Some(found.raised_by_id.clone()),
            };
            let mut located =
                case_record(conn, ctx, found.case_id, found.child_ids, Some(relation)).await?;
            located.raised_by = Some(found.raised_by_id);
            Ok(located)
        }
    }
}

/// A record of case `case_id` about `child_ids`: its readers are the
/// members for each child's case now (a record stays in the case it was
/// made in when a child moves, its readers do not); its audit record names
/// the record's own case.
async fn case_record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    escalation: Option<EscalationRelation>,
) -> Result<Located, ApiError> {
    let now_on = case_members::current_cases(conn, cases::CHILD_CASES, case_id, &child_ids).await?;
    let case = case_members::relation_of_children(conn, case_id, &now_on, ctx.today).await?;
    Ok(located(ctx, case_id, case, child_ids, escalation))
}

/// A record of `case` about `child_ids`, as the policies see it and its
/// audit record names it.
fn located(
    ctx: &Ctx,
    case_id: Uuid,
    case: CaseRelation,
    child_ids: Vec<Uuid>,
    escalation: Option<EscalationRelation>,
) -> Located {
    Located {
        resource: Resource::Record(Record {
            authority_id: ctx.authority.clone(),
            case: Some(case),
            conference: None,
            escalation,
        }),
        subject: Subject {
            case_id: Some(case_id),
            child_ids,
        },
        raised_by: None,
    }
}

/// The child as escalation knows it: its case relation, so that the
/// audit service can ask the policies about that child's record, and its
/// records, so that attempts on them from other authorities are found
/// (`cpc_platform::Component::locate_child`). `None` when escalation does
/// not know the child.
///
/// # Errors
/// Database errors.
pub fn locate_child<'a>(
    pool: &'a PgPool,
    authority: &'a str,
    child: Uuid,
    today: chrono::NaiveDate,
) -> BoxFuture<'a, Result<Option<LocatedChild>, ApiError>> {
    Box::pin(async move {
        let mut tx = db::begin_for_authority(pool, authority).await?;
        let case_id = match cases::case_of_child(&mut tx, child).await {
            Ok(case_id) => case_id,
            Err(ApiError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        let relation = case_members::relation(&mut tx, case_id, &[child], today).await?;
        let records = cases::child_records(&mut tx, child).await?;
        tx.rollback().await?;
        Ok(Some(LocatedChild::new(relation, &records)))
    })
}

/// What a list names, as the policies see it: another authority (asked
/// about as such, and refused); a case, a child or a plan (a record of the
/// case: its members may list); otherwise the caller's authority as a
/// whole.
pub(crate) fn list_target<'a>(
    named: &'a str,
    session: &Session,
    case: Option<Uuid>,
    child: Option<Uuid>,
    plan: Option<Uuid>,
) -> Target<'a> {
    match (case, child, plan) {
        _ if named != session.ctx.authority => Target::Authority(named),
        (Some(case), _, _) => Target::WholeCase(case),
        (None, Some(child), _) => Target::Child(child),
        (None, None, Some(plan)) => Target::Plan(plan),
        (None, None, None) => Target::Authority(named),
    }
}

/// The rule an escalation opening at `stage` must keep.
pub(crate) fn opening_rule(stage: EscalationStage) -> Rule {
    if stage == EscalationStage::SafeguardingPartnership {
        Rule::PartnershipOpenedBySeniorManagers
    } else {
        Rule::None
    }
}
