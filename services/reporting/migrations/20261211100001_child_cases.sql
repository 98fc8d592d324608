-- cpc-reporting: the case each child is on now, from the cases feed
-- (ChildRegistered, ChildUpdated, ...). A conference keeps the case it was
-- made in; a child moved to another case (UpdateChild) takes the readers
-- of its conferences' minutes and reports with it: the members of the
-- child's case now decide, as the cases service does for the child's own
-- records (src/store/conferences.rs, current_cases). A child not learnt
-- here yet is taken to be on its conference's case.
--
-- The feed is not read again for this table: a child already moved learns
-- its case here at its next change; until then its conferences' case
-- decides, as before.

CREATE TABLE child_cases (
    child_id     uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    case_id      uuid        NOT NULL,
    -- The cases service's version of the child: an older copy never
    -- overwrites a newer one.
    version      bigint      NOT NULL CHECK (version >= 1),
    updated_at   timestamptz NOT NULL
);

SELECT isolate_by_authority('child_cases');
