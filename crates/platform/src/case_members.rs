//! A service's copy of who is on each case, kept from the cases feed
//! (CaseMemberAdded, CaseMemberEnded) in its own `case_members` table, for
//! the policies' questions about a record of that case. Scheduling,
//! reporting and escalation each keep one; none reads the cases tables.

use std::collections::BTreeSet;

use crate::ApiError;
use chrono::{DateTime, NaiveDate, Utc};
use cpc_authz::CaseRelation;
use cpc_identity::{AgencyKind, agency_key};
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use sqlx::PgConnection;
use uuid::Uuid;

/// Stores `membership` as the feed last described it; an older copy of a
/// membership never overwrites a newer one.
///
/// # Errors
/// A membership without an id, case, person or start date; database errors.
pub async fn record(
    conn: &mut PgConnection,
    authority: &str,
    membership: &cases::CaseMembership,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let bad =
        |field: &str| ApiError::internal(format!("a case membership without a valid {field}"));
    let id = Uuid::parse_str(&membership.id).map_err(|_| bad("id"))?;
    let case = Uuid::parse_str(&membership.case_id).map_err(|_| bad("case_id"))?;
    let member = membership
        .person
        .as_ref()
        .filter(|p| !p.person_id.is_empty())
        .ok_or_else(|| bad("person"))?;
    let person = &member.person_id;
    // A membership held for the whole agency names it as access decisions
    // do; cases refuses one without the person's agency.
    let agency = if membership.agency_wide {
        let kind = AgencyKind::from_code(member.agency_kind).ok_or_else(|| bad("agency"))?;
        Some(agency_key(kind, &member.agency_name))
    } else {
        None
    };
    let start = date(membership.start_date.as_ref()).ok_or_else(|| bad("start_date"))?;
    let end = date(membership.end_date.as_ref());
    let children = membership
        .child_ids
        .iter()
        .map(|c| Uuid::parse_str(c).map_err(|_| bad("child_ids")))
        .collect::<Result<Vec<_>, _>>()?;
    sqlx::query(
        "INSERT INTO case_members \
           (membership_id, authority_id, case_id, person_id, start_date, end_date, version, updated_at, \
            child_ids, agency, case_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (membership_id) DO UPDATE SET \
           end_date = excluded.end_date, start_date = excluded.start_date, \
           version = excluded.version, updated_at = excluded.updated_at, child_ids = excluded.child_ids, \
           case_role = excluded.case_role \
         WHERE case_members.version < excluded.version",
    )
    .bind(id)
    .bind(authority)
    .bind(case)
    .bind(person)
    .bind(start)
    .bind(end)
    .bind(membership.version.max(1))
    .bind(now)
    .bind(children)
    .bind(agency)
    .bind(role_code(membership.case_role))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Gives a membership learnt before the copies kept roles (migration
/// `20261212100001`) the role `membership` carries, as the cases feed read
/// again from its beginning describes it; [`record`] keeps the role of
/// every membership learnt since. A membership with a role, or not learnt,
/// is left as it is. Returns whether it gave a role, so a caller acts on
/// what it learnt once, not each time the feed is read again.
///
/// # Errors
/// A membership without a valid id; database errors.
pub async fn learn_role(
    conn: &mut PgConnection,
    membership: &cases::CaseMembership,
) -> Result<bool, ApiError> {
    let id = Uuid::parse_str(&membership.id)
        .map_err(|_| ApiError::internal("a case membership without a valid id"))?;
    let learnt = sqlx::query(
        "UPDATE case_members SET case_role = $2 WHERE membership_id = $1 AND case_role IS NULL",
    )
    .bind(id)
    .bind(role_code(membership.case_role))
    .execute(&mut *conn)
    .await?;
    Ok(learnt.rows_affected() > 0)
}

/// A membership's role as the copies keep it: `CaseRole` without its
/// prefix, in lower case (`team_manager`); none when unspecified or unknown.
fn role_code(role: i32) -> Option<String> {
    cases::CaseRole::try_from(role)
        .ok()
        .filter(|r| *r != cases::CaseRole::Unspecified)
        .map(|r| {
            r.as_str_name()
                .trim_start_matches("CASE_ROLE_")
                .to_ascii_lowercase()
        })
}

/// The roles of those who work on a case for the local authority, as
/// [`role_code`] spells them: its social workers and their team manager.
/// A conference chair must be independent of them.
pub const OPERATIONAL_ROLES: [&str; 3] = ["lead_social_worker", "social_worker", "team_manager"];

/// Who is on `case_id` on `today` for `children` (a conference's), all
/// of them on `case_id`: [`relation_of_children`] with each child on the
/// record's case. For a service that knows no more of the children's cases
/// than the record says.
///
/// # Errors
/// Database errors.
pub async fn relation(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
    today: NaiveDate,
) -> Result<CaseRelation, ApiError> {
    let on_case: Vec<ChildCase> = children
        .iter()
        .map(|&child_id| ChildCase { child_id, case_id })
        .collect();
    relation_of_children(conn, case_id, &on_case, today).await
}

/// A child a record is about, and the case the child is on now as the
/// service learnt it from the cases feed (`ChildRegistered`,
/// `ChildUpdated`). A child moves case by `UpdateChild`; a record keeps the
/// case it was made in, so access follows the child, not the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildCase {
    pub child_id: Uuid,
    pub case_id: Uuid,
}

/// Where a service keeps the case each child is on now, learnt from the
/// cases feed: a table of its own schema with the columns `child_id` and
/// `case_id`.
#[derive(Debug, Clone, Copy)]
pub struct ChildCaseTable(pub &'static str);

impl ChildCaseTable {
    /// SQL: whether the row aliased `row` (with `child_ids` and the
    /// `case_id` it was made in) is about a child on case `case` (a
    /// parameter) now, as this table says (a child not in it is on the
    /// row's own case); a row about no child, whether it was made in
    /// `case`. A row keeps its case when a child moves; which case lists
    /// it, and which records of a case may cite it, follow the child. A
    /// test the indexes answer (the row's own case, or a child on the case)
    /// comes ahead of the exact one, for a scan across the authority.
    #[must_use]
    pub fn row_on_case(self, row: &str, case: &str) -> String {
        let Self(table) = self;
        format!(
            "(({row}.case_id = {case} \
               OR {row}.child_ids && ARRAY(SELECT child_id FROM {table} WHERE case_id = {case})) \
              AND (EXISTS (SELECT 1 FROM unnest({row}.child_ids) AS k (child_id) \
                             LEFT JOIN {table} n ON n.child_id = k.child_id \
                            WHERE coalesce(n.case_id, {row}.case_id) = {case}) \
                   OR ({row}.case_id = {case} AND cardinality({row}.child_ids) = 0)))"
        )
    }

    /// As [`Self::row_on_case`], for a record whose children are kept
    /// one row a child in `children`, which the indexes answer under
    /// row-level security: Postgres applies a query's own conditions
    /// before the policy only when their functions are leakproof, as
    /// `uuid` equality is and array overlap (`&&`) is not.
    #[must_use]
    pub fn record_on_case(self, children: RecordChildren, row: &str, case: &str) -> String {
        let Self(table) = self;
        let RecordChildren {
            records,
            table: kept,
            record,
        } = children;
        format!(
            "({row}.id IN (SELECT o.id FROM {records} o WHERE o.case_id = {case} \
                           UNION ALL \
                           SELECT rc.{record} FROM {kept} rc \
                             JOIN {table} k ON k.child_id = rc.child_id \
                            WHERE k.case_id = {case}) \
              AND (EXISTS (SELECT 1 FROM {kept} rc \
                             LEFT JOIN {table} k ON k.child_id = rc.child_id \
                            WHERE rc.{record} = {row}.id \
                              AND coalesce(k.case_id, {row}.case_id) = {case}) \
                   OR ({row}.case_id = {case} \
                       AND NOT EXISTS (SELECT 1 FROM {kept} rc WHERE rc.{record} = {row}.id))))"
        )
    }
}

/// Where a service keeps the children of its records of one kind, one row
/// a child, beside the records' table (`records`, with `id` and the
/// `case_id` each was made in): a table with the record's id in the column
/// `record` and a `child_id`, and a btree index on each.
#[derive(Debug, Clone, Copy)]
pub struct RecordChildren {
    pub records: &'static str,
    pub table: &'static str,
    pub record: &'static str,
}

impl RecordChildren {
    /// SQL: whether the record aliased `row` is about `child` (a
    /// parameter).
    #[must_use]
    pub fn about_child(self, row: &str, child: &str) -> String {
        let Self { table, record, .. } = self;
        format!(
            "EXISTS (SELECT 1 FROM {table} rc WHERE rc.{record} = {row}.id AND rc.child_id = {child})"
        )
    }

    /// SQL for a list's filter by case `param` ([`ChildCaseTable::record_on_case`]
    /// as `cases` says), written in only when a case is `given`: behind
    /// "`param` IS NULL OR", a prepared statement's generic plan could not
    /// use the indexes and would read the whole authority.
    #[must_use]
    pub fn case_filter(
        self,
        cases: ChildCaseTable,
        given: Option<Uuid>,
        row: &str,
        param: &str,
    ) -> String {
        match given {
            Some(_) => cases.record_on_case(self, row, param),
            None => format!("{param}::uuid IS NULL"),
        }
    }

    /// SQL for a list's filter by child `param` ([`Self::about_child`]),
    /// written in only when a child is `given`, as [`Self::case_filter`].
    #[must_use]
    pub fn child_filter(self, given: Option<Uuid>, row: &str, param: &str) -> String {
        match given {
            Some(_) => self.about_child(row, param),
            None => format!("{param}::uuid IS NULL"),
        }
    }
}

/// Each of `children` (a record of case `case_id`'s) with the case the
/// cases feed last put them on, as the service keeps it in `table`, for
/// who may see the record ([`relation_of_children`]): a child moved to
/// another case takes its records' readers with it. A child the service
/// has not heard of is taken to be on the record's case, where it was when
/// the record was made.
///
/// # Errors
/// Database errors.
pub async fn current_cases(
    conn: &mut PgConnection,
    ChildCaseTable(table): ChildCaseTable,
    case_id: Uuid,
    children: &[Uuid],
) -> Result<Vec<ChildCase>, ApiError> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(&format!(
        "SELECT k.child_id, coalesce(c.case_id, $1) \
           FROM unnest($2::uuid[]) AS k (child_id) \
           LEFT JOIN {table} c ON c.child_id = k.child_id"
    ))
    .bind(case_id)
    .bind(children)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(child_id, case_id)| ChildCase { child_id, case_id })
        .collect())
}

/// Who is on `today` for a record of case `case_id` about `children` (a
/// conference's, an escalation's), each on the case it is on now: the same
/// rule as the cases service's own, which decides by the child's current
/// case. A membership covers the record when, for some child, it is of
/// that child's current case and names no child (the whole case) or names
/// that child; former means ended before today and not current. A record
/// about no child is covered by any membership of `case_id`. The relation
/// names `case_id`, the record's own case, as its audit record does.
///
/// So after a child moves, the members of their new case see the records
/// made about them in the old one, and the old case's members do not,
/// unless the record is also about a sibling who stayed and the
/// membership covers that sibling. The children's cases are resolved when
/// the decision is made, rather than the records' case rewritten when the
/// feed says a child moved: a record shared with a sibling who stayed is
/// of both cases at once, which no one stored case can say, and nothing
/// made before the move needs rewriting (or can be missed).
///
/// # Errors
/// Database errors.
pub async fn relation_of_children(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[ChildCase],
    today: NaiveDate,
) -> Result<CaseRelation, ApiError> {
    let child_ids: Vec<Uuid> = children.iter().map(|c| c.child_id).collect();
    let cases: Vec<Uuid> = if children.is_empty() {
        vec![case_id]
    } else {
        children.iter().map(|c| c.case_id).collect()
    };
    // `case_id = ANY ($2)` lets the case index narrow the memberships
    // before each is matched to the child whose case it is.
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT person_id, agency, \
                bool_or(start_date <= $3 AND (end_date IS NULL OR end_date >= $3)), \
                coalesce(bool_or(end_date < $3), false) \
           FROM case_members m \
          WHERE m.case_id = ANY ($2::uuid[]) \
            AND (cardinality($1::uuid[]) = 0 \
                 OR EXISTS (SELECT 1 FROM unnest($1::uuid[], $2::uuid[]) AS k (child_id, case_id) \
                             WHERE k.case_id = m.case_id \
                               AND (cardinality(m.child_ids) = 0 OR k.child_id = ANY (m.child_ids)))) \
          GROUP BY person_id, agency ORDER BY person_id, agency",
    )
    .bind(&child_ids)
    .bind(&cases)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    Ok(case_relation(case_id, rows))
}

/// Who is on `case_id` on `today` for the case as a whole (a list across
/// the case), whose children are `children`: as [`relation`], but a
/// membership naming children covers it only if it names every one of
/// them, as the cases service decides for its case. A school that is a
/// member for its pupil does not see a list across the case, which would
/// return the pupil's siblings' records; it lists by child.
///
/// # Errors
/// Database errors.
pub async fn relation_to_whole_case(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
    today: NaiveDate,
) -> Result<CaseRelation, ApiError> {
    let rows: Vec<MemberRow> = sqlx::query_as(
        "SELECT person_id, agency, \
                bool_or(start_date <= $3 AND (end_date IS NULL OR end_date >= $3)), \
                coalesce(bool_or(end_date < $3), false) \
           FROM case_members \
          WHERE case_id = $1 \
            AND (cardinality(child_ids) = 0 \
                 OR (cardinality($2::uuid[]) > 0 AND child_ids @> $2)) \
          GROUP BY person_id, agency ORDER BY person_id, agency",
    )
    .bind(case_id)
    .bind(children)
    .bind(today)
    .fetch_all(&mut *conn)
    .await?;
    Ok(case_relation(case_id, rows))
}

/// A person (and the agency a membership of theirs is held for) with
/// whether any membership covering the record is current, and whether any
/// has ended.
type MemberRow = (String, Option<String>, bool, bool);

/// The relation to `case_id` of the people of `rows`.
fn case_relation(case_id: Uuid, rows: Vec<MemberRow>) -> CaseRelation {
    let mut current = BTreeSet::new();
    let mut ended = BTreeSet::new();
    let mut agencies = BTreeSet::new();
    for (person, agency, is_current, has_ended) in rows {
        if is_current {
            agencies.extend(agency);
            current.insert(person);
        } else if has_ended {
            ended.insert(person);
        }
    }
    CaseRelation {
        case_id: case_id.to_string(),
        former_members: ended.difference(&current).cloned().collect(),
        current_members: current.into_iter().collect(),
        current_member_agencies: agencies.into_iter().collect(),
    }
}

fn date(d: Option<&common::Date>) -> Option<NaiveDate> {
    crate::convert::date_from_proto(d).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_kept_by_their_short_names() {
        assert_eq!(
            role_code(cases::CaseRole::TeamManager as i32).as_deref(),
            Some("team_manager")
        );
        assert_eq!(role_code(cases::CaseRole::Unspecified as i32), None);
        assert_eq!(role_code(999), None);
        for operational in [
            cases::CaseRole::LeadSocialWorker,
            cases::CaseRole::SocialWorker,
            cases::CaseRole::TeamManager,
        ] {
            let code = role_code(operational as i32).unwrap();
            assert!(OPERATIONAL_ROLES.contains(&code.as_str()), "{code}");
        }
    }
}
