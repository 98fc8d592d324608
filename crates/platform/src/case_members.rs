//! A service's copy of who is on each case, kept from the cases feed
//! (CaseMemberAdded, CaseMemberEnded) in its own `case_members` table, for
//! the policies' questions about a record of that case. Scheduling and
//! reporting each keep one; neither reads the cases tables.

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
           (membership_id, authority_id, case_id, person_id, start_date, end_date, version, updated_at, child_ids, agency) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (membership_id) DO UPDATE SET \
           end_date = excluded.end_date, start_date = excluded.start_date, \
           version = excluded.version, updated_at = excluded.updated_at, child_ids = excluded.child_ids \
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
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Who is on `case_id` on `today` for `children` (a conference's): the
/// same rule as the cases service's own (a membership naming no child
/// covers the whole case, one naming children covers a record of any of
/// them; former means ended before today and not current).
///
/// # Errors
/// Database errors.
pub async fn relation(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
    today: NaiveDate,
) -> Result<CaseRelation, ApiError> {
    relation_covering(conn, case_id, children, false, today).await
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
    relation_covering(conn, case_id, children, true, today).await
}

async fn relation_covering(
    conn: &mut PgConnection,
    case_id: Uuid,
    children: &[Uuid],
    every_child: bool,
    today: NaiveDate,
) -> Result<CaseRelation, ApiError> {
    let rows: Vec<(String, Option<String>, bool, bool)> = sqlx::query_as(
        "SELECT person_id, agency, \
                bool_or(start_date <= $3 AND (end_date IS NULL OR end_date >= $3)), \
                coalesce(bool_or(end_date < $3), false) \
           FROM case_members \
          WHERE case_id = $1 \
            AND (cardinality(child_ids) = 0 \
                 OR CASE WHEN $4 THEN cardinality($2::uuid[]) > 0 AND child_ids @> $2 \
                         ELSE cardinality($2::uuid[]) = 0 OR child_ids && $2 END) \
          GROUP BY person_id, agency ORDER BY person_id, agency",
    )
    .bind(case_id)
    .bind(children)
    .bind(today)
    .bind(every_child)
    .fetch_all(&mut *conn)
    .await?;
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
    Ok(CaseRelation {
        case_id: case_id.to_string(),
        former_members: ended.difference(&current).cloned().collect(),
        current_members: current.into_iter().collect(),
        current_member_agencies: agencies.into_iter().collect(),
    })
}

fn date(d: Option<&common::Date>) -> Option<NaiveDate> {
    crate::convert::date_from_proto(d).ok().flatten()
}
