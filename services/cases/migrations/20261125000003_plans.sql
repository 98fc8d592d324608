-- cpc-cases: transfers in, child protection plans, conference outcomes, the
-- child's voice and plan actions.

CREATE TABLE transfers_in (
    id                       uuid        PRIMARY KEY,
    authority_id             text        NOT NULL CHECK (authority_id <> ''),
    child_id                 uuid        NOT NULL,
    sending_authority_name   text        NOT NULL CHECK (char_length(sending_authority_name) BETWEEN 1 AND 200),
    sending_authority_code   text        CHECK (sending_authority_code ~ '^[0-9]{3}$'),
    notification_date        date        NOT NULL,
    previous_plan_start_date date,
    previous_category        text        CHECK (previous_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    status                   text        NOT NULL DEFAULT 'awaiting_conference' CHECK (status IN (
        'awaiting_conference', 'plan_started', 'no_plan', 'withdrawn')),
    conference_due_date      date        NOT NULL,
    conference_id            uuid,
    version                  bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, child_id),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id),
    CONSTRAINT transfers_in_conference_when_decided CHECK (
        (status IN ('plan_started', 'no_plan')) = (conference_id IS NOT NULL)),
    CONSTRAINT transfers_in_previous_plan_before_notice CHECK (
        previous_plan_start_date IS NULL OR previous_plan_start_date <= notification_date),
    CONSTRAINT transfers_in_due_after_notice CHECK (conference_due_date > notification_date)
);
CREATE UNIQUE INDEX transfers_in_one_awaiting_per_child ON transfers_in (child_id) WHERE status = 'awaiting_conference';

-- ChildProtectionPlans (census). At most one open plan per child (rule
-- 8935, partial unique index) and no two plans of a child overlap (rule
-- 8940, exclusion constraint; a plan may start the day the previous ended).
CREATE TABLE plans (
    id                       uuid        PRIMARY KEY,
    authority_id             text        NOT NULL CHECK (authority_id <> ''),
    child_id                 uuid        NOT NULL,
    cin_episode_id           uuid        NOT NULL,
    status                   text        NOT NULL CHECK (status IN (
        'active', 'transfer_out_pending', 'ended', 'transferred_out')),
    start_date               date        NOT NULL,                          -- CPPstartDate (N00105)
    end_date                 date,                                          -- CPPendDate (N00115)
    end_reason               text        CHECK (end_reason IN (
        'no_longer_at_risk', 'transferred_out', 'turned_18', 'left_uk', 'became_looked_after', 'died', 'other')),
    end_reason_detail        text        CHECK (char_length(end_reason_detail) BETWEEN 1 AND 2000),
    initial_category         text        NOT NULL CHECK (initial_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')), -- N00113
    latest_category          text        NOT NULL CHECK (latest_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),  -- N00114
    previous_plan_count      integer     NOT NULL CHECK (previous_plan_count >= 0),                                 -- N00106
    danger_statements        text[]      NOT NULL DEFAULT '{}',
    safety_goals             text[]      NOT NULL DEFAULT '{}',
    contingency_plan         text        CHECK (char_length(contingency_plan) BETWEEN 1 AND 4000),
    bottom_lines             text[]      NOT NULL DEFAULT '{}',
    lead_social_worker       jsonb       NOT NULL CHECK (is_person_ref(lead_social_worker)),
    lead_social_worker_id    uuid        GENERATED ALWAYS AS ((lead_social_worker->>'person_id')::uuid) STORED,
    lead_statutory_body      text        NOT NULL CHECK (lead_statutory_body IN ('local_authority', 'nspcc')),
    start_conference_id      uuid,
    end_conference_id        uuid,
    next_review_due_date     date,
    pre_birth                boolean     NOT NULL DEFAULT false,
    transfer_out_receiving_authority_name text CHECK (char_length(transfer_out_receiving_authority_name) BETWEEN 1 AND 200),
    transfer_out_receiving_authority_code text CHECK (transfer_out_receiving_authority_code ~ '^[0-9]{3}$'),
    transfer_out_receiving_authority_id   text CHECK (char_length(transfer_out_receiving_authority_id) BETWEEN 1 AND 64),
    transfer_out_notification_date        date,
    transfer_out_conference_date          date,
    transfer_in_id           uuid,
    agencies_consulted       jsonb       NOT NULL DEFAULT '[]' CHECK (is_person_ref_list(agencies_consulted)),
    ended_by                 jsonb       CHECK (is_person_ref(ended_by)),
    cp_is_shared_at          timestamptz,
    version                  bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, child_id, start_date),
    FOREIGN KEY (cin_episode_id, child_id) REFERENCES cin_episodes (id, child_id),
    FOREIGN KEY (transfer_in_id, child_id) REFERENCES transfers_in (id, child_id),
    CONSTRAINT plans_open_iff_no_end CHECK ((status IN ('active', 'transfer_out_pending')) = (end_date IS NULL)),
    CONSTRAINT plans_end_complete CHECK ((end_date IS NULL) = (end_reason IS NULL) AND (end_date IS NULL) = (ended_by IS NULL)),
    CONSTRAINT plans_end_after_start CHECK (end_date IS NULL OR end_date >= start_date),     -- rule 8925
    CONSTRAINT plans_transferred_out_reason CHECK (
        (status = 'transferred_out') = (end_reason IS NOT DISTINCT FROM 'transferred_out')),
    CONSTRAINT plans_other_needs_detail CHECK (end_reason IS DISTINCT FROM 'other' OR end_reason_detail IS NOT NULL),
    CONSTRAINT plans_risk_ended_by_conference CHECK (
        end_reason IS DISTINCT FROM 'no_longer_at_risk' OR end_conference_id IS NOT NULL),
    CONSTRAINT plans_transfer_out_notified CHECK (
        status NOT IN ('transfer_out_pending', 'transferred_out')
        OR (transfer_out_receiving_authority_name IS NOT NULL AND transfer_out_notification_date IS NOT NULL)),
    CONSTRAINT plans_transfer_out_after_start CHECK (
        transfer_out_notification_date IS NULL OR transfer_out_notification_date >= start_date),
    CONSTRAINT plans_transferred_out_at_conference CHECK (
        status <> 'transferred_out' OR transfer_out_conference_date = end_date),
    CONSTRAINT plans_manager_end_consulted CHECK (
        -- (a recorded death ends the plan at once, see UpdateChild)
        end_date IS NULL OR end_conference_id IS NOT NULL OR end_reason IN ('transferred_out', 'died')
        OR jsonb_array_length(agencies_consulted) >= 1),
    CONSTRAINT plans_no_overlap EXCLUDE USING gist (
        child_id WITH =, daterange(start_date, end_date, '[)') WITH &&)
);
CREATE UNIQUE INDEX plans_one_open_per_child ON plans (child_id) WHERE status IN ('active', 'transfer_out_pending');
CREATE INDEX plans_by_start ON plans (authority_id, start_date DESC, id DESC);
CREATE INDEX plans_by_lead ON plans (lead_social_worker_id) WHERE end_date IS NULL;

-- The current core group of a plan (who develops and delivers it).
CREATE TABLE plan_core_group_members (
    plan_id      uuid     NOT NULL,
    ordinal      smallint NOT NULL CHECK (ordinal >= 0),
    authority_id text     NOT NULL CHECK (authority_id <> ''),
    person_id    uuid     NOT NULL,
    display_name text     NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    agency_kind  text     CHECK (agency_kind IN (
        'childrens_social_care', 'police', 'health', 'education', 'early_years', 'probation', 'housing',
        'other_specialist', 'nspcc', 'adult_social_care', 'youth_justice', 'voluntary_sector')),
    agency_name  text     CHECK (char_length(agency_name) BETWEEN 1 AND 200),
    PRIMARY KEY (plan_id, ordinal),
    UNIQUE (plan_id, person_id),
    FOREIGN KEY (authority_id, plan_id) REFERENCES plans (authority_id, id) ON DELETE CASCADE,
    CHECK (agency_kind IS NULL OR agency_name IS NOT NULL)
);
CREATE INDEX plan_core_group_members_by_person ON plan_core_group_members (person_id);

-- One conference's outcome for one child. Conference facts (kind, date,
-- chair) are copied from scheduling when the outcome is recorded.
CREATE TABLE conference_outcomes (
    id                        uuid        PRIMARY KEY,
    authority_id              text        NOT NULL CHECK (authority_id <> ''),
    conference_id             uuid        NOT NULL,
    child_id                  uuid        NOT NULL,
    conference_kind           text        NOT NULL CHECK (conference_kind IN (
        'initial', 'review', 'transfer_in', 'pre_birth', 'reconvened', 'post_birth_review')),
    conference_date           date        NOT NULL,
    chair                     jsonb       NOT NULL CHECK (is_person_ref(chair)),
    decision                  text        NOT NULL CHECK (decision IN ('start_plan', 'no_plan', 'continue_plan', 'end_plan')),
    decided_by_chair          boolean     NOT NULL DEFAULT false,
    chair_rationale           text        CHECK (char_length(chair_rationale) BETWEEN 1 AND 4000),
    initial_category          text        CHECK (initial_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    latest_category           text        CHECK (latest_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    category_decided_by_chair boolean     NOT NULL DEFAULT false,
    category_rationale        text        CHECK (char_length(category_rationale) BETWEEN 1 AND 2000),
    lead_social_worker        jsonb       CHECK (is_person_ref(lead_social_worker)),
    lead_statutory_body       text        CHECK (lead_statutory_body IN ('local_authority', 'nspcc')),
    core_group_members        jsonb       NOT NULL DEFAULT '[]' CHECK (is_person_ref_list(core_group_members)),
    danger_statements         text[]      NOT NULL DEFAULT '{}',
    safety_goals              text[]      NOT NULL DEFAULT '{}',
    contingency_plan          text        CHECK (char_length(contingency_plan) BETWEEN 1 AND 4000),
    bottom_lines              text[]      NOT NULL DEFAULT '{}',
    -- [{"description", "owner": PersonRef, "due_date"}] as agreed.
    outline_actions           jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(outline_actions) = 'array'),
    next_review_date          date,
    first_core_group_date     date,
    plan_id                   uuid,
    section47_id              uuid,
    transfer_in_id            uuid,
    recorded_by               jsonb       NOT NULL CHECK (is_person_ref(recorded_by)),
    version                   bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    CONSTRAINT conference_outcomes_one_per_child UNIQUE (conference_id, child_id),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id),
    FOREIGN KEY (authority_id, plan_id) REFERENCES plans (authority_id, id),
    FOREIGN KEY (section47_id, child_id) REFERENCES section47_enquiries (id, child_id),
    FOREIGN KEY (transfer_in_id, child_id) REFERENCES transfers_in (id, child_id),
    CONSTRAINT conference_outcomes_decision_fits_kind CHECK (
        (conference_kind IN ('initial', 'pre_birth', 'transfer_in') AND decision IN ('start_plan', 'no_plan'))
        OR (conference_kind IN ('review', 'post_birth_review') AND decision IN ('continue_plan', 'end_plan'))
        OR conference_kind = 'reconvened'),
    CONSTRAINT conference_outcomes_chair_rationale CHECK (NOT decided_by_chair OR chair_rationale IS NOT NULL),
    CONSTRAINT conference_outcomes_category_rationale CHECK (NOT category_decided_by_chair OR category_rationale IS NOT NULL),
    CONSTRAINT conference_outcomes_plan_details CHECK (
        decision NOT IN ('start_plan', 'continue_plan')
        OR (latest_category IS NOT NULL AND lead_social_worker IS NOT NULL
            AND lead_statutory_body IS NOT NULL AND contingency_plan IS NOT NULL)),
    CONSTRAINT conference_outcomes_initial_category CHECK (decision <> 'start_plan' OR initial_category IS NOT NULL),
    CONSTRAINT conference_outcomes_plan_iff_plan_decision CHECK ((plan_id IS NULL) = (decision = 'no_plan')),
    -- DfE validation 8875: a conference is not held at a weekend.
    CONSTRAINT conference_outcomes_weekday CHECK (extract(isodow FROM conference_date) < 6)
);
CREATE INDEX conference_outcomes_by_child ON conference_outcomes (child_id, conference_date DESC, id DESC);
CREATE INDEX conference_outcomes_by_plan ON conference_outcomes (plan_id);

CREATE TABLE professional_views (
    outcome_id           uuid     NOT NULL,
    ordinal              smallint NOT NULL CHECK (ordinal >= 0),
    authority_id         text     NOT NULL CHECK (authority_id <> ''),
    person_id            uuid     NOT NULL,
    display_name         text     NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    agency_kind          text     NOT NULL CHECK (agency_kind IN (
        'childrens_social_care', 'police', 'health', 'education', 'early_years', 'probation', 'housing',
        'other_specialist', 'nspcc', 'adult_social_care', 'youth_justice', 'voluntary_sector')),
    agency_name          text     NOT NULL CHECK (char_length(agency_name) BETWEEN 1 AND 200),
    safety_scale         smallint NOT NULL CHECK (safety_scale BETWEEN 0 AND 10),
    recommendation       text     NOT NULL CHECK (recommendation IN ('plan', 'no_plan')),
    recommended_category text     CHECK (recommended_category IN ('SAB', 'PHY', 'EMO', 'NEG', 'MUL')),
    comment              text     CHECK (char_length(comment) BETWEEN 1 AND 2000),
    PRIMARY KEY (outcome_id, ordinal),
    UNIQUE (outcome_id, person_id),
    FOREIGN KEY (authority_id, outcome_id) REFERENCES conference_outcomes (authority_id, id) ON DELETE CASCADE,
    CHECK (recommendation <> 'plan' OR recommended_category IS NOT NULL)
);

CREATE TABLE conference_exclusions (
    outcome_id     uuid     NOT NULL,
    ordinal        smallint NOT NULL CHECK (ordinal >= 0),
    authority_id   text     NOT NULL CHECK (authority_id <> ''),
    person         jsonb    NOT NULL CHECK (is_person_ref(person)),
    person_id      uuid     GENERATED ALWAYS AS ((person->>'person_id')::uuid) STORED,
    scopes         text[]   NOT NULL CHECK (
        cardinality(scopes) >= 1 AND scopes <@ ARRAY['attendance', 'part_of_meeting', 'minutes']
        AND array_is_distinct(scopes)),
    excluded_parts text     CHECK (char_length(excluded_parts) BETWEEN 1 AND 500),
    reason         text     NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    decided_by     jsonb    CHECK (is_person_ref(decided_by)),
    decision_date  date,
    PRIMARY KEY (outcome_id, ordinal),
    FOREIGN KEY (authority_id, outcome_id) REFERENCES conference_outcomes (authority_id, id) ON DELETE CASCADE,
    CHECK (NOT ('part_of_meeting' = ANY (scopes)) OR excluded_parts IS NOT NULL)
);
CREATE INDEX conference_exclusions_by_person ON conference_exclusions (person_id);

-- How the child's voice was heard at one conference (one per outcome).
CREATE TABLE child_voice_contributions (
    outcome_id               uuid    PRIMARY KEY,
    authority_id             text    NOT NULL CHECK (authority_id <> ''),
    child_id                 uuid    NOT NULL,
    plan_id                  uuid,
    conference_id            uuid    NOT NULL,
    conference_date          date    NOT NULL,
    attended                 boolean NOT NULL DEFAULT false,
    attended_part_only       boolean NOT NULL DEFAULT false,
    advocate                 jsonb   CHECK (is_person_ref(advocate)),
    views_submitted          boolean NOT NULL DEFAULT false,
    methods                  text[]  NOT NULL DEFAULT '{}' CHECK (
        methods <@ ARRAY['in_person', 'advocate', 'written', 'app', 'audio_video', 'direct_work',
                         'childrens_meeting', 'social_worker'] AND array_is_distinct(methods)),
    summary                  text    CHECK (char_length(summary) BETWEEN 1 AND 4000),
    not_participating_reason text    CHECK (char_length(not_participating_reason) BETWEEN 1 AND 1000),
    FOREIGN KEY (authority_id, outcome_id) REFERENCES conference_outcomes (authority_id, id) ON DELETE CASCADE,
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id),
    FOREIGN KEY (authority_id, plan_id) REFERENCES plans (authority_id, id),
    CHECK (NOT attended_part_only OR attended),
    CHECK (NOT (attended OR views_submitted) OR cardinality(methods) >= 1)
);
CREATE INDEX child_voice_contributions_by_plan ON child_voice_contributions (plan_id, conference_date);

-- Plan actions: what, who (person and agency), by when. The action carries
-- its plan's start date so "due on or after the plan start" is a constraint.
CREATE TABLE plan_actions (
    id                      uuid        PRIMARY KEY,
    authority_id            text        NOT NULL CHECK (authority_id <> ''),
    plan_id                 uuid        NOT NULL,
    child_id                uuid        NOT NULL,
    plan_start_date         date        NOT NULL,
    description             text        NOT NULL CHECK (char_length(description) BETWEEN 1 AND 2000),
    owner_person_id         uuid        NOT NULL,
    owner_display_name      text        NOT NULL CHECK (char_length(owner_display_name) BETWEEN 1 AND 200),
    owner_agency_kind       text        NOT NULL CHECK (owner_agency_kind IN (
        'childrens_social_care', 'police', 'health', 'education', 'early_years', 'probation', 'housing',
        'other_specialist', 'nspcc', 'adult_social_care', 'youth_justice', 'voluntary_sector')),
    owner_agency_name       text        NOT NULL CHECK (char_length(owner_agency_name) BETWEEN 1 AND 200),
    due_date                date        NOT NULL,
    status                  text        NOT NULL DEFAULT 'not_started' CHECK (status IN (
        'not_started', 'in_progress', 'completed', 'not_achieved', 'withdrawn')),
    completion_date         date,
    agreed_at_conference_id uuid,
    version                 bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    FOREIGN KEY (plan_id, child_id, plan_start_date) REFERENCES plans (id, child_id, start_date),
    CONSTRAINT plan_actions_due_after_plan_start CHECK (due_date >= plan_start_date),
    CONSTRAINT plan_actions_completed_dated CHECK ((status = 'completed') = (completion_date IS NOT NULL)),
    CONSTRAINT plan_actions_completed_after_start CHECK (completion_date IS NULL OR completion_date >= plan_start_date)
);
CREATE INDEX plan_actions_by_plan ON plan_actions (plan_id, due_date, id);
CREATE INDEX plan_actions_by_due ON plan_actions (authority_id, due_date, id);
CREATE INDEX plan_actions_by_owner ON plan_actions (owner_person_id, due_date, id);

-- Every status change of an action, oldest first; append-only.
CREATE TABLE plan_action_status_changes (
    action_id    uuid        NOT NULL,
    seq          integer     NOT NULL CHECK (seq >= 1),
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    from_status  text        NOT NULL CHECK (from_status IN ('not_started', 'in_progress', 'not_achieved')),
    to_status    text        NOT NULL CHECK (to_status IN (
        'not_started', 'in_progress', 'completed', 'not_achieved', 'withdrawn')),
    reason       text        CHECK (char_length(reason) BETWEEN 1 AND 2000),
    changed_by   jsonb       NOT NULL CHECK (is_person_ref(changed_by)),
    change_time  timestamptz NOT NULL,
    PRIMARY KEY (action_id, seq),
    FOREIGN KEY (authority_id, action_id) REFERENCES plan_actions (authority_id, id),
    CHECK (from_status <> to_status),
    CHECK (to_status NOT IN ('not_achieved', 'withdrawn') OR reason IS NOT NULL)
);

CREATE FUNCTION history_is_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER plan_action_status_changes_append_only
    BEFORE UPDATE OR DELETE ON plan_action_status_changes
    FOR EACH ROW EXECUTE FUNCTION history_is_append_only();
