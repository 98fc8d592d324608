-- cpc-audit: finding the refusals one policy or rule made.
--
-- The security team lists every refusal under one rule, such as every
-- verified credential refused (cpc:credential-refused: a revoked session
-- still in use, a copied certificate-bound token), across every person.
-- Refusals are few beside allowed calls, so an index of the denials'
-- policy ids costs appends little and lets that listing read only them
-- (cpc_audit::AccessQuery::policy_id with decision deny).

CREATE INDEX audit_log_denied_policy_ids_idx ON audit_log USING gin (policy_ids)
    WHERE decision = 'deny';
