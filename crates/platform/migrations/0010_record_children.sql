-- Keeps a record's children one row a child in a table beside it, from the
-- record's child_ids (which stays the record; the table is its index).
--
-- Under row-level security Postgres applies a query's own conditions before
-- the policy only when their functions are leakproof. Array containment and
-- overlap (@>, &&) are not, so a GIN index on child_ids is never used by a
-- service's role, and a case's or a child's records are read from every
-- record of the authority. uuid equality is leakproof, so a btree on the
-- children table's child_id is used (ChildCaseTable::record_on_case,
-- RecordChildren::about_child in src/case_members.rs).
--
-- As an AFTER INSERT OR UPDATE OF child_ids trigger on the record's table,
-- so the rows are written in the statement that writes the record and no
-- path can leave them out. The record's table has id, authority_id and
-- child_ids. TG_ARGV[0]: the children table, with the record's id in the
-- column TG_ARGV[1], child_id and authority_id.
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
