-- cpc-cases: the early journey: children in need (CIN) episodes, strategy
-- discussions and section 47 enquiries.

-- CINdetails: opened by a referral, closed when services end. One open
-- episode per child (partial unique index) and no two episodes of a child
-- overlap (exclusion constraint); a new referral may fall on the day the
-- previous episode closed.
CREATE TABLE cin_episodes (
    id               uuid        PRIMARY KEY,
    authority_id     text        NOT NULL CHECK (authority_id <> ''),
    child_id         uuid        NOT NULL,
    referral_date    date        NOT NULL,                                   -- N00100
    referral_source  text        NOT NULL CHECK (referral_source IN (        -- N00152
        '1A', '1B', '1C', '1D', '2A', '2B', '3A', '3B', '3C', '3D', '3E', '3F', '4',
        '5A', '5B', '5C', '5D', '6', '7', '8', '9', '10')),
    primary_need     text        CHECK (primary_need IN (                    -- N00101
        'N0', 'N1', 'N2', 'N3', 'N4', 'N5', 'N6', 'N7', 'N8', 'N9')),
    referral_nfa     boolean     NOT NULL DEFAULT false,                     -- N00112
    closure_date     date,                                                   -- N00102
    closure_reason   text        CHECK (closure_reason IN (                  -- N00103
        'RC1', 'RC2', 'RC3', 'RC4', 'RC5', 'RC6', 'RC7', 'RC8', 'RC9')),
    version          bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, child_id),
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id),
    CONSTRAINT cin_episodes_primary_need_required CHECK (primary_need IS NOT NULL OR referral_nfa),
    CONSTRAINT cin_episodes_closure_complete CHECK ((closure_date IS NULL) = (closure_reason IS NULL)),
    CONSTRAINT cin_episodes_closure_after_referral CHECK (closure_date IS NULL OR closure_date >= referral_date),
    CONSTRAINT cin_episodes_no_overlap EXCLUDE USING gist (
        child_id WITH =, daterange(referral_date, closure_date, '[)') WITH &&)
);
CREATE UNIQUE INDEX cin_episodes_one_open_per_child ON cin_episodes (child_id) WHERE closure_date IS NULL;
CREATE INDEX cin_episodes_by_referral ON cin_episodes (authority_id, referral_date DESC, id DESC);

CREATE TABLE strategy_discussions (
    id              uuid        PRIMARY KEY,
    authority_id    text        NOT NULL CHECK (authority_id <> ''),
    case_id         uuid        NOT NULL,
    discussion_date date        NOT NULL,
    outcome         text        NOT NULL CHECK (outcome IN (
        'start_section_47', 'no_further_action', 'child_in_need_assessment', 'further_discussion')),
    rationale       text        CHECK (char_length(rationale) BETWEEN 1 AND 4000),
    recorded_by     jsonb       NOT NULL CHECK (is_person_ref(recorded_by)),
    version         bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    -- Lets an s47 enquiry carry (and be checked against) the date and
    -- outcome of the discussion that started it.
    UNIQUE (id, discussion_date, outcome),
    FOREIGN KEY (authority_id, case_id) REFERENCES cases (authority_id, id)
);
CREATE INDEX strategy_discussions_by_case ON strategy_discussions (case_id, discussion_date DESC, id DESC);

CREATE TABLE strategy_discussion_children (
    strategy_discussion_id uuid NOT NULL,
    child_id               uuid NOT NULL,
    authority_id           text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (strategy_discussion_id, child_id),
    FOREIGN KEY (authority_id, strategy_discussion_id) REFERENCES strategy_discussions (authority_id, id) ON DELETE CASCADE,
    FOREIGN KEY (authority_id, child_id) REFERENCES children (authority_id, id)
);
CREATE INDEX strategy_discussion_children_by_child ON strategy_discussion_children (child_id);

CREATE TABLE strategy_discussion_attendees (
    strategy_discussion_id uuid     NOT NULL,
    ordinal                smallint NOT NULL CHECK (ordinal >= 0),
    authority_id           text     NOT NULL CHECK (authority_id <> ''),
    person_id              uuid     NOT NULL,
    display_name           text     NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    agency_kind            text     CHECK (agency_kind IN (
        'childrens_social_care', 'police', 'health', 'education', 'early_years', 'probation', 'housing',
        'other_specialist', 'nspcc', 'adult_social_care', 'youth_justice', 'voluntary_sector')),
    agency_name            text     CHECK (char_length(agency_name) BETWEEN 1 AND 200),
    PRIMARY KEY (strategy_discussion_id, ordinal),
    UNIQUE (strategy_discussion_id, person_id),
    FOREIGN KEY (authority_id, strategy_discussion_id) REFERENCES strategy_discussions (authority_id, id) ON DELETE CASCADE,
    CHECK (agency_kind IS NULL OR agency_name IS NOT NULL)
);

-- Section47 (census): one enquiry in progress per child. The enquiry
-- carries the date and outcome of its strategy discussion, so "started by a
-- discussion that decided to start it, about this child, on or before the
-- start date" is a constraint, not a convention.
CREATE TABLE section47_enquiries (
    id                       uuid        PRIMARY KEY,
    authority_id             text        NOT NULL CHECK (authority_id <> ''),
    child_id                 uuid        NOT NULL,
    cin_episode_id           uuid        NOT NULL,
    strategy_discussion_id   uuid        NOT NULL,
    strategy_discussion_date date        NOT NULL,
    strategy_outcome         text        NOT NULL DEFAULT 'start_section_47' CHECK (strategy_outcome = 'start_section_47'),
    start_date               date        NOT NULL,                      -- S47ActualStartDate (N00148)
    completion_date          date,
    outcome                  text        CHECK (outcome IN ('icpc_required', 'icpc_not_required')),
    icpc_not_required_reason text        CHECK (char_length(icpc_not_required_reason) BETWEEN 1 AND 2000),
    initial_cpc_target_date  date        NOT NULL,                      -- InitialCPCtarget (N00109)
    version                  bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    UNIQUE (id, child_id),
    FOREIGN KEY (cin_episode_id, child_id) REFERENCES cin_episodes (id, child_id),
    FOREIGN KEY (strategy_discussion_id, child_id) REFERENCES strategy_discussion_children (strategy_discussion_id, child_id),
    FOREIGN KEY (strategy_discussion_id, strategy_discussion_date, strategy_outcome)
        REFERENCES strategy_discussions (id, discussion_date, outcome),
    CONSTRAINT section47_start_after_strategy CHECK (start_date >= strategy_discussion_date),
    CONSTRAINT section47_completion_complete CHECK ((completion_date IS NULL) = (outcome IS NULL)),
    CONSTRAINT section47_completion_after_start CHECK (completion_date IS NULL OR completion_date >= start_date),
    CONSTRAINT section47_not_required_reason CHECK (
        (outcome IS NOT DISTINCT FROM 'icpc_not_required') = (icpc_not_required_reason IS NOT NULL)),
    CONSTRAINT section47_target_after_strategy CHECK (initial_cpc_target_date > strategy_discussion_date)
);
CREATE UNIQUE INDEX section47_one_in_progress_per_child ON section47_enquiries (child_id) WHERE completion_date IS NULL;
CREATE INDEX section47_by_start ON section47_enquiries (authority_id, start_date DESC, id DESC);
