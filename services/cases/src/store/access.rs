//! What authorisation needs to know about a record before a call touches
//! it: the family case it belongs to, the children it concerns, and who is
//! a member of that case today.
//!
//! Runs inside the call's transaction (row-level security bound to the
//! caller's authority), so another authority's record is simply not found.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_platform::access::CHILD_RESOURCE;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::codes::AgencyKind;

/// A record a call names, by kind and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    Case(Uuid),
    Child(Uuid),
    FamilyMember(Uuid),
    CinEpisode(Uuid),
    StrategyDiscussion(Uuid),
    Section47Enquiry(Uuid),
    ConferenceOutcome(Uuid),
    Plan(Uuid),
    PlanAction(Uuid),
    TransferIn(Uuid),
    Membership(Uuid),
}

/// Where a record sits: its case and the children it concerns (for records
/// of the whole case, the case itself, family members and memberships:
/// every child of the case, so that "who accessed this child's record"
/// finds them too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    /// The record is the case as a whole (a lookup of the case, or a list
    /// across it): only a membership covering every child of the case
    /// covers it. A membership for some children (a school, for its pupil)
    /// opens those children's records, listed by child, and never a list
    /// across the case that would return their siblings' plans.
    pub whole_case: bool,
}

/// The people on a case at one date, as the access policies see them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Person ids with a membership current on the date that covers the
    /// record (all of the case's children, or one the record concerns).
    pub current: Vec<Uuid>,
    /// Person ids whose covering memberships have all ended, and who are
    /// not current members.
    pub former: Vec<Uuid>,
    /// Agencies (`<kind>:<name>`, [`cpc_identity::Agency::key`]) holding a
    /// current covering membership for the whole agency.
    pub agencies: Vec<String>,
}

impl Locator {
    /// The resource name used in `NOT_FOUND` errors.
    fn resource(self) -> &'static str {
        match self {
            Locator::Case(_) => "case",
            Locator::Child(_) => CHILD_RESOURCE,
            Locator::FamilyMember(_) => "family member",
            Locator::CinEpisode(_) => "CIN episode",
            Locator::StrategyDiscussion(_) => "strategy discussion",
            Locator::Section47Enquiry(_) => "section 47 enquiry",
            Locator::ConferenceOutcome(_) => "conference outcome",
            Locator::Plan(_) => "plan",
            Locator::PlanAction(_) => "plan action",
            Locator::TransferIn(_) => "transfer in",
            Locator::Membership(_) => "case membership",
        }
    }

    /// The query giving `(case_id, child_ids)` for the record `$1`.
    fn query(self) -> (&'static str, Uuid) {
        // Records of the whole case concern all of its children.
        macro_rules! of_case {
            ($table:literal) => {
                concat!(
                    "SELECT r.case_id, ARRAY(SELECT ch.id FROM children ch WHERE ch.case_id = r.case_id ORDER BY ch.id) FROM ",
                    $table,
                    " r WHERE r.id = $1"
                )
            };
        }
        // Records of one child find the case through the child.
        macro_rules! of_child {
            ($table:literal) => {
                concat!(
                    "SELECT ch.case_id, ARRAY[ch.id] FROM ",
                    $table,
                    " r JOIN children ch ON ch.id = r.child_id WHERE r.id = $1"
                )
            };
        }
        match self {
            Locator::Case(id) => (
                "SELECT c.id, ARRAY(SELECT ch.id FROM children ch WHERE ch.case_id = c.id ORDER BY ch.id) \
                   FROM cases c WHERE c.id = $1",
                id,
            ),
            Locator::Child(id) => ("SELECT case_id, ARRAY[id] FROM children WHERE id = $1", id),
            Locator::FamilyMember(id) => (of_case!("family_members"), id),
            Locator::Membership(id) => (of_case!("case_memberships"), id),
            Locator::StrategyDiscussion(id) => (
                "SELECT d.case_id, ARRAY(SELECT c.child_id FROM strategy_discussion_children c \
                                          WHERE c.strategy_discussion_id = d.id ORDER BY c.child_id) \
                   FROM strategy_discussions d WHERE d.id = $1",
                id,
            ),
            Locator::CinEpisode(id) => (of_child!("cin_episodes"), id),
            Locator::Section47Enquiry(id) => (of_child!("section47_enquiries"), id),
            Locator::ConferenceOutcome(id) => (of_child!("conference_outcomes"), id),
            Locator::Plan(id) => (of_child!("plans"), id),
            Locator::PlanAction(id) => (of_child!("plan_actions"), id),
            Locator::TransferIn(id) => (of_child!("transfers_in"), id),
        }
    }
}

/// Finds the case and children of the record `locator` names.
///
/// # Errors
/// `NOT_FOUND` when there is no such record in the caller's authority.
pub async fn locate(conn: &mut PgConnection, locator: Locator) -> Result<Located, ApiError> {
    let (sql, id) = locator.query();
    let row: Option<(Uuid, Vec<Uuid>)> = sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let (case_id, child_ids) =
        row.ok_or_else(|| ApiError::not_found(locator.resource(), id.to_string()))?;
    Ok(Located {
        case_id,
        child_ids,
        whole_case: matches!(locator, Locator::Case(_)),
    })
}

/// The ids of every record a call may name that is about `child`: the
/// child, its case and the case's family members and memberships (records
/// of the whole case concern all of its children), and the child's own
/// records (each [`Locator`]). Read in the caller's authority only.
///
/// # Errors
/// Database errors.
pub async fn child_records(conn: &mut PgConnection, child: Uuid) -> Result<Vec<Uuid>, ApiError> {
    let ids = sqlx::query_scalar(
        "WITH kase AS (SELECT case_id FROM children WHERE id = $1) \
         SELECT id FROM children WHERE id = $1 \
         UNION ALL SELECT case_id FROM kase \
         UNION ALL SELECT id FROM family_members WHERE case_id IN (SELECT case_id FROM kase) \
         UNION ALL SELECT id FROM case_memberships WHERE case_id IN (SELECT case_id FROM kase) \
         UNION ALL SELECT strategy_discussion_id FROM strategy_discussion_children WHERE child_id = $1 \
         UNION ALL SELECT id FROM cin_episodes WHERE child_id = $1 \
         UNION ALL SELECT id FROM section47_enquiries WHERE child_id = $1 \
         UNION ALL SELECT id FROM conference_outcomes WHERE child_id = $1 \
         UNION ALL SELECT id FROM plans WHERE child_id = $1 \
         UNION ALL SELECT id FROM plan_actions WHERE child_id = $1 \
         UNION ALL SELECT id FROM transfers_in WHERE child_id = $1",
    )
    .bind(child)
    .fetch_all(&mut *conn)
    .await?;
    Ok(ids)
}

/// Who is on `located`'s case on `today`, for the children it concerns.
///
/// # Errors
/// Database errors.
pub async fn members(
    conn: &mut PgConnection,
    located: &Located,
    today: NaiveDate,
) -> Result<Members, ApiError> {
    // A membership covers the record when it names no child (the whole
    // case), or names one of the record's children (every one of them for
    // the case as a whole, `Located::whole_case`); a case without children
    // yet: any membership of the case.
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT m.person_id, \
                CASE WHEN m.agency_wide THEN m.agency_kind END AS agency_kind, \
                CASE WHEN m.agency_wide THEN m.agency_name END AS agency_name, \
                bool_or(m.start_date <= $3 AND (m.end_date IS NULL OR m.end_date >= $3)) AS current, \
                coalesce(bool_or(m.end_date < $3), false) AS ended \
           FROM case_memberships m \
          WHERE m.case_id = $1 \
            AND (cardinality($2::uuid[]) = 0 \
                 OR NOT EXISTS (SELECT 1 FROM case_membership_children c WHERE c.membership_id = m.id) \
                 OR (SELECT count(*) FROM case_membership_children c \
                      WHERE c.membership_id = m.id AND c.child_id = ANY ($2)) \
                    >= CASE WHEN $4 THEN cardinality($2::uuid[]) ELSE 1 END) \
          GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
    )
    .bind(located.case_id)
    .bind(&located.child_ids)
    .bind(today)
    .bind(located.whole_case)
    .fetch_all(&mut *conn)
    .await?;
    let mut current = BTreeSet::new();
    let mut ended = BTreeSet::new();
    let mut agencies = BTreeSet::new();
    for row in rows {
        if row.current {
            current.insert(row.person_id);
            if let (Some(kind), Some(name)) = (row.agency_kind, row.agency_name) {
                agencies.extend(kind.agency_key(&name));
            }
        } else if row.ended {
            ended.insert(row.person_id);
        }
    }
    Ok(Members {
        former: ended.difference(&current).copied().collect(),
        current: current.into_iter().collect(),
        agencies: agencies.into_iter().collect(),
    })
}

/// One person's covering memberships of a case, for their whole agency or
/// not.
#[derive(sqlx::FromRow)]
struct MemberRow {
    person_id: Uuid,
    /// Set for memberships held for the whole agency.
    agency_kind: Option<AgencyKind>,
    agency_name: Option<String>,
    current: bool,
    ended: bool,
}
