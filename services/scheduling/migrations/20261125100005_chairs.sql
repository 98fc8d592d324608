-- cpc-scheduling: conference chairs, and which chair each conference has.
--
-- A chair's working pattern, capacity, leave and conflicts are stored as
-- their API message (cpc.scheduling.v1.Chair, encoded), with the columns
-- lists sort and filter on beside it. One record per person per authority.

CREATE TABLE chairs (
    id           uuid        NOT NULL,
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    version      bigint      NOT NULL DEFAULT 1 CHECK (version >= 1),
    display_name text        NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 200),
    active       boolean     NOT NULL,
    chair        bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (authority_id, id)
);
CREATE INDEX chairs_by_name ON chairs (authority_id, lower(display_name), id);

ALTER TABLE conferences
    ADD COLUMN chair_id         uuid,
    -- cpc.scheduling.v1.ChairAllocation: why this chair.
    ADD COLUMN chair_allocation bytea,
    ADD CONSTRAINT conferences_chair_explained CHECK ((chair_id IS NULL) = (chair_allocation IS NULL));
CREATE INDEX conferences_by_chair ON conferences (chair_id, start_time) WHERE chair_id IS NOT NULL;

SELECT isolate_by_authority('chairs');
