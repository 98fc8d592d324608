-- cpc-escalation: the children of each escalation and each drift finding,
-- one row a child, kept by the database from the record's child_ids (which
-- stays the record; these are its index).
--
-- A GIN index on child_ids is never used under row-level security, so a
-- child's escalations and findings, and a case's (found through the
-- children now on the case), were read from every one of the authority
-- (the platform's migration 0010 says why). Scheduling keeps a
-- conference's children the same way (conference_children). The platform's
-- keep_record_children() trigger writes the rows in the statement that
-- writes the record, so no path that raises an escalation or opens a
-- finding can leave them out.

CREATE TABLE escalation_children (
    escalation_id uuid NOT NULL REFERENCES escalations (id) ON DELETE CASCADE,
    child_id      uuid NOT NULL,
    authority_id  text NOT NULL CHECK (authority_id <> ''),
    PRIMARY KEY (child_id, escalation_id)
);
CREATE INDEX escalation_children_by_escalation ON escalation_children (escalation_id);
CREATE TRIGGER escalation_children_kept
    AFTER INSERT OR UPDATE OF child_ids ON escalations
    FOR EACH ROW EXECUTE FUNCTION keep_record_children('escalation_children', 'escalation_id');

CREATE TABLE drift_finding_children (
    finding_id   uuid NOT NULL REFERENCES drift_findings (id) ON DELETE CASCADE,
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
