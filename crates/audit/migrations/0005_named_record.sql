-- cpc-audit: the record a call named, when it matters to someone else.
--
-- A call naming a record its caller's authority does not hold (another
-- authority's, or none) is refused and recorded in the caller's own log with
-- the id it asked for. Kept as columns, not only in `reason`, so that the
-- authority holding that record can find the attempt by the record's id
-- when it asks who accessed the child the record is about: it alone can
-- tell which of its children an id belongs to.
--
-- Both NULL, or both set. Rows written before this migration have neither,
-- and keep hashing with the version-1 encoding (cpc_audit::canonical_encoding).

ALTER TABLE audit_log
    ADD COLUMN named_kind text,
    ADD COLUMN named_id   text,
    ADD CONSTRAINT audit_log_named_record_whole
        CHECK ((named_kind IS NULL) = (named_id IS NULL));

CREATE INDEX audit_log_named_id_idx ON audit_log (named_id) WHERE named_id IS NOT NULL;
