-- cpc-reporting: conference minutes, who they went to, and who was told
-- the decision; and the copies of other services' facts that deciding who
-- may see them needs.
--
-- Reporting never reads the cases or scheduling tables. It keeps, from
-- their change feeds (src/follow.rs):
-- - conferences: each conference's case, children and status
--   (scheduling); minutes are written only for a held or inquorate one;
-- - case_members: who is on each case (cases), for the policies;
-- - minutes_exclusions: who the chair excluded from receiving a
--   conference's minutes (cases, ConferenceOutcome exclusions with scope
--   MINUTES), for the policies and for the distribution list.
--
-- API sub-messages (people, documents, distribution entries) are stored as
-- their protobuf encoding, with the person id beside them where a rule
-- reads it, as scheduling stores invitees.

CREATE TABLE conferences (
    id              uuid        PRIMARY KEY,
    authority_id    text        NOT NULL CHECK (authority_id <> ''),
    case_id         uuid        NOT NULL,
    child_ids       uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    status          text        NOT NULL CHECK (status IN ('due', 'booked', 'held', 'inquorate', 'cancelled')),
    held_on         date,
    -- Scheduling's version of the conference: an older copy never
    -- overwrites a newer one.
    version         bigint      NOT NULL CHECK (version >= 1),
    source_sequence bigint      NOT NULL CHECK (source_sequence >= 1),
    updated_at      timestamptz NOT NULL,
    UNIQUE (authority_id, id)
);
CREATE INDEX conferences_by_case ON conferences (case_id);
CREATE INDEX conferences_by_child ON conferences USING gin (child_ids);

-- As scheduling's copy (its migration 2 and 8).
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

-- One outcome per child per conference; each outcome's exclusions replace
-- what the previous version of that outcome said.
CREATE TABLE minutes_exclusions (
    conference_id uuid        NOT NULL,
    child_id      uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    outcome_id    uuid        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (conference_id, child_id, person_id)
);

CREATE TABLE minutes (
    id            uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    conference_id uuid        NOT NULL UNIQUE,
    status        text        NOT NULL CHECK (status IN ('draft', 'approved', 'distributed')),
    -- At most one of the two; approval needs one.
    document      bytea,
    body          text        CHECK (char_length(body) BETWEEN 1 AND 200000),
    author        bytea       NOT NULL,
    approved_by   bytea,
    approved_at   timestamptz,
    version       bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id),
    CONSTRAINT minutes_one_content CHECK (document IS NULL OR body IS NULL),
    CONSTRAINT minutes_approved_with_content CHECK (
        status = 'draft' OR ((document IS NOT NULL OR body IS NOT NULL)
                             AND approved_by IS NOT NULL AND approved_at IS NOT NULL))
);
CREATE INDEX minutes_by_status ON minutes (authority_id, status);

-- The agreed distribution list, in its order.
CREATE TABLE minutes_distribution (
    minutes_id   uuid    NOT NULL,
    position     integer NOT NULL CHECK (position >= 0),
    authority_id text    NOT NULL CHECK (authority_id <> ''),
    person_id    text    NOT NULL CHECK (person_id <> ''),
    entry        bytea   NOT NULL,
    PRIMARY KEY (minutes_id, position),
    UNIQUE (minutes_id, person_id),
    FOREIGN KEY (authority_id, minutes_id) REFERENCES minutes (authority_id, id)
);

-- What was sent to whom: appended at each distribution, never changed.
CREATE TABLE minutes_deliveries (
    minutes_id   uuid        NOT NULL,
    position     integer     NOT NULL CHECK (position >= 0),
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    person_id    text        NOT NULL CHECK (person_id <> ''),
    record       bytea       NOT NULL,
    sent_at      timestamptz NOT NULL,
    PRIMARY KEY (minutes_id, position),
    FOREIGN KEY (authority_id, minutes_id) REFERENCES minutes (authority_id, id)
);

-- Non-attending children and parents told the decision.
CREATE TABLE decision_notifications (
    minutes_id   uuid        NOT NULL,
    position     integer     NOT NULL CHECK (position >= 0),
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    notification bytea       NOT NULL,
    recorded_at  timestamptz NOT NULL,
    PRIMARY KEY (minutes_id, position),
    FOREIGN KEY (authority_id, minutes_id) REFERENCES minutes (authority_id, id)
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
    'conferences', 'case_members', 'minutes_exclusions', 'minutes', 'minutes_distribution',
    'minutes_deliveries', 'decision_notifications', 'idempotency');
