-- cpc-platform: the service's change feed (transactional outbox). Every
-- state change of a service writes its domain event here in the same
-- transaction; other services read it through the service's StreamChanges
-- RPC, resuming after the last sequence they saw. Runs with search_path set
-- to the owning service's schema, so no name here is schema-qualified.
--
-- Rows hold identifiers and a protobuf payload of the event; a payload may
-- carry case data, so it is only ever served through an authorised RPC.

CREATE TABLE change_events (
    -- 1, 2, 3... without gaps and in commit order: assigned as head + 1
    -- under a transaction-scoped advisory lock (see outbox.rs), so a reader
    -- that has seen N has seen everything up to N.
    sequence          bigint      NOT NULL PRIMARY KEY CHECK (sequence >= 1),
    event_id          uuid        NOT NULL UNIQUE,
    aggregate_type    text        NOT NULL,
    aggregate_id      text        NOT NULL,
    aggregate_version bigint      NOT NULL,
    -- Full protobuf name of the payload message, e.g. cpc.cases.v1.PlanStarted.
    event_type        text        NOT NULL,
    authority_id      text        NOT NULL,
    child_ids         uuid[]      NOT NULL DEFAULT '{}',
    payload           bytea       NOT NULL,
    occurred_at       timestamptz NOT NULL
);

CREATE INDEX change_events_aggregate_idx ON change_events (aggregate_type, aggregate_id, sequence);
CREATE INDEX change_events_authority_idx ON change_events (authority_id, sequence);

-- Events are facts: never changed, never removed.
CREATE FUNCTION change_events_are_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'change_events is append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER change_events_append_only
    BEFORE UPDATE OR DELETE ON change_events
    FOR EACH ROW EXECUTE FUNCTION change_events_are_append_only();

CREATE TRIGGER change_events_no_truncate
    BEFORE TRUNCATE ON change_events
    FOR EACH STATEMENT EXECUTE FUNCTION change_events_are_append_only();
