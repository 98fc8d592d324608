-- cpc-escalation: escalations of a child's plan along the route chair's
-- midway review -> team manager -> service manager -> head of service ->
-- safeguarding partnership, each stage owned by a named person who must
-- respond by a date; and the copies of the cases service's facts that
-- raising one, and deciding who may see it, need.
--
-- Escalation never reads the cases tables. It keeps, from the cases change
-- feed (src/follow.rs):
-- - case_members: who is on each case, for the policies (as scheduling's
--   and reporting's copies);
-- - case_children: each child's case (an escalation's children must all be
--   of its case);
-- - plans: each child protection plan's child (an escalation's plan must be
--   one of its children's).

CREATE TABLE case_members (
    membership_id uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    case_id       uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    child_ids     uuid[]      NOT NULL DEFAULT '{}',
    start_date    date        NOT NULL,
    end_date      date        CHECK (end_date IS NULL OR end_date >= start_date),
    version       bigint      NOT NULL CHECK (version >= 1),
    updated_at    timestamptz NOT NULL,
    agency        text        CHECK (agency IS NULL OR agency <> '')
);
CREATE INDEX case_members_by_case ON case_members (case_id);

CREATE TABLE case_children (
    child_id     uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    case_id      uuid        NOT NULL,
    -- The cases service's version of the child: an older copy never
    -- overwrites a newer one.
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX case_children_by_case ON case_children (case_id);

CREATE TABLE plans (
    id           uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX plans_by_child ON plans (child_id);

-- People (raiser, owner, resolver) are stored as their protobuf
-- PersonRef, with the person id beside them where a rule or a filter reads
-- it.
CREATE TABLE escalations (
    id                    uuid        PRIMARY KEY,
    authority_id          text        NOT NULL CHECK (authority_id <> ''),
    case_id               uuid        NOT NULL,
    child_ids             uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    plan_id               uuid,
    raised_by             bytea       NOT NULL,
    raised_by_id          text        NOT NULL CHECK (raised_by_id <> ''),
    reason_kind           text        NOT NULL CHECK (reason_kind IN (
                              'drift_and_delay', 'process_not_followed',
                              'agency_not_delivering', 'safeguarding_concern')),
    reason                text        NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 4000),
    concerned_agency_kind integer     NOT NULL DEFAULT 0 CHECK (concerned_agency_kind >= 0),
    concerned_agency_name text        NOT NULL DEFAULT '' CHECK (char_length(concerned_agency_name) <= 200),
    stage                 text        NOT NULL CHECK (stage IN (
                              'chair_midway_review', 'team_manager', 'service_manager',
                              'head_of_service', 'safeguarding_partnership')),
    owner                 bytea       NOT NULL,
    owner_id              text        NOT NULL CHECK (owner_id <> ''),
    response_due_on       date        NOT NULL,
    status                text        NOT NULL CHECK (status IN ('open', 'resolved')),
    -- The EscalationOutcome, once resolved.
    outcome               bytea,
    version               bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    CONSTRAINT escalations_agency_named CHECK (
        reason_kind <> 'agency_not_delivering'
        OR (concerned_agency_kind > 0 AND concerned_agency_name <> '')),
    CONSTRAINT escalations_resolved_with_outcome CHECK ((status = 'resolved') = (outcome IS NOT NULL))
);
CREATE INDEX escalations_by_case ON escalations (case_id);
CREATE INDEX escalations_by_child ON escalations USING gin (child_ids);
CREATE INDEX escalations_by_due ON escalations (authority_id, response_due_on, id);

-- Every stage change, the opening first: appended, never changed.
CREATE TABLE escalation_stage_changes (
    escalation_id uuid        NOT NULL,
    position      integer     NOT NULL CHECK (position >= 0),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    change        bytea       NOT NULL,
    changed_at    timestamptz NOT NULL,
    PRIMARY KEY (escalation_id, position),
    FOREIGN KEY (authority_id, escalation_id) REFERENCES escalations (authority_id, id)
);

CREATE TABLE idempotency (
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    method       text        NOT NULL CHECK (char_length(method) BETWEEN 1 AND 100),
    request_id   uuid        NOT NULL,
    fingerprint  bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    response     bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (authority_id, method, request_id)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);

SELECT isolate_by_authority(
    'case_members', 'case_children', 'plans', 'escalations', 'escalation_stage_changes',
    'idempotency');
