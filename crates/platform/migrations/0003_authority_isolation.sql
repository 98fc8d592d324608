-- cpc-platform: tenant isolation for a service's tables, in one place.
--
-- isolate_by_authority(t1, t2, ...) enables and forces row-level security
-- on each table, with one policy: a transaction sees and writes only the
-- rows of the authority it names in the setting cpc.authority_id
-- (cpc_platform::db::begin_for_authority sets it, transaction-local).
-- Outside such a transaction no row is visible. FORCE makes the policy
-- bind the table owner too; only superusers and BYPASSRLS roles escape it,
-- and the services query as a plain role (cpc_<schema>_app).
--
-- Created in each service's schema (search_path), like every platform
-- table; services call it from their own migrations.
CREATE FUNCTION isolate_by_authority(VARIADIC tables text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY tables LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY authority_isolation ON %I '
            'USING (authority_id = current_setting(''cpc.authority_id'', true)) '
            'WITH CHECK (authority_id = current_setting(''cpc.authority_id'', true))', t);
    END LOOP;
END;
$$;
