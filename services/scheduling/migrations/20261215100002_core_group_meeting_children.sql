-- cpc-scheduling: each core group meeting's children, one row a child,
-- kept by the database from core_group_meetings.child_ids (which stays the
-- record; this is its index), as a conference's are in conference_children.
--
-- A GIN index on child_ids is never used under row-level security (the
-- platform's migration 0010 says why), so a child's meetings, and a case's
-- (found through the children now on the case), were read from every
-- meeting of the authority. The platform's keep_record_children() trigger
-- writes the rows in the statement that writes the meeting's children.

CREATE TABLE core_group_meeting_children (
    meeting_id   uuid NOT NULL REFERENCES core_group_meetings (id) ON DELETE CASCADE,
    child_id     uuid NOT NULL,
    authority_id text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (child_id, meeting_id)
);
CREATE INDEX core_group_meeting_children_by_meeting ON core_group_meeting_children (meeting_id);
CREATE TRIGGER core_group_meeting_children_kept
    AFTER INSERT OR UPDATE OF child_ids ON core_group_meetings
    FOR EACH ROW EXECUTE FUNCTION keep_record_children('core_group_meeting_children', 'meeting_id');

-- The meetings before this migration. The table's forced row-level
-- security binds its owner too, so an owner that is not a superuser (as
-- production's should be) would read none of them: the forcing is lifted
-- for this transaction only.
ALTER TABLE core_group_meetings NO FORCE ROW LEVEL SECURITY;
INSERT INTO core_group_meeting_children (meeting_id, child_id, authority_id)
SELECT m.id, child, m.authority_id FROM core_group_meetings m, unnest(m.child_ids) AS child
ON CONFLICT DO NOTHING;
ALTER TABLE core_group_meetings FORCE ROW LEVEL SECURITY;

SELECT isolate_by_authority('core_group_meeting_children');

-- Added for the lists by case (20261212100002); they read this table now.
DROP INDEX core_group_meetings_by_child;
