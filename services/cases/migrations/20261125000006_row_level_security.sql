-- cpc-cases: tenant isolation by row-level security.
--
-- Every table of the schema (except the platform's change feed, which is
-- served only through StreamChanges with its own filtering, and sqlx's
-- bookkeeping) shows and accepts only rows of the authority named by the
-- transaction-local setting cpc.authority_id, which store::begin sets with
-- set_config('cpc.authority_id', $1, true). Outside such a transaction the
-- setting is unset or empty and no row is visible.
--
-- FORCE makes the policy bind the table owner too, so the service sees only
-- one authority even if it connects as the role that ran the migrations.
-- Only superusers and roles with BYPASSRLS escape it: production connects
-- as a plain login role (see store::rls docs), never as either.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY[
        'cases', 'children', 'family_members', 'family_relationships',
        'cin_episodes', 'strategy_discussions', 'strategy_discussion_children',
        'strategy_discussion_attendees', 'section47_enquiries',
        'transfers_in', 'plans', 'plan_core_group_members', 'conference_outcomes',
        'professional_views', 'conference_exclusions', 'child_voice_contributions',
        'plan_actions', 'plan_action_status_changes',
        'case_memberships', 'case_membership_children', 'idempotency'
    ] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY authority_isolation ON %I '
            'USING (authority_id = current_setting(''cpc.authority_id'', true)) '
            'WITH CHECK (authority_id = current_setting(''cpc.authority_id'', true))', t);
    END LOOP;
END;
$$;
