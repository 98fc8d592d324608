-- cpc-platform: how far this service has applied another service's change
-- feed, per authority. The position moves in the same transaction as the
-- event's effects, so after a crash the consumer resumes exactly after the
-- last event it applied: nothing is missed and nothing is applied twice.

CREATE TABLE feed_positions (
    -- The followed service's short name, e.g. 'cases'.
    source        text        NOT NULL CHECK (source <> ''),
    authority_id  text        NOT NULL CHECK (authority_id <> ''),
    last_sequence bigint      NOT NULL CHECK (last_sequence >= 0),
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (source, authority_id)
);

SELECT isolate_by_authority('feed_positions');
