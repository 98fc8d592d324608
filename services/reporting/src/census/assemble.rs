//! Which of what reporting keeps belongs in a census year's return, and
//! what it says as at the reference date. Pure: the store reads the rows,
//! [`assemble`] decides.
//!
//! The census covers children in need at any time in the year from 1 April
//! to the reference date (31 March): each episode open on any day of it,
//! with the section 47 enquiries and child protection plans of that
//! episode that were under way in the year, and the plan reviews held in
//! it. What happened after the reference date is not in the return: an
//! episode closed (a plan ended, a child died) after it is open (alive) on
//! the return, as it was that day, and a child born after it is returned
//! unborn.
//!
//! The types derive `sqlx::FromRow` so that the store reads them as they
//! are; nothing here touches the database.

use std::collections::HashMap;

use chrono::{Days, Months, NaiveDate};
use cpc_rules::census::Sex;
use uuid::Uuid;

/// A census collection year: 1 April to the reference date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Year {
    pub start: NaiveDate,
    pub reference: NaiveDate,
}

impl Year {
    /// The year ending on `reference` (the day after the same date a year
    /// earlier, so 1 April for the usual 31 March).
    pub fn ending(reference: NaiveDate) -> Option<Year> {
        let start = reference
            .checked_sub_months(Months::new(12))?
            .checked_add_days(Days::new(1))?;
        Some(Year { start, reference })
    }

    fn holds(&self, date: NaiveDate) -> bool {
        (self.start..=self.reference).contains(&date)
    }

    /// Whether something running from `from` to `to` (open if none) was
    /// under way on any day of the year.
    fn overlaps(&self, from: NaiveDate, to: Option<NaiveDate>) -> bool {
        from <= self.reference && to.is_none_or(|to| to >= self.start)
    }

    /// `date` if it had happened by the reference date.
    fn by_reference(&self, date: Option<NaiveDate>) -> Option<NaiveDate> {
        date.filter(|d| *d <= self.reference)
    }
}

/// A child's census identifiers and characteristics.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Child {
    pub id: Uuid,
    pub la_child_id: String,
    pub upn: Option<String>,
    pub former_upn: Option<String>,
    pub upn_unknown: Option<String>,
    pub birth_on: Option<NaiveDate>,
    pub expected_birth_on: Option<NaiveDate>,
    pub sex: Option<String>,
    pub death_on: Option<NaiveDate>,
    pub ethnicity: Option<String>,
    pub disabilities: Vec<String>,
}

cpc_platform::redacted_debug!(Child);

/// A children in need episode; `initial_cpc_on` is found by [`assemble`].
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Episode {
    pub id: Uuid,
    pub child_id: Uuid,
    pub referral_on: NaiveDate,
    pub referral_source: Option<String>,
    pub primary_need: Option<String>,
    pub closure_on: Option<NaiveDate>,
    pub closure_reason: Option<String>,
    pub referral_nfa: bool,
    /// The episode's own `DateOfInitialCPC`: the date of the transfer-in
    /// conference that started one of its plans (no section 47 enquiry
    /// led to it, so no `Section47` carries it).
    #[sqlx(default)]
    pub initial_cpc_on: Option<NaiveDate>,
}

cpc_platform::redacted_debug!(Episode);

/// A section 47 enquiry; `initial_cpc_on` is found by [`assemble`].
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Enquiry {
    pub child_id: Uuid,
    pub cin_episode_id: Option<Uuid>,
    pub start_on: NaiveDate,
    pub icpc_target_on: Option<NaiveDate>,
    #[sqlx(default)]
    pub initial_cpc_on: Option<NaiveDate>,
    pub icpc_not_required: bool,
}

cpc_platform::redacted_debug!(Enquiry);

/// A child protection plan with the review conferences held on it.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Plan {
    pub child_id: Uuid,
    pub cin_episode_id: Option<Uuid>,
    pub start_on: NaiveDate,
    pub end_on: Option<NaiveDate>,
    pub initial_category: Option<String>,
    pub latest_category: Option<String>,
    pub previous_plans: i32,
    pub review_dates: Vec<NaiveDate>,
}

cpc_platform::redacted_debug!(Plan);

/// Everything kept for an authority's children that may be in the year.
#[derive(Clone, Default)]
pub struct Kept {
    pub children: Vec<Child>,
    pub episodes: Vec<Episode>,
    pub enquiries: Vec<Enquiry>,
    /// Each child's initial (or pre-birth) conferences: (child, date held).
    pub initial_conferences: Vec<(Uuid, NaiveDate)>,
    /// Each child's transfer-in conferences: (child, date held).
    pub transfer_in_conferences: Vec<(Uuid, NaiveDate)>,
    pub plans: Vec<Plan>,
}

cpc_platform::redacted_debug!(Kept);

/// One episode as returned, with its enquiries and plans.
#[derive(Clone, PartialEq, Eq)]
pub struct ReturnedEpisode {
    pub episode: Episode,
    pub enquiries: Vec<Enquiry>,
    pub plans: Vec<Plan>,
}

cpc_platform::redacted_debug!(ReturnedEpisode);

/// One child as returned.
#[derive(Clone, PartialEq, Eq)]
pub struct ReturnedChild {
    pub child: Child,
    pub episodes: Vec<ReturnedEpisode>,
}

cpc_platform::redacted_debug!(ReturnedChild);

/// The children of the return, by LA child id; each child's episodes,
/// enquiries, plans and reviews in date order.
///
/// An enquiry or plan belongs to the episode cases recorded it under, or,
/// where cases named none, to the child's episode open on its start date.
/// An enquiry's initial conference is the child's first initial or
/// pre-birth conference on or after its start and before the child's next
/// enquiry; none when no conference was needed. An episode's own initial
/// conference is the transfer-in conference one of its plans started at in
/// the year, unless a returned enquiry of the child has that date.
pub fn assemble(year: Year, kept: Kept) -> Vec<ReturnedChild> {
    let mut episodes = by_child(kept.episodes, |e| e.child_id);
    let mut enquiries = by_child(kept.enquiries, |e| e.child_id);
    let mut initial_conferences = by_child(kept.initial_conferences, |(c, _)| *c);
    let mut transfer_in_conferences = by_child(kept.transfer_in_conferences, |(c, _)| *c);
    let mut plans = by_child(kept.plans, |p| p.child_id);
    let mut returned: Vec<ReturnedChild> = kept
        .children
        .into_iter()
        .filter_map(|mut child| {
            child.death_on = year.by_reference(child.death_on);
            as_born_by_reference(year, &mut child);
            let mut own: Vec<ReturnedEpisode> = episodes
                .remove(&child.id)
                .unwrap_or_default()
                .into_iter()
                .filter(|e| year.overlaps(e.referral_on, e.closure_on))
                .map(|mut episode| {
                    if year.by_reference(episode.closure_on).is_none() {
                        episode.closure_on = None;
                        episode.closure_reason = None;
                    }
                    ReturnedEpisode {
                        episode,
                        enquiries: Vec::new(),
                        plans: Vec::new(),
                    }
                })
                .collect();
            if own.is_empty() {
                return None;
            }
            own.sort_by_key(|e| e.episode.referral_on);
            let mut held: Vec<NaiveDate> = initial_conferences
                .remove(&child.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, on)| on)
                .collect();
            held.sort_unstable();
            let mut child_enquiries = enquiries.remove(&child.id).unwrap_or_default();
            child_enquiries.sort_by_key(|e| e.start_on);
            let next_starts: Vec<Option<NaiveDate>> = child_enquiries
                .iter()
                .skip(1)
                .map(|n| Some(n.start_on))
                .chain([None])
                .collect();
            for (enquiry, next_start) in child_enquiries.into_iter().zip(next_starts) {
                let initial_cpc_on = (!enquiry.icpc_not_required)
                    .then(|| {
                        held.iter().copied().find(|on| {
                            *on >= enquiry.start_on && next_start.is_none_or(|next| *on < next)
                        })
                    })
                    .flatten()
                    .and_then(|on| year.by_reference(Some(on)));
                let under_way =
                    year.holds(enquiry.start_on) || initial_cpc_on.is_some_and(|on| year.holds(on));
                if !under_way {
                    continue;
                }
                if let Some(episode) =
                    episode_of(&mut own, enquiry.cin_episode_id, enquiry.start_on)
                {
                    episode.enquiries.push(Enquiry {
                        initial_cpc_on,
                        ..enquiry
                    });
                }
            }
            let mut child_plans = plans.remove(&child.id).unwrap_or_default();
            child_plans.sort_by_key(|p| p.start_on);
            for mut plan in child_plans {
                if !year.overlaps(plan.start_on, plan.end_on) {
                    continue;
                }
                plan.end_on = year.by_reference(plan.end_on);
                let start_on = plan.start_on;
                plan.review_dates
                    .retain(|d| year.holds(*d) && *d >= start_on);
                if let Some(episode) = episode_of(&mut own, plan.cin_episode_id, plan.start_on) {
                    episode.plans.push(plan);
                }
            }
            let transfers_in: Vec<NaiveDate> = transfer_in_conferences
                .remove(&child.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(_, on)| on)
                .collect();
            transfer_in_of(year, &mut own, &transfers_in);
            Some(ReturnedChild {
                child,
                episodes: own,
            })
        })
        .collect();
    returned.sort_by(|a, b| a.child.la_child_id.cmp(&b.child.la_child_id));
    returned
}

/// The child as on the reference date. Born by then: the birth date alone,
/// as cases keeps the expected date after the birth and the return carries
/// one or the other (rule 8525). Not yet born (born since, or only
/// expected): the expected date alone, no birth date after the reference
/// date (8520), and the sex of an unborn child, `U` (8750), whatever the
/// birth since has told. A child born since whose expected date cases was
/// never told is returned with neither, for the validation to name.
fn as_born_by_reference(year: Year, child: &mut Child) {
    if year.by_reference(child.birth_on).is_some() {
        child.expected_birth_on = None;
    } else if child.birth_on.is_some() || child.expected_birth_on.is_some() {
        child.birth_on = None;
        child.sex = Some(Sex::Unknown.code().to_owned());
    }
}

/// Gives each of the child's episodes the date of the transfer-in
/// conference (one of `transfers_in`) that one of its plans started at in
/// the year, its `DateOfInitialCPC` at `CINdetails` level: a plan for a
/// child who moved in on another authority's plan follows no section 47
/// enquiry here, and rule 2885 looks for its start there when the episode
/// has no `Section47`. Not where a returned enquiry of the child already
/// carries the date (the same date at both levels is refused, 2884, and
/// the plan finds its start in the enquiry), and not before the year (no
/// plan starting then is checked against it). An episode has one such
/// date: with two transfer-in plans in one year, the first's.
fn transfer_in_of(year: Year, episodes: &mut [ReturnedEpisode], transfers_in: &[NaiveDate]) {
    if transfers_in.is_empty() {
        return;
    }
    let in_enquiries: Vec<NaiveDate> = episodes
        .iter()
        .flat_map(|e| e.enquiries.iter().filter_map(|q| q.initial_cpc_on))
        .collect();
    for returned in episodes {
        returned.episode.initial_cpc_on = returned
            .plans
            .iter()
            .map(|p| p.start_on)
            .filter(|on| year.holds(*on) && transfers_in.contains(on) && !in_enquiries.contains(on))
            .min();
    }
}

/// `items` grouped by the child each concerns, so that each child's are
/// found at once however many children there are.
fn by_child<T>(items: Vec<T>, child_of: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut grouped: HashMap<Uuid, Vec<T>> = HashMap::new();
    for item in items {
        grouped.entry(child_of(&item)).or_default().push(item);
    }
    grouped
}

/// The episode `named`, or where none is named the one open on `on`.
fn episode_of(
    episodes: &mut [ReturnedEpisode],
    named: Option<Uuid>,
    on: NaiveDate,
) -> Option<&mut ReturnedEpisode> {
    match named {
        Some(id) => episodes.iter_mut().find(|e| e.episode.id == id),
        None => episodes
            .iter_mut()
            .rev()
            .find(|e| e.episode.referral_on <= on && e.episode.closure_on.is_none_or(|c| c >= on)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn year_2026() -> Year {
        Year::ending(day(2026, 3, 31)).unwrap_or(Year {
            start: day(2025, 4, 1),
            reference: day(2026, 3, 31),
        })
    }

    fn child(n: u128, la: &str) -> Child {
        Child {
            id: Uuid::from_u128(n),
            la_child_id: la.to_owned(),
            upn: None,
            former_upn: None,
            upn_unknown: Some("UN1".to_owned()),
            birth_on: Some(day(2018, 3, 10)),
            expected_birth_on: None,
            sex: Some("M".to_owned()),
            death_on: None,
            ethnicity: Some("WBRI".to_owned()),
            disabilities: vec!["NONE".to_owned()],
        }
    }

    fn episode(n: u128, child: u128, from: NaiveDate, to: Option<NaiveDate>) -> Episode {
        Episode {
            id: Uuid::from_u128(n),
            child_id: Uuid::from_u128(child),
            referral_on: from,
            referral_source: Some("1A".to_owned()),
            primary_need: Some("N1".to_owned()),
            closure_on: to,
            closure_reason: to.map(|_| "RC7".to_owned()),
            referral_nfa: false,
            initial_cpc_on: None,
        }
    }

    fn enquiry(child: u128, start: NaiveDate) -> Enquiry {
        Enquiry {
            child_id: Uuid::from_u128(child),
            cin_episode_id: None,
            start_on: start,
            icpc_target_on: None,
            initial_cpc_on: None,
            icpc_not_required: false,
        }
    }

    fn plan(
        child: u128,
        start: NaiveDate,
        end: Option<NaiveDate>,
        reviews: Vec<NaiveDate>,
    ) -> Plan {
        Plan {
            child_id: Uuid::from_u128(child),
            cin_episode_id: None,
            start_on: start,
            end_on: end,
            initial_category: Some("NEG".to_owned()),
            latest_category: Some("NEG".to_owned()),
            previous_plans: 0,
            review_dates: reviews,
        }
    }

    #[test]
    fn the_year_runs_from_the_day_after_a_year_before_the_reference_date() {
        assert_eq!(year_2026().start, day(2025, 4, 1));
        // A leap-day reference date: the year before has no 29 February.
        let leap = Year::ending(day(2024, 2, 29));
        assert_eq!(leap.map(|y| y.start), Some(day(2023, 3, 1)));
    }

    #[test]
    fn only_episodes_open_in_the_year_are_returned_as_they_were_on_the_reference_date() {
        let kept = Kept {
            children: vec![child(1, "B2"), child(2, "A1"), child(3, "C3")],
            episodes: vec![
                // Closed the day before the year: not returned.
                episode(10, 1, day(2024, 6, 1), Some(day(2025, 3, 31))),
                // Closed on the first day: returned.
                episode(11, 1, day(2025, 1, 6), Some(day(2025, 4, 1))),
                // Closed after the reference date: open on the return.
                episode(20, 2, day(2026, 3, 1), Some(day(2026, 4, 2))),
                // Referred after the reference date: child 3 not returned.
                episode(30, 3, day(2026, 4, 1), None),
            ],
            ..Kept::default()
        };
        let returned = assemble(year_2026(), kept);
        let ids: Vec<&str> = returned
            .iter()
            .map(|c| c.child.la_child_id.as_str())
            .collect();
        assert_eq!(ids, ["A1", "B2"]);
        assert_eq!(returned[0].episodes[0].episode.closure_on, None);
        assert_eq!(returned[0].episodes[0].episode.closure_reason, None);
        assert_eq!(returned[1].episodes.len(), 1);
        assert_eq!(returned[1].episodes[0].episode.id, Uuid::from_u128(11));
    }

    #[test]
    fn an_enquiry_finds_its_initial_conference_and_a_plan_its_reviews_in_the_year() {
        let kept = Kept {
            children: vec![child(1, "A1")],
            episodes: vec![episode(10, 1, day(2025, 6, 2), None)],
            enquiries: vec![
                enquiry(1, day(2025, 6, 3)),
                Enquiry {
                    icpc_not_required: true,
                    ..enquiry(1, day(2026, 1, 5))
                },
            ],
            initial_conferences: vec![
                (Uuid::from_u128(1), day(2025, 6, 20)),
                // After the second enquiry, which needed none: no one's.
                (Uuid::from_u128(1), day(2026, 1, 20)),
            ],
            plans: vec![plan(
                1,
                day(2025, 6, 20),
                Some(day(2026, 5, 1)),
                vec![day(2025, 9, 19), day(2026, 3, 13), day(2026, 4, 10)],
            )],
            ..Kept::default()
        };
        let returned = assemble(year_2026(), kept);
        let episode = &returned[0].episodes[0];
        let held: Vec<Option<NaiveDate>> =
            episode.enquiries.iter().map(|e| e.initial_cpc_on).collect();
        assert_eq!(held, [Some(day(2025, 6, 20)), None]);
        assert_eq!(episode.plans[0].end_on, None);
        assert_eq!(
            episode.plans[0].review_dates,
            [day(2025, 9, 19), day(2026, 3, 13)]
        );
        // The flags as every DfE rule reads them (`xml::boolean`).
        let header = super::super::xml::Header {
            year: 2026,
            reference_date: day(2026, 3, 31),
            la_number: 383,
            serial_no: 1,
            generated: chrono::DateTime::UNIX_EPOCH,
        };
        let file = super::super::xml::render(&header, &returned);
        let flags: Vec<&str> = file
            .lines()
            .filter_map(|l| l.trim().strip_prefix("<ICPCnotRequired>"))
            .collect();
        assert_eq!(flags, ["0</ICPCnotRequired>", "1</ICPCnotRequired>"]);
        assert!(file.contains("<ReferralNFA>0</ReferralNFA>"), "{file}");
    }

    /// A child on the return with the dates cases holds for `child`, alone
    /// in the year's return.
    fn returned_as(child: Child) -> Child {
        let id = child.id;
        let kept = Kept {
            children: vec![child],
            episodes: vec![episode(10, id.as_u128(), day(2026, 1, 5), None)],
            ..Kept::default()
        };
        let mut returned = assemble(year_2026(), kept);
        assert_eq!(returned.len(), 1);
        returned.remove(0).child
    }

    #[test]
    fn a_child_born_by_the_reference_date_has_the_birth_date_alone() {
        // Cases keeps the expected date after the birth is recorded.
        let born = returned_as(Child {
            birth_on: Some(day(2026, 3, 20)),
            expected_birth_on: Some(day(2026, 4, 2)),
            ..child(1, "A1")
        });
        assert_eq!(born.birth_on, Some(day(2026, 3, 20)));
        assert_eq!(born.expected_birth_on, None);
        assert_eq!(born.sex.as_deref(), Some("M"));
    }

    #[test]
    fn a_child_born_on_the_reference_date_was_born_by_it() {
        let born = returned_as(Child {
            birth_on: Some(day(2026, 3, 31)),
            expected_birth_on: Some(day(2026, 4, 15)),
            ..child(1, "A1")
        });
        assert_eq!(born.birth_on, Some(day(2026, 3, 31)));
        assert_eq!(born.expected_birth_on, None);
        assert_eq!(born.sex.as_deref(), Some("M"));
    }

    #[test]
    fn a_child_born_after_the_reference_date_is_returned_unborn() {
        // Expected on 15 April, born on 10 April: unborn on 31 March.
        let unborn = returned_as(Child {
            birth_on: Some(day(2026, 4, 10)),
            expected_birth_on: Some(day(2026, 4, 15)),
            ..child(1, "A1")
        });
        assert_eq!(unborn.birth_on, None);
        assert_eq!(unborn.expected_birth_on, Some(day(2026, 4, 15)));
        assert_eq!(unborn.sex.as_deref(), Some("U"));
        // Born the day after, the expected date never told: neither date,
        // rather than a birth after the reference date.
        let unborn = returned_as(Child {
            birth_on: Some(day(2026, 4, 1)),
            ..child(1, "A1")
        });
        assert_eq!((unborn.birth_on, unborn.expected_birth_on), (None, None));
        assert_eq!(unborn.sex.as_deref(), Some("U"));
        // Still unborn: as cases has it.
        let unborn = returned_as(Child {
            birth_on: None,
            expected_birth_on: Some(day(2026, 5, 1)),
            sex: Some("U".to_owned()),
            ..child(1, "A1")
        });
        assert_eq!(unborn.expected_birth_on, Some(day(2026, 5, 1)));
        assert_eq!(unborn.sex.as_deref(), Some("U"));
    }

    #[test]
    fn a_plan_started_at_a_transfer_in_conference_gives_its_episode_the_initial_conference() {
        let kept = Kept {
            children: vec![child(1, "A1"), child(2, "B2"), child(3, "C3")],
            episodes: vec![
                episode(10, 1, day(2025, 9, 1), None),
                episode(20, 2, day(2024, 9, 2), None),
                episode(30, 3, day(2025, 5, 1), None),
            ],
            enquiries: vec![enquiry(3, day(2025, 5, 6))],
            // Child 3's initial conference and transfer-in conference are
            // recorded on the same day.
            initial_conferences: vec![(Uuid::from_u128(3), day(2025, 5, 20))],
            transfer_in_conferences: vec![
                (Uuid::from_u128(1), day(2025, 9, 22)),
                // A transfer-in conference that started no plan.
                (Uuid::from_u128(1), day(2026, 2, 2)),
                // Before the year.
                (Uuid::from_u128(2), day(2024, 10, 1)),
                (Uuid::from_u128(3), day(2025, 5, 20)),
            ],
            plans: vec![
                plan(1, day(2025, 9, 22), None, vec![]),
                plan(2, day(2024, 10, 1), None, vec![]),
                plan(3, day(2025, 5, 20), None, vec![]),
            ],
        };
        let returned = assemble(year_2026(), kept);
        let episode_dates: Vec<Option<NaiveDate>> = returned
            .iter()
            .map(|c| c.episodes[0].episode.initial_cpc_on)
            .collect();
        assert_eq!(episode_dates, [Some(day(2025, 9, 22)), None, None]);
        // The enquiry has it (and not the transfer-in conference).
        assert_eq!(
            returned[2].episodes[0].enquiries[0].initial_cpc_on,
            Some(day(2025, 5, 20))
        );
    }

    #[test]
    fn a_transfer_in_conference_is_no_enquirys_initial_conference() {
        // The enquiry's conference is yet to be held when the child's
        // transfer-in conference starts a plan.
        let kept = Kept {
            children: vec![child(1, "A1")],
            episodes: vec![episode(10, 1, day(2025, 9, 1), None)],
            enquiries: vec![enquiry(1, day(2026, 3, 2))],
            transfer_in_conferences: vec![(Uuid::from_u128(1), day(2026, 3, 9))],
            plans: vec![plan(1, day(2026, 3, 9), None, vec![])],
            ..Kept::default()
        };
        let returned = assemble(year_2026(), kept);
        let episode = &returned[0].episodes[0];
        assert_eq!(episode.enquiries[0].initial_cpc_on, None);
        assert_eq!(episode.episode.initial_cpc_on, Some(day(2026, 3, 9)));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0u64..1200).prop_map(|n| day(2024, 1, 1) + Days::new(n))
    }

    proptest! {
        /// Nothing in a return happened after its reference date, and every
        /// returned episode was open on some day of the year.
        #[test]
        fn nothing_after_the_reference_date_is_returned(
            dates in proptest::collection::vec((any_date(), proptest::option::of(any_date())), 1..6),
            reference in any_date(),
        ) {
            let Some(year) = Year::ending(reference) else { return Ok(()) };
            let mut kept = Kept { children: vec![child(1, "A1")], ..Kept::default() };
            for (i, (from, to)) in dates.iter().enumerate() {
                let to = to.filter(|t| t >= from);
                kept.episodes.push(episode(100 + i as u128, 1, *from, to));
                kept.enquiries.push(enquiry(1, *from));
                kept.initial_conferences.push((Uuid::from_u128(1), *from + Days::new(10)));
                kept.transfer_in_conferences.push((Uuid::from_u128(1), *from + Days::new(10 * (i as u64 % 2))));
                kept.plans.push(plan(1, *from, to, vec![*from + Days::new(90)]));
            }
            for returned in assemble(year, kept) {
                let in_enquiries: Vec<NaiveDate> = returned
                    .episodes
                    .iter()
                    .flat_map(|e| e.enquiries.iter().filter_map(|q| q.initial_cpc_on))
                    .collect();
                for e in returned.episodes {
                    // An episode's initial conference started one of its
                    // plans in the year, and is not also an enquiry's.
                    prop_assert!(e.episode.initial_cpc_on.is_none_or(|d| year.holds(d)
                        && e.plans.iter().any(|p| p.start_on == d)
                        && !in_enquiries.contains(&d)));
                    prop_assert!(e.episode.referral_on <= reference);
                    prop_assert!(e.episode.closure_on.is_none_or(|c| c <= reference && c >= year.start));
                    for q in &e.enquiries {
                        prop_assert!(q.start_on <= reference);
                        prop_assert!(q.initial_cpc_on.is_none_or(|d| d <= reference));
                    }
                    for p in &e.plans {
                        prop_assert!(p.start_on <= reference);
                        prop_assert!(p.end_on.is_none_or(|d| d <= reference));
                        prop_assert!(p.review_dates.iter().all(|d| year.holds(*d)));
                    }
                }
            }
        }
    }
}
