//! A conference's outcome for one child: the professionals' views, the
//! decision resolved by `cpc_rules::decision`, and what the conference
//! agreed for the plan.

use chrono::NaiveDate;
use cpc_platform::ApiError;
use cpc_proto::cases::v1 as pb;
use cpc_rules::RulesError;
use cpc_rules::categories::CategoryOfHarm;
use cpc_rules::decision::{self, Basis, ChairInput, Resolution, SafetyScale};
use cpc_rules::timescales::Timescales;
use uuid::Uuid;

use super::check::{Check, redacted_debug};
use super::common::update_mask;
use super::person::{Agency, PersonRef};
use crate::codes::{
    self, AgencyKind, ConferenceDecision, ConferenceKind, ExclusionScope, LeadStatutoryBody,
    Recommendation, ViewsMethod,
};
use crate::idempotency::{RequestKey, methods};
use cpc_platform::paging::{FilterKey, PageRequest};

/// A conference as scheduling recorded it: held, of a kind, on a date,
/// chaired by someone, about some children. The cases service does not read
/// scheduling's tables; the caller obtains this from the scheduling service
/// (or its change feed) and passes it in.
#[derive(Clone, PartialEq, Eq)]
pub struct HeldConference {
    pub id: Uuid,
    pub kind: ConferenceKind,
    pub date: NaiveDate,
    pub chair: PersonRef,
    pub child_ids: Vec<Uuid>,
}

redacted_debug!(HeldConference);

/// One professional's view.
#[derive(Clone, PartialEq, Eq)]
pub struct View {
    pub professional: PersonRef,
    pub safety_scale: SafetyScale,
    pub recommendation: Recommendation,
    pub recommended_category: Option<CategoryOfHarm>,
    pub comment: Option<String>,
}

/// One exclusion decided by the chair.
#[derive(Clone, PartialEq, Eq)]
pub struct Exclusion {
    pub person: PersonRef,
    pub scopes: Vec<ExclusionScope>,
    pub excluded_parts: Option<String>,
    pub reason: String,
    pub decided_by: Option<PersonRef>,
    pub decision_date: Option<NaiveDate>,
}

/// How the child's voice was heard.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ChildVoice {
    pub attended: bool,
    pub attended_part_only: bool,
    pub advocate: Option<PersonRef>,
    pub views_submitted: bool,
    pub methods: Vec<ViewsMethod>,
    pub summary: Option<String>,
    pub not_participating_reason: Option<String>,
}

/// An action of the outline plan.
#[derive(Clone, PartialEq, Eq)]
pub struct OutlineAction {
    pub description: String,
    pub owner: PersonRef,
    pub due_date: NaiveDate,
}

redacted_debug!(View, Exclusion, ChildVoice, OutlineAction);

/// A conference outcome to record (`RecordConferenceOutcomeRequest`).
#[derive(Clone)]
pub struct NewConferenceOutcome {
    pub key: RequestKey,
    pub conference: HeldConference,
    pub child_id: Uuid,
    pub views: Vec<View>,
    pub decision: ConferenceDecision,
    pub decided_by_chair: bool,
    pub chair_rationale: Option<String>,
    /// Required when the decision starts a plan (then equal to
    /// `latest_category`); for reviews the plan's initial category is used.
    pub initial_category: Option<CategoryOfHarm>,
    pub latest_category: Option<CategoryOfHarm>,
    pub category_decided_by_chair: bool,
    pub category_rationale: Option<String>,
    pub lead_social_worker: Option<PersonRef>,
    pub lead_statutory_body: Option<LeadStatutoryBody>,
    pub core_group: Vec<PersonRef>,
    pub exclusions: Vec<Exclusion>,
    pub childs_voice: Option<ChildVoice>,
    pub danger_statements: Vec<String>,
    pub safety_goals: Vec<String>,
    pub contingency_plan: Option<String>,
    pub bottom_lines: Vec<String>,
    pub outline_actions: Vec<OutlineAction>,
    pub next_review_date: Option<NaiveDate>,
    pub first_core_group_date: Option<NaiveDate>,
}

redacted_debug!(NewConferenceOutcome);

impl ConferenceDecision {
    /// Whether the child is (still) on a plan after this decision.
    #[must_use]
    pub const fn keeps_plan(self) -> bool {
        matches!(self, Self::StartPlan | Self::ContinuePlan)
    }

    /// Whether the decision fits the kind of conference.
    #[must_use]
    pub const fn fits(self, kind: ConferenceKind) -> bool {
        match self {
            Self::StartPlan | Self::NoPlan => kind.may_start_plan(),
            Self::ContinuePlan | Self::EndPlan => kind.may_review_plan(),
        }
    }
}

const O: &str = "outcome";

impl NewConferenceOutcome {
    /// Parses the request against the conference it is recorded for. Dates
    /// agreed for later meetings are checked against `timescales`.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field, including a decision the
    /// professionals' views and the chair's input do not resolve to (the
    /// rules of `cpc_rules::decision::resolve`).
    pub fn parse(
        req: &pb::RecordConferenceOutcomeRequest,
        conference: &HeldConference,
        timescales: &Timescales,
    ) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let key = RequestKey::parse(
            &mut check,
            methods::RECORD_CONFERENCE_OUTCOME,
            &req.request_id,
            req,
        );
        let Some(o) = req.outcome.as_ref() else {
            check.add(O, "is required");
            return Err(check.fail());
        };
        if let Some(id) = check.id("outcome.conference_id", &o.conference_id)
            && id != conference.id
        {
            check.add(
                "outcome.conference_id",
                "is not the conference this outcome is recorded for",
            );
        }
        let child_id = check.id("outcome.child_id", &o.child_id);
        if child_id.is_some_and(|c| !conference.child_ids.contains(&c)) {
            check.add("outcome.child_id", "is not a child of this conference");
        }

        let views = parse_views(&mut check, &o.professional_views);
        let decision = check.required_enum(
            "outcome.decision",
            o.decision,
            ConferenceDecision::from_proto,
        );
        if decision.is_some_and(|d| !d.fits(conference.kind)) {
            check.add(
                "outcome.decision",
                "is not a decision this kind of conference can make",
            );
        }
        let keeps_plan = decision.is_some_and(ConferenceDecision::keeps_plan);
        let starts_plan = decision == Some(ConferenceDecision::StartPlan);

        let chair_rationale = check.opt_text("outcome.chair_rationale", &o.chair_rationale, 4000);
        if o.decided_by_chair && chair_rationale.is_none() {
            check.add(
                "outcome.chair_rationale",
                "is required when the chair decided",
            );
        }
        let initial_category = if starts_plan {
            check.required_enum(
                "outcome.initial_category",
                o.initial_category,
                codes::category_from_proto,
            )
        } else {
            None
        };
        let latest_category = if keeps_plan {
            check.required_enum(
                "outcome.latest_category",
                o.latest_category,
                codes::category_from_proto,
            )
        } else {
            check.opt_enum(
                "outcome.latest_category",
                o.latest_category,
                codes::category_from_proto,
            )
        };
        if let (Some(initial), Some(latest)) = (initial_category, latest_category)
            && initial != latest
        {
            check.add(
                "outcome.initial_category",
                "must equal latest_category when a plan starts",
            );
        }
        let category_rationale =
            check.opt_text("outcome.category_rationale", &o.category_rationale, 2000);
        if o.category_decided_by_chair && category_rationale.is_none() {
            check.add(
                "outcome.category_rationale",
                "is required when the chair decided the category",
            );
        }

        // The decision must be what the rules resolve from the views and
        // the chair's input.
        if let (Some(decision), true) = (
            decision,
            views.len() == o.professional_views.len() && !views.is_empty(),
        ) {
            check_resolution(
                &mut check,
                &views,
                decision,
                o.decided_by_chair,
                chair_rationale.as_deref(),
                latest_category.filter(|_| keeps_plan),
                o.category_decided_by_chair,
                category_rationale.as_deref(),
            );
        }

        let lead_social_worker = if keeps_plan {
            PersonRef::parse(
                &mut check,
                "outcome.lead_social_worker",
                o.lead_social_worker.as_ref(),
                Agency::Required,
            )
        } else {
            PersonRef::parse_opt(
                &mut check,
                "outcome.lead_social_worker",
                o.lead_social_worker.as_ref(),
                Agency::Required,
            )
        };
        let lead_statutory_body = if keeps_plan {
            check.required_enum(
                "outcome.lead_statutory_body",
                o.lead_statutory_body,
                LeadStatutoryBody::from_proto,
            )
        } else {
            check.opt_enum(
                "outcome.lead_statutory_body",
                o.lead_statutory_body,
                LeadStatutoryBody::from_proto,
            )
        };
        let core_group = PersonRef::parse_list(
            &mut check,
            "outcome.core_group_members",
            &o.core_group_members,
            Agency::Optional,
        );
        if keeps_plan {
            check_lead(
                &mut check,
                "outcome",
                lead_social_worker.as_ref(),
                lead_statutory_body,
                &core_group,
            );
        }

        let exclusions = parse_exclusions(&mut check, &o.exclusions);
        let childs_voice = parse_voice(&mut check, o.childs_voice.as_ref());
        let danger_statements =
            check.texts("outcome.danger_statements", &o.danger_statements, 2000);
        let safety_goals = check.texts("outcome.safety_goals", &o.safety_goals, 2000);
        let contingency_plan =
            check.opt_text("outcome.contingency_plan", &o.contingency_plan, 4000);
        if keeps_plan && contingency_plan.is_none() {
            check.add("outcome.contingency_plan", "is required with a plan");
        }
        let bottom_lines = check.texts("outcome.bottom_lines", &o.bottom_lines, 1000);
        let mut outline_actions = Vec::with_capacity(o.outline_actions.len());
        for (i, a) in o.outline_actions.iter().enumerate() {
            let field = format!("outcome.outline_actions[{i}]");
            let description = check.text(&format!("{field}.description"), &a.description, 1, 2000);
            let owner = PersonRef::parse(
                &mut check,
                &format!("{field}.owner"),
                a.owner.as_ref(),
                Agency::Required,
            );
            let due_date = check.required_date(&format!("{field}.due_date"), a.due_date.as_ref());
            check.order(
                Some(conference.date),
                &format!("{field}.due_date"),
                due_date,
                "the conference date",
            );
            if let (Some(owner), Some(due_date)) = (owner, due_date) {
                outline_actions.push(OutlineAction {
                    description,
                    owner,
                    due_date,
                });
            }
        }
        if !keeps_plan && !o.outline_actions.is_empty() {
            check.add(
                "outcome.outline_actions",
                "are agreed only when the child is on a plan",
            );
        }

        let next_review_date = check.date("outcome.next_review_date", o.next_review_date.as_ref());
        let first_core_group_date = check.date(
            "outcome.first_core_group_date",
            o.first_core_group_date.as_ref(),
        );
        check_meeting_dates(
            &mut check,
            conference,
            decision,
            next_review_date,
            first_core_group_date,
            timescales,
        );

        let (Some(key), Some(child_id), Some(decision)) = (key, child_id, decision) else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            key,
            conference: conference.clone(),
            child_id,
            views,
            decision,
            decided_by_chair: o.decided_by_chair,
            chair_rationale,
            initial_category,
            latest_category,
            category_decided_by_chair: o.category_decided_by_chair,
            category_rationale,
            lead_social_worker,
            lead_statutory_body,
            core_group,
            exclusions,
            childs_voice,
            danger_statements,
            safety_goals,
            contingency_plan,
            bottom_lines,
            outline_actions,
            next_review_date,
            first_core_group_date,
        })
    }
}

fn parse_views(check: &mut Check, views: &[pb::ProfessionalView]) -> Vec<View> {
    if views.len() < 2 {
        check.add(
            "outcome.professional_views",
            "at least two professional views are required",
        );
    }
    let mut parsed: Vec<View> = Vec::with_capacity(views.len());
    for (i, v) in views.iter().enumerate() {
        let field = format!("outcome.professional_views[{i}]");
        let professional = PersonRef::parse(
            check,
            &format!("{field}.professional"),
            v.professional.as_ref(),
            Agency::Required,
        );
        let safety_scale = check.check(
            &format!("{field}.safety_scale"),
            SafetyScale::new(i64::from(v.safety_scale)),
        );
        let recommendation = check.required_enum(
            &format!("{field}.recommendation"),
            v.recommendation,
            Recommendation::from_proto,
        );
        let category_field = format!("{field}.recommended_category");
        let recommended_category = if recommendation == Some(Recommendation::Plan) {
            check.required_enum(
                &category_field,
                v.recommended_category,
                codes::category_from_proto,
            )
        } else {
            check.opt_enum(
                &category_field,
                v.recommended_category,
                codes::category_from_proto,
            )
        };
        let comment = check.opt_text(&format!("{field}.comment"), &v.comment, 2000);
        if let (Some(professional), Some(safety_scale), Some(recommendation)) =
            (professional, safety_scale, recommendation)
        {
            if parsed
                .iter()
                .any(|p| p.professional.person_id == professional.person_id)
            {
                check.add(
                    format!("{field}.professional.person_id"),
                    "gave more than one view",
                );
            }
            parsed.push(View {
                professional,
                safety_scale,
                recommendation,
                recommended_category,
                comment,
            });
        }
    }
    parsed
}

/// Checks that `decision` (and the category) is what the rules resolve,
/// and that the chair flags say truthfully who decided.
#[allow(
    clippy::too_many_arguments,
    reason = "one call site; the fields of one request"
)]
fn check_resolution(
    check: &mut Check,
    views: &[View],
    decision: ConferenceDecision,
    decided_by_chair: bool,
    chair_rationale: Option<&str>,
    category: Option<CategoryOfHarm>,
    category_decided_by_chair: bool,
    category_rationale: Option<&str>,
) {
    let rule_views: Vec<decision::ProfessionalView> = views
        .iter()
        .map(|v| decision::ProfessionalView {
            recommends_plan: v.recommendation == Recommendation::Plan,
            safety_scale: v.safety_scale,
            category: v.recommended_category,
        })
        .collect();
    let chair = (decided_by_chair || category_decided_by_chair).then(|| ChairInput {
        needs_plan: decided_by_chair.then_some(decision.keeps_plan()),
        primary_category: category.filter(|_| category_decided_by_chair),
        rationale: if decided_by_chair {
            chair_rationale
        } else {
            category_rationale
        }
        .unwrap_or_default()
        .to_owned(),
    });
    match decision::resolve(&rule_views, chair.as_ref()) {
        Err(RulesError::ChairContradictsMajority { .. }) => {
            check.add(
                "outcome.decision",
                "contradicts the strict majority of professional views; the chair decides only when views are split",
            );
        }
        Err(RulesError::ChairContradictsAgreedCategory { .. }) => {
            check.add(
                "outcome.latest_category",
                "differs from the category every professional agreed; the chair decides only a disagreement",
            );
        }
        Err(RulesError::ChairCategoryNotPrimary) => {
            check.add(
                "outcome.latest_category",
                "the chair decides the primary category: SAB, PHY, EMO or NEG, not MUL",
            );
        }
        // A blank rationale was already reported as a missing one.
        Err(RulesError::BlankRationale) => {}
        Err(other) => check.add("outcome.professional_views", other.to_string()),
        Ok(Resolution::NeedsChair(needed)) => {
            if needed.decide_plan {
                check.add(
                    "outcome.decided_by_chair",
                    "the professional views are split: the chair must decide, with chair_rationale",
                );
            }
            if needed.decide_category {
                check.add(
                    "outcome.category_decided_by_chair",
                    "the professionals did not agree a category: the chair must decide the primary category, \
                     with category_rationale",
                );
            }
        }
        Ok(Resolution::Decided(resolved)) => {
            if resolved.needs_plan != decision.keeps_plan() {
                check.add(
                    "outcome.decision",
                    "is not what the strict majority of professional views recommends",
                );
            }
            if decided_by_chair && resolved.plan_basis == Basis::Professionals {
                check.add(
                    "outcome.decided_by_chair",
                    "must be false: a strict majority of professionals decided",
                );
            }
            if let Some(resolved_category) = resolved.category {
                if category.is_some_and(|c| c != resolved_category.category) {
                    check.add(
                        "outcome.latest_category",
                        "differs from the category the professionals agreed",
                    );
                }
                if category_decided_by_chair && resolved_category.basis == Basis::Professionals {
                    check.add(
                        "outcome.category_decided_by_chair",
                        "must be false: the professionals agreed the category",
                    );
                }
            }
        }
    }
}

/// The lead social worker works for the lead statutory body and is in the
/// core group.
pub(crate) fn check_lead(
    check: &mut Check,
    prefix: &str,
    lead: Option<&PersonRef>,
    body: Option<LeadStatutoryBody>,
    core_group: &[PersonRef],
) {
    let Some(lead) = lead else { return };
    let expected = match body {
        Some(LeadStatutoryBody::LocalAuthority) => AgencyKind::ChildrensSocialCare,
        Some(LeadStatutoryBody::Nspcc) => AgencyKind::Nspcc,
        None => return,
    };
    if lead.agency_kind != Some(expected) {
        check.add(
            format!("{prefix}.lead_social_worker.agency_kind"),
            "must be the lead statutory body (children's social care for the local authority, or NSPCC)",
        );
    }
    if !core_group.iter().any(|m| m.person_id == lead.person_id) {
        check.add(
            format!("{prefix}.core_group_members"),
            "must include the lead social worker",
        );
    }
}

fn parse_exclusions(check: &mut Check, exclusions: &[pb::Exclusion]) -> Vec<Exclusion> {
    let mut parsed = Vec::with_capacity(exclusions.len());
    for (i, e) in exclusions.iter().enumerate() {
        let field = format!("outcome.exclusions[{i}]");
        let person = PersonRef::parse(
            check,
            &format!("{field}.person"),
            e.person.as_ref(),
            Agency::Optional,
        );
        let mut scopes: Vec<ExclusionScope> = Vec::with_capacity(e.scopes.len());
        if e.scopes.is_empty() {
            check.add(format!("{field}.scopes"), "at least one scope is required");
        }
        for (j, scope) in e.scopes.iter().enumerate() {
            let scope_field = format!("{field}.scopes[{j}]");
            if let Some(scope) =
                check.required_enum(&scope_field, *scope, ExclusionScope::from_proto)
            {
                if scopes.contains(&scope) {
                    check.add(scope_field, "appears more than once");
                }
                scopes.push(scope);
            }
        }
        let excluded_parts =
            check.opt_text(&format!("{field}.excluded_parts"), &e.excluded_parts, 500);
        if scopes.contains(&ExclusionScope::PartOfMeeting) && excluded_parts.is_none() {
            check.add(
                format!("{field}.excluded_parts"),
                "is required with EXCLUSION_SCOPE_PART_OF_MEETING",
            );
        }
        let reason = check.text(&format!("{field}.reason"), &e.reason, 1, 2000);
        let decided_by = PersonRef::parse_opt(
            check,
            &format!("{field}.decided_by"),
            e.decided_by.as_ref(),
            Agency::Optional,
        );
        let decision_date = check.date(&format!("{field}.decision_date"), e.decision_date.as_ref());
        if let Some(person) = person {
            parsed.push(Exclusion {
                person,
                scopes,
                excluded_parts,
                reason,
                decided_by,
                decision_date,
            });
        }
    }
    parsed
}

fn parse_voice(
    check: &mut Check,
    voice: Option<&pb::ChildVoiceContribution>,
) -> Option<ChildVoice> {
    let v = voice.filter(|v| **v != pb::ChildVoiceContribution::default())?;
    let field = "outcome.childs_voice";
    if v.attended_part_only && !v.attended {
        check.add(format!("{field}.attended_part_only"), "needs attended");
    }
    let advocate = PersonRef::parse_opt(
        check,
        &format!("{field}.advocate"),
        v.advocate.as_ref(),
        Agency::Optional,
    );
    let mut methods: Vec<ViewsMethod> = Vec::with_capacity(v.methods.len());
    for (i, m) in v.methods.iter().enumerate() {
        let item = format!("{field}.methods[{i}]");
        if let Some(m) = check.required_enum(&item, *m, ViewsMethod::from_proto) {
            if methods.contains(&m) {
                check.add(item, "appears more than once");
            }
            methods.push(m);
        }
    }
    if (v.attended || v.views_submitted) && v.methods.is_empty() {
        check.add(
            format!("{field}.methods"),
            "at least one is required when the child attended or submitted views",
        );
    }
    let summary = check.opt_text(&format!("{field}.summary"), &v.summary, 4000);
    let not_participating_reason = check.opt_text(
        &format!("{field}.not_participating_reason"),
        &v.not_participating_reason,
        1000,
    );
    Some(ChildVoice {
        attended: v.attended,
        attended_part_only: v.attended_part_only,
        advocate,
        views_submitted: v.views_submitted,
        methods,
        summary,
        not_participating_reason,
    })
}

fn check_meeting_dates(
    check: &mut Check,
    conference: &HeldConference,
    decision: Option<ConferenceDecision>,
    next_review: Option<NaiveDate>,
    first_core_group: Option<NaiveDate>,
    timescales: &Timescales,
) {
    let keeps_plan = decision.is_some_and(ConferenceDecision::keeps_plan);
    if let Some(next) = next_review {
        if !keeps_plan {
            check.add(
                "outcome.next_review_date",
                "is set only when the child is on a plan",
            );
        } else if next <= conference.date {
            check.add(
                "outcome.next_review_date",
                "must be after the conference date",
            );
        } else {
            let latest = if decision == Some(ConferenceDecision::StartPlan) {
                timescales.first_review_due(conference.date)
            } else {
                timescales.next_review_due(conference.date)
            };
            match latest {
                Ok(latest) if next > latest.due => check.add(
                    "outcome.next_review_date",
                    format!(
                        "must not be later than the statutory latest date {}",
                        latest.due
                    ),
                ),
                Ok(_) => {}
                Err(err) => check.add("outcome.next_review_date", err.to_string()),
            }
        }
    }
    if let Some(first) = first_core_group {
        if decision != Some(ConferenceDecision::StartPlan) {
            check.add(
                "outcome.first_core_group_date",
                "is set only when a plan starts",
            );
        } else if first <= conference.date {
            check.add(
                "outcome.first_core_group_date",
                "must be after the conference date",
            );
        } else {
            match timescales.first_core_group_due(conference.date) {
                Ok(latest) if first > latest => check.add(
                    "outcome.first_core_group_date",
                    format!(
                        "must not be later than 10 working days after the conference ({latest})"
                    ),
                ),
                Ok(_) => {}
                Err(err) => check.add("outcome.first_core_group_date", err.to_string()),
            }
        }
    }
}

/// The fields `UpdateConferenceOutcome` may correct. The decision, the
/// conference and the child are immutable, and so is what the decision did
/// to the plan (lead, core group, categories): a wrong decision is put
/// right by the next conference, not by rewriting this one.
pub const OUTCOME_CORRECTABLE: &[&str] = &[
    "professional_views",
    "chair_rationale",
    "category_rationale",
    "exclusions",
    "childs_voice",
    "danger_statements",
    "safety_goals",
    "contingency_plan",
    "bottom_lines",
    "next_review_date",
    "first_core_group_date",
];

/// A correction of a recorded outcome (`UpdateConferenceOutcomeRequest`):
/// the masked fields replace the recorded ones, then the whole outcome is
/// validated again exactly as when it was recorded (so corrected views
/// must still resolve to the recorded decision).
#[derive(Clone)]
pub struct OutcomeCorrection {
    pub id: Uuid,
    pub version: i64,
    pub fields: Vec<&'static str>,
    source: pb::ConferenceOutcome,
}

redacted_debug!(OutcomeCorrection);

impl OutcomeCorrection {
    /// # Errors
    /// `INVALID_ARGUMENT` for a missing id or version or a mask naming a
    /// field that cannot be corrected.
    pub fn parse(req: &pb::UpdateConferenceOutcomeRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let fields = update_mask(&mut check, req.update_mask.as_ref(), OUTCOME_CORRECTABLE);
        let Some(o) = req.outcome.as_ref() else {
            check.add("outcome", "is required");
            return Err(check.fail());
        };
        let id = check.id("outcome.id", &o.id);
        let version = check.version("outcome.version", o.version);
        let Some(id) = id else {
            return Err(check.fail());
        };
        check.finish()?;
        Ok(Self {
            id,
            version,
            fields,
            source: o.clone(),
        })
    }

    /// The corrected outcome, validated as a whole against the conference
    /// it was recorded for.
    ///
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field of the result.
    pub fn apply(
        &self,
        current: &pb::ConferenceOutcome,
        conference: &HeldConference,
        timescales: &Timescales,
    ) -> Result<NewConferenceOutcome, ApiError> {
        let mut merged = current.clone();
        let s = &self.source;
        for field in &self.fields {
            match *field {
                "professional_views" => merged.professional_views.clone_from(&s.professional_views),
                "chair_rationale" => merged.chair_rationale.clone_from(&s.chair_rationale),
                "category_rationale" => merged.category_rationale.clone_from(&s.category_rationale),
                "exclusions" => merged.exclusions.clone_from(&s.exclusions),
                "childs_voice" => merged.childs_voice.clone_from(&s.childs_voice),
                "danger_statements" => merged.danger_statements.clone_from(&s.danger_statements),
                "safety_goals" => merged.safety_goals.clone_from(&s.safety_goals),
                "contingency_plan" => merged.contingency_plan.clone_from(&s.contingency_plan),
                "bottom_lines" => merged.bottom_lines.clone_from(&s.bottom_lines),
                "next_review_date" => merged.next_review_date = s.next_review_date,
                "first_core_group_date" => merged.first_core_group_date = s.first_core_group_date,
                _ => {}
            }
        }
        if merged.decision != pb::ConferenceDecision::StartPlan as i32 {
            // Output only except when a plan starts (then it was given).
            merged.initial_category = 0;
        }
        // Outline actions became plan actions when recorded; they are
        // corrected as plan actions, not here.
        merged.outline_actions.clear();
        let request = pb::RecordConferenceOutcomeRequest {
            // Not a create: the key is never used.
            request_id: Uuid::nil().to_string(),
            outcome: Some(merged),
        };
        NewConferenceOutcome::parse(&request, conference, timescales)
    }
}

/// Filters of `ListConferenceOutcomes`.
#[derive(Debug, Clone)]
pub struct OutcomeFilter {
    pub conference_id: Option<Uuid>,
    pub child_id: Option<Uuid>,
    pub decision: Option<ConferenceDecision>,
    pub page: PageRequest,
}

impl OutcomeFilter {
    /// # Errors
    /// `INVALID_ARGUMENT` naming every bad field.
    pub fn parse(req: &pb::ListConferenceOutcomesRequest) -> Result<Self, ApiError> {
        let mut check = Check::new();
        let conference_id = check.opt_id("conference_id", &req.conference_id).flatten();
        let child_id = check.opt_id("child_id", &req.child_id).flatten();
        if req.conference_id.is_empty() && req.child_id.is_empty() {
            check.add("conference_id", "is required unless child_id is set");
        }
        let decision = check.opt_enum("decision", req.decision, ConferenceDecision::from_proto);
        let key = FilterKey::new()
            .with("conference_id", &req.conference_id)
            .with("child_id", &req.child_id)
            .with("decision", req.decision);
        let page = PageRequest::parse(&mut check, req.page_size, &req.page_token, &key);
        check.finish()?;
        Ok(Self {
            conference_id,
            child_id,
            decision,
            page,
        })
    }
}
