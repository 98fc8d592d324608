//! The path every reporting call takes, as in the cases and scheduling
//! services: identify the caller, open a transaction bound to their
//! authority, locate the conference, who is on its case and who was
//! excluded from its minutes (reporting's copies, from the feeds), ask the
//! policies, do the work, append the audit record, commit. Another
//! authority's minutes are simply `NOT_FOUND` (row-level security); a
//! refusal, and a record not found, are recorded on their own.

use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use cpc_authz::{ConferenceRelation, Record, Resource};
use cpc_identity::{CallerKind, Role};
use cpc_platform::access::{Access, Call, Subject, actor};
use cpc_platform::case_members;
use cpc_platform::{ApiError, LocatedChild, db};
use cpc_rules::civil_time::uk_date;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::store::conferences::Excluded;
use crate::store::reports::Reader;
use crate::store::{Ctx, conferences, minutes, reports};

/// A future borrowing the call's connection and session.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An identified call.
pub(crate) struct Session {
    pub call: Call,
    pub ctx: Ctx,
}

/// The local authority's roles that read every submitted report of a
/// conference the policies let them read; anyone else is shown only the
/// reports they wrote or were sent.
const READS_EVERY_SUBMITTED_REPORT: [Role; 5] = [
    Role::SocialWorker,
    Role::TeamManager,
    Role::ConferenceChair,
    Role::ServiceManager,
    Role::HeadOfService,
];

/// The reporting events cpc's own services follow: which agency submitted
/// a report for which conference (escalation, for REPORT_LATE). The feed
/// also carries minutes and census returns, which no service needs, so a
/// service identity asks for these types, and only these.
pub(crate) const SERVICE_FOLLOWS: [&str; 1] = ["cpc.reporting.v1.AgencyReportSubmitted"];

/// The rule (recorded as the deciding policy) that a service follows only
/// [`SERVICE_FOLLOWS`].
const SERVICES_FOLLOW_SUBMISSIONS_ONLY: &str = "reporting:services-follow-submissions-only";

impl Session {
    /// The caller as the agency reports' visibility rule sees them.
    pub fn reader(&self) -> Reader {
        let caller = &self.call.caller;
        Reader {
            person: caller.subject().to_owned(),
            reads_every_submitted: caller.has_any_role(&READS_EVERY_SUBMITTED_REPORT),
        }
    }
}

/// What a call acts on, as the policies see it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// The authority as a whole (lists across it, the change feed).
    Authority(&'a str),
    /// One conference, a record of its case, with its minutes exclusions.
    Conference(Uuid),
    /// One conference's minutes: a record of that conference.
    Minutes(Uuid),
    /// One agency report: a record of its conference.
    Report(Uuid),
    /// A child's minutes across conferences: a record of the child's case.
    Child(Uuid),
}

/// The pieces every call needs.
#[derive(Clone)]
pub(crate) struct Flow {
    pub pool: PgPool,
    pub access: Access,
}

impl Flow {
    /// Refuses (and records) a service identity asking the change feed for
    /// more than [`SERVICE_FOLLOWS`] (no types at all is every type).
    ///
    /// # Errors
    /// `PERMISSION_DENIED`, recorded under the rule.
    pub async fn check_service_follows(
        &self,
        session: &Session,
        event_types: &[String],
    ) -> Result<(), ApiError> {
        let only_submissions = !event_types.is_empty()
            && event_types
                .iter()
                .all(|t| SERVICE_FOLLOWS.contains(&t.as_str()));
        if session.call.caller.kind() != CallerKind::Service || only_submissions {
            return Ok(());
        }
        Err(self
            .access
            .refuse(
                &self.pool,
                &session.call,
                &Subject::default(),
                SERVICES_FOLLOW_SUBMISSIONS_ONLY,
                "a service follows only AgencyReportSubmitted on the reporting feed",
                session.ctx.now,
            )
            .await)
    }

    /// Authenticates the request and builds its session.
    ///
    /// # Errors
    /// `UNAUTHENTICATED` without valid credentials; `RESOURCE_EXHAUSTED`
    /// over the caller's rate limit.
    pub async fn identify<T>(&self, request: &tonic::Request<T>) -> Result<Session, ApiError> {
        let now = DateTime::<Utc>::from(SystemTime::now());
        let call = self.access.identify(request, now).await?;
        Ok(Session {
            ctx: Ctx {
                actor: actor(&call.caller),
                authority: call.caller.authority_id().to_owned(),
                now,
                today: uk_date(now),
            },
            call,
        })
    }

    /// Locates the target, authorises, runs `work`, records and commits.
    ///
    /// # Errors
    /// `NOT_FOUND` (recorded) for a record not in the caller's authority;
    /// `PERMISSION_DENIED` (recorded) when the policies refuse; whatever
    /// `work` returns (nothing of it is committed; the access is recorded,
    /// allowed, with the failure's code).
    pub async fn run<T, F>(
        &self,
        session: &Session,
        target: Target<'_>,
        work: F,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        self.list(session, target, work, |_| Vec::new()).await
    }

    /// Authorises and runs a list, as [`Flow::run`]; its audit record names
    /// every child whose records the page returned (`children`), so a list
    /// across the authority that showed a child is in that child's access
    /// log.
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
        let ctx = &session.ctx;
        let mut tx = db::begin_for_authority(&self.pool, &ctx.authority).await?;
        let (resource, subject) = match locate(&mut tx, ctx, target).await {
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
            .authorize(&self.pool, &session.call, &resource, &subject, ctx.now)
            .await?;
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

/// The target as the policies see it, and what its audit record is about.
async fn locate(
    conn: &mut PgConnection,
    ctx: &Ctx,
    target: Target<'_>,
) -> Result<(Resource, Subject), ApiError> {
    match target {
        Target::Authority(authority) => Ok((
            Resource::Authority(authority.to_owned()),
            Subject::default(),
        )),
        Target::Conference(id) => conference_record(conn, ctx, id).await,
        Target::Minutes(id) => {
            let conference = minutes::conference_of(conn, id).await?;
            conference_record(conn, ctx, conference).await
        }
        Target::Report(id) => {
            let conference = reports::conference_of(conn, id).await?;
            conference_record(conn, ctx, conference).await
        }
        Target::Child(child) => {
            let case_id = conferences::case_of_child(conn, child).await?;
            case_record(conn, ctx, case_id, vec![child], None).await
        }
    }
}

/// Conference `id` as the policies see it: a record of its case, with who
/// is on the case today and who may not have its minutes.
async fn conference_record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<(Resource, Subject), ApiError> {
    let conference = conferences::load(conn, id).await?;
    let relation = ConferenceRelation {
        conference_id: id.to_string(),
        minutes_excluded: conferences::excluded(conn, id, Excluded::FromMinutes).await?,
        // Who chairs is scheduling's; nothing here turns on it.
        chair: None,
    };
    case_record(
        conn,
        ctx,
        conference.case_id,
        conference.child_ids,
        Some(relation),
    )
    .await
}

async fn case_record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    conference: Option<ConferenceRelation>,
) -> Result<(Resource, Subject), ApiError> {
    // Each child on the case they are on now: a conference stays in the
    // case it was held in when a child moves, its readers do not. The
    // audit record names the conference's own case.
    let now_on =
        case_members::current_cases(conn, conferences::CHILD_CASES, case_id, &child_ids).await?;
    let case = case_members::relation_of_children(conn, case_id, &now_on, ctx.today).await?;
    let record = Record {
        authority_id: ctx.authority.clone(),
        case: Some(case),
        conference,
        escalation: None,
    };
    let subject = Subject {
        case_id: Some(case_id),
        child_ids,
    };
    Ok((Resource::Record(record), subject))
}

/// The child as reporting knows it (from the conferences that included
/// the child): its case relation, so that the audit service can ask the
/// policies about that child's record (the child's social worker may read
/// who accessed the child's minutes), and its records, so that attempts on
/// them from other authorities are found (`cpc_platform::Component::locate_child`).
/// `None` when no conference of the authority included the child.
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
        let case_id = match conferences::case_of_child(&mut tx, child).await {
            Ok(case_id) => case_id,
            Err(ApiError::NotFound { .. }) => return Ok(None),
            Err(err) => return Err(err),
        };
        let relation = case_members::relation(&mut tx, case_id, &[child], today).await?;
        let records = conferences::child_records(&mut tx, child).await?;
        tx.rollback().await?;
        Ok(Some(LocatedChild::new(relation, &records)))
    })
}
