-- cpc-escalation: every plan a core group meeting delivers (scheduling's
-- plan_ids), not only the first. A missed meeting is no longer chased once
-- every plan it delivers has ended, and a later meeting puts an earlier one
-- right only for the children and plans it was held for (src/store/drift.rs,
-- NOTHING_EXPECTED).
--
-- Meetings kept before this knew only their first plan. The column is
-- filled from it by rewriting the table (ALTER ... TYPE ... USING), which
-- row-level security does not filter as an UPDATE by the schema's owner
-- would be. A meeting kept before this for several children's plans is
-- therefore taken to deliver its first plan only until scheduling tells it
-- again: for the other children it is chased as before, never let go
-- early.

ALTER TABLE meetings ADD COLUMN plan_ids uuid[];
ALTER TABLE meetings ALTER COLUMN plan_ids TYPE uuid[]
    USING CASE WHEN plan_id IS NULL THEN '{}'::uuid[] ELSE ARRAY[plan_id] END;
ALTER TABLE meetings ALTER COLUMN plan_ids SET DEFAULT '{}';
ALTER TABLE meetings ALTER COLUMN plan_ids SET NOT NULL;

-- A meeting's later ones are looked for in its case; a plan's child's
-- meetings by child.
CREATE INDEX meetings_by_case ON meetings (case_id, kind);
CREATE INDEX meetings_by_child ON meetings USING gin (child_ids);
