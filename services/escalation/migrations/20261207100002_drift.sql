-- cpc-escalation: drift findings, detected by the service (never written
-- by clients) from its copies of what a plan depends on, and the findings
-- each escalation cites.
--
-- Escalation keeps, from the cases feed: each plan action (due date,
-- owner, whether it is done) and whether each plan ended; from the
-- scheduling feed: each conference's kind, statutory due date and state,
-- and each core group meeting's due date and state. Each is assessed by
-- cpc_rules::drift when it changes and again as days pass (src/drift.rs).

ALTER TABLE plans ADD COLUMN ended boolean NOT NULL DEFAULT false;

CREATE TABLE plan_actions (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    plan_id      uuid        NOT NULL,
    child_id     uuid        NOT NULL,
    description  text        NOT NULL,
    -- The owner as a protobuf PersonRef.
    owner        bytea,
    due_on       date        NOT NULL,
    -- Completed, not achieved or withdrawn.
    done         boolean     NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX plan_actions_by_plan ON plan_actions (plan_id);
CREATE INDEX plan_actions_unsettled ON plan_actions (due_on) WHERE NOT done;

-- Conferences and core group meetings: what drift detection reads of them.
CREATE TABLE meetings (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    kind         text        NOT NULL CHECK (kind IN ('initial_conference', 'review_conference', 'core_group')),
    case_id      uuid        NOT NULL,
    child_ids    uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    plan_id      uuid,
    due_on       date        NOT NULL,
    state        text        NOT NULL CHECK (state IN ('due', 'booked', 'held', 'missed', 'cancelled')),
    booked_on    date        CHECK ((state = 'booked') = (booked_on IS NOT NULL)),
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX meetings_unsettled ON meetings (due_on) WHERE state IN ('due', 'booked', 'missed');

-- One finding per late subject at a time: a subject put right clears its
-- finding; late again later, it gets a new one.
CREATE TABLE drift_findings (
    id                   uuid        PRIMARY KEY,
    authority_id         text        NOT NULL CHECK (authority_id <> ''),
    case_id              uuid        NOT NULL,
    child_ids            uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    plan_id              uuid,
    kind                 text        NOT NULL CHECK (kind IN (
                             'plan_action_overdue', 'core_group_missed', 'review_late',
                             'initial_conference_late')),
    -- 1 low, 2 medium, 3 high, 4 critical (the API's numbering).
    severity             smallint    NOT NULL CHECK (severity BETWEEN 1 AND 4),
    subject_type         text        NOT NULL CHECK (subject_type IN ('PlanAction', 'Conference', 'CoreGroupMeeting')),
    subject_id           uuid        NOT NULL,
    responsible          bytea,
    agency_kind          integer     NOT NULL DEFAULT 0 CHECK (agency_kind >= 0),
    agency_name          text        NOT NULL DEFAULT '',
    due_on               date        NOT NULL,
    working_days_overdue integer     NOT NULL CHECK (working_days_overdue >= 0),
    detail               text        NOT NULL,
    cleared              boolean     NOT NULL DEFAULT false,
    -- Each change (severity, days overdue, clearing) is a new version.
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    detected_at          timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL CHECK (updated_at >= detected_at),
    cleared_at           timestamptz CHECK (cleared = (cleared_at IS NOT NULL)),
    UNIQUE (authority_id, id)
);
CREATE UNIQUE INDEX drift_findings_one_open ON drift_findings (subject_type, subject_id) WHERE NOT cleared;
CREATE INDEX drift_findings_by_case ON drift_findings (case_id);
CREATE INDEX drift_findings_by_child ON drift_findings USING gin (child_ids);

-- The findings an escalation cites, in the order it names them.
CREATE TABLE escalation_findings (
    escalation_id uuid    NOT NULL,
    position      integer NOT NULL CHECK (position >= 0),
    finding_id    uuid    NOT NULL,
    authority_id  text    NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (escalation_id, position),
    UNIQUE (escalation_id, finding_id),
    FOREIGN KEY (authority_id, escalation_id) REFERENCES escalations (authority_id, id),
    FOREIGN KEY (authority_id, finding_id) REFERENCES drift_findings (authority_id, id)
);
CREATE INDEX escalation_findings_by_finding ON escalation_findings (finding_id);

SELECT isolate_by_authority('plan_actions', 'meetings', 'drift_findings', 'escalation_findings');
