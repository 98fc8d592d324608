-- cpc-cases: the conferences the scheduling service has recorded as held.
--
-- An outcome can only be recorded for a conference that was held and that
-- included the child. Those facts belong to scheduling; cases never reads
-- scheduling's tables, so it keeps this copy, written by the consumer of
-- scheduling's change feed (cpc.scheduling.v1.ConferenceHeld) and read by
-- RecordConferenceOutcome. source_sequence is the feed position the row
-- came from, for tracing a row back to its event.
CREATE TABLE held_conferences (
    id              uuid        PRIMARY KEY,
    authority_id    text        NOT NULL CHECK (authority_id <> ''),
    conference_kind text        NOT NULL CHECK (conference_kind IN (
        'initial', 'review', 'transfer_in', 'pre_birth', 'reconvened', 'post_birth_review')),
    held_on         date        NOT NULL,
    chair           jsonb       NOT NULL CHECK (is_person_ref(chair)),
    child_ids       uuid[]      NOT NULL CHECK (cardinality(child_ids) >= 1),
    source_sequence bigint      NOT NULL CHECK (source_sequence >= 1),
    recorded_at     timestamptz NOT NULL
);

ALTER TABLE held_conferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE held_conferences FORCE ROW LEVEL SECURITY;
CREATE POLICY authority_isolation ON held_conferences
    USING (authority_id = current_setting('cpc.authority_id', true))
    WITH CHECK (authority_id = current_setting('cpc.authority_id', true));
