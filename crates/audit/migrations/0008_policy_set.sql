-- cpc-audit: which text of the policies decided.
--
-- The policies change (the information governance team edits them and a
-- rollout puts the edit in force), so a decision's policy ids alone do
-- not say what those policies said at the time. `policy_set` is the SHA-256
-- digest of the schema and policy texts in force (cpc_authz's
-- policy_set_digest, 64 lower-case hex digits); the texts in version
-- control with that digest are the ones that decided. NULL when a service
-- rule in code decided, and in rows written before this migration, which
-- keep their earlier encoding (cpc_audit::canonical_encoding).

ALTER TABLE audit_log
    ADD COLUMN policy_set text
        CHECK (policy_set IS NULL OR policy_set ~ '^[0-9a-f]{64}$');
