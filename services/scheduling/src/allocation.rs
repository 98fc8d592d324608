//! Choosing a chair for a booked conference: who *may* chair it at that
//! time (active, working, not on leave, not already booked, within their
//! day, week and caseload limits, not conflicted on the case), and of those,
//! who *should*: the chair of the children's previous conference where
//! possible (continuity), else the lightest caseload, then the lightest
//! week.
//!
//! Pure: the caller loads the chairs and their workload, and records the
//! booking it makes ([`Workload::book`]) before allocating the next
//! conference, so one pass can allocate a whole diary without
//! double-booking anyone.

use std::collections::HashMap;

use chrono::{Datelike as _, NaiveDate, Weekday};
use cpc_rules::WorkingDayCalendar;
use uuid::Uuid;

/// A period a chair normally works on a weekday, in minutes after local
/// midnight (`start` < `end` ≤ 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkingPeriod {
    pub weekday: Weekday,
    pub start: u16,
    pub end: u16,
}

/// Days away, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leave {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// A case, or some of its children, a chair may not chair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub case_id: Uuid,
    /// Empty: the whole case.
    pub child_ids: Vec<Uuid>,
}

/// A chair as allocation sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chair {
    pub id: Uuid,
    pub active: bool,
    pub pattern: Vec<WorkingPeriod>,
    pub max_per_day: u32,
    pub max_per_week: u32,
    /// Children on plans the chair may oversee.
    pub max_children: u32,
    pub leave: Vec<Leave>,
    pub conflicts: Vec<Conflict>,
}

/// A booked time, in minutes after local midnight on `date`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub date: NaiveDate,
    pub start: u16,
    pub end: u16,
}

impl Slot {
    fn overlaps(&self, other: &Slot) -> bool {
        self.date == other.date && self.start < other.end && other.start < self.end
    }
}

/// The conference to find a chair for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub slot: Slot,
    pub case_id: Uuid,
    pub child_ids: Vec<Uuid>,
    /// Chairs of the children's previous conferences, most recent first.
    pub previous_chairs: Vec<Uuid>,
}

/// Each chair's bookings and caseload.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    bookings: HashMap<Uuid, Vec<Slot>>,
    caseload: HashMap<Uuid, u32>,
}

impl Workload {
    /// Records a booking of `chair` (an allocation just made, or one loaded).
    pub fn book(&mut self, chair: Uuid, slot: Slot) {
        self.bookings.entry(chair).or_default().push(slot);
    }

    /// Sets the number of children on plans `chair` oversees.
    pub fn set_caseload(&mut self, chair: Uuid, children: u32) {
        self.caseload.insert(chair, children);
    }

    /// Adds children to `chair`'s caseload (a first conference for them).
    pub fn add_children(&mut self, chair: Uuid, children: u32) {
        *self.caseload.entry(chair).or_default() += children;
    }

    pub fn caseload(&self, chair: Uuid) -> u32 {
        self.caseload.get(&chair).copied().unwrap_or(0)
    }

    fn bookings(&self, chair: Uuid) -> &[Slot] {
        self.bookings.get(&chair).map_or(&[], Vec::as_slice)
    }

    fn on_day(&self, chair: Uuid, date: NaiveDate) -> u32 {
        count(self.bookings(chair).iter().filter(|s| s.date == date))
    }

    fn in_week(&self, chair: Uuid, date: NaiveDate) -> u32 {
        let week = date.iso_week();
        count(
            self.bookings(chair)
                .iter()
                .filter(|s| s.date.iso_week() == week),
        )
    }

    fn clashes(&self, chair: Uuid, slot: &Slot) -> bool {
        self.bookings(chair).iter().any(|s| s.overlaps(slot))
    }
}

fn count<T>(items: impl Iterator<Item = T>) -> u32 {
    u32::try_from(items.count()).unwrap_or(u32::MAX)
}

/// Why a chair may not be allocated (`cpc.scheduling.v1.IneligibilityReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ineligible {
    Inactive,
    OnLeave,
    NotWorking,
    DoubleBooked,
    DayFull,
    WeekFull,
    CaseloadFull,
    Conflict,
}

/// One chair considered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub chair_id: Uuid,
    /// Empty when eligible.
    pub ineligible: Vec<Ineligible>,
    pub caseload: u32,
    pub chaired_before: bool,
    /// 1 = chosen; 0 when ineligible.
    pub rank: u32,
}

/// The outcome: the chosen chair, if any could be, and every chair with
/// why it was or was not chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub chosen: Option<Uuid>,
    pub candidates: Vec<Candidate>,
}

/// Finds the best eligible chair for `request`.
pub fn allocate(
    request: &Request,
    chairs: &[Chair],
    workload: &Workload,
    calendar: &WorkingDayCalendar,
) -> Allocation {
    // A date outside the calendar's range is no working day.
    let working_day = calendar.is_working_day(request.slot.date).unwrap_or(false);
    let mut candidates: Vec<Candidate> = chairs
        .iter()
        .map(|chair| assess(chair, request, workload, working_day))
        .collect();
    let mut eligible: Vec<usize> = (0..candidates.len())
        .filter(|&i| candidates[i].ineligible.is_empty())
        .collect();
    eligible.sort_by_key(|&i| {
        let c = &candidates[i];
        (
            !c.chaired_before,
            c.caseload,
            workload.in_week(c.chair_id, request.slot.date),
            c.chair_id,
        )
    });
    for (rank, &i) in eligible.iter().enumerate() {
        candidates[i].rank = u32::try_from(rank + 1).unwrap_or(u32::MAX);
    }
    Allocation {
        chosen: eligible.first().map(|&i| candidates[i].chair_id),
        candidates,
    }
}

fn assess(chair: &Chair, request: &Request, workload: &Workload, working_day: bool) -> Candidate {
    let slot = &request.slot;
    let caseload = workload.caseload(chair.id);
    let chaired_before = request.previous_chairs.contains(&chair.id);
    let mut ineligible = Vec::new();
    if !chair.active {
        ineligible.push(Ineligible::Inactive);
    }
    if chair
        .leave
        .iter()
        .any(|l| l.first <= slot.date && slot.date <= l.last)
    {
        ineligible.push(Ineligible::OnLeave);
    }
    let in_pattern = chair
        .pattern
        .iter()
        .any(|p| p.weekday == slot.date.weekday() && p.start <= slot.start && slot.end <= p.end);
    if !working_day || !in_pattern {
        ineligible.push(Ineligible::NotWorking);
    }
    if workload.clashes(chair.id, slot) {
        ineligible.push(Ineligible::DoubleBooked);
    }
    if workload.on_day(chair.id, slot.date) >= chair.max_per_day {
        ineligible.push(Ineligible::DayFull);
    }
    if workload.in_week(chair.id, slot.date) >= chair.max_per_week {
        ineligible.push(Ineligible::WeekFull);
    }
    // Children the chair already oversees do not add to the caseload.
    let new_children = if chaired_before {
        0
    } else {
        count(request.child_ids.iter())
    };
    if caseload.saturating_add(new_children) > chair.max_children {
        ineligible.push(Ineligible::CaseloadFull);
    }
    if chair.conflicts.iter().any(|c| {
        c.case_id == request.case_id
            && (c.child_ids.is_empty()
                || c.child_ids.iter().any(|id| request.child_ids.contains(id)))
    }) {
        ineligible.push(Ineligible::Conflict);
    }
    Candidate {
        chair_id: chair.id,
        ineligible,
        caseload,
        chaired_before,
        rank: 0,
    }
}

#[cfg(test)]
mod tests;
