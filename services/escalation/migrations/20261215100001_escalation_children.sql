-- cpc-escalation: the children of each escalation and each drift finding,
-- one row a child, kept by the database from the record's child_ids (which
-- stays the record; these are its index).
--
-- Under row-level security Postgres applies a query's own conditions before
-- the policy only when their functions are leakproof. Array containment and
-- overlap (@>, &&) are not, so the GIN indexes on child_ids were never used
-- by the service's role: a child's escalations and findings, and a case's
-- (found through the children now on the case), were read from every one of
-- the authority. uuid equality is leakproof, so the btree indexes here are
-- used. Scheduling keeps a conference's children the same way
-- (conference_children).
--
-- A trigger writes the rows in the statement that writes the record, so no
-- path that raises an escalation or opens a finding can leave them out.

-- TG_ARGV[0]: the children table; TG_ARGV[1]: its column naming the record.
CREATE FUNCTION keep_record_children() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        EXECUTE format('DELETE FROM %I WHERE %I = $1', TG_ARGV[0], TG_ARGV[1]) USING OLD.id;
    END IF;
    EXECUTE format(
        'INSERT INTO %I (%I, child_id, authority_id) '
        'SELECT $1, child, $2 FROM unnest($3::uuid[]) AS child ON CONFLICT DO NOTHING',
        TG_ARGV[0], TG_ARGV[1])
        USING NEW.id, NEW.authority_id, NEW.child_ids;
    RETURN NULL;
END;
$$;

CREATE TABLE escalation_children (
    escalation_id uuid NOT NULL REFERENCES escalations (id),
    child_id      uuid NOT NULL,
    authority_id  text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (child_id, escalation_id)
);
CREATE INDEX escalation_children_by_escalation ON escalation_children (escalation_id);
CREATE TRIGGER escalation_children_kept
    AFTER INSERT OR UPDATE OF child_ids ON escalations
    FOR EACH ROW EXECUTE FUNCTION keep_record_children('escalation_children', 'escalation_id');

CREATE TABLE drift_finding_children (
    finding_id   uuid NOT NULL REFERENCES drift_findings (id),
    child_id     uuid NOT NULL,
    authority_id text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (child_id, finding_id)
);
CREATE INDEX drift_finding_children_by_finding ON drift_finding_children (finding_id);
CREATE TRIGGER drift_finding_children_kept
    AFTER INSERT OR UPDATE OF child_ids ON drift_findings
    FOR EACH ROW EXECUTE FUNCTION keep_record_children('drift_finding_children', 'finding_id');

-- The records written before this migration. The tables' forced row-level
-- security binds their owner too, so an owner that is not a superuser (as
-- production's should be) would read none of them: the forcing is lifted
-- for this transaction only, as in 20261207100007.
ALTER TABLE escalations NO FORCE ROW LEVEL SECURITY;
ALTER TABLE drift_findings NO FORCE ROW LEVEL SECURITY;
INSERT INTO escalation_children (escalation_id, child_id, authority_id)
SELECT e.id, child, e.authority_id FROM escalations e, unnest(e.child_ids) AS child
ON CONFLICT DO NOTHING;
INSERT INTO drift_finding_children (finding_id, child_id, authority_id)
SELECT f.id, child, f.authority_id FROM drift_findings f, unnest(f.child_ids) AS child
ON CONFLICT DO NOTHING;
ALTER TABLE escalations FORCE ROW LEVEL SECURITY;
ALTER TABLE drift_findings FORCE ROW LEVEL SECURITY;

SELECT isolate_by_authority('escalation_children', 'drift_finding_children');

-- No query of the service's role could use them (see above).
DROP INDEX escalations_by_child;
DROP INDEX drift_findings_by_child;
