-- cpc-scheduling: booking conferences, moving them with a recorded reason,
-- and request ids for conferences created by hand. Venue, virtual meeting
-- and who moved it are stored as their encoded API messages.

ALTER TABLE conferences
    ADD COLUMN start_time             timestamptz,
    ADD COLUMN end_time               timestamptz,
    ADD COLUMN venue                  bytea,
    ADD COLUMN virtual_meeting        bytea,
    -- The booked date is after statutory_due_date: allowed, flagged, and
    -- never without the reason why.
    ADD COLUMN booked_past_deadline   boolean NOT NULL DEFAULT false,
    ADD COLUMN past_deadline_reason   text CHECK (char_length(past_deadline_reason) BETWEEN 1 AND 2000),
    ADD COLUMN previous_conference_id uuid,
    ADD CONSTRAINT conferences_booking_complete CHECK (
        (start_time IS NULL) = (end_time IS NULL)
        AND (start_time IS NULL OR end_time > start_time)
        AND (status <> 'booked' OR (start_time IS NOT NULL AND (venue IS NOT NULL OR virtual_meeting IS NOT NULL)))),
    ADD CONSTRAINT conferences_past_deadline_has_reason CHECK (
        NOT booked_past_deadline OR past_deadline_reason IS NOT NULL);

-- Every move of a booked conference, oldest first; never changed.
CREATE TABLE conference_reschedules (
    conference_id       uuid        NOT NULL,
    authority_id        text        NOT NULL CHECK (authority_id <> ''),
    seq                 integer     NOT NULL CHECK (seq >= 1),
    previous_start_time timestamptz NOT NULL,
    new_start_time      timestamptz NOT NULL,
    reason              text        NOT NULL CHECK (reason IN (
        'chair_unavailable', 'family_request', 'professional_unavailable',
        'reports_not_ready', 'interpreter_unavailable', 'venue_unavailable', 'other')),
    reason_detail       text        CHECK (char_length(reason_detail) BETWEEN 1 AND 2000),
    past_deadline       boolean     NOT NULL,
    changed_by          bytea       NOT NULL,
    changed_at          timestamptz NOT NULL,
    PRIMARY KEY (conference_id, seq),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id),
    CONSTRAINT reschedules_other_has_detail CHECK (reason <> 'other' OR reason_detail IS NOT NULL)
);

-- AIP-155 request ids, as in the cases service (cpc_platform::idempotency).
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

SELECT isolate_by_authority('conference_reschedules', 'idempotency');
