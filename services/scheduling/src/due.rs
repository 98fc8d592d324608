//! What the cases change feed means for the diary: which conference or
//! core group each child now needs, by when, and why (the basis is kept so
//! the date can be explained and recomputed).
//!
//! Pure: one event in, its consequences out. The feed consumer applies
//! them (creating a conference, adding a sibling to one, recomputing a due
//! date, cancelling what a plan's end makes moot); events that change
//! nothing for scheduling give nothing.

use chrono::NaiveDate;
use cpc_proto::cases::v1 as cases;
use cpc_proto::common::v1 as common;
use cpc_rules::Nation;
use cpc_rules::timescales::Timescales;
use serde::{Deserialize, Serialize};

/// The event a due date counts from (`cpc.scheduling.v1.DueDateEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueEvent {
    StrategyDiscussion,
    TransferNotification,
    InitialConference,
    ReviewConference,
    /// A conference that met inquorate (the reconvened one counts from it).
    InquorateConference,
    /// The previous core group meeting (held, or missed on its due date).
    CoreGroupMeeting,
    /// An unborn child's expected date of birth (pre-birth conference).
    ExpectedBirth,
    /// The child's birth (post-birth review of a pre-birth plan).
    Birth,
    /// Set by a person (a conference created by hand); the explanation
    /// says why.
    Manual,
}

/// How a due date is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// The Nth working day strictly after the event.
    WorkingDays,
    /// N calendar months on (clamped to the month's end), then the last
    /// working day on or before.
    CalendarMonths,
    /// N weeks on, then the last working day on or before.
    Weeks,
    /// By N weeks of gestation (the expected date of birth being 40), then
    /// the last working day on or before.
    WeeksOfGestation,
    /// N calendar months before the expected date of birth, then the last
    /// working day on or before.
    MonthsBefore,
}

/// Why a due date is what it is (stored with the due date as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basis {
    pub event: DueEvent,
    pub event_date: NaiveDate,
    /// The record holding the event (strategy discussion, transfer-in,
    /// plan).
    pub source_id: String,
    pub amount: u32,
    pub unit: Unit,
    /// Whose bank holidays the working days skip.
    pub nation: Nation,
    /// Plain English, e.g. "15 working days after the strategy discussion
    /// on 2026-11-04".
    pub explanation: String,
}

/// What a child now needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// A conference of `kind` by `due` (a working day).
    Conference {
        kind: common::ConferenceKind,
        /// The family case, when the event names it; plan events name only
        /// the child, whose case the consumer knows from `ChildRegistered`.
        case_id: Option<String>,
        child_id: String,
        due: NaiveDate,
        basis: Basis,
    },
    /// The plan's next core group meeting by `due`.
    CoreGroup {
        plan_id: String,
        child_id: String,
        due: NaiveDate,
        basis: Basis,
    },
    /// The child's plan ended: future reviews and core groups are moot.
    NothingFurther {
        child_id: String,
        /// The plan that ended (it leaves the core group meetings it
        /// shared with a sibling's plan).
        plan_id: String,
    },
    /// The child was born on `basis.event_date`: if they are then on a
    /// plan in force that a pre-birth conference started, a review
    /// conference (`ConferenceKind::PostBirthReview`) by `due` (DOMAIN.md:
    /// "review after a pre-birth plan's birth", 10 working days by
    /// default). The event does not say which plan the child is on: the
    /// consumer decides from the plans it has followed
    /// ([`crate::store::needs::learn_plan`]); a child on no pre-birth plan
    /// needs nothing.
    ///
    /// The plan's next ordinary review, already due, is kept as it is: the
    /// post-birth review is added beside it, not in place of it. Neither
    /// DOMAIN.md nor the local procedures it cites say the birth moves or
    /// replaces the ordinary review. Once the post-birth review is held and
    /// continues the plan, cases counts it among the plan's reviews, and
    /// that `PlanUpdated` recomputes the ordinary review to 6 months after
    /// it (as after any review).
    ///
    /// When the birth date was `corrected` (`ChildUpdated`), only a
    /// post-birth review still to be held is recounted from it; none is
    /// made due.
    PostBirthReview {
        case_id: String,
        child_id: String,
        due: NaiveDate,
        corrected: bool,
        /// Counted from the birth; `source_id` is the child (whose record
        /// holds the birth date).
        basis: Basis,
    },
    /// The section 47 enquiry started at `source_id` (the strategy
    /// discussion) concluded that no initial conference is needed for the
    /// child: the initial (or pre-birth) conference it made due is moot.
    IcpcNotRequired { child_id: String, source_id: String },
    /// The child died (`ChildDied`): nothing is held for them any more.
    /// They leave every conference still to be held, whatever its kind
    /// (an enquiry's, a transfer-in's or a reconvened one, not only their
    /// plan's reviews), and every core group meeting not yet held; those
    /// they were the last child of are cancelled. Cases ends an open plan
    /// with a `PlanEnded` after this event, which then finds nothing left.
    Died { child_id: String },
    /// An unborn child's expected date of birth was revised (`ChildUpdated`
    /// naming `expected_birth_date`): the pre-birth conference still to be
    /// held for them is due by the later of the gestation deadline from the
    /// new date and the deadline after the strategy discussion it was
    /// counted from ([`pre_birth`]). The event does not say when that
    /// discussion was: the consumer finds it and makes this a
    /// [`Need::PreBirthRecount`] ([`pre_birth_recount`]). Left as it is (a
    /// child with no pre-birth conference still to be held), it needs
    /// nothing: a revised date makes no conference due.
    ExpectedBirthRevised {
        child_id: String,
        expected_birth: NaiveDate,
    },
    /// The child's pre-birth conference still to be held is now due by
    /// `due`, with `basis` ([`Need::ExpectedBirthRevised`] resolved).
    PreBirthRecount {
        child_id: String,
        due: NaiveDate,
        basis: Basis,
    },
}

/// Why an event could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DueError {
    #[error("{event_type} payload does not decode: {source}")]
    Payload {
        event_type: String,
        #[source]
        source: prost::DecodeError,
    },
    #[error("{event_type} lacks {field}")]
    Missing {
        event_type: String,
        field: &'static str,
    },
    #[error(transparent)]
    Rules(#[from] cpc_rules::RulesError),
}

/// The needs `event` creates under `timescales` (the event's authority's).
///
/// # Errors
/// A payload that does not decode or lacks what the rule needs; a date
/// outside the calendar.
pub fn needs(event: &common::ChangeEvent, timescales: &Timescales) -> Result<Vec<Need>, DueError> {
    let profile = timescales.profile();
    let kind = event.event_type.as_str();
    let missing = |field| DueError::Missing {
        event_type: kind.to_owned(),
        field,
    };
    match kind {
        "cpc.cases.v1.Section47Started" => {
            let started: cases::Section47Started = decode(event)?;
            let enquiry = started.enquiry.ok_or_else(|| missing("enquiry"))?;
            let held = date(started.strategy_discussion_date.as_ref())
                .ok_or_else(|| missing("strategy_discussion_date"))?;
            Ok(vec![initial_conference(
                Some(started.case_id),
                enquiry.child_id,
                enquiry.strategy_discussion_id,
                held,
                timescales,
            )?])
        }
        "cpc.cases.v1.Section47Completed" => {
            let completed: cases::Section47Completed = decode(event)?;
            let enquiry = completed.enquiry.ok_or_else(|| missing("enquiry"))?;
            // An enquiry that found an ICPC needed leaves its conference due.
            if enquiry.outcome != cases::Section47Outcome::IcpcNotRequired as i32 {
                return Ok(Vec::new());
            }
            Ok(vec![Need::IcpcNotRequired {
                child_id: enquiry.child_id,
                source_id: enquiry.strategy_discussion_id,
            }])
        }
        "cpc.cases.v1.TransferInRecorded" => {
            let recorded: cases::TransferInRecorded = decode(event)?;
            let transfer = recorded.transfer_in.ok_or_else(|| missing("transfer_in"))?;
            let notified = date(transfer.notification_date.as_ref())
                .ok_or_else(|| missing("notification_date"))?;
            Ok(vec![Need::Conference {
                kind: common::ConferenceKind::TransferIn,
                case_id: Some(recorded.case_id),
                child_id: transfer.child_id,
                due: timescales.transfer_in_conference_due(notified)?,
                basis: Basis {
                    event: DueEvent::TransferNotification,
                    event_date: notified,
                    source_id: transfer.id,
                    amount: profile.transfer_in_working_days,
                    unit: Unit::WorkingDays,
                    nation: profile.nation,
                    explanation: format!(
                        "{} working days after notification of the transfer on {notified}",
                        profile.transfer_in_working_days
                    ),
                },
            }])
        }
        "cpc.cases.v1.PlanStarted" => {
            let started: cases::PlanStarted = decode(event)?;
            let plan = started.plan.ok_or_else(|| missing("plan"))?;
            let icpc = date(plan.start_date.as_ref()).ok_or_else(|| missing("plan.start_date"))?;
            let review = timescales.first_review_due(icpc)?;
            Ok(vec![
                Need::CoreGroup {
                    plan_id: plan.id.clone(),
                    child_id: plan.child_id.clone(),
                    due: timescales.first_core_group_due(icpc)?,
                    basis: Basis {
                        event: DueEvent::InitialConference,
                        event_date: icpc,
                        source_id: plan.id.clone(),
                        amount: profile.first_core_group_working_days,
                        unit: Unit::WorkingDays,
                        nation: profile.nation,
                        explanation: format!(
                            "{} working days after the conference on {icpc} that started the plan",
                            profile.first_core_group_working_days
                        ),
                    },
                },
                Need::Conference {
                    kind: common::ConferenceKind::Review,
                    case_id: None,
                    child_id: plan.child_id,
                    due: review.latest_working_day,
                    basis: Basis {
                        event: DueEvent::InitialConference,
                        event_date: icpc,
                        source_id: plan.id,
                        amount: profile.first_review_months,
                        unit: Unit::CalendarMonths,
                        nation: profile.nation,
                        explanation: format!(
                            "{} months after the conference on {icpc} that started the plan (the last working day on or before {})",
                            profile.first_review_months, review.due
                        ),
                    },
                },
            ])
        }
        "cpc.cases.v1.PlanUpdated" => {
            let updated: cases::PlanUpdated = decode(event)?;
            if !updated.changed_fields.iter().any(|f| f == "review_dates") {
                return Ok(Vec::new());
            }
            let plan = updated.plan.ok_or_else(|| missing("plan"))?;
            let last = plan
                .review_dates
                .iter()
                .filter_map(|d| date(Some(d)))
                .max()
                .ok_or_else(|| missing("plan.review_dates"))?;
            let next = timescales.next_review_due(last)?;
            Ok(vec![Need::Conference {
                kind: common::ConferenceKind::Review,
                case_id: None,
                child_id: plan.child_id,
                due: next.latest_working_day,
                basis: Basis {
                    event: DueEvent::ReviewConference,
                    event_date: last,
                    source_id: plan.id,
                    amount: profile.later_review_months,
                    unit: Unit::CalendarMonths,
                    nation: profile.nation,
                    explanation: format!(
                        "{} months after the review on {last} (the last working day on or before {})",
                        profile.later_review_months, next.due
                    ),
                },
            }])
        }
        "cpc.cases.v1.ChildBorn" => {
            // Sent once, when an unborn child's birth date is first set.
            let born: cases::ChildBorn = decode(event)?;
            let child = born.child.ok_or_else(|| missing("child"))?;
            let birth =
                date(child.birth_date.as_ref()).ok_or_else(|| missing("child.birth_date"))?;
            Ok(vec![post_birth_review(
                child.case_id,
                child.id,
                birth,
                false,
                timescales,
            )?])
        }
        "cpc.cases.v1.ChildUpdated" => {
            // A corrected birth date moves the post-birth review counted
            // from it, while that review is still to be held. (The first
            // birth date is also a change of `birth_date`; `ChildBorn`,
            // which follows it, makes the review due.) A revised expected
            // date of birth, while the child is unborn, moves the pre-birth
            // conference counted from it in the same way.
            let updated: cases::ChildUpdated = decode(event)?;
            let changed = |field: &str| updated.changed_fields.iter().any(|f| f == field);
            let (birth_changed, expected_changed) =
                (changed("birth_date"), changed("expected_birth_date"));
            if !birth_changed && !expected_changed {
                return Ok(Vec::new());
            }
            let child = updated.child.ok_or_else(|| missing("child"))?;
            match (
                date(child.birth_date.as_ref()),
                date(child.expected_birth_date.as_ref()),
            ) {
                (Some(birth), _) if birth_changed => Ok(vec![post_birth_review(
                    child.case_id,
                    child.id,
                    birth,
                    true,
                    timescales,
                )?]),
                (None, Some(expected_birth)) if expected_changed => {
                    Ok(vec![Need::ExpectedBirthRevised {
                        child_id: child.id,
                        expected_birth,
                    }])
                }
                _ => Ok(Vec::new()),
            }
        }
        "cpc.cases.v1.ChildDied" => {
            let died: cases::ChildDied = decode(event)?;
            let child = died.child.ok_or_else(|| missing("child"))?;
            Ok(vec![Need::Died { child_id: child.id }])
        }
        "cpc.cases.v1.PlanEnded" => {
            let ended: cases::PlanEnded = decode(event)?;
            let plan = ended.plan.ok_or_else(|| missing("plan"))?;
            Ok(vec![Need::NothingFurther {
                child_id: plan.child_id,
                plan_id: plan.id,
            }])
        }
        _ => Ok(Vec::new()),
    }
}

/// The initial conference `child_id` needs after the strategy discussion
/// `discussion_id` held on `held` started a section 47 enquiry.
fn initial_conference(
    case_id: Option<String>,
    child_id: String,
    discussion_id: String,
    held: NaiveDate,
    timescales: &Timescales,
) -> Result<Need, DueError> {
    let profile = timescales.profile();
    Ok(Need::Conference {
        kind: common::ConferenceKind::Initial,
        case_id,
        child_id,
        due: timescales.icpc_due(held)?,
        basis: Basis {
            event: DueEvent::StrategyDiscussion,
            event_date: held,
            source_id: discussion_id,
            amount: profile.icpc_working_days,
            unit: Unit::WorkingDays,
            nation: profile.nation,
            explanation: format!(
                "{} working days after the strategy discussion on {held}",
                profile.icpc_working_days
            ),
        },
    })
}

/// The review due `review_after_birth_working_days` after `birth` of the
/// child `child_id` of case `case_id`, if they are on a pre-birth plan
/// ([`Need::PostBirthReview`]): from `ChildBorn`, a corrected birth date,
/// or a pre-birth plan that started after the birth (its conference held
/// before the birth, its outcome recorded after).
///
/// # Errors
/// A date outside the calendar.
pub fn post_birth_review(
    case_id: String,
    child_id: String,
    birth: NaiveDate,
    corrected: bool,
    timescales: &Timescales,
) -> Result<Need, DueError> {
    let profile = timescales.profile();
    let days = profile.review_after_birth_working_days;
    Ok(Need::PostBirthReview {
        case_id,
        child_id: child_id.clone(),
        due: timescales.review_after_birth_due(birth)?,
        corrected,
        basis: Basis {
            event: DueEvent::Birth,
            event_date: birth,
            source_id: child_id,
            amount: days,
            unit: Unit::WorkingDays,
            nation: profile.nation,
            explanation: format!(
                "{days} working days after the birth on {birth} of a child on a pre-birth plan"
            ),
        },
    })
}

fn decode<M: prost::Message + Default>(event: &common::ChangeEvent) -> Result<M, DueError> {
    M::decode(event.payload.as_slice()).map_err(|source| DueError::Payload {
        event_type: event.event_type.clone(),
        source,
    })
}

fn date(date: Option<&common::Date>) -> Option<NaiveDate> {
    let d = date?;
    NaiveDate::from_ymd_opt(
        d.year,
        u32::try_from(d.month).ok()?,
        u32::try_from(d.day).ok()?,
    )
}

#[cfg(test)]
mod tests;

/// What an s47 enquiry about an unborn child needs: a pre-birth conference
/// by the authority's gestation deadline, or, when the enquiry started too
/// late for that, 15 working days after the strategy discussion (the later
/// of the two). `need` is the initial conference [`needs`] gave.
///
/// # Errors
/// A date outside the calendar.
pub fn pre_birth(
    need: Need,
    expected_birth: NaiveDate,
    timescales: &Timescales,
) -> Result<Need, DueError> {
    let Need::Conference {
        kind: common::ConferenceKind::Initial,
        case_id,
        child_id,
        due,
        basis,
    } = need
    else {
        return Ok(need);
    };
    let deadline = timescales.pre_birth_icpc_due(expected_birth)?;
    if deadline.latest_working_day <= due {
        return Ok(Need::Conference {
            kind: common::ConferenceKind::PreBirth,
            case_id,
            child_id,
            due,
            basis: Basis {
                explanation: format!(
                    "{}, later than the pre-birth deadline ({})",
                    basis.explanation, deadline.latest_working_day
                ),
                ..basis
            },
        });
    }
    let profile = timescales.profile();
    let (amount, unit, rule) = match profile.pre_birth_icpc {
        cpc_rules::profile::PreBirthDeadline::WeeksGestation(weeks) => (
            weeks,
            Unit::WeeksOfGestation,
            format!("{weeks} weeks of gestation"),
        ),
        cpc_rules::profile::PreBirthDeadline::MonthsBeforeDueDate(months) => (
            months,
            Unit::MonthsBefore,
            format!("{months} months before the expected date of birth"),
        ),
    };
    Ok(Need::Conference {
        kind: common::ConferenceKind::PreBirth,
        case_id,
        child_id,
        due: deadline.latest_working_day,
        basis: Basis {
            event: DueEvent::ExpectedBirth,
            event_date: expected_birth,
            source_id: basis.source_id,
            amount,
            unit,
            nation: profile.nation,
            explanation: format!(
                "by {rule} (expected birth {expected_birth}; the last working day on or before {})",
                deadline.due
            ),
        },
    })
}

/// [`Need::ExpectedBirthRevised`] resolved: the pre-birth conference of
/// `child_id` counted from the strategy discussion `discussion_id`, held
/// on `held`, recounted from the revised `expected_birth` as it was
/// counted when the enquiry started ([`pre_birth`]: the later of the
/// gestation deadline and the initial conference's).
///
/// # Errors
/// A date outside the calendar.
pub fn pre_birth_recount(
    child_id: String,
    expected_birth: NaiveDate,
    discussion_id: String,
    held: NaiveDate,
    timescales: &Timescales,
) -> Result<Need, DueError> {
    let initial = initial_conference(None, child_id, discussion_id, held, timescales)?;
    Ok(match pre_birth(initial, expected_birth, timescales)? {
        Need::Conference {
            child_id,
            due,
            basis,
            ..
        } => Need::PreBirthRecount {
            child_id,
            due,
            basis,
        },
        other => other,
    })
}
