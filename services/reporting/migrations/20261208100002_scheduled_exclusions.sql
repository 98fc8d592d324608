-- cpc-reporting: whom the chair excluded from attending a whole conference
-- before it met (scheduling's Conference.exclusions, scope
-- WHOLE_CONFERENCE), as scheduling last described the conference. Such a
-- person receives the conference's agency reports only from its chair, as
-- one excluded from attending in a conference outcome does
-- (attendance_exclusions); the outcome comes only after the meeting, when
-- the reports have long been shared.

CREATE TABLE scheduled_exclusions (
    conference_id uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (conference_id, person_id)
);

SELECT isolate_by_authority('scheduled_exclusions');
