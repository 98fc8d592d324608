//! Deadlines for each step of a child's journey, from one authority's profile.
//!
//! DOMAIN.md, statutory timescales and local settings. Working-day deadlines
//! are already working days; calendar deadlines (months, weeks) come with the
//! last working day on or before them, because a deadline on a Sunday must in
//! practice be met by the Friday.

use chrono::{Days, NaiveDate};

use crate::calendar::{WorkingDayCalendar, check_supported, is_supported};
use crate::error::RulesError;
use crate::months::{add_months_clamped, sub_months_clamped};
use crate::profile::{AuthorityProfile, FULL_TERM_WEEKS, PreBirthDeadline};

/// A deadline counted in calendar months or weeks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CalendarDeadline {
    /// The date the rule gives (e.g. 3 months after the ICPC, clamped to the
    /// month's end); may be a weekend or bank holiday.
    pub due: NaiveDate,
    /// The last working day on or before `due`: the practical booking limit.
    pub latest_working_day: NaiveDate,
}

/// Which kind of conference reports are being shared for; decides which
/// local setting applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConferenceKind {
    /// Initial child protection conference.
    Initial,
    /// Pre-birth initial conference (an ICPC for an unborn child).
    PreBirth,
    /// Transfer-in conference (an initial conference in the receiving
    /// authority).
    TransferIn,
    /// Review child protection conference (RCPC).
    Review,
}

/// One authority's timescales: a validated profile and its nation's calendar.
///
/// Building it validates the profile, so every method can trust its settings.
#[derive(Debug, Clone)]
pub struct Timescales {
    profile: AuthorityProfile,
    calendar: &'static WorkingDayCalendar,
}

impl Timescales {
    /// Validates `profile` and binds it to its nation's working-day calendar.
    ///
    /// # Errors
    /// `InvalidProfile` as from [`AuthorityProfile::validate`].
    pub fn new(profile: &AuthorityProfile) -> Result<Self, RulesError> {
        profile.validate()?;
        Ok(Self {
            profile: profile.clone(),
            calendar: WorkingDayCalendar::for_nation(profile.nation),
        })
    }

    /// The profile these timescales were built from.
    #[must_use]
    pub fn profile(&self) -> &AuthorityProfile {
        &self.profile
    }

    /// The working-day calendar in use.
    #[must_use]
    pub fn calendar(&self) -> &'static WorkingDayCalendar {
        self.calendar
    }

    fn calendar_deadline(&self, due: NaiveDate) -> Result<CalendarDeadline, RulesError> {
        Ok(CalendarDeadline {
            due,
            latest_working_day: self.calendar.last_working_day_on_or_before(due)?,
        })
    }

    /// Latest ICPC date: `icpc_working_days` (15) working days after the
    /// strategy discussion at which the s47 enquiry was started. This is the
    /// census `InitialCPCtarget` (N00109).
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn icpc_due(&self, strategy_discussion: NaiveDate) -> Result<NaiveDate, RulesError> {
        self.calendar
            .add_working_days(strategy_discussion, self.profile.icpc_working_days)
    }

    /// Latest transfer-in conference date: `transfer_in_working_days` (15)
    /// working days after written notification of the move.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn transfer_in_conference_due(
        &self,
        notification: NaiveDate,
    ) -> Result<NaiveDate, RulesError> {
        self.calendar
            .add_working_days(notification, self.profile.transfer_in_working_days)
    }

    /// Latest first core group: `first_core_group_working_days` (10) working
    /// days after the ICPC.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn first_core_group_due(&self, icpc: NaiveDate) -> Result<NaiveDate, RulesError> {
        self.calendar
            .add_working_days(icpc, self.profile.first_core_group_working_days)
    }

    /// Latest first review: `first_review_months` (3) months after the ICPC.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn first_review_due(&self, icpc: NaiveDate) -> Result<CalendarDeadline, RulesError> {
        self.calendar_deadline(add_months_clamped(icpc, self.profile.first_review_months)?)
    }

    /// Latest next review: `later_review_months` (6) months after the previous
    /// review.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn next_review_due(
        &self,
        previous_review: NaiveDate,
    ) -> Result<CalendarDeadline, RulesError> {
        self.calendar_deadline(add_months_clamped(
            previous_review,
            self.profile.later_review_months,
        )?)
    }

    /// The day by which reports must be shared: the configured number of
    /// working days strictly before the conference (ICPC setting for initial,
    /// pre-birth and transfer-in conferences, RCPC setting for reviews).
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn reports_due(
        &self,
        conference: NaiveDate,
        kind: ConferenceKind,
    ) -> Result<NaiveDate, RulesError> {
        let days = match kind {
            ConferenceKind::Initial | ConferenceKind::PreBirth | ConferenceKind::TransferIn => {
                self.profile.reports_before_icpc_working_days
            }
            ConferenceKind::Review => self.profile.reports_before_rcpc_working_days,
        };
        self.calendar.sub_working_days(conference, days)
    }

    /// Latest pre-birth ICPC for an expected date of birth: by N weeks
    /// gestation (the due date being 40 weeks, so `40 - N` weeks before it),
    /// or N calendar months before the due date.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn pre_birth_icpc_due(
        &self,
        expected_birth: NaiveDate,
    ) -> Result<CalendarDeadline, RulesError> {
        check_supported(expected_birth)?;
        let due = match self.profile.pre_birth_icpc {
            PreBirthDeadline::WeeksGestation(weeks) => {
                let days = u64::from(FULL_TERM_WEEKS.saturating_sub(weeks)) * 7;
                expected_birth
                    .checked_sub_days(Days::new(days))
                    .filter(|&due| is_supported(due))
                    .ok_or_else(|| RulesError::computed_from(expected_birth))?
            }
            PreBirthDeadline::MonthsBeforeDueDate(months) => {
                sub_months_clamped(expected_birth, months)?
            }
        };
        self.calendar_deadline(due)
    }

    /// Latest review after the birth of a child on a pre-birth plan:
    /// `review_after_birth_working_days` (10) working days after the birth.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn review_after_birth_due(&self, birth: NaiveDate) -> Result<NaiveDate, RulesError> {
        self.calendar
            .add_working_days(birth, self.profile.review_after_birth_working_days)
    }

    /// Latest next core group: `core_group_interval_weeks` (6) weeks after the
    /// previous one.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn next_core_group_due(
        &self,
        previous_core_group: NaiveDate,
    ) -> Result<CalendarDeadline, RulesError> {
        check_supported(previous_core_group)?;
        let days = u64::from(self.profile.core_group_interval_weeks) * 7;
        let due = previous_core_group
            .checked_add_days(Days::new(days))
            .filter(|&due| is_supported(due))
            .ok_or_else(|| RulesError::computed_from(previous_core_group))?;
        self.calendar_deadline(due)
    }

    /// Latest reconvened conference after an inquorate one:
    /// `reconvene_inquorate_working_days` (10) working days after it
    /// (DOMAIN.md, quorum; Swindon procedures).
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn reconvene_due(&self, inquorate_conference: NaiveDate) -> Result<NaiveDate, RulesError> {
        self.calendar.add_working_days(
            inquorate_conference,
            self.profile.reconvene_inquorate_working_days,
        )
    }

    /// The plan-duration reviews (default at 12, 15, 18 and 21 months after
    /// the plan started), in order; long plans are looked at again in case of
    /// drift.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn plan_duration_reviews(
        &self,
        plan_start: NaiveDate,
    ) -> Result<Vec<CalendarDeadline>, RulesError> {
        self.profile
            .plan_duration_review_months
            .iter()
            .map(|&months| self.calendar_deadline(add_months_clamped(plan_start, months)?))
            .collect()
    }

    /// ICPC timeliness as DfE measures it: working days after
    /// `S47ActualStartDate` up to and including `DateOfInitialCPC`
    /// (DOMAIN.md). Negative if the ICPC date precedes the s47 start, which
    /// the census would reject; the caller decides how to report that.
    ///
    /// # Errors
    /// `OutOfRange` outside 2000–2100.
    pub fn icpc_timeliness_working_days(
        &self,
        s47_start: NaiveDate,
        icpc: NaiveDate,
    ) -> Result<i32, RulesError> {
        self.calendar.working_days_between(s47_start, icpc)
    }
}

#[cfg(test)]
mod tests;
