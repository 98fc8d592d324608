-- cpc-audit: which credential a call was made with.
--
-- `token:<jti>` for a bearer token whose issuer names it, or
-- `certificate:sha256:<hex>` for a service's client certificate, so that an
-- investigation of a stolen or misused credential can tell the calls made
-- with it from the caller's other calls (and then revoke it). An opaque
-- identifier, like the others here.
--
-- Rows written before this migration have none, and keep hashing with the
-- version-1 or version-2 encoding (cpc_audit::canonical_encoding).

ALTER TABLE audit_log
    ADD COLUMN credential_id text
        CHECK (credential_id IS NULL OR octet_length(credential_id) BETWEEN 1 AND 320);

-- Listing the calls made with one credential (a stolen one) reads only them.
CREATE INDEX audit_log_credential_id_idx ON audit_log (credential_id)
    WHERE credential_id IS NOT NULL;
