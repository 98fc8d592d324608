-- cpc-scheduling: the chair's decisions that a person is not to attend a
-- conference, or only part of it (ExcludeFromConference), one per person
-- and conference (a later decision replaces the earlier), and the
-- invitations an exclusion from the whole conference withdrew.

CREATE TABLE conference_exclusions (
    conference_id  uuid        NOT NULL,
    authority_id   text        NOT NULL CHECK (authority_id <> ''),
    person_id      text        NOT NULL CHECK (person_id <> ''),
    scope          text        NOT NULL CHECK (scope IN ('whole_conference', 'part_of_conference')),
    -- cpc.scheduling.v1.AttendanceExclusion.
    exclusion      bytea       NOT NULL,
    decided_at     timestamptz NOT NULL,
    PRIMARY KEY (conference_id, person_id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id)
);

ALTER TABLE invitations
    ADD COLUMN withdrawn_at timestamptz;

SELECT isolate_by_authority('conference_exclusions');
