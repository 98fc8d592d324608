-- cpc-scheduling: who is on each case, copied from the cases feed
-- (CaseMemberAdded, CaseMemberEnded). Scheduling asks the policies about a
-- conference as a record of its case; the policies need the case's current
-- and former members, and scheduling never reads the cases tables.

CREATE TABLE case_members (
    membership_id uuid        PRIMARY KEY,
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    case_id       uuid        NOT NULL,
    person_id     text        NOT NULL CHECK (person_id <> ''),
    -- The children the membership covers; empty: the whole case.
    child_ids     uuid[]      NOT NULL DEFAULT '{}',
    start_date    date        NOT NULL,
    end_date      date        CHECK (end_date IS NULL OR end_date >= start_date),
    -- The cases feed's version of the membership: an older copy never
    -- overwrites a newer one.
    version       bigint      NOT NULL CHECK (version >= 1),
    updated_at    timestamptz NOT NULL
);
CREATE INDEX case_members_by_case ON case_members (case_id);

SELECT isolate_by_authority('case_members');
