//! The path every scheduling call takes, as in the cases service: identify
//! the caller, open a transaction bound to their authority, locate the
//! conference and who is on its case (scheduling's copy, from the cases
//! feed), ask the policies, do the work, append the audit record, commit.
//! Another authority's conference is simply `NOT_FOUND` (row-level
//! security); a refusal, and a record not found, are recorded on their own.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use cpc_authz::{ConferenceRelation, Record, Resource};
use cpc_platform::access::{Access, Call, Subject};
use cpc_platform::{ApiError, LocatedChild, db};
use cpc_rules::civil_time::uk_date;
use cpc_rules::profile::AuthorityProfile;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use cpc_platform::case_members as members;

use crate::store::{Ctx, attendance, calendar, conferences, core_groups};

/// A future borrowing the call's connection and session.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An identified call.
pub(crate) struct Session {
    pub call: Call,
    pub ctx: Ctx,
}

/// What a call acts on, as the policies see it.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// The authority as a whole (lists, creating, the change feed).
    Authority(String),
    /// One conference, a record of its case.
    Conference(Uuid),
    /// A reply to one invitation: a record of its conference's case, which
    /// a person may answer only for themselves unless they run the diary.
    Reply(Uuid),
    /// One core group meeting: a record of its case.
    CoreGroup(Uuid),
    /// A family case as a whole (its calendar, its conferences).
    Case(Uuid),
}

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
                actor: cpc_platform::access::actor(&call.caller),
                authority,
                now,
                today: uk_date(now),
                timescales,
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
    pub async fn run<T, F>(&self, session: &Session, target: Target, work: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        self.list(session, target, work, |_| Vec::new()).await
    }

    /// Authorises and runs a list, as [`Flow::run`]; its audit record names
    /// every child whose records the page returned (`children`), so the
    /// diary across the authority that showed a child's conference is in
    /// that child's access log.
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
        F: for<'c> FnOnce(&'c mut PgConnection, &'c Session) -> BoxFuture<'c, Result<T, ApiError>>
            + Send
            + 'static,
    {
        let ctx = &session.ctx;
        let mut tx = db::begin_for_authority(&self.pool, &ctx.authority).await?;
        let (resource, subject, invitee) = match locate(&mut tx, ctx, target).await {
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
        if let Some(invitee) = invitee
            && !self.may_reply_for(session, &invitee)
        {
            drop(permit);
            tx.rollback().await?;
            return Err(self
                .access
                .refuse(
                    &self.pool,
                    &session.call,
                    &subject,
                    OWN_INVITATION_ONLY,
                    "a person replies to their own invitation only",
                    ctx.now,
                )
                .await);
        }
        let value = match work(&mut tx, session).await {
            Ok(value) => value,
            // Recorded with its failure, allowed; a record named in the
            // request but not in the caller's authority as at `locate`.
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

/// The rule (recorded as the deciding policy) that a person replies only
/// to their own invitation.
const OWN_INVITATION_ONLY: &str = "scheduling:own-invitation-only";

/// Recording anyone's reply is diary administration: the callers the
/// policies let invite people (the Schedule group) may; services too.
const RECORD_ANY_REPLY: &str = "/cpc.scheduling.v1.AttendanceService/CreateInvitation";

impl Flow {
    fn may_reply_for(&self, session: &Session, invitee: &str) -> bool {
        let caller = &session.call.caller;
        caller.subject() == invitee
            || caller.kind() == cpc_identity::CallerKind::Service
            || self.access.allows(
                &session.call,
                RECORD_ANY_REPLY,
                &Resource::Authority(session.ctx.authority.clone()),
            )
    }
}

/// The target as the policies see it, what its audit record is about,
/// and, for a reply, whose invitation it answers.
async fn locate(
    conn: &mut PgConnection,
    ctx: &Ctx,
    target: Target,
) -> Result<(Resource, Subject, Option<String>), ApiError> {
    let (resource, subject) = match target {
        Target::Authority(authority) => (Resource::Authority(authority), Subject::default()),
        Target::Conference(id) => conference_record(conn, ctx, id).await?,
        Target::Reply(invitation) => {
            let id = attendance::conference_of(conn, invitation).await?;
            let invitee = attendance::invitee_of(conn, invitation).await?;
            let (resource, subject) = conference_record(conn, ctx, id).await?;
            return Ok((resource, subject, Some(invitee)));
        }
        Target::CoreGroup(id) => {
            let (case_id, child_ids) = core_groups::locate(conn, id).await?;
            case_record(conn, ctx, case_id, child_ids, Cover::Children).await?
        }
        Target::Case(case_id) => {
            // A record of the whole case is about each of its children, so
            // its audit record is found under each child's name. A case
            // with children is known; one without is asked about once more.
            let children = calendar::children_of_case(conn, case_id).await?;
            if children.is_empty() && !calendar::knows_case(conn, case_id).await? {
                return Err(ApiError::not_found("case", case_id.to_string()));
            }
            case_record(conn, ctx, case_id, children, Cover::WholeCase).await?
        }
    };
    Ok((resource, subject, None))
}

/// Conference `id` as the policies see it (a record of its case, with who
/// is on the case today, and its chair once allocated: only they decide
/// who is excluded from attending) and what its audit record is about.
async fn conference_record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    id: Uuid,
) -> Result<(Resource, Subject), ApiError> {
    let (case_id, child_ids, chair) = conferences::locate(conn, id).await?;
    let (mut resource, subject) =
        case_record(conn, ctx, case_id, child_ids, Cover::Children).await?;
    if let Resource::Record(record) = &mut resource {
        record.conference = Some(ConferenceRelation {
            conference_id: id.to_string(),
            // Minutes exclusions belong to reporting; nothing here is
            // minutes.
            minutes_excluded: Vec::new(),
            // A chair record's id is the chair's person id.
            chair: chair.map(|chair| chair.to_string()),
        });
    }
    Ok((resource, subject))
}

/// What a record of a case is about, for who covers it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cover {
    /// Some of its children (a conference, a meeting): a membership for
    /// any of them covers it.
    Children,
    /// The case as a whole (a list across it): only a membership for every
    /// child does ([`members::relation_to_whole_case`]).
    WholeCase,
}

/// A record of case `case_id` about `child_ids`, as the policies see it,
/// and what its audit record is about: the record's own case (the one it
/// was made in), whichever case its children are on now.
async fn case_record(
    conn: &mut PgConnection,
    ctx: &Ctx,
    case_id: Uuid,
    child_ids: Vec<Uuid>,
    cover: Cover,
) -> Result<(Resource, Subject), ApiError> {
    let case = match cover {
        // Each child on the case they are on now: a record stays in the
        // case it was made in when a child moves, its readers do not.
        Cover::Children => {
            let now_on =
                members::current_cases(conn, conferences::CHILD_CASES, case_id, &child_ids).await?;
            members::relation_of_children(conn, case_id, &now_on, ctx.today).await?
        }
        Cover::WholeCase => {
            members::relation_to_whole_case(conn, case_id, &child_ids, ctx.today).await?
        }
    };
    let record = Record {
        authority_id: ctx.authority.clone(),
        case: Some(case),
        conference: None,
        escalation: None,
    };
    let subject = Subject {
        case_id: Some(case_id),
        child_ids,
    };
    Ok((Resource::Record(record), subject))
}

/// The child as scheduling knows it (from the cases feed): its case
/// relation, so that the audit service can ask the policies about that
/// child's record (the child's social worker may read who accessed the
/// child's conferences), and its records, so that attempts on them from
/// other authorities are found (`cpc_platform::Component::locate_child`).
/// `None` when scheduling does not know the child.
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
        let Some(case_id) = conferences::case_of_child(&mut tx, child).await? else {
            return Ok(None);
        };
        let relation = members::relation(&mut tx, case_id, &[child], today).await?;
        let records = conferences::child_records(&mut tx, child).await?;
        tx.rollback().await?;
        Ok(Some(LocatedChild::new(relation, &records)))
    })
}
