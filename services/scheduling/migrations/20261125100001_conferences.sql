-- cpc-scheduling: the conferences each child needs, on the statutory clock.
--
-- Rows are created and kept up to date from the cases change feed
-- (src/due.rs says what each event means, src/store/needs.rs applies it):
-- siblings share a conference; a due date is recomputed when the facts
-- change; a plan's end cancels what it made moot.

-- Each child's family case, learnt from the cases feed (ChildRegistered,
-- CaseUpdated): plan events name only the child.
CREATE TABLE child_cases (
    child_id     uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    case_id      uuid        NOT NULL,
    updated_at   timestamptz NOT NULL
);

CREATE TABLE conferences (
    id                  uuid        PRIMARY KEY,
    authority_id        text        NOT NULL CHECK (authority_id <> ''),
    kind                text        NOT NULL CHECK (kind IN (
        'initial', 'review', 'transfer_in', 'pre_birth', 'reconvened', 'post_birth_review')),
    case_id             uuid        NOT NULL,
    status              text        NOT NULL CHECK (status IN ('due', 'booked', 'held', 'inquorate', 'cancelled')),
    -- The latest date the conference may be held (a working day): the
    -- earliest of its children's, with that child's basis (due::Basis).
    statutory_due_date  date        NOT NULL,
    basis               jsonb       NOT NULL CHECK (jsonb_typeof(basis) = 'object'),
    cancellation_reason text        CHECK (char_length(cancellation_reason) BETWEEN 1 AND 2000),
    version             bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL CHECK (updated_at >= created_at),
    UNIQUE (authority_id, id),
    CONSTRAINT conferences_cancelled_with_reason CHECK ((status = 'cancelled') = (cancellation_reason IS NOT NULL))
);
CREATE INDEX conferences_open_by_case ON conferences (case_id, kind) WHERE status IN ('due', 'booked');

CREATE TABLE conference_children (
    conference_id uuid  NOT NULL,
    child_id      uuid  NOT NULL,
    authority_id  text  NOT NULL CHECK (authority_id <> ''),
    -- This child's own deadline for the conference, and why.
    due_date      date  NOT NULL,
    basis         jsonb NOT NULL CHECK (jsonb_typeof(basis) = 'object'),
    PRIMARY KEY (conference_id, child_id),
    FOREIGN KEY (authority_id, conference_id) REFERENCES conferences (authority_id, id)
);
CREATE INDEX conference_children_by_child ON conference_children (child_id);

-- The next core group meeting each plan needs.
CREATE TABLE core_groups_due (
    plan_id      uuid        PRIMARY KEY,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    child_id     uuid        NOT NULL,
    due_date     date        NOT NULL,
    basis        jsonb       NOT NULL CHECK (jsonb_typeof(basis) = 'object'),
    updated_at   timestamptz NOT NULL
);
CREATE INDEX core_groups_due_by_child ON core_groups_due (child_id);

-- Tenant isolation, as in every service (platform migration 3).
SELECT isolate_by_authority('child_cases', 'conferences', 'conference_children', 'core_groups_due');
