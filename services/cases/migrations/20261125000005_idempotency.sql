-- cpc-cases: AIP-155 request ids. A create call stores its encoded response
-- under (authority, method, request_id) in the same transaction as the
-- change; a retry with the same request_id and the same request (same
-- fingerprint: SHA-256 of the encoded request) gets the stored response,
-- a retry with a different request fails FAILED_PRECONDITION. Rows older
-- than 24 hours no longer count (see idempotency.rs).
CREATE TABLE idempotency (
    authority_id text        NOT NULL CHECK (authority_id <> ''),
    method       text        NOT NULL CHECK (char_length(method) BETWEEN 1 AND 100),
    request_id   uuid        NOT NULL,
    fingerprint  bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    response     bytea       NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (authority_id, method, request_id)
);
CREATE INDEX idempotency_by_age ON idempotency (created_at);
