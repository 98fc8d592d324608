-- cpc-audit: the service's access log. One row per access decision (allowed
-- or denied), hash-chained and append-only. Runs with search_path set to the
-- owning service's schema, so no name here is schema-qualified.
--
-- Rows hold identifiers only (subjects, UUIDs, gRPC method names, policy ids),
-- never a child's personal data.

CREATE TABLE audit_log (
    -- 1, 2, 3... without gaps: assigned by cpc_audit::append as head + 1
    -- under a transaction-scoped advisory lock, never from a sequence (a
    -- sequence leaves gaps on rollback).
    seq           bigint      NOT NULL PRIMARY KEY CHECK (seq >= 1),
    occurred_at   timestamptz NOT NULL,
    request_id    text        NOT NULL,
    actor_subject text        NOT NULL,
    actor_kind    text        NOT NULL,
    on_behalf_of  text,
    role          text        NOT NULL,
    authority_id  text        NOT NULL,
    agency        text,
    case_id       uuid,
    child_ids     uuid[]      NOT NULL DEFAULT '{}'
        CHECK (coalesce(array_ndims(child_ids), 1) = 1
               AND array_position(child_ids, NULL) IS NULL),
    -- Full gRPC method, e.g. /cpc.cases.v1.CasesService/GetChild.
    action        text        NOT NULL,
    decision      text        NOT NULL CHECK (decision IN ('allow', 'deny')),
    policy_ids    text[]      NOT NULL DEFAULT '{}'
        CHECK (coalesce(array_ndims(policy_ids), 1) = 1
               AND array_position(policy_ids, NULL) IS NULL),
    reason        text,
    -- SHA-256 chain: hash = SHA-256(prev_hash || canonical encoding of the
    -- row, seq included); prev_hash of seq 1 is 32 zero bytes.
    prev_hash     bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash          bytea       NOT NULL CHECK (octet_length(hash) = 32)
);

COMMENT ON TABLE audit_log IS
    'Append-only, hash-chained access log (cpc-audit). Identifiers only, no personal data.';

-- "Who accessed this child / this case / when", newest first.
CREATE INDEX audit_log_child_ids_idx ON audit_log USING gin (child_ids);
CREATE INDEX audit_log_case_id_seq_idx ON audit_log (case_id, seq) WHERE case_id IS NOT NULL;
CREATE INDEX audit_log_occurred_at_idx ON audit_log (occurred_at);
-- "What did this person access" (as themselves or as the person acted for).
CREATE INDEX audit_log_actor_subject_seq_idx ON audit_log (actor_subject, seq);
CREATE INDEX audit_log_on_behalf_of_seq_idx ON audit_log (on_behalf_of, seq)
    WHERE on_behalf_of IS NOT NULL;

-- Append-only by construction: any UPDATE, DELETE or TRUNCATE statement is
-- refused, whether or not it would touch a row (statement-level, so also
-- INSERT ... ON CONFLICT DO UPDATE and MERGE). SQLSTATE 23Z01 is
-- cpc_audit::APPEND_ONLY_SQLSTATE.
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = '23Z01',
              HINT = 'Audit records are never changed or removed.';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();

-- Every insert must extend the chain: seq 1 links to the genesis hash, any
-- other seq to the stored hash of seq - 1. Together with the primary key this
-- keeps the log gap-free and unforked for every writer, not only
-- cpc_audit::append. SQLSTATE 23Z02 is cpc_audit::CHAIN_LINK_SQLSTATE.
-- search_path is pinned to the schema the migration runs in, so the lookup
-- below always reads this service's log, whatever the inserting session's
-- search_path.
CREATE FUNCTION audit_log_check_link() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.seq = 1 THEN
        IF NEW.prev_hash IS DISTINCT FROM decode(repeat('00', 32), 'hex') THEN
            RAISE EXCEPTION 'audit_log seq 1 must link to the genesis hash'
                USING ERRCODE = '23Z02';
        END IF;
    ELSIF NOT EXISTS (
        SELECT 1 FROM audit_log WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash
    ) THEN
        RAISE EXCEPTION 'audit_log seq % does not extend the chain', NEW.seq
            USING ERRCODE = '23Z02';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain_link
    BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_check_link();
