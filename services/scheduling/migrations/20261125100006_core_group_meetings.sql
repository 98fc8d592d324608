-- cpc-scheduling: core group meetings as a numbered series per case.
--
-- Replaces core_groups_due (the next due date per plan) with the meetings
-- themselves: due (from the cases feed: the first 10 working days after
-- the conference that started the plan), scheduled, held or missed; each
-- held or missed meeting makes the next one due at the authority's
-- interval. Siblings whose plans started at one conference share meetings;
-- a meeting whose every plan ended is cancelled.

CREATE TABLE core_group_meetings (
    id                  uuid        PRIMARY KEY,
    authority_id        text        NOT NULL CHECK (authority_id <> ''),
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    case_id             uuid        NOT NULL,
    child_ids           uuid[]      NOT NULL,
    plan_ids            uuid[]      NOT NULL,
    sequence_number     integer     NOT NULL CHECK (sequence_number >= 1),
    status              text        NOT NULL CHECK (status IN ('due', 'scheduled', 'held', 'missed', 'cancelled')),
    due_date            date        NOT NULL,
    basis               jsonb       NOT NULL CHECK (jsonb_typeof(basis) = 'object'),
    start_time          timestamptz,
    end_time            timestamptz,
    -- cpc.scheduling.v1.Venue and VirtualMeeting, encoded.
    venue               bytea,
    virtual_meeting     bytea,
    held_date           date,
    -- Each attendee an encoded cpc.common.v1.PersonRef.
    attendees           bytea[]     NOT NULL DEFAULT '{}',
    missed_reason       text        CHECK (char_length(missed_reason) BETWEEN 1 AND 2000),
    previous_meeting_id uuid,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT core_groups_scheduled_has_time CHECK (
        (start_time IS NULL) = (end_time IS NULL) AND (status <> 'scheduled' OR start_time IS NOT NULL)),
    CONSTRAINT core_groups_held_has_date CHECK ((status = 'held') = (held_date IS NOT NULL)),
    CONSTRAINT core_groups_missed_has_reason CHECK ((status = 'missed') = (missed_reason IS NOT NULL))
);
CREATE INDEX core_group_meetings_by_case ON core_group_meetings (case_id, sequence_number);
CREATE INDEX core_group_meetings_open_children ON core_group_meetings USING gin (child_ids)
    WHERE status IN ('due', 'scheduled');

-- core_groups_due was only ever filled by the cases feed consumer, which
-- arrives with this migration; nothing in it needs carrying over.
DROP TABLE core_groups_due;

SELECT isolate_by_authority('core_group_meetings');
