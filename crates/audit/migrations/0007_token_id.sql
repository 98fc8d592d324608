-- cpc-audit: which token a call was made with.
--
-- The caller's token id (`jti`), when its issuer sets one, so that an
-- investigation of a stolen or misused token can tell the calls made with
-- it from the person's other calls (and the revocation list can then end
-- the person's sessions). An opaque identifier, like the others here.
--
-- Rows written before this migration have none, and keep hashing with the
-- version-1 or version-2 encoding (cpc_audit::canonical_encoding).

ALTER TABLE audit_log
    ADD COLUMN token_id text
        CHECK (token_id IS NULL OR octet_length(token_id) BETWEEN 1 AND 256);
