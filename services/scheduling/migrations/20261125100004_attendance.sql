-- cpc-scheduling: invitations and replies, attendance, quorum, and whether
-- a conference was held or inquorate. People are stored as their encoded
-- API messages (cpc.common.v1.PersonRef), with the person id beside them
-- for the one-invitation-per-person rule.

ALTER TABLE conferences
    -- Agency reports are due this many working days before the booked
    -- date (the authority's setting); set when booked or moved.
    ADD COLUMN reports_due_date date,
    -- The latest quorum assessment (cpc.scheduling.v1.QuorumAssessment),
    -- from recorded attendance.
    ADD COLUMN quorum           bytea,
    ADD COLUMN held_date        date,
    -- cpc.scheduling.v1.InquorateRecord.
    ADD COLUMN inquorate        bytea,
    ADD CONSTRAINT conferences_held_has_date CHECK (
        status NOT IN ('held', 'inquorate') OR held_date IS NOT NULL),
    ADD CONSTRAINT conferences_inquorate_has_record CHECK (
        (status = 'inquorate') = (inquorate IS NOT NULL));

-- Who attended a conference (the latest RecordAttendance), in order.
CREATE TABLE conference_attendance (
    conference_id uuid    NOT NULL,
    authority_id  text    NOT NULL CHECK (authority_id <> ''),
    position      integer NOT NULL CHECK (position >= 0),
    person_id     text    NOT NULL CHECK (person_id <> ''),
    -- cpc.scheduling.v1.Attendee.
    attendee      bytea   NOT NULL,
    PRIMARY KEY (conference_id, position),
    UNIQUE (conference_id, person_id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id)
);

CREATE TABLE invitations (
    id                   uuid        PRIMARY KEY,
    authority_id         text        NOT NULL CHECK (authority_id <> ''),
    conference_id        uuid        NOT NULL,
    version              bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    invitee_kind         text        NOT NULL CHECK (invitee_kind IN (
        'family_member', 'child', 'advocate', 'agency_professional', 'supporter', 'interpreter')),
    invitee_person_id    text        NOT NULL CHECK (invitee_person_id <> ''),
    -- cpc.common.v1.PersonRef.
    invitee              bytea       NOT NULL,
    child_id             uuid,
    method               text        NOT NULL CHECK (method IN (
        'secure_email', 'email', 'letter', 'phone', 'in_person', 'portal')),
    reply                text        NOT NULL DEFAULT 'awaiting' CHECK (reply IN (
        'awaiting', 'attending_in_person', 'attending_virtually', 'apology', 'declined')),
    reply_at             timestamptz,
    apology_reason       text        CHECK (char_length(apology_reason) BETWEEN 1 AND 1000),
    -- cpc.common.v1.PersonRef of a well-briefed substitute.
    substitute           bytea,
    report_requested     boolean     NOT NULL,
    interpreter_language text        CHECK (char_length(interpreter_language) BETWEEN 1 AND 60),
    accessibility_needs  text        CHECK (char_length(accessibility_needs) BETWEEN 1 AND 1000),
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    UNIQUE (conference_id, invitee_person_id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id),
    CONSTRAINT invitations_replied_at CHECK ((reply = 'awaiting') = (reply_at IS NULL)),
    CONSTRAINT invitations_apology_only CHECK (
        reply = 'apology' OR (apology_reason IS NULL AND substitute IS NULL))
);
CREATE INDEX invitations_by_conference ON invitations (conference_id, created_at, id);

SELECT isolate_by_authority('conference_attendance', 'invitations');
