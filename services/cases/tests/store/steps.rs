//! The steps of a child's journey, each one committed store call.

use cpc_cases::codes::ConferenceKind;
use cpc_cases::domain::journey::{
    NewCinEpisode, NewSection47, NewStrategyDiscussion, Section47Completion,
};
use cpc_cases::domain::outcome::{HeldConference, NewConferenceOutcome};
use cpc_cases::store::{self, Written};
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_proto::common::v1 as common;
use uuid::Uuid;

use crate::common::*;
use crate::run;

pub async fn open_episode(h: &Harness, child_id: &str, y: i32, m: i32, d: i32) -> pb::CinEpisode {
    let ctx = crate::common::ctx();
    let req = pb::OpenCinEpisodeRequest {
        request_id: rid(),
        child_id: child_id.into(),
        referral_date: pd(y, m, d),
        referral_source_code: "6".into(),
        primary_need: pb::PrimaryNeed::N1AbuseOrNeglect as i32,
        referral_nfa: false,
    };
    let new = NewCinEpisode::parse(&req, ctx.today).expect("valid referral");
    run!(h, ctx, |conn| store::episodes::open_cin_episode(
        conn, &ctx, &new
    ))
    .expect("opened")
    .response
    .cin_episode
    .expect("episode")
}

pub async fn strategy(
    h: &Harness,
    case_id: &str,
    child_ids: &[&str],
    y: i32,
    m: i32,
    d: i32,
) -> pb::StrategyDiscussion {
    let ctx = crate::common::ctx();
    let req = pb::RecordStrategyDiscussionRequest {
        request_id: rid(),
        case_id: case_id.into(),
        child_ids: child_ids.iter().map(|c| (*c).to_owned()).collect(),
        discussion_date: pd(y, m, d),
        attendees: vec![social_worker(), police(), health()],
        outcome: pb::StrategyOutcome::StartSection47 as i32,
        rationale: "Concerns about neglect reported by police".into(),
    };
    let new = NewStrategyDiscussion::parse(&req, ctx.today).expect("valid discussion");
    run!(h, ctx, |conn| store::strategy::record_strategy_discussion(
        conn, &ctx, &new
    ))
    .expect("recorded")
    .response
    .strategy_discussion
    .expect("discussion")
}

pub async fn start_s47(
    h: &Harness,
    child_id: &str,
    discussion_id: &str,
    y: i32,
    m: i32,
    d: i32,
) -> Result<Written<pb::StartSection47EnquiryResponse>, ApiError> {
    let ctx = crate::common::ctx();
    let req = pb::StartSection47EnquiryRequest {
        request_id: rid(),
        child_id: child_id.into(),
        strategy_discussion_id: discussion_id.into(),
        start_date: pd(y, m, d),
    };
    let new = NewSection47::parse(&req, ctx.today)?;
    run!(h, ctx, |conn| store::section47::start_section47_enquiry(
        conn, &ctx, &new
    ))
}

pub async fn complete_s47(
    h: &Harness,
    enquiry: &pb::Section47Enquiry,
    y: i32,
    m: i32,
    d: i32,
) -> pb::Section47Enquiry {
    let ctx = crate::common::ctx();
    let req = pb::CompleteSection47EnquiryRequest {
        enquiry_id: enquiry.id.clone(),
        version: enquiry.version,
        completion_date: pd(y, m, d),
        outcome: pb::Section47Outcome::IcpcRequired as i32,
        icpc_not_required_reason: String::new(),
    };
    let completion = Section47Completion::parse(&req, ctx.today).expect("valid completion");
    run!(h, ctx, |conn| store::section47::complete_section47_enquiry(
        conn,
        &ctx,
        &completion
    ))
    .expect("completed")
    .response
    .enquiry
    .expect("enquiry")
}

/// Completes `enquiry` on the given date, concluding no ICPC is needed.
pub async fn complete_s47_no_icpc(
    h: &Harness,
    enquiry: &pb::Section47Enquiry,
    y: i32,
    m: i32,
    d: i32,
) -> Result<Written<pb::CompleteSection47EnquiryResponse>, ApiError> {
    let ctx = crate::common::ctx();
    let req = pb::CompleteSection47EnquiryRequest {
        enquiry_id: enquiry.id.clone(),
        version: enquiry.version,
        completion_date: pd(y, m, d),
        outcome: pb::Section47Outcome::IcpcNotRequired as i32,
        icpc_not_required_reason: "Concerns not substantiated; family support offered".into(),
    };
    let completion = Section47Completion::parse(&req, ctx.today)?;
    run!(h, ctx, |conn| store::section47::complete_section47_enquiry(
        conn,
        &ctx,
        &completion
    ))
}

/// Registers an unborn child (new case) expected on `expected`.
pub async fn register_unborn(
    h: &Harness,
    la_child_id: &str,
    expected: Option<common::Date>,
) -> pb::Child {
    let ctx = crate::common::ctx();
    let mut msg = child_msg(None, la_child_id);
    msg.birth_date = None;
    msg.expected_birth_date = expected;
    msg.sex = pb::Sex::Unknown as i32;
    let req = pb::CreateChildRequest {
        request_id: rid(),
        child: Some(msg),
    };
    let (key, child) = cpc_cases::domain::child::ChildDetails::parse_request(&req, ctx.today)
        .expect("valid unborn child");
    run!(h, ctx, |conn| store::children::create_child(
        conn, &ctx, &key, &child
    ))
    .expect("created")
    .response
    .child
    .expect("child")
}

/// Records that `child_id`, on Bristol's plan (physical abuse, from
/// 2025-01-14), moved in, notified on `notified`.
pub async fn record_transfer_in(
    h: &Harness,
    child_id: &str,
    notified: Option<common::Date>,
) -> Result<Written<pb::RecordTransferInResponse>, ApiError> {
    let ctx = crate::common::ctx();
    let new = cpc_cases::domain::plan::NewTransferIn::parse(
        &pb::RecordTransferInRequest {
            request_id: rid(),
            transfer_in: Some(pb::TransferIn {
                child_id: child_id.to_owned(),
                sending_authority_name: "Bristol".into(),
                sending_authority_code: "801".into(),
                notification_date: notified,
                previous_plan_start_date: pd(2025, 1, 14),
                previous_category: common::CategoryOfHarm::Physical as i32,
                ..Default::default()
            }),
        },
        ctx.today,
    )?;
    run!(h, ctx, |conn| store::transfers::record_transfer_in(
        conn, &ctx, &new
    ))
}

/// Referral, strategy discussion and a completed s47 enquiry for `child`:
/// ready for an ICPC on or after 2025-06-20.
pub async fn prepare_icpc(h: &Harness, child: &pb::Child) -> pb::Section47Enquiry {
    open_episode(h, &child.id, 2025, 6, 2).await;
    let discussion = strategy(h, &child.case_id, &[&child.id], 2025, 6, 4).await;
    let enquiry = start_s47(h, &child.id, &discussion.id, 2025, 6, 4)
        .await
        .expect("started")
        .response
        .enquiry
        .expect("enquiry");
    complete_s47(h, &enquiry, 2025, 6, 20).await
}

pub fn conference(
    kind: ConferenceKind,
    y: i32,
    m: u32,
    d: u32,
    child_ids: &[&str],
) -> HeldConference {
    HeldConference {
        id: Uuid::new_v4(),
        kind,
        date: date(y, m, d),
        chair: chair(),
        child_ids: child_ids.iter().map(|c| uuid(c)).collect(),
    }
}

pub fn view(
    who: common::PersonRef,
    scale: i32,
    plan: bool,
    category: common::CategoryOfHarm,
) -> pb::ProfessionalView {
    pb::ProfessionalView {
        professional: Some(who),
        safety_scale: scale,
        recommendation: if plan {
            pb::Recommendation::Plan
        } else {
            pb::Recommendation::NoPlan
        } as i32,
        recommended_category: if plan { category as i32 } else { 0 },
        comment: String::new(),
    }
}

/// An ICPC outcome where the views are split 2–2 and the chair decides on a
/// plan under neglect, with outline actions, an exclusion and the child's
/// submitted views.
pub fn split_icpc(conf: &HeldConference, child_id: &str) -> pb::RecordConferenceOutcomeRequest {
    let neglect = common::CategoryOfHarm::Neglect;
    pb::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(pb::ConferenceOutcome {
            conference_id: conf.id.to_string(),
            child_id: child_id.into(),
            professional_views: vec![
                view(social_worker(), 3, true, neglect),
                view(police(), 4, true, neglect),
                view(health(), 6, false, neglect),
                view(school(), 7, false, neglect),
            ],
            decision: pb::ConferenceDecision::StartPlan as i32,
            decided_by_chair: true,
            chair_rationale: "Views split; the neglect concerns are sustained and unresolved"
                .into(),
            initial_category: neglect as i32,
            latest_category: neglect as i32,
            lead_social_worker: Some(social_worker()),
            lead_statutory_body: pb::LeadStatutoryBody::LocalAuthority as i32,
            core_group_members: vec![social_worker(), police(), health()],
            exclusions: vec![pb::Exclusion {
                person: Some(common::PersonRef {
                    person_id: Uuid::from_u128(0xfa7e).to_string(),
                    display_name: "Father".into(),
                    ..Default::default()
                }),
                scopes: vec![
                    pb::ExclusionScope::Attendance as i32,
                    pb::ExclusionScope::Minutes as i32,
                ],
                excluded_parts: String::new(),
                reason: "Risk of intimidation of the mother".into(),
                decided_by: Some(chair().to_proto()),
                decision_date: pd(2025, 6, 23),
            }],
            childs_voice: Some(pb::ChildVoiceContribution {
                views_submitted: true,
                methods: vec![pb::ViewsMethod::App as i32],
                summary: "I want mum to be ok".into(),
                ..Default::default()
            }),
            danger_statements: vec!["The children may go hungry and be left alone".into()],
            safety_goals: vec!["The children are fed and supervised every day".into()],
            contingency_plan: "If the home conditions do not improve, legal planning meeting"
                .into(),
            bottom_lines: vec!["The children are never left alone overnight".into()],
            outline_actions: vec![
                pb::OutlineAction {
                    description: "Weekly home visits".into(),
                    owner: Some(social_worker()),
                    due_date: pd(2025, 7, 31),
                },
                pb::OutlineAction {
                    description: "Health check for both children".into(),
                    owner: Some(health()),
                    due_date: pd(2025, 7, 15),
                },
            ],
            next_review_date: pd(2025, 9, 16),
            first_core_group_date: pd(2025, 7, 3),
            ..Default::default()
        }),
    }
}

/// A review outcome where every professional agrees: continue under
/// `category`, or end the plan.
pub fn unanimous_review(
    conf: &HeldConference,
    child_id: &str,
    continue_plan: bool,
    category: common::CategoryOfHarm,
) -> pb::RecordConferenceOutcomeRequest {
    pb::RecordConferenceOutcomeRequest {
        request_id: rid(),
        outcome: Some(pb::ConferenceOutcome {
            conference_id: conf.id.to_string(),
            child_id: child_id.into(),
            professional_views: vec![
                view(social_worker(), 4, continue_plan, category),
                view(police(), 5, continue_plan, category),
                view(health(), 5, continue_plan, category),
            ],
            decision: if continue_plan {
                pb::ConferenceDecision::ContinuePlan
            } else {
                pb::ConferenceDecision::EndPlan
            } as i32,
            latest_category: if continue_plan { category as i32 } else { 0 },
            lead_social_worker: continue_plan.then(social_worker),
            lead_statutory_body: if continue_plan {
                pb::LeadStatutoryBody::LocalAuthority as i32
            } else {
                0
            },
            core_group_members: if continue_plan {
                vec![social_worker(), health()]
            } else {
                vec![]
            },
            contingency_plan: if continue_plan {
                "Legal planning meeting if progress stalls".into()
            } else {
                String::new()
            },
            childs_voice: Some(pb::ChildVoiceContribution {
                attended: true,
                attended_part_only: true,
                methods: vec![pb::ViewsMethod::InPerson as i32],
                ..Default::default()
            }),
            ..Default::default()
        }),
    }
}

pub async fn record(
    h: &Harness,
    conf: &HeldConference,
    req: &pb::RecordConferenceOutcomeRequest,
) -> Result<Written<pb::RecordConferenceOutcomeResponse>, ApiError> {
    let ctx = crate::common::ctx();
    let new = NewConferenceOutcome::parse(req, conf, &ctx.timescales)?;
    run!(h, ctx, |conn| store::outcomes::record_conference_outcome(
        conn, &ctx, &new
    ))
}

/// A child with a plan started at an ICPC on 2025-06-24; returns the child
/// and the plan.
pub async fn child_on_plan(h: &Harness, la_child_id: &str) -> (pb::Child, pb::ChildProtectionPlan) {
    let child = register(h, None, la_child_id, "Jamie").await;
    prepare_icpc(h, &child).await;
    let conf = conference(ConferenceKind::Initial, 2025, 6, 24, &[&child.id]);
    let written = record(h, &conf, &split_icpc(&conf, &child.id))
        .await
        .expect("icpc recorded");
    (child, written.response.plan.expect("plan started"))
}
